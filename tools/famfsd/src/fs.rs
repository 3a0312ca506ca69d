// SPDX-License-Identifier: GPL-2.0
//! A famfs file system opened on some [`Media`]: mkfs, replay, append, data access, fsck.

use crate::alloc::{Owner, Rng};
use crate::error::{Error, Result};
use crate::layout::{
    FILE_FLAG_ALL_RW, LOG_HEADER_SIZE, MAX_DEVICES, MAX_SIMPLE_EXTENTS, MAX_STRIPS, SB_REGION_SIZE,
    SB_SIZE,
};
use crate::log::{
    entry_offset, DaxdevEntry, EntryKind, FileEntry, FileMap, LogEntry, LogHeader, MkdirEntry,
};
use crate::media::Media;
use crate::namespace::{replay, Namespace, Node, Replay, FIRST_ENTRY_INO};
use crate::path::{check_relpath, normalize};
use crate::superblock::Superblock;

/// How a new file's space is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Contiguous (or, on a fragmented device, up to 16 extents).
    Simple,
    /// Interleaved over `nstrips` strips in `chunk_size` chunks.
    Interleaved {
        /// Number of strips (1..=16).
        nstrips: u32,
        /// Chunk size, a power of two >= 4096.
        chunk_size: u64,
        /// Bucketed strided allocation: each device is cut into this many buckets and
        /// every strip comes from a different bucket, in random order (famfs `-B`).
        /// `None`: first fit.
        nbuckets: Option<u32>,
    },
}

/// Parameters of [`Famfs::mkfs_with`].
#[derive(Debug, Clone)]
pub struct MkfsOptions {
    /// Log length in bytes (a power of two >= 8 MiB).
    pub log_len: u64,
    /// Format over a valid superblock.
    pub force: bool,
    /// Uuid of the host formatting (the owner, the only host that writes the log).
    pub system_uuid: uuid::Uuid,
    /// Uuid of the device (random when `None`).
    pub dev_uuid: Option<uuid::Uuid>,
}

/// Parameters of a new file.
#[derive(Debug, Clone, Copy)]
pub struct CreateOptions {
    /// File size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Space layout.
    pub layout: Layout,
}

/// A mounted-in-userspace famfs: validated superblock and log header, replayed
/// namespace and allocation table, over media `M`.
pub struct Famfs<M: Media> {
    media: M,
    sb: Superblock,
    header: LogHeader,
    state: Replay,
}

/// Read and validate the superblock and log header of `media`.
pub fn read_meta(media: &dyn Media) -> Result<(Superblock, LogHeader)> {
    let sb_bytes = media
        .read(0, SB_SIZE as u64)
        .map_err(|e| Error::Superblock(e.to_string()))?;
    let sb = Superblock::decode(sb_bytes, media.size())?;
    let h = media
        .read(sb.log_offset, LOG_HEADER_SIZE as u64)
        .map_err(|e| Error::LogHeader(e.to_string()))?;
    let header = LogHeader::decode(h, sb.log_len)?;
    Ok((sb, header))
}

/// Whether `media` starts with a valid superblock (magic and crc).
pub fn has_valid_superblock(media: &dyn Media) -> bool {
    media
        .read(0, SB_SIZE as u64)
        .and_then(|b| Superblock::decode(b, 0))
        .is_ok()
}

impl<M: Media> Famfs<M> {
    /// Format `media`: write a superblock and an empty log of `log_len` bytes.
    ///
    /// Refuses media that already hold a valid superblock unless `force`.
    pub fn mkfs(media: M, log_len: u64, force: bool) -> Result<Self> {
        Self::mkfs_with(
            media,
            &MkfsOptions {
                log_len,
                force,
                system_uuid: uuid::Uuid::nil(),
                dev_uuid: None,
            },
        )
    }

