#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: install what is missing, run the host tests, build the kernel and the module,
# run the guest tests in QEMU.  Ends with one line "N passed, N failed"; exits non-zero on any
# failure.
. "$(dirname "$0")/lib.sh"
set +e

PASSED=0
FAILED=0
LOGDIR=$FAMFS_WORK/check
mkdir -p "$LOGDIR"

ok()     { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
	exit
}

# Add up cargo's "test result:" lines; ignored tests count as failed.
count_cargo() {
	local p f i
	while read -r p f i; do
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + f + i))
	done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$1")
}

# Run a command that prints TAP into LOG, show all but its "ok" lines and add its results to the
# totals.  No result at all, or a non-zero exit without a "not ok", is a failure of NAME.
# Usage: tap_step NAME LOG COMMAND...
tap_step() {
	local name=$1 log=$2 rc p f
	shift 2
	"$@" > "$log" 2>&1
	rc=$?
	grep -v '^ok ' "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		not_ok "$name reported nothing (exit $rc)"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		not_ok "$name (exit $rc)"
	fi
}

echo "# setup"
if bash "$TOP/scripts/setup-deps.sh"; then ok "dependencies installed"; else not_ok "dependencies"; finish; fi

# The kernel first: the host tests check famfsd's FUSE structures against its uapi headers
# ($KDIR/usr/include).
echo "# kernel"
KDIR_GIVEN=${KDIR:-}
if KDIR=${KDIR:-$(KERNEL_FLAVOR=base bash "$TOP/scripts/build-kernel.sh")}; then
	ok "kernel build ($KDIR)"
else
	not_ok "kernel build"
	finish
fi
export KDIR

echo "# host tests"
if [ -f "$TOP/Cargo.toml" ]; then
	if (cd "$TOP" && cargo fmt --all --check) > "$LOGDIR/cargo-fmt.log" 2>&1; then
		ok "cargo fmt --all --check"
	else
		head -n 40 "$LOGDIR/cargo-fmt.log"
		not_ok "cargo fmt --all --check"
	fi
	(cd "$TOP" && cargo test --workspace --locked 2>&1) | tee "$LOGDIR/cargo-test.log"
	rc=${PIPESTATUS[0]}
	count_cargo "$LOGDIR/cargo-test.log"
	[ "$rc" -eq 0 ] || not_ok "cargo test --workspace (exit $rc)"
fi
if [ -f "$TOP/scripts/host-fmap.sh" ]; then
	# rustfmt and clippy (also with the kernel's lint flags) on the fmap core and its host crate.
	tap_step "fmap lint" "$LOGDIR/fmap-lint.log" bash "$TOP/scripts/host-fmap.sh" lint
	bash "$TOP/scripts/host-fmap.sh" nodiv 2>&1 | tee "$LOGDIR/nodiv-host.log"
	PASSED=$((PASSED + $(grep -c '^ok ' "$LOGDIR/nodiv-host.log")))
	FAILED=$((FAILED + $(grep -c '^not ok ' "$LOGDIR/nodiv-host.log")))
	grep -q '^ok ' "$LOGDIR/nodiv-host.log" || not_ok "fmap nodiv check did not run"
	bash "$TOP/scripts/host-fmap.sh" fuzz 2>&1 | tee "$LOGDIR/fuzz.log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then ok "fmap fuzzing"; else not_ok "fmap fuzzing (exit $rc)"; fi
fi

# The no-division check's analysis (scripts/check-nodiv.py) on made-up disassembly.
tap_step "scripts/check-nodiv.py --self-test" "$LOGDIR/nodiv-self.log" \
	/usr/bin/python3 "$TOP/scripts/check-nodiv.py" --self-test

# make profile's analysis (bench/profile.py) on a made-up trace.
tap_step "bench/profile.py --self-test" "$LOGDIR/profile.log" \
	/usr/bin/python3 "$TOP/bench/profile.py" --self-test

echo "# documentation"
/usr/bin/python3 "$TOP/scripts/check-docs.py" > "$LOGDIR/docs.log" 2>&1
rc=$?
grep -v '^ok ' "$LOGDIR/docs.log"
if [ "$rc" -eq 0 ]; then
	ok "Documentation/*.rst parse without warnings ($(grep -c '^ok ' "$LOGDIR/docs.log") files)"
else
	not_ok "Documentation/*.rst"
fi

echo "# kernel series"
# The cheap part of `make series-check`: every patch applies with git am to the pristine base
# and passes checkpatch --strict; kernel-doc finds nothing new.  (The build after every patch
# is `make series-check`.)
tap_step series-check "$LOGDIR/series-check.log" \
	env SERIES_CHECK_BUILD=0 bash "$TOP/scripts/series-check.sh"

echo "# module"
if CLIPPY=1 bash "$TOP/scripts/build-module.sh" > "$LOGDIR/module.log" 2>&1 &&
		! grep -E '^(warning|error)' "$LOGDIR/module.log"; then
	ok "module builds warning free (LLVM=-19 CLIPPY=1)"
else
	cat "$LOGDIR/module.log"
	not_ok "module build"
	finish
