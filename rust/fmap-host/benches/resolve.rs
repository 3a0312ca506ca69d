// SPDX-License-Identifier: GPL-2.0

//! Resolve latency by map shape and extent count, and parse time.
//!
//! Each resolve benchmark parses one map, then resolves offsets drawn at random inside the file
//! (a fixed pseudo-random sequence, so runs are comparable). The largest count is the most
//! simple extents a blob of `FAMFS_FMAP_MAX_SIZE` holds. The `parse_*` benchmarks time
//! [`Fmap::parse`] of the same blobs.
//!
//! The `*_hot` variants draw the offsets from the first [`HOT`] extents only: the map's data
//! stays in the CPU cache, so they show the cost of the arithmetic alone, which must not grow
//! with the extent count. The others also pay the cache misses of a large map.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark code: a panic is a failed run"
)]

use divan::{black_box, Bencher};
use famfs_fmap::{
    fmap::{HEADER_SIZE, MAX_SIZE, SIMPLE_EXT_SIZE},
    fmap_cases::{Writer, EXT_INTERLEAVE, EXT_SIMPLE, REG},
    Fmap,
};

/// Extent counts: 1, 1k, 100k and the most a 16 MiB blob holds (1M does not fit).
const COUNTS: &[usize] = &[
    1,
    1_000,
    100_000,
    (MAX_SIZE - HEADER_SIZE) / SIMPLE_EXT_SIZE,
];
/// Extents the `*_hot` variants touch.
const HOT: u64 = 64;
/// Strips per interleaved extent.
const STRIPS: usize = 8;
/// Strips per interleaved extent of the `*_odd` variants: not a power of two.
const ODD_STRIPS: usize = 6;
/// Two MiB.
const M2: u64 = 2 << 20;
/// One device large enough for every map.
const DEVS: &[u64] = &[1 << 52];

fn main() {
    divan::main();
}

/// Returns `n` pseudo-random offsets below `size`.
fn offsets(size: u64, n: usize) -> Vec<u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % size
        })
        .collect()
}

/// Builds a blob with `write` into a buffer of `len` bytes.
fn blob(len: usize, write: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut w = Writer::new(&mut buf);
    write(&mut w);
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

/// Parses a blob of the benchmarks' device table.
fn parse(blob: &[u8]) -> Fmap {
    Fmap::parse(blob, DEVS).unwrap()
}

/// Times [`Fmap::parse`] of `blob`.
fn run_parse(b: Bencher<'_, '_>, blob: &[u8]) {
    b.bench_local(|| black_box(Fmap::parse(black_box(blob), DEVS).is_ok()));
}

/// Resolves random offsets of `f` in a loop.
fn run(b: Bencher<'_, '_>, f: &Fmap) {
    run_below(b, f, f.file_size());
}

/// Resolves random offsets below `window` of `f` in a loop.
fn run_below(b: Bencher<'_, '_>, f: &Fmap, window: u64) {
    let pos = offsets(window.min(f.file_size()), 1 << 16);
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) & (pos.len() - 1);
        black_box(f.resolve(black_box(pos[i])))
    });
}

/// `n` simple extents, all `len` bytes long.
fn uniform_blob(n: usize, len: u64) -> Vec<u8> {
    let size = n as u64 * len;
    blob(HEADER_SIZE + n * SIMPLE_EXT_SIZE, |w| {
        w.header(REG, EXT_SIMPLE, n as u32, size);
        for i in 0..n as u64 {
            w.simple(0, i * len, len);
        }
    })
}

/// `n` simple extents, all 2 MiB: the shift path.
fn uniform_map(n: usize) -> Fmap {
    parse(&uniform_blob(n, M2))
}

/// `n` simple extents, all 6 MiB: one length, not a power of two.
fn uniform_odd_map(n: usize) -> Fmap {
    parse(&uniform_blob(n, 3 * M2))
}

/// Simple extents, all 2 MiB: the shift path.
#[divan::bench(args = COUNTS, max_time = 1)]
fn simple_uniform(b: Bencher<'_, '_>, n: usize) {
    run(b, &uniform_map(n));
}

/// Simple extents, all 2 MiB, offsets in the first [`HOT`] extents.
#[divan::bench(args = COUNTS, max_time = 1)]
fn simple_uniform_hot(b: Bencher<'_, '_>, n: usize) {
    run_below(b, &uniform_map(n), HOT * M2);
}

/// Simple extents, all 6 MiB.
#[divan::bench(args = COUNTS, max_time = 1)]
fn simple_uniform_odd(b: Bencher<'_, '_>, n: usize) {
    run(b, &uniform_odd_map(n));
}

/// Simple extents, all 6 MiB, offsets in the first [`HOT`] extents.
#[divan::bench(args = COUNTS, max_time = 1)]
fn simple_uniform_odd_hot(b: Bencher<'_, '_>, n: usize) {
    run_below(b, &uniform_odd_map(n), HOT * 3 * M2);
}

