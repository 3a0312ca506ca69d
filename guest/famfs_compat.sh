#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# famfs's command line, driven the way famfs's own smoke tests drive it: mkfs.famfs, mount,
# mkdir -p, creat single and multi with seeds, cp -r of a tree, verify single and multi,
# getmap exit codes, fsck on the mount and on the device, logplay, umount and remount, a
# client-role mount that refuses writes, a clone that fsck finds as a cross-link; then the
# famfs-made fixture (shared/fixtures/famfs-real) served through famfsd, and a second device
# added with ADD_DAXDEV and found by uuid.  Paths are ordinary paths inside the mount.
# TAP, ending with a kselftest "# Totals:" line.

. /famfs/lib.sh
export PATH=/famfs/bin:$PATH
export FAMFS_RUNDIR=/tmp/famfs-run
DEV=/dev/dax0.0
DEV1=/dev/dax1.0
MNT=/mnt/famfs
FIX=/famfs/fixture
CLIENT_UUID=/tmp/famfs-client/system_uuid
. /famfs/tap.sh
TAP_OUT=/tmp/compat.out

mounted() { grep -q " $MNT fuse" /proc/mounts; }
famfsd_log() { sed 's/^/# famfsd: /' "$FAMFS_RUNDIR"/_mnt_famfs.log 2>/dev/null | tail -n 20; }
do_mount() # do_mount NAME [env...]: mount $DEV on $MNT
{
	name=$1
	shift
	if env "$@" famfs mount "$DEV" "$MNT" > /tmp/compat.out 2>&1 && mounted; then
		ok "$name"
	else
		sed 's/^/# /' /tmp/compat.out
		famfsd_log
		not_ok "$name"
	fi
}
do_umount()
{
	if famfs umount "$MNT" > /tmp/compat.out 2>&1 && ! mounted; then
		ok "umount ${1:-}"
	else
		sed 's/^/# /' /tmp/compat.out
		umount "$MNT" 2>/dev/null
		not_ok "umount ${1:-}"
	fi
}
same_file() { cmp "$1" "$2"; }

dax_setup && famfs_load || echo "# dax_setup/famfs_load failed"
mkdir -p "$MNT" "$FAMFS_RUNDIR" "$(dirname "$CLIENT_UUID")"
mounted && umount "$MNT"

# --- mkfs.famfs ---
t "dax0.0 in devdax mode" dax_mode devdax dax0.0
t "mkfs.famfs -f" mkfs.famfs -f "$DEV"
fails_with "mkfs.famfs over a valid superblock" "already contains a valid famfs" mkfs.famfs "$DEV"
fails_with "mkfs.famfs -k without -f" "needs --force" mkfs.famfs -k "$DEV"
t "mkfs.famfs -f -k wipes the superblock" mkfs.famfs -f -k "$DEV"
fails_with "fsck of a wiped device" "bad magic" famfs fsck "$DEV"
t "mkfs.famfs -l 16m" mkfs.famfs -l 16m "$DEV"
t "owner system uuid created" test -s /opt/famfs/system_uuid
t "fsck on the fresh device" famfs fsck "$DEV"

# --- mount, populate with ordinary paths ---
t "dax0.0 in fsdev mode" dax_mode fsdev dax0.0
fails_with "mount -F refused" "not supported" famfs mount -F "$DEV" "$MNT"
do_mount "famfs mount"
t "mkdir -p" famfs mkdir -p "$MNT/a/b/c"
t "mkdir -m -u -g" famfs mkdir -m 0700 -u 12 -g 34 "$MNT/private"
t "mkdir attributes" sh -c "[ \"\$(stat -c '%a %u %g' $MNT/private)\" = '700 12 34' ]"
t "creat -r -S (4 MiB)" famfs creat -s 4m -r -S 1 "$MNT/a/f1"
t "creat relative to the cwd" sh -c "cd $MNT/a/b && famfs creat -s 64k -r -S 2 rel"
t "creat -M x3 with seeds, -t 2" famfs creat -t 2 -M "$MNT/m1,2m,11" -M "$MNT/m2,3m,12" \
	-M "$MNT/a/b/c/m3,8k,13"
