// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_iomap end to end: the raw FUSE test server of fuse_iomap/ hands the
 * "famfs" provider two DAX devices and a famfs fmap blob per file; reads,
 * writes and page faults must land where the fmap arithmetic says.  Each data
 * test writes a pattern through the file, unmounts, binds the devices to
 * device_dax and checks every byte at its predicted device address, and that
 * the bytes around each extent were not touched.
 *
 * Needs root, the famfs_iomap module (loaded from FUSE_IOMAP_FAMFS_KO or by
 * modprobe) and /dev/dax0.0, /dev/dax1.0 (2 MiB aligned, at least 256 MiB
 * each), both named in FUSE_IOMAP_DAX_DEVS (see
 * ../fuse_iomap/iomap_test_util.h); skips without them.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <linux/famfs_fmap.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "../fuse_iomap/fuse_iomap_server.h"
#include "../fuse_iomap/iomap_test_util.h"

#define NDEVS		2
#define GUARD		SZ_4K		/* checked bytes around each extent */
#define FNAME		"f"
#define FINO		2		/* the server's first inode */
#define MAX_EXTS	1024

static const char *const dax_name[NDEVS] = { "dax0.0", "dax1.0" };
static const char *const dax_dev[NDEVS] = { "/dev/dax0.0", "/dev/dax1.0" };

/* A map as the tests think of it: simple extents, or one interleaved. */
struct fext {
	uint32_t dev;
	uint64_t off;
	uint64_t len;
};

struct layout {
	uint64_t file_size;
	uint32_t chunk;		/* 0: simple extents, else one interleaved */
	uint64_t nbytes;	/* bytes of the interleaved extent */
	unsigned int n;		/* simple extents or strips */
	struct fext e[MAX_EXTS];
};

/* Bind both devices to @drv (fsdev_dax or device_dax). */
static int dax_mode(const char *drv)
{
	int i, ret;

	for (i = 0; i < NDEVS; i++) {
		ret = dax_bind(dax_name[i], drv);
		if (ret)
			return ret;
	}
	return 0;
}

/* The fmap blob of @l, little-endian as the uapi header says. */
static void *blob_build(const struct layout *l, uint32_t *lenp)
{
	struct famfs_fmap_header *h;
	struct famfs_fmap_simple_ext *se;
	struct famfs_fmap_iext *ie;
	size_t len = sizeof(*h) + l->n * sizeof(*se);
	unsigned int i;
	void *blob;

	if (l->chunk)
		len += sizeof(*ie);
	blob = calloc(1, len);
	if (!blob)
		return NULL;
	h = blob;
	h->file_type = FAMFS_FMAP_REG;
	h->fmap_version = htole16(FAMFS_FMAP_VERSION);
	h->ext_type = htole32(l->chunk ? FAMFS_FMAP_EXT_INTERLEAVE :
				 FAMFS_FMAP_EXT_SIMPLE);
	h->nextents = htole32(l->chunk ? 1 : l->n);
	h->fmap_size = htole32(len);
	h->file_size = htole64(l->file_size);
	se = (void *)(h + 1);
	if (l->chunk) {
		ie = (void *)se;
		ie->ie_nstrips = htole32(l->n);
		ie->ie_chunk_size = htole32(l->chunk);
		ie->ie_nbytes = htole64(l->nbytes);
		se = (void *)(ie + 1);
	}
	for (i = 0; i < l->n; i++) {
		se[i].se_devindex = htole32(l->e[i].dev);
		se[i].se_offset = htole64(l->e[i].off);
		se[i].se_len = htole64(l->e[i].len);
	}
	*lenp = len;
	return blob;
}

/*
 * Device and device offset of file offset @o, computed independently of the
 * module: chunk c = o / C, stripe s = c / N, strip k = c % N, device address
 * strips[k].offset + s * C + o % C; simple extents follow each other.
 */
