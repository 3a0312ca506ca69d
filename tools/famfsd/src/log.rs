// SPDX-License-Identifier: GPL-2.0
//! The famfs metadata log: header and entries, encoding, decoding and validation.

use crate::error::{Error, Result};
use crate::layout::*;
use uuid::Uuid;

/// The decoded log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHeader {
    /// Length of the log in bytes (header included).
    pub log_len: u64,
    /// Index of the last usable entry.
    pub last_index: u64,
    /// Sequence number the next entry gets.
    pub next_seqnum: u64,
    /// Index the next entry is written at; entries `[0, next_index)` are committed.
    pub next_index: u64,
}

impl LogHeader {
    /// An empty log of `log_len` bytes.
    pub fn new(log_len: u64) -> Self {
        LogHeader {
            log_len,
            last_index: log_entries(log_len) - 1,
            next_seqnum: 0,
            next_index: 0,
        }
    }

    /// Encode into the on-media bytes (with the crc computed).
    pub fn encode(&self) -> [u8; LOG_HEADER_SIZE] {
        let mut b = [0u8; LOG_HEADER_SIZE];
        put_u64(&mut b, LOG_MAGIC_OFF, LOG_MAGIC);
        put_u64(&mut b, LOG_LEN_OFF, self.log_len);
        put_u64(&mut b, LOG_LAST_INDEX, self.last_index);
        put_u64(&mut b, LOG_NEXT_SEQNUM, self.next_seqnum);
        put_u64(&mut b, LOG_NEXT_INDEX, self.next_index);
        let crc = header_crc(&b);
        put_u64(&mut b, LOG_CRC, crc);
        b
    }

    /// Decode and validate the log header against the superblock's `log_len`.
    pub fn decode(b: &[u8], log_len: u64) -> Result<Self> {
        let bad = |m: String| Err(Error::LogHeader(m));
        if b.len() < LOG_HEADER_SIZE {
            return bad("log region too small".to_string());
        }
        let magic = get_u64(b, LOG_MAGIC_OFF);
        if magic != LOG_MAGIC {
            return bad(format!("bad magic {magic:#x} (expected {LOG_MAGIC:#x})"));
        }
        let stored = get_u64(b, LOG_CRC);
        let crc = header_crc(b);
        if stored != crc {
            return bad(format!(
                "crc mismatch (stored {stored:#x}, computed {crc:#x})"
            ));
        }
        let h = LogHeader {
            log_len: get_u64(b, LOG_LEN_OFF),
            last_index: get_u64(b, LOG_LAST_INDEX),
            next_seqnum: get_u64(b, LOG_NEXT_SEQNUM),
            next_index: get_u64(b, LOG_NEXT_INDEX),
        };
        if h.log_len != log_len {
            return bad(format!(
                "log length {} differs from the superblock's {log_len}",
                h.log_len
            ));
        }
        if h.last_index != log_entries(log_len) - 1 {
            return bad(format!(
                "last_index {} does not match a log of {log_len} bytes",
                h.last_index
            ));
        }
        if h.next_index > h.last_index + 1 {
            return bad(format!(
                "next_index {} past the end of the log",
                h.next_index
            ));
        }
        if h.next_seqnum != h.next_index {
            return bad(format!(
                "next_seqnum {} differs from next_index {}",
                h.next_seqnum, h.next_index
            ));
        }
        Ok(h)
    }

    /// Total number of entries the log holds.
    pub fn capacity(&self) -> u64 {
        self.last_index + 1
    }

    /// Whether no entry is free.
    pub fn is_full(&self) -> bool {
        self.next_index > self.last_index
    }
}

/// famfs's header crc: `magic`, `log_len` and `last_index` only.
fn header_crc(b: &[u8]) -> u64 {
    checksum(&[&b[..LOG_CRC]])
}

/// Byte offset of entry `index` inside the log region.
pub fn entry_offset(index: u64) -> u64 {
    LOG_HEADER_SIZE as u64 + index * ENTRY_SIZE as u64
}

