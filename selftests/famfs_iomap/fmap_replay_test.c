// SPDX-License-Identifier: GPL-2.0
/*
 * The fmap fuzzing corpus through the real kernel path: every seed of
 * rust/fmap-host/fuzz/corpus/parse_resolve (in /famfs/fmap-corpus) and a few
 * thousand seeded mutations of them are served, one at a time, as the
 * FUSE_IOMAP_DAX_GETMAP reply of a file of a "famfs" mount (famfs_iomap.ko)
 * over /dev/dax0.0 and /dev/dax1.0.  The host model, fmap_model (built from
 * rust/fmap-host, run here with the guest's real device sizes), says what the
 * open must do: fail with exactly its errno, or work, and then read(2) and a
 * mapping must find, at each of its sample file offsets, the pattern word of
 * the device offset it names.  Each 8-byte word of both devices holds its
 * own device index and offset (written first through an "identity" mount).
 *
 * Between blobs the file's inode is evicted (FUSE_NOTIFY_INVAL_ENTRY), so
 * its device ranges are free for the next map: two files' maps may not
 * overlap (EBUSY).  The module's counters must agree with the model too.
 *
 * Needs root, the famfs_iomap module and the test provider (loaded from
 * their files or by modprobe), the model and the corpus (FUSE_IOMAP_FMAP_MODEL
 * and FUSE_IOMAP_FMAP_CORPUS, by default /famfs/bin/fmap_model and
 * /famfs/fmap-corpus) and /dev/dax0.0, /dev/dax1.0 (at most 4 GiB each),
 * named in FUSE_IOMAP_DAX_DEVS (see ../fuse_iomap/iomap_test_util.h); skips
 * without them.  It overwrites both devices whole: it runs before
 * memory_failure_test, and skips the MiB that do not take the pattern.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
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
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "../fuse_iomap/fuse_iomap_server.h"
#include "../fuse_iomap/iomap_test_util.h"

#define NDEVS		2
#define MODEL		(getenv("FUSE_IOMAP_FMAP_MODEL") ?: "/famfs/bin/fmap_model")
#define CORPUS		(getenv("FUSE_IOMAP_FMAP_CORPUS") ?: "/famfs/fmap-corpus")
#define OUT		"/tmp/fmap-replay"
#define STATS		"/sys/kernel/debug/famfs_iomap/stats"
/*
 * Mutations and their seed.  Under TCG on the debug kernel the replay of
 * the corpus and 3000 mutations took 65 s (104 s with other VMs loading
 * the machine), the fill and the model 10 to 15 s more; on the base kernel
 * 21 s.  FMAP_REPLAY_MUTATIONS overrides the count.
 */
#define MUTATIONS	3000
#define SEED		20261130
#define MAX_FAIL_LOG	20
#define MAX_MIB		4096

static const char *const dax_name[NDEVS] = { "dax0.0", "dax1.0" };
static const char *const dax_dev[NDEVS] = { "/dev/dax0.0", "/dev/dax1.0" };

/* The word at device offset @off (8-byte aligned) of device @dev. */
static uint64_t word(uint32_t dev, uint64_t off)
{
	return 0xfa5e000000000000ULL | (uint64_t)dev << 40 | off;
}

static uint64_t dev_size[NDEVS];
/* MiB of each device that did not take the pattern (poisoned). */
static unsigned char bad_mib[NDEVS][MAX_MIB];

