#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the test VM and run one guest mode: check (tests), run (demo), shell (interactive),
# probe, inject-panic, inject-hang.  Exit status is the guest's; a guest that panics, hangs
# (VM_TIMEOUT seconds) or dies without reporting is a failure, with the console shown.
#
# Usage: vm.sh MODE   (env: KDIR, VM_TIMEOUT, VM_MEM, FAMFS_KVM=0|1, VM_LOG, VM_ICOUNT=0|1,
#                      VM_CXL=0|1, GUEST_ONLY, VM_GDB)
#
# VM_ICOUNT=1: TCG with -icount shift=0,sleep=off (never KVM): guest time advances exactly 1 ns
# per emulated instruction, so the guest's CLOCK_MONOTONIC counts instructions whatever the
# host's load; with icount QEMU runs all vCPUs round-robin in one host thread.
#
# VM_CXL=1: no emulated pmem; the guest boots on q35 with CXL (QEMU 10.0 from
# scripts/fetch-qemu.sh: Debian 12's 7.2 has no volatile cxl-type3): a CXL host bridge
# (pxb-cxl), a root port, a type-3 device whose volatile memory is 1 GiB of host RAM, and a CXL
# fixed memory window of 4 GiB targeting the host bridge.  The guest (famfs.cxl=1) makes a RAM
# region of the device with the cxl tool; its DAX device, dax0.0, is what famfs uses
# (guest/lib.sh cxl_setup).
. "$(dirname "$0")/lib.sh"

MODE=${1:-check}
KDIR=${KDIR:-$(bash "$TOP/scripts/build-kernel.sh")}
KIMG=$KDIR/arch/x86/boot/bzImage
[ -f "$KIMG" ] || die "no kernel image at $KIMG"
VM_TIMEOUT=${VM_TIMEOUT:-900}
VM_MEM=${VM_MEM:-3584M}
VM_LOG=${VM_LOG:-$FAMFS_WORK/vm-$MODE.log}

INITRD=${INITRD:-$FAMFS_WORK/initramfs-$KERNEL_FLAVOR.cpio}
if [ "$MODE" != probe ] && [ -z "${FAMFS_GUEST_BINS+set}" ]; then
	# The famfs CLI and the famfsd server for the guest (plus util-linux setpriv, which the
	# guest uses to run famfsd without privilege; busybox's cannot change the uid).
	(cd "$TOP" && nice -n 10 cargo build --release --locked -p famfsd >&2) ||
		die "building famfs/famfsd failed"
	tdir=${CARGO_TARGET_DIR:-$TOP/target}
	FAMFS_GUEST_BINS="$tdir/release/famfs $tdir/release/famfsd $(command -v setpriv || true)"
	export FAMFS_GUEST_BINS
fi
if [ "$MODE" != probe ]; then
	# The host model of the fmap replay test (selftests/famfs_iomap/fmap_replay_test.c).
	(cd "$TOP" && nice -n 10 cargo build --release --locked -p famfs-fmap --bin fmap_model >&2) ||
		die "building fmap_model failed"
	FMAP_MODEL=${CARGO_TARGET_DIR:-$TOP/target}/release/fmap_model
	export FMAP_MODEL
	bash "$TOP/scripts/build-initramfs.sh" "$KDIR" "$INITRD" >/dev/null
fi

accel=(-accel tcg -cpu max)
if [ "${VM_ICOUNT:-0}" = 1 ]; then
	accel+=(-icount shift=0,sleep=off)
elif [ "$MODE" != probe ] && bash "$TOP/scripts/kvm-probe.sh" "$KDIR"; then
	accel=(-accel kvm -cpu host)
fi
[ "$MODE" = probe ] && [ "${PROBE_KVM:-0}" = 1 ] && [ "${VM_ICOUNT:-0}" != 1 ] && accel=(-accel kvm -cpu host)

