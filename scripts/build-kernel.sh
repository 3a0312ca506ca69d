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

if [ ! -d "$DIR/src/.git" ]; then
	log "kernel ($FLAVOR): new tree"
	rm -rf "$DIR/src"
	git clone -q "$BASE" "$DIR/src"
fi
src=(git -C "$DIR/src")
"${src[@]}" am --abort >/dev/null 2>&1 || true
if [ -n "$("${src[@]}" status --porcelain --untracked-files=no)" ]; then
	die "$DIR/src has uncommitted changes: commit them and run 'make series', or discard them"
fi
applied=$(cat "$DIR/applied-head" 2>/dev/null || true)
if [ -n "$applied" ] && [ "$("${src[@]}" rev-parse HEAD)" != "$applied" ]; then
	die "$DIR/src has commits that are not in kernel/series: run 'make series' first"
fi
"${src[@]}" config user.name "famfs-iomap build"
"${src[@]}" config user.email "famfs-iomap@localhost"

# Apply the series in a worktree of its own, then move the build tree to the result: only
# the files that differ from what was built last are rewritten, so make recompiles only what
# the change touched.  A patch that does not apply stops everything.
apply=$DIR/apply
if [ ! -d "$apply/.git" ] && [ ! -f "$apply/.git" ]; then
	"${src[@]}" worktree prune
	rm -rf "$apply"
	"${src[@]}" worktree add -q -f --detach "$apply" base
fi
app=(git -C "$apply")
"${app[@]}" am --abort >/dev/null 2>&1 || true
"${app[@]}" checkout -q -f --detach base
if [ -f "$TOP/kernel/series/series" ]; then
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$TOP/kernel/series/$p" ] || die "series names $p, which is not in kernel/series/"
		if ! "${app[@]}" am -q --3way "$TOP/kernel/series/$p" >&2; then
			"${app[@]}" am --abort >/dev/null 2>&1 || true
			die "patch kernel/series/$p does not apply to Linux $KVER"
		fi
	done < "$TOP/kernel/series/series"
fi
"${src[@]}" checkout -q -f -B famfs "$("${app[@]}" rev-parse HEAD)"

"${src[@]}" rev-parse HEAD > "$DIR/applied-head"

cfg=$DIR/build/.config
"${MK[@]}" tinyconfig >/dev/null
(cd "$DIR/build" && KCONFIG_CONFIG=.config "$DIR/src/scripts/kconfig/merge_config.sh" \
	-m -O . .config $(kernel_fragments) >/dev/null)
"${MK[@]}" olddefconfig >/dev/null

# Every option the fragment asks for must have survived olddefconfig.
bad=0
while read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*} val=${line#*=}
	if ! grep -qx "$sym=$val" "$cfg"; then
		echo "config: $line requested, got: $(grep "^$sym=\|# $sym is not set" "$cfg" || echo missing)" >&2
		bad=1
	fi
done < <(kernel_fragments | xargs cat)
[ $bad = 0 ] || die "kernel config fragment not satisfied (is the Rust toolchain complete? see above)"

log "building kernel $KEY (about 13 minutes on 2 cores the first time)"
start=$(date +%s)
if ! "${MK[@]}" -j"$(nproc)" bzImage modules headers > "$DIR/build.log" 2>&1; then
	tail -n 40 "$DIR/build.log" >&2
	die "kernel build failed; full log: $DIR/build.log"
fi
log "kernel built in $(( $(date +%s) - start )) s"
echo "$KEY" > "$STAMP"
echo "$DIR/build"
