// SPDX-License-Identifier: GPL-2.0
/*
 * dax_bench: fault and read cost of a DAX mapping, for side-by-side runs on
 * famfs (through famfs_iomap), raw device-dax and ext4-dax in one guest boot.
 *
 *   dax_bench LABEL PATH SIZE_MIB
 *   dax_bench --famfs LABEL DAXDEV SIZE_MIB
 *
 * The second form mounts one famfs file of SIZE_MIB at offset 0 of DAXDEV
 * (bound to fsdev_dax) through the FUSE test server and the "famfs" provider,
 * and measures that file.  Prints one line per measurement:
 *   LABEL pte_fault_ns N | pmd_fault_ns N | read_gbps N
 * Each measurement maps SIZE_MIB afresh and takes the best of ROUNDS runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/famfs_fmap.h>

#include "../selftests/fuse_iomap/fuse_iomap_server.h"

#define ROUNDS	5
#define SZ_4K	4096UL
#define SZ_2M	(2UL << 20)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Map @len bytes 2 MiB aligned so PMD faults are possible. */
static char *map_aligned(int fd, size_t len, int huge)
{
	char *area, *p;

	area = mmap(NULL, len + SZ_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	p = (char *)(((unsigned long)area + SZ_2M - 1) & ~(SZ_2M - 1));
	munmap(area, len + SZ_2M);
	p = mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (!huge && madvise(p, len, MADV_NOHUGEPAGE))
		fprintf(stderr, "madvise(MADV_NOHUGEPAGE): %s\n", strerror(errno));
	return p;
}

/* Best-of-ROUNDS cost of one fault when touching every @step bytes. */
static double fault_ns(int fd, size_t len, size_t step, int huge)
{
	double best = 0;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		volatile char *p = (volatile char *)map_aligned(fd, len, huge);
		double t0, t;
		size_t off;

		if (!p)
			return -1;
		t0 = now_ns();
		for (off = 0; off < len; off += step)
			(void)p[off];
		t = (now_ns() - t0) / (len / step);
		munmap((void *)p, len);
		if (!best || t < best)
			best = t;
	}
	return best;
}

static double read_gbps(int fd, size_t len)
{
	size_t chunk = 1UL << 20;
	double best = 0;
	char *buf;
	int r;

	buf = malloc(chunk);
	if (!buf)
		return -1;
	for (r = 0; r < ROUNDS; r++) {
		double t0 = now_ns(), g;
		size_t off;

		for (off = 0; off < len; off += chunk)
			if (pread(fd, buf, chunk, off) != (ssize_t)chunk) {
				free(buf);
				return -1;
			}
		g = len / (now_ns() - t0);
		if (g > best)
			best = g;
	}
	free(buf);
	return best;
}

#define TRACEFS "/sys/kernel/debug/tracing"

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

/* Count the fs_dax PMD faults that mapped a PMD and those that fell back. */
static void pmd_trace_report(const char *label)
{
	long nopage = 0, fallback = 0;
	char line[1024];
	FILE *f;

	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "dax_pmd_fault_done"))
			continue;
		if (strstr(line, "FALLBACK"))
			fallback++;
		else if (strstr(line, "NOPAGE"))
			nopage++;
	}
	fclose(f);
	write_str(TRACEFS "/events/fs_dax/dax_pmd_fault_done/enable", "0");
	printf("%s pmd_faults %ld pmd_fallbacks %ld\n", label, nopage, fallback);
}

static void measure(const char *label, int fd, size_t len, int is_file)
{
	/* PMD faults first, on page tables no PTE run has populated. */
	if (is_file &&
	    !write_str(TRACEFS "/events/fs_dax/dax_pmd_fault_done/enable", "1"))
		write_str(TRACEFS "/trace", "");
	printf("%s pmd_fault_ns %.0f\n", label, fault_ns(fd, len, SZ_2M, 1));
	if (is_file)
		pmd_trace_report(label);
	/* A device-dax instance with 2 MiB alignment refuses 4 KiB faults. */
	if (is_file)
		printf("%s pte_fault_ns %.0f\n", label, fault_ns(fd, len, SZ_4K, 0));
	/* device-dax has no read(2). */
	if (is_file)
		printf("%s read_gbps %.2f\n", label, read_gbps(fd, len));
}

/* One famfs file: a single 2 MiB aligned simple extent at offset 0. */
static int bench_famfs(const char *label, const char *dev, size_t len)
{
	struct {
		struct famfs_fmap_header hdr;
		struct famfs_fmap_simple_ext ext;
	} blob;
	struct srv_file file = {
		.name = "bench", .size = len, .blob = &blob, .blob_len = sizeof(blob),
	};
	struct srv srv;
	char path[128];
	int fd;

	memset(&blob, 0, sizeof(blob));
	blob.hdr.file_type = FAMFS_FMAP_REG;
	blob.hdr.fmap_version = FAMFS_FMAP_VERSION;
	blob.hdr.ext_type = FAMFS_FMAP_EXT_SIMPLE;
	blob.hdr.nextents = 1;
	blob.hdr.fmap_size = sizeof(blob);
	blob.hdr.file_size = len;
	blob.ext.se_devindex = 0;
	blob.ext.se_offset = 0;
	blob.ext.se_len = len;

	srv_init(&srv, dev);
	snprintf(srv.provider, sizeof(srv.provider), "famfs");
	srv.files = &file;
	srv.nfiles = 1;
	if (srv_mount(&srv)) {
		fprintf(stderr, "famfs mount over %s failed: %s\n", dev, strerror(errno));
		return 1;
	}
	srv_path(&srv, "bench", path, sizeof(path));
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		srv_umount(&srv);
		srv_stop(&srv);
		return 1;
	}
	measure(label, fd, len, 1);
	close(fd);
	fprintf(stderr, "%s: %ld requests to the server in all, GETMAP %ld\n",
		label, (long)srv.total, srv_count(&srv, FUSE_IOMAP_DAX_GETMAP));
	srv_umount(&srv);
	srv_stop(&srv);
	return 0;
}

int main(int argc, char **argv)
{
	const char *label, *path;
	size_t len;
	int fd;

	if (argc == 5 && !strcmp(argv[1], "--famfs"))
		return bench_famfs(argv[2], argv[3], strtoul(argv[4], NULL, 0) << 20);
	if (argc != 4) {
		fprintf(stderr, "usage: %s LABEL PATH SIZE_MIB\n"
			"       %s --famfs LABEL DAXDEV SIZE_MIB\n", argv[0], argv[0]);
		return 2;
	}
	label = argv[1];
	path = argv[2];
	len = strtoul(argv[3], NULL, 0) << 20;
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	measure(label, fd, len, strncmp(path, "/dev/dax", 8) != 0);
	close(fd);
	return 0;
}
