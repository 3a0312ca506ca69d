#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build famfs_iomap.ko out of tree against $KDIR (default: the cached kernel build).
. "$(dirname "$0")/lib.sh"

KDIR=${KDIR:-$(bash "$TOP/scripts/build-kernel.sh")}
[ -f "$KDIR/Module.symvers" ] || [ -f "$KDIR/.config" ] || die "KDIR=$KDIR is not a kernel build tree"
grep -q '^CONFIG_RUST=y' "$KDIR/.config" || die "kernel at $KDIR is built without CONFIG_RUST"
# Do not build against a cached kernel while it is being rebuilt.
lock=/dev/null
[ -f "$KDIR/../lock" ] && lock=$KDIR/../lock
if ! flock "$lock" make -s -C "$KDIR" LLVM=$LLVM_SUFFIX M="$TOP" ${CLIPPY:+CLIPPY=1} modules >&2; then
	die "module build failed"
fi
[ -f "$TOP/rust/famfs_iomap.ko" ] || die "module build produced no rust/famfs_iomap.ko"
echo "$TOP/rust/famfs_iomap.ko"
