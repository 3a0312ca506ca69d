// SPDX-License-Identifier: GPL-2.0
/*
 * A raw /dev/fuse server for the FUSE iomap-DAX tests, no libfuse.
 *
 * The server runs in a thread of the test (or, with no_thread, in whatever
 * thread or child process calls srv_serve()).  It negotiates FUSE_IOMAP_DAX,
 * registers its DAX devices with FUSE_DEV_IOC_BACKING_OPEN while it answers
 * FUSE_IOMAP_DAX_CONFIG, and answers FUSE_IOMAP_DAX_GETMAP with the test's map blob
 * of the file, or an identity map.  Any request it does not expect gets
 * -EOPNOTSUPP, and every request is counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/capability.h>

#include "fuse_iomap_server.h"

#define ROOT_INO	1
#define MAX_WRITE	(128 * 1024)
#define BUF_SIZE	(MAX_WRITE + 4096)

#define FIRST_INO	2

/* Apart on the device: a page belongs to one file's mapping at a time. */
static const struct srv_file identity_files[] = {
	{ .name = FILE_A, .size = FILE_A_SIZE },
	{ .name = FILE_B, .size = FILE_B_SIZE, .base_mib = 8 },
	{ .name = FILE_C, .size = FILE_C_SIZE, .base_mib = 16 },
};

static unsigned int nfiles(struct srv *s)
{
	return s->files ? s->nfiles :
			  sizeof(identity_files) / sizeof(*identity_files);
}

static const struct srv_file *file_at(struct srv *s, unsigned int i)
{
	return s->files ? &s->files[i] : &identity_files[i];
}

static const struct srv_file *file_by_ino(struct srv *s, uint64_t ino)
{
	if (ino < FIRST_INO || ino - FIRST_INO >= nfiles(s))
		return NULL;
	return file_at(s, ino - FIRST_INO);
}

static uint64_t ino_by_name(struct srv *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < nfiles(s); i++)
		if (!strcmp(file_at(s, i)->name, name))
			return FIRST_INO + i;
	return 0;
}

/* Write a reply whose header the caller filled in; 0 or the write's errno. */
static int send_raw(struct srv *s, struct fuse_out_header *oh, const void *d1,
		    size_t len1, const void *d2, size_t len2)
{
	struct iovec iov[3] = {
		{ oh, sizeof(*oh) },
		{ (void *)d1, len1 },
		{ (void *)d2, len2 },
	};

	/* Errors here are teardown races (connection aborted) or asked for. */
	return writev(s->fd, iov, 3) < 0 ? errno : 0;
}

/* Reply with a header and up to two parts of payload; 0 or the errno. */
static int reply2(struct srv *s, uint64_t unique, int error, const void *d1,
		  size_t len1, const void *d2, size_t len2)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + len1 + len2,
		.error = error,
		.unique = unique,
	};

	return send_raw(s, &oh, d1, len1, d2, len2);
}

static void reply(struct srv *s, uint64_t unique, int error, const void *data,
		  size_t len)
{
	reply2(s, unique, error, data, data ? len : 0, NULL, 0);
}

static void fill_attr(struct srv *s, struct fuse_attr *a, uint64_t ino)
{
	const struct srv_file *f = file_by_ino(s, ino);

	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	a->blksize = 4096;
	a->mtime = s->attr_mtime;
	if (f) {
		a->mode = (s->attr_type ? s->attr_type : S_IFREG) |
			  (f->mode ? f->mode : 0644);
		a->size = f->size + s->attr_size_delta;
		a->blocks = f->size / 512;
		if (!f->plain)
			a->flags |= FUSE_ATTR_IOMAP_DAX;
		if (s->attr_flip)
			a->flags ^= FUSE_ATTR_IOMAP_DAX;
	} else {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	}
}

/* Drop every capability of the calling thread (capset is per thread). */
static int drop_thread_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };

	return syscall(SYS_capset, &hdr, data);
}

