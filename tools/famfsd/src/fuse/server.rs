// SPDX-License-Identifier: GPL-2.0
//! The request handler of famfsd: turns one FUSE request (bytes read from /dev/fuse) into
//! its reply (bytes to write back), against a snapshot of the replayed namespace.
//!
//! Nothing here touches /dev/fuse or the device: the [`Host`] does (device registration at
//! `FUSE_IOMAP_DAX_CONFIG`, re-reading the log), so the handler runs in host unit tests.

use super::abi::*;
use crate::error::errno::*;
use crate::namespace::{Namespace, Node, LOG_INO, ROOT_INO};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// errno values used in replies that the library's table lacks.
pub mod more_errno {
    /// Operation not permitted.
    pub const EPERM: i32 = 1;
    /// Protocol error.
    pub const EPROTO: i32 = 71;
    /// Function not implemented: the kernel remembers it for most opcodes.
    pub const ENOSYS: i32 = 38;
    /// Bad file descriptor.
    pub const EBADF: i32 = 9;
}
use more_errno::*;

/// Attribute and entry timeout of directories (new entries appear through misses anyway;
/// attributes such as the link count may change as the log grows).
pub const DIR_TIMEOUT_SECS: u64 = 1;
/// Files never change once created.
pub const FILE_TIMEOUT_SECS: u64 = 3600;
/// Largest write the connection accepts (famfs data never goes through WRITE).
pub const MAX_WRITE: u32 = 128 * 1024;
/// Read buffer size for /dev/fuse requests.
pub const REQ_BUF_SIZE: usize = MAX_WRITE as usize + 4096;
/// Opcode buckets of the statistics (anything larger shares the last one).
pub const MAX_OPCODE: usize = 64;

/// The namespace as famfsd currently serves it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The replayed namespace.
    pub ns: Namespace,
    /// Number of log entries replayed into `ns`.
    pub next_index: u64,
    /// Before the superblock has been read through the mount only `.meta/.superblock` is
    /// served: the log's place is not known yet.
    pub booting: bool,
    /// Usable device bytes.
    pub dev_size: u64,
    /// Free bytes.
    pub free_bytes: u64,
    /// Log capacity in entries.
    pub log_capacity: u64,
    /// Modification time reported for every inode (mount time).
    pub time: u64,
}

impl Snapshot {
    fn visible(&self, ino: u64) -> bool {
        !(self.booting && ino == LOG_INO)
    }

    /// The inode `ino` if it is served.
    pub fn get(&self, ino: u64) -> Option<&Node> {
        self.ns.get(ino).filter(|n| self.visible(n.ino))
    }

    /// Look `name` up in `parent` (`Err(errno)` when absent).
    pub fn lookup(&self, parent: u64, name: &str) -> Result<&Node, i32> {
        let p = self.get(parent).ok_or(ENOENT)?;
        if !p.is_dir() {
            return Err(ENOTDIR);
        }
        self.ns
            .lookup(parent, name)
            .filter(|n| self.visible(n.ino))
            .ok_or(ENOENT)
    }
}

/// What the handler needs from its environment.
pub trait Host: Send + Sync {
    /// Register the DAX devices for `FUSE_IOMAP_DAX_CONFIG`: their backing ids in device-index
    /// order, or an errno for the reply (the mount then fails).
    fn config(&self) -> Result<Vec<i32>, i32>;
    /// A newer snapshot if the log changed since `cur` was built, else `None`.
    fn reload(&self, cur: &Snapshot) -> Option<Snapshot>;
}

/// Request counters.
pub struct Stats {
    /// Requests per opcode (the last bucket holds opcodes >= [`MAX_OPCODE`]).
    pub count: [AtomicU64; MAX_OPCODE + 1],
    /// All requests.
    pub total: AtomicU64,
    /// `FUSE_IOMAP_DAX_GETMAP` replies that carried a map.
    pub getmap_served: AtomicU64,
    /// Namespace reloads that found new log entries.
    pub reloads: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: std::array::from_fn(|_| AtomicU64::new(0)),
            total: AtomicU64::new(0),
            getmap_served: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Requests of one opcode.
    pub fn get(&self, opcode: u32) -> u64 {
        self.count[(opcode as usize).min(MAX_OPCODE)].load(Ordering::Relaxed)
    }

