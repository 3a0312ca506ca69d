// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes of FUSE iomap-DAX devices, inodes and mounts against a server
 * and an administrator that do what they may.
 *
 * Each test states the defect it looks for.  They use /dev/dax1.0 (bound to
 * fsdev_dax, like memory_failure_test) at 400 MiB, away from the pages the
 * other tests use, and leave it bound to fsdev_dax.  Needs root, the
 * "identity" test provider and dax1.0 named in FUSE_IOMAP_DAX_DEVS (see
 * iomap_test_util.h); skips without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_NAME	"dax1.0"
#define DAX_DEV		"/dev/" DAX_NAME
#define UNBIND		"/sys/bus/dax/drivers/fsdev_dax/unbind"
#define FNAME		"r"
#define FSIZE		(4 * SZ_1M)
#define WINDOW		(128 * 1024)
#define KMSG_MAX	(64 * 1024)
#define REMOVE_MSG	"fuse: iomap: device 0 is being removed"
#define EVICTED_PINNED_MSG	"evicted with pinned pages"
#define PT_PATH		"/tmp/review_pt_backing"

static const struct srv_file rfile = {
	.name = FNAME, .size = FSIZE, .base_mib = 400,
};

/* The signal a child dies of when it reads @map, or 0. */
static int touch_in_child(void *map)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		load_byte(map);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* A line on the console (KERN_CRIT), to see where a guest died. */
static void mark(const char *fmt, int n)
{
	char line[160];
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	snprintf(line, sizeof(line), "<2>lifetime_test: ");
	snprintf(line + strlen(line), sizeof(line) - strlen(line), fmt, n);
	(void)!write(fd, line, strlen(line));
	close(fd);
}

static void log_lines(struct __test_metadata *_metadata, const char *log)
{
	char *copy = strdup(log), *line, *save = NULL;

	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		TH_LOG("kmsg: %s", line);
	free(copy);
}

FIXTURE(life)
{
	struct srv a;
	struct srv b;
	int fd;
	int kmsg;
	char *log;
};

FIXTURE_SETUP(life)
{
	const char *why;

	self->fd = -1;
	self->kmsg = -1;
	srv_init(&self->a, DAX_DEV);
	srv_init(&self->b, DAX_DEV);
	self->a.files = &rfile;
	self->a.nfiles = 1;
	self->b.files = &rfile;
	self->b.nfiles = 1;
	self->log = malloc(KMSG_MAX);
	ASSERT_NE(NULL, self->log);
	why = need_root() ?: need_dax(DAX_NAME, 400 * SZ_1M + FSIZE) ?:
	      need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);
}

FIXTURE_TEARDOWN(life)
{
	if (self->fd >= 0)
		close(self->fd);
	srv_stop(&self->a);
	srv_stop(&self->b);
	dax_bind(DAX_NAME, "fsdev_dax");
	if (self->kmsg >= 0)
		close(self->kmsg);
	free(self->log);
}

/*
 * kill_dax() (unbind from fsdev_dax) clears the holder of the device, so once
 * it is bound again a second mount can claim it while the first mount, whose
 * table still lists it, is alive.  When the first mount goes away,
 * fuse_iomap_release_devs() calls fs_put_dax(dev, old_ic): that clears
 * holder_ops of the NEW holder and WARNs in fs_put_dax().  The second mount
 * then no longer hears MF_MEM_PRE_REMOVE: a later unbind leaves its files
 * mapped.
 */
