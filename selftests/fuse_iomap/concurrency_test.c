// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE iomap-DAX under concurrency: first opens racing to install a file's
 * map, from threads and from processes; opens, mmaps, 4 KiB (PTE) and 2 MiB
 * (PMD) faults, reads, writes and closes of the same and of different files
 * at once, on one connection and on two connections over two devices; a lazy
 * unmount (MNT_DETACH) racing with opens and with faults; unloading the famfs
 * provider module while a mount uses it and after.
 *
 * Every byte read back, through read(2) or a mapping, must equal the seeded
 * pattern at its file offset; writers only ever write the pattern, so the
 * expected content never changes while they race.  Each scenario runs a fixed
 * number of iterations.  Uses /dev/dax0.0 at 600 MiB and up and /dev/dax1.0
 * at 360 MiB, which no other test writes, and leaves both bound to fsdev_dax
 * and both provider modules loaded.  Needs root, the "identity" test
 * provider (famfs_module_unload also famfs_iomap, as a module) and both
 * devices named in FUSE_IOMAP_DAX_DEVS (see iomap_test_util.h); skips
 * without them.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/famfs_fmap.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define NFILES		4
#define FSIZE		(4 * SZ_1M)
#define SLICE		(64 * 1024)
#define WINDOW		(128 * 1024)	/* < 2 MiB: PTE faults only */
#define FAMFS_MOD	"famfs_iomap"
#define FAMFS_OFF	(632 * SZ_1M)	/* the famfs file on dax0.0 */

/* Four files of dax0.0 and two of dax1.0, 2 MiB aligned (PMD faults). */
static const struct srv_file files0[NFILES] = {
	{ .name = "c0", .size = FSIZE, .base_mib = 600 },
	{ .name = "c1", .size = FSIZE, .base_mib = 608 },
	{ .name = "c2", .size = FSIZE, .base_mib = 616 },
	{ .name = "c3", .size = FSIZE, .base_mib = 624 },
};

static const struct srv_file files1[2] = {
	{ .name = "d0", .size = FSIZE, .base_mib = 360 },
	{ .name = "d1", .size = FSIZE, .base_mib = 368 },
};

/* The files a worker picks from, on one mount. */
struct target {
	struct srv *s;
	const struct srv_file *f;
	unsigned int n;
	uint32_t seed;		/* file i has the pattern seed + i */
};

struct worker {
	struct target *t;
	unsigned int ntargets;
	unsigned int rnd;
	unsigned int iters;
	unsigned int ops[5];	/* done, by kind */
	int errors;
	char err[200];
};

static void __printf(2, 3)
fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
}

/* A random slice of a file, SZ_4K aligned. */
static uint64_t rand_off(struct worker *w, size_t len)
{
	return (rand_r(&w->rnd) % ((FSIZE - len) / SZ_4K + 1)) * SZ_4K;
}

