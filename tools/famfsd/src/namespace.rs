// SPDX-License-Identifier: GPL-2.0
//! The namespace replayed from the log: inodes, attributes, directory tree, file maps.
//!
//! Inode numbers are stable and derived from the log, so every host replaying the same
//! log agrees on them: the root is [`ROOT_INO`], the synthetic `.meta` directory and its
//! two files are [`META_INO`], [`SUPERBLOCK_INO`], [`LOG_INO`], and the object created by
//! log entry `i` is `FIRST_ENTRY_INO + i`.

use crate::alloc::{Bitmap, Owner};
use crate::error::{Error, Result};
use crate::fmap::{fmap_blob, FileType};
use crate::layout::{ENTRY_SIZE, MAX_DEVICES};
use crate::log::{
    entry_offset, DaxdevEntry, EntryKind, Extent, FileEntry, FileMap, LogEntry, LogHeader,
};
use crate::media::Media;
use crate::path::{normalize, split_parent, META_DIR};
use crate::superblock::Superblock;
use std::collections::BTreeMap;

/// Inode number of the root directory.
pub const ROOT_INO: u64 = 1;
/// Inode number of the `.meta` directory.
pub const META_INO: u64 = 2;
/// Inode number of `.meta/.superblock`.
pub const SUPERBLOCK_INO: u64 = 3;
/// Inode number of `.meta/.log`.
pub const LOG_INO: u64 = 4;
/// Inode number of the object created by log entry 0.
pub const FIRST_ENTRY_INO: u64 = 16;

/// `S_IFDIR`.
pub const S_IFDIR: u32 = 0o040000;
/// `S_IFREG`.
pub const S_IFREG: u32 = 0o100000;

/// Attributes of an inode, as `stat` would show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    /// Size in bytes.
    pub size: u64,
    /// Mode including the file-type bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
}

/// What an inode is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory and its entries (name -> inode).
    Dir(BTreeMap<String, u64>),
    /// A file and its map.
    File {
        /// Regular, superblock or log file.
        file_type: FileType,
        /// Where its bytes live.
        map: FileMap,
    },
}

/// One inode of the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Inode number.
    pub ino: u64,
    /// Parent directory's inode number (the root is its own parent).
    pub parent: u64,
    /// Name in the parent directory ("" for the root).
    pub name: String,
    /// Attributes.
    pub attr: Attr,
    /// Directory or file.
    pub kind: NodeKind,
    /// The log entry that created it; `None` for the root and `.meta`.
    pub log_index: Option<u64>,
    /// Why the file is not served (its extents collide with another file's); `None`
    /// for a good file.
    pub bad: Option<String>,
}

/// A device of the file system: the primary (index 0, from the superblock) or one added
/// by an `ADD_DAXDEV` log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Size in bytes.
    pub size: u64,
    /// Device uuid (the key a host finds the device by).
    pub uuid: uuid::Uuid,
}

impl Node {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir(_))
    }

    /// The file map of a file, `None` for a directory.
    pub fn map(&self) -> Option<&FileMap> {
        match &self.kind {
            NodeKind::File { map, .. } => Some(map),
            NodeKind::Dir(_) => None,
        }
    }

    /// The fmap blob the kernel module gets for this file.
    pub fn fmap_blob(&self) -> Result<Vec<u8>> {
        if let Some(why) = &self.bad {
            return Err(Error::BadFile(format!("{}: {why}", self.name)));
        }
        match &self.kind {
            NodeKind::File { file_type, map } => fmap_blob(*file_type, self.attr.size, map),
            NodeKind::Dir(_) => Err(Error::IsDir(self.name.clone())),
        }
    }
}

/// The replayed namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    nodes: BTreeMap<u64, Node>,
    devices: Vec<Device>,
}

