// SPDX-License-Identifier: GPL-2.0
//! Library tests on file-backed images.

mod common;

use common::*;
use famfs_media::alloc::{Bitmap, Owner};
use famfs_media::error::errno;
use famfs_media::layout::*;
use famfs_media::log::{entry_offset, EntryKind, FileEntry, LogEntry, LogHeader};
use famfs_media::{
    fsck, read_meta, Error, Extent, Famfs, FileMap, Media, MountedMeta, Node, RawDevice, LOG_INO,
    ROOT_INO, SUPERBLOCK_INO,
};

fn reopen(p: &std::path::Path) -> famfs_media::Result<Famfs<RawDevice>> {
    Famfs::open(RawDevice::open(p, false)?)
}

/// (path, attr, map) of every log-created node, for comparing namespaces.
fn listing(fs: &Famfs<impl Media>) -> Vec<(String, famfs_media::Attr, Option<FileMap>)> {
    let ns = fs.namespace();
    ns.nodes()
        .filter(|n| n.log_index.is_some())
        .map(|n: &Node| (ns.path_of(n.ino), n.attr, n.map().cloned()))
        .collect()
}

#[test]
fn mkfs_superblock_round_trip() {
    let d = tempdir();
    let (p, fs) = mkfs(d.path(), 64 * MB);
    let sb = fs.superblock().clone();
    assert_eq!(sb.daxdev.size, 64 * MB);
    assert_eq!(sb.log_offset, 2 * MB);
    assert_eq!(sb.log_len, 8 * MB);
    assert_eq!(sb.alloc_unit, 2 * MB);
    assert_eq!(fs.log_header().capacity(), 15_420);
    assert_eq!(fs.free_bytes(), 54 * MB);
    drop(fs);
    let raw = std::fs::read(&p).unwrap();
    assert_eq!(get(&raw, 0), SB_MAGIC);
    assert_eq!(get(&raw, 2 * MB as usize), LOG_MAGIC);
    let fs = reopen(&p).unwrap();
    assert_eq!(fs.superblock(), &sb);
    // mkfs refuses a formatted device unless forced, and a forced mkfs gets a new uuid.
    drop(fs);
    let e = Famfs::mkfs(RawDevice::open(&p, true).unwrap(), 8 * MB, false)
        .err()
        .unwrap();
    assert!(matches!(e, Error::AlreadyFormatted(_)), "{e}");
    let fs = Famfs::mkfs(RawDevice::open(&p, true).unwrap(), 16 * MB, true).unwrap();
    assert_ne!(fs.superblock().fs_uuid, sb.fs_uuid);
    assert_eq!(fs.log_header().capacity(), log_entries(16 * MB));
}

