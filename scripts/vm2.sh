#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Two guests on one memory: boot two QEMU guests at once, the owner and the client of one famfs,
# whose pmem is the same host file, and run one guest mode in both (famfs_2host: the tests;
# run_2host: the demo).  Prints both guests' output (live with VM2_LIVE=1, each line prefixed
# with the guest's role), then "GUEST-TOTALS passed=N failed=N" over both; exit status 0 only
# if both guests passed.
#
# Each guest (one vCPU) has three NUMA nodes: 768 MiB of its own RAM (node 0), 1 GiB backed by
# the shared file (node 1, guest physical [768 MiB, 1792 MiB), memory-backend-file with
# share=on) and 256 MiB of its own RAM above it (node 2, where the firmware puts its tables
# at the top of low RAM, so that they stay out of the shared range).  memmap=1G!768M makes node
# 1 emulated pmem, as scripts/vm.sh does with a single guest.  The guests' second serial
# ports (ttyS1) are joined by a socket: the owner's QEMU listens and waits, the client's
# connects, so neither guest runs before the link is up; guest/peer.sh speaks over it.
#
# Usage: vm2.sh [MODE]  (env: KDIR, VM_TIMEOUT (default 900), VM2_LIVE=1, FAMFS_KVM=0|1,
# INITRD: boot this initramfs as it is)
. "$(dirname "$0")/lib.sh"

MODE=${1:-famfs_2host}
KDIR=${KDIR:-$(bash "$TOP/scripts/build-kernel.sh")}
KIMG=$KDIR/arch/x86/boot/bzImage
[ -f "$KIMG" ] || die "no kernel image at $KIMG"
VM_TIMEOUT=${VM_TIMEOUT:-900}
DIR=$FAMFS_WORK/vm2
SHM=$DIR/shared-memory
SOCK=$DIR/peer.sock
HOSTS=(owner client)

# INITRD given: boot it as it is.
if [ -z "${INITRD:-}" ]; then
	INITRD=$FAMFS_WORK/initramfs-$KERNEL_FLAVOR.cpio
	if [ -z "${FAMFS_GUEST_BINS+set}" ]; then
		(cd "$TOP" && nice -n 10 cargo build --release --locked -p famfsd >&2) ||
			die "building famfs/famfsd failed"
		tdir=${CARGO_TARGET_DIR:-$TOP/target}
		FAMFS_GUEST_BINS="$tdir/release/famfs $tdir/release/famfsd $(command -v setpriv || true)"
		export FAMFS_GUEST_BINS
	fi
	bash "$TOP/scripts/build-initramfs.sh" "$KDIR" "$INITRD" >/dev/null
fi

accel=(-accel tcg -cpu max)
if bash "$TOP/scripts/kvm-probe.sh" "$KDIR"; then
	accel=(-accel kvm -cpu host)
fi

# A fresh shared memory (zeroes, sparse) for every run.
rm -rf "$DIR"
mkdir -p "$DIR"
truncate -s 1G "$SHM"

# qemu_cmd ROLE: the QEMU command line of one guest, in the array QEMU.
qemu_cmd()
{
	local role=$1 chardev
	if [ "$role" = owner ]; then
		chardev=socket,id=peer,path=$SOCK,server=on,wait=on
	else
		chardev=socket,id=peer,path=$SOCK
	fi
	QEMU=(qemu-system-x86_64 "${accel[@]}" -smp 1 -m 2G -display none -monitor none -no-reboot
		-object memory-backend-ram,id=own0,size=768M
		-object "memory-backend-file,id=shared,size=1G,mem-path=$SHM,share=on"
		-object memory-backend-ram,id=own1,size=256M
		-numa node,nodeid=0,cpus=0,memdev=own0
		-numa node,nodeid=1,memdev=shared
		-numa node,nodeid=2,memdev=own1
		-serial stdio -chardev "$chardev" -serial chardev:peer
		-kernel "$KIMG" -initrd "$INITRD"
		-append "console=ttyS0 memmap=1G!768M famfs.mode=$MODE famfs.host=$role famfs.flavor=$KERNEL_FLAVOR panic=-1 oops=panic quiet loglevel=4")
}

# live_output ROLE: print the console on stdin from the guest's first line on, prefixed with
# [ROLE], a line at a time.
live_output()
{
	local go=0 line
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		famfs-guest-start) go=1; continue ;;
		'FAMFS-EXIT '*|*'reboot: Power down'*) continue ;;
		esac
		[ $go = 1 ] && printf '[%s] %s\n' "$1" "$line"
	done
	return 0
}

