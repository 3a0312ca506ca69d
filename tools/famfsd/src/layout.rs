// SPDX-License-Identifier: GPL-2.0
//! Exact byte layout of the famfs on-media format (OMF 2.2, superblock version 48).
//!
//! All integers are little-endian. Offsets are given in bytes from the start of the
//! containing structure; they reproduce the natural x86-64 C layout of the famfs
//! userspace structures (`struct famfs_superblock`, `struct famfs_log`,
//! `struct famfs_log_entry`), including the padding the C compiler inserts.
//!
//! ```text
//! device:  [0, 2 MiB)                      superblock region (superblock at offset 0)
//!          [log_offset, log_offset+log_len) log: header, then 544-byte entries
//!          [log_offset+log_len, size)       data, handed out in 2 MiB allocation units
//! ```
//!
//! # Checksums
//!
//! Every checksum is CRC-32/ISO-HDLC (the zlib / Ethernet `crc32`, as famfs userspace
//! computes with `crc32(0, ...)`), zero-extended into the 64-bit field that holds it.
//!
//! * superblock: over bytes `[0, SB_CRC)` (all fields before the crc, as in famfs);
//! * log header: over `magic`, `log_len` and `last_index` (`[0, LOG_CRC)`), as famfs
//!   does; `next_seqnum`/`next_index` change on every append and are not covered. A torn
//!   header update is caught because both must be equal (they move together);
//! * log entry: over bytes `[0, ENTRY_CRC)` of the entry.

use crc::{Crc, CRC_32_ISO_HDLC};

/// Superblock magic number.
pub const SB_MAGIC: u64 = 0x87b2_82ff;
/// statfs magic a mounted famfs reports.
pub const STATFS_MAGIC: u64 = 0x87b2_82fd;
/// Superblock version.
pub const SB_VERSION: u64 = 48;
/// On-media format major version.
pub const OMF_VER_MAJOR: u32 = 2;
/// On-media format minor version.
pub const OMF_VER_MINOR: u32 = 2;
/// Size of the superblock region at the start of the device.
pub const SB_REGION_SIZE: u64 = 2 << 20;
/// Default (and only) log offset.
pub const LOG_OFFSET: u64 = 2 << 20;
/// Default and minimum log length; any log length is a power of two at least this.
pub const LOG_LEN_DEFAULT: u64 = 8 << 20;
/// Allocation unit of file data written by mkfs.
pub const ALLOC_UNIT: u64 = 2 << 20;
/// The other allocation unit famfs accepts in a superblock.
pub const ALLOC_UNIT_4K: u64 = 4 << 10;
/// Devices a file system may span (the primary plus `ADD_DAXDEV` entries); the kernel's
/// device table holds this many.
pub const MAX_DEVICES: u64 = 64;

/// Superblock field offsets.
pub const SB_MAGIC_OFF: usize = 0;
/// `version` u64.
pub const SB_VERSION_OFF: usize = 8;
/// `log_offset` u64.
pub const SB_LOG_OFFSET: usize = 16;
/// `log_len` u64.
pub const SB_LOG_LEN: usize = 24;
/// `alloc_unit` u64.
pub const SB_ALLOC_UNIT: usize = 32;
/// `omf_ver_major` u32.
pub const SB_OMF_MAJOR: usize = 40;
/// `omf_ver_minor` u32.
pub const SB_OMF_MINOR: usize = 44;
/// File-system uuid, 16 bytes.
pub const SB_FS_UUID: usize = 48;
/// Device uuid, 16 bytes.
pub const SB_DEV_UUID: usize = 64;
/// System (creating host) uuid, 16 bytes.
pub const SB_SYS_UUID: usize = 80;
/// `crc` u64 over `[0, SB_CRC)`.
pub const SB_CRC: usize = 96;
/// `sb_flags` u32 (followed by 4 bytes of padding).
pub const SB_FLAGS: usize = 104;
/// daxdev record: `size` u64.
pub const SB_DAXDEV_SIZE: usize = 112;
/// daxdev record: `uuid`, 16 bytes.
pub const SB_DAXDEV_UUID: usize = 120;
/// daxdev record: `name[64]`, filled with `strncpy`: NUL-terminated unless 64 bytes long.
pub const SB_DAXDEV_NAME: usize = 136;
/// Length of the daxdev name field.
pub const DAXDEV_NAME_LEN: usize = 64;
/// Total size of the superblock structure.
pub const SB_SIZE: usize = 200;

