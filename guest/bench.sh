#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench, guest side: the same 256 MiB of emulated pmem measured three ways in one boot:
# a famfs file through famfs_iomap, the raw device-dax device, and a file on ext4 -o dax.
# Prints the raw numbers, then the ratios.  Under TCG only the ratios mean anything.
. /famfs/lib.sh

MIB=${BENCH_MIB:-256}
out=/tmp/bench.txt
: > $out

dax_setup && famfs_load || exit 1

echo "### famfs file on dax0.0 (fsdev_dax), through famfs_iomap"
dax_bench --famfs famfs /dev/dax0.0 $MIB | tee -a $out || exit 1

echo "### raw /dev/dax0.0 (device_dax)"
dax_mode devdax dax0.0 || exit 1
dax_bench devdax /dev/dax0.0 $MIB | tee -a $out || exit 1

echo "### ext4 -o dax on the same region (namespace0.0 in fsdax mode)"
if ! ndctl create-namespace --force --mode=fsdax --map=mem --reconfig=namespace0.0 \
		>/tmp/ndctl.log 2>&1; then
	cat /tmp/ndctl.log
	exit 1
fi
mkdir -p /mnt/ext4
/usr/bin/mke2fs -q -t ext4 -F -b 4096 -E stride=512,stripe_width=512 /dev/pmem0 || exit 1
mount -t ext4 -o dax /dev/pmem0 /mnt/ext4 || exit 1
dd if=/dev/zero of=/mnt/ext4/bench bs=1M count=$MIB 2>/dev/null && sync
dax_bench ext4 /mnt/ext4/bench $MIB | tee -a $out || exit 1
umount /mnt/ext4

echo
echo "### ratios (famfs / other; below 1 means famfs is faster)"
awk '
	{ v[$1 " " $2] = $3 }
	END {
		printf "%-14s famfs/devdax %.2f   famfs/ext4 %.2f\n", "pmd_fault_ns",
			v["famfs pmd_fault_ns"] / v["devdax pmd_fault_ns"],
			v["famfs pmd_fault_ns"] / v["ext4 pmd_fault_ns"]
		printf "%-14s famfs/ext4 %.2f   (device-dax at 2 MiB alignment has no 4 KiB faults)\n",
			"pte_fault_ns", v["famfs pte_fault_ns"] / v["ext4 pte_fault_ns"]
		printf "%-14s famfs/ext4 %.2f\n", "read_gbps",
			v["famfs read_gbps"] / v["ext4 read_gbps"]
	}' $out
