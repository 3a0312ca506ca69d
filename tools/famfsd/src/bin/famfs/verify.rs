// SPDX-License-Identifier: GPL-2.0
//! `famfs verify`: check that files hold the pattern `creat -r -S SEED` wrote.

use super::common::{parse_seed, run_parallel, split_spec, Ctx, Place, Target, IO_CHUNK};
use anyhow::{bail, Context, Result};
use famfs_media::pattern;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Options of verify.
#[derive(clap::Args)]
pub struct Args {
    /// File to check.
    #[arg(short = 'f', long = "filename")]
    pub file: Option<String>,
    /// Seed the file was filled with.
    #[arg(short = 'S', long)]
    pub seed: Option<String>,
    /// Check several files: FILE,SEED (repeatable).
    #[arg(short = 'm', long = "multi")]
    pub multi: Vec<String>,
    /// Threads checking files.
    #[arg(short, long = "threadct", default_value_t = 1)]
    pub threads: usize,
    /// Extension: read through a shared memory mapping of the mounted file.
    #[arg(long)]
    pub mmap: bool,
    /// File to check, when not given with -f.
    pub path: Option<String>,
}

fn mismatch(path: &str, how: &str, at: (u64, u8, u8)) -> anyhow::Error {
    anyhow::anyhow!(
        "verify: {path}: mismatch at offset {}{how} (expected {:#04x}, found {:#04x})",
        at.0,
        at.1,
        at.2
    )
}

/// Check the mounted file `p` (`size` bytes) against `seed`.
fn verify_mounted(name: &str, p: &Path, size: u64, seed: u64, mmap: bool) -> Result<()> {
    let f = std::fs::File::open(p).with_context(|| p.display().to_string())?;
    if mmap {
        // SAFETY: famfs files never change size; a concurrent writer can only make the
        // check fail, not make the mapping invalid.
        let map = unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("mmap {name}"))?;
        if map.len() as u64 != size {
            bail!(
                "verify: {name}: mapped {} bytes, file size {size}",
                map.len()
            );
        }
        if let Some(at) = pattern::check(seed, 0, &map) {
            return Err(mismatch(name, " through mmap", at));
        }
        return Ok(());
    }
    let mut buf = vec![0u8; IO_CHUNK];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(IO_CHUNK as u64) as usize;
        f.read_exact_at(&mut buf[..n], off)
            .with_context(|| p.display().to_string())?;
        if let Some(at) = pattern::check(seed, off, &buf[..n]) {
            return Err(mismatch(name, "", at));
        }
        off += n as u64;
    }
    Ok(())
}

/// Run verify.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut jobs: Vec<(String, u64)> = Vec::new();
    for m in &a.multi {
        let p = split_spec(m, 2, 2)?;
        jobs.push((p[0].to_string(), parse_seed(p[1])?));
    }
    let single = a.file.as_ref().or(a.path.as_ref());
    match (single, &a.seed) {
        (Some(f), Some(s)) => jobs.push((f.clone(), parse_seed(s)?)),
        (Some(f), None) => bail!("verify: {f}: no seed (-S SEED)"),
        (None, Some(_)) => bail!("verify: -S given without a file (-f FILE)"),
        (None, None) if jobs.is_empty() => {
            bail!("verify: no file (-f FILE -S SEED, or -m FILE,SEED)")
        }
        (None, None) => {}
    }
    // Resolve every file first (names, sizes), then read them, in parallel when mounted.
    let mut mounted = Vec::new();
    for (name, seed) in jobs {
        let (place, rel) = ctx.locate(&name)?;
        let t = Target::open(&place, false, "verify")?;
        let ino = t.file_ino(&rel)?;
        let size = t.node(&rel)?.attr.size;
        match &place {
            Place::Mount(_) => {
                let p = t.mounted_path(ino).context("mounted path")?;
                mounted.push((name, p, size, seed));
            }
            Place::Device(_) => {
                if a.mmap {
                    bail!("verify --mmap needs a mounted file");
                }
                let mut buf = vec![0u8; IO_CHUNK];
                let mut off = 0;
                while off < size {
                    let n = (size - off).min(IO_CHUNK as u64) as usize;
                    t.read_at(ino, off, &mut buf[..n])?;
                    if let Some(at) = pattern::check(seed, off, &buf[..n]) {
                        return Err(mismatch(&name, "", at));
                    }
                    off += n as u64;
                }
                println!("verify: {name}: ok ({size} bytes, seed {seed})");
            }
        }
    }
    let how = if a.mmap { " through mmap" } else { "" };
    run_parallel(a.threads, mounted, |(name, p, size, seed)| {
        verify_mounted(&name, &p, size, seed, a.mmap)?;
        println!("verify: {name}: ok{how} ({size} bytes, seed {seed})");
        Ok(())
    })
}
