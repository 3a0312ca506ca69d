// SPDX-License-Identifier: GPL-2.0
/*
 * A memory failure on a DAX device held by a FUSE iomap-DAX mount.
 *
 * The connection's holder ops record the failing range and let the core
 * memory-failure code go on: the process that consumed the poison gets
 * SIGBUS (BUS_MCEERR_AR), a process that asked for early kill and maps the
 * page gets SIGBUS (BUS_MCEERR_AO).  From then on reads and writes of the
 * poisoned page fail with EHWPOISON and a new fault on it raises SIGBUS
 * (BUS_MCEERR_AR); the rest of the device, in the same file and in others,
 * keeps working.  Unmounting works, and a new server can mount the device
 * again.
 *
 * Removing the device (unbinding it from fsdev_dax) while a file is mapped
 * unmaps every file of the connection before the memory goes away.
 *
 * The failure is injected with madvise(MADV_HWPOISON) on one 4 KiB page of
 * /dev/dax1.0 at 448 MiB + 64 KiB, a page no other guest test uses; the
 * poison lasts until the machine reboots, so the second mount does not touch
 * that page.  Needs root, CONFIG_MEMORY_FAILURE, /dev/dax1.0 (2 MiB aligned,
 * at least 484 MiB, named in FUSE_IOMAP_DAX_DEVS) and the "identity" test
 * provider; the tests that poison pages also need FUSE_IOMAP_POISON_OK=1 (see
 * iomap_test_util.h).  Each skips without what it needs.
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
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_NAME	"dax1.0"
#define DAX_DEV		"/dev/" DAX_NAME

/*
 * The identity provider maps file offset X to device offset X.  The file
 * covers the device up to REGION + 4 MiB; the test uses only the 4 MiB at
 * REGION, which no other guest test writes (famfs_e2e_test uses dax1.0 up
 * to about 310 MiB and its last 2 MiB, fuse_iomap_test only dax0.0).
 */
#define FILE_NAME	"m"
#define REGION		(448 * SZ_1M)
#define FILE_SIZE	(REGION + 4 * SZ_1M)
#define WINDOW		(128 * 1024)		/* < 2 MiB: PTE faults only */
#define POISON		(REGION + 16 * SZ_4K)	/* the page that fails */
#define OTHER		(REGION + SZ_1M)	/* a healthy page */

#define CHILD_SIGNALLED	42	/* exit status of a child's SIGBUS handler */
#define CHILD_TIMEOUT	10000	/* ms */

#define KMSG_MAX	(64 * 1024)
#define FAILURE_MSG	"fuse: iomap: memory failure on device 0 at "
#define REMOVE_MSG	"fuse: iomap: device 0 is being removed"

/* What a child saw; in shared memory. */
struct report {
	int ready;		/* the child mapped and checked its page */
	int data_ok;		/* the page held the pattern */
	int madv_ret;
	int madv_errno;
	int sig;		/* from the SIGBUS handler */
	int code;
	void *addr;
	short lsb;
	void *page;		/* where the child mapped the page */
};

static struct report *child_rep;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	child_rep->sig = sig;
	child_rep->code = si->si_code;
	child_rep->addr = si->si_addr;
	child_rep->lsb = si->si_addr_lsb;
	_exit(CHILD_SIGNALLED);
}

static void catch_sigbus(struct report *rep)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO };

	child_rep = rep;
	sigaction(SIGBUS, &sa, NULL);
}

