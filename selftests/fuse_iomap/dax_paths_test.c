// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE iomap-DAX against the rest of fs/fuse: the mode of an inode is decided
 * once, when it is instantiated (FUSE_ATTR_IOMAP_DAX), and every path FUSE
 * keeps for page-cache files (open, attribute updates, notifications,
 * copy_file_range, O_TRUNC) leaves the DAX mappings and the size of iomap-DAX
 * files alone.  Writes kill setuid, fsync writes back, backing ids serve only
 * their own type, and a mounter whose server never answers can be killed.
 *
 * Each test names the defect it guards against.  Needs root, /dev/dax0.0
 * (2 MiB aligned, at least 32 MiB; provider_dropped_while_mounted also
 * /dev/dax1.0), both named in FUSE_IOMAP_DAX_DEVS (see iomap_test_util.h),
 * and the "identity" test provider; skips without them.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_NAME	"dax0.0"
#define DAX_DEV		"/dev/" DAX_NAME

/* The files of the tests: identity maps, all from device offset 0. */
#define DAX_FILE	"dax"		/* iomap-DAX, 4 MiB */
#define PLAIN_FILE	"plain"		/* page cache, 64 KiB of zeros */
#define SUID_FILE	"suid"		/* iomap-DAX, 2 MiB, mode 04755 */
#define TWIN_FILE	"twin"		/* iomap-DAX, 2 MiB inside DAX_FILE's */
#define DAX_INO		2
#define DAX_SIZE	(4 * SZ_1M)
#define PLAIN_SIZE	(64 * 1024)

static const struct srv_file files[] = {
	{ .name = DAX_FILE, .size = DAX_SIZE },
	{ .name = PLAIN_FILE, .size = PLAIN_SIZE, .plain = 1 },
	{ .name = SUID_FILE, .size = SZ_2M, .mode = 04755, .base_mib = 8 },
	{ .name = TWIN_FILE, .size = SZ_2M, .base_mib = 2 },
};

FIXTURE(paths)
{
	struct srv *srv;	/* shared memory: a forked mounter uses it */
	int fd;
	void *map;
	size_t maplen;
};

FIXTURE_SETUP(paths)
{
	const char *why;

	self->fd = -1;
	self->map = MAP_FAILED;
	self->srv = mmap(NULL, sizeof(struct srv), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->srv);
	srv_init(self->srv, DAX_DEV);
	self->srv->files = files;
	self->srv->nfiles = ARRAY_SIZE(files);
	why = need_root() ?: need_dax(DAX_NAME, 32 * SZ_1M) ?:
	      need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, provider_load()) {
		TH_LOG("cannot load %s: %s", PROVIDER_KO, strerror(errno));
	}
	ASSERT_EQ(0, dax_bind(DAX_NAME, "fsdev_dax"));
}

FIXTURE_TEARDOWN(paths)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->maplen);
	if (self->fd >= 0)
		close(self->fd);
	srv_stop(self->srv);
	munmap(self->srv, sizeof(struct srv));
}

/* Mount, open @name read-write and map its first @len bytes. */
static void open_map(struct __test_metadata *_metadata,
		     FIXTURE_DATA(paths) * self, const char *name, size_t len)
{
	ASSERT_EQ(0, srv_mount(self->srv));
	self->fd = srv_open_file(self->srv, name, O_RDWR);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("open %s: %s", name, strerror(errno));
	}
	self->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->maplen = len;
	touch_read(self->map, len);
}

static long present(FIXTURE_DATA(paths) * self)
{
	return scan_bytes(self->map, self->maplen, PAGE_IS_PRESENT);
}

/*
 * An open reply's FOPEN_IOMAP_DAX used to switch a whole inode to DAX while
 * other opens had it mapped through the page cache (a NULL pointer oops in
 * filemap_fault).  Now the inode's attributes decide, once, and an open
 * reply that disagrees fails with EIO, through open and through create.
 */
