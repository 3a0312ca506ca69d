#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel (pinned source + kernel/series + kernel/config) into the cache.
#
# The result lives in $FAMFS_CACHE/kernel/<key>/{src,build}, where <key> hashes the kernel
# version, the series and the config fragment.  An unchanged key is never rebuilt.
# Prints the build directory on stdout.
. "$(dirname "$0")/lib.sh"

KEY=$(kernel_key)
DIR=$FAMFS_CACHE/kernel/$KEY
if [ -f "$DIR/build/.famfs-built" ]; then
	# Sanitized uapi headers for the test programs (cheap; done once per build).
	if [ ! -f "$DIR/build/usr/include/linux/fuse.h" ]; then
		make -s -C "$DIR/src" O="$DIR/build" LLVM=$LLVM_SUFFIX headers >&2 \
			|| die "make headers failed"
	fi
	echo "$DIR/build"
	exit 0
fi

BASE=$(bash "$TOP/scripts/fetch-kernel.sh")
mkdir -p "$DIR/build"
# A directory without a stamp is an interrupted build: reuse it, make picks up where it was.
if [ ! -d "$DIR/src/.git" ]; then
	log "kernel $KEY: new tree"
	rm -rf "$DIR/src"
	git clone -q "$BASE" "$DIR/src"
fi
git -C "$DIR/src" am --abort >/dev/null 2>&1 || true
git -C "$DIR/src" checkout -q -f -B famfs base
git -C "$DIR/src" config user.name "famfs-iomap build"
git -C "$DIR/src" config user.email "famfs-iomap@localhost"

# Apply the series.  A patch that does not apply stops everything.
if [ -f "$TOP/kernel/series/series" ]; then
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$TOP/kernel/series/$p" ] || die "series names $p, which is not in kernel/series/"
		if ! git -C "$DIR/src" am -q --3way "$TOP/kernel/series/$p" >&2; then
			git -C "$DIR/src" am --abort >/dev/null 2>&1 || true
			die "patch kernel/series/$p does not apply to Linux $KVER"
		fi
	done < "$TOP/kernel/series/series"
fi

MK=(make -s -C "$DIR/src" O="$DIR/build" LLVM=$LLVM_SUFFIX)
cfg=$DIR/build/.config
"${MK[@]}" tinyconfig >/dev/null
(cd "$DIR/build" && KCONFIG_CONFIG=.config "$DIR/src/scripts/kconfig/merge_config.sh" \
	-m -O . .config "$TOP"/kernel/config/*.config >/dev/null)
"${MK[@]}" olddefconfig >/dev/null

# Every option the fragment asks for must have survived olddefconfig.
bad=0
while read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		grep -q "^$sym=" "$cfg" && { echo "config: $sym should be off" >&2; bad=1; }
	elif ! grep -qx "$sym=$val" "$cfg"; then
		echo "config: $line requested, got: $(grep "^$sym=\|# $sym is not set" "$cfg" || echo missing)" >&2
		bad=1
	fi
done < <(cat "$TOP"/kernel/config/*.config)
[ $bad = 0 ] || die "kernel config fragment not satisfied (is the Rust toolchain complete? see above)"

log "building kernel $KEY (this takes a while the first time)"
start=$(date +%s)
if ! "${MK[@]}" -j"$(nproc)" bzImage modules headers > "$DIR/build.log" 2>&1; then
	tail -n 40 "$DIR/build.log" >&2
	die "kernel build failed; full log: $DIR/build.log"
fi
log "kernel built in $(( $(date +%s) - start )) s"
echo "$KEY" > "$DIR/build/.famfs-built"

# Keep the three most recent kernels.
ls -td "$FAMFS_CACHE"/kernel/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
echo "$DIR/build"
