// SPDX-License-Identifier: GPL-2.0
//! The fmap blob handed to the kernel module (`FUSE_IOMAP_DAX_GETMAP` reply).
//!
//! Layout (little-endian), matching `include/uapi/linux/famfs_fmap.h`:
//!
//! ```text
//! header, 32 bytes:   file_type u8 | reserved u8 | fmap_version u16 | ext_type u32
//!                     nextents u32 | fmap_size u32 | file_size u64 | reserved u64
//! simple extent, 24:  devindex u32 | reserved u32 | offset u64 | len u64
//! interleaved, 24:    nstrips u32 | chunk_size u32 | nbytes u64 | reserved u64,
//!                     then nstrips simple extents
//! ```
//!
//! `nbytes` of an interleaved extent is the file size, as famfs sets it (the last chunk
//! may be partial; one chunk for an empty file).

use crate::error::{Error, Result};
use crate::layout::{put_u32, put_u64, EXT_TYPE_INTERLEAVED, EXT_TYPE_SIMPLE};
use crate::log::{Extent, FileMap};

/// Header size.
pub const FMAP_HEADER_SIZE: usize = 32;
/// Simple extent size.
pub const FMAP_SIMPLE_EXT_SIZE: usize = 24;
/// Interleaved extent header size.
pub const FMAP_IEXT_SIZE: usize = 24;
/// The blob format version.
pub const FMAP_VERSION: u16 = 1;

/// Header: `file_type` u8.
pub const FMAP_OFF_FILE_TYPE: usize = 0;
/// Header: `fmap_version` u16.
pub const FMAP_OFF_VERSION: usize = 2;
/// Header: `ext_type` u32.
pub const FMAP_OFF_EXT_TYPE: usize = 4;
/// Header: `nextents` u32.
pub const FMAP_OFF_NEXTENTS: usize = 8;
/// Header: `fmap_size` u32 (total blob bytes).
pub const FMAP_OFF_SIZE: usize = 12;
/// Header: `file_size` u64.
pub const FMAP_OFF_FILE_SIZE: usize = 16;
/// Simple extent: `offset` u64.
pub const FMAP_SE_OFF_OFFSET: usize = 8;
/// Simple extent: `len` u64.
pub const FMAP_SE_OFF_LEN: usize = 16;
/// Interleaved extent: `chunk_size` u32.
pub const FMAP_IE_OFF_CHUNK: usize = 4;
/// Interleaved extent: `nbytes` u64.
pub const FMAP_IE_OFF_NBYTES: usize = 8;

/// What kind of famfs file a blob describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FileType {
    /// A regular file.
    Regular = 0,
    /// `.meta/.superblock`.
    Superblock = 1,
    /// `.meta/.log`.
    Log = 2,
}

fn put_simple(b: &mut Vec<u8>, e: &Extent) -> Result<()> {
    let dev = u32::try_from(e.devindex)
        .map_err(|_| Error::Invalid(format!("device index {} too large", e.devindex)))?;
    let mut x = [0u8; FMAP_SIMPLE_EXT_SIZE];
    put_u32(&mut x, 0, dev);
    put_u64(&mut x, FMAP_SE_OFF_OFFSET, e.offset);
    put_u64(&mut x, FMAP_SE_OFF_LEN, e.len);
    b.extend_from_slice(&x);
    Ok(())
}