/// A range of device memory `{devindex, offset, len}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Extent {
    /// Device index (0: the primary device).
    pub devindex: u64,
    /// Byte offset in the device.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Extent {
    /// An extent on device 0.
    pub fn new(offset: u64, len: u64) -> Self {
        Extent {
            devindex: 0,
            offset,
            len,
        }
    }

    /// One past the last byte (saturating).
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.len)
    }
}

/// Where a file's bytes live on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMap {
    /// Extents laid end to end in file order.
    Simple(Vec<Extent>),
    /// One interleaved extent: the file is cut into `chunk_size` chunks dealt round-robin
    /// to the strips.
    Interleaved {
        /// Chunk size in bytes (a power of two >= 4096).
        chunk_size: u64,
        /// The strips, in dealing order.
        strips: Vec<Extent>,
    },
}

impl FileMap {
    /// All the device ranges the file owns (extents or strips).
    pub fn extents(&self) -> &[Extent] {
        match self {
            FileMap::Simple(e) => e,
            FileMap::Interleaved { strips, .. } => strips,
        }
    }

    /// Total bytes of device memory the map owns.
    pub fn capacity(&self) -> u64 {
        match self {
            FileMap::Simple(e) => e.iter().map(|x| x.len).sum(),
            FileMap::Interleaved { chunk_size, strips } => {
                // A strip holds only whole chunks.
                strips.iter().map(|s| s.len / chunk_size * chunk_size).sum()
            }
        }
    }

    /// Resolve file offset `off` to `(device extent index, device offset, contiguous length)`.
    /// Returns `None` past the end of the map.
    pub fn resolve(&self, off: u64) -> Option<(u64, u64, u64)> {
        match self {
            FileMap::Simple(exts) => {
                let mut base = 0u64;
                for e in exts {
                    if off < base + e.len {
                        let d = off - base;
                        return Some((e.devindex, e.offset + d, e.len - d));
                    }
                    base += e.len;
                }
                None
            }
            FileMap::Interleaved { chunk_size, strips } => {
                let n = strips.len() as u64;
                if n == 0 || *chunk_size == 0 {
                    return None;
                }
                let chunk = off / chunk_size;
                let stripe = chunk / n;
                let strip = &strips[(chunk % n) as usize];
                let in_chunk = off % chunk_size;
                let strip_off = stripe * chunk_size + in_chunk;
                if strip_off + (chunk_size - in_chunk) > strip.len {
                    return None;
                }
                Some((
                    strip.devindex,
                    strip.offset + strip_off,
                    chunk_size - in_chunk,
                ))
            }
        }
    }
}

/// A file-creation entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// File size in bytes.
    pub size: u64,
    /// Flags (none defined).
    pub flags: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits (the file-type bits are implied).
    pub mode: u32,
    /// Path relative to the file-system root.
    pub relpath: String,
    /// Where the data lives.
    pub map: FileMap,
}

/// A directory-creation entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkdirEntry {
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Path relative to the file-system root.
    pub relpath: String,
}

/// An add-daxdev entry: one more device the file system spans, keyed by its uuid (the
/// path of a device is per host and is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaxdevEntry {
    /// Device size in bytes.
    pub size: u64,
    /// Device uuid.
    pub uuid: Uuid,
    /// Device index extents use to name it (1.. ; 0 is the superblock's device).
    pub index: u32,
}

/// A decoded log entry body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Create a file.
    File(FileEntry),
    /// Create a directory.
    Mkdir(MkdirEntry),
    /// Add a device.
    AddDaxdev(DaxdevEntry),
}

impl EntryKind {
    /// The path the entry creates ("" for an add-daxdev entry).
    pub fn relpath(&self) -> &str {
        match self {
            EntryKind::File(f) => &f.relpath,
            EntryKind::Mkdir(d) => &d.relpath,
            EntryKind::AddDaxdev(_) => "",
        }
    }