fn get(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

#[test]
fn mkfs_rejects_bad_geometry() {
    let d = tempdir();
    let p = image(d.path(), 10 * MB);
    let e = Famfs::mkfs(RawDevice::open(&p, true).unwrap(), 8 * MB, false)
        .err()
        .unwrap();
    assert!(e.to_string().contains("device too small"), "{e}");
    let p = image(d.path(), 64 * MB);
    let e = Famfs::mkfs(RawDevice::open(&p, true).unwrap(), 12 * MB, false)
        .err()
        .unwrap();
    assert!(e.to_string().contains("power of two"), "{e}");
    // An unformatted device does not open.
    let e = reopen(&p).err().unwrap();
    assert_eq!(
        e.to_string(),
        "superblock: bad magic 0x0 (expected 0x87b282ff): not a famfs file system"
    );
}

#[test]
fn create_and_replay() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 256 * MB);
    fs.mkdir("a", 0o755, 1, 2).unwrap();
    fs.mkdir_p("/b/c/d/", 0o700, 3, 4).unwrap();
    // mkdir -p over existing directories is fine.
    fs.mkdir_p("b/c", 0o700, 3, 4).unwrap();
    let f1 = fs.create_file("a/f1", &simple(5 * MB + 3)).unwrap();
    let f2 = fs
        .create_file("b/c/f2", &interleaved(9 * MB, 4, 64 << 10))
        .unwrap();
    let f3 = fs.create_file("empty", &simple(0)).unwrap();
    let before = listing(&fs);
    assert_eq!(before.len(), 7);
    let ns = fs.namespace();
    let n1 = ns.get(f1).unwrap();
    assert_eq!(n1.attr.size, 5 * MB + 3);
    assert_eq!(n1.attr.mode, 0o100644);
    assert_eq!((n1.attr.uid, n1.attr.gid), (1000, 1000));
    assert_eq!(n1.map().unwrap().extents(), &[Extent::new(10 * MB, 6 * MB)]);
    assert_eq!(ns.resolve("b/c/f2").unwrap().ino, f2);
    assert_eq!(ns.lookup(ROOT_INO, "empty").unwrap().ino, f3);
    assert_eq!(ns.get(f3).unwrap().map().unwrap().capacity(), 2 * MB);
    let names: Vec<_> = ns.readdir(ROOT_INO).unwrap().keys().cloned().collect();
    assert_eq!(names, [".meta", "a", "b", "empty"]);
    let b = ns.resolve("b").unwrap();
    assert_eq!(b.attr.mode, 0o040700);
    assert_eq!(b.attr.nlink, 3);
    assert_eq!(ns.root().attr.nlink, 5);
    assert!(matches!(ns.resolve("a/f1/x"), Err(Error::NotDir(_))));
    assert!(matches!(ns.resolve("zz"), Err(Error::NotFound(_))));
    drop(fs);

    let fs = reopen(&p).unwrap();
    assert_eq!(listing(&fs), before);
    assert_eq!(fs.namespace().resolve("b/c/f2").unwrap().ino, f2);
    let r = fsck(fs.media());
    assert!(r.is_clean(), "{:?}", r.problems);
    assert_eq!((r.files, r.dirs, r.entries), (3, 4, 7));
}

#[test]
fn fmap_blobs_are_accepted_by_the_kernel_parser() {
    let d = tempdir();
    let (_p, mut fs) = mkfs(d.path(), 512 * MB);
    let dev = fs.superblock().daxdev.size;
    let mut inos = vec![SUPERBLOCK_INO, LOG_INO];
    inos.push(fs.create_file("s", &simple(7 * MB + 1)).unwrap());
    inos.push(fs.create_file("e", &simple(0)).unwrap());
    for (i, (n, c)) in [
        (1, 4096),
        (3, 64 << 10),
        (4, 2 * MB),
        (16, 4 * MB),
        (5, 8192),
    ]
    .into_iter()
    .enumerate()
    {
        let sz = 3 * MB * (i as u64 + 1) + 4097;
        inos.push(
            fs.create_file(&format!("i{i}"), &interleaved(sz, n, c))
                .unwrap(),
        );
    }
    // A fragmented file: fill, then make holes by creating around them is not possible
    // (no delete), so check a multi-extent map through its own blob instead below.
    let ns = fs.namespace();
    for ino in inos {
        let node = ns.get(ino).unwrap();
        let blob = ns.fmap_blob(ino).unwrap();
        let k = famfs_fmap::Fmap::parse(&blob, &[dev])
            .unwrap_or_else(|e| panic!("{}: kernel parser rejects blob: {e:?}", node.name));
        assert_eq!(k.file_size(), node.attr.size);
        let map = node.map().unwrap();
        // Resolve at many offsets with both resolvers.
        let size = node.attr.size;
        let mut off = 0;
        while off < size {
            let m = k.resolve(off).unwrap();
            let (dev_i, dev_off, avail) = map.resolve(off).unwrap();
            assert_eq!(
                (u64::from(m.dev), m.dev_offset),
                (dev_i, dev_off),
                "{} @ {off}",
                node.name
            );
            assert!(m.len <= avail);
            off += m.len.min(4096 * 37 + 1);
        }
    }
    // The synthetic files' blobs describe the metadata regions.
    let sb = ns.get(SUPERBLOCK_INO).unwrap();
    assert_eq!(sb.map().unwrap().extents(), &[Extent::new(0, 2 * MB)]);
    assert_eq!(ns.fmap_blob(SUPERBLOCK_INO).unwrap()[0], 1);
    assert_eq!(ns.fmap_blob(LOG_INO).unwrap()[0], 2);
    assert!(ns.fmap_blob(ROOT_INO).is_err());
}

