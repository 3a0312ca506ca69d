// SPDX-License-Identifier: GPL-2.0
//! Tests of the `famfs` binary.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn famfs(dev: &Path, args: &[&str]) -> Run {
    let o: Output = Command::new(env!("CARGO_BIN_EXE_famfs"))
        .env("FAMFS_DEVICE", dev)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(dev: &Path, args: &[&str]) -> String {
    let r = famfs(dev, args);
    assert_eq!(r.code, 0, "famfs {args:?}: {}", r.err);
    r.out
}

/// Runs a failing command; returns its single stderr line.
fn fails(dev: &Path, args: &[&str]) -> String {
    let r = famfs(dev, args);
    assert_eq!(r.code, 1, "famfs {args:?} should fail: {}{}", r.out, r.err);
    assert_eq!(r.err.lines().count(), 1, "one line expected: {}", r.err);
    r.err.trim_end().to_string()
}

fn formatted(dir: &Path, size: u64) -> std::path::PathBuf {
    let img = image(dir, size);
    let out = ok(&img, &["mkfs", img.to_str().unwrap()]);
    assert!(out.contains("15420 entries"), "{out}");
    img
}

#[test]
fn mkfs_refuses_formatted_device_without_force() {
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    let s = img.to_str().unwrap();
    ok(&img, &["mkdir", "keep"]);
    let e = fails(&img, &["mkfs", s]);
    assert!(
        e.ends_with("device already contains a valid famfs file system (use --force to overwrite)"),
        "{e}"
    );
    assert!(ok(&img, &["logplay"]).contains("keep/"));
    ok(&img, &["mkfs", "--force", "--loglen", "16m", s]);
    let out = ok(&img, &["logplay"]);
    assert!(!out.contains("keep"), "{out}");
    assert!(out.contains("of 30840 entries used"), "{out}");
    let e = fails(&img, &["mkfs", "-f", "--loglen", "12m", s]);
    assert_eq!(
        e,
        "famfs: invalid argument: log length 12582912 must be a power of two >= 8388608"
    );
}

#[test]
fn creat_random_and_verify() {
    let d = tempdir();
    let img = formatted(d.path(), 256 * MB);
    ok(&img, &["mkdir", "-p", "x/y"]);
    ok(&img, &["creat", "-s", "5m", "-r", "-S", "42", "x/y/simple"]);
    ok(
        &img,
        &[
            "creat", "-s", "9437185", "-N", "4", "-C", "64k", "-r", "-S", "7", "x/strip",
        ],
    );
    assert!(ok(&img, &["verify", "-S", "42", "x/y/simple"]).contains("ok (5242880 bytes"));
    ok(&img, &["verify", "-S", "7", "x/strip"]);
    let e = fails(&img, &["verify", "-S", "43", "x/y/simple"]);
    assert!(
        e.starts_with("famfs: verify: x/y/simple: mismatch at offset 0"),
        "{e}"
    );

    // Corrupt one data byte in the middle of the striped file and find it.
    let map = ok(&img, &["getmap", "x/strip"]);
    assert!(
        map.contains("map: interleaved, 4 strip(s), chunk 65536"),
        "{map}"
    );
    assert!(map.contains("fmap blob: 152 bytes"), "{map}");
    // File offset 65536*5 + 10 is chunk 5: strip 1, stripe 1.
    let strip1 = map
        .lines()
        .find(|l| l.trim_start().starts_with("strip[1]"))
        .unwrap();
    let off = strip1
        .split("offset 0x")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let dev_off = u64::from_str_radix(off, 16).unwrap() + 65536 + 10;
    flip(&img, dev_off);
    let e = fails(&img, &["verify", "-S", "7", "x/strip"]);
    assert!(
        e.starts_with(&format!(
            "famfs: verify: x/strip: mismatch at offset {}",
            65536 * 5 + 10
        )),
        "{e}"
    );
    let out = ok(&img, &["fsck"]);
    assert!(out.contains("fsck: clean"), "{out}");
}

