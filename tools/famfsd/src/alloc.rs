// SPDX-License-Identifier: GPL-2.0
//! Space allocation: a bitmap of allocation units built from the replayed log.

use crate::error::{Error, Result};
use crate::log::{Extent, FileMap};

/// Owner of an allocation unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Not in use.
    Free,
    /// The superblock region or the log.
    Meta,
    /// The file created by this log entry.
    Entry(u64),
}

/// One slot per allocation unit of the device, recording who owns it.
#[derive(Debug, Clone)]
pub struct Bitmap {
    unit: u64,
    bits: Vec<Owner>,
}

impl Bitmap {
    /// A bitmap for `usable_size` bytes in units of `unit`, with `[0, meta_end)` reserved.
    pub fn new(usable_size: u64, unit: u64, meta_end: u64) -> Self {
        let n = (usable_size / unit) as usize;
        let mut b = Bitmap {
            unit,
            bits: vec![Owner::Free; n],
        };
        b.mark(&Extent::new(0, meta_end.min(usable_size)), Owner::Meta);
        b
    }

    fn units(&self, e: &Extent) -> std::ops::Range<usize> {
        let first = (e.offset / self.unit) as usize;
        let last = e.end().div_ceil(self.unit) as usize;
        first.min(self.bits.len())..last.min(self.bits.len())
    }

    /// The allocation unit size.
    pub fn unit(&self) -> u64 {
        self.unit
    }

    /// Mark the units an extent touches as owned by `owner`. Units already owned keep
    /// their first owner; the first such conflict is returned with its device offset.
    pub fn mark(&mut self, e: &Extent, owner: Owner) -> Option<(Owner, u64)> {
        let mut conflict = None;
        let r = self.units(e);
        let start = r.start;
        for (i, b) in self.bits[r].iter_mut().enumerate() {
            if *b == Owner::Free {
                *b = owner;
            } else if conflict.is_none() {
                conflict = Some((*b, (start + i) as u64 * self.unit));
            }
        }
        conflict
    }

    /// The first conflict a file map would have, without marking anything.
    pub fn conflict(&self, m: &FileMap) -> Option<(Owner, u64)> {
        for e in m.extents() {
            let r = self.units(e);
            let start = r.start;
            if let Some(i) = self.bits[r].iter().position(|b| *b != Owner::Free) {
                return Some((self.bits[start + i], (start + i) as u64 * self.unit));
            }
        }
        None
    }

    /// Mark every extent of a file map as owned by `owner`.
    pub fn mark_map(&mut self, m: &FileMap, owner: Owner) -> Option<(Owner, u64)> {
        let mut conflict = None;
        for e in m.extents() {
            let c = self.mark(e, owner);
            conflict = conflict.or(c);
        }
        conflict
    }

    /// Bytes free.
    pub fn free_bytes(&self) -> u64 {
        self.bits.iter().filter(|b| **b == Owner::Free).count() as u64 * self.unit
    }

