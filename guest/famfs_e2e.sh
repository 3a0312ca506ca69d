#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# famfs end to end in the guest: famfs mkfs on /dev/dax0.0 (device_dax: the CLI maps the raw
# device), famfs mount (fsdev_dax: famfsd registers it with the famfs iomap provider), files
# created before and while mounted, checked through read() and mmap, a copy in, a remount,
# the GETMAP count, and the bad inputs.  TAP, ending with a kselftest "# Totals:" line.

. /famfs/lib.sh
export PATH=/famfs/bin:$PATH
export FAMFS_RUNDIR=/tmp/famfs-run
DEV=/dev/dax0.0
MNT=/mnt/famfs
. /famfs/tap.sh
TAP_OUT=/tmp/e2e.out
mounted() { grep -q " $MNT fuse" /proc/mounts; }
famfsd_log() { sed 's/^/# famfsd: /' "$FAMFS_RUNDIR"/_mnt_famfs.log 2>/dev/null | tail -n 20; }
do_mount()
{
	if famfs mount "$DEV" "$MNT" > /tmp/e2e.out 2>&1 && mounted; then
		ok "famfs mount"
	else
		sed 's/^/# /' /tmp/e2e.out
		famfsd_log
		not_ok "famfs mount"
	fi
}
# Unmount with famfs umount (waits for famfsd to exit); keeps its statistics.
do_umount()
{
	if famfs umount "$MNT" > /tmp/e2e.stats 2>&1 && ! mounted; then
		ok "famfs umount, famfsd exited"
	else
		sed 's/^/# /' /tmp/e2e.stats
		umount "$MNT" 2>/dev/null
		not_ok "famfs umount"
	fi
}
getmaps() { sed -n 's/^GETMAP requests served: //p' "$1"; }

# Standalone (vm.sh famfs_e2e) as well as from check.sh.
dax_setup && famfs_load || echo "# dax_setup/famfs_load failed"
mkdir -p "$MNT" "$FAMFS_RUNDIR"

# --- format and populate through the raw device ---
t "dax0.0 in devdax mode for mkfs" dax_mode devdax dax0.0
t "famfs mkfs" famfs mkfs -f "$DEV"
t "creat simple (3 MiB)" famfs -d "$DEV" creat -s 3m -r -S 11 simple
# famfs refuses -N without -B and chunks below the allocation unit (and the 1 GiB
# buckets it wants do not fit these small devices): --allow-small-stripes, our
# extension, keeps 4 KiB chunks (PTE faults) and first-fit strips for the tests.
fails_with "creat -C 4k refused (famfs: multiple of alloc_unit)" "must be a multiple of alloc_unit" \
	famfs -d "$DEV" creat -N 2 -C 4k -s 1m refused
t "creat interleaved 2 strips x 2 MiB chunks (9 MiB)" \
	famfs -d "$DEV" creat -N 2 -C 2m --allow-small-stripes -s 9m -r -S 22 il2m
t "creat interleaved 2 strips x 4 KiB chunks (1 MiB + 12 KiB)" \
	famfs -d "$DEV" creat -N 2 -C 4k --allow-small-stripes -s 1036k -r -S 33 il4k
t "mkdir dir" famfs -d "$DEV" mkdir dir
t "creat dir/small (4 KiB)" famfs -d "$DEV" creat -s 4k -r -S 55 dir/small

# --- mount and check ---
t "dax0.0 in fsdev mode for mount" dax_mode fsdev dax0.0
do_mount
verify_all()
{
	for f in "simple 11" "il2m 22" "il4k 33" "dir/small 55"; do
		set -- $f
		t "$1 through read() $2" famfs --mount "$MNT" verify -S "$2" "$1"
		t "$1 through mmap $2" famfs --mount "$MNT" verify --mmap -S "$2" "$1"
	done
}
verify_all
t "stat sizes" sh -c "[ \$(stat -c %s $MNT/il4k) = 1060864 ] && [ \$(stat -c %s $MNT/simple) = 3145728 ]"
t "ls shows the files" sh -c "ls $MNT | tr '\n' ' ' | grep -q 'dir il2m il4k simple'"
t ".meta/.log is 8 MiB" sh -c "[ \$(stat -c %s $MNT/.meta/.log) = 8388608 ]"

# --- create while mounted: appears without remount ---
t "creat while mounted (4 MiB, written through the mount)" \
	famfs --mount "$MNT" creat -s 4m -r -S 44 live
t "new file visible in ls" sh -c "ls $MNT | grep -qx live"
t "live through read()" famfs --mount "$MNT" verify -S 44 live
t "live through mmap" famfs --mount "$MNT" verify --mmap -S 44 live
t "mkdir while mounted" famfs --mount "$MNT" mkdir -p sub/deeper
t "creat interleaved in new dir" famfs --mount "$MNT" creat -N 2 -C 4k --allow-small-stripes -s 64k -r -S 66 sub/deeper/x
t "sub/deeper/x through mmap" famfs --mount "$MNT" verify --mmap -S 66 sub/deeper/x
dd if=/dev/urandom of=/tmp/host.bin bs=1024 count=3000 2>/dev/null
t "famfs cp into the mount" famfs --mount "$MNT" cp /tmp/host.bin copied
t "copied file matches (cmp)" cmp /tmp/host.bin "$MNT/copied"
t "fsck through the mount" famfs --mount "$MNT" fsck
mkdir -p /mnt/famfs2
fails_with "second mount of the mounted device" "is in use" famfs mount "$DEV" /mnt/famfs2
t "first mount still serves after the refused second" famfs --mount "$MNT" verify -S 11 simple