TEST_F(paths, open_flag_must_match_inode)
{
	char path[PATH_MAX];
	int fd;

	open_map(_metadata, self, PLAIN_FILE, PLAIN_SIZE);

	self->srv->open_mode = OPEN_ALWAYS_IOMAP;
	errno = 0;
	EXPECT_EQ(-1, srv_open_file(self->srv, PLAIN_FILE, O_RDONLY));
	EXPECT_EQ(EIO, errno);
	/* The page-cache mapping still works. */
	touch_read(self->map, self->maplen);
	EXPECT_EQ((long)PLAIN_SIZE, present(self));

	self->srv->open_mode = OPEN_NEVER_IOMAP;
	errno = 0;
	EXPECT_EQ(-1, srv_open_file(self->srv, DAX_FILE, O_RDONLY));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));

	/* The create path checks the same. */
	self->srv->create_as = DAX_FILE;
	srv_path(self->srv, "new", path, sizeof(path));
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDWR | O_CREAT, 0644));
	EXPECT_EQ(EIO, errno);

	self->srv->open_mode = OPEN_AS_INODE;
	srv_path(self->srv, "new2", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT, 0644);
	EXPECT_GE(fd, 0) {
		TH_LOG("create answered with an iomap-DAX file: %s",
		       strerror(errno));
	}
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	if (fd >= 0)
		close(fd);
	fd = srv_open_file(self->srv, DAX_FILE, O_RDONLY);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
}

/*
 * A server that flips FUSE_ATTR_IOMAP_DAX between lookups gets a new inode;
 * the old one, and its mappings, keep their mode.
 */
TEST_F(paths, attr_flag_flip_is_a_new_inode)
{
	struct stat before, after;
	char path[PATH_MAX];

	/* Every path walk asks the server again. */
	self->srv->no_cache = 1;
	open_map(_metadata, self, DAX_FILE, SZ_2M);
	srv_path(self->srv, DAX_FILE, path, sizeof(path));
	ASSERT_EQ(0, fstat(self->fd, &before));

	self->srv->attr_flip = 1;
	ASSERT_EQ(0, stat(path, &after));
	/*
	 * The stale inode is dropped, unmapped and made bad: its map may be the
	 * new inode's memory, and a DAX page belongs to one mapping at a time.
	 */
	EXPECT_EQ(0, present(self));
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, &after, 1, 0));
	EXPECT_EQ(EIO, errno);
	ASSERT_EQ(0, stat(path, &after));
	EXPECT_EQ(before.st_size, after.st_size);
	/* The new inode is a page-cache one: FOPEN_IOMAP_DAX is refused. */
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDONLY));
	EXPECT_EQ(EIO, errno);
}

/*
 * Every open used to invalidate the page cache of the file, which on a DAX
 * mapping zapped every process's mappings (and WARNed).  Attribute updates,
 * reverse invalidation, NOTIFY_STORE/RETRIEVE and copy_file_range took the
 * same page-cache paths.
 */