    /// Free runs as (first unit, unit count), in address order.
    fn free_runs(&self) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < self.bits.len() {
            if self.bits[i] != Owner::Free {
                i += 1;
                continue;
            }
            let s = i;
            while i < self.bits.len() && self.bits[i] == Owner::Free {
                i += 1;
            }
            runs.push((s, i - s));
        }
        runs
    }

    fn take(&mut self, first: usize, n: usize, owner: Owner) -> Extent {
        for b in &mut self.bits[first..first + n] {
            *b = owner;
        }
        Extent::new(first as u64 * self.unit, n as u64 * self.unit)
    }

    fn nospace(&self, path: &str, need: u64) -> Error {
        Error::NoSpace {
            path: path.to_string(),
            need,
            free: self.free_bytes(),
        }
    }

    /// Allocate `bytes` (rounded up to the unit, at least one unit) as one contiguous
    /// extent (first fit) owned by `owner`, or failing that as at most `max_extents` extents taken from the
    /// largest free runs. Nothing is marked on failure.
    pub fn alloc_simple(
        &mut self,
        path: &str,
        bytes: u64,
        max_extents: usize,
        owner: Owner,
    ) -> Result<Vec<Extent>> {
        let need = bytes.div_ceil(self.unit).max(1) as usize;
        let runs = self.free_runs();
        if let Some(&(s, _)) = runs.iter().find(|r| r.1 >= need) {
            return Ok(vec![self.take(s, need, owner)]);
        }
        let mut by_size = runs;
        by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut left = need;
        let mut picks = Vec::new();
        for &(s, n) in by_size.iter().take(max_extents) {
            let k = n.min(left);
            picks.push((s, k));
            left -= k;
            if left == 0 {
                break;
            }
        }
        if left > 0 {
            return Err(self.nospace(path, need as u64 * self.unit));
        }
        picks.sort();
        Ok(picks
            .into_iter()
            .map(|(s, k)| self.take(s, k, owner))
            .collect())
    }

    /// Allocate `nstrips` distinct contiguous strips of `strip_bytes` each (rounded up to
    /// the unit). Nothing is marked on failure.
    pub fn alloc_strips(
        &mut self,
        path: &str,
        nstrips: usize,
        strip_bytes: u64,
        owner: Owner,
    ) -> Result<Vec<Extent>> {
        let per = strip_bytes.div_ceil(self.unit).max(1) as usize;
        let mut trial = self.clone();
        let mut strips = Vec::with_capacity(nstrips);
        for _ in 0..nstrips {
            let run = trial.free_runs().into_iter().find(|r| r.1 >= per);
            match run {
                Some((s, _)) => strips.push(trial.take(s, per, owner)),
                None => return Err(self.nospace(path, (per * nstrips) as u64 * self.unit)),
            }
        }
        *self = trial;
        Ok(strips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const MB: u64 = 1 << 20;

    #[test]
    fn reserved_region_is_never_handed_out() {
        let mut b = Bitmap::new(20 * MB, 2 * MB, 10 * MB);
        assert_eq!(b.free_bytes(), 10 * MB);
        let e = b.alloc_simple("f", 1, 16, Owner::Entry(0)).unwrap();
        assert_eq!(e, vec![Extent::new(10 * MB, 2 * MB)]);
        assert!(b.alloc_simple("g", 9 * MB, 16, Owner::Entry(0)).is_err());
        // The failed request marked nothing.
        assert_eq!(b.free_bytes(), 8 * MB);
        assert_eq!(
            b.alloc_simple("g", 8 * MB, 16, Owner::Entry(0))
                .unwrap()
                .len(),
            1
        );
        assert!(matches!(
            b.alloc_simple("h", 1, 16, Owner::Entry(0)),
            Err(Error::NoSpace { .. })
        ));
    }

    #[test]
    fn fragmented_allocation_uses_several_extents() {
        let mut b = Bitmap::new(20 * MB, 2 * MB, 0);
        // Use every other unit.
        for i in (0..10).step_by(2) {
            assert!(b
                .mark(&Extent::new(i * 2 * MB, 2 * MB), Owner::Entry(i))
                .is_none());
        }
        let e = b.alloc_simple("f", 6 * MB, 16, Owner::Entry(0)).unwrap();
        assert_eq!(e.len(), 3);
        assert!(b.alloc_simple("g", 6 * MB, 1, Owner::Entry(0)).is_err());
        assert_eq!(
            b.mark(&Extent::new(8 * MB, 2 * MB), Owner::Entry(9)),
            Some((Owner::Entry(4), 8 * MB))
        );
    }

    #[test]
    fn strips_are_distinct() {
        let mut b = Bitmap::new(64 * MB, 2 * MB, 10 * MB);
        let s = b.alloc_strips("f", 4, 4 * MB, Owner::Entry(0)).unwrap();
        assert_eq!(s.len(), 4);
        let mut check = Bitmap::new(64 * MB, 2 * MB, 10 * MB);
        for e in &s {
            assert_eq!(e.len, 4 * MB);
            assert!(check.mark(e, Owner::Entry(0)).is_none());
        }
        let before = b.free_bytes();
        assert_eq!(before, 38 * MB);
        assert!(b.alloc_strips("g", 10, 4 * MB, Owner::Entry(0)).is_err());
        assert_eq!(b.free_bytes(), before);
    }
}
