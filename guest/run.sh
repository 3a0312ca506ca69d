#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo (make run): famfs on emulated pmem, mounted through famfsd and famfs_iomap; files
# made, copied, read and mapped, with what happened printed at each step.
. /famfs/lib.sh
export PATH=/famfs/bin:$PATH
export FAMFS_RUNDIR=/tmp/famfs-run
DEV=/dev/dax0.0
MNT=/mnt/famfs
T=/sys/kernel/debug/tracing

step() { echo; echo "### $*"; }
run() { echo "\$ $*"; "$@" || { echo "demo: '$*' failed"; exit 1; }; }
# faults CMD...: run CMD and count the DAX faults it took, PMD (2 MiB) and PTE (4 KiB).
faults()
{
	echo 1 > $T/events/fs_dax/dax_pmd_fault_done/enable
	echo 1 > $T/events/fs_dax/dax_pte_fault_done/enable
	: > $T/trace
	run "$@"
	pmd=$(grep -c 'dax_pmd_fault_done.*NOPAGE' $T/trace)
	fb=$(grep -c 'dax_pmd_fault_done.*FALLBACK' $T/trace)
	pte=$(grep -c 'dax_pte_fault_done' $T/trace)
	echo 0 > $T/events/fs_dax/enable
	echo "  faults: $pmd PMD (2 MiB), $pte PTE (4 KiB), $fb PMD attempts fell back to PTE"
}

step "emulated pmem (memmap=) turned into device-dax, 2 MiB aligned"
dax_setup || exit 1
for d in /sys/bus/dax/devices/dax*; do
	echo "$(basename $d): $(($(cat $d/size) >> 20)) MiB, align $(($(cat $d/align) >> 10)) KiB"
done

step "load famfs_iomap.ko: the provider \"famfs\" for FUSE iomap-DAX"
famfs_load || exit 1
dmesg | grep -i 'famfs_fmap\|famfs_iomap' | grep -v '^\[.*\]     ' | tail -n 3

step "format /dev/dax0.0 (device_dax mode: the CLI writes the raw device)"
dax_mode devdax dax0.0 || exit 1
run famfs mkfs -f $DEV
run famfs -d $DEV creat -s 8m -r -S 1 simple
run famfs -d $DEV creat -N 2 -C 2m --allow-small-stripes -s 16m -r -S 2 striped_2m
run famfs -d $DEV creat -N 4 -C 4k --allow-small-stripes -s 1m -r -S 3 striped_4k
run famfs -d $DEV mkdir docs

step "mount through famfsd (fsdev_dax mode: famfsd hands the device to the kernel once)"
dax_mode fsdev dax0.0 || exit 1
mkdir -p $MNT $FAMFS_RUNDIR
run famfs mount $DEV $MNT
run ls -l $MNT
run famfs --mount $MNT getmap striped_2m

step "copy a file in while mounted: it appears without a remount"
dd if=/dev/urandom of=/tmp/report.bin bs=1k count=2500 2>/dev/null
run famfs --mount $MNT cp /tmp/report.bin docs/report.bin
run cmp /tmp/report.bin $MNT/docs/report.bin
echo "  docs/report.bin: identical to the source"

step "read every file through read(2): no request reaches famfsd"
for f in "simple 1" "striped_2m 2" "striped_4k 3"; do
	set -- $f
	run famfs --mount $MNT verify -S $2 $1
done

step "map every file and read it through the mapping"
faults famfs --mount $MNT verify --mmap -S 1 simple
faults famfs --mount $MNT verify --mmap -S 2 striped_2m
faults famfs --mount $MNT verify --mmap -S 3 striped_4k

step "what famfsd and the module saw"
famfs stats $MNT
cat /sys/kernel/debug/famfs_iomap/stats
run famfs umount $MNT
