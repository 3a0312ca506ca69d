// SPDX-License-Identifier: GPL-2.0
//! Tests of the `famfs` binary.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

#[derive(Debug, PartialEq, Eq)]
struct Run {
    code: i32,
    out: String,
    err: String,
}

/// The system uuid file of the host the tests play (next to the image).
fn uuid_file(dev: &Path) -> std::path::PathBuf {
    dev.with_file_name("system_uuid")
}

fn famfs(dev: &Path, args: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_famfs"));
    c.env("FAMFS_DEVICE", dev)
        .env("FAMFS_SYSTEM_UUID_FILE", uuid_file(dev))
        .args(args);
    output(c)
}

fn output(mut c: Command) -> Run {
    let o: Output = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// famfs without a device: paths are ordinary paths; `host` is the system uuid file.
fn famfs_at(host: &Path, args: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_famfs"));
    c.env_remove("FAMFS_DEVICE")
        .env("FAMFS_SYSTEM_UUID_FILE", host)
        .args(args);
    output(c)
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
    assert!(ok(&img, &["logplay"]).contains("dir 0755"));
    // Dry run changes nothing.
    ok(&img, &["-n", "mkfs", "-f", s]);
    assert!(ok(&img, &["logplay"]).contains(" keep"));
    ok(&img, &["mkfs", "--force", "--loglen", "16m", s]);
    let out = ok(&img, &["logplay"]);
    assert!(!out.contains("keep"), "{out}");
    assert!(out.contains("of 30840 entries used"), "{out}");
    let e = fails(&img, &["mkfs", "-f", "--loglen", "12m", s]);
    assert_eq!(
        e,
        "famfs: invalid argument: log length 12582912 must be a power of two >= 8388608"
    );
    // mkfs.famfs is the same program under its own name: -k wipes (only with -f).
    let mk = d.path().join("mkfs.famfs");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_famfs"), &mk).unwrap();
    let mut c = Command::new(&mk);
    c.env("FAMFS_SYSTEM_UUID_FILE", uuid_file(&img))
        .args(["-k", s]);
    let r = output(c);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("--kill wipes the superblock"), "{}", r.err);
    let mut c = Command::new(&mk);
    c.env("FAMFS_SYSTEM_UUID_FILE", uuid_file(&img))
        .args(["-f", "-k", s]);
    assert_eq!(output(c).code, 0);
    assert!(fails(&img, &["logplay"]).contains("superblock: bad magic 0x0"));
    let mut c = Command::new(&mk);
    c.env("FAMFS_SYSTEM_UUID_FILE", uuid_file(&img))
        .args(["-l", "16m", s]);
    let r = output(c);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("30840 entries"), "{}", r.out);
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
            "creat",
            "-s",
            "9437185",
            "-N",
            "4",
            "-C",
            "64k",
            "--allow-small-stripes",
            "-r",
            "-S",
            "7",
            "x/strip",
        ],
    );
    assert!(ok(&img, &["verify", "-S", "42", "-f", "x/y/simple"]).contains("ok (5242880 bytes"));
    ok(&img, &["verify", "-S", "7", "x/strip"]);
    let e = fails(&img, &["verify", "-S", "43", "-f", "x/y/simple"]);
    assert!(
        e.starts_with("famfs: verify: x/y/simple: mismatch at offset 0"),
        "{e}"
    );
    // Several files at once, on several threads, with seeds; ownership and mode.
    ok(
        &img,
        &[
            "creat", "-M", "m1,3m,1", "-M", "m2,1m,2", "-M", "m3,4k", "-t", "2", "-u", "7", "-g",
            "8", "-m", "600",
        ],
    );
    ok(&img, &["verify", "-m", "m1,1", "-m", "m2,2", "-t", "3"]);
    assert!(fails(&img, &["verify", "-m", "m1,1", "-m", "m2,1"]).contains("m2: mismatch"));
    let y = ok(&img, &["getmap", "m1"]);
    assert!(y.contains("  mode: 0600\n  uid: 7\n  gid: 8\n"), "{y}");
    // famfs prints ids of 2^31 and above signed (%d).
    ok(
        &img,
        &[
            "creat",
            "-s",
            "4k",
            "-u",
            "4294967294",
            "-g",
            "2147483648",
            "nobody",
        ],
    );
    let y = ok(&img, &["getmap", "nobody"]);
    assert!(y.contains("  uid: -2\n  gid: -2147483648\n"), "{y}");
    // Re-creating a file of the same size succeeds; another size does not.
    ok(&img, &["creat", "-s", "3m", "m1"]);
    assert!(fails(&img, &["creat", "-s", "2m", "m1"]).contains("exists with size 3145728"));
    assert!(fails(&img, &["creat", "-r", "-s", "2m", "m9"]).contains("-r needs -S SEED"));
    // Bucketed strided allocation: 4 strips from 8 buckets of 32 MiB, distinct buckets
    // (buckets under famfs's 1 GiB need the extension).
    ok(
        &img,
        &[
            "creat",
            "-s",
            "16m",
            "-N",
            "4",
            "-B",
            "8",
            "--allow-small-stripes",
            "bucketed",
        ],
    );
    let y = ok(&img, &["getmap", "bucketed"]);
    let mut buckets: Vec<u64> = y
        .lines()
        .filter_map(|l| l.trim().strip_prefix("offset: 0x"))
        .map(|h| u64::from_str_radix(h, 16).unwrap() / (32 * MB))
        .collect();
    buckets.sort();
    buckets.dedup();
    assert_eq!(buckets.len(), 4, "{y}");

    // Corrupt one data byte in the middle of the striped file and find it.
    let map = ok(&img, &["getmap", "--hex", "x/strip"]);
    assert!(
        map.contains("  - nstrips: 4\n    chunk_size: 0x10000\n"),
        "{map}"
    );
    assert!(map.contains("fmap blob: 152 bytes"), "{map}");
    // File offset 65536*5 + 10 is chunk 5: strip 1, stripe 1.
    let offs: Vec<u64> = map
        .lines()
        .filter_map(|l| l.trim().strip_prefix("offset: 0x"))
        .map(|h| u64::from_str_radix(h, 16).unwrap())
        .collect();
    let dev_off = offs[1] + 65536 + 10;
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
    // A copy over a file of the same size is a restart: it succeeds.
    ok(&img, &["cp", src.join("a.bin").to_str().unwrap(), "dst"]);
    std::fs::write(src.join("short"), b"abc").unwrap();
    let e = fails(
        &img,
        &["cp", src.join("short").to_str().unwrap(), "dst/a.bin"],
    );
    assert_eq!(
        e,
        "famfs: cp: dst/a.bin: exists with size 3000001 (famfs overwrites only a file of the same size, 3)"
    );
    std::fs::remove_file(src.join("short")).unwrap();
    let e = fails(&img, &["cp", src.to_str().unwrap(), "tree"]);
    assert!(e.ends_with("is a directory (use -r)"), "{e}");
    ok(
        &img,
        &["cp", "-r", "-t", "2", src.to_str().unwrap(), "tree"],
    );
    // Again: every file has the same size, so the copy restarts over it.
    ok(&img, &["cp", "-r", src.to_str().unwrap(), "tree"]);
    ok(
        &img,
        &[
            "cp",
            "-N",
            "2",
            "-C",
            "64k",
            "--allow-small-stripes",
            "-m",
            "400",
            src.join("sub/e").to_str().unwrap(),
            "striped",
        ],
    );
    assert!(ok(&img, &["getmap", "striped"]).contains("nstrips: 2"));
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
    assert!(read("striped") == files[3].1);
    for (name, data) in &files {
        assert!(read(&format!("tree/{name}")) == *data, "{name}");
    }
    drop(fs);
    let out = ok(&img, &["logplay"]);
    assert!(out.contains("tree/sub/deeper\n"), "{out}");
    assert!(out.contains("file 0400 "), "{out}");
    assert!(ok(&img, &["fsck"]).contains("fsck: clean"));
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let d = tempdir();
    let img = formatted(d.path(), 32 * MB);
    ok(&img, &["mkdir", "d"]);
    ok(&img, &["creat", "-s", "2m", "d/f"]);
    // famfs: re-creating a file of the same size succeeds.
    ok(&img, &["creat", "-s", "2m", "d/f"]);
    assert_eq!(
        fails(&img, &["creat", "-s", "3m", "d/f"]),
        "famfs: creat: d/f: exists with size 2097152 (not 3145728)"
    );
    assert_eq!(fails(&img, &["mkdir", "d"]), "famfs: d: file exists");
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
    // getmap: famfs's exit codes (ENOENT, EISDIR).
    let r = famfs(&img, &["getmap", "missing"]);
    assert_eq!(
        (r.code, r.err.trim_end()),
        (2, "famfs: getmap: missing: no such file or directory")
    );
    assert_eq!(famfs(&img, &["getmap", "-q", "d"]).code, 21);
    assert_eq!(
        famfs(&img, &["getmap", "-q", "d/f"]),
        Run {
            code: 0,
            out: String::new(),
            err: String::new()
        }
    );
    assert_eq!(
        fails(&img, &["verify", "-S", "1", "d"]),
        "famfs: d: is a directory"
    );
    assert_eq!(
        fails(&img, &["creat", "-s", "1m", "-N", "2", "-C", "5000", "s"]),
        "famfs: creat: chunk size 5000 must be a power of two (famfs: chunk_size=0x1388 must be a power of 2)"
    );
    assert_eq!(
        fails(
            &img,
            &[
                "creat",
                "-s",
                "1m",
                "-N",
                "2",
                "-C",
                "5000",
                "--allow-small-stripes",
                "s"
            ]
        ),
        "famfs: invalid argument: chunk size 5000 must be a power of two between 4096 and 2 GiB"
    );
    // A client host (another system uuid) reads but does not write.
    let other = d.path().join("other_uuid");
    let mut c = Command::new(env!("CARGO_BIN_EXE_famfs"));
    c.env("FAMFS_DEVICE", &img)
        .env("FAMFS_SYSTEM_UUID_FILE", &other)
        .args(["mkdir", "c"]);
    let r = output(c);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("mkdir: this host is a client of this famfs"),
        "{}",
        r.err
    );
    assert!(r.err.contains("only the owner writes the log"), "{}", r.err);
    let mut c = Command::new(env!("CARGO_BIN_EXE_famfs"));
    c.env("FAMFS_DEVICE", &img)
        .env("FAMFS_SYSTEM_UUID_FILE", &other)
        .args(["logplay"]);
    assert_eq!(output(c).code, 0);
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
    assert_eq!(famfs(&img, &["fsck", "-r"]).out, r.out);
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
    let r = famfs_at(&other, &["logplay"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.err.trim_end(),
        "famfs: no file system given: name a device or mount point (or use --device PATH, FAMFS_DEVICE or --mount DIR)"
    );
    let r = famfs_at(&other, &["mount", "-F", "/dev/null", "/tmp"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err
            .contains("-F/--nofuse (standalone famfs v1) is not supported"),
        "{}",
        r.err
    );
}

#[test]
fn getmap_of_meta_files() {
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    let out = ok(&img, &["getmap", ".meta/.log", "--hex"]);
    assert!(
        out.contains("  - devindex: 0\n    offset: 0x200000\n    length: 0x800000\n"),
        "{out}"
    );
    assert!(out.contains("  mode: 0644\n"), "{out}");
    assert!(out.contains("fmap blob: 56 bytes"), "{out}");
    // The header line of the hex dump: file_type 2, version 1, nextents 1, size 56.
    assert!(
        out.contains("0000: 02 00 01 00 00 00 00 00 01 00 00 00 38 00 00 00"),
        "{out}"
    );
    let out = ok(&img, &["getmap", ".meta/.superblock"]);
    assert!(out.contains("offset: 0x0\n    length: 0x200000"), "{out}");
    assert!(out.contains("  mode: 0444\n"), "{out}");
}

/// A stand-in for a mounted famfs: a directory whose `.meta/.superblock` and `.meta/.log`
/// hold the image's metadata regions, as a real mount serves them.
fn fake_mount(dir: &Path, img: &Path) -> std::path::PathBuf {
    let m = dir.join("mnt");
    std::fs::create_dir_all(m.join(".meta")).unwrap();
    let raw = std::fs::read(img).unwrap();
    std::fs::write(m.join(".meta/.superblock"), &raw[..2 * MB as usize]).unwrap();
    std::fs::write(
        m.join(".meta/.log"),
        &raw[2 * MB as usize..10 * MB as usize],
    )
    .unwrap();
    m.canonicalize().unwrap()
}

#[test]
fn paths_inside_a_mount_are_ordinary_paths() {
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    let host = uuid_file(&img);
    let m = fake_mount(d.path(), &img);
    let p = |rel: &str| m.join(rel).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let r = famfs_at(&host, args);
        assert_eq!(r.code, 0, "famfs {args:?}: {}", r.err);
        r.out
    };
    run(&["mkdir", "-p", "-m", "750", &p("a/b")]);
    run(&["creat", "-s", "2m", "-u", "5", "-g", "6", &p("a/b/f")]);
    std::fs::create_dir_all(m.join("a/b")).unwrap();
    std::fs::write(m.join("a/b/f"), b"").unwrap();
    // A dry run writes nothing.
    run(&["-n", "creat", "-s", "2m", &p("dry")]);
    let out = run(&["logplay", "-n", m.to_str().unwrap()]);
    let ids = format!(
        "{}:{}",
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw()
    );
    assert!(out.contains(&format!("dir 0750 {ids} - a/b\n")), "{out}");
    assert!(
        out.contains("file 0644 5:6 2097152 a/b/f simple 0:0xa00000+0x200000"),
        "{out}"
    );
    assert!(!out.contains(" dry\n"), "{out}");
    assert!(run(&["fsck", m.to_str().unwrap()]).contains("fsck: clean"));
    assert!(run(&["fsck", "-r", m.to_str().unwrap()]).contains("fsck: clean"));
    assert!(run(&["check", m.to_str().unwrap()]).contains("1 files, 0 not mapped"));
    assert!(run(&["chkread", "-s", &p("a")]).contains("superblock valid"));
    assert!(run(&["chkread", "-l", m.to_str().unwrap()]).contains("log header valid, 3 entries"));
    // Relative to the working directory.
    let mut c = Command::new(env!("CARGO_BIN_EXE_famfs"));
    c.env_remove("FAMFS_DEVICE")
        .env("FAMFS_SYSTEM_UUID_FILE", &host)
        .current_dir(m.join("a"))
        .args(["getmap", "b/f"]);
    let r = output(c);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out
            .starts_with("---\nfile:\n  path: a/b/f\n  size: 2097152\n  flags: 2\n"),
        "{}",
        r.out
    );
    // getmap exit codes: not in famfs 1, directory EISDIR, missing ENOENT.
    assert_eq!(
        famfs_at(&host, &["getmap", "-q", d.path().to_str().unwrap()]).code,
        1
    );
    assert_eq!(famfs_at(&host, &["getmap", "-q", &p("a")]).code, 21);
    assert_eq!(famfs_at(&host, &["getmap", "-q", &p("zz")]).code, 2);
    // A client host mounts and reads, but does not write.
    let other = d.path().join("client_uuid");
    let r = famfs_at(&other, &["creat", "-s", "2m", &p("x")]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("creat: this host is a client of this famfs"),
        "{}",
        r.err
    );
    assert!(famfs_at(&other, &["mkdir", &p("y")]).err.contains("client"));
    assert_eq!(famfs_at(&other, &["getmap", "-q", &p("a/b/f")]).code, 0);
    // A clone is a cross-link: neither file is served, fsck and check find it.
    run(&["clone", &p("a/b/f"), &p("c")]);
    let r = famfs_at(&host, &["fsck", m.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("fsck: log entry 3: 'c' is cross-linked with log entry 2 ('a/b/f') at device offset 0xa00000"),
        "{}",
        r.out
    );
    assert_eq!(famfs_at(&host, &["getmap", "-q", &p("a/b/f")]).code, 2);
    let r = famfs_at(&host, &["check", m.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(
        r.out
            .contains("a/b/f: not mapped: cross-linked with log entry 3"),
        "{}",
        r.out
    );
    // check: bit 2 for a corrupt superblock.
    flip(&m.join(".meta/.superblock"), 20);
    assert_eq!(famfs_at(&host, &["check", m.to_str().unwrap()]).code, 2);
}

/// An image made by our mkfs and CLI, read back with the byte offsets famfs documents
/// (famfs_meta.h, as measured from famfs userspace) written out as literals here.
#[test]
fn our_image_follows_famfs_documented_layout() {
    use famfs_media::layout::checksum;
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    ok(&img, &["mkdir", "-m", "750", "dir"]);
    ok(
        &img,
        &[
            "creat", "-s", "3m", "-u", "7", "-g", "8", "-m", "640", "dir/f",
        ],
    );
    ok(
        &img,
        &[
            "creat",
            "-s",
            "5m",
            "-N",
            "2",
            "-C",
            "2m",
            "--allow-small-stripes",
            "s",
        ],
    );
    let raw = std::fs::read(&img).unwrap();
    let u64at = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap());
    let u32at = |o: usize| u32::from_le_bytes(raw[o..o + 4].try_into().unwrap());
    // Superblock.
    assert_eq!(u64at(0), 0x87b2_82ff);
    assert_eq!(u64at(8), 48);
    assert_eq!((u64at(16), u64at(24), u64at(32)), (2 * MB, 8 * MB, 2 * MB));
    assert_eq!((u32at(40), u32at(44)), (2, 2));
    assert_eq!(u64at(96), checksum(&[&raw[..96]]));
    assert_eq!(u64at(112), 64 * MB);
    assert_eq!(&raw[64..80], &raw[120..136], "device uuid in both places");
    assert_eq!(
        &raw[136..136 + img.to_str().unwrap().len()],
        img.to_str().unwrap().as_bytes()
    );
    // The system uuid is this host's.
    let host = std::fs::read_to_string(uuid_file(&img)).unwrap();
    assert_eq!(
        uuid::Uuid::from_slice(&raw[80..96]).unwrap().to_string(),
        host.trim()
    );
    // Log header: crc over bytes 0..24.
    let h = 2 * MB as usize;
    assert_eq!(u64at(h), 0xbad_cafe_f00d);
    assert_eq!(u64at(h + 8), 8 * MB);
    assert_eq!(u64at(h + 16), 15_419);
    assert_eq!(u64at(h + 24), checksum(&[&raw[h..h + 24]]));
    assert_eq!((u64at(h + 32), u64at(h + 40)), (3, 3));
    let entry = |i: usize| h + 48 + 544 * i;
    for i in 0..3 {
        let e = entry(i);
        assert_eq!(u64at(e), i as u64, "seqnum");
        assert_eq!(
            u64at(e + 536),
            checksum(&[&raw[e..e + 536]]),
            "entry {i} crc"
        );
    }
    // MKDIR: uid @0, gid @4, mode @8, relpath @12 of the union at 16.
    let u = entry(0) + 16;
    assert_eq!(u32at(entry(0) + 8), 1);
    assert_eq!(u32at(u + 8), 0o750);
    assert_eq!(&raw[u + 12..u + 16], b"dir\0");
    // FILE, simple: size @0, flags @8 (2), uid @12, gid @16, mode @20, relpath @24,
    // ext_type @104, nextents @112, extents @120.
    let u = entry(1) + 16;
    assert_eq!(u32at(entry(1) + 8), 0);
    assert_eq!(u64at(u), 3 * MB);
    assert_eq!(
        (u32at(u + 8), u32at(u + 12), u32at(u + 16), u32at(u + 20)),
        (2, 7, 8, 0o640)
    );
    assert_eq!(&raw[u + 24..u + 30], b"dir/f\0");
    assert_eq!((u32at(u + 104), u32at(u + 112)), (0, 1));
    assert_eq!(
        (u64at(u + 120), u64at(u + 128), u64at(u + 136)),
        (0, 10 * MB, 4 * MB)
    );
    // FILE, striped: ext_type 1, count @112, nstrips @120, chunk @128, strips @136.
    let u = entry(2) + 16;
    assert_eq!((u32at(u + 104), u32at(u + 112)), (1, 1));
    assert_eq!((u64at(u + 120), u64at(u + 128)), (2, 2 * MB));
    assert_eq!((u64at(u + 136), u64at(u + 152)), (0, 4 * MB));
    assert_eq!((u64at(u + 160), u64at(u + 176)), (0, 4 * MB));
}

#[test]
fn adddev_records_a_device_by_uuid() {
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    let u = "01234567-89ab-cdef-0123-456789abcdef";
    let out = ok(&img, &["adddev", "--uuid", u, "--size", "32m", "/dev/null"]);
    assert!(
        out.contains(&format!("is device 1 (33554432 bytes, uuid {u})")),
        "{out}"
    );
    let e = fails(&img, &["adddev", "--uuid", u, "--size", "32m", "/dev/null"]);
    assert!(e.contains(&format!("uuid {u} is already device 1")), "{e}");
    let e = fails(&img, &["adddev", "--size", "32m", "/dev/null"]);
    assert_eq!(
        e,
        "famfs: adddev: /dev/null: no uuid in sysfs; give one with --uuid"
    );
    let out = ok(&img, &["fsck", "-v"]);
    assert!(
        out.contains(&format!("device 1: uuid {u} size 33554432")),
        "{out}"
    );
    // Device 0 is nearly full: a new file lands on device 1.
    ok(&img, &["creat", "-s", "52m", "fill"]);
    ok(&img, &["creat", "-s", "8m", "on1"]);
    assert!(ok(&img, &["getmap", "on1"]).contains("devindex: 1"));
    let out = ok(&img, &["fsck"]);
    assert!(out.contains("fsck: clean"));
    // The summary counts every device, in both the allocation and the size, then
    // each device on its own.
    assert!(
        out.contains("62914560 of 100663296 allocated (all 2 devices)\n"),
        "{out}"
    );
    assert!(
        out.contains("fsck: device 0: 54525952 of 67108864 allocated\n"),
        "{out}"
    );
    assert!(
        out.contains("fsck: device 1: 8388608 of 33554432 allocated\n"),
        "{out}"
    );
    let out = ok(&img, &["fsck", "-h"]);
    assert!(
        out.contains("60.0 MiB of 96.0 MiB allocated (all 2 devices)"),
        "{out}"
    );
    let e = fails(&img, &["creat", "-s", "8m", "-r", "-S", "1", "on2"]);
    assert!(
        e.contains("is on device 1; reach it through a mount"),
        "{e}"
    );
}

/// famfs on `dev` run with umask `mask`.
fn ok_umask(dev: &Path, mask: &str, args: &[&str]) -> String {
    let mut c = Command::new("sh");
    c.env("FAMFS_DEVICE", dev)
        .env("FAMFS_SYSTEM_UUID_FILE", uuid_file(dev))
        .arg("-c")
        .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_famfs"))
        .args(args);
    let r = output(c);
    assert_eq!(r.code, 0, "umask {mask}; famfs {args:?}: {}", r.err);
    r.out
}

#[test]
fn modes_follow_famfs() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempdir();
    let img = formatted(d.path(), 64 * MB);
    // creat: -m (default 0644) ANDed with ~umask.
    ok_umask(&img, "022", &["creat", "-s", "1", "-m", "0664", "c664"]);
    ok_umask(&img, "022", &["creat", "-s", "1", "-m", "0777", "c777"]);
    ok_umask(&img, "077", &["creat", "-s", "1", "cdefault"]);
    // mkdir: 0755 by default, -m as given; the umask is not applied.
    ok_umask(&img, "077", &["mkdir", "d"]);
    ok_umask(&img, "022", &["mkdir", "-m", "0777", "d777"]);
    ok_umask(&img, "077", &["mkdir", "-p", "-m", "0775", "p/q"]);
    // cp: -m ANDed with ~umask; without -m (or if nothing is left) the source's
    // permission bits (& 0777), not masked.
    let src = d.path().join("src");
    std::fs::write(&src, b"x").unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o4757)).unwrap();
    let s = src.to_str().unwrap();
    ok_umask(&img, "022", &["cp", "-m", "0666", s, "cp666"]);
    ok_umask(&img, "077", &["cp", s, "cpsrc"]);
    ok_umask(&img, "022", &["cp", "-m", "0022", s, "cpzero"]);
    // cp -r: directories get their source's bits (& 0777), unmasked.
    let tree = d.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("f"), b"y").unwrap();
    std::fs::set_permissions(tree.join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(&tree, std::fs::Permissions::from_mode(0o770)).unwrap();
    ok_umask(&img, "027", &["cp", "-r", tree.to_str().unwrap(), "t"]);
    let out = ok(&img, &["logplay", "-n"]);
    // "file MODE UID:GID SIZE PATH ..." / "dir MODE UID:GID - PATH"
    let mode_of = |path: &str| {
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.len() > 4 && w[4] == path)
            .map(|w| format!("{} {}", w[0], w[1]))
            .unwrap_or_else(|| panic!("{path} missing: {out}"))
    };
    for (path, want) in [
        ("c664", "file 0644"),
        ("c777", "file 0755"),
        ("cdefault", "file 0600"),
        ("d", "dir 0755"),
        ("d777", "dir 0777"),
        ("p", "dir 0775"),
        ("p/q", "dir 0775"),
        ("cp666", "file 0644"),
        ("cpsrc", "file 0757"),
        ("cpzero", "file 0757"),
        ("t", "dir 0770"),
        ("t/f", "file 0640"),
    ] {
        assert_eq!(mode_of(path), want, "{path}");
    }
}

