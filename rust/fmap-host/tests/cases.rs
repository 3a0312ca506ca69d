// SPDX-License-Identifier: GPL-2.0

//! Runs the shared validation cases of `rust/fmap_cases.rs`, one test per validation rule.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a test failure"
)]

use famfs_fmap::{
    fmap::{Error, Fmap, Storage},
    fmap_cases::{check, check_reciprocals, Expect, Writer, CASES, EXT_SIMPLE, REG},
    VecStorage,
};

/// Number of [`Error`] variants.
const NRULES: usize = 24;

/// Returns the rule number of `e`; the exhaustive match makes a new variant fail to build here.
fn rule(e: &Error) -> usize {
    match e {
        Error::Truncated { .. } => 0,
        Error::TooLarge { .. } => 1,
        Error::SizeMismatch { .. } => 2,
        Error::BadVersion { .. } => 3,
        Error::BadFileType { .. } => 4,
        Error::BadExtType { .. } => 5,
        Error::Reserved { .. } => 6,
        Error::FileTooBig { .. } => 7,
        Error::NoExtents => 8,
        Error::ExtentsPastBlob { .. } => 9,
        Error::StripsPastBlob { .. } => 10,
        Error::TrailingBytes { .. } => 11,
        Error::NoStrips { .. } => 12,
        Error::BadChunk { .. } => 13,
        Error::PartialChunk { .. } => 14,
        Error::ZeroLength { .. } => 15,
        Error::BadDevice { .. } => 16,
        Error::Unaligned { .. } => 17,
        Error::PastDevice { .. } => 18,
        Error::Overflow { .. } => 19,
        Error::StripTooShort { .. } => 20,
        Error::ShortCoverage { .. } => 21,
        Error::NoMemory => 22,
        Error::PastEof { .. } => 23,
    }
}

/// Runs every case expecting an error of the same rule as `sample`; there must be one at least.
fn run_rule(sample: Error) {
    let mut n = 0;
    for case in CASES {
        if let Expect::Err(e) = case.expect {
            if rule(&e) == rule(&sample) {
                n += 1;
                assert_eq!(check::<VecStorage>(case), Ok(()), "case {:?}", case.name);
            }
        }
    }
    assert!(n > 0, "no case for rule {sample:?}");
}

macro_rules! rule_tests {
    ($($name:ident: $sample:expr, $errno:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_eq!($sample.errno(), $errno);
                run_rule($sample);
            }
        )*

        #[test]
        fn every_parse_rule_has_a_test() {
            let mut seen = [false; NRULES];
            $(seen[rule(&$sample)] = true;)*
            seen[rule(&Error::NoMemory)] = true;
            seen[rule(&Error::PastEof { pos: 0 })] = true;
            assert_eq!(seen, [true; NRULES]);
        }
    };
}

rule_tests! {
    truncated: Error::Truncated { len: 0 }, 22;
    too_large: Error::TooLarge { len: 0 }, 7;
    size_mismatch: Error::SizeMismatch { fmap_size: 0, len: 0 }, 22;
    bad_version: Error::BadVersion { version: 0 }, 71;
    bad_file_type: Error::BadFileType { file_type: 0 }, 22;
    bad_ext_type: Error::BadExtType { ext_type: 0 }, 22;
    reserved: Error::Reserved { site: famfs_fmap::fmap::Site::Header }, 22;
    file_too_big: Error::FileTooBig { file_size: 0 }, 22;
    no_extents: Error::NoExtents, 34;
    extents_past_blob: Error::ExtentsPastBlob { ext: 0 }, 22;
    strips_past_blob: Error::StripsPastBlob { ext: 0 }, 22;
    trailing_bytes: Error::TrailingBytes { extra: 0 }, 22;
    no_strips: Error::NoStrips { ext: 0 }, 22;
    bad_chunk: Error::BadChunk { ext: 0, chunk: 0 }, 22;
    partial_chunk: Error::PartialChunk { ext: 0 }, 22;
    zero_length: Error::ZeroLength { site: famfs_fmap::fmap::Site::Header }, 22;
    bad_device: Error::BadDevice { site: famfs_fmap::fmap::Site::Header, dev: 0 }, 19;
    unaligned: Error::Unaligned { site: famfs_fmap::fmap::Site::Header }, 22;
    past_device: Error::PastDevice { site: famfs_fmap::fmap::Site::Header, dev: 0 }, 6;
    overflow: Error::Overflow { site: famfs_fmap::fmap::Site::Header }, 22;
    strip_too_short: Error::StripTooShort { site: famfs_fmap::fmap::Site::Header }, 22;
    short_coverage: Error::ShortCoverage { covered: 0, file_size: 0 }, 22;
}

#[test]
fn valid_maps_resolve_as_expected() {
    let mut n = 0;
    for case in CASES {
        if let Expect::Ok { .. } = case.expect {
            n += 1;
            assert_eq!(check::<VecStorage>(case), Ok(()), "case {:?}", case.name);
        }
    }
    assert!(n >= 5);
}

