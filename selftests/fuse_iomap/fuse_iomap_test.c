// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE iomap-DAX: a privileged server hands the kernel its DAX devices once
 * per mount (FUSE_IOMAP_DAX_CONFIG) and a map once per file (FUSE_IOMAP_DAX_GETMAP);
 * the "identity" test provider then resolves reads, writes and faults to
 * device addresses without asking the server again.
 *
 * Needs root, /dev/dax0.0 (2 MiB aligned, at least 32 MiB, which the tests
 * overwrite and rebind: it must be named in FUSE_IOMAP_DAX_DEVS, see
 * iomap_test_util.h) and the test provider module; skips without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "fuse_iomap_server.h"
#include "iomap_test_util.h"

#define DAX_NAME	"dax0.0"
#define DAX_DEV		"/dev/" DAX_NAME
#define FUSECTL		"/sys/fs/fuse/connections"

/* The errnos fs/fuse/iomap_dax.c and the identity provider document. */
#define E_NOT_CHRDEV	ENODEV		/* BACKING_OPEN of a non-chardev */
#define E_NOT_FSDEV	EOPNOTSUPP	/* chardev not bound to fsdev_dax */
#define E_UNPRIV	EPERM		/* no CAP_SYS_RAWIO */
#define E_BUSY		EBUSY		/* device held by another mount */
#define E_NO_PROVIDER	ENOENT		/* provider not registered */
#define E_BAD_ID	ENOENT		/* backing id not registered */
#define E_GROW		EFBIG		/* write at or past EOF */
#define E_TRUNCATE	EPERM		/* truncate, O_TRUNC */
#define E_FALLOCATE	EOPNOTSUPP
#define E_MAP_DEVICE	ENODEV		/* map names a missing device */
#define E_MAP_INVALID	EINVAL		/* malformed or too large map */

/* Bind the device to @drv (fsdev_dax or device_dax). */
static int dax_mode(const char *drv)
{
	return dax_bind(DAX_NAME, drv);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Log the requests the server received since @snap. */
static void log_requests(struct __test_metadata *_metadata, struct srv *s,
			 const unsigned long *snap)
{
	int i;

	for (i = 0; i <= SRV_MAX_OPCODE; i++)
		if (s->count[i] != snap[i])
			TH_LOG("opcode %d: %lu requests", i,
			       s->count[i] - snap[i]);
}

/* Drop capabilities of this (single-threaded) process: the mounter. */
static int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	data[cap / 32].permitted &= ~(1U << (cap % 32));
	data[cap / 32].inheritable &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* The fusectl directory of the connection mounted on @dir. */
static int fusectl_dir(const char *dir, char *buf, size_t len)
{
	struct stat st;

	if (stat(dir, &st))
		return -errno;
	/* fusectl names a connection by its kernel dev_t. */
	snprintf(buf, len, FUSECTL "/%u",
		 major(st.st_dev) << 20 | minor(st.st_dev));
	if (access(buf, F_OK))
		mount("fusectl", FUSECTL, "fusectl", 0, NULL);
	return access(buf, F_OK) ? -errno : 0;
}

FIXTURE(iomap)
{
	struct srv *srv;	/* shared: a forked server may use it */
	struct srv *srv2;
	pid_t child;		/* a forked server ... */
	int foreign;		/* ... serving self->srv */
	uint32_t seed;
	int fd;
	void *map;
	size_t maplen;
	int ready;		/* set up: the teardown restores the device */
};

FIXTURE_SETUP(iomap)
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
	self->seed = getpid() ^ time(NULL) ^ 0x5a5a1234;

	why = need_root() ?: need_dax(DAX_NAME, 32 * SZ_1M) ?:
	      need_module(&provider_mod);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, provider_load()) {
		TH_LOG("cannot load %s: %s", PROVIDER_KO, strerror(errno));
	}
	ASSERT_EQ(0, dax_mode("fsdev_dax"));
	self->ready = 1;
}

FIXTURE_TEARDOWN(iomap)
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
		/* Its thread and fd were the child's: only the mount is ours. */
		srv_umount(self->srv);
		rmdir(self->srv->dir);
	} else {
		srv_stop(self->srv);
	}
	srv_stop(self->srv2);
	munmap(self->srv, 2 * sizeof(struct srv));
	if (!self->ready)
		return;
	/* Leave the guest as the next test expects it. */
	EXPECT_EQ(0, dax_mode("fsdev_dax"));
	EXPECT_EQ(0, provider_load());
}

