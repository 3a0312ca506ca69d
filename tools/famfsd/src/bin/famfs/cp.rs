// SPDX-License-Identifier: GPL-2.0
//! `famfs cp`: copy host files into famfs (the only way data gets in). A famfs file that
//! already exists is overwritten only if it has the same size, so an interrupted copy can
//! simply be run again.

use super::common::{
    cp_mode, progress, run_parallel, umask, Ctx, Owner, Place, Striping, Target, IO_CHUNK,
};
use anyhow::{bail, Context, Result};
use famfs_media::CreateOptions;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Options of cp.
#[derive(clap::Args)]
pub struct Args {
    /// Copy directories recursively.
    #[arg(short, long)]
    pub recursive: bool,
    /// Threads copying files.
    #[arg(short, long = "threadct", default_value_t = 1)]
    pub threads: usize,
    #[command(flatten)]
    pub owner: Owner,
    #[command(flatten)]
    pub striping: Striping,
    /// Host sources, then the destination inside a mounted famfs.
    #[arg(required = true, num_args = 2..)]
    pub paths: Vec<String>,
}

/// One planned copy step.
enum Item {
    /// A directory and its source's permission bits.
    Dir(String, u32),
    File(PathBuf, String, u64, u32),
}

fn mode_of(md: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o7777
}

fn walk(src: &Path, target: &str, mode: u32, plan: &mut Vec<Item>) -> Result<()> {
    plan.push(Item::Dir(target.to_string(), mode));
    let mut entries: Vec<_> = std::fs::read_dir(src)
        .with_context(|| src.display().to_string())?
        .collect::<std::io::Result<_>>()
        .with_context(|| src.display().to_string())?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name();
        let name = name
            .to_str()
            .with_context(|| format!("{}: name is not UTF-8", p.display()))?;
        let t = format!("{target}/{name}");
        let md = std::fs::metadata(&p).with_context(|| p.display().to_string())?;
        if md.is_dir() {
            walk(&p, &t, mode_of(&md), plan)?;
        } else if md.is_file() {
            plan.push(Item::File(p, t, md.len(), mode_of(&md)));
        } else {
            eprintln!(
                "famfs: cp: skipping {}: not a regular file or directory",
                p.display()
            );
        }
    }
    Ok(())
}

fn plan(t: &Target, srcs: &[String], dst: &str, recursive: bool) -> Result<Vec<Item>> {
    let dst_dir = match t.node(dst) {
        Ok(n) if n.is_dir() => true,
        Ok(_) if srcs.len() > 1 => bail!("cp: {dst}: not a directory"),
        Ok(_) => false,
        Err(_) if srcs.len() > 1 => bail!("cp: {dst}: no such directory"),
        Err(_) => false,
    };
    let mut plan = Vec::new();
    for src in srcs {
        let sp = Path::new(src);
        let md = std::fs::metadata(sp).with_context(|| src.clone())?;
        let base = sp
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{src}: no usable file name"))?;
        let target = match (dst_dir, dst.is_empty()) {
            (true, true) => base.to_string(),
            (true, false) => format!("{dst}/{base}"),
            (false, _) => dst.to_string(),
        };
        if md.is_dir() {
            if !recursive {
                bail!("cp: {src}: is a directory (use -r)");
            }
            walk(sp, &target, mode_of(&md), &mut plan)?;
        } else if md.is_file() {
            plan.push(Item::File(sp.to_path_buf(), target, md.len(), mode_of(&md)));
        } else {
            bail!("cp: {src}: not a regular file or directory");
        }
    }
    Ok(plan)
}

