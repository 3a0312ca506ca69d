#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the host microbenchmark of fmap resolution, then, in one guest boot, faults and
# reads on the same memory through famfs_iomap, raw device-dax and ext4-dax (guest/bench.sh).
. "$(dirname "$0")/lib.sh"

bash "$TOP/scripts/host-fmap.sh" bench || die "host benchmark failed"
KDIR=${KDIR:-$(bash "$TOP/scripts/build-kernel.sh")}
export KDIR
bash "$TOP/scripts/build-module.sh" >/dev/null
VM_TIMEOUT=${VM_TIMEOUT:-1800} bash "$TOP/scripts/vm.sh" bench