    /// A readable report: one `NAME count` line per opcode seen, then totals.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for op in 0..MAX_OPCODE as u32 {
            let n = self.get(op);
            if n > 0 {
                s.push_str(&format!("{} ({op}): {n}\n", opcode_name(op)));
            }
        }
        let other = self.count[MAX_OPCODE].load(Ordering::Relaxed);
        if other > 0 {
            s.push_str(&format!("OTHER: {other}\n"));
        }
        s.push_str(&format!(
            "total requests: {}\nGETMAP requests served: {}\nnamespace reloads: {}\n",
            self.total.load(Ordering::Relaxed),
            self.getmap_served.load(Ordering::Relaxed),
            self.reloads.load(Ordering::Relaxed)
        ));
        s
    }
}

/// Outcome of INIT, for the mounter's error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitState {
    /// INIT not seen yet.
    Pending,
    /// Negotiated, with the kernel's protocol minor.
    Done(u32),
    /// Refused, and why.
    Refused(String),
}

struct DirEntry {
    ino: u64,
    name: String,
    dtype: u32,
}

/// The request handler, shared by the worker threads.
pub struct Server<H: Host> {
    host: H,
    snap: RwLock<Arc<Snapshot>>,
    dirs: Mutex<HashMap<u64, Arc<Vec<DirEntry>>>>,
    next_fh: AtomicU64,
    reload_lock: Mutex<()>,
    reload_waiters: AtomicUsize,
    max_reload_waiters: usize,
    /// Request counters.
    pub stats: Stats,
    /// Outcome of INIT.
    pub init: Mutex<InitState>,
    dir_timeout: AtomicU64,
}

/// Build a reply: header plus payload.
pub fn reply(unique: u64, error: i32, payload: &[u8]) -> Vec<u8> {
    let oh = fuse_out_header {
        len: (std::mem::size_of::<fuse_out_header>() + payload.len()) as u32,
        error,
        unique,
    };
    let mut v = Vec::with_capacity(oh.len as usize);
    v.extend_from_slice(oh.as_bytes());
    v.extend_from_slice(payload);
    v
}

/// An error reply (`errno` positive).
pub fn reply_err(unique: u64, errno: i32) -> Vec<u8> {
    reply(unique, -errno, &[])
}

fn dtype(mode: u32) -> u32 {
    (mode >> 12) & 0xf
}

fn cstr(b: &[u8]) -> Option<&str> {
    let end = b.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&b[..end]).ok()
}

impl<H: Host> Server<H> {
    /// A server over `snap`. At most `workers - 1` threads wait for a reload at a time,
    /// so one is always free to answer the requests the reload itself causes.
    pub fn new(host: H, snap: Snapshot, workers: usize) -> Self {
        Server {
            host,
            snap: RwLock::new(Arc::new(snap)),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            reload_lock: Mutex::new(()),
            reload_waiters: AtomicUsize::new(0),
            max_reload_waiters: workers.saturating_sub(1),
            stats: Stats::default(),
            init: Mutex::new(InitState::Pending),
            dir_timeout: AtomicU64::new(DIR_TIMEOUT_SECS),
        }
    }