/* Wait for @pid at most CHILD_TIMEOUT ms; kill it after. */
static int wait_child(pid_t pid)
{
	int i, status = -1;

	for (i = 0; i < CHILD_TIMEOUT / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Map the WINDOW holding file offset @page; return the page in it. */
static unsigned char *map_page(int fd, uint64_t page, int prot)
{
	uint64_t at = page & ~(WINDOW - 1);
	unsigned char *p = mmap(NULL, WINDOW, prot, MAP_SHARED, fd, at);

	return p == MAP_FAILED ? NULL : p + (page - at);
}

enum child_kind {
	INJECT,		/* touch POISON, then MADV_HWPOISON it */
	BYSTANDER,	/* touch POISON, ask for early kill, then wait */
	TOUCH,		/* a fresh mapping of OTHER: touch it */
	TOUCH_POISON,	/* a fresh mapping of POISON: touch it */
};

/*
 * Runs in a child: maps the window around its page, checks the page holds
 * the pattern, and does what @kind says.  A SIGBUS ends it with
 * CHILD_SIGNALLED and its siginfo in @rep; otherwise it exits 0.
 */
static void child(enum child_kind kind, int fd, uint32_t seed,
		  struct report *rep, int ready_fd, int wait_fd)
{
	uint64_t page = kind == TOUCH ? OTHER : POISON;
	int check = kind != TOUCH_POISON;
	unsigned char *p;
	char c = 0;

	catch_sigbus(rep);
	p = map_page(fd, page, PROT_READ | PROT_WRITE);
	if (!p)
		_exit(1);
	rep->page = p;
	if (!check)
		load_byte(p);	/* SIGBUS */
	rep->data_ok = mismatch(p, SZ_4K, seed, page) < 0;
	if (kind == BYSTANDER &&
	    prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0))
		_exit(2);
	rep->ready = 1;
	if (ready_fd >= 0 && write(ready_fd, &c, 1) != 1)
		_exit(3);
	if (kind == INJECT) {
		rep->madv_ret = madvise(p, SZ_4K, MADV_HWPOISON);
		rep->madv_errno = errno;
	} else if (kind == BYSTANDER) {
		/* Until the SIGBUS, or until the parent closes the pipe. */
		while (read(wait_fd, &c, 1) < 0 && errno == EINTR)
			;
	}
	_exit(0);
}

static pid_t start_child(enum child_kind kind, int fd, uint32_t seed,
			 struct report *rep, int ready_fd, int wait_fd)
{
	pid_t pid = fork();

	if (!pid)
		child(kind, fd, seed, rep, ready_fd, wait_fd);
	return pid;
}

FIXTURE(memfail)
{
	struct srv srv;
	struct srv srv2;	/* the mount after the failure */
	struct report *rep;	/* INJECT, BYSTANDER, TOUCH, TOUCH again, ... */
	uint32_t seed;
	int fd;
	int kmsg;
	char *log;
};

FIXTURE_SETUP(memfail)
{
	const char *why;

	self->fd = -1;
	self->kmsg = -1;
	srv_init(&self->srv, DAX_DEV);
	srv_init(&self->srv2, DAX_DEV);
	self->rep = mmap(NULL, 5 * sizeof(struct report),
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->rep);
	self->log = malloc(KMSG_MAX);
	ASSERT_NE(NULL, self->log);
	self->seed = getpid() ^ time(NULL) ^ 0x3c3c5a5a;

	/* The files of unbind_while_pmd_mapped end at 484 MiB. */
	why = need_root() ?: need_dax(DAX_NAME, 484 * SZ_1M) ?:
	      need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	if (access("/proc/sys/vm/memory_failure_recovery", F_OK))
		SKIP(return, "no CONFIG_MEMORY_FAILURE");
	ASSERT_EQ(0, provider_load()) {
		TH_LOG("cannot load %s: %s", PROVIDER_KO, strerror(errno));
	}
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	ASSERT_GE(dax_size(DAX_NAME), FILE_SIZE) {
		TH_LOG("%s is %llu bytes", DAX_DEV,
		       (unsigned long long)dax_size(DAX_NAME));
	}
}

FIXTURE_TEARDOWN(memfail)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->kmsg >= 0)
		close(self->kmsg);
	srv_stop(&self->srv);
	srv_stop(&self->srv2);
	munmap(self->rep, 5 * sizeof(struct report));
	free(self->log);
}

static const struct srv_file mf_file = {
	.name = FILE_NAME,
	.size = FILE_SIZE,		/* identity map, no blob */
};

/* Print the records about the failure, for the report. */
static void log_excerpt(struct __test_metadata *_metadata, const char *log)
{
	char *copy = strdup(log), *line, *save = NULL;

	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strcasestr(line, "memory failure") ||
		    strstr(line, "fuse") || strstr(line, "SIGBUS") ||
		    strstr(line, "MCE") ||
		    strstr(line, "WARNING") || strstr(line, "BUG:") ||
		    strstr(line, "Oops") || strstr(line, "Call Trace"))
			TH_LOG("kmsg: %s", line);
	free(copy);
}

/* Close the test's file and unmount @s (not lazily): the unmount must work. */
static void close_umount(struct __test_metadata *_metadata, int *fd,
			 struct srv *s)
{
	close(*fd);
	*fd = -1;
	EXPECT_EQ(0, umount2(s->dir, 0)) {
		TH_LOG("umount: %s", strerror(errno));
	}
	s->mounted = 0;
}