/* One open-use-close of a random file; kinds: read, write, PMD, PTE map. */
static void one_op(struct worker *w)
{
	struct target *t = &w->t[rand_r(&w->rnd) % w->ntargets];
	unsigned int i = rand_r(&w->rnd) % t->n, kind = rand_r(&w->rnd) % 4;
	const char *name = t->f[i].name;
	uint32_t seed = t->seed + i;
	unsigned char page[SZ_4K], *map;
	uint64_t off, at;
	long bad;
	int fd;

	fd = srv_open_file(t->s, name, O_RDWR);
	if (fd < 0) {
		fail(w, "open %s: %s", name, strerror(errno));
		return;
	}
	w->ops[kind]++;
	switch (kind) {
	case 0:
		off = rand_off(w, SLICE);
		bad = check_pread(fd, seed, off, SLICE);
		if (bad != -1)
			fail(w, "read %s at %#llx: byte %ld differs", name,
			     (unsigned long long)off, bad);
		break;
	case 1:
		off = rand_off(w, SLICE);
		if (fill_pwrite(fd, seed, off, SLICE))
			fail(w, "write %s at %#llx: %s", name,
			     (unsigned long long)off, strerror(errno));
		break;
	case 2:
		/* The whole file: 2 MiB aligned, so PMD faults. */
		map = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED) {
			fail(w, "mmap %s: %s", name, strerror(errno));
			break;
		}
		off = rand_off(w, SLICE);
		bad = mismatch(map + off, SLICE, seed, off);
		if (bad >= 0)
			fail(w, "map of %s at %#llx: byte %ld differs", name,
			     (unsigned long long)off, bad);
		off = rand_off(w, SZ_4K);
		fill(page, SZ_4K, seed, off);
		memcpy(map + off, page, SZ_4K);
		munmap(map, FSIZE);
		break;
	case 3:
		/* A small window at a 4 KiB offset: PTE faults. */
		at = rand_off(w, WINDOW) | SZ_4K;
		if (at + WINDOW > FSIZE)
			at -= 2 * SZ_4K;
		map = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, at);
		if (map == MAP_FAILED) {
			fail(w, "mmap %s at %#llx: %s", name,
			     (unsigned long long)at, strerror(errno));
			break;
		}
		off = rand_r(&w->rnd) % (WINDOW / SZ_4K) * SZ_4K;
		fill(page, SZ_4K, seed, at + off);
		memcpy(map + off, page, SZ_4K);
		bad = mismatch(map, WINDOW, seed, at);
		if (bad >= 0)
			fail(w, "window of %s at %#llx: byte %ld differs", name,
			     (unsigned long long)at, bad);
		munmap(map, WINDOW);
		break;
	}
	close(fd);
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	for (i = 0; i < w->iters; i++)
		one_op(w);
	return NULL;
}

/*
 * @nproc processes (the caller is one, the others forked) of @nthr threads
 * each run @iters operations on random files of @t.  Returns the errors.
 */
static int storm(struct __test_metadata *_metadata, struct target *t,
		 unsigned int nt, int nproc, int nthr, unsigned int iters)
{
	struct worker w[16];
	pthread_t th[16];
	pid_t pid[8] = { 0 };
	int p, i, errors = 0, status;

	/* Process 0 is the caller; the others are forked first. */
	for (p = nproc - 1; p >= 0; p--) {
		if (p) {
			pid[p] = fork();
			if (pid[p] < 0)
				return 1000;
			if (pid[p])
				continue;
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		}
		for (i = 0; i < nthr; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].t = t;
			w[i].ntargets = nt;
			w[i].rnd = t->seed * 31 + p * 1000 + i;
			w[i].iters = iters;
			pthread_create(&th[i], NULL, worker_thread, &w[i]);
		}
		for (i = 0; i < nthr; i++) {
			pthread_join(th[i], NULL);
			if (w[i].errors)
				fprintf(stderr, "# process %d thread %d: %d errors, first: %s\n",
					p, i, w[i].errors, w[i].err);
			errors += w[i].errors;
		}
		if (p)
			_exit(errors ? 1 : 0);
	}
	for (p = 1; p < nproc; p++) {
		if (waitpid(pid[p], &status, 0) != pid[p] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("process %d: status %#x", p, status);
			errors++;
		}
	}
	return errors;
}

/* Fill every file of @t with its pattern, then check every byte. */
static void fill_all(struct __test_metadata *_metadata, struct target *t)
{
	unsigned int i;
	int fd;

	for (i = 0; i < t->n; i++) {
		fd = srv_open_file(t->s, t->f[i].name, O_RDWR);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(0, fill_pwrite(fd, t->seed + i, 0, FSIZE));
		close(fd);
	}
}

static void check_all(struct __test_metadata *_metadata, struct target *t)
{
	unsigned int i;
	int fd;

	for (i = 0; i < t->n; i++) {
		fd = srv_open_file(t->s, t->f[i].name, O_RDONLY);
		ASSERT_GE(fd, 0) {
			TH_LOG("open %s: %s", t->f[i].name, strerror(errno));
		}
		EXPECT_EQ(-1, check_pread(fd, t->seed + i, 0, FSIZE)) {
			TH_LOG("file %s differs from its pattern", t->f[i].name);
		}
		close(fd);
	}
}

FIXTURE(conc)
{
	struct srv a;
	struct srv b;
	struct target ta;
	struct target tb;
	uint32_t seed;
};

