// SPDX-License-Identifier: GPL-2.0

//! famfs file maps: validation and offset resolution.
//!
//! This file depends on `core` only. The same source is compiled into the `famfs_iomap` kernel
//! module (as `pub mod fmap;`) and into the host crate `famfs-fmap` (through `#[path]`) for unit
//! tests, property tests, fuzzing and benchmarks.
//!
//! [`Fmap::parse`] validates a blob laid out as `include/uapi/linux/famfs_fmap.h` describes
//! against a device table and builds the resolved form; [`Fmap::resolve`] maps a file offset to
//! a device range with no allocation, no loop over extents and no division.
//!
//! Memory for the resolved form comes from the caller through the [`Storage`] trait, so this
//! file needs neither `alloc` nor the `kernel` crate.

use core::fmt;
use core::num::NonZeroU32;
use core::num::NonZeroU64;
use core::ops::DerefMut;

/// Size of `struct famfs_fmap_header` in bytes.
pub const HEADER_SIZE: usize = 32;
/// Size of `struct famfs_fmap_simple_ext` in bytes.
pub const SIMPLE_EXT_SIZE: usize = 24;
/// Size of `struct famfs_fmap_iext` in bytes.
pub const IEXT_SIZE: usize = 24;

/// Offset of `famfs_fmap_header.file_type`.
pub const HDR_FILE_TYPE: usize = 0;
/// Offset of `famfs_fmap_header.reserved`.
pub const HDR_RESERVED: usize = 1;
/// Offset of `famfs_fmap_header.fmap_version`.
pub const HDR_VERSION: usize = 2;
/// Offset of `famfs_fmap_header.ext_type`.
pub const HDR_EXT_TYPE: usize = 4;
/// Offset of `famfs_fmap_header.nextents`.
pub const HDR_NEXTENTS: usize = 8;
/// Offset of `famfs_fmap_header.fmap_size`.
pub const HDR_FMAP_SIZE: usize = 12;
/// Offset of `famfs_fmap_header.file_size`.
pub const HDR_FILE_SIZE: usize = 16;
/// Offset of `famfs_fmap_header.reserved1`.
pub const HDR_RESERVED1: usize = 24;

/// Offset of `famfs_fmap_simple_ext.se_devindex`.
pub const SE_DEVINDEX: usize = 0;
/// Offset of `famfs_fmap_simple_ext.reserved`.
pub const SE_RESERVED: usize = 4;
/// Offset of `famfs_fmap_simple_ext.se_offset`.
pub const SE_OFFSET: usize = 8;
/// Offset of `famfs_fmap_simple_ext.se_len`.
pub const SE_LEN: usize = 16;

/// Offset of `famfs_fmap_iext.ie_nstrips`.
pub const IE_NSTRIPS: usize = 0;
/// Offset of `famfs_fmap_iext.ie_chunk_size`.
pub const IE_CHUNK_SIZE: usize = 4;
/// Offset of `famfs_fmap_iext.ie_nbytes`.
pub const IE_NBYTES: usize = 8;
/// Offset of `famfs_fmap_iext.reserved`.
pub const IE_RESERVED: usize = 16;

/// The only `fmap_version` understood (`FAMFS_FMAP_VERSION`).
pub const VERSION: u16 = 1;
/// Largest accepted blob in bytes (`FAMFS_FMAP_MAX_SIZE`, 16 MiB).
pub const MAX_SIZE: usize = 16 << 20;
/// Alignment of every offset, length and chunk size (`FAMFS_FMAP_ALIGN`).
pub const ALIGN: u64 = 4096;
/// Alignment needed for PMD faults (`FAMFS_FMAP_PMD_ALIGN`, 2 MiB).
pub const PMD_ALIGN: u64 = 2 << 20;
/// Largest file size (`FAMFS_FMAP_MAX_FILE_SIZE`, the kernel's `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX.unsigned_abs();

// The errnos of [`Error::errno`], with their x86 (generic) numbers, which some architectures
// (alpha, mips, parisc, sparc) do not share: the kernel maps them by name.

/// `EINVAL`: invalid argument.
pub const EINVAL: i32 = 22;
/// `E2BIG`: argument list too long, used for an oversized blob.
pub const E2BIG: i32 = 7;
/// `ENXIO`: no such device or address.
pub const ENXIO: i32 = 6;
/// `ENODEV`: no such device.
pub const ENODEV: i32 = 19;
/// `ENOMEM`: out of memory.
pub const ENOMEM: i32 = 12;
/// `ERANGE`: result out of range, used by famfs for a map with no extents.
pub const ERANGE: i32 = 34;
/// `EPROTO`: protocol error, used for an unknown `fmap_version`.
pub const EPROTO: i32 = 71;

/// Where in a blob an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// The header.
    Header,
    /// Simple extent or interleaved extent header number `.0`.
    Extent(u32),
    /// Strip number `.1` of interleaved extent number `.0`.
    Strip(u32, u32),
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Site::Header => f.write_str("header"),
            Site::Extent(e) => write!(f, "extent {e}"),
            Site::Strip(e, s) => write!(f, "extent {e} strip {s}"),
        }
    }
}