#[test]
fn multi_extent_blob_is_accepted_by_the_kernel_parser() {
    let m = FileMap::Simple(vec![
        Extent::new(10 * MB, 4 * MB),
        Extent::new(30 * MB, 2 * MB),
        Extent::new(20 * MB, 6 * MB),
    ]);
    let blob = famfs_media::fmap_blob(famfs_media::FileType::Regular, 11 * MB, &m).unwrap();
    let k = famfs_fmap::Fmap::parse(&blob, &[64 * MB]).unwrap();
    for off in [0, 4 * MB - 1, 4 * MB, 6 * MB + 5, 11 * MB - 1] {
        let r = k.resolve(off).unwrap();
        assert_eq!(Some(r.dev_offset), m.resolve(off).map(|x| x.1));
    }
}

#[test]
fn corrupt_superblock_is_reported() {
    let d = tempdir();
    let (p, fs) = mkfs(d.path(), 64 * MB);
    drop(fs);
    flip(&p, SB_LOG_LEN as u64 + 1);
    let e = reopen(&p).err().unwrap();
    assert!(e.to_string().starts_with("superblock: crc mismatch"), "{e}");
    assert_eq!(e.errno(), errno::EIO);
    let r = fsck(&RawDevice::open(&p, false).unwrap());
    assert_eq!(r.problems.len(), 1);
    assert!(r.problems[0].starts_with("superblock: crc mismatch"));
}

#[test]
fn corrupt_log_header_is_reported() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    fs.mkdir("x", 0o755, 0, 0).unwrap();
    drop(fs);
    // next_index is not covered by the crc (famfs): a torn update is caught because
    // next_seqnum must equal it.
    flip(&p, 2 * MB + LOG_NEXT_INDEX as u64);
    let e = reopen(&p).err().unwrap();
    assert_eq!(
        e.to_string(),
        "log header: next_seqnum 1 differs from next_index 5"
    );
    flip(&p, 2 * MB + LOG_NEXT_INDEX as u64);
    assert!(reopen(&p).is_ok());
    // last_index is covered.
    flip(&p, 2 * MB + LOG_LAST_INDEX as u64);
    let e = reopen(&p).err().unwrap();
    assert!(e.to_string().starts_with("log header: crc mismatch"), "{e}");
}

#[test]
fn corrupt_log_entry_is_reported_with_its_index() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    for i in 0..20 {
        fs.mkdir(&format!("d{i}"), 0o755, 0, 0).unwrap();
    }
    drop(fs);
    flip(&p, 2 * MB + entry_offset(17) + 40);
    // Replay skips the entry, names it, and serves the rest.
    let fs = reopen(&p).unwrap();
    assert_eq!(fs.problems().len(), 1);
    assert!(
        fs.problems()[0]
            .to_string()
            .starts_with("log entry 17: crc mismatch"),
        "{}",
        fs.problems()[0]
    );
    assert!(fs.namespace().resolve("d17").is_err());
    assert!(fs.namespace().resolve("d18").is_ok());
    drop(fs);
    // fsck reports it and still checks the entries after it.
    let r = fsck(&RawDevice::open(&p, false).unwrap());
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].starts_with("log entry 17: crc mismatch"));
    assert_eq!(r.dirs, 19);
}

