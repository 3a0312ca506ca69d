#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest initramfs: busybox, ndctl/daxctl/cxl with their libraries, the module, the test
# programs and the guest scripts.  Usage: build-initramfs.sh KDIR OUT
. "$(dirname "$0")/lib.sh"

KDIR=$1
OUT=$2
KSRC=$(readlink -f "$KDIR/source" 2>/dev/null || echo "$KDIR")

ROOT=$(mktemp -d "$FAMFS_WORK/initramfs.XXXXXX")
chmod 755 "$ROOT"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,mnt,famfs/bin,famfs/tests}

BB=$(command -v busybox)
file -L "$BB" 2>/dev/null | grep -q 'statically linked' || [ -f /bin/busybox ] ||
	die "busybox-static is not installed"
cp "$BB" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
	[ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done

# A dynamic program and every library it needs.  Usage: copy_prog PATH DESTDIR
copy_prog() {
	local lib
	cp "$1" "$ROOT/$2/"
	for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+'); do
		[ -f "$lib" ] || continue
		mkdir -p "$ROOT/$(dirname "$lib")"
		cp -L "$lib" "$ROOT/$lib"
	done
}
for t in ndctl daxctl cxl mke2fs; do
	copy_prog "$(command -v "$t")" usr/bin || die "$t not found on the host"
done
# Programs the project builds (famfs CLI and server).
for b in ${FAMFS_GUEST_BINS:-}; do
	[ -x "$b" ] || die "guest binary $b missing"
	copy_prog "$b" famfs/bin
done

# The fmap replay test: the host model (built by vm.sh) and the fuzzing seed corpus, at most
# 256 files of at most 64 KiB each (the corpus has 53 of at most 4 KiB).
if [ -n "${FMAP_MODEL:-}" ]; then
	[ -x "$FMAP_MODEL" ] || die "fmap_model missing: $FMAP_MODEL"
	copy_prog "$FMAP_MODEL" famfs/bin
fi
mkdir -p "$ROOT/famfs/fmap-corpus"
find "$TOP/rust/fmap-host/fuzz/corpus/parse_resolve" -maxdepth 1 -type f -size -65k | sort |
	head -n 256 | xargs -r cp -t "$ROOT/famfs/fmap-corpus/"

cp "$TOP/guest/init" "$ROOT/init"
chmod +x "$ROOT/init"
cp "$TOP"/guest/*.sh "$ROOT/famfs/"
# famfs's command line: mkfs.famfs is the famfs program under that name; the compatibility
# test runs with the tests, with the famfs-made fixture that sits beside the clone.
[ -x "$ROOT/famfs/bin/famfs" ] && ln -sf famfs "$ROOT/famfs/bin/mkfs.famfs"
cp "$TOP/guest/famfs_compat.sh" "$ROOT/famfs/tests/"
FIXTURE=$TOP/../shared/fixtures/famfs-real
if [ -f "$FIXTURE/meta.img.xz" ]; then
	mkdir -p "$ROOT/famfs/fixture"
	cp -r "$FIXTURE/meta.img.xz" "$FIXTURE/expected-yaml" "$ROOT/famfs/fixture/"
	chmod -R u+w "$ROOT/famfs/fixture"
fi
# The module built for this kernel (MODULE_KO), by default the clone's.
MODULE_KO=${MODULE_KO:-$TOP/rust/famfs_iomap.ko}
[ -f "$MODULE_KO" ] && cp "$MODULE_KO" "$ROOT/famfs/"
# The provider sample of the kernel series, built with the kernel (CONFIG_SAMPLE_RUST_FUSE_IOMAP).
[ -f "$KDIR/samples/rust/rust_fuse_iomap.ko" ] && cp "$KDIR/samples/rust/rust_fuse_iomap.ko" "$ROOT/famfs/"

# Test modules (the fuse iomap-DAX test provider): built against this kernel in a copy, so the
# clone stays clean.  The guest loads every /famfs/*.ko before the tests.
for mdir in "$TOP"/selftests/*/Kbuild; do
	[ -f "$mdir" ] || continue
	name=$(basename "$(dirname "$mdir")")
	mbuild=$FAMFS_WORK/selftests-modules/$KERNEL_FLAVOR/$name
	mkdir -p "$mbuild"
	cp "$(dirname "$mdir")"/* "$mbuild/"
	make -s -C "$KDIR" LLVM=$LLVM_SUFFIX M="$mbuild" modules >&2 ||
		die "building the test module $name failed"
	cp "$mbuild"/*.ko "$ROOT/famfs/"
done

make -s -C "$TOP/selftests" KSRC="$KSRC" KHDR="$KDIR/usr/include" \
	O="$FAMFS_WORK/selftests" >&2 || die "building the test programs failed"
find "$FAMFS_WORK/selftests" -type f -perm -u+x -exec cp {} "$ROOT/famfs/tests/" \;
make -s -C "$TOP/bench" KHDR="$KDIR/usr/include" O="$FAMFS_WORK/bench" >&2 ||
	die "building the benchmark failed"
cp "$FAMFS_WORK/bench/dax_bench" "$ROOT/famfs/bin/"
# mmapio: stdin/stdout to and from a shared mapping (the two-host tests).
cc -static -O2 -Wall -Werror -o "$FAMFS_WORK/mmapio" "$TOP/guest/mmapio.c" ||
	die "building guest/mmapio.c failed"
cp "$FAMFS_WORK/mmapio" "$ROOT/famfs/bin/"

echo "root:x:0:0:root:/:/bin/sh" > "$ROOT/etc/passwd"
echo "root:x:0:" > "$ROOT/etc/group"
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