static void predict(const struct layout *l, uint64_t o, uint32_t *dev,
		    uint64_t *addr)
{
	uint64_t c, s, k, start = 0;
	unsigned int i;

	if (l->chunk) {
		c = o / l->chunk;
		s = c / l->n;
		k = c % l->n;
		*dev = l->e[k].dev;
		*addr = l->e[k].off + s * l->chunk + o % l->chunk;
		return;
	}
	for (i = 0; i < l->n - 1 && o >= start + l->e[i].len; i++)
		start += l->e[i].len;
	*dev = l->e[i].dev;
	*addr = l->e[i].off + o - start;
}

/* Raw mappings of both devices, under device_dax. */
struct devmaps {
	unsigned char *p[NDEVS];
	uint64_t size[NDEVS];
	int fd[NDEVS];
};

static int devs_map(struct devmaps *m)
{
	int i, ret = dax_mode("device_dax");

	if (ret)
		return ret;
	for (i = 0; i < NDEVS; i++) {
		m->size[i] = dax_size(dax_name[i]);
		m->fd[i] = open(dax_dev[i], O_RDWR);
		if (m->fd[i] < 0)
			return -errno;
		m->p[i] = mmap(NULL, m->size[i], PROT_READ | PROT_WRITE,
			       MAP_SHARED, m->fd[i], 0);
		if (m->p[i] == MAP_FAILED)
			return -errno;
	}
	return 0;
}

static int devs_unmap(struct devmaps *m)
{
	int i;

	for (i = 0; i < NDEVS; i++) {
		munmap(m->p[i], m->size[i]);
		close(m->fd[i]);
	}
	return dax_mode("fsdev_dax");
}

/* Guard bytes keyed by device address, seeded apart from the file data. */
#define GUARD_SEED(seed)	((seed) ^ 0xa5a5a5a5U)

static void guard_ranges(const struct layout *l, unsigned int i,
			 const struct devmaps *m, uint64_t *lo, uint64_t *hi,
			 uint64_t *hilen)
{
	const struct fext *e = &l->e[i];
	uint64_t end = e->off + e->len;

	*lo = e->off >= GUARD ? e->off - GUARD : 0;
	*hi = end;
	*hilen = end + GUARD <= m->size[e->dev] ? GUARD : m->size[e->dev] - end;
}

/*
 * Fill the guards around every extent; extents of one map may sit next to
 * each other, so a guard overlapping another extent is left out.
 */
static int in_any_extent(const struct layout *l, uint32_t dev, uint64_t a,
			 uint64_t len)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		if (l->e[i].dev == dev && a < l->e[i].off + l->e[i].len &&
		    l->e[i].off < a + len)
			return 1;
	return 0;
}

static void guards_fill(const struct layout *l, struct devmaps *m,
			uint32_t seed)
{
	uint64_t lo, hi, hilen;
	unsigned int i;
	uint32_t d;

	for (i = 0; i < l->n; i++) {
		d = l->e[i].dev;
		guard_ranges(l, i, m, &lo, &hi, &hilen);
		if (!in_any_extent(l, d, lo, l->e[i].off - lo))
			fill(m->p[d] + lo, l->e[i].off - lo, GUARD_SEED(seed),
			     lo);
		if (!in_any_extent(l, d, hi, hilen))
			fill(m->p[d] + hi, hilen, GUARD_SEED(seed), hi);
	}
}

/* Index of the first extent whose guards changed, or -1. */
static int guards_check(const struct layout *l, struct devmaps *m,
			uint32_t seed)
{
	uint64_t lo, hi, hilen;
	unsigned int i;
	uint32_t d;

	for (i = 0; i < l->n; i++) {
		d = l->e[i].dev;
		guard_ranges(l, i, m, &lo, &hi, &hilen);
		if (!in_any_extent(l, d, lo, l->e[i].off - lo) &&
		    mismatch(m->p[d] + lo, l->e[i].off - lo, GUARD_SEED(seed),
			     lo) >= 0)
			return i;
		if (!in_any_extent(l, d, hi, hilen) &&
		    mismatch(m->p[d] + hi, hilen, GUARD_SEED(seed), hi) >= 0)
			return i;
	}
	return -1;
}