/* Mount, open @name read-write and check that the map was fetched. */
static void mount_open(struct __test_metadata *_metadata,
		       FIXTURE_DATA(iomap) * self, const char *name)
{
	ASSERT_EQ(0, srv_mount(self->srv));
	self->fd = srv_open_file(self->srv, name, O_RDWR);
	ASSERT_GE(self->fd, 0) {
		TH_LOG("open %s: %s", name, strerror(errno));
	}
}

/* The map of @len bytes of the open file, filled with the pattern by write. */
static void map_file(struct __test_metadata *_metadata,
		     FIXTURE_DATA(iomap) * self, size_t len)
{
	unsigned char *buf = malloc(len);

	ASSERT_NE(NULL, buf);
	fill(buf, len, self->seed, 0);
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, buf, len, 0));
	free(buf);
	self->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->maplen = len;
}

/* INIT offers FUSE_IOMAP_DAX at minor 47; CONFIG follows once. */
TEST_F(iomap, negotiate)
{
	ASSERT_EQ(0, srv_mount(self->srv));
	EXPECT_GE(self->srv->init_minor, 47U);
	EXPECT_TRUE(!!(self->srv->init_flags & FUSE_IOMAP_DAX));
	EXPECT_TRUE(!!(self->srv->init_flags & FUSE_INIT_EXT));
	EXPECT_EQ(1, srv_count(self->srv, FUSE_INIT));
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
	EXPECT_GT(self->srv->backing_res, 0);
	EXPECT_EQ(0, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
}

/* A server that declines FUSE_IOMAP_DAX gets neither CONFIG nor GETMAP. */
TEST_F(iomap, declined)
{
	char path[PATH_MAX];
	struct stat st;

	self->srv->no_iomap = 1;
	ASSERT_EQ(0, srv_mount(self->srv));
	EXPECT_EQ(1, srv_count(self->srv, FUSE_INIT));
	EXPECT_EQ(0, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
	/*
	 * The server still sets FUSE_ATTR_IOMAP_DAX: without FUSE_IOMAP_DAX
	 * the bit means nothing, and the file is an ordinary one.
	 */
	srv_path(self->srv, FILE_A, path, sizeof(path));
	EXPECT_EQ(0, stat(path, &st)) {
		TH_LOG("stat: %s", strerror(errno));
	}
	EXPECT_EQ((off_t)FILE_A_SIZE, st.st_size);
	/* The device was not taken: an iomap mount can have it. */
	ASSERT_EQ(0, srv_mount(self->srv2));
	EXPECT_EQ(1, srv_count(self->srv2, FUSE_IOMAP_DAX_CONFIG));
}

/*
 * write(2) and read(2) go to the device, not to the server, at the same
 * offset (identity map): check it through a raw device_dax mapping.
 */
TEST_F(iomap, write_read_identity)
{
	const size_t off = SZ_2M - 3 * SZ_4K + 100, len = SZ_2M + 5000;
	unsigned char *buf, *rd, *dev;
	int dfd;

	buf = malloc(len);
	rd = malloc(len);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, rd);
	fill(buf, len, self->seed, off);

	mount_open(_metadata, self, FILE_A);
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	ASSERT_EQ((off_t)off, lseek(self->fd, off, SEEK_SET));
	ASSERT_EQ((ssize_t)len, write(self->fd, buf, len));
	ASSERT_EQ((off_t)off, lseek(self->fd, off, SEEK_SET));
	memset(rd, 0, len);
	ASSERT_EQ((ssize_t)len, read(self->fd, rd, len));
	EXPECT_EQ(-1, mismatch(rd, len, self->seed, off));
	EXPECT_EQ(0, srv_count(self->srv, FUSE_READ));
	EXPECT_EQ(0, srv_count(self->srv, FUSE_WRITE));
	close(self->fd);
	self->fd = -1;
	srv_stop(self->srv);

	ASSERT_EQ(0, dax_mode("device_dax"));
	dfd = open(DAX_DEV, O_RDWR);
	ASSERT_GE(dfd, 0);
	dev = mmap(NULL, FILE_A_SIZE, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, dev) {
		TH_LOG("mmap %s: %s", DAX_DEV, strerror(errno));
		close(dfd);
	}
	EXPECT_EQ(-1, mismatch(dev + off, len, self->seed, off));
	munmap(dev, FILE_A_SIZE);
	close(dfd);
	ASSERT_EQ(0, dax_mode("fsdev_dax"));
	free(buf);
	free(rd);
}

/* Files never change size: I/O is clamped to i_size, nothing extends it. */
TEST_F(iomap, size_fixed)
{
	unsigned char buf[2 * 4096];
	struct stat st;

	mount_open(_metadata, self, FILE_B);
	fill(buf, sizeof(buf), self->seed, FILE_B_SIZE - SZ_4K);
	/* A read across EOF is short, a read at EOF is empty. */
	ASSERT_EQ((ssize_t)SZ_4K, pwrite(self->fd, buf, SZ_4K,
					 FILE_B_SIZE - SZ_4K));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)SZ_4K, pread(self->fd, buf, sizeof(buf),
					FILE_B_SIZE - SZ_4K));
	EXPECT_EQ(-1, mismatch(buf, SZ_4K, self->seed, FILE_B_SIZE - SZ_4K));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), FILE_B_SIZE)) {
		TH_LOG("read at EOF: %s", strerror(errno));
	}

	/* Writing at or past EOF, truncating or allocating fails. */
	EXPECT_EQ(-1, pwrite(self->fd, buf, SZ_4K, FILE_B_SIZE));
	EXPECT_EQ(E_GROW, errno);
	EXPECT_EQ(-1, pwrite(self->fd, buf, SZ_4K, FILE_B_SIZE + SZ_2M));
	EXPECT_EQ(E_GROW, errno);
	EXPECT_EQ(-1, ftruncate(self->fd, FILE_B_SIZE + SZ_4K));
	EXPECT_EQ(E_TRUNCATE, errno);
	EXPECT_EQ(-1, ftruncate(self->fd, SZ_4K));
	EXPECT_EQ(E_TRUNCATE, errno);
	EXPECT_EQ(-1, fallocate(self->fd, 0, 0, FILE_B_SIZE + SZ_4K));
	EXPECT_EQ(E_FALLOCATE, errno);
	EXPECT_EQ(-1, srv_open_file(self->srv, FILE_B, O_RDWR | O_TRUNC));
	EXPECT_EQ(E_TRUNCATE, errno);
	/* A write across EOF stops at EOF. */
	EXPECT_EQ((ssize_t)SZ_4K, pwrite(self->fd, buf, sizeof(buf),
					 FILE_B_SIZE - SZ_4K));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ((off_t)FILE_B_SIZE, st.st_size);
	EXPECT_EQ(0, srv_count(self->srv, FUSE_WRITE));
}

