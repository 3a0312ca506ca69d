#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo: what the guest has and what the module does, printed step by step.
. /famfs/lib.sh

step() { echo; echo "### $*"; }

step "emulated pmem (memmap=1G!1G)"
cat /proc/iomem | grep -i 'persistent' || true
ls -l /dev/pmem* 2>/dev/null

step "devdax namespace, 2 MiB aligned, bound to fsdev_dax"
dax_setup || exit 1
ndctl list -N 2>/dev/null
d=/sys/bus/dax/devices/dax0.0
echo "dax0.0: size $(cat $d/size) align $(cat $d/align) driver $(basename "$(readlink $d/driver)")"

step "insmod famfs_iomap.ko"
famfs_load || exit 1
dmesg | grep famfs_iomap | tail -n 5
grep famfs_iomap /proc/modules

step "switch the device between its two modes"
dax_mode devdax && echo "dax0.0 -> $(basename "$(readlink $d/driver)")"
dax_mode fsdev && echo "dax0.0 -> $(basename "$(readlink $d/driver)")"