/// Build the blob for a file of `file_size` bytes with map `map`.
pub fn fmap_blob(file_type: FileType, file_size: u64, map: &FileMap) -> Result<Vec<u8>> {
    let mut b = vec![0u8; FMAP_HEADER_SIZE];
    let (ext_type, nextents) = match map {
        FileMap::Simple(exts) => {
            for e in exts {
                put_simple(&mut b, e)?;
            }
            (EXT_TYPE_SIMPLE, exts.len())
        }
        FileMap::Interleaved { chunk_size, strips } => {
            let chunk = u32::try_from(*chunk_size)
                .map_err(|_| Error::Invalid(format!("chunk size {chunk_size} too large")))?;
            if chunk == 0 {
                return Err(Error::Invalid("chunk size 0".to_string()));
            }
            // famfs: the byte count is the file size; the kernel wants it nonzero.
            let nbytes = if file_size == 0 {
                *chunk_size
            } else {
                file_size
            };
            let mut h = [0u8; FMAP_IEXT_SIZE];
            put_u32(&mut h, 0, strips.len() as u32);
            put_u32(&mut h, FMAP_IE_OFF_CHUNK, chunk);
            put_u64(&mut h, FMAP_IE_OFF_NBYTES, nbytes);
            b.extend_from_slice(&h);
            for s in strips {
                put_simple(&mut b, s)?;
            }
            (EXT_TYPE_INTERLEAVED, 1)
        }
    };
    let total = u32::try_from(b.len())
        .map_err(|_| Error::Invalid("fmap blob larger than 4 GiB".to_string()))?;
    b[FMAP_OFF_FILE_TYPE] = file_type as u8;
    b[FMAP_OFF_VERSION..FMAP_OFF_VERSION + 2].copy_from_slice(&FMAP_VERSION.to_le_bytes());
    put_u32(&mut b, FMAP_OFF_EXT_TYPE, ext_type);
    put_u32(&mut b, FMAP_OFF_NEXTENTS, nextents as u32);
    put_u32(&mut b, FMAP_OFF_SIZE, total);
    put_u64(&mut b, FMAP_OFF_FILE_SIZE, file_size);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{get_u32, get_u64};

    #[test]
    fn simple_blob() {
        let m = FileMap::Simple(vec![
            Extent::new(10 << 20, 4 << 20),
            Extent::new(20 << 20, 2 << 20),
        ]);
        let b = fmap_blob(FileType::Regular, 5 << 20, &m).unwrap();
        assert_eq!(b.len(), 32 + 2 * 24);
        assert_eq!(b[0], 0);
        assert_eq!(u16::from_le_bytes([b[2], b[3]]), 1);
        assert_eq!(get_u32(&b, 4), 0);
        assert_eq!(get_u32(&b, 8), 2);
        assert_eq!(get_u32(&b, 12) as usize, b.len());
        assert_eq!(get_u64(&b, 16), 5 << 20);
        assert_eq!(get_u64(&b, 32 + 24 + 8), 20 << 20);
        assert_eq!(get_u64(&b, 32 + 24 + 16), 2 << 20);
    }

    #[test]
    fn interleaved_blob() {
        let strips: Vec<_> = (0..3)
            .map(|i| Extent::new((10 + 2 * i) << 20, 2 << 20))
            .collect();
        let m = FileMap::Interleaved {
            chunk_size: 4096,
            strips,
        };
        let b = fmap_blob(FileType::Log, (3 << 20) - 5, &m).unwrap();
        assert_eq!(b.len(), 32 + 24 + 3 * 24);
        assert_eq!(b[0], 2);
        assert_eq!(get_u32(&b, 4), 1);
        assert_eq!(get_u32(&b, 8), 1);
        assert_eq!(get_u32(&b, 32), 3);
        assert_eq!(get_u32(&b, 36), 4096);
        assert_eq!(get_u64(&b, 16), (3 << 20) - 5);
        // nbytes: the file size.
        assert_eq!(get_u64(&b, 40), (3 << 20) - 5);
        assert_eq!(get_u64(&b, 56 + 2 * 24 + 8), 14 << 20);
    }

    #[test]
    fn oversized_fields_are_rejected() {
        let m = FileMap::Interleaved {
            chunk_size: 1 << 33,
            strips: vec![Extent::new(0, 1 << 34)],
        };
        assert!(fmap_blob(FileType::Regular, 1, &m).is_err());
        let mut e = Extent::new(0, 1);
        e.devindex = 1 << 32;
        assert!(fmap_blob(FileType::Regular, 1, &FileMap::Simple(vec![e])).is_err());
    }
}
