// SPDX-License-Identifier: GPL-2.0
//! `famfs clone`: a second file with the very extents of the first (a test tool: the log
//! then holds a cross-link that replay refuses to serve and fsck reports).

use super::common::{Ctx, Target};
use anyhow::{bail, Result};

/// Options of clone.
#[derive(clap::Args)]
pub struct Args {
    /// Existing famfs file.
    pub src: String,
    /// New famfs file sharing its extents.
    pub dst: String,
}

/// Run clone.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let (place, src) = ctx.locate(&a.src)?;
    let (p2, dst) = ctx.locate(&a.dst)?;
    if p2 != place {
        bail!(
            "clone: {} and {} are in different file systems",
            a.src,
            a.dst
        );
    }
    let mut t = Target::open(&place, true, "clone")?;
    t.file_ino(&src)?;
    if ctx.dryrun {
        t.fs.namespace().check_new(&dst)?;
        println!("clone: dry run: would clone {} to {}", a.src, a.dst);
        return Ok(());
    }
    t.fs.clone_file(&src, &dst)?;
    eprintln!(
        "famfs: clone: {} shares the extents of {}: neither is served any more, fsck reports the cross-link",
        a.dst, a.src
    );
    Ok(())
}
