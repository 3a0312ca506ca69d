// SPDX-License-Identifier: GPL-2.0
//! The famfs superblock: encoding, decoding and validation.

use crate::error::{Error, Result};
use crate::layout::*;
use uuid::Uuid;

/// The daxdev record of the superblock: the primary device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaxDev {
    /// Device size in bytes.
    pub size: u64,
    /// Device uuid.
    pub uuid: Uuid,
    /// Device name (e.g. `/dev/dax0.0`), at most 64 bytes (famfs stores it with
    /// `strncpy`, so a 64-byte name has no NUL).
    pub name: String,
}

/// A decoded superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Superblock version ([`SB_VERSION`]).
    pub version: u64,
    /// Byte offset of the log on the device.
    pub log_offset: u64,
    /// Length of the log in bytes.
    pub log_len: u64,
    /// Allocation unit in bytes.
    pub alloc_unit: u64,
    /// On-media format major version.
    pub omf_ver_major: u32,
    /// On-media format minor version.
    pub omf_ver_minor: u32,
    /// File-system uuid.
    pub fs_uuid: Uuid,
    /// Device uuid.
    pub dev_uuid: Uuid,
    /// Uuid of the system that created the file system.
    pub system_uuid: Uuid,
    /// Flags (none defined).
    pub flags: u32,
    /// The primary device.
    pub daxdev: DaxDev,
}

impl Superblock {
    /// A new superblock for a device of `dev_size` bytes with a log of `log_len` bytes.
    /// The device uuid is random and the system uuid nil; [`crate::fs::MkfsOptions`]
    /// sets both.
    pub fn new(dev_size: u64, log_len: u64, dev_name: &str) -> Result<Self> {
        check_log_len(log_len)?;
        let min = LOG_OFFSET + log_len + ALLOC_UNIT;
        if dev_size < min {
            return Err(Error::Invalid(format!(
                "device too small: {dev_size} bytes, need at least {min} (superblock, log and one allocation unit)"
            )));
        }
        let dev_uuid = Uuid::new_v4();
        let mut name = dev_name.to_string();
        while name.len() > DAXDEV_NAME_LEN {
            // Keep the tail of long names (the distinguishing part of a path).
            name.remove(0);
        }
        Ok(Superblock {
            version: SB_VERSION,
            log_offset: LOG_OFFSET,
            log_len,
            alloc_unit: ALLOC_UNIT,
            omf_ver_major: OMF_VER_MAJOR,
            omf_ver_minor: OMF_VER_MINOR,
            fs_uuid: Uuid::new_v4(),
            dev_uuid,
            system_uuid: Uuid::nil(),
            flags: 0,
            daxdev: DaxDev {
                size: dev_size,
                uuid: dev_uuid,
                name,
            },
        })
    }

    /// Encode into the on-media bytes (with the crc computed).
    pub fn encode(&self) -> [u8; SB_SIZE] {
        let mut b = [0u8; SB_SIZE];
        put_u64(&mut b, SB_MAGIC_OFF, SB_MAGIC);
        put_u64(&mut b, SB_VERSION_OFF, self.version);
        put_u64(&mut b, SB_LOG_OFFSET, self.log_offset);
        put_u64(&mut b, SB_LOG_LEN, self.log_len);
        put_u64(&mut b, SB_ALLOC_UNIT, self.alloc_unit);
        put_u32(&mut b, SB_OMF_MAJOR, self.omf_ver_major);
        put_u32(&mut b, SB_OMF_MINOR, self.omf_ver_minor);
        b[SB_FS_UUID..SB_FS_UUID + 16].copy_from_slice(self.fs_uuid.as_bytes());
        b[SB_DEV_UUID..SB_DEV_UUID + 16].copy_from_slice(self.dev_uuid.as_bytes());
        b[SB_SYS_UUID..SB_SYS_UUID + 16].copy_from_slice(self.system_uuid.as_bytes());
        let crc = checksum(&[&b[..SB_CRC]]);
        put_u64(&mut b, SB_CRC, crc);
        put_u32(&mut b, SB_FLAGS, self.flags);
        put_u64(&mut b, SB_DAXDEV_SIZE, self.daxdev.size);
        b[SB_DAXDEV_UUID..SB_DAXDEV_UUID + 16].copy_from_slice(self.daxdev.uuid.as_bytes());
        let name = self.daxdev.name.as_bytes();
        let n = name.len().min(DAXDEV_NAME_LEN);
        b[SB_DAXDEV_NAME..SB_DAXDEV_NAME + n].copy_from_slice(&name[..n]);
        b
    }