/// Permission bits of `.meta/.superblock` (famfs: read-only everywhere).
pub const SUPERBLOCK_MODE: u32 = 0o444;
/// Permission bits of `.meta/.log` on the owner host (the only writer).
pub const LOG_MODE_OWNER: u32 = 0o644;
/// Permission bits of `.meta/.log` on a client host.
pub const LOG_MODE_CLIENT: u32 = 0o444;

impl Namespace {
    /// An empty namespace (root and `.meta`) for a file system with superblock `sb`.
    pub fn new(sb: &Superblock) -> Self {
        let mut ns = Namespace {
            nodes: BTreeMap::new(),
            devices: vec![Device {
                size: sb.daxdev.size,
                uuid: sb.daxdev.uuid,
            }],
        };
        let dir = |ino, parent, name: &str, mode| Node {
            ino,
            parent,
            name: name.to_string(),
            attr: Attr {
                size: 0,
                mode: S_IFDIR | mode,
                uid: 0,
                gid: 0,
                nlink: 2,
            },
            kind: NodeKind::Dir(BTreeMap::new()),
            log_index: None,
            bad: None,
        };
        ns.nodes
            .insert(ROOT_INO, dir(ROOT_INO, ROOT_INO, "", 0o755));
        ns.insert_child(ROOT_INO, dir(META_INO, ROOT_INO, META_DIR, 0o700));
        let meta_file = |ino, name: &str, file_type, ext: Extent| Node {
            ino,
            parent: META_INO,
            name: name.to_string(),
            attr: Attr {
                size: ext.len,
                mode: S_IFREG
                    | if file_type == FileType::Log {
                        LOG_MODE_OWNER
                    } else {
                        SUPERBLOCK_MODE
                    },
                uid: 0,
                gid: 0,
                nlink: 1,
            },
            kind: NodeKind::File {
                file_type,
                map: FileMap::Simple(vec![ext]),
            },
            log_index: None,
            bad: None,
        };
        ns.insert_child(
            META_INO,
            meta_file(
                SUPERBLOCK_INO,
                ".superblock",
                FileType::Superblock,
                Extent::new(0, sb.log_offset),
            ),
        );
        ns.insert_child(
            META_INO,
            meta_file(
                LOG_INO,
                ".log",
                FileType::Log,
                Extent::new(sb.log_offset, sb.log_len),
            ),
        );
        ns
    }

    /// Show `.meta/.log` read-only, as on a client host (which never writes the log).
    pub fn set_client(&mut self) {
        if let Some(n) = self.nodes.get_mut(&LOG_INO) {
            n.attr.mode = S_IFREG | LOG_MODE_CLIENT;
        }
    }

    /// The devices, in device-index order (index 0 is the superblock's).
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    fn insert_child(&mut self, parent: u64, node: Node) {
        let is_dir = node.is_dir();
        if let Some(p) = self.nodes.get_mut(&parent) {
            if let NodeKind::Dir(children) = &mut p.kind {
                children.insert(node.name.clone(), node.ino);
            }
            if is_dir {
                p.attr.nlink += 1;
            }
        }
        self.nodes.insert(node.ino, node);
    }

    /// The root directory.
    pub fn root(&self) -> &Node {
        &self.nodes[&ROOT_INO]
    }

    /// The inode numbered `ino`.
    pub fn get(&self, ino: u64) -> Option<&Node> {
        self.nodes.get(&ino)
    }

    /// Look `name` up in directory `parent`.
    pub fn lookup(&self, parent: u64, name: &str) -> Option<&Node> {
        match &self.nodes.get(&parent)?.kind {
            NodeKind::Dir(children) => self.nodes.get(children.get(name)?),
            NodeKind::File { .. } => None,
        }
    }

    /// The entries of directory `ino` (name, inode), sorted by name; `None` if `ino` is
    /// not a directory.
    pub fn readdir(&self, ino: u64) -> Option<&BTreeMap<String, u64>> {
        match &self.nodes.get(&ino)?.kind {
            NodeKind::Dir(children) => Some(children),
            NodeKind::File { .. } => None,
        }
    }

