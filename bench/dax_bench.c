// SPDX-License-Identifier: GPL-2.0
/*
 * dax_bench: one round of the make-bench measurements on one system.
 *
 *   dax_bench famfs SYSTEM MIB DAXDEV [DAXDEV2]
 *	a famfs file of MIB MiB through famfs_iomap, served by the FUSE test
 *	server with the "famfs" provider: one simple extent at offset 0 of
 *	DAXDEV, or with DAXDEV2 interleaved over both in 2 MiB chunks.  With
 *	one device, also the open() cost of maps of 1, 1k and 100k extents.
 *   dax_bench file SYSTEM MIB PATH
 *	PATH: a file of at least MIB MiB on a DAX file system (ext4 -o dax),
 *	or a device-dax device (/dev/daxX.Y).
 *   dax_bench fuse SYSTEM MIB
 *	plain FUSE without DAX (no iomap-DAX at INIT): page cache, reads
 *	served by the test server with FUSE_READ (zeros).
 *
 * Every result is one line on stdout, ROUND from the environment (BENCH_ROUND):
 *
 *   BENCH ROUND SYSTEM OP VALUE UNIT
 *
 * UNIT "ns" is guest CLOCK_MONOTONIC time per operation; under QEMU with
 * -icount shift=0 that is the number of emulated instructions.  UNIT
 * "count" is an event count.  Each operation runs once; the caller runs
 * rounds.  The file is cut into regions so that every fault pass touches
 * memory no earlier pass of this run touched (a DAX mapping keeps its
 * entries after munmap): with M = MIB,
 *
 *   [0, M/4)      2 MiB read faults     [M/4, M/2)    2 MiB write faults
 *   [M/2, 5M/8)   4 KiB read faults     [5M/8, 3M/4)  4 KiB write faults
 *   [3M/4, 7M/8)  two threads, 4 KiB    [7M/8, M)     N processes
 *
 * and the refault passes map the read regions again (entries present).
 *
 * read(2) and write(2) cover the whole file (for plain FUSE a second file,
 * so that the reads find an empty page cache).
 *
 * With BENCH_PROFILE=1 (make profile) a run takes, instead, one fault of each
 * kind at a fixed address (see profile()) for the debugger of
 * scripts/profile.sh to single-step.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/famfs_fmap.h>

#include "../selftests/fuse_iomap/fuse_iomap_server.h"

#define SZ_4K		4096UL
#define SZ_2M		(2UL << 20)
#define SZ_1M		(1UL << 20)

/* open() tests: files per map size for first opens, repeats of later opens. */
#define OPEN_FIRST	4
#define OPEN_FIRST_100K	2
#define OPEN_LATER	32
/* N processes: pages each one touches, twice. */
#define NPROC_PAGES	1024
#define NPROC_MAX	4

static const char *sys;
static const char *round_no = "1";
/* Set by fail(): a run with a failed step exits non-zero, its rows missing. */
static int failed;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void result(const char *op, double v, const char *unit)
{
	printf("BENCH %s %s %s %.0f %s\n", round_no, sys, op, v, unit);
	fflush(stdout);
}

/* Progress on stderr with BENCH_VERBOSE=1, to find where a run hangs. */
static void step(const char *what)
{
	const char *v = getenv("BENCH_VERBOSE");

	if (v && *v == '1')
		fprintf(stderr, "# %s: %s\n", sys, what);
}

static void fail(const char *what)
{
	fprintf(stderr, "dax_bench %s: %s: %s\n", sys, what, strerror(errno));
	failed = 1;
}

/* Map @len bytes at file offset @off, 2 MiB aligned so PMD faults are possible. */
static char *map_aligned(int fd, off_t off, size_t len, int huge)
{
	char *area, *p;

	area = mmap(NULL, len + SZ_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	p = (char *)(((unsigned long)area + SZ_2M - 1) & ~(SZ_2M - 1));
	munmap(area, len + SZ_2M);
	p = mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, off);
	if (p == MAP_FAILED)
		return NULL;
	if (!huge && madvise(p, len, MADV_NOHUGEPAGE))
		fail("madvise(MADV_NOHUGEPAGE)");
	return p;
}

