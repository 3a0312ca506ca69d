// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE iomap-DAX maps under memory pressure: a map lives on its inode until
 * the inode is evicted (drop_caches, or reclaim under a memory hog with a
 * high vm.vfs_cache_pressure); the next open fetches it again with exactly
 * one GETMAP, and a map the server changed between evictions is the one the
 * next open uses, never the stale one (checked through the data at the new
 * device location).  The server counts requests; an eviction shows as FORGET.
 *
 * Uses /dev/dax0.0 from 700 MiB to 764 MiB, which no other test writes.
 * Needs root, the "identity" test provider and dax0.0 named in
 * FUSE_IOMAP_DAX_DEVS (see iomap_test_util.h); skips without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_DEV		"/dev/dax0.0"
#define NFILES		16
#define NFILL		4096		/* plain files: a dcache worth shrinking */
#define FSIZE		(2 * SZ_1M)
#define BASE_MIB	700		/* file i at BASE_MIB + 2 * i */
#define MOVE_A		740		/* the moving file's two places */
#define MOVE_B		748
#define MSIZE		(4 * SZ_1M)
#define PRESSURE	"/proc/sys/vm/vfs_cache_pressure"

static char names[NFILES + NFILL][8];

FIXTURE(press)
{
	struct srv srv;
	struct srv_file f[NFILES + NFILL];
	uint32_t seed;
	char pressure[32];
};

FIXTURE_SETUP(press)
{
	const char *why;
	int i;

	srv_init(&self->srv, DAX_DEV);
	for (i = 0; i < NFILES; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d", i);
		self->f[i] = (struct srv_file){ .name = names[i],
						.size = FSIZE,
						.base_mib = BASE_MIB + 2 * i };
	}
	for (i = NFILES; i < NFILES + NFILL; i++) {
		snprintf(names[i], sizeof(names[i]), "z%d", i);
		self->f[i] = (struct srv_file){ .name = names[i], .plain = 1 };
	}
	self->srv.files = self->f;
	self->srv.nfiles = NFILES;
	self->seed = getpid() ^ time(NULL) ^ 0x600df00d;
	why = need_root() ?: need_dax("dax0.0", 764 * SZ_1M) ?:
	      need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, read_str(PRESSURE, self->pressure,
			      sizeof(self->pressure)));
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, dax_bind("dax0.0", "fsdev_dax"));
}

FIXTURE_TEARDOWN(press)
{
	srv_stop(&self->srv);
	if (self->pressure[0])
		write_str(PRESSURE, self->pressure);
}

static long getmaps(struct srv *s)
{
	return srv_count(s, FUSE_IOMAP_DAX_GETMAP);
}

/* Open file @i, check all of it, close; the GETMAPs it took. */
static long open_check(struct __test_metadata *_metadata,
		       FIXTURE_DATA(press) * self, int i)
{
	long before = getmaps(&self->srv);
	int fd = srv_open_file(&self->srv, names[i], O_RDONLY);

	if (fd < 0) {
		TH_LOG("open %s: %s", names[i], strerror(errno));
		return -1;
	}
	EXPECT_EQ(-1, check_pread(fd, self->seed + i, 0, FSIZE)) {
		TH_LOG("%s differs from its pattern", names[i]);
	}
	close(fd);
	return getmaps(&self->srv) - before;
}

/*
 * drop_caches frees every unused inode's map; the next open fetches it with
 * one GETMAP, and opens while it is installed fetch nothing.
 */
TEST_F_TIMEOUT(press, drop_caches_refetches, 120)
{
	int cycle, i, fd[4];
	long before;

	ASSERT_EQ(0, srv_mount(&self->srv));
	for (i = 0; i < 4; i++) {
		fd[i] = srv_open_file(&self->srv, names[i], O_RDWR);
		ASSERT_GE(fd[i], 0);
		ASSERT_EQ(0, fill_pwrite(fd[i], self->seed + i, 0, FSIZE));
		close(fd[i]);
	}
	for (cycle = 0; cycle < 5; cycle++) {
		ASSERT_EQ(0, srv_evict(&self->srv));
		for (i = 0; i < 4; i++) {
			before = getmaps(&self->srv);
			fd[i] = srv_open_file(&self->srv, names[i], O_RDWR);
			ASSERT_GE(fd[i], 0);
			EXPECT_EQ(before + 1, getmaps(&self->srv));
			EXPECT_EQ(0, open_check(_metadata, self, i));
		}
		/* An open file's inode is not evicted: its map stays. */
		before = getmaps(&self->srv);
		ASSERT_EQ(0, evict_unused());
		for (i = 0; i < 4; i++) {
			EXPECT_EQ(0, open_check(_metadata, self, i));
			close(fd[i]);
		}
		EXPECT_EQ(before, getmaps(&self->srv));
	}
}

