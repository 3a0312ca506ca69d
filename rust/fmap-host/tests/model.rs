// SPDX-License-Identifier: GPL-2.0

//! Property tests: [`Fmap::resolve`] against a naive reference model, and corrupted blobs.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a test failure"
)]

use core::num::NonZeroU64;
use famfs_fmap::{
    fmap::{Error, Mapping, Reciprocal, MAX_FILE_SIZE, RECIPROCAL_BITS},
    fmap_cases::{check_mapping, Writer, EXT_INTERLEAVE, EXT_SIMPLE, REG},
    Fmap,
};
use proptest::prelude::*;

const PAGE: u64 = 4096;

/// A device range.
#[derive(Clone, Copy, Debug)]
struct Ext {
    dev: u32,
    offset: u64,
    len: u64,
}

/// One interleaved extent.
#[derive(Clone, Debug)]
struct Iext {
    chunk: u64,
    nbytes: u64,
    strips: Vec<Ext>,
}

/// A valid map, as the generators build it.
#[derive(Clone, Debug)]
enum Layout {
    Simple(Vec<Ext>),
    Interleave(Vec<Iext>),
}

/// A valid map with its device table and file size.
#[derive(Clone, Debug)]
struct Spec {
    layout: Layout,
    devs: Vec<u64>,
    file_size: u64,
}

impl Spec {
    /// Bytes of file the extents cover.
    fn covered(&self) -> u64 {
        match &self.layout {
            Layout::Simple(v) => v.iter().map(|e| e.len).sum(),
            Layout::Interleave(v) => v.iter().map(|e| e.nbytes).sum(),
        }
    }

    /// Encodes the blob.
    fn encode(&self) -> Vec<u8> {
        let mut buf = vec![0u8; 1 << 20];
        let mut w = Writer::new(&mut buf);
        match &self.layout {
            Layout::Simple(v) => {
                w.header(REG, EXT_SIMPLE, v.len() as u32, self.file_size);
                for e in v {
                    w.simple(e.dev, e.offset, e.len);
                }
            }
            Layout::Interleave(v) => {
                w.header(REG, EXT_INTERLEAVE, v.len() as u32, self.file_size);
                for ie in v {
                    w.iext(ie.strips.len() as u32, ie.chunk as u32, ie.nbytes);
                    for e in &ie.strips {
                        w.simple(e.dev, e.offset, e.len);
                    }
                }
            }
        }
        let len = w.finish().unwrap();
        buf.truncate(len);
        buf
    }

    /// The reference model: walks the map range by range to find `pos`, with no index
    /// arithmetic, and returns the mapping up to the next range edge or the last file page.
    fn model(&self, pos: u64) -> Result<Mapping, Error> {
        if pos >= self.file_size {
            return Err(Error::PastEof { pos });
        }
        let eof = self.file_size.div_ceil(PAGE) * PAGE;
        let found = |file_start: u64, dev: u32, dev_start: u64, len: u64| {
            let skip = pos - file_start;
            Ok(Mapping {
                dev,
                dev_offset: dev_start + skip,
                file_offset: pos,
                len: (len - skip).min(eof - pos),
            })
        };
        let mut file = 0u64;
        match &self.layout {
            Layout::Simple(v) => {
                for e in v {
                    if pos < file + e.len {
                        return found(file, e.dev, e.offset, e.len);
                    }
                    file += e.len;
                }
            }
            Layout::Interleave(v) => {
                for ie in v {
                    // Deal the chunks to the strips one by one, like cards.
                    let mut fill = vec![0u64; ie.strips.len()];
                    let mut k = 0;
                    let end = file + ie.nbytes;
                    while file < end {
                        let s = ie.strips[k];
                        if pos < file + ie.chunk {
                            return found(file, s.dev, s.offset + fill[k], ie.chunk);
                        }
                        fill[k] += ie.chunk;
                        file += ie.chunk;
                        k = (k + 1) % ie.strips.len();
                    }
                }
            }
        }
        unreachable!("extents cover file_size");
    }