/// Why a blob was rejected or an offset could not be resolved.
///
/// There is one variant per validation rule of `include/uapi/linux/famfs_fmap.h`, plus
/// [`Error::NoMemory`] and the resolution error [`Error::PastEof`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The blob is shorter than the header.
    Truncated {
        /// Length of the blob.
        len: usize,
    },
    /// The blob is longer than [`MAX_SIZE`].
    TooLarge {
        /// Length of the blob.
        len: usize,
    },
    /// The header's `fmap_size` differs from the length of the blob.
    SizeMismatch {
        /// Value of `fmap_size`.
        fmap_size: u32,
        /// Length of the blob.
        len: usize,
    },
    /// The header's `fmap_version` is not [`VERSION`].
    BadVersion {
        /// Value of `fmap_version`.
        version: u16,
    },
    /// The header's `file_type` is unknown.
    BadFileType {
        /// Value of `file_type`.
        file_type: u8,
    },
    /// The header's `ext_type` is unknown.
    BadExtType {
        /// Value of `ext_type`.
        ext_type: u32,
    },
    /// A reserved field is not zero.
    Reserved {
        /// Where the field is.
        site: Site,
    },
    /// The header's `file_size` is larger than [`MAX_FILE_SIZE`].
    FileTooBig {
        /// Value of `file_size`.
        file_size: u64,
    },
    /// The header's `nextents` is zero.
    NoExtents,
    /// An extent (simple, or an interleaved extent header) lies past the end of the blob.
    ExtentsPastBlob {
        /// Number of the first extent that does not fit.
        ext: u32,
    },
    /// The strips of an interleaved extent lie past the end of the blob.
    StripsPastBlob {
        /// Number of the interleaved extent.
        ext: u32,
    },
    /// The blob has bytes after its last extent.
    TrailingBytes {
        /// Number of extra bytes.
        extra: usize,
    },
    /// An interleaved extent has no strips.
    NoStrips {
        /// Number of the interleaved extent.
        ext: u32,
    },
    /// A chunk size is not a power of two or is smaller than [`ALIGN`].
    BadChunk {
        /// Number of the interleaved extent.
        ext: u32,
        /// Value of `ie_chunk_size`.
        chunk: u32,
    },
    /// An interleaved extent other than the last has an `ie_nbytes` that is not a multiple
    /// of its chunk size (only the last chunk of the map may be partial).
    PartialChunk {
        /// Number of the interleaved extent.
        ext: u32,
    },
    /// An extent, strip or interleaved extent has a zero length.
    ZeroLength {
        /// Where the length is.
        site: Site,
    },
    /// A device index is outside the device table.
    BadDevice {
        /// Where the index is.
        site: Site,
        /// The device index.
        dev: u32,
    },
    /// An offset or a length is not a multiple of [`ALIGN`].
    Unaligned {
        /// Where the offset or length is.
        site: Site,
    },
    /// An extent or strip ends past the end of its device.
    PastDevice {
        /// Where the extent or strip is.
        site: Site,
        /// The device index.
        dev: u32,
    },
    /// A sum of offsets or lengths overflows 64 bits.
    Overflow {
        /// Where the sum overflowed.
        site: Site,
    },
    /// A strip is shorter than the chunks that land on it.
    StripTooShort {
        /// Where the strip is.
        site: Site,
    },
    /// The extents cover fewer bytes than `file_size`.
    ShortCoverage {
        /// Bytes the extents cover.
        covered: u64,
        /// Value of `file_size`.
        file_size: u64,
    },
    /// The [`Storage`] could not allocate the resolved form.
    NoMemory,
    /// A resolved offset is at or past the end of the file.
    PastEof {
        /// The offset.
        pos: u64,
    },
}

/// The errno of an [`Error`], by name: the kernel maps each to its own architecture's number
/// (exhaustively, so a new one cannot slip through as another), the host uses [`Errno::number`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// `EINVAL`.
    Inval,
    /// `E2BIG`.
    TooBig,
    /// `ENXIO`.
    NxIo,
    /// `ENODEV`.
    NoDev,
    /// `ENOMEM`.
    NoMem,
    /// `ERANGE`.
    Range,
    /// `EPROTO`.
    Proto,
}

impl Errno {
    /// Returns the x86 (generic) number of this errno.
    pub const fn number(self) -> i32 {
        match self {
            Errno::Inval => EINVAL,
            Errno::TooBig => E2BIG,
            Errno::NxIo => ENXIO,
            Errno::NoDev => ENODEV,
            Errno::NoMem => ENOMEM,
            Errno::Range => ERANGE,
            Errno::Proto => EPROTO,
        }
    }
}

impl Error {
    /// Returns the positive Linux errno for this error, with x86's (generic) numbers.
    pub fn errno(&self) -> i32 {
        self.kind().number()
    }

    /// Returns the errno for this error, by name.
    pub fn kind(&self) -> Errno {
        match self {
            Error::TooLarge { .. } => Errno::TooBig,
            Error::BadVersion { .. } => Errno::Proto,
            Error::NoExtents => Errno::Range,
            Error::BadDevice { .. } => Errno::NoDev,
            Error::PastDevice { .. } | Error::PastEof { .. } => Errno::NxIo,
            Error::NoMemory => Errno::NoMem,
            Error::Truncated { .. }
            | Error::SizeMismatch { .. }
            | Error::BadFileType { .. }
            | Error::BadExtType { .. }
            | Error::Reserved { .. }
            | Error::FileTooBig { .. }
            | Error::ExtentsPastBlob { .. }
            | Error::StripsPastBlob { .. }
            | Error::TrailingBytes { .. }
            | Error::NoStrips { .. }
            | Error::BadChunk { .. }
            | Error::PartialChunk { .. }
            | Error::ZeroLength { .. }
            | Error::Unaligned { .. }
            | Error::Overflow { .. }
            | Error::StripTooShort { .. }
            | Error::ShortCoverage { .. } => Errno::Inval,
        }
    }

