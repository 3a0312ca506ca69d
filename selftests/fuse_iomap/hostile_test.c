// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE iomap-DAX against a hostile server: GETMAP replies whose size probe
 * lies or whose map changes between the probe and the fetch, replies with a
 * wrong unique, a bad length or a bad error, sent twice or crosswise;
 * IOMAP_CONFIG replies naming a backing id twice, another connection's id or
 * answered twice; backing ids closed under the kernel; a server killed
 * during GETMAP, during IOMAP_CONFIG, right after mount and during a fault
 * storm; attributes that disagree with the map.
 *
 * The kernel must survive all of it: every case ends in the errno asserted
 * here (each was read off fs/fuse/iomap_dax.c and fs/fuse/dev.c), or SIGBUS
 * for a process touching a mapping, and the device can be mounted again
 * afterwards.  Not repeated here: the cases of fuse_iomap_test
 * (unknown_provider, malformed_config, unregistered_backing_id,
 * getmap_rejected, server_killed_while_mapped, abort_while_mapped) and
 * dax_paths_test (config_unanswered_killable: the mounter, which is also the
 * server, killed during IOMAP_CONFIG; attr_flag_flip_is_a_new_inode).
 *
 * Needs root, /dev/dax0.0 (at least 64 MiB) and /dev/dax1.0 (32 MiB), both
 * named in FUSE_IOMAP_DAX_DEVS (see iomap_test_util.h) and bound to fsdev_dax
 * here, and the "identity" test provider; skips without them.  Uses the first
 * 20 MiB of dax0.0, as fuse_iomap_test does.
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_NAME	"dax0.0"
#define DAX_DEV		"/dev/" DAX_NAME
#define DAX1_DEV	"/dev/dax1.0"

/*
 * The errnos, from the kernel code:
 * - a GETMAP reply the kernel cannot use (size or padding wrong, payload past
 *   the offer) fails the open with EIO (fuse_iomap_getmap(), and dev.c turns
 *   a reply that does not fit the request into -EIO);
 * - a write to /dev/fuse whose header is wrong (len, error out of range) is
 *   refused with EINVAL and the request stays pending; a unique nothing
 *   waits for gets ENOENT (fuse_dev_do_write());
 * - requests in flight when the last /dev/fuse file goes away end with
 *   ECONNABORTED (fuse_chan_abort()), later ones fail with ENOTCONN;
 * - FUSE_IOMAP_DAX_CONFIG: a backing id that is not one of this connection's
 *   fails the mount with ENOENT, a device held twice with EBUSY.
 */
#define E_BAD_REPLY	EIO
#define E_BAD_HEADER	EINVAL
#define E_NO_REQUEST	ENOENT
#define E_ABORTED	ECONNABORTED
#define E_GONE		ENOTCONN
#define E_BAD_ID	ENOENT
#define E_BUSY		EBUSY

FIXTURE(hostile)
{
	struct srv *srv;	/* shared: a forked server uses it */
	struct srv *srv2;
	pid_t child;		/* a forked server ... */
	int foreign;		/* ... serving self->srv: its fd is not ours */
	uint32_t seed;
	int fd;
	void *map;
	size_t maplen;
};

FIXTURE_SETUP(hostile)
{
	const char *why;

	self->fd = -1;
	self->map = MAP_FAILED;
	self->srv = mmap(NULL, 2 * sizeof(struct srv), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->srv);
	self->srv2 = self->srv + 1;
	srv_init(self->srv, DAX_DEV);
	srv_init(self->srv2, DAX_DEV);
	self->seed = getpid() ^ time(NULL) ^ 0x6b6b1234;
	why = need_root() ?: need_dax(DAX_NAME, 64 * SZ_1M) ?:
	      need_dax("dax1.0", 32 * SZ_1M) ?: need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
	ASSERT_EQ(0, dax_bind("dax1.0", "fsdev_dax"));
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->maplen);
	if (self->fd >= 0)
		close(self->fd);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->foreign) {
		srv_umount(self->srv);
		rmdir(self->srv->dir);
	} else {
		srv_stop(self->srv);
	}
	srv_stop(self->srv2);
	munmap(self->srv, 2 * sizeof(struct srv));
}