TEST_F(paths, open_keeps_mappings)
{
	struct fuse_notify_inval_inode_out inval = {
		.ino = DAX_INO, .off = 0, .len = -1,
	};
	struct {
		struct fuse_notify_store_out hdr;
		char data[SZ_4K];
	} store = { .hdr = { .nodeid = DAX_INO, .offset = DAX_SIZE,
			     .size = SZ_4K } };
	struct fuse_notify_retrieve_out retrieve = {
		.nodeid = DAX_INO, .offset = 0, .size = SZ_4K,
	};
	unsigned char want[SZ_4K], got[SZ_4K];
	loff_t in = 0, out = SZ_2M + SZ_4K;
	struct stat st;
	int fd;

	open_map(_metadata, self, DAX_FILE, SZ_2M);
	ASSERT_EQ((long)SZ_2M, present(self));

	/* Another open, without FOPEN_KEEP_CACHE. */
	fd = srv_open_file(self->srv, DAX_FILE, O_RDONLY);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ((long)SZ_2M, present(self));

	/* New attributes with another size and mtime. */
	self->srv->no_cache = 1;
	self->srv->attr_size_delta = SZ_1M;
	self->srv->attr_mtime = 1234567;
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)DAX_SIZE, st.st_size);
	EXPECT_EQ((long)SZ_2M, present(self));

	/* Reverse invalidation of the whole file. */
	EXPECT_EQ(0, srv_notify(self->srv, FUSE_NOTIFY_INVAL_INODE, &inval,
				sizeof(inval)));
	EXPECT_EQ((long)SZ_2M, present(self));

	/* The server cannot store into, or retrieve from, the page cache. */
	EXPECT_EQ(EINVAL, srv_notify(self->srv, FUSE_NOTIFY_STORE, &store,
				     sizeof(store)));
	EXPECT_EQ(EINVAL, srv_notify(self->srv, FUSE_NOTIFY_RETRIEVE,
				     &retrieve, sizeof(retrieve)));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)DAX_SIZE, st.st_size);

	/* copy_file_range copies through read and write, inside the file. */
	fill(want, SZ_4K, 77, 0);
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(self->fd, want, SZ_4K, 0));
	EXPECT_EQ((ssize_t)SZ_4K,
		  copy_file_range(self->fd, &in, self->fd, &out, SZ_4K, 0));
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, got, SZ_4K, SZ_2M + SZ_4K));
	EXPECT_EQ(0, memcmp(want, got, SZ_4K));
	EXPECT_EQ(0, srv_count(self->srv, FUSE_COPY_FILE_RANGE));
	EXPECT_EQ(0, srv_count(self->srv, FUSE_COPY_FILE_RANGE_64));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)DAX_SIZE, st.st_size);
	EXPECT_EQ((long)SZ_2M, present(self));
}

/*
 * The size of an iomap-DAX file is its map's: open(O_TRUNC) used to zero
 * i_size and zap the mappings before SETATTR said EPERM.
 */
TEST_F(paths, size_from_map_only)
{
	char path[PATH_MAX];
	long opens;
	struct stat st;

	open_map(_metadata, self, DAX_FILE, SZ_2M);
	srv_path(self->srv, DAX_FILE, path, sizeof(path));

	opens = srv_count(self->srv, FUSE_OPEN);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDWR | O_TRUNC));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(opens, srv_count(self->srv, FUSE_OPEN));
	errno = 0;
	EXPECT_EQ(-1, truncate(path, 0));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ftruncate(self->fd, DAX_SIZE + SZ_4K));
	EXPECT_EQ(EPERM, errno);

	self->srv->no_cache = 1;
	self->srv->attr_size_delta = -(int64_t)SZ_1M;
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ((off_t)DAX_SIZE, st.st_size);
	EXPECT_EQ((long)SZ_2M, present(self));
	/* Writing at the old end still works: the file did not shrink. */
	EXPECT_EQ(1, pwrite(self->fd, "x", 1, DAX_SIZE - 1));
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, "x", 1, DAX_SIZE));
	EXPECT_EQ(EFBIG, errno);
}

struct write_args {
	int fd;
	const char *buf;
	off_t off;
	ssize_t res;
};

/* pwrite() from a thread without CAP_FSETID, which keeps setuid bits. */
static void *write_thread(void *arg)
{
	struct write_args *a = arg;
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	a->res = -1000;
	if (syscall(SYS_capget, &hdr, data))
		return NULL;
	data[CAP_FSETID / 32].effective &= ~(1U << (CAP_FSETID % 32));
	if (syscall(SYS_capset, &hdr, data))
		return NULL;
	a->res = pwrite(a->fd, a->buf, 1, a->off);
	return NULL;
}

static ssize_t write_unprivileged(int fd, const char *buf, off_t off)
{
	struct write_args a = { .fd = fd, .buf = buf, .off = off };
	pthread_t t;

	if (pthread_create(&t, NULL, write_thread, &a))
		return -1;
	pthread_join(t, NULL);
	return a.res;
}

