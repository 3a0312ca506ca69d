# SPDX-License-Identifier: GPL-2.0
# Helpers for the test guest; sourced by /init and the mode scripts.

# What the kernel log must never show: BUG/WARN, oopses, KASAN and UBSAN reports, lockdep
# splats ("INFO: possible ..."), sleeping in atomic context, RCU stalls, hung tasks, leaks.
KLOG_BAD='BUG:|WARNING:|Oops|KASAN:|UBSAN:|Call Trace|INFO: |sleeping function called from invalid context|rcu: .*(stall|detected)|blocked for more than|suspected memory leak'

# klog_clean: succeed if the kernel log has none of KLOG_BAD; otherwise print what matched.
klog_clean()
{
	if dmesg | grep -qE "$KLOG_BAD"; then
		dmesg | grep -E -A20 "$KLOG_BAD" | head -n 80
		return 1
	fi
}

# Turn the emulated pmem regions into /dev/dax0.0 (1 GiB region) and /dev/dax1.0 (512 MiB):
# devdax mode, 2 MiB alignment, bound to fsdev_dax (the mode in which filesystems can hold it).
dax_setup()
{
	for r in 0 1; do
		[ -e /dev/dax$r.0 ] && continue
		if ! ndctl create-namespace --force --mode=devdax --align=2M \
				--reconfig=namespace$r.0 >/tmp/ndctl.log 2>&1; then
			cat /tmp/ndctl.log
			echo "dax_setup: ndctl create-namespace namespace$r.0 failed"
			return 1
		fi
		dax_mode fsdev dax$r.0 || return 1
	done
}

# dax_mode fsdev|devdax [device]: bind the dax device to fsdev_dax or device_dax.
dax_mode()
{
	want=$1
	dev=${2:-dax0.0}
	case "$want" in
	fsdev) drv=fsdev_dax ;;
	devdax) drv=device_dax ;;
	*) echo "dax_mode: unknown mode $want"; return 1 ;;
	esac
	cur=$(basename "$(readlink /sys/bus/dax/devices/$dev/driver 2>/dev/null)" 2>/dev/null)
	[ "$cur" = "$drv" ] && return 0
	[ -n "$cur" ] && echo "$dev" > "/sys/bus/dax/drivers/$cur/unbind"
	echo "$dev" > "/sys/bus/dax/drivers/$drv/new_id" 2>/dev/null
	cur=$(basename "$(readlink /sys/bus/dax/devices/$dev/driver 2>/dev/null)" 2>/dev/null)
	if [ "$cur" != "$drv" ]; then
		echo "$dev" > "/sys/bus/dax/drivers/$drv/bind" 2>/dev/null
		cur=$(basename "$(readlink /sys/bus/dax/devices/$dev/driver 2>/dev/null)" 2>/dev/null)
	fi
	if [ "$cur" != "$drv" ]; then
		echo "dax_mode: $dev could not be bound to $drv (driver now: ${cur:-none})"
		return 1
	fi
	# devtmpfs creates the node asynchronously.
	i=0
	while [ ! -e "/dev/$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "/dev/$dev" ] || { echo "dax_mode: /dev/$dev did not appear"; return 1; }
}

# Load the module and report the KUnit results it printed.
famfs_load()
{
	[ -d /sys/module/famfs_iomap ] && return 0
	if ! insmod /famfs/famfs_iomap.ko; then
		echo "famfs_load: insmod famfs_iomap.ko failed"
		dmesg | tail -n 20
		return 1
	fi
}

# Load the test modules shipped in /famfs (every .ko but famfs_iomap.ko, which famfs_load loads).
test_modules_load()
{
	for ko in /famfs/*.ko; do
		[ -f "$ko" ] || continue
		name=$(basename "$ko" .ko | tr - _)
		[ "$name" = famfs_iomap ] && continue
		[ -d "/sys/module/$name" ] && continue
		if ! insmod "$ko"; then
			echo "test_modules_load: insmod $ko failed"
			dmesg | tail -n 20
			return 1
		fi
	done
}