declare -A pid tails
start=$(date +%s)
for h in "${HOSTS[@]}"; do
	log=$DIR/$h.log
	qemu_cmd "$h"
	: > "$log"
	nice "${QEMU[@]}" < /dev/null >> "$log" 2>&1 &
	pid[$h]=$!
	if [ "${VM2_LIVE:-0}" = 1 ]; then
		# The guest's own output as it comes, without the boot noise; tail stops with QEMU.
		tail --pid="${pid[$h]}" -n +1 -f "$log" | live_output "$h" &
		tails[$h]=$!
	fi
	if [ "$h" = owner ]; then
		# The client connects to the owner's socket: wait until it listens.
		i=0
		while [ ! -S "$SOCK" ] && [ $i -lt 300 ]; do
			kill -0 "${pid[$h]}" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		[ -S "$SOCK" ] || { cat "$log" >&2; kill "${pid[$h]}" 2>/dev/null; die "the owner's QEMU did not listen on $SOCK"; }
	fi
done

# Bounded: VM_TIMEOUT for both; once one guest has stopped, the other gets 60 more seconds
# (it may be waiting for a peer that is gone).
deadline=$((start + VM_TIMEOUT))
first_done=
while :; do
	now=$(date +%s)
	alive=0
	for h in "${HOSTS[@]}"; do
		if kill -0 "${pid[$h]}" 2>/dev/null; then alive=$((alive + 1)); fi
	done
	[ $alive = 0 ] && break
	[ $alive = 1 ] && [ -z "$first_done" ] && first_done=$now
	if [ "$now" -ge "$deadline" ] || { [ -n "$first_done" ] && [ $((now - first_done)) -ge 60 ]; }; then
		for h in "${HOSTS[@]}"; do kill "${pid[$h]}" 2>/dev/null || true; done
		sleep 2
		for h in "${HOSTS[@]}"; do kill -9 "${pid[$h]}" 2>/dev/null || true; done
		break
	fi
	sleep 1
done
for h in "${HOSTS[@]}"; do wait "${pid[$h]}" 2>/dev/null || true; done
if [ "${VM2_LIVE:-0}" = 1 ]; then
	for h in "${HOSTS[@]}"; do wait "${tails[$h]}" 2>/dev/null || true; done
fi
elapsed=$(($(date +%s) - start))

passed=0
failed=0
rc=0
for h in "${HOSTS[@]}"; do
	log=$DIR/$h.log
	tr -d '\r' < "$log" > "$log.txt" && mv "$log.txt" "$log"
	cp "$log" "$FAMFS_WORK/vm-$MODE-$h.log"
	status=$(grep -a '^FAMFS-EXIT ' "$log" | tail -n 1 | awk '{print $2}' || true)
	if [ "${VM2_LIVE:-0}" != 1 ]; then
		echo "# --- $h guest ---"
		awk 'go && !/^FAMFS-EXIT / && !/reboot: Power down/; /famfs-guest-start/ { go = 1 }' "$log"
	fi
	totals=$(grep -a "^# Totals:" "$log" | tail -n 1 || true)
	if [ -z "$status" ]; then
		tail -n 40 "$log" | sed "s/^/# $h console: /"
		if grep -aq 'Kernel panic' "$log"; then
			echo "not ok - $h guest: kernel panic: $(grep -a 'Kernel panic' "$log" | head -n 1)"
		else
			echo "not ok - $h guest stopped without reporting a result (full log: $FAMFS_WORK/vm-$MODE-$h.log)"
		fi
		failed=$((failed + 1))
		rc=1
		[ -n "$totals" ] || continue
	fi
	[ "${status:-1}" = 0 ] || rc=1
	if [ -n "$totals" ]; then
		p=$(echo "$totals" | sed 's/.* pass:\([0-9]*\).*/\1/')
		f=$(echo "$totals" | sed 's/.* fail:\([0-9]*\).*/\1/')
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$status" = 0 ] || [ "$f" -gt 0 ] || { echo "not ok - $h guest exit status $status"; failed=$((failed + 1)); }
	elif [ -n "$status" ] && [ "$MODE" != run_2host ]; then
		echo "not ok - $h guest printed no totals"
		failed=$((failed + 1))
	fi
done
echo "# two guests: ${elapsed} s from the first boot to the last power-off"
if [ "$MODE" = run_2host ]; then
	exit $rc
fi
echo "GUEST-TOTALS passed=$passed failed=$failed"
[ $rc = 0 ] && [ $failed = 0 ]
