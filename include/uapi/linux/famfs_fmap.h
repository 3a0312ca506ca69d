/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * famfs file map (fmap): the map of one famfs file onto DAX devices.
 *
 * The FUSE server returns one fmap blob per file. The famfs_iomap module
 * validates it once against the mount's DAX device table, caches the
 * resolved form on the inode and then resolves every read, write and page
 * fault with arithmetic only.
 *
 * The layout follows the famfs V10 GET_FMAP reply, with these differences:
 * fmap_size must equal the blob's length, the blob travels in a
 * FUSE_IOMAP_DAX_GETMAP reply (after struct fuse_iomap_dax_getmap_out), and
 * the V10 limits are relaxed (see below).
 *
 * A blob is, in this order and with no padding between the parts:
 *
 *   struct famfs_fmap_header
 *   if ext_type == FAMFS_FMAP_EXT_SIMPLE:
 *       nextents x struct famfs_fmap_simple_ext
 *   if ext_type == FAMFS_FMAP_EXT_INTERLEAVE:
 *       nextents x (struct famfs_fmap_iext,
 *                   ie_nstrips x struct famfs_fmap_simple_ext)
 *
 * Every field is little-endian, whatever the host byte order.
 *
 * Validation rules (a blob breaking any of them is rejected as a whole):
 *
 *  - the blob is at least sizeof(struct famfs_fmap_header) and at most
 *    FAMFS_FMAP_MAX_SIZE bytes long, and fmap_size equals its length;
 *  - fmap_version is FAMFS_FMAP_VERSION, file_type and ext_type are known
 *    values and every reserved field is zero;
 *  - file_size is at most MAX_LFS_FILESIZE (the largest signed 64-bit value);
 *  - nextents is not zero, the extents and strips it announces fit in the
 *    blob and the blob has no bytes after the last of them;
 *  - every simple extent and strip has a nonzero length, names a device
 *    index inside the device table, has an offset and a length aligned to
 *    FAMFS_FMAP_ALIGN and ends inside its device;
 *  - every interleaved extent has at least one strip, a chunk size that is a
 *    power of two and at least FAMFS_FMAP_ALIGN, a nonzero ie_nbytes that is
 *    a multiple of the chunk size except in the last interleaved extent
 *    (famfs sets it to the file size), and strips long enough for the chunks
 *    that land on them (chunk c of the extent lands on strip c % ie_nstrips,
 *    stripe c / ie_nstrips);
 *  - no sum of offsets and lengths overflows 64 bits;
 *  - the extents cover at least file_size bytes; they may cover more.
 *
 * Maps whose offsets, lengths or chunk sizes are not multiples of
 * FAMFS_FMAP_PMD_ALIGN (2 MiB) are accepted, but the kernel cannot use PMD
 * (2 MiB) page table entries for them and counts them.
 */
#ifndef _UAPI_LINUX_FAMFS_FMAP_H
#define _UAPI_LINUX_FAMFS_FMAP_H

#include <linux/types.h>

/* The only fmap_version this header describes. */
#define FAMFS_FMAP_VERSION	1

/* Largest blob the kernel accepts, in bytes (16 MiB). */
#define FAMFS_FMAP_MAX_SIZE	(16U << 20)

/* Alignment of every offset, length and chunk size, in bytes. */
#define FAMFS_FMAP_ALIGN	4096U

/* Alignment a map needs for PMD (2 MiB) faults, in bytes. */
#define FAMFS_FMAP_PMD_ALIGN	(2U << 20)

/* Largest file size, MAX_LFS_FILESIZE on 64-bit kernels. */
#define FAMFS_FMAP_MAX_FILE_SIZE	0x7fffffffffffffffULL

/**
 * enum famfs_fmap_file_type - what a famfs file holds
 * @FAMFS_FMAP_REG: a regular file
 * @FAMFS_FMAP_SUPERBLOCK: the famfs superblock file
 * @FAMFS_FMAP_LOG: the famfs metadata log file
 *
 * Any other value is rejected.
 */