    /// Format `media` as [`Famfs::mkfs`] does, with the owner's system uuid and the
    /// device uuid given.
    pub fn mkfs_with(mut media: M, o: &MkfsOptions) -> Result<Self> {
        let (log_len, force) = (o.log_len, o.force);
        if !media.has_data_access() {
            return Err(Error::Unsupported(
                "mkfs needs the raw device, not a mount".to_string(),
            ));
        }
        if !force && has_valid_superblock(&media) {
            return Err(Error::AlreadyFormatted(media.name().to_path_buf()));
        }
        let name = media.name().display().to_string();
        let mut sb = Superblock::new(media.size(), log_len, &name)?;
        sb.system_uuid = o.system_uuid;
        if let Some(u) = o.dev_uuid {
            sb.dev_uuid = u;
            sb.daxdev.uuid = u;
        }
        // Log first, superblock last: a crash leaves no valid superblock over a bad log.
        let header = LogHeader::new(log_len);
        media.write(0, SB_SIZE as u64)?.fill(0);
        media.flush(0, SB_SIZE as u64)?;
        let log = media.write(sb.log_offset, log_len)?;
        log.fill(0);
        log[..LOG_HEADER_SIZE].copy_from_slice(&header.encode());
        media.flush(sb.log_offset, log_len)?;
        let region = media.write(0, SB_REGION_SIZE)?;
        region.fill(0);
        region[..SB_SIZE].copy_from_slice(&sb.encode());
        media.flush(0, SB_REGION_SIZE)?;
        tracing::info!("mkfs: {} bytes, log {} bytes", sb.daxdev.size, log_len);
        Self::open(media)
    }

    /// Open `media`: validate the superblock and log header and replay the log as famfs
    /// does: bad or duplicate entries are skipped with a warning naming each (see
    /// [`Famfs::problems`]) and colliding files are not served.
    pub fn open(media: M) -> Result<Self> {
        let (sb, header) = read_meta(&media)?;
        let state = replay(&media, &sb, &header, true)?;
        Ok(Famfs {
            media,
            sb,
            header,
            state,
        })
    }

    /// The superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// The log header as last read or written.
    pub fn log_header(&self) -> &LogHeader {
        &self.header
    }

