// SPDX-License-Identifier: GPL-2.0
/*
 * The provider sample of the kernel series (samples/rust/rust_fuse_iomap.rs,
 * provider "linear") through the test server: a file lies in one piece on
 * one device, at the offset its 24-byte map names.  Data written through the
 * file must be found at that offset of the device (read back through an
 * identity-mapped file over the same range), and every malformed map must be
 * refused with the errno the sample documents.
 *
 * Needs root, /dev/dax0.0 (2 MiB aligned, at least 100 MiB, named in
 * FUSE_IOMAP_DAX_DEVS; see iomap_test_util.h), the sample module (built with
 * the kernel, CONFIG_SAMPLE_RUST_FUSE_IOMAP=m; FUSE_IOMAP_SAMPLE_KO names its
 * file, else modprobe loads it) and the "identity" test provider; skips
 * without them.
 */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_NAME	"dax0.0"
#define DAX_DEV		"/dev/" DAX_NAME
#define FILE_OFF_MIB	96		/* where the file lies on the device */
#define FILE_SIZE	(4 * SZ_1M)
#define SEED		0x5a3b1e

/* struct linear_map of the sample, little endian. */
struct linear_map {
	uint32_t device;
	uint32_t flags;
	uint64_t offset;
	uint64_t size;
};

static_assert(sizeof(struct linear_map) == 24, "no padding in struct linear_map");

static struct linear_map lmap(uint32_t dev, uint32_t flags, uint64_t off,
			      uint64_t size)
{
	struct linear_map m = {
		.device = htole32(dev),
		.flags = htole32(flags),
		.offset = htole64(off),
		.size = htole64(size),
	};

	return m;
}

FIXTURE(sample)
{
	struct srv srv;
};

FIXTURE_SETUP(sample)
{
	const char *why;

	srv_init(&self->srv, DAX_DEV);
	why = need_root() ?:
	      need_dax(DAX_NAME, ((uint64_t)FILE_OFF_MIB << 20) + FILE_SIZE) ?:
	      need_module(&sample_mod) ?: need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, mod_load(&sample_mod)) {
		TH_LOG("cannot load %s", mod_path(&sample_mod));
	}
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
}

FIXTURE_TEARDOWN(sample)
{
	srv_stop(&self->srv);
}

/* Mount the "linear" provider with one file whose map is @m. */
static int mount_linear(struct srv *s, struct srv_file *f,
			const struct linear_map *m, uint32_t len)
{
	srv_init(s, DAX_DEV);
	strcpy(s->provider, "linear");
	f->name = "lin";
	f->size = le64toh(m->size);
	f->blob = m;
	f->blob_len = len;
	s->files = f;
	s->nfiles = 1;
	return srv_mount(s);
}

/*
 * Write through the linear file (write(2) and a 2 MiB mapping), then find the
 * bytes at FILE_OFF_MIB of the device through an identity-mapped file.
 */
TEST_F(sample, data_lands_at_the_map_offset)
{
	struct linear_map m = lmap(0, 0, (uint64_t)FILE_OFF_MIB << 20,
				   FILE_SIZE);
	struct srv_file f = { 0 }, idf = { 0 };
	unsigned char *buf, *map;
	int fd;

	buf = malloc(FILE_SIZE);
	ASSERT_NE(NULL, buf);
	fill(buf, FILE_SIZE, SEED, 0);

	ASSERT_EQ(0, mount_linear(&self->srv, &f, &m, sizeof(m)));
	fd = srv_open_file(&self->srv, "lin", O_RDWR);
	ASSERT_GE(fd, 0) {
		TH_LOG("open: %s", strerror(errno));
	}
	/* First half by write(2), second half through a mapping. */
	ASSERT_EQ((ssize_t)SZ_2M, pwrite(fd, buf, SZ_2M, 0));
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	memcpy(map + SZ_2M, buf + SZ_2M, SZ_2M);
	EXPECT_EQ(-1, mismatch(map, FILE_SIZE, SEED, 0));
	ASSERT_EQ(0, msync(map, FILE_SIZE, MS_SYNC));
	munmap(map, FILE_SIZE);
	/* Past the end: nothing to map. */
	EXPECT_EQ(0, pread(fd, buf, 1, FILE_SIZE));
	close(fd);
	srv_stop(&self->srv);

	/* The same device range, through the identity provider. */
	srv_init(&self->srv, DAX_DEV);
	idf.name = "id";
	idf.size = FILE_SIZE;
	idf.base_mib = FILE_OFF_MIB;
	self->srv.files = &idf;
	self->srv.nfiles = 1;
	ASSERT_EQ(0, srv_mount(&self->srv));
	fd = srv_open_file(&self->srv, "id", O_RDONLY);
	ASSERT_GE(fd, 0);
	memset(buf, 0, FILE_SIZE);
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(fd, buf, FILE_SIZE, 0));
	EXPECT_EQ(-1, mismatch(buf, FILE_SIZE, SEED, 0));
	close(fd);
	free(buf);
}

/* Every malformed map is refused at open, with the sample's errno. */
TEST_F(sample, malformed_maps_refused)
{
	const uint64_t off = (uint64_t)FILE_OFF_MIB << 20;
	uint64_t devsz = dax_size(DAX_NAME);
	const struct {
		const char *what;
		struct linear_map m;
		uint32_t len;
		int err;
	} cases[] = {
		{ "short map", lmap(0, 0, off, FILE_SIZE), 16, EINVAL },
		{ "flags set", lmap(0, 1, off, FILE_SIZE), 24, EINVAL },
		{ "unaligned offset", lmap(0, 0, off + 512, FILE_SIZE), 24,
		  EINVAL },
		{ "unaligned size", lmap(0, 0, off, FILE_SIZE - 512), 24,
		  EINVAL },
		{ "past the device", lmap(0, 0, devsz - SZ_2M, FILE_SIZE), 24,
		  EINVAL },
		{ "offset overflows", lmap(0, 0, UINT64_MAX & ~0xfffULL,
					   FILE_SIZE), 24, EINVAL },
		{ "no such device", lmap(1, 0, off, FILE_SIZE), 24, ENODEV },
	};
	unsigned int i;

	ASSERT_NE(0ULL, devsz);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct srv_file f = { 0 };
		int fd;

		ASSERT_EQ(0, mount_linear(&self->srv, &f, &cases[i].m,
					  cases[i].len));
		fd = srv_open_file(&self->srv, "lin", O_RDONLY);
		EXPECT_EQ(-1, fd) {
			TH_LOG("%s: opened", cases[i].what);
		}
		EXPECT_EQ(cases[i].err, errno) {
			TH_LOG("%s: %s", cases[i].what, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
		srv_stop(&self->srv);
	}
}

TEST_HARNESS_MAIN