    /// Resolve a path relative to the root ("" or "/" is the root).
    pub fn resolve(&self, path: &str) -> Result<&Node> {
        let p = normalize(path)?;
        let mut node = self.root();
        for comp in p.split('/').filter(|c| !c.is_empty()) {
            if !node.is_dir() {
                return Err(Error::NotDir(path.to_string()));
            }
            node = self
                .lookup(node.ino, comp)
                .ok_or_else(|| Error::NotFound(path.to_string()))?;
        }
        Ok(node)
    }

    /// The path of inode `ino` relative to the root.
    pub fn path_of(&self, ino: u64) -> String {
        let mut parts = Vec::new();
        let mut cur = ino;
        while cur != ROOT_INO {
            match self.nodes.get(&cur) {
                Some(n) => {
                    parts.push(n.name.as_str());
                    cur = n.parent;
                }
                None => break,
            }
        }
        parts.reverse();
        parts.join("/")
    }

    /// All inodes in inode-number order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// The fmap blob of file `ino`.
    pub fn fmap_blob(&self, ino: u64) -> Result<Vec<u8>> {
        self.nodes
            .get(&ino)
            .ok_or_else(|| Error::NotFound(format!("inode {ino}")))?
            .fmap_blob()
    }

    /// Find the parent directory for a new relative path and check the name is free.
    /// Returns the parent inode and the final name.
    pub fn check_new(&self, relpath: &str) -> Result<(u64, String)> {
        let (parent, name) = split_parent(relpath);
        let p = match self.resolve(parent) {
            Ok(p) => p,
            Err(Error::NotFound(_)) => return Err(Error::NoParent(relpath.to_string())),
            Err(Error::NotDir(_)) => return Err(Error::NotDir(parent.to_string())),
            Err(e) => return Err(e),
        };
        if !p.is_dir() {
            return Err(Error::NotDir(parent.to_string()));
        }
        if self.lookup(p.ino, name).is_some() {
            return Err(Error::Exists(relpath.to_string()));
        }
        Ok((p.ino, name.to_string()))
    }

    /// Check a log entry against the namespace and the allocation table without changing
    /// anything. Returns the parent inode and the new name (none for a device).
    pub fn validate(
        &self,
        index: u64,
        entry: &LogEntry,
        sb: &Superblock,
        alloc: &Bitmap,
    ) -> Result<Option<(u64, String)>> {
        if let EntryKind::AddDaxdev(d) = &entry.kind {
            self.check_daxdev(index, d, sb)?;
            return Ok(None);
        }
        let rel = entry.kind.relpath();
        let (parent, name) = self
            .check_new(rel)
            .map_err(|e| Error::entry(index, e.to_string()))?;
        if let EntryKind::File(f) = &entry.kind {
            check_file_map(index, f, sb, &self.devices)?;
            if let Some((owner, at)) = alloc.conflict(&f.map) {
                let what = match owner {
                    Owner::Entry(j) => {
                        format!("log entry {j} ('{}')", self.path_of(FIRST_ENTRY_INO + j))
                    }
                    _ => "a reserved region (superblock/log, or an added device's first allocation unit)".to_string(),
                };
                return Err(Error::entry(
                    index,
                    format!("'{rel}' is cross-linked with {what} at device offset {at:#x}"),
                ));
            }
        }
        Ok(Some((parent, name)))
    }

    fn check_daxdev(&self, index: u64, d: &DaxdevEntry, sb: &Superblock) -> Result<()> {
        let bad = |m: String| Err(Error::entry(index, format!("device {}: {m}", d.index)));
        if u64::from(d.index) >= MAX_DEVICES {
            return bad(format!("index past the {MAX_DEVICES} devices famfs allows"));
        }
        if d.index as usize != self.devices.len() {
            return bad(format!(
                "out of order (the next device index is {})",
                self.devices.len()
            ));
        }
        if d.uuid.is_nil() {
            return bad("nil uuid".to_string());
        }
        if let Some(i) = self.devices.iter().position(|x| x.uuid == d.uuid) {
            return bad(format!("uuid {} is already device {i}", d.uuid));
        }
        if d.size < sb.alloc_unit {
            return bad(format!(
                "size {} is smaller than one allocation unit",
                d.size
            ));
        }
        Ok(())
    }

