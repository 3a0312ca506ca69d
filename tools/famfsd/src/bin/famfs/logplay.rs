// SPDX-License-Identifier: GPL-2.0
//! `famfs logplay`: replay the log. On a mount, famfsd then serves every new entry (it
//! replays on the next directory read; logplay makes that read); with -n (dry run) the
//! replayed objects are listed and nothing is touched.

use super::common::{open_media, Ctx, Place};
use anyhow::{Context, Result};
use famfs_media::fs::describe_node;
use famfs_media::Famfs;
use std::path::PathBuf;

/// Options of logplay.
#[derive(clap::Args)]
pub struct Args {
    /// Mount point (or, as an extension, a device or image file).
    pub target: Option<PathBuf>,
}

/// Run logplay.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let place = ctx.place_of(a.target.as_deref())?;
    let fs = Famfs::open(open_media(&place, false)?)?;
    for p in fs.problems() {
        eprintln!("famfs: warning: log replay skipped: {p}");
    }
    let ns = fs.namespace();
    let (mut files, mut dirs) = (0, 0);
    for n in ns.nodes().filter(|n| n.log_index.is_some()) {
        match n.map() {
            Some(_) => files += 1,
            None => dirs += 1,
        }
        if ctx.dryrun || ctx.verbose > 0 || matches!(place, Place::Device(_)) {
            println!("{}", describe_node(ns, n));
        }
    }
    let h = fs.log_header();
    if let (Place::Mount(m), false) = (&place, ctx.dryrun) {
        // A directory read makes famfsd re-read the log header and replay new entries.
        std::fs::read_dir(m)
            .with_context(|| m.display().to_string())?
            .for_each(drop);
    }
    println!(
        "logplay: {} log entries ({files} files, {dirs} directories, {} skipped), {} of {} entries used, {} bytes free{}",
        h.next_index,
        fs.problems().len(),
        h.next_index,
        h.capacity(),
        fs.free_bytes(),
        if ctx.dryrun { " (dry run)" } else { "" }
    );
    Ok(())
}