FIXTURE_SETUP(conc)
{
	const char *why;

	srv_init(&self->a, "/dev/dax0.0");
	srv_init(&self->b, "/dev/dax1.0");
	self->a.files = files0;
	self->a.nfiles = NFILES;
	self->b.files = files1;
	self->b.nfiles = 2;
	self->seed = getpid() ^ time(NULL) ^ 0x1f2e3d4c;
	self->ta = (struct target){ &self->a, files0, NFILES, self->seed };
	self->tb = (struct target){ &self->b, files1, 2, self->seed ^ 0xffff };
	why = need_root() ?: need_dax("dax0.0", FAMFS_OFF + FSIZE) ?:
	      need_dax("dax1.0", 372 * SZ_1M) ?: need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, dax_bind("dax0.0", "fsdev_dax"));
	ASSERT_EQ(0, dax_bind("dax1.0", "fsdev_dax"));
}

FIXTURE_TEARDOWN(conc)
{
	srv_stop(&self->a);
	srv_stop(&self->b);
}

struct opener {
	struct srv *s;
	const char *name;
	pthread_barrier_t *bar;
	uint32_t seed;
	uint64_t off;
	long res;	/* -1: every byte matched */
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;
	int fd;

	pthread_barrier_wait(o->bar);
	fd = srv_open_file(o->s, o->name, O_RDWR);
	if (fd < 0) {
		o->res = -1000 - errno;
		return NULL;
	}
	o->res = check_pread(fd, o->seed, o->off, FSIZE / 16);
	close(fd);
	return NULL;
}

#define NOPEN	16

/*
 * Sixteen threads open an evicted file at once, each then reads its sixteenth
 * of it.  Protocol: the first of concurrent opens installs its map, the others
 * free theirs; so between 1 and 16 GETMAPs, and none for later opens.
 */
TEST_F_TIMEOUT(conc, first_opens_threads, 120)
{
	struct opener o[NOPEN];
	pthread_t t[NOPEN];
	pthread_barrier_t bar;
	long getmaps;
	int round, i, fd;

	ASSERT_EQ(0, srv_mount(&self->a));
	fill_all(_metadata, &self->ta);
	/* The server is slow: every opener is waiting for a GETMAP at once. */
	self->a.getmap_delay_ms = 20;
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, srv_evict(&self->a));
		getmaps = srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP);
		pthread_barrier_init(&bar, NULL, NOPEN);
		for (i = 0; i < NOPEN; i++) {
			o[i] = (struct opener){ &self->a, "c0", &bar,
						self->seed, i * (FSIZE / 16),
						-3 };
			ASSERT_EQ(0, pthread_create(&t[i], NULL, open_thread,
						    &o[i]));
		}
		for (i = 0; i < NOPEN; i++) {
			pthread_join(t[i], NULL);
			EXPECT_EQ(-1, o[i].res) {
				TH_LOG("opener %d: %ld", i, o[i].res);
			}
		}
		pthread_barrier_destroy(&bar);
		getmaps = srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP) - getmaps;
		TH_LOG("round %d: %ld GETMAPs for %d racing first opens",
		       round, getmaps, NOPEN);
		EXPECT_GE(getmaps, 1);
		EXPECT_LE(getmaps, NOPEN);
		/* Installed once: a later open asks nothing. */
		getmaps = srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP);
		fd = srv_open_file(&self->a, "c0", O_RDONLY);
		ASSERT_GE(fd, 0);
		EXPECT_EQ(-1, check_pread(fd, self->seed, 0, FSIZE));
		close(fd);
		EXPECT_EQ(getmaps, srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP));
	}
}

#define NPROC	8

/* The same with processes; each child reports its result as exit status. */
TEST_F_TIMEOUT(conc, first_opens_processes, 120)
{
	int go[2], status, i, fd;
	long getmaps;
	pid_t pid[NPROC];
	char c;

	ASSERT_EQ(0, srv_mount(&self->a));
	fill_all(_metadata, &self->ta);
	ASSERT_EQ(0, srv_evict(&self->a));
	self->a.getmap_delay_ms = 20;
	getmaps = srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP);
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < NPROC; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(go[1]);
			/* Released together: the parent closes the pipe. */
			if (read(go[0], &c, 1) != 0)
				_exit(2);
			fd = srv_open_file(&self->a, "c1", O_RDWR);
			if (fd < 0)
				_exit(3);
			_exit(check_pread(fd, self->seed + 1,
					  i * (FSIZE / NPROC),
					  FSIZE / NPROC) == -1 ? 0 : 4);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < NPROC; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
			TH_LOG("opener %d: status %#x", i, status);
		}
	}
	getmaps = srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP) - getmaps;
	TH_LOG("%ld GETMAPs for %d racing first opens", getmaps, NPROC);
	EXPECT_GE(getmaps, 1);
	EXPECT_LE(getmaps, NPROC);
	getmaps = srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP);
	fd = srv_open_file(&self->a, "c1", O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, check_pread(fd, self->seed + 1, 0, FSIZE));
	close(fd);
	EXPECT_EQ(getmaps, srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP));
}

