#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Bring the files the kernel series carries from this repository (kernel/in-tree.list: the
# famfs provider, the fmap uapi header, the selftests) into a kernel git tree whose tag "base"
# is the imported 7.3.4: one source, two builds.  Every changed file is folded into the commit
# of base..HEAD that last touched it (or its directory), with a fixup commit and an
# autosquash rebase, so the series keeps its patches.  Nothing is done when the copies match.
# Usage: sync-series.sh KSRC
. "$(dirname "$0")/lib.sh"

KSRC=${1:?usage: sync-series.sh KSRC}
git -C "$KSRC" rev-parse -q --verify base >/dev/null || die "$KSRC has no tag 'base'"
[ -z "$(git -C "$KSRC" status --porcelain --untracked-files=no)" ] ||
	die "$KSRC has uncommitted changes"
k=(git -C "$KSRC")

declare -A fixup=()
while read -r src dst; do
	if [ -f "$TOP/$src" ]; then
		cmp -s "$TOP/$src" "$KSRC/$dst" && continue
		mkdir -p "$(dirname "$KSRC/$dst")"
		cp "$TOP/$src" "$KSRC/$dst"
		"${k[@]}" add -f -- "$dst"
	else
		"${k[@]}" rm -q -- "$dst"
	fi
	# The commit that last touched the file, or for a new file its directory.
	c=$("${k[@]}" log -1 --format=%H base..HEAD -- "$dst")
	[ -n "$c" ] || c=$("${k[@]}" log -1 --format=%H base..HEAD -- "$(dirname "$dst")")
	[ -n "$c" ] || die "no commit of the series touches $(dirname "$dst"): add $dst to a patch by hand"
	fixup[$c]+=" $dst"
	log "sync: $src -> $dst ($("${k[@]}" log -1 --format=%s "$c"))"
done < <(in_tree_pairs "$KSRC")

[ ${#fixup[@]} = 0 ] && exit 0
for c in "${!fixup[@]}"; do
	# shellcheck disable=SC2086 # the list of paths is split on purpose
	"${k[@]}" commit -q --fixup="$c" -- ${fixup[$c]}
done
GIT_SEQUENCE_EDITOR=: "${k[@]}" rebase -q -i --autosquash base ||
	die "the autosquash rebase in $KSRC stopped; resolve it there (git rebase --continue)"
log "sync: folded into $((${#fixup[@]})) commit(s) of the series"