/* Cost of one first touch, touching every @step bytes of a fresh mapping. */
static double fault_pass(int fd, off_t off, size_t len, size_t step, int huge, int wr)
{
	volatile char *p = (volatile char *)map_aligned(fd, off, len, huge);
	uint64_t t0, t;
	size_t o;

	if (!p) {
		fail("mmap");
		return -1;
	}
	t0 = now_ns();
	if (wr)
		for (o = 0; o < len; o += step)
			p[o] = 1;
	else
		for (o = 0; o < len; o += step)
			(void)p[o];
	t = now_ns() - t0;
	munmap((void *)p, len);
	return (double)t / (len / step);
}

static long vmstat(const char *name)
{
	char key[64];
	long v, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name)) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

static const char *tracefs;

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/* Count fs_dax PMD faults done, and those that fell back to PTEs. */
static int pmd_trace(int on)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[128];
	unsigned int i;

	if (!tracefs)
		for (i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
			snprintf(path, sizeof(path), "%s/trace", dirs[i]);
			if (!access(path, W_OK)) {
				tracefs = dirs[i];
				break;
			}
		}
	if (!tracefs)
		return -1;
	snprintf(path, sizeof(path), "%s/events/fs_dax/dax_pmd_fault_done/enable", tracefs);
	if (write_str(path, on ? "1" : "0"))
		return -1;
	if (on) {
		snprintf(path, sizeof(path), "%s/trace", tracefs);
		return write_str(path, "");
	}
	return 0;
}

static void pmd_trace_report(void)
{
	long done = 0, fallback = 0;
	char line[1024], path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", tracefs);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "dax_pmd_fault_done"))
			continue;
		if (strstr(line, "FALLBACK"))
			fallback++;
		else if (strstr(line, "NOPAGE"))
			done++;
	}
	fclose(f);
	pmd_trace(0);
	result("pmd_faults", done, "count");
	result("pmd_fallbacks", fallback, "count");
}

/* read(2) or write(2) of the whole file in 1 MiB calls: cost per MiB. */
static double rw_pass(int fd, size_t len, int wr)
{
	char *buf = malloc(SZ_1M);
	uint64_t t0, t;
	size_t off;
	ssize_t n;

	if (!buf)
		return -1;
	memset(buf, wr ? 0x5a : 0, SZ_1M);
	t0 = now_ns();
	for (off = 0; off < len; off += SZ_1M) {
		n = wr ? pwrite(fd, buf, SZ_1M, off) : pread(fd, buf, SZ_1M, off);
		if (n != (ssize_t)SZ_1M) {
			fail(wr ? "pwrite" : "pread");
			free(buf);
			return -1;
		}
	}
	t = now_ns() - t0;
	free(buf);
	return (double)t / (len / SZ_1M);
}

/* Two threads taking the 4 KiB faults of one mapping, alternate pages. */
struct thr {
	volatile char *p;
	size_t len;
	int id;
};

static void *thr_touch(void *arg)
{
	struct thr *t = arg;
	size_t o;

	for (o = t->id * SZ_4K; o < t->len; o += 2 * SZ_4K)
		(void)t->p[o];
	return NULL;
}