TEST_F(memfail, poison_one_range_then_remount)
{
	struct report *inj = &self->rep[0], *by = &self->rep[1];
	struct report *touch = &self->rep[2], *again = &self->rep[3];
	struct report *bad = &self->rep[4];
	unsigned char two[2 * SZ_4K];
	unsigned char buf[SZ_4K], want[SZ_4K];
	char expect[128];
	int pipe_ready[2], pipe_wait[2], status;
	const char *why = need_poison_ok();
	pid_t bypid, pid;
	char c;

	if (why)
		SKIP(return, "%s", why);
	/* Mount; write the pattern to both pages; read it back. */
	self->srv.files = &mf_file;
	self->srv.nfiles = 1;
	ASSERT_EQ(0, srv_mount(&self->srv));
	self->fd = srv_open_file(&self->srv, FILE_NAME, O_RDWR);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("open: %s", strerror(errno));
	}
	fill(want, SZ_4K, self->seed, POISON);
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(self->fd, want, SZ_4K, POISON));
	fill(want, SZ_4K, self->seed, OTHER);
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(self->fd, want, SZ_4K, OTHER));
	ASSERT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K, OTHER));
	ASSERT_EQ(0, memcmp(buf, want, SZ_4K));

	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0) {
		TH_LOG("/dev/kmsg: %s", strerror(errno));
	}

	/* A process that maps the page and asked for early kill. */
	ASSERT_EQ(0, pipe(pipe_ready));
	ASSERT_EQ(0, pipe(pipe_wait));
	bypid = start_child(BYSTANDER, self->fd, self->seed, by,
			    pipe_ready[1], pipe_wait[0]);
	ASSERT_GT(bypid, 0);
	close(pipe_ready[1]);
	close(pipe_wait[0]);
	EXPECT_EQ(1, read(pipe_ready[0], &c, 1));
	close(pipe_ready[0]);

	/* The failure, injected by a process that maps and touched it. */
	pid = start_child(INJECT, self->fd, self->seed, inj, -1, -1);
	ASSERT_GT(pid, 0);
	status = wait_child(pid);
	close(pipe_wait[1]);
	EXPECT_TRUE(inj->ready && inj->data_ok);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED) {
		TH_LOG("injecting child: status %#x, madvise %d (%s)", status,
		       inj->madv_ret, strerror(inj->madv_errno));
	}
	EXPECT_EQ(SIGBUS, inj->sig);
	EXPECT_EQ(BUS_MCEERR_AR, inj->code);
	EXPECT_EQ(inj->page, inj->addr);
	EXPECT_EQ(12, inj->lsb);
	/* madvise returned 0 before the signal was delivered. */
	EXPECT_EQ(0, inj->madv_ret);

	status = wait_child(bypid);
	EXPECT_TRUE(by->ready && by->data_ok);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED) {
		TH_LOG("early-kill child: status %#x, not signalled", status);
	}
	EXPECT_EQ(SIGBUS, by->sig);
	EXPECT_EQ(BUS_MCEERR_AO, by->code);
	EXPECT_EQ(by->page, by->addr);

	/* The holder was told, once, about the right device range. */
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	snprintf(expect, sizeof(expect), FAILURE_MSG "0x%lx+0x%lx", POISON,
		 SZ_4K);
	EXPECT_EQ(1, count_str(self->log, expect)) {
		TH_LOG("expected once in the kernel log: \"%s\"", expect);
	}
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));
	EXPECT_EQ(0, count_str(self->log, "Oops"));
	EXPECT_EQ(0, count_str(self->log, "Call Trace"));

	/* Only the poisoned page failed, for reads and writes. */
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, buf, SZ_4K, POISON));
	EXPECT_EQ(EHWPOISON, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, buf, SZ_4K, POISON));
	EXPECT_EQ(EHWPOISON, errno);
	/* A read into the page stops short at it. */
	EXPECT_EQ((ssize_t)SZ_4K - 1,
		  pread(self->fd, two, 2 * SZ_4K, POISON - SZ_4K + 1));
	fill(want, SZ_4K, self->seed, OTHER);
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K, OTHER));
	EXPECT_EQ(0, memcmp(buf, want, SZ_4K));
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(self->fd, want, SZ_4K, OTHER));
	/* The page before the poisoned one, in its 2 MiB. */
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K, POISON - SZ_4K));

	/* A new mapping of a healthy page works, also next to the poison. */
	pid = start_child(TOUCH, self->fd, self->seed, touch, -1, -1);
	ASSERT_GT(pid, 0);
	status = wait_child(pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("touching child: status %#x, signal %d code %d", status,
		       touch->sig, touch->code);
	}
	EXPECT_TRUE(touch->ready && touch->data_ok);

	/* A new mapping of the poisoned page faults SIGBUS (it is refused). */
	pid = start_child(TOUCH_POISON, self->fd, self->seed, bad, -1, -1);
	ASSERT_GT(pid, 0);
	status = wait_child(pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED) {
		TH_LOG("touching child: status %#x, no SIGBUS", status);
	}
	EXPECT_EQ(SIGBUS, bad->sig);
	/* EHWPOISON from iomap_begin is VM_FAULT_HWPOISON: an MCE SIGBUS. */
	EXPECT_EQ(BUS_MCEERR_AR, bad->code);
	EXPECT_EQ(bad->page, bad->addr);
	EXPECT_EQ(12, bad->lsb);
	EXPECT_FALSE(bad->ready);

	/* Unmount (not lazily), and a new server mounts the device. */
	close_umount(_metadata, &self->fd, &self->srv);
	srv_stop(&self->srv);

	self->srv2.files = &mf_file;
	self->srv2.nfiles = 1;
	ASSERT_EQ(0, srv_mount(&self->srv2));
	EXPECT_GT(self->srv2.backing_res, 0);
	self->fd = srv_open_file(&self->srv2, FILE_NAME, O_RDWR);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("open after remount: %s", strerror(errno));
	}
	/* The healthy page kept its data; POISON is not touched again. */
	fill(want, SZ_4K, self->seed, OTHER);
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K, OTHER));
	EXPECT_EQ(0, memcmp(buf, want, SZ_4K));
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(self->fd, want, SZ_4K, OTHER));
	pid = start_child(TOUCH, self->fd, self->seed, again, -1, -1);
	ASSERT_GT(pid, 0);
	status = wait_child(pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("child after remount: status %#x, signal %d code %d",
		       status, again->sig, again->code);
	}
	EXPECT_TRUE(again->ready && again->data_ok);
	close_umount(_metadata, &self->fd, &self->srv2);

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));
	EXPECT_EQ(0, count_str(self->log, "Oops"));
	EXPECT_EQ(0, count_str(self->log, "Call Trace"));
}