/*
 * A 4 KiB and a 2 MiB fault of the same range at once: one thread turns THP
 * off and on for the process (PR_SET_THP_DISABLE) while two others store to
 * the first and the last page of a fresh 2 MiB mapping, so that one takes a
 * PMD fault while the other takes a PTE fault.  Without a DAX entry to
 * serialise them, the PMD must not be mapped over a page table nor a page
 * under a PMD: every store lands in the file, and the kernel warns of
 * nothing.
 */
#define RACE_ROUNDS	400

struct size_racer {
	unsigned char **map;	/* set between rounds, behind the barrier */
	size_t off;
	pthread_barrier_t *bar;
	atomic_int *stop;
};

static void *race_store(void *arg)
{
	struct size_racer *r = arg;
	int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		pthread_barrier_wait(r->bar);
		__atomic_load_n(r->map, __ATOMIC_ACQUIRE)[r->off] = (unsigned char)i;
		pthread_barrier_wait(r->bar);
	}
	return NULL;
}

static void *race_thp(void *arg)
{
	struct size_racer *r = arg;
	unsigned long on = 0;

	while (!atomic_load(r->stop)) {
		prctl(PR_SET_THP_DISABLE, on, 0, 0, 0);
		on = !on;
	}
	prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
	return NULL;
}

TEST_F_TIMEOUT(conc, pte_pmd_race, 300)
{
	unsigned char *map = NULL, *want, *m;
	struct size_racer r[3];
	pthread_barrier_t bar;
	pthread_t t[3];
	atomic_int stop = 0;
	char log[16384];
	int fd, kmsg, i, failed = 0;

	ASSERT_EQ(0, srv_mount(&self->a));
	fd = srv_open_file(&self->a, files0[0].name, O_RDWR);
	ASSERT_GE(fd, 0);
	kmsg = kmsg_open();
	ASSERT_GE(kmsg, 0);
	/* A 2 MiB aligned address to map at, again and again. */
	want = mmap(NULL, 2 * SZ_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, want);
	munmap(want, 2 * SZ_2M);
	want = (unsigned char *)(((uintptr_t)want + SZ_2M - 1) & ~(SZ_2M - 1));

	pthread_barrier_init(&bar, NULL, 3);
	r[0] = (struct size_racer){ &map, 0, &bar, &stop };
	r[1] = (struct size_racer){ &map, SZ_2M - 1, &bar, &stop };
	r[2] = (struct size_racer){ &map, 0, &bar, &stop };
	ASSERT_EQ(0, pthread_create(&t[0], NULL, race_store, &r[0]));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, race_store, &r[1]));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, race_thp, &r[2]));
	for (i = 0; i < RACE_ROUNDS; i++) {
		m = mmap(want, SZ_2M, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, SZ_2M);
		if (m == MAP_FAILED) {
			/* Somewhere to store, so that the threads go on. */
			m = mmap(want, SZ_2M, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0);
			failed++;
		}
		__atomic_store_n(&map, m, __ATOMIC_RELEASE);
		pthread_barrier_wait(&bar);	/* store */
		pthread_barrier_wait(&bar);	/* stored */
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	EXPECT_EQ(0, failed);
	munmap(want, SZ_2M);

	/* The last round's stores are in the file. */
	{
		unsigned char c;

		EXPECT_EQ(1, pread(fd, &c, 1, SZ_2M));
		EXPECT_EQ((unsigned char)(RACE_ROUNDS - 1), c);
		EXPECT_EQ(1, pread(fd, &c, 1, 2 * SZ_2M - 1));
		EXPECT_EQ((unsigned char)(RACE_ROUNDS - 1), c);
	}
	close(fd);
	kmsg_read(kmsg, log, sizeof(log));
	close(kmsg);
	EXPECT_EQ(0, count_str(log, "WARNING"));
	EXPECT_EQ(0, count_str(log, "BUG"));
	EXPECT_EQ(0, count_str(log, "Out of memory"));
}