    /// One line naming what the entry does, for warnings.
    pub fn describe(&self) -> String {
        match self {
            EntryKind::File(f) => format!("file '{}'", f.relpath),
            EntryKind::Mkdir(d) => format!("directory '{}'", d.relpath),
            EntryKind::AddDaxdev(d) => format!("device {} (uuid {})", d.index, d.uuid),
        }
    }
}

/// A log entry with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Sequence number (equal to the entry's index in a log written by this library).
    pub seqnum: u64,
    /// The entry body.
    pub kind: EntryKind,
}

fn put_relpath(b: &mut [u8], off: usize, path: &str) -> Result<()> {
    let p = path.as_bytes();
    if p.len() > MAX_RELPATH {
        return Err(Error::NameTooLong {
            path: path.to_string(),
            len: p.len(),
            max: MAX_RELPATH,
        });
    }
    b[off..off + p.len()].copy_from_slice(p);
    Ok(())
}

fn get_relpath(b: &[u8], off: usize, index: u64) -> Result<String> {
    let f = &b[off..off + RELPATH_LEN];
    let n = f
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| Error::entry(index, "relpath is not NUL-terminated"))?;
    let s = std::str::from_utf8(&f[..n])
        .map_err(|_| Error::entry(index, "relpath is not valid UTF-8"))?;
    crate::path::check_relpath(s).map_err(|e| Error::entry(index, e.to_string()))?;
    Ok(s.to_string())
}

fn put_extent(b: &mut [u8], off: usize, e: &Extent) {
    put_u64(b, off, e.devindex);
    put_u64(b, off + 8, e.offset);
    put_u64(b, off + 16, e.len);
}

fn get_extent(b: &[u8], off: usize) -> Extent {
    Extent {
        devindex: get_u64(b, off),
        offset: get_u64(b, off + 8),
        len: get_u64(b, off + 16),
    }
}

impl LogEntry {
    /// Encode into the 544 on-media bytes (with the crc computed).
    pub fn encode(&self) -> Result<[u8; ENTRY_SIZE]> {
        let mut b = [0u8; ENTRY_SIZE];
        put_u64(&mut b, ENTRY_SEQNUM, self.seqnum);
        let u = ENTRY_UNION;
        match &self.kind {
            EntryKind::File(f) => {
                put_u32(&mut b, ENTRY_TYPE, ENTRY_TYPE_FILE);
                put_u64(&mut b, u + FILE_SIZE, f.size);
                put_u32(&mut b, u + FILE_FLAGS, f.flags);
                put_u32(&mut b, u + FILE_UID, f.uid);
                put_u32(&mut b, u + FILE_GID, f.gid);
                put_u32(&mut b, u + FILE_MODE, f.mode);
                put_relpath(&mut b, u + FILE_RELPATH, &f.relpath)?;
                let x = u + FMAP_EXTENTS;
                match &f.map {
                    FileMap::Simple(exts) => {
                        if exts.is_empty() || exts.len() > MAX_SIMPLE_EXTENTS {
                            return Err(Error::Invalid(format!(
                                "{} simple extents (1..={MAX_SIMPLE_EXTENTS} allowed)",
                                exts.len()
                            )));
                        }
                        put_u32(&mut b, u + FMAP_EXT_TYPE, EXT_TYPE_SIMPLE);
                        put_u32(&mut b, u + FMAP_NEXTENTS, exts.len() as u32);
                        for (i, e) in exts.iter().enumerate() {
                            put_extent(&mut b, x + i * SIMPLE_EXT_SIZE, e);
                        }
                    }
                    FileMap::Interleaved { chunk_size, strips } => {
                        if strips.is_empty() || strips.len() > MAX_STRIPS {
                            return Err(Error::Invalid(format!(
                                "{} strips (1..={MAX_STRIPS} allowed)",
                                strips.len()
                            )));
                        }
                        put_u32(&mut b, u + FMAP_EXT_TYPE, EXT_TYPE_INTERLEAVED);
                        put_u32(&mut b, u + FMAP_NEXTENTS, 1);
                        put_u64(&mut b, x + IEXT_NSTRIPS, strips.len() as u64);
                        put_u64(&mut b, x + IEXT_CHUNK, *chunk_size);
                        for (i, e) in strips.iter().enumerate() {
                            put_extent(&mut b, x + IEXT_STRIPS + i * SIMPLE_EXT_SIZE, e);
                        }
                    }
                }
            }
            EntryKind::Mkdir(d) => {
                put_u32(&mut b, ENTRY_TYPE, ENTRY_TYPE_MKDIR);
                put_u32(&mut b, u + MKDIR_UID, d.uid);
                put_u32(&mut b, u + MKDIR_GID, d.gid);
                put_u32(&mut b, u + MKDIR_MODE, d.mode);
                put_relpath(&mut b, u + MKDIR_RELPATH, &d.relpath)?;
            }
            EntryKind::AddDaxdev(d) => {
                put_u32(&mut b, ENTRY_TYPE, ENTRY_TYPE_ADD_DAXDEV);
                put_u64(&mut b, u + DAXDEV_SIZE, d.size);
                b[u + DAXDEV_UUID..u + DAXDEV_UUID + 16].copy_from_slice(d.uuid.as_bytes());
                put_u32(&mut b, u + DAXDEV_INDEX, d.index);
            }
        }
        let crc = checksum(&[&b[..ENTRY_CRC]]);
        put_u64(&mut b, ENTRY_CRC, crc);
        Ok(b)
    }