TEST_F(life, rebind_while_old_mount_alive)
{
	int fdb;

	ASSERT_EQ(0, srv_mount(&self->a));
	self->fd = srv_open_file(&self->a, FNAME, O_RDWR);
	ASSERT_GE(self->fd, 0);

	ASSERT_EQ(0, write_str(UNBIND, DAX_NAME));
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));

	/* The first mount still lists the device; a second mount takes it. */
	ASSERT_EQ(0, srv_mount(&self->b)) {
		TH_LOG("second mount refused (good: no double holder)");
	}
	fdb = srv_open_file(&self->b, FNAME, O_RDWR);
	ASSERT_GE(fdb, 0);
	EXPECT_EQ(1, pwrite(fdb, "x", 1, 0));

	/* The first mount goes away. */
	close(self->fd);
	self->fd = -1;
	srv_stop(&self->a);

	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_lines(_metadata, self->log);
	EXPECT_EQ(0, count_str(self->log, "WARNING")) {
		TH_LOG("fs_put_dax() of the old mount WARNed");
	}

	/* The second mount must still be told when the device goes away. */
	ASSERT_EQ(0, write_str(UNBIND, DAX_NAME));
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_lines(_metadata, self->log);
	EXPECT_EQ(1, count_str(self->log, REMOVE_MSG)) {
		TH_LOG("the second mount was not told of the removal");
	}
	close(fdb);
	srv_stop(&self->b);
}

/*
 * An open reply with FOPEN_IOMAP_DAX | FOPEN_PASSTHROUGH is accepted; read,
 * write and mmap go to the DAX device but splice (and so sendfile,
 * copy_file_range) checks passthrough first and goes to the backing file:
 * another file's data, and a splice write past the map's end grows i_size.
 */
TEST_F(life, passthrough_and_iomap_splice)
{
	unsigned char dax[SZ_4K], pt[SZ_4K], got[SZ_4K];
	int pfd, p[2];
	loff_t off;
	struct stat st;
	ssize_t n;

	pfd = open(PT_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(pfd, 0);
	fill(pt, SZ_4K, 1111, 0);
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(pfd, pt, SZ_4K, 0));
	close(pfd);

	self->a.passthrough = 1;
	self->a.pt_iomap_path = PT_PATH;
	ASSERT_EQ(0, srv_mount(&self->a));
	TH_LOG("passthrough id for iomap opens: %d", self->a.pt_iomap_id);
	ASSERT_GT(self->a.pt_iomap_id, 0);
	self->fd = srv_open_file(&self->a, FNAME, O_RDWR);
	if (self->fd < 0) {
		TH_LOG("open refused: %s (good)", strerror(errno));
		return;
	}
	fill(dax, SZ_4K, 2222, 0);
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(self->fd, dax, SZ_4K, 0));

	ASSERT_EQ(0, pipe(p));
	off = 0;
	n = splice(self->fd, &off, p[1], NULL, SZ_4K, 0);
	EXPECT_EQ((ssize_t)SZ_4K, n);
	if (n == (ssize_t)SZ_4K) {
		EXPECT_EQ((ssize_t)SZ_4K, read(p[0], got, SZ_4K));
		EXPECT_EQ(0, memcmp(got, dax, SZ_4K)) {
			TH_LOG("splice read returned %s data",
			       !memcmp(got, pt, SZ_4K) ? "the passthrough file's" :
							 "other");
		}
	}
	/* A splice write at the end of the map must fail with EFBIG. */
	ASSERT_EQ((ssize_t)SZ_4K, write(p[1], dax, SZ_4K));
	off = FSIZE;
	errno = 0;
	n = splice(p[0], NULL, self->fd, &off, SZ_4K, 0);
	EXPECT_EQ(-1, n) {
		TH_LOG("splice write past the map's end wrote %zd", n);
	}
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)FSIZE, st.st_size) {
		TH_LOG("i_size of the iomap file is now %lld",
		       (long long)st.st_size);
	}
	/* And reading the grown part asks the provider past the map. */
	errno = 0;
	n = pread(self->fd, got, SZ_4K, FSIZE);
	EXPECT_EQ(0, n) {
		TH_LOG("pread past the map: %zd (%s)", n, strerror(errno));
	}
	close(p[0]);
	close(p[1]);
	unlink(PT_PATH);
}

/*
 * O_TRUNC is refused with EPERM before OPEN is sent (protocol.rst), but an
 * O_CREAT|O_TRUNC open of a name not in the dcache goes through CREATE, which
 * carries O_TRUNC to the server and succeeds on an iomap-DAX file.
 */