static int backing_open(struct srv *s, int fd)
{
	struct fuse_backing_map map = {
		.fd = fd,
		.flags = FUSE_BACKING_TYPE_DAX,
	};
	int id = ioctl(s->fd, FUSE_DEV_IOC_BACKING_OPEN, &map);

	return id < 0 ? -errno : id;
}

static void *unpriv_thread(void *arg)
{
	struct srv *s = arg;

	if (drop_thread_caps())
		s->unpriv_res = -1000 - errno;
	else
		s->unpriv_res = backing_open(s, s->dax_fd);
	return NULL;
}

/* Try BACKING_OPEN on each probe path; a success is closed again. */
static void run_probes(struct srv *s)
{
	pthread_t t;
	int i, fd;

	for (i = 0; i < SRV_MAX_PROBES && s->probe[i]; i++) {
		fd = open(s->probe[i], O_RDWR);
		if (fd < 0) {
			s->probe_res[i] = -1000 - errno;
			continue;
		}
		s->probe_res[i] = backing_open(s, fd);
		if (s->probe_res[i] > 0)
			ioctl(s->fd, FUSE_DEV_IOC_BACKING_CLOSE, &s->probe_res[i]);
		close(fd);
	}
	if (s->probe_unpriv && s->dax_fd >= 0) {
		s->unpriv_res = -2000;
		if (!pthread_create(&t, NULL, unpriv_thread, s))
			pthread_join(t, NULL);
	}
}

static void do_init(struct srv *s, struct fuse_in_header *ih)
{
	struct fuse_init_in *in = (void *)(ih + 1);
	struct fuse_init_out out = { 0 };
	uint64_t flags = FUSE_MAX_PAGES | FUSE_INIT_EXT;

	s->init_minor = in->minor;
	s->init_flags = in->flags | ((uint64_t)in->flags2 << 32);
	if (!s->no_iomap)
		flags |= FUSE_IOMAP_DAX;
	if (s->passthrough)
		flags |= FUSE_PASSTHROUGH;

	out.major = FUSE_KERNEL_VERSION;
	out.minor = FUSE_KERNEL_MINOR_VERSION;
	out.max_readahead = in->max_readahead;
	out.max_write = MAX_WRITE;
	out.max_background = 16;
	out.congestion_threshold = 12;
	out.max_pages = MAX_WRITE / 4096;
	if (s->passthrough)
		out.max_stack_depth = 1;
	flags &= s->init_flags;
	if (s->insist_iomap)
		flags |= FUSE_IOMAP_DAX;
	out.flags = flags;
	out.flags2 = flags >> 32;
	reply(s, ih->unique, 0, &out, sizeof(out));
}

