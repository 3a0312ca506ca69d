#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench, guest side: ROUNDS rounds in one boot, the systems interleaved in each round
# (round r: famfs, famfs-il, devdax2m, devdax4k, ext4, fuse; then round r+1), all on the same
# emulated pmem (namespace0.0, /dev/dax0.0; famfs-il also /dev/dax1.0):
#
#   famfs     a famfs file, one simple extent, through famfs_iomap (dax0.0 on fsdev_dax)
#   famfs-il  a famfs file interleaved over dax0.0 and dax1.0 in 2 MiB chunks
#   devdax2m  raw device-dax, 2 MiB alignment (device_dax; no 4 KiB faults, no read(2))
#   devdax4k  raw device-dax, 4 KiB alignment (namespace reconfigured with ndctl)
#   ext4      a file on ext4 -o dax (namespace in fsdax mode, /dev/pmem0)
#   fuse      plain FUSE without DAX: page cache, reads served by the test server
#
# Each result is one line "BENCH ROUND SYSTEM OP VALUE UNIT" (bench/dax_bench.c); the host
# (scripts/bench.sh) turns them into a table, a CSV and a chart.  Settings come from the
# environment or, in the VM, from /famfs/bin/famfs-bench-env, written by scripts/bench.sh:
# BENCH_MIB (128), BENCH_ROUNDS (5), BENCH_SYSTEMS.
#
# Without a VM (real hardware; scripts/bench.sh DEV=/dev/daxX.Y): BENCH_DEV is the device
# (its contents are overwritten), BENCH_DEV2 an optional second one for famfs-il, BENCH_PMEM
# an optional fsdax block device for ext4 (mkfs'd), BENCH_MODULE the famfs_iomap.ko to load.
# Namespaces are then never reconfigured: device-dax is measured at the device's own alignment.
here=$(dirname "$0")
if [ -f /famfs/lib.sh ] && [ -z "${BENCH_DEV:-}" ]; then
	. /famfs/lib.sh
else
	. "$here/lib.sh"
fi
[ -f /famfs/bin/famfs-bench-env ] && [ -z "${BENCH_DEV:-}" ] && . /famfs/bin/famfs-bench-env

MIB=${BENCH_MIB:-128}
ROUNDS=${BENCH_ROUNDS:-5}
status=0

note() { echo "# $*"; }

if [ -n "${BENCH_DEV:-}" ]; then
	host=1
	DEV0=$BENCH_DEV
	DEV1=${BENCH_DEV2:-}
	d0=$(basename "$DEV0")
	align=$(cat "/sys/bus/dax/devices/$d0/align" 2>/dev/null || echo 2097152)
	[ "$align" -ge 2097152 ] && devsys=devdax2m || devsys=devdax4k
	SYSTEMS=${BENCH_SYSTEMS:-famfs ${DEV1:+famfs-il} $devsys ${BENCH_PMEM:+ext4} fuse}
else
	host=0
	DEV0=/dev/dax0.0
	DEV1=/dev/dax1.0
	d0=dax0.0
	SYSTEMS=${BENCH_SYSTEMS:-famfs famfs-il devdax2m devdax4k ext4 fuse}
fi

# The mode of namespace0.0 (VM only): devdax 2M, devdax 4K or fsdax.
ns0=2M
ns_reconfig()
{
	want=$1
	[ "$ns0" = "$want" ] && return 0
	[ $host = 1 ] && { note "cannot reconfigure namespaces on a host"; return 1; }
	case "$want" in
	2M|4K) args="--mode=devdax --align=$want" ;;
	fsdax) args="--mode=fsdax --map=mem" ;;
	esac
	# shellcheck disable=SC2086
	if ! ndctl create-namespace --force $args --reconfig=namespace0.0 \
			>/tmp/ndctl.log 2>&1; then
		cat /tmp/ndctl.log
		return 1
	fi
	ns0=$want
	if [ "$want" != fsdax ]; then
		d0=$(sed -n 's/.*"chardev":"\(dax[0-9.]*\)".*/\1/p' /tmp/ndctl.log | head -n 1)
		d0=${d0:-dax0.0}
		DEV0=/dev/$d0
	fi
}

module_load()
{
	if [ -n "${BENCH_MODULE:-}" ]; then
		[ -d /sys/module/famfs_iomap ] || insmod "$BENCH_MODULE"
	else
		famfs_load
	fi
}

# run ROUND SYSTEM dax_bench-arguments...: the results, "BENCH ROUND SYSTEM OP VALUE UNIT".
run()
{
	r=$1
	shift
	if ! BENCH_ROUND=$r dax_bench "$@"; then
		note "$2 round $r: dax_bench failed"
		status=1
	fi
}

# bench_system ROUND SYSTEM: bring the device into the system's mode, then measure.
bench_system()
{
	r=$1
	s=$2
	case "$s" in
	famfs|famfs-il)
		[ $s = famfs-il ] && [ -z "$DEV1" ] && { note "famfs-il needs two devices"; return 1; }
		ns_reconfig 2M && dax_mode fsdev "$d0" || return 1
		if [ $s = famfs ]; then
			run "$r" famfs "$s" "$MIB" "$DEV0"
		else
			dax_mode fsdev "$(basename "$DEV1")" || return 1
			run "$r" famfs "$s" "$MIB" "$DEV0" "$DEV1"
		fi
		;;
	devdax2m|devdax4k)
		if [ $host = 0 ]; then
			if [ $s = devdax2m ]; then ns_reconfig 2M; else ns_reconfig 4K; fi ||
				return 1
		fi
		dax_mode devdax "$d0" || return 1
		run "$r" file "$s" "$MIB" "$DEV0"
		;;
	ext4)
		pmem=${BENCH_PMEM:-/dev/pmem0}
		[ $host = 1 ] || ns_reconfig fsdax || return 1
		mkdir -p /mnt/ext4
		# e2fsprogs' mke2fs (the guest's busybox has one without -t).
		mkfs=/usr/bin/mke2fs
		[ -x $mkfs ] || mkfs=mke2fs
		$mkfs -q -t ext4 -F -b 4096 -E stride=512,stripe_width=512 "$pmem" || return 1
		mount -t ext4 -o dax "$pmem" /mnt/ext4 || return 1
		if dd if=/dev/zero of=/mnt/ext4/bench bs=1M count="$MIB" 2>/dev/null && sync; then
			run "$r" file "$s" "$MIB" /mnt/ext4/bench
		else
			note "ext4: could not write the file"
			status=1
		fi
		umount /mnt/ext4
		;;
	fuse)
		run "$r" fuse "$s" "$MIB"
		;;
	*)
		note "unknown system $s"
		return 1
		;;
	esac
}

if [ $host = 0 ]; then
	dax_setup || exit 1
fi
module_load || exit 1
# make profile names the module's functions from these (bench/profile.py).
[ -n "${BENCH_PROFILE:-}" ] && grep '\[famfs_iomap\]' /proc/kallsyms
echo "BENCH-META mib=$MIB rounds=$ROUNDS systems=$(echo $SYSTEMS | tr ' ' ,)"
r=1
while [ $r -le "$ROUNDS" ]; do
	for s in $SYSTEMS; do
		if ! bench_system $r "$s"; then
			note "$s round $r: setup failed"
			status=1
		fi
	done
	r=$((r + 1))
done
# Anything the kernel complained about while measuring.
dmesg | grep -E 'WARNING|BUG|Oops|call trace' | head -n 20 | sed 's/^/# kernel: /'
exit $status