/* A fresh server mounts the device and reads back what it writes. */
static void remount_works(struct __test_metadata *_metadata,
			  FIXTURE_DATA(hostile) * self)
{
	unsigned char buf[SZ_4K], got[SZ_4K];
	int fd;

	srv_stop(self->srv2);
	srv_init(self->srv2, DAX_DEV);
	ASSERT_EQ(0, srv_mount(self->srv2)) {
		TH_LOG("the device was not released");
	}
	fd = srv_open_file(self->srv2, FILE_A, O_RDWR);
	ASSERT_GE(fd, 0);
	fill(buf, sizeof(buf), self->seed, SZ_1M);
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(fd, buf, SZ_4K, SZ_1M));
	EXPECT_EQ((ssize_t)SZ_4K, pread(fd, got, SZ_4K, SZ_1M));
	EXPECT_EQ(0, memcmp(buf, got, SZ_4K));
	close(fd);
	srv_stop(self->srv2);
}

/* Close the test's file and mount: the device must be free afterwards. */
static void finish(struct __test_metadata *_metadata,
		   FIXTURE_DATA(hostile) * self)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	srv_stop(self->srv);
	remount_works(_metadata, self);
}

/* Open @name of @s; the fd, or -errno. */
static int try_open(struct srv *s, const char *name)
{
	int fd = srv_open_file(s, name, O_RDWR);

	return fd < 0 ? -errno : fd;
}

/* Close @fd and evict the inode of @name: its next open fetches a map. */
static void drop_file(struct __test_metadata *_metadata, struct srv *s,
		      int fd, const char *name)
{
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, srv_forget(s, name));
}

/* The byte at @off of a mapping, read in a child: 0, or the signal it died of. */
static int peek_in_child(const void *map, size_t off)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		load_byte((const char *)map + off);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
}

/* Wait, at most 5 s, until the server thread recorded a reply's result. */
static void wait_reply(atomic_int *res)
{
	int i;

	for (i = 0; i < 500 && *res == -1; i++)
		usleep(10000);
}

/*
 * The size probe and the fetch disagree.  The kernel trusts each reply only
 * for what it can check: a probe announcing more than the map that follows
 * is fine (the fetch may be smaller than its offer), and so is a map that
 * changed between the two (the fetch wins); a fetch whose payload exceeds
 * what the probe announced does not fit the request (EIO).
 */
TEST_F(hostile, getmap_probe_then_other_map)
{
	unsigned char buf[SZ_4K], got[SZ_4K];
	struct stat st;
	int fd;

	ASSERT_EQ(0, srv_mount(self->srv));

	self->srv->map_mode = MAP_PROBE_BIGGER;
	fd = try_open(self->srv, FILE_A);
	ASSERT_GE(fd, 0) {
		TH_LOG("probe bigger than the map: %s", strerror(-fd));
	}
	EXPECT_EQ(2, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	EXPECT_EQ(2U * SZ_4K, self->srv->getmap_offer);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ((off_t)FILE_A_SIZE, st.st_size);
	close(fd);

	/* The map changed after the probe: the file is what the fetch says. */
	self->srv->map_mode = MAP_CHANGES;
	self->fd = try_open(self->srv, FILE_C);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("map changed after the probe: %s", strerror(-self->fd));
	}
	EXPECT_EQ(4, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)(FILE_C_SIZE / 2), st.st_size);
	fill(buf, sizeof(buf), self->seed, FILE_C_SIZE / 2 - SZ_4K);
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(self->fd, buf, SZ_4K,
					 FILE_C_SIZE / 2 - SZ_4K));
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, got, SZ_4K,
					FILE_C_SIZE / 2 - SZ_4K));
	EXPECT_EQ(0, memcmp(buf, got, SZ_4K));
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, buf, 1, FILE_C_SIZE / 2));
	EXPECT_EQ(EFBIG, errno);

	/* The fetch sends more than the probe announced. */
	self->srv->map_mode = MAP_PROBE_SMALLER;
	self->srv->reply_err = -1;
	EXPECT_EQ(-E_BAD_REPLY, try_open(self->srv, FILE_B));
	wait_reply(&self->srv->reply_err);
	EXPECT_EQ(E_BAD_HEADER, self->srv->reply_err);
	EXPECT_EQ(6, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	/* Nothing was cached: a good reply is asked for and taken. */
	self->srv->map_mode = MAP_OK;
	fd = try_open(self->srv, FILE_B);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(7, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	finish(_metadata, self);
}

/* The reply header's map size, or its padding, disagrees with the map. */
TEST_F(hostile, getmap_header_lies)
{
	static const enum srv_map_mode bad[] = {
		MAP_SIZE_HIGH, MAP_SIZE_LOW, MAP_ZERO, MAP_PADDING,
	};
	unsigned int i;
	int fd;

	ASSERT_EQ(0, srv_mount(self->srv));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		self->srv->map_mode = bad[i];
		self->srv->reply_err = -1;
		fd = try_open(self->srv, FILE_A);
		EXPECT_EQ(-E_BAD_REPLY, fd) {
			TH_LOG("map mode %d: %d", bad[i], fd);
		}
		/* The write was taken: it is the reply that was wrong. */
		wait_reply(&self->srv->reply_err);
		EXPECT_EQ(0, self->srv->reply_err);
		EXPECT_EQ((long)i + 1, srv_count(self->srv,
						 FUSE_IOMAP_DAX_GETMAP));
		if (fd >= 0)
			drop_file(_metadata, self->srv, fd, FILE_A);
	}
	self->srv->map_mode = MAP_OK;
	fd = try_open(self->srv, FILE_A);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	finish(_metadata, self);
}