    /// Check a log entry (see [`Namespace::validate`]), then add it and mark its space
    /// in `alloc`. On error nothing changes.
    pub fn apply(
        &mut self,
        index: u64,
        entry: &LogEntry,
        sb: &Superblock,
        alloc: &mut Bitmap,
    ) -> Result<()> {
        let Some((parent, name)) = self.validate(index, entry, sb, alloc)? else {
            if let EntryKind::AddDaxdev(d) = &entry.kind {
                self.devices.push(Device {
                    size: d.size,
                    uuid: d.uuid,
                });
                alloc.add_device(d.size);
            }
            return Ok(());
        };
        let ino = FIRST_ENTRY_INO + index;
        let node = match &entry.kind {
            EntryKind::Mkdir(d) => Node {
                ino,
                parent,
                name,
                attr: Attr {
                    size: 0,
                    mode: S_IFDIR | (d.mode & 0o7777),
                    uid: d.uid,
                    gid: d.gid,
                    nlink: 2,
                },
                kind: NodeKind::Dir(BTreeMap::new()),
                log_index: Some(index),
                bad: None,
            },
            EntryKind::File(f) => {
                alloc.mark_map(&f.map, Owner::Entry(index));
                Node {
                    ino,
                    parent,
                    name,
                    attr: Attr {
                        size: f.size,
                        mode: S_IFREG | (f.mode & 0o7777),
                        uid: f.uid,
                        gid: f.gid,
                        nlink: 1,
                    },
                    kind: NodeKind::File {
                        file_type: FileType::Regular,
                        map: f.map.clone(),
                    },
                    log_index: Some(index),
                    bad: None,
                }
            }
            EntryKind::AddDaxdev(_) => return Ok(()),
        };
        self.insert_child(parent, node);
        Ok(())
    }

    /// Mark the file created by log entry `index` as not to be served.
    fn mark_bad(&mut self, index: u64, why: String) {
        if let Some(n) = self.nodes.get_mut(&(FIRST_ENTRY_INO + index)) {
            n.bad.get_or_insert(why);
        }
    }
}

/// Validate a file entry's map on its own: device index, no extent at offset 0 (famfs
/// skips such a file), alignment, placement inside the data area of the device, chunk
/// size, and coverage of the file size.
pub fn check_file_map(
    index: u64,
    f: &FileEntry,
    sb: &Superblock,
    devices: &[Device],
) -> Result<()> {
    let bad = |m: String| Err(Error::entry(index, format!("'{}': {m}", f.relpath)));
    let unit = sb.alloc_unit;
    for e in f.map.extents() {
        let Some(dev) = usize::try_from(e.devindex)
            .ok()
            .and_then(|i| devices.get(i))
        else {
            return bad(format!("device index {} does not exist", e.devindex));
        };
        if e.offset == 0 {
            // famfs's logplay skips such a file ("__famfs_logplay: ERROR file F has
            // extent with 0 offset"): only the superblock starts at offset 0. Checked on
            // every device and on every strip of a striped file too.
            return bad(format!(
                "has extent with 0 offset (device {}); famfs refuses such a file",
                e.devindex
            ));
        }
        let (meta_end, usable) = if e.devindex == 0 {
            (sb.meta_end(), sb.usable_size())
        } else {
            (0, dev.size / unit * unit)
        };
        if e.len == 0 {
            return bad("empty extent".to_string());
        }
        if e.offset % unit != 0 || e.len % unit != 0 {
            return bad(format!(
                "extent [{:#x}, +{:#x}) not aligned to {unit:#x}",
                e.offset, e.len
            ));
        }
        if e.offset < meta_end {
            return bad(format!(
                "extent [{:#x}, +{:#x}) overlaps the superblock/log region (ends at {meta_end:#x})",
                e.offset, e.len,
            ));
        }
        if e.offset.checked_add(e.len).is_none_or(|end| end > usable) {
            return bad(format!(
                "extent [{:#x}, +{:#x}) runs past the end of device {} ({usable:#x})",
                e.offset, e.len, e.devindex,
            ));
        }
    }
    if let FileMap::Interleaved { chunk_size, .. } = &f.map {
        if !chunk_size.is_power_of_two() || *chunk_size < 4096 || *chunk_size > u64::from(u32::MAX)
        {
            return bad(format!("bad chunk size {chunk_size}"));
        }
    }
    if f.map.capacity() < f.size {
        return bad(format!(
            "extents hold {} bytes, less than the file size {}",
            f.map.capacity(),
            f.size
        ));
    }
    Ok(())
}

