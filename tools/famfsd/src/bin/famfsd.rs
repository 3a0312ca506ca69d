// SPDX-License-Identifier: GPL-2.0
//! `famfsd DEV MOUNTPOINT`: mount a famfs and serve it over /dev/fuse.
//!
//! By default famfsd starts itself again in the background (`--foreground`) and returns
//! once the mount is up, printing the error line if it is not. SIGUSR1 writes the request
//! statistics to `<rundir>/<key>.stats` (also at exit); SIGTERM/SIGINT unmount.

use anyhow::{bail, Context, Result};
use clap::Parser;
use famfs_media::fuse::host::{boot_snapshot, MountHost};
use famfs_media::fuse::server::{InitState, Server};
use famfs_media::fuse::session;
use famfs_media::media::device_size;
use famfs_media::rundir;
use std::io::{Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "famfsd", version, about = "famfs FUSE server")]
struct Args {
    /// DAX device (bound to fsdev_dax), e.g. /dev/dax0.0.
    dev: PathBuf,
    /// Mount point.
    mountpoint: PathBuf,
    /// Stay in the foreground (log to stderr).
    #[arg(short, long)]
    foreground: bool,
    /// Worker threads reading /dev/fuse.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=64))]
    threads: u32,
    /// More logging (-v info, -vv debug, -vvv every request).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Entry and attribute timeout of directories, in seconds.
    #[arg(long)]
    timeout: Option<u64>,
    /// Do not let other users access the mount (no allow_other).
    #[arg(long)]
    no_allow_other: bool,
    /// Do not have the kernel check permissions (no default_permissions).
    #[arg(long)]
    no_default_permissions: bool,
    /// Keep famfs's shadow YAML tree of the file system under this directory.
    #[arg(long)]
    shadow: Option<PathBuf>,
    /// Another device of the file system (device index 1, 2, ... in order). famfsd finds
    /// the devices the log names by uuid itself; this names them explicitly.
    #[arg(long = "daxdev")]
    daxdevs: Vec<PathBuf>,
    /// Internal: file descriptor to report readiness on ("ok" or the error line).
    #[arg(long, hide = true)]
    ready_fd: Option<i32>,
}

impl Args {
    /// The options a restarted famfsd gets (all but the positional ones and the ready fd).
    fn passthrough(&self) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![format!("--threads={}", self.threads).into()];
        if self.verbose > 0 {
            v.push(format!("-{}", "v".repeat(self.verbose as usize)).into());
        }
        if let Some(t) = self.timeout {
            v.push(format!("--timeout={t}").into());
        }
        if self.no_allow_other {
            v.push("--no-allow-other".into());
        }
        if self.no_default_permissions {
            v.push("--no-default-permissions".into());
        }
        if let Some(s) = &self.shadow {
            v.push("--shadow".into());
            v.push(s.into());
        }
        for d in &self.daxdevs {
            v.push("--daxdev".into());
            v.push(d.into());
        }
        v
    }
}

fn main() {
    let args = Args::parse();
    let level = match args.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let mut ready = args.ready_fd.map(|fd| {
        // SAFETY: the parent passed this descriptor for us alone.
        std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) })
    });
    let r = if args.foreground || ready.is_some() {
        serve(&args, &mut ready)
    } else {
        background(&args)
    };
    if let Err(e) = r {
        let msg = format!("{e:#}");
        let line = if msg.starts_with("famfsd:") {
            msg
        } else {
            format!("famfsd: {msg}")
        };
        if let Some(f) = ready.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        eprintln!("{line}");
        std::process::exit(1);
    }
}