    /// Decode and validate a superblock from the first bytes of the device.
    ///
    /// Checks the magic, the crc, the versions, the log geometry and the device size
    /// against `dev_size` (the actual size of the device when known, 0 otherwise).
    pub fn decode(b: &[u8], dev_size: u64) -> Result<Self> {
        if b.len() < SB_SIZE {
            return Err(Error::Superblock(format!(
                "device too small to hold a superblock ({} bytes)",
                b.len()
            )));
        }
        let magic = get_u64(b, SB_MAGIC_OFF);
        if magic != SB_MAGIC {
            return Err(Error::Superblock(format!(
                "bad magic {magic:#x} (expected {SB_MAGIC:#x}): not a famfs file system"
            )));
        }
        let stored = get_u64(b, SB_CRC);
        let crc = checksum(&[&b[..SB_CRC]]);
        if stored != crc {
            return Err(Error::Superblock(format!(
                "crc mismatch (stored {stored:#x}, computed {crc:#x})"
            )));
        }
        let uuid_at = |off: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[off..off + 16]);
            Uuid::from_bytes(a)
        };
        let name_bytes = &b[SB_DAXDEV_NAME..SB_DAXDEV_NAME + DAXDEV_NAME_LEN];
        // strncpy semantics: a name of exactly 64 bytes has no NUL.
        let name_len = name_bytes
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(DAXDEV_NAME_LEN);
        let sb = Superblock {
            version: get_u64(b, SB_VERSION_OFF),
            log_offset: get_u64(b, SB_LOG_OFFSET),
            log_len: get_u64(b, SB_LOG_LEN),
            alloc_unit: get_u64(b, SB_ALLOC_UNIT),
            omf_ver_major: get_u32(b, SB_OMF_MAJOR),
            omf_ver_minor: get_u32(b, SB_OMF_MINOR),
            fs_uuid: uuid_at(SB_FS_UUID),
            dev_uuid: uuid_at(SB_DEV_UUID),
            system_uuid: uuid_at(SB_SYS_UUID),
            flags: get_u32(b, SB_FLAGS),
            daxdev: DaxDev {
                size: get_u64(b, SB_DAXDEV_SIZE),
                uuid: uuid_at(SB_DAXDEV_UUID),
                name: String::from_utf8_lossy(&name_bytes[..name_len]).into_owned(),
            },
        };
        sb.validate(dev_size)?;
        Ok(sb)
    }

    fn validate(&self, dev_size: u64) -> Result<()> {
        let bad = |m: String| Err(Error::Superblock(m));
        if self.version != SB_VERSION {
            return bad(format!(
                "unsupported version {} (expected {SB_VERSION})",
                self.version
            ));
        }
        if self.omf_ver_major != OMF_VER_MAJOR {
            return bad(format!(
                "unsupported on-media format {}.{} (expected {OMF_VER_MAJOR}.x)",
                self.omf_ver_major, self.omf_ver_minor
            ));
        }
        if self.alloc_unit != ALLOC_UNIT && self.alloc_unit != ALLOC_UNIT_4K {
            return bad(format!(
                "unsupported allocation unit {} (expected {ALLOC_UNIT} or {ALLOC_UNIT_4K})",
                self.alloc_unit
            ));
        }
        if self.log_offset != LOG_OFFSET {
            return bad(format!(
                "unsupported log offset {:#x} (expected {LOG_OFFSET:#x})",
                self.log_offset
            ));
        }
        if let Err(e) = check_log_len(self.log_len) {
            return bad(e.to_string());
        }
        let meta_end = self.log_offset + self.log_len;
        if self.daxdev.size < meta_end {
            return bad(format!(
                "device size {} is smaller than the superblock and log ({meta_end} bytes)",
                self.daxdev.size
            ));
        }
        if dev_size != 0 && self.daxdev.size > dev_size {
            return bad(format!(
                "recorded device size {} exceeds the actual device size {dev_size}",
                self.daxdev.size
            ));
        }
        Ok(())
    }

    /// First byte after the metadata (superblock region and log).
    pub fn meta_end(&self) -> u64 {
        self.log_offset + self.log_len
    }

    /// Usable device size: the recorded size rounded down to the allocation unit.
    pub fn usable_size(&self) -> u64 {
        self.daxdev.size / self.alloc_unit * self.alloc_unit
    }
}