# famfs's striping rules: -B needed, buckets of at least 1 GiB, chunks a multiple of
# the allocation unit. This 1 GiB device has no room for two such buckets, so the
# striped files below use our extension --allow-small-stripes.
fails_with "creat -N without -B refused (famfs rule)" "Bucket_size (0) < 1G" \
	famfs creat -N 2 -s 4m "$MNT/refused"
fails_with "creat -B 8 on 1 GiB refused (famfs rule)" "< 1G" \
	famfs creat -N 4 -B 8 -s 4m "$MNT/refused"
fails_with "creat -C 1m refused (famfs rule)" "must be a multiple of alloc_unit" \
	famfs creat -N 2 -B 1 -C 1m -s 4m "$MNT/refused"
fails_with "cp -N without -B refused (famfs rule)" "Bucket_size (0) < 1G" \
	famfs cp -N 2 "$(command -v famfs)" "$MNT/refused"
t "creat striped -N 4 -B 8 -C 2m" famfs creat -N 4 -B 8 -C 2m --allow-small-stripes -s 16m -r -S 3 "$MNT/s4"
t "creat again with the same size" famfs creat -s 4m "$MNT/a/f1"
fails_with "creat again with another size" "exists with size" famfs creat -s 2m "$MNT/a/f1"
t "verify -f -S" famfs verify -f "$MNT/a/f1" -S 1
t "verify relative" sh -c "cd $MNT/a && famfs verify -f b/rel -S 2"
t "verify -m x3 -t 3" famfs verify -t 3 -m "$MNT/m1,11" -m "$MNT/m2,12" -m "$MNT/a/b/c/m3,13"
t "verify striped" famfs verify -f "$MNT/s4" -S 3
# famfs's byte count of a striped file is its size: the last chunk here is partial.
t "creat striped, partial last chunk" famfs creat -N 3 -C 2m --allow-small-stripes -s 7352377 -r -S 9 "$MNT/odd"
t "verify partial last chunk" famfs verify -f "$MNT/odd" -S 9
t "verify partial last chunk (mmap)" famfs --mount "$MNT" verify --mmap -S 9 odd
fails_with "verify with the wrong seed" "mismatch at offset 0" famfs verify -f "$MNT/m1" -S 12
t "chkread" famfs chkread "$MNT/s4"
t "chkread -s" famfs chkread -s "$MNT"
t "chkread -l" famfs chkread -l "$MNT"
t "flush" famfs flush "$MNT/a/f1" "$MNT/s4"

# --- cp -r of a tree, restartable ---
rm -rf /tmp/tree && mkdir -p /tmp/tree/sub/deeper
dd if=/dev/urandom of=/tmp/tree/one bs=1k count=3001 2>/dev/null
dd if=/dev/urandom of=/tmp/tree/sub/two bs=4k count=1 2>/dev/null
dd if=/dev/urandom of=/tmp/tree/sub/deeper/three bs=1k count=70 2>/dev/null
: > /tmp/tree/sub/empty
t "cp -r -t 2" famfs cp -r -t 2 /tmp/tree "$MNT/tree"
t "cp -r again (same sizes: restart)" famfs cp -r /tmp/tree "$MNT/tree"
t "cp tree: one" same_file /tmp/tree/one "$MNT/tree/one"
t "cp tree: sub/two" same_file /tmp/tree/sub/two "$MNT/tree/sub/two"
t "cp tree: sub/deeper/three" same_file /tmp/tree/sub/deeper/three "$MNT/tree/sub/deeper/three"
t "cp tree: sub/empty" same_file /tmp/tree/sub/empty "$MNT/tree/sub/empty"
t "cp SRC... DIR" famfs cp /tmp/tree/one /tmp/tree/sub/two "$MNT/a/b"
t "cp -N 2 -m 0600" famfs cp -N 2 -C 2m --allow-small-stripes -m 0600 /tmp/tree/one "$MNT/one_striped"
t "cp striped copy" same_file /tmp/tree/one "$MNT/one_striped"
echo different > /tmp/short
fails_with "cp over a file of another size" "overwrites only a file of the same size" \
	famfs cp /tmp/short "$MNT/a/b/one"

