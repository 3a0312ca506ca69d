#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch a QEMU that emulates CXL type-3 volatile memory (cxl-type3 volatile-memdev, QEMU 8.0
# and later) and print the path of its qemu-system-x86_64 wrapper.  The wrapper runs the
# unpacked binary with its own firmware (-L).
#
# Debian 12's QEMU (7.2) has only persistent cxl-type3 memory.  The packages come from
# bookworm-backports at pinned versions, fetched with `apt-get download` through a private apt
# configuration (own sources list, state and cache under the cache directory, the archive URI
# read from the machine's apt sources), checked against their sha256 and unpacked with
# `dpkg-deb -x`: the machine's apt and dpkg state are not changed.  The binary uses the
# machine's shared libraries (the dependencies of Debian 12's qemu-system-x86, installed by
# setup-deps.sh); a library that does not resolve fails here, naming it.
. "$(dirname "$0")/lib.sh"

QEMU_VERSION=1:10.0.2+ds-2+deb13u1~bpo12+1
SEABIOS_VERSION=1.16.3-2~bpo12+1
# package version sha256
QEMU_DEBS=(
	"qemu-system-x86 $QEMU_VERSION amd64 4a6b1856c8b0d7df4ff8e70249e12c473ccf8d516aadb4ae14d3d938faed0c65"
	"qemu-system-common $QEMU_VERSION amd64 23a4672a138832d7173855e981aa8282c73ef5e04e080fa7ada9f82c6b34f507"
	"qemu-system-data $QEMU_VERSION all 2d831088187087013b3fcbd19bdfb955b182a2d5a08f6dafa0ad1c6d2007fb4e"
	"seabios $SEABIOS_VERSION all 48390d0a534c66d11789e39518aa219773a9d3677b29fe1af8799dfb563ec713"
)

DEST=$FAMFS_CACHE/qemu-${QEMU_VERSION#*:}
WRAP=$DEST/qemu-system-x86_64
STAMP=$DEST/.famfs-unpacked
if [ -f "$STAMP" ] && [ -x "$WRAP" ]; then
	echo "$WRAP"
	exit 0
fi

APT=$FAMFS_CACHE/apt-bookworm-backports
DL=$FAMFS_CACHE/dl
mkdir -p "$DL"

deb_path() { # deb_path PACKAGE VERSION ARCH: the file apt-get download writes
	local v=${2//:/%3a}
	echo "$DL/${1}_${v}_$3.deb"
}
deb_ok() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet - 2>/dev/null; }

need=()
for d in "${QEMU_DEBS[@]}"; do
	read -r p v a s <<< "$d"
	deb_ok "$(deb_path "$p" "$v" "$a")" "$s" || need+=("$p=$v")
done

if [ ${#need[@]} -gt 0 ]; then
	private_apt "$APT" bookworm-backports
	log "fetching ${need[*]}"
	apt-get "${APT_OPTS[@]}" update -qq >&2 || die "private apt update for bookworm-backports failed"
	(cd "$DL" && apt-get "${APT_OPTS[@]}" download "${need[@]}") >&2 ||
		die "apt-get download ${need[*]} failed"
	for d in "${QEMU_DEBS[@]}"; do
		read -r p v a s <<< "$d"
		deb_ok "$(deb_path "$p" "$v" "$a")" "$s" ||
			die "sha256 mismatch for $(deb_path "$p" "$v" "$a") (want $s)"
	done
fi

log "unpacking QEMU ${QEMU_VERSION#*:} into $DEST"
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp/root"
for d in "${QEMU_DEBS[@]}"; do
	read -r p v a s <<< "$d"
	dpkg-deb -x "$(deb_path "$p" "$v" "$a")" "$DEST.tmp/root"
done
# Paths inside the unpacked packages.
exe=usr/bin/qemu-system-x86_64
bin=$DEST/root/$exe
[ -x "$DEST.tmp/root/$exe" ] || die "no qemu-system-x86_64 in the packages"
missing=$(ldd "$DEST.tmp/root/$exe" | awk '/not found/ {print $1}' | tr '\n' ' ')
[ -z "$missing" ] || die "QEMU ${QEMU_VERSION#*:} needs libraries this machine lacks: $missing"

fw_seabios=usr/share/seabios
fw_qemu=usr/share/qemu
# Firmware: qemu-system-data's /usr/share/qemu (its bios.bin etc. are links into seabios's
# /usr/share/seabios, resolved inside the unpacked tree by the wrapper's -L order).
cat > "$DEST.tmp/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU ${QEMU_VERSION#*:} from bookworm-backports, unpacked by scripts/fetch-qemu.sh.
exec "$bin" -L "$DEST/root/${fw_seabios}" -L "$DEST/root/${fw_qemu}" "\$@"
EOF
chmod +x "$DEST.tmp/qemu-system-x86_64"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
touch "$STAMP"
"$WRAP" --version | head -n 1 >&2
echo "$WRAP"
