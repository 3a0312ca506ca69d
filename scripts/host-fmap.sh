#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host checks of the fmap core (rust/fmap.rs, rust/fmap_cases.rs, rust/fmap-host/).
#
# Usage: scripts/host-fmap.sh [all|lint|test|nodiv|fuzz|bench|corpus]
#   all     lint, test, nodiv and fuzz (the default)
#   lint    rustfmt, cargo clippy, and clippy with the kernel's lint flags on the shared files
#   test    cargo test -p famfs-fmap
#   nodiv   disassemble Fmap::resolve of a release build: no division instruction may remain
#   fuzz    run the parse_resolve fuzzer for FUZZ_SECONDS (default 60) seconds
#   bench   resolve microbenchmarks, printed as a compact table
#   corpus  regenerate the fuzzing seed corpus from the shared cases
#
# Installs what it needs (a C compiler, linux-libc-dev, cargo-fuzz) when missing. Cargo runs
# under nice, as a kernel build may share the machine.
. "$(dirname "$0")/lib.sh"

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
HOST=$TOP/rust/fmap-host
FUZZ=$HOST/fuzz
CORPUS=$FUZZ/corpus/parse_resolve
NICE=(nice -n 10)

# The files formatted and linted as kernel code.
SHARED=("$TOP/rust/fmap.rs" "$TOP/rust/fmap_cases.rs")

deps() {
	local missing=()
	command -v cc >/dev/null || missing+=(gcc)
	[ -e /usr/include/linux/types.h ] || missing+=(linux-libc-dev)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing: ${missing[*]}"
		local sudo=
		[ "$(id -u)" = 0 ] || sudo=sudo
		$sudo apt-get update -qq || die "apt-get update failed"
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null || die "apt-get install failed for: ${missing[*]}"
	fi
	command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain with rustup"
}

fuzz_deps() {
	if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
		log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
		"${NICE[@]}" cargo install --locked -q cargo-fuzz --version "$CARGO_FUZZ_VERSION" ||
			die "cargo install cargo-fuzz failed"
	fi
}

# Lint flags of the kernel's rust_common_flags (Linux 7.3 top-level Makefile), minus the
# unstable -Z ones, as errors.
KERNEL_LINTS=(
	-Dwarnings -Dnon_ascii_idents -Dunsafe_op_in_unsafe_fn -Wmissing_docs -Wrust_2018_idioms
	-Wunreachable_pub -Wclippy::all -Wclippy::as_ptr_cast_mut -Wclippy::as_underscore
	-Wclippy::cast_lossless -Aclippy::collapsible_if -Aclippy::collapsible_match
	-Wclippy::ignored_unit_patterns -Aclippy::incompatible_msrv -Wclippy::mut_mut
	-Wclippy::needless_bitwise_bool -Aclippy::needless_lifetimes
	-Wclippy::no_mangle_with_rust_abi -Wclippy::ptr_as_ptr -Wclippy::ptr_cast_constness
	-Wclippy::ref_as_ptr -Wclippy::undocumented_unsafe_blocks -Aclippy::uninlined_format_args
	-Wclippy::unnecessary_safety_comment -Wclippy::unnecessary_safety_doc
	-Aclippy::unwrap_or_default -Wclippy::float_arithmetic
)