enum famfs_fmap_file_type {
	FAMFS_FMAP_REG = 0,
	FAMFS_FMAP_SUPERBLOCK = 1,
	FAMFS_FMAP_LOG = 2,
};

/**
 * enum famfs_fmap_ext_type - the kind of every extent of a blob
 * @FAMFS_FMAP_EXT_SIMPLE: extents are struct famfs_fmap_simple_ext
 * @FAMFS_FMAP_EXT_INTERLEAVE: extents are struct famfs_fmap_iext, each
 *	followed by its strips
 *
 * Any other value is rejected.
 */
enum famfs_fmap_ext_type {
	FAMFS_FMAP_EXT_SIMPLE = 0,
	FAMFS_FMAP_EXT_INTERLEAVE = 1,
};

/**
 * struct famfs_fmap_header - header of an fmap blob
 * @file_type: enum famfs_fmap_file_type
 * @reserved: must be zero
 * @fmap_version: must be FAMFS_FMAP_VERSION
 * @ext_type: enum famfs_fmap_ext_type, the kind of all extents
 * @nextents: number of simple extents, or of interleaved extents; not zero
 * @fmap_size: total size of the blob in bytes, header included; must equal
 *	the length of the reply (reserved0 in famfs V10)
 * @file_size: size of the file in bytes, at most FAMFS_FMAP_MAX_FILE_SIZE
 *	and at most the bytes the extents cover
 * @reserved1: must be zero
 *
 * Extents map the file in order: extent 0 maps the file from offset 0, each
 * next extent starts where the previous one ends.
 */
struct famfs_fmap_header {
	__u8 file_type;
	__u8 reserved;
	__u16 fmap_version;
	__u32 ext_type;
	__u32 nextents;
	__u32 fmap_size;
	__u64 file_size;
	__u64 reserved1;
};

/**
 * struct famfs_fmap_simple_ext - a contiguous range of one device
 * @se_devindex: index of the device in the mount's device table
 * @reserved: must be zero
 * @se_offset: byte offset of the range in the device, FAMFS_FMAP_ALIGN
 *	aligned
 * @se_len: byte length of the range, nonzero and FAMFS_FMAP_ALIGN aligned;
 *	se_offset + se_len must not exceed the device size
 *
 * Used both as a simple extent, mapping se_len bytes of the file, and as a
 * strip of an interleaved extent.
 */
struct famfs_fmap_simple_ext {
	__u32 se_devindex;
	__u32 reserved;
	__u64 se_offset;
	__u64 se_len;
};

/**
 * struct famfs_fmap_iext - header of an interleaved extent
 * @ie_nstrips: number of strips following this header; not zero and bounded
 *	only by the blob size
 * @ie_chunk_size: bytes of file placed on one strip before moving to the
 *	next; a power of two, at least FAMFS_FMAP_ALIGN
 * @ie_nbytes: bytes of file this extent maps; nonzero and a multiple of
 *	@ie_chunk_size except in the last extent, whose last chunk may be
 *	partial (a partial last stripe is allowed)
 * @reserved: must be zero
 *
 * File offset o inside the extent lies in chunk c = o / ie_chunk_size, on
 * strip k = c % ie_nstrips, in stripe s = c / ie_nstrips, at device address
 * strip[k].se_offset + s * ie_chunk_size + o % ie_chunk_size. Strip k must
 * therefore be at least as long as the chunks landing on it: of the
 * n = ceil(ie_nbytes / ie_chunk_size) chunks, strip k gets
 * ceil((n - k) / ie_nstrips), each ie_chunk_size bytes long, except that a
 * partial last chunk needs only its bytes rounded up to FAMFS_FMAP_ALIGN.
 */
struct famfs_fmap_iext {
	__u32 ie_nstrips;
	__u32 ie_chunk_size;
	__u64 ie_nbytes;
	__u64 reserved;
};

#endif /* _UAPI_LINUX_FAMFS_FMAP_H */
