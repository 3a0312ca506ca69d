// SPDX-License-Identifier: GPL-2.0
//! Checks every FUSE structure, opcode and flag famfsd declares (`famfs_media::fuse::abi`)
//! against the kernel's installed uapi header `linux/fuse.h` by compiling a C probe
//! (needs `cc` or `$CC`). Headers: `$FUSE_UAPI_INCLUDE`, else `$KDIR/usr/include`, else the
//! kernel build in the project cache (`~/.cache/famfs-iomap/kernel/base/build/usr/include`).

#![allow(non_camel_case_types)]

use famfs_media::fuse::abi::*;
use rustix::ioctl::opcode;
use std::collections::HashMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

/// Widen a constant for comparison (some are u32, some u64).
fn w<T: Into<u64>>(v: T) -> u64 {
    v.into()
}

const PROBE: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/fuse.h>
#define P(name, v) printf("%s %llu\n", name, (unsigned long long)(v))
int main(void)
{
	P("fuse_in_header", sizeof(struct fuse_in_header));
	P("fuse_in_header.len", offsetof(struct fuse_in_header, len));
	P("fuse_in_header.opcode", offsetof(struct fuse_in_header, opcode));
	P("fuse_in_header.unique", offsetof(struct fuse_in_header, unique));
	P("fuse_in_header.nodeid", offsetof(struct fuse_in_header, nodeid));
	P("fuse_in_header.uid", offsetof(struct fuse_in_header, uid));
	P("fuse_in_header.gid", offsetof(struct fuse_in_header, gid));
	P("fuse_in_header.pid", offsetof(struct fuse_in_header, pid));
	P("fuse_in_header.total_extlen", offsetof(struct fuse_in_header, total_extlen));
	P("fuse_in_header.padding", offsetof(struct fuse_in_header, padding));
	P("fuse_out_header", sizeof(struct fuse_out_header));
	P("fuse_out_header.len", offsetof(struct fuse_out_header, len));
	P("fuse_out_header.error", offsetof(struct fuse_out_header, error));
	P("fuse_out_header.unique", offsetof(struct fuse_out_header, unique));
	P("fuse_attr", sizeof(struct fuse_attr));
	P("fuse_attr.ino", offsetof(struct fuse_attr, ino));
	P("fuse_attr.size", offsetof(struct fuse_attr, size));
	P("fuse_attr.blocks", offsetof(struct fuse_attr, blocks));
	P("fuse_attr.atime", offsetof(struct fuse_attr, atime));
	P("fuse_attr.mtime", offsetof(struct fuse_attr, mtime));
	P("fuse_attr.ctime", offsetof(struct fuse_attr, ctime));
	P("fuse_attr.atimensec", offsetof(struct fuse_attr, atimensec));
	P("fuse_attr.mtimensec", offsetof(struct fuse_attr, mtimensec));
	P("fuse_attr.ctimensec", offsetof(struct fuse_attr, ctimensec));
	P("fuse_attr.mode", offsetof(struct fuse_attr, mode));
	P("fuse_attr.nlink", offsetof(struct fuse_attr, nlink));
	P("fuse_attr.uid", offsetof(struct fuse_attr, uid));
	P("fuse_attr.gid", offsetof(struct fuse_attr, gid));
	P("fuse_attr.rdev", offsetof(struct fuse_attr, rdev));
	P("fuse_attr.blksize", offsetof(struct fuse_attr, blksize));
	P("fuse_attr.flags", offsetof(struct fuse_attr, flags));
	P("fuse_entry_out", sizeof(struct fuse_entry_out));
	P("fuse_entry_out.nodeid", offsetof(struct fuse_entry_out, nodeid));
	P("fuse_entry_out.generation", offsetof(struct fuse_entry_out, generation));
	P("fuse_entry_out.entry_valid", offsetof(struct fuse_entry_out, entry_valid));
	P("fuse_entry_out.attr_valid", offsetof(struct fuse_entry_out, attr_valid));
	P("fuse_entry_out.entry_valid_nsec", offsetof(struct fuse_entry_out, entry_valid_nsec));
	P("fuse_entry_out.attr_valid_nsec", offsetof(struct fuse_entry_out, attr_valid_nsec));
	P("fuse_entry_out.attr", offsetof(struct fuse_entry_out, attr));
	P("fuse_attr_out", sizeof(struct fuse_attr_out));
	P("fuse_attr_out.attr_valid", offsetof(struct fuse_attr_out, attr_valid));
	P("fuse_attr_out.attr_valid_nsec", offsetof(struct fuse_attr_out, attr_valid_nsec));
	P("fuse_attr_out.dummy", offsetof(struct fuse_attr_out, dummy));
	P("fuse_attr_out.attr", offsetof(struct fuse_attr_out, attr));
	P("fuse_setattr_in", sizeof(struct fuse_setattr_in));
	P("fuse_setattr_in.valid", offsetof(struct fuse_setattr_in, valid));
	P("fuse_setattr_in.padding", offsetof(struct fuse_setattr_in, padding));
	P("fuse_setattr_in.fh", offsetof(struct fuse_setattr_in, fh));
	P("fuse_setattr_in.size", offsetof(struct fuse_setattr_in, size));
	P("fuse_setattr_in.lock_owner", offsetof(struct fuse_setattr_in, lock_owner));
	P("fuse_setattr_in.atime", offsetof(struct fuse_setattr_in, atime));
	P("fuse_setattr_in.mtime", offsetof(struct fuse_setattr_in, mtime));
	P("fuse_setattr_in.ctime", offsetof(struct fuse_setattr_in, ctime));
	P("fuse_setattr_in.atimensec", offsetof(struct fuse_setattr_in, atimensec));
	P("fuse_setattr_in.mtimensec", offsetof(struct fuse_setattr_in, mtimensec));
	P("fuse_setattr_in.ctimensec", offsetof(struct fuse_setattr_in, ctimensec));
	P("fuse_setattr_in.mode", offsetof(struct fuse_setattr_in, mode));
	P("fuse_setattr_in.unused4", offsetof(struct fuse_setattr_in, unused4));
	P("fuse_setattr_in.uid", offsetof(struct fuse_setattr_in, uid));
	P("fuse_setattr_in.gid", offsetof(struct fuse_setattr_in, gid));
	P("fuse_setattr_in.unused5", offsetof(struct fuse_setattr_in, unused5));
	P("fuse_open_in", sizeof(struct fuse_open_in));
	P("fuse_open_in.flags", offsetof(struct fuse_open_in, flags));
	P("fuse_open_in.open_flags", offsetof(struct fuse_open_in, open_flags));
	P("fuse_open_out", sizeof(struct fuse_open_out));
	P("fuse_open_out.fh", offsetof(struct fuse_open_out, fh));
	P("fuse_open_out.open_flags", offsetof(struct fuse_open_out, open_flags));
	P("fuse_open_out.backing_id", offsetof(struct fuse_open_out, backing_id));
	P("fuse_release_in", sizeof(struct fuse_release_in));
	P("fuse_release_in.fh", offsetof(struct fuse_release_in, fh));
	P("fuse_release_in.flags", offsetof(struct fuse_release_in, flags));
	P("fuse_release_in.release_flags", offsetof(struct fuse_release_in, release_flags));
	P("fuse_release_in.lock_owner", offsetof(struct fuse_release_in, lock_owner));
	P("fuse_read_in", sizeof(struct fuse_read_in));
	P("fuse_read_in.fh", offsetof(struct fuse_read_in, fh));
	P("fuse_read_in.offset", offsetof(struct fuse_read_in, offset));
	P("fuse_read_in.size", offsetof(struct fuse_read_in, size));
	P("fuse_read_in.read_flags", offsetof(struct fuse_read_in, read_flags));
	P("fuse_read_in.lock_owner", offsetof(struct fuse_read_in, lock_owner));
	P("fuse_read_in.flags", offsetof(struct fuse_read_in, flags));
	P("fuse_read_in.padding", offsetof(struct fuse_read_in, padding));
	P("fuse_init_in", sizeof(struct fuse_init_in));
	P("fuse_init_in.major", offsetof(struct fuse_init_in, major));
	P("fuse_init_in.minor", offsetof(struct fuse_init_in, minor));
	P("fuse_init_in.max_readahead", offsetof(struct fuse_init_in, max_readahead));
	P("fuse_init_in.flags", offsetof(struct fuse_init_in, flags));
	P("fuse_init_in.flags2", offsetof(struct fuse_init_in, flags2));
	P("fuse_init_in.unused", offsetof(struct fuse_init_in, unused));
	P("fuse_init_out", sizeof(struct fuse_init_out));
	P("fuse_init_out.major", offsetof(struct fuse_init_out, major));
	P("fuse_init_out.minor", offsetof(struct fuse_init_out, minor));
	P("fuse_init_out.max_readahead", offsetof(struct fuse_init_out, max_readahead));
	P("fuse_init_out.flags", offsetof(struct fuse_init_out, flags));
	P("fuse_init_out.max_background", offsetof(struct fuse_init_out, max_background));
	P("fuse_init_out.congestion_threshold", offsetof(struct fuse_init_out, congestion_threshold));
	P("fuse_init_out.max_write", offsetof(struct fuse_init_out, max_write));
	P("fuse_init_out.time_gran", offsetof(struct fuse_init_out, time_gran));
	P("fuse_init_out.max_pages", offsetof(struct fuse_init_out, max_pages));
	P("fuse_init_out.map_alignment", offsetof(struct fuse_init_out, map_alignment));
	P("fuse_init_out.flags2", offsetof(struct fuse_init_out, flags2));
	P("fuse_init_out.max_stack_depth", offsetof(struct fuse_init_out, max_stack_depth));
	P("fuse_init_out.request_timeout", offsetof(struct fuse_init_out, request_timeout));
	P("fuse_init_out.unused", offsetof(struct fuse_init_out, unused));
	P("fuse_kstatfs", sizeof(struct fuse_kstatfs));
	P("fuse_kstatfs.blocks", offsetof(struct fuse_kstatfs, blocks));
	P("fuse_kstatfs.bfree", offsetof(struct fuse_kstatfs, bfree));
	P("fuse_kstatfs.bavail", offsetof(struct fuse_kstatfs, bavail));
	P("fuse_kstatfs.files", offsetof(struct fuse_kstatfs, files));
	P("fuse_kstatfs.ffree", offsetof(struct fuse_kstatfs, ffree));
	P("fuse_kstatfs.bsize", offsetof(struct fuse_kstatfs, bsize));
	P("fuse_kstatfs.namelen", offsetof(struct fuse_kstatfs, namelen));
	P("fuse_kstatfs.frsize", offsetof(struct fuse_kstatfs, frsize));
	P("fuse_kstatfs.padding", offsetof(struct fuse_kstatfs, padding));
	P("fuse_kstatfs.spare", offsetof(struct fuse_kstatfs, spare));
	P("fuse_statfs_out", sizeof(struct fuse_statfs_out));
	P("fuse_statfs_out.st", offsetof(struct fuse_statfs_out, st));
	P("fuse_dirent", sizeof(struct fuse_dirent));
	P("fuse_dirent.ino", offsetof(struct fuse_dirent, ino));
	P("fuse_dirent.off", offsetof(struct fuse_dirent, off));
	P("fuse_dirent.namelen", offsetof(struct fuse_dirent, namelen));
	P("fuse_dirent.type", offsetof(struct fuse_dirent, type));
	P("fuse_forget_in", sizeof(struct fuse_forget_in));
	P("fuse_forget_in.nlookup", offsetof(struct fuse_forget_in, nlookup));
	P("fuse_batch_forget_in", sizeof(struct fuse_batch_forget_in));
	P("fuse_batch_forget_in.count", offsetof(struct fuse_batch_forget_in, count));
	P("fuse_batch_forget_in.dummy", offsetof(struct fuse_batch_forget_in, dummy));
	P("fuse_backing_map", sizeof(struct fuse_backing_map));
	P("fuse_backing_map.fd", offsetof(struct fuse_backing_map, fd));
	P("fuse_backing_map.flags", offsetof(struct fuse_backing_map, flags));
	P("fuse_backing_map.padding", offsetof(struct fuse_backing_map, padding));
	P("fuse_iomap_dax_config_out", sizeof(struct fuse_iomap_dax_config_out));
	P("fuse_iomap_dax_config_out.provider", offsetof(struct fuse_iomap_dax_config_out, provider));
	P("fuse_iomap_dax_config_out.ndevices", offsetof(struct fuse_iomap_dax_config_out, ndevices));
	P("fuse_iomap_dax_config_out.padding", offsetof(struct fuse_iomap_dax_config_out, padding));
	P("fuse_iomap_dax_config_out.backing_ids", offsetof(struct fuse_iomap_dax_config_out, backing_ids));
	P("fuse_iomap_dax_getmap_in", sizeof(struct fuse_iomap_dax_getmap_in));
	P("fuse_iomap_dax_getmap_in.fh", offsetof(struct fuse_iomap_dax_getmap_in, fh));
	P("fuse_iomap_dax_getmap_in.size", offsetof(struct fuse_iomap_dax_getmap_in, size));
	P("fuse_iomap_dax_getmap_in.padding", offsetof(struct fuse_iomap_dax_getmap_in, padding));
	P("fuse_iomap_dax_getmap_out", sizeof(struct fuse_iomap_dax_getmap_out));
	P("fuse_iomap_dax_getmap_out.size", offsetof(struct fuse_iomap_dax_getmap_out, size));
	P("fuse_iomap_dax_getmap_out.padding", offsetof(struct fuse_iomap_dax_getmap_out, padding));
	P("FUSE_KERNEL_VERSION", FUSE_KERNEL_VERSION);
	P("FUSE_KERNEL_MINOR_VERSION", FUSE_KERNEL_MINOR_VERSION);
	P("FUSE_LOOKUP", FUSE_LOOKUP);
	P("FUSE_FORGET", FUSE_FORGET);
	P("FUSE_GETATTR", FUSE_GETATTR);
	P("FUSE_SETATTR", FUSE_SETATTR);
	P("FUSE_READLINK", FUSE_READLINK);
	P("FUSE_SYMLINK", FUSE_SYMLINK);
	P("FUSE_MKNOD", FUSE_MKNOD);
	P("FUSE_MKDIR", FUSE_MKDIR);
	P("FUSE_UNLINK", FUSE_UNLINK);
	P("FUSE_RMDIR", FUSE_RMDIR);
	P("FUSE_RENAME", FUSE_RENAME);
	P("FUSE_LINK", FUSE_LINK);
	P("FUSE_OPEN", FUSE_OPEN);
	P("FUSE_READ", FUSE_READ);
	P("FUSE_WRITE", FUSE_WRITE);
	P("FUSE_STATFS", FUSE_STATFS);
	P("FUSE_RELEASE", FUSE_RELEASE);
	P("FUSE_FSYNC", FUSE_FSYNC);
	P("FUSE_SETXATTR", FUSE_SETXATTR);
	P("FUSE_GETXATTR", FUSE_GETXATTR);
	P("FUSE_LISTXATTR", FUSE_LISTXATTR);
	P("FUSE_REMOVEXATTR", FUSE_REMOVEXATTR);
	P("FUSE_FLUSH", FUSE_FLUSH);
	P("FUSE_INIT", FUSE_INIT);
	P("FUSE_OPENDIR", FUSE_OPENDIR);
	P("FUSE_READDIR", FUSE_READDIR);
	P("FUSE_RELEASEDIR", FUSE_RELEASEDIR);
	P("FUSE_FSYNCDIR", FUSE_FSYNCDIR);
	P("FUSE_ACCESS", FUSE_ACCESS);
	P("FUSE_CREATE", FUSE_CREATE);
	P("FUSE_INTERRUPT", FUSE_INTERRUPT);
	P("FUSE_DESTROY", FUSE_DESTROY);
	P("FUSE_NOTIFY_REPLY", FUSE_NOTIFY_REPLY);
	P("FUSE_BATCH_FORGET", FUSE_BATCH_FORGET);
	P("FUSE_FALLOCATE", FUSE_FALLOCATE);
	P("FUSE_READDIRPLUS", FUSE_READDIRPLUS);
	P("FUSE_RENAME2", FUSE_RENAME2);
	P("FUSE_TMPFILE", FUSE_TMPFILE);
	P("FUSE_IOMAP_DAX_CONFIG", FUSE_IOMAP_DAX_CONFIG);
	P("FUSE_IOMAP_DAX_GETMAP", FUSE_IOMAP_DAX_GETMAP);
	P("FUSE_ASYNC_READ", FUSE_ASYNC_READ);
	P("FUSE_PARALLEL_DIROPS", FUSE_PARALLEL_DIROPS);
	P("FUSE_MAX_PAGES", FUSE_MAX_PAGES);
	P("FUSE_INIT_EXT", FUSE_INIT_EXT);
	P("FUSE_IOMAP_DAX", FUSE_IOMAP_DAX);
	P("FOPEN_IOMAP_DAX", FOPEN_IOMAP_DAX);
	P("FUSE_ATTR_IOMAP_DAX", FUSE_ATTR_IOMAP_DAX);
	P("FATTR_MODE", FATTR_MODE);
	P("FATTR_UID", FATTR_UID);
	P("FATTR_GID", FATTR_GID);
	P("FATTR_SIZE", FATTR_SIZE);
	P("FATTR_ATIME", FATTR_ATIME);
	P("FATTR_MTIME", FATTR_MTIME);
	P("FATTR_FH", FATTR_FH);
	P("FATTR_ATIME_NOW", FATTR_ATIME_NOW);
	P("FATTR_MTIME_NOW", FATTR_MTIME_NOW);
	P("FATTR_LOCKOWNER", FATTR_LOCKOWNER);
	P("FATTR_CTIME", FATTR_CTIME);
	P("FATTR_KILL_SUIDGID", FATTR_KILL_SUIDGID);
	P("FUSE_BACKING_TYPE_DAX", FUSE_BACKING_TYPE_DAX);
	P("FUSE_IOMAP_DAX_PROVIDER_MAX", FUSE_IOMAP_DAX_PROVIDER_MAX);
	P("FUSE_IOMAP_DAX_MAX_DEVICES", FUSE_IOMAP_DAX_MAX_DEVICES);
	P("FUSE_IOMAP_DAX_MAP_MAX", FUSE_IOMAP_DAX_MAP_MAX);
	P("FUSE_DEV_IOC_BACKING_OPEN", FUSE_DEV_IOC_BACKING_OPEN);
	P("FUSE_DEV_IOC_BACKING_CLOSE", FUSE_DEV_IOC_BACKING_CLOSE);
	P("FUSE_DEV_IOC_SYNC_INIT", FUSE_DEV_IOC_SYNC_INIT);
	return 0;
}
"#;

