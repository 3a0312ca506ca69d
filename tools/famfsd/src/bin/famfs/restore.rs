// SPDX-License-Identifier: GPL-2.0
//! `famfs restore` (extension): write the metadata of a famfs image file (superblock
//! region and log, e.g. one saved from another device) onto a device.

use super::common::Ctx;
use anyhow::{bail, Context, Result};
use famfs_media::layout::{SB_DAXDEV_SIZE, SB_REGION_SIZE, SB_SIZE};
use famfs_media::superblock::Superblock;
use famfs_media::{Media, RawDevice};
use std::path::PathBuf;

/// Options of restore.
#[derive(clap::Args)]
pub struct Args {
    /// If the image records a larger device than DEV, record DEV's size instead (the
    /// device size is not covered by the superblock crc); files past the end of DEV are
    /// then not served, and fsck names them.
    #[arg(long)]
    pub shrink: bool,
    /// Image file holding at least the superblock region and the log.
    pub image: PathBuf,
    /// Device (or image file) to write them to.
    pub dev: PathBuf,
}

/// Run restore.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let img = std::fs::read(&a.image).with_context(|| a.image.display().to_string())?;
    if img.len() < SB_SIZE {
        bail!(
            "restore: {}: too small to hold a superblock",
            a.image.display()
        );
    }
    let sb = Superblock::decode(&img, 0)?;
    let end = sb.meta_end();
    if (img.len() as u64) < end {
        bail!(
            "restore: {}: {} bytes, the superblock and log end at {end}",
            a.image.display(),
            img.len()
        );
    }
    let mut dev = RawDevice::open(&a.dev, true)?;
    if dev.size() < end {
        bail!(
            "restore: {}: smaller than the metadata ({end} bytes)",
            a.dev.display()
        );
    }
    let recorded = sb.daxdev.size;
    if recorded > dev.size() && !a.shrink {
        bail!(
            "restore: {} records a {recorded}-byte device, {} has {} bytes (--shrink records that)",
            a.image.display(),
            a.dev.display(),
            dev.size()
        );
    }
    if ctx.dryrun {
        println!(
            "restore: dry run: would write {end} bytes of metadata to {}",
            a.dev.display()
        );
        return Ok(());
    }
    let dev_size = dev.size();
    let w = dev.write(0, end)?;
    w.copy_from_slice(&img[..end as usize]);
    if recorded > dev_size {
        w[SB_DAXDEV_SIZE..SB_DAXDEV_SIZE + 8].copy_from_slice(&dev_size.to_le_bytes());
    }
    dev.flush(0, end)?;
    Superblock::decode(dev.read(0, SB_REGION_SIZE)?, dev.size())?;
    println!(
        "restore: {} bytes of metadata from {} written to {}{}",
        end,
        a.image.display(),
        a.dev.display(),
        if recorded > dev.size() {
            format!(" (device size {recorded} recorded as {})", dev.size())
        } else {
            String::new()
        }
    );
    Ok(())
}