/// Copy `src` (`len` bytes) into the mounted file `dst`.
fn copy_mounted(src: &Path, dst: &Path, len: u64) -> Result<()> {
    let mut f = File::open(src).with_context(|| src.display().to_string())?;
    let out = std::fs::OpenOptions::new()
        .write(true)
        .open(dst)
        .with_context(|| dst.display().to_string())?;
    let mut buf = vec![0u8; IO_CHUNK];
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(IO_CHUNK as u64) as usize;
        f.read_exact(&mut buf[..n])
            .with_context(|| format!("{}: changed while copying", src.display()))?;
        out.write_all_at(&buf[..n], off)
            .with_context(|| dst.display().to_string())?;
        off += n as u64;
    }
    Ok(())
}

/// Run cp.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let (dst, srcs) = a.paths.split_last().context("cp needs SRC... DST")?;
    let (place, dst_rel) = ctx.locate(dst)?;
    let mut t = Target::open(&place, true, "cp")?;
    let sb = t.fs.superblock();
    let layout = a
        .striping
        .layout(sb.alloc_unit, sb.daxdev.size)
        .context("cp")?;
    let plan = plan(&t, srcs, &dst_rel, a.recursive)?;
    let (uid, gid) = a.owner.ids();
    let mask = umask();
    let mut copies = Vec::new();
    for item in plan {
        match item {
            Item::Dir(d, mode) => match t.node(&d) {
                Ok(n) if n.is_dir() => {}
                Ok(_) => bail!("cp: {d}: exists and is not a directory"),
                Err(_) if ctx.dryrun => println!("cp: dry run: would create directory {d}"),
                Err(_) => {
                    // famfs: the source directory's bits & 0777, neither -m nor the
                    // umask applied.
                    t.fs.mkdir(&d, mode & 0o777, uid, gid)?;
                    if ctx.verbose > 0 {
                        println!("cp: directory {d}");
                    }
                }
            },
            Item::File(src, d, len, mode) => {
                let ino = match t.node(&d) {
                    Ok(n) if n.is_dir() => bail!("cp: {d}: is a directory"),
                    Ok(n) if n.attr.size == len => n.ino,
                    Ok(n) => bail!(
                        "cp: {d}: exists with size {} (famfs overwrites only a file of the same size, {len})",
                        n.attr.size
                    ),
                    Err(_) if ctx.dryrun => {
                        t.fs.namespace().check_new(&d)?;
                        println!("cp: dry run: would copy {} to {d}", src.display());
                        continue;
                    }
                    Err(_) => t.fs.create_file(
                        &d,
                        &CreateOptions {
                            size: len,
                            mode: cp_mode(a.owner.mode, mask, mode),
                            uid,
                            gid,
                            layout,
                        },
                    )?,
                };
                if ctx.verbose > 0 {
                    println!("cp: {} -> {d}", src.display());
                }
                copies.push((src, ino, len));
            }
        }
    }
    if ctx.dryrun {
        return Ok(());
    }
    let total: u64 = copies.iter().map(|c| c.2).sum();
    match &place {
        Place::Mount(_) => {
            let jobs: Vec<_> = copies
                .into_iter()
                .map(|(src, ino, len)| {
                    let p = t.mounted_path(ino).context("mounted path")?;
                    Ok((src, p, len))
                })
                .collect::<Result<_>>()?;
            run_parallel(a.threads, jobs, |(src, dst, len)| {
                copy_mounted(&src, &dst, len)
            })
        }
        Place::Device(_) => {
            let pb = progress(total);
            let mut buf = vec![0u8; IO_CHUNK];
            let mut done = 0u64;
            for (src, ino, len) in copies {
                let mut f = File::open(&src).with_context(|| src.display().to_string())?;
                let mut off = 0u64;
                while off < len {
                    let n = (len - off).min(IO_CHUNK as u64) as usize;
                    f.read_exact(&mut buf[..n])
                        .with_context(|| format!("{}: changed while copying", src.display()))?;
                    t.write_at(ino, off, &buf[..n])?;
                    off += n as u64;
                    done += n as u64;
                    pb.set_position(done);
                }
            }
            pb.finish_and_clear();
            Ok(())
        }
    }
}