/// Write a crafted entry at the next index and commit it, bypassing all checks.
fn inject(p: &std::path::Path, kind: EntryKind) {
    let mut m = RawDevice::open(p, true).unwrap();
    let (sb, h) = read_meta(&m).unwrap();
    let e = LogEntry {
        seqnum: h.next_index,
        kind,
    };
    let off = sb.log_offset + entry_offset(h.next_index);
    m.write(off, ENTRY_SIZE as u64)
        .unwrap()
        .copy_from_slice(&e.encode().unwrap());
    let h2 = LogHeader {
        next_index: h.next_index + 1,
        next_seqnum: h.next_seqnum + 1,
        ..h
    };
    m.write(sb.log_offset, LOG_HEADER_SIZE as u64)
        .unwrap()
        .copy_from_slice(&h2.encode());
}

fn crafted(path: &str, exts: Vec<Extent>) -> EntryKind {
    EntryKind::File(FileEntry {
        size: exts.iter().map(|e| e.len).sum(),
        flags: 0,
        uid: 0,
        gid: 0,
        mode: 0o644,
        relpath: path.into(),
        map: FileMap::Simple(exts),
    })
}

#[test]
fn fsck_detects_cross_links_and_misplaced_extents() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    fs.create_file("victim", &simple(4 * MB)).unwrap(); // [10M, 14M)
    drop(fs);
    assert!(fsck(&RawDevice::open(&p, false).unwrap()).is_clean());
    inject(&p, crafted("thief", vec![Extent::new(12 * MB, 4 * MB)]));
    let fs = reopen(&p).unwrap();
    assert_eq!(
        fs.problems()[0].to_string(),
        "log entry 1: 'thief' is cross-linked with log entry 0 ('victim') at device offset 0xc00000"
    );
    // Neither file of a cross-link is served.
    assert!(fs.namespace().resolve("thief").is_err());
    let victim = fs.namespace().resolve("victim").unwrap();
    let e = victim.fmap_blob().unwrap_err();
    assert_eq!(e.errno(), errno::EIO);
    assert!(
        e.to_string().contains("cross-linked with log entry 1"),
        "{e}"
    );
    drop(fs);
    inject(&p, crafted("onlog", vec![Extent::new(8 * MB, 2 * MB)]));
    inject(&p, crafted("past", vec![Extent::new(62 * MB, 4 * MB)]));
    inject(
        &p,
        crafted("odd", vec![Extent::new(16 * MB + 4096, 2 * MB)]),
    );
    let r = fsck(&RawDevice::open(&p, false).unwrap());
    assert_eq!(r.problems.len(), 4, "{:#?}", r.problems);
    assert!(r.problems[0].contains("cross-linked with log entry 0"));
    assert!(r.problems[1].starts_with("log entry 2: 'onlog': extent"));
    assert!(r.problems[1].contains("overlaps the superblock/log region"));
    assert!(r.problems[2].contains("runs past the end of device 0"));
    assert!(r.problems[3].contains("not aligned"));
}

