// SPDX-License-Identifier: GPL-2.0

//! The host model of what the kernel does with a famfs map blob sent as a
//! `FUSE_IOMAP_DAX_GETMAP` reply to the `famfs` provider, for the guest test that replays
//! the fuzzing corpus through the real kernel path (`selftests/famfs_iomap/fmap_replay_test.c`).
//!
//! It runs inside the guest, with the guest's real device sizes:
//!
//! ```text
//! fmap_model --devs SIZE0,SIZE1 BLOB
//!     prints the outcome of one blob (see below)
//! fmap_model --devs SIZE0,SIZE1 --seed N --mutations M --out DIR CORPUS_FILE...
//!     writes DIR/NNNNN.bin for every corpus blob and M seeded mutations of them, and
//!     DIR/expect with one outcome line per case
//! ```
//!
//! A corpus file is a fuzzer input ([`famfs_fmap::split_fuzz_input`]); its device table is
//! dropped, the blob is judged against `--devs`. An outcome line is
//!
//! ```text
//! CASE <n> <blob length> ERR <errno>
//! CASE <n> <blob length> OK <file size> <samples> {<file offset> <device> <device offset>}...
//! ```
//!
//! `ERR` is the errno the open must fail with: the fmap core's (`Error::errno`), `EIO` for an
//! empty blob (fuse refuses a map of size 0) and `EBUSY` for a map whose device ranges overlap
//! each other (fuse's range check). `OK` gives 8-byte aligned file offsets below the file size
//! and the device address each must read from, computed by walking the extents here, apart
//! from [`famfs_fmap::Fmap::resolve`] (which must agree).

use famfs_fmap::{
    fmap::{ExtType, Extent, Mapping, ALIGN, HDR_FMAP_SIZE, HEADER_SIZE},
    split_fuzz_input, Fmap,
};
use std::{env, fmt::Write as _, fs, io, path::PathBuf, process::ExitCode};

/// `EIO`: fuse refuses a GETMAP reply announcing a map of 0 bytes.
const EIO: i32 = 5;
/// `EBUSY`: fuse refuses a map whose device ranges overlap (each other, here).
const EBUSY: i32 = 16;
/// Corpus files larger than this are left out.
const MAX_CORPUS_FILE: usize = 64 << 10;
/// At most this many samples per map.
const MAX_SAMPLES: usize = 12;

/// What the kernel must do with one blob.
enum Outcome {
    /// The open fails with this errno.
    Err(i32),
    /// The open works: the file size and `(file offset, device, device offset)` samples.
    Ok(u64, Vec<(u64, u32, u64)>),
}

/// A deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The device address of file offset `pos`, by walking the parsed extents.
fn walk(f: &Fmap, pos: u64) -> Option<(u32, u64)> {
    let exts: &[Extent] = f.extents();
    let mut start = 0u64;
    match f.ext_type() {
        ExtType::Simple => {
            for e in exts {
                if pos < start + e.len() {
                    return Some((e.dev(), e.offset() + (pos - start)));
                }
                start += e.len();
            }
            None
        }
        ExtType::Interleave => {
            for ie in f.interleaves() {
                if pos < start + ie.nbytes {
                    let off = pos - start;
                    let chunk = 1u64 << ie.chunk_shift;
                    let n = u64::from(ie.nstrips.get());
                    let c = off / chunk;
                    let k = usize::try_from(u64::from(ie.first_strip) + c % n).ok()?;
                    let e = exts.get(k)?;
                    return Some((e.dev(), e.offset() + (c / n) * chunk + off % chunk));
                }
                start += ie.nbytes;
            }
            None
        }
    }
}

/// Whether two of the map's device ranges overlap, as fuse's range tree would find.
fn overlaps(exts: &[Extent]) -> bool {
    let mut v: Vec<(u32, u64, u64)> = exts
        .iter()
        .map(|e| (e.dev(), e.offset(), e.len()))
        .collect();
    v.sort_unstable();
    v.windows(2).any(|w| match w {
        [a, b] => a.0 == b.0 && a.1 + a.2 > b.1,
        _ => false,
    })
}

/// What the kernel must do with `blob` on devices of `devs` bytes.
fn judge(blob: &[u8], devs: &[u64], rng: &mut Rng) -> Result<Outcome, String> {
    if blob.is_empty() {
        return Ok(Outcome::Err(EIO));
    }
    let f = match famfs_fmap::parse(blob, devs) {
        Ok(f) => f,
        Err(e) => return Ok(Outcome::Err(e.errno())),
    };
    if overlaps(f.extents()) {
        return Ok(Outcome::Err(EBUSY));
    }
    let size = f.file_size();
    let mut samples = Vec::new();
    if size >= 8 {
        let last = (size - 8) & !7;
        let mut offs = vec![0, last, (last / 2) & !7];
        while offs.len() < MAX_SAMPLES {
            offs.push(rng.below(last + 1) & !7);
        }
        for pos in offs {
            let (dev, addr) = walk(&f, pos).ok_or(format!("no extent holds {pos}"))?;
            match famfs_fmap::resolve(&f, pos) {
                Ok(Mapping {
                    dev: d, dev_offset, ..
                }) if d == dev && dev_offset == addr => {}
                r => {
                    return Err(format!(
                        "resolve({pos}) = {r:?}, the walk says {dev}:{addr}"
                    ))
                }
            }
            samples.push((pos, dev, addr));
        }
    }
    Ok(Outcome::Ok(size, samples))
}

