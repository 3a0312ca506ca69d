// SPDX-License-Identifier: GPL-2.0
//! `famfs creat`: create files, allocate their space, optionally fill them with a seeded
//! pattern (`verify` checks it).

use super::common::{
    creat_mode, fill_mounted, parse_seed, parse_size, run_parallel, split_spec, umask, Ctx, Owner,
    Place, Striping, Target,
};
use anyhow::{bail, Context, Result};
use famfs_media::CreateOptions;

/// Options of creat.
#[derive(clap::Args)]
pub struct Args {
    /// File size (suffixes k, m, g, t).
    #[arg(short, long, value_parser = parse_size)]
    pub size: Option<u64>,
    /// Fill the file with the pseudo-random pattern of --seed.
    #[arg(short, long)]
    pub randomize: bool,
    /// Seed of the pattern (implies --randomize).
    #[arg(short = 'S', long)]
    pub seed: Option<String>,
    /// Create several files: NAME,SIZE[,SEED] (repeatable).
    #[arg(short = 'M', long = "multi")]
    pub multi: Vec<String>,
    /// Threads filling files (with --multi).
    #[arg(short, long = "threadct", default_value_t = 1)]
    pub threads: usize,
    #[command(flatten)]
    pub owner: Owner,
    #[command(flatten)]
    pub striping: Striping,
    /// File to create (an ordinary path inside a mounted famfs).
    pub file: Option<String>,
}

/// One file to create.
struct Spec {
    path: String,
    size: u64,
    seed: Option<u64>,
}

impl Args {
    fn specs(&self) -> Result<Vec<Spec>> {
        let seed = self.seed.as_deref().map(parse_seed).transpose()?;
        if self.randomize && seed.is_none() {
            bail!("creat: -r needs -S SEED (the seed verify checks against)");
        }
        let mut v = Vec::new();
        for m in &self.multi {
            let p = split_spec(m, 2, 3)?;
            v.push(Spec {
                path: p[0].to_string(),
                size: parse_size(p[1]).map_err(anyhow::Error::msg)?,
                seed: p.get(2).map(|s| parse_seed(s)).transpose()?,
            });
        }
        match (&self.file, self.size) {
            (Some(f), Some(size)) => v.push(Spec {
                path: f.clone(),
                size,
                seed,
            }),
            (Some(f), None) => bail!("creat: {f}: no size (-s SIZE)"),
            (None, Some(_)) => bail!("creat: -s given without a file"),
            (None, None) if v.is_empty() => {
                bail!("creat: no file (FILE with -s SIZE, or -M NAME,SIZE[,SEED])")
            }
            (None, None) => {}
        }
        Ok(v)
    }
}

/// Run creat.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let specs = a.specs()?;
    let mut place = None;
    let mut rels = Vec::new();
    for s in &specs {
        let (p, rel) = ctx.locate(&s.path)?;
        if place.as_ref().is_some_and(|q| *q != p) {
            bail!("creat: {}: in another famfs than the other files", s.path);
        }
        place = Some(p);
        rels.push(rel);
    }
    let Some(place) = place else {
        bail!("creat: no file");
    };
    let mut t = Target::open(&place, true, "creat")?;
    let (uid, gid) = a.owner.ids();
    let sb = t.fs.superblock();
    let layout = a
        .striping
        .layout(sb.alloc_unit, sb.daxdev.size)
        .context("creat")?;
    let opts = |size| CreateOptions {
        size,
        mode: creat_mode(a.owner.mode, umask()),
        uid,
        gid,
        layout,
    };
    let mut fills = Vec::new();
    for (s, rel) in specs.iter().zip(&rels) {
        let ino = match t.fs.namespace().resolve(rel) {
            Ok(n) if !n.is_dir() && n.attr.size == s.size => {
                // famfs: re-creating a file of the same size succeeds.
                if ctx.verbose > 0 {
                    println!("creat: {}: exists with the same size", s.path);
                }
                n.ino
            }
            Ok(n) if n.is_dir() => bail!("creat: {}: is a directory", s.path),
            Ok(n) => bail!(
                "creat: {}: exists with size {} (not {})",
                s.path,
                n.attr.size,
                s.size
            ),
            Err(_) if ctx.dryrun => {
                t.fs.namespace().check_new(rel)?;
                println!("creat: dry run: would create {} ({} bytes)", s.path, s.size);
                continue;
            }
            Err(_) => {
                let ino = t.fs.create_file(rel, &opts(s.size))?;
                if ctx.verbose > 0 {
                    println!("creat: {} ({} bytes)", s.path, s.size);
                }
                ino
            }
        };
        if let Some(seed) = s.seed {
            fills.push((ino, s.size, seed));
        }
    }
    if ctx.dryrun {
        return Ok(());
    }
    match &place {
        Place::Mount(_) => {
            let jobs: Vec<_> = fills
                .iter()
                .map(|&(ino, size, seed)| {
                    let p = t.mounted_path(ino).context("mounted path")?;
                    Ok((p, size, seed))
                })
                .collect::<Result<_>>()?;
            run_parallel(a.threads, jobs, |(p, size, seed)| {
                fill_mounted(&p, size, seed)
            })
        }
        Place::Device(_) => {
            for (ino, size, seed) in fills {
                t.fill(ino, size, seed)?;
            }
            Ok(())
        }
    }
}
