// SPDX-License-Identifier: GPL-2.0
//! The famfsd request handler on host images, without /dev/fuse: request bytes in, reply
//! bytes out. The "mount" is a directory whose `.meta/.superblock` and `.meta/.log` are
//! copies of the image's metadata regions, which is what famfsd reads through a real mount.

mod common;

use common::*;
use famfs_media::fuse::abi::*;
use famfs_media::fuse::host::{boot_snapshot, MountHost};
use famfs_media::fuse::server::{reply, Host, InitState, Server, Snapshot};
use famfs_media::layout::LOG_OFFSET;
use famfs_media::{Famfs, Media, RawDevice, LOG_INO, META_INO, ROOT_INO, SUPERBLOCK_INO};
use std::path::PathBuf;

const ENOENT: i32 = 2;
const EIO: i32 = 5;
const EBADF: i32 = 9;
const ENOTDIR: i32 = 20;
const EISDIR: i32 = 21;
const EPERM: i32 = 1;
const ENOSYS: i32 = 38;
const EPROTO: i32 = 71;
const EOPNOTSUPP: i32 = 95;

struct TestHost {
    inner: MountHost,
    config: Result<Vec<i32>, i32>,
}

impl Host for TestHost {
    fn config(&self) -> Result<Vec<i32>, i32> {
        self.config.clone()
    }
    fn reload(&self, cur: &Snapshot) -> Option<Snapshot> {
        self.inner.reload(cur)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    img: PathBuf,
    mnt: PathBuf,
    fs: Option<Famfs<RawDevice>>,
}

impl Fixture {
    /// An image with a directory, a simple file and an interleaved file.
    fn new() -> Self {
        let dir = tempdir();
        let (img, mut fs) = mkfs(dir.path(), 256 * MB);
        fs.mkdir("d", 0o755, 0, 0).unwrap();
        fs.create_file("a", &simple(3 * MB)).unwrap();
        fs.create_file("d/i", &interleaved(5 * MB, 2, 2 * MB))
            .unwrap();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir_all(mnt.join(".meta")).unwrap();
        let mut f = Fixture {
            _dir: dir,
            img,
            mnt,
            fs: Some(fs),
        };
        f.sync_meta();
        f
    }

    fn fs(&mut self) -> &mut Famfs<RawDevice> {
        self.fs.as_mut().unwrap()
    }

    /// Copy the superblock region and the log to the fake mount.
    fn sync_meta(&mut self) {
        let fs = self.fs.as_ref().unwrap();
        let sb = fs.superblock().clone();
        let m = fs.media();
        std::fs::write(
            self.mnt.join(".meta/.superblock"),
            m.read(0, LOG_OFFSET).unwrap(),
        )
        .unwrap();
        std::fs::write(
            self.mnt.join(".meta/.log"),
            m.read(sb.log_offset, sb.log_len).unwrap(),
        )
        .unwrap();
    }

    fn host(&self, config: Result<Vec<i32>, i32>) -> TestHost {
        let size = std::fs::metadata(&self.img).unwrap().len();
        TestHost {
            inner: MountHost::new(&self.mnt, &self.img, size, 1000, None),
            config,
        }
    }