/* A child touching @map: exits CHILD_SIGNALLED on SIGBUS, 0 otherwise. */
static int touch_in_child(void *map, struct report *rep)
{
	pid_t pid = fork();

	if (!pid) {
		catch_sigbus(rep);
		load_byte(map);
		_exit(0);
	}
	return pid < 0 ? -1 : wait_child(pid);
}

/*
 * Unbinding the device from fsdev_dax (MF_MEM_PRE_REMOVE) used to leave the
 * PTEs of mapped files pointing at memory that was then freed.
 */
TEST_F(memfail, unbind_while_mapped)
{
	unsigned char buf[SZ_4K], want[SZ_4K];
	unsigned char *map;
	int status;

	self->srv.files = &mf_file;
	self->srv.nfiles = 1;
	ASSERT_EQ(0, srv_mount(&self->srv));
	self->fd = srv_open_file(&self->srv, FILE_NAME, O_RDWR);
	ASSERT_GE(self->fd, 0);
	fill(want, SZ_4K, self->seed, OTHER);
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(self->fd, want, SZ_4K, OTHER));
	map = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		   OTHER);
	ASSERT_NE(MAP_FAILED, map);
	touch_read(map, WINDOW);
	ASSERT_EQ((long)WINDOW, scan_bytes(map, WINDOW, PAGE_IS_PRESENT));

	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);
	ASSERT_EQ(0, write_str("/sys/bus/dax/drivers/fsdev_dax/unbind",
			       DAX_NAME)) {
		TH_LOG("unbind: %s", strerror(errno));
	}

	/* Nothing of the device is mapped any more, and nothing maps it. */
	EXPECT_EQ(0, scan_bytes(map, WINDOW, PAGE_IS_PRESENT));
	status = touch_in_child(map, &self->rep[0]);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED) {
		TH_LOG("touching the mapping: status %#x", status);
	}
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, buf, SZ_4K, OTHER));
	EXPECT_NE(0, errno);

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	EXPECT_EQ(1, count_str(self->log, REMOVE_MSG));
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));

	munmap(map, WINDOW);
	close_umount(_metadata, &self->fd, &self->srv);
	srv_stop(&self->srv);

	/* Bound again, the device mounts and kept its data. */
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	self->srv2.files = &mf_file;
	self->srv2.nfiles = 1;
	ASSERT_EQ(0, srv_mount(&self->srv2));
	self->fd = srv_open_file(&self->srv2, FILE_NAME, O_RDWR);
	ASSERT_GE(self->fd, 0);
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K, OTHER));
	EXPECT_EQ(0, memcmp(buf, want, SZ_4K));
}

