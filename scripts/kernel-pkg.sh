#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Debian packages of the kernel with our series (make bindeb-pkg), and famfs_iomap.ko in a
# package of its own, built against the headers package.
#
#   kernel-pkg.sh [CONFIG]  build (or find) the packages, print the directory that holds them
#   kernel-pkg.sh check     make check's step, on the base flavor: TAP on stdout
#
# Without CONFIG the kernel is the base flavor's cached build (scripts/build-kernel.sh),
# packaged where it was built: with a package version without a Debian revision, debian/rules
# passes no KBUILD_BUILD_VERSION and nothing is recompiled or relinked.  The packaging is
# checked to leave vmlinux, bzImage, the modules, .config, .version and the release as they
# were (sha256 before and after), and its debian/ directory is removed.  The packages are kept
# in $FAMFS_CACHE/kernel-pkg/base-<key of the base build>/.
#
# With CONFIG (a kernel configuration, e.g. /boot/config-$(uname -r)), the series is applied
# to a tree of its own ($FAMFS_CACHE/kernel-pkg/src), the configuration is CONFIG with
# kernel/config/host.config merged and olddefconfig, and the kernel is built by bindeb-pkg in
# $FAMFS_CACHE/kernel-pkg/<key>/build, where key hashes the source, the series, CONFIG and
# host.config: a second run with the same inputs only rebuilds the module package.
#
# The upstream headers package carries no Rust metadata, so no Rust module can be built
# against it; the Rust crates' metadata and proc macros of the build (rust/*.rmeta, rust/*.so)
# are added to it.
. "$(dirname "$0")/lib.sh"

PKG_CACHE=$FAMFS_CACHE/kernel-pkg
KBUILD_LOCK=$FAMFS_CACHE/kbuild.lock
mkdir -p "$PKG_CACHE"

# What packaging must not change in a build tree, as sha256sum lines.
fingerprint() {
	local kdir=$1
	(cd "$kdir" && sha256sum vmlinux arch/x86/boot/bzImage .config .version \
		include/config/kernel.release include/generated/utsversion.h init/utsversion-tmp.h \
		Module.symvers $(sed 's/\.o$/.ko/' modules.order))
}

# Add the Rust metadata of the build tree KDIR to the headers package DEB.  (Callers run this
# inside `if pkgdir=$(...)`, where set -e does not apply: every step dies on its own.)
add_rust_to_headers() {
	local deb=$1 kdir=$2 t hdr
	t=$(mktemp -d "$PKG_CACHE/repack.XXXXXX")
	chmod 755 "$t"
	dpkg-deb -R "$deb" "$t" || die "cannot unpack $deb"
	hdr=$(cd "$t" && echo usr/src/linux-headers-*)
	[ -d "$t/$hdr" ] || die "$deb holds no usr/src/linux-headers-*"
	mkdir -p "$t/$hdr/rust"
	cp "$kdir"/rust/*.rmeta "$kdir"/rust/*.so "$t/$hdr/rust/" ||
		die "$kdir/rust has no crate metadata: is the kernel built with CONFIG_RUST?"
	# Helpers in LLVM bitcode (CONFIG_RUST_INLINE_HELPERS) are linked into Rust modules.
	if compgen -G "$kdir/rust/helpers/*.bc" >/dev/null; then
		mkdir -p "$t/$hdr/rust/helpers"
		cp "$kdir"/rust/helpers/*.bc "$t/$hdr/rust/helpers/"
	fi
	(cd "$t" && find "$hdr/rust" -type f -print0 | sort -z | xargs -0 md5sum >> DEBIAN/md5sums) ||
		die "cannot list the Rust metadata of $deb"
	sed -i "s/^Installed-Size: .*/Installed-Size: $(du -sk --exclude=DEBIAN "$t" | cut -f1)/" \
		"$t/DEBIAN/control"
	# xz at its lowest level: 9 s instead of a minute for the 150 MB of metadata.
	dpkg-deb --root-owner-group -Zxz -z1 -b "$t" "$deb" >/dev/null || die "cannot repack $deb"
	rm -rf "$t"
}

# Whether DIR holds the packages of the build tree KDIR as it is now.
packaged() {
	[ -f "$2/.done" ] && (cd "$1" && sha256sum --quiet -c "$2/base.sha256" >/dev/null 2>&1)
}