/// Start `famfsd --foreground` in a new session, logging to the run directory, and wait
/// until it reports the mount up or failed.
fn background(args: &Args) -> Result<()> {
    check_privilege()?;
    let mnt = canonical_mount(&args.mountpoint)?;
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let log = rundir::file(&mnt, "log")?;
    let logf = std::fs::File::create(&log).with_context(|| log.display().to_string())?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg(&args.dev)
        .arg(&mnt)
        .arg("--foreground")
        .arg("--ready-fd=3")
        .args(args.passthrough())
        .stdin(std::process::Stdio::null())
        .stdout(logf.try_clone()?)
        .stderr(logf);
    let wfd = std::os::fd::AsRawFd::as_raw_fd(&wr);
    // SAFETY: only async-signal-safe calls (dup2, setsid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting famfsd")?;
    drop(wr);
    let mut msg = String::new();
    std::fs::File::from(rd).read_to_string(&mut msg)?;
    let msg = msg.trim();
    if msg == "ok" {
        println!(
            "famfsd: {} mounted on {} (pid {}, log {})",
            args.dev.display(),
            mnt.display(),
            child.id(),
            log.display()
        );
        return Ok(());
    }
    let _ = child.wait();
    if msg.is_empty() {
        bail!("famfsd exited without mounting (see {})", log.display());
    }
    bail!("{msg}")
}

fn check_privilege() -> Result<()> {
    let (admin, rawio) = session::capabilities();
    if !admin || !rawio {
        bail!("famfsd: mount needs CAP_SYS_RAWIO and CAP_SYS_ADMIN");
    }
    Ok(())
}

fn canonical_mount(p: &Path) -> Result<PathBuf> {
    let m = p
        .canonicalize()
        .with_context(|| format!("mount point {}", p.display()))?;
    if !m.is_dir() {
        bail!("mount point {}: not a directory", m.display());
    }
    Ok(m)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Check that `dev` is a device-dax character device (its sysfs subsystem is "dax").
fn check_dax_device(dev: &Path) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::metadata(dev).with_context(|| dev.display().to_string())?;
    let not_dax = || anyhow::anyhow!("{}: not a device-dax character device", dev.display());
    if !md.file_type().is_char_device() {
        return Err(not_dax());
    }
    let (maj, min) = (rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()));
    let sub = std::fs::read_link(format!("/sys/dev/char/{maj}:{min}/subsystem")).ok();
    if sub.as_deref().and_then(|s| s.file_name()) != Some(std::ffi::OsStr::new("dax")) {
        return Err(not_dax());
    }
    Ok(())
}