TEST_F(life, create_o_trunc)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, srv_mount(&self->a));
	self->a.create_as = FNAME;
	srv_path(&self->a, "newname", path, sizeof(path));
	errno = 0;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	EXPECT_EQ(-1, fd) {
		TH_LOG("O_CREAT|O_TRUNC through CREATE opened an iomap-DAX file");
	}
	if (fd >= 0)
		close(fd);
	else
		EXPECT_EQ(EPERM, errno);
}

struct opener {
	struct srv *s;
	pthread_barrier_t *bar;
	int res;
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;
	int fd;

	pthread_barrier_wait(o->bar);
	fd = srv_open_file(o->s, FNAME, O_RDWR);
	o->res = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		char c;

		o->res = pread(fd, &c, 1, FSIZE - 1) == 1 ? 0 : -EIO;
		close(fd);
	}
	return NULL;
}

#define NOPEN 16

/* Many concurrent first opens: one map wins, the others free theirs. */
TEST_F(life, concurrent_first_opens)
{
	struct opener o[NOPEN];
	pthread_t t[NOPEN];
	pthread_barrier_t bar;
	int i;

	ASSERT_EQ(0, srv_mount(&self->a));
	pthread_barrier_init(&bar, NULL, NOPEN);
	for (i = 0; i < NOPEN; i++) {
		o[i].s = &self->a;
		o[i].bar = &bar;
		o[i].res = -1;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, open_thread, &o[i]));
	}
	for (i = 0; i < NOPEN; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, o[i].res);
	}
	TH_LOG("GETMAPs: %ld", srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP));
	srv_stop(&self->a);
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	/* The device is free again. */
	ASSERT_EQ(0, srv_mount(&self->b));
}

/*
 * A lazily unmounted mount whose file is still mapped: device removal must
 * still unmap it (the fuse_mount stays on fc->mounts until kill_sb).
 */
TEST_F(life, lazy_umount_then_unbind)
{
	unsigned char *map;
	pid_t pid;
	int status;

	ASSERT_EQ(0, srv_mount(&self->a));
	self->fd = srv_open_file(&self->a, FNAME, O_RDWR);
	ASSERT_GE(self->fd, 0);
	map = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		   0);
	ASSERT_NE(MAP_FAILED, map);
	touch(map, WINDOW);
	ASSERT_EQ(0, umount2(self->a.dir, MNT_DETACH));
	self->a.mounted = 0;
	touch(map, WINDOW);
	EXPECT_EQ((long)WINDOW, scan_bytes(map, WINDOW, PAGE_IS_PRESENT));

	ASSERT_EQ(0, write_str(UNBIND, DAX_NAME));
	EXPECT_EQ(0, scan_bytes(map, WINDOW, PAGE_IS_PRESENT));
	pid = fork();
	if (!pid) {
		signal(SIGBUS, SIG_DFL);
		load_byte(map);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	munmap(map, WINDOW);
	close(self->fd);
	self->fd = -1;
	srv_stop(&self->a);
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	ASSERT_EQ(0, srv_mount(&self->b));
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
}

/*
 * protocol.rst: "A server that accepts it anyway fails the mount with EPERM,
 * and the kernel log says why."  Only with FUSE_DEV_IOC_SYNC_INIT: with the
 * ordinary asynchronous INIT, process_init_reply() sets conn_error, the mount
 * has already succeeded, nothing is logged and every request then fails.
 */
