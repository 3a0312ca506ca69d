// SPDX-License-Identifier: GPL-2.0
//! `famfs`: create, populate and check famfs file systems.
//!
//! The file system is reached through `--device PATH` (image file or `/dev/daxX.Y`, or
//! the `FAMFS_DEVICE` environment variable), or through `--mount DIR`, a mounted famfs
//! whose `.meta/.superblock` and `.meta/.log` files are mapped instead of the device.
//! Paths inside the file system are relative to its root.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use famfs_media::layout::LOG_LEN_DEFAULT;
use famfs_media::{
    fsck, pattern, CreateOptions, Famfs, FileMap, Layout, Media, MountedMeta, Node, RawDevice,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Copies of at least this many bytes show a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 64 << 20;
/// I/O chunk for copy, fill and verify.
const IO_CHUNK: usize = 4 << 20;

#[derive(Parser)]
#[command(name = "famfs", version, about = "famfs file-system tool")]
struct Cli {
    /// famfs device or image file.
    #[arg(short = 'd', long, global = true, env = "FAMFS_DEVICE")]
    device: Option<PathBuf>,
    /// Mount point of a mounted famfs (its .meta files are used instead of the device).
    #[arg(long, global = true)]
    mount: Option<PathBuf>,
    /// More logging (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Format a device or image file.
    Mkfs {
        /// Device or image file to format.
        dev: PathBuf,
        /// Overwrite an existing famfs file system.
        #[arg(short, long)]
        force: bool,
        /// Log length in bytes (power of two >= 8M; suffixes k, m, g).
        #[arg(long, value_parser = parse_size, default_value_t = LOG_LEN_DEFAULT)]
        loglen: u64,
    },
    /// Create a file and allocate its space.
    Creat(CreatArgs),
    /// Create a directory.
    Mkdir {
        /// Create missing parents; no error if it exists.
        #[arg(short, long)]
        parents: bool,
        /// Permission bits (octal).
        #[arg(short, long, value_parser = parse_mode, default_value = "755")]
        mode: u32,
        /// Path of the new directory.
        path: String,
    },
    /// Copy host files into famfs: SRC... DST.
    Cp {
        /// Copy directories recursively.
        #[arg(short, long)]
        recursive: bool,
        /// Host source paths, then the famfs destination.
        #[arg(required = true, num_args = 2..)]
        paths: Vec<String>,
    },
    /// Check a file's contents against the pattern of a seed.
    Verify {
        /// Seed the file was filled with.
        #[arg(short = 'S', long)]
        seed: u64,
        /// Read through a shared memory mapping of the mounted file (with --mount).
        #[arg(long)]
        mmap: bool,
        /// File to check.
        path: String,
    },
    /// Replay the log and print the namespace.
    Logplay,
    /// Check the superblock, the log and every file's extents.
    Fsck,
    /// Mount DEV (a DAX device bound to fsdev_dax) on MOUNTPOINT: starts famfsd.
    Mount {
        /// DAX device, e.g. /dev/dax0.0.
        dev: PathBuf,
        /// Mount point (an existing directory).
        mountpoint: PathBuf,
        /// Run famfsd in the foreground (logs to stderr) until unmounted.
        #[arg(short, long)]
        foreground: bool,
    },
    /// Unmount a famfs and wait for its famfsd to exit; prints its request statistics.
    Umount {
        /// Mount point.
        mountpoint: PathBuf,
    },
    /// Print the request statistics of the famfsd serving MOUNTPOINT.
    Stats {
        /// Mount point.
        mountpoint: PathBuf,
    },
    /// Print a file's extents and fmap blob size.
    Getmap {
        /// File to describe.
        path: String,
        /// Also dump the blob in hex.
        #[arg(long)]
        hex: bool,
    },
}

#[derive(clap::Args)]
struct CreatArgs {
    /// File size (suffixes k, m, g, t).
    #[arg(short, long, value_parser = parse_size)]
    size: u64,
    /// Fill the file with the pseudo-random pattern of --seed.
    #[arg(short, long, requires = "seed")]
    random: bool,
    /// Seed of the pattern.
    #[arg(short = 'S', long)]
    seed: Option<u64>,
    /// Interleave over this many strips.
    #[arg(short = 'N', long)]
    nstrips: Option<u32>,
    /// Chunk size of an interleaved file (power of two >= 4096; default 2M).
    #[arg(short = 'C', long, value_parser = parse_size, requires = "nstrips")]
    chunk: Option<u64>,
    /// Permission bits (octal).
    #[arg(short, long, value_parser = parse_mode, default_value = "644")]
    mode: u32,
    /// Path of the new file.
    path: String,
}

/// Parse a byte count with an optional binary suffix (k, m, g, t).
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                _ => return Err(format!("bad size suffix in '{s}' (k, m, g, t)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("bad size '{s}'"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size '{s}' too large"))
}

