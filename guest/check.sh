#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run every guest test; print their TAP, then one line "GUEST-TOTALS passed=N failed=N".
# A skipped test counts as failed: in this guest every test has what it needs.

. /famfs/lib.sh
pass=0
fail=0
KMEMLEAK=/sys/kernel/debug/kmemleak

# Leaks from before the tests are not theirs.
[ -w $KMEMLEAK ] && echo clear > $KMEMLEAK

report() # report <ok|not ok> <name> [detail]
{
	if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	echo "$1 - $2${3:+ # $3}"
}

if dax_setup; then report ok dax_setup; else report "not ok" dax_setup; fi
if famfs_load; then report ok "insmod famfs_iomap"; else report "not ok" "insmod famfs_iomap"; fi
if test_modules_load; then report ok "insmod test modules"; else report "not ok" "insmod test modules"; fi

# KUnit suites of the module print KTAP to the kernel log at insmod.
dmesg > /tmp/dmesg.log
for line in $(grep -o '# [a-z0-9_]*: pass:[0-9]* fail:[0-9]* skip:[0-9]*' /tmp/dmesg.log |
		tr ' ' '|'); do
	suite=$(echo "$line" | cut -d'|' -f2 | tr -d :)
	line=$(echo "$line" | tr '|' ' ')
	p=$(echo "$line" | sed 's/.* pass:\([0-9]*\).*/\1/')
	f=$(echo "$line" | sed 's/.* fail:\([0-9]*\).*/\1/')
	s=$(echo "$line" | sed 's/.* skip:\([0-9]*\).*/\1/')
	echo "# kunit $suite: pass:$p fail:$f skip:$s"
	[ $((f + s)) -eq 0 ] || grep -E "not ok|fmap case|panicked|assert" /tmp/dmesg.log | head -n 20
	pass=$((pass + p))
	fail=$((fail + f + s))
done

# The kernel flavor (famfs.flavor= on the command line): programs named *_debug_test need what
# only the debug kernel has (fault injection) and run on it alone.
flavor=base
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	famfs.flavor=*) flavor=${arg#famfs.flavor=} ;;
	esac
done

for t in /famfs/tests/* /famfs/famfs_e2e.sh; do
	[ -x "$t" ] || continue
	# FAMFS_ONLY (GUEST_ONLY on the host): only the tests named, comma separated.
	case ",${FAMFS_ONLY:-$(basename "$t")}," in *",$(basename "$t"),"*) ;; *) continue ;; esac
	case "$t" in
	*_debug_test) [ "$flavor" = debug ] || continue ;;
	esac
	echo "# running $(basename "$t")"
	"$t" > /tmp/test.out 2>&1
	rc=$?
	cat /tmp/test.out
	# A test killed by its harness (timeout) leaves its mounts, which hold their DAX
	# devices: take them down, so that the next test does not fail for it.
	left=$(awk '$3 == "fuse" { print $2 }' /proc/mounts)
	if [ -n "$left" ]; then
		echo "# $(basename "$t") left fuse mounts: $(echo $left)"
		for m in $left; do umount "$m" 2>/dev/null || umount -l "$m"; done
	fi
	add_totals "$(basename "$t")" /tmp/test.out $rc
done

# Everything the tests allocated and freed is gone; what is left unreferenced leaked.
if [ -w $KMEMLEAK ]; then
	echo scan > $KMEMLEAK
	echo scan > $KMEMLEAK
	if [ -s $KMEMLEAK ]; then
		head -n 60 $KMEMLEAK
		report "not ok" "kmemleak: no leaks"
	else
		report ok "kmemleak: no leaks"
	fi
fi

# The kernel log must not show KLOG_BAD (guest/lib.sh).
if klog_clean; then report ok "kernel log clean"; else report "not ok" "kernel log clean"; fi

echo "GUEST-TOTALS passed=$pass failed=$fail"
[ $fail -eq 0 ]