    /// Offsets worth probing: range edges and their neighbours, and the end of the file.
    fn edges(&self) -> Vec<u64> {
        let mut v = vec![0, self.file_size.saturating_sub(1), self.file_size];
        let mut file = 0u64;
        let mut push = |at: u64| {
            v.extend([at.saturating_sub(1), at, at + 1]);
        };
        match &self.layout {
            Layout::Simple(x) => {
                for e in x {
                    file += e.len;
                    push(file);
                }
            }
            Layout::Interleave(x) => {
                for ie in x {
                    let mut c = 0;
                    while c < ie.nbytes && c < 64 * ie.chunk {
                        push(file + c);
                        c += ie.chunk;
                    }
                    file += ie.nbytes;
                    push(file);
                }
            }
        }
        v
    }
}

/// Places ranges of the given lengths on `ndevs` devices, with random gaps, and sizes the
/// devices to fit them plus random slack.
fn place(lens: Vec<u64>, ndevs: u32, picks: Vec<(u32, u64)>, slack: u64) -> (Vec<Ext>, Vec<u64>) {
    let mut cursor = vec![0u64; ndevs as usize];
    let exts = lens
        .into_iter()
        .zip(picks)
        .map(|(len, (d, gap))| {
            let dev = d % ndevs;
            let c = &mut cursor[dev as usize];
            *c += gap * PAGE;
            let e = Ext {
                dev,
                offset: *c,
                len,
            };
            *c += len;
            e
        })
        .collect();
    let devs = cursor.iter().map(|c| c + slack * PAGE).collect();
    (exts, devs)
}

/// Page counts, biased towards 2 MiB multiples so PMD-capable maps are common.
fn pages() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..64, (1u64..8).prop_map(|n| n * 512)]
}

/// Picks a file size at most `covered`, often exactly `covered` or unaligned.
fn file_size_in(covered: u64, pick: u64) -> u64 {
    match pick % 4 {
        0 => covered,
        1 => covered - (pick % PAGE),
        _ => pick % (covered + 1),
    }
}

/// Maps of simple extents, all of the same length but the last.
fn simple_uniform() -> impl Strategy<Value = Spec> {
    (
        1usize..200,
        pages(),
        pages(),
        1u32..5,
        any::<u64>(),
        0u64..3,
    )
        .prop_flat_map(|(n, len, last, ndevs, pick, slack)| {
            proptest::collection::vec((any::<u32>(), 0u64..3), n).prop_map(move |picks| {
                let mut lens = vec![len * PAGE; n];
                lens[n - 1] = last * PAGE;
                let (exts, devs) = place(lens, ndevs, picks, slack);
                let mut s = Spec {
                    layout: Layout::Simple(exts),
                    devs,
                    file_size: 0,
                };
                s.file_size = file_size_in(s.covered(), pick);
                s
            })
        })
}

/// Maps of simple extents of random lengths.
fn simple_random() -> impl Strategy<Value = Spec> {
    (
        proptest::collection::vec((pages(), any::<u32>(), 0u64..3), 1..200),
        1u32..5,
        any::<u64>(),
        0u64..3,
    )
        .prop_map(|(v, ndevs, pick, slack)| {
            let lens = v.iter().map(|x| x.0 * PAGE).collect();
            let picks = v.iter().map(|x| (x.1, x.2)).collect();
            let (exts, devs) = place(lens, ndevs, picks, slack);
            let mut s = Spec {
                layout: Layout::Simple(exts),
                devs,
                file_size: 0,
            };
            s.file_size = file_size_in(s.covered(), pick);
            s
        })
}