static void do_iomap_config(struct srv *s, struct fuse_in_header *ih)
{
	struct fuse_iomap_dax_config_out out = { 0 };
	int fds[SRV_MAX_DEVICES];
	int n, i, id;

	for (n = 0; n < SRV_MAX_DEVICES && s->dax_path[n]; n++) {
		fds[n] = open(s->dax_path[n], O_RDWR);
		if (fds[n] < 0) {
			s->backing_res = -1000 - errno;
			reply(s, ih->unique, -ENODEV, NULL, 0);
			goto out;
		}
	}
	s->dax_fd = n ? fds[0] : -1;
	run_probes(s);
	if (s->config_error) {
		reply(s, ih->unique, -s->config_error, NULL, 0);
		goto out;
	}
	for (i = 0; i < n; i++) {
		id = backing_open(s, fds[i]);
		if (!i && id > 0 && s->config_pt_path) {
			/* A passthrough id where a DAX id belongs. */
			struct fuse_backing_map pt = {
				.fd = open(s->config_pt_path, O_RDONLY),
				.flags = FUSE_BACKING_TYPE_PASSTHROUGH,
			};

			id = ioctl(s->fd, FUSE_DEV_IOC_BACKING_OPEN, &pt);
			if (id < 0)
				id = -errno;
			close(pt.fd);
		}
		if (!i || id < 0)
			s->backing_res = id;
		if (id < 0) {
			reply(s, ih->unique, id, NULL, 0);
			goto out;
		}
		out.backing_ids[i] = id + s->id_delta;
	}
	if (s->passthrough_dax_id && n)
		s->spare_dax_id = backing_open(s, fds[0]);
	/* After the table's ids: its id is not the number of theirs. */
	if (s->spare_dax_path) {
		int fd = open(s->spare_dax_path, O_RDWR);

		s->spare_dax_id = fd < 0 ? -1000 - errno : backing_open(s, fd);
		if (fd >= 0)
			close(fd);
	}
	if (s->pt_iomap_path) {
		/* A passthrough backing file for FOPEN_IOMAP_DAX opens. */
		struct fuse_backing_map pt = {
			.fd = open(s->pt_iomap_path, O_RDWR),
			.flags = FUSE_BACKING_TYPE_PASSTHROUGH,
		};

		id = ioctl(s->fd, FUSE_DEV_IOC_BACKING_OPEN, &pt);
		s->pt_iomap_id = id < 0 ? -errno : id;
		close(pt.fd);
	}
	memcpy(out.provider, s->provider, sizeof(out.provider));
	if (s->foreign_id && n)
		out.backing_ids[0] = s->foreign_id;
	out.ndevices = n;
	switch (s->config_mode) {
	case CONFIG_DUP_ID:
		if (n && n < SRV_MAX_DEVICES)
			out.backing_ids[n++] = out.backing_ids[0];
		out.ndevices = n;
		break;
	case CONFIG_DUP_DEVICE:
		if (n && n < SRV_MAX_DEVICES) {
			id = backing_open(s, fds[0]);
			out.backing_ids[n] = id;
			fds[n++] = open(s->dax_path[0], O_RDONLY);
		}
		out.ndevices = n;
		break;
	case CONFIG_NO_DEVICES:
		out.ndevices = 0;
		break;
	case CONFIG_TOO_MANY:
		out.ndevices = FUSE_IOMAP_DAX_MAX_DEVICES + 1;
		break;
	case CONFIG_LONG_NAME:
		memset(out.provider, 'x', sizeof(out.provider));
		break;
	case CONFIG_BAD_NAME:
		memset(out.provider, 0, sizeof(out.provider));
		memcpy(out.provider, "../Famfs", 8);
		break;
	case CONFIG_8BIT_NAME:
		/* "famfs" with an e acute (0xe9), a lower-case letter to islower(). */
		memset(out.provider, 0, sizeof(out.provider));
		memcpy(out.provider, "f\xe9mfs", 5);
		break;
	case CONFIG_HANG:
		goto out;
	}
	reply(s, ih->unique, 0, &out,
	      offsetof(struct fuse_iomap_dax_config_out, backing_ids[n]));
	if (s->config_mode == CONFIG_TWICE)
		s->config_dup_err =
			reply2(s, ih->unique, 0, &out,
			       offsetof(struct fuse_iomap_dax_config_out,
					backing_ids[n]), NULL, 0);
	if (s->close_after_config) {
		/* Races with the kernel taking the ids: one of the two wins. */
		for (i = 0; i < n; i++) {
			id = out.backing_ids[i];
			id = ioctl(s->fd, FUSE_DEV_IOC_BACKING_CLOSE, &id) ?
				errno : 0;
			if (!i)
				s->close_res = id;
		}
	}
out:
	/* The kernel holds the devices now; the server needs no fd. */
	while (n--)
		close(fds[n]);
	s->dax_fd = -1;
}

/* The identity map of @f as do_getmap() would send it; see MAP_CHANGES. */
static void identity_of(struct srv *s, const struct srv_file *f,
			struct identity_map *map, const void **data,
			uint32_t *len)
{
	memset(map, 0, sizeof(*map));
	map->size = f->size;
	map->base_mib = f->base_mib;
	*data = map;
	*len = sizeof(*map);
	if (f->blob) {
		*data = f->blob;
		*len = f->blob_len;
	}
	(void)s;
}

