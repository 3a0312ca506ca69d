// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_iomap: the module is loaded (or built in) and the DAX device the
 * tests use is ready.  Skips when famfs_iomap is not loaded, when not root
 * (its debugfs stats) and when no DAX device is named: FAMFS_DAX, else the
 * first device of FUSE_IOMAP_DAX_DEVS (see ../fuse_iomap/iomap_test_util.h).
 * Nothing here writes to a device.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"

static int read_sysfs(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

#define FAMFS_SYS	"/sys/module/famfs_iomap"

TEST(module_loaded)
{
	char state[64];
	struct stat st;

	if (stat(FAMFS_SYS, &st))
		SKIP(return, "famfs_iomap is not loaded (modprobe fuse-iomap-famfs)");
	/* A built-in module has no initstate. */
	if (access(FAMFS_SYS "/initstate", F_OK))
		return;
	ASSERT_EQ(0, read_sysfs(FAMFS_SYS "/initstate", state, sizeof(state)));
	EXPECT_STREQ("live", state);
}

TEST(dax_device_ready)
{
	const char *dev = getenv("FAMFS_DAX"), *list;
	char path[PATH_MAX], buf[64], name[64], node[80];
	unsigned long long size, align;
	struct stat st;

	list = getenv("FUSE_IOMAP_DAX_DEVS");
	if (!dev && list && sscanf(list, " %63[^ ,]", name) == 1) {
		snprintf(node, sizeof(node), "/dev/%s", name);
		dev = node;
	}
	if (!dev)
		SKIP(return, "no DAX device named (FAMFS_DAX, FUSE_IOMAP_DAX_DEVS)");
	if (access(dev, F_OK))
		SKIP(return, "no DAX device %s", dev);

	ASSERT_EQ(0, stat(dev, &st)) {
		TH_LOG("%s: %s", dev, strerror(errno));
	}
	ASSERT_TRUE(S_ISCHR(st.st_mode));

	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/size", major(st.st_rdev),
		 minor(st.st_rdev));
	ASSERT_EQ(0, read_sysfs(path, buf, sizeof(buf)));
	size = strtoull(buf, NULL, 0);
	EXPECT_GE(size, 64ULL << 20);

	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/align", major(st.st_rdev),
		 minor(st.st_rdev));
	ASSERT_EQ(0, read_sysfs(path, buf, sizeof(buf)));
	align = strtoull(buf, NULL, 0);
	EXPECT_EQ(2ULL << 20, align);
}

TEST(stats_in_debugfs)
{
	static const char * const keys[] = {
		"maps_parsed ", "maps_pmd_unaligned ", "maps_rejected_EINVAL ",
		"maps_rejected_ENODEV ", "maps_rejected_other ",
	};
	char buf[1024];
	unsigned int i;
	ssize_t n;
	int fd;

	if (geteuid())
		SKIP(return, "needs root (debugfs)");
	if (access(FAMFS_SYS, F_OK))
		SKIP(return, "famfs_iomap is not loaded (modprobe fuse-iomap-famfs)");
	fd = open("/sys/kernel/debug/famfs_iomap/stats", O_RDONLY);
	ASSERT_GE(fd, 0) {
		TH_LOG("stats: %s", strerror(errno));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!strstr(buf, keys[i]))
			TH_LOG("no \"%s\" in the stats file", keys[i]);
		EXPECT_NE(NULL, strstr(buf, keys[i]));
	}
}

TEST_HARNESS_MAIN
