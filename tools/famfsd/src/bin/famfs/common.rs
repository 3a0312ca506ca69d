// SPDX-License-Identifier: GPL-2.0
//! What every verb shares: where the file system is (found from an ordinary path, or given
//! with the `--device`/`--mount` extension), opening it, sizes and modes, file data I/O.

use anyhow::{bail, Context, Result};
use famfs_media::{pattern, role, Famfs, Media, MountedMeta, Node, RawDevice};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Copies and fills of at least this many bytes show a progress bar (on a terminal).
pub const PROGRESS_THRESHOLD: u64 = 64 << 20;
/// I/O chunk for copy, fill and verify.
pub const IO_CHUNK: usize = 4 << 20;

/// `-m`, `-u`, `-g`: mode, owner and group of new files or directories.
#[derive(clap::Args)]
pub struct Owner {
    /// Permission bits (octal). As famfs: creat 0644 by default, ANDed with ~umask; cp
    /// ANDed with ~umask, the source's bits (& 0777) by default; mkdir 0755 by default,
    /// the umask not applied.
    #[arg(short, long, value_parser = parse_mode)]
    pub mode: Option<u32>,
    /// Owner (default: the caller's uid).
    #[arg(short, long)]
    pub uid: Option<u32>,
    /// Group (default: the caller's gid).
    #[arg(short, long)]
    pub gid: Option<u32>,
}

impl Owner {
    /// The uid and gid to record.
    pub fn ids(&self) -> (u32, u32) {
        let (u, g) = ids();
        (self.uid.unwrap_or(u), self.gid.unwrap_or(g))
    }
}

/// famfs's smallest bucket of strided allocation (`famfs_validate_interleave_param`).
pub const MIN_BUCKET_SIZE: u64 = 1 << 30;
/// famfs's largest bucket count (`FAMFS_MAX_NBUCKETS`).
pub const MAX_NBUCKETS: u32 = 64;

/// `-N`, `-B`, `-C`: striping of new files.
#[derive(clap::Args)]
pub struct Striping {
    /// Interleave over this many strips (needs -B, as famfs).
    #[arg(short = 'N', long)]
    pub nstrips: Option<u32>,
    /// Bucketed strided allocation: each strip from a different one of this many
    /// buckets of the device; buckets must be >= 1 GiB (needs -N).
    #[arg(short = 'B', long, requires = "nstrips")]
    pub nbuckets: Option<u32>,
    /// Chunk size: a power of two and a multiple of the allocation unit (default 2M;
    /// needs -N).
    #[arg(short = 'C', long = "chunksize", value_parser = parse_size, requires = "nstrips")]
    pub chunk: Option<u64>,
    /// Extension: lift famfs's striping rules (chunk a multiple of the allocation unit,
    /// -B required, buckets >= 1 GiB, at most 64 buckets): chunks down to 4 KiB,
    /// first-fit strips without -B, small buckets on small devices. For tests.
    #[arg(long, requires = "nstrips")]
    pub allow_small_stripes: bool,
}

impl Striping {
    /// The layout the options ask for, checked against famfs's rules for a file system
    /// with allocation unit `alloc_unit` on a primary device of `devsize` bytes (famfs
    /// cuts that device into the buckets), unless `--allow-small-stripes`.
    pub fn layout(&self, alloc_unit: u64, devsize: u64) -> Result<famfs_media::Layout> {
        let Some(n) = self.nstrips else {
            return Ok(famfs_media::Layout::Simple);
        };
        let chunk_size = self.chunk.unwrap_or(2 << 20);
        if !self.allow_small_stripes {
            self.check_famfs_rules(n, chunk_size, alloc_unit, devsize)?;
        }
        Ok(famfs_media::Layout::Interleaved {
            nstrips: n,
            chunk_size,
            nbuckets: self.nbuckets,
        })
    }