#[test]
fn past_eof_is_enxio() {
    assert_eq!(Error::PastEof { pos: 0 }.errno(), 6);
    // Probes of the valid cases resolve past the end of the file.
    let probes = CASES.iter().filter_map(|c| match c.expect {
        Expect::Ok { probes, .. } => Some(probes),
        Expect::Err(_) => None,
    });
    assert!(probes
        .flatten()
        .any(|p| matches!(p.expect, Err(Error::PastEof { .. }))));
}

/// A storage that cannot allocate more than `LIMIT` elements per buffer.
struct Tight<const LIMIT: usize>;

impl<const LIMIT: usize> Storage for Tight<LIMIT> {
    type Buf<T: Copy + Default> = Vec<T>;

    fn alloc<T: Copy + Default>(n: usize) -> Option<Vec<T>> {
        (n <= LIMIT).then(|| vec![T::default(); n])
    }
}

#[test]
fn allocation_failure_is_enomem() {
    let mut buf = [0u8; 128];
    let mut w = Writer::new(&mut buf);
    w.header(REG, EXT_SIMPLE, 2, 8192)
        .simple(0, 0, 4096)
        .simple(0, 4096, 4096);
    let len = w.finish().unwrap();
    let blob = &buf[..len];
    let devs = [1 << 20];
    let e = Fmap::<Tight<1>>::parse(blob, &devs).err().unwrap();
    assert_eq!(e, Error::NoMemory);
    assert_eq!(e.errno(), 12);
    assert!(Fmap::<Tight<2>>::parse(blob, &devs).is_ok());
}

#[test]
fn errors_name_their_cause() {
    for case in CASES {
        if let Expect::Err(e) = case.expect {
            let text = e.to_string();
            assert!(text.contains(e.reason()), "{text:?}");
            assert!(!e.reason().is_empty() && e.errno() > 0);
        }
    }
    let e = Error::PastDevice {
        site: famfs_fmap::fmap::Site::Strip(3, 1),
        dev: 2,
    };
    assert_eq!(
        e.to_string(),
        "extent 3 strip 1: ends past the end of its device (device 2)"
    );
}

#[test]
fn accessors_describe_the_map() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    w.header(1, 1, 1, 1 << 20)
        .iext(2, 1 << 21, 4 << 20)
        .simple(3, 0, 2 << 20)
        .simple(1, 2 << 20, 2 << 20);
    let len = w.finish().unwrap();
    let f = famfs_fmap::Fmap::parse(&buf[..len], &[0, 8 << 20, 0, 8 << 20]).unwrap();
    assert_eq!(f.file_type(), famfs_fmap::fmap::FileType::Superblock);
    assert_eq!(f.ext_type(), famfs_fmap::fmap::ExtType::Interleave);
    assert_eq!(f.file_size(), 1 << 20);
    assert_eq!(f.covered(), 4 << 20);
    assert_eq!(f.nextents(), 1);
    assert_eq!(f.max_device(), 3);
    assert_eq!(f.extents().len(), 2);
    assert_eq!(f.interleaves().len(), 1);
    assert_eq!(f.interleaves()[0].chunk_shift, 21);
    assert!(f.pmd_capable());
}

#[test]
fn reciprocals_divide_exactly() {
    assert_eq!(check_reciprocals(), Ok(()));
}

/// Extents pack the device index beside the offset and length: every index below
/// `MAX_DEVICE_INDEX` comes back intact, a larger one is refused even when the table has it.
#[test]
fn device_index_limit_of_packed_extents() {
    use famfs_fmap::fmap::{Site, MAX_DEVICE_INDEX};

    let top = MAX_DEVICE_INDEX as usize;
    // A table one larger than the limit: 16M devices of 1 MiB, the last one larger.
    let mut devs = vec![1u64 << 20; top + 1];
    devs[top] = u64::MAX - 4095;
    let parse = |dev: u32, offset: u64, len: u64| {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.header(REG, EXT_SIMPLE, 1, len).simple(dev, offset, len);
        let n = w.finish().unwrap();
        Fmap::<VecStorage>::parse(&buf[..n], &devs)
    };
    for dev in [0, 1, 0xfff, 0x1000, 0xabc123, MAX_DEVICE_INDEX - 1] {
        let f = parse(dev, (1 << 20) - 4096, 4096).unwrap();
        let e = f.extents()[0];
        assert_eq!(
            (e.dev(), e.offset(), e.len()),
            (dev, (1 << 20) - 4096, 4096)
        );
        assert_eq!(f.max_device(), dev);
    }
    assert_eq!(
        parse(MAX_DEVICE_INDEX, u64::MAX - 8191, 4096).err(),
        Some(Error::BadDevice {
            site: Site::Extent(0),
            dev: MAX_DEVICE_INDEX
        })
    );
}

/// The memory per extent that Documentation/fmap.rst gives.
#[test]
fn resolved_form_sizes() {
    use famfs_fmap::fmap::{Extent, Interleave};

    assert_eq!(core::mem::size_of::<Extent>(), 16);
    assert_eq!(core::mem::size_of::<Interleave>(), 40);
}