fi
# Faults resolve with arithmetic only: no divide instruction in the module's iomap_begin (its
# map parse, which divides, is the control that the check sees divisions).
tap_step "module nodiv check" "$LOGDIR/nodiv.log" \
	python3 "$TOP/scripts/check-nodiv.py" "$TOP/rust/famfs_iomap.o" --external \
	--root '<famfs_iomap::Famfs as kernel::fuse::iomap::Provider>::begin' \
	--control '<famfs_iomap::Famfs as kernel::fuse::iomap::Provider>::parse'
KSRC=$(readlink -f "$KDIR/source")
if rustfmt --edition 2021 --check --config-path "$KSRC/.rustfmt.toml" "$TOP"/rust/*.rs \
		> "$LOGDIR/rustfmt.log" 2>&1; then
	ok "module rustfmt clean"
else
	cat "$LOGDIR/rustfmt.log"
	not_ok "module rustfmt"
fi

# The kernel as Debian packages (make bindeb-pkg on the base build, cached by its key): they
# unpack, and the module builds against the headers package (scripts/kernel-pkg.sh).
if [ -n "${KDIR_GIVEN:-}" ]; then
	echo "# kernel packages not built: KDIR names another kernel"
else
	echo "# kernel packages (base kernel)"
	tap_step "kernel packages" "$LOGDIR/kernel-pkg.log" \
		bash "$TOP/scripts/kernel-pkg.sh" check
fi

# Add a guest run's "GUEST-TOTALS passed=N failed=N" (in OUT) to the totals.
# Usage: guest_totals NAME OUT EXIT_STATUS SECONDS
guest_totals() {
	local name=$1 out=$2 rc=$3 secs=$4 totals p f
	totals=$(grep '^GUEST-TOTALS ' "$out" | tail -n 1)
	if [ -z "$totals" ]; then
		not_ok "$name did not report (exit $rc)"
		return
	fi
	p=$(echo "$totals" | sed 's/.*passed=\([0-9]*\).*/\1/')
	f=$(echo "$totals" | sed 's/.*failed=\([0-9]*\).*/\1/')
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	echo "# $name: $p passed, $f failed, ${secs} s"
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || not_ok "$name exit status $rc"
}

# The guest suite on one kernel flavor: TAP from the guest, then one line of totals.
# Usage: guest_suite FLAVOR KDIR MODULE_KO
guest_suite() {
	local flavor=$1 kdir=$2 ko=$3 out=$LOGDIR/guest-$1.out rc t0=$SECONDS
	echo "# guest tests ($flavor kernel)"
	KERNEL_FLAVOR=$flavor KDIR=$kdir MODULE_KO=$ko VM_LOG=$LOGDIR/vm-check-$flavor.log \
		VM_TIMEOUT=${VM_TIMEOUT:-$([ "$flavor" = debug ] && echo 2400 || echo 900)} \
		bash "$TOP/scripts/vm.sh" check | tee "$out"
	rc=${PIPESTATUS[0]}
	guest_totals "guest ($flavor kernel)" "$out" "$rc" $((SECONDS - t0))
}

guest_suite base "$KDIR" "$TOP/rust/famfs_iomap.ko"

# Two guests sharing one memory: famfs owner and client (scripts/vm2.sh, base kernel).
echo "# two hosts on one memory (base kernel)"
t0=$SECONDS
KERNEL_FLAVOR=base MODULE_KO=$TOP/rust/famfs_iomap.ko VM_TIMEOUT=${VM_TIMEOUT:-900} \
	bash "$TOP/scripts/vm2.sh" famfs_2host | tee "$LOGDIR/guest-2host.out"
rc=${PIPESTATUS[0]}
guest_totals "two hosts" "$LOGDIR/guest-2host.out" "$rc" $((SECONDS - t0))

# famfs on a CXL RAM region (VM_CXL=1: QEMU 10.0 from scripts/fetch-qemu.sh, base kernel).
echo "# CXL memory (base kernel)"
t0=$SECONDS
KERNEL_FLAVOR=base MODULE_KO=$TOP/rust/famfs_iomap.ko VM_CXL=1 VM_LOG=$LOGDIR/vm-cxl.log \
	VM_TIMEOUT=${VM_TIMEOUT:-900} bash "$TOP/scripts/vm.sh" famfs_cxl | tee "$LOGDIR/guest-cxl.out"
rc=${PIPESTATUS[0]}
guest_totals "CXL" "$LOGDIR/guest-cxl.out" "$rc" $((SECONDS - t0))

# The same suite on the debug kernel (KASAN, lockdep, kmemleak, ...), unless KDIR named
# another kernel.
if [ -n "${KDIR_GIVEN:-}" ]; then
	echo "# debug flavor not run: KDIR names another kernel"
else
	echo "# debug kernel"
	if DKDIR=$(KERNEL_FLAVOR=debug bash "$TOP/scripts/build-kernel.sh"); then
		ok "debug kernel build ($DKDIR)"
		if DKO=$(KERNEL_FLAVOR=debug KDIR=$DKDIR MODULE_OUT=$FAMFS_WORK/module-debug \
				bash "$TOP/scripts/build-module.sh" 2> "$LOGDIR/module-debug.log"); then
			ok "module builds against the debug kernel"
			guest_suite debug "$DKDIR" "$DKO"
		else
			cat "$LOGDIR/module-debug.log"
			not_ok "module build (debug kernel)"
		fi
	else
		not_ok "debug kernel build"
	fi
fi
finish
