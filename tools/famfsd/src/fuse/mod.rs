// SPDX-License-Identifier: GPL-2.0
//! famfsd, the FUSE server of famfs: the kernel protocol spoken directly on /dev/fuse
//! (no libfuse), with the iomap-DAX extension (`FUSE_IOMAP_DAX_CONFIG`, `FUSE_IOMAP_DAX_GETMAP`,
//! `FOPEN_IOMAP_DAX`) so that file data is mapped by the `famfs` provider of
//! `famfs_iomap.ko`.

pub mod abi;
pub mod host;
pub mod server;
pub mod session;