/*
 * Replies with a wrong unique, written twice, with a bad length or a bad
 * error.  A write the kernel refuses leaves the request pending: the right
 * reply that follows completes the open.  An error reply with a payload ends
 * the request with EIO, and the reply that follows finds nothing.
 */
TEST_F(hostile, bad_replies)
{
	static const struct {
		enum srv_reply_mode mode;
		int err;	/* of the spoiled write */
		int err2;	/* of the write after it (the first for TWICE) */
		int open;	/* 0 or -errno of the open */
	} cases[] = {
		{ REPLY_UNKNOWN_UNIQUE, E_NO_REQUEST, 0, 0 },
		{ REPLY_TWICE, E_NO_REQUEST, 0, 0 },
		{ REPLY_LEN_LONG, E_BAD_HEADER, 0, 0 },
		{ REPLY_LEN_SHORT, E_BAD_HEADER, 0, 0 },
		{ REPLY_ERR_POSITIVE, E_BAD_HEADER, 0, 0 },
		{ REPLY_ERR_RANGE, E_BAD_HEADER, 0, 0 },
		{ REPLY_ERR_PAYLOAD, E_BAD_HEADER, E_NO_REQUEST, -E_BAD_REPLY },
	};
	unsigned char buf[SZ_4K], got[SZ_4K];
	unsigned int i;
	int fd;

	ASSERT_EQ(0, srv_mount(self->srv));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		self->srv->reply_mode = cases[i].mode;
		self->srv->reply_err = -1;
		self->srv->reply2_err = -1;
		fd = try_open(self->srv, FILE_A);
		if (cases[i].open) {
			EXPECT_EQ(cases[i].open, fd);
		} else {
			EXPECT_GE(fd, 0) {
				TH_LOG("open: %s", strerror(-fd));
			}
		}
		/* The server thread may write its last reply after the open. */
		wait_reply(&self->srv->reply_err);
		wait_reply(&self->srv->reply2_err);
		EXPECT_EQ(cases[i].err, self->srv->reply_err) {
			TH_LOG("reply mode %d", cases[i].mode);
		}
		EXPECT_EQ(cases[i].err2, self->srv->reply2_err) {
			TH_LOG("reply mode %d", cases[i].mode);
		}
		EXPECT_EQ((long)i + 1, srv_count(self->srv,
						 FUSE_IOMAP_DAX_GETMAP));
		if (fd >= 0) {
			/* The map that got through is the right one. */
			fill(buf, sizeof(buf), self->seed + i, SZ_2M);
			EXPECT_EQ((ssize_t)SZ_4K,
				  pwrite(fd, buf, SZ_4K, SZ_2M));
			EXPECT_EQ((ssize_t)SZ_4K, pread(fd, got, SZ_4K, SZ_2M));
			EXPECT_EQ(0, memcmp(buf, got, SZ_4K));
		}
		drop_file(_metadata, self->srv, fd, FILE_A);
	}
	finish(_metadata, self);
}

struct opener {
	struct srv *s;
	const char *name;
	int fd;		/* or -errno */
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;

	o->fd = try_open(o->s, o->name);
	return NULL;
}

/*
 * Two GETMAPs pending at once, each answered with the unique of the other:
 * the kernel matches replies by unique only, so each file gets the other's
 * map.  Both are valid and apart: both opens work, each file with the
 * other's size and device range.
 */
