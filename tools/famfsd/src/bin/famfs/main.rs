// SPDX-License-Identifier: GPL-2.0
//! `famfs` (and `mkfs.famfs`, the same program under that name): the famfs command line,
//! verb for verb and option for option as famfs userspace has it. File arguments are
//! ordinary paths inside a mounted famfs (the mount is found from the path).
//!
//! Extensions: `--device PATH` (or `FAMFS_DEVICE`) works on a device or image file and
//! `--mount DIR` on a mount, with paths relative to the file system's root (`-d DEV`
//! before the verb is the same as `--device DEV`); `umount`,
//! `stats`, `adddev`, `restore`, `verify --mmap`, `getmap --hex`, progress bars.

mod adddev;
mod chkread;
mod clone;
mod common;
mod cp;
mod creat;
mod flush;
mod fsck;
mod getmap;
mod logplay;
mod mkdir;
mod mkfs;
mod mount;
mod restore;
mod verify;

use anyhow::Result;
use clap::{Parser, Subcommand};
use common::Ctx;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "famfs", version, about = "famfs file-system tool")]
struct Cli {
    /// Extension: famfs device or image file; paths are relative to its root.
    #[arg(long, global = true, env = "FAMFS_DEVICE")]
    device: Option<PathBuf>,
    /// Extension: mount point of a famfs; paths are relative to its root.
    #[arg(long, global = true)]
    mount: Option<PathBuf>,
    /// Dry run: check and say what would be done, change nothing.
    #[arg(short = 'n', long, global = true)]
    dryrun: bool,
    /// More output (-v; -vv debug logging).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Format a device (also the program mkfs.famfs).
    Mkfs(mkfs::Args),
    /// Mount a famfs through famfsd.
    Mount(mount::Args),
    /// Check a famfs: superblock, log, every file's extents (on a device or a mount).
    Fsck(fsck::Args),
    /// Check that every file of a mount is mapped.
    Check(fsck::CheckArgs),
    /// Create a directory.
    Mkdir(mkdir::Args),
    /// Create files and allocate their space.
    Creat(creat::Args),
    /// Copy host files into famfs.
    Cp(cp::Args),
    /// Check files against the pattern of a seed.
    Verify(verify::Args),
    /// Replay the log (into a mount; -n lists it only).
    Logplay(logplay::Args),
    /// Print a file's map.
    Getmap(getmap::Args),
    /// Create a file sharing another's extents (a test tool).
    Clone(clone::Args),
    /// Write back the CPU caches over files.
    Flush(flush::Args),
    /// Check that read(2) and mmap of a file agree.
    Chkread(chkread::Args),
    /// Extension: unmount and wait for famfsd to exit; prints its statistics.
    Umount {
        /// Mount point.
        mountpoint: PathBuf,
    },
    /// Extension: print the request statistics of the famfsd serving a mount.
    Stats {
        /// Mount point.
        mountpoint: PathBuf,
    },
    /// Extension: add a device (ADD_DAXDEV log entry).
    Adddev(adddev::Args),
    /// Extension: write the metadata of an image file onto a device.
    Restore(restore::Args),
}

#[derive(Parser)]
#[command(name = "mkfs.famfs", version, about = "format a famfs device")]
struct MkfsCli {
    /// Dry run.
    #[arg(short = 'n', long)]
    dryrun: bool,
    /// More output.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(flatten)]
    args: mkfs::Args,
}

fn logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::ERROR,
        1 => tracing::Level::WARN,
        2 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: &Cli) -> Result<i32> {
    let ctx = Ctx {
        device: cli.device.clone(),
        mount: cli.mount.clone(),
        dryrun: cli.dryrun,
        verbose: cli.verbose,
    };
    match &cli.cmd {
        Cmd::Mkfs(a) => mkfs::run(&ctx, a)?,
        Cmd::Mount(a) => mount::run(&ctx, a)?,
        Cmd::Fsck(a) => return fsck::run(&ctx, a),
        Cmd::Check(a) => return fsck::run_check(&ctx, a),
        Cmd::Mkdir(a) => mkdir::run(&ctx, a)?,
        Cmd::Creat(a) => creat::run(&ctx, a)?,
        Cmd::Cp(a) => cp::run(&ctx, a)?,
        Cmd::Verify(a) => verify::run(&ctx, a)?,
        Cmd::Logplay(a) => logplay::run(&ctx, a)?,
        Cmd::Getmap(a) => return getmap::run(&ctx, a),
        Cmd::Clone(a) => clone::run(&ctx, a)?,
        Cmd::Flush(a) => flush::run(&ctx, a)?,
        Cmd::Chkread(a) => chkread::run(&ctx, a)?,
        Cmd::Umount { mountpoint } => mount::umount(mountpoint)?,
        Cmd::Stats { mountpoint } => mount::stats(mountpoint)?,
        Cmd::Adddev(a) => adddev::run(&ctx, a)?,
        Cmd::Restore(a) => restore::run(&ctx, a)?,
    }
    Ok(0)
}

fn exit(r: Result<i32>) -> ! {
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("famfs: {e:#}");
            std::process::exit(1);
        }
    }
}

fn main() {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "mkfs.famfs" {
        let m = MkfsCli::parse();
        logging(m.verbose);
        let ctx = Ctx {
            device: None,
            mount: None,
            dryrun: m.dryrun,
            verbose: m.verbose,
        };
        exit(mkfs::run(&ctx, &m.args).map(|()| 0));
    }
    // Compatibility with our earlier command line: `famfs -d DEV VERB ...` (before the
    // verb; after it, -d is mount's --debug).
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "-d") {
        args[1] = "--device".into();
    }
    let cli = Cli::parse_from(args);
    logging(cli.verbose);
    exit(run(&cli));
}