# --- getmap exit codes, fsck, logplay, check ---
code_is "getmap of a famfs file" 0 famfs getmap "$MNT/s4"
code_is "getmap -q outside famfs" 1 famfs getmap -q /tmp/short
code_is "getmap -q of a missing file" 2 famfs getmap -q "$MNT/nope"
code_is "getmap -q of a directory" 21 famfs getmap -q "$MNT/a"
t "getmap prints the striped map" sh -c "famfs getmap $MNT/s4 | grep -q 'nstrips: 4'"
t "fsck on the mount" famfs fsck "$MNT"
t "fsck -h -v -B 4 on the mount" famfs fsck -h -v -B 4 "$MNT"
t "fsck -r on the mount" famfs fsck -r "$MNT"
t "check" famfs check "$MNT"
t "logplay -n" sh -c "famfs logplay -n $MNT | grep -q 'tree/sub/deeper/three'"
t "logplay" famfs logplay "$MNT"
t "dry run creates nothing" sh -c "famfs -n creat -s 2m $MNT/dry && [ ! -e $MNT/dry ]"

# --- umount, fsck on the device, remount ---
do_umount "(owner)"
t "dax0.0 in devdax mode for fsck" dax_mode devdax dax0.0
t "fsck on the device" famfs fsck "$DEV"
t "dax0.0 in fsdev mode" dax_mode fsdev dax0.0
do_mount "remount"
t "m2 after remount" famfs verify -f "$MNT/m2" -S 12
t "tree after remount" same_file /tmp/tree/sub/deeper/three "$MNT/tree/sub/deeper/three"
do_umount "(after remount)"

# --- a client host: mounts and reads, does not write ---
do_mount "client mount" FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID
t "client: .meta/.log is 0444" sh -c "[ \"\$(stat -c %a $MNT/.meta/.log)\" = 444 ]"
t "client: .meta/.superblock is 0444" sh -c "[ \"\$(stat -c %a $MNT/.meta/.superblock)\" = 444 ]"
t "client: verify" env FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID famfs verify -f "$MNT/a/f1" -S 1
fails_with "client: creat refused" "this host is a client" \
	env FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID famfs creat -s 2m "$MNT/cl"
fails_with "client: mkdir refused" "this host is a client" \
	env FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID famfs mkdir "$MNT/cl"
fails_with "client: cp refused" "this host is a client" \
	env FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID famfs cp /tmp/short "$MNT/cl"
do_umount "(client)"

# --- clone: a cross-link fsck finds ---
do_mount "owner mount for clone"
t "owner: .meta/.log is 0644" sh -c "[ \"\$(stat -c %a $MNT/.meta/.log)\" = 644 ]"
t "clone" famfs clone "$MNT/m1" "$MNT/m1_clone"
fails_with "fsck finds the clone's cross-link" "cross-linked with log entry" famfs fsck "$MNT"
code_is "getmap of a cross-linked file: not mapped" 2 famfs getmap -q "$MNT/m1"
code_is "check: an unmapped file" 1 famfs check "$MNT"
do_umount "(clone)"