TEST_F(life, async_init_insisting_on_iomap)
{
	char path[PATH_MAX];
	struct stat st;
	int err, i, found = 0;

	self->a.no_sync_init = 1;
	self->a.insist_iomap = 1;
	err = srv_mount(&self->a);
	/* Asynchronous INIT: mount(2) returned before the reply. */
	EXPECT_EQ(0, err) {
		TH_LOG("mount: %s", strerror(err));
	}
	if (err)
		return;
	srv_path(&self->a, FNAME, path, sizeof(path));
	/*
	 * The kernel logs the refusal while it processes the INIT reply.  Wait
	 * for that line: a request made earlier passed the connection's error
	 * check before INIT failed and ends with EIO, one made later is refused.
	 */
	for (i = 0; i < 200 && !found; i++) {
		kmsg_read(self->kmsg, self->log, KMSG_MAX);
		found = count_str(self->log, "FUSE_IOMAP_DAX refused");
		if (!found)
			usleep(10000);
	}
	EXPECT_EQ(1, found) {
		TH_LOG("nothing logged");
	}
	/* The connection failed: every request is refused. */
	errno = 0;
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(ECONNREFUSED, errno);
}

/*
 * Two inodes whose maps cover the same device pages: the DAX core tracks one
 * owner per folio (folio->mapping) unless the mapping is IOMAP_F_SHARED, and
 * WARNs (dax_associate_entry) when a second inode maps it, then overwrites
 * the owner.  A server reaches this without any malformed reply: it changes
 * FUSE_ATTR_IOMAP_DAX of a file twice (documented: "mappings of the old inode
 * keep working"), and the new inode's map covers the old inode's pages.
 */
TEST_F(life, stale_inode_shares_device_pages)
{
	unsigned char *m1, *m2;
	char path[PATH_MAX];
	struct stat st;
	int fd2;

	self->a.no_cache = 1;
	ASSERT_EQ(0, srv_mount(&self->a));
	srv_path(&self->a, FNAME, path, sizeof(path));
	self->fd = open(path, O_RDWR);
	ASSERT_GE(self->fd, 0);
	m1 = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m1);
	touch(m1, WINDOW);

	self->a.attr_flip = 1;		/* a page-cache inode */
	ASSERT_EQ(0, stat(path, &st));
	self->a.attr_flip = 0;		/* an iomap-DAX inode again */
	fd2 = open(path, O_RDWR);
	ASSERT_GE(fd2, 0);
	EXPECT_EQ(2, srv_count(&self->a, FUSE_IOMAP_DAX_GETMAP));
	m2 = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, m2);
	mark("stale: touching %d", 0);
	touch(m2, WINDOW);
	/* The stale inode was unmapped and made bad: its mapping faults. */
	EXPECT_EQ(0, scan_bytes(m1, WINDOW, PAGE_IS_PRESENT));
	EXPECT_EQ(SIGBUS, touch_in_child(m1));
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, &st, 1, 0));
	EXPECT_EQ(EIO, errno);
	mark("stale: unmapping %d", 0);

	munmap(m2, WINDOW);
	munmap(m1, WINDOW);
	close(fd2);
	close(self->fd);
	self->fd = -1;
	srv_stop(&self->a);
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_lines(_metadata, self->log);
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	mark("stale: done %d", 0);
}

/*
 * Map a window of @fd, touch it, store a pattern in its first page and pin
 * that page in a pipe (vmsplice): the mapping, or NULL.
 */
static unsigned char *map_and_pin(int fd, int pipefd[2])
{
	unsigned char *m;
	struct iovec iov;

	m = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return NULL;
	touch(m, WINDOW);
	memset(m, 0x5a, SZ_4K);
	if (pipe(pipefd))
		goto unmap;
	iov.iov_base = m;
	iov.iov_len = SZ_4K;
	if (vmsplice(pipefd[1], &iov, 1, 0) == SZ_4K)
		return m;
	close(pipefd[0]);
	close(pipefd[1]);
unmap:
	munmap(m, WINDOW);
	return NULL;
}

/* Mount @s (nothing cached), open FNAME into *@fdp, map and pin as above. */
static unsigned char *mount_open_pin(struct srv *s, int *fdp, char *path,
				     int pipefd[2])
{
	s->no_cache = 1;
	if (srv_mount(s))
		return NULL;
	srv_path(s, FNAME, path, PATH_MAX);
	*fdp = open(path, O_RDWR);
	if (*fdp < 0)
		return NULL;
	return map_and_pin(*fdp, pipefd);
}