/*
 * The hwpoison injector (debugfs corrupt-pfn, memory_failure() without
 * MF_ACTION_REQUIRED) on one page of one file: no process that maps it asked
 * for early kill, so none is signalled; a touch through a new mapping raises
 * SIGBUS (BUS_MCEERR_AR) at the page's address, reads and
 * writes of it fail with EHWPOISON, the rest of the file (also in the same
 * 2 MiB, now mapped with PTEs) and another file of the device keep working,
 * and the device unmounts and mounts again.  /dev/dax1.0 at 456 MiB (the
 * poisoned file) and 464 MiB, which no other test uses.
 */
#define INJ_FILE	"q"
#define INJ_BASE	456
#define INJ_PAGE	(16 * SZ_4K)	/* file offset of the poisoned page */
#define OK_FILE		"o"
#define OK_BASE		464
#define CORRUPT_PFN	"/sys/kernel/debug/hwpoison/corrupt-pfn"

/* Why the hwpoison injector may not be used here, or NULL. */
static const char *need_injector(void)
{
	const char *why = need_poison_ok();

	if (why)
		return why;
	if (!have_or_modprobe(CORRUPT_PFN, W_OK, "hwpoison_inject"))
		return "no hwpoison injector (CONFIG_HWPOISON_INJECT)";
	return NULL;
}

static const struct srv_file inj_files[] = {
	{ .name = INJ_FILE, .size = 4 * SZ_1M, .base_mib = INJ_BASE },
	{ .name = OK_FILE, .size = 4 * SZ_1M, .base_mib = OK_BASE },
};

/* The PFN mapped at @addr of this process, or 0. */
static uint64_t pfn_of(void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)addr / SZ_4K * 8) != 8)
		e = 0;
	close(fd);
	return e >> 63 ? e & ((1ULL << 55) - 1) : 0;
}

/*
 * A child maps all 4 MiB of @fd, checks the page at @good, then touches
 * @bad (unless it is -1): exits CHILD_SIGNALLED on SIGBUS (siginfo in @rep),
 * 0 if nothing happened, 1 if the good page was wrong.
 */
static int map_touch_child(int fd, uint32_t seed, uint64_t good, long bad,
			   struct report *rep)
{
	pid_t pid = fork();
	unsigned char *p;

	if (!pid) {
		catch_sigbus(rep);
		p = mmap(NULL, 4 * SZ_1M, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED)
			_exit(2);
		rep->page = p + bad;
		if (mismatch(p + good, SZ_4K, seed, good) >= 0)
			_exit(1);
		rep->ready = 1;
		if (bad >= 0)
			load_byte(p + bad);
		_exit(0);
	}
	return pid < 0 ? -1 : wait_child(pid);
}

