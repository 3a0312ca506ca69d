// SPDX-License-Identifier: GPL-2.0
//! Access to famfs media through memory mappings.
//!
//! All library code addresses media by *device offset*. Two implementations:
//!
//! * [`RawDevice`]: the whole device mapped, either a regular image file (host tests)
//!   or a devdax character device `/dev/daxX.Y` (size read from sysfs). Metadata and
//!   file data are both reachable.
//! * [`MountedMeta`]: a mounted famfs, whose metadata is exposed as the files
//!   `<mnt>/.meta/.superblock` (device range `[0, 2 MiB)`) and `<mnt>/.meta/.log`
//!   (device range `[log_offset, log_offset + log_len)`). File data is not reachable by
//!   device offset there; it goes through the files of the mount.
//!
//! # Durability
//!
//! [`Media::flush`] is `msync(MS_SYNC)` of the pages covering the range on an image file,
//! which writes the page cache back. A devdax mapping has no page cache and device_dax has
//! no fsync (msync fails with EINVAL there): the cache lines of the range are written back
//! with `clflush` and ordered with `sfence` (x86-64; a fence elsewhere). Metadata writes are
//! ordered: entry body, flush, then the log header (the commit point), flush.

use crate::error::{Error, Result};
use crate::layout::{LOG_OFFSET, SB_REGION_SIZE, SB_SIZE};
use memmap2::{MmapMut, MmapOptions};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Byte-addressed access to famfs media by device offset.
pub trait Media {
    /// Size of the device in bytes.
    fn size(&self) -> u64;
    /// Read access to `[off, off + len)` of the device.
    fn read(&self, off: u64, len: u64) -> Result<&[u8]>;
    /// Write access to `[off, off + len)` of the device.
    fn write(&mut self, off: u64, len: u64) -> Result<&mut [u8]>;
    /// Make `[off, off + len)` durable (see the module documentation).
    fn flush(&self, off: u64, len: u64) -> Result<()>;
    /// Whether file data (outside the superblock and log) is addressable.
    fn has_data_access(&self) -> bool;
    /// A human-readable name (device path) for messages.
    fn name(&self) -> &Path;
}

impl<T: Media + ?Sized> Media for Box<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read(&self, off: u64, len: u64) -> Result<&[u8]> {
        (**self).read(off, len)
    }
    fn write(&mut self, off: u64, len: u64) -> Result<&mut [u8]> {
        (**self).write(off, len)
    }
    fn flush(&self, off: u64, len: u64) -> Result<()> {
        (**self).flush(off, len)
    }
    fn has_data_access(&self) -> bool {
        (**self).has_data_access()
    }
    fn name(&self) -> &Path {
        (**self).name()
    }
}

fn range(off: u64, len: u64, size: u64, what: &Path) -> Result<std::ops::Range<usize>> {
    let end = off.checked_add(len).filter(|&e| e <= size).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: range [{off:#x}, +{len:#x}) past the end of the device ({size:#x})",
            what.display()
        ))
    })?;
    // Both fit in usize since the mapping of `size` bytes exists.
    Ok(off as usize..end as usize)
}

/// Linux `dev_t` to (major, minor), glibc encoding.
fn dev_major_minor(rdev: u64) -> (u64, u64) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major, minor)
}

/// Size of a device or image file: the file length, or for a character device
/// (devdax) `/sys/dev/char/MAJ:MIN/size`.
pub fn device_size(path: &Path, file: &File) -> Result<u64> {
    let md = file.metadata().map_err(|e| Error::io(path, e))?;
    if md.file_type().is_char_device() {
        let (maj, min) = dev_major_minor(md.rdev());
        let sys = PathBuf::from(format!("/sys/dev/char/{maj}:{min}/size"));
        let s = std::fs::read_to_string(&sys).map_err(|e| Error::io(&sys, e))?;
        s.trim()
            .parse()
            .map_err(|_| Error::Invalid(format!("{}: bad size '{}'", sys.display(), s.trim())))
    } else if md.file_type().is_file() {
        Ok(md.len())
    } else {
        Err(Error::Invalid(format!(
            "{}: not a regular file or a dax character device",
            path.display()
        )))
    }
}

