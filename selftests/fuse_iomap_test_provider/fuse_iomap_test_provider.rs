// SPDX-License-Identifier: GPL-2.0

//! Identity iomap provider for the fuse iomap-DAX selftests.
//!
//! Registers the provider `identity`. A file's map is 16 bytes in native byte order:
//!
//! ```text
//! struct identity_map {
//!         __u32 device;    /* index in the connection's device table */
//!         __u32 base_mib;  /* where the file starts on the device, in MiB */
//!         __u64 size;      /* file size: page aligned, base + size within the device */
//! };
//! ```
//!
//! Byte `X` of the file is byte `base + X` of the device. Accesses at or past `size` fail with
//! `ENXIO`.
//! Parsing fails with `EINVAL` for a malformed map and `ENODEV` for a missing device; mapping a
//! device that reported a memory failure fails with `EHWPOISON`.
//!
//! A second provider, `identity-drop`, maps the same way. Writing to
//! `/sys/kernel/debug/fuse_iomap_test_provider/drop` drops its registration while the module
//! stays loaded, so a test can check that connections which picked it keep working.

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
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::Mutex,
    uaccess::UserSliceReader, //
};

module! {
    type: IdentityModule,
    name: "fuse_iomap_test_provider",
    authors: ["famfs-iomap developers"],
    description: "Identity iomap provider for the fuse iomap-DAX selftests",
    license: "GPL",
    alias: ["fuse-iomap-identity"],
}

/// The size of the map blob.
const MAP_LEN: usize = 16;

/// [`PAGE_SIZE`] as a file offset.
// CAST: `PAGE_SIZE` fits in a `u64`.
const PAGE: u64 = PAGE_SIZE as u64;

/// A parsed identity map.
#[derive(Debug, PartialEq, Eq)]
struct IdentityMap {
    /// Index of the device in the connection's table.
    device: usize,
    /// Device offset of the start of the file.
    base: u64,
    /// Size of the file in bytes.
    size: u64,
}

impl IdentityMap {
    /// Decodes a map blob without looking at the device table.
    fn decode(blob: &[u8]) -> Result<Self> {
        let blob: &[u8; MAP_LEN] = blob.try_into().map_err(|_| EINVAL)?;
        let [d0, d1, d2, d3, b0, b1, b2, b3, s @ ..] = *blob;
        let base = u64::from(u32::from_ne_bytes([b0, b1, b2, b3])) << 20;
        let size = u64::from_ne_bytes(s);
        if size % PAGE != 0 || base.checked_add(size).is_none() {
            return Err(EINVAL);
        }
        Ok(Self {
            device: usize::try_from(u32::from_ne_bytes([d0, d1, d2, d3]))?,
            base,
            size,
        })
    }

    /// Returns the `(start, length)` of the extent mapping the `len` bytes at `pos`.
    ///
    /// The extent starts at the page holding `pos` and ends at the page boundary after the
    /// request, or at the end of the file, whichever comes first.
    fn extent(&self, pos: u64, len: u64) -> Result<(u64, u64)> {
        if pos >= self.size || len == 0 {
            return Err(ENXIO);
        }
        let start = pos - pos % PAGE;
        let end = pos
            .checked_add(len)
            .and_then(|end| end.checked_next_multiple_of(PAGE))
            .map_or(self.size, |end| end.min(self.size));
        Ok((start, end - start))
    }
}

/// The `identity` provider.
struct Identity;

#[vtable]
impl Provider for Identity {
    const NAME: &'static CStr = c"identity";
    type Map = IdentityMap;

    fn parse(table: &DeviceTable, blob: &[u8]) -> Result<(IdentityMap, u64)> {
        let map = IdentityMap::decode(blob)?;
        // `decode` checked that `base + size` does not overflow.
        if map.base + map.size > table.size(map.device).ok_or(ENODEV)? {
            return Err(EINVAL);
        }
        let size = map.size;
        Ok((map, size))
    }

    fn begin(
        map: &IdentityMap,
        table: &DeviceTable,
        pos: u64,
        len: u64,
        _flags: Flags,
        iomap: &mut IoMap,
    ) -> Result {
        let (start, length) = map.extent(pos, len)?;
        table.map_dax(iomap, map.device, map.base + start, start, length)
    }

