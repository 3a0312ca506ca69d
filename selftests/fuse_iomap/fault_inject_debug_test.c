// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures on the FUSE iomap-DAX paths, one at a time, through the
 * per-task fault injection of Documentation/fault-injection/: writing N to
 * /proc/thread-self/fail-nth makes the Nth fault-injection point this thread
 * reaches fail (failslab, with GFP_KERNEL allocations included here), and
 * reading it back afterwards gives 0 once that failure was injected.
 *
 * For N = 1, 2, ... each operation is tried with the Nth allocation failing
 * until it succeeds without using the failure; every attempt must fail with
 * ENOMEM or succeed, the next attempt must work from a clean state, and at
 * the end a new mount works, the data is intact and kmemleak finds nothing
 * new.  The operations, each armed in the task that makes the allocations:
 *
 * - the first open of a file (LOOKUP, OPEN, GETMAP, the provider's parse,
 *   the map's ranges, installing it): the opener; the server only writes its
 *   replies, which allocates nothing in the kernel;
 * - the mount (FUSE_INIT, FUSE_IOMAP_DAX_CONFIG, taking the device): the
 *   mounter; the server's BACKING_OPEN at CONFIG runs unarmed;
 * - FUSE_DEV_IOC_BACKING_OPEN of a DAX device: the caller of the ioctl.
 *
 * Only the debug kernel has fault injection: guest/check.sh runs the
 * *_debug_test programs on that flavor only; elsewhere the test skips.  Uses
 * /dev/dax0.0 at 780 MiB, which must be named in FUSE_IOMAP_DAX_DEVS (see
 * iomap_test_util.h), and needs root and the "identity" test provider.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_DEV		"/dev/dax0.0"
#define FNAME		"f"
#define FSIZE		(2 * SZ_1M)
#define MAX_NTH		2000
#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define FAIL_PAGE	"/sys/kernel/debug/fail_page_alloc/"
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"
#define KMSG_MAX	(256 * 1024)
#define MARK		"fault_inject_debug_test: "

static const struct srv_file ffile = {
	.name = FNAME, .size = FSIZE, .base_mib = 780,
};

/*
 * Fault injection settings the test changes (restored after it): GFP_KERNEL
 * allocations too, pages of any order, and no report of each injection
 * (thousands of them would overwrite the kernel log).  Probability stays 0:
 * only fail-nth injects.
 */
#define NKNOBS	6
static const char *const knobs[NKNOBS][2] = {
	{ FAILSLAB "ignore-gfp-wait", "N" },
	{ FAILSLAB "verbose", "0" },
	{ FAIL_PAGE "ignore-gfp-wait", "N" },
	{ FAIL_PAGE "ignore-gfp-highmem", "N" },
	{ FAIL_PAGE "min-order", "0" },
	{ FAIL_PAGE "verbose", "0" },
};

FIXTURE(finj)
{
	struct srv srv;
	struct srv srv2;
	char saved[NKNOBS][32];
	int nth;		/* /proc/thread-self/fail-nth */
	int kmsg;
	char *log;
	uint32_t seed;
};

static void mark(const char *what)
{
	char line[128];

	snprintf(line, sizeof(line), "<5>" MARK "%s\n", what);
	write_str("/dev/kmsg", line);
}

FIXTURE_SETUP(finj)
{
	const char *why;
	unsigned int i;

	self->nth = -1;
	self->kmsg = -1;
	srv_init(&self->srv, DAX_DEV);
	srv_init(&self->srv2, DAX_DEV);
	self->srv.files = &ffile;
	self->srv.nfiles = 1;
	self->srv2.files = &ffile;
	self->srv2.nfiles = 1;
	self->seed = getpid() ^ time(NULL) ^ 0x0badcafe;
	self->log = malloc(KMSG_MAX);
	ASSERT_NE(NULL, self->log);
	why = need_root() ?: need_dax("dax0.0", 780 * SZ_1M + FSIZE) ?:
	      need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	if (access(FAILSLAB, F_OK) || access(FAIL_PAGE, F_OK))
		SKIP(return, "no failslab or fail_page_alloc in debugfs %s",
		     "(CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC)");
	if (access("/proc/thread-self/fail-nth", F_OK))
		SKIP(return, "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)");
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, dax_bind("dax0.0", "fsdev_dax"));
	for (i = 0; i < NKNOBS; i++) {
		ASSERT_EQ(0, read_str(knobs[i][0], self->saved[i],
				      sizeof(self->saved[i])));
		ASSERT_EQ(0, write_str(knobs[i][0], knobs[i][1]));
	}
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_GE(self->nth, 0) {
		TH_LOG("fail-nth: %s", strerror(errno));
	}
	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);
	/* No page of ours is faulted in while a failure is armed. */
	ASSERT_EQ(0, mlockall(MCL_CURRENT | MCL_FUTURE));
	mark("begin");
}