    fn check_famfs_rules(&self, n: u32, chunk: u64, alloc_unit: u64, devsize: u64) -> Result<()> {
        const EXT: &str = "--allow-small-stripes lifts this";
        if !chunk.is_power_of_two() {
            bail!(
                "chunk size {chunk} must be a power of two (famfs: chunk_size={chunk:#x} must \
                 be a power of 2)"
            );
        }
        if chunk % alloc_unit != 0 {
            bail!(
                "chunk size {chunk:#x} must be a multiple of the allocation unit {alloc_unit:#x} \
                 (famfs: chunk_size={chunk:#x} must be a multiple of alloc_unit; {EXT})"
            );
        }
        let Some(nb) = self.nbuckets.filter(|b| *b > 0) else {
            bail!(
                "striping (-N {n}) needs -B NBUCKETS: famfs takes each strip from its own \
                 bucket of at least 1 GiB (famfs: Bucket_size (0) < 1G; {EXT})"
            );
        };
        if nb > MAX_NBUCKETS {
            bail!(
                "-B {nb}: at most {MAX_NBUCKETS} buckets (famfs: nbuckets {nb} exceeds max \
                 {MAX_NBUCKETS}; {EXT})"
            );
        }
        let bucket = devsize / u64::from(nb);
        if bucket < MIN_BUCKET_SIZE {
            bail!(
                "-B {nb}: buckets of {bucket} bytes (device {devsize} / {nb}) are smaller than \
                 1 GiB (famfs: Bucket_size ({bucket}) < 1G; {EXT})"
            );
        }
        Ok(())
    }
}

/// Options every verb sees.
pub struct Ctx {
    /// Extension: a device or image file; paths are relative to its root.
    pub device: Option<PathBuf>,
    /// Extension: a mount point; paths are relative to its root.
    pub mount: Option<PathBuf>,
    /// Change nothing; say what would be done.
    pub dryrun: bool,
    /// Verbosity.
    pub verbose: u8,
}

/// Where a file system is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A device or image file, mapped whole.
    Device(PathBuf),
    /// A mounted famfs: metadata through its `.meta` files, data through its files.
    Mount(PathBuf),
}

/// A path argument that is not inside a famfs.
#[derive(Debug)]
pub struct NotInFamfs(pub String);

impl std::fmt::Display for NotInFamfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: not in a mounted famfs", self.0)
    }
}

impl std::error::Error for NotInFamfs {}

impl Ctx {
    /// The file system holding `path` and the path relative to its root. With `--device`
    /// or `--mount` (extensions) `path` is relative to that file system's root; otherwise
    /// it is an ordinary path and the mount is found from it.
    pub fn locate(&self, path: &str) -> Result<(Place, String)> {
        if let Some(d) = &self.device {
            return Ok((
                Place::Device(d.clone()),
                famfs_media::path::normalize(path)?,
            ));
        }
        if let Some(m) = &self.mount {
            return Ok((Place::Mount(m.clone()), famfs_media::path::normalize(path)?));
        }
        match famfs_media::path::find_mount(Path::new(path))? {
            Some((m, rel)) => Ok((Place::Mount(m), rel)),
            None => Err(NotInFamfs(path.to_string()).into()),
        }
    }

    /// The file system named by a verb's DEV|MPT argument, or by `--device`/`--mount`.
    pub fn place_of(&self, arg: Option<&Path>) -> Result<Place> {
        match arg {
            Some(p) => {
                if famfs_media::path::is_famfs_root(p) {
                    return Ok(Place::Mount(p.to_path_buf()));
                }
                if p.is_dir() {
                    match famfs_media::path::find_mount(p)? {
                        Some((m, _)) => return Ok(Place::Mount(m)),
                        None => bail!("{}: not a famfs mount point", p.display()),
                    }
                }
                Ok(Place::Device(p.to_path_buf()))
            }
            None => match (&self.device, &self.mount) {
                (_, Some(m)) => Ok(Place::Mount(m.clone())),
                (Some(d), None) => Ok(Place::Device(d.clone())),
                (None, None) => bail!(
                    "no file system given: name a device or mount point (or use --device PATH, FAMFS_DEVICE or --mount DIR)"
                ),
            },
        }
    }
}

