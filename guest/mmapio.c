// SPDX-License-Identifier: GPL-2.0
/*
 * mmapio: copy between stdin/stdout and a shared mapping of a file, for the two-host tests
 * (data written on one host through a mapping, read on the other through one).
 *
 *   mmapio write FILE OFFSET     stdin -> the mapping at OFFSET (to the end of stdin)
 *   mmapio read FILE OFFSET LEN  the mapping [OFFSET, OFFSET+LEN) -> stdout
 *
 * The file is mapped whole (MAP_SHARED); its size does not change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "mmapio: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int wr = argc == 4 && !strcmp(argv[1], "write");
	int rd = argc == 5 && !strcmp(argv[1], "read");
	unsigned long long off, len = 0;
	struct stat st;
	char *map;
	int fd;

	if (!wr && !rd) {
		fprintf(stderr, "usage: mmapio write FILE OFFSET < DATA\n"
				"       mmapio read FILE OFFSET LEN > DATA\n");
		return 2;
	}
	off = strtoull(argv[3], NULL, 0);
	if (rd)
		len = strtoull(argv[4], NULL, 0);
	fd = open(argv[2], wr ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return fail(argv[2]);
	if (off > (unsigned long long)st.st_size || len > st.st_size - off) {
		fprintf(stderr, "mmapio: %s: range past the end (%lld bytes)\n", argv[2],
			(long long)st.st_size);
		return 1;
	}
	map = mmap(NULL, st.st_size, wr ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return fail("mmap");
	if (wr) {
		unsigned long long at = off;
		ssize_t n;

		while ((n = read(0, map + at, st.st_size - at)) > 0)
			at += n;
		if (n < 0)
			return fail("read stdin");
		if (at == (unsigned long long)st.st_size) {
			char c;

			if (read(0, &c, 1) > 0) {
				fprintf(stderr, "mmapio: input runs past the end of %s\n", argv[2]);
				return 1;
			}
		}
		if (msync(map, st.st_size, MS_SYNC))
			return fail("msync");
		fprintf(stderr, "mmapio: %llu bytes written at %llu through the mapping\n",
			at - off, off);
	} else {
		unsigned long long at = off;
		ssize_t n;

		while (at < off + len) {
			n = write(1, map + at, off + len - at);
			if (n <= 0)
				return fail("write stdout");
			at += n;
		}
	}
	munmap(map, st.st_size);
	close(fd);
	return 0;
}