/// The result of replaying a log.
#[derive(Debug)]
pub struct Replay {
    /// The namespace.
    pub ns: Namespace,
    /// Allocation table: which log entry owns each allocation unit.
    pub alloc: Bitmap,
    /// Entries skipped (lenient mode; strict replay fails on the first), in log order.
    pub problems: Vec<Error>,
}

/// Read the committed entry `index` of the log.
pub fn read_entry(media: &dyn Media, sb: &Superblock, index: u64) -> Result<LogEntry> {
    let b = media.read(sb.log_offset + entry_offset(index), ENTRY_SIZE as u64)?;
    LogEntry::decode(b, index)
}

/// Replay the committed entries `[0, header.next_index)`.
///
/// Strict (`lenient == false`): the first bad entry fails the replay. Lenient (as famfs
/// replays): a bad or duplicate entry is skipped, recorded in [`Replay::problems`] and
/// warned about, and replay goes on. A file whose extents collide with an earlier file's
/// is skipped and the earlier file is marked [`Node::bad`]: neither is served.
pub fn replay(
    media: &dyn Media,
    sb: &Superblock,
    header: &LogHeader,
    lenient: bool,
) -> Result<Replay> {
    let mut ns = Namespace::new(sb);
    let mut alloc = Bitmap::new(sb.usable_size(), sb.alloc_unit, sb.meta_end());
    let mut problems = Vec::new();
    for index in 0..header.next_index {
        let r = read_entry(media, sb, index).and_then(|e| {
            if let EntryKind::File(f) = &e.kind {
                if let Some((Owner::Entry(j), at)) = alloc.conflict(&f.map) {
                    if ns.check_new(&f.relpath).is_ok()
                        && check_file_map(index, f, sb, &ns.devices).is_ok()
                    {
                        ns.mark_bad(
                            j,
                            format!(
                                "cross-linked with log entry {index} ('{}') at device offset {at:#x}",
                                f.relpath
                            ),
                        );
                    }
                }
            }
            ns.apply(index, &e, sb, &mut alloc)
        });
        if let Err(e) = r {
            if !lenient {
                return Err(e);
            }
            tracing::warn!("log replay: skipped: {e}");
            problems.push(e);
        }
    }
    Ok(Replay {
        ns,
        alloc,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_file_modes_follow_famfs_and_the_role() {
        let sb = Superblock::new(64 << 20, 8 << 20, "x").unwrap();
        let mut ns = Namespace::new(&sb);
        assert_eq!(ns.get(SUPERBLOCK_INO).unwrap().attr.mode, S_IFREG | 0o444);
        assert_eq!(ns.get(LOG_INO).unwrap().attr.mode, S_IFREG | 0o644);
        ns.set_client();
        assert_eq!(ns.get(LOG_INO).unwrap().attr.mode, S_IFREG | 0o444);
        assert_eq!(ns.devices().len(), 1);
    }
}