/*
 * Have the server give @path a page-cache inode for a lookup (the iomap-DAX
 * inode goes stale), then an iomap-DAX one again, and open it: 0 if the open
 * worked, else its errno (or the lookup's, negated).
 */
static int stale_then_open(struct srv *s, const char *path)
{
	struct stat st;
	int fd, err = 0;

	s->attr_flip = 1;
	if (stat(path, &st))
		err = -errno;
	s->attr_flip = 0;
	if (err)
		return err;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/*
 * A page of a stale inode that a pipe still holds (vmsplice) is not the new
 * inode's yet: the stale inode keeps its ranges until it is evicted, and the
 * new inode's map, over the same pages, is refused until then.  Afterwards
 * it opens.
 */
TEST_F(life, stale_inode_pinned_page)
{
	char path[PATH_MAX];
	unsigned char *m1;
	int pipefd[2];

	m1 = mount_open_pin(&self->a, &self->fd, path, pipefd);
	ASSERT_NE(NULL, m1);
	EXPECT_EQ(EBUSY, stale_then_open(&self->a, path));

	/* Unpinned, unmapped and closed: the stale inode goes, its ranges too. */
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(m1, WINDOW);
	close(self->fd);
	self->fd = open(path, O_RDWR);
	EXPECT_GE(self->fd, 0) {
		TH_LOG("open after the pin: %s", strerror(errno));
	}
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_lines(_metadata, self->log);
	EXPECT_EQ(1, count_str(self->log, "pinned pages"));
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));
}

/* Open @path, retrying while the old inode's ranges are reserved (EBUSY). */
static int open_when_free(const char *path, int ms)
{
	int fd;

	for (;;) {
		fd = open(path, O_RDWR);
		if (fd >= 0 || errno != EBUSY || ms <= 0)
			return fd;
		usleep(10000);
		ms -= 10;
	}
}

/*
 * As stale_inode_pinned_page, but the file was unmapped and closed before
 * the server made it stale: fuse_iget()'s iput evicts the stale inode with
 * its page pinned, by the pinning task itself.  That neither waits for the
 * pin (the task would wait for itself, unkillably) nor frees the ranges: a
 * new inode gets them once the page is released.
 */
TEST_F(life, evicted_inode_pinned_page)
{
	char path[PATH_MAX];
	unsigned char *m;
	int pipefd[2];

	m = mount_open_pin(&self->a, &self->fd, path, pipefd);
	ASSERT_NE(NULL, m);
	munmap(m, WINDOW);
	close(self->fd);
	self->fd = -1;

	mark("stale and evicted with a pinned page %d", 0);
	EXPECT_EQ(EBUSY, stale_then_open(&self->a, path));

	close(pipefd[0]);
	close(pipefd[1]);
	self->fd = open_when_free(path, 5000);
	EXPECT_GE(self->fd, 0) {
		TH_LOG("open after the pin: %s", strerror(errno));
	}
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_lines(_metadata, self->log);
	EXPECT_EQ(1, count_str(self->log, EVICTED_PINNED_MSG));
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG:"));
}

struct racer {
	unsigned char *map;
	int fd;
	pthread_barrier_t *bar;
	int res;
};

static void *close_thread(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->bar);
	munmap(r->map, WINDOW);
	close(r->fd);		/* the last reference: kill_sb runs here */
	return NULL;
}

static void *unbind_thread(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->bar);
	r->res = write_str(UNBIND, DAX_NAME);
	return NULL;
}

/*
 * Device removal (fuse_iomap_unmap_all() under killsb) racing with the last
 * close of a lazily unmounted mount (kill_sb, eviction, fuse_iomap_conn_free).
 */
