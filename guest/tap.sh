# SPDX-License-Identifier: GPL-2.0
# TAP helpers of the guest test scripts (sourced).  The caller sets TAP_OUT, the file that
# holds the output of the last command; ok/not_ok count into $pass, $fail and $n.

pass=0
fail=0
n=0

ok()     { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
# t NAME CMD...: run CMD, quietly on success, with its output on failure.
t()
{
	name=$1
	shift
	if "$@" > "$TAP_OUT" 2>&1; then
		ok "$name"
	else
		sed 's/^/# /' "$TAP_OUT"
		not_ok "$name"
	fi
}
# fails_with NAME TEXT CMD...: CMD must fail and print TEXT.
fails_with()
{
	name=$1
	text=$2
	shift 2
	if "$@" > "$TAP_OUT" 2>&1; then
		sed 's/^/# /' "$TAP_OUT"
		not_ok "$name (succeeded)"
	elif grep -qF -- "$text" "$TAP_OUT"; then
		echo "# $(head -n 1 "$TAP_OUT")"
		ok "$name"
	else
		sed 's/^/# /' "$TAP_OUT"
		not_ok "$name (expected: $text)"
	fi
}
# code_is NAME CODE CMD...: CMD must exit with CODE.
code_is()
{
	name=$1
	want=$2
	shift 2
	"$@" > "$TAP_OUT" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$name (exit $got)"
	else
		sed 's/^/# /' "$TAP_OUT"
		not_ok "$name (exit $got, expected $want)"
	fi
}
# totals: the TAP plan and the kselftest totals line; the exit status says if all passed.
totals()
{
	echo "1..$n"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
	[ "$fail" -eq 0 ]
}