fn parse_mode(s: &str) -> std::result::Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("bad mode '{s}' (octal, at most 7777)"))
}

/// The file system plus, when reached through a mount, the mount point (file data then
/// goes through the mounted files).
struct Target {
    fs: Famfs<Box<dyn Media>>,
    mount: Option<PathBuf>,
}

impl Target {
    fn open(cli: &Cli, write: bool) -> Result<Self> {
        let (media, mount): (Box<dyn Media>, _) = match (&cli.mount, &cli.device) {
            (Some(m), _) => (Box::new(MountedMeta::open(m, write)?), Some(m.clone())),
            (None, Some(d)) => (Box::new(RawDevice::open(d, write)?), None),
            (None, None) => {
                bail!("no file system given: use --device PATH, FAMFS_DEVICE or --mount DIR")
            }
        };
        Ok(Target {
            fs: Famfs::open(media)?,
            mount,
        })
    }

    fn node(&self, path: &str) -> Result<&Node> {
        Ok(self.fs.namespace().resolve(path)?)
    }

    fn file_ino(&self, path: &str) -> Result<u64> {
        let n = self.node(path)?;
        if n.is_dir() {
            return Err(famfs_media::Error::IsDir(path.to_string()).into());
        }
        Ok(n.ino)
    }

    fn mounted_file(&self, mnt: &Path, ino: u64, write: bool) -> Result<File> {
        let p = mnt.join(self.fs.namespace().path_of(ino));
        std::fs::OpenOptions::new()
            .read(true)
            .write(write)
            .open(&p)
            .with_context(|| p.display().to_string())
    }

    fn write_at(&mut self, ino: u64, off: u64, buf: &[u8]) -> Result<()> {
        match &self.mount {
            Some(m) => {
                let mut f = self.mounted_file(&m.clone(), ino, true)?;
                f.seek(SeekFrom::Start(off))?;
                f.write_all(buf)?;
            }
            None => self.fs.write_data(ino, off, buf)?,
        }
        Ok(())
    }

    fn read_at(&self, ino: u64, off: u64, buf: &mut [u8]) -> Result<()> {
        match &self.mount {
            Some(m) => {
                let mut f = self.mounted_file(m, ino, false)?;
                f.seek(SeekFrom::Start(off))?;
                f.read_exact(buf)?;
            }
            None => self.fs.read_data(ino, off, buf)?,
        }
        Ok(())
    }
}

fn ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

fn progress(total: u64) -> ProgressBar {
    if total < PROGRESS_THRESHOLD {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        pb.set_style(style);
    }
    pb
}

fn cmd_creat(cli: &Cli, args: &CreatArgs) -> Result<()> {
    let CreatArgs {
        size,
        random,
        seed,
        nstrips,
        chunk,
        mode,
        ref path,
    } = *args;
    let mut t = Target::open(cli, true)?;
    let (uid, gid) = ids();
    let layout = match nstrips {
        Some(n) => Layout::Interleaved {
            nstrips: n,
            chunk_size: chunk.unwrap_or(2 << 20),
            nbuckets: None,
        },
        None => Layout::Simple,
    };
    let ino = t.fs.create_file(
        path,
        &CreateOptions {
            size,
            mode,
            uid,
            gid,
            layout,
        },
    )?;
    if random {
        // `requires = "seed"` makes clap guarantee the seed with -r.
        let seed = seed.context("-r needs -S SEED")?;
        let pb = progress(size);
        let mut buf = vec![0u8; IO_CHUNK];
        let mut off = 0;
        while off < size {
            let n = (size - off).min(IO_CHUNK as u64) as usize;
            pattern::fill(seed, off, &mut buf[..n]);
            t.write_at(ino, off, &buf[..n])?;
            off += n as u64;
            pb.set_position(off);
        }
        pb.finish_and_clear();
    }
    Ok(())
}

