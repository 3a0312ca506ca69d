#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Regenerate kernel/series/ from a kernel git tree whose tag "base" is the imported 7.3.4.
# Usage: make-series.sh [KSRC]   (default: the cached base tree)
. "$(dirname "$0")/lib.sh"

KSRC=${1:-$FAMFS_CACHE/kernel/base/src}
git -C "$KSRC" rev-parse -q --verify base >/dev/null || die "$KSRC has no tag 'base'"
[ -z "$(git -C "$KSRC" status --porcelain --untracked-files=no)" ] ||
	die "$KSRC has uncommitted changes"
out=$TOP/kernel/series
rm -f "$out"/*.patch
git -C "$KSRC" format-patch -q --no-signature --zero-commit -N -o "$out" base..HEAD
(cd "$out" && ls -1 ./*.patch 2>/dev/null | sed 's|^\./||') > "$out/series"
log "kernel/series: $(wc -l < "$out/series") patches"
# The tree now matches the series: the next build-kernel run keeps its commits.
[ "$KSRC" = "$FAMFS_CACHE/kernel/base/src" ] &&
	git -C "$KSRC" rev-parse HEAD > "$FAMFS_CACHE/kernel/base/applied-head"
true
