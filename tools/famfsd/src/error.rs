// SPDX-License-Identifier: GPL-2.0
//! Error type of the famfs media library.

use std::path::PathBuf;

/// Linux errno values returned by [`Error::errno`] (x86-64 / generic numbering).
pub mod errno {
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// I/O error.
    pub const EIO: i32 = 5;
    /// File exists.
    pub const EEXIST: i32 = 17;
    /// Not a directory.
    pub const ENOTDIR: i32 = 20;
    /// Is a directory.
    pub const EISDIR: i32 = 21;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// No space left on device.
    pub const ENOSPC: i32 = 28;
    /// File name too long.
    pub const ENAMETOOLONG: i32 = 36;
    /// Read-only file system.
    pub const EROFS: i32 = 30;
    /// Operation not supported.
    pub const EOPNOTSUPP: i32 = 95;
}

/// Everything that can go wrong in the library. Each variant renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or device involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The superblock is missing, corrupt or inconsistent.
    #[error("superblock: {0}")]
    Superblock(String),
    /// The log header is corrupt or inconsistent.
    #[error("log header: {0}")]
    LogHeader(String),
    /// One log entry is corrupt or cannot be applied.
    #[error("log entry {index}: {msg}")]
    LogEntry {
        /// Index of the entry in the log.
        index: u64,
        /// What is wrong with it.
        msg: String,
    },
    /// A file that is not served (its extents collide with another file's).
    #[error("{0}")]
    BadFile(String),
    /// This host is a client: only the owner host writes the log.
    #[error("{0}")]
    NotOwner(String),
    /// The log has no free entry left.
    #[error("log full: all {0} log entries are used")]
    LogFull(u64),
    /// The allocator found no free space of the requested size.
    #[error("{path}: no space left on device (need {need} bytes, {free} bytes free)")]
    NoSpace {
        /// The file being created.
        path: String,
        /// Bytes requested (rounded to the allocation unit).
        need: u64,
        /// Bytes free on the device.
        free: u64,
    },
    /// A path component or the whole relative path is too long for the log entry.
    #[error("{path}: name too long ({len} bytes, at most {max})")]
    NameTooLong {
        /// The offending path.
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The maximum length.
        max: usize,
    },
    /// The target name already exists.
    #[error("{0}: file exists")]
    Exists(String),
    /// The named file or directory does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// The parent directory of a new name does not exist.
    #[error("{0}: parent directory does not exist")]
    NoParent(String),
    /// A path component that must be a directory is not one.
    #[error("{0}: not a directory")]
    NotDir(String),
    /// A directory was given where a file was expected.
    #[error("{0}: is a directory")]
    IsDir(String),
    /// The path is malformed (absolute, `..`, empty component, reserved name).
    #[error("{path}: invalid path: {why}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// Why it is rejected.
        why: &'static str,
    },
    /// A device already holds a valid famfs superblock.
    #[error("{0}: device already contains a valid famfs file system (use --force to overwrite)")]
    AlreadyFormatted(PathBuf),
    /// Any other invalid argument.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The operation is not possible with this kind of media access.
    #[error("not supported: {0}")]
    Unsupported(String),
}

impl Error {
    /// The errno a FUSE server should return for this error.
    pub fn errno(&self) -> i32 {
        use errno::*;
        match self {
            Error::Io { source, .. } => source.raw_os_error().unwrap_or(EIO),
            Error::Superblock(_)
            | Error::LogHeader(_)
            | Error::LogEntry { .. }
            | Error::BadFile(_) => EIO,
            Error::LogFull(_) | Error::NoSpace { .. } => ENOSPC,
            Error::NameTooLong { .. } => ENAMETOOLONG,
            Error::Exists(_) | Error::AlreadyFormatted(_) => EEXIST,
            Error::NotFound(_) | Error::NoParent(_) => ENOENT,
            Error::NotDir(_) => ENOTDIR,
            Error::IsDir(_) => EISDIR,
            Error::InvalidPath { .. } | Error::Invalid(_) => EINVAL,
            Error::Unsupported(_) => EOPNOTSUPP,
            Error::NotOwner(_) => EROFS,
        }
    }

    /// Helper building an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn entry(index: u64, msg: impl Into<String>) -> Self {
        Error::LogEntry {
            index,
            msg: msg.into(),
        }
    }
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;