FIXTURE(famfs)
{
	struct srv srv;
	struct srv_file file;
	struct layout l;
	uint64_t devsize[NDEVS];
	uint32_t seed;
	void *blob;
	int fd;
	void *map;		/* 2 MiB aligned mapping of the file */
	size_t maplen;
	int ready;		/* set up: the teardown rebinds the devices */
};

FIXTURE_SETUP(famfs)
{
	const char *why;
	int i;

	self->fd = -1;
	self->map = MAP_FAILED;
	self->seed = getpid() ^ time(NULL) ^ 0x3c3c5a5a;
	srv_init(&self->srv, dax_dev[0]);
	self->srv.dax_path[1] = dax_dev[1];
	snprintf(self->srv.provider, sizeof(self->srv.provider), "famfs");
	self->file.name = FNAME;
	self->srv.files = &self->file;
	self->srv.nfiles = 1;

	why = need_root() ?: need_dax(dax_name[0], 256 * SZ_1M) ?:
	      need_dax(dax_name[1], 256 * SZ_1M) ?: need_module(&famfs_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, mod_load(&famfs_mod)) {
		TH_LOG("cannot load %s", mod_path(&famfs_mod));
	}
	ASSERT_EQ(0, dax_mode("fsdev_dax"));
	for (i = 0; i < NDEVS; i++) {
		self->devsize[i] = dax_size(dax_name[i]);
		ASSERT_GE(self->devsize[i], 256UL << 20) {
			TH_LOG("%s: size %llu", dax_dev[i],
			       (unsigned long long)self->devsize[i]);
		}
	}
	self->ready = 1;
}

FIXTURE_TEARDOWN(famfs)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->maplen);
	if (self->fd >= 0)
		close(self->fd);
	srv_stop(&self->srv);
	free(self->blob);
	trace_pmd(0);
	/* Leave the guest as the next test expects it. */
	if (self->ready)
		EXPECT_EQ(0, dax_mode("fsdev_dax"));
}

/* Serve @l as the file's map from now on (the server reads it per GETMAP). */
static void set_layout(struct __test_metadata *_metadata,
		       FIXTURE_DATA(famfs) * self)
{
	free(self->blob);
	self->blob = blob_build(&self->l, &self->file.blob_len);
	ASSERT_NE(NULL, self->blob);
	self->file.blob = self->blob;
	self->file.size = self->l.file_size;
}

/* Guard the extents of self->l, mount and open the file read-write. */
static void setup_file(struct __test_metadata *_metadata,
		       FIXTURE_DATA(famfs) * self)
{
	struct devmaps m;
	struct stat st;

	ASSERT_EQ(0, devs_map(&m));
	guards_fill(&self->l, &m, self->seed);
	ASSERT_EQ(0, devs_unmap(&m));
	set_layout(_metadata, self);
	ASSERT_EQ(0, srv_mount(&self->srv));
	self->fd = srv_open_file(&self->srv, FNAME, O_RDWR);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("open: %s", strerror(errno));
	}
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)self->l.file_size, st.st_size);
	/* One map fetched: a large one after a probe with the size only. */
	EXPECT_EQ(1 + (long)self->srv.getmap_short,
		  srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP));
}