    /// Returns a short description of the rule that failed, without the values.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Truncated { .. } => "blob shorter than the fmap header",
            Error::TooLarge { .. } => "blob larger than FAMFS_FMAP_MAX_SIZE",
            Error::SizeMismatch { .. } => "fmap_size differs from the blob length",
            Error::BadVersion { .. } => "unknown fmap_version",
            Error::BadFileType { .. } => "unknown file_type",
            Error::BadExtType { .. } => "unknown ext_type",
            Error::Reserved { .. } => "reserved field not zero",
            Error::FileTooBig { .. } => "file_size above MAX_LFS_FILESIZE",
            Error::NoExtents => "no extents",
            Error::ExtentsPastBlob { .. } => "extents run past the blob",
            Error::StripsPastBlob { .. } => "strips run past the blob",
            Error::TrailingBytes { .. } => "bytes after the last extent",
            Error::NoStrips { .. } => "interleaved extent without strips",
            Error::BadChunk { .. } => "chunk size not a power of two of at least 4 KiB",
            Error::PartialChunk { .. } => "partial chunk before the last interleaved extent",
            Error::ZeroLength { .. } => "zero length",
            Error::BadDevice { .. } => "device index outside the device table",
            Error::Unaligned { .. } => "offset or length not 4 KiB aligned",
            Error::PastDevice { .. } => "ends past the end of its device",
            Error::Overflow { .. } => "offset or length sum overflows",
            Error::StripTooShort { .. } => "strip shorter than its chunks",
            Error::ShortCoverage { .. } => "extents do not cover file_size",
            Error::NoMemory => "out of memory",
            Error::PastEof { .. } => "offset at or past the end of the file",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.reason();
        match *self {
            Error::Truncated { len } | Error::TooLarge { len } => write!(f, "{r} ({len} bytes)"),
            Error::SizeMismatch { fmap_size, len } => {
                write!(f, "{r} ({fmap_size} != {len})")
            }
            Error::BadVersion { version } => write!(f, "{r} {version}"),
            Error::BadFileType { file_type } => write!(f, "{r} {file_type}"),
            Error::BadExtType { ext_type } => write!(f, "{r} {ext_type}"),
            Error::FileTooBig { file_size } => write!(f, "{r} ({file_size})"),
            Error::ExtentsPastBlob { ext }
            | Error::StripsPastBlob { ext }
            | Error::NoStrips { ext }
            | Error::PartialChunk { ext } => write!(f, "extent {ext}: {r}"),
            Error::BadChunk { ext, chunk } => write!(f, "extent {ext}: {r} ({chunk})"),
            Error::TrailingBytes { extra } => write!(f, "{r} ({extra})"),
            Error::Reserved { site }
            | Error::ZeroLength { site }
            | Error::Unaligned { site }
            | Error::Overflow { site }
            | Error::StripTooShort { site } => write!(f, "{site}: {r}"),
            Error::BadDevice { site, dev } | Error::PastDevice { site, dev } => {
                write!(f, "{site}: {r} (device {dev})")
            }
            Error::ShortCoverage { covered, file_size } => {
                write!(f, "{r} ({covered} < {file_size})")
            }
            Error::PastEof { pos } => write!(f, "{r} ({pos})"),
            Error::NoExtents | Error::NoMemory => f.write_str(r),
        }
    }
}

/// Memory provider for the resolved form of a map.
///
/// The kernel module implements it with `KVVec` (or `KVec`), the host crate with `Vec`:
///
/// ```text
/// impl fmap::Storage for KernelStorage {
///     type Buf<T: Copy + Default> = KVVec<T>;
///     fn alloc<T: Copy + Default>(n: usize) -> Option<KVVec<T>> {
///         KVVec::from_elem(T::default(), n, GFP_KERNEL).ok()
///     }
/// }
/// ```
pub trait Storage {
    /// An owned, fixed-length buffer of `T`.
    type Buf<T: Copy + Default>: DerefMut<Target = [T]>;

    /// Allocates a buffer of `n` elements set to `T::default()`, or returns [`None`].
    ///
    /// `n` may be zero; the buffer must then still be valid (and need not allocate).
    fn alloc<T: Copy + Default>(n: usize) -> Option<Self::Buf<T>>;
}

/// The kind of a famfs file (`enum famfs_fmap_file_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// The famfs superblock file.
    Superblock,
    /// The famfs metadata log file.
    Log,
}

impl FileType {
    /// Decodes a `file_type` byte.
    fn from_raw(v: u8) -> Option<Self> {
        match v {
            0 => Some(FileType::Regular),
            1 => Some(FileType::Superblock),
            2 => Some(FileType::Log),
            _ => None,
        }
    }
}

/// The kind of every extent of a map (`enum famfs_fmap_ext_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtType {
    /// Simple extents.
    Simple,
    /// Interleaved extents.
    Interleave,
}

/// A contiguous device range: a simple extent or a strip of an interleaved extent.
///
/// Packed in 16 bytes instead of 24: offset and length are [`ALIGN`] aligned, so their low 12
/// bits are free and hold the device index, its low 12 bits in the offset word and its high 12
/// bits in the length word. Device indices are therefore below [`MAX_DEVICE_INDEX`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// The offset, ORed with bits 0 to 11 of the device index.
    lo: u64,
    /// The length, ORed with bits 12 to 23 of the device index.
    hi: u64,
}

/// Device indices are below this: a larger index is [`Error::BadDevice`] whatever the device
/// table given to [`Fmap::parse`].
pub const MAX_DEVICE_INDEX: u32 = 1 << 24;

impl Extent {
    /// The bits below [`ALIGN`].
    const LOW: u64 = ALIGN - 1;

    /// Packs a validated range: `offset` and `len` [`ALIGN`] aligned, `dev` below
    /// [`MAX_DEVICE_INDEX`].
    fn pack(dev: u32, offset: u64, len: u64) -> Self {
        let dev = u64::from(dev);
        Extent {
            lo: offset | (dev & Self::LOW),
            hi: len | ((dev >> 12) & Self::LOW),
        }
    }

    /// Returns the device index in the device table.
    #[inline]
    pub fn dev(&self) -> u32 {
        // CAST: 24 bits.
        ((self.lo & Self::LOW) | ((self.hi & Self::LOW) << 12)) as u32
    }

    /// Returns the byte offset in the device.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.lo & !Self::LOW
    }

    /// Returns the length in bytes, never zero.
    #[inline]
    #[allow(clippy::len_without_is_empty, reason = "an extent is never empty")]
    pub fn len(&self) -> u64 {
        self.hi & !Self::LOW
    }
}

