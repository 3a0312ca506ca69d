#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the host microbenchmark of fmap resolution, then the DAX benchmark
# (guest/bench.sh, bench/dax_bench.c): rounds of faults, read(2)/write(2), opens, N processes
# and two threads on famfs, famfs interleaved, device-dax at 2 MiB and 4 KiB alignment, ext4
# -o dax and plain FUSE, on the same memory.  Prints a table; writes a CSV and a PNG chart
# to a results folder (printed at the end; see Documentation/performance.rst).
#
# In QEMU (default): one boot under TCG with -icount shift=0,sleep=off, where guest time is
# emulated instructions (1 ns == 1 instruction), independent of the host's load.
# On real hardware (DEV set): no VM; guest/bench.sh runs here, as root, wall clock.
#
# Environment (make bench VAR=...):
#   KDIR           kernel build tree (default: the cached kernel, built if stale)
#   BENCH_MIB      size of the file measured, MiB, a multiple of 16 (128)
#   BENCH_ROUNDS   rounds in one boot (5)
#   BENCH_SYSTEMS  subset of: famfs famfs-il devdax2m devdax4k ext4 fuse
#   BENCH_ICOUNT   1 (default): instruction counts; 0: wall clock under TCG or KVM (noisy)
#   BENCH_FMAP     1 (default): also the host fmap microbenchmark (cargo bench)
#   BENCH_OUT      results folder (default $FAMFS_WORK/bench-results/DATE-TIME)
#   DEV            real hardware: a device-dax device (/dev/daxX.Y) whose contents are lost
#   DEV2           real hardware: a second device-dax device, for famfs-il
#   PMEM           real hardware: an fsdax pmem block device for ext4 -o dax (mkfs'd)
#   BENCH_VERBOSE=1  progress of each step on the console
#   BENCH_PROFILE=1  make profile: instead of measuring, a debugger attached to QEMU counts
#                  every instruction of one fault of each kind, function by function
#                  (bench/profile.py); BENCH_SYSTEMS defaults to famfs devdax2m devdax4k ext4
#   BENCH_DRY=1    print what would run on real hardware, and stop
. "$(dirname "$0")/lib.sh"

MIB=${BENCH_MIB:-128}
ROUNDS=${BENCH_ROUNDS:-5}
ICOUNT=${BENCH_ICOUNT:-1}
PROFILE=${BENCH_PROFILE:-0}
if [ "$PROFILE" = 1 ]; then
	MIB=16
	ROUNDS=1
	BENCH_FMAP=0
	BENCH_SYSTEMS=${BENCH_SYSTEMS:-famfs devdax2m devdax4k ext4}
fi
DEV=${DEV:-}
DEV2=${DEV2:-}
PMEM=${PMEM:-}
[ $((MIB % 16)) = 0 ] && [ "$MIB" -gt 0 ] || die "BENCH_MIB must be a multiple of 16"
case "$ROUNDS" in ''|*[!0-9]*|0) die "BENCH_ROUNDS must be a positive number" ;; esac

[ "$PROFILE" = 1 ] && [ -n "$DEV" ] && die "BENCH_PROFILE=1 needs the VM (no DEV=)"
if [ -n "$DEV" ]; then
	# Real hardware: check the arguments before building anything.
	[ -n "${KDIR:-}" ] || die "DEV= needs KDIR= (the build tree of the running kernel)"
	for d in $DEV $DEV2; do
		[ -c "$d" ] && [ -e "/sys/bus/dax/devices/$(basename "$d")" ] ||
			die "$d is not a device-dax device (/dev/daxX.Y)"
	done
	[ -z "$PMEM" ] || [ -b "$PMEM" ] || die "$PMEM is not a block device"
	[ -d "$KDIR/usr/include/linux" ] ||
		die "no uapi headers in $KDIR/usr/include: run make -C $KDIR headers"
	CLOCK=wall
else
	[ "$ICOUNT" = 1 ] && CLOCK=icount || CLOCK=vm-wall
fi

OUT=${BENCH_OUT:-$FAMFS_WORK/bench-results/$(date +%Y%m%d-%H%M%S)}
if [ "${BENCH_DRY:-0}" = 1 ]; then
	[ -n "$DEV" ] || die "BENCH_DRY=1 is for real hardware (DEV=)"
	echo "would build $TOP/rust/famfs_iomap.ko and dax_bench against $KDIR, then run as root:"
	echo "  BENCH_DEV=$DEV BENCH_DEV2=$DEV2 BENCH_PMEM=$PMEM BENCH_MIB=$MIB" \
		"BENCH_ROUNDS=$ROUNDS BENCH_MODULE=$TOP/rust/famfs_iomap.ko sh $TOP/guest/bench.sh"
	echo "and write the results to $OUT"
	exit 0
fi

if [ "${BENCH_FMAP:-1}" = 1 ]; then
	bash "$TOP/scripts/host-fmap.sh" bench || die "host benchmark failed"
fi
KDIR=${KDIR:-$(bash "$TOP/scripts/build-kernel.sh")}
export KDIR
bash "$TOP/scripts/build-module.sh" >/dev/null
mkdir -p "$OUT"
RAW=$OUT/output.txt