TEST_F(hostile, replies_crosswise)
{
	static const struct srv_file xy[] = {
		{ .name = "x", .size = 4 * SZ_1M },
		{ .name = "y", .size = SZ_2M, .base_mib = 8 },
	};
	struct opener o[2] = {
		{ .s = self->srv, .name = "x" },
		{ .s = self->srv, .name = "y" },
	};
	unsigned char buf[SZ_4K], got[SZ_4K];
	pthread_t t[2];
	struct stat st;
	int i;

	self->srv->files = xy;
	self->srv->nfiles = 2;
	ASSERT_EQ(0, srv_mount(self->srv));
	self->srv->map_mode = MAP_SWAP;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, open_thread, &o[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(1UL, self->srv->held);
	EXPECT_EQ(2, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	ASSERT_GE(o[0].fd, 0);
	ASSERT_GE(o[1].fd, 0);
	ASSERT_EQ(0, fstat(o[0].fd, &st));
	EXPECT_EQ((off_t)SZ_2M, st.st_size);
	ASSERT_EQ(0, fstat(o[1].fd, &st));
	EXPECT_EQ((off_t)(4 * SZ_1M), st.st_size);
	/* x is at 8 MiB now: a third file there would overlap it. */
	fill(buf, sizeof(buf), self->seed, 0);
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(o[0].fd, buf, SZ_4K, 0));
	EXPECT_EQ((ssize_t)SZ_4K, pread(o[0].fd, got, SZ_4K, 0));
	EXPECT_EQ(0, memcmp(buf, got, SZ_4K));
	close(o[0].fd);
	close(o[1].fd);
	srv_stop(self->srv);
	remount_works(_metadata, self);
}

/* IOMAP_CONFIG lists one backing id twice, or one device under two ids. */
TEST_F(hostile, config_duplicate_devices)
{
	static char log[16384];
	int err, kfd;

	self->srv->config_mode = CONFIG_DUP_ID;
	err = srv_mount(self->srv);
	/* The first use of the id used it up. */
	EXPECT_EQ(E_BAD_ID, err) {
		TH_LOG("an id listed twice: %s", strerror(err));
	}
	srv_stop(self->srv);
	remount_works(_metadata, self);

	srv_init(self->srv, DAX_DEV);
	self->srv->config_mode = CONFIG_DUP_DEVICE;
	kfd = kmsg_open();
	ASSERT_GE(kfd, 0);
	err = srv_mount(self->srv);
	/* The device has a holder already: this connection, as the log says. */
	EXPECT_EQ(E_BUSY, err) {
		TH_LOG("a device listed twice: %s", strerror(err));
	}
	kmsg_read(kfd, log, sizeof(log));
	close(kfd);
	EXPECT_EQ(1, count_str(log, "iomap: device 1 is device 0 again")) {
		TH_LOG("kernel log: %s", log);
	}
	srv_stop(self->srv);
	remount_works(_metadata, self);
}

/*
 * A backing id of another connection: ids are per connection, so the first
 * connection does not find it, even though the device behind it is free.
 */
TEST_F(hostile, config_foreign_backing_id)
{
	int err;

	/* The second connection: dax1.0, and a spare DAX id of dax0.0. */
	srv_init(self->srv2, DAX1_DEV);
	self->srv2->spare_dax_path = DAX_DEV;
	ASSERT_EQ(0, srv_mount(self->srv2));
	ASSERT_GT(self->srv2->spare_dax_id, 0);

	self->srv->foreign_id = self->srv2->spare_dax_id;
	err = srv_mount(self->srv);
	EXPECT_EQ(E_BAD_ID, err) {
		TH_LOG("another connection's id %d: %s",
		       self->srv2->spare_dax_id, strerror(err));
	}
	/* The number is not one of the first connection's own ids. */
	EXPECT_NE(self->srv->backing_res, self->srv2->spare_dax_id);
	srv_stop(self->srv);

	/* The device is free, whatever the other connection holds of it. */
	srv_init(self->srv, DAX_DEV);
	ASSERT_EQ(0, srv_mount(self->srv));
	self->fd = try_open(self->srv, FILE_A);
	EXPECT_GE(self->fd, 0);
	finish(_metadata, self);
}

/* A second reply to IOMAP_CONFIG finds no request; the mount stands. */
TEST_F(hostile, config_answered_twice)
{
	self->srv->config_mode = CONFIG_TWICE;
	self->srv->config_dup_err = -1;
	ASSERT_EQ(0, srv_mount(self->srv));
	wait_reply(&self->srv->config_dup_err);
	EXPECT_EQ(E_NO_REQUEST, self->srv->config_dup_err);
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
	self->fd = try_open(self->srv, FILE_A);
	EXPECT_GE(self->fd, 0);
	finish(_metadata, self);
}

/*
 * The server closes the backing ids it listed right after its IOMAP_CONFIG
 * reply, racing with the kernel taking them: exactly one of the two gets
 * each id.  Either the close fails (ENOENT, used up) and the mount works, or
 * the close wins and the mount fails with ENOENT.
 */
TEST_F(hostile, backing_close_races_config)
{
	int i, err, won = 0, lost = 0;

	for (i = 0; i < 10; i++) {
		srv_init(self->srv, DAX_DEV);
		self->srv->close_after_config = 1;
		self->srv->close_res = -1;
		err = srv_mount(self->srv);
		/* The server closes after its reply: the mount may return first. */
		for (int t = 0; t < 500 && self->srv->close_res == -1; t++)
			usleep(10 * 1000);
		if (!err) {
			won++;
			EXPECT_EQ(ENOENT, self->srv->close_res);
			self->fd = try_open(self->srv, FILE_A);
			EXPECT_GE(self->fd, 0);
			if (self->fd >= 0)
				close(self->fd);
			self->fd = -1;
		} else {
			lost++;
			EXPECT_EQ(E_BAD_ID, err);
			EXPECT_EQ(0, self->srv->close_res);
		}
		srv_stop(self->srv);
	}
	TH_LOG("mounts: %d took the id first, %d lost it to the close", won,
	       lost);
	remount_works(_metadata, self);
}

/*
 * The server closes backing ids while a file is mapped: the table's id is
 * used up (ENOENT), a spare id of the same device closes; the mapping, the
 * data and the device hold are untouched, and after the unmount the device
 * can be claimed again.
 */
TEST_F(hostile, backing_close_while_mapped)
{
	unsigned char buf[SZ_4K];
	int id;

	self->srv->spare_dax_path = DAX_DEV;
	ASSERT_EQ(0, srv_mount(self->srv));
	ASSERT_GT(self->srv->spare_dax_id, 0);
	self->fd = try_open(self->srv, FILE_A);
	ASSERT_GE(self->fd, 0);
	self->maplen = FILE_A_SIZE;
	self->map = mmap(NULL, self->maplen, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	fill(self->map, self->maplen, self->seed, 0);

	id = self->srv->backing_res;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->srv->fd, FUSE_DEV_IOC_BACKING_CLOSE, &id));
	EXPECT_EQ(ENOENT, errno);
	id = self->srv->spare_dax_id;
	EXPECT_EQ(0, ioctl(self->srv->fd, FUSE_DEV_IOC_BACKING_CLOSE, &id));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->srv->fd, FUSE_DEV_IOC_BACKING_CLOSE, &id));
	EXPECT_EQ(ENOENT, errno);

	EXPECT_EQ(-1, mismatch(self->map, self->maplen, self->seed, 0));
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, SZ_4K, 3 * SZ_1M));
	EXPECT_EQ(-1, mismatch(buf, SZ_4K, self->seed, 3 * SZ_1M));
	/* While mounted, the device is still held. */
	srv_init(self->srv2, DAX_DEV);
	EXPECT_EQ(E_BUSY, srv_mount(self->srv2));
	srv_stop(self->srv2);

	munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	srv_stop(self->srv);
	remount_works(_metadata, self);
}

