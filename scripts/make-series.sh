#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Regenerate kernel/series/ from a kernel git tree whose tag "base" is the imported 7.3.4: the
# patches as `git format-patch` writes them for posting, with the cover letter, and the
# series file that lists the patches to apply.
# Usage: make-series.sh [KSRC]   (default: the cached base tree)
. "$(dirname "$0")/lib.sh"

KSRC=${1:-$FAMFS_CACHE/kernel/base/src}
git -C "$KSRC" rev-parse -q --verify base >/dev/null || die "$KSRC has no tag 'base'"
[ -z "$(git -C "$KSRC" status --porcelain --untracked-files=no)" ] ||
	die "$KSRC has uncommitted changes"
# The files the series carries from this repository first (kernel/in-tree.list).
bash "$TOP/scripts/sync-series.sh" "$KSRC"
out=$TOP/kernel/series
rm -f "$out"/*.patch
# Numbered, as posted, with a cover letter whose text is kernel/cover-letter.txt (first line:
# the subject); git fills in the shortlog and diffstat.
git -C "$KSRC" format-patch -q --no-signature --zero-commit --numbered --cover-letter \
	--subject-prefix="RFC PATCH" \
	-o "$out" base..HEAD
cover=$out/0000-cover-letter.patch
python3 - "$cover" "$TOP/kernel/cover-letter.txt" <<'PY'
import sys
cover, text = sys.argv[1], open(sys.argv[2]).read()
subject, _, blurb = text.partition("\n")
s = open(cover).read()
s = s.replace("*** SUBJECT HERE ***", subject.strip(), 1)
s = s.replace("*** BLURB HERE ***", blurb.strip("\n"), 1)
open(cover, "w").write(s)
PY
grep -q 'HERE \*\*\*' "$cover" && die "cover letter placeholders left in $cover"
(cd "$out" && ls -1 ./*.patch 2>/dev/null | sed 's|^\./||' | grep -v '^0000-cover-letter') > "$out/series"
log "kernel/series: $(wc -l < "$out/series") patches"
# The tree now matches the series: the next build-kernel run keeps its commits.
[ "$KSRC" = "$FAMFS_CACHE/kernel/base/src" ] &&
	git -C "$KSRC" rev-parse HEAD > "$FAMFS_CACHE/kernel/base/applied-head"
true