/// The resolved form of an interleaved extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interleave {
    /// Bytes of file the extent maps, a multiple of the chunk size except in the last
    /// interleaved extent (famfs sets it to the file size).
    pub nbytes: u64,
    /// Index in [`Fmap::extents`] of the first strip.
    pub first_strip: u32,
    /// Number of strips.
    pub nstrips: NonZeroU32,
    /// Base-two logarithm of the chunk size.
    pub chunk_shift: u32,
    /// Divides a chunk number by [`Interleave::nstrips`].
    pub per_stripe: Reciprocal,
}

impl Default for Interleave {
    fn default() -> Self {
        Interleave {
            nbytes: 0,
            first_strip: 0,
            nstrips: NonZeroU32::MIN,
            chunk_shift: 0,
            per_stripe: Reciprocal::new(NonZeroU64::MIN),
        }
    }
}

/// Division by a fixed divisor with a multiply and shifts instead of a divide instruction.
///
/// [`Reciprocal::quotient`] is exact for every divisor `d >= 1` and every dividend below
/// `1 << RECIPROCAL_BITS`. With `l = ceil(log2(d))`, so `2^(l-1) < d <= 2^l`, and
/// `N = RECIPROCAL_BITS`, the multiplier is `m = ceil(2^(N+l) / d)`. Write
/// `m * d = 2^(N+l) + e` with `0 <= e < d`, and `n = q * d + r` with `0 <= r < d`. Then
/// `n * m / 2^(N+l) = n / d + n * e / (d * 2^(N+l))`, and
///
/// - the second term is at least 0 and below `n / 2^(N+l) < 2^-l <= 1 / d` (as `e < d` and
///   `n < 2^N`),
/// - `n / d = q + r / d` with `r / d <= 1 - 1 / d`,
///
/// so `q <= n * m / 2^(N+l) < q + 1` and `floor(n * m / 2^(N+l)) = q`. `m <= 2^(N+1)` because
/// `d > 2^(l-1)` (and `m = 2^N` for `d = 1`), so `m` fits in 64 bits, and so does
/// `n << (64 - N)`: their 128-bit product, shifted right by 64 (taking the high word) and then
/// by `l`, is the quotient. Divisors above `2^N` exceed every dividend: their quotient is 0,
/// which `m = 0` gives. No divisor needs another path.
///
/// The dividends are below `2^52`, so `RECIPROCAL_BITS` is 52: a chunk number is a file offset
/// inside an interleaved extent (below 2^64) shifted right by the chunk size's logarithm (at
/// least 12), and a page number is a file offset (below 2^63) shifted right by 12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reciprocal {
    /// `ceil(2^(RECIPROCAL_BITS + shift) / d)`, at most `2^(RECIPROCAL_BITS + 1)`; 0 for a
    /// divisor above `2^RECIPROCAL_BITS`.
    mul: u64,
    /// `ceil(log2(d))`, at most `RECIPROCAL_BITS`.
    shift: u32,
}

/// [`Reciprocal::quotient`] is exact for dividends below `1 << RECIPROCAL_BITS`.
pub const RECIPROCAL_BITS: u32 = 52;

impl Reciprocal {
    /// Returns the reciprocal of `d`.
    ///
    /// Divides at parse time, with 64-bit operands only (no 128-bit division, which the
    /// kernel does not provide).
    pub fn new(d: NonZeroU64) -> Self {
        let shift = u64::BITS - (d.get() - 1).leading_zeros();
        if shift > RECIPROCAL_BITS {
            return Reciprocal { mul: 0, shift: 0 };
        }
        // Long division of `2^(N+shift)`: `2^shift = 1 * d + (2^shift - d)`, as
        // `d <= 2^shift < 2 * d`; then the `N` zero bits below, 12 at a time, so that the
        // partial remainder, below `d <= 2^N`, shifted stays below 2^64.
        let (mut q, mut r) = (1u64, (1u64 << shift) - d.get());
        let mut left = RECIPROCAL_BITS;
        while left > 0 {
            let bits = left.min(12);
            let cur = r << bits;
            q = (q << bits) + cur / d;
            r = cur % d;
            left -= bits;
        }
        // Cannot overflow: the quotient is at most `2^(N+1)` (see above).
        Reciprocal {
            mul: q + u64::from(r != 0),
            shift,
        }
    }

    /// Returns `n / d` for the `d` of [`Reciprocal::new`], if `n < 1 << RECIPROCAL_BITS`.
    ///
    /// Larger dividends give wrong quotients: callers must keep them in range.
    #[inline]
    pub fn quotient(self, n: u64) -> u64 {
        let p = u128::from(n << (u64::BITS - RECIPROCAL_BITS)) * u128::from(self.mul);
        // CAST: the high word of a product of two 64-bit values fits in 64 bits.
        ((p >> u64::BITS) as u64) >> self.shift
    }
}

/// A file range mapped onto one contiguous device range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Device index in the device table.
    pub dev: u32,
    /// Byte offset in the device of [`Mapping::file_offset`].
    pub dev_offset: u64,
    /// File offset the mapping starts at: the offset passed to [`Fmap::resolve`].
    pub file_offset: u64,
    /// Length in bytes, never zero.
    ///
    /// The mapping ends at the first of: the end of the extent, the end of the chunk (for an
    /// interleaved extent), or `file_size` rounded up to [`ALIGN`].
    pub len: u64,
}

/// How [`Fmap::resolve`] finds the extent holding an offset.
#[derive(Clone, Copy, Debug)]
enum Locator {
    /// All extents but the last are `1 << shift` bytes long.
    Shift(u32),
    /// All extents but the last are `.0` bytes long, a multiple of [`ALIGN`] that is not a
    /// power of two; `.1` divides by their number of pages.
    Pages(u64, Reciprocal),
    /// Binary search of the extents' file offsets, narrowed by a bucket index: bucket `j` holds
    /// the number of the extent holding file offset `j << .0`.
    Search(u32),
}