fn map_file(path: &Path, file: &File, len: u64) -> Result<MmapMut> {
    if len == 0 {
        return Err(Error::Invalid(format!("{}: empty device", path.display())));
    }
    let len = usize::try_from(len)
        .map_err(|_| Error::Invalid(format!("{}: too large to map", path.display())))?;
    // SAFETY: the mapping aliases a file that other processes may change. famfs metadata
    // is serialised by an exclusive flock held by writers, readers validate every byte
    // they use through checksums, and we never create Rust references into the mapping
    // that outlive a single access beyond the `&self`/`&mut self` borrow.
    unsafe { MmapOptions::new().len(len).map_mut(file) }.map_err(|e| Error::io(path, e))
}

fn lock(path: &Path, file: &File, exclusive: bool) -> Result<()> {
    use rustix::fs::{flock, FlockOperation};
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::NonBlockingLockShared
    };
    flock(file, op).map_err(|e| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("device is in use by another famfs process ({e})"),
            ),
        )
    })
}

/// A whole device or image file, memory-mapped.
pub struct RawDevice {
    path: PathBuf,
    map: MmapMut,
    size: u64,
    /// A DAX character device (no page cache, no fsync).
    dax: bool,
    _file: File,
}

/// Write back the CPU cache lines of `buf` and order the write-back before later stores.
pub fn flush_cache_lines(buf: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE: usize = 64;
        let start = buf.as_ptr() as usize & !(LINE - 1);
        let end = buf.as_ptr() as usize + buf.len();
        let mut p = start;
        while p < end {
            // SAFETY: `p` is inside (or on the cache line of) a live mapping; clflush only
            // writes back and invalidates that line.
            unsafe { std::arch::x86_64::_mm_clflush(p as *const u8) };
            p += LINE;
        }
        // SAFETY: sfence has no preconditions.
        unsafe { std::arch::x86_64::_mm_sfence() };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = buf;
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
}

impl RawDevice {
    /// Map `path` read-write. With `exclusive`, take an exclusive advisory lock (writers);
    /// otherwise a shared one (readers).
    pub fn open(path: &Path, exclusive: bool) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        lock(path, &file, exclusive)?;
        let size = device_size(path, &file)?;
        let dax = file
            .metadata()
            .map_err(|e| Error::io(path, e))?
            .file_type()
            .is_char_device();
        let map = map_file(path, &file, size)?;
        Ok(RawDevice {
            path: path.to_path_buf(),
            map,
            size,
            dax,
            _file: file,
        })
    }
}

impl Media for RawDevice {
    fn size(&self) -> u64 {
        self.size
    }
    fn read(&self, off: u64, len: u64) -> Result<&[u8]> {
        let r = range(off, len, self.size, &self.path)?;
        Ok(&self.map[r])
    }
    fn write(&mut self, off: u64, len: u64) -> Result<&mut [u8]> {
        let r = range(off, len, self.size, &self.path)?;
        Ok(&mut self.map[r])
    }
    fn flush(&self, off: u64, len: u64) -> Result<()> {
        let r = range(off, len, self.size, &self.path)?;
        if self.dax {
            flush_cache_lines(&self.map[r]);
            return Ok(());
        }
        self.map
            .flush_range(r.start, r.len())
            .map_err(|e| Error::io(&self.path, e))
    }
    fn has_data_access(&self) -> bool {
        true
    }
    fn name(&self) -> &Path {
        &self.path
    }
}

/// The metadata files of a mounted famfs: `.meta/.superblock` and `.meta/.log`.
pub struct MountedMeta {
    mount: PathBuf,
    sb: MmapMut,
    log: MmapMut,
    log_offset: u64,
    dev_size: u64,
    _files: [File; 2],
}

