/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the FUSE iomap-DAX tests share: what a test needs to run, sysfs
 * writes, binding a DAX device to a driver, the modules the tests load, a byte
 * pattern, the files of the test server, the PAGEMAP_SCAN ioctl and the fs_dax
 * PMD fault events.
 *
 * The tests overwrite the DAX devices they use and bind them to fsdev_dax or
 * device_dax; memory_failure_test also poisons pages of one.  A test uses a
 * DAX device only if it is named in the environment variable
 * FUSE_IOMAP_DAX_DEVS (space or comma separated, e.g. "dax0.0 dax1.0"), and
 * injects memory failures only if FUSE_IOMAP_POISON_OK=1 as well; otherwise
 * it skips.  The tests use dax0.0 and dax1.0, each test from a fixed offset
 * (its header comment says which); a device too small for a test skips it.
 * Devices holding data must not be named.
 *
 * Modules are loaded from the files named by FUSE_IOMAP_PROVIDER_KO,
 * FUSE_IOMAP_SAMPLE_KO and FUSE_IOMAP_FAMFS_KO (defaults below) or, when the
 * file is missing, with modprobe; a test whose module is not found skips.
 * The tests need root; see the kselftest config file for the kernel options.
 */
#ifndef IOMAP_TEST_UTIL_H
#define IOMAP_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>	/* before sys/mount.h, which redefines */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "fuse_iomap_server.h"

#define SZ_4K		4096UL
#define SZ_1M		0x100000UL
#define SZ_2M		0x200000UL
#define TRACEFS		"/sys/kernel/tracing"
#define FSDEV_DRV	"/sys/bus/dax/drivers/fsdev_dax"
#define DAX_DEVS_ENV	"FUSE_IOMAP_DAX_DEVS"
#define POISON_OK_ENV	"FUSE_IOMAP_POISON_OK"

/* A module a test loads: from the file in $env (default @ko) or modprobe. */
struct test_mod {
	const char *env, *ko, *name, *alias;
};

static const struct test_mod provider_mod __maybe_unused = {
	"FUSE_IOMAP_PROVIDER_KO", "/famfs/fuse_iomap_test_provider.ko",
	"fuse_iomap_test_provider", "fuse_iomap_test_provider",
};

static const struct test_mod sample_mod __maybe_unused = {
	"FUSE_IOMAP_SAMPLE_KO", "/famfs/rust_fuse_iomap.ko",
	"rust_fuse_iomap", "rust_fuse_iomap",
};

static const struct test_mod famfs_mod __maybe_unused = {
	"FUSE_IOMAP_FAMFS_KO", "/famfs/famfs_iomap.ko",
	"famfs_iomap", "fuse-iomap-famfs",
};

#define PROVIDER_MOD	"fuse_iomap_test_provider"
#define PROVIDER_KO	mod_path(&provider_mod)

/* Why a test skips: the text need_*() return. */
static char skip_why[256] __maybe_unused;

/*
 * Read the byte at @p, to fault it in or to take the signal it raises: an
 * atomic load, which the compiler neither drops nor merges.
 */
static inline unsigned char load_byte(const void *p)
{
	return __atomic_load_n((const unsigned char *)p, __ATOMIC_RELAXED);
}

/* Whether @path is accessible (@mode), once module @mod is loaded if need be. */
static inline bool have_or_modprobe(const char *path, int mode, const char *mod)
{
	char cmd[128];

	if (!access(path, mode))
		return true;
	snprintf(cmd, sizeof(cmd), "modprobe -q %s >/dev/null 2>&1", mod);
	return !system(cmd) && !access(path, mode);
}

static inline int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The driver DAX device @name is bound to, or "" if none. */
static inline void dax_driver(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/driver", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	snprintf(buf, len, "%s", basename(link));
}