/// A validated and resolved file map.
///
/// # Invariants
///
/// - `extents` holds the simple extents, or the strips of all interleaved extents in order; each
///   is nonzero, [`ALIGN`] aligned and inside its device (at parse time).
/// - `iexts` is empty for simple maps; otherwise it holds `nextents` entries whose strips lie in
///   `extents` and are long enough for their chunks.
/// - `starts` and `buckets` are empty unless `locator` is [`Locator::Search`]; `starts` then
///   holds the file offset of each extent, increasing from zero, and `buckets` one entry per
///   bucket of the covered range, at most one per extent.
/// - The extents cover `eof` bytes at least, `file_size <= eof <= MAX_FILE_SIZE + 1`.
pub struct Fmap<S: Storage> {
    file_type: FileType,
    ext_type: ExtType,
    nextents: u32,
    file_size: u64,
    /// `file_size` rounded up to [`ALIGN`]: the end of the last mapping.
    eof: u64,
    covered: u64,
    pmd_unaligned: u32,
    max_dev: u32,
    locator: Locator,
    extents: S::Buf<Extent>,
    iexts: S::Buf<Interleave>,
    starts: S::Buf<u64>,
    buckets: S::Buf<u32>,
}

/// A bounds-checked little-endian reader over a blob.
struct Reader<'a> {
    blob: &'a [u8],
}

impl Reader<'_> {
    /// Returns the `N` bytes at `at`, or [`None`] past the end.
    fn bytes<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        let end = at.checked_add(N)?;
        self.blob.get(at..end)?.try_into().ok()
    }

    /// Reads the `u8` at `at`.
    fn u8(&self, at: usize) -> Option<u8> {
        self.blob.get(at).copied()
    }

    /// Reads the little-endian `u16` at `at`.
    fn u16(&self, at: usize) -> Option<u16> {
        self.bytes(at).map(u16::from_le_bytes)
    }

    /// Reads the little-endian `u32` at `at`.
    fn u32(&self, at: usize) -> Option<u32> {
        self.bytes(at).map(u32::from_le_bytes)
    }

    /// Reads the little-endian `u64` at `at`.
    fn u64(&self, at: usize) -> Option<u64> {
        self.bytes(at).map(u64::from_le_bytes)
    }
}

/// The validated header.
struct Header {
    file_type: FileType,
    ext_type: ExtType,
    nextents: u32,
    file_size: u64,
}

/// What the validating walk reports for each record, in blob order.
enum Record {
    /// A simple extent, or a strip of the last reported interleaved extent.
    Extent(Extent),
    /// An interleaved extent, reported before its strips.
    Interleave(Interleave),
}

/// What the validating walk learns about the whole map.
struct Summary {
    /// Simple extents plus strips.
    nrecords: usize,
    /// Bytes of file the extents cover.
    covered: u64,
    /// Extents, strips and chunk sizes not [`PMD_ALIGN`] aligned.
    pmd_unaligned: u32,
    /// Largest device index used.
    max_dev: u32,
    /// How to find the extent holding an offset.
    locator: Locator,
}

/// Returns `true` if `v` is a multiple of [`ALIGN`].
fn aligned(v: u64) -> bool {
    v % ALIGN == 0
}

/// Returns `true` if `v` is a multiple of [`PMD_ALIGN`].
fn pmd_aligned(v: u64) -> bool {
    v % PMD_ALIGN == 0
}

/// Validates the header of `blob`.
fn parse_header(blob: &[u8]) -> Result<Header, Error> {
    let len = blob.len();
    if len > MAX_SIZE {
        return Err(Error::TooLarge { len });
    }
    let r = Reader { blob };
    let trunc = Error::Truncated { len };
    let fmap_size = r.u32(HDR_FMAP_SIZE).ok_or(trunc)?;
    let file_type = r.u8(HDR_FILE_TYPE).ok_or(trunc)?;
    let reserved = r.u8(HDR_RESERVED).ok_or(trunc)?;
    let version = r.u16(HDR_VERSION).ok_or(trunc)?;
    let ext_type = r.u32(HDR_EXT_TYPE).ok_or(trunc)?;
    let nextents = r.u32(HDR_NEXTENTS).ok_or(trunc)?;
    let file_size = r.u64(HDR_FILE_SIZE).ok_or(trunc)?;
    let reserved1 = r.u64(HDR_RESERVED1).ok_or(trunc)?;
    if len < HEADER_SIZE {
        return Err(trunc);
    }
    if usize::try_from(fmap_size).ok() != Some(len) {
        return Err(Error::SizeMismatch { fmap_size, len });
    }
    if version != VERSION {
        return Err(Error::BadVersion { version });
    }
    let file_type = FileType::from_raw(file_type).ok_or(Error::BadFileType { file_type })?;
    let ext_type = match ext_type {
        0 => ExtType::Simple,
        1 => ExtType::Interleave,
        _ => return Err(Error::BadExtType { ext_type }),
    };
    if reserved != 0 || reserved1 != 0 {
        return Err(Error::Reserved { site: Site::Header });
    }
    if file_size > MAX_FILE_SIZE {
        return Err(Error::FileTooBig { file_size });
    }
    if nextents == 0 {
        return Err(Error::NoExtents);
    }
    Ok(Header {
        file_type,
        ext_type,
        nextents,
        file_size,
    })
}