# Emulated pmem: memmap=SIZE!START carves a persistent-memory region out of guest RAM.  Two
# regions (two DAX devices), apart so that they are not merged, below the BIOS area at the top
# of the 3 GiB of low RAM; the guest keeps 2 GiB of RAM.
cmdline="console=ttyS0 memmap=1G!1G memmap=512M!2304M famfs.mode=$MODE famfs.flavor=$KERNEL_FLAVOR panic=-1 oops=panic quiet loglevel=4"
# GUEST_ONLY=a_test,b_test: the guest suite runs only these programs (a debugging aid).
[ -n "${GUEST_ONLY:-}" ] && cmdline="$cmdline famfs.only=$GUEST_ONLY"
qemu=(qemu-system-x86_64 "${accel[@]}" -smp 2 -m "$VM_MEM" -nographic -no-reboot
      -kernel "$KIMG" -initrd "$INITRD" -append "$cmdline")
if [ "${VM_CXL:-0}" = 1 ]; then
	qbin=$(bash "$TOP/scripts/fetch-qemu.sh") || die "no QEMU with CXL volatile memory"
	cmdline="console=ttyS0 famfs.cxl=1 famfs.mode=$MODE famfs.flavor=$KERNEL_FLAVOR panic=-1 oops=panic quiet loglevel=4${GUEST_ONLY:+ famfs.only=$GUEST_ONLY}"
	# hypervisor=off: a region's commit invalidates the CPU caches over its range, which the
	# kernel refuses to attempt under a hypervisor (cxl_region_invalidate_memregion()
	# "Failed to synchronize CPU cache state", ENXIO, unless
	# CONFIG_CXL_REGION_INVALIDATION_TEST); without the CPUID bit it uses WBINVD, which QEMU
	# executes.
	accel[${#accel[@]}-1]=${accel[${#accel[@]}-1]},hypervisor=off
	qemu=("$qbin" "${accel[@]}" -smp 2 -m 2G -nographic -no-reboot -nic none
	      -M q35,cxl=on,cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G
	      -object memory-backend-ram,id=cxl-vmem0,size=1G
	      -device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
	      -device cxl-rp,port=0,bus=cxl.1,id=cxl-rp0,chassis=0,slot=2
	      -device cxl-type3,bus=cxl-rp0,volatile-memdev=cxl-vmem0,id=cxl-mem0
	      -kernel "$KIMG" -initrd "$INITRD" -append "$cmdline")
fi

# VM_GDB=PORT: the guest starts stopped, with QEMU's gdbstub on 127.0.0.1:PORT (make profile).
[ -n "${VM_GDB:-}" ] && qemu+=(-S -gdb "tcp:127.0.0.1:$VM_GDB")

if [ "$MODE" = shell ]; then
	exec "${qemu[@]}"
fi

set +e
timeout --foreground -k 5 "$VM_TIMEOUT" "${qemu[@]}" < /dev/null > "$VM_LOG" 2>&1
qrc=$?
set -e
tr -d '\r' < "$VM_LOG" > "$VM_LOG.txt"
mv "$VM_LOG.txt" "$VM_LOG"

status=$(grep -a '^FAMFS-EXIT ' "$VM_LOG" | tail -n 1 | awk '{print $2}' || true)
if [ -z "$status" ]; then
	[ "$MODE" = probe ] && exit 1
	tail -n 60 "$VM_LOG" >&2
	if [ $qrc = 124 ] || [ $qrc = 137 ]; then
		die "guest hung: no result within ${VM_TIMEOUT}s (console above, full log: $VM_LOG)"
	elif grep -aq 'Kernel panic' "$VM_LOG"; then
		die "guest kernel panicked: $(grep -a 'Kernel panic' "$VM_LOG" | head -n 1) (full log: $VM_LOG)"
	fi
	die "guest stopped without reporting a result (qemu exit $qrc; full log: $VM_LOG)"
fi
# The guest's own output, without the boot noise before /init.
awk 'go && !/^FAMFS-EXIT / && !/reboot: Power down/; /famfs-guest-start/ { go = 1 }' "$VM_LOG" || true
exit "$status"