    /// The replayed namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.state.ns
    }

    /// The flags of the file entry that created `node` (0 for the metadata files).
    pub fn file_flags(&self, node: &Node) -> u32 {
        node.log_index
            .and_then(|i| crate::namespace::read_entry(&self.media, &self.sb, i).ok())
            .and_then(|e| match e.kind {
                EntryKind::File(f) => Some(f.flags),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// famfs's shadow YAML of file `node` (`None` for a directory).
    pub fn shadow_yaml_of(&self, node: &Node) -> Option<String> {
        let a = node.attr;
        let path = self.state.ns.path_of(node.ino);
        let flags = self.file_flags(node);
        node.map()
            .map(|m| shadow_yaml(&path, a.size, flags, a.mode, a.uid, a.gid, m))
    }

    /// The log entries replay skipped, in log order (empty on a consistent file system).
    pub fn problems(&self) -> &[Error] {
        &self.state.problems
    }

    /// The underlying media.
    pub fn media(&self) -> &M {
        &self.media
    }

    /// Bytes free for new files.
    pub fn free_bytes(&self) -> u64 {
        self.state.alloc.free_bytes()
    }

    fn prepare(&self, path: &str) -> Result<String> {
        let rel = normalize(path)?;
        check_relpath(&rel)?;
        if self.header.is_full() {
            return Err(Error::LogFull(self.header.capacity()));
        }
        self.state.ns.check_new(&rel)?;
        Ok(rel)
    }

    /// Append an entry: validate it against the namespace and allocation table, write
    /// its body, flush, then bump and flush the log header (the commit point), then apply
    /// it to the in-memory namespace.
    fn append(&mut self, kind: EntryKind) -> Result<u64> {
        let entry = LogEntry {
            seqnum: self.header.next_seqnum,
            kind,
        };
        self.state
            .ns
            .validate(self.header.next_index, &entry, &self.sb, &self.state.alloc)?;
        self.commit(entry, true)
    }

    /// Write entry at the next index, flush, then bump and flush the header. A
    /// `validated` entry is applied to the in-memory state; any other is replayed with
    /// the whole log, as every other host will.
    fn commit(&mut self, entry: LogEntry, validated: bool) -> Result<u64> {
        let index = self.header.next_index;
        let bytes = entry.encode()?;
        let off = self.sb.log_offset + entry_offset(index);
        self.media
            .write(off, bytes.len() as u64)?
            .copy_from_slice(&bytes);
        self.media.flush(off, bytes.len() as u64)?;
        let header = LogHeader {
            next_index: index + 1,
            next_seqnum: self.header.next_seqnum + 1,
            ..self.header
        };
        self.media
            .write(self.sb.log_offset, LOG_HEADER_SIZE as u64)?
            .copy_from_slice(&header.encode());
        self.media
            .flush(self.sb.log_offset, LOG_HEADER_SIZE as u64)?;
        self.header = header;
        if validated {
            self.state
                .ns
                .apply(index, &entry, &self.sb, &mut self.state.alloc)?;
        } else {
            let media: &dyn Media = &self.media;
            self.state = replay(media, &self.sb, &self.header, true)?;
        }
        tracing::debug!("log entry {index}: {}", entry.kind.describe());
        Ok(FIRST_ENTRY_INO + index)
    }

    /// Add a device of `size` bytes known by `uuid` (an `ADD_DAXDEV` entry). Returns its
    /// device index.
    pub fn add_daxdev(&mut self, size: u64, uuid: uuid::Uuid) -> Result<u32> {
        if self.header.is_full() {
            return Err(Error::LogFull(self.header.capacity()));
        }
        let n = self.state.ns.devices().len();
        if n as u64 >= MAX_DEVICES {
            return Err(Error::Invalid(format!(
                "already {n} devices (at most {MAX_DEVICES})"
            )));
        }
        let index = n as u32;
        self.append(EntryKind::AddDaxdev(DaxdevEntry { size, uuid, index }))?;
        Ok(index)
    }

    /// Create `dst` with the very extents of file `src` (famfs `clone`, a test tool):
    /// the log then holds a cross-link, which replay refuses to serve and fsck reports.
    pub fn clone_file(&mut self, src: &str, dst: &str) -> Result<()> {
        let relpath = self.prepare(dst)?;
        let node = self.state.ns.resolve(src)?;
        let map = node
            .map()
            .ok_or_else(|| Error::IsDir(src.to_string()))?
            .clone();
        let a = node.attr;
        let entry = LogEntry {
            seqnum: self.header.next_seqnum,
            kind: EntryKind::File(FileEntry {
                size: a.size,
                flags: FILE_FLAG_ALL_RW,
                uid: a.uid,
                gid: a.gid,
                mode: a.mode & 0o7777,
                relpath,
                map,
            }),
        };
        self.commit(entry, false).map(|_| ())
    }

    /// Create a directory; its parent must exist. Returns its inode number.
    pub fn mkdir(&mut self, path: &str, mode: u32, uid: u32, gid: u32) -> Result<u64> {
        let relpath = self.prepare(path)?;
        self.append(EntryKind::Mkdir(MkdirEntry {
            uid,
            gid,
            mode: mode & 0o7777,
            relpath,
        }))
    }

    /// Create a directory and any missing parents; existing directories are fine.
    pub fn mkdir_p(&mut self, path: &str, mode: u32, uid: u32, gid: u32) -> Result<u64> {
        let rel = normalize(path)?;
        let mut cur = String::new();
        let mut ino = self.state.ns.root().ino;
        for comp in rel.split('/').filter(|c| !c.is_empty()) {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(comp);
            match self.state.ns.resolve(&cur) {
                Ok(n) if n.is_dir() => ino = n.ino,
                Ok(_) => return Err(Error::NotDir(cur)),
                Err(Error::NotFound(_)) => ino = self.mkdir(&cur, mode, uid, gid)?,
                Err(e) => return Err(e),
            }
        }
        Ok(ino)
    }

    /// Allocate space and create a file. Returns its inode number.
    pub fn create_file(&mut self, path: &str, opts: &CreateOptions) -> Result<u64> {
        let relpath = self.prepare(path)?;
        let index = self.header.next_index;
        let owner = Owner::Entry(index);
        // Allocate on a scratch copy: the real table is marked when the entry is applied.
        let mut alloc = self.state.alloc.clone();
        let map = match opts.layout {
            Layout::Simple => FileMap::Simple(alloc.alloc_simple(
                &relpath,
                opts.size,
                MAX_SIMPLE_EXTENTS,
                owner,
            )?),
            Layout::Interleaved {
                nstrips,
                chunk_size,
                nbuckets,
            } => {
                if nstrips == 0 || nstrips as usize > MAX_STRIPS {
                    return Err(Error::Invalid(format!(
                        "strip count {nstrips} (1..={MAX_STRIPS} allowed)"
                    )));
                }
                if !chunk_size.is_power_of_two()
                    || chunk_size < 4096
                    || chunk_size > u64::from(u32::MAX)
                {
                    return Err(Error::Invalid(format!(
                        "chunk size {chunk_size} must be a power of two between 4096 and 2 GiB"
                    )));
                }
                let chunks = opts.size.div_ceil(chunk_size).max(1);
                let stripes = chunks.div_ceil(u64::from(nstrips));
                let strip_bytes = stripes
                    .checked_mul(chunk_size)
                    .ok_or_else(|| Error::Invalid("file too large".to_string()))?;
                let strips = match nbuckets {
                    Some(nb) => alloc.alloc_strips_bucketed(
                        &relpath,
                        nstrips as usize,
                        strip_bytes,
                        nb as usize,
                        &mut Rng::from_entropy(),
                        owner,
                    )?,
                    None => alloc.alloc_strips(&relpath, nstrips as usize, strip_bytes, owner)?,
                };
                FileMap::Interleaved { chunk_size, strips }
            }
        };
        let entry = EntryKind::File(FileEntry {
            size: opts.size,
            flags: FILE_FLAG_ALL_RW,
            uid: opts.uid,
            gid: opts.gid,
            mode: opts.mode & 0o7777,
            relpath,
            map,
        });
        self.append(entry)
    }

    fn file_map(&self, ino: u64) -> Result<(&Node, &FileMap)> {
        let node = self
            .state
            .ns
            .get(ino)
            .ok_or_else(|| Error::NotFound(format!("inode {ino}")))?;
        let map = node
            .map()
            .ok_or_else(|| Error::IsDir(self.state.ns.path_of(ino)))?;
        if !self.media.has_data_access() {
            return Err(Error::Unsupported(
                "file data is not addressable through this media; use the mounted file".to_string(),
            ));
        }
        Ok((node, map))
    }

    /// Write `buf` at file offset `off` of file `ino` (must stay inside the file size).
    /// Data is flushed with [`Media::flush`] before returning.
    pub fn write_data(&mut self, ino: u64, off: u64, buf: &[u8]) -> Result<()> {
        let (node, map) = self.file_map(ino)?;
        let map = map.clone();
        check_range(node, off, buf.len() as u64)?;
        let mut done = 0usize;
        while done < buf.len() {
            let (dev_off, avail) = primary_range(ino, &map, off + done as u64)?;
            let n = (avail.min((buf.len() - done) as u64)) as usize;
            self.media
                .write(dev_off, n as u64)?
                .copy_from_slice(&buf[done..done + n]);
            self.media.flush(dev_off, n as u64)?;
            done += n;
        }
        Ok(())
    }

    /// Read file `ino` at offset `off` into `buf` (must stay inside the file size).
    pub fn read_data(&self, ino: u64, off: u64, buf: &mut [u8]) -> Result<()> {
        let (node, map) = self.file_map(ino)?;
        check_range(node, off, buf.len() as u64)?;
        let mut done = 0usize;
        while done < buf.len() {
            let (dev_off, avail) = primary_range(ino, map, off + done as u64)?;
            let n = (avail.min((buf.len() - done) as u64)) as usize;
            buf[done..done + n].copy_from_slice(self.media.read(dev_off, n as u64)?);
            done += n;
        }
        Ok(())
    }
}

/// Resolve file offset `off` of inode `ino` to a range of the primary device, the only
/// one a [`Media`] maps.
fn primary_range(ino: u64, map: &FileMap, off: u64) -> Result<(u64, u64)> {
    match map.resolve(off) {
        Some((0, dev_off, avail)) => Ok((dev_off, avail)),
        Some((d, _, _)) => Err(Error::Unsupported(format!(
            "inode {ino}: data at offset {off} is on device {d}; reach it through a mount"
        ))),
        None => Err(Error::Invalid(format!(
            "inode {ino}: offset past the end of its map"
        ))),
    }
}

fn check_range(node: &Node, off: u64, len: u64) -> Result<()> {
    if off.checked_add(len).is_none_or(|e| e > node.attr.size) {
        return Err(Error::Invalid(format!(
            "'{}': range [{off}, +{len}) past the file size {}",
            node.name, node.attr.size
        )));
    }
    Ok(())
}

/// One line describing a file or directory, as `famfs logplay -n` lists it:
/// `file MODE UID:GID SIZE PATH simple DEV:OFFSET+LEN...` or
/// `file MODE UID:GID SIZE PATH striped NSTRIPS CHUNK DEV:OFFSET+LEN...` or
/// `dir MODE UID:GID - PATH` (mode in octal, offsets and lengths in hex).
pub fn describe_object(
    path: &str,
    mode: u32,
    uid: u32,
    gid: u32,
    size: Option<u64>,
    map: Option<&FileMap>,
) -> String {
    let ext = |e: &crate::log::Extent| format!(" {}:{:#x}+{:#x}", e.devindex, e.offset, e.len);
    match (size, map) {
        (Some(size), Some(m)) => {
            let mut s = format!("file {:04o} {uid}:{gid} {size} {path}", mode & 0o7777);
            match m {
                FileMap::Simple(x) => {
                    s.push_str(" simple");
                    x.iter().for_each(|e| s.push_str(&ext(e)));
                }
                FileMap::Interleaved { chunk_size, strips } => {
                    s.push_str(&format!(" striped {} {chunk_size:#x}", strips.len()));
                    strips.iter().for_each(|e| s.push_str(&ext(e)));
                }
            }
            s
        }
        _ => format!("dir {:04o} {uid}:{gid} - {path}", mode & 0o7777),
    }
}

/// A file described in famfs's shadow YAML (what famfs's FUSE daemon serves for each file,
/// and what `famfs getmap` prints), byte for byte. famfs prints uid and gid with `%d`, so
/// ids of 2^31 and above come out negative (`uid: -2` for 4294967294); so do we.
pub fn shadow_yaml(
    path: &str,
    size: u64,
    flags: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    map: &FileMap,
) -> String {
    use std::fmt::Write;
    let mut y = String::new();
    let _ = write!(
        y,
        "---\nfile:\n  path: {path}\n  size: {size}\n  flags: {flags}\n  mode: 0{:o}\n  uid: {}\n  gid: {}\n",
        mode & 0o7777,
        uid as i32,
        gid as i32,
    );
    let ext = |y: &mut String, e: &crate::log::Extent, ind: &str| {
        let _ = write!(
            y,
            "{ind}- devindex: {}\n{ind}  offset: {:#x}\n{ind}  length: {:#x}\n",
            e.devindex, e.offset, e.len
        );
    };
    match map {
        FileMap::Simple(x) => {
            let _ = write!(y, "  nextents: {}\n  simple_ext_list:\n", x.len());
            x.iter().for_each(|e| ext(&mut y, e, "  "));
        }
        FileMap::Interleaved { chunk_size, strips } => {
            let _ = write!(
                y,
                "  nextents: 1\n  striped_ext_list:\n  - nstrips: {}\n    chunk_size: {chunk_size:#x}\n    simple_ext_list:\n",
                strips.len()
            );
            strips.iter().for_each(|e| ext(&mut y, e, "    "));
        }
    }
    y.push_str("...\n");
    y
}

/// A file as famfs's shadow YAML describes it (see [`parse_shadow_yaml`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowFile {
    /// Path relative to the file system's root.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Flags of the log entry.
    pub flags: u32,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Extents.
    pub map: FileMap,
}

/// A number of shadow YAML: hex with `0x`, octal with a leading 0, else decimal.
fn yaml_num(key: &str, v: &str) -> Result<u64> {
    let r = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None if v.len() > 1 && v.starts_with('0') => u64::from_str_radix(v, 8),
        None => v.parse(),
    };
    r.map_err(|_| Error::Invalid(format!("shadow yaml: {key}: bad number '{v}'")))
}

