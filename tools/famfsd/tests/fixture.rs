// SPDX-License-Identifier: GPL-2.0
//! A file system made by famfs userspace itself (`shared/fixtures/famfs-real`, beside the
//! repository): our library, `famfs fsck` and `famfs logplay` must see exactly the
//! namespace, attributes and maps famfs's own replay wrote to `expected-yaml/`.
//!
//! The fixture is required: a missing fixture fails the test. It is read-only; the
//! image is decompressed (with `xz`) into a temporary directory and extended to the
//! 4 GiB the superblock records.

mod common;

use common::*;
use famfs_media::layout::*;
use famfs_media::log::{EntryKind, FileMap};
use famfs_media::namespace::read_entry;
use famfs_media::{fsck, Famfs, RawDevice};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const GB: u64 = 1 << 30;

fn fixture_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/famfs-real");
    assert!(
        d.join("meta.img.xz").is_file() && d.join("expected-yaml").is_dir(),
        "fixture missing: {} (the shared/ directory must sit beside the repository)",
        d.display()
    );
    d
}

/// The fixture image, decompressed and extended to 4 GiB, in `dir`.
pub fn fixture_image(dir: &Path) -> PathBuf {
    let xz = fixture_dir().join("meta.img.xz");
    let img = dir.join("famfs-real.img");
    let out = std::fs::File::create(&img).unwrap();
    let st = Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .stdout(out)
        .status()
        .expect("running xz (xz-utils) to decompress the fixture");
    assert!(st.success(), "xz -dc {} failed", xz.display());
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 10 * MB);
    f.set_len(4 * GB).unwrap();
    img
}

/// One file as famfs's shadow YAML describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    size: u64,
    flags: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    map: FileMap,
}

/// Parse one shadow YAML file with the library's parser (famfs's own format: a `file:`
/// mapping with a simple or a striped extent list; ids signed or not).
fn parse_yaml(text: &str) -> (String, Expected) {
    let f = famfs_media::fs::parse_shadow_yaml(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let e = Expected {
        size: f.size,
        flags: f.flags,
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
        map: f.map,
    };
    (f.path, e)
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Expected>, dirs: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
        if p.is_dir() {
            dirs.push(rel);
            walk(root, &p, files, dirs);
        } else {
            let (path, x) = parse_yaml(&std::fs::read_to_string(&p).unwrap());
            assert_eq!(path, rel, "{}", p.display());
            files.insert(path, x);
        }
    }
}

/// Directory attributes: (uid, gid, mode).
type DirAttrs = BTreeMap<String, (u32, u32, u32)>;