# --- the famfs-made fixture, served through famfsd ---
# It records a 4 GiB device; dax0.0 has 1 GiB: restore --shrink records 1 GiB, so the files
# inside it are served with famfs's own maps and the three striped files beyond it are
# skipped by name.
if [ -f "$FIX/meta.img.xz" ]; then
	t "fixture: decompress" sh -c "xz -dc $FIX/meta.img.xz > /tmp/meta.img"
	t "dax0.0 in devdax mode" dax_mode devdax dax0.0
	t "fixture: restore --shrink onto dax0.0" famfs restore --shrink /tmp/meta.img "$DEV"
	fails_with "fixture: fsck names the files past the device" "'data/striped_odd': extent" \
		famfs fsck "$DEV"
	t "dax0.0 in fsdev mode" dax_mode fsdev dax0.0
	do_mount "fixture: famfs mount"
	for f in one_page odd_size exact_2m a/b/c/deep data/big; do
		t "fixture: $f map as famfs has it" sh -c \
			"famfs getmap $MNT/$f > /tmp/map.yaml && cmp /tmp/map.yaml $FIX/expected-yaml/$f"
		t "fixture: $f read and mmap agree" famfs chkread "$MNT/$f"
	done
	t "fixture: odd_size has its size" sh -c "[ \$(stat -c %s $MNT/odd_size) = 3145733 ]"
	t "fixture: a/b/c/deep attributes" \
		sh -c "[ \"\$(stat -c '%a %u %g' $MNT/a/b/c/deep)\" = '444 42 43' ]"
	t "fixture: empty directory" sh -c "[ \"\$(stat -c '%a %u %g' $MNT/empty)\" = '700 1004 104' ]"
	t "fixture: striped files past the device are not served" \
		sh -c "[ ! -e $MNT/data/striped_odd ] && [ ! -e $MNT/data/striped_4x2m ]"
	fails_with "fixture: this host is a client" "this host is a client" \
		famfs mkdir "$MNT/new"
	do_umount "(fixture)"
else
	not_ok "fixture: $FIX/meta.img.xz missing (shared/ beside the clone?)"
fi

# --- a second device: ADD_DAXDEV, found by uuid at mount ---
t "dax0.0 in devdax mode" dax_mode devdax dax0.0
t "dax1.0 in devdax mode" dax_mode devdax dax1.0
t "mkfs.famfs for two devices" mkfs.famfs -f "$DEV"
d1=$(readlink -f /sys/bus/dax/devices/dax1.0)
echo "# dax1.0 in sysfs: $d1, uuid: $(cat "$d1/uuid" "$d1/../uuid" 2>/dev/null | head -n 1)"
t "adddev dax1.0" famfs --device "$DEV" adddev "$DEV1"
# Leave less than 64 MiB free on dax0.0, so that the next file lands on dax1.0.
fill=$(( $(cat /sys/bus/dax/devices/dax0.0/size) / 1048576 - 40 ))
t "fill most of dax0.0 (${fill} MiB)" famfs --device "$DEV" creat -s "${fill}m" big0
t "creat lands on dax1.0" famfs --device "$DEV" creat -s 64m on1
t "on1 is on device 1" sh -c "famfs --device $DEV getmap on1 | grep -q 'devindex: 1'"
t "fsck with two devices" famfs --device "$DEV" fsck
t "dax0.0 in fsdev mode" dax_mode fsdev dax0.0
t "dax1.0 in fsdev mode" dax_mode fsdev dax1.0
do_mount "mount finds dax1.0 by uuid"
# Re-creating a file of the same size fills it, here through the mount (device 1 is not
# reachable through dax0.0's mapping).
t "fill on1 through famfs_iomap" famfs creat -s 64m -r -S 77 "$MNT/on1"
t "on1 read from dax1.0" famfs verify -f "$MNT/on1" -S 77
t "on1 through mmap" famfs --mount "$MNT" verify --mmap -S 77 on1
do_umount "(two devices)"
# Leave the devices as dax_setup made them, for the tests that follow.
mounted && umount "$MNT"
dax_mode fsdev dax0.0 > /dev/null
dax_mode fsdev dax1.0 > /dev/null

totals