/*
 * Start self->srv as a server in a child process, the only holder of its
 * /dev/fuse file once the parent closed its copy; the parent mounts it
 * unless @mount is 0.
 */
static void fork_server(struct __test_metadata *_metadata,
			FIXTURE_DATA(hostile) * self, int mount)
{
	pid_t pid;

	self->srv->no_thread = 1;
	ASSERT_EQ(0, srv_open(self->srv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		srv_serve(self->srv);
		_exit(0);
	}
	self->child = pid;
	self->foreign = 1;
	if (mount)
		ASSERT_EQ(0, srv_mount_fd(self->srv));
}

/* SIGKILL the server child; it must be gone at once. */
static void kill_server(struct __test_metadata *_metadata,
			FIXTURE_DATA(hostile) * self)
{
	int status;

	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = 0;
	EXPECT_TRUE(WIFSIGNALED(status));
}

/* Wait up to 10 s for the server to have received @n requests of @op. */
static int wait_count(struct srv *s, uint32_t op, long n)
{
	int i;

	for (i = 0; i < 1000 && srv_count(s, op) < n; i++)
		usleep(10 * 1000);
	return srv_count(s, op) >= n;
}

struct killer {
	FIXTURE_DATA(hostile) * self;
	uint32_t op;
	int ok;
};

static void *kill_thread(void *arg)
{
	struct killer *k = arg;

	k->ok = wait_count(k->self->srv, k->op, 1);
	if (k->self->srv->fd >= 0 && k->op == FUSE_IOMAP_DAX_CONFIG)
		close(k->self->srv->fd);	/* the mounter's copy */
	if (k->ok)
		kill(k->self->child, SIGKILL);
	return NULL;
}

/* After the server died: new requests fail, the unmount works, the device is free. */
static void after_death(struct __test_metadata *_metadata,
			FIXTURE_DATA(hostile) * self)
{
	EXPECT_EQ(-E_GONE, try_open(self->srv, FILE_C));
	EXPECT_EQ(0, srv_umount(self->srv));
	remount_works(_metadata, self);
}

/* The server dies while the opener waits for GETMAP's reply. */
TEST_F(hostile, killed_during_getmap)
{
	struct killer k = { .self = self, .op = FUSE_IOMAP_DAX_GETMAP };
	pthread_t t;
	int fd;

	fork_server(_metadata, self, 1);
	close(self->srv->fd);
	self->srv->getmap_delay_ms = 5000;
	ASSERT_EQ(0, pthread_create(&t, NULL, kill_thread, &k));
	fd = try_open(self->srv, FILE_A);
	pthread_join(t, NULL);
	ASSERT_TRUE(k.ok);
	waitpid(self->child, NULL, 0);
	self->child = 0;
	EXPECT_EQ(-E_ABORTED, fd) {
		TH_LOG("open while the server died: %d", fd);
	}
	if (fd >= 0)
		close(fd);
	after_death(_metadata, self);
}

/*
 * The server process dies during IOMAP_CONFIG while another process is in
 * mount(2) (and closed its copy of the /dev/fuse fd): the mount fails with
 * ECONNABORTED instead of waiting for a fatal signal.
 */
TEST_F(hostile, killed_during_config)
{
	struct killer k = { .self = self, .op = FUSE_IOMAP_DAX_CONFIG };
	pthread_t t;
	int err;

	self->srv->config_mode = CONFIG_HANG;
	fork_server(_metadata, self, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, kill_thread, &k));
	err = srv_mount_fd(self->srv);
	pthread_join(t, NULL);
	ASSERT_TRUE(k.ok);
	waitpid(self->child, NULL, 0);
	self->child = 0;
	EXPECT_EQ(E_ABORTED, err) {
		TH_LOG("mount while the server died: %s", strerror(err));
	}
	EXPECT_EQ(0, srv_umount(self->srv));
	remount_works(_metadata, self);
}