/// Reads and validates the simple extent or strip at `at`, counting PMD misalignment.
fn parse_extent(
    r: &Reader<'_>,
    at: usize,
    site: Site,
    devs: &[u64],
    pmd_unaligned: &mut u32,
) -> Result<Extent, Error> {
    let past = match site {
        Site::Strip(ext, _) => Error::StripsPastBlob { ext },
        Site::Extent(ext) => Error::ExtentsPastBlob { ext },
        Site::Header => Error::ExtentsPastBlob { ext: 0 },
    };
    let field = |off: usize| at.checked_add(off).ok_or(past);
    let dev = r.u32(field(SE_DEVINDEX)?).ok_or(past)?;
    let reserved = r.u32(field(SE_RESERVED)?).ok_or(past)?;
    let offset = r.u64(field(SE_OFFSET)?).ok_or(past)?;
    let len = r.u64(field(SE_LEN)?).ok_or(past)?;
    if reserved != 0 {
        return Err(Error::Reserved { site });
    }
    if len == 0 {
        return Err(Error::ZeroLength { site });
    }
    let dev_size = usize::try_from(dev)
        .ok()
        .filter(|_| dev < MAX_DEVICE_INDEX)
        .and_then(|i| devs.get(i))
        .copied()
        .ok_or(Error::BadDevice { site, dev })?;
    if !aligned(offset) || !aligned(len) {
        return Err(Error::Unaligned { site });
    }
    let end = offset.checked_add(len).ok_or(Error::Overflow { site })?;
    if end > dev_size {
        return Err(Error::PastDevice { site, dev });
    }
    if !pmd_aligned(offset) || !pmd_aligned(len) {
        *pmd_unaligned = pmd_unaligned.saturating_add(1);
    }
    Ok(Extent::pack(dev, offset, len))
}

/// Tracks whether all extents but the last have the same length.
struct Uniform {
    /// Length of extent 0.
    first: u64,
    /// Length of the previous extent.
    prev: u64,
    /// Whether extents 0 to the previous but one all had length `first`.
    uniform: bool,
}

impl Uniform {
    /// Records the length of the next extent.
    fn push(&mut self, i: u32, len: u64) {
        if i == 0 {
            self.first = len;
        } else if self.prev != self.first {
            self.uniform = false;
        }
        self.prev = len;
    }

    /// Returns the locator for the extents pushed.
    fn locator(&self) -> Locator {
        let pages = NonZeroU64::new(self.first >> ALIGN.trailing_zeros());
        match (NonZeroU64::new(self.first), pages) {
            (Some(l), _) if self.uniform && l.is_power_of_two() => {
                Locator::Shift(l.trailing_zeros())
            }
            // Only the length of a single extent, never used then, can be unaligned.
            (_, Some(p)) if self.uniform && self.first & (ALIGN - 1) == 0 => {
                Locator::Pages(self.first, Reciprocal::new(p))
            }
            _ => Locator::Search(0),
        }
    }
}

/// Returns the bucket size shift for `nextents` extents covering `covered` bytes.
///
/// The smallest shift of at least 12 giving no more buckets than extents, so that the index
/// costs at most 4 bytes per extent and a bucket holds about one extent on average.
fn bucket_shift(covered: u64, nextents: u32) -> u32 {
    let mut shift = ALIGN.trailing_zeros();
    while shift < u64::BITS - 1 && (covered.saturating_sub(1) >> shift) >= u64::from(nextents) {
        shift += 1;
    }
    shift
}

/// Fills `buckets[j]` with the number of the extent holding file offset `j << shift`.
///
/// `starts` holds the extents' file offsets, increasing from zero.
fn fill_buckets(starts: &[u64], buckets: &mut [u32], shift: u32) {
    let mut i: usize = 0;
    for (j, b) in (0u64..).zip(buckets.iter_mut()) {
        let at = j << shift;
        while starts.get(i + 1).is_some_and(|&s| s <= at) {
            i += 1;
        }
        *b = u32::try_from(i).unwrap_or(u32::MAX);
    }
}

