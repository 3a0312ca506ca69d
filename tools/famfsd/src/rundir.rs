// SPDX-License-Identifier: GPL-2.0
//! Where famfsd keeps the pid, log and statistics files of a mount:
//! `$FAMFS_RUNDIR` or `/run/famfs`, named after the mount point (`/mnt/famfs` ->
//! `_mnt_famfs.pid`).

use std::path::{Path, PathBuf};

/// The run directory (created if missing).
pub fn dir() -> std::io::Result<PathBuf> {
    let d = std::env::var_os("FAMFS_RUNDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/famfs"));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// The key of a mount point (canonical path, `/` replaced by `_`).
pub fn key(mnt: &Path) -> String {
    mnt.to_string_lossy().replace('/', "_")
}

/// `<rundir>/<key>.<ext>` for mount point `mnt`.
pub fn file(mnt: &Path, ext: &str) -> std::io::Result<PathBuf> {
    Ok(dir()?.join(format!("{}.{ext}", key(mnt))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys() {
        assert_eq!(super::key("/mnt/famfs".as_ref()), "_mnt_famfs");
        assert_eq!(super::key("/".as_ref()), "_");
    }
}