/* Send the reply carrying a map, spoiled as s->reply_mode says. */
static void send_map(struct srv *s, uint64_t unique,
		     struct fuse_iomap_dax_getmap_out *hdr, const void *data,
		     uint32_t len)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + sizeof(*hdr) + len,
		.unique = unique,
	};
	int mode = s->reply_mode;

	switch (mode) {
	case REPLY_OK:
		s->reply_err = send_raw(s, &oh, hdr, sizeof(*hdr), data, len);
		return;
	case REPLY_TWICE:
		s->reply2_err = send_raw(s, &oh, hdr, sizeof(*hdr), data, len);
		s->reply_err = send_raw(s, &oh, hdr, sizeof(*hdr), data, len);
		return;
	case REPLY_UNKNOWN_UNIQUE:
		oh.unique = unique + (1ULL << 40);
		break;
	case REPLY_LEN_LONG:
		oh.len += 8;
		break;
	case REPLY_LEN_SHORT:
		oh.len -= 8;
		break;
	case REPLY_ERR_POSITIVE:
		oh.error = EIO;
		oh.len = sizeof(oh);
		break;
	case REPLY_ERR_RANGE:
		oh.error = -4096;
		oh.len = sizeof(oh);
		break;
	case REPLY_ERR_PAYLOAD:
		oh.error = -EIO;
		break;
	}
	if (oh.len == sizeof(oh) && mode != REPLY_LEN_SHORT)
		s->reply_err = send_raw(s, &oh, NULL, 0, NULL, 0);
	else
		s->reply_err = send_raw(s, &oh, hdr, sizeof(*hdr), data, len);
	oh.unique = unique;
	oh.error = 0;
	oh.len = sizeof(oh) + sizeof(*hdr) + len;
	s->reply2_err = send_raw(s, &oh, hdr, sizeof(*hdr), data, len);
}

/*
 * MAP_SWAP: the held GETMAP request gets the map of the file @unique asks
 * for (@data, @len), and @unique gets the held file's.
 */
static void swap_maps(struct srv *s, uint64_t unique,
		      struct fuse_iomap_dax_getmap_out *hdr, const void *data,
		      uint32_t len)
{
	const struct srv_file *g = file_by_ino(s, s->held_ino);
	struct identity_map gmap;
	const void *gdata;
	uint32_t glen;

	identity_of(s, g, &gmap, &gdata, &glen);
	hdr->size = len;
	send_map(s, s->held_unique, hdr, data, len);
	hdr->size = glen;
	s->held_unique = 0;
	send_map(s, unique, hdr, gdata, glen);
}