    /// Set the entry and attribute timeout of directories (`famfs mount -t`).
    pub fn set_dir_timeout(&self, secs: u64) {
        self.dir_timeout.store(secs, Ordering::Relaxed);
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snap.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replace the snapshot.
    pub fn install(&self, snap: Snapshot) {
        *self.snap.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
    }

    /// Ask the host for a newer namespace; returns the snapshot to use.
    pub fn reload(&self) -> Arc<Snapshot> {
        if self.reload_waiters.fetch_add(1, Ordering::AcqRel) >= self.max_reload_waiters {
            self.reload_waiters.fetch_sub(1, Ordering::AcqRel);
            return self.snapshot();
        }
        {
            let _g = self.reload_lock.lock().unwrap_or_else(|e| e.into_inner());
            let cur = self.snapshot();
            if let Some(new) = self.host.reload(&cur) {
                tracing::debug!(
                    "namespace reloaded: {} -> {} log entries",
                    cur.next_index,
                    new.next_index
                );
                self.stats.reloads.fetch_add(1, Ordering::Relaxed);
                self.install(new);
            }
        }
        self.reload_waiters.fetch_sub(1, Ordering::AcqRel);
        self.snapshot()
    }

    fn attr(&self, snap: &Snapshot, n: &Node) -> fuse_attr {
        fuse_attr {
            ino: n.ino,
            size: n.attr.size,
            blocks: n.attr.size.div_ceil(512),
            atime: snap.time,
            mtime: snap.time,
            ctime: snap.time,
            mode: n.attr.mode,
            nlink: n.attr.nlink,
            uid: n.attr.uid,
            gid: n.attr.gid,
            blksize: if n.is_dir() { 4096 } else { 2 << 20 },
            // Every regular file is served by the famfs provider, fixed when the inode is made.
            flags: if n.is_dir() { 0 } else { FUSE_ATTR_IOMAP_DAX },
            ..Default::default()
        }
    }

    fn timeout(&self, n: &Node) -> u64 {
        if n.is_dir() {
            self.dir_timeout.load(Ordering::Relaxed)
        } else {
            FILE_TIMEOUT_SECS
        }
    }

    /// Handle one request; `None` for requests that get no reply (FORGET, INTERRUPT) and
    /// for malformed input.
    pub fn handle(&self, buf: &[u8]) -> Option<Vec<u8>> {
        let ih = fuse_in_header::from_bytes(buf)?;
        let hl = std::mem::size_of::<fuse_in_header>();
        let end = (ih.len as usize).min(buf.len());
        if end < hl {
            return None;
        }
        let arg = &buf[hl..end];
        let op = ih.opcode;
        self.stats.count[(op as usize).min(MAX_OPCODE)].fetch_add(1, Ordering::Relaxed);
        self.stats.total.fetch_add(1, Ordering::Relaxed);
        let u = ih.unique;
        let r = match op {
            FUSE_INIT => self.do_init(u, arg),
            FUSE_IOMAP_DAX_CONFIG => self.do_config(u),
            FUSE_LOOKUP => self.do_lookup(u, ih.nodeid, arg),
            FUSE_GETATTR => self.do_getattr(u, ih.nodeid),
            FUSE_SETATTR => self.do_setattr(u, ih.nodeid, arg),
            FUSE_OPEN => self.do_open(u, ih.nodeid),
            FUSE_OPENDIR => self.do_opendir(u, ih.nodeid),
            FUSE_READDIR => self.do_readdir(u, ih.nodeid, arg),
            FUSE_RELEASEDIR => {
                if let Some(ri) = fuse_release_in::from_bytes(arg) {
                    self.dirs
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&ri.fh);
                }
                reply(u, 0, &[])
            }
            FUSE_IOMAP_DAX_GETMAP => self.do_getmap(u, ih.nodeid, arg),
            FUSE_STATFS => self.do_statfs(u),
            FUSE_RELEASE | FUSE_FLUSH | FUSE_FSYNC | FUSE_FSYNCDIR | FUSE_DESTROY => {
                reply(u, 0, &[])
            }
            // Creation and removal go through `famfs creat/mkdir/cp`, which append to
            // the log; the namespace cannot be changed through the mount.
            FUSE_MKNOD | FUSE_MKDIR | FUSE_CREATE | FUSE_TMPFILE | FUSE_SYMLINK | FUSE_LINK
            | FUSE_UNLINK | FUSE_RMDIR | FUSE_RENAME | FUSE_RENAME2 => reply_err(u, EPERM),
            FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT | FUSE_NOTIFY_REPLY => return None,
            // File data is mapped by the kernel; READ/WRITE never reach a correct server.
            FUSE_READ | FUSE_WRITE => reply_err(u, EIO),
            _ => reply_err(u, ENOSYS),
        };
        if tracing::enabled!(tracing::Level::TRACE) {
            let err = i32::from_ne_bytes([r[4], r[5], r[6], r[7]]);
            tracing::trace!(
                op = opcode_name(op),
                unique = u,
                nodeid = ih.nodeid,
                error = err,
                "request"
            );
        }
        Some(r)
    }

    fn do_init(&self, u: u64, arg: &[u8]) -> Vec<u8> {
        let Some(inp) = fuse_init_in::from_bytes(arg) else {
            return reply_err(u, EINVAL);
        };
        let set = |s: InitState| {
            *self.init.lock().unwrap_or_else(|e| e.into_inner()) = s;
        };
        if inp.major != FUSE_KERNEL_VERSION {
            set(InitState::Refused(format!(
                "kernel speaks FUSE {}.{}, famfsd needs 7.{FUSE_KERNEL_MINOR_VERSION}",
                inp.major, inp.minor
            )));
            return reply_err(u, EPROTO);
        }
        let offered = u64::from(inp.flags) | (u64::from(inp.flags2) << 32);
        if offered & FUSE_IOMAP_DAX == 0 || offered & FUSE_INIT_EXT == 0 {
            set(InitState::Refused(
                "the kernel does not offer FUSE_IOMAP_DAX (needs the fuse iomap-DAX series)"
                    .to_string(),
            ));
            return reply_err(u, EPROTO);
        }
        let want = FUSE_INIT_EXT | FUSE_MAX_PAGES | FUSE_IOMAP_DAX | FUSE_PARALLEL_DIROPS;
        let flags = want & offered;
        let out = fuse_init_out {
            major: FUSE_KERNEL_VERSION,
            minor: FUSE_KERNEL_MINOR_VERSION,
            max_readahead: inp.max_readahead,
            flags: flags as u32,
            flags2: (flags >> 32) as u32,
            max_background: 16,
            congestion_threshold: 12,
            max_write: MAX_WRITE,
            time_gran: 1,
            max_pages: (MAX_WRITE / 4096) as u16,
            ..Default::default()
        };
        set(InitState::Done(inp.minor));
        tracing::info!("INIT: kernel FUSE 7.{}, iomap-DAX negotiated", inp.minor);
        reply(u, 0, out.as_bytes())
    }