/// Log header magic number.
pub const LOG_MAGIC: u64 = 0xbad_cafe_f00d;
/// Log header: `magic` u64.
pub const LOG_MAGIC_OFF: usize = 0;
/// Log header: `log_len` u64.
pub const LOG_LEN_OFF: usize = 8;
/// Log header: `last_index` u64 (index of the last usable entry).
pub const LOG_LAST_INDEX: usize = 16;
/// Log header: `crc` u64.
pub const LOG_CRC: usize = 24;
/// Log header: `next_seqnum` u64.
pub const LOG_NEXT_SEQNUM: usize = 32;
/// Log header: `next_index` u64.
pub const LOG_NEXT_INDEX: usize = 40;
/// Size of the log header; entries start here.
pub const LOG_HEADER_SIZE: usize = 48;

/// Size of one log entry.
pub const ENTRY_SIZE: usize = 544;
/// Entry: `seqnum` u64.
pub const ENTRY_SEQNUM: usize = 0;
/// Entry: `type` u32 (followed by 4 bytes of padding).
pub const ENTRY_TYPE: usize = 8;
/// Entry: start of the type-specific union.
pub const ENTRY_UNION: usize = 16;
/// Size of the union.
pub const ENTRY_UNION_SIZE: usize = 520;
/// Entry: `crc` u64 over `[0, ENTRY_CRC)`.
pub const ENTRY_CRC: usize = 536;

/// Entry type: file creation.
pub const ENTRY_TYPE_FILE: u32 = 0;
/// Entry type: directory creation.
pub const ENTRY_TYPE_MKDIR: u32 = 1;
/// Entry type: delete (defined by famfs, never written by famfs; skipped on replay).
pub const ENTRY_TYPE_DELETE: u32 = 2;
/// Entry type: add a dax device.
pub const ENTRY_TYPE_ADD_DAXDEV: u32 = 3;

/// Length of the `relpath` field; paths are NUL-terminated so at most `RELPATH_LEN - 1` bytes.
pub const RELPATH_LEN: usize = 80;
/// Longest relative path that fits.
pub const MAX_RELPATH: usize = RELPATH_LEN - 1;

/// File entry (offsets inside the union): `size` u64.
pub const FILE_SIZE: usize = 0;
/// File entry: `flags` u32.
pub const FILE_FLAGS: usize = 8;
/// File flag: read-only on every host.
pub const FILE_FLAG_ALL_RO: u32 = 1;
/// File flag: read-write on every host (what famfs writes).
pub const FILE_FLAG_ALL_RW: u32 = 2;
/// File entry: `uid` u32.
pub const FILE_UID: usize = 12;
/// File entry: `gid` u32.
pub const FILE_GID: usize = 16;
/// File entry: `mode` u32.
pub const FILE_MODE: usize = 20;
/// File entry: `relpath[80]`.
pub const FILE_RELPATH: usize = 24;
/// File entry, fmap: `ext_type` u32 (0 simple, 1 interleaved).
pub const FMAP_EXT_TYPE: usize = 104;
/// File entry, fmap: `nextents` u32 (simple extents, or interleaved extents which is 1).
/// It opens the map's union, which holds u64s and so is 8-byte aligned: 4 bytes of
/// padding follow `ext_type`.
pub const FMAP_NEXTENTS: usize = 112;
/// File entry, fmap: extents start here (simple: `[SIMPLE_EXT_SIZE; MAX_SIMPLE_EXTENTS]`;
/// striped: one interleaved extent).
pub const FMAP_EXTENTS: usize = 120;
/// Interleaved extent (offsets from `FMAP_EXTENTS`): `nstrips` u64.
pub const IEXT_NSTRIPS: usize = 0;
/// Interleaved extent: `chunk_size` u64.
pub const IEXT_CHUNK: usize = 8;
/// Interleaved extent: strips (simple extents) start here.
pub const IEXT_STRIPS: usize = 16;
/// Size of an on-media simple extent `{devindex u64, offset u64, len u64}`.
pub const SIMPLE_EXT_SIZE: usize = 24;
/// Simple extents per file entry.
pub const MAX_SIMPLE_EXTENTS: usize = 16;
/// Strips per interleaved extent.
pub const MAX_STRIPS: usize = 16;
/// Interleaved extents per file entry.
pub const MAX_INTERLEAVED_EXTENTS: usize = 1;
/// End of the file entry inside the union.
pub const FILE_ENTRY_END: usize = FMAP_EXTENTS + IEXT_STRIPS + MAX_STRIPS * SIMPLE_EXT_SIZE;