/*
 * Three processes of four threads open, read, write, map (whole file: PMD
 * faults; a window at a 4 KiB offset: PTE faults) and close the four files
 * at random, the same file and different files at once.
 */
TEST_F_TIMEOUT(conc, io_storm, 300)
{
	unsigned int i;
	int pmds = 0;

	ASSERT_EQ(0, srv_mount(&self->a));
	fill_all(_metadata, &self->ta);
	ASSERT_EQ(0, srv_evict(&self->a));
	ASSERT_EQ(0, trace_pmd(1));
	EXPECT_EQ(0, storm(_metadata, &self->ta, 1, 3, 4, 40));
	for (i = 0; i < NFILES; i++)
		pmds += trace_pmd_count(2 + i);
	trace_pmd(0);
	TH_LOG("PMD faults: %d", pmds);
	EXPECT_GT(pmds, 0);
	check_all(_metadata, &self->ta);
	/* Every open after the first found the map installed. */
	EXPECT_LE(srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP), 3 * 4 * NFILES);
}

/* Two connections, on /dev/dax0.0 and /dev/dax1.0, at once. */
TEST_F_TIMEOUT(conc, two_devices, 300)
{
	struct target both[2] = { self->ta, self->tb };

	ASSERT_EQ(0, srv_mount(&self->a));
	ASSERT_EQ(0, srv_mount(&self->b));
	fill_all(_metadata, &self->ta);
	fill_all(_metadata, &self->tb);
	EXPECT_EQ(0, storm(_metadata, both, 2, 2, 4, 40));
	check_all(_metadata, &self->ta);
	check_all(_metadata, &self->tb);

	/* New connections find every byte at its device address. */
	srv_stop(&self->a);
	srv_stop(&self->b);
	srv_init(&self->a, "/dev/dax0.0");
	srv_init(&self->b, "/dev/dax1.0");
	self->a.files = files0;
	self->a.nfiles = NFILES;
	self->b.files = files1;
	self->b.nfiles = 2;
	ASSERT_EQ(0, srv_mount(&self->b));
	ASSERT_EQ(0, srv_mount(&self->a));
	check_all(_metadata, &self->ta);
	check_all(_metadata, &self->tb);
}

struct racer {
	struct srv *s;
	int dirfd;		/* >= 0: open relative to it */
	unsigned int idx;
	uint32_t seed;
	atomic_int *stop;
	atomic_long ok;
	atomic_long enoent;
	long errors;
	long last_err;
	unsigned char *map;	/* fault racers */
};

static void *lazy_opener(void *arg)
{
	struct racer *r = arg;
	const char *name = files0[r->idx].name;
	unsigned char buf[SZ_4K];
	unsigned int rnd = r->idx;
	uint64_t off;
	int fd;

	while (!*r->stop) {
		fd = r->dirfd >= 0 ? openat(r->dirfd, name, O_RDWR) :
				     srv_open_file(r->s, name, O_RDWR);
		if (fd < 0) {
			if (errno == ENOENT && r->dirfd < 0) {
				r->enoent++;
			} else {
				r->errors++;
				r->last_err = errno;
			}
			continue;
		}
		off = rand_r(&rnd) % (FSIZE / SZ_4K) * SZ_4K;
		if (pread(fd, buf, SZ_4K, off) != (ssize_t)SZ_4K ||
		    mismatch(buf, SZ_4K, r->seed, off) >= 0) {
			r->errors++;
			r->last_err = -1;
		}
		close(fd);
		r->ok++;
	}
	return NULL;
}