    fn ranges(map: &IdentityMap, f: &mut dyn FnMut(usize, u64, u64) -> Result) -> Result {
        if map.size == 0 {
            return Ok(());
        }
        f(map.device, map.base, map.size)
    }
}

/// The `identity-drop` provider: [`Identity`] under another name.
struct IdentityDrop;

#[vtable]
impl Provider for IdentityDrop {
    const NAME: &'static CStr = c"identity-drop";
    type Map = IdentityMap;

    fn parse(table: &DeviceTable, blob: &[u8]) -> Result<(IdentityMap, u64)> {
        Identity::parse(table, blob)
    }

    fn begin(
        map: &IdentityMap,
        table: &DeviceTable,
        pos: u64,
        len: u64,
        flags: Flags,
        iomap: &mut IoMap,
    ) -> Result {
        Identity::begin(map, table, pos, len, flags, iomap)
    }

    fn ranges(map: &IdentityMap, f: &mut dyn FnMut(usize, u64, u64) -> Result) -> Result {
        Identity::ranges(map, f)
    }
}

/// The registration of `identity-drop`, until a write to the `drop` file.
type DropSlot = Mutex<Option<Pin<KBox<Registration<IdentityDrop>>>>>;

/// Drops the `identity-drop` registration, whatever was written.
fn drop_registration(slot: &DropSlot, _data: &mut UserSliceReader) -> Result {
    drop(slot.lock().take());
    Ok(())
}

#[pin_data]
struct IdentityModule {
    #[pin]
    provider: Registration<Identity>,
    _debugfs: Dir,
    #[pin]
    _drop: File<DropSlot>,
}

impl kernel::InPlaceModule for IdentityModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let debugfs = Dir::new(c"fuse_iomap_test_provider");
        try_pin_init!(Self {
            provider <- Registration::register(),
            _drop <- debugfs.write_callback_file(
                c"drop",
                new_mutex!(Some(KBox::pin_init(
                    Registration::<IdentityDrop>::register(),
                    GFP_KERNEL
                )?)),
                &drop_registration,
            ),
            _debugfs: debugfs,
        })
    }
}

#[kunit_tests(fuse_iomap_test_provider)]
mod tests {
    use super::*;

    fn blob(device: u32, reserved: u32, size: u64) -> [u8; MAP_LEN] {
        let mut b = [0u8; MAP_LEN];
        b[..4].copy_from_slice(&device.to_ne_bytes());
        b[4..8].copy_from_slice(&reserved.to_ne_bytes());
        b[8..].copy_from_slice(&size.to_ne_bytes());
        b
    }

    #[test]
    fn decode() -> Result {
        let map = IdentityMap::decode(&blob(1, 3, 4 * PAGE))?;
        assert_eq!(
            map,
            IdentityMap {
                device: 1,
                base: 3 << 20,
                size: 4 * PAGE
            }
        );
        assert_eq!(
            IdentityMap::decode(&blob(0, 1, u64::MAX - PAGE + 1)),
            Err(EINVAL)
        );
        assert_eq!(IdentityMap::decode(&blob(0, 0, PAGE + 1)), Err(EINVAL));
        assert_eq!(IdentityMap::decode(&blob(0, 0, 0)[..15]), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn extent() -> Result {
        let map = IdentityMap {
            device: 0,
            base: 0,
            size: 4 * PAGE,
        };
        assert_eq!(map.extent(0, PAGE)?, (0, PAGE));
        assert_eq!(map.extent(PAGE + 1, 1)?, (PAGE, PAGE));
        assert_eq!(map.extent(PAGE, 100 * PAGE)?, (PAGE, 3 * PAGE));
        assert_eq!(map.extent(PAGE, u64::MAX)?, (PAGE, 3 * PAGE));
        assert_eq!(map.extent(4 * PAGE, 1), Err(ENXIO));
        assert_eq!(map.extent(0, 0), Err(ENXIO));
        Ok(())
    }
}