/// Mkdir entry (offsets inside the union): `uid` u32.
pub const MKDIR_UID: usize = 0;
/// Mkdir entry: `gid` u32.
pub const MKDIR_GID: usize = 4;
/// Mkdir entry: `mode` u32.
pub const MKDIR_MODE: usize = 8;
/// Mkdir entry: `relpath[80]`.
pub const MKDIR_RELPATH: usize = 12;

/// Add-daxdev entry (offsets inside the union): `dd_size` u64.
pub const DAXDEV_SIZE: usize = 0;
/// Add-daxdev entry: `dd_uuid`, 16 bytes.
pub const DAXDEV_UUID: usize = 8;
/// Add-daxdev entry: `dd_index` u32.
pub const DAXDEV_INDEX: usize = 24;

/// fmap extent type: simple extents.
pub const EXT_TYPE_SIMPLE: u32 = 0;
/// fmap extent type: interleaved extents.
pub const EXT_TYPE_INTERLEAVED: u32 = 1;

// Compile-time checks: every entry variant fits in the union.
const _: () = assert!(FMAP_EXTENTS + MAX_SIMPLE_EXTENTS * SIMPLE_EXT_SIZE <= ENTRY_UNION_SIZE);
const _: () = assert!(FILE_ENTRY_END <= ENTRY_UNION_SIZE);
const _: () = assert!(MKDIR_RELPATH + RELPATH_LEN <= ENTRY_UNION_SIZE);
const _: () = assert!(DAXDEV_INDEX + 4 <= ENTRY_UNION_SIZE);

/// Number of entries a log of `log_len` bytes holds.
pub const fn log_entries(log_len: u64) -> u64 {
    (log_len - LOG_HEADER_SIZE as u64) / ENTRY_SIZE as u64
}

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The famfs checksum of a sequence of byte slices (CRC-32/ISO-HDLC, widened to u64).
pub fn checksum(parts: &[&[u8]]) -> u64 {
    let mut d = CRC32.digest();
    for p in parts {
        d.update(p);
    }
    u64::from(d.finalize())
}