/// A uid or gid of shadow YAML: famfs writes it signed (`-2`), older writers unsigned
/// (`4294967294`); both give the same id, as famfs's `strtoull` reads them.
fn yaml_id(key: &str, v: &str) -> Result<u32> {
    let bad = || Error::Invalid(format!("shadow yaml: {key}: bad id '{v}'"));
    match v.strip_prefix('-') {
        Some(n) => {
            let n: u32 = n.parse().map_err(|_| bad())?;
            if n > 1 << 31 {
                return Err(bad());
            }
            Ok(n.wrapping_neg())
        }
        None => u32::try_from(yaml_num(key, v)?).map_err(|_| bad()),
    }
}

/// Parse one file of famfs's shadow YAML (as [`shadow_yaml`] writes it, or famfs): a
/// `file:` mapping with a simple or a striped extent list. Ids may be signed or not.
pub fn parse_shadow_yaml(text: &str) -> Result<ShadowFile> {
    let mut kv: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let l = line.trim().trim_start_matches("- ");
        if let Some((k, v)) = l.split_once(':') {
            kv.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let get = |k: &str| {
        kv.iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Error::Invalid(format!("shadow yaml: no {k}")))
    };
    let num = |k: &str| get(k).and_then(|v| yaml_num(k, v));
    let small = |k: &str| {
        num(k).and_then(|n| {
            u32::try_from(n).map_err(|_| Error::Invalid(format!("shadow yaml: {k} too large")))
        })
    };
    let mut exts = Vec::new();
    let mut cur = crate::log::Extent::new(0, 0);
    for (k, v) in &kv {
        match k.as_str() {
            "devindex" => cur.devindex = yaml_num(k, v)?,
            "offset" => cur.offset = yaml_num(k, v)?,
            "length" => {
                cur.len = yaml_num(k, v)?;
                exts.push(cur);
                cur = crate::log::Extent::new(0, 0);
            }
            _ => {}
        }
    }
    let map = if kv.iter().any(|(k, _)| k == "striped_ext_list") {
        let n = num("nstrips")?;
        if n != exts.len() as u64 {
            return Err(Error::Invalid(format!(
                "shadow yaml: nstrips {n} but {} strips",
                exts.len()
            )));
        }
        FileMap::Interleaved {
            chunk_size: num("chunk_size")?,
            strips: exts,
        }
    } else {
        let n = num("nextents")?;
        if n != exts.len() as u64 {
            return Err(Error::Invalid(format!(
                "shadow yaml: nextents {n} but {} extents",
                exts.len()
            )));
        }
        FileMap::Simple(exts)
    };
    Ok(ShadowFile {
        path: get("path")?.to_string(),
        size: num("size")?,
        flags: small("flags")?,
        mode: small("mode")?,
        uid: yaml_id("uid", get("uid")?)?,
        gid: yaml_id("gid", get("gid")?)?,
        map,
    })
}