TEST_F(memfail, injector_poisons_one_page)
{
	struct report *rep = self->rep;
	unsigned char buf[SZ_4K], *win;
	char expect[128], val[32], c = 0;
	int fq, fo, status, ready[2], go[2];
	uint64_t pfn;
	const char *why = need_injector();
	pid_t pid;

	if (why)
		SKIP(return, "%s", why);
	self->srv.files = inj_files;
	self->srv.nfiles = 2;
	ASSERT_EQ(0, srv_mount(&self->srv));
	fq = srv_open_file(&self->srv, INJ_FILE, O_RDWR);
	ASSERT_GE(fq, 0);
	self->fd = fq;
	fo = srv_open_file(&self->srv, OK_FILE, O_RDWR);
	ASSERT_GE(fo, 0);
	ASSERT_EQ(0, fill_pwrite(fq, self->seed, 0, 4 * SZ_1M));
	ASSERT_EQ(0, fill_pwrite(fo, self->seed + 1, 0, 4 * SZ_1M));

	/*
	 * The page's PFN, from a mapping of it.  The injecting process must not
	 * map it: memory_failure() signals the current process if it does.
	 */
	win = mmap(NULL, WINDOW, PROT_READ, MAP_SHARED, fq, 0);
	ASSERT_NE(MAP_FAILED, win);
	touch_read(win, WINDOW);
	pfn = pfn_of(win + INJ_PAGE);
	munmap(win, WINDOW);
	/* Never poison anything but that page of the device. */
	ASSERT_EQ(0, read_str("/sys/bus/dax/devices/" DAX_NAME "/resource",
			      val, sizeof(val)));
	ASSERT_EQ(strtoull(val, NULL, 16) + INJ_BASE * SZ_1M + INJ_PAGE,
		  pfn * SZ_4K) {
		TH_LOG("PFN %#llx is not the page at %s + %d MiB + %lu",
		       (unsigned long long)pfn, val, INJ_BASE, INJ_PAGE);
	}

	/* A process that maps it, without early kill, waits. */
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		catch_sigbus(&rep[4]);
		win = mmap(NULL, WINDOW, PROT_READ, MAP_SHARED, fq, 0);
		if (win == MAP_FAILED)
			_exit(2);
		touch_read(win, WINDOW);
		if (scan_bytes(win, WINDOW, PAGE_IS_PRESENT) != (long)WINDOW ||
		    write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		/*
		 * Not signalled.  memory_failure() unmaps the page only if it
		 * signals a process (an early-kill one, or the caller): here
		 * it stays mapped until it is touched (on real hardware, the
		 * machine check of that touch signals the toucher).
		 */
		_exit(scan_bytes(win + INJ_PAGE, SZ_4K, PAGE_IS_PRESENT) ? 4 :
		      0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));

	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);
	snprintf(val, sizeof(val), "%#llx", (unsigned long long)pfn);
	ASSERT_EQ(0, write_str(CORRUPT_PFN, val)) {
		TH_LOG("corrupt-pfn %s: %s", val, strerror(errno));
	}
	ASSERT_EQ(1, write(go[1], &c, 1));
	status = wait_child(pid);
	EXPECT_TRUE(WIFEXITED(status) &&
		    (!WEXITSTATUS(status) || WEXITSTATUS(status) == 4)) {
		TH_LOG("mapping process: status %#x, signal %d code %d",
		       status, rep[4].sig, rep[4].code);
	}
	TH_LOG("the late-kill mapper's page is %s",
	       WIFEXITED(status) && WEXITSTATUS(status) == 4 ?
	       "still mapped" : "unmapped");

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	snprintf(expect, sizeof(expect), FAILURE_MSG "0x%lx+0x%lx",
		 INJ_BASE * SZ_1M + INJ_PAGE, SZ_4K);
	EXPECT_EQ(1, count_str(self->log, expect)) {
		TH_LOG("expected once in the kernel log: \"%s\"", expect);
	}

	/* Touching it: SIGBUS at the page's address. */
	status = map_touch_child(fq, self->seed, SZ_1M, INJ_PAGE, &rep[0]);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED) {
		TH_LOG("child touching the poison: status %#x", status);
	}
	EXPECT_TRUE(rep[0].ready);
	EXPECT_EQ(SIGBUS, rep[0].sig);
	EXPECT_EQ(BUS_MCEERR_AR, rep[0].code);
	EXPECT_EQ(rep[0].page, rep[0].addr);
	EXPECT_EQ(12, rep[0].lsb);

	/* read(2) and write(2) of it fail; around it they work. */
	errno = 0;
	EXPECT_EQ(-1, pread(fq, buf, SZ_4K, INJ_PAGE));
	EXPECT_EQ(EHWPOISON, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fq, buf, SZ_4K, INJ_PAGE));
	EXPECT_EQ(EHWPOISON, errno);
	EXPECT_EQ(-1, check_pread(fq, self->seed, 0, INJ_PAGE));
	EXPECT_EQ(-1, check_pread(fq, self->seed, INJ_PAGE + SZ_4K,
				  4 * SZ_1M - INJ_PAGE - SZ_4K));
	EXPECT_EQ(0, fill_pwrite(fq, self->seed, INJ_PAGE + SZ_4K, SZ_4K));

	/* Mapped again: the healthy pages work, the other file entirely. */
	status = map_touch_child(fq, self->seed, SZ_1M, -1, &rep[1]);
	EXPECT_EQ(0, status);
	status = map_touch_child(fq, self->seed, INJ_PAGE - SZ_4K, -1, &rep[2]);
	EXPECT_EQ(0, status);
	status = map_touch_child(fo, self->seed + 1, INJ_PAGE, -1, &rep[3]);
	EXPECT_EQ(0, status);
	EXPECT_EQ(-1, check_pread(fo, self->seed + 1, 0, 4 * SZ_1M));
	EXPECT_EQ(0, fill_pwrite(fo, self->seed + 1, 0, 4 * SZ_1M));

	/* Unmount (not lazily) and mount again: the data is there. */
	close(fo);
	close_umount(_metadata, &self->fd, &self->srv);
	srv_stop(&self->srv);
	self->srv2.files = inj_files;
	self->srv2.nfiles = 2;
	ASSERT_EQ(0, srv_mount(&self->srv2));
	fo = srv_open_file(&self->srv2, OK_FILE, O_RDWR);
	ASSERT_GE(fo, 0);
	EXPECT_EQ(-1, check_pread(fo, self->seed + 1, 0, 4 * SZ_1M));
	close(fo);
	self->fd = srv_open_file(&self->srv2, INJ_FILE, O_RDWR);
	ASSERT_GE(self->fd, 0);
	EXPECT_EQ(-1, check_pread(self->fd, self->seed, SZ_1M, SZ_1M));
	close_umount(_metadata, &self->fd, &self->srv2);

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));
	EXPECT_EQ(0, count_str(self->log, "Call Trace"));
}