/* Map the whole file (its last page too) at a 2 MiB aligned address. */
static void map_file(struct __test_metadata *_metadata,
		     FIXTURE_DATA(famfs) * self)
{
	size_t len = (self->l.file_size + SZ_4K - 1) & ~(SZ_4K - 1);
	uintptr_t a;
	void *r;

	r = mmap(NULL, len + SZ_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	a = ((uintptr_t)r + SZ_2M - 1) & ~(SZ_2M - 1);
	munmap(r, len + SZ_2M);
	self->map = mmap((void *)a, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map) {
		TH_LOG("mmap: %s", strerror(errno));
	}
	self->maplen = len;
}

/* Write the pattern through the mapping (faults), check it with pread. */
static void write_mmap(struct __test_metadata *_metadata,
		       FIXTURE_DATA(famfs) * self)
{
	size_t len = self->l.file_size;
	unsigned char *buf = malloc(len);

	ASSERT_NE(NULL, buf);
	map_file(_metadata, self);
	fill(self->map, len, self->seed, 0);
	memset(buf, 0, len);
	EXPECT_EQ((ssize_t)len, pread(self->fd, buf, len, 0));
	EXPECT_EQ(-1, mismatch(buf, len, self->seed, 0));
	free(buf);
}

/* Write the pattern with write(2) in odd pieces, check it through mmap. */
static void write_io(struct __test_metadata *_metadata,
		     FIXTURE_DATA(famfs) * self)
{
	size_t len = self->l.file_size, off, n, piece = 100000;
	unsigned char *buf = malloc(piece);

	ASSERT_NE(NULL, buf);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		fill(buf, n, self->seed, off);
		ASSERT_EQ((ssize_t)n, pwrite(self->fd, buf, n, off));
	}
	free(buf);
	map_file(_metadata, self);
	EXPECT_EQ(-1, mismatch(self->map, len, self->seed, 0));
}

/*
 * Unmount, then check under device_dax that every byte of the file is at
 * the device address predict() gives and that no guard changed.
 */
static void verify_raw(struct __test_metadata *_metadata,
		       FIXTURE_DATA(famfs) * self)
{
	uint64_t o, n, addr;
	struct devmaps m;
	long bad;
	uint32_t dev;
	int g;

	if (self->map != MAP_FAILED)
		munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	srv_stop(&self->srv);

	ASSERT_EQ(0, devs_map(&m));
	for (o = 0; o < self->l.file_size; o += n) {
		/* A page never straddles a chunk or an extent. */
		n = SZ_4K - o % SZ_4K;
		if (n > self->l.file_size - o)
			n = self->l.file_size - o;
		predict(&self->l, o, &dev, &addr);
		ASSERT_LT(addr + n, m.size[dev] + 1);
		bad = mismatch(m.p[dev] + addr, n, self->seed, o);
		if (bad >= 0) {
			TH_LOG("file offset %llu: not at dax%u.0 offset %llu",
			       (unsigned long long)(o + bad), dev,
			       (unsigned long long)(addr + bad));
			break;
		}
	}
	EXPECT_GE(o, self->l.file_size);
	g = guards_check(&self->l, &m, self->seed);
	EXPECT_EQ(-1, g) {
		TH_LOG("bytes around extent %d changed", g);
	}
	ASSERT_EQ(0, devs_unmap(&m));
}

/* One extent, not 2 MiB aligned, a file ending inside a page. */
TEST_F(famfs, simple_one_extent)
{
	self->l.n = 1;
	self->l.e[0] = (struct fext){ 0, 64 * SZ_1M + 12 * SZ_4K, 6 * SZ_1M };
	self->l.file_size = 6 * SZ_1M - 1000;
	setup_file(_metadata, self);
	write_mmap(_metadata, self);
	verify_raw(_metadata, self);
}

/* Extents of different lengths on both devices, written with write(2). */
TEST_F(famfs, simple_multi_extent)
{
	static const struct fext e[] = {
		{ 1, 10 * SZ_1M, 2 * SZ_1M },
		{ 0, 100 * SZ_1M + SZ_4K, 3 * SZ_4K },
		{ 1, 40 * SZ_1M - 5 * SZ_4K, SZ_4K },
		{ 0, 200 * SZ_1M, 4 * SZ_1M + 7 * SZ_4K },
		{ 1, 12 * SZ_1M, 5 * SZ_4K },	/* right after extent 0 */
		{ 0, 150 * SZ_1M, 2 * SZ_1M },
	};
	unsigned int i;

	self->l.n = ARRAY_SIZE(e);
	for (i = 0; i < ARRAY_SIZE(e); i++) {
		self->l.e[i] = e[i];
		self->l.file_size += e[i].len;
	}
	self->l.file_size -= 2 * SZ_4K + 17;	/* extents cover more */
	setup_file(_metadata, self);
	write_io(_metadata, self);
	verify_raw(_metadata, self);
}