fn cmd_verify(cli: &Cli, seed: u64, mmap: bool, path: &str) -> Result<()> {
    let t = Target::open(cli, false)?;
    let ino = t.file_ino(path)?;
    let size = t.node(path)?.attr.size;
    if mmap {
        let Some(m) = &t.mount else {
            bail!("verify --mmap needs --mount DIR");
        };
        let f = t.mounted_file(m, ino, false)?;
        // SAFETY: famfs files never change size; a concurrent writer can only make the
        // check fail, not make the mapping invalid.
        let map = unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("mmap {path}"))?;
        if map.len() as u64 != size {
            bail!(
                "verify: {path}: mapped {} bytes, file size {size}",
                map.len()
            );
        }
        if let Some((at, expect, found)) = pattern::check(seed, 0, &map) {
            bail!("verify: {path}: mismatch at offset {at} through mmap (expected {expect:#04x}, found {found:#04x})");
        }
        println!("verify: {path}: ok through mmap ({size} bytes, seed {seed})");
        return Ok(());
    }
    let mut buf = vec![0u8; IO_CHUNK];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(IO_CHUNK as u64) as usize;
        t.read_at(ino, off, &mut buf[..n])?;
        if let Some((at, expect, found)) = pattern::check(seed, off, &buf[..n]) {
            bail!("verify: {path}: mismatch at offset {at} (expected {expect:#04x}, found {found:#04x})");
        }
        off += n as u64;
    }
    println!("verify: {path}: ok ({size} bytes, seed {seed})");
    Ok(())
}

/// One planned copy: host source to famfs destination.
enum CopyItem {
    Dir(String),
    File(PathBuf, String, u64, u32),
}

fn plan_copy(t: &Target, srcs: &[String], dst: &str, recursive: bool) -> Result<Vec<CopyItem>> {
    let dst = famfs_media::path::normalize(dst)?;
    let dst_dir = match t.node(&dst) {
        Ok(n) if n.is_dir() => true,
        Ok(_) if srcs.len() > 1 => bail!("cp: {dst}: not a directory"),
        Ok(_) => return Err(famfs_media::Error::Exists(dst).into()),
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
        let target = if dst_dir {
            if dst.is_empty() {
                base.to_string()
            } else {
                format!("{dst}/{base}")
            }
        } else {
            dst.clone()
        };
        if md.is_dir() {
            if !recursive {
                bail!("cp: {src}: is a directory (use -r)");
            }
            walk(sp, &target, &mut plan)?;
        } else if md.is_file() {
            plan.push(CopyItem::File(
                sp.to_path_buf(),
                target,
                md.len(),
                mode_of(&md),
            ));
        } else {
            bail!("cp: {src}: not a regular file or directory");
        }
    }
    Ok(plan)
}

fn mode_of(md: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o7777
}

fn walk(src: &Path, target: &str, plan: &mut Vec<CopyItem>) -> Result<()> {
    plan.push(CopyItem::Dir(target.to_string()));
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
            walk(&p, &t, plan)?;
        } else if md.is_file() {
            plan.push(CopyItem::File(p, t, md.len(), mode_of(&md)));
        } else {
            tracing::warn!(
                "cp: skipping {}: not a regular file or directory",
                p.display()
            );
            eprintln!(
                "famfs: cp: skipping {}: not a regular file or directory",
                p.display()
            );
        }
    }
    Ok(())
}