/*
 * A 4 MiB file is mapped at a 2 MiB aligned address and faulted in with
 * PMDs; the tail of a 2 MiB + 12 KiB file falls back to PTEs and works.
 */
TEST_F(iomap, pmd_and_pte_faults)
{
	unsigned char *p;
	long huge, present;
	size_t off;
	int pmds;

	mount_open(_metadata, self, FILE_A);
	map_file(_metadata, self, FILE_A_SIZE);
	p = self->map;
	EXPECT_EQ(0UL, (uintptr_t)p & (SZ_2M - 1)) {
		TH_LOG("mapping at %p is not 2 MiB aligned", p);
	}
	/* One read fault per 2 MiB; the write faults are not counted. */
	ASSERT_EQ(0, trace_pmd(1));
	touch_read(p, FILE_A_SIZE);
	pmds = trace_pmd_count(2);
	trace_pmd(0);
	touch(p, FILE_A_SIZE);
	EXPECT_EQ((int)(FILE_A_SIZE / SZ_2M), pmds);
	huge = scan_bytes(self->map, FILE_A_SIZE,
			  PAGE_IS_HUGE | PAGE_IS_PRESENT);
	EXPECT_EQ((long)FILE_A_SIZE, huge);
	for (off = 0; off < FILE_A_SIZE; off += SZ_4K + 1)
		ASSERT_EQ(pat(self->seed, off), p[off]);
	munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	close(self->fd);

	self->fd = srv_open_file(self->srv, FILE_B, O_RDWR);
	ASSERT_GE(self->fd, 0);
	self->seed++;
	map_file(_metadata, self, FILE_B_SIZE);
	p = self->map;
	ASSERT_EQ(0, trace_pmd(1));
	touch_read(p, FILE_B_SIZE);
	pmds = trace_pmd_count(3);
	trace_pmd(0);
	touch(p, FILE_B_SIZE);
	for (off = 0; off < FILE_B_SIZE; off += SZ_4K - 7)
		ASSERT_EQ(pat(self->seed, off), p[off]);
	/* The last 12 KiB are PTEs, the first 2 MiB one PMD. */
	present = scan_bytes(self->map, FILE_B_SIZE, PAGE_IS_PRESENT);
	huge = scan_bytes(self->map, FILE_B_SIZE,
			  PAGE_IS_HUGE | PAGE_IS_PRESENT);
	EXPECT_EQ((long)FILE_B_SIZE, present);
	EXPECT_EQ((long)SZ_2M, huge);
	EXPECT_EQ(1, pmds);
	/* A store through the PTE tail reaches the file. */
	p[FILE_B_SIZE - 1] = 0xa5;
	p[FILE_B_SIZE - SZ_4K * 3] = 0x5a;
	{
		unsigned char c;

		ASSERT_EQ(1, pread(self->fd, &c, 1, FILE_B_SIZE - 1));
		EXPECT_EQ(0xa5, c);
		ASSERT_EQ(1, pread(self->fd, &c, 1, FILE_B_SIZE - SZ_4K * 3));
		EXPECT_EQ(0x5a, c);
	}
}

