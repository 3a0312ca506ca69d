// SPDX-License-Identifier: GPL-2.0
//! `famfs mkfs` and `mkfs.famfs`: format a device (or, as an extension, an image file).

use super::common::{parse_size, Ctx};
use anyhow::{bail, Result};
use famfs_media::fs::{has_valid_superblock, MkfsOptions};
use famfs_media::layout::{LOG_LEN_DEFAULT, SB_REGION_SIZE};
use famfs_media::{daxdev, role, Famfs, Media, RawDevice};
use std::path::PathBuf;

/// Options of mkfs.
#[derive(clap::Args)]
pub struct Args {
    /// Format over a valid famfs superblock.
    #[arg(short, long)]
    pub force: bool,
    /// Wipe the superblock instead of formatting (needs --force).
    #[arg(short, long)]
    pub kill: bool,
    /// Log length (a power of two >= 8M; suffixes k, m, g).
    #[arg(short, long, value_parser = parse_size, default_value_t = LOG_LEN_DEFAULT)]
    pub loglen: u64,
    /// Switch the device to the famfs (fsdev_dax) mode after formatting and leave it
    /// there (formatting itself maps the device, which needs device_dax).
    #[arg(short = 'M', long = "set-daxmode")]
    pub set_daxmode: bool,
    /// Device (/dev/daxX.Y) or image file.
    pub dev: PathBuf,
}

fn is_dax(p: &std::path::Path) -> bool {
    daxdev::sysfs_dir(p).is_ok()
}

/// Run mkfs.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    if a.kill && !a.force {
        bail!(
            "mkfs: --kill wipes the superblock of {} and needs --force",
            a.dev.display()
        );
    }
    if is_dax(&a.dev) && daxdev::driver(&a.dev)?.as_deref() == Some("fsdev_dax") {
        if a.set_daxmode {
            daxdev::set_driver(&a.dev, "device_dax")?;
        } else {
            bail!(
                "mkfs: {} is bound to fsdev_dax and cannot be mapped; use -M or bind it to device_dax",
                a.dev.display()
            );
        }
    }
    let mut media = RawDevice::open(&a.dev, true)?;
    if ctx.dryrun {
        println!(
            "mkfs: dry run: would format {} ({} bytes, log {} bytes){}",
            a.dev.display(),
            media.size(),
            a.loglen,
            if has_valid_superblock(&media) {
                ", over a valid superblock"
            } else {
                ""
            }
        );
        return Ok(());
    }
    if a.kill {
        media.write(0, SB_REGION_SIZE)?.fill(0);
        media.flush(0, SB_REGION_SIZE)?;
        println!("mkfs: {}: superblock wiped", a.dev.display());
        return Ok(());
    }
    let opts = MkfsOptions {
        log_len: a.loglen,
        force: a.force,
        system_uuid: role::system_uuid()?,
        dev_uuid: daxdev::uuid_of(&a.dev),
    };
    let fs = Famfs::mkfs_with(media, &opts)?;
    let sb = fs.superblock();
    println!(
        "mkfs: {}: {} bytes, log {} bytes ({} entries), fs uuid {}, device uuid {}, owner system uuid {}",
        a.dev.display(),
        sb.daxdev.size,
        sb.log_len,
        fs.log_header().capacity(),
        sb.fs_uuid,
        sb.dev_uuid,
        sb.system_uuid
    );
    drop(fs);
    if a.set_daxmode && is_dax(&a.dev) {
        daxdev::set_driver(&a.dev, "fsdev_dax")?;
    }
    Ok(())
}