/* Fill both devices with their pattern through an "identity" mount. */
static int fill_devices(struct __test_metadata *_metadata)
{
	struct identity_map maps[NDEVS];
	struct srv_file files[NDEVS];
	struct srv *s;
	uint64_t *buf, off;
	unsigned int d, i, bad = 0;
	int fd, err;

	s = calloc(1, sizeof(*s));
	buf = malloc(SZ_1M);
	if (!s || !buf)
		return -ENOMEM;
	srv_init(s, dax_dev[0]);
	s->dax_path[1] = dax_dev[1];
	memset(files, 0, sizeof(files));
	for (d = 0; d < NDEVS; d++) {
		maps[d] = (struct identity_map){ .dev = d, .size = dev_size[d] };
		files[d] = (struct srv_file){
			.name = d ? "d1" : "d0", .size = dev_size[d],
			.blob = &maps[d], .blob_len = sizeof(maps[d]),
		};
	}
	s->files = files;
	s->nfiles = NDEVS;
	err = srv_mount(s);
	for (d = 0; !err && d < NDEVS; d++) {
		fd = srv_open_file(s, files[d].name, O_RDWR);
		if (fd < 0) {
			err = -errno;
			break;
		}
		for (off = 0; off < dev_size[d]; off += SZ_1M) {
			for (i = 0; i < SZ_1M / 8; i++)
				buf[i] = word(d, off + i * 8);
			if (pwrite(fd, buf, SZ_1M, off) != (ssize_t)SZ_1M) {
				TH_LOG("device %u: MiB %llu does not take the pattern: %s",
				       d, (unsigned long long)(off >> 20),
				       strerror(errno));
				bad_mib[d][off >> 20] = 1;
				bad++;
			}
		}
		close(fd);
	}
	srv_stop(s);
	free(s);
	free(buf);
	return err ? err : (int)bad;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run the model over the corpus; 0 or -1. */
static int run_model(struct __test_metadata *_metadata, unsigned long muts)
{
	char devs[64], seed[32], nmut[32];
	const char *argv[512];
	char *names[400];
	struct dirent *de;
	int argc = 0, n = 0, status, i;
	DIR *dir;
	pid_t pid;

	snprintf(devs, sizeof(devs), "%llu,%llu",
		 (unsigned long long)dev_size[0],
		 (unsigned long long)dev_size[1]);
	snprintf(seed, sizeof(seed), "%u", SEED);
	snprintf(nmut, sizeof(nmut), "%lu", muts);
	argv[argc++] = MODEL;
	argv[argc++] = "--devs";
	argv[argc++] = devs;
	argv[argc++] = "--seed";
	argv[argc++] = seed;
	argv[argc++] = "--mutations";
	argv[argc++] = nmut;
	argv[argc++] = "--out";
	argv[argc++] = OUT;
	dir = opendir(CORPUS);
	if (!dir) {
		TH_LOG("%s: %s", CORPUS, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) && n < 400) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&names[n], "%s/%s", CORPUS, de->d_name) < 0)
			break;
		n++;
	}
	closedir(dir);
	/* Sorted, so that the case numbers do not depend on the directory. */
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && argc < 510; i++)
		argv[argc++] = names[i];
	argv[argc] = NULL;
	pid = fork();
	if (!pid) {
		execv(MODEL, (char **)argv);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		TH_LOG("%s failed: status %#x", MODEL, status);
		return -1;
	}
	return 0;
}

/* Counters of famfs_iomap, from its debugfs stats file. */
struct stats {
	unsigned long parsed;
	unsigned long rejected[8];	/* by REJECTED order below */
};

static const char *const rejected_name[] = {
	"EINVAL", "ERANGE", "ENODEV", "ENXIO", "E2BIG", "EPROTO", "ENOMEM",
	"other",
};

static const int rejected_errno[] = {
	EINVAL, ERANGE, ENODEV, ENXIO, E2BIG, EPROTO, ENOMEM, 0,
};

static int read_stats(struct stats *st)
{
	char key[64];
	unsigned long v;
	unsigned int i;
	FILE *f = fopen(STATS, "r");

	memset(st, 0, sizeof(*st));
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %lu", key, &v) == 2) {
		if (!strcmp(key, "maps_parsed"))
			st->parsed = v;
		for (i = 0; i < ARRAY_SIZE(rejected_name); i++)
			if (!strncmp(key, "maps_rejected_", 14) &&
			    !strcmp(key + 14, rejected_name[i]))
				st->rejected[i] = v;
	}
	fclose(f);
	return 0;
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/*
 * The word at @p, or 0 with *@sig set if reading it faulted.  The word is
 * static, so that siglongjmp() leaves it defined, and loaded atomically, so
 * that the load is never dropped or split.
 */
