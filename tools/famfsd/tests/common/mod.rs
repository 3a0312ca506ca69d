// SPDX-License-Identifier: GPL-2.0
//! Helpers shared by the integration tests.
#![allow(dead_code)]

use famfs_media::{CreateOptions, Famfs, Layout, RawDevice};
use std::path::{Path, PathBuf};

pub const MB: u64 = 1 << 20;

/// A temporary directory, on tmpfs when there is one (msync there is cheap).
pub fn tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("famfsd-test")
            .tempdir_in(shm)
        {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

/// A sparse image file of `size` bytes in `dir`.
pub fn image(dir: &Path, size: u64) -> PathBuf {
    let p = dir.join("famfs.img");
    std::fs::File::create(&p).unwrap().set_len(size).unwrap();
    p
}

/// A freshly formatted image of `size` bytes.
pub fn mkfs(dir: &Path, size: u64) -> (PathBuf, Famfs<RawDevice>) {
    let p = image(dir, size);
    let fs = Famfs::mkfs(RawDevice::open(&p, true).unwrap(), 8 * MB, false).unwrap();
    (p, fs)
}

pub fn simple(size: u64) -> CreateOptions {
    CreateOptions {
        size,
        mode: 0o644,
        uid: 1000,
        gid: 1000,
        layout: Layout::Simple,
    }
}

pub fn interleaved(size: u64, nstrips: u32, chunk_size: u64) -> CreateOptions {
    CreateOptions {
        layout: Layout::Interleaved {
            nstrips,
            chunk_size,
            nbuckets: None,
        },
        ..simple(size)
    }
}

/// Flip one bit of the byte at `off` of file `p`.
pub fn flip(p: &Path, off: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .unwrap();
    let mut b = [0u8];
    f.seek(SeekFrom::Start(off)).unwrap();
    f.read_exact(&mut b).unwrap();
    b[0] ^= 0x04;
    f.seek(SeekFrom::Start(off)).unwrap();
    f.write_all(&b).unwrap();
}

/// Deterministic xorshift64* generator for seeded test loops.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