/// Open the metadata of `place` as media (exclusively for writers).
pub fn open_media(place: &Place, write: bool) -> Result<Box<dyn Media>> {
    Ok(match place {
        Place::Device(d) => Box::new(RawDevice::open(d, write)?),
        Place::Mount(m) => Box::new(MountedMeta::open(m, write)?),
    })
}

/// An opened file system plus, when mounted, the mount point (file data then goes
/// through the mounted files).
pub struct Target {
    /// The file system.
    pub fs: Famfs<Box<dyn Media>>,
    /// Where it was opened.
    pub place: Place,
}

impl Target {
    /// Open `place`; a writer (`write`) must be the owner host. Entries replay skipped
    /// are reported on stderr.
    pub fn open(place: &Place, write: bool, what: &str) -> Result<Self> {
        let fs = Famfs::open(open_media(place, write)?)?;
        for p in fs.problems() {
            eprintln!("famfs: warning: log replay skipped: {p}");
        }
        if write {
            role::require_owner(fs.superblock(), what)?;
        }
        Ok(Target {
            fs,
            place: place.clone(),
        })
    }

    /// The node at `rel`.
    pub fn node(&self, rel: &str) -> Result<&Node> {
        Ok(self.fs.namespace().resolve(rel)?)
    }

    /// The inode of the file (not directory) at `rel`.
    pub fn file_ino(&self, rel: &str) -> Result<u64> {
        let n = self.node(rel)?;
        if n.is_dir() {
            return Err(famfs_media::Error::IsDir(rel.to_string()).into());
        }
        Ok(n.ino)
    }

    /// The mounted path of inode `ino`, when mounted.
    pub fn mounted_path(&self, ino: u64) -> Option<PathBuf> {
        match &self.place {
            Place::Mount(m) => Some(m.join(self.fs.namespace().path_of(ino))),
            Place::Device(_) => None,
        }
    }

    /// Write `buf` at `off` of file `ino`.
    pub fn write_at(&mut self, ino: u64, off: u64, buf: &[u8]) -> Result<()> {
        match self.mounted_path(ino) {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .with_context(|| p.display().to_string())?;
                f.write_all_at(buf, off)
                    .with_context(|| p.display().to_string())?;
            }
            None => self.fs.write_data(ino, off, buf)?,
        }
        Ok(())
    }

    /// Read `buf` at `off` of file `ino`.
    pub fn read_at(&self, ino: u64, off: u64, buf: &mut [u8]) -> Result<()> {
        match self.mounted_path(ino) {
            Some(p) => {
                let mut f = File::open(&p).with_context(|| p.display().to_string())?;
                f.seek(SeekFrom::Start(off))?;
                f.read_exact(buf).with_context(|| p.display().to_string())?;
            }
            None => self.fs.read_data(ino, off, buf)?,
        }
        Ok(())
    }

    /// Fill file `ino` (`size` bytes) with the pattern of `seed`.
    pub fn fill(&mut self, ino: u64, size: u64, seed: u64) -> Result<()> {
        let pb = progress(size);
        let mut buf = vec![0u8; IO_CHUNK];
        let mut off = 0;
        let file = match self.mounted_path(ino) {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .with_context(|| p.display().to_string())?,
            ),
            None => None,
        };
        while off < size {
            let n = (size - off).min(IO_CHUNK as u64) as usize;
            pattern::fill(seed, off, &mut buf[..n]);
            match &file {
                Some(f) => f.write_all_at(&buf[..n], off)?,
                None => self.fs.write_data(ino, off, &buf[..n])?,
            }
            off += n as u64;
            pb.set_position(off);
        }
        if let Some(mut f) = file {
            f.flush()?;
        }
        pb.finish_and_clear();
        Ok(())
    }
}

