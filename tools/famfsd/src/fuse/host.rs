// SPDX-License-Identifier: GPL-2.0
//! The environment of a mounted famfsd: the DAX device registered at `FUSE_IOMAP_DAX_CONFIG`,
//! and the metadata read back through the mount itself.
//!
//! The device is bound to `fsdev_dax` while mounted, which has neither `read` nor `mmap`:
//! famfsd reads the superblock and the log through its own `.meta/.superblock` and
//! `.meta/.log` files, which the kernel maps like any famfs file. Nothing stays open in
//! the mount, so `umount` is never busy because of famfsd.

use super::server::{Host, Snapshot};
use crate::error::{Error, Result};
use crate::fs::Famfs;
use crate::layout::{LOG_HEADER_SIZE, LOG_LEN_DEFAULT, SB_SIZE};
use crate::log::{entry_offset, LogHeader};
use crate::media::Media;
use crate::namespace::Namespace;
use crate::superblock::Superblock;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Superblock and log bytes held in memory (read through a mount), as [`Media`].
pub struct BufMedia {
    name: PathBuf,
    size: u64,
    sb: Vec<u8>,
    log_offset: u64,
    log: Vec<u8>,
}

impl BufMedia {
    /// Media of `size` bytes whose superblock bytes are `sb` (from offset 0) and whose
    /// log bytes are `log` (from `log_offset`).
    pub fn new(name: &Path, size: u64, sb: Vec<u8>, log_offset: u64, log: Vec<u8>) -> Self {
        BufMedia {
            name: name.to_path_buf(),
            size,
            sb,
            log_offset,
            log,
        }
    }
}

impl Media for BufMedia {
    fn size(&self) -> u64 {
        self.size
    }
    fn read(&self, off: u64, len: u64) -> Result<&[u8]> {
        let end = off
            .checked_add(len)
            .ok_or_else(|| Error::Invalid("range overflow".to_string()))?;
        if end <= self.sb.len() as u64 {
            return Ok(&self.sb[off as usize..end as usize]);
        }
        if off >= self.log_offset && end <= self.log_offset + self.log.len() as u64 {
            let o = (off - self.log_offset) as usize;
            return Ok(&self.log[o..o + len as usize]);
        }
        Err(Error::Unsupported(format!(
            "device range [{off:#x}, +{len:#x}) was not read"
        )))
    }
    fn write(&mut self, _off: u64, _len: u64) -> Result<&mut [u8]> {
        Err(Error::Unsupported(
            "famfsd never writes metadata".to_string(),
        ))
    }
    fn flush(&self, _off: u64, _len: u64) -> Result<()> {
        Ok(())
    }
    fn has_data_access(&self) -> bool {
        false
    }
    fn name(&self) -> &Path {
        &self.name
    }
}

/// A full snapshot of the file system on `media`.
pub fn snapshot_of(media: BufMedia, time: u64) -> Result<Snapshot> {
    Ok(snapshot_from(&Famfs::open(media)?, time, false))
}

/// A full snapshot of `fs`; on a `client` host `.meta/.log` is read-only.
pub fn snapshot_from<M: Media>(fs: &Famfs<M>, time: u64, client: bool) -> Snapshot {
    let mut ns = fs.namespace().clone();
    if client {
        ns.set_client();
    }
    Snapshot {
        ns,
        next_index: fs.log_header().next_index,
        booting: false,
        dev_size: fs.superblock().usable_size(),
        free_bytes: fs.free_bytes(),
        log_capacity: fs.log_header().capacity(),
        time,
    }
}

/// Write famfs's shadow YAML of every file of `fs` under `dir` (`dir/<path>`, directories
/// as directories), as famfs's FUSE daemon keeps it.
pub fn write_shadow<M: Media>(fs: &Famfs<M>, dir: &Path) -> Result<()> {
    let ns = fs.namespace();
    for n in ns.nodes().filter(|n| n.log_index.is_some()) {
        let rel = ns.path_of(n.ino);
        let p = dir.join(&rel);
        match n.map() {
            None => std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?,
            Some(_) => {
                let y = fs.shadow_yaml_of(n).unwrap_or_default();
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
                }
                std::fs::write(&p, y).map_err(|e| Error::io(&p, e))?;
            }
        }
    }
    Ok(())
}

