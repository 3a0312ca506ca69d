// SPDX-License-Identifier: GPL-2.0

//! Validation cases for the fmap core, shared by host tests and in-kernel KUnit tests.
//!
//! This file depends on `core` and on the sibling module `fmap` only, so it compiles next to
//! `fmap.rs` in the kernel module and in the host crate. Each [`Case`] writes its blob with a
//! [`Writer`] into a buffer that [`check`] takes from the caller's [`Storage`], parses it
//! against the case's device table and compares the outcome, including sample resolutions,
//! with what the case expects.
//!
//! A KUnit suite needs only:
//!
//! ```text
//! for case in fmap_cases::CASES {
//!     let res = fmap_cases::check::<KernelStorage>(case);
//!     if let Err(f) = &res {
//!         pr_err!("{}: {}\n", case.name, f);
//!     }
//!     assert!(res.is_ok());
//! }
//! ```
//!
//! One case needs a blob buffer larger than 16 MiB: the storage should fall back to `vmalloc`
//! (`KVVec`).

use super::fmap::{
    Error,
    Fmap,
    Mapping,
    Reciprocal,
    Site,
    Storage,
    HDR_FMAP_SIZE,
    HEADER_SIZE,
    IEXT_SIZE,
    MAX_SIZE,
    RECIPROCAL_BITS,
    SIMPLE_EXT_SIZE,
    VERSION, //
};
use core::fmt;
use core::num::NonZeroU64;

/// One MiB.
const MIB: u64 = 1 << 20;
/// Four KiB, the format's alignment.
const K4: u64 = 4096;
/// Two MiB, the PMD size.
const M2: u64 = 2 * MIB;
/// Default size of the buffer a case writes its blob into.
const BUF: usize = 4096;

/// `ext_type` of simple extents.
pub const EXT_SIMPLE: u32 = 0;
/// `ext_type` of interleaved extents.
pub const EXT_INTERLEAVE: u32 = 1;
/// `file_type` of a regular file.
pub const REG: u8 = 0;

/// A little-endian blob writer over a caller-provided buffer.
///
/// Writing past the buffer does not panic: it is recorded and [`Writer::finish`] then fails.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
    fmap_size: Option<u32>,
}

impl<'a> Writer<'a> {
    /// Creates a writer filling `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            len: 0,
            overflow: false,
            fmap_size: None,
        }
    }

    /// Stores `bytes` at `at`, which must lie inside the buffer.
    fn store(&mut self, at: usize, bytes: &[u8]) {
        let dst = at
            .checked_add(bytes.len())
            .and_then(|end| self.buf.get_mut(at..end));
        match dst {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflow = true,
        }
    }

    /// Appends `bytes`.
    fn append(&mut self, bytes: &[u8]) -> &mut Self {
        self.store(self.len, bytes);
        self.len = self.len.saturating_add(bytes.len());
        self
    }

    /// Appends a header with version [`VERSION`] and zero reserved fields.
    ///
    /// `fmap_size` is set to the final length by [`Writer::finish`] unless
    /// [`Writer::fmap_size`] overrides it.
    pub fn header(&mut self, file_type: u8, ext_type: u32, nextents: u32, size: u64) -> &mut Self {
        self.append(&[file_type, 0])
            .append(&VERSION.to_le_bytes())
            .append(&ext_type.to_le_bytes())
            .append(&nextents.to_le_bytes())
            .append(&0u32.to_le_bytes())
            .append(&size.to_le_bytes())
            .append(&0u64.to_le_bytes())
    }

    /// Appends a simple extent or strip.
    pub fn simple(&mut self, dev: u32, offset: u64, len: u64) -> &mut Self {
        self.append(&dev.to_le_bytes())
            .append(&0u32.to_le_bytes())
            .append(&offset.to_le_bytes())
            .append(&len.to_le_bytes())
    }

    /// Appends an interleaved extent header; its strips follow with [`Writer::simple`].
    pub fn iext(&mut self, nstrips: u32, chunk: u32, nbytes: u64) -> &mut Self {
        self.append(&nstrips.to_le_bytes())
            .append(&chunk.to_le_bytes())
            .append(&nbytes.to_le_bytes())
            .append(&0u64.to_le_bytes())
    }

    /// Appends `n` zero bytes.
    pub fn zeros(&mut self, n: usize) -> &mut Self {
        match self.len.checked_add(n).filter(|&end| end <= self.buf.len()) {
            Some(end) => {
                self.buf
                    .iter_mut()
                    .take(end)
                    .skip(self.len)
                    .for_each(|b| *b = 0);
                self.len = end;
            }
            None => self.overflow = true,
        }
        self
    }

    /// Overwrites the byte at `at`.
    pub fn set_u8(&mut self, at: usize, v: u8) -> &mut Self {
        self.store(at, &[v]);
        self
    }

    /// Overwrites the little-endian `u16` at `at`.
    pub fn set_u16(&mut self, at: usize, v: u16) -> &mut Self {
        self.store(at, &v.to_le_bytes());
        self
    }

    /// Overwrites the little-endian `u32` at `at`.
    pub fn set_u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.store(at, &v.to_le_bytes());
        self
    }

    /// Overwrites the little-endian `u64` at `at`.
    pub fn set_u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.store(at, &v.to_le_bytes());
        self
    }

    /// Makes [`Writer::finish`] write `v` as `fmap_size` instead of the blob length.
    pub fn fmap_size(&mut self, v: u32) -> &mut Self {
        self.fmap_size = Some(v);
        self
    }

    /// Writes `fmap_size` and returns the blob length, or [`None`] if the buffer was too small.
    pub fn finish(mut self) -> Option<usize> {
        let size = match self.fmap_size {
            Some(v) => v,
            None => u32::try_from(self.len).ok()?,
        };
        if self.len >= HDR_FMAP_SIZE + 4 {
            self.store(HDR_FMAP_SIZE, &size.to_le_bytes());
        }
        (!self.overflow).then_some(self.len)
    }
}

