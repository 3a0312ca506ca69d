// SPDX-License-Identifier: GPL-2.0
//! Device-dax devices on this host: their uuid (how famfs finds a device that an
//! `ADD_DAXDEV` log entry names), their size and their driver (`device_dax`, where the
//! device can be mapped by userspace, or `fsdev_dax`, where a file system can hold it).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The sysfs directory of a dax character device (`/sys/bus/dax/devices/daxX.Y`, resolved).
pub fn sysfs_dir(dev: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::metadata(dev).map_err(|e| Error::io(dev, e))?;
    if !md.file_type().is_char_device() {
        return Err(Error::Invalid(format!(
            "{}: not a device-dax character device",
            dev.display()
        )));
    }
    let (maj, min) = (rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()));
    let p = PathBuf::from(format!("/sys/dev/char/{maj}:{min}"));
    p.canonicalize().map_err(|e| Error::io(&p, e))
}

/// The uuid of a dax device: the nearest `uuid` attribute of the device or a parent in
/// sysfs (the nvdimm dax/pfn device's info-block uuid for pmem, the region's uuid for
/// CXL). `None` if sysfs has none (nil uuids count as none).
pub fn uuid_of(dev: &Path) -> Option<Uuid> {
    let dir = sysfs_dir(dev).ok()?;
    dir.ancestors().take(5).find_map(|d| {
        let s = std::fs::read_to_string(d.join("uuid")).ok()?;
        Uuid::parse_str(s.trim()).ok().filter(|u| !u.is_nil())
    })
}

/// Every `/dev/dax*` device with the uuid `uuid`.
pub fn find_by_uuid(uuid: Uuid) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dax"))
        })
        .filter(|p| uuid_of(p) == Some(uuid))
        .collect();
    found.sort();
    found
}

/// The driver a dax device is bound to (`device_dax`, `fsdev_dax`), if any.
pub fn driver(dev: &Path) -> Result<Option<String>> {
    Ok(driver_at(&sysfs_dir(dev)?))
}

fn driver_at(dir: &Path) -> Option<String> {
    std::fs::read_link(dir.join("driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// Bind the dax device to driver `want` (`fsdev_dax` or `device_dax`), as
/// `daxctl reconfigure-device` would: unbind from the current driver, then `new_id`
/// (or `bind`). Waits for the device node to come back.
pub fn set_driver(dev: &Path, want: &str) -> Result<()> {
    let dir = sysfs_dir(dev)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cur = driver_at(&dir);
    if cur.as_deref() == Some(want) {
        return Ok(());
    }
    let write = |p: PathBuf| std::fs::write(&p, &name).map_err(|e| Error::io(p, e));
    if let Some(c) = &cur {
        write(PathBuf::from(format!("/sys/bus/dax/drivers/{c}/unbind")))?;
    }
    let drv = PathBuf::from(format!("/sys/bus/dax/drivers/{want}"));
    let _ = write(drv.join("new_id"));
    if driver_at(&dir).as_deref() != Some(want) {
        let _ = write(drv.join("bind"));
    }
    let now = driver_at(&dir);
    if now.as_deref() != Some(want) {
        return Err(Error::Invalid(format!(
            "{}: could not be bound to {want} (driver now: {})",
            dev.display(),
            now.as_deref().unwrap_or("none")
        )));
    }
    for _ in 0..50 {
        if dev.exists() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(Error::Invalid(format!(
        "{}: device node did not come back",
        dev.display()
    )))
}