    /// Decode and validate entry `index` from its 544 bytes.
    ///
    /// Checks the crc, the sequence number (must equal `index`), the type, the path and
    /// the extent counts; extent placement is checked by replay and fsck.
    pub fn decode(b: &[u8], index: u64) -> Result<Self> {
        if b.len() < ENTRY_SIZE {
            return Err(Error::entry(index, "truncated"));
        }
        let stored = get_u64(b, ENTRY_CRC);
        let crc = checksum(&[&b[..ENTRY_CRC]]);
        if stored != crc {
            return Err(Error::entry(
                index,
                format!("crc mismatch (stored {stored:#x}, computed {crc:#x})"),
            ));
        }
        let seqnum = get_u64(b, ENTRY_SEQNUM);
        if seqnum != index {
            return Err(Error::entry(
                index,
                format!("sequence number {seqnum} (expected {index})"),
            ));
        }
        let u = ENTRY_UNION;
        let kind = match get_u32(b, ENTRY_TYPE) {
            ENTRY_TYPE_FILE => {
                let relpath = get_relpath(b, u + FILE_RELPATH, index)?;
                let x = u + FMAP_EXTENTS;
                let n = get_u32(b, u + FMAP_NEXTENTS) as usize;
                let map = match get_u32(b, u + FMAP_EXT_TYPE) {
                    EXT_TYPE_SIMPLE => {
                        if n == 0 || n > MAX_SIMPLE_EXTENTS {
                            return Err(Error::entry(
                                index,
                                format!("bad simple extent count {n}"),
                            ));
                        }
                        FileMap::Simple(
                            (0..n)
                                .map(|i| get_extent(b, x + i * SIMPLE_EXT_SIZE))
                                .collect(),
                        )
                    }
                    EXT_TYPE_INTERLEAVED => {
                        if n != MAX_INTERLEAVED_EXTENTS {
                            return Err(Error::entry(
                                index,
                                format!("bad interleaved extent count {n}"),
                            ));
                        }
                        let nstrips = get_u64(b, x + IEXT_NSTRIPS);
                        if nstrips == 0 || nstrips > MAX_STRIPS as u64 {
                            return Err(Error::entry(index, format!("bad strip count {nstrips}")));
                        }
                        FileMap::Interleaved {
                            chunk_size: get_u64(b, x + IEXT_CHUNK),
                            strips: (0..nstrips as usize)
                                .map(|i| get_extent(b, x + IEXT_STRIPS + i * SIMPLE_EXT_SIZE))
                                .collect(),
                        }
                    }
                    t => return Err(Error::entry(index, format!("unknown extent type {t}"))),
                };
                EntryKind::File(FileEntry {
                    size: get_u64(b, u + FILE_SIZE),
                    flags: get_u32(b, u + FILE_FLAGS),
                    uid: get_u32(b, u + FILE_UID),
                    gid: get_u32(b, u + FILE_GID),
                    mode: get_u32(b, u + FILE_MODE),
                    relpath,
                    map,
                })
            }
            ENTRY_TYPE_MKDIR => EntryKind::Mkdir(MkdirEntry {
                uid: get_u32(b, u + MKDIR_UID),
                gid: get_u32(b, u + MKDIR_GID),
                mode: get_u32(b, u + MKDIR_MODE),
                relpath: get_relpath(b, u + MKDIR_RELPATH, index)?,
            }),
            ENTRY_TYPE_DELETE => {
                return Err(Error::entry(
                    index,
                    "delete entries are not supported (famfs does not write them)",
                ))
            }
            ENTRY_TYPE_ADD_DAXDEV => {
                let mut id = [0u8; 16];
                id.copy_from_slice(&b[u + DAXDEV_UUID..u + DAXDEV_UUID + 16]);
                EntryKind::AddDaxdev(DaxdevEntry {
                    size: get_u64(b, u + DAXDEV_SIZE),
                    uuid: Uuid::from_bytes(id),
                    index: get_u32(b, u + DAXDEV_INDEX),
                })
            }
            t => return Err(Error::entry(index, format!("unknown entry type {t}"))),
        };
        Ok(LogEntry { seqnum, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(map: FileMap) -> LogEntry {
        LogEntry {
            seqnum: 3,
            kind: EntryKind::File(FileEntry {
                size: 5 << 20,
                flags: 0,
                uid: 1000,
                gid: 100,
                mode: 0o640,
                relpath: "dir/file".into(),
                map,
            }),
        }
    }

    #[test]
    fn header_round_trip_and_corruption() {
        let h = LogHeader {
            next_index: 7,
            next_seqnum: 7,
            ..LogHeader::new(LOG_LEN_DEFAULT)
        };
        let b = h.encode();
        assert_eq!(LogHeader::decode(&b, LOG_LEN_DEFAULT).unwrap(), h);
        for i in 0..LOG_HEADER_SIZE {
            let mut c = b;
            c[i] ^= 1;
            assert!(LogHeader::decode(&c, LOG_LEN_DEFAULT).is_err(), "byte {i}");
        }
        // The crc covers bytes 0..24 only (famfs); next_seqnum/next_index are checked by
        // their equality.
        let mut c = b;
        put_u64(&mut c, LOG_NEXT_INDEX, 8);
        put_u64(&mut c, LOG_NEXT_SEQNUM, 8);
        assert_eq!(
            LogHeader::decode(&c, LOG_LEN_DEFAULT).unwrap().next_index,
            8
        );
        assert_eq!(get_u64(&b, LOG_CRC), checksum(&[&b[..24]]));
    }

    #[test]
    fn entries_round_trip() {
        let simple = file(FileMap::Simple(vec![
            Extent::new(10 << 20, 4 << 20),
            Extent::new(20 << 20, 2 << 20),
        ]));
        let inter = file(FileMap::Interleaved {
            chunk_size: 1 << 20,
            strips: (0..16)
                .map(|i| Extent::new((12 + 2 * i) << 20, 2 << 20))
                .collect(),
        });
        let dir = LogEntry {
            seqnum: 3,
            kind: EntryKind::Mkdir(MkdirEntry {
                uid: 1,
                gid: 2,
                mode: 0o755,
                relpath: "a/b".into(),
            }),
        };
        let dev = LogEntry {
            seqnum: 3,
            kind: EntryKind::AddDaxdev(DaxdevEntry {
                size: 512 << 20,
                uuid: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
                index: 1,
            }),
        };
        for e in [simple, inter, dir, dev] {
            let b = e.encode().unwrap();
            assert_eq!(LogEntry::decode(&b, 3).unwrap(), e);
            // Every byte is covered by the crc.
            for i in 0..ENTRY_SIZE {
                let mut c = b;
                c[i] ^= 0x10;
                let err = LogEntry::decode(&c, 3).unwrap_err();
                assert!(err.to_string().starts_with("log entry 3: "), "{err}");
            }
            // Wrong position in the log.
            assert!(LogEntry::decode(&b, 4).is_err());
        }
    }

    #[test]
    fn on_media_offsets_match_famfs() {
        // famfs-facts H: simple nextents @112 and extents @120 of the union; striped
        // nstrips @120, chunk_size @128, strips @136; add-daxdev size @0, uuid @8, index @24.
        let u = ENTRY_UNION;
        let b = file(FileMap::Simple(vec![Extent::new(10 << 20, 4 << 20)]))
            .encode()
            .unwrap();
        assert_eq!(get_u32(&b, u + 104), EXT_TYPE_SIMPLE);
        assert_eq!(get_u32(&b, u + 112), 1);
        assert_eq!(get_u64(&b, u + 120 + 8), 10 << 20);
        assert_eq!(get_u64(&b, u + 120 + 16), 4 << 20);
        let b = file(FileMap::Interleaved {
            chunk_size: 2 << 20,
            strips: vec![
                Extent::new(10 << 20, 4 << 20),
                Extent::new(20 << 20, 4 << 20),
            ],
        })
        .encode()
        .unwrap();
        assert_eq!(get_u32(&b, u + 104), EXT_TYPE_INTERLEAVED);
        assert_eq!(get_u32(&b, u + 112), 1);
        assert_eq!(get_u64(&b, u + 120), 2);
        assert_eq!(get_u64(&b, u + 128), 2 << 20);
        assert_eq!(get_u64(&b, u + 136 + 24 + 8), 20 << 20);
        let b = LogEntry {
            seqnum: 0,
            kind: EntryKind::AddDaxdev(DaxdevEntry {
                size: 7,
                uuid: Uuid::from_u128(1),
                index: 5,
            }),
        }
        .encode()
        .unwrap();
        assert_eq!(get_u32(&b, ENTRY_TYPE), ENTRY_TYPE_ADD_DAXDEV);
        assert_eq!(get_u64(&b, u), 7);
        assert_eq!(b[u + 8 + 15], 1);
        assert_eq!(get_u32(&b, u + 24), 5);
    }

    #[test]
    fn unknown_and_delete_entries_are_refused() {
        let mut b = file(FileMap::Simple(vec![Extent::new(10 << 20, 4 << 20)]))
            .encode()
            .unwrap();
        for (t, what) in [(ENTRY_TYPE_DELETE, "delete"), (9, "unknown entry type 9")] {
            put_u32(&mut b, ENTRY_TYPE, t);
            let crc = checksum(&[&b[..ENTRY_CRC]]);
            put_u64(&mut b, ENTRY_CRC, crc);
            let e = LogEntry::decode(&b, 3).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
    }

    #[test]
    fn interleaved_resolution() {
        // The example of famfs-facts: N=4, C=2 MiB, off=15 MiB -> strip 3, +3 MiB.
        let strips: Vec<_> = (0..4)
            .map(|i| Extent::new((100 + 10 * i) << 20, 8 << 20))
            .collect();
        let m = FileMap::Interleaved {
            chunk_size: 2 << 20,
            strips,
        };
        assert_eq!(m.resolve(15 << 20), Some((0, (130 + 3) << 20, 1 << 20)));
        assert_eq!(m.resolve(0), Some((0, 100 << 20, 2 << 20)));
        assert_eq!(m.capacity(), 32 << 20);
        assert_eq!(m.resolve(32 << 20), None);
    }

    #[test]
    fn too_long_relpath_is_rejected() {
        let mut e = file(FileMap::Simple(vec![Extent::new(10 << 20, 2 << 20)]));
        if let EntryKind::File(f) = &mut e.kind {
            f.relpath = "x".repeat(MAX_RELPATH + 1);
        }
        assert!(matches!(e.encode(), Err(Error::NameTooLong { .. })));
    }
}
