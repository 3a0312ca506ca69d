#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the build and test dependencies.  Idempotent: does nothing when all are present.
. "$(dirname "$0")/lib.sh"

PKGS=(clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc libelf-dev libssl-dev cpio
      qemu-system-x86 busybox-static ndctl daxctl xz-utils dpkg-dev git make gcc perl python3
      rsync kmod e2fsprogs python3-docutils python3-ply python3-git gdb
      debhelper libdw-dev python3-venv)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || die "apt-get install failed for: ${missing[*]}"
fi

command -v rustup >/dev/null || die "rustup not found: install a Rust toolchain with rustup"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "adding rust-src"
	rustup component add rust-src || die "rustup component add rust-src failed"
fi
if ! bindgen --version 2>/dev/null | grep -q '0\.71\.1'; then
	log "installing bindgen-cli 0.71.1"
	cargo install --locked bindgen-cli --version 0.71.1 -q || die "cargo install bindgen-cli failed"
fi

for t in clang-19 ld.lld-19 qemu-system-x86_64 busybox ndctl daxctl cxl bindgen; do
	command -v "$t" >/dev/null || die "missing tool after setup: $t"
done