static void *lazy_faulter(void *arg)
{
	struct racer *r = arg;
	unsigned char page[SZ_4K];
	unsigned int rnd = r->idx;
	uint64_t off;

	while (!*r->stop) {
		off = rand_r(&rnd) % (FSIZE / SZ_4K) * SZ_4K;
		if (mismatch(r->map + off, SZ_4K, r->seed, off) >= 0) {
			r->errors++;
			r->last_err = off;
		}
		fill(page, SZ_4K, r->seed, off);
		memcpy(r->map + off, page, SZ_4K);
		/* Fault again: zap the page from this mapping. */
		madvise(r->map + (off & ~(SZ_2M - 1)), SZ_2M, MADV_DONTNEED);
		r->ok++;
	}
	return NULL;
}

/* Wait (bounded) until @cnt reaches @want. */
static int wait_count(atomic_long *cnt, long want)
{
	int i;

	for (i = 0; i < 20000 && *cnt < want; i++)
		usleep(1000);
	return *cnt >= want ? 0 : -1;
}

/*
 * umount -l while opens (by path and relative to a directory opened before)
 * and faults of mapped files run: opens by path fail with ENOENT from then
 * on, opens relative to the directory and faults keep working and see the
 * data, and once the last reference is gone the device mounts again.
 */
TEST_F_TIMEOUT(conc, lazy_umount_races, 300)
{
	atomic_int stop = 0;
	struct racer r[5];
	pthread_t t[5];
	int fds[2], dirfd, i;
	long forgets;

	ASSERT_EQ(0, srv_mount(&self->a));
	fill_all(_metadata, &self->ta);
	ASSERT_EQ(0, srv_evict(&self->a));
	dirfd = open(self->a.dir, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dirfd, 0);
	for (i = 0; i < 5; i++) {
		r[i] = (struct racer){ .s = &self->a, .dirfd = -1, .idx = i % 2,
				       .stop = &stop, .map = NULL };
		r[i].seed = self->seed + r[i].idx;
	}
	r[2].dirfd = dirfd;
	r[2].idx = 1;
	r[2].seed = self->seed + 1;
	for (i = 3; i < 5; i++) {
		r[i].idx = i - 1;
		r[i].seed = self->seed + i - 1;
		fds[i - 3] = srv_open_file(&self->a, files0[i - 1].name,
					   O_RDWR);
		ASSERT_GE(fds[i - 3], 0);
		r[i].map = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE,
				MAP_SHARED, fds[i - 3], 0);
		ASSERT_NE(MAP_FAILED, r[i].map);
	}
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i < 3 ? lazy_opener : lazy_faulter,
					    &r[i]));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, wait_count(&r[i].ok, 20));
	ASSERT_EQ(0, umount2(self->a.dir, MNT_DETACH));
	self->a.mounted = 0;
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, wait_count(&r[i].enoent, 20));
	for (i = 2; i < 5; i++) {
		long now = r[i].ok;

		EXPECT_EQ(0, wait_count(&r[i].ok, now + 20));
	}
	stop = 1;
	for (i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, r[i].errors) {
			TH_LOG("racer %d: %ld errors, last %ld", i,
			       r[i].errors, r[i].last_err);
		}
		TH_LOG("racer %d: %ld ok, %ld ENOENT", i, r[i].ok,
		       r[i].enoent);
	}
	for (i = 3; i < 5; i++) {
		EXPECT_EQ(-1, mismatch(r[i].map, FSIZE, r[i].seed, 0));
		munmap(r[i].map, FSIZE);
		close(fds[i - 3]);
	}
	/* The detached mount goes with its last reference. */
	forgets = srv_forgets(&self->a);
	close(dirfd);
	srv_stop(&self->a);
	TH_LOG("forgets at the end: %ld", srv_forgets(&self->a) - forgets);

	srv_init(&self->a, "/dev/dax0.0");
	self->a.files = files0;
	self->a.nfiles = NFILES;
	ASSERT_EQ(0, srv_mount(&self->a)) {
		TH_LOG("the device is still held by the detached mount");
	}
	check_all(_metadata, &self->ta);
}

/* A famfs fmap blob of one simple extent of @len bytes at @off of device 0. */
static void *famfs_blob(uint64_t off, uint64_t len, uint32_t *blen)
{
	struct {
		struct famfs_fmap_header h;
		struct famfs_fmap_simple_ext e;
	} *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->h.file_type = FAMFS_FMAP_REG;
	b->h.fmap_version = htole16(FAMFS_FMAP_VERSION);
	b->h.ext_type = htole32(FAMFS_FMAP_EXT_SIMPLE);
	b->h.nextents = htole32(1);
	b->h.fmap_size = htole32(sizeof(*b));
	b->h.file_size = htole64(len);
	b->e.se_offset = htole64(off);
	b->e.se_len = htole64(len);
	*blen = sizeof(*b);
	return b;
}

