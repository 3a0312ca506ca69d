// SPDX-License-Identifier: GPL-2.0
//! `famfs fsck` (superblock, log and every file's extents, on a device or a mount) and
//! `famfs check` (every file of a mount is mapped).

use super::common::{open_media, Ctx, Place};
use anyhow::{bail, Context, Result};
use famfs_media::fs::describe_node;
use famfs_media::fuse::host::BufMedia;
use famfs_media::layout::SB_SIZE;
use famfs_media::superblock::Superblock;
use famfs_media::{fsck, read_meta, Famfs, Media};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Options of fsck.
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Sizes in human units (KiB, MiB, GiB).
    #[arg(short = 'h', long)]
    pub human: bool,
    /// Access the metadata through a memory mapping (the default).
    #[arg(short = 'm', long = "mmap", conflicts_with = "read")]
    pub mmap: bool,
    /// Access the metadata with read(2) instead of a mapping.
    #[arg(short = 'r', long = "read")]
    pub read: bool,
    /// Print an allocation histogram of this many buckets per device.
    #[arg(short = 'B', long = "nbuckets")]
    pub nbuckets: Option<usize>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Device or mount point (or --device/--mount).
    pub target: Option<PathBuf>,
}

/// Options of check.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Mount point (or --mount).
    pub mount: Option<PathBuf>,
}