/* Sum of the "min" and "low" watermarks of every zone, in bytes. */
static void watermarks(long *min, long *low)
{
	char line[256];
	long v;
	FILE *f = fopen("/proc/zoneinfo", "r");

	*min = *low = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " min %ld", &v) == 1)
			*min += v * SZ_4K;
		else if (sscanf(line, " low %ld", &v) == 1)
			*low += v * SZ_4K;
	}
	fclose(f);
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10) * 1024;
	fclose(f);
	return v;
}

/* What the hog saw and did, for the log. */
struct hog_info {
	atomic_int stop;
	long free0, min, low, mib;
};

/*
 * Allocate anonymous memory, 1 MiB at a time, until free memory is below the
 * low watermark (every allocation wakes kswapd), and if nothing was evicted
 * after 3 s, down to 2 MiB above the min watermark (nothing is ever killed);
 * hold it until told to stop, at most 15 s more.  Runs in a child the OOM
 * killer would pick first.
 */
static void hog(struct hog_info *h)
{
	long chunk = SZ_1M, target, free, held = 0;
	int phase = 0;
	char *p;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	write_str("/proc/self/oom_score_adj", "1000");
	watermarks(&h->min, &h->low);
	h->free0 = meminfo_kb("MemFree");
	while (!h->stop) {
		free = meminfo_kb("MemFree");
		target = phase ? h->min + 2 * chunk : h->low - chunk;
		if (free > target && free > h->min + 2 * chunk) {
			p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				break;
			memset(p, 0x5a, chunk);
			h->mib++;
			continue;
		}
		usleep(100 * 1000);
		held += 100;
		if (!phase && held >= 3000) {
			phase = 1;
			held = 0;
		} else if (phase && held >= 15000) {
			break;
		}
	}
	_exit(0);
}

/*
 * With vm.vfs_cache_pressure high, a memory hog makes reclaim evict the
 * unused inodes; every file's map is then fetched again on its next open,
 * with one GETMAP for an evicted inode and none for one that survived.
 * Reclaim scans a small cache only when it gets desperate, so 4096 plain
 * files are looked up after the mapped ones: the mapped ones are the oldest
 * entries of a cache that the first reclaim pass already scans.
 */
TEST_F_TIMEOUT(press, memory_hog_evicts, 300)
{
	struct hog_info *h;
	long forgets, before, got, total = 0;
	int i, fd, status;
	pid_t pid;

	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, h);
	memset(h, 0, sizeof(*h));
	ASSERT_EQ(0, write_str(PRESSURE, "10000"));
	ASSERT_EQ(0, srv_mount(&self->srv));
	for (i = 0; i < NFILES; i++) {
		fd = srv_open_file(&self->srv, names[i], O_RDWR);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(0, fill_pwrite(fd, self->seed + i, 0, FSIZE));
		close(fd);
	}
	EXPECT_EQ(NFILES, getmaps(&self->srv));
	self->srv.nfiles = NFILES + NFILL;
	for (i = NFILES; i < NFILES + NFILL; i++) {
		char path[PATH_MAX];
		struct stat st;

		srv_path(&self->srv, names[i], path, sizeof(path));
		ASSERT_EQ(0, stat(path, &st));
	}
	forgets = srv_forgets(&self->srv);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		hog(h);
	/* Until an inode is evicted, or the hog gives up (18 s at most). */
	while (srv_forgets(&self->srv) == forgets &&
	       waitpid(pid, &status, WNOHANG) == 0)
		usleep(10 * 1000);
	h->stop = 1;
	waitpid(pid, &status, 0);
	TH_LOG("MemFree %ld MiB, watermarks min %ld low %ld MiB; hog took %ld MiB",
	       h->free0 >> 20, h->min >> 20, h->low >> 20, h->mib);
	EXPECT_TRUE(WIFEXITED(status)) {
		TH_LOG("the hog was killed: status %#x", status);
	}
	TH_LOG("%ld FORGETs under pressure", srv_forgets(&self->srv) - forgets);
	ASSERT_LT(forgets, srv_forgets(&self->srv)) {
		TH_LOG("memory pressure evicted nothing");
	}
	for (i = 0; i < NFILES; i++) {
		before = getmaps(&self->srv);
		got = open_check(_metadata, self, i);
		EXPECT_TRUE(got == 0 || got == 1) {
			TH_LOG("%s: %ld GETMAPs", names[i], got);
		}
		total += got;
		/* Installed again: the next open fetches nothing. */
		EXPECT_EQ(0, open_check(_metadata, self, i));
		EXPECT_EQ(before + got, getmaps(&self->srv));
	}
	TH_LOG("%ld maps fetched again", total);
	EXPECT_LE(1, total);
	munmap(h, sizeof(*h));
}