    fn do_config(&self, u: u64) -> Vec<u8> {
        match self.host.config() {
            Ok(ids) if !ids.is_empty() && ids.len() <= FUSE_IOMAP_DAX_MAX_DEVICES => {
                let mut out = fuse_iomap_dax_config_out::default();
                out.provider[..5].copy_from_slice(b"famfs");
                out.ndevices = ids.len() as u32;
                out.backing_ids[..ids.len()].copy_from_slice(&ids);
                let len =
                    std::mem::offset_of!(fuse_iomap_dax_config_out, backing_ids) + 4 * ids.len();
                reply(u, 0, &out.as_bytes()[..len])
            }
            Ok(_) => reply_err(u, EINVAL),
            Err(e) => reply_err(u, e),
        }
    }

    /// The node `ino`, reloading the namespace once if it is unknown.
    fn node(&self, ino: u64) -> (Arc<Snapshot>, Option<Node>) {
        let snap = self.snapshot();
        if let Some(n) = snap.get(ino) {
            let n = n.clone();
            return (snap, Some(n));
        }
        let snap = self.reload();
        let n = snap.get(ino).cloned();
        (snap, n)
    }

    fn do_lookup(&self, u: u64, parent: u64, arg: &[u8]) -> Vec<u8> {
        let Some(name) = cstr(arg) else {
            return reply_err(u, ENOENT);
        };
        let mut snap = self.snapshot();
        let mut r = snap.lookup(parent, name).cloned();
        if r == Err(ENOENT) {
            snap = self.reload();
            r = snap.lookup(parent, name).cloned();
        }
        match r {
            Ok(n) => {
                let t = self.timeout(&n);
                let out = fuse_entry_out {
                    nodeid: n.ino,
                    generation: 1,
                    entry_valid: t,
                    attr_valid: t,
                    attr: self.attr(&snap, &n),
                    ..Default::default()
                };
                reply(u, 0, out.as_bytes())
            }
            Err(e) => reply_err(u, e),
        }
    }

    fn do_getattr(&self, u: u64, ino: u64) -> Vec<u8> {
        match self.node(ino) {
            (snap, Some(n)) => {
                let out = fuse_attr_out {
                    attr_valid: self.timeout(&n),
                    attr: self.attr(&snap, &n),
                    ..Default::default()
                };
                reply(u, 0, out.as_bytes())
            }
            (_, None) => reply_err(u, ENOENT),
        }
    }

    fn do_setattr(&self, u: u64, ino: u64, arg: &[u8]) -> Vec<u8> {
        let Some(inp) = fuse_setattr_in::from_bytes(arg) else {
            return reply_err(u, EINVAL);
        };
        let (snap, Some(n)) = self.node(ino) else {
            return reply_err(u, ENOENT);
        };
        // Times are not stored by famfs: accept and ignore them (touch, cp -p). Size,
        // mode and owner live in the log and cannot change.
        let harmless = FATTR_ATIME
            | FATTR_MTIME
            | FATTR_ATIME_NOW
            | FATTR_MTIME_NOW
            | FATTR_CTIME
            | FATTR_FH
            | FATTR_LOCKOWNER
            | FATTR_KILL_SUIDGID;
        let size_same = inp.valid & FATTR_SIZE != 0 && inp.size == n.attr.size;
        let rest = inp.valid & !harmless & !(if size_same { FATTR_SIZE } else { 0 });
        if rest != 0 {
            return reply_err(u, EPERM);
        }
        let out = fuse_attr_out {
            attr_valid: self.timeout(&n),
            attr: self.attr(&snap, &n),
            ..Default::default()
        };
        reply(u, 0, out.as_bytes())
    }