/// The snapshot served before the superblock is known: the root, `.meta` and
/// `.meta/.superblock` (whose place is fixed).
pub fn boot_snapshot(dev: &Path, dev_size: u64, time: u64) -> Result<Snapshot> {
    let sb = Superblock::new(dev_size, LOG_LEN_DEFAULT, &dev.display().to_string())?;
    Ok(Snapshot {
        ns: Namespace::new(&sb),
        next_index: 0,
        booting: true,
        dev_size,
        free_bytes: 0,
        log_capacity: 0,
        time,
    })
}

/// Why the device could not be registered, as one line for the user.
pub fn backing_error(dev: &Path, errno: i32) -> String {
    let name = dev
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dev.display().to_string());
    match errno {
        95 => format!(
            "{name} is not bound to fsdev_dax (daxctl/ndctl or /sys/bus/dax/drivers/fsdev_dax/new_id)"
        ),
        19 => format!("{}: not a device-dax character device", dev.display()),
        1 | 13 => "famfsd: mount needs CAP_SYS_RAWIO and CAP_SYS_ADMIN".to_string(),
        16 => format!("{}: device is busy (mounted by another famfsd?)", dev.display()),
        e => format!(
            "{}: registering the DAX device failed: {}",
            dev.display(),
            std::io::Error::from_raw_os_error(e)
        ),
    }
}

/// The environment of famfsd mounted on `mnt` over DAX device `dev`.
pub struct MountHost {
    mnt: PathBuf,
    dev: PathBuf,
    dev_size: u64,
    time: u64,
    fuse: Option<Arc<OwnedFd>>,
    sb: Mutex<Option<(Superblock, Vec<u8>)>>,
    /// Why `FUSE_IOMAP_DAX_CONFIG` failed, for the mount error message.
    pub config_error: Mutex<Option<String>>,
    extra_devs: Vec<PathBuf>,
    shadow: Option<PathBuf>,
    client: std::sync::atomic::AtomicBool,
}