static void threads_pass(int fd, off_t off, size_t len)
{
	volatile char *p = (volatile char *)map_aligned(fd, off, len, 0);
	struct thr t[2];
	pthread_t tid[2];
	long retry0, retry1;
	uint64_t t0, dt;
	int i;

	if (!p) {
		fail("mmap");
		return;
	}
	retry0 = vmstat("vma_lock_retry");
	t0 = now_ns();
	for (i = 0; i < 2; i++) {
		t[i] = (struct thr){ .p = p, .len = len, .id = i };
		pthread_create(&tid[i], NULL, thr_touch, &t[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	dt = now_ns() - t0;
	retry1 = vmstat("vma_lock_retry");
	munmap((void *)p, len);
	result("thr2_fault_4k", (double)dt / (len / SZ_4K), "ns");
	if (retry0 >= 0 && retry1 >= 0)
		result("thr2_vma_lock_retry", retry1 - retry0, "count");
}

/*
 * N processes map the same range; each touches its pages, all open the file
 * again, each touches its pages again.  Faults per process: NPROC_PAGES if
 * no open tears down another process's mapping, up to twice that if it does.
 */
static long nproc_faults(const char *path, off_t off, size_t npages, int n)
{
	struct pollfd pfd;
	pid_t pid[NPROC_MAX];
	int ready[2], go[3][2], res[2];
	long worst = -1, v;
	char c;
	int i, k;

	/* A pipe per barrier: a process never takes the token of another's. */
	if (pipe(ready) || pipe(go[0]) || pipe(go[1]) || pipe(go[2]) || pipe(res))
		return -1;
	for (i = 0; i < n; i++) {
		pid[i] = fork();
		if (pid[i])
			continue;
		/* The child: no stdio, no malloc (the parent has threads). */
		{
			size_t len = npages * SZ_4K, o;
			volatile char *p;
			struct rusage r0, r1;
			int fd = open(path, O_RDWR), fd2;

			p = fd < 0 ? NULL : (volatile char *)map_aligned(fd, off, len, 0);
			getrusage(RUSAGE_SELF, &r0);
			for (k = 0; k < 2; k++) {
				if (p)
					for (o = 0; o < len; o += SZ_4K)
						(void)p[o];
				if (write(ready[1], "r", 1) != 1 ||
				    read(go[2 * k][0], &c, 1) != 1)
					_exit(1);
				if (!k) {
					fd2 = open(path, O_RDWR);
					if (fd2 >= 0)
						close(fd2);
					if (write(ready[1], "r", 1) != 1 ||
					    read(go[1][0], &c, 1) != 1)
						_exit(1);
				}
			}
			getrusage(RUSAGE_SELF, &r1);
			v = p ? r1.ru_minflt - r0.ru_minflt + r1.ru_majflt - r0.ru_majflt : -1;
			if (write(res[1], &v, sizeof(v)) != sizeof(v))
				_exit(1);
			_exit(0);
		}
	}
	/* Three barriers: touched, opened again, touched again. */
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	for (k = 0; k < 3; k++) {
		for (i = 0; i < n; i++)
			if (poll(&pfd, 1, 20000) != 1 || read(ready[0], &c, 1) != 1) {
				fprintf(stderr, "dax_bench %s: N processes: no answer\n", sys);
				for (i = 0; i < n; i++)
					if (pid[i] > 0)
						kill(pid[i], SIGKILL);
				goto out;
			}
		for (i = 0; i < n; i++)
			if (write(go[k][1], "g", 1) != 1)
				goto out;
	}
	for (i = 0; i < n; i++) {
		if (read(res[0], &v, sizeof(v)) != sizeof(v))
			break;
		if (v < 0) {
			worst = -1;
			break;
		}
		if (v > worst)
			worst = v;
	}
out:
	for (i = 0; i < n; i++)
		if (pid[i] > 0)
			waitpid(pid[i], NULL, 0);
	close(ready[0]);
	close(ready[1]);
	for (k = 0; k < 3; k++) {
		close(go[k][0]);
		close(go[k][1]);
	}
	close(res[0]);
	close(res[1]);
	return worst;
}

/*
 * Faults and read/write of one open file.  @huge_only: a device-dax
 * instance with 2 MiB alignment, which refuses 4 KiB faults; @rw: read(2)
 * and write(2) work (not on device-dax); @wr_ok: write(2) works.
 */
/*
 * make profile: the debugger attached to the guest (scripts/profile.sh,
 * bench/profile.py) stops at the page-fault entry when CR2 is one of the
 * PROF_TRACED addresses and counts every instruction until the return to
 * user space.  Each fault is the second of its mapping, so that the first,
 * untraced one has already allocated the page tables, as in a fault pass;
 * each mapping starts in a 1 GiB region of its own, at a file offset no
 * earlier fault of the run touched.
 */
#define PROF_BASE	0x7e0000000000UL
#define SZ_1G		(1UL << 30)

static const struct {
	const char *op;
	unsigned long traced;	/* PROF_BASE + region * 1 GiB + this */
	int huge, wr;
} prof[] = {
	{ "fault_rd_2m", SZ_2M, 1, 0 },
	{ "fault_wr_2m", SZ_2M, 1, 1 },
	{ "fault_rd_4k", SZ_4K, 0, 0 },
	{ "fault_wr_4k", SZ_4K, 0, 1 },
};

static void profile(int fd, int huge_only, int small_only)
{
	unsigned int i;

	for (i = 0; i < sizeof(prof) / sizeof(prof[0]); i++) {
		unsigned long base = PROF_BASE + i * SZ_1G;
		volatile char *p;

		if ((huge_only && !prof[i].huge) || (small_only && prof[i].huge))
			continue;
		p = mmap((void *)base, 2 * SZ_2M, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, i * 2 * SZ_2M);
		if (p == MAP_FAILED) {
			fail("mmap at the profile address");
			continue;
		}
		if (!prof[i].huge && madvise((void *)p, 2 * SZ_2M, MADV_NOHUGEPAGE))
			fail("madvise(MADV_NOHUGEPAGE)");
		/* Untraced: page tables, as the first fault of a pass. */
		if (prof[i].wr)
			p[0] = 1;
		else
			(void)p[0];
		printf("PROFILE %s %s %#lx\n", sys, prof[i].op, base + prof[i].traced);
		fflush(stdout);
		if (prof[i].wr)
			p[prof[i].traced] = 1;
		else
			(void)p[prof[i].traced];
		munmap((void *)p, 2 * SZ_2M);
	}
}

static void measure(int fd, int rwfd, const char *path, size_t len, int fsdax,
		    int huge_only, int rw, int wr_ok)
{
	size_t q = len / 4, e = len / 8;
	size_t npages = e / SZ_4K < NPROC_PAGES ? e / SZ_4K : NPROC_PAGES;
	long r0, r1;
	int n;

	if (getenv("BENCH_PROFILE")) {
		/* A device-dax device of 4 KiB alignment maps no PMD. */
		profile(fd, huge_only, !fsdax && !huge_only);
		return;
	}
	/* PMD faults first, on mapping entries no PTE fault has created. */
	step("2 MiB faults");
	result("fault_rd_2m", fault_pass(fd, 0, q, SZ_2M, 1, 0), "ns");
	result("fault_wr_2m", fault_pass(fd, q, q, SZ_2M, 1, 1), "ns");
	/* A new mapping of a range already faulted: its DAX entries exist. */
	result("refault_rd_2m", fault_pass(fd, 0, q, SZ_2M, 1, 0), "ns");
	/*
	 * PMD faults and fallbacks: the tracepoint adds instructions to every
	 * fault, so it counts a second, untimed pass over the same regions.  A
	 * range that fell back holds 4 KiB entries and falls back again.
	 */
	if (fsdax) {
		if (pmd_trace(1)) {
			fprintf(stderr, "dax_bench: no fs_dax tracepoints; no PMD fault counts\n");
		} else {
			fault_pass(fd, 0, q, SZ_2M, 1, 0);
			fault_pass(fd, q, q, SZ_2M, 1, 1);
			pmd_trace_report();
		}
	}
	if (!huge_only) {
		step("4 KiB faults");
		r0 = vmstat("vma_lock_retry");
		result("fault_rd_4k", fault_pass(fd, 2 * q, e, SZ_4K, 0, 0), "ns");
		r1 = vmstat("vma_lock_retry");
		result("refault_rd_4k", fault_pass(fd, 2 * q, e, SZ_4K, 0, 0), "ns");
		if (r0 >= 0 && r1 >= 0)
			result("rd4k_vma_lock_retry", r1 - r0, "count");
		result("fault_wr_4k", fault_pass(fd, 5 * e, e, SZ_4K, 0, 1), "ns");
		step("two threads");
		threads_pass(fd, 6 * e, e);
		step("N processes");
		for (n = 1; n <= NPROC_MAX; n *= 2) {
			char op[32];

			snprintf(op, sizeof(op), "nproc%d_faults", n);
			result(op, nproc_faults(path, 7 * e, npages, n), "count");
		}
	}
	if (rw) {
		step("read(2), write(2)");
		result("read_mib", rw_pass(rwfd, len, 0), "ns");
		if (wr_ok)
			result("write_mib", rw_pass(rwfd, len, 1), "ns");
	}
}

/* Later opens of @path: the cost of one open(), close not counted. */
static void open_later(const char *path, const char *op)
{
	uint64_t t = 0, t0;
	int i, fd;

	for (i = 0; i < OPEN_LATER; i++) {
		t0 = now_ns();
		fd = open(path, O_RDWR);
		t += now_ns() - t0;
		if (fd < 0) {
			fail(path);
			return;
		}
		close(fd);
	}
	result(op, (double)t / OPEN_LATER, "ns");
}

/* First opens of @n files DIR/PREFIX_i, each looked up (stat) beforehand. */
static void open_first(struct srv *s, const char *prefix, int n, const char *op)
{
	char name[64], path[192];
	uint64_t t = 0, t0;
	struct stat st;
	int i, fd;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s_%d", prefix, i);
		srv_path(s, name, path, sizeof(path));
		if (stat(path, &st)) {
			fail(path);
			return;
		}
		t0 = now_ns();
		fd = open(path, O_RDWR);
		t += now_ns() - t0;
		if (fd < 0) {
			fail(path);
			return;
		}
		close(fd);
	}
	result(op, (double)t / n, "ns");
}

/*
 * 4 KiB read faults on @n consecutive pages from page @first of a map of
 * 4 KiB extents, each page in an extent of its own: the same page-table
 * and mapping work for any map, so the difference is the map's size.
 */
static void extent_faults(const char *path, size_t first, size_t n, const char *op)
{
	int fd = open(path, O_RDONLY);
	size_t len = n * SZ_4K, i;
	volatile char *p;
	uint64_t t0, t;

	if (fd < 0) {
		fail(path);
		return;
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, first * SZ_4K);
	close(fd);
	if (p == MAP_FAILED) {
		fail("mmap");
		return;
	}
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		(void)p[i * SZ_4K];
	t = now_ns() - t0;
	munmap((void *)p, len);
	result(op, (double)t / n, "ns");
}

/* Size of a DAX device from sysfs, 0 if unknown. */
static uint64_t dev_size(const char *dev)
{
	char path[128];
	unsigned long long sz = 0;
	const char *b;
	FILE *f;

	if (!dev)
		return 0;
	b = strrchr(dev, '/');
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/size", b ? b + 1 : dev);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &sz) != 1)
		sz = 0;
	fclose(f);
	return sz;
}

/* A simple-extent fmap of @n extents of @ext_len bytes, @stride apart on device 0. */
static void *simple_blob(uint32_t n, uint64_t base, uint64_t ext_len, uint64_t stride,
			 uint32_t *blob_len)
{
	struct famfs_fmap_header *h;
	struct famfs_fmap_simple_ext *se;
	size_t sz = sizeof(*h) + (size_t)n * sizeof(*se);
	uint32_t i;

	h = calloc(1, sz);
	if (!h)
		return NULL;
	h->file_type = FAMFS_FMAP_REG;
	h->fmap_version = FAMFS_FMAP_VERSION;
	h->ext_type = FAMFS_FMAP_EXT_SIMPLE;
	h->nextents = n;
	h->fmap_size = sz;
	h->file_size = n * ext_len;
	se = (void *)(h + 1);
	for (i = 0; i < n; i++) {
		se[i].se_devindex = 0;
		se[i].se_offset = base + i * stride;
		se[i].se_len = ext_len;
	}
	*blob_len = sz;
	return h;
}

/* One interleaved extent over two devices, 2 MiB chunks. */
static void *interleaved_blob(uint64_t len, uint32_t *blob_len)
{
	struct famfs_fmap_header *h;
	struct famfs_fmap_iext *ie;
	struct famfs_fmap_simple_ext *se;
	size_t sz = sizeof(*h) + sizeof(*ie) + 2 * sizeof(*se);
	int k;

	h = calloc(1, sz);
	if (!h)
		return NULL;
	h->file_type = FAMFS_FMAP_REG;
	h->fmap_version = FAMFS_FMAP_VERSION;
	h->ext_type = FAMFS_FMAP_EXT_INTERLEAVE;
	h->nextents = 1;
	h->fmap_size = sz;
	h->file_size = len;
	ie = (void *)(h + 1);
	ie->ie_nstrips = 2;
	ie->ie_chunk_size = SZ_2M;
	ie->ie_nbytes = len;
	se = (void *)(ie + 1);
	for (k = 0; k < 2; k++) {
		se[k].se_devindex = k;
		se[k].se_offset = 0;
		se[k].se_len = (len / 2 + SZ_2M - 1) & ~(SZ_2M - 1);
	}
	*blob_len = sz;
	return h;
}

/*
 * The server's files: "bench" (faults, read/write), then for the open
 * tests o1_i, o1k_i, o100k_i (maps of 1, 1000 and 100000 extents of 4 KiB,
 * 8 KiB apart so that no two are adjacent; the copies of one size share
 * device memory, only the first copy is ever faulted).  Plain FUSE: bench, rw and o1_i.
 */
/*
 * The open-test files.  fuse refuses a map that overlaps another file's, so
 * every file has device pages of its own, after "bench": file i of a kind
 * starts i pages after the kind's base, and its 4 KiB extents are STRIDE
 * pages apart, so that the files of a kind interleave without overlapping.
 */
static const struct open_kind {
	const char *prefix;
	uint32_t extents;
	int files;
	uint64_t stride;	/* pages between two extents of a file */
} open_kinds[] = {
	{ "o1", 1, OPEN_FIRST, OPEN_FIRST },
	{ "o1k", 1000, OPEN_FIRST, OPEN_FIRST },
	{ "o100k", 100000, OPEN_FIRST_100K, OPEN_FIRST_100K },
};

#define N_OPEN_FILES	(3 * OPEN_FIRST)

static int serve(const char *mode, const char *dev0, const char *dev1, size_t len)
{
	static char names[N_OPEN_FILES + 2][16];
	struct srv_file files[N_OPEN_FILES + 2];
	void *blobs[N_OPEN_FILES + 1] = { NULL };
	struct srv srv;
	uint32_t bl = 0;
	char path[192], rwpath[192];
	int plain = !strcmp(mode, "fuse"), nf = 0, nb = 0, i, k, fd, rwfd, ret = 1;
	int opens = (plain || !dev1) && !getenv("BENCH_PROFILE");
	uint64_t base = len, end = len;

	/* The open tests need their own device pages after "bench". */
	for (k = 0; k < 3; k++)
		end += (open_kinds[k].extents * open_kinds[k].stride + open_kinds[k].files) *
		       SZ_4K;
	if (opens && !plain && dev_size(dev0) < end) {
		fprintf(stderr, "dax_bench %s: %s has %llu bytes, the open tests need %llu: "
			"no open tests\n", sys, dev0, (unsigned long long)dev_size(dev0),
			(unsigned long long)end);
		opens = 0;
	}

	memset(files, 0, sizeof(files));
	if (plain) {
		files[nf++] = (struct srv_file){ .name = "bench", .size = len, .plain = 1 };
		files[nf++] = (struct srv_file){ .name = "rw", .size = len, .plain = 1 };
	} else {
		blobs[nb] = dev1 ? interleaved_blob(len, &bl) : simple_blob(1, 0, len, 0, &bl);
		if (!blobs[nb])
			return 1;
		files[nf++] = (struct srv_file){
			.name = "bench", .size = len, .blob = blobs[nb++], .blob_len = bl,
		};
	}
	for (k = 0; opens && k < (plain ? 1 : 3); k++) {
		const struct open_kind *o = &open_kinds[k];

		for (i = 0; i < o->files; i++) {
			snprintf(names[nf], sizeof(names[nf]), "%s_%d", o->prefix, i);
			files[nf] = (struct srv_file){
				.name = names[nf], .size = o->extents * SZ_4K, .plain = plain,
			};
			if (!plain) {
				blobs[nb] = simple_blob(o->extents, base + i * SZ_4K, SZ_4K,
							o->stride * SZ_4K, &bl);
				if (!blobs[nb])
					goto out_free;
				files[nf].blob = blobs[nb++];
				files[nf].blob_len = bl;
			}
			nf++;
		}
		base += (o->extents * o->stride + o->files) * SZ_4K;
	}

	srv_init(&srv, plain ? NULL : dev0);
	if (plain) {
		srv.no_iomap = 1;
	} else {
		srv.dax_path[1] = dev1;
		snprintf(srv.provider, sizeof(srv.provider), "famfs");
	}
	srv.files = files;
	srv.nfiles = nf;
	step("mount");
	if (srv_mount(&srv)) {
		fail("mount of the FUSE test server");
		goto out_stop;
	}
	srv_path(&srv, "bench", path, sizeof(path));
	srv_path(&srv, plain ? "rw" : "bench", rwpath, sizeof(rwpath));
	if (opens) {
		step("opens");
		open_first(&srv, "o1", OPEN_FIRST, "open_first_1");
		srv_path(&srv, "o1_0", rwpath, sizeof(rwpath));
		open_later(rwpath, "open_later_1");
		if (!plain) {
			open_first(&srv, "o1k", OPEN_FIRST, "open_first_1k");
			srv_path(&srv, "o1k_0", rwpath, sizeof(rwpath));
			open_later(rwpath, "open_later_1k");
			step("opens, 100k extents");
			open_first(&srv, "o100k", OPEN_FIRST_100K, "open_first_100k");
			srv_path(&srv, "o100k_0", rwpath, sizeof(rwpath));
			open_later(rwpath, "open_later_100k");
			step("4 KiB faults in maps of 1k and 100k extents");
			srv_path(&srv, "o1k_0", rwpath, sizeof(rwpath));
			extent_faults(rwpath, 0, 1000, "fault_rd_4k_1k");
			srv_path(&srv, "o100k_0", rwpath, sizeof(rwpath));
			/* The last 1000 extents. */
			extent_faults(rwpath, 99000, 1000, "fault_rd_4k_100k");
		}
		srv_path(&srv, plain ? "rw" : "bench", rwpath, sizeof(rwpath));
	}
	fd = open(path, O_RDWR);
	rwfd = open(rwpath, O_RDWR);
	if (fd < 0 || rwfd < 0) {
		fail(path);
		goto out_stop;
	}
	/* The test server has no FUSE_WRITE: plain FUSE cannot write(2). */
	measure(fd, rwfd, path, len, !plain, 0, 1, !plain);
	close(fd);
	close(rwfd);
	result("server_requests", srv.total, "count");
	step("unmount");
	ret = 0;
out_stop:
	srv_stop(&srv);
out_free:
	for (i = 0; i < nb; i++)
		free(blobs[i]);
	return ret;
}

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s famfs SYSTEM MIB DAXDEV [DAXDEV2]\n"
		"       %s file SYSTEM MIB PATH\n"
		"       %s fuse SYSTEM MIB\n"
		"       %s profile-addrs\n", prog, prog, prog, prog);
	return 2;
}