FIXTURE_TEARDOWN(finj)
{
	unsigned int i;

	if (self->nth >= 0) {
		(void)!pwrite(self->nth, "0", 1, 0);
		close(self->nth);
	}
	mark("end");
	munlockall();
	for (i = 0; i < NKNOBS; i++)
		if (self->saved[i][0])
			write_str(knobs[i][0], self->saved[i]);
	srv_stop(&self->srv);
	srv_stop(&self->srv2);
	if (self->kmsg >= 0)
		close(self->kmsg);
	free(self->log);
}

/* Arm: the @n-th fault-injection point of this thread fails. */
static int arm(FIXTURE_DATA(finj) * self, int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	return pwrite(self->nth, buf, len, 0) == len ? 0 : -errno;
}

/* Disarm; 1 if the failure was injected, 0 if not. */
static int disarm(FIXTURE_DATA(finj) * self)
{
	char buf[16] = "";
	int left;

	if (pread(self->nth, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	left = atoi(buf);
	if (pwrite(self->nth, "0", 1, 0) != 1)
		return -1;
	return left == 0;
}

/*
 * Bookkeeping of one operation tried with every allocation failing in turn:
 * attempts that failed with ENOMEM, that succeeded although a failure was
 * injected (the allocation had a fallback), and that failed otherwise.
 */
struct tally {
	int enomem;
	int absorbed;
	int other;
	int n;		/* the N that succeeded untouched */
};

static void tally(struct __test_metadata *_metadata, struct tally *t, int n,
		  int res, int err, int injected)
{
	if (res >= 0 && injected) {
		t->absorbed++;
	} else if (res < 0 && err == ENOMEM) {
		t->enomem++;
	} else if (res < 0) {
		t->other++;
		TH_LOG("nth %d: %s (injected %d)", n, strerror(err), injected);
	}
}

/*
 * kmemleak: scan twice and return the number of reported objects; @addrs
 * (if set) keeps their addresses, @skip (if set) leaves those out.
 */
static int leaks(struct __test_metadata *_metadata, unsigned long *addrs,
		 int max, const unsigned long *skip, int nskip)
{
	char line[512];
	unsigned long a;
	int n = 0, i, known;
	FILE *f;

	/* Objects younger than 5 s are not reported; RCU frees late. */
	if (!addrs)
		sleep(6);
	if (write_str(KMEMLEAK, "scan") || write_str(KMEMLEAK, "scan"))
		return 0;	/* kmemleak disabled: check.sh says so */
	f = fopen(KMEMLEAK, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "unreferenced object 0x%lx", &a) != 1)
			continue;
		for (known = 0, i = 0; i < nskip; i++)
			known |= skip[i] == a;
		if (known)
			continue;
		if (!addrs)
			TH_LOG("kmemleak: %s", line);
		if (addrs && n < max)
			addrs[n] = a;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * Nothing but the expected reports in the kernel log since the fixture began:
 * a stack ("Call Trace") only with a report of an allocation failure
 * (warn_alloc, vmalloc, percpu).
 */
static void log_clean(struct __test_metadata *_metadata,
		      FIXTURE_DATA(finj) * self)
{
	static const char *const bad[] = {
		"BUG:", "WARNING:", "Oops", "KASAN:", "UBSAN:", "INFO: ",
		"sleeping function called", "blocked for more than",
	};
	int traces, reports, n;
	unsigned int i;

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		n = count_str(self->log, bad[i]);
		if (n)
			TH_LOG("kernel log: %d times \"%s\"", n, bad[i]);
		EXPECT_EQ(0, n);
	}
	traces = count_str(self->log, "Call Trace");
	reports = count_str(self->log, "allocation failure") +
		  count_str(self->log, "vmalloc error") +
		  count_str(self->log, "allocation failed");
	TH_LOG("%d stacks in the kernel log, %d allocation failure reports",
	       traces, reports);
	EXPECT_LE(traces, reports);
}

/* The file holds the pattern; write it once through a first mount. */
static void prepare(struct __test_metadata *_metadata,
		    FIXTURE_DATA(finj) * self)
{
	int fd;

	ASSERT_EQ(0, srv_mount(&self->srv));
	fd = srv_open_file(&self->srv, FNAME, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fill_pwrite(fd, self->seed, 0, FSIZE));
	close(fd);
}

/* A new mount works and reads the pattern. */
static void fresh_mount(struct __test_metadata *_metadata,
			FIXTURE_DATA(finj) * self)
{
	int fd;

	srv_stop(&self->srv);
	ASSERT_EQ(0, srv_mount(&self->srv2));
	fd = srv_open_file(&self->srv2, FNAME, O_RDWR);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, check_pread(fd, self->seed, 0, FSIZE));
	close(fd);
	EXPECT_EQ(1, srv_count(&self->srv2, FUSE_IOMAP_DAX_GETMAP));
	srv_stop(&self->srv2);
}