impl MountedMeta {
    /// Map the metadata files under mount point `mount`.
    pub fn open(mount: &Path, exclusive: bool) -> Result<Self> {
        let meta = mount.join(crate::path::META_DIR);
        let open = |name: &str| -> Result<(PathBuf, File)> {
            let p = meta.join(name);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&p)
                .map_err(|e| Error::io(&p, e))?;
            Ok((p, f))
        };
        let (sbp, sbf) = open(".superblock")?;
        let (logp, logf) = open(".log")?;
        lock(&logp, &logf, exclusive)?;
        let sb_len = sbf.metadata().map_err(|e| Error::io(&sbp, e))?.len();
        if sb_len < SB_SIZE as u64 || sb_len > SB_REGION_SIZE {
            return Err(Error::Superblock(format!(
                "{}: unexpected size {sb_len}",
                sbp.display()
            )));
        }
        let sb = map_file(&sbp, &sbf, sb_len)?;
        // The device size is needed to bound offsets; take it from the superblock
        // (validated later by the caller like any superblock).
        let dev_size = crate::layout::get_u64(&sb, crate::layout::SB_DAXDEV_SIZE);
        let log_len = logf.metadata().map_err(|e| Error::io(&logp, e))?.len();
        let log = map_file(&logp, &logf, log_len)?;
        Ok(MountedMeta {
            mount: mount.to_path_buf(),
            sb,
            log,
            log_offset: LOG_OFFSET,
            dev_size,
            _files: [sbf, logf],
        })
    }

    fn locate(&self, off: u64, len: u64) -> Result<(bool, std::ops::Range<usize>)> {
        let end = off.checked_add(len);
        let sb_len = self.sb.len() as u64;
        let log_len = self.log.len() as u64;
        match end {
            Some(end) if end <= sb_len => Ok((false, off as usize..end as usize)),
            Some(end) if off >= self.log_offset && end <= self.log_offset + log_len => Ok((
                true,
                (off - self.log_offset) as usize..(end - self.log_offset) as usize,
            )),
            _ => Err(Error::Unsupported(format!(
                "device range [{off:#x}, +{len:#x}) is not metadata; through a mount, file data is accessed through its path"
            ))),
        }
    }
}

impl Media for MountedMeta {
    fn size(&self) -> u64 {
        self.dev_size
    }
    fn read(&self, off: u64, len: u64) -> Result<&[u8]> {
        let (is_log, r) = self.locate(off, len)?;
        Ok(if is_log { &self.log[r] } else { &self.sb[r] })
    }
    fn write(&mut self, off: u64, len: u64) -> Result<&mut [u8]> {
        let (is_log, r) = self.locate(off, len)?;
        Ok(if is_log {
            &mut self.log[r]
        } else {
            &mut self.sb[r]
        })
    }
    fn flush(&self, off: u64, len: u64) -> Result<()> {
        let (is_log, r) = self.locate(off, len)?;
        let m = if is_log { &self.log } else { &self.sb };
        m.flush_range(r.start, r.len())
            .map_err(|e| Error::io(&self.mount, e))
    }
    fn has_data_access(&self) -> bool {
        false
    }
    fn name(&self) -> &Path {
        &self.mount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_minor_decoding() {
        // makedev(252, 3) and a large minor.
        assert_eq!(dev_major_minor((252 << 8) | 3), (252, 3));
        let rdev = (0x12u64 << 8) | 0x34 | (0x567u64 << 20);
        assert_eq!(dev_major_minor(rdev), (0x12, 0x567 << 8 | 0x34));
    }

    #[test]
    fn raw_device_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        std::fs::File::create(&p).unwrap().set_len(1 << 20).unwrap();
        let mut d = RawDevice::open(&p, true).unwrap();
        assert_eq!(d.size(), 1 << 20);
        d.write(100, 4).unwrap().copy_from_slice(b"abcd");
        d.flush(0, 4096).unwrap();
        assert_eq!(d.read(100, 4).unwrap(), b"abcd");
        assert!(d.read((1 << 20) - 1, 2).is_err());
        assert!(d.read(u64::MAX, 2).is_err());
        // A second writer is refused while the first holds the lock.
        assert!(RawDevice::open(&p, true).is_err());
    }
}