/// Validates the extents of `blob` and reports each one to `sink`, in blob order.
fn walk(
    blob: &[u8],
    hdr: &Header,
    devs: &[u64],
    mut sink: impl FnMut(Record),
) -> Result<Summary, Error> {
    let r = Reader { blob };
    let mut at = HEADER_SIZE;
    let mut covered: u64 = 0;
    let mut pmd_unaligned: u32 = 0;
    let mut max_dev: u32 = 0;
    let mut nrecords: usize = 0;
    let mut uniform = Uniform {
        first: 0,
        prev: 0,
        uniform: true,
    };

    if hdr.ext_type == ExtType::Simple {
        // Bound the count by the blob before touching any extent.
        let need = usize::try_from(hdr.nextents)
            .ok()
            .and_then(|n| n.checked_mul(SIMPLE_EXT_SIZE))
            .and_then(|b| b.checked_add(HEADER_SIZE));
        if need.is_none_or(|n| n > blob.len()) {
            let fit = blob.len().saturating_sub(HEADER_SIZE) / SIMPLE_EXT_SIZE;
            return Err(Error::ExtentsPastBlob {
                ext: u32::try_from(fit).unwrap_or(u32::MAX),
            });
        }
    }

    for i in 0..hdr.nextents {
        let site = Site::Extent(i);
        let len = match hdr.ext_type {
            ExtType::Simple => {
                let e = parse_extent(&r, at, site, devs, &mut pmd_unaligned)?;
                at += SIMPLE_EXT_SIZE;
                max_dev = max_dev.max(e.dev());
                nrecords += 1;
                sink(Record::Extent(e));
                e.len()
            }
            ExtType::Interleave => {
                let past = Error::ExtentsPastBlob { ext: i };
                let field = |off: usize| at.checked_add(off).ok_or(past);
                let nstrips = r.u32(field(IE_NSTRIPS)?).ok_or(past)?;
                let chunk = r.u32(field(IE_CHUNK_SIZE)?).ok_or(past)?;
                let nbytes = r.u64(field(IE_NBYTES)?).ok_or(past)?;
                let reserved = r.u64(field(IE_RESERVED)?).ok_or(past)?;
                at += IEXT_SIZE;
                if reserved != 0 {
                    return Err(Error::Reserved { site });
                }
                let nstrips = NonZeroU32::new(nstrips).ok_or(Error::NoStrips { ext: i })?;
                if !chunk.is_power_of_two() || u64::from(chunk) < ALIGN {
                    return Err(Error::BadChunk { ext: i, chunk });
                }
                let chunk_shift = chunk.trailing_zeros();
                if nbytes == 0 {
                    return Err(Error::ZeroLength { site });
                }
                // famfs sets the byte count of a striped extent to the file size: the last
                // chunk of the last extent may be partial. Anywhere else the next extent
                // would start inside a chunk.
                let tail = nbytes & (u64::from(chunk) - 1);
                if tail != 0 && i + 1 != hdr.nextents {
                    return Err(Error::PartialChunk { ext: i });
                }
                if nbytes.checked_add(u64::from(chunk) - 1).is_none() {
                    return Err(Error::Overflow { site });
                }
                let strips_end = usize::try_from(nstrips.get())
                    .ok()
                    .and_then(|n| n.checked_mul(SIMPLE_EXT_SIZE))
                    .and_then(|b| b.checked_add(at));
                if strips_end.is_none_or(|e| e > blob.len()) {
                    return Err(Error::StripsPastBlob { ext: i });
                }
                if !pmd_aligned(u64::from(chunk)) {
                    pmd_unaligned = pmd_unaligned.saturating_add(1);
                }
                sink(Record::Interleave(Interleave {
                    nbytes,
                    first_strip: u32::try_from(nrecords).map_err(|_| past)?,
                    nstrips,
                    chunk_shift,
                    per_stripe: Reciprocal::new(nstrips.into()),
                }));
                // Chunk `c` lands on strip `c % nstrips`: the first `nchunks % nstrips` strips
                // get one chunk more than the others. A partial last chunk needs only its
                // bytes rounded up to a page on the strip it lands on.
                let nchunks = (nbytes >> chunk_shift) + u64::from(tail != 0);
                let per_strip = nchunks / NonZeroU64::from(nstrips);
                let extra = nchunks % NonZeroU64::from(nstrips);
                let last_strip = nchunks.saturating_sub(1) % NonZeroU64::from(nstrips);
                let short = if tail == 0 {
                    0
                } else {
                    u64::from(chunk) - tail.next_multiple_of(ALIGN)
                };
                for k in 0..nstrips.get() {
                    let site = Site::Strip(i, k);
                    let e = parse_extent(&r, at, site, devs, &mut pmd_unaligned)?;
                    at += SIMPLE_EXT_SIZE;
                    let chunks = per_strip + u64::from(u64::from(k) < extra);
                    // Cannot overflow: `chunks << chunk_shift <= nbytes + chunk - 1`, checked
                    // above. `short < chunk <= chunks << chunk_shift` on the last strip.
                    let mut need = chunks << chunk_shift;
                    if u64::from(k) == last_strip {
                        need -= short;
                    }
                    if e.len() < need {
                        return Err(Error::StripTooShort { site });
                    }
                    max_dev = max_dev.max(e.dev());
                    nrecords += 1;
                    sink(Record::Extent(e));
                }
                nbytes
            }
        };
        covered = covered.checked_add(len).ok_or(Error::Overflow { site })?;
        uniform.push(i, len);
    }

    if at != blob.len() {
        return Err(Error::TrailingBytes {
            extra: blob.len().saturating_sub(at),
        });
    }
    if covered < hdr.file_size {
        return Err(Error::ShortCoverage {
            covered,
            file_size: hdr.file_size,
        });
    }
    Ok(Summary {
        nrecords,
        covered,
        pmd_unaligned,
        max_dev,
        locator: uniform.locator(),
    })
}

impl<S: Storage> Fmap<S> {
    /// Validates `blob` against the device table `devs` and builds the resolved form.
    ///
    /// `devs[i]` is the size in bytes of device `i`. Every rule of
    /// `include/uapi/linux/famfs_fmap.h` is checked; the first broken one is returned. Memory
    /// comes from `S`: a buffer of [`Extent`] for the simple extents or strips, one of
    /// [`Interleave`] for the interleaved extents, and, unless the extents (all but the last)
    /// share one length, the extents' file offsets and a bucket index (12 bytes per extent at
    /// most).
    pub fn parse(blob: &[u8], devs: &[u64]) -> Result<Self, Error> {
        let hdr = parse_header(blob)?;
        // First pass: validate everything and size the buffers.
        let sum = walk(blob, &hdr, devs, |_| {})?;
        let nexts = usize::try_from(hdr.nextents).map_err(|_| Error::NoMemory)?;
        let niexts = match hdr.ext_type {
            ExtType::Simple => 0,
            ExtType::Interleave => nexts,
        };
        let (nstarts, locator, nbuckets) = match sum.locator {
            Locator::Search(_) => {
                let shift = bucket_shift(sum.covered, hdr.nextents);
                // At most `nextents` buckets by the choice of `shift`.
                let n = usize::try_from(((sum.covered - 1) >> shift) + 1).unwrap_or(nexts);
                (nexts, Locator::Search(shift), n.min(nexts))
            }
            l @ (Locator::Shift(_) | Locator::Pages(..)) => (0, l, 0),
        };
        let mut extents = S::alloc::<Extent>(sum.nrecords).ok_or(Error::NoMemory)?;
        let mut iexts = S::alloc::<Interleave>(niexts).ok_or(Error::NoMemory)?;
        let mut starts = S::alloc::<u64>(nstarts).ok_or(Error::NoMemory)?;
        let mut buckets = S::alloc::<u32>(nbuckets).ok_or(Error::NoMemory)?;

        // Second pass: fill. The walk is deterministic, so it succeeds again and reports the
        // same number of records the buffers were sized for.
        let (mut ne, mut ni, mut ns) = (0usize, 0usize, 0usize);
        let mut start: u64 = 0;
        let mut push_start = |starts: &mut [u64], len: u64| {
            if let Some(s) = starts.get_mut(ns) {
                *s = start;
                ns += 1;
            }
            start = start.saturating_add(len);
        };
        walk(blob, &hdr, devs, |rec| match rec {
            Record::Extent(e) => {
                if let Some(slot) = extents.get_mut(ne) {
                    *slot = e;
                    ne += 1;
                }
                if hdr.ext_type == ExtType::Simple {
                    push_start(&mut starts, e.len());
                }
            }
            Record::Interleave(ie) => {
                if let Some(slot) = iexts.get_mut(ni) {
                    *slot = ie;
                    ni += 1;
                }
                push_start(&mut starts, ie.nbytes);
            }
        })?;

        if let Locator::Search(shift) = locator {
            fill_buckets(&starts, &mut buckets, shift);
        }

        Ok(Fmap {
            file_type: hdr.file_type,
            ext_type: hdr.ext_type,
            nextents: hdr.nextents,
            file_size: hdr.file_size,
            // Cannot overflow: `file_size <= MAX_FILE_SIZE`.
            eof: hdr.file_size.next_multiple_of(ALIGN),
            covered: sum.covered,
            pmd_unaligned: sum.pmd_unaligned,
            max_dev: sum.max_dev,
            locator,
            extents,
            iexts,
            starts,
            buckets,
        })
    }

