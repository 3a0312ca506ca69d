// SPDX-License-Identifier: GPL-2.0
//! `famfs flush`: write back and invalidate the CPU cache lines over files (for memory
//! shared between hosts without cache coherence).

use super::common::{Ctx, Place, Target};
use anyhow::{Context, Result};
use famfs_media::media::flush_cache_lines;
use famfs_media::Media;

/// Options of flush.
#[derive(clap::Args)]
pub struct Args {
    /// Files to flush.
    #[arg(required = true)]
    pub files: Vec<String>,
}

/// Run flush.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    for name in &a.files {
        let (place, rel) = ctx.locate(name)?;
        let t = Target::open(&place, false, "flush")?;
        let ino = t.file_ino(&rel)?;
        let size = t.node(&rel)?.attr.size;
        match &place {
            Place::Mount(_) => {
                let p = t.mounted_path(ino).context("mounted path")?;
                let f = std::fs::File::open(&p).with_context(|| p.display().to_string())?;
                if size > 0 {
                    // SAFETY: a read-only shared mapping of a famfs file, which never
                    // changes size; the bytes are only touched by clflush.
                    let m = unsafe { memmap2::Mmap::map(&f) }
                        .with_context(|| format!("mmap {}", p.display()))?;
                    flush_cache_lines(&m);
                }
            }
            Place::Device(_) => {
                let n = t.node(&rel)?;
                for e in n.map().map(|m| m.extents()).unwrap_or(&[]) {
                    t.fs.media().flush(e.offset, e.len)?;
                }
            }
        }
        if ctx.verbose > 0 {
            println!("flush: {name}: {size} bytes");
        }
    }
    Ok(())
}
