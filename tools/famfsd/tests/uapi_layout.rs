// SPDX-License-Identifier: GPL-2.0
//! Checks the fmap blob layout of this crate against the C uapi header
//! `include/uapi/linux/famfs_fmap.h` by compiling a small C program (needs `cc`, or `$CC`).

use famfs_media::fmap::*;
use famfs_media::layout::{EXT_TYPE_INTERLEAVED, EXT_TYPE_SIMPLE};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

const PROBE: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <linux/famfs_fmap.h>
#define P(name, v) printf("%s %llu\n", name, (unsigned long long)(v))
int main(void)
{
	P("hdr.size", sizeof(struct famfs_fmap_header));
	P("hdr.file_type", offsetof(struct famfs_fmap_header, file_type));
	P("hdr.fmap_version", offsetof(struct famfs_fmap_header, fmap_version));
	P("hdr.ext_type", offsetof(struct famfs_fmap_header, ext_type));
	P("hdr.nextents", offsetof(struct famfs_fmap_header, nextents));
	P("hdr.fmap_size", offsetof(struct famfs_fmap_header, fmap_size));
	P("hdr.file_size", offsetof(struct famfs_fmap_header, file_size));
	P("se.size", sizeof(struct famfs_fmap_simple_ext));
	P("se.devindex", offsetof(struct famfs_fmap_simple_ext, se_devindex));
	P("se.offset", offsetof(struct famfs_fmap_simple_ext, se_offset));
	P("se.len", offsetof(struct famfs_fmap_simple_ext, se_len));
	P("ie.size", sizeof(struct famfs_fmap_iext));
	P("ie.nstrips", offsetof(struct famfs_fmap_iext, ie_nstrips));
	P("ie.chunk_size", offsetof(struct famfs_fmap_iext, ie_chunk_size));
	P("ie.nbytes", offsetof(struct famfs_fmap_iext, ie_nbytes));
	P("version", FAMFS_FMAP_VERSION);
	P("reg", FAMFS_FMAP_REG);
	P("sb", FAMFS_FMAP_SUPERBLOCK);
	P("log", FAMFS_FMAP_LOG);
	P("simple", FAMFS_FMAP_EXT_SIMPLE);
	P("interleave", FAMFS_FMAP_EXT_INTERLEAVE);
	P("max_size", FAMFS_FMAP_MAX_SIZE);
	return 0;
}
"#;

#[test]
fn blob_layout_matches_uapi_header() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let uapi = root.join("include/uapi");
    assert!(
        uapi.join("linux/famfs_fmap.h").is_file(),
        "include/uapi/linux/famfs_fmap.h is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("probe.c");
    let exe = dir.path().join("probe");
    std::fs::write(&src, PROBE).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = Command::new(&cc)
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(&uapi)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(st.success(), "compiling the probe failed");
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    let v: HashMap<String, u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, n) = l.split_once(' ').unwrap();
            (k.to_string(), n.parse().unwrap())
        })
        .collect();
    let expect: &[(&str, u64)] = &[
        ("hdr.size", FMAP_HEADER_SIZE as u64),
        ("hdr.file_type", FMAP_OFF_FILE_TYPE as u64),
        ("hdr.fmap_version", FMAP_OFF_VERSION as u64),
        ("hdr.ext_type", FMAP_OFF_EXT_TYPE as u64),
        ("hdr.nextents", FMAP_OFF_NEXTENTS as u64),
        ("hdr.fmap_size", FMAP_OFF_SIZE as u64),
        ("hdr.file_size", FMAP_OFF_FILE_SIZE as u64),
        ("se.size", FMAP_SIMPLE_EXT_SIZE as u64),
        ("se.devindex", 0),
        ("se.offset", FMAP_SE_OFF_OFFSET as u64),
        ("se.len", FMAP_SE_OFF_LEN as u64),
        ("ie.size", FMAP_IEXT_SIZE as u64),
        ("ie.nstrips", 0),
        ("ie.chunk_size", FMAP_IE_OFF_CHUNK as u64),
        ("ie.nbytes", FMAP_IE_OFF_NBYTES as u64),
        ("version", u64::from(FMAP_VERSION)),
        ("reg", FileType::Regular as u64),
        ("sb", FileType::Superblock as u64),
        ("log", FileType::Log as u64),
        ("simple", u64::from(EXT_TYPE_SIMPLE)),
        ("interleave", u64::from(EXT_TYPE_INTERLEAVED)),
    ];
    for (k, want) in expect {
        assert_eq!(v.get(*k), Some(want), "{k}");
    }
    assert_eq!(v.len(), expect.len() + 1);
    // Blobs this crate produces stay far below the kernel's limit.
    assert!(v["max_size"] >= 16 << 20);
}