/// Files and directories (with uid, gid, mode) famfs says the image holds. The YAML tree
/// has no file for a directory and no empty directory; the fixture's README gives the
/// directories' attributes.
fn expected() -> (BTreeMap<String, Expected>, DirAttrs) {
    let root = fixture_dir().join("expected-yaml");
    let (mut files, mut dirs) = (BTreeMap::new(), Vec::new());
    walk(&root, &root, &mut files, &mut dirs);
    let attrs: DirAttrs = [
        ("a", (1000, 100, 0o755)),
        ("a/b", (1001, 101, 0o755)),
        ("a/b/c", (1002, 102, 0o755)),
        ("data", (1003, 103, 0o755)),
        ("empty", (1004, 104, 0o700)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    dirs.push("empty".to_string());
    dirs.sort();
    assert_eq!(dirs, attrs.keys().cloned().collect::<Vec<_>>());
    assert_eq!(files.len(), 8);
    (files, attrs)
}

#[test]
fn library_sees_famfs_namespace_attributes_and_maps() {
    let d = tempdir();
    let img = fixture_image(d.path());
    let fs = Famfs::open(RawDevice::open(&img, false).unwrap()).unwrap();
    assert!(fs.problems().is_empty(), "{:?}", fs.problems());
    let sb = fs.superblock();
    assert_eq!(sb.version, SB_VERSION);
    assert_eq!((sb.omf_ver_major, sb.omf_ver_minor), (2, 2));
    assert_eq!((sb.log_offset, sb.log_len), (2 * MB, 8 * MB));
    assert_eq!(sb.alloc_unit, 2 * MB);
    assert_eq!(sb.daxdev.size, 4 * GB);
    assert_eq!(sb.daxdev.name, "/tmp/interop/real2.img");
    assert_eq!(fs.log_header().next_index, 13);
    assert_eq!(fs.log_header().capacity(), 15_420);

    let (files, dirs) = expected();
    let ns = fs.namespace();
    let mut seen_files = BTreeMap::new();
    let mut seen_dirs = BTreeMap::new();
    for n in ns.nodes().filter(|n| n.log_index.is_some()) {
        let path = ns.path_of(n.ino);
        let a = n.attr;
        match n.map() {
            None => {
                seen_dirs.insert(path, (a.uid, a.gid, a.mode & 0o7777));
            }
            Some(m) => {
                assert!(n.bad.is_none(), "{path}: {:?}", n.bad);
                let e = read_entry(fs.media(), sb, n.log_index.unwrap()).unwrap();
                let EntryKind::File(f) = e.kind else {
                    panic!("{path}: not a file entry")
                };
                seen_files.insert(
                    path.clone(),
                    Expected {
                        size: a.size,
                        flags: f.flags,
                        mode: a.mode & 0o7777,
                        uid: a.uid,
                        gid: a.gid,
                        map: m.clone(),
                    },
                );
                // Our shadow YAML is famfs's, byte for byte.
                let want = std::fs::read_to_string(fixture_dir().join("expected-yaml").join(&path))
                    .unwrap();
                let got =
                    famfs_media::fs::shadow_yaml(&path, a.size, f.flags, a.mode, a.uid, a.gid, m);
                assert_eq!(got, want, "{path}");
                // The kernel module's parser accepts the blob and maps the file size.
                let blob = n.fmap_blob().unwrap();
                let parsed = famfs_fmap::Fmap::parse(&blob, &[4 * GB])
                    .unwrap_or_else(|e| panic!("{path}: kernel parser: {e}"));
                assert_eq!(parsed.file_size(), a.size);
                let last = a.size - 1;
                let r = parsed.resolve(last).unwrap();
                assert_eq!(Some(r.dev_offset), m.resolve(last).map(|x| x.1), "{path}");
            }
        }
    }
    assert_eq!(seen_files, files);
    assert_eq!(seen_dirs, dirs);
}

#[test]
fn raw_entry_bytes_sit_at_famfs_offsets() {
    // data/striped_4x2m is log entry 10: nstrips @120, chunk_size @128 and the strips
    // @136 of the file union (union at 16 in the entry), per famfs's C layout.
    let d = tempdir();
    let img = fixture_image(d.path());
    let mut raw = vec![0u8; 10 * MB as usize];
    std::io::Read::read_exact(&mut std::fs::File::open(&img).unwrap(), &mut raw).unwrap();
    let e = 2 * MB as usize + LOG_HEADER_SIZE + 10 * ENTRY_SIZE;
    let u = e + ENTRY_UNION;
    let g = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap());
    let g32 = |o: usize| u32::from_le_bytes(raw[o..o + 4].try_into().unwrap());
    assert_eq!(g32(e + ENTRY_TYPE), ENTRY_TYPE_FILE);
    assert_eq!(
        &raw[u + FILE_RELPATH..u + FILE_RELPATH + 17],
        b"data/striped_4x2m"
    );
    assert_eq!(g32(u + FMAP_EXT_TYPE), EXT_TYPE_INTERLEAVED);
    assert_eq!(FMAP_NEXTENTS, 112);
    assert_eq!(g32(u + 112), 1);
    assert_eq!(g(u + 120), 4);
    assert_eq!(g(u + 128), 2 * MB);
    assert_eq!(g(u + 136 + 8), 0x4000_0000);
    assert_eq!(g(u + 136 + 16), 4 * MB);
    assert_eq!(g32(u + FILE_FLAGS), FILE_FLAG_ALL_RW);
    // Log header crc over bytes 0..24 of the header only.
    let h = 2 * MB as usize;
    assert_eq!(g(h + LOG_CRC), checksum(&[&raw[h..h + 24]]));
}

#[test]
fn fsck_is_clean() {
    let d = tempdir();
    let img = fixture_image(d.path());
    let r = fsck(&RawDevice::open(&img, false).unwrap());
    assert!(r.is_clean(), "{:?}", r.problems);
    assert_eq!((r.files, r.dirs, r.entries), (8, 5, 13));
}

fn famfs(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_famfs"))
        .env_remove("FAMFS_DEVICE")
        .env("FAMFS_SYSTEM_UUID_FILE", dir.join("system_uuid"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn cli_fsck_logplay_and_getmap_see_famfs_view() {
    let d = tempdir();
    let img = fixture_image(d.path());
    let i = img.to_str().unwrap();
    let (code, out, err) = famfs(d.path(), &["fsck", i]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("fsck: 13 log entries of 15420, 8 files, 5 directories"),
        "{out}"
    );
    assert!(out.ends_with("fsck: clean\n"), "{out}");

    // logplay -n (dry run) lists exactly the objects famfs's replay produced.
    let (files, dirs) = expected();
    let mut want: Vec<String> = files
        .iter()
        .map(|(p, e)| {
            famfs_media::fs::describe_object(p, e.mode, e.uid, e.gid, Some(e.size), Some(&e.map))
        })
        .collect();
    want.extend(
        dirs.iter()
            .map(|(p, (u, g, m))| famfs_media::fs::describe_object(p, *m, *u, *g, None, None)),
    );
    want.sort();
    let (code, out, err) = famfs(d.path(), &["logplay", "-n", i]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let mut got: Vec<String> = out
        .lines()
        .filter(|l| !l.starts_with("logplay:"))
        .map(String::from)
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(
        out.contains("logplay: 13 log entries (8 files, 5 directories, 0 skipped)"),
        "{out}"
    );

    // getmap prints famfs's own shadow YAML of every file.
    for p in files.keys() {
        let (code, out, err) = famfs(d.path(), &["--device", i, "getmap", p.as_str()]);
        assert_eq!(code, 0, "{p}: {err}");
        let want = std::fs::read_to_string(fixture_dir().join("expected-yaml").join(p)).unwrap();
        assert_eq!(out, want, "{p}");
    }

    // This host is not the one that made the file system: a client.
    let (code, _, err) = famfs(d.path(), &["--device", i, "mkdir", "new"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the owner is 57b7b96e-7ec2-443d-b988-ce5fdd20f748"),
        "{err}"
    );
}

#[test]
fn restored_onto_a_smaller_device_serves_the_files_that_fit() {
    // What the guest test does with its 1 GiB /dev/dax0.0: the famfs-made metadata onto a
    // smaller device; files inside it keep their maps, the others are skipped by name.
    let d = tempdir();
    let xz = fixture_dir().join("meta.img.xz");
    let meta = d.path().join("meta.img");
    let st = Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .stdout(std::fs::File::create(&meta).unwrap())
        .status()
        .unwrap();
    assert!(st.success());
    let dev = d.path().join("dev.img");
    std::fs::File::create(&dev).unwrap().set_len(GB).unwrap();
    let (m, v) = (meta.to_str().unwrap(), dev.to_str().unwrap());
    let (code, _, err) = famfs(d.path(), &["restore", m, v]);
    assert_eq!(code, 1);
    assert!(err.contains("records a 4294967296-byte device"), "{err}");
    let (code, out, err) = famfs(d.path(), &["restore", "--shrink", m, v]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("recorded as 1073741824"), "{out}");
    let (code, out, _) = famfs(d.path(), &["fsck", v]);
    assert_eq!(code, 1);
    for f in ["data/striped_4x2m", "data/striped_odd", "data/striped_2x4m"] {
        assert!(out.contains(&format!("'{f}': extent [")), "{out}");
    }
    let (files, _) = expected();
    for (p, e) in &files {
        let fits = e.map.extents().iter().all(|x| x.end() <= GB);
        let (code, out, _) = famfs(d.path(), &["--device", v, "getmap", p]);
        if fits {
            let want =
                std::fs::read_to_string(fixture_dir().join("expected-yaml").join(p)).unwrap();
            assert_eq!((code, out), (0, want), "{p}");
        } else {
            assert_eq!(code, 2, "{p}: not served");
        }
    }
}

#[test]
fn famfsd_shadow_tree_is_famfs_expected_yaml() {
    let d = tempdir();
    let img = fixture_image(d.path());
    let fs = Famfs::open(RawDevice::open(&img, false).unwrap()).unwrap();
    let shadow = d.path().join("shadow");
    famfs_media::fuse::host::write_shadow(&fs, &shadow).unwrap();
    let (files, dirs) = expected();
    for p in files.keys() {
        let want = std::fs::read_to_string(fixture_dir().join("expected-yaml").join(p)).unwrap();
        assert_eq!(
            std::fs::read_to_string(shadow.join(p)).unwrap(),
            want,
            "{p}"
        );
    }
    for p in dirs.keys() {
        assert!(shadow.join(p).is_dir(), "{p}");
    }
}