/* Bind @name to @drv (fsdev_dax or device_dax), as guest/lib.sh does. */
static inline int dax_bind(const char *name, const char *drv)
{
	char cur[64], path[PATH_MAX], dev[PATH_MAX];
	int t;

	dax_driver(name, cur, sizeof(cur));
	if (!strcmp(cur, drv))
		return 0;
	if (cur[0]) {
		snprintf(path, sizeof(path), "/sys/bus/dax/drivers/%s/unbind",
			 cur);
		write_str(path, name);
	}
	snprintf(path, sizeof(path), "/sys/bus/dax/drivers/%s/new_id", drv);
	write_str(path, name);
	dax_driver(name, cur, sizeof(cur));
	if (strcmp(cur, drv)) {
		snprintf(path, sizeof(path), "/sys/bus/dax/drivers/%s/bind",
			 drv);
		write_str(path, name);
		dax_driver(name, cur, sizeof(cur));
	}
	if (strcmp(cur, drv))
		return -ENODEV;
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	for (t = 0; t < 50 && access(dev, F_OK); t++)
		usleep(100 * 1000);
	return access(dev, F_OK) ? -ENOENT : 0;
}

/* The size of DAX device @name in bytes, or 0. */
static inline uint64_t dax_size(const char *name)
{
	char path[PATH_MAX], buf[64] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/size", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 0);
}

static inline int provider_loaded(void)
{
	return !access("/sys/module/" PROVIDER_MOD, F_OK);
}

/* The module file of @m: $env or the default. */
static inline const char *mod_path(const struct test_mod *m)
{
	const char *path = getenv(m->env);

	return path && path[0] ? path : m->ko;
}

/* Whether @m is built into the kernel (it then cannot be unloaded). */
static inline int mod_builtin(const struct test_mod *m)
{
	char sys[PATH_MAX];

	snprintf(sys, sizeof(sys), "/sys/module/%s/initstate", m->name);
	if (!access(sys, F_OK))
		return 0;
	snprintf(sys, sizeof(sys), "/sys/module/%s", m->name);
	return !access(sys, F_OK);
}

/*
 * Load @m unless it is loaded: from its file or, if there is no such file,
 * with modprobe (which also accepts a built-in module).  0 or -errno.
 */
static inline int mod_load(const struct test_mod *m)
{
	char sys[PATH_MAX], cmd[PATH_MAX];
	int fd, ret;

	snprintf(sys, sizeof(sys), "/sys/module/%s", m->name);
	if (!access(sys, F_OK))
		return 0;
	fd = open(mod_path(m), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(cmd, sizeof(cmd), "modprobe -q %s >/dev/null 2>&1",
			 m->alias);
		return system(cmd) ? ret : 0;
	}
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret ? -errno : 0;
}

static inline int provider_load(void)
{
	return mod_load(&provider_mod);
}

/* Tests that need root: NULL if the caller is, else why the test skips. */
static inline const char *need_root(void)
{
	return geteuid() ? "needs root" : NULL;
}

/*
 * NULL if @m is loaded now or its file exists (the test then asserts that it
 * loads), else why the test skips.
 */
static inline const char *need_module(const struct test_mod *m)
{
	if (!mod_load(m) || !access(mod_path(m), F_OK))
		return NULL;
	snprintf(skip_why, sizeof(skip_why),
		 "module %s not found: no %s (set %s) and modprobe %s failed",
		 m->name, mod_path(m), m->env, m->alias);
	return skip_why;
}

/*
 * NULL if the test may use DAX device @name (dax0.0): it is named in
 * FUSE_IOMAP_DAX_DEVS, exists, has at least @min bytes and fsdev_dax is
 * there to bind it to; else why the test skips.
 */