    /// A server over the full namespace, as after mount.
    fn server(&self) -> Server<TestHost> {
        let h = self.host(Ok(vec![7]));
        h.inner.load_superblock().unwrap();
        let snap = h.inner.read_log(None).unwrap().unwrap();
        Server::new(h, snap, 4)
    }
}

fn req(opcode: u32, nodeid: u64, arg: &[u8]) -> Vec<u8> {
    let ih = fuse_in_header {
        len: (40 + arg.len()) as u32,
        opcode,
        unique: 0x1234,
        nodeid,
        ..Default::default()
    };
    let mut v = ih.as_bytes().to_vec();
    v.extend_from_slice(arg);
    v
}

/// (error, payload) of a reply, checking its header.
fn parse(r: &[u8]) -> (i32, Vec<u8>) {
    let oh = fuse_out_header::from_bytes(r).unwrap();
    assert_eq!(oh.len as usize, r.len());
    assert_eq!(oh.unique, 0x1234);
    (-oh.error, r[16..].to_vec())
}

fn call<H: Host>(s: &Server<H>, opcode: u32, nodeid: u64, arg: &[u8]) -> (i32, Vec<u8>) {
    parse(&s.handle(&req(opcode, nodeid, arg)).expect("a reply"))
}

fn name(n: &str) -> Vec<u8> {
    let mut v = n.as_bytes().to_vec();
    v.push(0);
    v
}

fn lookup<H: Host>(s: &Server<H>, parent: u64, n: &str) -> Result<fuse_entry_out, i32> {
    let (e, p) = call(s, FUSE_LOOKUP, parent, &name(n));
    if e != 0 {
        return Err(e);
    }
    assert_eq!(p.len(), std::mem::size_of::<fuse_entry_out>());
    Ok(fuse_entry_out::from_bytes(&p).unwrap())
}

fn init_in(flags: u64) -> Vec<u8> {
    fuse_init_in {
        major: 7,
        minor: 47,
        max_readahead: 1 << 20,
        flags: flags as u32,
        flags2: (flags >> 32) as u32,
        ..Default::default()
    }
    .as_bytes()
    .to_vec()
}

#[test]
fn init_negotiates_iomap_dax() {
    let f = Fixture::new();
    let s = f.server();
    let offered = FUSE_INIT_EXT | FUSE_MAX_PAGES | FUSE_IOMAP_DAX | FUSE_ASYNC_READ | (1 << 13);
    let (e, p) = call(&s, FUSE_INIT, 0, &init_in(offered));
    assert_eq!(e, 0);
    assert_eq!(p.len(), std::mem::size_of::<fuse_init_out>());
    let out = fuse_init_out::from_bytes(&p).unwrap();
    assert_eq!((out.major, out.minor), (7, 47));
    assert_eq!(
        out.flags2 & (1 << 12),
        1 << 12,
        "FUSE_IOMAP_DAX is flags2 bit 12"
    );
    assert_ne!(out.flags & FUSE_INIT_EXT as u32, 0);
    // Only flags the kernel offered, and never READDIRPLUS.
    let got = u64::from(out.flags) | (u64::from(out.flags2) << 32);
    assert_eq!(got & !offered, 0);
    assert_eq!(got & (1 << 13), 0);
    assert_eq!(*s.init.lock().unwrap(), InitState::Done(47));
}

#[test]
fn init_without_iomap_dax_is_refused() {
    let f = Fixture::new();
    let s = f.server();
    let (e, _) = call(&s, FUSE_INIT, 0, &init_in(FUSE_INIT_EXT | FUSE_MAX_PAGES));
    assert_eq!(e, EPROTO);
    assert!(
        matches!(&*s.init.lock().unwrap(), InitState::Refused(m) if m.contains("FUSE_IOMAP_DAX"))
    );
}

#[test]
fn iomap_config_reply() {
    let f = Fixture::new();
    let s = f.server();
    let (e, p) = call(&s, FUSE_IOMAP_DAX_CONFIG, 0, &[]);
    assert_eq!(e, 0);
    assert_eq!(p.len(), 16 + 4 + 4 + 4, "cut after the last backing id");
    assert_eq!(&p[..6], b"famfs\0");
    assert_eq!(u32::from_ne_bytes(p[16..20].try_into().unwrap()), 1);
    assert_eq!(i32::from_ne_bytes(p[24..28].try_into().unwrap()), 7);

    let h = f.host(Err(EOPNOTSUPP));
    let s = Server::new(h, boot_snapshot(&f.img, 256 * MB, 0).unwrap(), 4);
    assert_eq!(call(&s, FUSE_IOMAP_DAX_CONFIG, 0, &[]).0, EOPNOTSUPP);
}

#[test]
fn lookup_getattr_and_errors() {
    let f = Fixture::new();
    let s = f.server();
    let a = lookup(&s, ROOT_INO, "a").unwrap();
    assert_eq!(a.nodeid, 16 + 1, "log entry 1 -> inode 17");
    assert_eq!(a.attr.ino, a.nodeid);
    assert_eq!(a.attr.size, 3 * MB);
    assert_eq!(a.attr.mode, 0o100644);
    assert_eq!((a.attr.uid, a.attr.gid), (1000, 1000));
    let d = lookup(&s, ROOT_INO, "d").unwrap();
    assert_eq!(d.nodeid, 16);
    assert_eq!(d.attr.mode & 0o170000, 0o040000);
    assert!(
        d.entry_valid <= 1 && d.attr_valid <= 1,
        "short timeouts for directories"
    );
    let i = lookup(&s, d.nodeid, "i").unwrap();
    assert_eq!(i.attr.size, 5 * MB);
    assert_eq!(lookup(&s, ROOT_INO, ".meta").unwrap().nodeid, META_INO);
    assert_eq!(
        lookup(&s, META_INO, ".superblock").unwrap().nodeid,
        SUPERBLOCK_INO
    );
    let log = lookup(&s, META_INO, ".log").unwrap();
    assert_eq!((log.nodeid, log.attr.size), (LOG_INO, 8 * MB));
    assert_eq!(lookup(&s, ROOT_INO, "nope"), Err(ENOENT));
    assert_eq!(lookup(&s, a.nodeid, "x"), Err(ENOTDIR));
    assert_eq!(lookup(&s, 999, "x"), Err(ENOENT));

    let (e, p) = call(&s, FUSE_GETATTR, i.nodeid, &[0u8; 16]);
    assert_eq!(e, 0);
    let ao = fuse_attr_out::from_bytes(&p).unwrap();
    assert_eq!(ao.attr, i.attr);
    assert_eq!(call(&s, FUSE_GETATTR, 12345, &[0u8; 16]).0, ENOENT);
    let (e, p) = call(&s, FUSE_GETATTR, ROOT_INO, &[0u8; 16]);
    assert_eq!(e, 0);
    let root = fuse_attr_out::from_bytes(&p).unwrap().attr;
    assert_eq!((root.ino, root.mode), (1, 0o040755));
}

#[test]
fn open_and_getmap() {
    let f = Fixture::new();
    let s = f.server();
    let i = lookup(&s, 16, "i").unwrap();
    let (e, p) = call(&s, FUSE_OPEN, i.nodeid, &[0u8; 8]);
    assert_eq!(e, 0);
    let o = fuse_open_out::from_bytes(&p).unwrap();
    assert_eq!(o.open_flags & FOPEN_IOMAP_DAX, FOPEN_IOMAP_DAX);
    assert_eq!(call(&s, FUSE_OPEN, 16, &[0u8; 8]).0, EISDIR);

    let want =
        f.fs.as_ref()
            .unwrap()
            .namespace()
            .fmap_blob(i.nodeid)
            .unwrap();
    let gin = |size: u32| {
        fuse_iomap_dax_getmap_in {
            fh: o.fh,
            size,
            padding: 0,
        }
        .as_bytes()
        .to_vec()
    };
    // Too small an offer: only the header, with the full size.
    let (e, p) = call(&s, FUSE_IOMAP_DAX_GETMAP, i.nodeid, &gin(8));
    assert_eq!(e, 0);
    assert_eq!(p.len(), 8);
    assert_eq!(
        u32::from_ne_bytes(p[..4].try_into().unwrap()) as usize,
        want.len()
    );
    assert_eq!(
        s.stats
            .getmap_served
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    let (e, p) = call(&s, FUSE_IOMAP_DAX_GETMAP, i.nodeid, &gin(want.len() as u32));
    assert_eq!(e, 0);
    assert_eq!(&p[8..], &want[..]);
    assert_eq!(
        s.stats
            .getmap_served
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(s.stats.get(FUSE_IOMAP_DAX_GETMAP), 2);

    // The metadata files map their regions: file_type 1 and 2.
    for (ino, ft) in [(SUPERBLOCK_INO, 1u8), (LOG_INO, 2u8)] {
        let (e, p) = call(&s, FUSE_IOMAP_DAX_GETMAP, ino, &gin(1 << 16));
        assert_eq!(e, 0);
        assert_eq!(p[8], ft, "file_type of inode {ino}");
    }
    assert_eq!(call(&s, FUSE_IOMAP_DAX_GETMAP, 16, &gin(1 << 16)).0, EISDIR);
    assert_eq!(
        call(&s, FUSE_IOMAP_DAX_GETMAP, 4242, &gin(1 << 16)).0,
        ENOENT
    );
    assert!(s.stats.report().contains("GETMAP requests served: 3"));
}

fn readdir<H: Host>(s: &Server<H>, ino: u64, size: u32) -> Vec<(String, u64, u32)> {
    let (e, p) = call(s, FUSE_OPENDIR, ino, &[0u8; 8]);
    assert_eq!(e, 0);
    let fh = fuse_open_out::from_bytes(&p).unwrap().fh;
    let mut all = Vec::new();
    let mut off = 0u64;
    loop {
        let rin = fuse_read_in {
            fh,
            offset: off,
            size,
            ..Default::default()
        };
        let (e, p) = call(s, FUSE_READDIR, ino, rin.as_bytes());
        assert_eq!(e, 0);
        if p.is_empty() {
            break;
        }
        let mut at = 0;
        while at < p.len() {
            let d = fuse_dirent::from_bytes(&p[at..]).unwrap();
            let n = &p[at + 24..at + 24 + d.namelen as usize];
            all.push((String::from_utf8(n.to_vec()).unwrap(), d.ino, d.type_));
            off = d.off;
            at += rec_align(24 + d.namelen as usize);
        }
        assert_eq!(at, p.len());
    }
    let rel = fuse_release_in {
        fh,
        ..Default::default()
    };
    assert_eq!(call(s, FUSE_RELEASEDIR, ino, rel.as_bytes()).0, 0);
    let rin = fuse_read_in {
        fh,
        size,
        ..Default::default()
    };
    assert_eq!(call(s, FUSE_READDIR, ino, rin.as_bytes()).0, EBADF);
    all
}

#[test]
fn readdir_lists_and_resumes() {
    let f = Fixture::new();
    let s = f.server();
    let want: Vec<(String, u64, u32)> = vec![
        (".".into(), 1, 4),
        ("..".into(), 1, 4),
        (".meta".into(), META_INO, 4),
        ("a".into(), 17, 8),
        ("d".into(), 16, 4),
    ];
    assert_eq!(readdir(&s, ROOT_INO, 4096), want);
    // A buffer for one record at a time: offsets resume where the last reply stopped.
    assert_eq!(readdir(&s, ROOT_INO, 32), want);
    let meta = readdir(&s, META_INO, 4096);
    let names: Vec<_> = meta.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, [".", "..", ".log", ".superblock"]);
    assert_eq!(meta[1].1, ROOT_INO);
    assert_eq!(call(&s, FUSE_OPENDIR, 17, &[0u8; 8]).0, ENOTDIR);
}

#[test]
fn new_log_entries_appear_without_remount() {
    let mut f = Fixture::new();
    let s = f.server();
    assert_eq!(lookup(&s, ROOT_INO, "new"), Err(ENOENT));
    f.fs().create_file("new", &simple(2 * MB)).unwrap();
    f.fs().mkdir("d/sub", 0o700, 0, 0).unwrap();
    f.sync_meta();
    let n = lookup(&s, ROOT_INO, "new").unwrap();
    assert_eq!((n.nodeid, n.attr.size), (16 + 3, 2 * MB));
    let names: Vec<_> = readdir(&s, 16, 4096).into_iter().map(|e| e.0).collect();
    assert_eq!(names, [".", "..", "i", "sub"]);
    assert_eq!(s.snapshot().next_index, 5);
    // A miss with an unchanged log does not rebuild the namespace.
    let reloads = s.stats.reloads.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(lookup(&s, ROOT_INO, "still-not-there"), Err(ENOENT));
    assert_eq!(
        s.stats.reloads.load(std::sync::atomic::Ordering::Relaxed),
        reloads
    );
}

#[test]
fn corrupt_log_keeps_the_old_namespace() {
    let mut f = Fixture::new();
    let s = f.server();
    f.fs().create_file("b", &simple(MB)).unwrap();
    f.sync_meta();
    // A torn header (crc mismatch): the reload fails and the old namespace stays.
    flip(&f.mnt.join(".meta/.log"), 40);
    assert_eq!(lookup(&s, ROOT_INO, "b"), Err(ENOENT));
    assert!(lookup(&s, ROOT_INO, "a").is_ok());
}

#[test]
fn boot_snapshot_hides_the_log() {
    let f = Fixture::new();
    let h = f.host(Ok(vec![1]));
    let s = Server::new(h, boot_snapshot(&f.img, 256 * MB, 0).unwrap(), 4);
    assert_eq!(lookup(&s, ROOT_INO, ".meta").unwrap().nodeid, META_INO);
    let sb = lookup(&s, META_INO, ".superblock").unwrap();
    assert_eq!(sb.attr.size, 2 * MB);
    // The superblock has not been read yet: no log, and misses do not fail.
    assert_eq!(lookup(&s, META_INO, ".log"), Err(ENOENT));
    assert_eq!(lookup(&s, ROOT_INO, "a"), Err(ENOENT));
    let names: Vec<_> = readdir(&s, META_INO, 4096)
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, [".", "..", ".superblock"]);
    // Once the superblock is read, the full namespace is served.
    s.host().inner.load_superblock().unwrap();
    assert!(lookup(&s, ROOT_INO, "a").is_ok());
    assert_eq!(lookup(&s, META_INO, ".log").unwrap().nodeid, LOG_INO);
}

#[test]
fn unformatted_and_corrupt_superblocks_are_reported() {
    let f = Fixture::new();
    let h = f.host(Ok(vec![1]));
    std::fs::write(f.mnt.join(".meta/.superblock"), vec![0u8; 4096]).unwrap();
    let e = h.inner.load_superblock().unwrap_err().to_string();
    assert!(e.contains("not a famfs file system"), "{e}");
    let f = Fixture::new();
    flip(&f.mnt.join(".meta/.superblock"), 100);
    let e = f
        .host(Ok(vec![1]))
        .inner
        .load_superblock()
        .unwrap_err()
        .to_string();
    assert!(e.contains("crc mismatch"), "{e}");
}

#[test]
fn namespace_changes_and_unsupported_requests() {
    let f = Fixture::new();
    let s = f.server();
    for op in [
        FUSE_MKDIR,
        FUSE_MKNOD,
        FUSE_CREATE,
        FUSE_UNLINK,
        FUSE_RMDIR,
        FUSE_RENAME,
        FUSE_RENAME2,
        FUSE_LINK,
        FUSE_SYMLINK,
        FUSE_TMPFILE,
    ] {
        assert_eq!(call(&s, op, ROOT_INO, &name("x")).0, EPERM, "opcode {op}");
    }
    for op in [FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_READLINK, 4000] {
        assert_eq!(call(&s, op, 17, &[0u8; 8]).0, ENOSYS, "opcode {op}");
    }
    assert_eq!(call(&s, FUSE_READ, 17, &[0u8; 40]).0, EIO);
    for op in [FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT] {
        assert!(s.handle(&req(op, 17, &[0u8; 16])).is_none(), "opcode {op}");
    }
    for op in [FUSE_RELEASE, FUSE_FLUSH, FUSE_DESTROY] {
        assert_eq!(call(&s, op, 17, &[0u8; 24]).0, 0, "opcode {op}");
    }
    // Truncation or chmod: refused; times: accepted and ignored.
    let sa = |valid: u32, size: u64| fuse_setattr_in {
        valid,
        size,
        ..Default::default()
    };
    assert_eq!(
        call(&s, FUSE_SETATTR, 17, sa(FATTR_SIZE, 0).as_bytes()).0,
        EPERM
    );
    assert_eq!(
        call(&s, FUSE_SETATTR, 17, sa(FATTR_MODE, 0).as_bytes()).0,
        EPERM
    );
    let (e, p) = call(
        &s,
        FUSE_SETATTR,
        17,
        sa(FATTR_MTIME | FATTR_ATIME_NOW, 0).as_bytes(),
    );
    assert_eq!(e, 0);
    assert_eq!(fuse_attr_out::from_bytes(&p).unwrap().attr.size, 3 * MB);
    assert_eq!(
        call(&s, FUSE_SETATTR, 17, sa(FATTR_SIZE, 3 * MB).as_bytes()).0,
        0
    );
    // Malformed input: too short a header is dropped; too short an argument is EINVAL.
    assert!(s.handle(&[0u8; 10]).is_none());
    assert_eq!(call(&s, FUSE_IOMAP_DAX_GETMAP, 17, &[0u8; 4]).0, 22);
    assert_eq!(s.stats.get(FUSE_MKDIR), 1);
    assert!(s.stats.get(4000) >= 1);
}

#[test]
fn statfs_reports_space_and_log_entries() {
    let f = Fixture::new();
    let s = f.server();
    let (e, p) = call(&s, FUSE_STATFS, ROOT_INO, &[]);
    assert_eq!(e, 0);
    let st = fuse_statfs_out::from_bytes(&p).unwrap().st;
    let fs = f.fs.as_ref().unwrap();
    assert_eq!(st.bsize, 4096);
    assert_eq!(st.blocks, fs.superblock().usable_size() / 4096);
    assert_eq!(st.bfree, fs.free_bytes() / 4096);
    assert_eq!(st.files, fs.log_header().capacity());
    assert_eq!(st.ffree, fs.log_header().capacity() - 3);
}

#[test]
fn reply_header() {
    let r = reply(0x1234, -2, b"abc");
    assert_eq!(parse(&r), (2, b"abc".to_vec()));
}
