#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# famfs on CXL memory (scripts/vm.sh with VM_CXL=1): the cxl tool makes a RAM region of QEMU's
# cxl-type3 device, its DAX device (dax0.0) is bound to fsdev_dax, and the famfs end-to-end
# test (famfs_e2e.sh) runs on it.  The kernel log must stay clean.  Prints the tests' TAP and
# "GUEST-TOTALS passed=N failed=N".

. /famfs/lib.sh
pass=0
fail=0
report() # report <ok|not ok> <name> [detail]
{
	if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	echo "$1 - $2${3:+ # $3}"
}

echo "# CXL devices: $(ls /sys/bus/cxl/devices 2>/dev/null | tr '\n' ' ')"
if cxl_setup; then
	report ok "cxl: RAM region of mem0 made, dax0.0 bound to fsdev_dax"
	echo "# cxl: region made with $CXL_HOW, ready ${CXL_SETUP_MS} ms after the first look for mem0, $(cut -d' ' -f1 /proc/uptime) s after boot"
	r=$(basename "$(readlink -f /sys/bus/dax/devices/dax0.0/..)" 2>/dev/null)
	echo "# cxl: dax0.0: $(($(cat /sys/bus/dax/devices/dax0.0/size) >> 20)) MiB, align $(($(cat /sys/bus/dax/devices/dax0.0/align) >> 10)) KiB, parent $r, target node $(cat /sys/bus/dax/devices/dax0.0/target_node 2>/dev/null)"
	cxl list -R 2>/dev/null | tr -d '\n' | sed 's/^/# cxl list -R: /'
	echo
else
	report "not ok" "cxl: RAM region of mem0 made, dax0.0 bound to fsdev_dax"
fi
if famfs_load; then report ok "insmod famfs_iomap"; else report "not ok" "insmod famfs_iomap"; fi

/famfs/famfs_e2e.sh > /tmp/test.out 2>&1
rc=$?
cat /tmp/test.out
add_totals famfs_e2e.sh /tmp/test.out $rc

if klog_clean; then report ok "kernel log clean"; else report "not ok" "kernel log clean"; fi
echo "GUEST-TOTALS passed=$pass failed=$fail"
[ $fail -eq 0 ]