static void do_getmap(struct srv *s, struct fuse_in_header *ih)
{
	struct fuse_iomap_dax_getmap_in *in = (void *)(ih + 1);
	const struct srv_file *f = file_by_ino(s, ih->nodeid);
	struct fuse_iomap_dax_getmap_out hdr = { 0 };
	static const char pad[3 * 4096];
	struct identity_map map;
	const void *data;
	uint32_t len;
	int mode = s->map_mode;

	s->getmap_offer = in->size;
	if (s->getmap_delay_ms)
		usleep(s->getmap_delay_ms * 1000);
	/* fh is (ino << 32 | serial); see do_open(). */
	if (!f || in->fh >> 32 != ih->nodeid)
		s->fh_mismatch++;
	if (!f) {
		reply(s, ih->unique, -ENOENT, NULL, 0);
		return;
	}
	identity_of(s, f, &map, &data, &len);
	switch (mode) {
	/* These three spoil identity maps only; blobs are sent as they are. */
	case MAP_BAD_DEVICE:
		map.dev = 1;
		break;
	case MAP_TOO_BIG:
		map.size = 1ULL << 40;
		break;
	case MAP_SHORT:
		if (!f->blob)
			len = 8;
		break;
	case MAP_ERROR:
		reply(s, ih->unique, -s->map_error, NULL, 0);
		return;
	case MAP_HUGE:
		hdr.size = FUSE_IOMAP_DAX_MAP_MAX + 1;
		reply(s, ih->unique, 0, &hdr, sizeof(hdr));
		return;
	case MAP_GROWS:
		hdr.size = in->size + 4096;
		s->getmap_short++;
		reply(s, ih->unique, 0, &hdr, sizeof(hdr));
		return;
	case MAP_PROBE_BIGGER:
	case MAP_PROBE_SMALLER:
	case MAP_CHANGES:
		if (in->size < 2 * 4096) {
			/* The probe: more than a page, whatever follows. */
			hdr.size = 2 * 4096;
			s->getmap_short++;
			reply(s, ih->unique, 0, &hdr, sizeof(hdr));
			return;
		}
		if (mode == MAP_CHANGES) {
			map.size = f->size / 2;
			data = &map;
			len = sizeof(map);
		} else if (mode == MAP_PROBE_SMALLER) {
			hdr.size = sizeof(pad);
			send_map(s, ih->unique, &hdr, pad, sizeof(pad));
			return;
		}
		break;
	case MAP_SIZE_HIGH:
		hdr.size = len + 8;
		send_map(s, ih->unique, &hdr, data, len);
		return;
	case MAP_SIZE_LOW:
		hdr.size = len - 8;
		send_map(s, ih->unique, &hdr, data, len);
		return;
	case MAP_ZERO:
		send_map(s, ih->unique, &hdr, NULL, 0);
		return;
	case MAP_PADDING:
		hdr.padding = 1;
		break;
	case MAP_SWAP:
		if (!s->held_unique || s->held_ino == ih->nodeid) {
			/* Hold it until a GETMAP of another file comes. */
			s->held_unique = ih->unique;
			s->held_ino = ih->nodeid;
			s->held++;
			return;
		}
		swap_maps(s, ih->unique, &hdr, data, len);
		return;
	}
	hdr.size = len;
	if (len > in->size) {
		s->getmap_short++;
		reply(s, ih->unique, 0, &hdr, sizeof(hdr));
		return;
	}
	send_map(s, ih->unique, &hdr, data, len);
}

static void do_open(struct srv *s, struct fuse_in_header *ih)
{
	struct fuse_open_out out = { 0 };
	uint32_t serial = ++s->next_fh;

	const struct srv_file *f = file_by_ino(s, ih->nodeid);

	out.fh = ih->nodeid << 32 | serial;
	if (ih->opcode == FUSE_OPEN) {
		switch (s->open_mode) {
		case OPEN_AS_INODE:
			if (f && !f->plain)
				out.open_flags = FOPEN_IOMAP_DAX;
			break;
		case OPEN_ALWAYS_IOMAP:
			out.open_flags = FOPEN_IOMAP_DAX;
			break;
		}
		if (s->pt_iomap_id > 0 && f && !f->plain) {
			out.open_flags |= FOPEN_PASSTHROUGH;
			out.backing_id = s->pt_iomap_id;
		}
		if (s->passthrough_dax_id && f && f->plain) {
			out.open_flags |= FOPEN_PASSTHROUGH;
			out.backing_id = s->spare_dax_id;
		}
	}
	reply(s, ih->unique, 0, &out, sizeof(out));
}

/* CREATE answers with the entry of an existing file, s->create_as. */
static void do_create(struct srv *s, struct fuse_in_header *ih)
{
	struct {
		struct fuse_entry_out entry;
		struct fuse_open_out open;
	} out = { 0 };
	uint64_t ino = s->create_as ? ino_by_name(s, s->create_as) : 0;
	const struct srv_file *f = file_by_ino(s, ino);

	if (!f) {
		reply(s, ih->unique, -EPERM, NULL, 0);
		return;
	}
	out.entry.nodeid = ino;
	out.entry.generation = 1;
	fill_attr(s, &out.entry.attr, ino);
	out.open.fh = ino << 32 | ++s->next_fh;
	if (s->open_mode == OPEN_ALWAYS_IOMAP ||
	    (s->open_mode == OPEN_AS_INODE && !f->plain))
		out.open.open_flags = FOPEN_IOMAP_DAX;
	reply(s, ih->unique, 0, &out, sizeof(out));
}