/* write(2) used to keep setuid and setgid bits (no file_remove_privs()). */
TEST_F(paths, write_kills_suid)
{
	struct stat st;
	long setattrs;

	ASSERT_EQ(0, srv_mount(self->srv));
	self->fd = srv_open_file(self->srv, SUID_FILE, O_RDWR);
	ASSERT_GE(self->fd, 0);
	EXPECT_EQ(1, write_unprivileged(self->fd, "x", 0));
	EXPECT_EQ(1, srv_count(self->srv, FUSE_SETATTR));
	EXPECT_NE(0U, self->srv->setattr_valid & FATTR_MODE);
	EXPECT_EQ(0755U, self->srv->setattr_mode & 07777);
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(0755U, st.st_mode & 07777);

	/* Nothing left to kill: later writes send nothing. */
	setattrs = srv_count(self->srv, FUSE_SETATTR);
	EXPECT_EQ(1, write_unprivileged(self->fd, "y", 1));
	EXPECT_EQ(setattrs, srv_count(self->srv, FUSE_SETATTR));
}

/*
 * Faults map the device's pages without DAX entries, so that nothing is left
 * dirty for writeback to find (fsdev_dax devices have no volatile cache to
 * write back): fsync of a file written through a mapping succeeds, sends
 * FSYNC for the server's metadata, and writes nothing back.
 */
TEST_F(paths, fsync_writes_back)
{
	const char *ev = TRACEFS "/events/fs_dax/dax_writeback_range/enable";
	struct stat st;

	open_map(_metadata, self, DAX_FILE, SZ_2M);
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(0, trace_pmd(1));
	ASSERT_EQ(0, write_str(ev, "1"));
	memset(self->map, 0x5a, SZ_4K);
	EXPECT_EQ(0, fsync(self->fd));
	EXPECT_EQ(0, write_str(ev, "0"));
	trace_pmd(0);
	EXPECT_EQ(0, trace_count("dax_writeback_range:", st.st_ino, NULL, NULL));
	EXPECT_EQ(1, srv_count(self->srv, FUSE_FSYNC));
}

struct close_args {
	int fd;
	int id;
	int drop;	/* capability to drop first, or -1 */
	int res;
};

static void *close_thread(void *arg)
{
	struct close_args *a = arg;
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (a->drop >= 0) {
		syscall(SYS_capget, &hdr, data);
		data[a->drop / 32].effective &= ~(1U << (a->drop % 32));
		if (syscall(SYS_capset, &hdr, data)) {
			a->res = -1000 - errno;
			return NULL;
		}
	}
	a->res = ioctl(a->fd, FUSE_DEV_IOC_BACKING_CLOSE, &a->id) ? errno : 0;
	return NULL;
}

/* Close backing id @id of @fd from a thread without capability @drop. */
static int close_id(int fd, int id, int drop)
{
	struct close_args a = { .fd = fd, .id = id, .drop = drop };
	pthread_t t;

	if (pthread_create(&t, NULL, close_thread, &a))
		return -1;
	pthread_join(t, NULL);
	return a.res;
}

/*
 * Backing ids were untyped: a DAX id served as a passthrough backing file
 * (around passthrough's CAP_SYS_ADMIN rule), a passthrough id as a DAX
 * device, and either capability closed the other type's ids.
 */
TEST_F(paths, backing_ids_typed)
{
	self->srv->passthrough = 1;
	self->srv->passthrough_dax_id = 1;
	ASSERT_EQ(0, srv_mount(self->srv));
	ASSERT_GT(self->srv->spare_dax_id, 0);
	/* The ids of the device table are used up at FUSE_IOMAP_DAX_CONFIG. */
	EXPECT_EQ(ENOENT, close_id(self->srv->fd, self->srv->backing_res, -1));

	/* An open naming a DAX id for passthrough fails. */
	errno = 0;
	EXPECT_EQ(-1, srv_open_file(self->srv, PLAIN_FILE, O_RDONLY));
	EXPECT_NE(0, errno);

	/* CAP_SYS_ADMIN alone does not close a DAX id; CAP_SYS_RAWIO does. */
	EXPECT_EQ(EPERM, close_id(self->srv->fd, self->srv->spare_dax_id,
				  CAP_SYS_RAWIO));
	EXPECT_EQ(0, close_id(self->srv->fd, self->srv->spare_dax_id,
			      CAP_SYS_ADMIN));
	srv_stop(self->srv);

	/* A passthrough id in the device table fails the mount. */
	srv_init(self->srv, DAX_DEV);
	self->srv->files = files;
	self->srv->nfiles = ARRAY_SIZE(files);
	self->srv->passthrough = 1;
	self->srv->config_pt_path = "/init";
	EXPECT_EQ(ENOENT, srv_mount(self->srv));
}