/// [`describe_object`] of `node` of `ns`.
pub fn describe_node(ns: &Namespace, node: &Node) -> String {
    let a = node.attr;
    describe_object(
        &ns.path_of(node.ino),
        a.mode,
        a.uid,
        a.gid,
        node.map().map(|_| a.size),
        node.map(),
    )
}

/// The result of [`fsck`].
#[derive(Debug, Default)]
pub struct FsckReport {
    /// Every problem found, one line each.
    pub problems: Vec<String>,
    /// Committed log entries.
    pub entries: u64,
    /// Log capacity in entries.
    pub log_capacity: u64,
    /// Files found.
    pub files: u64,
    /// Directories found (root and `.meta` excluded).
    pub dirs: u64,
    /// Bytes allocated to files, over all devices.
    pub allocated: u64,
    /// Usable bytes of all devices together (each device's size rounded down to the
    /// allocation unit).
    pub device_size: u64,
    /// Per device, in device-index order (index 0 is the superblock's).
    pub devices: Vec<DeviceUsage>,
}

/// Space of one device, as [`fsck`] reports it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeviceUsage {
    /// Usable bytes (the size rounded down to the allocation unit).
    pub size: u64,
    /// Bytes allocated to files on this device.
    pub allocated: u64,
}

impl FsckReport {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check everything: superblock, log header, every committed entry's crc and contents,
/// and every file's extents (inside the device, outside the metadata, no cross-links).
/// Never stops at the first problem past the superblock and log header.
pub fn fsck(media: &dyn Media) -> FsckReport {
    let mut rep = FsckReport::default();
    let (sb, header) = match read_meta(media) {
        Ok(x) => x,
        Err(e) => {
            rep.problems.push(e.to_string());
            return rep;
        }
    };
    rep.entries = header.next_index;
    rep.log_capacity = header.capacity();
    rep.devices = vec![DeviceUsage {
        size: sb.usable_size(),
        allocated: 0,
    }];
    match replay(media, &sb, &header, true) {
        Ok(r) => {
            rep.problems
                .extend(r.problems.iter().map(|e| e.to_string()));
            rep.devices
                .extend(r.ns.devices().iter().skip(1).map(|d| DeviceUsage {
                    size: d.size / sb.alloc_unit * sb.alloc_unit,
                    allocated: 0,
                }));
            for n in r.ns.nodes().filter(|n| n.log_index.is_some()) {
                match n.map() {
                    Some(m) => {
                        rep.files += 1;
                        for e in m.extents() {
                            if let Some(d) = usize::try_from(e.devindex)
                                .ok()
                                .and_then(|i| rep.devices.get_mut(i))
                            {
                                d.allocated += e.len;
                            }
                        }
                    }
                    None => rep.dirs += 1,
                }
            }
        }
        Err(e) => rep.problems.push(e.to_string()),
    }
    rep.allocated = rep.devices.iter().map(|d| d.allocated).sum();
    rep.device_size = rep.devices.iter().map(|d| d.size).sum();
    rep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Extent;

    #[test]
    fn shadow_yaml_ids_are_signed_as_famfs_prints_them() {
        let map = FileMap::Simple(vec![Extent::new(0xa00000, 0x200000)]);
        let y = shadow_yaml("f", 5, 2, 0o644, 4294967294, u32::MAX, &map);
        assert!(y.contains("  mode: 0644\n  uid: -2\n  gid: -1\n"), "{y}");
        let small = shadow_yaml("f", 5, 2, 0o644, 1000, 0x7fff_ffff, &map);
        assert!(
            small.contains("  uid: 1000\n  gid: 2147483647\n"),
            "{small}"
        );
        // Both spellings parse to the same ids.
        let want = ShadowFile {
            path: "f".into(),
            size: 5,
            flags: 2,
            mode: 0o644,
            uid: 4294967294,
            gid: u32::MAX,
            map: map.clone(),
        };
        assert_eq!(parse_shadow_yaml(&y).unwrap(), want);
        let unsigned = y
            .replace("uid: -2", "uid: 4294967294")
            .replace("gid: -1", "gid: 4294967295");
        assert_eq!(parse_shadow_yaml(&unsigned).unwrap(), want);
        let min = y.replace("uid: -2", "uid: -2147483648");
        assert_eq!(parse_shadow_yaml(&min).unwrap().uid, 1 << 31);
        for bad in ["uid: -2147483649", "uid: 4294967296", "uid: x"] {
            assert!(
                parse_shadow_yaml(&y.replace("uid: -2", bad)).is_err(),
                "{bad}"
            );
        }
        // A striped map round-trips too.
        let striped = FileMap::Interleaved {
            chunk_size: 0x200000,
            strips: vec![
                Extent::new(0xa00000, 0x400000),
                Extent {
                    devindex: 1,
                    offset: 0x200000,
                    len: 0x400000,
                },
            ],
        };
        let y = shadow_yaml("d/s", 7 << 20, 2, 0o600, 3, 4, &striped);
        let p = parse_shadow_yaml(&y).unwrap();
        assert_eq!((p.path.as_str(), p.map), ("d/s", striped));
    }
}
