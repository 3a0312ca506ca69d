#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel (pinned source + kernel/series + kernel/config) into the cache.
#
# The tree lives in $FAMFS_CACHE/kernel/<flavor>/{src,build}.  The build records the key of its
# inputs (kernel version, series, config fragment); an unchanged key is never rebuilt.  A new
# key re-applies the series to the same tree, so make recompiles only what the series changed.
# Prints the build directory on stdout.
. "$(dirname "$0")/lib.sh"

FLAVOR=$KERNEL_FLAVOR
KEY=$(kernel_key)
DIR=$FAMFS_CACHE/kernel/$FLAVOR
STAMP=$DIR/build/.famfs-built
MK=(make -s -C "$DIR/src" O="$DIR/build" LLVM=$LLVM_SUFFIX)

if [ "$(cat "$STAMP" 2>/dev/null)" = "$KEY" ]; then
	# Sanitized uapi headers for the test programs (cheap; done once per build).
	if [ ! -f "$DIR/build/usr/include/linux/fuse.h" ]; then
		"${MK[@]}" headers >&2 || die "make headers failed"
	fi
	echo "$DIR/build"
	exit 0
fi

BASE=$(bash "$TOP/scripts/fetch-kernel.sh")
mkdir -p "$DIR/build"
exec 9> "$DIR/lock"
flock 9
rm -f "$STAMP"

apply_series "$DIR" "$BASE"

cfg=$DIR/build/.config
"${MK[@]}" tinyconfig >/dev/null
(cd "$DIR/build" && KCONFIG_CONFIG=.config "$DIR/src/scripts/kconfig/merge_config.sh" \
	-m -O . .config $(kernel_fragments) >/dev/null)
"${MK[@]}" olddefconfig >/dev/null

# Every option the fragment asks for must have survived olddefconfig.
check_config "$DIR/src" "$cfg" $(kernel_fragments) ||
	die "kernel config fragment not satisfied (is the Rust toolchain complete? see above)"

log "building kernel $KEY (about 13 minutes on 2 cores the first time)"
start=$(date +%s)
if ! "${MK[@]}" -j"$(nproc)" bzImage modules headers > "$DIR/build.log" 2>&1; then
	tail -n 40 "$DIR/build.log" >&2
	die "kernel build failed; full log: $DIR/build.log"
fi
log "kernel built in $(( $(date +%s) - start )) s"
echo "$KEY" > "$STAMP"
echo "$DIR/build"