/// Maps of interleaved extents of random geometry: 1 to 4 extents, chunks from 4 KiB to 4 MiB,
/// 1 to 9 strips, partial last stripes and strips longer than needed.
fn interleaved(max_iexts: usize) -> impl Strategy<Value = Spec> {
    (
        proptest::collection::vec(
            (
                12u32..23,
                1u32..10,
                1u64..40,
                proptest::collection::vec((any::<u32>(), 0u64..3, 0u64..3), 9),
            ),
            1..=max_iexts,
        ),
        1u32..5,
        any::<u64>(),
        0u64..3,
    )
        .prop_map(|(v, ndevs, pick, slack)| {
            let mut lens = Vec::new();
            let mut picks = Vec::new();
            let mut shape = Vec::new();
            for (shift, nstrips, nchunks, sp) in v {
                let chunk = 1u64 << shift;
                for k in 0..u64::from(nstrips) {
                    let chunks =
                        nchunks / u64::from(nstrips) + u64::from(k < nchunks % u64::from(nstrips));
                    let (d, gap, extra) = sp[k as usize];
                    // A strip holds at least one page even when no chunk lands on it.
                    lens.push((chunks * chunk).max(PAGE) + extra * PAGE);
                    picks.push((d, gap));
                }
                shape.push((chunk, nchunks * chunk, nstrips as usize));
            }
            let (exts, devs) = place(lens, ndevs, picks, slack);
            let mut it = exts.into_iter();
            let iexts = shape
                .into_iter()
                .map(|(chunk, nbytes, n)| Iext {
                    chunk,
                    nbytes,
                    strips: it.by_ref().take(n).collect(),
                })
                .collect();
            let mut s = Spec {
                layout: Layout::Interleave(iexts),
                devs,
                file_size: 0,
            };
            s.file_size = file_size_in(s.covered(), pick);
            s
        })
}

/// One device as large as the format allows.
const HUGE: u64 = u64::MAX - (PAGE - 1);

/// Maps of simple extents of one length on one huge device, most not a power of two and up to
/// the whole device over the extents, with a last extent of its own length: extent numbers come
/// from the page number divided by the pages of an extent, up to 2^51.
fn simple_uniform_huge() -> impl Strategy<Value = Spec> {
    (1u64..200, any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(n, len, last, pick)| {
        let max_pages = HUGE / PAGE / (n + 1);
        let len = (1 + len % max_pages) * PAGE;
        let last = (1 + last % max_pages) * PAGE;
        let mut exts: Vec<Ext> = (0..n)
            .map(|i| Ext {
                dev: 0,
                offset: i * len,
                len,
            })
            .collect();
        exts.last_mut().unwrap().len = last;
        let mut s = Spec {
            layout: Layout::Simple(exts),
            devs: vec![HUGE],
            file_size: 0,
        };
        let covered = s.covered().min(MAX_FILE_SIZE);
        s.file_size = if pick % 2 == 0 {
            covered
        } else {
            file_size_in(covered, pick)
        };
        s
    })
}

/// Strip counts, mostly not powers of two, up to past the most a 16 MiB blob holds.
fn strip_counts() -> impl Strategy<Value = u32> {
    prop_oneof![
        1u32..40,
        (1u32..64).prop_map(|x| 2 * x + 1),
        699_000u32..700_000,
        1u32..=u32::MAX,
    ]
}

/// Interleaved maps on one huge device reaching far offsets: 1 to 3 extents with chunks from
/// 4 KiB to 2 GiB, 1 to 9 strips and up to 2^50 chunks each, so chunk numbers come close to
/// `1 << RECIPROCAL_BITS`. The file size is often `MAX_LFS_FILESIZE` or the whole map.
fn interleaved_huge() -> impl Strategy<Value = Spec> {
    (
        proptest::collection::vec((12u32..32, 1u32..10, any::<u64>()), 1..=3),
        any::<u64>(),
    )
        .prop_map(|(v, pick)| {
            // Share the device between the extents: each gets at most a third of it.
            let budget = HUGE / 3 / PAGE * PAGE;
            let mut at = 0u64;
            let mut iexts = Vec::new();
            for (shift, nstrips, raw) in v {
                let chunk = 1u64 << shift;
                let n = u64::from(nstrips);
                let max_chunks = budget >> shift;
                let nchunks = 1 + raw % max_chunks;
                let strips = (0..n)
                    .map(|k| {
                        let chunks = nchunks / n + u64::from(k < nchunks % n);
                        let len = (chunks * chunk).max(PAGE);
                        let e = Ext {
                            dev: 0,
                            offset: at,
                            len,
                        };
                        at += len;
                        e
                    })
                    .collect();
                iexts.push(Iext {
                    chunk,
                    nbytes: nchunks * chunk,
                    strips,
                });
            }
            let mut s = Spec {
                layout: Layout::Interleave(iexts),
                devs: vec![HUGE],
                file_size: 0,
            };
            let covered = s.covered().min(MAX_FILE_SIZE);
            s.file_size = if pick % 2 == 0 {
                covered
            } else {
                file_size_in(covered, pick)
            };
            s
        })
}