/// An offset to resolve and the expected outcome.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    /// File offset passed to [`Fmap::resolve`].
    pub pos: u64,
    /// Expected result.
    pub expect: Result<Mapping, Error>,
}

/// What parsing a case's blob must give.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// The blob is rejected with exactly this error.
    Err(Error),
    /// The blob is accepted.
    Ok {
        /// Expected [`Fmap::pmd_unaligned`].
        pmd_unaligned: u32,
        /// Offsets to resolve and their expected results.
        probes: &'static [Probe],
    },
}

/// A validation case.
pub struct Case {
    /// Short name, for test logs.
    pub name: &'static str,
    /// Device table: the size in bytes of each device.
    pub devs: &'static [u64],
    /// Size of the buffer [`Case::build`] writes into.
    pub buf_len: usize,
    /// Writes the blob.
    pub build: fn(&mut Writer<'_>),
    /// Expected outcome.
    pub expect: Expect,
}

/// Why a case failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub what: &'static str,
    /// The error [`Fmap::parse`] or [`Fmap::resolve`] returned, if any.
    pub got: Option<Error>,
    /// The offset being resolved, if any.
    pub pos: Option<u64>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        if let Some(pos) = self.pos {
            write!(f, " at offset {pos}")?;
        }
        if let Some(e) = self.got {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

/// Returns a failure without error or offset.
const fn fail(what: &'static str) -> Failure {
    Failure {
        what,
        got: None,
        pos: None,
    }
}

/// Checks the invariants every successful resolution must keep.
pub fn check_mapping<S: Storage>(
    f: &Fmap<S>,
    devs: &[u64],
    pos: u64,
    m: &Mapping,
) -> Result<(), &'static str> {
    if m.len == 0 {
        return Err("zero-length mapping");
    }
    if m.file_offset != pos {
        return Err("mapping does not start at the offset");
    }
    let end = m
        .file_offset
        .checked_add(m.len)
        .ok_or("mapping end overflows")?;
    if end > f.file_size().next_multiple_of(4096) {
        return Err("mapping runs past the end of the file");
    }
    let dev = usize::try_from(m.dev)
        .ok()
        .and_then(|d| devs.get(d))
        .ok_or("mapping on a device outside the table")?;
    let dev_end = m
        .dev_offset
        .checked_add(m.len)
        .ok_or("device end overflows")?;
    if dev_end > *dev {
        return Err("mapping runs past the end of its device");
    }
    Ok(())
}

/// Builds, parses and resolves `case` with memory from `S`.
pub fn check<S: Storage>(case: &Case) -> Result<(), Failure> {
    let mut buf = S::alloc::<u8>(case.buf_len).ok_or(fail("cannot allocate the blob buffer"))?;
    let mut w = Writer::new(&mut buf);
    (case.build)(&mut w);
    let len = w.finish().ok_or(fail("case blob overflows its buffer"))?;
    let blob = buf
        .get(..len)
        .ok_or(fail("case blob overflows its buffer"))?;
    let parsed = Fmap::<S>::parse(blob, case.devs);
    match (case.expect, parsed) {
        (Expect::Err(want), Err(got)) => {
            if got != want {
                return Err(Failure {
                    what: "parse failed with another error",
                    got: Some(got),
                    pos: None,
                });
            }
            if got.errno() <= 0 || got.reason().is_empty() {
                return Err(fail("error without errno or reason"));
            }
            Ok(())
        }
        (Expect::Err(_), Ok(_)) => Err(fail("parse accepted an invalid blob")),
        (Expect::Ok { .. }, Err(got)) => Err(Failure {
            what: "parse rejected a valid blob",
            got: Some(got),
            pos: None,
        }),
        (
            Expect::Ok {
                pmd_unaligned,
                probes,
            },
            Ok(f),
        ) => {
            if f.pmd_unaligned() != pmd_unaligned || f.pmd_capable() != (pmd_unaligned == 0) {
                return Err(fail("wrong count of 2 MiB unaligned extents"));
            }
            for p in probes {
                let got = f.resolve(p.pos);
                let on = |what| Failure {
                    what,
                    got: got.err(),
                    pos: Some(p.pos),
                };
                if got != p.expect {
                    return Err(on("unexpected resolution"));
                }
                if let Ok(m) = &got {
                    check_mapping(&f, case.devs, p.pos, m).map_err(on)?;
                }
            }
            Ok(())
        }
    }
}

/// Divisors [`check_reciprocals`] tries: small ones, odd and even, ones around powers of two,
/// the strip counts around the most a blob holds, the largest `u32` values, page counts around
/// `1 << RECIPROCAL_BITS` (the most an extent has) and above, up to `u64::MAX`.
pub static DIVISORS: &[u64] = &[
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    9,
    10,
    11,
    12,
    13,
    641,
    4095,
    4096,
    4097,
    699_047,
    699_048,
    699_049,
    6_700_417,
    (1 << 31) - 1,
    1 << 31,
    (1 << 31) + 1,
    (1 << 32) - 3,
    (1 << 32) - 2,
    (1 << 32) - 1,
    1 << 32,
    (1 << 32) + 1,
    3 << 40,
    (1 << 51) + 1,
    (1 << 52) - 1,
    1 << 52,
    (1 << 52) + 1,
    1 << 63,
    u64::MAX,
];

/// Checks [`Reciprocal::quotient`] against the `/` operator for every divisor of [`DIVISORS`],
/// at the dividends where a wrong multiplier or shift shows first: around the first multiples
/// of the divisor, around the largest multiple below `1 << RECIPROCAL_BITS`, and at that limit.
///
/// Returns the first divisor and dividend whose quotients differ.
pub fn check_reciprocals() -> Result<(), (u64, u64)> {
    let limit = 1u64 << RECIPROCAL_BITS;
    for &d in DIVISORS {
        let Some(nz) = NonZeroU64::new(d) else {
            return Err((d, 0));
        };
        let r = Reciprocal::new(nz);
        let top = (limit - 1) / d * d;
        let near = [
            0,
            d,
            d.saturating_mul(2),
            d.saturating_mul(3),
            top,
            top.saturating_sub(d),
            limit - 1,
            limit / 2,
        ];
        for base in near {
            for n in [base.wrapping_sub(1), base, base.saturating_add(1)] {
                if n < limit && r.quotient(n) != n / d {
                    return Err((d, n));
                }
            }
        }
    }
    Ok(())
}

/// Two 64 MiB devices.
const DEVS: &[u64] = &[64 * MIB, 64 * MIB];
/// One device as large as the format allows.
const HUGE: &[u64] = &[u64::MAX - (K4 - 1)];

/// Returns an expected mapping.
const fn map(dev: u32, dev_offset: u64, file_offset: u64, len: u64) -> Result<Mapping, Error> {
    Ok(Mapping {
        dev,
        dev_offset,
        file_offset,
        len,
    })
}

/// Returns an expected [`Error::PastEof`].
const fn eof(pos: u64) -> Result<Mapping, Error> {
    Err(Error::PastEof { pos })
}

/// Returns a probe.
const fn at(pos: u64, expect: Result<Mapping, Error>) -> Probe {
    Probe { pos, expect }
}

/// Returns a case with the default buffer size.
const fn case(
    name: &'static str,
    devs: &'static [u64],
    build: fn(&mut Writer<'_>),
    expect: Expect,
) -> Case {
    Case {
        name,
        devs,
        buf_len: BUF,
        build,
        expect,
    }
}

/// Returns an error expectation.
const fn err(e: Error) -> Expect {
    Expect::Err(e)
}

/// Offset of field `field` of simple extent `i` of a simple map.
const fn se(i: usize, field: usize) -> usize {
    HEADER_SIZE + i * SIMPLE_EXT_SIZE + field
}

/// Writes a valid one-extent map of 2 MiB on device 0 at 4 MiB.
fn one_extent(w: &mut Writer<'_>) {
    w.header(REG, EXT_SIMPLE, 1, M2).simple(0, 4 * MIB, M2);
}

/// Writes a valid interleaved map: 4 strips, 2 MiB chunks, 16 MiB of file.
fn four_strips(w: &mut Writer<'_>) {
    w.header(REG, EXT_INTERLEAVE, 1, 16 * MIB)
        .iext(4, 2 << 20, 16 * MIB)
        .simple(0, 0, 4 * MIB)
        .simple(1, 0, 4 * MIB)
        .simple(0, 8 * MIB, 4 * MIB)
        .simple(1, 16 * MIB, 4 * MIB);
}

/// All cases: valid maps first, then one or more per validation rule.
pub static CASES: &[Case] = &[
    case(
        "one simple extent",
        DEVS,
        one_extent,
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(0, map(0, 4 * MIB, 0, M2)),
                at(K4, map(0, 4 * MIB + K4, K4, M2 - K4)),
                at(M2 - 1, map(0, 6 * MIB - 1, M2 - 1, 1)),
                at(M2, eof(M2)),
                at(u64::MAX, eof(u64::MAX)),
            ],
        },
    ),
    case(
        "uniform power-of-two extents, longer last one",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 3, 10 * MIB)
                .simple(1, 0, M2)
                .simple(0, 10 * MIB, M2)
                .simple(1, 32 * MIB, 6 * MIB);
        },
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(MIB, map(1, MIB, MIB, MIB)),
                at(M2, map(0, 10 * MIB, M2, M2)),
                at(
                    4 * MIB + K4,
                    map(1, 32 * MIB + K4, 4 * MIB + K4, 6 * MIB - K4),
                ),
                at(9 * MIB, map(1, 37 * MIB, 9 * MIB, MIB)),
                at(10 * MIB, eof(10 * MIB)),
            ],
        },
    ),
    case(
        "uniform extents of a length not a power of two",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 3, 17 * MIB)
                .simple(0, 0, 6 * MIB)
                .simple(1, 0, 6 * MIB)
                .simple(0, 6 * MIB, 6 * MIB);
        },
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(6 * MIB - 1, map(0, 6 * MIB - 1, 6 * MIB - 1, 1)),
                at(6 * MIB, map(1, 0, 6 * MIB, 6 * MIB)),
                at(13 * MIB, map(0, 7 * MIB, 13 * MIB, 4 * MIB)),
                at(17 * MIB, eof(17 * MIB)),
            ],
        },
    ),
    case(
        "uniform 12 KiB extents, longer last one",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 8, 104 * 1024 - 100);
            for i in 0..7u32 {
                w.simple(i & 1, u64::from(i) * 12 * 1024, 12 * 1024);
            }
            w.simple(1, MIB, 20 * 1024);
        },
        Expect::Ok {
            pmd_unaligned: 8,
            probes: &[
                at(12 * 1024 - 1, map(0, 12 * 1024 - 1, 12 * 1024 - 1, 1)),
                at(12 * 1024, map(1, 12 * 1024, 12 * 1024, 12 * 1024)),
                at(
                    72 * 1024 + 5,
                    map(0, 72 * 1024 + 5, 72 * 1024 + 5, 12 * 1024 - 5),
                ),
                at(84 * 1024, map(1, MIB, 84 * 1024, 20 * 1024)),
                at(
                    104 * 1024 - 101,
                    map(1, MIB + 20 * 1024 - 101, 104 * 1024 - 101, 101),
                ),
                at(104 * 1024 - 100, eof(104 * 1024 - 100)),
            ],
        },
    ),
    case(
        "uniform extents of 3 << 60 bytes and a 4 KiB one",
        HUGE,
        |w| {
            w.header(REG, EXT_SIMPLE, 3, 6 * (1 << 60) + K4 - 1)
                .simple(0, 3 << 60, 3 << 60)
                .simple(0, 0, 3 << 60)
                .simple(0, 6 << 60, K4);
        },
        Expect::Ok {
            pmd_unaligned: 1,
            probes: &[
                at((3 << 60) - 1, map(0, (6 << 60) - 1, (3 << 60) - 1, 1)),
                at(3 << 60, map(0, 0, 3 << 60, 3 << 60)),
                at(
                    (6 << 60) - K4 + 3,
                    map(0, (3 << 60) - K4 + 3, (6 << 60) - K4 + 3, K4 - 3),
                ),
                at(
                    (6 << 60) + K4 - 2,
                    map(0, (6 << 60) + K4 - 2, (6 << 60) + K4 - 2, 2),
                ),
                at((6 << 60) + K4 - 1, eof((6 << 60) + K4 - 1)),
            ],
        },
    ),
    // 2^51 chunks of 4 KiB dealt to 3 strips: 2^51 % 3 == 2, so strips 0 and 1 hold
    // (2^51 + 1) / 3 chunks and strip 2 one less. The strips lie back to back on the device.
    case(
        "3 strips of 4 KiB chunks up to MAX_LFS_FILESIZE",
        HUGE,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, i64::MAX.unsigned_abs())
                .iext(3, 4096, 1 << 63)
                .simple(0, 0, 3_074_457_345_618_259_968)
                .simple(0, 3_074_457_345_618_259_968, 3_074_457_345_618_259_968)
                .simple(0, 6_148_914_691_236_519_936, 3_074_457_345_618_255_872);
        },
        Expect::Ok {
            pmd_unaligned: 4,
            probes: &[
                // Chunk 2^51 - 1: strip 1, stripe (2^51 - 2) / 3.
                at(
                    (1 << 63) - 2,
                    map(0, 6_148_914_691_236_519_934, (1 << 63) - 2, 2),
                ),
                // Chunk 2^50 + 3: strip 1 (2^50 % 3 == 1), stripe (2^50 + 2) / 3, 57 bytes in.
                at(
                    (1 << 62) + 12345,
                    map(0, 4_611_686_018_427_392_057, (1 << 62) + 12345, K4 - 57),
                ),
                // Chunk 3000009: strip 0, stripe 1000003.
                at(
                    3 * K4 * 1_000_003 + 5,
                    map(0, 4_096_012_293, 12_288_036_869, K4 - 5),
                ),
                // Chunk 2^51 - 3: the last chunk of strip 2.
                at(
                    (1 << 63) - 3 * K4,
                    map(0, (1 << 63) - K4, (1 << 63) - 3 * K4, K4),
                ),
                at(i64::MAX.unsigned_abs(), eof(i64::MAX.unsigned_abs())),
            ],
        },
    ),
    // The most strips one blob holds: 699048, not a power of two, two 4 KiB chunks each.
    Case {
        name: "most strips a blob holds",
        devs: HUGE,
        buf_len: MAX_SIZE,
        build: |w| {
            w.header(REG, EXT_INTERLEAVE, 1, 2 * 699_048 * K4).iext(
                699_048,
                4096,
                2 * 699_048 * K4,
            );
            for k in 0..699_048u64 {
                w.simple(0, k * 2 * K4, 2 * K4);
            }
        },
        expect: Expect::Ok {
            pmd_unaligned: 699_049,
            probes: &[
                at(
                    (699_048 + 5) * K4 + 7,
                    map(0, 5 * 2 * K4 + K4 + 7, (699_048 + 5) * K4 + 7, K4 - 7),
                ),
                at(699_047 * K4, map(0, 699_047 * 2 * K4, 699_047 * K4, K4)),
                at(
                    (2 * 699_048 - 1) * K4 + 4095,
                    map(
                        0,
                        699_047 * 2 * K4 + K4 + 4095,
                        (2 * 699_048 - 1) * K4 + 4095,
                        1,
                    ),
                ),
                at(2 * 699_048 * K4, eof(2 * 699_048 * K4)),
            ],
        },
    },
    case(
        "extents of different lengths",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 4, 16 * MIB)
                .simple(0, 0, M2)
                .simple(1, 0, 4 * MIB)
                .simple(0, M2, M2)
                .simple(1, 8 * MIB, 8 * MIB);
        },
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(0, map(0, 0, 0, M2)),
                at(M2, map(1, 0, M2, 4 * MIB)),
                at(5 * MIB, map(1, 3 * MIB, 5 * MIB, MIB)),
                at(6 * MIB, map(0, M2, 6 * MIB, M2)),
                at(8 * MIB, map(1, 8 * MIB, 8 * MIB, 8 * MIB)),
                at(16 * MIB - K4, map(1, 16 * MIB - K4, 16 * MIB - K4, K4)),
                at(16 * MIB, eof(16 * MIB)),
            ],
        },
    ),
    case(
        "four strips of 2 MiB chunks",
        DEVS,
        four_strips,
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(0, map(0, 0, 0, M2)),
                at(3 * MIB, map(1, MIB, 3 * MIB, MIB)),
                at(6 * MIB, map(1, 16 * MIB, 6 * MIB, M2)),
                at(8 * MIB, map(0, M2, 8 * MIB, M2)),
                // The famfs example: chunk 7, strip 3, stripe 1.
                at(15 * MIB, map(1, 19 * MIB, 15 * MIB, MIB)),
                at(16 * MIB, eof(16 * MIB)),
            ],
        },
    ),
    case(
        "interleave with a partial last stripe and 4 KiB chunks",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, 5 * K4)
                .iext(3, 4096, 5 * K4)
                .simple(0, 0, 2 * K4)
                .simple(1, 0, 2 * K4)
                .simple(1, MIB, K4);
        },
        Expect::Ok {
            pmd_unaligned: 4,
            probes: &[
                at(0, map(0, 0, 0, K4)),
                at(K4 + 5, map(1, 5, K4 + 5, K4 - 5)),
                at(2 * K4, map(1, MIB, 2 * K4, K4)),
                at(3 * K4, map(0, K4, 3 * K4, K4)),
                at(4 * K4, map(1, K4, 4 * K4, K4)),
                at(5 * K4, eof(5 * K4)),
            ],
        },
    ),
    case(
        "two interleaved extents of different geometry",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 2, 12 * MIB)
                .iext(2, 1 << 20, 4 * MIB)
                .simple(0, 0, M2)
                .simple(1, 0, M2)
                .iext(1, 4 << 20, 8 * MIB)
                .simple(1, 32 * MIB, 8 * MIB);
        },
        Expect::Ok {
            pmd_unaligned: 1,
            probes: &[
                at(MIB, map(1, 0, MIB, MIB)),
                at(3 * MIB, map(1, MIB, 3 * MIB, MIB)),
                at(4 * MIB, map(1, 32 * MIB, 4 * MIB, 4 * MIB)),
                at(9 * MIB, map(1, 37 * MIB, 9 * MIB, 3 * MIB)),
                at(12 * MIB, eof(12 * MIB)),
            ],
        },
    ),
    case(
        "4 KiB aligned extents are valid but not PMD capable",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 2, 3 * K4)
                .simple(0, K4, K4)
                .simple(1, M2, M2 + K4);
        },
        Expect::Ok {
            pmd_unaligned: 2,
            probes: &[at(0, map(0, K4, 0, K4)), at(K4, map(1, M2, K4, 2 * K4))],
        },
    ),
    case(
        "file smaller than its extents ends at its last page",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 1, 5000).simple(0, 0, M2);
        },
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(0, map(0, 0, 0, 2 * K4)),
                at(4999, map(0, 4999, 4999, 2 * K4 - 4999)),
                at(5000, eof(5000)),
            ],
        },
    ),
    case(
        "empty file resolves nothing",
        DEVS,
        |w| {
            w.header(2, EXT_SIMPLE, 1, 0).simple(0, 0, M2);
        },
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[at(0, eof(0))],
        },
    ),
    case(
        "short blob",
        DEVS,
        |w| {
            w.zeros(HEADER_SIZE - 1);
        },
        err(Error::Truncated {
            len: HEADER_SIZE - 1,
        }),
    ),
    case("empty blob", DEVS, |_| {}, err(Error::Truncated { len: 0 })),
    Case {
        name: "blob over 16 MiB",
        devs: DEVS,
        buf_len: MAX_SIZE + SIMPLE_EXT_SIZE,
        build: |w| {
            w.header(REG, EXT_SIMPLE, 1, M2)
                .simple(0, 0, M2)
                .zeros(MAX_SIZE - HEADER_SIZE);
        },
        expect: err(Error::TooLarge {
            len: MAX_SIZE + SIMPLE_EXT_SIZE,
        }),
    },
    case(
        "fmap_size larger than the blob",
        DEVS,
        |w| {
            one_extent(w);
            w.fmap_size(80);
        },
        err(Error::SizeMismatch {
            fmap_size: 80,
            len: 56,
        }),
    ),
    case(
        "fmap_size zero (famfs V10 reserved0)",
        DEVS,
        |w| {
            one_extent(w);
            w.fmap_size(0);
        },
        err(Error::SizeMismatch {
            fmap_size: 0,
            len: 56,
        }),
    ),
    case(
        "unknown version",
        DEVS,
        |w| {
            one_extent(w);
            w.set_u16(2, 2);
        },
        err(Error::BadVersion { version: 2 }),
    ),
    case(
        "unknown file type",
        DEVS,
        |w| {
            one_extent(w);
            w.set_u8(0, 3);
        },
        err(Error::BadFileType { file_type: 3 }),
    ),
    case(
        "unknown extent type",
        DEVS,
        |w| {
            one_extent(w);
            w.set_u32(4, 2);
        },
        err(Error::BadExtType { ext_type: 2 }),
    ),
    case(
        "header reserved byte set",
        DEVS,
        |w| {
            one_extent(w);
            w.set_u8(1, 1);
        },
        err(Error::Reserved { site: Site::Header }),
    ),
    case(
        "header reserved1 set",
        DEVS,
        |w| {
            one_extent(w);
            w.set_u64(24, 1 << 40);
        },
        err(Error::Reserved { site: Site::Header }),
    ),
    case(
        "simple extent reserved set",
        DEVS,
        |w| {
            one_extent(w);
            w.set_u32(se(0, 4), 1);
        },
        err(Error::Reserved {
            site: Site::Extent(0),
        }),
    ),
    case(
        "interleaved extent reserved set",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u64(HEADER_SIZE + 16, 1);
        },
        err(Error::Reserved {
            site: Site::Extent(0),
        }),
    ),
    case(
        "strip reserved set",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u32(HEADER_SIZE + IEXT_SIZE + 2 * SIMPLE_EXT_SIZE + 4, 1);
        },
        err(Error::Reserved {
            site: Site::Strip(0, 2),
        }),
    ),
    case(
        "file size above MAX_LFS_FILESIZE",
        HUGE,
        |w| {
            w.header(REG, EXT_SIMPLE, 1, 1 << 63).simple(0, 0, 1 << 63);
        },
        err(Error::FileTooBig { file_size: 1 << 63 }),
    ),
    case(
        "no extents",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 0, 0);
        },
        err(Error::NoExtents),
    ),
    case(
        "more simple extents announced than present",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 3, M2)
                .simple(0, 0, M2)
                .simple(0, M2, M2);
        },
        err(Error::ExtentsPastBlob { ext: 2 }),
    ),
    case(
        "simple extent count overflowing the blob size",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, u32::MAX, M2).simple(0, 0, M2);
        },
        err(Error::ExtentsPastBlob { ext: 1 }),
    ),
    case(
        "more interleaved extents announced than present",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u32(8, 2);
        },
        err(Error::ExtentsPastBlob { ext: 1 }),
    ),
    case(
        "more strips announced than present",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u32(HEADER_SIZE, 5);
        },
        err(Error::StripsPastBlob { ext: 0 }),
    ),
    case(
        "strip count overflowing the blob size",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u32(HEADER_SIZE, u32::MAX);
        },
        err(Error::StripsPastBlob { ext: 0 }),
    ),
    case(
        "bytes after the last extent",
        DEVS,
        |w| {
            one_extent(w);
            w.zeros(SIMPLE_EXT_SIZE);
        },
        err(Error::TrailingBytes {
            extra: SIMPLE_EXT_SIZE,
        }),
    ),
    case(
        "interleaved extent without strips",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, M2).iext(0, 2 << 20, M2);
        },
        err(Error::NoStrips { ext: 0 }),
    ),
    case(
        "chunk size not a power of two",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, 3 * K4)
                .iext(1, 3 * 4096, 3 * K4)
                .simple(0, 0, 3 * K4);
        },
        err(Error::BadChunk {
            ext: 0,
            chunk: 3 * 4096,
        }),
    ),
    case(
        "chunk size below 4 KiB",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, K4)
                .iext(1, 2048, K4)
                .simple(0, 0, K4);
        },
        err(Error::BadChunk {
            ext: 0,
            chunk: 2048,
        }),
    ),
    case(
        "chunk size zero",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, K4)
                .iext(1, 0, K4)
                .simple(0, 0, K4);
        },
        err(Error::BadChunk { ext: 0, chunk: 0 }),
    ),
    case(
        "ie_nbytes not a multiple of the chunk size in the last extent",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, 3 * K4)
                .iext(2, 8192, 3 * K4)
                .simple(0, 0, 2 * K4)
                .simple(1, 0, K4);
        },
        Expect::Ok {
            pmd_unaligned: 3,
            probes: &[
                at(0, map(0, 0, 0, 2 * K4)),
                at(2 * K4 + 7, map(1, 7, 2 * K4 + 7, K4 - 7)),
                at(3 * K4, eof(3 * K4)),
            ],
        },
    ),
    case(
        "famfs striped file: byte count is the file size, last chunk partial",
        DEVS,
        |w| {
            // data/striped_odd of the famfs-made fixture: 7 MiB + 12345 bytes, 3 strips
            // of 4 MiB, 2 MiB chunks.
            w.header(REG, EXT_INTERLEAVE, 1, 7 * MIB + 12345)
                .iext(3, 1 << 21, 7 * MIB + 12345)
                .simple(0, 0, 4 * MIB)
                .simple(1, 0, 4 * MIB)
                .simple(0, 8 * MIB, 4 * MIB);
        },
        Expect::Ok {
            pmd_unaligned: 0,
            probes: &[
                at(0, map(0, 0, 0, M2)),
                at(3 * MIB, map(1, MIB, 3 * MIB, MIB)),
                at(5 * MIB, map(0, 9 * MIB, 5 * MIB, MIB)),
                // Chunk 3 is partial: strip 0, stripe 1; the mapping stops at the page
                // holding the last byte.
                at(6 * MIB, map(0, M2, 6 * MIB, MIB + 16384)),
                at(
                    7 * MIB + 12344,
                    map(0, 3 * MIB + 12344, 7 * MIB + 12344, 4040),
                ),
                at(7 * MIB + 12345, eof(7 * MIB + 12345)),
            ],
        },
    ),
    case(
        "partial chunk before the last interleaved extent",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 2, 5 * K4)
                .iext(2, 8192, 3 * K4)
                .simple(0, 0, 2 * K4)
                .simple(1, 0, 2 * K4)
                .iext(1, 8192, 2 * K4)
                .simple(0, MIB, 2 * K4);
        },
        err(Error::PartialChunk { ext: 0 }),
    ),
    case(
        "strip too short for a partial last chunk",
        DEVS,
        |w| {
            // The partial chunk holds 4097 bytes: its strip needs two pages of it.
            w.header(REG, EXT_INTERLEAVE, 1, 8192 + 4097)
                .iext(2, 8192, 8192 + 4097)
                .simple(0, 0, 2 * K4)
                .simple(1, 0, K4);
        },
        err(Error::StripTooShort {
            site: Site::Strip(0, 1),
        }),
    ),
    case(
        "zero-length simple extent",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 2, M2)
                .simple(0, 0, M2)
                .simple(0, M2, 0);
        },
        err(Error::ZeroLength {
            site: Site::Extent(1),
        }),
    ),
    case(
        "zero-length interleaved extent",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, 0)
                .iext(1, 4096, 0)
                .simple(0, 0, K4);
        },
        err(Error::ZeroLength {
            site: Site::Extent(0),
        }),
    ),
    case(
        "zero-length strip",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, K4)
                .iext(2, 4096, K4)
                .simple(0, 0, K4)
                .simple(1, 0, 0);
        },
        err(Error::ZeroLength {
            site: Site::Strip(0, 1),
        }),
    ),
    case(
        "device index outside the table",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 2, 4 * MIB)
                .simple(1, 0, M2)
                .simple(2, 0, M2);
        },
        err(Error::BadDevice {
            site: Site::Extent(1),
            dev: 2,
        }),
    ),
    case(
        "strip device index outside the table",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u32(HEADER_SIZE + IEXT_SIZE + 3 * SIMPLE_EXT_SIZE, u32::MAX);
        },
        err(Error::BadDevice {
            site: Site::Strip(0, 3),
            dev: u32::MAX,
        }),
    ),
    case(
        "unaligned offset",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 1, M2).simple(0, 512, M2);
        },
        err(Error::Unaligned {
            site: Site::Extent(0),
        }),
    ),
    case(
        "unaligned length",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 1, 100).simple(0, 0, 100);
        },
        err(Error::Unaligned {
            site: Site::Extent(0),
        }),
    ),
    case(
        "unaligned strip",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u64(HEADER_SIZE + IEXT_SIZE + SIMPLE_EXT_SIZE + 8, 8);
        },
        err(Error::Unaligned {
            site: Site::Strip(0, 1),
        }),
    ),
    case(
        "extent ends past its device",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 2, 4 * MIB)
                .simple(0, 0, M2)
                .simple(1, 63 * MIB, M2);
        },
        err(Error::PastDevice {
            site: Site::Extent(1),
            dev: 1,
        }),
    ),
    case(
        "strip ends past its device",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u64(HEADER_SIZE + IEXT_SIZE + 8, 62 * MIB);
        },
        err(Error::PastDevice {
            site: Site::Strip(0, 0),
            dev: 0,
        }),
    ),
    case(
        "extent end overflows",
        HUGE,
        |w| {
            w.header(REG, EXT_SIMPLE, 1, K4)
                .simple(0, u64::MAX - (K4 - 1), K4);
        },
        err(Error::Overflow {
            site: Site::Extent(0),
        }),
    ),
    case(
        "extent lengths overflow",
        HUGE,
        |w| {
            w.header(REG, EXT_SIMPLE, 2, K4)
                .simple(0, 0, 1 << 63)
                .simple(0, 0, 1 << 63);
        },
        err(Error::Overflow {
            site: Site::Extent(1),
        }),
    ),
    case(
        "interleaved extent lengths overflow",
        HUGE,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 2, K4)
                .iext(1, 4096, 1 << 63)
                .simple(0, 0, 1 << 63)
                .iext(1, 4096, 1 << 63)
                .simple(0, 1 << 63, 1 << 62);
        },
        err(Error::StripTooShort {
            site: Site::Strip(1, 0),
        }),
    ),
    case(
        "interleaved extent sizes overflow",
        HUGE,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 2, K4)
                .iext(1, 4096, 1 << 63)
                .simple(0, 0, 1 << 63)
                .iext(1, 4096, 1 << 63)
                .simple(0, 0, 1 << 63);
        },
        err(Error::Overflow {
            site: Site::Extent(1),
        }),
    ),
    case(
        "strip shorter than its chunks",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u64(HEADER_SIZE + IEXT_SIZE + 3 * SIMPLE_EXT_SIZE + 16, M2);
        },
        err(Error::StripTooShort {
            site: Site::Strip(0, 3),
        }),
    ),
    case(
        "first strip of a partial stripe too short",
        DEVS,
        |w| {
            w.header(REG, EXT_INTERLEAVE, 1, 5 * K4)
                .iext(3, 4096, 5 * K4)
                .simple(0, 0, 2 * K4)
                .simple(1, 0, K4)
                .simple(1, MIB, K4);
        },
        err(Error::StripTooShort {
            site: Site::Strip(0, 1),
        }),
    ),
    case(
        "extents do not cover the file",
        DEVS,
        |w| {
            w.header(REG, EXT_SIMPLE, 2, 4 * MIB + 1)
                .simple(0, 0, M2)
                .simple(1, 0, M2);
        },
        err(Error::ShortCoverage {
            covered: 4 * MIB,
            file_size: 4 * MIB + 1,
        }),
    ),
    case(
        "interleaved extents do not cover the file",
        DEVS,
        |w| {
            four_strips(w);
            w.set_u64(16, 16 * MIB + K4);
        },
        err(Error::ShortCoverage {
            covered: 16 * MIB,
            file_size: 16 * MIB + K4,
        }),
    ),
];