static inline const char *need_dax(const char *name, uint64_t min)
{
	const char *list = getenv(DAX_DEVS_ENV), *p;
	size_t n = strlen(name);
	char path[PATH_MAX];
	uint64_t size;

	for (p = list; p && (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (!p[n] || p[n] == ' ' || p[n] == ','))
			break;
	if (!p) {
		snprintf(skip_why, sizeof(skip_why),
			 "overwrites /dev/%s: name it in %s to allow", name,
			 DAX_DEVS_ENV);
		return skip_why;
	}
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s", name);
	if (access(path, F_OK)) {
		snprintf(skip_why, sizeof(skip_why), "no DAX device %s", name);
		return skip_why;
	}
	size = dax_size(name);
	if (size < min) {
		snprintf(skip_why, sizeof(skip_why),
			 "%s has %llu MiB, the test needs %llu MiB", name,
			 (unsigned long long)(size >> 20),
			 (unsigned long long)(min >> 20));
		return skip_why;
	}
	if (!have_or_modprobe(FSDEV_DRV, F_OK, "fsdev_dax"))
		return "no fsdev_dax driver (CONFIG_DEV_DAX_FSDEV)";
	return NULL;
}

/* NULL if the user allows memory failure injection, else why not. */
static inline const char *need_poison_ok(void)
{
	const char *ok = getenv(POISON_OK_ENV);

	if (ok && !strcmp(ok, "1"))
		return NULL;
	return "injects memory failures: set " POISON_OK_ENV "=1 to allow";
}

static inline int provider_unload(void)
{
	return syscall(SYS_delete_module, PROVIDER_MOD, O_NONBLOCK) ? errno : 0;
}

/* A byte pattern that no earlier run or other offset can match. */
static inline unsigned char pat(uint32_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	return (x >> 29) ^ (x >> 45) ^ off;
}

static inline void fill(unsigned char *buf, size_t len, uint32_t seed,
			uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(seed, off + i);
}

/* Offset of the first byte differing from the pattern, or -1. */
static inline long mismatch(const unsigned char *buf, size_t len,
			    uint32_t seed, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pat(seed, off + i))
			return i;
	return -1;
}

/* Open file @name of the mount of @s. */
static inline int srv_open_file(struct srv *s, const char *name, int flags)
{
	char path[PATH_MAX];

	srv_path(s, name, path, sizeof(path));
	return open(path, flags);
}

/*
 * Drop the dentry of @name in the root of @s (FUSE_NOTIFY_INVAL_ENTRY): an
 * inode nobody holds is evicted with it, and its map freed.  0 or the errno.
 */
static inline int srv_forget(struct srv *s, const char *name)
{
	struct {
		struct fuse_notify_inval_entry_out out;
		char name[256];
	} msg = { .out = { .parent = 1, .namelen = strlen(name) } };

	if (msg.out.namelen >= sizeof(msg.name))
		return errno = ENAMETOOLONG;
	memcpy(msg.name, name, msg.out.namelen + 1);
	return srv_notify(s, FUSE_NOTIFY_INVAL_ENTRY, &msg,
			  sizeof(msg.out) + msg.out.namelen + 1);
}

/* Read and write every page of a mapping: @len / 4 KiB PTE or fewer PMDs. */
static inline unsigned long touch(void *map, size_t len)
{
	unsigned char *p = map, c;
	unsigned long sum = 0;
	size_t off;

	for (off = 0; off < len; off += SZ_4K) {
		c = __atomic_load_n(p + off, __ATOMIC_RELAXED);
		__atomic_store_n(p + off, c, __ATOMIC_RELAXED);
		sum += c;
	}
	return sum;
}

/* Read every page of a mapping. */
static inline unsigned long touch_read(void *map, size_t len)
{
	unsigned char *p = map;
	unsigned long sum = 0;
	size_t off;

	for (off = 0; off < len; off += SZ_4K)
		sum += __atomic_load_n(p + off, __ATOMIC_RELAXED);
	return sum;
}

/* Bytes of [addr, addr + len) mapped by present pages with all of @cats. */
static inline long scan_bytes(void *addr, size_t len, unsigned long cats)
{
	struct page_region regs[64];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)addr,
		.end = (uintptr_t)addr + len,
		.vec = (uintptr_t)regs,
		.vec_len = 64,
		.category_mask = cats,
		.return_mask = cats,
	};
	long n, i, bytes = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -errno;
	n = ioctl(fd, PAGEMAP_SCAN, &arg);
	close(fd);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++)
		bytes += regs[i].end - regs[i].start;
	return bytes;
}