/*
 * MAP_SYNC is refused: writes through a mapping are not made durable by the
 * fault path, and the fault handler relies on never being asked to.
 */
TEST_F(iomap, map_sync_refused)
{
	void *p;

	mount_open(_metadata, self, FILE_A);
	map_file(_metadata, self, FILE_A_SIZE);
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_SHARED_VALIDATE | MAP_SYNC, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EOPNOTSUPP, errno);
	if (p != MAP_FAILED)
		munmap(p, SZ_2M);
	/* The same mapping without MAP_SYNC works. */
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_SHARED_VALIDATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(pat(self->seed, 0), ((unsigned char *)p)[0]);
	munmap(p, SZ_2M);
}

/* One GETMAP per file however often it is opened; faults ask nothing. */
TEST_F(iomap, one_getmap_no_requests)
{
	unsigned long before, snap[SRV_MAX_OPCODE + 1];
	long opens;
	unsigned char buf[SZ_4K];
	long flt;
	int i, fd;

	ASSERT_EQ(0, srv_mount(self->srv));
	opens = srv_count(self->srv, FUSE_OPEN);
	for (i = 0; i < 20; i++) {
		fd = srv_open_file(self->srv, FILE_A,
				   i & 1 ? O_RDONLY : O_RDWR);
		ASSERT_GE(fd, 0);
		close(fd);
		fd = srv_open_file(self->srv, FILE_C, O_RDWR);
		ASSERT_GE(fd, 0);
		close(fd);
	}
	EXPECT_EQ(opens + 40, srv_count(self->srv, FUSE_OPEN));
	EXPECT_EQ(2, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	EXPECT_EQ(0, self->srv->fh_mismatch);
	EXPECT_GE(self->srv->getmap_offer, (uint32_t)sizeof(struct identity_map));

	self->fd = srv_open_file(self->srv, FILE_C, O_RDWR);
	ASSERT_GE(self->fd, 0);
	map_file(_metadata, self, FILE_C_SIZE);

	/* Faults, PMD and (after a partial munmap) PTE: no requests. */
	memcpy(snap, (void *)self->srv->count, sizeof(snap));
	before = self->srv->total;
	flt = minflt();
	touch(self->map, FILE_C_SIZE);
	ASSERT_EQ(0, munmap(self->map + SZ_4K, SZ_4K));
	ASSERT_EQ(0, munmap(self->map, SZ_4K));
	self->map = (char *)self->map + 2 * SZ_4K;
	self->maplen -= 2 * SZ_4K;
	touch(self->map, self->maplen);
	flt = minflt() - flt;
	EXPECT_GE(flt, 2);
	EXPECT_EQ(before, self->srv->total) {
		TH_LOG("%lu requests during faults", self->srv->total - before);
		log_requests(_metadata, self->srv, snap);
	}

	/* Reads and writes do not ask either. */
	memcpy(snap, (void *)self->srv->count, sizeof(snap));
	before = self->srv->total;
	for (i = 0; i < 64; i++) {
		ASSERT_EQ((ssize_t)sizeof(buf),
			  pread(self->fd, buf, sizeof(buf), i * 65536));
		ASSERT_EQ((ssize_t)sizeof(buf),
			  pwrite(self->fd, buf, sizeof(buf), i * 65536));
	}
	EXPECT_EQ(before, self->srv->total) {
		TH_LOG("%lu requests during I/O", self->srv->total - before);
		log_requests(_metadata, self->srv, snap);
	}
	EXPECT_EQ(2, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
}

/* A mounter without CAP_SYS_RAWIO cannot mount an iomap-DAX server. */
/* Start @s and mount it from a child without CAP_SYS_RAWIO; its status. */
static int mount_without_rawio(struct srv *s)
{
	int status = -1, err;
	pid_t pid;

	err = srv_open(s);
	if (err)
		return err << 8;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (drop_cap(CAP_SYS_RAWIO))
			_exit(200);
		_exit(srv_mount_fd(s));
	}
	waitpid(pid, &status, 0);
	return status;
}

TEST_F(iomap, unprivileged_mounter)
{
	int status;

	/* The kernel does not offer FUSE_IOMAP_DAX: a plain mount, no device. */
	status = mount_without_rawio(self->srv);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0ULL, self->srv->init_flags & FUSE_IOMAP_DAX);
	EXPECT_EQ(0, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
	/* Files marked FUSE_ATTR_IOMAP_DAX cannot be opened on it. */
	errno = 0;
	EXPECT_EQ(-1, srv_open_file(self->srv, FILE_A, O_RDONLY));
	EXPECT_EQ(EIO, errno);
	if (!WEXITSTATUS(status))
		umount2(self->srv->dir, MNT_DETACH);
	EXPECT_EQ(0, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	EXPECT_GE(0, self->srv->backing_res);
	srv_stop(self->srv);

	/* A server that takes it anyway fails the mount. */
	srv_init(self->srv, DAX_DEV);
	self->srv->insist_iomap = 1;
	status = mount_without_rawio(self->srv);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(E_UNPRIV, WEXITSTATUS(status)) {
		TH_LOG("mount without CAP_SYS_RAWIO: %s",
		       strerror(WEXITSTATUS(status)));
	}
	if (!WEXITSTATUS(status))
		umount2(self->srv->dir, MNT_DETACH);
	EXPECT_EQ(0, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
}

/* BACKING_OPEN refuses what is not an fsdev_dax device, or the unprivileged. */
TEST_F(iomap, backing_open_refusals)
{
	const char *reg = "/tmp/fuse_iomap_regular";
	int fd, pmem = !access("/dev/pmem0", F_OK);

	fd = open(reg, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, SZ_2M));
	close(fd);
	self->srv->probe[0] = reg;
	self->srv->probe[1] = "/dev/null";
	self->srv->probe[2] = pmem ? "/dev/pmem0" : "/dev/zero";
	self->srv->probe_unpriv = 1;
	ASSERT_EQ(0, srv_mount(self->srv));
	unlink(reg);
	EXPECT_EQ(-E_NOT_CHRDEV, self->srv->probe_res[0]);
	EXPECT_EQ(-E_NOT_FSDEV, self->srv->probe_res[1]);
	EXPECT_EQ(pmem ? -E_NOT_CHRDEV : -E_NOT_FSDEV,
		  self->srv->probe_res[2]) {
		TH_LOG("%s", self->srv->probe[2]);
	}
	EXPECT_EQ(-E_UNPRIV, self->srv->unpriv_res);
	/* The privileged registration of the same device worked. */
	EXPECT_GT(self->srv->backing_res, 0);
}

/* A device bound to device_dax is refused, and the mount fails. */
TEST_F(iomap, backing_open_device_dax)
{
	ASSERT_EQ(0, dax_mode("device_dax"));
	EXPECT_NE(0, srv_mount(self->srv));
	EXPECT_EQ(-E_NOT_FSDEV, self->srv->backing_res);
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_CONFIG));
	srv_stop(self->srv);
	ASSERT_EQ(0, dax_mode("fsdev_dax"));
	ASSERT_EQ(0, srv_mount(self->srv2));
}

