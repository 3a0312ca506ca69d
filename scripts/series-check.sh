#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check kernel/series the way a reviewer's tree sees it.
#
# Every patch is applied with `git am` to the pristine Linux base, in a worktree of its own,
# and must pass `scripts/checkpatch.pl --strict`.  After the last patch, kernel-doc checks the
# new and changed kernel-doc comments, the files the series carries from this repository
# (kernel/in-tree.list: the famfs provider, its uapi header, the selftests) must be the
# repository's, and Sphinx builds each directory of new or changed documentation.  With
# SERIES_CHECK_BUILD=1 the tree is also built after every patch (incrementally, in a build
# tree kept in the cache, with the base flavor's configuration), a build that prints a warning
# fails, and after the last patch the Rust code goes through rustfmtcheck, rustdoc and
# CLIPPY=1, and the selftests are built with the kselftest Makefile.  `make check` runs the
# cheap part; `make series-check` runs everything.  Each experiment (kernel/experiments/) must
# apply on top of the series and pass checkpatch too.
#
# Prints TAP: one test per patch and step, then "# series-check: N passed, N failed".
. "$(dirname "$0")/lib.sh"

BUILD=${SERIES_CHECK_BUILD:-0}
SERIES=$TOP/kernel/series
DIR=$FAMFS_CACHE/series-check
WT=$DIR/src
OBJ=$DIR/build

BASE=$(bash "$TOP/scripts/fetch-kernel.sh")
mkdir -p "$DIR"
exec 9> "$DIR/lock"
flock 9

if [ ! -e "$WT/.git" ]; then
	git -C "$BASE" worktree prune
	rm -rf "$WT"
	git -C "$BASE" worktree add -q -f --detach "$WT" base >&2
fi
wt=(git -C "$WT")
"${wt[@]}" config user.name "famfs-iomap series check"
"${wt[@]}" config user.email "famfs-iomap@localhost"
"${wt[@]}" am --abort >/dev/null 2>&1 || true
"${wt[@]}" checkout -q -f --detach base

pass=0
fail=0
n=0
report() # report <ok|not ok> <name> [detail]
{
	n=$((n + 1))
	if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	echo "$1 $n - $2${3:+ # $3}"
}

MK=(make -s -C "$WT" O="$OBJ" LLVM=$LLVM_SUFFIX)
[ "$BUILD" = 1 ] && mkdir -p "$OBJ"

# The base flavor's configuration, made as scripts/build-kernel.sh makes it, after every patch:
# symbols a patch has not added yet are dropped, and come back once it has.  Kbuild rebuilds
# only what a changed symbol touches.
make_config()
{
	"${MK[@]}" tinyconfig &&
	(cd "$OBJ" && KCONFIG_CONFIG=.config "$WT/scripts/kconfig/merge_config.sh" \
		-m -O . .config $(KERNEL_FLAVOR=base kernel_fragments)) &&
	"${MK[@]}" olddefconfig
}

build_step() # build_step <name>: incremental build; any warning fails it
{
	local log=$DIR/build-step.log
	if ! make_config > "$log" 2>&1 ||
	   ! nice "${MK[@]}" -j"$(nproc)" vmlinux modules >> "$log" 2>&1; then
		tail -n 30 "$log" | sed 's/^/# /'
		report "not ok" "$1 builds"
		return
	fi
	if grep -qE 'warning:|warning\[' "$log"; then
		grep -E -A3 'warning:|warning\[' "$log" | head -n 30 | sed 's/^/# /'
		report "not ok" "$1 builds" "warnings"
		return
	fi
	report ok "$1 builds"
}

