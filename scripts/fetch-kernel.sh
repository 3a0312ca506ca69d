#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the pinned kernel source and make it a git tree whose first commit is the import.
#
# The source comes from Debian's linux-source-7.3 binary package (trixie-backports), fetched with
# `apt-get download` through a private apt configuration so the machine's own apt state is left
# untouched.  The archive URI is taken from the machine's own Debian sources.
. "$(dirname "$0")/lib.sh"

SRC=$FAMFS_CACHE/src/linux-$KVER
STAMP=$SRC/.famfs-imported
[ -f "$STAMP" ] && { echo "$SRC"; exit 0; }

APT=$FAMFS_CACHE/apt
DEB=$FAMFS_CACHE/dl/${KPKG}_${KPKG_VERSION//:/%3a}_all.deb
mkdir -p "$FAMFS_CACHE/dl"

deb_ok() { [ -f "$DEB" ] && echo "$KPKG_SHA256  $DEB" | sha256sum -c --quiet - 2>/dev/null; }

if ! deb_ok; then
	private_apt "$APT" trixie-backports
	log "fetching $KPKG=$KPKG_VERSION"
	# stdout carries only the source path: apt's progress goes to stderr.
	apt-get "${APT_OPTS[@]}" update -qq >&2 || die "private apt update for trixie-backports failed"
	(cd "$FAMFS_CACHE/dl" && apt-get "${APT_OPTS[@]}" download "$KPKG=$KPKG_VERSION") >&2 \
		|| die "apt-get download $KPKG=$KPKG_VERSION failed"
	deb_ok || die "sha256 mismatch for $DEB (want $KPKG_SHA256)"
fi

log "unpacking $KTAR"
tmp=$FAMFS_CACHE/tmp-extract
rm -rf "$tmp" "$SRC"
mkdir -p "$tmp" "$(dirname "$SRC")"
dpkg-deb -x "$DEB" "$tmp"
echo "$KTAR_SHA256  $tmp/$KTAR" | sha256sum -c --quiet - || die "sha256 mismatch for $KTAR"
tar -C "$tmp" -xf "$tmp/$KTAR"
mv "$tmp/linux-source-7.3" "$SRC"
rm -rf "$tmp"

cd "$SRC"
git init -q
git config user.name "famfs-iomap import"
git config user.email "famfs-iomap@localhost"
git config core.autocrlf false
git add -A -f . >/dev/null
git commit -q -m "Linux $KVER (Debian $KPKG $KPKG_VERSION)"
git tag base
touch "$STAMP"
echo "$SRC"