/* An unknown provider fails the mount and releases the device. */
TEST_F(iomap, unknown_provider)
{
	int err;

	snprintf(self->srv->provider, sizeof(self->srv->provider),
		 "no-such-prov");
	err = srv_mount(self->srv);
	EXPECT_EQ(E_NO_PROVIDER, err) {
		TH_LOG("mount with an unknown provider: %s", strerror(err));
	}
	EXPECT_GT(self->srv->backing_res, 0);
	srv_stop(self->srv);
	ASSERT_EQ(0, srv_mount(self->srv2));
}

/* A malformed FUSE_IOMAP_DAX_CONFIG reply fails the mount and holds nothing. */
TEST_F(iomap, malformed_config)
{
	static const enum srv_config_mode bad[] = {
		CONFIG_NO_DEVICES, CONFIG_TOO_MANY, CONFIG_LONG_NAME,
		CONFIG_BAD_NAME, CONFIG_8BIT_NAME,
	};
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		srv_init(self->srv, DAX_DEV);
		self->srv->config_mode = bad[i];
		err = srv_mount(self->srv);
		EXPECT_EQ(EINVAL, err) {
			TH_LOG("config mode %d: %s", bad[i], strerror(err));
		}
		srv_stop(self->srv);
	}
	ASSERT_EQ(0, srv_mount(self->srv2));
}