/* Two strips, one per device, 64 KiB chunks, a partial last stripe. */
TEST_F(famfs, striped_two_devices)
{
	self->l.chunk = 64 << 10;
	self->l.n = 2;
	self->l.nbytes = 99 * self->l.chunk;
	self->l.e[0] = (struct fext){ 0, 300 * SZ_1M, 50 * self->l.chunk };
	self->l.e[1] = (struct fext){ 1, 20 * SZ_1M + SZ_4K,
				      49 * self->l.chunk };
	self->l.file_size = self->l.nbytes - 3000;
	setup_file(_metadata, self);
	write_mmap(_metadata, self);
	verify_raw(_metadata, self);
}

/* 4 KiB chunks: every fault is a PTE fault, and each lands on its strip. */
TEST_F(famfs, striped_4k_pte)
{
	long huge, present;

	self->l.chunk = SZ_4K;
	self->l.n = 2;
	self->l.nbytes = 4 * SZ_1M;
	self->l.e[0] = (struct fext){ 0, 400 * SZ_1M, 2 * SZ_1M };
	self->l.e[1] = (struct fext){ 1, 100 * SZ_1M, 2 * SZ_1M };
	self->l.file_size = self->l.nbytes;
	setup_file(_metadata, self);
	ASSERT_EQ(0, trace_pmd(1));
	write_mmap(_metadata, self);
	EXPECT_EQ(0, trace_pmd_count(FINO));
	trace_pmd(0);
	present = scan_bytes(self->map, self->maplen, PAGE_IS_PRESENT);
	huge = scan_bytes(self->map, self->maplen,
			  PAGE_IS_HUGE | PAGE_IS_PRESENT);
	EXPECT_EQ((long)self->maplen, present);
	EXPECT_EQ(0, huge);
	verify_raw(_metadata, self);
}

/* 2 MiB chunks on 2 MiB aligned strips: one PMD fault per chunk. */
TEST_F(famfs, striped_2m_pmd)
{
	long huge;
	int pmds;

	self->l.chunk = SZ_2M;
	self->l.n = 2;
	self->l.nbytes = 8 * SZ_2M;
	self->l.e[0] = (struct fext){ 0, 500 * SZ_1M, 4 * SZ_2M };
	self->l.e[1] = (struct fext){ 1, 200 * SZ_1M, 4 * SZ_2M };
	self->l.file_size = self->l.nbytes;
	setup_file(_metadata, self);
	map_file(_metadata, self);
	/* Read faults first: one PMD per 2 MiB chunk. */
	ASSERT_EQ(0, trace_pmd(1));
	touch_read(self->map, self->maplen);
	pmds = trace_pmd_count(FINO);
	trace_pmd(0);
	EXPECT_EQ((int)(self->l.nbytes / SZ_2M), pmds);
	fill(self->map, self->l.file_size, self->seed, 0);
	huge = scan_bytes(self->map, self->maplen,
			  PAGE_IS_HUGE | PAGE_IS_PRESENT);
	EXPECT_EQ((long)self->maplen, huge);
	verify_raw(_metadata, self);
}

/* A map of 1000 extents (> 4 KiB): GETMAP is asked twice, then cached. */
TEST_F(famfs, large_map)
{
	unsigned int i, n = 1000;
	uint64_t off[NDEVS] = { 600 * SZ_1M, 300 * SZ_1M };
	struct fext *e;
	int fd;

	self->l.n = n;
	for (i = 0; i < n; i++) {
		e = &self->l.e[i];
		e->dev = i % 2;
		e->len = i % 3 ? SZ_4K : 3 * SZ_4K;
		/* A hole after every extent: no two are contiguous. */
		e->off = off[e->dev];
		off[e->dev] += e->len + SZ_4K;
		self->l.file_size += e->len;
	}
	setup_file(_metadata, self);
	EXPECT_GT(self->file.blob_len, 4096U);
	EXPECT_EQ(1UL, self->srv.getmap_short);
	EXPECT_EQ(self->file.blob_len, self->srv.getmap_offer);
	write_io(_metadata, self);
	fd = srv_open_file(&self->srv, FNAME, O_RDONLY);
	EXPECT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(1, srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP) -
		     (long)self->srv.getmap_short);
	verify_raw(_metadata, self);
}