static long module_refs(const char *mod)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	return read_long(path);
}

static int famfs_reload(void)
{
	return mod_load(&famfs_mod);
}

/*
 * A mount of the famfs provider pins famfs_iomap (not the test provider):
 * unloading it fails while mounted and works after the unmount; reloaded,
 * a new mount reads what the first wrote.
 */
TEST_F_TIMEOUT(conc, famfs_module_unload, 300)
{
	struct srv_file ff = { .name = "f", .size = FSIZE };
	long fam, test;
	const char *why = need_module(&famfs_mod);
	uint32_t blen;
	int fd, err;

	if (why)
		SKIP(return, "%s", why);
	if (mod_builtin(&famfs_mod))
		SKIP(return, "famfs_iomap is built in: it cannot be unloaded");
	ff.blob = famfs_blob(FAMFS_OFF, FSIZE, &blen);
	ASSERT_NE(NULL, ff.blob);
	ff.blob_len = blen;
	ASSERT_EQ(0, famfs_reload());
	self->a.files = &ff;
	self->a.nfiles = 1;
	snprintf(self->a.provider, sizeof(self->a.provider), "famfs");

	fam = module_refs(FAMFS_MOD);
	test = module_refs(PROVIDER_MOD);
	ASSERT_EQ(0, srv_mount(&self->a));
	EXPECT_EQ(fam + 1, module_refs(FAMFS_MOD));
	EXPECT_EQ(test, module_refs(PROVIDER_MOD));
	fd = srv_open_file(&self->a, "f", O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fill_pwrite(fd, self->seed, 0, FSIZE));

	err = syscall(SYS_delete_module, FAMFS_MOD, O_NONBLOCK) ? errno : 0;
	TH_LOG("delete_module while mounted: %s", strerror(err));
	EXPECT_TRUE(err == EBUSY || err == EAGAIN);
	ASSERT_EQ(0, access("/sys/module/" FAMFS_MOD, F_OK));
	EXPECT_EQ(-1, check_pread(fd, self->seed, 0, FSIZE));
	close(fd);
	/* Still pinned by the mount without open files. */
	err = syscall(SYS_delete_module, FAMFS_MOD, O_NONBLOCK) ? errno : 0;
	EXPECT_TRUE(err == EBUSY || err == EAGAIN);
	srv_stop(&self->a);
	EXPECT_EQ(fam, module_refs(FAMFS_MOD));

	err = syscall(SYS_delete_module, FAMFS_MOD, O_NONBLOCK) ? errno : 0;
	EXPECT_EQ(0, err) {
		TH_LOG("delete_module after the unmount: %s", strerror(err));
	}
	EXPECT_NE(0, access("/sys/module/" FAMFS_MOD, F_OK));
	/*
	 * Without it the famfs mount fails, unless the kernel loads it
	 * (request_module: modprobe, which the test guest does not have).
	 */
	if (!err) {
		srv_init(&self->b, "/dev/dax0.0");
		self->b.files = &ff;
		self->b.nfiles = 1;
		snprintf(self->b.provider, sizeof(self->b.provider), "famfs");
		err = srv_mount(&self->b);
		if (err || access("/sys/module/" FAMFS_MOD, F_OK))
			EXPECT_EQ(ENOENT, err);
		srv_stop(&self->b);
	}

	ASSERT_EQ(0, famfs_reload());
	srv_init(&self->a, "/dev/dax0.0");
	self->a.files = &ff;
	self->a.nfiles = 1;
	snprintf(self->a.provider, sizeof(self->a.provider), "famfs");
	ASSERT_EQ(0, srv_mount(&self->a));
	fd = srv_open_file(&self->a, "f", O_RDWR);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, check_pread(fd, self->seed, 0, FSIZE));
	close(fd);
	srv_stop(&self->a);
	free((void *)ff.blob);
}

TEST_HARNESS_MAIN
