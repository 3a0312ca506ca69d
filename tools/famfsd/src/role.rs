// SPDX-License-Identifier: GPL-2.0
//! Owner and client hosts, as famfs decides them: every host has a system uuid, kept in
//! `/opt/famfs/system_uuid` (created on first use; `$FAMFS_SYSTEM_UUID_FILE` names another
//! file, for tests). mkfs records the formatting host's uuid in the superblock: that host is
//! the owner and the only one that appends to the log. Every other host is a client: it
//! mounts and reads, and its creat, mkdir and cp are refused.

use crate::error::{Error, Result};
use crate::superblock::Superblock;
use std::path::PathBuf;
use uuid::Uuid;

/// Default location of the system uuid file.
pub const SYSTEM_UUID_FILE: &str = "/opt/famfs/system_uuid";

/// The system uuid file in use.
pub fn system_uuid_file() -> PathBuf {
    std::env::var_os("FAMFS_SYSTEM_UUID_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SYSTEM_UUID_FILE))
}

/// This host's system uuid, created (random) and stored on first use.
pub fn system_uuid() -> Result<Uuid> {
    let p = system_uuid_file();
    match std::fs::read_to_string(&p) {
        Ok(s) => Uuid::parse_str(s.trim()).map_err(|e| {
            Error::Invalid(format!("{}: not a uuid ({e}): '{}'", p.display(), s.trim()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let u = Uuid::new_v4();
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            }
            std::fs::write(&p, format!("{u}\n")).map_err(|e| Error::io(&p, e))?;
            Ok(u)
        }
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Whether this host owns the file system of `sb` (its uuid is the recorded one).
pub fn is_owner(sb: &Superblock) -> Result<bool> {
    Ok(system_uuid()? == sb.system_uuid)
}

/// Fail unless this host owns the file system of `sb`; `what` names the refused operation.
pub fn require_owner(sb: &Superblock, what: &str) -> Result<()> {
    let me = system_uuid()?;
    if me == sb.system_uuid {
        return Ok(());
    }
    Err(Error::NotOwner(format!(
        "{what}: this host is a client of this famfs (system uuid {me} in {}; the owner is {}): only the owner writes the log",
        system_uuid_file().display(),
        sb.system_uuid
    )))
}