#[test]
fn allocations_never_overlap() {
    for seed in [1u64, 2, 3, 0xfeed] {
        let d = tempdir();
        let (p, mut fs) = mkfs(d.path(), 1024 * MB);
        let mut rng = Rng(seed);
        let mut made = 0;
        loop {
            let size = rng.below(40 * MB);
            let opts = if rng.below(3) == 0 {
                let n = 1 + rng.below(16) as u32;
                let c = 4096u64 << rng.below(11); // 4 KiB .. 4 MiB
                interleaved(size, n, c)
            } else {
                simple(size)
            };
            match fs.create_file(&format!("f{made}"), &opts) {
                Ok(_) => made += 1,
                Err(Error::NoSpace { .. }) if rng.below(4) != 0 => continue,
                Err(Error::NoSpace { .. }) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(made > 10);
        // Every extent is inside the data area and owned once.
        let sb = fs.superblock().clone();
        let mut check = Bitmap::new(sb.usable_size(), sb.alloc_unit, sb.meta_end());
        for n in fs.namespace().nodes().filter(|n| n.log_index.is_some()) {
            let map = n.map().unwrap();
            assert!(map.capacity() >= n.attr.size);
            for e in map.extents() {
                assert!(e.offset >= sb.meta_end() && e.end() <= sb.usable_size());
                assert_eq!(check.mark(e, Owner::Entry(n.ino)), None, "seed {seed}");
            }
        }
        assert_eq!(check.free_bytes(), fs.free_bytes());
        drop(fs);
        let r = fsck(&RawDevice::open(&p, false).unwrap());
        assert!(r.is_clean(), "{:?}", r.problems);
        assert_eq!(r.files, made);
    }
}

#[test]
fn full_device() {
    let d = tempdir();
    let (_p, mut fs) = mkfs(d.path(), 21 * MB); // 10 MiB data, last MiB unusable
    assert_eq!(fs.free_bytes(), 10 * MB);
    fs.create_file("a", &simple(6 * MB)).unwrap();
    let e = fs.create_file("b", &simple(6 * MB)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "b: no space left on device (need 6291456 bytes, 4194304 bytes free)"
    );
    assert_eq!(e.errno(), errno::ENOSPC);
    let e = fs
        .create_file("c", &interleaved(4 * MB, 4, 4096))
        .unwrap_err();
    assert!(matches!(e, Error::NoSpace { .. }));
    // The failures left nothing behind.
    assert_eq!(fs.free_bytes(), 4 * MB);
    assert_eq!(fs.log_header().next_index, 1);
    fs.create_file("d", &simple(4 * MB)).unwrap();
    assert_eq!(fs.free_bytes(), 0);
}

#[test]
fn full_log() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    let cap = fs.log_header().capacity();
    for i in 0..cap {
        fs.mkdir(&format!("d{i}"), 0o755, 0, 0).unwrap();
    }
    let e = fs.mkdir("one-more", 0o755, 0, 0).unwrap_err();
    assert_eq!(e.to_string(), "log full: all 15420 log entries are used");
    assert_eq!(e.errno(), errno::ENOSPC);
    let e = fs.create_file("f", &simple(1)).unwrap_err();
    assert!(matches!(e, Error::LogFull(15_420)));
    drop(fs);
    let fs = reopen(&p).unwrap();
    assert_eq!(
        fs.namespace().readdir(ROOT_INO).unwrap().len() as u64,
        cap + 1
    );
}

#[test]
fn bad_names() {
    let d = tempdir();
    let (_p, mut fs) = mkfs(d.path(), 64 * MB);
    fs.mkdir("dir", 0o755, 0, 0).unwrap();
    fs.create_file("dir/file", &simple(1)).unwrap();
    let long = format!("dir/{}", "n".repeat(MAX_RELPATH - 3));
    let e = fs.create_file(&long, &simple(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{long}: name too long (80 bytes, at most 79)")
    );
    assert_eq!(e.errno(), errno::ENAMETOOLONG);
    fs.create_file(&long[..long.len() - 1], &simple(1)).unwrap();

    let e = fs.create_file("dir/file", &simple(1)).unwrap_err();
    assert_eq!(e.to_string(), "dir/file: file exists");
    assert_eq!(e.errno(), errno::EEXIST);
    assert!(matches!(
        fs.mkdir("dir", 0o755, 0, 0),
        Err(Error::Exists(_))
    ));

    let e = fs.create_file("nodir/file", &simple(1)).unwrap_err();
    assert_eq!(e.to_string(), "nodir/file: parent directory does not exist");
    assert_eq!(e.errno(), errno::ENOENT);
    let e = fs.mkdir("dir/file/sub", 0o755, 0, 0).unwrap_err();
    assert_eq!(e.errno(), errno::ENOTDIR);

    for bad in [".meta", ".meta/x", "a/../b", ""] {
        let e = fs.mkdir(bad, 0o755, 0, 0).unwrap_err();
        assert_eq!(e.errno(), errno::EINVAL, "{bad}: {e}");
    }
    let e = fs.create_file("i", &interleaved(1, 17, 4096)).unwrap_err();
    assert!(e.to_string().contains("strip count 17"), "{e}");
    let e = fs.create_file("i", &interleaved(1, 2, 6000)).unwrap_err();
    assert!(e.to_string().contains("chunk size 6000"), "{e}");
    // None of the failures used a log entry.
    assert_eq!(fs.log_header().next_index, 3);
}

#[test]
fn data_round_trip_and_bounds() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 128 * MB);
    let ino = fs
        .create_file("x", &interleaved(5 * MB + 7, 3, 8192))
        .unwrap();
    let mut data = vec![0u8; (5 * MB + 7) as usize];
    famfs_media::pattern::fill(99, 0, &mut data);
    fs.write_data(ino, 0, &data).unwrap();
    assert!(fs.write_data(ino, 5 * MB, &[0; 8]).is_err());
    drop(fs);
    let fs = reopen(&p).unwrap();
    let mut back = vec![0u8; data.len()];
    fs.read_data(ino, 0, &mut back).unwrap();
    assert!(back == data);
    let mut piece = vec![0u8; 10000];
    fs.read_data(ino, 12345, &mut piece).unwrap();
    assert_eq!(famfs_media::pattern::check(99, 12345, &piece), None);
}