if [ -n "$DEV" ]; then
	[ "$(id -u)" = 0 ] || die "the benchmark on real hardware runs as root (sudo make bench ...)"
	make -s -C "$TOP/bench" KHDR="$KDIR/usr/include" O="$FAMFS_WORK/bench-host" ||
		die "building the benchmark failed"
	log "benchmark on $DEV${DEV2:+ and $DEV2}${PMEM:+, ext4 on $PMEM}: $ROUNDS rounds of $MIB MiB"
	set +e
	PATH=$FAMFS_WORK/bench-host:$PATH BENCH_DEV=$DEV BENCH_DEV2=$DEV2 BENCH_PMEM=$PMEM \
		BENCH_MIB=$MIB BENCH_ROUNDS=$ROUNDS BENCH_MODULE=$TOP/rust/famfs_iomap.ko \
		BENCH_SYSTEMS=${BENCH_SYSTEMS:-} sh "$TOP/guest/bench.sh" 2>&1 | tee "$RAW"
	rc=${PIPESTATUS[0]}
	set -e
else
	# The guest's settings travel in the initramfs, as an extra file in /famfs/bin; the
	# benchmark needs no famfs CLI, so none is built.  A separate initramfs keeps other runs'
	# images (make check) untouched.
	envdir=$FAMFS_WORK/bench-env
	mkdir -p "$envdir"
	{
		echo "BENCH_MIB=$MIB"
		echo "BENCH_ROUNDS=$ROUNDS"
		[ -z "${BENCH_SYSTEMS:-}" ] || echo "BENCH_SYSTEMS='$BENCH_SYSTEMS'"
		[ -z "${BENCH_VERBOSE:-}" ] || echo "export BENCH_VERBOSE=$BENCH_VERBOSE"
		[ "$PROFILE" = 0 ] || echo "export BENCH_PROFILE=1"
	} > "$envdir/famfs-bench-env"
	chmod +x "$envdir/famfs-bench-env"
	if [ "$CLOCK" = icount ]; then
		log "QEMU TCG with -icount shift=0: the guest's nanoseconds are emulated instructions"
	fi
	gdbpid=
	if [ "$PROFILE" = 1 ]; then
		# The guest starts stopped; gdb sets its breakpoint, then lets it run, and traces
		# each fault the guest announces (PROFILE lines) until QEMU exits.
		command -v gdb >/dev/null || die "make profile needs gdb (scripts/setup-deps.sh)"
		port=$((20000 + $$ % 20000))
		log "profile: gdb single-steps one fault of each kind (traces: $OUT)"
		make -s -C "$TOP/bench" KHDR="$KDIR/usr/include" O="$FAMFS_WORK/bench" ||
			die "building the benchmark failed"
		addrs=$("$FAMFS_WORK/bench/dax_bench" profile-addrs)
		entry=$(nm "$KDIR/vmlinux" | awk '$3 == "asm_exc_page_fault" { print $1 }')
		[ -n "$entry" ] || die "no asm_exc_page_fault in $KDIR/vmlinux"
		PROFILE_GDB=tcp:127.0.0.1:$port PROFILE_OUT=$OUT PROFILE_ENTRY=0x$entry \
			PROFILE_ADDRS="$addrs" gdb -nx -batch -x "$TOP/bench/profile.py" \
			> "$OUT/gdb.log" 2>&1 &
		gdbpid=$!
	fi
	log "benchmark in one guest boot: $ROUNDS rounds of $MIB MiB (console: $OUT/console.log)"
	set +e
	FAMFS_GUEST_BINS=$envdir/famfs-bench-env INITRD=$FAMFS_WORK/initramfs-bench-$KERNEL_FLAVOR.cpio \
		VM_ICOUNT=$ICOUNT VM_LOG=$OUT/console.log VM_TIMEOUT=${VM_TIMEOUT:-3600} \
		VM_GDB=${gdbpid:+$port} bash "$TOP/scripts/vm.sh" bench | tee "$RAW"
	rc=${PIPESTATUS[0]}
	[ -z "$gdbpid" ] || wait "$gdbpid"
	set -e
fi

if [ "$PROFILE" = 1 ]; then
	nm -n "$KDIR/vmlinux" > "$OUT/vmlinux.nm"
	python3 "$TOP/bench/profile.py" --out "$OUT" --vmlinux-nm "$OUT/vmlinux.nm" \
		--console "$OUT/console.log" || die "no profile (gdb: $OUT/gdb.log)"
	ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/latest" 2>/dev/null || true
	echo "profile: $OUT/profile.txt"
	[ "$rc" = 0 ] || die "the guest reported failures (see above and $RAW)"
	exit 0
fi

# The report: table on the terminal, CSVs, and the chart if matplotlib can be had.
py=python3
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
	venv=$FAMFS_CACHE/bench-venv
	if [ -x "$venv/bin/python3" ] && "$venv/bin/python3" -c 'import matplotlib' 2>/dev/null; then
		py=$venv/bin/python3
	elif "$py" -m pip install --quiet --user matplotlib >&2 2>/dev/null &&
			"$py" -c 'import matplotlib' 2>/dev/null; then
		:
	elif "$py" -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet matplotlib >&2; then
		py=$venv/bin/python3
	else
		log "matplotlib not available: no chart"
	fi
fi
"$py" "$TOP/bench/report.py" --clock "$CLOCK" --out "$OUT" "$RAW" ||
	die "no results to report (output: $RAW)"
ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/latest" 2>/dev/null || true
echo "results: $OUT"
[ "$rc" = 0 ] || die "the benchmark reported failures (see above and $RAW)"