/*
 * FUSE_IOMAP_DAX_CONFIG was sent with args.force: a server that never
 * answered left mount(2) in D state.  Now a fatal signal aborts the mount.
 */
TEST_F(paths, config_unanswered_killable)
{
	int status = 0, i;
	pid_t pid;

	self->srv->config_mode = CONFIG_HANG;
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(srv_mount(self->srv));
	/* Wait until the server has the request. */
	for (i = 0; i < 1000 && !srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG);
	     i++)
		usleep(10 * 1000);
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
	kill(pid, SIGKILL);
	for (i = 0; i < 2000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(10 * 1000);
	}
	ASSERT_LT(i, 2000) {
		TH_LOG("the mounter did not die: stuck in mount(2)");
	}
	EXPECT_TRUE(WIFSIGNALED(status));

	/* The device is free for the next mount. */
	srv_init(self->srv, DAX_DEV);
	self->srv->files = files;
	self->srv->nfiles = ARRAY_SIZE(files);
	EXPECT_EQ(0, srv_mount(self->srv));
}

/*
 * A connection used to read its provider's methods from the provider's
 * registration for its whole life, and safe Rust may drop a registration
 * at any time.  Now the connection copies them at FUSE_IOMAP_DAX_CONFIG.
 */
TEST_F(paths, provider_dropped_while_mounted)
{
	const char *knob = "/sys/kernel/debug/fuse_iomap_test_provider/drop";
	unsigned char want[SZ_4K], got[SZ_4K];
	const char *why = need_dax("dax1.0", 0);
	struct srv *other;
	int fd;

	if (why)
		SKIP(return, "%s", why);
	snprintf(self->srv->provider, sizeof(self->srv->provider),
		 "identity-drop");
	open_map(_metadata, self, DAX_FILE, SZ_2M);
	ASSERT_EQ(0, write_str(knob, "1")) {
		TH_LOG("%s: %s", knob, strerror(errno));
	}

	/* Maps, faults and I/O of the mount go on; a new file is parsed. */
	fill(want, SZ_4K, 99, SZ_1M);
	memcpy((char *)self->map + SZ_1M, want, SZ_4K);
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, got, SZ_4K, SZ_1M));
	EXPECT_EQ(0, memcmp(want, got, SZ_4K));
	fd = srv_open_file(self->srv, SUID_FILE, O_RDWR);
	EXPECT_GE(fd, 0) {
		TH_LOG("open after the provider was dropped: %s",
		       strerror(errno));
	}
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(fd, want, SZ_4K, SZ_1M));
	EXPECT_EQ((ssize_t)SZ_4K, pread(fd, got, SZ_4K, SZ_1M));
	EXPECT_EQ(0, memcmp(want, got, SZ_4K));
	close(fd);

	/* A new mount cannot pick the dropped provider. */
	other = mmap(NULL, sizeof(*other), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, other);
	srv_init(other, "/dev/dax1.0");
	snprintf(other->provider, sizeof(other->provider), "identity-drop");
	EXPECT_EQ(ENOENT, srv_mount(other));
	srv_stop(other);
	munmap(other, sizeof(*other));
}

/*
 * Two files whose maps cover the same device pages: the DAX core keeps one
 * owner per page, and the second file's faults made dax_associate_entry()
 * WARN and overwrite the owner.  The map that overlaps an installed one is
 * refused, until the first file's inode is gone.
 */
TEST_F(paths, overlapping_maps_refused)
{
	long getmaps;
	int fd;

	open_map(_metadata, self, DAX_FILE, SZ_2M);
	getmaps = srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP);
	errno = 0;
	EXPECT_EQ(-1, srv_open_file(self->srv, TWIN_FILE, O_RDWR));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(getmaps + 1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	/* The installed file is untouched. */
	EXPECT_EQ((long)SZ_2M, present(self));
	fd = srv_open_file(self->srv, SUID_FILE, O_RDWR);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
}

TEST_HARNESS_MAIN
