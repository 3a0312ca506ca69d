// SPDX-License-Identifier: GPL-2.0

//! Checks the Rust layout constants against `include/uapi/linux/famfs_fmap.h` as a C compiler
//! sees it, so the header and the parser cannot drift apart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a test failure"
)]

use famfs_fmap::fmap;
use std::{collections::BTreeMap, path::Path, process::Command};

/// A C program printing `name value` for every size, offset and constant of the header.
const PROGRAM: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <linux/famfs_fmap.h>

#define P(name, v) printf("%s %llu\n", name, (unsigned long long)(v))
#define S(t) P(#t, sizeof(struct t))
#define O(t, f) P(#t "." #f, offsetof(struct t, f)); \
	P(#t "." #f ".size", sizeof(((struct t *)0)->f))

int main(void)
{
	S(famfs_fmap_header);
	O(famfs_fmap_header, file_type);
	O(famfs_fmap_header, reserved);
	O(famfs_fmap_header, fmap_version);
	O(famfs_fmap_header, ext_type);
	O(famfs_fmap_header, nextents);
	O(famfs_fmap_header, fmap_size);
	O(famfs_fmap_header, file_size);
	O(famfs_fmap_header, reserved1);
	S(famfs_fmap_simple_ext);
	O(famfs_fmap_simple_ext, se_devindex);
	O(famfs_fmap_simple_ext, reserved);
	O(famfs_fmap_simple_ext, se_offset);
	O(famfs_fmap_simple_ext, se_len);
	S(famfs_fmap_iext);
	O(famfs_fmap_iext, ie_nstrips);
	O(famfs_fmap_iext, ie_chunk_size);
	O(famfs_fmap_iext, ie_nbytes);
	O(famfs_fmap_iext, reserved);
	P("FAMFS_FMAP_VERSION", FAMFS_FMAP_VERSION);
	P("FAMFS_FMAP_MAX_SIZE", FAMFS_FMAP_MAX_SIZE);
	P("FAMFS_FMAP_ALIGN", FAMFS_FMAP_ALIGN);
	P("FAMFS_FMAP_PMD_ALIGN", FAMFS_FMAP_PMD_ALIGN);
	P("FAMFS_FMAP_MAX_FILE_SIZE", FAMFS_FMAP_MAX_FILE_SIZE);
	P("FAMFS_FMAP_REG", FAMFS_FMAP_REG);
	P("FAMFS_FMAP_SUPERBLOCK", FAMFS_FMAP_SUPERBLOCK);
	P("FAMFS_FMAP_LOG", FAMFS_FMAP_LOG);
	P("FAMFS_FMAP_EXT_SIMPLE", FAMFS_FMAP_EXT_SIMPLE);
	P("FAMFS_FMAP_EXT_INTERLEAVE", FAMFS_FMAP_EXT_INTERLEAVE);
	return 0;
}
"#;

/// Compiles and runs [`PROGRAM`], returning its `name value` lines.
fn c_layout() -> BTreeMap<String, u64> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join("famfs_fmap_layout.c");
    let exe = dir.join("famfs_fmap_layout");
    std::fs::write(&src, PROGRAM).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror", "-I"])
        .arg(root.join("include/uapi"))
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(status.success(), "{cc} failed to build the layout program");
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn rust_constants_match_the_uapi_header() {
    let c = c_layout();
    let want: &[(&str, u64)] = &[
        ("famfs_fmap_header", fmap::HEADER_SIZE as u64),
        ("famfs_fmap_header.file_type", fmap::HDR_FILE_TYPE as u64),
        ("famfs_fmap_header.file_type.size", 1),
        ("famfs_fmap_header.reserved", fmap::HDR_RESERVED as u64),
        ("famfs_fmap_header.reserved.size", 1),
        ("famfs_fmap_header.fmap_version", fmap::HDR_VERSION as u64),
        ("famfs_fmap_header.fmap_version.size", 2),
        ("famfs_fmap_header.ext_type", fmap::HDR_EXT_TYPE as u64),
        ("famfs_fmap_header.ext_type.size", 4),
        ("famfs_fmap_header.nextents", fmap::HDR_NEXTENTS as u64),
        ("famfs_fmap_header.nextents.size", 4),
        ("famfs_fmap_header.fmap_size", fmap::HDR_FMAP_SIZE as u64),
        ("famfs_fmap_header.fmap_size.size", 4),
        ("famfs_fmap_header.file_size", fmap::HDR_FILE_SIZE as u64),
        ("famfs_fmap_header.file_size.size", 8),
        ("famfs_fmap_header.reserved1", fmap::HDR_RESERVED1 as u64),
        ("famfs_fmap_header.reserved1.size", 8),
        ("famfs_fmap_simple_ext", fmap::SIMPLE_EXT_SIZE as u64),
        (
            "famfs_fmap_simple_ext.se_devindex",
            fmap::SE_DEVINDEX as u64,
        ),
        ("famfs_fmap_simple_ext.se_devindex.size", 4),
        ("famfs_fmap_simple_ext.reserved", fmap::SE_RESERVED as u64),
        ("famfs_fmap_simple_ext.reserved.size", 4),
        ("famfs_fmap_simple_ext.se_offset", fmap::SE_OFFSET as u64),
        ("famfs_fmap_simple_ext.se_offset.size", 8),
        ("famfs_fmap_simple_ext.se_len", fmap::SE_LEN as u64),
        ("famfs_fmap_simple_ext.se_len.size", 8),
        ("famfs_fmap_iext", fmap::IEXT_SIZE as u64),
        ("famfs_fmap_iext.ie_nstrips", fmap::IE_NSTRIPS as u64),
        ("famfs_fmap_iext.ie_nstrips.size", 4),
        ("famfs_fmap_iext.ie_chunk_size", fmap::IE_CHUNK_SIZE as u64),
        ("famfs_fmap_iext.ie_chunk_size.size", 4),
        ("famfs_fmap_iext.ie_nbytes", fmap::IE_NBYTES as u64),
        ("famfs_fmap_iext.ie_nbytes.size", 8),
        ("famfs_fmap_iext.reserved", fmap::IE_RESERVED as u64),
        ("famfs_fmap_iext.reserved.size", 8),
        ("FAMFS_FMAP_VERSION", u64::from(fmap::VERSION)),
        ("FAMFS_FMAP_MAX_SIZE", fmap::MAX_SIZE as u64),
        ("FAMFS_FMAP_ALIGN", fmap::ALIGN),
        ("FAMFS_FMAP_PMD_ALIGN", fmap::PMD_ALIGN),
        ("FAMFS_FMAP_MAX_FILE_SIZE", fmap::MAX_FILE_SIZE),
        ("FAMFS_FMAP_REG", 0),
        ("FAMFS_FMAP_SUPERBLOCK", 1),
        ("FAMFS_FMAP_LOG", 2),
        (
            "FAMFS_FMAP_EXT_SIMPLE",
            u64::from(famfs_fmap::fmap_cases::EXT_SIMPLE),
        ),
        (
            "FAMFS_FMAP_EXT_INTERLEAVE",
            u64::from(famfs_fmap::fmap_cases::EXT_INTERLEAVE),
        ),
    ];
    for (name, v) in want {
        assert_eq!(c.get(*name), Some(v), "{name}");
    }
    assert_eq!(
        c.len(),
        want.len(),
        "the C program prints names this test does not check"
    );
}

#[test]
fn file_types_decode_as_the_header_numbers_them() {
    use famfs_fmap::fmap_cases::{Writer, EXT_SIMPLE};
    use fmap::FileType;
    for (raw, want) in [
        (0u8, FileType::Regular),
        (1, FileType::Superblock),
        (2, FileType::Log),
    ] {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.header(raw, EXT_SIMPLE, 1, 4096).simple(0, 0, 4096);
        let len = w.finish().unwrap();
        let f = famfs_fmap::Fmap::parse(&buf[..len], &[4096]).unwrap();
        assert_eq!(f.file_type(), want);
    }
}