/* A backing id that was never registered fails the mount. */
TEST_F(iomap, unregistered_backing_id)
{
	int err;

	self->srv->id_delta = 100;
	err = srv_mount(self->srv);
	EXPECT_EQ(E_BAD_ID, err) {
		TH_LOG("mount with a bad backing id: %s", strerror(err));
	}
	EXPECT_GT(self->srv->backing_res, 0);
	srv_stop(self->srv);
	ASSERT_EQ(0, srv_mount(self->srv2));
}

/* A second mount cannot take a device the first holds, until it goes. */
TEST_F(iomap, device_busy)
{
	int err;

	ASSERT_EQ(0, srv_mount(self->srv));
	err = srv_mount(self->srv2);
	EXPECT_EQ(E_BUSY, err) {
		TH_LOG("second mount: %s", strerror(err));
	}
	srv_stop(self->srv2);
	srv_stop(self->srv);
	srv_init(self->srv2, DAX_DEV);
	ASSERT_EQ(0, srv_mount(self->srv2));
}

/* A map the provider rejects fails the open and is not cached. */
TEST_F(iomap, getmap_rejected)
{
	static const struct {
		enum srv_map_mode mode;
		int err;
		int requests;
	} bad[] = {
		{ MAP_BAD_DEVICE, E_MAP_DEVICE, 1 },
		{ MAP_TOO_BIG, E_MAP_INVALID, 1 },
		{ MAP_SHORT, E_MAP_INVALID, 1 },
		{ MAP_ERROR, EIO, 1 },		/* the server's error */
		{ MAP_HUGE, E2BIG, 1 },		/* above FUSE_IOMAP_DAX_MAP_MAX */
		{ MAP_GROWS, EIO, 2 },		/* larger than the second offer */
	};
	unsigned char buf[SZ_4K];
	unsigned int i;
	long requests = 0;
	int fd, err;

	ASSERT_EQ(0, srv_mount(self->srv));
	self->srv->map_error = EIO;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		self->srv->map_mode = bad[i].mode;
		fd = srv_open_file(self->srv, FILE_A, O_RDWR);
		err = errno;
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(bad[i].err, err) {
			TH_LOG("map mode %d: %s", bad[i].mode, strerror(err));
		}
		if (fd >= 0)
			close(fd);
		requests += bad[i].requests;
		EXPECT_EQ(requests, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	}
	self->srv->map_mode = MAP_OK;
	self->fd = srv_open_file(self->srv, FILE_A, O_RDWR);
	ASSERT_GE(self->fd, 0);
	EXPECT_EQ(requests + 1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
	fill(buf, sizeof(buf), self->seed, SZ_2M);
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(self->fd, buf, sizeof(buf),
					       SZ_2M));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), pread(self->fd, buf, sizeof(buf),
					      SZ_2M));
	EXPECT_EQ(-1, mismatch(buf, sizeof(buf), self->seed, SZ_2M));
	/* Now cached: a bad reply would not even be asked for. */
	self->srv->map_mode = MAP_BAD_DEVICE;
	fd = srv_open_file(self->srv, FILE_A, O_RDONLY);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(requests + 1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));
}