/* Blobs the famfs parser rejects: open(2) fails with its errno. */
enum bad_kind {
	GOOD, BAD_PAST_DEVICE, BAD_DEVICE, BAD_UNALIGNED, BAD_NO_EXTENTS,
	BAD_VERSION, BAD_SIZE, BAD_RESERVED, BAD_COVERAGE, BAD_CHUNK,
	BAD_STRIP_SHORT, BAD_PARTIAL_CHUNK,
};

static void bad_layout(FIXTURE_DATA(famfs) * self, enum bad_kind k)
{
	struct layout *l = &self->l;

	memset(l, 0, sizeof(*l));
	l->n = 1;
	l->e[0] = (struct fext){ 1, 8 * SZ_1M, 4 * SZ_1M };
	l->file_size = 4 * SZ_1M;
	switch (k) {
	case BAD_PAST_DEVICE:
		l->e[0].off = self->devsize[1] - SZ_1M;
		break;
	case BAD_DEVICE:
		l->e[0].dev = NDEVS;
		break;
	case BAD_UNALIGNED:
		l->e[0].off += 512;
		break;
	case BAD_COVERAGE:
		l->file_size += 1;
		break;
	case BAD_CHUNK:
	case BAD_STRIP_SHORT:
	case BAD_PARTIAL_CHUNK:
		l->chunk = k == BAD_CHUNK ? 3 * SZ_4K : SZ_4K;
		l->n = 2;
		l->nbytes = 4 * SZ_1M;
		if (k == BAD_PARTIAL_CHUNK)
			l->nbytes += 512;
		l->e[1] = (struct fext){ 0, 8 * SZ_1M, 2 * SZ_1M };
		l->e[0].len = k == BAD_STRIP_SHORT ? 2 * SZ_1M - SZ_4K :
						     2 * SZ_1M;
		break;
	default:
		break;
	}
}

TEST_F(famfs, rejected_maps)
{
	static const struct {
		enum bad_kind kind;
		const char *name;
		int err;
	} bad[] = {
		{ BAD_PAST_DEVICE, "extent past the device", ENXIO },
		{ BAD_DEVICE, "device index outside the table", ENODEV },
		{ BAD_UNALIGNED, "unaligned offset", EINVAL },
		{ BAD_NO_EXTENTS, "zero extents", ERANGE },
		{ BAD_VERSION, "fmap_version 2", EPROTO },
		{ BAD_SIZE, "fmap_size not the blob length", EINVAL },
		{ BAD_RESERVED, "reserved field set", EINVAL },
		{ BAD_COVERAGE, "extents shorter than the file", EINVAL },
		{ BAD_CHUNK, "12 KiB chunk", EINVAL },
		{ BAD_STRIP_SHORT, "strip too short", EINVAL },
		{ BAD_PARTIAL_CHUNK, "partial chunk", EINVAL },
	};
	struct famfs_fmap_header *h;
	unsigned char buf[SZ_4K];
	unsigned int i;
	struct stat st;
	long getmaps;
	int fd, err;

	ASSERT_EQ(0, srv_mount(&self->srv));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		bad_layout(self, bad[i].kind);
		set_layout(_metadata, self);
		h = self->blob;
		switch (bad[i].kind) {
		case BAD_NO_EXTENTS:
			h->nextents = 0;
			h->fmap_size = htole32(sizeof(*h));
			self->file.blob_len = sizeof(*h);
			break;
		case BAD_VERSION:
			h->fmap_version = htole16(2);
			break;
		case BAD_SIZE:
			h->fmap_size = htole32(self->file.blob_len + 24);
			break;
		case BAD_RESERVED:
			h->reserved1 = htole64(1);
			break;
		default:
			break;
		}
		getmaps = srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP);
		fd = srv_open_file(&self->srv, FNAME, O_RDWR);
		err = errno;
		EXPECT_EQ(-1, fd) {
			TH_LOG("%s: accepted", bad[i].name);
		}
		if (fd >= 0) {
			close(fd);
			continue;
		}
		EXPECT_EQ(bad[i].err, err) {
			TH_LOG("%s: %s, expected %s", bad[i].name,
			       strerror(err), strerror(bad[i].err));
		}
		/* Asked once, nothing cached: the next open asks again. */
		EXPECT_EQ(getmaps + 1, srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP));
	}

	/* A valid map now opens, and is cached from then on. */
	bad_layout(self, GOOD);
	set_layout(_metadata, self);
	getmaps = srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP);
	self->fd = srv_open_file(&self->srv, FNAME, O_RDWR);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("valid map after rejections: %s", strerror(errno));
	}
	EXPECT_EQ(getmaps + 1, srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)self->l.file_size, st.st_size);
	fill(buf, sizeof(buf), self->seed, SZ_1M);
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(self->fd, buf, sizeof(buf),
					       SZ_1M));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), pread(self->fd, buf, sizeof(buf),
					      SZ_1M));
	EXPECT_EQ(-1, mismatch(buf, sizeof(buf), self->seed, SZ_1M));
	bad_layout(self, BAD_DEVICE);
	set_layout(_metadata, self);
	fd = srv_open_file(&self->srv, FNAME, O_RDONLY);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(getmaps + 1, srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP));
}

