// SPDX-License-Identifier: GPL-2.0
//! `famfs chkread`: a file's bytes read with read(2) and through a shared mapping agree
//! (-s: the mount's superblock file, -l: its log file, both also decoded).

use super::common::Ctx;
use anyhow::{bail, Context, Result};
use famfs_media::layout::{LOG_HEADER_SIZE, SB_SIZE};
use famfs_media::log::LogHeader;
use famfs_media::superblock::Superblock;
use std::io::Read;

/// Options of chkread.
#[derive(clap::Args)]
pub struct Args {
    /// Check the superblock file of the mount holding FILE.
    #[arg(short, long, conflicts_with = "log")]
    pub superblock: bool,
    /// Check the log file of the mount holding FILE.
    #[arg(short, long)]
    pub log: bool,
    /// A file (with -s/-l: any path in the mount, or the mount point).
    pub file: String,
}

/// Run chkread.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let p = if a.superblock || a.log {
        let place = ctx.place_of(Some(std::path::Path::new(&a.file)))?;
        let super::common::Place::Mount(m) = place else {
            bail!("chkread: {}: -s and -l need a mounted famfs", a.file);
        };
        m.join(".meta")
            .join(if a.log { ".log" } else { ".superblock" })
    } else {
        std::path::PathBuf::from(&a.file)
    };
    let mut f = std::fs::File::open(&p).with_context(|| p.display().to_string())?;
    let mut by_read = Vec::new();
    f.read_to_end(&mut by_read)
        .with_context(|| format!("read {}", p.display()))?;
    if by_read.is_empty() {
        println!("chkread: {}: empty", p.display());
        return Ok(());
    }
    // SAFETY: a read-only shared mapping of a famfs file, which never changes size.
    let map = unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("mmap {}", p.display()))?;
    if map[..] != by_read[..] {
        let at = map
            .iter()
            .zip(&by_read)
            .position(|(x, y)| x != y)
            .unwrap_or(map.len().min(by_read.len()));
        bail!(
            "chkread: {}: read(2) and mmap differ at offset {at} ({} and {} bytes)",
            p.display(),
            by_read.len(),
            map.len()
        );
    }
    if a.superblock {
        let sb = Superblock::decode(&by_read[..SB_SIZE.min(by_read.len())], 0)?;
        println!("chkread: superblock valid, fs uuid {}", sb.fs_uuid);
    }
    if a.log {
        let h = LogHeader::decode(
            &by_read[..LOG_HEADER_SIZE.min(by_read.len())],
            by_read.len() as u64,
        )?;
        println!("chkread: log header valid, {} entries", h.next_index);
    }
    println!(
        "chkread: {}: {} bytes, read(2) and mmap agree",
        p.display(),
        by_read.len()
    );
    Ok(())
}