impl MountHost {
    /// A host for `dev` (`dev_size` bytes) mounted on `mnt`, registering the device on
    /// the /dev/fuse connection `fuse` (`None` in tests: config then fails).
    pub fn new(
        mnt: &Path,
        dev: &Path,
        dev_size: u64,
        time: u64,
        fuse: Option<Arc<OwnedFd>>,
    ) -> Self {
        MountHost {
            mnt: mnt.to_path_buf(),
            dev: dev.to_path_buf(),
            dev_size,
            time,
            fuse,
            sb: Mutex::new(None),
            config_error: Mutex::new(None),
            extra_devs: Vec::new(),
            shadow: None,
            client: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Also register these devices (device indexes 1, 2, ...) at `FUSE_IOMAP_DAX_CONFIG`.
    pub fn with_devices(mut self, devs: Vec<PathBuf>) -> Self {
        self.extra_devs = devs;
        self
    }

    /// Keep famfs's shadow YAML tree of the file system under `dir`.
    pub fn with_shadow(mut self, dir: Option<PathBuf>) -> Self {
        self.shadow = dir;
        self
    }

    /// The devices registered, in device-index order.
    pub fn devices(&self) -> Vec<PathBuf> {
        std::iter::once(self.dev.clone())
            .chain(self.extra_devs.iter().cloned())
            .collect()
    }

    /// Whether this host is a client of the file system (known once the superblock is
    /// read): `.meta/.log` is then served read-only.
    pub fn is_client(&self) -> bool {
        self.client.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn meta(&self, name: &str) -> PathBuf {
        self.mnt.join(crate::path::META_DIR).join(name)
    }

    /// Read and validate the superblock through `<mnt>/.meta/.superblock`.
    pub fn load_superblock(&self) -> Result<Superblock> {
        let p = self.meta(".superblock");
        let f = File::open(&p).map_err(|e| Error::io(&p, e))?;
        let mut b = vec![0u8; SB_SIZE];
        f.read_exact_at(&mut b, 0).map_err(|e| Error::io(&p, e))?;
        let sb = Superblock::decode(&b, self.dev_size)?;
        let owner = crate::role::is_owner(&sb).unwrap_or_else(|e| {
            tracing::warn!("system uuid: {e}; serving as a client");
            false
        });
        self.client
            .store(!owner, std::sync::atomic::Ordering::Relaxed);
        *self.sb.lock().unwrap_or_else(|e| e.into_inner()) = Some((sb.clone(), b));
        Ok(sb)
    }

    /// The namespace of an empty log on `sb`: root, `.meta` and both metadata files. Served
    /// while the log itself is read, so that opening `.meta/.log` never misses (a miss
    /// would make a worker wait for the very reload that is opening it).
    pub fn meta_snapshot(&self, sb: &Superblock) -> Snapshot {
        let mut ns = Namespace::new(sb);
        if self.is_client() {
            ns.set_client();
        }
        Snapshot {
            ns,
            next_index: 0,
            booting: false,
            dev_size: sb.usable_size(),
            free_bytes: 0,
            log_capacity: 0,
            time: self.time,
        }
    }

    /// A snapshot from the log read through `<mnt>/.meta/.log`, or `None` if it has
    /// exactly `known` committed entries (`None` for `known` reads the log regardless).
    pub fn read_log(&self, known: Option<u64>) -> Result<Option<Snapshot>> {
        let (sb, sb_bytes) = self
            .sb
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Error::Superblock("not read yet".to_string()))?;
        let p = self.meta(".log");
        let f = File::open(&p).map_err(|e| Error::io(&p, e))?;
        let mut h = vec![0u8; LOG_HEADER_SIZE];
        f.read_exact_at(&mut h, 0).map_err(|e| Error::io(&p, e))?;
        let header = LogHeader::decode(&h, sb.log_len)?;
        if known == Some(header.next_index) {
            return Ok(None);
        }
        let len = entry_offset(header.next_index).min(sb.log_len);
        let mut log = vec![0u8; len as usize];
        f.read_exact_at(&mut log, 0).map_err(|e| Error::io(&p, e))?;
        drop(f);
        // The owner may have appended since the header was read (another host): the header
        // read again with the entries would name entries past `len`. Replay the entries the
        // first header committed, which were all written before it and read after it.
        log[..LOG_HEADER_SIZE].copy_from_slice(&h);
        let media = BufMedia::new(&self.dev, self.dev_size, sb_bytes, sb.log_offset, log);
        let fs = Famfs::open(media)?;
        for p in fs.problems() {
            tracing::warn!("log replay skipped: {p}");
        }
        if let Some(d) = &self.shadow {
            if let Err(e) = write_shadow(&fs, d) {
                tracing::warn!("shadow tree {}: {e}", d.display());
            }
        }
        Ok(Some(snapshot_from(&fs, self.time, self.is_client())))
    }
}

impl Host for MountHost {
    fn config(&self) -> std::result::Result<Vec<i32>, i32> {
        let fail = |msg: String, errno: i32| {
            tracing::error!("{msg}");
            *self.config_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg);
            Err(errno)
        };
        let Some(fuse) = &self.fuse else {
            return fail("no /dev/fuse connection".to_string(), 19);
        };
        let mut ids = Vec::new();
        for dev in self.devices() {
            let dax = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&dev)
            {
                Ok(f) => f,
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(5);
                    return fail(format!("{}: {e}", dev.display()), errno);
                }
            };
            match super::session::backing_open(fuse.as_fd(), dax.as_raw_fd()) {
                Ok(id) => {
                    tracing::info!("{}: registered as backing id {id}", dev.display());
                    ids.push(id);
                }
                Err(errno) => return fail(backing_error(&dev, errno), errno),
            }
        }
        Ok(ids)
    }

    fn reload(&self, cur: &Snapshot) -> Option<Snapshot> {
        if self.sb.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return None; // still booting: the log's place is not known
        }
        let known = if cur.booting {
            None
        } else {
            Some(cur.next_index)
        };
        match self.read_log(known) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("reading the log: {e}");
                None
            }
        }
    }
}
