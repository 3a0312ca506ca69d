# SPDX-License-Identifier: GPL-2.0
# Helpers for the test guest; sourced by /init and the mode scripts.

# The test programs overwrite, rebind and poison only the DAX devices they are allowed to
# (selftests/fuse_iomap/iomap_test_util.h): in this guest they are the emulated pmem
# devices dax_setup makes, and memory failures may be injected into them.
export FUSE_IOMAP_DAX_DEVS="dax0.0 dax1.0"
export FUSE_IOMAP_POISON_OK=1

# What the kernel log must never show: BUG/WARN, oopses, KASAN and UBSAN reports, lockdep
# splats ("INFO: possible ..."), sleeping in atomic context, RCU stalls, hung tasks, leaks.
KLOG_BAD='BUG:|WARNING:|Oops|KASAN:|UBSAN:|Call Trace|INFO: |sleeping function called from invalid context|rcu: .*(stall|detected)|blocked for more than|suspected memory leak'

# klog_clean: succeed if the kernel log has none of KLOG_BAD; otherwise print what matched.
# Between its markers, fault_inject_debug_test injects allocation failures, which print their
# stack ("Call Trace") on purpose: there every other pattern still counts.
klog_clean()
{
	bad_inj=$(echo "$KLOG_BAD" | sed 's/|Call Trace//')
	dmesg | awk '/fault_inject_debug_test: begin/ { inj = 1 } !inj { print }
		/fault_inject_debug_test: end/ { inj = 0 }' > /tmp/dmesg.out
	dmesg | awk '/fault_inject_debug_test: begin/ { inj = 1 } inj { print }
		/fault_inject_debug_test: end/ { inj = 0 }' > /tmp/dmesg.inj
	if grep -qE "$KLOG_BAD" /tmp/dmesg.out || grep -qE "$bad_inj" /tmp/dmesg.inj; then
		grep -E -A20 "$KLOG_BAD" /tmp/dmesg.out | head -n 80
		grep -E -A20 "$bad_inj" /tmp/dmesg.inj | head -n 80
		return 1
	fi
}

# Turn the emulated pmem regions into /dev/dax0.0 (1 GiB region) and /dev/dax1.0 (512 MiB):
# devdax mode, 2 MiB alignment, bound to fsdev_dax (the mode in which filesystems can hold it).
# On a CXL guest (famfs.cxl=1), dax0.0 is the DAX device of a CXL RAM region instead
# (cxl_setup).
dax_setup()
{
	if grep -q 'famfs\.cxl=1' /proc/cmdline; then
		cxl_setup
		return
	fi
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

# cxl_setup: make a RAM region of the CXL type-3 device mem0 behind the root decoder
# decoder0.0 (QEMU's fixed memory window) and bind its DAX device, dax0.0, to fsdev_dax.
# The cxl tool does it when it can (ndctl 78 and later); Debian 12's (ndctl 76) refuses RAM
# regions ("region type 'ram' not supported yet"), and then the same steps are written to
# the kernel's sysfs interface (cxl_region_sysfs).  The dax bus does not probe drivers on its
# own meanwhile: a RAM region's DAX device would otherwise go to dax_kmem, which adds the
# memory to the page allocator.  CXL_SETUP_MS says how long it took, from the first look for
# mem0 to dax0.0 bound; CXL_HOW says which way the region was made.
cxl_setup()
{
	[ -e /sys/bus/dax/devices/dax0.0 ] && return 0
	c0=$(tr -d . < /proc/uptime | cut -d' ' -f1)
	echo 0 > /sys/bus/dax/drivers_autoprobe
	# The CXL drivers probe asynchronously.
	i=0
	while { [ ! -e /sys/bus/cxl/devices/mem0 ] || [ ! -e /sys/bus/cxl/devices/decoder0.0 ] ||
			! ls -d /sys/bus/cxl/devices/endpoint* > /dev/null 2>&1; } && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -e /sys/bus/cxl/devices/mem0 ]; then
		echo "cxl_setup: no CXL memory device mem0"
		ls /sys/bus/cxl/devices 2>&1
		return 1
	fi
	# ndctl 76 exits 0 having "created 0 regions": look for the region.
	if cxl create-region -m -t ram -d decoder0.0 -w 1 mem0 > /tmp/cxl.log 2>&1 &&
			ls -d /sys/bus/cxl/devices/region* > /dev/null 2>&1; then
		CXL_HOW="cxl create-region"
	else
		sed 's/^/# /' /tmp/cxl.log
		CXL_HOW="sysfs (cxl create-region refused)"
		cxl_region_sysfs || return 1
	fi
	i=0
	while [ ! -e /sys/bus/dax/devices/dax0.0 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e /sys/bus/dax/devices/dax0.0 ] || { echo "cxl_setup: no dax0.0 after the region"; return 1; }
	dax_mode fsdev dax0.0 || return 1
	echo 1 > /sys/bus/dax/drivers_autoprobe
	CXL_SETUP_MS=$(( $(tr -d . < /proc/uptime | cut -d' ' -f1) - c0 ))0
}

# cxl_region_sysfs: what cxl create-region -t ram -w 1 does, through sysfs: a RAM region in
# the root decoder decoder0.0, the whole RAM partition of mem0 through its endpoint's first
# decoder, committed and bound to the cxl_region driver.
cxl_region_sysfs()
{
	C=/sys/bus/cxl/devices
	ep=$(basename "$(readlink -f "$C"/endpoint* | head -n 1)")
	dec=decoder${ep#endpoint}.0
	size=$(($(cat $C/mem0/ram/size)))
	region=$(cat $C/decoder0.0/create_ram_region) &&
	echo "$region" > $C/decoder0.0/create_ram_region &&
	echo 1 > $C/$region/interleave_ways &&
	cat $C/decoder0.0/interleave_granularity > $C/$region/interleave_granularity &&
	echo ram > $C/$dec/mode &&
	echo $size > $C/$dec/dpa_size &&
	echo $size > $C/$region/size &&
	echo $dec > $C/$region/target0 &&
	echo 1 > $C/$region/commit &&
	{ [ -e $C/$region/driver ] || echo "$region" > /sys/bus/cxl/drivers/cxl_region/bind; } || {
		echo "cxl_region_sysfs: making $region of $dec ($size bytes) failed"
		return 1
	}
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

# add_totals NAME OUT RC: add the kselftest "# Totals:" line of the output file OUT to the
# caller's pass and fail (skipped tests and errors count as failed), and report one failure
# more, with the caller's report(), when OUT has no totals or the test exited non-zero without
# reporting a failure.
add_totals()
{
	totals=$(grep '^# Totals:' "$2" | tail -n 1)
	if [ -z "$totals" ]; then
		report "not ok" "$1" "no totals, exit status $3"
		return
	fi
	p=$(echo "$totals" | sed 's/.* pass:\([0-9]*\).*/\1/')
	f=$(echo "$totals" | sed 's/.* fail:\([0-9]*\).*/\1/')
	s=$(echo "$totals" | sed 's/.* skip:\([0-9]*\).*/\1/')
	e=$(echo "$totals" | sed 's/.* error:\([0-9]*\).*/\1/')
	pass=$((pass + p))
	fail=$((fail + f + s + e))
	if [ "$3" -ne 0 ] && [ $((f + s + e)) -eq 0 ]; then
		report "not ok" "$1" "exit status $3"
	fi
}