echo "TAP version 13"
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	if ! "${wt[@]}" am -q "$SERIES/$p" >/dev/null 2>&1; then
		"${wt[@]}" am --abort >/dev/null 2>&1 || true
		report "not ok" "$p applies with git am"
		break
	fi
	report ok "$p applies with git am"
	# Two checks are left out on purpose: the Signed-off-by is the submitter's to add
	# (Documentation/process/coding-assistants.rst: it is never written for a person), and
	# MAINTAINERS is updated by the series' last patch, for every new file at once.
	# ENOSYS is FUSE's reply to a request a server does not implement, which the selftests'
	# server sends: checkpatch's ENOSYS warning is left out for the selftests only.
	# spdxcheck.py, which checkpatch runs, needs the distribution python3 with its ply.
	out=$(cd "$WT" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --no-summary -q \
		--ignore MISSING_SIGN_OFF,FILE_PATH_CHANGES,ENOSYS "$SERIES/$p" 2>&1 || true)
	out+=$(awk '/^\+\+\+ b\// { f = substr($2, 3) }
		/^\+[^+]/ && /[^A-Za-z0-9_]ENOSYS([^A-Za-z0-9_]|$)/ && f ~ /\.[ch]$/ &&
		    f !~ /^tools\/testing\/selftests\// {
			print "WARNING: ENOSYS means invalid syscall nr and nothing else: " f ": " $0 }' \
		"$SERIES/$p")
	if [ -z "$out" ]; then
		report ok "$p checkpatch --strict"
	else
		echo "$out" | head -n 40 | sed 's/^/# /'
		report "not ok" "$p checkpatch --strict"
	fi
	[ "$BUILD" = 1 ] && build_step "$p"
done < "$SERIES/series"

# kernel-doc of every C file and header the series adds or changes, warnings included: what
# it says of the result that it did not say of the base (line numbers left out).
files=$("${wt[@]}" diff --name-only --diff-filter=AM base HEAD -- '*.c' '*.h' | grep -v '^rust/')
changed=$("${wt[@]}" diff --name-only --diff-filter=M base HEAD -- $files)
kdoc() { [ $# = 0 ] || (cd "$WT" && perl scripts/kernel-doc -none -Wall "$@" 2>&1 |
	sed -E 's/^(Warning: [^:]+):[0-9]+/\1/' | grep -v '^$' | sort -u) || true; }
after=$(kdoc $files)
"${wt[@]}" checkout -q base -- $changed
before=$(kdoc $changed)
"${wt[@]}" checkout -q -f HEAD -- $changed
out=$(comm -13 <(echo "$before") <(echo "$after"))
if [ -z "$out" ]; then
	report ok "kernel-doc -Wall on the changed C files"
else
	echo "$out" | head -n 30 | sed 's/^/# /'
	report "not ok" "kernel-doc -Wall on the changed C files"
fi

# One source, two builds: the files the series carries from this repository
# (kernel/in-tree.list) must be the repository's, byte for byte.
out=$(in_tree_pairs "$WT" | while read -r src dst; do
	if [ ! -f "$TOP/$src" ]; then
		echo "$dst: in the series, not in the repository ($src)"
	elif [ ! -f "$WT/$dst" ]; then
		echo "$src: not in the series ($dst)"
	elif ! cmp -s "$TOP/$src" "$WT/$dst"; then
		echo "$dst differs from $src"
	fi
done)
if [ -z "$out" ]; then
	report ok "the series' copies of kernel/in-tree.list match the repository"
else
	echo "$out" | head -n 30 | sed 's/^/# /'
	echo "# run: make series KSRC=<kernel tree> (scripts/sync-series.sh folds the files in)"
	report "not ok" "the series' copies of kernel/in-tree.list match the repository"
fi

# Sphinx on the documentation the series adds or changes: each directory holding such a
# file is built on its own (its index.rst is the root, so a page missing from the toctree
# warns), with a minimal conf.py; any warning fails.  Sphinx comes from PyPI, pinned, into a
# virtual environment in the cache.
SPHINX_VERSION=7.4.7
venv=$FAMFS_CACHE/sphinx-venv
if ! "$venv/bin/sphinx-build" --version 2>/dev/null | grep -qx "sphinx-build $SPHINX_VERSION"; then
	rm -rf "$venv"
	/usr/bin/python3 -m venv "$venv" >&2 &&
	"$venv/bin/pip" install -q --disable-pip-version-check "Sphinx==$SPHINX_VERSION" >&2 ||
		echo "# could not install Sphinx $SPHINX_VERSION into $venv"