/* Start (clearing the trace) or stop recording dax_pmd_fault_done. */
static inline int trace_pmd(int on)
{
	if (access(TRACEFS "/events/fs_dax", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (on && write_str(TRACEFS "/trace", ""))
		return -errno;
	return write_str(TRACEFS "/events/fs_dax/dax_pmd_fault_done/enable",
			 on ? "1" : "0");
}

/* Recorded @event events of inode @ino with @has (if set) and without @not. */
static inline int trace_count(const char *event, uint64_t ino,
			      const char *has, const char *not)
{
	char line[1024], tag[32];
	int n = 0;
	FILE *f;

	snprintf(tag, sizeof(tag), " ino %#llx ", (unsigned long long)ino);
	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, event) && strstr(line, tag) &&
		    (!has || strstr(line, has)) && (!not || !strstr(line, not)))
			n++;
	fclose(f);
	return n;
}

/* dax_pmd_fault_done events of inode @ino that mapped a PMD (NOPAGE). */
static inline int trace_pmd_count(uint64_t ino)
{
	return trace_count("dax_pmd_fault_done", ino, "NOPAGE", "FALLBACK");
}

/*
 * The kernel log from now on: open /dev/kmsg at its end; kmsg_read() then
 * collects the text of every record logged since, one line each.
 */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline void kmsg_read(int fd, char *out, size_t len)
{
	char rec[8192], *text, *nl;
	size_t used = 0, n;
	ssize_t r;

	out[0] = '\0';
	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)	/* overwritten records */
			continue;
		if (r <= 0)
			break;
		rec[r] = '\0';
		/* "prio,seq,time,flags;text\n" then " KEY=value" lines */
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		n = strlen(text);
		if (used + n + 2 > len)
			break;
		memcpy(out + used, text, n);
		used += n;
		out[used++] = '\n';
		out[used] = '\0';
	}
}

static inline int count_str(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Read a whole small file (sysfs, procfs) into @buf; 0 or -errno. */
static inline int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The number in a sysfs or procfs file, or -1. */
static inline long read_long(const char *path)
{
	char buf[64];

	return read_str(path, buf, sizeof(buf)) ? -1 : strtol(buf, NULL, 0);
}

/* Evict every unused dentry and inode: their maps are freed. */
static inline int evict_unused(void)
{
	sync();
	return write_str("/proc/sys/vm/drop_caches", "2");
}

/* FORGET requests the server received: one per evicted inode at least. */
static inline long srv_forgets(struct srv *s)
{
	return srv_count(s, FUSE_FORGET) + srv_count(s, FUSE_BATCH_FORGET);
}

/*
 * Evict the unused inodes of @s (their maps are freed) and wait for a
 * FORGET; 0 once one came.  A dentry used since the last reclaim pass only
 * loses its "referenced" mark in a pass, so drop_caches is repeated (at most
 * 50 times, 100 ms apart).
 */
static inline int srv_evict(struct srv *s)
{
	long forgets = srv_forgets(s);
	int i, j;

	for (i = 0; i < 50; i++) {
		if (evict_unused())
			return -1;
		for (j = 0; j < 100 && srv_forgets(s) == forgets; j++)
			usleep(1000);
		if (srv_forgets(s) > forgets)
			return 0;
	}
	return -1;
}

/*
 * Read [off, off + len) of @fd: -1 if every byte equals the pattern, the
 * offset (from @off) of the first that differs, or -2 if the read failed.
 */
static inline long check_pread(int fd, uint32_t seed, uint64_t off,
			       size_t len)
{
	unsigned char buf[64 * 1024];
	size_t done, n;
	long bad;

	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (pread(fd, buf, n, off + done) != (ssize_t)n)
			return -2;
		bad = mismatch(buf, n, seed, off + done);
		if (bad >= 0)
			return done + bad;
	}
	return -1;
}

/* Write the pattern to [off, off + len) of @fd; 0 or -1. */
static inline int fill_pwrite(int fd, uint32_t seed, uint64_t off, size_t len)
{
	unsigned char buf[64 * 1024];
	size_t done, n;

	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		fill(buf, n, seed, off + done);
		if (pwrite(fd, buf, n, off + done) != (ssize_t)n)
			return -1;
	}
	return 0;
}

#endif /* IOMAP_TEST_UTIL_H */