lint() {
	log "rustfmt"
	rustfmt --edition 2021 --check "${SHARED[@]}" "$HOST"/src/*.rs "$HOST"/src/bin/*.rs "$HOST"/tests/*.rs \
		"$HOST"/benches/*.rs "$HOST"/examples/*.rs "$FUZZ"/fuzz_targets/*.rs ||
		die "rustfmt: run rustfmt --edition 2021 on the files above"
	log "cargo clippy"
	(cd "$TOP" && "${NICE[@]}" cargo clippy -q -p famfs-fmap --all-targets -- -D warnings) ||
		die "cargo clippy failed"
	# Build the shared files the way the module does: a no_std crate with `pub mod fmap;`.
	log "clippy with the kernel's lint flags"
	local tmp
	tmp=$(mktemp -d)
	cat >"$tmp/famfs_iomap.rs" <<-EOF
		//! Stand-in for the module's crate root.
		#![no_std]
		#[path = "$TOP/rust/fmap.rs"]
		pub mod fmap;
		#[path = "$TOP/rust/fmap_cases.rs"]
		pub mod fmap_cases;
	EOF
	# The kernel's .clippy.toml: MSRV 1.85 and lints on private items.
	printf 'msrv = "1.85.0"\ncheck-private-items = true\n' >"$tmp/clippy.toml"
	CLIPPY_CONF_DIR=$tmp "${NICE[@]}" clippy-driver --edition=2021 --crate-type=rlib -O "${KERNEL_LINTS[@]}" \
		--out-dir "$tmp" "$tmp/famfs_iomap.rs" || { rm -rf "$tmp"; die "kernel lints failed"; }
	rm -rf "$tmp"
	echo "ok - fmap lint"
}

run_tests() {
	(cd "$TOP" && "${NICE[@]}" cargo test -p famfs-fmap 2>&1) | grep -Ev '^\s+(Compiling|Downloaded|Downloading)'
	return "${PIPESTATUS[0]}"
}

# Fmap::resolve runs on every fault: it must not divide. famfs_fmap::resolve and ::parse are
# never-inlined wrappers in the release build of fmap_model (which vm.sh builds too); parse
# divides, and is the control that the check sees divisions at all.
nodiv() {
	command -v objdump >/dev/null || die "objdump not found (binutils)"
	(cd "$TOP" && "${NICE[@]}" cargo build -q --release --locked -p famfs-fmap \
		--bin fmap_model) || die "building fmap_model failed"
	python3 "$TOP/scripts/check-nodiv.py" \
		"${CARGO_TARGET_DIR:-$TOP/target}/release/fmap_model" \
		--root famfs_fmap::resolve --control famfs_fmap::parse
}

fuzz() {
	fuzz_deps
	local work log sanitizer=address runs
	work=$(mktemp -d)
	log=$work/fuzz.log
	mkdir -p "$work/corpus"
	export RUSTC_BOOTSTRAP=1
	cd "$FUZZ"
	# The address sanitizer needs its runtime; fall back to no sanitizer without it.
	if ! "${NICE[@]}" cargo fuzz build -s address parse_resolve >"$log" 2>&1; then
		log "address sanitizer unavailable, fuzzing without a sanitizer"
		sanitizer=none
		"${NICE[@]}" cargo fuzz build -s none parse_resolve >"$log" 2>&1 ||
			{ cat "$log" >&2; echo "not ok - fuzz parse_resolve (build failed)"; return 1; }
	fi
	log "fuzzing parse_resolve for ${FUZZ_SECONDS}s (sanitizer: $sanitizer)"
	# New inputs go to the scratch directory first in the list, not to the committed seeds.
	if "${NICE[@]}" cargo fuzz run -s "$sanitizer" parse_resolve "$work/corpus" "$CORPUS" -- \
		-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
		rm -rf "$work"
		[ -n "$runs" ] || { echo "not ok - fuzz parse_resolve (no run count)"; return 1; }
		echo "ok - fuzz parse_resolve $runs runs"
	else
		tail -40 "$log" >&2
		echo "not ok - fuzz parse_resolve (crash or error; artifacts in $FUZZ/artifacts/parse_resolve, log $log)"
		return 1
	fi
}

bench() {
	local out
	out=$(mktemp)
	(cd "$TOP" && "${NICE[@]}" cargo bench -q -p famfs-fmap --bench resolve) >"$out" ||
		{ cat "$out" >&2; rm -f "$out"; die "cargo bench failed"; }
	# Divan prints a tree: group lines, then "├─ ARG  fastest │ slowest │ median │ mean │ ...".
	printf '%-22s %8s %12s %12s\n' shape extents median mean
	awk '
		/^(├|╰)─ [a-z_]+ / { split($0, a, " "); shape = a[2]; next }
		/^(│| )  (├|╰)─ [0-9]/ {
			line = $0; sub(/^│/, " ", line)
			split(line, f, "│"); split(f[1], a, " ")
			gsub(/^ +| +$/, "", f[3]); gsub(/^ +| +$/, "", f[4])
			printf "%-22s %8s %12s %12s\n", shape, a[2], f[3], f[4]
		}' "$out"
	rm -f "$out"
}

corpus() {
	rm -rf "$CORPUS"
	(cd "$TOP" && "${NICE[@]}" cargo run -q -p famfs-fmap --example fuzz_corpus -- "$CORPUS")
}

deps
case "${1:-all}" in
all) lint && run_tests && nodiv && fuzz ;;
lint) lint ;;
test) run_tests ;;
nodiv) nodiv ;;
fuzz) fuzz ;;
bench) bench ;;
corpus) corpus ;;
*) die "usage: $0 [all|lint|test|nodiv|fuzz|bench|corpus]" ;;
esac