/// One outcome line, without the case number.
fn line(out: &Outcome) -> String {
    match out {
        Outcome::Err(e) => format!("ERR {e}"),
        Outcome::Ok(size, samples) => {
            let mut s = format!("OK {size} {}", samples.len());
            for (pos, dev, addr) in samples {
                let _ = write!(s, " {pos} {dev} {addr}");
            }
            s
        }
    }
}

/// A value worth writing over a field: edges of the devices and of the format.
fn interesting(rng: &mut Rng, devs: &[u64]) -> u64 {
    let dev = devs
        .get(usize::try_from(rng.below(devs.len() as u64)).unwrap_or(0))
        .copied()
        .unwrap_or(ALIGN);
    match rng.below(12) {
        0 => 0,
        1 => 1,
        2 => ALIGN,
        3 => 2 << 20,
        4 => dev,
        5 => dev - ALIGN,
        6 => rng.below(dev / ALIGN) * ALIGN,
        7 => rng.below(dev / (2 << 20)) * (2 << 20),
        8 => u64::from(u32::MAX),
        9 => u64::MAX,
        10 => rng.below(4),
        _ => rng.next(),
    }
}

/// A fresh map of random extents on the devices: many of them are valid.
fn fresh(rng: &mut Rng, devs: &[u64]) -> Vec<u8> {
    let ndevs = devs.len() as u64;
    let dev = |rng: &mut Rng| u32::try_from(rng.below(ndevs)).unwrap_or(0);
    let size_of = |d: u32| devs.get(d as usize).copied().unwrap_or(0);
    let unit = if rng.below(2) == 0 { ALIGN } else { 2 << 20 };
    let ext = |rng: &mut Rng, len: u64| {
        let d = dev(rng);
        let room = size_of(d).saturating_sub(len) / unit;
        (d, rng.below(room + 1) * unit, len)
    };
    let mut body = Vec::new();
    let (ext_type, nextents, covered) = if rng.below(2) == 0 {
        let n = 1 + rng.below(6);
        let mut covered = 0;
        for _ in 0..n {
            let len = (1 + rng.below(8)) * unit;
            let (d, off, len) = ext(rng, len);
            push_ext(&mut body, d, off, len);
            covered += len;
        }
        (0u32, n, covered)
    } else {
        let nstrips = 1 + rng.below(4);
        let chunk = ALIGN << rng.below(10);
        let nbytes = (1 + rng.below(16)) * chunk - rng.below(2) * ALIGN * rng.below(chunk / ALIGN);
        let per = nbytes.div_ceil(chunk).div_ceil(nstrips) * chunk;
        body.extend_from_slice(&(nstrips as u32).to_le_bytes());
        body.extend_from_slice(&(chunk as u32).to_le_bytes());
        body.extend_from_slice(&nbytes.to_le_bytes());
        body.extend_from_slice(&0u64.to_le_bytes());
        for _ in 0..nstrips {
            let (d, off, len) = ext(rng, per);
            push_ext(&mut body, d, off, len);
        }
        (1u32, 1, nbytes)
    };
    let file_size = covered - rng.below(2) * rng.below(covered.min(3 * ALIGN));
    let len = HEADER_SIZE + body.len();
    let mut blob = Vec::with_capacity(len);
    blob.push(0); // file_type: regular
    blob.push(0);
    blob.extend_from_slice(&1u16.to_le_bytes());
    blob.extend_from_slice(&ext_type.to_le_bytes());
    blob.extend_from_slice(&(nextents as u32).to_le_bytes());
    blob.extend_from_slice(&(len as u32).to_le_bytes());
    blob.extend_from_slice(&file_size.to_le_bytes());
    blob.extend_from_slice(&0u64.to_le_bytes());
    blob.extend_from_slice(&body);
    blob
}

fn push_ext(body: &mut Vec<u8>, dev: u32, off: u64, len: u64) {
    body.extend_from_slice(&dev.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&off.to_le_bytes());
    body.extend_from_slice(&len.to_le_bytes());
}