/* The server dies right after mount(2) returned, before any request. */
TEST_F(hostile, killed_after_mount)
{
	struct statfs sfs;

	fork_server(_metadata, self, 1);
	close(self->srv->fd);
	kill_server(_metadata, self);
	errno = 0;
	EXPECT_EQ(-1, statfs(self->srv->dir, &sfs));
	EXPECT_EQ(E_GONE, errno);
	EXPECT_EQ(-E_GONE, try_open(self->srv, FILE_A));
	EXPECT_EQ(0, srv_umount(self->srv));
	remount_works(_metadata, self);
}

/* Fault storm: what the threads of the storm child share with the parent. */
#define STORM_THREADS	6
struct storm {
	atomic_ulong iters;
	atomic_int stop;
	atomic_int bad;		/* data mismatches */
	atomic_int err[STORM_THREADS];	/* first errno of each thread */
};

struct storm_arg {
	struct storm *st;
	int fd;
	size_t size;
	uint32_t seed;
	int huge;
};

static void *storm_thread(void *arg)
{
	struct storm_arg *a = arg;
	unsigned char buf[64];
	size_t off, step = a->huge ? SZ_2M : SZ_4K;
	unsigned char *p;

	while (!a->st->stop) {
		p = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 a->fd, 0);
		if (p == MAP_FAILED) {
			a->st->bad += 1000;
			return NULL;
		}
		if (!a->huge)
			madvise(p, a->size, MADV_NOHUGEPAGE);
		for (off = 0; off < a->size; off += step) {
			/* A read fault, then a write fault, of each page. */
			if (p[off + 7] != pat(a->seed, off + 7))
				a->st->bad++;
			__atomic_store_n(p + off + 7, pat(a->seed, off + 7),
					 __ATOMIC_RELAXED);
		}
		munmap(p, a->size);
		off = (a->st->iters * 12345 * SZ_4K) % a->size;
		if (pread(a->fd, buf, sizeof(buf), off) != sizeof(buf) ||
		    mismatch(buf, sizeof(buf), a->seed, off) >= 0)
			a->st->bad++;
		a->st->iters++;
	}
	return NULL;
}

/*
 * The server dies while threads fault 4 KiB and 2 MiB pages of three mapped
 * files in a loop: the maps are cached and the devices held until the
 * unmount, so the faults go on working, with the right data.
 */