TEST_F(life, unbind_races_kill_sb)
{
	pthread_barrier_t bar;
	struct racer r;
	pthread_t t1, t2;
	int i;

	for (i = 0; i < 6; i++) {
		struct srv *s = i & 1 ? &self->b : &self->a;

		srv_init(s, DAX_DEV);
		s->files = &rfile;
		s->nfiles = 1;
		ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
		ASSERT_EQ(0, srv_mount(s));
		r.fd = srv_open_file(s, FNAME, O_RDWR);
		ASSERT_GE(r.fd, 0);
		r.map = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED,
			     r.fd, (i % 3) * SZ_1M);
		ASSERT_NE(MAP_FAILED, r.map);
		touch(r.map, WINDOW);
		ASSERT_EQ(0, umount2(s->dir, MNT_DETACH));
		s->mounted = 0;
		mark("race: iteration %d", i);
		pthread_barrier_init(&bar, NULL, 2);
		r.bar = &bar;
		ASSERT_EQ(0, pthread_create(&t1, NULL, close_thread, &r));
		ASSERT_EQ(0, pthread_create(&t2, NULL, unbind_thread, &r));
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		pthread_barrier_destroy(&bar);
		EXPECT_EQ(0, r.res);
		srv_stop(s);
	}
	mark("race: done %d", i);
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	ASSERT_EQ(0, srv_mount(&self->a));
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG"));
}

struct writer {
	const char *path;
	const char *val;
	int res;
	int done;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;

	w->res = write_str(w->path, w->val);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * A page pinned through a file whose inode was evicted: the eviction does not
 * wait for the pin (it may run from reclaim), but the removal of the device
 * must, or its memory goes away under the pin.  The evicted inode is on no
 * list removal walks to unmap files; its ranges stay in the range tree until
 * its pages are released.
 */
TEST_F(life, removal_waits_for_evicting_pin)
{
	struct writer ev = { .path = "/proc/sys/vm/drop_caches", .val = "2" };
	struct writer rm = { .path = UNBIND, .val = DAX_NAME };
	unsigned char *m, buf[SZ_4K];
	pthread_t t1, t2;
	int pipefd[2];

	ASSERT_EQ(0, srv_mount(&self->a));
	self->fd = srv_open_file(&self->a, FNAME, O_RDWR);
	ASSERT_GE(self->fd, 0);
	m = map_and_pin(self->fd, pipefd);
	ASSERT_NE(NULL, m);
	munmap(m, WINDOW);
	close(self->fd);
	self->fd = -1;

	/* The inode goes, without waiting for the pinned page. */
	ASSERT_EQ(0, pthread_create(&t1, NULL, writer_thread, &ev));
	pthread_join(t1, NULL);
	EXPECT_EQ(0, ev.res);
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	EXPECT_EQ(1, count_str(self->log, EVICTED_PINNED_MSG));
	/* The device goes: its removal waits for the pinned page. */
	mark("removal with a pinned page of an inode being evicted %d", 0);
	ASSERT_EQ(0, pthread_create(&t2, NULL, writer_thread, &rm));
	usleep(500000);
	EXPECT_EQ(0, __atomic_load_n(&rm.done, __ATOMIC_SEQ_CST)) {
		TH_LOG("the device was removed under a pinned page");
	}
	/* The pinned page still holds what was stored; releasing it ends both. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)SZ_4K, read(pipefd[0], buf, SZ_4K));
	EXPECT_EQ(0x5a, buf[0]);
	EXPECT_EQ(0x5a, buf[SZ_4K - 1]);
	close(pipefd[0]);
	close(pipefd[1]);
	pthread_join(t2, NULL);
	EXPECT_EQ(0, rm.res);
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	kmsg_read(self->kmsg, self->log, KMSG_MAX);
	log_lines(_metadata, self->log);
	EXPECT_EQ(1, count_str(self->log, REMOVE_MSG));
	EXPECT_EQ(0, count_str(self->log, "WARNING"));
	EXPECT_EQ(0, count_str(self->log, "BUG"));
}

TEST_HARNESS_MAIN