/// Fill the mounted file `p` of `size` bytes with the pattern of `seed` (thread-safe:
/// no shared state).
pub fn fill_mounted(p: &Path, size: u64, seed: u64) -> Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(p)
        .with_context(|| p.display().to_string())?;
    let mut buf = vec![0u8; IO_CHUNK];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(IO_CHUNK as u64) as usize;
        pattern::fill(seed, off, &mut buf[..n]);
        f.write_all_at(&buf[..n], off)
            .with_context(|| p.display().to_string())?;
        off += n as u64;
    }
    Ok(())
}

/// Run `jobs` on at most `threads` threads; the first error wins.
pub fn run_parallel<T: Send>(
    threads: usize,
    jobs: Vec<T>,
    f: impl Fn(T) -> Result<()> + Sync,
) -> Result<()> {
    let threads = threads.max(1);
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let first_err = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let job = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(job) = job else { break };
                if let Err(e) = f(job) {
                    first_err
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e);
                }
            });
        }
    });
    match first_err.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The effective uid and gid.
pub fn ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

/// Permission bits of a new file made by creat, as famfs computes them: `-m` (default
/// 0644) ANDed with ~umask.
pub fn creat_mode(explicit: Option<u32>, umask: u32) -> u32 {
    explicit.unwrap_or(0o644) & !umask & 0o7777
}

/// Permission bits of a file copied by cp, as famfs computes them: `-m` ANDed with
/// ~umask; if that leaves nothing (no `-m`, or all masked), the source's bits & 0777,
/// not masked.
pub fn cp_mode(explicit: Option<u32>, umask: u32, source: u32) -> u32 {
    match explicit.unwrap_or(0) & !umask & 0o7777 {
        0 => source & 0o777,
        m => m,
    }
}

/// Permission bits of a directory made by mkdir, as famfs computes them: `-m` as
/// given, 0755 by default; the umask is not applied.
pub fn mkdir_mode(explicit: Option<u32>) -> u32 {
    explicit.unwrap_or(0o755) & 0o7777
}

/// The process umask.
pub fn umask() -> u32 {
    // SAFETY: umask only swaps the process's mask; it is restored at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

/// A progress bar for `total` bytes, hidden below [`PROGRESS_THRESHOLD`].
pub fn progress(total: u64) -> ProgressBar {
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

/// Parse a byte count with an optional binary suffix (k, m, g, t; either case).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
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

/// Parse permission bits in octal.
pub fn parse_mode(s: &str) -> std::result::Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("bad mode '{s}' (octal, at most 7777)"))
}

/// Split `NAME,SIZE[,SEED]` (creat -M) or `FILE,SEED` (verify -m).
pub fn split_spec(s: &str, min: usize, max: usize) -> Result<Vec<&str>> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() < min || parts.len() > max || parts.iter().any(|p| p.is_empty()) {
        bail!("bad argument '{s}': expected {min} to {max} comma-separated fields");
    }
    Ok(parts)
}

/// Parse a seed (decimal or 0x hex).
pub fn parse_seed(s: &str) -> Result<u64> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| anyhow::anyhow!("bad seed '{s}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2m"), Ok(2 << 20));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
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

    #[test]
    fn new_object_modes_follow_famfs() {
        assert_eq!(creat_mode(Some(0o664), 0o022), 0o644);
        assert_eq!(creat_mode(None, 0o077), 0o600);
        assert_eq!(cp_mode(Some(0o666), 0o022, 0o600), 0o644);
        assert_eq!(cp_mode(None, 0o077, 0o4755), 0o755);
        assert_eq!(cp_mode(Some(0o022), 0o022, 0o640), 0o640);
        assert_eq!(mkdir_mode(None), 0o755);
        assert_eq!(mkdir_mode(Some(0o777)), 0o777);
    }

    #[test]
    fn specs_and_seeds() {
        assert_eq!(split_spec("f,4m,7", 2, 3).unwrap(), ["f", "4m", "7"]);
        assert!(split_spec("f", 2, 3).is_err());
        assert!(split_spec("f,,1", 2, 3).is_err());
        assert!(split_spec("a,b,c,d", 2, 3).is_err());
        assert_eq!(parse_seed("0x10").unwrap(), 16);
        assert!(parse_seed("x").is_err());
    }
}
