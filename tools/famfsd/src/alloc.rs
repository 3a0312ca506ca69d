// SPDX-License-Identifier: GPL-2.0
//! Space allocation: a bitmap of allocation units built from the replayed log.

use crate::error::{Error, Result};
use crate::log::{Extent, FileMap};

/// Owner of an allocation unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Not in use.
    Free,
    /// The superblock region or the log (device 0), or the first allocation unit of an
    /// added device: offset 0 is never handed out (famfs's replay refuses a file with an
    /// extent at offset 0).
    Meta,
    /// The file created by this log entry.
    Entry(u64),
}

/// One slot per allocation unit of every device, recording who owns it.
#[derive(Debug, Clone)]
pub struct Bitmap {
    unit: u64,
    devs: Vec<Vec<Owner>>,
}

/// A pseudo-random sequence (xorshift64*) for the bucket order of strided allocation.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed nonzero value).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A generator seeded from the system's random source.
    pub fn from_entropy() -> Self {
        let u = uuid::Uuid::new_v4().as_u128();
        Rng::new((u as u64) ^ ((u >> 64) as u64))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Shuffle `v` (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

impl Bitmap {
    /// A bitmap for device 0 of `usable_size` bytes in units of `unit`, with
    /// `[0, meta_end)` reserved.
    pub fn new(usable_size: u64, unit: u64, meta_end: u64) -> Self {
        let n = (usable_size / unit) as usize;
        let mut b = Bitmap {
            unit,
            devs: vec![vec![Owner::Free; n]],
        };
        b.mark(&Extent::new(0, meta_end.min(usable_size)), Owner::Meta);
        b
    }

    /// Add a device of `size` bytes as the next device index. Its first allocation unit
    /// is reserved, as the superblock region is on device 0: famfs's log replay skips
    /// any file with an extent at device offset 0, so no file may start there.
    pub fn add_device(&mut self, size: u64) {
        let mut slots = vec![Owner::Free; (size / self.unit) as usize];
        if let Some(first) = slots.first_mut() {
            *first = Owner::Meta;
        }
        self.devs.push(slots);
    }

    /// Number of devices.
    pub fn ndevices(&self) -> usize {
        self.devs.len()
    }

    fn units(&self, e: &Extent) -> (usize, std::ops::Range<usize>) {
        let d = usize::try_from(e.devindex).unwrap_or(usize::MAX);
        let len = self.devs.get(d).map_or(0, |v| v.len());
        let first = (e.offset / self.unit) as usize;
        let last = e.end().div_ceil(self.unit) as usize;
        (d, first.min(len)..last.min(len))
    }

    fn slots(&self, d: usize) -> &[Owner] {
        self.devs.get(d).map_or(&[], |v| v.as_slice())
    }

    /// The allocation unit size.
    pub fn unit(&self) -> u64 {
        self.unit
    }

    /// Mark the units an extent touches as owned by `owner`. Units already owned keep
    /// their first owner; the first such conflict is returned with its device offset.
    pub fn mark(&mut self, e: &Extent, owner: Owner) -> Option<(Owner, u64)> {
        let mut conflict = None;
        let (d, r) = self.units(e);
        let unit = self.unit;
        let start = r.start;
        let slots = self.devs.get_mut(d)?;
        for (i, b) in slots[r].iter_mut().enumerate() {
            if *b == Owner::Free {
                *b = owner;
            } else if conflict.is_none() {
                conflict = Some((*b, (start + i) as u64 * unit));
            }
        }
        conflict
    }

    /// The first conflict a file map would have, without marking anything.
    pub fn conflict(&self, m: &FileMap) -> Option<(Owner, u64)> {
        for e in m.extents() {
            let (d, r) = self.units(e);
            let start = r.start;
            let slots = self.slots(d);
            if let Some(i) = slots[r].iter().position(|b| *b != Owner::Free) {
                return Some((slots[start + i], (start + i) as u64 * self.unit));
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

    /// Give the units of a file map back (used when a cross-linked file is dropped).
    pub fn release(&mut self, m: &FileMap, owner: Owner) {
        for e in m.extents() {
            let (d, r) = self.units(e);
            if let Some(slots) = self.devs.get_mut(d) {
                for b in &mut slots[r] {
                    if *b == owner {
                        *b = Owner::Free;
                    }
                }
            }
        }
    }

    /// Bytes free.
    pub fn free_bytes(&self) -> u64 {
        self.devs
            .iter()
            .flatten()
            .filter(|b| **b == Owner::Free)
            .count() as u64
            * self.unit
    }

    /// Free runs of device `d` inside units `within` as (first unit, unit count), in
    /// address order.
    fn free_runs(&self, d: usize, within: std::ops::Range<usize>) -> Vec<(usize, usize)> {
        let bits = self.slots(d);
        let end = within.end.min(bits.len());
        let mut runs = Vec::new();
        let mut i = within.start;
        while i < end {
            if bits[i] != Owner::Free {
                i += 1;
                continue;
            }
            let s = i;
            while i < end && bits[i] == Owner::Free {
                i += 1;
            }
            runs.push((s, i - s));
        }
        runs
    }

    fn take(&mut self, d: usize, first: usize, n: usize, owner: Owner) -> Extent {
        for b in &mut self.devs[d][first..first + n] {
            *b = owner;
        }
        Extent {
            devindex: d as u64,
            offset: first as u64 * self.unit,
            len: n as u64 * self.unit,
        }
    }

    fn nospace(&self, path: &str, need: u64) -> Error {
        Error::NoSpace {
            path: path.to_string(),
            need,
            free: self.free_bytes(),
        }
    }

    /// Allocate `bytes` (rounded up to the unit, at least one unit) as one contiguous
    /// extent (first fit, devices in index order) owned by `owner`, or failing that as at
    /// most `max_extents` extents taken from the largest free runs. Nothing is marked on
    /// failure.
    pub fn alloc_simple(
        &mut self,
        path: &str,
        bytes: u64,
        max_extents: usize,
        owner: Owner,
    ) -> Result<Vec<Extent>> {
        let need = bytes.div_ceil(self.unit).max(1) as usize;
        let mut runs = Vec::new();
        for d in 0..self.devs.len() {
            runs.extend(
                self.free_runs(d, 0..usize::MAX)
                    .into_iter()
                    .map(|(s, n)| (d, s, n)),
            );
        }
        if let Some(&(d, s, _)) = runs.iter().find(|r| r.2 >= need) {
            return Ok(vec![self.take(d, s, need, owner)]);
        }
        let mut by_size = runs;
        by_size.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        let mut left = need;
        let mut picks = Vec::new();
        for &(d, s, n) in by_size.iter().take(max_extents) {
            let k = n.min(left);
            picks.push((d, s, k));
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
            .map(|(d, s, k)| self.take(d, s, k, owner))
            .collect())
    }

    /// Allocate `nstrips` distinct contiguous strips of `strip_bytes` each (rounded up to
    /// the unit), first fit. Nothing is marked on failure.
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
            let run = (0..trial.devs.len()).find_map(|d| {
                trial
                    .free_runs(d, 0..usize::MAX)
                    .into_iter()
                    .find(|r| r.1 >= per)
                    .map(|(s, _)| (d, s))
            });
            match run {
                Some((d, s)) => strips.push(trial.take(d, s, per, owner)),
                None => return Err(self.nospace(path, (per * nstrips) as u64 * self.unit)),
            }
        }
        *self = trial;
        Ok(strips)
    }

    /// Bucketed strided allocation, as famfs does it: every device is cut into `nbuckets`
    /// equal buckets; the buckets are visited in random order and each strip is taken
    /// first fit inside a bucket no other strip of the file uses, so the strips of a file
    /// land in different regions of memory. Nothing is marked on failure.
    pub fn alloc_strips_bucketed(
        &mut self,
        path: &str,
        nstrips: usize,
        strip_bytes: u64,
        nbuckets: usize,
        rng: &mut Rng,
        owner: Owner,
    ) -> Result<Vec<Extent>> {
        if nbuckets < nstrips {
            return Err(Error::Invalid(format!(
                "{nbuckets} buckets cannot hold {nstrips} strips (need at least one bucket per strip)"
            )));
        }
        let per = strip_bytes.div_ceil(self.unit).max(1) as usize;
        let mut buckets = Vec::new();
        for (d, slots) in self.devs.iter().enumerate() {
            let bu = slots.len() / nbuckets;
            if bu == 0 {
                continue;
            }
            for b in 0..nbuckets {
                let end = if b + 1 == nbuckets {
                    slots.len()
                } else {
                    (b + 1) * bu
                };
                buckets.push((d, b * bu..end));
            }
        }
        rng.shuffle(&mut buckets);
        let mut trial = self.clone();
        let mut strips = Vec::with_capacity(nstrips);
        for (d, r) in buckets {
            if strips.len() == nstrips {
                break;
            }
            if let Some((s, _)) = trial.free_runs(d, r).into_iter().find(|x| x.1 >= per) {
                strips.push(trial.take(d, s, per, owner));
            }
        }
        if strips.len() < nstrips {
            return Err(self.nospace(path, (per * nstrips) as u64 * self.unit));
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

    #[test]
    fn bucketed_strips_land_in_distinct_buckets() {
        // 8 buckets of 64 MiB over a 512 MiB device.
        let mut b = Bitmap::new(512 * MB, 2 * MB, 10 * MB);
        let mut rng = Rng::new(7);
        for round in 0..6 {
            let s = b
                .alloc_strips_bucketed("f", 4, 4 * MB, 8, &mut rng, Owner::Entry(round))
                .unwrap();
            let mut seen: Vec<u64> = s.iter().map(|e| e.offset / (64 * MB)).collect();
            assert!(s
                .iter()
                .all(|e| e.offset / (64 * MB) == (e.end() - 1) / (64 * MB)));
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 4, "round {round}: {s:?}");
        }
        let e = b
            .alloc_strips_bucketed("g", 9, 2 * MB, 8, &mut rng, Owner::Entry(9))
            .unwrap_err();
        assert!(
            e.to_string().contains("8 buckets cannot hold 9 strips"),
            "{e}"
        );
        // Strips larger than a bucket cannot be placed: nothing is marked.
        let before = b.free_bytes();
        assert!(b
            .alloc_strips_bucketed("h", 2, 128 * MB, 8, &mut rng, Owner::Entry(10))
            .is_err());
        assert_eq!(b.free_bytes(), before);
    }

    #[test]
    fn second_device_is_used_and_tracked() {
        let mut b = Bitmap::new(16 * MB, 2 * MB, 10 * MB);
        b.add_device(10 * MB);
        assert_eq!(b.ndevices(), 2);
        let e = b.alloc_simple("f", 8 * MB, 1, Owner::Entry(0)).unwrap();
        assert_eq!(
            e,
            vec![Extent {
                devindex: 1,
                offset: 2 * MB,
                len: 8 * MB
            }]
        );
        let s = b.alloc_strips("g", 2, 2 * MB, Owner::Entry(1)).unwrap();
        assert_eq!((s[0].devindex, s[1].devindex), (0, 0));
        let x = Extent {
            devindex: 1,
            offset: 4 * MB,
            len: 2 * MB,
        };
        assert_eq!(b.mark(&x, Owner::Entry(2)), Some((Owner::Entry(0), 4 * MB)));
        b.release(&FileMap::Simple(e), Owner::Entry(0));
        assert_eq!(b.free_bytes(), 10 * MB);
    }

    #[test]
    fn offset_zero_is_never_handed_out_on_any_device() {
        // famfs's logplay skips a file with an extent at offset 0 ("has extent with 0
        // offset"): the first unit of every added device is reserved like device 0's
        // superblock region.
        let mut b = Bitmap::new(12 * MB, 2 * MB, 10 * MB);
        b.add_device(8 * MB);
        b.add_device(8 * MB);
        assert_eq!(b.free_bytes(), 2 * MB + 6 * MB + 6 * MB);
        let mut all = Vec::new();
        all.extend(b.alloc_simple("a", 2 * MB, 16, Owner::Entry(0)).unwrap());
        all.extend(b.alloc_strips("b", 2, 4 * MB, Owner::Entry(1)).unwrap());
        all.extend(b.alloc_simple("c", 4 * MB, 16, Owner::Entry(2)).unwrap());
        assert_eq!(b.free_bytes(), 0);
        assert!(all.iter().all(|e| e.offset != 0), "{all:?}");
        assert!(all.iter().any(|e| e.devindex == 2), "{all:?}");
        let mut c = Bitmap::new(12 * MB, 2 * MB, 10 * MB);
        c.add_device(64 * MB);
        let s = c
            .alloc_strips_bucketed("s", 8, 2 * MB, 8, &mut Rng::new(3), Owner::Entry(0))
            .unwrap();
        assert!(s.iter().all(|e| e.offset != 0), "{s:?}");
    }
}
