/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw /dev/fuse server for the FUSE iomap-DAX tests: one directory with a
 * few regular files whose data lives on DAX devices.  By default the files
 * are FILE_A, FILE_B and FILE_C on one device, mapped by the "identity" test
 * provider (file offset X is device offset X); a test may instead give its
 * own files with the map blob of each, its provider and up to
 * SRV_MAX_DEVICES devices.  It counts every request it receives and
 * misbehaves on demand.
 */
#ifndef FUSE_IOMAP_SERVER_H
#define FUSE_IOMAP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <linux/fuse.h>

#define SRV_MAX_OPCODE		64	/* bucket for anything larger */
#define SRV_MAX_PROBES		4
#define SRV_MAX_DEVICES		4

/* Files of the root directory (inode numbers from 2). */
#define FILE_A		"a"		/* 4 MiB */
#define FILE_B		"b"		/* 2 MiB + 12 KiB: PMD then PTEs */
#define FILE_C		"c"		/* 4 MiB, a second file */
#define FILE_A_SIZE	(4UL << 20)
#define FILE_B_SIZE	((2UL << 20) + (12UL << 10))
#define FILE_C_SIZE	(4UL << 20)

/* A regular file of the root directory; its inode number is its index + 2. */
struct srv_file {
	const char *name;
	uint64_t size;		/* size attribute */
	const void *blob;	/* map sent at GETMAP; NULL: an identity map */
	uint32_t blob_len;
	uint32_t mode;		/* permission bits; 0: 0644 */
	uint32_t base_mib;	/* identity map: where on the device it starts */
	int plain;		/* no FUSE_ATTR_IOMAP_DAX: page cache, READ */
};

/* The map blob of the "identity" test provider. */
struct identity_map {
	uint32_t dev;
	uint32_t base_mib;	/* file offset X is device offset base + X */
	uint64_t size;
};

/* What the server puts in its FUSE_IOMAP_DAX_GETMAP identity map replies. */
enum srv_map_mode {
	MAP_OK,		/* a valid identity map */
	MAP_BAD_DEVICE,	/* device index == ndevices */
	MAP_TOO_BIG,	/* file_size beyond the end of the device */
	MAP_SHORT,	/* a blob shorter than the provider's map */
	MAP_ERROR,	/* an error reply (srv.map_error), for blobs too */
	MAP_HUGE,	/* a map size above FUSE_IOMAP_DAX_MAP_MAX */
	MAP_GROWS,	/* always a little more than the kernel offers */
	MAP_PROBE_BIGGER, /* probe: "2 pages"; then the 16-byte map */
	MAP_PROBE_SMALLER, /* probe: "2 pages"; then 3 pages, past the offer */
	MAP_CHANGES,	/* probe: "2 pages"; then a map of half the file */
	MAP_SIZE_HIGH,	/* header size 8 bytes more than the map sent */
	MAP_SIZE_LOW,	/* header size 8 bytes less than the map sent */
	MAP_ZERO,	/* header size 0, no map */
	MAP_PADDING,	/* header padding not zero */
	MAP_SWAP,	/* hold a GETMAP; answer it and the next crosswise */
};

/* How the server spoils the reply carrying a map (then sends it right). */
enum srv_reply_mode {
	REPLY_OK,
	REPLY_UNKNOWN_UNIQUE,	/* first to a unique nothing waits for */
	REPLY_TWICE,		/* the reply, then the same again */
	REPLY_LEN_LONG,		/* header len 8 more than written */
	REPLY_LEN_SHORT,	/* header len 8 less than written */
	REPLY_ERR_POSITIVE,	/* error +EIO */
	REPLY_ERR_RANGE,	/* error -4096, below -512 */
	REPLY_ERR_PAYLOAD,	/* error -EIO with the map attached */
};

/* How the server spoils its FUSE_IOMAP_DAX_CONFIG reply. */
enum srv_config_mode {
	CONFIG_OK,
	CONFIG_NO_DEVICES,	/* ndevices == 0 */
	CONFIG_TOO_MANY,	/* ndevices > FUSE_IOMAP_DAX_MAX_DEVICES */
	CONFIG_LONG_NAME,	/* provider name without a NUL */
	CONFIG_BAD_NAME,	/* provider name that is no module name */
	CONFIG_8BIT_NAME,	/* provider name with a Latin-1 letter */
	CONFIG_HANG,		/* never answer */
	CONFIG_DUP_ID,		/* device 0's backing id listed twice */
	CONFIG_DUP_DEVICE,	/* device 0 registered again, listed last */
	CONFIG_TWICE,		/* the reply, then the same again */
};

/* What the server says about a file's mode in open replies. */
enum srv_open_mode {
	OPEN_AS_INODE,		/* FOPEN_IOMAP_DAX for iomap-DAX files only */
	OPEN_ALWAYS_IOMAP,	/* FOPEN_IOMAP_DAX for every file */
	OPEN_NEVER_IOMAP,	/* FOPEN_IOMAP_DAX for none */
};