static uint64_t peek(const void *p, int *sig)
{
	struct sigaction sa = { .sa_handler = on_fault }, obus, osegv;
	static uint64_t w;

	w = 0;
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	*sig = sigsetjmp(fault_jmp, 1);
	if (!*sig)
		w = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return w;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The expected device word is checkable: the device took the pattern there. */
static int checkable(uint32_t dev, uint64_t off)
{
	return dev < NDEVS && off < dev_size[dev] && !bad_mib[dev][off >> 20];
}

struct replay {
	unsigned long cases, ok, err[134], fail, samples;
	unsigned long busy;	/* EBUSY: parsed, then refused by fuse */
};

/*
 * Replay one case: the blob in OUT/NNNNN.bin, the model's outcome in @line.
 * Returns 0, or a description of the first difference in @why.
 */
static int replay_one(struct srv *s, struct srv_file *file, char *line,
		      struct replay *r, char *why, size_t whylen)
{
	unsigned long n, len, nsamples, i;
	unsigned long long size, pos, off;
	unsigned int dev;
	char path[64], kind[8];
	unsigned char *blob = NULL, *map = MAP_FAILED;
	int fd = -1, ret = -1, expect_err = 0, consumed, sig;
	size_t maplen = 0;
	struct stat st;
	uint64_t w;
	FILE *f;
	char *p = line;

	why[0] = '\0';
	if (sscanf(p, "CASE %lu %lu %7s%n", &n, &len, kind, &consumed) != 3) {
		snprintf(why, whylen, "bad expect line: %s", line);
		return -1;
	}
	p += consumed;
	snprintf(path, sizeof(path), OUT "/%05lu.bin", n);
	blob = malloc(len ? len : 1);
	f = fopen(path, "r");
	if (!blob || !f || fread(blob, 1, len, f) != len) {
		snprintf(why, whylen, "case %lu: cannot read its blob", n);
		if (f)
			fclose(f);
		free(blob);
		return -1;
	}
	fclose(f);
	file->blob = blob;
	file->blob_len = len;
	r->cases++;

	if (!strcmp(kind, "ERR")) {
		char *end;

		expect_err = strtol(p, &end, 10);
		if (end == p)
			goto bad_line;
	} else if (strcmp(kind, "OK") ||
		   sscanf(p, "%llu %lu%n", &size, &nsamples, &consumed) != 2) {
		goto bad_line;
	}
	p += consumed;

	fd = srv_open_file(s, file->name, O_RDWR);
	if (expect_err) {
		if (fd >= 0 || errno != expect_err) {
			snprintf(why, whylen,
				 "case %lu (%lu bytes): open: %s, the model says %s",
				 n, len, fd >= 0 ? "worked" : strerror(errno),
				 strerror(expect_err));
			goto out;
		}
		if (expect_err < (int)ARRAY_SIZE(r->err))
			r->err[expect_err]++;
		if (expect_err == EBUSY)
			r->busy++;
		ret = 0;
		goto out;
	}
	if (fd < 0) {
		snprintf(why, whylen,
			 "case %lu (%lu bytes): open: %s, the model says it works",
			 n, len, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) || (unsigned long long)st.st_size != size) {
		snprintf(why, whylen, "case %lu: size %lld, the model says %llu",
			 n, (long long)st.st_size, size);
		goto out;
	}
	if (size) {
		maplen = (size + SZ_4K - 1) & ~(SZ_4K - 1);
		map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			snprintf(why, whylen, "case %lu: mmap: %s", n,
				 strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < nsamples; i++) {
		if (sscanf(p, "%llu %u %llu%n", &pos, &dev, &off,
			   &consumed) != 3)
			goto bad_line;
		p += consumed;
		if (!checkable(dev, off))
			continue;
		r->samples++;
		w = 0;
		if (pread(fd, &w, 8, pos) != 8 || w != word(dev, off)) {
			snprintf(why, whylen,
				 "case %lu: read at %llu: %#llx, the model says device %u offset %#llx (%#llx)",
				 n, pos, (unsigned long long)w, dev, off,
				 (unsigned long long)word(dev, off));
			goto out;
		}
		w = peek(map + pos, &sig);
		if (sig || w != word(dev, off)) {
			snprintf(why, whylen,
				 "case %lu: mapping at %llu: %s%#llx, the model says device %u offset %#llx",
				 n, pos, sig ? strsignal(sig) : "",
				 (unsigned long long)w, dev, off);
			goto out;
		}
	}
	r->ok++;
	ret = 0;
	goto out;
bad_line:
	snprintf(why, whylen, "case %lu: bad expect line", n);
out:
	if (map != MAP_FAILED)
		munmap(map, maplen);
	if (fd >= 0)
		close(fd);
	/* Evict the inode: its map's ranges are free for the next blob. */
	srv_forget(s, file->name);
	file->blob = NULL;
	free(blob);
	return ret;
}

FIXTURE(replay) {
	int unused;
};

FIXTURE_SETUP(replay)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(replay)
{
}

/* The time limit is the harness's, not the replay's: see MUTATIONS. */
TEST_F_TIMEOUT(replay, corpus_and_mutations, 600)
{
	struct stats before, after;
	struct srv_file file = { .name = "f", .size = SZ_4K };
	struct replay r = { 0 };
	unsigned long muts = MUTATIONS, min_cases, rejected;
	char *line = NULL, why[512];
	const char *skip;
	size_t cap = 0;
	double t0, t1, t2;
	unsigned int d, i;
	struct srv *s;
	FILE *f;
	int bad;

	if (getenv("FMAP_REPLAY_MUTATIONS"))
		muts = strtoul(getenv("FMAP_REPLAY_MUTATIONS"), NULL, 0);
	/* The corpus and the mutations: at least 3000 cases, or every mutation. */
	min_cases = muts;
	if (min_cases > 3000)
		min_cases = 3000;
	skip = need_root() ?: need_dax(dax_name[0], SZ_2M) ?:
	       need_dax(dax_name[1], SZ_2M) ?: need_module(&famfs_mod) ?:
	       need_module(&provider_mod);
	if (skip)
		SKIP(return, "%s", skip);
	for (d = 0; d < NDEVS; d++)
		if (dax_size(dax_name[d]) >> 20 > MAX_MIB)
			SKIP(return, "%s is larger than %d MiB", dax_name[d],
			     MAX_MIB);
	if (access(MODEL, X_OK) || access(CORPUS, F_OK))
		SKIP(return, "no %s or %s (FUSE_IOMAP_FMAP_MODEL, FUSE_IOMAP_FMAP_CORPUS)",
		     MODEL, CORPUS);
	ASSERT_EQ(0, provider_load());
	ASSERT_EQ(0, mod_load(&famfs_mod)) {
		TH_LOG("cannot load %s", mod_path(&famfs_mod));
	}
	for (d = 0; d < NDEVS; d++) {
		ASSERT_EQ(0, dax_bind(dax_name[d], "fsdev_dax"));
		dev_size[d] = dax_size(dax_name[d]);
		ASSERT_LT(0ULL, (unsigned long long)dev_size[d]);
	}

	t0 = now();
	bad = fill_devices(_metadata);
	ASSERT_GE(bad, 0) {
		TH_LOG("filling the devices: %s", strerror(-bad));
	}
	t1 = now();
	ASSERT_EQ(0, run_model(_metadata, muts));
	t2 = now();

	s = calloc(1, sizeof(*s));
	ASSERT_NE(NULL, s);
	srv_init(s, dax_dev[0]);
	s->dax_path[1] = dax_dev[1];
	snprintf(s->provider, sizeof(s->provider), "famfs");
	s->files = &file;
	s->nfiles = 1;
	ASSERT_EQ(0, srv_mount(s));
	ASSERT_EQ(0, read_stats(&before));
	f = fopen(OUT "/expect", "r");
	ASSERT_NE(NULL, f);
	while (getline(&line, &cap, f) > 0) {
		if (replay_one(s, &file, line, &r, why, sizeof(why))) {
			if (r.fail++ < MAX_FAIL_LOG)
				TH_LOG("%s", why);
		}
	}
	free(line);
	fclose(f);
	ASSERT_EQ(0, read_stats(&after));
	srv_stop(s);

	TH_LOG("fill %.1f s, model %.1f s, replay %.1f s", t1 - t0, t2 - t1,
	       now() - t2);
	TH_LOG("%lu cases, %lu opened (%lu samples read twice)", r.cases, r.ok,
	       r.samples);
	TH_LOG("%lu failed as the model says, %lu differ",
	       r.cases - r.ok - r.fail, r.fail);
	for (i = 1; i < ARRAY_SIZE(r.err); i++)
		if (r.err[i])
			TH_LOG("  %s: %lu", strerror(i), r.err[i]);
	EXPECT_EQ(0UL, r.fail);
	EXPECT_GE(r.cases, min_cases);
	/* Every valid blob reached the provider once (EBUSY: fuse refused it). */
	EXPECT_EQ(r.ok + r.busy, after.parsed - before.parsed);
	for (i = 0; i < ARRAY_SIZE(rejected_name); i++) {
		rejected = after.rejected[i] - before.rejected[i];
		if (rejected_errno[i]) {
			EXPECT_EQ(r.err[rejected_errno[i]], rejected) {
				TH_LOG("maps_rejected_%s", rejected_name[i]);
			}
		} else {
			EXPECT_EQ(0UL, rejected);
		}
	}

	/* Nothing is left held: the devices mount again. */
	srv_init(s, dax_dev[0]);
	s->dax_path[1] = dax_dev[1];
	EXPECT_EQ(0, srv_mount(s));
	srv_stop(s);
	free(s);
}

TEST_HARNESS_MAIN