/*
 * memory_failure() reports a page each time it is found bad: one page
 * reported many more times than the kernel keeps distinct bad ranges for a
 * device takes one of them, and the rest of the device keeps working.
 * /dev/dax1.0 at 460 MiB, which no other test uses, and the file at 464 MiB.
 */
#define AGAIN_FILE	"r"
#define AGAIN_PAGE	(8 * SZ_4K)	/* file offset of the poisoned page */
#define AGAIN_TIMES	17

static const struct srv_file again_files[] = {
	{ .name = AGAIN_FILE, .size = 4 * SZ_1M, .base_mib = 460 },
	{ .name = OK_FILE, .size = 4 * SZ_1M, .base_mib = OK_BASE },
};

TEST_F(memfail, same_page_reported_again)
{
	unsigned char buf[SZ_4K], *win;
	char expect[128], val[32];
	const char *why = need_injector();
	uint64_t pfn;
	int fo, i;

	if (why)
		SKIP(return, "%s", why);
	self->srv.files = again_files;
	self->srv.nfiles = 2;
	ASSERT_EQ(0, srv_mount(&self->srv));
	self->fd = srv_open_file(&self->srv, AGAIN_FILE, O_RDWR);
	ASSERT_GE(self->fd, 0);
	fo = srv_open_file(&self->srv, OK_FILE, O_RDWR);
	ASSERT_GE(fo, 0);
	ASSERT_EQ(0, fill_pwrite(fo, self->seed + 1, 0, 4 * SZ_1M));

	/* The page's PFN, from a mapping of it alone (see above). */
	win = mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, self->fd, AGAIN_PAGE);
	ASSERT_NE(MAP_FAILED, win);
	touch_read(win, SZ_4K);
	pfn = pfn_of(win);
	munmap(win, SZ_4K);
	ASSERT_EQ(0, read_str("/sys/bus/dax/devices/" DAX_NAME "/resource",
			      val, sizeof(val)));
	ASSERT_EQ(strtoull(val, NULL, 16) + 460 * SZ_1M + AGAIN_PAGE,
		  pfn * SZ_4K);

	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);
	snprintf(val, sizeof(val), "%#llx", (unsigned long long)pfn);
	for (i = 0; i < AGAIN_TIMES; i++)
		ASSERT_EQ(0, write_str(CORRUPT_PFN, val)) {
			TH_LOG("corrupt-pfn %s, time %d: %s", val, i + 1,
			       strerror(errno));
		}

	/* That page fails, the pages around it and the other file work. */
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, buf, SZ_4K, AGAIN_PAGE));
	EXPECT_EQ(EHWPOISON, errno);
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K,
					AGAIN_PAGE + SZ_4K));
	EXPECT_EQ(-1, check_pread(fo, self->seed + 1, 0, 4 * SZ_1M));
	EXPECT_EQ(0, fill_pwrite(fo, self->seed + 1, 0, SZ_1M));

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	/* Every report reached memory_failure()'s end, one was recorded. */
	snprintf(expect, sizeof(expect), "%#llx: recovery action for dax page",
		 (unsigned long long)pfn);
	EXPECT_EQ(AGAIN_TIMES, count_str(self->log, expect));
	snprintf(expect, sizeof(expect), FAILURE_MSG "0x%lx+0x%lx",
		 460 * SZ_1M + AGAIN_PAGE, SZ_4K);
	EXPECT_EQ(1, count_str(self->log, expect)) {
		TH_LOG("expected once in the kernel log: \"%s\"", expect);
	}
	EXPECT_EQ(0, count_str(self->log, "failing ranges"));
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));
	close(fo);
	close_umount(_metadata, &self->fd, &self->srv);
}

