#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Does KVM really boot a guest here?  /dev/kvm may exist while nested KVM hangs.  Exit 0 if a
# guest booted with KVM.  The answer is cached; FAMFS_KVM=0 or 1 overrides the probe.
. "$(dirname "$0")/lib.sh"

case "${FAMFS_KVM:-}" in 0) exit 1 ;; 1) exit 0 ;; esac
cache=$FAMFS_CACHE/kvm-probe
if [ -f "$cache" ]; then
	[ "$(cat "$cache")" = yes ]
	exit
fi
[ -w /dev/kvm ] || { echo no > "$cache"; exit 1; }
KDIR=$1
INITRD=$FAMFS_WORK/initramfs.cpio
[ -f "$INITRD" ] || bash "$TOP/scripts/build-initramfs.sh" "$KDIR" "$INITRD" >/dev/null
if PROBE_KVM=1 VM_TIMEOUT=40 VM_LOG=$FAMFS_WORK/vm-kvm-probe.log KDIR=$KDIR INITRD=$INITRD \
		bash "$TOP/scripts/vm.sh" probe >/dev/null 2>&1 &&
		grep -aq FAMFS-PROBE-OK "$FAMFS_WORK/vm-kvm-probe.log"; then
	echo yes > "$cache"
	log "KVM boots guests here: using it"
	exit 0
fi
echo no > "$cache"
log "KVM does not boot a guest here: using TCG"
exit 1
