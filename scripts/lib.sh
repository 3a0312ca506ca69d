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

# The config fragments of the flavor, in merge order.
kernel_fragments() {
	echo "$TOP/kernel/config/famfs.config"
	[ "$KERNEL_FLAVOR" = base ] || echo "$TOP/kernel/config/$KERNEL_FLAVOR.config"
}

# Hash of everything that goes into the kernel build: version, series, config fragments.
kernel_key() {
	{
		echo "$KPKG_VERSION $KTAR_SHA256"
		cat "$TOP/kernel/series/series" 2>/dev/null || true
		while read -r p; do
			case "$p" in ''|'#'*) continue ;; esac
			cat "$TOP/kernel/series/$p"
		done < <(cat "$TOP/kernel/series/series" 2>/dev/null || true)
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