/*
 * Run @fn's accesses to the mapping in a child: after the server is gone a
 * fault may work (the map is cached) or raise SIGBUS, but not oops.
 */
static int poke_after_abort(FIXTURE_DATA(iomap) * self)
{
	unsigned char c;
	int status;
	pid_t pid;

	pid = fork();
	if (!pid) {
		touch(self->map, self->maplen);
		if (pread(self->fd, &c, 1, 0) < 0 && errno != ENOTCONN &&
		    errno != EIO)
			_exit(3);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS ? 0 : -2;
}

/* Abort the connection while a file is mapped; then the device is free. */
TEST_F(iomap, abort_while_mapped)
{
	char ctl[PATH_MAX];

	mount_open(_metadata, self, FILE_A);
	map_file(_metadata, self, FILE_A_SIZE);
	touch(self->map, FILE_A_SIZE);
	ASSERT_EQ(0, fusectl_dir(self->srv->dir, ctl, sizeof(ctl) - 8));
	strcat(ctl, "/abort");
	ASSERT_EQ(0, write_str(ctl, "1"));
	EXPECT_EQ(0, poke_after_abort(self));
	munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	srv_stop(self->srv);

	ASSERT_EQ(0, srv_mount(self->srv2));
	self->fd = srv_open_file(self->srv2, FILE_A, O_RDWR);
	ASSERT_GE(self->fd, 0);
}

/* SIGKILL the server process while a file is mapped. */
TEST_F(iomap, server_killed_while_mapped)
{
	int pfd[2], status;
	char ok = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(pfd[0]);
		ok = srv_mount(self->srv) ? 'n' : 'y';
		if (write(pfd[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	self->child = pid;
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &ok, 1));
	close(pfd[0]);
	self->foreign = 1;
	ASSERT_EQ('y', ok);
	self->fd = srv_open_file(self->srv, FILE_A, O_RDWR);
	ASSERT_GE(self->fd, 0);
	map_file(_metadata, self, FILE_A_SIZE);
	touch(self->map, FILE_A_SIZE);
	EXPECT_EQ(1, srv_count(self->srv, FUSE_IOMAP_DAX_GETMAP));

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->child = 0;
	EXPECT_EQ(0, poke_after_abort(self));
	munmap(self->map, self->maplen);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, srv_umount(self->srv));

	ASSERT_EQ(0, srv_mount(self->srv2));
	self->fd = srv_open_file(self->srv2, FILE_A, O_RDWR);
	ASSERT_GE(self->fd, 0);
}

/* The provider module is pinned while a mount uses it. */
TEST_F(iomap, provider_pinned)
{
	int err;

	ASSERT_EQ(0, srv_mount(self->srv));
	err = provider_unload();
	EXPECT_TRUE(err == EBUSY || err == EAGAIN) {
		TH_LOG("delete_module while mounted: %s", strerror(err));
	}
	EXPECT_TRUE(provider_loaded());
	srv_stop(self->srv);

	ASSERT_EQ(0, provider_unload());
	EXPECT_FALSE(provider_loaded());
	/* Without it, the mount fails (nothing can autoload it here). */
	EXPECT_EQ(E_NO_PROVIDER, srv_mount(self->srv2));
	srv_stop(self->srv2);

	ASSERT_EQ(0, provider_load());
	srv_init(self->srv2, DAX_DEV);
	ASSERT_EQ(0, srv_mount(self->srv2));
	self->fd = srv_open_file(self->srv2, FILE_A, O_RDWR);
	ASSERT_GE(self->fd, 0);
}

TEST_HARNESS_MAIN