TEST_F(hostile, killed_during_fault_storm)
{
	static const char *const names[3] = { FILE_A, FILE_B, FILE_C };
	static const size_t sizes[3] = {
		FILE_A_SIZE, FILE_B_SIZE, FILE_C_SIZE,
	};
	struct storm_arg args[STORM_THREADS];
	pthread_t t[STORM_THREADS];
	unsigned char *buf;
	struct storm *st;
	unsigned long before;
	int fds[3], i, status;
	pid_t pid;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st);
	fork_server(_metadata, self, 1);
	close(self->srv->fd);
	buf = malloc(FILE_A_SIZE);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 3; i++) {
		fds[i] = try_open(self->srv, names[i]);
		ASSERT_GE(fds[i], 0);
		fill(buf, sizes[i], self->seed + i, 0);
		ASSERT_EQ((ssize_t)sizes[i], pwrite(fds[i], buf, sizes[i], 0));
	}
	free(buf);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		alarm(20);
		for (i = 0; i < STORM_THREADS; i++) {
			args[i] = (struct storm_arg){
				.st = st, .fd = fds[i % 3],
				.size = sizes[i % 3], .seed = self->seed + i % 3,
				.huge = i >= 3,
			};
			if (pthread_create(&t[i], NULL, storm_thread, &args[i]))
				_exit(2);
		}
		for (i = 0; i < STORM_THREADS; i++)
			pthread_join(t[i], NULL);
		_exit(st->bad ? 1 : 0);
	}
	for (i = 0; i < 1000 && st->iters < STORM_THREADS; i++)
		usleep(10 * 1000);
	EXPECT_GE(st->iters, (unsigned long)STORM_THREADS);
	kill_server(_metadata, self);
	before = st->iters;
	for (i = 0; i < 1000 && st->iters < before + 2 * STORM_THREADS; i++)
		usleep(10 * 1000);
	st->stop = 1;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	TH_LOG("storm: %lu rounds, %lu after the server died", st->iters,
	       st->iters - before);
	EXPECT_GE(st->iters, before + 2 * STORM_THREADS) {
		TH_LOG("faults stopped when the server died");
	}
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
		TH_LOG("storm child: status %#x, %d bad", status, st->bad);
	}
	EXPECT_EQ(0, st->bad);
	/* New requests fail: the connection is gone. */
	EXPECT_EQ(-E_GONE, try_open(self->srv, FILE_A));
	for (i = 0; i < 3; i++)
		close(fds[i]);
	munmap(st, sizeof(*st));
	EXPECT_EQ(0, srv_umount(self->srv));
	remount_works(_metadata, self);
}

/*
 * LOOKUP's size disagrees with the map: before the first open the inode has
 * the server's size; the open installs the map's, and the file ends there
 * for read, write and faults, however large the server said it was.
 */
TEST_F(hostile, lookup_size_disagrees_with_map)
{
	unsigned char buf[SZ_4K];
	struct stat st;
	char path[PATH_MAX];

	self->srv->attr_size_delta = 32 * SZ_1M;
	ASSERT_EQ(0, srv_mount(self->srv));
	srv_path(self->srv, FILE_A, path, sizeof(path));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ((off_t)(FILE_A_SIZE + 32 * SZ_1M), st.st_size);
	self->fd = try_open(self->srv, FILE_A);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)FILE_A_SIZE, st.st_size);
	EXPECT_EQ(0, pread(self->fd, buf, SZ_4K, FILE_A_SIZE));
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, buf, SZ_4K, FILE_A_SIZE));
	EXPECT_EQ(EFBIG, errno);
	/* A mapping past the map's end: SIGBUS there, data before it. */
	self->maplen = FILE_A_SIZE + SZ_2M;
	self->map = mmap(NULL, self->maplen, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	EXPECT_EQ(0, peek_in_child(self->map, FILE_A_SIZE - 1));
	EXPECT_EQ(SIGBUS, peek_in_child(self->map, FILE_A_SIZE));
	EXPECT_EQ(SIGBUS, peek_in_child(self->map, self->maplen - 1));

	/* A smaller size before the open: the map's size wins too. */
	self->srv->attr_size_delta = -(int64_t)(FILE_C_SIZE - SZ_4K);
	srv_path(self->srv, FILE_C, path, sizeof(path));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ((off_t)SZ_4K, st.st_size);
	self->srv->attr_size_delta = 0;
	{
		int fd = try_open(self->srv, FILE_C);
		static unsigned char big[FILE_C_SIZE];

		ASSERT_GE(fd, 0);
		ASSERT_EQ(0, fstat(fd, &st));
		EXPECT_EQ((off_t)FILE_C_SIZE, st.st_size);
		EXPECT_EQ((ssize_t)FILE_C_SIZE, pread(fd, big, FILE_C_SIZE, 0));
		close(fd);
	}
	finish(_metadata, self);
}

/*
 * A mapped file's next LOOKUP says another type, or another generation: the
 * kernel drops the inode, unmaps it and makes it bad (EIO, SIGBUS), and
 * frees its device range, so the new inode of that name, regular again, gets
 * the same map without EBUSY and finds the data there.
 */