/* Plain files read as zeros, through the page cache. */
static void do_read(struct srv *s, struct fuse_in_header *ih)
{
	struct fuse_read_in *in = (void *)(ih + 1);
	const struct srv_file *f = file_by_ino(s, ih->nodeid);
	static const char zeros[MAX_WRITE];
	uint64_t n = 0;

	if (f && in->offset < f->size)
		n = f->size - in->offset;
	if (n > in->size)
		n = in->size;
	if (n > sizeof(zeros))
		n = sizeof(zeros);
	reply(s, ih->unique, 0, zeros, n);
}

/* SETATTR changes nothing but the mode; the kernel must refuse the rest. */
static void do_setattr(struct srv *s, struct fuse_in_header *ih)
{
	struct fuse_setattr_in *in = (void *)(ih + 1);
	struct fuse_attr_out out = { 0 };

	if (ih->opcode == FUSE_SETATTR) {
		s->setattr_valid = in->valid;
		s->setattr_mode = in->mode;
	}
	out.attr_valid = s->no_cache ? 0 : 3600;
	fill_attr(s, &out.attr, ih->nodeid);
	if (ih->opcode == FUSE_SETATTR && (in->valid & FATTR_MODE))
		out.attr.mode = S_IFREG | (in->mode & 07777);
	reply(s, ih->unique, 0, &out, sizeof(out));
}

