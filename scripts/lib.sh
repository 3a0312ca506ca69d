# SPDX-License-Identifier: GPL-2.0
# Common settings for the famfs-iomap scripts.  Source it; do not run it.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TOP

# Pinned kernel source: Debian's linux-source-7.3 binary package.
KVER=7.3.4
KPKG=linux-source-7.3
KPKG_VERSION=7.3.4-1~bpo13+1
KPKG_SHA256=703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3
KTAR=usr/src/linux-source-7.3.tar.xz
KTAR_SHA256=76df1affb19f24926949369be1d74b60071c963c598ce8780bddd4bbf0fc3bc4

# Everything built lives here, outside the clone.
FAMFS_CACHE=${FAMFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/famfs-iomap}
export FAMFS_CACHE
# Outputs of this clone (initramfs, test programs, logs): clones do not share them.
FAMFS_WORK=${FAMFS_WORK:-$FAMFS_CACHE/work/$(printf '%s' "$TOP" | sha256sum | cut -c1-12)}
export FAMFS_WORK
mkdir -p "$FAMFS_WORK"

LLVM_SUFFIX=-19
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Kernel flavors: "base" (famfs.config) and "debug" (famfs.config + debug.config: KASAN, lockdep,
# kmemleak, ...).  Each has its own tree and build in the cache.
KERNEL_FLAVOR=${KERNEL_FLAVOR:-base}
case "$KERNEL_FLAVOR" in base|debug) ;; *) echo "error: unknown KERNEL_FLAVOR=$KERNEL_FLAVOR" >&2; exit 1 ;; esac
export KERNEL_FLAVOR

# An experiment: kernel/experiments/NAME.patch applied after the series, for measurements only
# (Documentation/performance.rst).  It is part of the kernel's key, so the flavor's tree is
# rebuilt, incrementally, with it and again without it.
KERNEL_EXPERIMENT=${KERNEL_EXPERIMENT:-}
if [ -n "$KERNEL_EXPERIMENT" ] && [ ! -f "$TOP/kernel/experiments/$KERNEL_EXPERIMENT.patch" ]; then
	echo "error: no kernel/experiments/$KERNEL_EXPERIMENT.patch" >&2
	exit 1
fi
export KERNEL_EXPERIMENT

# The config fragments of the flavor, in merge order.
kernel_fragments() {
	echo "$TOP/kernel/config/famfs.config"
	[ "$KERNEL_FLAVOR" = base ] || echo "$TOP/kernel/config/$KERNEL_FLAVOR.config"
}

# The kernel source version and the series, as text to hash.
kernel_source_id() {
	echo "$KPKG_VERSION $KTAR_SHA256"
	cat "$TOP/kernel/series/series" 2>/dev/null || true
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		cat "$TOP/kernel/series/$p"
	done < <(cat "$TOP/kernel/series/series" 2>/dev/null || true)
	if [ -n "$KERNEL_EXPERIMENT" ]; then
		echo "experiment $KERNEL_EXPERIMENT"
		cat "$TOP/kernel/experiments/$KERNEL_EXPERIMENT.patch"
	fi
}

# Hash of everything that goes into the kernel build: version, series, config fragments.
kernel_key() {
	{
		kernel_source_id
		kernel_fragments | xargs cat
		echo "$KERNEL_FLAVOR"
	} | sha256sum | cut -c1-16
}

# A private apt configuration for one suite of the machine's Debian archive, under DIR: own
# sources list, state and cache, so that `apt-get "${APT_OPTS[@]}" update|download` leaves the
# machine's apt state alone.  Usage: private_apt DIR SUITE; sets APT_OPTS.
private_apt() {
	local dir=$1 suite=$2 uri
	mkdir -p "$dir"/{lists/partial,archives/partial,etc/preferences.d}
	uri=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null || true) |
		grep -oE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' | head -n1 | awk '{print $2}')
	[ -n "$uri" ] || die "no Debian archive URI found in the machine's apt sources"
	printf 'deb [signed-by=%s] %s %s main\n' /usr/share/keyrings/debian-archive-keyring.gpg \
		"$uri" "$suite" > "$dir/etc/sources.list"
	APT_OPTS=(-o Dir::Etc::SourceList="$dir/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
		  -o Dir::Etc::Preferences=/dev/null
		  -o Dir::Etc::PreferencesParts="$dir/etc/preferences.d"
		  -o Dir::State="$dir" -o Dir::State::Lists="$dir/lists"
		  -o Dir::State::status=/dev/null -o Dir::Cache="$dir"
		  -o Dir::Cache::Archives="$dir/archives" -o APT::Architecture=amd64
		  -o APT::Sandbox::User=root -o Debug::NoLocking=1)
}