TEST_F(hostile, lookup_replaces_mapped_inode)
{
	static const struct {
		uint32_t type;
		int gen;
	} how[] = { { S_IFDIR, 0 }, { 0, 1 } };
	unsigned char buf[SZ_4K];
	char path[PATH_MAX];
	struct stat st;
	unsigned int i;
	long getmaps;
	int fd;

	self->srv->no_cache = 1;
	ASSERT_EQ(0, srv_mount(self->srv));
	srv_path(self->srv, FILE_A, path, sizeof(path));
	for (i = 0; i < ARRAY_SIZE(how); i++) {
		self->srv->attr_type = 0;
		self->fd = try_open(self->srv, FILE_A);
		ASSERT_GE(self->fd, 0);
		self->maplen = SZ_2M;
		self->map = mmap(NULL, self->maplen, PROT_READ | PROT_WRITE,
				 MAP_SHARED, self->fd, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		fill(self->map, self->maplen, self->seed + i, 0);
		EXPECT_EQ((long)SZ_2M, scan_bytes(self->map, self->maplen,
						  PAGE_IS_PRESENT));

		self->srv->attr_type = how[i].type;
		self->srv->gen_delta += how[i].gen;
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ((uint32_t)(how[i].type ? S_IFDIR : S_IFREG),
			  (uint32_t)(st.st_mode & S_IFMT));
		EXPECT_EQ(0, scan_bytes(self->map, self->maplen,
					PAGE_IS_PRESENT));
		errno = 0;
		EXPECT_EQ(-1, pread(self->fd, buf, 1, 0));
		EXPECT_EQ(EIO, errno);
		EXPECT_EQ(SIGBUS, peek_in_child(self->map, SZ_4K));
		munmap(self->map, self->maplen);
		self->map = MAP_FAILED;
		close(self->fd);
		self->fd = -1;

		/* Regular again: a new inode, the same map, the same data. */
		self->srv->attr_type = 0;
		getmaps = srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP);
		fd = try_open(self->srv, FILE_A);
		ASSERT_GE(fd, 0) {
			TH_LOG("new inode: %s", strerror(-fd));
		}
		EXPECT_EQ(getmaps + 1, srv_count(self->srv,
						 FUSE_IOMAP_DAX_GETMAP));
		EXPECT_EQ((ssize_t)SZ_4K, pread(fd, buf, SZ_4K, SZ_1M));
		EXPECT_EQ(-1, mismatch(buf, SZ_4K, self->seed + i, SZ_1M));
		drop_file(_metadata, self->srv, fd, FILE_A);
	}
	finish(_metadata, self);
}

/*
 * A GETATTR of a mapped file says it is a directory: fuse makes the inode
 * bad (EIO, faults SIGBUS) and takes its mappings down, as for an inode a
 * LOOKUP replaces; the name then gets a new inode, whose map may take the
 * same range.
 */
TEST_F(hostile, getattr_wrong_type_on_mapped_file)
{
	struct stat st;
	long getmaps;
	char c;
	int fd;

	self->srv->no_cache = 1;
	ASSERT_EQ(0, srv_mount(self->srv));
	self->fd = try_open(self->srv, FILE_A);
	ASSERT_GE(self->fd, 0);
	self->maplen = FILE_A_SIZE;
	self->map = mmap(NULL, self->maplen, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	fill(self->map, SZ_2M, self->seed, 0);

	self->srv->attr_type = S_IFDIR;
	errno = 0;
	EXPECT_EQ(-1, fstat(self->fd, &st));
	EXPECT_EQ(EIO, errno);
	self->srv->attr_type = 0;
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, &c, 1, 0));
	EXPECT_EQ(EIO, errno);
	/* Never faulted in: refused. */
	EXPECT_EQ(SIGBUS, peek_in_child(self->map, SZ_2M + SZ_4K));
	/* What was faulted in before is gone too. */
	EXPECT_EQ(0, scan_bytes(self->map, self->maplen, PAGE_IS_PRESENT));
	EXPECT_EQ(SIGBUS, peek_in_child(self->map, 0));
	munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;

	getmaps = srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP);
	fd = try_open(self->srv, FILE_A);
	ASSERT_GE(fd, 0) {
		TH_LOG("open after the bad inode went: %s", strerror(-fd));
	}
	EXPECT_EQ(getmaps + 1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	EXPECT_EQ(1, pread(fd, &c, 1, 100));
	EXPECT_EQ(pat(self->seed, 100), (unsigned char)c);
	close(fd);
	srv_stop(self->srv);
	remount_works(_metadata, self);
}

TEST_HARNESS_MAIN