# --- the namespace cannot be changed through the mount ---
fails_with "touch refused" "not permitted" touch "$MNT/newfile"
fails_with "mkdir refused" "not permitted" mkdir "$MNT/newdir"
fails_with "rm refused" "not permitted" rm -f "$MNT/simple"
fails_with "truncate refused" "" sh -c "echo x > $MNT/simple"
t "simple intact after the refused truncate" famfs --mount "$MNT" verify -S 11 simple

# --- statistics ---
t "famfs stats" sh -c "famfs stats $MNT > /tmp/e2e.live; grep -q 'GETMAP requests served: [1-9]' /tmp/e2e.live"
sed 's/^/# /' /tmp/e2e.live
do_umount
g1=$(getmaps /tmp/e2e.stats)
echo "# GETMAP requests served: ${g1:-?} (first mount)"
t "GETMAPs counted" [ "${g1:-0}" -ge 7 ]

# --- remount: everything still there ---
do_mount
verify_all
t "live after remount (mmap)" famfs --mount "$MNT" verify --mmap -S 44 live
t "copied after remount" cmp /tmp/host.bin "$MNT/copied"
t "sub/deeper/x after remount" famfs --mount "$MNT" verify -S 66 sub/deeper/x
do_umount
echo "# GETMAP requests served: $(getmaps /tmp/e2e.stats) (second mount)"

# --- famfsd in the foreground, stopped with SIGTERM ---
famfs mount --foreground "$DEV" "$MNT" > /tmp/e2e.fg 2>&1 &
fg=$!
i=0
while ! mounted && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
t "famfs mount --foreground" mounted
t "il2m under the foreground famfsd (mmap)" famfs --mount "$MNT" verify --mmap -S 22 il2m
t "SIGTERM to famfsd" sh -c "kill -TERM \$(cat $FAMFS_RUNDIR/_mnt_famfs.pid)"
wait $fg
rc=$?
t "foreground famfsd exits 0 after SIGTERM" [ $rc -eq 0 ]
t "not mounted after SIGTERM" sh -c "! grep -q ' $MNT ' /proc/mounts"
t "foreground famfsd printed its statistics" grep -q "GETMAP requests served: [1-9]" /tmp/e2e.fg

# --- the data written through the mount is where the log says on the device ---
t "dax0.0 back to devdax" dax_mode devdax dax0.0
t "fsck on the raw device" famfs -d "$DEV" fsck
t "live on the raw device" famfs -d "$DEV" verify -S 44 live
t "copied on the raw device" sh -c "famfs -d $DEV logplay | grep -q copied"

# --- bad inputs ---
fails_with "device in devdax mode" \
	"dax0.0 is not bound to fsdev_dax (daxctl/ndctl or /sys/bus/dax/drivers/fsdev_dax/new_id)" \
	famfs mount "$DEV" "$MNT"
t "not mounted after the refused mount" sh -c "! grep -q ' $MNT ' /proc/mounts"
t "dax0.0 in fsdev mode" dax_mode fsdev dax0.0
fails_with "famfsd without privilege" "famfsd: mount needs CAP_SYS_RAWIO and CAP_SYS_ADMIN" \
	/famfs/bin/setpriv --reuid=65534 --regid=65534 --clear-groups famfs mount "$DEV" "$MNT"
fails_with "missing mount point" "/mnt/nonexistent" famfs mount "$DEV" /mnt/nonexistent
fails_with "not a dax device" "not a device-dax character device" famfs mount /dev/null "$MNT"

# Corrupt superblock: change one byte through the mount, then mount again.
do_mount
t "write one superblock byte through the mount" \
	sh -c "printf X | dd of=$MNT/.meta/.superblock bs=1 seek=8 count=1 conv=notrunc 2>/dev/null"
do_umount
fails_with "corrupt superblock" "crc mismatch" famfs mount "$DEV" "$MNT"
t "not mounted after the corrupt superblock" sh -c "! grep -q ' $MNT ' /proc/mounts"

# Unformatted device: format, then zero the superblock through the mount.
t "devdax for mkfs" dax_mode devdax dax0.0
t "famfs mkfs again" famfs mkfs -f "$DEV"
t "fsdev for mount" dax_mode fsdev dax0.0
do_mount
t "zero the superblock through the mount" \
	dd if=/dev/zero of="$MNT/.meta/.superblock" bs=4096 count=1 conv=notrunc
do_umount
fails_with "unformatted device" "not a famfs file system" famfs mount "$DEV" "$MNT"
t "not mounted after the unformatted device" sh -c "! grep -q ' $MNT ' /proc/mounts"
t "no famfsd left" sh -c "! pidof famfsd"

totals