# Apply kernel/series to the kernel tree under DIR (DIR/src, a clone of the imported source
# BASE; DIR/apply, a worktree of it; DIR/applied-head, the last result).  The series is applied
# with git am in the worktree, then DIR/src's branch famfs is moved to the result: only the
# files that differ from what was built last are rewritten, so make recompiles only what the
# change touched.  A patch that does not apply stops everything.  Usage: apply_series DIR BASE
apply_series() {
	local dir=$1 base=$2 applied p
	if [ ! -d "$dir/src/.git" ]; then
		log "kernel ($(basename "$dir")): new tree"
		rm -rf "$dir/src"
		git clone -q "$base" "$dir/src"
	fi
	local src=(git -C "$dir/src")
	"${src[@]}" am --abort >/dev/null 2>&1 || true
	if [ -n "$("${src[@]}" status --porcelain --untracked-files=no)" ]; then
		die "$dir/src has uncommitted changes: commit them and run 'make series', or discard them"
	fi
	applied=$(cat "$dir/applied-head" 2>/dev/null || true)
	if [ -n "$applied" ] && [ "$("${src[@]}" rev-parse HEAD)" != "$applied" ]; then
		die "$dir/src has commits that are not in kernel/series: run 'make series' first"
	fi
	"${src[@]}" config user.name "famfs-iomap build"
	"${src[@]}" config user.email "famfs-iomap@localhost"

	local apply=$dir/apply
	if [ ! -d "$apply/.git" ] && [ ! -f "$apply/.git" ]; then
		"${src[@]}" worktree prune
		rm -rf "$apply"
		"${src[@]}" worktree add -q -f --detach "$apply" base
	fi
	local app=(git -C "$apply")
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
	if [ -n "$KERNEL_EXPERIMENT" ]; then
		p=$TOP/kernel/experiments/$KERNEL_EXPERIMENT.patch
		log "kernel ($(basename "$dir")): with the experiment $KERNEL_EXPERIMENT"
		if ! "${app[@]}" am -q --3way "$p" >&2; then
			"${app[@]}" am --abort >/dev/null 2>&1 || true
			die "kernel/experiments/$KERNEL_EXPERIMENT.patch does not apply on kernel/series"
		fi
	fi
	"${src[@]}" checkout -q -f -B famfs "$("${app[@]}" rev-parse HEAD)"
	"${src[@]}" rev-parse HEAD > "$dir/applied-head"
}

# Every option that the fragments FRAGMENT... ask for must have its value in the .config CFG
# (after olddefconfig).  Prints one line per option that did not take its value, with the
# option's dependencies from the Kconfig files of the source tree SRC when it has any; fails
# if there was one.  Usage: check_config SRC CFG FRAGMENT...
check_config() {
	local srctree=$1 cfg=$2 line sym val deps bad=0
	shift 2
	while read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} val=${line#*=} ;;
		'# CONFIG_'*' is not set') sym=${line#\# } sym=${sym%% *} val=n ;;
		*) continue ;;
		esac
		if [ "$val" = n ]; then
			grep -q "^$sym=" "$cfg" || continue
		elif grep -qxF "$sym=$val" "$cfg"; then
			continue
		fi
		echo "config: $line requested, got: $(grep "^$sym=\|^# $sym is not set" "$cfg" || echo missing)" >&2
		deps=$(grep -rh -A20 --include='Kconfig*' "^\(menu\)\?config ${sym#CONFIG_}\$" "$srctree" 2>/dev/null |
			sed -n '2,$p' | sed '/^\(menu\)\?config \|^endmenu\|^if \|^choice/,$d' |
			grep -E '^\s+depends on' | sed 's/^\s*/    /' || true)
		[ -z "$deps" ] || printf '%s\n' "$deps" >&2
		bad=1
	done < <(cat "$@")
	[ $bad = 0 ]
}

# The files the kernel series carries from this repository (kernel/in-tree.list), one pair a
# line, "<repo path> <kernel path>", relative to TOP and to KSRC.  A directory pair is expanded
# to the *.c, *.h and *.rs files found in either directory, so a file on one side only is
# listed too (its other path does not exist).  Usage: in_tree_pairs KSRC.
in_tree_pairs() {
	local ksrc=$1 src dst f
	while read -r src dst; do
		case "$src" in ''|'#'*) continue ;; esac
		case "$src" in
		*/)
			for f in "$TOP/$src"* "$ksrc/$dst"*; do
				case "$f" in *.c|*.h|*.rs) [ -f "$f" ] && basename "$f" ;; esac
			done | sort -u | while read -r f; do
				echo "$src$f $dst$f"
			done ;;
		*) echo "$src $dst" ;;
		esac
	done < "$TOP/kernel/in-tree.list"
}