fn cmd_cp(cli: &Cli, recursive: bool, paths: &[String]) -> Result<()> {
    let (dst, srcs) = paths.split_last().context("cp needs SRC... DST")?;
    let mut t = Target::open(cli, true)?;
    let plan = plan_copy(&t, srcs, dst, recursive)?;
    let total: u64 = plan
        .iter()
        .map(|i| match i {
            CopyItem::File(_, _, len, _) => *len,
            CopyItem::Dir(_) => 0,
        })
        .sum();
    let (uid, gid) = ids();
    let pb = progress(total);
    let mut buf = vec![0u8; IO_CHUNK];
    let mut done = 0u64;
    for item in plan {
        match item {
            CopyItem::Dir(d) => {
                t.fs.mkdir(&d, 0o755, uid, gid)?;
            }
            CopyItem::File(src, d, len, mode) => {
                let mut f = File::open(&src).with_context(|| src.display().to_string())?;
                let ino = t.fs.create_file(
                    &d,
                    &CreateOptions {
                        size: len,
                        mode,
                        uid,
                        gid,
                        layout: Layout::Simple,
                    },
                )?;
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
        }
    }
    pb.finish_and_clear();
    Ok(())
}

fn describe_map(m: &FileMap) -> String {
    match m {
        FileMap::Simple(e) => format!("simple, {} extent(s)", e.len()),
        FileMap::Interleaved { chunk_size, strips } => {
            format!("interleaved, {} strip(s), chunk {chunk_size}", strips.len())
        }
    }
}

fn cmd_logplay(cli: &Cli) -> Result<()> {
    let t = Target::open(cli, false)?;
    let ns = t.fs.namespace();
    let h = t.fs.log_header();
    let (mut files, mut dirs) = (0, 0);
    for n in ns.nodes().filter(|n| n.log_index.is_some()) {
        let a = &n.attr;
        let path = ns.path_of(n.ino);
        match n.map() {
            None => {
                dirs += 1;
                println!(
                    "dir  {:04o} {}:{} {:>14} {path}/",
                    a.mode & 0o7777,
                    a.uid,
                    a.gid,
                    "-"
                );
            }
            Some(m) => {
                files += 1;
                println!(
                    "file {:04o} {}:{} {:>14} {path} ({})",
                    a.mode & 0o7777,
                    a.uid,
                    a.gid,
                    a.size,
                    describe_map(m)
                );
            }
        }
    }
    println!(
        "logplay: {} log entries ({files} files, {dirs} directories), {} of {} entries used, {} bytes free",
        h.next_index,
        h.next_index,
        h.capacity(),
        t.fs.free_bytes()
    );
    Ok(())
}

fn cmd_fsck(cli: &Cli) -> Result<()> {
    let media: Box<dyn Media> = match (&cli.mount, &cli.device) {
        (Some(m), _) => Box::new(MountedMeta::open(m, false)?),
        (None, Some(d)) => Box::new(RawDevice::open(d, false)?),
        (None, None) => {
            bail!("no file system given: use --device PATH, FAMFS_DEVICE or --mount DIR")
        }
    };
    let r = fsck(&media);
    for p in &r.problems {
        println!("fsck: {p}");
    }
    println!(
        "fsck: {} log entries of {}, {} files, {} directories, {} of {} bytes allocated",
        r.entries, r.log_capacity, r.files, r.dirs, r.allocated, r.device_size
    );
    if !r.is_clean() {
        bail!("fsck: {} problem(s) found", r.problems.len());
    }
    println!("fsck: clean");
    Ok(())
}

fn cmd_getmap(cli: &Cli, path: &str, hex: bool) -> Result<()> {
    let t = Target::open(cli, false)?;
    let n = t.node(path)?;
    let map = n
        .map()
        .ok_or_else(|| famfs_media::Error::IsDir(path.to_string()))?;
    let blob = n.fmap_blob()?;
    println!("path: {}", t.fs.namespace().path_of(n.ino));
    println!("ino: {}", n.ino);
    println!("size: {}", n.attr.size);
    println!("map: {}", describe_map(map));
    for (i, e) in map.extents().iter().enumerate() {
        println!(
            "  {}[{i}]: dev {} offset {:#x} len {:#x}",
            if matches!(map, FileMap::Simple(_)) {
                "extent"
            } else {
                "strip"
            },
            e.devindex,
            e.offset,
            e.len
        );
    }
    println!("fmap blob: {} bytes", blob.len());
    if hex {
        for (i, line) in blob.chunks(16).enumerate() {
            let h: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            println!("  {:04x}: {}", i * 16, h.join(" "));
        }
    }
    Ok(())
}

/// The famfsd binary: next to this one, else from PATH.
fn famfsd_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("famfsd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("famfsd"))
}

fn cmd_mount(cli: &Cli, dev: &Path, mnt: &Path, foreground: bool) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(famfsd_path());
    cmd.arg(dev).arg(mnt);
    if foreground {
        cmd.arg("--foreground");
    }
    if cli.verbose > 0 {
        cmd.arg(format!("-{}", "v".repeat(cli.verbose as usize)));
    }
    let e = cmd.exec();
    bail!("starting {}: {e}", famfsd_path().display())
}

