#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build famfs_iomap.ko out of tree against $KDIR (default: the cached kernel build of
# $KERNEL_FLAVOR; or an installed headers package, /usr/src/linux-headers-<release>).  With MODULE_OUT=DIR the sources are copied there and built there, so the
# clone's rust/famfs_iomap.ko stays the base flavor's.  Prints the path of the .ko.
. "$(dirname "$0")/lib.sh"

KDIR=${KDIR:-$(bash "$TOP/scripts/build-kernel.sh")}
[ -f "$KDIR/Module.symvers" ] || [ -f "$KDIR/.config" ] || die "KDIR=$KDIR is not a kernel build tree"
# A headers package (/usr/src/linux-headers-*) has the configuration only as auto.conf.
cfg=$KDIR/.config
[ -f "$cfg" ] || cfg=$KDIR/include/config/auto.conf
grep -q '^CONFIG_RUST=y' "$cfg" || die "kernel at $KDIR is built without CONFIG_RUST"
grep -q '^CONFIG_RUST_FUSE_IOMAP_DAX=y' "$cfg" ||
	die "kernel at $KDIR lacks CONFIG_RUST_FUSE_IOMAP_DAX (the fuse iomap-DAX Rust abstractions; FUSE must be built in)"
# Do not build against a cached kernel while it is being rebuilt.
lock=/dev/null
[ -f "$KDIR/../lock" ] && lock=$KDIR/../lock
M=$TOP
if [ -n "${MODULE_OUT:-}" ]; then
	M=$MODULE_OUT
	mkdir -p "$M/rust" "$M/include"
	cp "$TOP/Kbuild" "$M/"
	cp "$TOP"/rust/Kbuild "$TOP"/rust/*.rs "$M/rust/"
	cp -r "$TOP/include/." "$M/include/"
fi
if ! flock "$lock" make -s -C "$KDIR" LLVM=$LLVM_SUFFIX M="$M" ${CLIPPY:+CLIPPY=1} modules >&2; then
	die "module build failed"
fi
[ -f "$M/rust/famfs_iomap.ko" ] || die "module build produced no $M/rust/famfs_iomap.ko"
echo "$M/rust/famfs_iomap.ko"
