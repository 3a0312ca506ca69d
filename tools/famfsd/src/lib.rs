// SPDX-License-Identifier: GPL-2.0
//! famfs userspace library: the on-media format (superblock, metadata log), media access
//! through memory mappings, log replay into a namespace with stable inode numbers, space
//! allocation, the fmap blob for the kernel module, and fsck.
//!
//! A FUSE server uses it as follows:
//!
//! ```no_run
//! use famfs_media::{Famfs, RawDevice, ROOT_INO};
//! # fn main() -> famfs_media::Result<()> {
//! let fs = Famfs::open(RawDevice::open("/dev/dax0.0".as_ref(), false)?)?;
//! let ns = fs.namespace();
//! for (name, ino) in ns.readdir(ROOT_INO).into_iter().flatten() {
//!     let node = ns.get(*ino).expect("readdir returns live inodes");
//!     println!("{name} ino={ino} size={} mode={:o}", node.attr.size, node.attr.mode);
//!     if !node.is_dir() {
//!         let _blob: Vec<u8> = ns.fmap_blob(*ino)?; // FUSE_IOMAP_DAX_GETMAP reply
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod alloc;
pub mod daxdev;
pub mod error;
pub mod fmap;
pub mod fs;
pub mod fuse;
pub mod layout;
pub mod log;
pub mod media;
pub mod namespace;
pub mod path;
pub mod pattern;
pub mod role;
pub mod rundir;
pub mod superblock;

pub use error::{Error, Result};
pub use fmap::{fmap_blob, FileType};
pub use fs::{fsck, read_meta, CreateOptions, DeviceUsage, Famfs, FsckReport, Layout};
pub use log::{Extent, FileMap};
pub use media::{Media, MountedMeta, RawDevice};
pub use namespace::{
    Attr, Namespace, Node, NodeKind, FIRST_ENTRY_INO, LOG_INO, META_INO, ROOT_INO, SUPERBLOCK_INO,
};
pub use superblock::Superblock;