TEST_F_TIMEOUT(finj, first_open, 900)
{
	struct tally t = { 0 };
	unsigned long base[256];
	int n, fd, err, inj, nbase, getmap_paths = 0;
	long getmaps;

	prepare(_metadata, self);
	nbase = leaks(_metadata, base, 256, NULL, 0);
	for (n = 1; n <= MAX_NTH; n++) {
		/* A first open: the inode (and its map) is gone. */
		ASSERT_EQ(0, evict_unused());
		getmaps = srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP);
		ASSERT_EQ(0, arm(self, n));
		fd = srv_open_file(&self->srv, FNAME, O_RDWR);
		err = errno;
		inj = disarm(self);
		ASSERT_GE(inj, 0);
		tally(_metadata, &t, n, fd, err, inj);
		if (srv_count(&self->srv, FUSE_IOMAP_DAX_GETMAP) != getmaps)
			getmap_paths++;
		if (fd >= 0) {
			EXPECT_EQ(-1, check_pread(fd, self->seed, 0, FSIZE));
			close(fd);
		}
		if (fd >= 0 && !inj) {
			t.n = n;
			break;
		}
	}
	TH_LOG("open: succeeded at nth %d; %d ENOMEM, %d absorbed, %d other",
	       t.n, t.enomem, t.absorbed, t.other);
	TH_LOG("open: %d attempts reached GETMAP", getmap_paths);
	EXPECT_NE(0, t.n);
	EXPECT_EQ(0, t.other);
	EXPECT_LT(1, getmap_paths);
	fresh_mount(_metadata, self);
	EXPECT_EQ(0, leaks(_metadata, NULL, 0, base, nbase));
	log_clean(_metadata, self);
}

TEST_F_TIMEOUT(finj, mount, 900)
{
	struct tally t = { 0 };
	unsigned long base[256];
	int n, err, inj, nbase, fd;

	prepare(_metadata, self);
	srv_stop(&self->srv);
	nbase = leaks(_metadata, base, 256, NULL, 0);
	for (n = 1; n <= MAX_NTH; n++) {
		srv_init(&self->srv, DAX_DEV);
		self->srv.files = &ffile;
		self->srv.nfiles = 1;
		ASSERT_EQ(0, srv_open(&self->srv));
		ASSERT_EQ(0, arm(self, n));
		err = srv_mount_fd(&self->srv);
		inj = disarm(self);
		ASSERT_GE(inj, 0);
		tally(_metadata, &t, n, err ? -1 : 0, err, inj);
		if (!err) {
			fd = srv_open_file(&self->srv, FNAME, O_RDONLY);
			EXPECT_GE(fd, 0);
			if (fd >= 0) {
				EXPECT_EQ(-1, check_pread(fd, self->seed, 0,
							  FSIZE));
				close(fd);
			}
		}
		srv_stop(&self->srv);
		if (!err && !inj) {
			t.n = n;
			break;
		}
	}
	TH_LOG("mount: succeeded at nth %d; %d ENOMEM, %d absorbed, %d other",
	       t.n, t.enomem, t.absorbed, t.other);
	EXPECT_NE(0, t.n);
	EXPECT_EQ(0, t.other);
	fresh_mount(_metadata, self);
	EXPECT_EQ(0, leaks(_metadata, NULL, 0, base, nbase));
	log_clean(_metadata, self);
}

TEST_F_TIMEOUT(finj, backing_open, 900)
{
	struct tally t = { 0 };
	struct fuse_backing_map map = { .flags = FUSE_BACKING_TYPE_DAX };
	unsigned long base[256];
	int n, id, err, inj, nbase;

	prepare(_metadata, self);
	nbase = leaks(_metadata, base, 256, NULL, 0);
	map.fd = open(DAX_DEV, O_RDWR);
	ASSERT_GE(map.fd, 0);
	for (n = 1; n <= MAX_NTH; n++) {
		ASSERT_EQ(0, arm(self, n));
		id = ioctl(self->srv.fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
		err = errno;
		inj = disarm(self);
		ASSERT_GE(inj, 0);
		tally(_metadata, &t, n, id, err, inj);
		if (id >= 0)
			EXPECT_EQ(0, ioctl(self->srv.fd,
					   FUSE_DEV_IOC_BACKING_CLOSE, &id));
		if (id >= 0 && !inj) {
			t.n = n;
			break;
		}
	}
	close(map.fd);
	TH_LOG("BACKING_OPEN: succeeded at nth %d; %d ENOMEM, %d absorbed, %d other",
	       t.n, t.enomem, t.absorbed, t.other);
	EXPECT_NE(0, t.n);
	EXPECT_EQ(0, t.other);
	fresh_mount(_metadata, self);
	EXPECT_EQ(0, leaks(_metadata, NULL, 0, base, nbase));
	log_clean(_metadata, self);
}

TEST_HARNESS_MAIN
