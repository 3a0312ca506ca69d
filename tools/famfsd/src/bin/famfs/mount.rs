// SPDX-License-Identifier: GPL-2.0
//! `famfs mount` (starts famfsd), and the extensions `famfs umount` and `famfs stats`.

use super::common::Ctx;
use anyhow::{bail, Context, Result};
use famfs_media::daxdev;
use std::path::{Path, PathBuf};

/// Options of mount.
#[derive(clap::Args)]
pub struct Args {
    /// Mount through FUSE (the only way this famfs mounts; accepted for compatibility).
    #[arg(short = 'f', long = "fuse")]
    pub fuse: bool,
    /// Standalone (non-FUSE) famfs: not supported.
    #[arg(short = 'F', long = "nofuse")]
    pub nofuse: bool,
    /// Attribute and entry timeout of directories, in seconds.
    #[arg(short, long)]
    pub timeout: Option<u64>,
    /// Run famfsd in the foreground, verbose, until unmounted.
    #[arg(short, long)]
    pub debug: bool,
    /// Extension: run famfsd in the foreground (logs to stderr) until unmounted.
    #[arg(long)]
    pub foreground: bool,
    /// Other users get no access (no allow_other).
    #[arg(short = 'u', long = "nouseraccess")]
    pub nouseraccess: bool,
    /// The kernel does not check permissions (no default_permissions).
    #[arg(short = 'p', long = "nodefaultperm")]
    pub nodefaultperm: bool,
    /// Write famfs's shadow YAML of every file under this directory (and keep it current).
    #[arg(short = 'S', long)]
    pub shadow: Option<PathBuf>,
    /// Switch the device to the famfs (fsdev_dax) mode first.
    #[arg(short = 'M', long = "set-daxmode")]
    pub set_daxmode: bool,
    /// Load the famfs_iomap module first.
    #[arg(short = 'L', long = "load-module")]
    pub load_module: bool,
    /// Primary DAX device, e.g. /dev/dax0.0 (others are found by uuid).
    pub dev: PathBuf,
    /// Mount point (an existing directory).
    pub mountpoint: PathBuf,
}

/// The famfsd binary: next to this one, else from PATH.
fn famfsd_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("famfsd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("famfsd"))
}

/// Run mount: execs famfsd.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    use std::os::unix::process::CommandExt;
    if a.nofuse {
        bail!("mount: -F/--nofuse (standalone famfs v1) is not supported: this famfs mounts through FUSE and the famfs_iomap module");
    }
    if a.load_module && !Path::new("/sys/module/famfs_iomap").exists() {
        let st = std::process::Command::new("modprobe")
            .arg("famfs_iomap")
            .status()
            .context("running modprobe famfs_iomap")?;
        if !st.success() {
            bail!("mount: modprobe famfs_iomap failed");
        }
    }
    if a.set_daxmode {
        daxdev::set_driver(&a.dev, "fsdev_dax")?;
    }
    if ctx.dryrun {
        println!(
            "mount: dry run: would mount {} on {}",
            a.dev.display(),
            a.mountpoint.display()
        );
        return Ok(());
    }
    let mut cmd = std::process::Command::new(famfsd_path());
    cmd.arg(&a.dev).arg(&a.mountpoint);
    if a.foreground || a.debug {
        cmd.arg("--foreground");
    }
    let v = ctx.verbose + if a.debug { 2 } else { 0 };
    if v > 0 {
        cmd.arg(format!("-{}", "v".repeat(v as usize)));
    }
    if let Some(t) = a.timeout {
        cmd.arg(format!("--timeout={t}"));
    }
    if a.nouseraccess {
        cmd.arg("--no-allow-other");
    }
    if a.nodefaultperm {
        cmd.arg("--no-default-permissions");
    }
    if let Some(s) = &a.shadow {
        cmd.arg("--shadow").arg(s);
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

/// Unmount and wait for famfsd to exit; print its statistics.
pub fn umount(mnt: &Path) -> Result<()> {
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

/// Ask famfsd for its statistics (SIGUSR1) and print them.
pub fn stats(mnt: &Path) -> Result<()> {
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