static void handle(struct srv *s, struct fuse_in_header *ih)
{
	switch (ih->opcode) {
	case FUSE_INIT:
		do_init(s, ih);
		break;
	case FUSE_IOMAP_DAX_CONFIG:
		do_iomap_config(s, ih);
		break;
	case FUSE_IOMAP_DAX_GETMAP:
		do_getmap(s, ih);
		break;
	case FUSE_LOOKUP: {
		uint64_t ino = ino_by_name(s, (char *)(ih + 1));
		struct fuse_entry_out out = { 0 };

		if (ih->nodeid != ROOT_INO || !ino) {
			reply(s, ih->unique, -ENOENT, NULL, 0);
			break;
		}
		out.nodeid = ino;
		out.generation = 1 + s->gen_delta;
		out.entry_valid = s->no_cache ? 0 : 3600;
		out.attr_valid = s->no_cache ? 0 : 3600;
		fill_attr(s, &out.attr, ino);
		reply(s, ih->unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		do_setattr(s, ih);
		break;
	case FUSE_READ:
		do_read(s, ih);
		break;
	case FUSE_CREATE:
		do_create(s, ih);
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		do_open(s, ih);
		break;
	case FUSE_STATFS: {
		struct fuse_statfs_out out = { 0 };

		out.st.bsize = 4096;
		out.st.frsize = 4096;
		out.st.namelen = 255;
		reply(s, ih->unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_FALLOCATE:	/* the kernel must refuse it before us */
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNC:
	case FUSE_ACCESS:
	case FUSE_DESTROY:
		reply(s, ih->unique, 0, NULL, 0);
		break;
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
		/*
		 * FUSE's "not implemented", which the kernel remembers, as
		 * libfuse answers; otherwise every write asks for
		 * security.capability (file_remove_privs).
		 */
		reply(s, ih->unique, -ENOSYS, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;
	default:
		reply(s, ih->unique, -EOPNOTSUPP, NULL, 0);
		break;
	}
}

static void *srv_thread(void *arg)
{
	struct srv *s = arg;
	struct fuse_in_header *ih;
	char *buf;
	ssize_t n;

	buf = malloc(BUF_SIZE);
	if (!buf)
		return NULL;
	ih = (void *)buf;
	while (!s->stop) {
		n = read(s->fd, buf, BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/* Without SYNC_INIT, /dev/fuse has no connection before mount(2). */
			if (errno == EPERM && s->no_sync_init) {
				usleep(1000);
				continue;
			}
			break;	/* ENODEV: unmounted or aborted */
		}
		if (n < (ssize_t)sizeof(*ih))
			continue;
		s->count[ih->opcode < SRV_MAX_OPCODE ? ih->opcode :
			 SRV_MAX_OPCODE]++;
		s->total++;
		handle(s, ih);
	}
	free(buf);
	return NULL;
}

static void wake(int sig)
{
	(void)sig;
}

void srv_init(struct srv *s, const char *dax_path)
{
	memset(s, 0, sizeof(*s));
	s->dax_path[0] = dax_path;
	snprintf(s->provider, sizeof(s->provider), "identity");
	s->fd = -1;
	s->dax_fd = -1;
}

/* Open /dev/fuse for a synchronous INIT and start serving it. */
int srv_open(struct srv *s)
{
	struct sigaction sa = { .sa_handler = wake };
	int err;

	/* No SA_RESTART: a signal must break the server out of read(). */
	sigaction(SIGUSR1, &sa, NULL);
	s->stop = 0;
	s->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		return errno;
	if (!s->no_sync_init && ioctl(s->fd, FUSE_DEV_IOC_SYNC_INIT))
		return errno;
	snprintf(s->dir, sizeof(s->dir), "/tmp/fuse_iomap_XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return errno;
	}
	if (s->no_thread)
		return 0;
	err = pthread_create(&s->thread, NULL, srv_thread, s);
	if (err)
		return err;
	s->running = 1;
	return 0;
}

/* Serve s->fd in the calling thread until the connection goes away. */
void srv_serve(struct srv *s)
{
	srv_thread(s);
}

/* Mount the server's connection on s->dir; returns 0 or the mount errno. */
int srv_mount_fd(struct srv *s)
{
	char opts[128];

	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", s->fd);
	if (mount("fuse_iomap", s->dir, "fuse", 0, opts))
		return errno;
	s->mounted = 1;
	return 0;
}

int srv_mount(struct srv *s)
{
	int err = srv_open(s);

	return err ? err : srv_mount_fd(s);
}

int srv_umount(struct srv *s)
{
	if (!s->mounted)
		return 0;
	if (umount2(s->dir, 0) && umount2(s->dir, MNT_DETACH))
		return errno;
	s->mounted = 0;
	return 0;
}

/* Unmount, stop the thread, close every fd: the device is free after it. */
void srv_stop(struct srv *s)
{
	struct timespec ts;
	int i;

	srv_umount(s);
	if (s->running) {
		s->stop = 1;
		for (i = 0; i < 500; i++) {
			pthread_kill(s->thread, SIGUSR1);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (!pthread_timedjoin_np(s->thread, NULL, &ts))
				break;
		}
		s->running = 0;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->dax_fd >= 0)
		close(s->dax_fd);
	s->dax_fd = -1;
	if (s->dir[0])
		rmdir(s->dir);
	s->dir[0] = '\0';
}

/* Send a notification; returns 0 or the errno the kernel gave it. */
int srv_notify(struct srv *s, int code, const void *data, size_t len)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + len,
		.error = code,
		.unique = 0,
	};
	struct iovec iov[2] = {
		{ &oh, sizeof(oh) },
		{ (void *)data, len },
	};

	return writev(s->fd, iov, 2) < 0 ? errno : 0;
}

long srv_count(struct srv *s, uint32_t opcode)
{
	return s->count[opcode < SRV_MAX_OPCODE ? opcode : SRV_MAX_OPCODE];
}

void srv_path(struct srv *s, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", s->dir, name);
}