/// A mutation of `base`: a fresh map, or one to four edits of either.
fn mutate(rng: &mut Rng, base: &[u8], devs: &[u64]) -> Vec<u8> {
    let is_fresh = rng.below(5) < 2;
    let mut b = if is_fresh {
        fresh(rng, devs)
    } else {
        base.to_vec()
    };
    // Half of the fresh maps are left as they are: valid, or overlapping.
    let edits = if is_fresh && rng.below(2) == 0 {
        0
    } else {
        1 + rng.below(4)
    };
    for _ in 0..edits {
        let len = b.len() as u64;
        match rng.below(8) {
            0..=2 if len >= 8 => {
                let at = usize::try_from(rng.below(len / 8) * 8).unwrap_or(0);
                let v = interesting(rng, devs);
                if let Some(f) = b.get_mut(at..at + 8) {
                    f.copy_from_slice(&v.to_le_bytes());
                }
            }
            3 if len >= 4 => {
                let at = usize::try_from(rng.below(len / 4) * 4).unwrap_or(0);
                let v = interesting(rng, devs) as u32;
                if let Some(f) = b.get_mut(at..at + 4) {
                    f.copy_from_slice(&v.to_le_bytes());
                }
            }
            4 if len > 0 => {
                let at = usize::try_from(rng.below(len)).unwrap_or(0);
                if let Some(x) = b.get_mut(at) {
                    *x ^= 1 << rng.below(8);
                }
            }
            5 => b.truncate(usize::try_from(rng.below(len + 1)).unwrap_or(0)),
            6 => {
                for _ in 0..rng.below(48) {
                    b.push(rng.next() as u8);
                }
            }
            _ => {}
        }
    }
    // Mostly keep fmap_size right, so that the extents get looked at.
    if b.len() >= HEADER_SIZE && rng.below(4) != 0 {
        let n = b.len() as u32;
        if let Some(f) = b.get_mut(HDR_FMAP_SIZE..HDR_FMAP_SIZE + 4) {
            f.copy_from_slice(&n.to_le_bytes());
        }
    }
    b
}

fn parse_devs(s: &str) -> Option<Vec<u64>> {
    let v: Option<Vec<u64>> = s.split(',').map(|x| x.parse().ok()).collect();
    v.filter(|v| (1..=4).contains(&v.len()))
}

struct Args {
    devs: Vec<u64>,
    seed: u64,
    mutations: u64,
    out: Option<PathBuf>,
    files: Vec<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        devs: Vec::new(),
        seed: 1,
        mutations: 0,
        out: None,
        files: Vec::new(),
    };
    let mut it = env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--devs" => a.devs = parse_devs(&val()?).ok_or("--devs SIZE[,SIZE...] (1 to 4)")?,
            "--seed" => a.seed = val()?.parse().map_err(|_| "bad --seed")?,
            "--mutations" => a.mutations = val()?.parse().map_err(|_| "bad --mutations")?,
            "--out" => a.out = Some(PathBuf::from(val()?)),
            _ => a.files.push(PathBuf::from(arg)),
        }
    }
    if a.devs.is_empty() || a.files.is_empty() {
        return Err(
            "usage: fmap_model --devs SIZE0[,SIZE1...] [--seed N --mutations M \
                    --out DIR] FILE..."
                .into(),
        );
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let a = args()?;
    let io = |e: io::Error| e.to_string();
    // The seed also varies the samples, case by case.
    let mut rng = Rng(a.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let Some(dir) = a.out else {
        for f in &a.files {
            let blob = fs::read(f).map_err(io)?;
            println!("{}", line(&judge(&blob, &a.devs, &mut rng)?));
        }
        return Ok(());
    };
    fs::create_dir_all(&dir).map_err(io)?;
    let mut corpus = Vec::new();
    for f in &a.files {
        let data = fs::read(f).map_err(io)?;
        if data.len() > MAX_CORPUS_FILE {
            continue;
        }
        if let Some((_, blob)) = split_fuzz_input(&data) {
            corpus.push(blob.to_vec());
        }
    }
    if corpus.is_empty() {
        return Err("no corpus blob".into());
    }
    let mut expect = String::new();
    let ncorpus = corpus.len() as u64;
    for n in 0..ncorpus + a.mutations {
        let blob = match corpus.get(usize::try_from(n).unwrap_or(usize::MAX)) {
            Some(b) => b.clone(),
            None => {
                let base = usize::try_from(rng.below(ncorpus)).unwrap_or(0);
                mutate(&mut rng, corpus.get(base).map_or(&[], |b| b), &a.devs)
            }
        };
        let out = judge(&blob, &a.devs, &mut rng)?;
        fs::write(dir.join(format!("{n:05}.bin")), &blob).map_err(io)?;
        let _ = writeln!(expect, "CASE {n} {} {}", blob.len(), line(&out));
    }
    fs::write(dir.join("expect"), expect).map_err(io)?;
    eprintln!(
        "fmap_model: {} cases ({ncorpus} from the corpus)",
        ncorpus + a.mutations
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fmap_model: {e}");
            ExitCode::FAILURE
        }
    }
}
