// SPDX-License-Identifier: GPL-2.0
//! /dev/fuse: opening a connection with synchronous INIT, registering DAX devices,
//! mounting, and the worker threads that serve requests.

use super::abi::*;
use super::server::{Host, Server, REQ_BUF_SIZE};
use rustix::io::Errno;
use rustix::ioctl::{opcode, Ioctl, IoctlOutput, NoArg, Opcode};
use std::ffi::c_void;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

/// Open /dev/fuse and ask for a synchronous INIT (answered while mount(2) waits).
pub fn open_fuse() -> std::io::Result<OwnedFd> {
    use rustix::fs::{open, Mode, OFlags};
    let fd = open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?;
    // SAFETY: FUSE_DEV_IOC_SYNC_INIT takes no argument.
    unsafe {
        rustix::ioctl::ioctl(
            &fd,
            NoArg::<{ opcode::none(FUSE_DEV_IOC_MAGIC, FUSE_DEV_IOC_SYNC_INIT_NR) }>::new(),
        )
    }?;
    Ok(fd)
}

struct BackingOpen(fuse_backing_map);

// SAFETY: FUSE_DEV_IOC_BACKING_OPEN reads a struct fuse_backing_map and returns the
// backing id as the ioctl's return value.
unsafe impl Ioctl for BackingOpen {
    type Output = i32;
    const IS_MUTATING: bool = false;
    fn opcode(&self) -> Opcode {
        opcode::write::<fuse_backing_map>(FUSE_DEV_IOC_MAGIC, FUSE_DEV_IOC_BACKING_OPEN_NR)
    }
    fn as_ptr(&mut self) -> *mut c_void {
        &mut self.0 as *mut fuse_backing_map as *mut c_void
    }
    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<i32> {
        Ok(out)
    }
}

/// Register the DAX device open as `dax_fd` with the connection: its backing id, or
/// the errno.
pub fn backing_open(fuse: BorrowedFd<'_>, dax_fd: RawFd) -> Result<i32, i32> {
    let map = fuse_backing_map {
        fd: dax_fd,
        flags: FUSE_BACKING_TYPE_DAX,
        padding: 0,
    };
    // SAFETY: the argument is a valid fuse_backing_map.
    unsafe { rustix::ioctl::ioctl(fuse, BackingOpen(map)) }.map_err(|e| e.raw_os_error())
}

/// Access options of a mount (`famfs mount -u` and `-p` turn them off).
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// Other users may access the mount (`allow_other`).
    pub allow_other: bool,
    /// The kernel checks permissions (`default_permissions`).
    pub default_permissions: bool,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            allow_other: true,
            default_permissions: true,
        }
    }
}

/// The mount(2) data string of a connection.
pub fn mount_options(fd: RawFd, uid: u32, gid: u32, access: Access) -> String {
    let mut o = format!("fd={fd},rootmode=40000,user_id={uid},group_id={gid}");
    if access.default_permissions {
        o.push_str(",default_permissions");
    }
    if access.allow_other {
        o.push_str(",allow_other");
    }
    o
}

/// Mount connection `fuse` on `mnt`. Blocks until INIT and FUSE_IOMAP_DAX_CONFIG are answered,
/// so the workers must be running.
pub fn mount(fuse: BorrowedFd<'_>, dev: &Path, mnt: &Path, access: Access) -> Result<(), Errno> {
    use rustix::mount::{mount, MountFlags};
    use std::os::fd::AsRawFd;
    let opts = mount_options(
        fuse.as_raw_fd(),
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
        access,
    );
    let opts = std::ffi::CString::new(opts).map_err(|_| Errno::INVAL)?;
    mount(
        dev,
        mnt,
        "fuse",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(opts.as_c_str()),
    )
}

/// Unmount `mnt` (lazily if it is busy).
pub fn unmount(mnt: &Path) -> Result<(), Errno> {
    use rustix::mount::{unmount, UnmountFlags};
    unmount(mnt, UnmountFlags::empty()).or_else(|_| unmount(mnt, UnmountFlags::DETACH))
}

/// Serve requests until the connection goes away (unmount or abort).
pub fn worker<H: Host>(fuse: Arc<OwnedFd>, server: Arc<Server<H>>) {
    let mut buf = vec![0u8; REQ_BUF_SIZE];
    loop {
        let n = match rustix::io::read(fuse.as_fd(), &mut buf) {
            Ok(n) => n,
            Err(Errno::INTR) | Err(Errno::AGAIN) | Err(Errno::NOENT) => continue,
            Err(Errno::NODEV) => break,
            Err(e) => {
                tracing::error!("reading /dev/fuse: {e}");
                break;
            }
        };
        if let Some(r) = server.handle(&buf[..n]) {
            // ENOENT: the request was interrupted and is gone; nothing to do.
            if let Err(e) = rustix::io::write(fuse.as_fd(), &r) {
                if e != Errno::NOENT {
                    tracing::debug!("writing a reply: {e}");
                }
            }
        }
    }
}

/// Capabilities the mounter needs: (has CAP_SYS_ADMIN, has CAP_SYS_RAWIO), from the
/// effective set in /proc/self/status.
pub fn capabilities() -> (bool, bool) {
    let eff = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    (eff & (1 << 21) != 0, eff & (1 << 17) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_options() {
        assert_eq!(
            mount_options(5, 0, 0, Access::default()),
            "fd=5,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other"
        );
        let none = Access {
            allow_other: false,
            default_permissions: false,
        };
        assert_eq!(
            mount_options(5, 1, 2, none),
            "fd=5,rootmode=40000,user_id=1,group_id=2"
        );
    }
}