static sigjmp_buf fault_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* Touch @p: 0 if it worked, SIGBUS or SIGSEGV if it faulted. */
static int poke(unsigned char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, obus, osegv;
	int sig;

	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	sig = sigsetjmp(fault_jmp, 1);
	if (!sig)
		__atomic_load_n(p, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return sig;
}

/*
 * The last extent ends at the end of dax1.0 and the file 4000 bytes before
 * it: reads stop at EOF, writes past it fail, the last page maps and nothing
 * beyond it does.  Guards check that nothing around the extents was written.
 */
TEST_F(famfs, eof_and_device_end)
{
	size_t end, len = 4 * SZ_1M;
	unsigned char buf[3 * SZ_4K], *p;
	void *beyond;

	self->l.n = 2;
	self->l.e[0] = (struct fext){ 0, 700 * SZ_1M, SZ_2M };
	self->l.e[1] = (struct fext){ 1, self->devsize[1] - 2 * SZ_1M,
				      2 * SZ_1M };
	self->l.file_size = len - 4000;
	end = self->l.file_size;
	setup_file(_metadata, self);
	write_mmap(_metadata, self);

	/* Reads: short across EOF, empty at and past it. */
	EXPECT_EQ(1000, pread(self->fd, buf, sizeof(buf), end - 1000));
	EXPECT_EQ(-1, mismatch(buf, 1000, self->seed, end - 1000));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), end));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), len));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), 1UL << 40));
	/* Writes: stop at EOF, fail at and past it. */
	fill(buf, sizeof(buf), self->seed, end - 100);
	EXPECT_EQ(100, pwrite(self->fd, buf, sizeof(buf), end - 100));
	EXPECT_EQ(-1, pwrite(self->fd, buf, 1, end));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ(-1, pwrite(self->fd, buf, 1, len + SZ_2M));
	EXPECT_EQ(EFBIG, errno);

	/* The last page (past EOF, inside the device) maps; beyond, SIGBUS. */
	p = self->map;
	EXPECT_EQ(0, poke(p + len - 1));
	EXPECT_EQ(pat(self->seed, end - 1), p[end - 1]);
	beyond = mmap(NULL, len + SZ_2M, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, beyond);
	EXPECT_EQ(SIGBUS, poke((unsigned char *)beyond + len));
	EXPECT_EQ(SIGBUS, poke((unsigned char *)beyond + len + SZ_1M));
	EXPECT_EQ(0, poke((unsigned char *)beyond + len - SZ_4K));
	munmap(beyond, len + SZ_2M);
	verify_raw(_metadata, self);
}

TEST_HARNESS_MAIN