/// `n` bytes, in human units when asked.
pub fn size(n: u64, human: bool) -> String {
    if !human {
        return n.to_string();
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn read_exact(f: &std::fs::File, p: &Path, off: u64, len: u64) -> Result<Vec<u8>> {
    let mut b = vec![0u8; len as usize];
    f.read_exact_at(&mut b, off)
        .with_context(|| format!("read {}", p.display()))?;
    Ok(b)
}

/// The metadata of `place` read with read(2) (famfs fsck -r).
fn read_media(place: &Place) -> Result<BufMedia> {
    let (sbp, logp, log_base) = match place {
        Place::Device(d) => (d.clone(), d.clone(), None),
        Place::Mount(m) => (
            m.join(".meta/.superblock"),
            m.join(".meta/.log"),
            Some(0u64),
        ),
    };
    let f = std::fs::File::open(&sbp).with_context(|| sbp.display().to_string())?;
    let sb_bytes = read_exact(&f, &sbp, 0, SB_SIZE as u64)?;
    let sb = Superblock::decode(&sb_bytes, 0)?;
    let lf = std::fs::File::open(&logp).with_context(|| logp.display().to_string())?;
    let log = read_exact(&lf, &logp, log_base.unwrap_or(sb.log_offset), sb.log_len)?;
    Ok(BufMedia::new(
        &sbp,
        sb.daxdev.size,
        sb_bytes,
        sb.log_offset,
        log,
    ))
}

fn report(ctx: &Ctx, a: &Args, media: &dyn Media) -> Result<bool> {
    let r = fsck(media);
    for p in &r.problems {
        println!("fsck: {p}");
    }
    if ctx.verbose > 0 || a.nbuckets.is_some() {
        if let Ok((sb, h)) = read_meta(media) {
            if ctx.verbose > 0 {
                println!(
                    "superblock: version {} omf {}.{} fs uuid {} device uuid {} system uuid {}",
                    sb.version,
                    sb.omf_ver_major,
                    sb.omf_ver_minor,
                    sb.fs_uuid,
                    sb.dev_uuid,
                    sb.system_uuid
                );
                println!(
                    "device: {} ({}), size {}, allocation unit {}",
                    sb.daxdev.name,
                    sb.daxdev.uuid,
                    size(sb.daxdev.size, a.human),
                    size(sb.alloc_unit, a.human)
                );
                println!(
                    "log: offset {:#x}, length {}, {} of {} entries used",
                    sb.log_offset,
                    size(sb.log_len, a.human),
                    h.next_index,
                    h.capacity()
                );
            }
            listing(ctx, a, media, &sb)?;
        }
    }
    let ndev = r.devices.len();
    println!(
        "fsck: {} log entries of {}, {} files, {} directories, {} of {} allocated{}",
        r.entries,
        r.log_capacity,
        r.files,
        r.dirs,
        size(r.allocated, a.human),
        size(r.device_size, a.human),
        if ndev > 1 {
            format!(" (all {ndev} devices)")
        } else {
            String::new()
        }
    );
    if ndev > 1 {
        for (i, d) in r.devices.iter().enumerate() {
            println!(
                "fsck: device {i}: {} of {} allocated",
                size(d.allocated, a.human),
                size(d.size, a.human)
            );
        }
    }
    if r.is_clean() {
        println!("fsck: clean");
    } else {
        eprintln!("famfs: fsck: {} problem(s) found", r.problems.len());
    }
    Ok(r.is_clean())
}

/// The objects and, with -B, the allocation histogram.
fn listing(ctx: &Ctx, a: &Args, media: &dyn Media, sb: &Superblock) -> Result<()> {
    let (_, h) = read_meta(media)?;
    let rp = famfs_media::namespace::replay(media, sb, &h, true)?;
    let ns = &rp.ns;
    if ctx.verbose > 0 {
        for (i, d) in ns.devices().iter().enumerate() {
            println!("device {i}: uuid {} size {}", d.uuid, size(d.size, a.human));
        }
        for n in ns.nodes().filter(|n| n.log_index.is_some()) {
            println!("{}", describe_node(ns, n));
        }
    }
    if let Some(nb) = a.nbuckets.filter(|n| *n > 0) {
        for (d, dev) in ns.devices().iter().enumerate() {
            let usable = if d == 0 { sb.usable_size() } else { dev.size };
            let bsz = usable.div_ceil(nb as u64).max(1);
            let mut used = vec![0u64; nb];
            for n in ns.nodes() {
                let Some(m) = n.map() else { continue };
                for e in m.extents().iter().filter(|e| e.devindex == d as u64) {
                    let mut off = e.offset;
                    while off < e.end() {
                        let b = ((off / bsz) as usize).min(nb - 1);
                        let end = ((b as u64 + 1) * bsz).min(e.end());
                        used[b] += end - off;
                        off = end;
                    }
                }
            }
            println!(
                "allocation histogram, device {d} ({nb} buckets of {}):",
                size(bsz, a.human)
            );
            for (b, u) in used.iter().enumerate() {
                let pct = *u * 100 / bsz;
                println!(
                    "  bucket {b:3}: {pct:3}% {}",
                    "#".repeat((pct / 2) as usize)
                );
            }
        }
    }
    Ok(())
}

/// Run fsck: exit 0 only if clean.
pub fn run(ctx: &Ctx, a: &Args) -> Result<i32> {
    let place = ctx.place_of(a.target.as_deref())?;
    let clean = if a.read {
        let m = read_media(&place)?;
        report(ctx, a, &m)?
    } else {
        let m = open_media(&place, false)?;
        report(ctx, a, &m)?
    };
    Ok(if clean { 0 } else { 1 })
}

/// Run check: exit bits 1 (an unmapped file), 2 (superblock missing or corrupt),
/// 4 (log missing or corrupt).
pub fn run_check(ctx: &Ctx, a: &CheckArgs) -> Result<i32> {
    let place = ctx.place_of(a.mount.as_deref())?;
    let Place::Mount(mnt) = &place else {
        bail!(
            "check: {}: not a famfs mount point",
            a.mount.as_deref().unwrap_or(Path::new("")).display()
        );
    };
    let media = match open_media(&place, false) {
        Ok(m) => m,
        Err(e) => {
            println!("check: {e:#}");
            return Ok(2 | 4);
        }
    };
    let fs = match Famfs::open(media) {
        Ok(fs) => fs,
        Err(e @ famfs_media::Error::Superblock(_)) => {
            println!("check: {e}");
            return Ok(2);
        }
        Err(e) => {
            println!("check: {e}");
            return Ok(4);
        }
    };
    let mut code = 0;
    let ns = fs.namespace();
    let (mut files, mut unmapped) = (0, 0);
    for n in ns.nodes().filter(|n| n.log_index.is_some() && !n.is_dir()) {
        files += 1;
        let path = ns.path_of(n.ino);
        let present = std::fs::symlink_metadata(mnt.join(&path)).is_ok();
        if let Some(why) = n
            .bad
            .as_deref()
            .or((!present).then_some("not in the mount"))
        {
            unmapped += 1;
            code |= 1;
            println!("check: {path}: not mapped: {why}");
        } else if ctx.verbose > 0 {
            println!("check: {path}: mapped");
        }
    }
    for p in fs.problems() {
        println!("check: log replay skipped: {p}");
    }
    println!("check: {files} files, {unmapped} not mapped");
    Ok(code)
}