/// `n` simple extents of 2, 4 or 6 MiB: the search path.
fn nonuniform_map(n: usize) -> Fmap {
    parse(&nonuniform_blob(n))
}

/// `n` simple extents of 2, 4 or 6 MiB.
fn nonuniform_blob(n: usize) -> Vec<u8> {
    let lens: Vec<u64> = offsets(3, n).into_iter().map(|x| (x + 1) * M2).collect();
    let size: u64 = lens.iter().sum();
    blob(HEADER_SIZE + n * SIMPLE_EXT_SIZE, |w| {
        w.header(REG, EXT_SIMPLE, n as u32, size);
        let mut at = 0;
        for len in &lens {
            w.simple(0, at, *len);
            at += len;
        }
    })
}

/// Simple extents of 2, 4 or 6 MiB: the search path.
#[divan::bench(args = COUNTS, max_time = 1)]
fn simple_nonuniform(b: Bencher<'_, '_>, n: usize) {
    run(b, &nonuniform_map(n));
}

/// Simple extents of 2, 4 or 6 MiB, offsets in the first [`HOT`] extents (at least).
#[divan::bench(args = COUNTS, max_time = 1)]
fn simple_nonuniform_hot(b: Bencher<'_, '_>, n: usize) {
    run_below(b, &nonuniform_map(n), HOT * 2 * M2);
}

/// Interleaved extents of 8 strips and 2 MiB chunks, `n` strips in all (`n / 8` extents).
#[divan::bench(args = COUNTS, max_time = 1)]
fn interleaved(b: Bencher<'_, '_>, n: usize) {
    run(b, &interleaved_map(n));
}

/// Interleaved extents as in [`interleaved`], offsets in the first [`HOT`] strips' extents.
#[divan::bench(args = COUNTS, max_time = 1)]
fn interleaved_hot(b: Bencher<'_, '_>, n: usize) {
    run_below(b, &interleaved_map(n), HOT * 4 * M2);
}

/// Interleaved extents of 6 strips and 2 MiB chunks, `n` strips in all.
#[divan::bench(args = COUNTS, max_time = 1)]
fn interleaved_odd(b: Bencher<'_, '_>, n: usize) {
    run(b, &parse(&interleaved_blob(n, ODD_STRIPS)));
}

/// Interleaved extents as in [`interleaved_odd`], offsets in the first [`HOT`] strips'
/// extents.
#[divan::bench(args = COUNTS, max_time = 1)]
fn interleaved_odd_hot(b: Bencher<'_, '_>, n: usize) {
    run_below(b, &parse(&interleaved_blob(n, ODD_STRIPS)), HOT * 4 * M2);
}

/// Parse of `n` simple extents, all 2 MiB.
#[divan::bench(args = COUNTS, max_time = 1)]
fn parse_simple_uniform(b: Bencher<'_, '_>, n: usize) {
    run_parse(b, &uniform_blob(n, M2));
}

/// Parse of `n` simple extents, all 6 MiB (the bucket index is built).
#[divan::bench(args = COUNTS, max_time = 1)]
fn parse_simple_uniform_odd(b: Bencher<'_, '_>, n: usize) {
    run_parse(b, &uniform_blob(n, 3 * M2));
}

/// Parse of `n` simple extents of 2, 4 or 6 MiB.
#[divan::bench(args = COUNTS, max_time = 1)]
fn parse_simple_nonuniform(b: Bencher<'_, '_>, n: usize) {
    run_parse(b, &nonuniform_blob(n));
}

/// Parse of `n` strips in interleaved extents of 6 strips.
#[divan::bench(args = COUNTS, max_time = 1)]
fn parse_interleaved_odd(b: Bencher<'_, '_>, n: usize) {
    run_parse(b, &interleaved_blob(n, ODD_STRIPS));
}

/// `n` strips in interleaved extents of 8 strips (fewer for small `n`) and 2 MiB chunks.
fn interleaved_map(n: usize) -> Fmap {
    parse(&interleaved_blob(n, STRIPS))
}

/// `n` strips in interleaved extents of `strips` strips (fewer for small `n`) and 2 MiB chunks.
fn interleaved_blob(n: usize, strips: usize) -> Vec<u8> {
    let nstrips = n.min(strips);
    let nexts = (n / nstrips).min((MAX_SIZE - HEADER_SIZE) / ((nstrips + 1) * SIMPLE_EXT_SIZE));
    let nbytes = nstrips as u64 * 4 * M2;
    blob(HEADER_SIZE + nexts * (nstrips + 1) * SIMPLE_EXT_SIZE, |w| {
        w.header(REG, EXT_INTERLEAVE, nexts as u32, nexts as u64 * nbytes);
        let mut at = 0;
        for _ in 0..nexts {
            w.iext(nstrips as u32, M2 as u32, nbytes);
            for _ in 0..nstrips {
                w.simple(0, at, 4 * M2);
                at += 4 * M2;
            }
        }
    })
}