#[test]
fn mounted_meta_files_give_the_same_namespace() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    fs.mkdir("a", 0o755, 0, 0).unwrap();
    fs.create_file("a/f", &simple(3 * MB)).unwrap();
    let before = listing(&fs);
    drop(fs);
    // Fake a mount: .meta/.superblock and .meta/.log hold the two regions.
    let mnt = d.path().join("mnt");
    std::fs::create_dir_all(mnt.join(".meta")).unwrap();
    let raw = std::fs::read(&p).unwrap();
    std::fs::write(mnt.join(".meta/.superblock"), &raw[..2 * MB as usize]).unwrap();
    std::fs::write(
        mnt.join(".meta/.log"),
        &raw[2 * MB as usize..10 * MB as usize],
    )
    .unwrap();
    let mut fs = Famfs::open(MountedMeta::open(&mnt, true).unwrap()).unwrap();
    assert_eq!(listing(&fs), before);
    // Metadata can be appended through it; data is not addressable by device offset.
    let ino = fs.create_file("a/g", &simple(MB)).unwrap();
    assert!(matches!(
        fs.write_data(ino, 0, &[1]),
        Err(Error::Unsupported(_))
    ));
    drop(fs);
    let fs = Famfs::open(MountedMeta::open(&mnt, false).unwrap()).unwrap();
    assert_eq!(listing(&fs).len(), before.len() + 1);
}

#[test]
fn a_second_device_from_add_daxdev() {
    use famfs_media::log::DaxdevEntry;
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    let u1 = uuid::Uuid::from_u128(0x1111);
    assert_eq!(fs.add_daxdev(32 * MB, u1).unwrap(), 1);
    // Errors name the device and the rule.
    let e = fs.add_daxdev(32 * MB, u1).unwrap_err();
    assert!(
        e.to_string()
            .contains("uuid 00000000-0000-0000-0000-000000001111 is already device 1"),
        "{e}"
    );
    let e = fs.add_daxdev(4096, uuid::Uuid::from_u128(2)).unwrap_err();
    assert!(
        e.to_string().contains("smaller than one allocation unit"),
        "{e}"
    );
    let e = fs.add_daxdev(32 * MB, uuid::Uuid::nil()).unwrap_err();
    assert!(e.to_string().contains("nil uuid"), "{e}");
    // Fill device 0: the next file goes to device 1.
    fs.create_file("big0", &simple(54 * MB)).unwrap();
    let ino = fs.create_file("on1", &simple(8 * MB)).unwrap();
    let n = fs.namespace().get(ino).unwrap();
    assert_eq!(n.map().unwrap().extents()[0].devindex, 1);
    let blob = n.fmap_blob().unwrap();
    let k = famfs_fmap::Fmap::parse(&blob, &[64 * MB, 32 * MB]).unwrap();
    assert_eq!(k.resolve(0).unwrap().dev, 1);
    // The device file maps device 0 only: data on device 1 is reached through a mount.
    let e = fs.write_data(ino, 0, &[1]).unwrap_err();
    assert!(
        e.to_string()
            .contains("is on device 1; reach it through a mount"),
        "{e}"
    );
    drop(fs);
    let fs = reopen(&p).unwrap();
    assert_eq!(fs.namespace().devices().len(), 2);
    assert_eq!(fs.namespace().devices()[1].uuid, u1);
    drop(fs);
    assert!(fsck(&RawDevice::open(&p, false).unwrap()).is_clean());
    // Out of order, and a file on a device that does not exist.
    inject(
        &p,
        EntryKind::AddDaxdev(DaxdevEntry {
            size: 32 * MB,
            uuid: uuid::Uuid::from_u128(3),
            index: 5,
        }),
    );
    inject(
        &p,
        EntryKind::AddDaxdev(DaxdevEntry {
            size: 32 * MB,
            uuid: uuid::Uuid::from_u128(4),
            index: 64,
        }),
    );
    let mut e = Extent::new(0, 2 * MB);
    e.devindex = 2;
    inject(&p, crafted("nodev", vec![e]));
    let r = fsck(&RawDevice::open(&p, false).unwrap());
    assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
    assert!(r.problems[0].contains("device 5: out of order (the next device index is 2)"));
    assert!(r.problems[1].contains("device 64: index past the 64 devices famfs allows"));
    assert!(r.problems[2].contains("'nodev': device index 2 does not exist"));
}

