// SPDX-License-Identifier: GPL-2.0

//! famfs iomap provider.
//!
//! Serves the data path of famfs files inside FUSE: the file's map (fmap) is fetched once per
//! file, validated and cached, and every read, write and page fault is resolved from it by
//! arithmetic, without a round trip to the FUSE server.

use core::fmt;
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    fs::iomap::{
        Flags,
        IoMap, //
    },
    fuse::iomap::{
        DeviceTable,
        Provider,
        Registration, //
    },
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::{
        ClockSource,
        Monotonic, //
    }, //
};

pub mod fmap;
#[cfg(CONFIG_KUNIT = "y")]
pub mod fmap_cases;

/// Kernel storage for the parsed fmap: `kvmalloc` backed, so large maps need no contiguous
/// pages, and charged to the memory cgroup of the process whose open made the kernel hold the
/// map.
pub struct KernelStorage;

impl fmap::Storage for KernelStorage {
    type Buf<T: Copy + Default> = KVVec<T>;

    fn alloc<T: Copy + Default>(n: usize) -> Option<KVVec<T>> {
        KVVec::from_elem(T::default(), n, GFP_KERNEL_ACCOUNT).ok()
    }
}

/// The most devices a connection has (`FUSE_IOMAP_DAX_MAX_DEVICES`).
const MAX_DEVICES: usize = 64;

module! {
    type: FamfsIomap,
    name: "famfs_iomap",
    authors: ["famfs-iomap developers"],
    description: "famfs fmap provider for FUSE iomap DAX",
    license: "GPL",
    alias: ["fuse-iomap-famfs"],
}

impl From<fmap::Error> for Error {
    /// The kernel's errno for a rejected map, by name: the fmap core's numbers are x86's.
    /// The match is exhaustive, so a new errno of the core must be mapped here.
    fn from(e: fmap::Error) -> Self {
        match e.kind() {
            fmap::Errno::Inval => EINVAL,
            fmap::Errno::TooBig => E2BIG,
            fmap::Errno::NxIo => ENXIO,
            fmap::Errno::NoDev => ENODEV,
            fmap::Errno::NoMem => ENOMEM,
            fmap::Errno::Range => ERANGE,
            fmap::Errno::Proto => EPROTO,
        }
    }
}

/// Errnos of rejected maps, in the order of [`Stats::rejected`].
const REJECT_ERRNOS: [(Error, &str); 7] = [
    (EINVAL, "EINVAL"),
    (ERANGE, "ERANGE"),
    (ENODEV, "ENODEV"),
    (ENXIO, "ENXIO"),
    (E2BIG, "E2BIG"),
    (EPROTO, "EPROTO"),
    (ENOMEM, "ENOMEM"),
];

/// A rate limit for log lines a FUSE server can cause at will, such as one per rejected map.
///
/// The kernel's `printk_ratelimited()` has no Rust counterpart in this kernel, and its
/// `struct ratelimit_state` is set up by C macros and inline functions (`RATELIMIT_STATE_INIT`,
/// `ratelimit_state_init()`, a raw spinlock) that the Rust bindings do not expose. This is the
/// same policy without a lock: at most [`Ratelimit::BURST`] lines per
/// [`Ratelimit::INTERVAL_NS`], and the number of lines left out is reported with the next line
/// printed. Racing callers may let a line or two more through at the start of an interval; no
/// line is ever lost from the counters in debugfs, which count every event.
struct Ratelimit {
    /// Start of the current interval on the monotonic clock, in nanoseconds.
    begin: Atomic<i64>,
    /// Lines allowed or refused in the current interval.
    used: Atomic<u32>,
    /// Lines refused since the last line allowed.
    missed: Atomic<u32>,
}

impl Ratelimit {
    /// Lines per interval: the kernel's `DEFAULT_RATELIMIT_BURST`.
    const BURST: u32 = 10;
    /// Interval length: the kernel's `DEFAULT_RATELIMIT_INTERVAL`, 5 seconds.
    const INTERVAL_NS: i64 = 5_000_000_000;

    /// Creates a limit that allows a burst right away.
    const fn new() -> Self {
        Ratelimit {
            begin: Atomic::new(i64::MIN),
            used: Atomic::new(0),
            missed: Atomic::new(0),
        }
    }

    /// Returns the number of lines refused since the last one allowed if a line may be printed
    /// now, or [`None`].
    fn allow(&self) -> Option<u32> {
        self.allow_at(Monotonic::ktime_get())
    }

