// SPDX-License-Identifier: GPL-2.0

//! Host build of the famfs fmap core.
//!
//! `rust/fmap.rs` and `rust/fmap_cases.rs` are compiled here unchanged, exactly as the
//! `famfs_iomap` kernel module compiles them, so that cargo can test, fuzz and benchmark the
//! code the kernel runs. The crate is `no_std` like the module; it only adds [`VecStorage`], the
//! host [`fmap::Storage`].

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

#[path = "../../fmap.rs"]
pub mod fmap;

#[path = "../../fmap_cases.rs"]
pub mod fmap_cases;

/// [`fmap::Storage`] backed by [`Vec`], the host counterpart of the module's `KVVec` storage.
pub struct VecStorage;

impl fmap::Storage for VecStorage {
    type Buf<T: Copy + Default> = Vec<T>;

    fn alloc<T: Copy + Default>(n: usize) -> Option<Vec<T>> {
        let mut v = Vec::new();
        v.try_reserve_exact(n).ok()?;
        v.resize(n, T::default());
        Some(v)
    }
}

/// The resolved map type on the host.
pub type Fmap = fmap::Fmap<VecStorage>;