/// The resolution of interleaved maps by `/` and `%`, for maps too large for [`Spec::model`].
fn model_div(spec: &Spec, pos: u64) -> Result<Mapping, Error> {
    if pos >= spec.file_size {
        return Err(Error::PastEof { pos });
    }
    let eof = spec.file_size.div_ceil(PAGE) * PAGE;
    let Layout::Interleave(v) = &spec.layout else {
        unreachable!("interleaved maps only");
    };
    let mut file = 0u64;
    for ie in v {
        if pos - file < ie.nbytes {
            let off = pos - file;
            let chunk = off / ie.chunk;
            let n = ie.strips.len() as u64;
            let s = ie.strips[(chunk % n) as usize];
            return Ok(Mapping {
                dev: s.dev,
                dev_offset: s.offset + chunk / n * ie.chunk + off % ie.chunk,
                file_offset: pos,
                len: (ie.chunk - off % ie.chunk).min(eof - pos),
            });
        }
        file += ie.nbytes;
    }
    unreachable!("extents cover file_size");
}

/// Offsets of `spec` where the strip or stripe number changes, far into each extent: the
/// first chunks of the last stripes, and the last chunk.
fn far_edges(spec: &Spec) -> Vec<u64> {
    let Layout::Interleave(v) = &spec.layout else {
        return Vec::new();
    };
    let mut out = vec![spec.file_size.saturating_sub(1)];
    let mut file = 0u64;
    for ie in v {
        let nchunks = ie.nbytes / ie.chunk;
        let n = ie.strips.len() as u64;
        let last_stripe = (nchunks - 1) / n;
        for stripe in [last_stripe, last_stripe.saturating_sub(1), last_stripe / 2] {
            for k in [0, 1, n - 1] {
                let c = stripe * n + k;
                if c < nchunks {
                    out.extend([file + c * ie.chunk, file + (c + 1) * ie.chunk - 1]);
                }
            }
        }
        file += ie.nbytes;
    }
    out
}

/// Every kind of valid map.
fn any_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        simple_uniform(),
        simple_random(),
        interleaved(1),
        interleaved(4),
    ]
}

/// Parses `spec` and compares resolution against the model at `extra` offsets and the edges.
fn compare(spec: &Spec, extra: &[u64]) -> Result<(), TestCaseError> {
    let span = spec.covered() + 2 * PAGE;
    let probes = spec
        .edges()
        .into_iter()
        .chain(extra.iter().map(|x| x % span));
    compare_with(spec, probes, |pos| spec.model(pos))
}