    /// [`Ratelimit::allow`] at time `now`, in nanoseconds of the monotonic clock.
    fn allow_at(&self, now: i64) -> Option<u32> {
        let begin = self.begin.load(Relaxed);
        if now.saturating_sub(begin) >= Self::INTERVAL_NS
            && self.begin.cmpxchg(begin, now, Relaxed).is_ok()
        {
            self.used.store(0, Relaxed);
        }
        // Neither count wraps: each call adds one, and an interval or a run of refused lines
        // ends at the first call 5 seconds after it started, long before 2^32 calls (each
        // parses a map).
        if self.used.fetch_add(1, Relaxed) < Self::BURST {
            Some(self.missed.xchg(0, Relaxed))
        } else {
            self.missed.add(1, Relaxed);
            None
        }
    }
}

/// Limits the lines logged about maps and device tables a server sent.
static REJECT_LOG: Ratelimit = Ratelimit::new();
/// Limits the lines logged about accepted maps that cannot use PMD faults.
static PMD_LOG: Ratelimit = Ratelimit::new();

/// Logs `args` as a warning about something a FUSE server sent, unless `REJECT_LOG` refuses.
fn warn_server(args: fmt::Arguments<'_>) {
    if let Some(missed) = REJECT_LOG.allow() {
        if missed > 0 {
            pr_warn!("{} messages about rejected maps suppressed\n", missed);
        }
        pr_warn!("{}\n", args);
    }
}

/// Counters for operators, in `/sys/kernel/debug/famfs_iomap/stats`.
struct Stats {
    /// Maps parsed and installed.
    parsed: Atomic<u64>,
    /// Maps rejected by validation, by errno (see [`REJECT_ERRNOS`]; the last slot counts any
    /// other errno).
    rejected: [Atomic<u64>; REJECT_ERRNOS.len() + 1],
    /// Accepted maps that cannot get PMD faults (not 2 MiB aligned).
    pmd_unaligned: Atomic<u64>,
}

static STATS: Stats = Stats {
    parsed: Atomic::new(0),
    rejected: [const { Atomic::new(0) }; REJECT_ERRNOS.len() + 1],
    pmd_unaligned: Atomic::new(0),
};

impl Stats {
    /// Counts a map rejected with `err`.
    fn reject(&self, err: Error) {
        let slot = REJECT_ERRNOS
            .iter()
            .position(|&(e, _)| e == err)
            .unwrap_or(REJECT_ERRNOS.len());
        self.rejected[slot].add(1, Relaxed);
    }
}

/// The contents of the `stats` debugfs file.
struct StatsFile;

impl fmt::Debug for StatsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "maps_parsed {}", STATS.parsed.load(Relaxed))?;
        writeln!(
            f,
            "maps_pmd_unaligned {}",
            STATS.pmd_unaligned.load(Relaxed)
        )?;
        let names = Iterator::chain(REJECT_ERRNOS.iter().map(|&(_, n)| n), ["other"]);
        for (name, count) in names.zip(STATS.rejected.iter()) {
            writeln!(f, "maps_rejected_{} {}", name, count.load(Relaxed))?;
        }
        Ok(())
    }
}

/// The `famfs` iomap provider: famfs fmaps, resolved by [`fmap::Fmap::resolve`].
struct Famfs;

/// [`kernel::page::PAGE_SIZE`] as a file offset.
// CAST: `PAGE_SIZE` fits in a `u64`.
const PAGE: u64 = kernel::page::PAGE_SIZE as u64;

// fmaps are aligned to `fmap::ALIGN` (4 KiB): with larger pages a mapping would start inside
// another extent. Such kernels are refused here rather than served wrong addresses.
const _: () = assert!(
    PAGE == fmap::ALIGN,
    "famfs_iomap needs 4 KiB pages: fmaps are 4 KiB aligned"
);

/// The DAX mapping for `m`, widened to start at the page holding `m.file_offset`: the device
/// address, the file offset and the length.
///
/// Extents are [`fmap::ALIGN`] aligned, so with `page == fmap::ALIGN` device and file offsets
/// are congruent modulo the page and the widened range stays inside the extent. Anything else
/// fails with [`EIO`] instead of wrapping around. Runs on every fault: masks, no division, so
/// `page` must be a power of two (others fail with [`EIO`]).
fn dax_window(m: &fmap::Mapping, page: u64) -> Result<(u64, u64, u64)> {
    if !page.is_power_of_two() {
        return Err(EIO);
    }
    let skew = m.file_offset & (page - 1);
    if m.dev_offset & (page - 1) != skew {
        return Err(EIO);
    }
    let addr = m.dev_offset.checked_sub(skew).ok_or(EIO)?;
    let len = m.len.checked_add(skew).ok_or(EIO)?;
    Ok((addr, m.file_offset - skew, len))
}