    /// Returns the kind of file.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// Returns the kind of every extent.
    pub fn ext_type(&self) -> ExtType {
        self.ext_type
    }

    /// Returns the size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Returns the number of extents (simple or interleaved) in the blob.
    pub fn nextents(&self) -> u32 {
        self.nextents
    }

    /// Returns the number of bytes of file the extents cover, at least [`Fmap::file_size`].
    pub fn covered(&self) -> u64 {
        self.covered
    }

    /// Returns the simple extents, or the strips of all interleaved extents in order.
    ///
    /// Each names a device index checked against the table given to [`Fmap::parse`].
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// Returns the interleaved extents; empty for a map of simple extents.
    pub fn interleaves(&self) -> &[Interleave] {
        &self.iexts
    }

    /// Returns the largest device index the map uses.
    pub fn max_device(&self) -> u32 {
        self.max_dev
    }

    /// Returns the number of extents, strips and chunk sizes not 2 MiB aligned.
    pub fn pmd_unaligned(&self) -> u32 {
        self.pmd_unaligned
    }

    /// Returns `true` if every offset, length and chunk size of the map is 2 MiB aligned.
    ///
    /// Only such maps can be mapped with PMD (2 MiB) page table entries.
    pub fn pmd_capable(&self) -> bool {
        self.pmd_unaligned == 0
    }

    /// Returns the number of the extent holding `pos` and the offset of `pos` inside it.
    #[inline]
    fn locate(&self, pos: u64) -> Option<(usize, u64)> {
        let last = u64::from(self.nextents).checked_sub(1)?;
        let (i, start) = match self.locator {
            Locator::Shift(shift) => {
                let i = (pos >> shift).min(last);
                (i, i << shift)
            }
            Locator::Pages(len, per_extent) => {
                // Exact: `pos < file_size < 2^63`, so the page number is below
                // `1 << RECIPROCAL_BITS`. `i * len` is the start of extent `i <= last`.
                let i = per_extent.quotient(pos >> ALIGN.trailing_zeros()).min(last);
                (i, i * len)
            }
            Locator::Search(shift) => {
                // Extents `lo` to `hi` hold the bucket of `pos`.
                let j = usize::try_from(pos >> shift).ok()?;
                let lo = usize::try_from(*self.buckets.get(j)?).ok()?;
                let hi = match self.buckets.get(j + 1) {
                    Some(&h) => usize::try_from(h).ok()?,
                    None => self.starts.len().checked_sub(1)?,
                };
                let run = self.starts.get(lo..=hi)?;
                let i = lo + run.partition_point(|&s| s <= pos).checked_sub(1)?;
                return Some((i, pos - self.starts.get(i)?));
            }
        };
        // `start <= pos`: extent `i` starts at or before `pos`.
        Some((usize::try_from(i).ok()?, pos - start))
    }

    /// Resolves file offset `pos` to the device range mapping it.
    ///
    /// The returned [`Mapping`] starts at `pos` and is as long as possible without crossing the
    /// end of an extent, the end of a chunk or `file_size` rounded up to [`ALIGN`]. Its length is
    /// never zero and it lies inside its device. Offsets at or past `file_size` return
    /// [`Error::PastEof`]. Runs in constant time, or logarithmic in the number of extents in a
    /// bucket of the index when the extents have different lengths. Divides nothing: extents
    /// and chunks are found with shifts, the index and [`Reciprocal`].
    pub fn resolve(&self, pos: u64) -> Result<Mapping, Error> {
        let past = Error::PastEof { pos };
        if pos >= self.file_size {
            return Err(past);
        }
        let (i, off) = self.locate(pos).ok_or(past)?;
        let (e, dev_offset, edge) = match self.ext_type {
            ExtType::Simple => {
                let e = self.extents.get(i).ok_or(past)?;
                (e, e.offset() + off, e.len())
            }
            ExtType::Interleave => {
                let ie = self.iexts.get(i).ok_or(past)?;
                if off >= ie.nbytes {
                    return Err(past);
                }
                let shift = ie.chunk_shift;
                let chunk = off >> shift;
                let in_chunk = off & ((1u64 << shift) - 1);
                // Exact: `chunk < 2^(64 - 12) = 1 << RECIPROCAL_BITS` as `chunk_shift >= 12`.
                let stripe = ie.per_stripe.quotient(chunk);
                let k = chunk - stripe * u64::from(ie.nstrips.get());
                let idx = usize::try_from(u64::from(ie.first_strip) + k).map_err(|_| past)?;
                let e = self.extents.get(idx).ok_or(past)?;
                // Cannot overflow: parse checked the strip holds this chunk inside its device.
                (
                    e,
                    e.offset() + (stripe << shift) + in_chunk,
                    (chunk + 1) << shift,
                )
            }
        };
        // Only the last extent of a uniform map may be shorter than the others: `off` is then
        // still inside it because the extents cover `file_size`.
        if off >= edge {
            return Err(past);
        }
        // `pos < file_size <= eof`: the length is not zero.
        let len = (edge - off).min(self.eof - pos);
        Ok(Mapping {
            dev: e.dev(),
            dev_offset,
            file_offset: pos,
            len,
        })
    }
}