fn headers() -> PathBuf {
    if let Some(p) = std::env::var_os("FUSE_UAPI_INCLUDE") {
        return PathBuf::from(p);
    }
    if let Some(k) = std::env::var_os("KDIR") {
        return PathBuf::from(k).join("usr/include");
    }
    let cache = std::env::var_os("FAMFS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/famfs-iomap")
        });
    cache.join("kernel/base/build/usr/include")
}

fn probe() -> HashMap<String, u64> {
    let inc = headers();
    let h = inc.join("linux/fuse.h");
    assert!(
        h.is_file(),
        "{} missing: build the kernel (make kernel) or set FUSE_UAPI_INCLUDE",
        h.display()
    );
    let text = std::fs::read_to_string(&h).unwrap();
    assert!(
        text.contains("FUSE_IOMAP_DAX_GETMAP"),
        "{} lacks the iomap-DAX series",
        h.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("probe.c");
    let exe = dir.path().join("probe");
    std::fs::write(&src, PROBE).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = Command::new(&cc)
        .args(["-Wall", "-Werror", "-I"])
        .arg(&inc)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(st.success(), "compiling the probe failed");
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, n) = l.split_once(' ').unwrap();
            (k.to_string(), n.parse().unwrap())
        })
        .collect()
}

#[test]
fn fuse_abi_matches_kernel_headers() {
    let c = probe();
    let rust: &[(&str, u64)] = &[
        ("fuse_in_header", size_of::<fuse_in_header>() as u64),
        ("fuse_in_header.len", offset_of!(fuse_in_header, len) as u64),
        (
            "fuse_in_header.opcode",
            offset_of!(fuse_in_header, opcode) as u64,
        ),
        (
            "fuse_in_header.unique",
            offset_of!(fuse_in_header, unique) as u64,
        ),
        (
            "fuse_in_header.nodeid",
            offset_of!(fuse_in_header, nodeid) as u64,
        ),
        ("fuse_in_header.uid", offset_of!(fuse_in_header, uid) as u64),
        ("fuse_in_header.gid", offset_of!(fuse_in_header, gid) as u64),
        ("fuse_in_header.pid", offset_of!(fuse_in_header, pid) as u64),
        (
            "fuse_in_header.total_extlen",
            offset_of!(fuse_in_header, total_extlen) as u64,
        ),
        (
            "fuse_in_header.padding",
            offset_of!(fuse_in_header, padding) as u64,
        ),
        ("fuse_out_header", size_of::<fuse_out_header>() as u64),
        (
            "fuse_out_header.len",
            offset_of!(fuse_out_header, len) as u64,
        ),
        (
            "fuse_out_header.error",
            offset_of!(fuse_out_header, error) as u64,
        ),
        (
            "fuse_out_header.unique",
            offset_of!(fuse_out_header, unique) as u64,
        ),
        ("fuse_attr", size_of::<fuse_attr>() as u64),
        ("fuse_attr.ino", offset_of!(fuse_attr, ino) as u64),
        ("fuse_attr.size", offset_of!(fuse_attr, size) as u64),
        ("fuse_attr.blocks", offset_of!(fuse_attr, blocks) as u64),
        ("fuse_attr.atime", offset_of!(fuse_attr, atime) as u64),
        ("fuse_attr.mtime", offset_of!(fuse_attr, mtime) as u64),
        ("fuse_attr.ctime", offset_of!(fuse_attr, ctime) as u64),
        (
            "fuse_attr.atimensec",
            offset_of!(fuse_attr, atimensec) as u64,
        ),
        (
            "fuse_attr.mtimensec",
            offset_of!(fuse_attr, mtimensec) as u64,
        ),
        (
            "fuse_attr.ctimensec",
            offset_of!(fuse_attr, ctimensec) as u64,
        ),
        ("fuse_attr.mode", offset_of!(fuse_attr, mode) as u64),
        ("fuse_attr.nlink", offset_of!(fuse_attr, nlink) as u64),
        ("fuse_attr.uid", offset_of!(fuse_attr, uid) as u64),
        ("fuse_attr.gid", offset_of!(fuse_attr, gid) as u64),
        ("fuse_attr.rdev", offset_of!(fuse_attr, rdev) as u64),
        ("fuse_attr.blksize", offset_of!(fuse_attr, blksize) as u64),
        ("fuse_attr.flags", offset_of!(fuse_attr, flags) as u64),
        ("fuse_entry_out", size_of::<fuse_entry_out>() as u64),
        (
            "fuse_entry_out.nodeid",
            offset_of!(fuse_entry_out, nodeid) as u64,
        ),
        (
            "fuse_entry_out.generation",
            offset_of!(fuse_entry_out, generation) as u64,
        ),
        (
            "fuse_entry_out.entry_valid",
            offset_of!(fuse_entry_out, entry_valid) as u64,
        ),
        (
            "fuse_entry_out.attr_valid",
            offset_of!(fuse_entry_out, attr_valid) as u64,
        ),
        (
            "fuse_entry_out.entry_valid_nsec",
            offset_of!(fuse_entry_out, entry_valid_nsec) as u64,
        ),
        (
            "fuse_entry_out.attr_valid_nsec",
            offset_of!(fuse_entry_out, attr_valid_nsec) as u64,
        ),
        (
            "fuse_entry_out.attr",
            offset_of!(fuse_entry_out, attr) as u64,
        ),
        ("fuse_attr_out", size_of::<fuse_attr_out>() as u64),
        (
            "fuse_attr_out.attr_valid",
            offset_of!(fuse_attr_out, attr_valid) as u64,
        ),
        (
            "fuse_attr_out.attr_valid_nsec",
            offset_of!(fuse_attr_out, attr_valid_nsec) as u64,
        ),
        (
            "fuse_attr_out.dummy",
            offset_of!(fuse_attr_out, dummy) as u64,
        ),
        ("fuse_attr_out.attr", offset_of!(fuse_attr_out, attr) as u64),
        ("fuse_setattr_in", size_of::<fuse_setattr_in>() as u64),
        (
            "fuse_setattr_in.valid",
            offset_of!(fuse_setattr_in, valid) as u64,
        ),
        (
            "fuse_setattr_in.padding",
            offset_of!(fuse_setattr_in, padding) as u64,
        ),
        ("fuse_setattr_in.fh", offset_of!(fuse_setattr_in, fh) as u64),
        (
            "fuse_setattr_in.size",
            offset_of!(fuse_setattr_in, size) as u64,
        ),
        (
            "fuse_setattr_in.lock_owner",
            offset_of!(fuse_setattr_in, lock_owner) as u64,
        ),
        (
            "fuse_setattr_in.atime",
            offset_of!(fuse_setattr_in, atime) as u64,
        ),
        (
            "fuse_setattr_in.mtime",
            offset_of!(fuse_setattr_in, mtime) as u64,
        ),
        (
            "fuse_setattr_in.ctime",
            offset_of!(fuse_setattr_in, ctime) as u64,
        ),
        (
            "fuse_setattr_in.atimensec",
            offset_of!(fuse_setattr_in, atimensec) as u64,
        ),
        (
            "fuse_setattr_in.mtimensec",
            offset_of!(fuse_setattr_in, mtimensec) as u64,
        ),
        (
            "fuse_setattr_in.ctimensec",
            offset_of!(fuse_setattr_in, ctimensec) as u64,
        ),
        (
            "fuse_setattr_in.mode",
            offset_of!(fuse_setattr_in, mode) as u64,
        ),
        (
            "fuse_setattr_in.unused4",
            offset_of!(fuse_setattr_in, unused4) as u64,
        ),
        (
            "fuse_setattr_in.uid",
            offset_of!(fuse_setattr_in, uid) as u64,
        ),
        (
            "fuse_setattr_in.gid",
            offset_of!(fuse_setattr_in, gid) as u64,
        ),
        (
            "fuse_setattr_in.unused5",
            offset_of!(fuse_setattr_in, unused5) as u64,
        ),
        ("fuse_open_in", size_of::<fuse_open_in>() as u64),
        ("fuse_open_in.flags", offset_of!(fuse_open_in, flags) as u64),
        (
            "fuse_open_in.open_flags",
            offset_of!(fuse_open_in, open_flags) as u64,
        ),
        ("fuse_open_out", size_of::<fuse_open_out>() as u64),
        ("fuse_open_out.fh", offset_of!(fuse_open_out, fh) as u64),
        (
            "fuse_open_out.open_flags",
            offset_of!(fuse_open_out, open_flags) as u64,
        ),
        (
            "fuse_open_out.backing_id",
            offset_of!(fuse_open_out, backing_id) as u64,
        ),
        ("fuse_release_in", size_of::<fuse_release_in>() as u64),
        ("fuse_release_in.fh", offset_of!(fuse_release_in, fh) as u64),
        (
            "fuse_release_in.flags",
            offset_of!(fuse_release_in, flags) as u64,
        ),
        (
            "fuse_release_in.release_flags",
            offset_of!(fuse_release_in, release_flags) as u64,
        ),
        (
            "fuse_release_in.lock_owner",
            offset_of!(fuse_release_in, lock_owner) as u64,
        ),
        ("fuse_read_in", size_of::<fuse_read_in>() as u64),
        ("fuse_read_in.fh", offset_of!(fuse_read_in, fh) as u64),
        (
            "fuse_read_in.offset",
            offset_of!(fuse_read_in, offset) as u64,
        ),
        ("fuse_read_in.size", offset_of!(fuse_read_in, size) as u64),
        (
            "fuse_read_in.read_flags",
            offset_of!(fuse_read_in, read_flags) as u64,
        ),
        (
            "fuse_read_in.lock_owner",
            offset_of!(fuse_read_in, lock_owner) as u64,
        ),
        ("fuse_read_in.flags", offset_of!(fuse_read_in, flags) as u64),
        (
            "fuse_read_in.padding",
            offset_of!(fuse_read_in, padding) as u64,
        ),
        ("fuse_init_in", size_of::<fuse_init_in>() as u64),
        ("fuse_init_in.major", offset_of!(fuse_init_in, major) as u64),
        ("fuse_init_in.minor", offset_of!(fuse_init_in, minor) as u64),
        (
            "fuse_init_in.max_readahead",
            offset_of!(fuse_init_in, max_readahead) as u64,
        ),
        ("fuse_init_in.flags", offset_of!(fuse_init_in, flags) as u64),
        (
            "fuse_init_in.flags2",
            offset_of!(fuse_init_in, flags2) as u64,
        ),
        (
            "fuse_init_in.unused",
            offset_of!(fuse_init_in, unused) as u64,
        ),
        ("fuse_init_out", size_of::<fuse_init_out>() as u64),
        (
            "fuse_init_out.major",
            offset_of!(fuse_init_out, major) as u64,
        ),
        (
            "fuse_init_out.minor",
            offset_of!(fuse_init_out, minor) as u64,
        ),
        (
            "fuse_init_out.max_readahead",
            offset_of!(fuse_init_out, max_readahead) as u64,
        ),
        (
            "fuse_init_out.flags",
            offset_of!(fuse_init_out, flags) as u64,
        ),
        (
            "fuse_init_out.max_background",
            offset_of!(fuse_init_out, max_background) as u64,
        ),
        (
            "fuse_init_out.congestion_threshold",
            offset_of!(fuse_init_out, congestion_threshold) as u64,
        ),
        (
            "fuse_init_out.max_write",
            offset_of!(fuse_init_out, max_write) as u64,
        ),
        (
            "fuse_init_out.time_gran",
            offset_of!(fuse_init_out, time_gran) as u64,
        ),
        (
            "fuse_init_out.max_pages",
            offset_of!(fuse_init_out, max_pages) as u64,
        ),
        (
            "fuse_init_out.map_alignment",
            offset_of!(fuse_init_out, map_alignment) as u64,
        ),
        (
            "fuse_init_out.flags2",
            offset_of!(fuse_init_out, flags2) as u64,
        ),
        (
            "fuse_init_out.max_stack_depth",
            offset_of!(fuse_init_out, max_stack_depth) as u64,
        ),
        (
            "fuse_init_out.request_timeout",
            offset_of!(fuse_init_out, request_timeout) as u64,
        ),
        (
            "fuse_init_out.unused",
            offset_of!(fuse_init_out, unused) as u64,
        ),
        ("fuse_kstatfs", size_of::<fuse_kstatfs>() as u64),
        (
            "fuse_kstatfs.blocks",
            offset_of!(fuse_kstatfs, blocks) as u64,
        ),
        ("fuse_kstatfs.bfree", offset_of!(fuse_kstatfs, bfree) as u64),
        (
            "fuse_kstatfs.bavail",
            offset_of!(fuse_kstatfs, bavail) as u64,
        ),
        ("fuse_kstatfs.files", offset_of!(fuse_kstatfs, files) as u64),
        ("fuse_kstatfs.ffree", offset_of!(fuse_kstatfs, ffree) as u64),
        ("fuse_kstatfs.bsize", offset_of!(fuse_kstatfs, bsize) as u64),
        (
            "fuse_kstatfs.namelen",
            offset_of!(fuse_kstatfs, namelen) as u64,
        ),
        (
            "fuse_kstatfs.frsize",
            offset_of!(fuse_kstatfs, frsize) as u64,
        ),
        (
            "fuse_kstatfs.padding",
            offset_of!(fuse_kstatfs, padding) as u64,
        ),
        ("fuse_kstatfs.spare", offset_of!(fuse_kstatfs, spare) as u64),
        ("fuse_statfs_out", size_of::<fuse_statfs_out>() as u64),
        ("fuse_statfs_out.st", offset_of!(fuse_statfs_out, st) as u64),
        ("fuse_dirent", size_of::<fuse_dirent>() as u64),
        ("fuse_dirent.ino", offset_of!(fuse_dirent, ino) as u64),
        ("fuse_dirent.off", offset_of!(fuse_dirent, off) as u64),
        (
            "fuse_dirent.namelen",
            offset_of!(fuse_dirent, namelen) as u64,
        ),
        ("fuse_dirent.type", offset_of!(fuse_dirent, type_) as u64),
        ("fuse_forget_in", size_of::<fuse_forget_in>() as u64),
        (
            "fuse_forget_in.nlookup",
            offset_of!(fuse_forget_in, nlookup) as u64,
        ),
        (
            "fuse_batch_forget_in",
            size_of::<fuse_batch_forget_in>() as u64,
        ),
        (
            "fuse_batch_forget_in.count",
            offset_of!(fuse_batch_forget_in, count) as u64,
        ),
        (
            "fuse_batch_forget_in.dummy",
            offset_of!(fuse_batch_forget_in, dummy) as u64,
        ),
        ("fuse_backing_map", size_of::<fuse_backing_map>() as u64),
        (
            "fuse_backing_map.fd",
            offset_of!(fuse_backing_map, fd) as u64,
        ),
        (
            "fuse_backing_map.flags",
            offset_of!(fuse_backing_map, flags) as u64,
        ),
        (
            "fuse_backing_map.padding",
            offset_of!(fuse_backing_map, padding) as u64,
        ),
        (
            "fuse_iomap_dax_config_out",
            size_of::<fuse_iomap_dax_config_out>() as u64,
        ),
        (
            "fuse_iomap_dax_config_out.provider",
            offset_of!(fuse_iomap_dax_config_out, provider) as u64,
        ),
        (
            "fuse_iomap_dax_config_out.ndevices",
            offset_of!(fuse_iomap_dax_config_out, ndevices) as u64,
        ),
        (
            "fuse_iomap_dax_config_out.padding",
            offset_of!(fuse_iomap_dax_config_out, padding) as u64,
        ),
        (
            "fuse_iomap_dax_config_out.backing_ids",
            offset_of!(fuse_iomap_dax_config_out, backing_ids) as u64,
        ),
        (
            "fuse_iomap_dax_getmap_in",
            size_of::<fuse_iomap_dax_getmap_in>() as u64,
        ),
        (
            "fuse_iomap_dax_getmap_in.fh",
            offset_of!(fuse_iomap_dax_getmap_in, fh) as u64,
        ),
        (
            "fuse_iomap_dax_getmap_in.size",
            offset_of!(fuse_iomap_dax_getmap_in, size) as u64,
        ),
        (
            "fuse_iomap_dax_getmap_in.padding",
            offset_of!(fuse_iomap_dax_getmap_in, padding) as u64,
        ),
        (
            "fuse_iomap_dax_getmap_out",
            size_of::<fuse_iomap_dax_getmap_out>() as u64,
        ),
        (
            "fuse_iomap_dax_getmap_out.size",
            offset_of!(fuse_iomap_dax_getmap_out, size) as u64,
        ),
        (
            "fuse_iomap_dax_getmap_out.padding",
            offset_of!(fuse_iomap_dax_getmap_out, padding) as u64,
        ),
        ("FUSE_KERNEL_VERSION", w(FUSE_KERNEL_VERSION)),
        (
            "FUSE_KERNEL_MINOR_VERSION",
            FUSE_KERNEL_MINOR_VERSION as u64,
        ),
        ("FUSE_LOOKUP", w(FUSE_LOOKUP)),
        ("FUSE_FORGET", w(FUSE_FORGET)),
        ("FUSE_GETATTR", w(FUSE_GETATTR)),
        ("FUSE_SETATTR", w(FUSE_SETATTR)),
        ("FUSE_READLINK", w(FUSE_READLINK)),
        ("FUSE_SYMLINK", w(FUSE_SYMLINK)),
        ("FUSE_MKNOD", w(FUSE_MKNOD)),
        ("FUSE_MKDIR", w(FUSE_MKDIR)),
        ("FUSE_UNLINK", w(FUSE_UNLINK)),
        ("FUSE_RMDIR", w(FUSE_RMDIR)),
        ("FUSE_RENAME", w(FUSE_RENAME)),
        ("FUSE_LINK", w(FUSE_LINK)),
        ("FUSE_OPEN", w(FUSE_OPEN)),
        ("FUSE_READ", w(FUSE_READ)),
        ("FUSE_WRITE", w(FUSE_WRITE)),
        ("FUSE_STATFS", w(FUSE_STATFS)),
        ("FUSE_RELEASE", w(FUSE_RELEASE)),
        ("FUSE_FSYNC", w(FUSE_FSYNC)),
        ("FUSE_SETXATTR", w(FUSE_SETXATTR)),
        ("FUSE_GETXATTR", w(FUSE_GETXATTR)),
        ("FUSE_LISTXATTR", w(FUSE_LISTXATTR)),
        ("FUSE_REMOVEXATTR", w(FUSE_REMOVEXATTR)),
        ("FUSE_FLUSH", w(FUSE_FLUSH)),
        ("FUSE_INIT", w(FUSE_INIT)),
        ("FUSE_OPENDIR", w(FUSE_OPENDIR)),
        ("FUSE_READDIR", w(FUSE_READDIR)),
        ("FUSE_RELEASEDIR", w(FUSE_RELEASEDIR)),
        ("FUSE_FSYNCDIR", w(FUSE_FSYNCDIR)),
        ("FUSE_ACCESS", w(FUSE_ACCESS)),
        ("FUSE_CREATE", w(FUSE_CREATE)),
        ("FUSE_INTERRUPT", w(FUSE_INTERRUPT)),
        ("FUSE_DESTROY", w(FUSE_DESTROY)),
        ("FUSE_NOTIFY_REPLY", w(FUSE_NOTIFY_REPLY)),
        ("FUSE_BATCH_FORGET", w(FUSE_BATCH_FORGET)),
        ("FUSE_FALLOCATE", w(FUSE_FALLOCATE)),
        ("FUSE_READDIRPLUS", w(FUSE_READDIRPLUS)),
        ("FUSE_RENAME2", w(FUSE_RENAME2)),
        ("FUSE_TMPFILE", w(FUSE_TMPFILE)),
        ("FUSE_IOMAP_DAX_CONFIG", w(FUSE_IOMAP_DAX_CONFIG)),
        ("FUSE_IOMAP_DAX_GETMAP", w(FUSE_IOMAP_DAX_GETMAP)),
        ("FUSE_ASYNC_READ", w(FUSE_ASYNC_READ)),
        ("FUSE_PARALLEL_DIROPS", w(FUSE_PARALLEL_DIROPS)),
        ("FUSE_MAX_PAGES", w(FUSE_MAX_PAGES)),
        ("FUSE_INIT_EXT", w(FUSE_INIT_EXT)),
        ("FUSE_IOMAP_DAX", w(FUSE_IOMAP_DAX)),
        ("FOPEN_IOMAP_DAX", w(FOPEN_IOMAP_DAX)),
        ("FUSE_ATTR_IOMAP_DAX", w(FUSE_ATTR_IOMAP_DAX)),
        ("FATTR_MODE", w(FATTR_MODE)),
        ("FATTR_UID", w(FATTR_UID)),
        ("FATTR_GID", w(FATTR_GID)),
        ("FATTR_SIZE", w(FATTR_SIZE)),
        ("FATTR_ATIME", w(FATTR_ATIME)),
        ("FATTR_MTIME", w(FATTR_MTIME)),
        ("FATTR_FH", w(FATTR_FH)),
        ("FATTR_ATIME_NOW", w(FATTR_ATIME_NOW)),
        ("FATTR_MTIME_NOW", w(FATTR_MTIME_NOW)),
        ("FATTR_LOCKOWNER", w(FATTR_LOCKOWNER)),
        ("FATTR_CTIME", w(FATTR_CTIME)),
        ("FATTR_KILL_SUIDGID", w(FATTR_KILL_SUIDGID)),
        ("FUSE_BACKING_TYPE_DAX", w(FUSE_BACKING_TYPE_DAX)),
        (
            "FUSE_IOMAP_DAX_PROVIDER_MAX",
            FUSE_IOMAP_DAX_PROVIDER_MAX as u64,
        ),
        (
            "FUSE_IOMAP_DAX_MAX_DEVICES",
            FUSE_IOMAP_DAX_MAX_DEVICES as u64,
        ),
        ("FUSE_IOMAP_DAX_MAP_MAX", w(FUSE_IOMAP_DAX_MAP_MAX)),
        (
            "FUSE_DEV_IOC_BACKING_OPEN",
            opcode::write::<fuse_backing_map>(FUSE_DEV_IOC_MAGIC, FUSE_DEV_IOC_BACKING_OPEN_NR)
                as u64,
        ),
        (
            "FUSE_DEV_IOC_BACKING_CLOSE",
            opcode::write::<u32>(FUSE_DEV_IOC_MAGIC, FUSE_DEV_IOC_BACKING_CLOSE_NR) as u64,
        ),
        (
            "FUSE_DEV_IOC_SYNC_INIT",
            opcode::none(FUSE_DEV_IOC_MAGIC, FUSE_DEV_IOC_SYNC_INIT_NR) as u64,
        ),
    ];
    let mut bad = Vec::new();
    for (k, v) in rust {
        match c.get(*k) {
            Some(cv) if cv == v => {}
            Some(cv) => bad.push(format!("{k}: C {cv}, Rust {v}")),
            None => bad.push(format!("{k}: not printed by the probe")),
        }
    }
    assert_eq!(c.len(), rust.len(), "probe and Rust lists differ in length");
    assert!(bad.is_empty(), "layout mismatches:\n{}", bad.join("\n"));
}