#[vtable]
impl Provider for Famfs {
    const NAME: &'static CStr = c"famfs";
    type Map = fmap::Fmap<KernelStorage>;

    fn parse(table: &DeviceTable, blob: &[u8]) -> Result<(Self::Map, u64)> {
        // The device sizes, on the stack: an open allocates nothing but the map.
        let mut sizes = [0u64; MAX_DEVICES];
        let Some(sizes) = sizes.get_mut(..table.len()) else {
            warn_server(format_args!(
                "rejected a map: {} devices, at most {MAX_DEVICES}",
                table.len()
            ));
            STATS.reject(E2BIG);
            return Err(E2BIG);
        };
        for (i, size) in sizes.iter_mut().enumerate() {
            let Some(s) = table.size(i) else {
                warn_server(format_args!("rejected a map: device {i} has no size"));
                STATS.reject(ENODEV);
                return Err(ENODEV);
            };
            *size = s;
        }
        match fmap::Fmap::<KernelStorage>::parse(blob, sizes) {
            Ok(map) => {
                STATS.parsed.add(1, Relaxed);
                if !map.pmd_capable() {
                    STATS.pmd_unaligned.add(1, Relaxed);
                    if let Some(missed) = PMD_LOG.allow() {
                        if missed > 0 {
                            pr_info!(
                                "{} messages about maps not 2 MiB aligned suppressed\n",
                                missed
                            );
                        }
                        pr_info!(
                            "map with {} extents not 2 MiB aligned: no PMD faults\n",
                            map.pmd_unaligned()
                        );
                    }
                }
                let size = map.file_size();
                Ok((map, size))
            }
            Err(e) => {
                warn_server(format_args!("rejected a map: {e}"));
                let err = Error::from(e);
                STATS.reject(err);
                Err(err)
            }
        }
    }

    fn begin(
        map: &Self::Map,
        table: &DeviceTable,
        pos: u64,
        _len: u64,
        _flags: Flags,
        iomap: &mut IoMap,
    ) -> Result {
        let m = map.resolve(pos).map_err(Error::from)?;
        // CAST: device indices were checked against the table at parse time.
        let dev = m.dev as usize;
        // Start the mapping at the page holding `pos`. `map_dax` checks the range against the
        // device once more and fails with EHWPOISON after a memory failure.
        let (addr, offset, len) = dax_window(&m, PAGE)?;
        table.map_dax(iomap, dev, addr, offset, len)
    }

    fn ranges(map: &Self::Map, f: &mut dyn FnMut(usize, u64, u64) -> Result) -> Result {
        // Simple extents and strips: every device range the map may reach.
        for e in map.extents() {
            // CAST: device indices were checked against the table at parse time.
            f(e.dev() as usize, e.offset(), e.len())?;
        }
        Ok(())
    }
}

#[pin_data]
struct FamfsIomap {
    #[pin]
    provider: Registration<Famfs>,
    _debugfs: Dir,
    #[pin]
    _stats: File<StatsFile>,
}

impl kernel::InPlaceModule for FamfsIomap {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let debugfs = Dir::new(c"famfs_iomap");
        try_pin_init!(Self {
            provider <- Registration::register(),
            _stats <- debugfs.read_only_file(c"stats", StatsFile),
            _debugfs: debugfs,
        })
    }
}

#[kunit_tests(famfs_fmap)]
mod tests {
    use super::*;

    /// Every validation and resolution case of the host suite, run against kernel storage.
    #[test]
    fn fmap_cases() {
        let mut failed = 0;
        for case in fmap_cases::CASES {
            if let Err(f) = fmap_cases::check::<KernelStorage>(case) {
                pr_err!("fmap case {}: {}\n", case.name, format_args!("{f}"));
                failed += 1;
            }
        }
        assert_eq!(failed, 0);
    }

    /// Extent and stripe numbers come from a multiply and shifts: they match the `/` operator
    /// at the edges of every divisor range.
    #[test]
    fn fmap_reciprocals() {
        let res = fmap_cases::check_reciprocals();
        if let Err((d, n)) = res {
            pr_err!("reciprocal of {} wrong for {}\n", d, n);
        }
        assert!(res.is_ok());
    }