fn serve(args: &Args, ready: &mut Option<std::fs::File>) -> Result<()> {
    check_privilege()?;
    let mnt = canonical_mount(&args.mountpoint)?;
    let dev = &args.dev;
    check_dax_device(dev)?;
    for d in &args.daxdevs {
        check_dax_device(d)?;
    }
    let devf = std::fs::File::open(dev).with_context(|| dev.display().to_string())?;
    let dev_size = device_size(dev, &devf)?;
    drop(devf);
    let time = now();

    // Signals are handled by one thread with sigwait: block them everywhere first.
    let sigs = signal_set();
    // SAFETY: plain libc call on a valid signal set.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &sigs, std::ptr::null_mut()) };

    let fuse = Arc::new(session::open_fuse().context("/dev/fuse")?);
    let host = MountHost::new(&mnt, dev, dev_size, time, Some(fuse.clone()))
        .with_devices(args.daxdevs.clone())
        .with_shadow(args.shadow.clone());
    let server = Arc::new(Server::new(
        host,
        boot_snapshot(dev, dev_size, time)?,
        args.threads as usize,
    ));
    if let Some(t) = args.timeout {
        server.set_dir_timeout(t);
    }
    let access = session::Access {
        allow_other: !args.no_allow_other,
        default_permissions: !args.no_default_permissions,
    };
    let workers: Vec<_> = (0..args.threads)
        .map(|i| {
            let (f, s) = (fuse.clone(), server.clone());
            std::thread::Builder::new()
                .name(format!("famfsd-{i}"))
                .spawn(move || session::worker(f, s))
        })
        .collect::<std::io::Result<_>>()?;

    if let Err(e) = session::mount(fuse.as_fd(), dev, &mnt, access) {
        let cfg = server.host().config_error.lock().unwrap().clone();
        let init = server.init.lock().unwrap().clone();
        if let Some(m) = cfg {
            bail!("{m}");
        }
        if let InitState::Refused(m) = init {
            bail!("mount {}: {m}", mnt.display());
        }
        if e == rustix::io::Errno::BUSY {
            bail!(
                "mount {}: {} is in use (mounted already?)",
                mnt.display(),
                dev.display()
            );
        }
        if e == rustix::io::Errno::NOENT {
            bail!(
                "mount {}: {e}: no iomap provider \"famfs\" (is famfs_iomap.ko loaded? see dmesg)",
                mnt.display()
            );
        }
        bail!("mount {}: {e} (see dmesg)", mnt.display());
    }
    tracing::info!("mounted {} on {}", dev.display(), mnt.display());

    // The metadata comes back through the mount (the device has no read/mmap now).
    let loaded = server.host().load_superblock().and_then(|sb| {
        server.install(server.host().meta_snapshot(&sb));
        server.host().read_log(None)
    });
    match loaded {
        Ok(Some(snap)) => {
            tracing::info!("{} log entries replayed", snap.next_index);
            let registered = 1 + args.daxdevs.len();
            if snap.ns.devices().len() > registered {
                // The log names more devices (ADD_DAXDEV): find them by uuid and mount
                // again with all of them, since devices are registered once, at mount.
                let more = find_devices(&snap.ns.devices()[registered..]);
                match more {
                    Ok(paths) => {
                        let _ = session::unmount(&mnt);
                        return restart(args, &paths);
                    }
                    Err(e) => tracing::warn!("{e}: files on it are not served"),
                }
            }
            server.install(snap);
        }
        Ok(None) => unreachable!("read_log(None) always builds a snapshot"),
        Err(e) => {
            let _ = session::unmount(&mnt);
            bail!("{}: {e}", dev.display());
        }
    }

    let pidfile = rundir::file(&mnt, "pid")?;
    std::fs::write(&pidfile, format!("{}\n", std::process::id()))?;
    let stats_file = rundir::file(&mnt, "stats")?;
    if let Some(mut f) = ready.take() {
        writeln!(f, "ok")?;
    }
    {
        let (server, mnt, stats_file) = (server.clone(), mnt.clone(), stats_file.clone());
        std::thread::Builder::new()
            .name("famfsd-signals".into())
            .spawn(move || loop {
                let mut sig = 0;
                // SAFETY: valid set and output pointer.
                if unsafe { libc::sigwait(&sigs, &mut sig) } != 0 {
                    continue;
                }
                if sig == libc::SIGUSR1 {
                    let report = server.stats.report();
                    tracing::info!("statistics:\n{report}");
                    write_stats(&stats_file, &report);
                } else {
                    tracing::info!("signal {sig}: unmounting {}", mnt.display());
                    if let Err(e) = session::unmount(&mnt) {
                        tracing::error!("unmount {}: {e}", mnt.display());
                    }
                }
            })?;
    }
    for w in workers {
        let _ = w.join();
    }
    let report = server.stats.report();
    write_stats(&stats_file, &report);
    let _ = std::fs::remove_file(&pidfile);
    eprint!("famfsd: {} unmounted; statistics:\n{report}", mnt.display());
    Ok(())
}

/// The paths of `devs` on this host, found by uuid.
fn find_devices(devs: &[famfs_media::namespace::Device]) -> Result<Vec<PathBuf>> {
    devs.iter()
        .map(|d| {
            let found = famfs_media::daxdev::find_by_uuid(d.uuid);
            match found.as_slice() {
                [p] => Ok(p.clone()),
                [] => bail!("device with uuid {} not found on this host", d.uuid),
                _ => bail!("several devices have uuid {}: {found:?}", d.uuid),
            }
        })
        .collect()
}

/// Start famfsd again (same process, same ready fd) with the devices `more` added.
fn restart(args: &Args, more: &[PathBuf]) -> Result<()> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg(&args.dev)
        .arg(&args.mountpoint)
        .arg("--foreground")
        .args(args.passthrough());
    for d in more {
        tracing::info!("device {} found: mounting again with it", d.display());
        cmd.arg("--daxdev").arg(d);
    }
    if let Some(fd) = args.ready_fd {
        cmd.arg(format!("--ready-fd={fd}"));
    }
    let e = cmd.exec();
    bail!("restarting famfsd: {e}")
}

fn write_stats(path: &Path, report: &str) {
    let tmp = path.with_extension("stats.tmp");
    if std::fs::write(&tmp, report)
        .and_then(|_| std::fs::rename(&tmp, path))
        .is_err()
    {
        tracing::warn!("cannot write {}", path.display());
    }
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigemptyset.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        for sig in [libc::SIGUSR1, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut s, sig);
        }
        s
    }
}
