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

/// [`fmap::Fmap::parse`] with host storage, never inlined, so that its code has a symbol of
/// its own in a release build: `scripts/host-fmap.sh nodiv` disassembles it as the control that
/// does contain divisions.
#[inline(never)]
pub fn parse(blob: &[u8], devs: &[u64]) -> Result<Fmap, fmap::Error> {
    Fmap::parse(blob, devs)
}

/// [`fmap::Fmap::resolve`] with host storage, never inlined, so that its code has a symbol of
/// its own in a release build: `scripts/host-fmap.sh nodiv` checks that it and everything it
/// calls contain no division instruction.
#[inline(never)]
pub fn resolve(map: &Fmap, pos: u64) -> Result<fmap::Mapping, fmap::Error> {
    map.resolve(pos)
}

/// Splits a fuzzer input into a device table and a blob.
///
/// The first byte's low two bits give the number of devices minus one; that many little-endian
/// `u64` device sizes follow, then the blob. Returns [`None`] if the input is too short.
pub fn split_fuzz_input(data: &[u8]) -> Option<(Vec<u64>, &[u8])> {
    let (first, mut rest) = data.split_first()?;
    let ndevs = usize::from(first & 3) + 1;
    let mut devs = Vec::with_capacity(ndevs);
    for _ in 0..ndevs {
        let (size, tail) = rest.split_first_chunk::<8>()?;
        devs.push(u64::from_le_bytes(*size));
        rest = tail;
    }
    Some((devs, rest))
}

/// Builds a fuzzer input from a device table of one to four devices and a blob.
pub fn join_fuzz_input(devs: &[u64], blob: &[u8]) -> Option<Vec<u8>> {
    let n = u8::try_from(devs.len())
        .ok()
        .filter(|n| (1..=4).contains(n))?;
    let mut v = Vec::new();
    v.push(n - 1);
    for d in devs {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend_from_slice(blob);
    Some(v)
}
