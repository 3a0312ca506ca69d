// SPDX-License-Identifier: GPL-2.0
//! `famfs adddev` (extension): add a device to a file system with an `ADD_DAXDEV` log
//! entry. The entry records the device's size and uuid, not its path: every host finds
//! the device by uuid (`famfs mount` and famfsd do).

use super::common::{parse_size, Ctx, Target};
use anyhow::{Context, Result};
use famfs_media::daxdev;
use std::path::PathBuf;

/// Options of adddev.
#[derive(clap::Args)]
pub struct Args {
    /// Uuid of the device (default: its uuid in sysfs).
    #[arg(long)]
    pub uuid: Option<uuid::Uuid>,
    /// Size of the device (default: its size).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<u64>,
    /// The device to add (/dev/daxX.Y).
    pub daxdev: PathBuf,
    /// Mount point or device of the file system (or --device/--mount).
    pub target: Option<PathBuf>,
}

/// Run adddev.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let place = ctx.place_of(a.target.as_deref())?;
    let uuid = match a.uuid.or_else(|| daxdev::uuid_of(&a.daxdev)) {
        Some(u) => u,
        None => anyhow::bail!(
            "adddev: {}: no uuid in sysfs; give one with --uuid",
            a.daxdev.display()
        ),
    };
    let size = match a.size {
        Some(s) => s,
        None => {
            let f =
                std::fs::File::open(&a.daxdev).with_context(|| a.daxdev.display().to_string())?;
            famfs_media::media::device_size(&a.daxdev, &f)?
        }
    };
    let mut t = Target::open(&place, true, "adddev")?;
    if ctx.dryrun {
        println!(
            "adddev: dry run: would add {} ({size} bytes, uuid {uuid})",
            a.daxdev.display()
        );
        return Ok(());
    }
    let i = t.fs.add_daxdev(size, uuid)?;
    println!(
        "adddev: {} is device {i} ({size} bytes, uuid {uuid})",
        a.daxdev.display()
    );
    Ok(())
}
