// SPDX-License-Identifier: GPL-2.0

//! Fuzzes [`Fmap::parse`] and [`Fmap::resolve`] with arbitrary blobs and device tables.
//!
//! Input: one byte whose low two bits give the number of devices minus one, that many
//! little-endian `u64` device sizes, then the blob. See [`famfs_fmap::split_fuzz_input`].

#![no_main]

use famfs_fmap::{fmap::Error, fmap_cases::check_mapping, split_fuzz_input, Fmap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((devs, blob)) = split_fuzz_input(data) else {
        return;
    };
    let Ok(f) = Fmap::parse(blob, &devs) else {
        return;
    };
    assert!(f.covered() >= f.file_size());
    assert!(usize::try_from(f.max_device()).unwrap() < devs.len());
    let size = f.file_size();
    let probes = (0..=16u64).map(|k| size / 16 * k).chain([
        size.saturating_sub(1),
        size,
        size.saturating_add(4096),
        u64::MAX,
    ]);
    for pos in probes {
        match f.resolve(pos) {
            Ok(m) => {
                assert!(pos < size);
                if let Err(e) = check_mapping(&f, &devs, pos, &m) {
                    panic!("{e}: {m:?}");
                }
            }
            Err(e) => {
                assert!(pos >= size, "offset {pos} inside the file: {e}");
                assert_eq!(e, Error::PastEof { pos });
            }
        }
    }
});
