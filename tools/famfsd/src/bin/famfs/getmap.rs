// SPDX-License-Identifier: GPL-2.0
//! `famfs getmap`: print a file's map as famfs's shadow YAML. Exit codes as famfs's: 0 a
//! mapped famfs file, 1 not in famfs, 2 in famfs but not mapped; ENOENT, EISDIR, EBADF
//! for bad input.

use super::common::{Ctx, NotInFamfs, Target};
use anyhow::Result;
use famfs_media::error::errno;

/// Options of getmap.
#[derive(clap::Args)]
pub struct Args {
    /// Print nothing; the exit code says it all.
    #[arg(short, long)]
    pub quiet: bool,
    /// Extension: also dump the fmap blob the kernel gets, in hex.
    #[arg(long)]
    pub hex: bool,
    /// File (an ordinary path inside a mounted famfs).
    pub file: String,
}

const EBADF: i32 = 9;

/// Run getmap; returns the exit code.
pub fn run(ctx: &Ctx, a: &Args) -> Result<i32> {
    let say = |m: String| {
        if !a.quiet {
            eprintln!("famfs: getmap: {m}");
        }
    };
    let (place, rel) = match ctx.locate(&a.file) {
        Ok(x) => x,
        Err(e) if e.is::<NotInFamfs>() => {
            say(e.to_string());
            return Ok(1);
        }
        Err(e) => return Err(e),
    };
    let t = match Target::open(&place, false, "getmap") {
        Ok(t) => t,
        Err(e) => {
            say(format!("{e:#}"));
            return Ok(EBADF);
        }
    };
    let n = match t.node(&rel) {
        Ok(n) => n,
        Err(e) => {
            say(format!("{e:#}"));
            return Ok(errno::ENOENT);
        }
    };
    if n.is_dir() {
        say(format!("{}: is a directory", a.file));
        return Ok(errno::EISDIR);
    }
    if let Some(why) = &n.bad {
        say(format!("{}: not mapped: {why}", a.file));
        return Ok(2);
    }
    if a.quiet {
        return Ok(0);
    }
    print!("{}", t.fs.shadow_yaml_of(n).unwrap_or_default());
    if a.hex {
        let blob = n.fmap_blob()?;
        println!("# fmap blob: {} bytes", blob.len());
        for (i, line) in blob.chunks(16).enumerate() {
            let h: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            println!("#  {:04x}: {}", i * 16, h.join(" "));
        }
    }
    Ok(0)
}
