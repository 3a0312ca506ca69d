// SPDX-License-Identifier: GPL-2.0
//! `famfs mkdir`: create directories.

use super::common::{mkdir_mode, Ctx, Owner, Target};
use anyhow::Result;

/// Options of mkdir.
#[derive(clap::Args)]
pub struct Args {
    /// Create missing parents; no error if the directory exists.
    #[arg(short, long)]
    pub parents: bool,
    #[command(flatten)]
    pub owner: Owner,
    /// Directories to create (ordinary paths inside a mounted famfs).
    #[arg(required = true)]
    pub dirs: Vec<String>,
}

/// Run mkdir.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let (uid, gid) = a.owner.ids();
    let mode = mkdir_mode(a.owner.mode);
    for d in &a.dirs {
        let (place, rel) = ctx.locate(d)?;
        let mut t = Target::open(&place, true, "mkdir")?;
        if ctx.dryrun {
            if !a.parents {
                t.fs.namespace().check_new(&rel)?;
            }
            println!("mkdir: dry run: would create {d}");
            continue;
        }
        if a.parents {
            t.fs.mkdir_p(&rel, mode, uid, gid)?;
        } else {
            t.fs.mkdir(&rel, mode, uid, gid)?;
        }
        if ctx.verbose > 0 {
            println!("mkdir: {d}");
        }
    }
    Ok(())
}
