// SPDX-License-Identifier: GPL-2.0

//! famfs iomap provider.
//!
//! Serves the data path of famfs files inside FUSE: the file's map (fmap) is fetched once per
//! file, validated and cached, and every read, write and page fault is resolved from it by
//! arithmetic, without a round trip to the FUSE server.

use kernel::prelude::*;

pub mod fmap;
#[cfg(CONFIG_KUNIT)]
pub mod fmap_cases;

/// Kernel storage for the parsed fmap: `kvmalloc` backed, so large maps need no contiguous
/// pages.
pub struct KernelStorage;

impl fmap::Storage for KernelStorage {
    type Buf<T: Copy + Default> = KVVec<T>;

    fn alloc<T: Copy + Default>(n: usize) -> Option<KVVec<T>> {
        KVVec::from_elem(T::default(), n, GFP_KERNEL).ok()
    }
}

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
        pr_info!("loaded\n");
        Ok(FamfsIomap)
    }
}

impl Drop for FamfsIomap {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}

#[kunit_tests(famfs_fmap)]
mod tests {
    use super::*;

    /// Every validation and resolution case of the host suite, run against kernel storage.
    #[test]
    fn fmap_cases() {
        let mut failed = 0;
        for case in fmap_cases::CASES {
            if let Err(f) = fmap_cases::check::<KernelStorage>(case) {
                pr_err!("fmap case {}: {}\n", case.name, format_args!("{f}"));
                failed += 1;
            }
        }
        assert_eq!(failed, 0);
    }

    /// The kernel storage hands out zeroed buffers of the requested length.
    #[test]
    fn kernel_storage() {
        use fmap::Storage;

        let buf = KernelStorage::alloc::<u64>(3);
        assert!(buf.is_some());
        if let Some(buf) = buf {
            assert_eq!(buf.len(), 3);
            assert!(buf.iter().all(|&v| v == 0));
        }
    }
}