/*
 * Unbinding the device while two files are mapped by two processes, one
 * whole (PMD) and one in a window (PTE): afterwards no page of the device
 * is mapped in either process.  /dev/dax1.0 at 472 and 480 MiB.
 */
static const struct srv_file unbind_files[] = {
	{ .name = "u", .size = 4 * SZ_1M, .base_mib = 472 },
	{ .name = "v", .size = 4 * SZ_1M, .base_mib = 480 },
};

TEST_F(memfail, unbind_while_pmd_mapped)
{
	unsigned char *mu, *mv, c = 0;
	int fu, fv, status, go[2], done[2];
	pid_t pid;

	self->srv.files = unbind_files;
	self->srv.nfiles = 2;
	ASSERT_EQ(0, srv_mount(&self->srv));
	fu = srv_open_file(&self->srv, "u", O_RDWR);
	ASSERT_GE(fu, 0);
	self->fd = fu;
	fv = srv_open_file(&self->srv, "v", O_RDWR);
	ASSERT_GE(fv, 0);
	ASSERT_EQ(0, fill_pwrite(fu, self->seed, 0, 4 * SZ_1M));
	ASSERT_EQ(0, fill_pwrite(fv, self->seed + 1, 0, 4 * SZ_1M));
	mu = mmap(NULL, 4 * SZ_1M, PROT_READ | PROT_WRITE, MAP_SHARED, fu, 0);
	ASSERT_NE(MAP_FAILED, mu);
	mv = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fv,
		  SZ_4K);
	ASSERT_NE(MAP_FAILED, mv);
	EXPECT_EQ(-1, mismatch(mu, 4 * SZ_1M, self->seed, 0));
	EXPECT_EQ(-1, mismatch(mv, WINDOW, self->seed + 1, SZ_4K));
	EXPECT_EQ((long)(4 * SZ_1M),
		  scan_bytes(mu, 4 * SZ_1M, PAGE_IS_HUGE | PAGE_IS_PRESENT));
	EXPECT_EQ((long)WINDOW, scan_bytes(mv, WINDOW, PAGE_IS_PRESENT));

	/* A second process maps both too, and checks after the unbind. */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		touch(mu, 4 * SZ_1M);
		touch(mv, WINDOW);
		if (scan_bytes(mu, 4 * SZ_1M, PAGE_IS_PRESENT) != (long)(4 * SZ_1M) ||
		    scan_bytes(mv, WINDOW, PAGE_IS_PRESENT) != (long)WINDOW)
			_exit(1);
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(scan_bytes(mu, 4 * SZ_1M, PAGE_IS_PRESENT) ||
		      scan_bytes(mv, WINDOW, PAGE_IS_PRESENT) ? 3 : 0);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));

	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);
	ASSERT_EQ(0, write_str("/sys/bus/dax/drivers/fsdev_dax/unbind",
			       DAX_NAME));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
		TH_LOG("second process: status %#x", status);
	}
	EXPECT_EQ(0, scan_bytes(mu, 4 * SZ_1M, PAGE_IS_PRESENT));
	EXPECT_EQ(0, scan_bytes(mv, WINDOW, PAGE_IS_PRESENT));
	status = touch_in_child(mu + SZ_2M, &self->rep[0]);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED);
	status = touch_in_child(mv, &self->rep[1]);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SIGNALLED);
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_excerpt(_metadata, self->log);
	EXPECT_EQ(1, count_str(self->log, REMOVE_MSG));
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));

	munmap(mu, 4 * SZ_1M);
	munmap(mv, WINDOW);
	close(fv);
	close_umount(_metadata, &self->fd, &self->srv);
	srv_stop(&self->srv);

	/* Bound again, the device mounts and kept the data. */
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	self->srv2.files = unbind_files;
	self->srv2.nfiles = 2;
	ASSERT_EQ(0, srv_mount(&self->srv2));
	self->fd = srv_open_file(&self->srv2, "u", O_RDWR);
	ASSERT_GE(self->fd, 0);
	EXPECT_EQ(-1, check_pread(self->fd, self->seed, 0, 4 * SZ_1M));
	close_umount(_metadata, &self->fd, &self->srv2);
}

TEST_HARNESS_MAIN