fi
for d in $("${wt[@]}" diff --name-only --diff-filter=AM base HEAD -- 'Documentation/*.rst' |
	   xargs -r -n1 dirname | sort -u); do
	tmp=$(mktemp -d)
	cp -r "$WT/$d/." "$tmp/src"
	printf 'project = "%s"\nroot_doc = "index"\n' "$d" > "$tmp/src/conf.py"
	"$venv/bin/sphinx-build" -q -b dummy -w "$tmp/warnings" "$tmp/src" "$tmp/out" \
		> "$tmp/log" 2>&1 || echo "sphinx-build failed" >> "$tmp/warnings"
	if [ -s "$tmp/warnings" ]; then
		sed "s|$tmp/src|$d|g" "$tmp/warnings" | sort -u | head -n 30 | sed 's/^/# /'
		report "not ok" "sphinx: $d"
	else
		report ok "sphinx: $d"
	fi
	rm -rf "$tmp"
done

if [ "$BUILD" = 1 ]; then
	for t in rustfmtcheck rustdoc; do
		if nice "${MK[@]}" $t > "$DIR/$t.log" 2>&1 && ! grep -q 'warning' "$DIR/$t.log"; then
			report ok "make $t"
		else
			tail -n 30 "$DIR/$t.log" | sed 's/^/# /'
			report "not ok" "make $t"
		fi
	done
	# The selftests the series adds, built in the tree with the kselftest Makefile, against the
	# uapi headers of the result.  fuse_mnt, which 7.3 already has, needs libfuse: it may fail
	# to build here (make -k); every program of kernel/in-tree.list must be built, with no
	# warning.
	kst=$DIR/kselftest
	rm -rf "$kst"
	if nice "${MK[@]}" headers > "$DIR/kselftest.log" 2>&1; then
		make -k -C "$WT/tools/testing/selftests" TARGETS=filesystems/fuse O="$kst" \
			KHDR_INCLUDES="-isystem $OBJ/usr/include" >> "$DIR/kselftest.log" 2>&1 || true
	fi
	missing=$(in_tree_pairs "$WT" | awk '$2 ~ /_test\.c$/ {print $2}' |
		sed -E 's|^tools/testing/selftests/(.*)\.c$|\1|' | while read -r t; do
			[ -x "$kst/kselftest/$t" ] || echo "$t"
		done)
	if [ -z "$missing" ] && ! grep -qE '(fuse_iomap|famfs_iomap)/[^ ]*: (warning|error)' \
		"$DIR/kselftest.log"; then
		report ok "selftests build: make -C tools/testing/selftests TARGETS=filesystems/fuse"
	else
		echo "# not built:" $missing
		grep -E -A3 '(warning|error)' "$DIR/kselftest.log" | head -n 30 | sed 's/^/# /'
		report "not ok" "selftests build: make -C tools/testing/selftests TARGETS=filesystems/fuse"
	fi
	# Clippy on the Rust code the series touches: the kernel crate and the Rust modules (the famfs
	# provider, the sample), rebuilt with clippy-driver.
	touch "$WT/rust/kernel/lib.rs"
	if nice "${MK[@]}" -j"$(nproc)" CLIPPY=1 vmlinux modules > "$DIR/clippy.log" 2>&1 &&
	   ! grep -qE 'warning:|warning\[' "$DIR/clippy.log"; then
		report ok "make CLIPPY=1"
	else
		grep -E -A5 'warning|error' "$DIR/clippy.log" | head -n 40 | sed 's/^/# /'
		report "not ok" "make CLIPPY=1"
	fi
fi

# Experiments (kernel/experiments/, not part of the series) must still apply on top of it, and
# read like the series, so that `KERNEL_EXPERIMENT=NAME make profile` measures what they say.
head=$("${wt[@]}" rev-parse HEAD)
for e in "$TOP"/kernel/experiments/*.patch; do
	[ -f "$e" ] || continue
	name=experiments/$(basename "$e")
	if "${wt[@]}" am -q "$e" >/dev/null 2>&1; then
		report ok "$name applies on the series"
	else
		"${wt[@]}" am --abort >/dev/null 2>&1 || true
		report "not ok" "$name applies on the series"
	fi
	out=$(cd "$WT" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --no-summary -q \
		--ignore MISSING_SIGN_OFF,FILE_PATH_CHANGES "$e" 2>&1 || true)
	if [ -z "$out" ]; then
		report ok "$name checkpatch --strict"
	else
		echo "$out" | head -n 40 | sed 's/^/# /'
		report "not ok" "$name checkpatch --strict"
	fi
	"${wt[@]}" checkout -q -f --detach "$head"
done

echo "1..$n"
echo "# series-check: $pass passed, $fail failed"
[ $fail = 0 ]
