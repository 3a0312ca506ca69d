// SPDX-License-Identifier: GPL-2.0
//! Paths inside a famfs file system: relative to its root, `/`-separated.

use crate::error::{Error, Result};
use crate::layout::MAX_RELPATH;

/// Name of the reserved metadata directory at the root of a mounted famfs.
pub const META_DIR: &str = ".meta";

/// Check a relative path as stored in a log entry: non-empty, not absolute, no empty,
/// `.` or `..` component, not inside the reserved `.meta` directory, and short enough.
pub fn check_relpath(p: &str) -> Result<()> {
    let bad = |why| {
        Err(Error::InvalidPath {
            path: p.to_string(),
            why,
        })
    };
    if p.is_empty() {
        return bad("empty path");
    }
    if p.starts_with('/') {
        return bad("absolute path");
    }
    if p.len() > MAX_RELPATH {
        return Err(Error::NameTooLong {
            path: p.to_string(),
            len: p.len(),
            max: MAX_RELPATH,
        });
    }
    for (i, c) in p.split('/').enumerate() {
        match c {
            "" => return bad("empty path component"),
            "." | ".." => return bad("'.' and '..' are not allowed"),
            META_DIR if i == 0 => return bad("'.meta' is reserved"),
            _ => {}
        }
    }
    Ok(())
}

/// Normalise a path given by a user: leading `/` and `./`, repeated and trailing `/`
/// are dropped. Returns the empty string for the root. `..` is rejected.
pub fn normalize(p: &str) -> Result<String> {
    let mut parts = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(Error::InvalidPath {
                    path: p.to_string(),
                    why: "'..' is not allowed",
                })
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// Split a relative path into (parent, name); the parent of a top-level name is "".
pub fn split_parent(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("", p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relpath_rules() {
        assert!(check_relpath("a/b/c").is_ok());
        assert!(check_relpath("a/.meta").is_ok());
        for p in ["", "/a", "a//b", "a/", "./a", "a/../b", ".meta", ".meta/x"] {
            assert!(check_relpath(p).is_err(), "{p}");
        }
        assert!(matches!(
            check_relpath(&"n".repeat(MAX_RELPATH + 1)),
            Err(Error::NameTooLong { .. })
        ));
        assert!(check_relpath(&"n".repeat(MAX_RELPATH)).is_ok());
    }

    #[test]
    fn normalize_and_split() {
        assert_eq!(normalize("/a//b/./c/").unwrap(), "a/b/c");
        assert_eq!(normalize("/").unwrap(), "");
        assert!(normalize("a/../b").is_err());
        assert_eq!(split_parent("a/b/c"), ("a/b", "c"));
        assert_eq!(split_parent("c"), ("", "c"));
    }
}
