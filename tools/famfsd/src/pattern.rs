// SPDX-License-Identifier: GPL-2.0
//! Seeded pseudo-random file contents, addressable at any offset.
//!
//! Byte `o` of the pattern for `seed` is byte `o % 8` (little-endian) of
//! `splitmix64(seed ^ (o / 8) * GOLDEN)`, so a file can be filled or checked in any
//! order and in pieces. Different seeds give unrelated contents.

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn word(seed: u64, w: u64) -> [u8; 8] {
    splitmix64(seed ^ w.wrapping_mul(GOLDEN)).to_le_bytes()
}

/// Fill `buf` with the pattern bytes for file offsets `[off, off + buf.len())`.
pub fn fill(seed: u64, off: u64, buf: &mut [u8]) {
    let mut pos = off;
    let mut i = 0;
    while i < buf.len() {
        let w = word(seed, pos / 8);
        let start = (pos % 8) as usize;
        let n = (8 - start).min(buf.len() - i);
        buf[i..i + n].copy_from_slice(&w[start..start + n]);
        i += n;
        pos += n as u64;
    }
}

/// Compare `buf` (file offsets `[off, ..)`) with the pattern. Returns the first differing
/// file offset with the expected and found bytes.
pub fn check(seed: u64, off: u64, buf: &[u8]) -> Option<(u64, u8, u8)> {
    let mut expect = vec![0u8; buf.len()];
    fill(seed, off, &mut expect);
    buf.iter()
        .zip(&expect)
        .position(|(a, b)| a != b)
        .map(|i| (off + i as u64, expect[i], buf[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_agree_with_whole() {
        let mut whole = vec![0u8; 1000];
        fill(42, 3, &mut whole);
        let mut piece = vec![0u8; 101];
        fill(42, 3 + 77, &mut piece);
        assert_eq!(&whole[77..178], &piece[..]);
        assert_eq!(check(42, 3, &whole), None);
        let mut other = vec![0u8; 1000];
        fill(43, 3, &mut other);
        assert_ne!(whole, other);
        whole[500] ^= 1;
        let (o, e, f) = check(42, 3, &whole).unwrap();
        assert_eq!(o, 503);
        assert_eq!(e ^ 1, f);
    }
}