int main(int argc, char **argv)
{
	size_t len;
	int fd, devdax, huge_only = 0;
	struct stat st;

	if (argc == 2 && !strcmp(argv[1], "profile-addrs")) {
		unsigned int i;

		for (i = 0; i < sizeof(prof) / sizeof(prof[0]); i++)
			printf("%#lx\n", PROF_BASE + i * SZ_1G + prof[i].traced);
		return 0;
	}
	if (argc < 4)
		return usage(argv[0]);
	sys = argv[2];
	if (getenv("BENCH_ROUND"))
		round_no = getenv("BENCH_ROUND");
	len = strtoul(argv[3], NULL, 0) << 20;
	if (!len || len % (8 * SZ_2M)) {
		fprintf(stderr, "MIB must be a multiple of 16\n");
		return 2;
	}
	if (!strcmp(argv[1], "famfs") && (argc == 5 || argc == 6))
		return serve("famfs", argv[4], argc == 6 ? argv[5] : NULL, len) || failed;
	if (!strcmp(argv[1], "fuse") && argc == 4)
		return serve("fuse", NULL, NULL, len) || failed;
	if (strcmp(argv[1], "file") || argc != 5)
		return usage(argv[0]);

	fd = open(argv[4], O_RDWR);
	if (fd < 0 || fstat(fd, &st)) {
		fail(argv[4]);
		return 1;
	}
	devdax = S_ISCHR(st.st_mode);
	if (devdax) {
		/* /sys/dev/char/MAJ:MIN/align: 4 KiB faults need 4 KiB alignment. */
		char p[96];
		FILE *f;
		unsigned long align = SZ_2M;

		snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/align",
			 major(st.st_rdev), minor(st.st_rdev));
		f = fopen(p, "r");
		if (f) {
			if (fscanf(f, "%lu", &align) != 1)
				align = SZ_2M;
			fclose(f);
		}
		huge_only = align >= SZ_2M;
	} else if (!getenv("BENCH_PROFILE")) {
		open_later(argv[4], "open_later_1");
	}
	measure(fd, fd, argv[4], len, !devdax, huge_only, !devdax, 1);
	close(fd);
	return failed;
}