/// Parses `spec`, then resolves every offset of `probes` and compares with `model`.
fn compare_with(
    spec: &Spec,
    probes: impl Iterator<Item = u64>,
    model: impl Fn(u64) -> Result<Mapping, Error>,
) -> Result<(), TestCaseError> {
    let blob = spec.encode();
    let f = Fmap::parse(&blob, &spec.devs).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(f.file_size(), spec.file_size);
    prop_assert_eq!(f.covered(), spec.covered());
    for pos in probes {
        let got = f.resolve(pos);
        prop_assert_eq!(got, model(pos), "pos {}", pos);
        if let Ok(m) = got {
            check_mapping(&f, &spec.devs, pos, &m).map_err(TestCaseError::fail)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The multiply-shift quotient equals the `/` operator for any divisor and any dividend in
    /// range, including dividends next to multiples of the divisor and at the range's end.
    #[test]
    fn reciprocal_matches_division(
        d in prop_oneof![
            strip_counts().prop_map(u64::from),
            1u64..(1 << RECIPROCAL_BITS),
            any::<u64>().prop_map(|x| x.max(1)),
        ],
        n in 0u64..(1 << RECIPROCAL_BITS),
        q in any::<u64>(),
        r in 0u64..3,
    ) {
        let r1 = Reciprocal::new(NonZeroU64::new(d).unwrap());
        let limit = 1u64 << RECIPROCAL_BITS;
        // A multiple of `d` in range, minus one to plus one.
        let m = (q % (limit / d).max(1)) * d % limit;
        for n in [n, (m + r).saturating_sub(1), limit - 1 - r] {
            prop_assert_eq!(r1.quotient(n), n / d, "{} / {}", n, d);
        }
    }

    /// Huge maps of one extent length resolve like the model, at every extent's edges.
    #[test]
    fn resolve_matches_model_simple_uniform_huge(
        spec in simple_uniform_huge(),
        extra in proptest::collection::vec(any::<u64>(), 32),
    ) {
        compare(&spec, &extra)?;
    }

    /// Far into huge interleaved maps, strip and stripe numbers match `/` and `%`.
    #[test]
    fn resolve_matches_division_interleaved_huge(
        spec in interleaved_huge(),
        extra in proptest::collection::vec(any::<u64>(), 32),
    ) {
        let probes = far_edges(&spec)
            .into_iter()
            .chain(extra.iter().map(|x| x % (spec.file_size + PAGE)));
        compare_with(&spec, probes, |pos| model_div(&spec, pos))?;
    }

    #[test]
    fn resolve_matches_model_simple_uniform(
        spec in simple_uniform(),
        extra in proptest::collection::vec(any::<u64>(), 32),
    ) {
        compare(&spec, &extra)?;
    }

    #[test]
    fn resolve_matches_model_simple_random(
        spec in simple_random(),
        extra in proptest::collection::vec(any::<u64>(), 32),
    ) {
        compare(&spec, &extra)?;
    }

    #[test]
    fn resolve_matches_model_interleaved(
        spec in interleaved(1),
        extra in proptest::collection::vec(any::<u64>(), 32),
    ) {
        compare(&spec, &extra)?;
    }

    #[test]
    fn resolve_matches_model_mixed_interleaves(
        spec in interleaved(4),
        extra in proptest::collection::vec(any::<u64>(), 32),
    ) {
        compare(&spec, &extra)?;
    }

    /// A whole valid map resolves to consecutive mappings that tile the file exactly.
    #[test]
    fn mappings_tile_the_file(spec in any_spec()) {
        let blob = spec.encode();
        let f = Fmap::parse(&blob, &spec.devs).unwrap();
        let eof = spec.file_size.div_ceil(PAGE) * PAGE;
        let mut pos = 0;
        let mut steps = 0;
        while pos < spec.file_size && steps < 4096 {
            let m = f.resolve(pos).unwrap();
            prop_assert_eq!(Ok(m), spec.model(pos));
            pos += m.len;
            steps += 1;
        }
        // Past the end of the file, the last mapping ends exactly at the last file page.
        if pos >= spec.file_size {
            prop_assert_eq!(pos, eof);
        }
    }

    /// Corrupted blobs never panic, and what they still parse to resolves inside its devices.
    #[test]
    fn corrupted_blobs_do_not_panic(
        spec in any_spec(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
        mode in 0u8..4,
        probes in proptest::collection::vec(any::<u64>(), 16),
        devs in proptest::collection::vec(any::<u64>(), 0..4),
    ) {
        let mut blob = spec.encode();
        let n = blob.len();
        for (at, v) in flips {
            blob[at % n] ^= v | 1;
        }
        match mode {
            0 => blob.truncate(cut % n),
            1 => blob.extend_from_within(..cut % n),
            _ => {}
        }
        // Keep fmap_size consistent half of the time so deeper rules are reached.
        if mode >= 2 && blob.len() >= 16 {
            let len = blob.len() as u32;
            blob[12..16].copy_from_slice(&len.to_le_bytes());
        }
        let table = if mode == 3 { devs } else { spec.devs.clone() };
        if let Ok(f) = Fmap::parse(&blob, &table) {
            prop_assert!(f.covered() >= f.file_size());
            for p in probes.iter().map(|p| p % (f.file_size() + PAGE)) {
                match f.resolve(p) {
                    Ok(m) => check_mapping(&f, &table, p, &m).map_err(TestCaseError::fail)?,
                    Err(e) => prop_assert_eq!(e, Error::PastEof { pos: p }),
                }
            }
        }
    }
}
