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

/// Whether directory `d` is the root of a famfs mount (it has `.meta/.superblock` and
/// `.meta/.log` files).
pub fn is_famfs_root(d: &std::path::Path) -> bool {
    let m = d.join(META_DIR);
    m.join(".superblock").is_file() && m.join(".log").is_file()
}

/// Find the famfs mount holding `p`, an ordinary path (absolute, or relative to the
/// working directory) that may not exist yet: returns the mount point and the path
/// relative to the file system's root ("" for the root itself), or `None` if `p` is not
/// inside a mounted famfs.
pub fn find_mount(p: &std::path::Path) -> Result<Option<(std::path::PathBuf, String)>> {
    use std::path::{Component, PathBuf};
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(".", e))?
            .join(p)
    };
    // The deepest existing ancestor, resolved; the rest is appended as given.
    let mut existing = abs.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    while !existing.exists() {
        if existing.components().next_back() == Some(Component::ParentDir) {
            return Err(Error::InvalidPath {
                path: p.display().to_string(),
                why: "'..' after a name that does not exist",
            });
        }
        match existing.file_name() {
            Some(n) => rest.push(n.to_owned()),
            None => return Ok(None),
        }
        if !existing.pop() {
            return Ok(None);
        }
    }
    let canon = existing
        .canonicalize()
        .map_err(|e| Error::io(&existing, e))?;
    for anc in canon.ancestors() {
        if !is_famfs_root(anc) {
            continue;
        }
        let mut rel: PathBuf = canon.strip_prefix(anc).unwrap_or(&canon).to_path_buf();
        for r in rest.iter().rev() {
            rel.push(r);
        }
        let mut parts = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(n) => {
                    parts.push(n.to_str().ok_or_else(|| Error::InvalidPath {
                        path: p.display().to_string(),
                        why: "not valid UTF-8",
                    })?)
                }
                Component::CurDir => {}
                _ => {
                    return Err(Error::InvalidPath {
                        path: p.display().to_string(),
                        why: "'..' is not allowed",
                    })
                }
            }
        }
        return Ok(Some((anc.to_path_buf(), parts.join("/"))));
    }
    Ok(None)
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
    fn mounts_are_found_from_ordinary_paths() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap().join("mnt");
        std::fs::create_dir_all(root.join(".meta")).unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(find_mount(&root.join("a/b/new")).unwrap(), None);
        std::fs::write(root.join(".meta/.superblock"), b"").unwrap();
        std::fs::write(root.join(".meta/.log"), b"").unwrap();
        let f = |p: &std::path::Path| find_mount(p).unwrap().unwrap();
        assert_eq!(f(&root.join("a/b/new")), (root.clone(), "a/b/new".into()));
        assert_eq!(f(&root.join("a/./b")), (root.clone(), "a/b".into()));
        assert_eq!(f(&root), (root.clone(), String::new()));
        assert_eq!(f(&root.join("x/y")), (root.clone(), "x/y".into()));
        assert!(find_mount(&root.join("x/../y")).is_err());
        assert_eq!(find_mount(d.path()).unwrap(), None);
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