#[test]
fn striping_follows_famfs_rules() {
    // famfs's rules (famfs_validate_interleave_param): a chunk that is a multiple of the
    // allocation unit, -B given, buckets (primary device size / -B) of at least 1 GiB,
    // at most 64 buckets. A sparse 4 GiB image takes -B up to 4.
    let d = tempdir();
    let img = formatted(d.path(), 4096 * MB);
    let e = fails(
        &img,
        &["creat", "-s", "8m", "-N", "2", "-B", "4", "-C", "1m", "f"],
    );
    assert_eq!(
        e,
        "famfs: creat: chunk size 0x100000 must be a multiple of the allocation unit 0x200000 \
         (famfs: chunk_size=0x100000 must be a multiple of alloc_unit; --allow-small-stripes \
         lifts this)"
    );
    let e = fails(&img, &["creat", "-s", "8m", "-N", "2", "f"]);
    assert!(e.contains("-N 2) needs -B NBUCKETS"), "{e}");
    assert!(e.contains("(famfs: Bucket_size (0) < 1G;"), "{e}");
    let e = fails(&img, &["creat", "-s", "8m", "-N", "2", "-B", "8", "f"]);
    assert_eq!(
        e,
        "famfs: creat: -B 8: buckets of 536870912 bytes (device 4294967296 / 8) are smaller \
         than 1 GiB (famfs: Bucket_size (536870912) < 1G; --allow-small-stripes lifts this)"
    );
    let e = fails(&img, &["creat", "-s", "8m", "-N", "2", "-B", "65", "f"]);
    assert!(e.contains("at most 64 buckets"), "{e}");
    // cp follows the same rules.
    let src = d.path().join("src");
    std::fs::write(&src, vec![7u8; 3 << 20]).unwrap();
    let s = src.to_str().unwrap();
    let e = fails(&img, &["cp", "-N", "2", "-C", "4k", s, "c"]);
    assert!(
        e.starts_with("famfs: cp: chunk size 0x1000 must be a multiple"),
        "{e}"
    );
    let e = fails(&img, &["cp", "-N", "2", s, "c"]);
    assert!(e.contains("Bucket_size (0) < 1G"), "{e}");
    // What famfs accepts, we accept.
    ok(
        &img,
        &[
            "creat", "-s", "8m", "-N", "2", "-B", "4", "-C", "4m", "-r", "-S", "5", "f",
        ],
    );
    ok(&img, &["verify", "-S", "5", "f"]);
    ok(&img, &["cp", "-N", "4", "-B", "4", s, "c"]);
    // The extension keeps small stripes available (tests: 4 KiB chunks, small devices).
    ok(
        &img,
        &[
            "creat",
            "-s",
            "1m",
            "-N",
            "2",
            "-C",
            "4k",
            "--allow-small-stripes",
            "g",
        ],
    );
    ok(
        &img,
        &["cp", "-N", "2", "-B", "8", "--allow-small-stripes", s, "h"],
    );
    assert!(ok(&img, &["getmap", "g"]).contains("chunk_size: 0x1000"));
    // Without -N the extension has nothing to apply to.
    let r = famfs(&img, &["creat", "-s", "1m", "--allow-small-stripes", "k"]);
    assert_ne!(r.code, 0);
    assert!(ok(&img, &["fsck"]).contains("fsck: clean"));
}