# The base flavor's build, packaged in place.  Prints the packages' directory.
base_packages() {
	local kdir key out dir rel ver t0=$SECONDS
	kdir=$(KERNEL_FLAVOR=base bash "$TOP/scripts/build-kernel.sh") || die "base kernel build failed"
	key=$(cat "$kdir/.famfs-built")
	out=$PKG_CACHE/base-$key
	# Packages of this very build: the same key is not enough, a tree rebuilt with the same key
	# (after KERNEL_EXPERIMENT, say) is another build.
	if packaged "$kdir" "$out"; then
		echo "$out"
		return
	fi
	dir=$(dirname "$kdir")
	# The same order as `flock kbuild.lock build-kernel.sh`: the make lock, then the tree's.
	exec 8> "$KBUILD_LOCK"
	flock 8
	exec 9> "$dir/lock"
	flock 9
	[ "$(cat "$kdir/.famfs-built" 2>/dev/null)" = "$key" ] ||
		die "the base kernel was rebuilt while this waited for its lock: run again"
	if packaged "$kdir" "$out"; then
		echo "$out"
		return
	fi
	rel=$(cat "$kdir/include/config/kernel.release")
	# No '-' in the version: no Debian revision, so no KBUILD_BUILD_VERSION, so no relink.
	ver=$KVER+famfs$(cat "$kdir/.version")
	rm -rf "$out.tmp" "$kdir/debian"
	rm -f "$dir"/*_"$ver"_*
	mkdir -p "$out.tmp"
	fingerprint "$kdir" > "$out.tmp/base.sha256" || die "base build at $kdir is incomplete"
	log "packaging the base kernel $rel ($ver)"
	if ! nice make -C "$dir/src" O="$kdir" LLVM=$LLVM_SUFFIX KDEB_PKGVERSION="$ver" \
			DPKG_FLAGS=-d -j"$(nproc)" bindeb-pkg > "$out.tmp/bindeb-pkg.log" 2>&1; then
		rm -rf "$kdir/debian"
		rm -f "$dir"/*_"$ver"_*
		tail -n 30 "$out.tmp/bindeb-pkg.log" >&2
		die "make bindeb-pkg failed; log: $out.tmp/bindeb-pkg.log"
	fi
	rm -rf "$kdir/debian"
	mv "$dir"/*_"$ver"_* "$out.tmp/" || die "bindeb-pkg left no packages of $ver in $dir"
	if ! fingerprint "$kdir" | cmp -s - "$out.tmp/base.sha256"; then
		fingerprint "$kdir" | diff "$out.tmp/base.sha256" - >&2
		die "make bindeb-pkg changed the base build (above); it must be rebuilt: rm $kdir/.famfs-built"
	fi
	add_rust_to_headers "$out.tmp/linux-headers-${rel}_${ver}_amd64.deb" "$kdir"
	exec 9>&- 8>&-
	echo "$((SECONDS - t0))" > "$out.tmp/seconds"
	touch "$out.tmp/.done"
	# Packages of older base builds go.
	for d in "$PKG_CACHE"/base-*; do
		[ "$d" = "$out.tmp" ] || rm -rf "$d"
	done
	mv "$out.tmp" "$out"
	echo "$out"
}

# Blank a key file option of CFG (SYSTEM_TRUSTED_KEYS, SYSTEM_REVOCATION_KEYS) that names a
# file the kernel tree SRC does not have, as a distribution's configuration does.
clear_missing_keys() {
	local src=$1 cfg=$2 opt f
	for opt in SYSTEM_TRUSTED_KEYS SYSTEM_REVOCATION_KEYS; do
		f=$(sed -n "s/^CONFIG_$opt=\"\(.*\)\"$/\1/p" "$cfg")
		if [ -n "$f" ] && [ ! -e "$src/$f" ] && [ ! -e "$f" ]; then
			log "config: CONFIG_$opt=\"$f\": no such file here, set to \"\""
			"$src/scripts/config" --file "$cfg" --set-str "$opt" ""
		fi
	done
}

# The kernel of the configuration CONFIG, built by bindeb-pkg.  Prints the packages' directory.
config_packages() {
	local config=$1 key out kdir base src MK t0=$SECONDS
	[ -f "$config" ] || die "CONFIG=$config: no such file"
	key=$({ kernel_source_id; cat "$config" "$TOP/kernel/config/host.config"; } |
		sha256sum | cut -c1-16)
	out=$PKG_CACHE/$key
	kdir=$out/build
	if [ -f "$out/.done" ]; then
		echo "$out"
		return
	fi
	base=$(bash "$TOP/scripts/fetch-kernel.sh") || die "kernel source fetch failed"
	# The tree's lock for the whole build, then the make lock around each make.
	exec 9> "$PKG_CACHE/lock"
	flock 9
	if [ -f "$out/.done" ]; then
		echo "$out"
		return
	fi
	apply_series "$PKG_CACHE" "$base"
	src=$PKG_CACHE/src
	MK=(flock "$KBUILD_LOCK" make -s -C "$src" O="$kdir" LLVM=$LLVM_SUFFIX)
	mkdir -p "$kdir"
	rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
	cp "$config" "$kdir/.config"
	(cd "$kdir" && KCONFIG_CONFIG=.config "$src/scripts/kconfig/merge_config.sh" \
		-m -O . .config "$TOP/kernel/config/host.config" >/dev/null)
	clear_missing_keys "$src" "$kdir/.config"
	"${MK[@]}" olddefconfig >/dev/null
	check_config "$src" "$kdir/.config" "$TOP/kernel/config/host.config" ||
		die "$config with kernel/config/host.config: the options above did not take their value (their dependencies are listed)"
	exec 8> "$KBUILD_LOCK"
	flock 8
	log "building kernel packages $key from $config (a distribution's configuration takes hours on 2 cores)"
	t0=$SECONDS
	if ! nice "${MK[@]:2}" -j"$(nproc)" DPKG_FLAGS=-d bindeb-pkg > "$out/build.log" 2>&1; then
		tail -n 40 "$out/build.log" >&2
		die "make bindeb-pkg failed; log: $out/build.log"
	fi
	add_rust_to_headers "$(ls "$out"/linux-headers-*.deb)" "$kdir"
	exec 9>&- 8>&-
	echo "$((SECONDS - t0))" > "$out/seconds"
	log "kernel packages built in $(cat "$out/seconds") s"
	touch "$out/.done"
	echo "$out"
}

# Unpack the kernel packages of PKGDIR into ROOT (image, headers).  Prints the kernel release.
unpack_packages() {
	local pkgdir=$1 root=$2 deb rel
	rm -rf "$root"
	mkdir -p "$root"
	for deb in "$pkgdir"/linux-image-*.deb "$pkgdir"/linux-headers-*.deb; do
		case "$deb" in *-dbg_*) continue ;; esac
		dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
	done
	rel=$(cd "$root/usr/src" && echo linux-headers-*)
	echo "${rel#linux-headers-}"
}

# Build famfs_iomap.ko against the headers in HDIR (make -C HDIR M=DIR), from a copy of the
# sources in DIR.  Prints the module's path.
build_module() {
	rm -rf "$2"
	KDIR=$1 MODULE_OUT=$2 bash "$TOP/scripts/build-module.sh"
}

# Sign KO with the build tree KDIR's module key when the kernel checks module signatures.
sign_module() {
	local ko=$1 kdir=$2 hash
	grep -q '^CONFIG_MODULE_SIG=y' "$kdir/.config" || return 0
	[ -f "$kdir/certs/signing_key.pem" ] ||
		die "$kdir has CONFIG_MODULE_SIG but no certs/signing_key.pem to sign famfs_iomap.ko with"
	hash=$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"$/\1/p' "$kdir/.config")
	"$kdir/scripts/sign-file" "$hash" "$kdir/certs/signing_key.pem" \
		"$kdir/certs/signing_key.x509" "$ko" || die "signing $ko failed"
}

# The package famfs-iomap-modules-<release> of the module KO, for the kernel packages of PKGDIR,
# written to OUTDIR.  Prints its path.
module_package() {
	local ko=$1 rel=$2 pkgdir=$3 outdir=$4 kver ver name t deb s
	kver=$(dpkg-deb -f "$(ls "$pkgdir"/linux-image-"$rel"_*.deb)" Version)
	# The module's version: the kernel package's, the number of commits (so that apt sees a
	# newer module as newer), and a hash of the module's sources.
	ver=$kver+$(git -C "$TOP" rev-list --count HEAD 2>/dev/null || echo 0).$(cat "$TOP/Kbuild" \
		"$TOP"/rust/Kbuild "$TOP"/rust/*.rs $(find "$TOP/include" -type f | sort) |
		sha256sum | cut -c1-12)
	name=famfs-iomap-modules-$rel
	t=$(mktemp -d "$PKG_CACHE/module.XXXXXX")
	chmod 755 "$t"
	mkdir -p "$t/lib/modules/$rel/updates" "$t/DEBIAN"
	install -m 644 "$ko" "$t/lib/modules/$rel/updates/famfs_iomap.ko"
	cat > "$t/DEBIAN/control" <<-EOF
	Package: $name
	Version: $ver
	Architecture: amd64
	Maintainer: famfs-iomap <famfs-iomap@localhost>
	Depends: linux-image-$rel (= $kver)
	Section: kernel
	Priority: optional
	Installed-Size: $(du -sk --exclude=DEBIAN "$t" | cut -f1)
	Description: famfs_iomap.ko, the famfs provider of FUSE iomap-DAX, for Linux $rel
	 The Rust module that serves the reads, writes and page faults of famfs files
	 on DAX devices from their file maps, without a round trip to the FUSE server.
	EOF
	for s in postinst postrm; do
		printf '#!/bin/sh\nset -e\nif [ -d /lib/modules/%s ]; then depmod -a %s; fi\n' \
			"$rel" "$rel" > "$t/DEBIAN/$s"
		chmod 755 "$t/DEBIAN/$s"
	done
	(cd "$t" && md5sum "lib/modules/$rel/updates/famfs_iomap.ko" > DEBIAN/md5sums)
	deb=$outdir/${name}_${ver}_amd64.deb
	rm -f "$outdir/${name}"_*.deb
	dpkg-deb --root-owner-group -b "$t" "$deb" >/dev/null || die "dpkg-deb -b $deb failed"
	rm -rf "$t"
	echo "$deb"
}

# make kernel-pkg [CONFIG=...]
packages() {
	local pkgdir kdir rel scratch ko
	if [ -n "${1:-}" ]; then
		# Checked before readlink, which prints nothing for a path in a missing directory.
		[ -f "$1" ] ||
			die "CONFIG=$1: no such file (a kernel configuration, e.g. /boot/config-\$(uname -r))"
		pkgdir=$(config_packages "$(readlink -f "$1")")
		kdir=$pkgdir/build
	else
		pkgdir=$(base_packages)
		kdir=
	fi
	scratch=$FAMFS_WORK/kernel-pkg
	rel=$(unpack_packages "$pkgdir" "$scratch/root")
	ko=$(build_module "$scratch/root/usr/src/linux-headers-$rel" "$scratch/module") ||
		die "famfs_iomap.ko does not build against linux-headers-$rel"
	[ -z "$kdir" ] || sign_module "$ko" "$kdir"
	module_package "$ko" "$rel" "$pkgdir" "$pkgdir" >/dev/null
	rm -rf "$scratch"
	log "packages for Linux $rel:"
	ls "$pkgdir"/*.deb | sed 's/^/    /' >&2
	echo "$pkgdir"
}

# make check's step: the base flavor's packages, unpacked into a scratch root, and the module
# built against the headers package.  TAP on stdout.
check() {
	local n=0 failed=0 t0=$SECONDS pkgdir kdir rel root hdir ko deb missing f vermagic out
	ok() { n=$((n + 1)); echo "ok $n - $*"; }
	not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
	done_testing() { echo "1..$n"; exit $((failed > 0)); }
	local scratch=$FAMFS_WORK/kernel-pkg-check
	rm -rf "$scratch"
	mkdir -p "$scratch"

	if pkgdir=$(base_packages 2> "$scratch/packages.log"); then
		ok "make bindeb-pkg on the base kernel: $(cd "$pkgdir" && echo linux-*.deb)" \
			"(packaged in $(cat "$pkgdir/seconds") s$([ "$pkgdir/.done" -nt "$scratch" ] || echo ', from the cache'))"
	else
		sed 's/^/# /' "$scratch/packages.log"
		not_ok "make bindeb-pkg on the base kernel"
		done_testing
	fi
	kdir=$(KERNEL_FLAVOR=base bash "$TOP/scripts/build-kernel.sh")
	if (cd "$kdir" && sha256sum --quiet -c "$pkgdir/base.sha256" > "$scratch/sha.log" 2>&1); then
		ok "the base build is as it was before packaging ($(wc -l < "$pkgdir/base.sha256") files: vmlinux, bzImage, the modules, .config, .version, release)"
	else
		sed 's/^/# /' "$scratch/sha.log"
		not_ok "the base build changed since it was packaged"
	fi

	root=$scratch/root
	if rel=$(unpack_packages "$pkgdir" "$root" 2> "$scratch/unpack.log"); then
		hdir=$root/usr/src/linux-headers-$rel
		missing=
		for f in "boot/vmlinuz-$rel" "boot/config-$rel" "lib/modules/$rel/modules.dep" \
				"${hdir#"$root"/}/Module.symvers" "${hdir#"$root"/}/scripts/target.json" \
				"${hdir#"$root"/}/rust/libkernel.rmeta" "${hdir#"$root"/}/rust/libmacros.so"; do
			[ -e "$root/$f" ] || missing="$missing $f"
		done
		if [ -z "$missing" ]; then
			ok "the image and headers packages of $rel unpack with dpkg-deb -x (kernel, modules, headers with the Rust metadata)"
		else
			not_ok "the unpacked packages of $rel lack:$missing"
		fi
	else
		sed 's/^/# /' "$scratch/unpack.log"
		not_ok "the packages unpack with dpkg-deb -x"
		done_testing
	fi
	if cmp -s "$root/boot/vmlinuz-$rel" "$kdir/arch/x86/boot/bzImage"; then
		ok "the image package's kernel is the base build's bzImage, the kernel the guest tests boot"
	else
		not_ok "the image package's /boot/vmlinuz-$rel differs from $kdir/arch/x86/boot/bzImage"
	fi

	if ko=$(build_module "$hdir" "$scratch/module" 2> "$scratch/module.log") &&
			! grep -E '^(warning|error)' "$scratch/module.log"; then
		ok "famfs_iomap.ko builds against the headers package (make -C .../usr/src/linux-headers-$rel M=...)"
	else
		sed 's/^/# /' "$scratch/module.log"
		not_ok "famfs_iomap.ko does not build against the headers package of $rel"
		done_testing
	fi
	# modinfo is in /usr/sbin, which a user's PATH may lack.
	vermagic=$(PATH=$PATH:/usr/sbin:/sbin modinfo -F vermagic "$ko")
	if [ "${vermagic%% *}" = "$rel" ]; then
		ok "the module's vermagic names $rel"
	else
		not_ok "the module's vermagic is '$vermagic', not for $rel"
	fi
	if deb=$(module_package "$ko" "$rel" "$pkgdir" "$scratch" 2> "$scratch/deb.log") &&
			dpkg-deb -c "$deb" > "$scratch/deb.list" &&
			grep -q " \./lib/modules/$rel/updates/famfs_iomap\.ko$" "$scratch/deb.list" &&
			! grep -v '^[-d]rw[-x]r-[-x]r-[-x] root/root ' "$scratch/deb.list" >> "$scratch/deb.log" &&
			[ "$(dpkg-deb -f "$deb" Depends)" = "linux-image-$rel ($(dpkg-deb -f \
				"$(ls "$pkgdir"/linux-image-"$rel"_*.deb)" Version | sed 's/^/= /'))" ]; then
		ok "$(basename "$deb") holds lib/modules/$rel/updates/famfs_iomap.ko (root's, 0644 and 0755) and depends on its kernel"
	else
		sed 's/^/# /' "$scratch/deb.log"
		not_ok "the module package for $rel"
	fi
	# A configuration that is not there stops make kernel-pkg CONFIG=... at once, naming it.
	f="$scratch/no such dir/config"
	if out=$(bash "$0" "$f" 2>&1); then
		not_ok "kernel-pkg.sh accepted a missing CONFIG: $out"
	elif grep -qF "CONFIG=$f: no such file" <<< "$out"; then
		ok "a missing CONFIG is refused, naming it"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		not_ok "a missing CONFIG is refused without naming it"
	fi
	echo "# kernel packages: $((SECONDS - t0)) s"
	rm -rf "$scratch"
	done_testing
}

case "${1:-}" in
check) check ;;
-h|--help) sed -n '3,8p' "$0" | sed 's/^# \?//' ;;
*) packages "${1:-}" ;;
esac