/// Read a little-endian u64 at `off` of `b` (`b` must be long enough: callers pass
/// fixed-size structures whose layout is checked by the tests below).
pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Read a little-endian u32 at `off` of `b`.
pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Write a little-endian u64 at `off` of `b`.
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Write a little-endian u32 at `off` of `b`.
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superblock_layout_is_packed_c_layout() {
        // Each field follows the previous one, with C alignment padding only where noted.
        assert_eq!(SB_VERSION_OFF, SB_MAGIC_OFF + 8);
        assert_eq!(SB_LOG_OFFSET, SB_VERSION_OFF + 8);
        assert_eq!(SB_LOG_LEN, SB_LOG_OFFSET + 8);
        assert_eq!(SB_ALLOC_UNIT, SB_LOG_LEN + 8);
        assert_eq!(SB_OMF_MAJOR, SB_ALLOC_UNIT + 8);
        assert_eq!(SB_OMF_MINOR, SB_OMF_MAJOR + 4);
        assert_eq!(SB_FS_UUID, SB_OMF_MINOR + 4);
        assert_eq!(SB_DEV_UUID, SB_FS_UUID + 16);
        assert_eq!(SB_SYS_UUID, SB_DEV_UUID + 16);
        assert_eq!(SB_CRC, SB_SYS_UUID + 16);
        assert_eq!(SB_FLAGS, SB_CRC + 8);
        // u32 flags, then padding to the u64-aligned daxdev record.
        assert_eq!(SB_DAXDEV_SIZE, (SB_FLAGS + 4).next_multiple_of(8));
        assert_eq!(SB_DAXDEV_UUID, SB_DAXDEV_SIZE + 8);
        assert_eq!(SB_DAXDEV_NAME, SB_DAXDEV_UUID + 16);
        assert_eq!(SB_SIZE, SB_DAXDEV_NAME + DAXDEV_NAME_LEN);
        assert_eq!(SB_SIZE, 200);
    }

    #[test]
    fn log_layout() {
        assert_eq!(LOG_LEN_OFF, 8);
        assert_eq!(LOG_LAST_INDEX, 16);
        assert_eq!(LOG_CRC, 24);
        assert_eq!(LOG_NEXT_SEQNUM, 32);
        assert_eq!(LOG_NEXT_INDEX, 40);
        assert_eq!(LOG_HEADER_SIZE, LOG_NEXT_INDEX + 8);
        assert_eq!(log_entries(LOG_LEN_DEFAULT), 15_420);
    }

    #[test]
    fn entry_layout() {
        assert_eq!(ENTRY_TYPE, ENTRY_SEQNUM + 8);
        assert_eq!(ENTRY_UNION, (ENTRY_TYPE + 4).next_multiple_of(8));
        assert_eq!(ENTRY_CRC, ENTRY_UNION + ENTRY_UNION_SIZE);
        assert_eq!(ENTRY_SIZE, ENTRY_CRC + 8);
        assert_eq!(ENTRY_SIZE, 544);
        // File entry fields in order.
        assert_eq!(FILE_FLAGS, FILE_SIZE + 8);
        assert_eq!(FILE_UID, FILE_FLAGS + 4);
        assert_eq!(FILE_GID, FILE_UID + 4);
        assert_eq!(FILE_MODE, FILE_GID + 4);
        assert_eq!(FILE_RELPATH, FILE_MODE + 4);
        assert_eq!(FMAP_EXT_TYPE, FILE_RELPATH + RELPATH_LEN);
        // famfs-facts H: the map's union is 8-byte aligned.
        assert_eq!(FMAP_EXT_TYPE, 104);
        assert_eq!(FMAP_NEXTENTS, (FMAP_EXT_TYPE + 4).next_multiple_of(8));
        assert_eq!(FMAP_NEXTENTS, 112);
        assert_eq!(FMAP_EXTENTS, 120);
        assert_eq!(FMAP_EXTENTS + IEXT_CHUNK, 128);
        assert_eq!(FMAP_EXTENTS + IEXT_STRIPS, 136);
        assert_eq!(FILE_ENTRY_END, ENTRY_UNION_SIZE);
        assert_eq!(DAXDEV_UUID, DAXDEV_SIZE + 8);
        assert_eq!(DAXDEV_INDEX, DAXDEV_UUID + 16);
        // Mkdir entry.
        assert_eq!(MKDIR_GID, MKDIR_UID + 4);
        assert_eq!(MKDIR_MODE, MKDIR_GID + 4);
        assert_eq!(MKDIR_RELPATH, MKDIR_MODE + 4);
    }

    #[test]
    fn checksum_is_zlib_crc32() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(checksum(&[b"123456789"]), 0xcbf4_3926);
        assert_eq!(checksum(&[b"1234", b"56789"]), 0xcbf4_3926);
    }

    #[test]
    fn integer_helpers_round_trip() {
        let mut b = [0u8; 16];
        put_u64(&mut b, 4, 0x0102_0304_0506_0708);
        assert_eq!(b[4], 0x08);
        assert_eq!(get_u64(&b, 4), 0x0102_0304_0506_0708);
        put_u32(&mut b, 0, 0xdead_beef);
        assert_eq!(get_u32(&b, 0), 0xdead_beef);
    }
}