    fn new_fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::Relaxed)
    }

    fn do_open(&self, u: u64, ino: u64) -> Vec<u8> {
        match self.node(ino) {
            (_, Some(n)) if n.is_dir() => reply_err(u, EISDIR),
            (_, Some(_)) => {
                let out = fuse_open_out {
                    fh: self.new_fh(),
                    open_flags: FOPEN_IOMAP_DAX,
                    backing_id: 0,
                };
                reply(u, 0, out.as_bytes())
            }
            (_, None) => reply_err(u, ENOENT),
        }
    }

    fn do_opendir(&self, u: u64, ino: u64) -> Vec<u8> {
        // A listing must show what `famfs creat` appended since the last one.
        let snap = self.reload();
        let Some(n) = snap.get(ino) else {
            return reply_err(u, ENOENT);
        };
        let Some(children) = snap.ns.readdir(ino) else {
            return reply_err(u, ENOTDIR);
        };
        let mut ents = vec![
            DirEntry {
                ino,
                name: ".".to_string(),
                dtype: 4,
            },
            DirEntry {
                ino: if ino == ROOT_INO { ROOT_INO } else { n.parent },
                name: "..".to_string(),
                dtype: 4,
            },
        ];
        for (name, &cino) in children {
            if let Some(c) = snap.get(cino) {
                ents.push(DirEntry {
                    ino: cino,
                    name: name.clone(),
                    dtype: dtype(c.attr.mode),
                });
            }
        }
        let fh = self.new_fh();
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fh, Arc::new(ents));
        let out = fuse_open_out {
            fh,
            ..Default::default()
        };
        reply(u, 0, out.as_bytes())
    }

    fn do_readdir(&self, u: u64, _ino: u64, arg: &[u8]) -> Vec<u8> {
        let Some(inp) = fuse_read_in::from_bytes(arg) else {
            return reply_err(u, EINVAL);
        };
        let Some(ents) = self
            .dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&inp.fh)
            .cloned()
        else {
            return reply_err(u, EBADF);
        };
        let mut out = Vec::new();
        let start = usize::try_from(inp.offset).unwrap_or(usize::MAX);
        for (i, e) in ents.iter().enumerate().skip(start) {
            let hl = std::mem::size_of::<fuse_dirent>();
            let rec = rec_align(hl + e.name.len());
            if out.len() + rec > inp.size as usize {
                break;
            }
            let d = fuse_dirent {
                ino: e.ino,
                off: i as u64 + 1,
                namelen: e.name.len() as u32,
                type_: e.dtype,
            };
            out.extend_from_slice(d.as_bytes());
            out.extend_from_slice(e.name.as_bytes());
            out.resize(out.len() + rec - hl - e.name.len(), 0);
        }
        reply(u, 0, &out)
    }

    fn do_getmap(&self, u: u64, ino: u64, arg: &[u8]) -> Vec<u8> {
        let Some(inp) = fuse_iomap_dax_getmap_in::from_bytes(arg) else {
            return reply_err(u, EINVAL);
        };
        let (_, Some(n)) = self.node(ino) else {
            return reply_err(u, ENOENT);
        };
        let blob = match n.fmap_blob() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("GETMAP inode {ino}: {e}");
                return reply_err(u, e.errno());
            }
        };
        if blob.len() > FUSE_IOMAP_DAX_MAP_MAX as usize {
            tracing::warn!("GETMAP inode {ino}: map of {} bytes too large", blob.len());
            return reply_err(u, EINVAL);
        }
        let hdr = fuse_iomap_dax_getmap_out {
            size: blob.len() as u32,
            padding: 0,
        };
        if blob.len() > inp.size as usize {
            return reply(u, 0, hdr.as_bytes());
        }
        self.stats.getmap_served.fetch_add(1, Ordering::Relaxed);
        let mut p = hdr.as_bytes().to_vec();
        p.extend_from_slice(&blob);
        reply(u, 0, &p)
    }

    fn do_statfs(&self, u: u64) -> Vec<u8> {
        let s = self.snapshot();
        let bs = 4096u64;
        let out = fuse_statfs_out {
            st: fuse_kstatfs {
                blocks: s.dev_size / bs,
                bfree: s.free_bytes / bs,
                bavail: s.free_bytes / bs,
                files: s.log_capacity,
                ffree: s.log_capacity.saturating_sub(s.next_index),
                bsize: bs as u32,
                namelen: 255,
                frsize: bs as u32,
                ..Default::default()
            },
        };
        reply(u, 0, out.as_bytes())
    }
}