/// The pid of the famfsd serving `mnt`, from its pid file.
fn famfsd_pid(mnt: &Path) -> Result<(PathBuf, i32)> {
    let m = mnt
        .canonicalize()
        .with_context(|| mnt.display().to_string())?;
    let pf = famfs_media::rundir::file(&m, "pid")?;
    let pid = std::fs::read_to_string(&pf)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .with_context(|| {
            format!(
                "no famfsd serves {} ({} missing)",
                m.display(),
                pf.display()
            )
        })?;
    Ok((m, pid))
}

fn process_alive(pid: i32) -> bool {
    rustix::process::Pid::from_raw(pid)
        .map(|p| rustix::process::test_kill_process(p).is_ok())
        .unwrap_or(false)
}

fn cmd_umount(mnt: &Path) -> Result<()> {
    let (m, pid) = famfsd_pid(mnt)?;
    let stats = famfs_media::rundir::file(&m, "stats")?;
    rustix::mount::unmount(&m, rustix::mount::UnmountFlags::empty())
        .with_context(|| format!("umount {}", m.display()))?;
    for _ in 0..200 {
        if !process_alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if process_alive(pid) {
        bail!(
            "{} unmounted but famfsd (pid {pid}) did not exit",
            m.display()
        );
    }
    if let Ok(s) = std::fs::read_to_string(&stats) {
        print!("{s}");
    }
    Ok(())
}

fn cmd_stats(mnt: &Path) -> Result<()> {
    let (m, pid) = famfsd_pid(mnt)?;
    let stats = famfs_media::rundir::file(&m, "stats")?;
    let _ = std::fs::remove_file(&stats);
    let p = rustix::process::Pid::from_raw(pid).context("bad pid")?;
    rustix::process::kill_process(p, rustix::process::Signal::USR1)
        .with_context(|| format!("signalling famfsd (pid {pid})"))?;
    for _ in 0..100 {
        if let Ok(s) = std::fs::read_to_string(&stats) {
            print!("{s}");
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    bail!("famfsd (pid {pid}) did not write {}", stats.display())
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.cmd {
        Cmd::Mkfs { dev, force, loglen } => {
            let media = RawDevice::open(dev, true)?;
            let fs = Famfs::mkfs(media, *loglen, *force)?;
            let sb = fs.superblock();
            println!(
                "mkfs: {}: {} bytes, log {} bytes ({} entries), fs uuid {}",
                dev.display(),
                sb.daxdev.size,
                sb.log_len,
                fs.log_header().capacity(),
                sb.fs_uuid
            );
        }
        Cmd::Creat(args) => cmd_creat(cli, args)?,
        Cmd::Mkdir {
            parents,
            mode,
            path,
        } => {
            let mut t = Target::open(cli, true)?;
            let (uid, gid) = ids();
            if *parents {
                t.fs.mkdir_p(path, *mode, uid, gid)?;
            } else {
                t.fs.mkdir(path, *mode, uid, gid)?;
            }
        }
        Cmd::Cp { recursive, paths } => cmd_cp(cli, *recursive, paths)?,
        Cmd::Verify { seed, mmap, path } => cmd_verify(cli, *seed, *mmap, path)?,
        Cmd::Logplay => cmd_logplay(cli)?,
        Cmd::Fsck => cmd_fsck(cli)?,
        Cmd::Getmap { path, hex } => cmd_getmap(cli, path, *hex)?,
        Cmd::Mount {
            dev,
            mountpoint,
            foreground,
        } => cmd_mount(cli, dev, mountpoint, *foreground)?,
        Cmd::Umount { mountpoint } => cmd_umount(mountpoint)?,
        Cmd::Stats { mountpoint } => cmd_stats(mountpoint)?,
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(&cli) {
        eprintln!("famfs: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2m"), Ok(2 << 20));
        assert_eq!(parse_size("3G"), Ok(3 << 30));
        assert!(parse_size("1x").is_err());
        assert!(parse_size("m").is_err());
        assert!(parse_size("99999999999t").is_err());
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("644"), Ok(0o644));
        assert!(parse_mode("9").is_err());
        assert!(parse_mode("17777").is_err());
    }
}