/* Write the pattern of device offsets [dev, dev + len) through @fd. */
static int fill_dev(int fd, uint32_t seed, uint64_t dev, size_t len)
{
	unsigned char buf[64 * 1024];
	size_t off;

	for (off = 0; off < len; off += sizeof(buf)) {
		fill(buf, sizeof(buf), seed, dev + off);
		if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
			return -1;
	}
	return 0;
}

/* The file's data, through read(2) and a mapping, is device [dev, +len). */
static int is_dev(int fd, uint32_t seed, uint64_t dev, size_t len)
{
	unsigned char *buf = malloc(len), *map;
	int ret = 0;

	if (!buf || pread(fd, buf, len, 0) != (ssize_t)len ||
	    mismatch(buf, len, seed, dev) >= 0)
		ret = -1;
	free(buf);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -2;
	if (mismatch(map, len, seed, dev) >= 0)
		ret = ret ?: -3;
	munmap(map, len);
	return ret;
}

/*
 * The server moves a file between two device locations while the test keeps
 * evicting it: an open while the inode lives keeps the old map (no GETMAP),
 * the first open after an eviction fetches the new one, and its data, read
 * and mapped, is the new location's.
 */
TEST_F_TIMEOUT(press, map_changes_between_evictions, 120)
{
	struct srv_file *m = &self->f[0];
	const uint32_t where[2] = { MOVE_A, MOVE_B };
	uint64_t dev;
	long before;
	int fd, fd2, round, k;

	m->size = MSIZE;
	self->srv.nfiles = 1;
	ASSERT_EQ(0, srv_mount(&self->srv));
	/* Each location holds the pattern of its own device offsets. */
	for (k = 0; k < 2; k++) {
		m->base_mib = where[k];
		if (k)
			ASSERT_EQ(0, srv_evict(&self->srv));
		fd = srv_open_file(&self->srv, m->name, O_RDWR);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(0, fill_dev(fd, self->seed, where[k] * SZ_1M, MSIZE));
		close(fd);
	}
	for (round = 0; round < 6; round++) {
		k = round & 1;
		m->base_mib = where[k];
		ASSERT_EQ(0, srv_evict(&self->srv));
		before = getmaps(&self->srv);
		fd = srv_open_file(&self->srv, m->name, O_RDWR);
		ASSERT_GE(fd, 0);
		EXPECT_EQ(before + 1, getmaps(&self->srv));
		dev = where[k] * SZ_1M;
		EXPECT_EQ(0, is_dev(fd, self->seed, dev, MSIZE)) {
			TH_LOG("round %d: not the data at %u MiB", round,
			       where[k]);
		}
		/* Moved again while the inode lives: nothing changes. */
		m->base_mib = where[!k];
		fd2 = srv_open_file(&self->srv, m->name, O_RDWR);
		ASSERT_GE(fd2, 0);
		EXPECT_EQ(before + 1, getmaps(&self->srv));
		EXPECT_EQ(0, is_dev(fd2, self->seed, dev, MSIZE));
		close(fd2);
		close(fd);
	}
}

TEST_HARNESS_MAIN