#[test]
fn no_file_at_offset_zero_of_an_added_device() {
    let d = tempdir();
    let (p, mut fs) = mkfs(d.path(), 64 * MB);
    fs.add_daxdev(32 * MB, uuid::Uuid::from_u128(0x1111))
        .unwrap();
    // Fill device 0: the next files go to device 1, never at its offset 0 (famfs's
    // logplay skips a file with an extent at offset 0).
    fs.create_file("big0", &simple(54 * MB)).unwrap();
    let ino = fs.create_file("on1", &simple(8 * MB)).unwrap();
    let e = fs.namespace().get(ino).unwrap().map().unwrap().extents()[0];
    assert_eq!((e.devindex, e.offset), (1, 2 * MB));
    let ino = fs
        .create_file("striped1", &interleaved(8 * MB, 2, 2 * MB))
        .unwrap();
    let m = fs.namespace().get(ino).unwrap().map().unwrap().clone();
    assert!(m.extents().iter().all(|e| e.offset != 0), "{m:?}");
    // The whole device can be used except its first unit.
    let free = fs.free_bytes();
    assert_eq!(free, (32 - 2 - 8 - 8) * MB);
    fs.create_file("rest", &simple(free)).unwrap();
    assert!(fs.create_file("more", &simple(1)).is_err());
    drop(fs);
    let r = fsck(&RawDevice::open(&p, false).unwrap());
    assert!(r.is_clean());
    // Allocation and size are reported per device and summed over all of them.
    assert_eq!(
        r.devices,
        [
            famfs_media::DeviceUsage {
                size: 64 * MB,
                allocated: 54 * MB
            },
            famfs_media::DeviceUsage {
                size: 32 * MB,
                allocated: 30 * MB
            }
        ]
    );
    assert_eq!((r.allocated, r.device_size), (84 * MB, 96 * MB));
    // A file another tool put at offset 0 of device 1 is skipped, as famfs skips it.
    let mut at0 = Extent::new(0, 2 * MB);
    at0.devindex = 1;
    inject(
        &p,
        crafted("onboth", vec![Extent::new(62 * MB, 2 * MB), at0]),
    );
    let fs = reopen(&p).unwrap();
    assert_eq!(fs.problems().len(), 1);
    assert_eq!(
        fs.problems()[0].to_string(),
        "log entry 5: 'onboth': has extent with 0 offset (device 1); famfs refuses such a file"
    );
    assert!(fs.namespace().resolve("onboth").is_err());
    drop(fs);
    let r = fsck(&RawDevice::open(&p, false).unwrap());
    assert!(!r.is_clean());
    assert!(
        r.problems[0].contains("has extent with 0 offset"),
        "{:?}",
        r.problems
    );
}