#[test]
fn cp_round_trip() {
    let d = tempdir();
    let img = formatted(d.path(), 256 * MB);
    let src = d.path().join("src");
    std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
    let mut rng = Rng(5);
    let mut files = Vec::new();
    for (name, len) in [
        ("a.bin", 3_000_001usize),
        ("sub/b", 4096),
        ("sub/deeper/c", 0),
        ("sub/e", 70_000),
    ] {
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        std::fs::write(src.join(name), &data).unwrap();
        files.push((name, data));
    }
    ok(&img, &["mkdir", "dst"]);
    // Single file into a directory, and to a new name.
    ok(&img, &["cp", src.join("a.bin").to_str().unwrap(), "dst"]);
    ok(
        &img,
        &["cp", src.join("a.bin").to_str().unwrap(), "renamed"],
    );
    let e = fails(&img, &["cp", src.join("a.bin").to_str().unwrap(), "dst"]);
    assert_eq!(e, "famfs: dst/a.bin: file exists");
    let e = fails(&img, &["cp", src.to_str().unwrap(), "tree"]);
    assert!(e.ends_with("is a directory (use -r)"), "{e}");
    ok(&img, &["cp", "-r", src.to_str().unwrap(), "tree"]);
    let e = fails(&img, &["cp", "/nonexistent/zz", "dst"]);
    assert!(e.contains("/nonexistent/zz"), "{e}");

    // Read everything back through the library.
    let fs = famfs_media::Famfs::open(famfs_media::RawDevice::open(&img, false).unwrap()).unwrap();
    let read = |p: &str| {
        let n = fs.namespace().resolve(p).unwrap();
        let mut b = vec![0u8; n.attr.size as usize];
        fs.read_data(n.ino, 0, &mut b).unwrap();
        b
    };
    assert!(read("dst/a.bin") == files[0].1);
    assert!(read("renamed") == files[0].1);
    for (name, data) in &files {
        assert!(read(&format!("tree/{name}")) == *data, "{name}");
    }
    drop(fs);
    let out = ok(&img, &["logplay"]);
    assert!(out.contains("tree/sub/deeper/"), "{out}");
    assert!(ok(&img, &["fsck"]).contains("fsck: clean"));
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let d = tempdir();
    let img = formatted(d.path(), 32 * MB);
    ok(&img, &["mkdir", "d"]);
    ok(&img, &["creat", "-s", "2m", "d/f"]);
    assert_eq!(
        fails(&img, &["creat", "-s", "2m", "d/f"]),
        "famfs: d/f: file exists"
    );
    assert_eq!(
        fails(&img, &["creat", "-s", "1m", "nope/f"]),
        "famfs: nope/f: parent directory does not exist"
    );
    let long = "n".repeat(80);
    assert_eq!(
        fails(&img, &["mkdir", &long]),
        format!("famfs: {long}: name too long (80 bytes, at most 79)")
    );
    assert_eq!(
        fails(&img, &["creat", "-s", "100m", "big"]),
        "famfs: big: no space left on device (need 104857600 bytes, 20971520 bytes free)"
    );
    assert_eq!(
        fails(&img, &["getmap", "missing"]),
        "famfs: missing: no such file or directory"
    );
    assert_eq!(
        fails(&img, &["verify", "-S", "1", "d"]),
        "famfs: d: is a directory"
    );
    assert_eq!(
        fails(&img, &["creat", "-s", "1m", "-N", "2", "-C", "5000", "s"]),
        "famfs: invalid argument: chunk size 5000 must be a power of two between 4096 and 2 GiB"
    );
    // Corruptions.
    flip(&img, 2 * MB + 48 + 30); // log entry 0
    let r = famfs(&img, &["logplay"]);
    assert!(
        r.err.contains("log entry 0: crc mismatch (stored 0x"),
        "{}",
        r.err
    );
    let r = famfs(&img, &["fsck"]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("fsck: log entry 0: crc mismatch"),
        "{}",
        r.out
    );
    assert!(r.err.contains("fsck: 2 problem(s) found"), "{}", r.err);
    assert!(
        r.out
            .contains("log entry 1: d/f: parent directory does not exist"),
        "{}",
        r.out
    );
    flip(&img, 20);
    assert!(fails(&img, &["logplay"]).starts_with("famfs: superblock: crc mismatch"));
    // No device at all.
    let r = Command::new(env!("CARGO_BIN_EXE_famfs"))
        .env_remove("FAMFS_DEVICE")
        .arg("logplay")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&r.stderr).trim_end(),
        "famfs: no file system given: use --device PATH, FAMFS_DEVICE or --mount DIR"
    );
}

#[test]
fn getmap_of_meta_files() {
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    let out = ok(&img, &["getmap", ".meta/.log", "--hex"]);
    assert!(
        out.contains("extent[0]: dev 0 offset 0x200000 len 0x800000"),
        "{out}"
    );
    assert!(out.contains("fmap blob: 56 bytes"), "{out}");
    // The header line of the hex dump: file_type 2, version 1, nextents 1, size 56.
    assert!(
        out.contains("0000: 02 00 01 00 00 00 00 00 01 00 00 00 38 00 00 00"),
        "{out}"
    );
    let out = ok(&img, &["getmap", ".meta/.superblock"]);
    assert!(out.contains("offset 0x0 len 0x200000"), "{out}");
}
