#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run every KTP selftest listed in tests.list inside the VM, each under a
# hard time-out, and report KTAP: one top-level line per program with its
# own output nested below. The last line totals the test points of all
# programs; a program that fails without a failing test point, times out
# or crashes counts as one failure of its own.
#
#   run_tests.sh [name...]	only these programs

cd "$(dirname "$0")" || exit 1
timeout=$(sed -n 's/^timeout=//p' settings 2>/dev/null)
timeout=${timeout:-120}
# a slower kernel (make check-debug's) may ask for more time per program
timeout=${KTP_TEST_TIMEOUT:-$timeout}

if [ $# -gt 0 ]; then
	list="$*"
else
	list=$(cat tests.list)
fi

set -- $list
echo "TAP version 13"
echo "1..$#"
pass=0 fail=0 skip=0 n=0
for t in $list; do
	n=$((n + 1))
	out=/tmp/ktp-test.$t.out
	/usr/bin/timeout -k 5 "$timeout" "./$t" > "$out" 2>&1
	rc=$?
	sed 's/^/  /' "$out"
	p=$(grep -c '^ok ' "$out" | tr -d ' ')
	s=$(grep -c '^ok .*# SKIP' "$out" | tr -d ' ')
	f=$(grep -c '^not ok ' "$out" | tr -d ' ')
	p=$((p - s))
	case $rc in
	0) ;;
	4) [ $((p + s + f)) -eq 0 ] && s=1 ;;
	124|137) echo "  # $t: timed out after ${timeout}s"; f=$((f + 1)) ;;
	*) [ "$f" -eq 0 ] && { echo "  # $t: exit status $rc"; f=1; } ;;
	esac
	if [ "$f" -gt 0 ]; then
		echo "not ok $n selftests: ktp: $t"
	elif [ "$p" -eq 0 ] && [ "$s" -gt 0 ]; then
		echo "ok $n selftests: ktp: $t # SKIP"
	else
		echo "ok $n selftests: ktp: $t"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
echo "# ktp-vm-totals: pass:$pass fail:$fail skip:$skip"
[ "$fail" -eq 0 ]