struct srv {
	/* Set by the test before srv_mount(). */
	/* Devices to register at IOMAP_CONFIG, in device table order. */
	const char *dax_path[SRV_MAX_DEVICES];
	char provider[FUSE_IOMAP_DAX_PROVIDER_MAX];
	const struct srv_file *files;	/* NULL: FILE_A, FILE_B, FILE_C */
	unsigned int nfiles;
	int id_delta;			/* added to the backing id in the reply */
	int no_iomap;			/* do not accept FUSE_IOMAP_DAX at INIT */
	int insist_iomap;		/* accept it even if not offered */
	int config_error;		/* if set, IOMAP_CONFIG fails with it */
	int config_mode;		/* enum srv_config_mode */
	const char *probe[SRV_MAX_PROBES]; /* BACKING_OPEN these at CONFIG */
	int probe_unpriv;		/* ... and the device without caps */
	const char *create_as;		/* CREATE answers with this file */
	int passthrough;		/* negotiate FUSE_PASSTHROUGH ... */
	int passthrough_dax_id;		/* ... and name a spare DAX id in OPEN */
	int spare_dax_id;		/* that id: one not in the table, or -errno */
	const char *config_pt_path;	/* list this passthrough id at CONFIG */
	const char *pt_iomap_path;	/* passthrough id for iomap-DAX opens */
	int pt_iomap_id;		/* its id, or -errno */
	atomic_int getmap_delay_ms;	/* sleep before answering GETMAP */
	int no_sync_init;		/* skip FUSE_DEV_IOC_SYNC_INIT */
	int no_thread;			/* srv_open() starts no thread: srv_serve() */
	int foreign_id;			/* list this id as device 0 at CONFIG */
	const char *spare_dax_path;	/* BACKING_OPEN it at CONFIG: spare_dax_id */
	int close_after_config;		/* BACKING_CLOSE the listed ids after it */
	uint32_t attr_type;		/* S_IFMT of files in attributes; 0: S_IFREG */
	int gen_delta;			/* added to the generation of entries */

	/* May be changed while mounted. */
	atomic_int map_mode;		/* enum srv_map_mode */
	atomic_int map_error;
	atomic_int open_mode;		/* enum srv_open_mode */
	atomic_int attr_flip;		/* flip FUSE_ATTR_IOMAP_DAX in replies */
	atomic_int_least64_t attr_size_delta; /* added to the size attribute */
	atomic_uint_least64_t attr_mtime;	/* mtime attribute */
	atomic_int no_cache;		/* entries and attributes valid 0 s */
	atomic_int reply_mode;		/* enum srv_reply_mode */

	/* Results. */
	atomic_ulong count[SRV_MAX_OPCODE + 1];
	atomic_ulong total;
	atomic_int fh_mismatch;	/* GETMAP carried an unknown fh */
	atomic_uint_least32_t getmap_offer;	/* size offered by the last GETMAP */
	atomic_ulong getmap_short; /* replies with the map size only */
	atomic_uint_least32_t setattr_valid;	/* FATTR_* of the last SETATTR */
	atomic_uint_least32_t setattr_mode;	/* its mode */
	uint32_t init_minor;
	uint64_t init_flags;		/* flags offered by the kernel */
	int backing_res;		/* id of the first device, or -errno */
	int probe_res[SRV_MAX_PROBES];	/* id or -errno */
	int unpriv_res;
	atomic_int reply_err;		/* errno of the last (spoiled) map reply */
	atomic_int reply2_err;		/* errno of the reply sent after it */
	atomic_int config_dup_err;	/* errno of CONFIG_TWICE's second reply */
	atomic_int close_res;		/* close_after_config: 0 or errno */
	atomic_ulong held;	/* MAP_SWAP: GETMAPs held */

	/* Private. */
	int fd;
	pthread_t thread;
	int running;
	atomic_int stop;
	int dax_fd;			/* the first device, during CONFIG */
	atomic_uint_least64_t next_fh;
	char dir[64];
	int mounted;
	uint64_t held_unique;		/* MAP_SWAP: the held request */
	uint64_t held_ino;
};

void srv_init(struct srv *s, const char *dax_path);
int srv_open(struct srv *s);
int srv_mount(struct srv *s);
int srv_mount_fd(struct srv *s);
int srv_umount(struct srv *s);
void srv_stop(struct srv *s);
void srv_serve(struct srv *s);
long srv_count(struct srv *s, uint32_t opcode);
int srv_notify(struct srv *s, int code, const void *data, size_t len);
void srv_path(struct srv *s, const char *name, char *buf, size_t len);

#endif /* FUSE_IOMAP_SERVER_H */