/// Check that a log length is a power of two of at least 8 MiB.
pub fn check_log_len(log_len: u64) -> Result<()> {
    if log_len < LOG_LEN_DEFAULT || !log_len.is_power_of_two() {
        return Err(Error::Invalid(format!(
            "log length {log_len} must be a power of two >= {LOG_LEN_DEFAULT}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let sb = Superblock::new(64 << 20, LOG_LEN_DEFAULT, "/dev/dax0.0").unwrap();
        let b = sb.encode();
        assert_eq!(get_u64(&b, 0), SB_MAGIC);
        assert_eq!(Superblock::decode(&b, 64 << 20).unwrap(), sb);
    }

    #[test]
    fn every_covered_byte_is_checked() {
        let sb = Superblock::new(64 << 20, LOG_LEN_DEFAULT, "img").unwrap();
        let good = sb.encode();
        for i in 0..SB_CRC + 8 {
            let mut b = good;
            b[i] ^= 0x40;
            let e = Superblock::decode(&b, 64 << 20).unwrap_err();
            assert!(matches!(e, Error::Superblock(_)), "byte {i}: {e}");
        }
    }

    #[test]
    fn rejects_bad_geometry() {
        assert!(Superblock::new(8 << 20, LOG_LEN_DEFAULT, "x").is_err());
        assert!(Superblock::new(1 << 30, 12 << 20, "x").is_err());
        assert!(Superblock::new(1 << 30, 4 << 20, "x").is_err());
        let sb = Superblock::new(64 << 20, LOG_LEN_DEFAULT, "x").unwrap();
        // Recorded size larger than the device.
        let e = Superblock::decode(&sb.encode(), 32 << 20).unwrap_err();
        assert!(e.to_string().contains("exceeds"), "{e}");
    }

    #[test]
    fn long_device_name_is_truncated() {
        let long = "d".repeat(100);
        let sb = Superblock::new(64 << 20, LOG_LEN_DEFAULT, &long).unwrap();
        assert_eq!(sb.daxdev.name.len(), DAXDEV_NAME_LEN);
        assert_eq!(Superblock::decode(&sb.encode(), 0).unwrap(), sb);
    }

    #[test]
    fn sixty_four_byte_name_without_nul_is_accepted() {
        let name = "n".repeat(DAXDEV_NAME_LEN);
        let sb = Superblock::new(64 << 20, LOG_LEN_DEFAULT, &name).unwrap();
        let b = sb.encode();
        assert!(b[SB_DAXDEV_NAME..SB_DAXDEV_NAME + DAXDEV_NAME_LEN]
            .iter()
            .all(|&c| c == b'n'));
        assert_eq!(Superblock::decode(&b, 0).unwrap().daxdev.name, name);
    }

    #[test]
    fn allocation_unit_4k_or_2m() {
        let mut sb = Superblock::new(64 << 20, LOG_LEN_DEFAULT, "x").unwrap();
        sb.alloc_unit = ALLOC_UNIT_4K;
        assert_eq!(Superblock::decode(&sb.encode(), 0).unwrap(), sb);
        sb.alloc_unit = 64 << 10;
        let e = Superblock::decode(&sb.encode(), 0).unwrap_err();
        assert!(e.to_string().contains("allocation unit 65536"), "{e}");
    }
}