    /// A provider that exists only to test registration; `BAD` gives it a name that is no module
    /// name.
    struct Twin<const BAD: bool = false>;

    #[vtable]
    impl<const BAD: bool> Provider for Twin<BAD> {
        const NAME: &'static CStr = if BAD { c"Famfs kunit" } else { c"famfs-kunit" };
        type Map = ();

        fn parse(_table: &DeviceTable, _blob: &[u8]) -> Result<((), u64)> {
            Err(EINVAL)
        }

        fn begin(
            _map: &(),
            _table: &DeviceTable,
            _pos: u64,
            _len: u64,
            _flags: Flags,
            _iomap: &mut IoMap,
        ) -> Result {
            Err(EIO)
        }

        fn ranges(_map: &(), _f: &mut dyn FnMut(usize, u64, u64) -> Result) -> Result {
            Ok(())
        }
    }

    /// A second provider of the same name is refused; the name is free again once dropped.
    #[test]
    fn duplicate_registration() -> Result {
        let first = KBox::pin_init(Registration::<Twin>::register(), GFP_KERNEL)?;
        let second = KBox::pin_init(Registration::<Twin>::register(), GFP_KERNEL);
        assert!(matches!(second, Err(e) if e == EEXIST));
        drop(first);
        let third = KBox::pin_init(Registration::<Twin>::register(), GFP_KERNEL);
        assert!(third.is_ok());
        Ok(())
    }

    /// A provider name becomes part of a module name: one with an upper-case letter or a space
    /// is refused.
    #[test]
    fn bad_name_registration() {
        let bad = KBox::pin_init(Registration::<Twin<true>>::register(), GFP_KERNEL);
        assert!(matches!(bad, Err(e) if e == EINVAL));
    }

    /// A mapping is widened to its page only when device and file offsets agree modulo the
    /// page: a 4 KiB aligned extent on 64 KiB pages fails with EIO instead of underflowing.
    #[test]
    fn dax_window_page_size() {
        let m = fmap::Mapping {
            dev: 0,
            dev_offset: 4096,
            file_offset: 69632,
            len: 4096,
        };
        assert_eq!(dax_window(&m, 4096).ok(), Some((4096, 69632, 4096)));
        // Widening to a 64 KiB page would start 4 KiB below the device: refused.
        let m = fmap::Mapping {
            file_offset: 8192,
            ..m
        };
        assert!(matches!(dax_window(&m, 65536), Err(e) if e == EIO));
        let m = fmap::Mapping {
            dev_offset: 65536 + 8192,
            ..m
        };
        assert_eq!(dax_window(&m, 65536).ok(), Some((65536, 0, 12288)));
        assert!(matches!(dax_window(&m, 0), Err(e) if e == EIO));
        // Masks need a power of two: a 12 KiB "page" is refused, not misused.
        assert!(matches!(dax_window(&m, 12288), Err(e) if e == EIO));
    }

    /// The log limit allows a burst, refuses the rest of the interval and reports how many
    /// lines it refused with the first line of the next interval.
    #[test]
    fn ratelimit() {
        let r = Ratelimit::new();
        let t = 1_000_000_000_000;
        for _ in 0..Ratelimit::BURST {
            assert_eq!(r.allow_at(t), Some(0));
        }
        assert_eq!(r.allow_at(t), None);
        assert_eq!(r.allow_at(t + Ratelimit::INTERVAL_NS - 1), None);
        assert_eq!(r.allow_at(t + Ratelimit::INTERVAL_NS), Some(2));
        assert_eq!(r.allow_at(t + Ratelimit::INTERVAL_NS), Some(0));
        // A new interval starts at the first call after the last one ended.
        for _ in 2..Ratelimit::BURST {
            assert_eq!(r.allow_at(t + 2 * Ratelimit::INTERVAL_NS - 1), Some(0));
        }
        assert_eq!(r.allow_at(t + 2 * Ratelimit::INTERVAL_NS - 1), None);
        assert_eq!(r.allow_at(t + 2 * Ratelimit::INTERVAL_NS), Some(1));
        // The first call ever is allowed whatever the clock says.
        assert_eq!(Ratelimit::new().allow_at(0), Some(0));
    }

    /// The kernel storage hands out zeroed buffers of the requested length.
    #[test]
    fn kernel_storage() {
        use fmap::Storage;

        let buf = KernelStorage::alloc::<u64>(3);
        assert!(buf.is_some());
        if let Some(buf) = buf {
            assert_eq!(buf.len(), 3);
            assert!(buf.iter().all(|&v| v == 0));
        }
    }
}
