#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run every KTP selftest listed in tests.list inside the VM, each under a
# hard time-out, and report KTAP: one top-level line per program with its
# own output nested below. The last line totals the test points of all
# programs; a program that fails without a failing test point, times out
# or crashes counts as one failure of its own.
#
# A program's plan ("1..N") must match the points it printed: one that
# stops early, or prints no plan, fails. A skip is a failure unless
# expected-skips lists it (one place for every expected skip, with its
# reason): everything the tests need is part of the VM image. An empty
# list of tests fails the run.
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

# expected PROGRAM POINT: expected-skips lists that skip
expected()
{
	awk -v prog="$1" -v point="$2" '
		$1 == prog && $2 == point { found = 1 }
		END { exit !found }' expected-skips 2>/dev/null
}

# skipped_points OUT: the names of OUT's skipped points, one a line. The
# kselftest harness prints "ok N # SKIP reason" without the name: it is
# the one of the "#  RUN  NAME ..." line before.
skipped_points()
{
	awk '/^#  RUN  / { name = $3 }
	     /^ok [0-9]+ .*# SKIP/ { print $3 == "#" ? name : $3 }' "$1"
}

# unexpected_skips OUT PROGRAM: the skipped points of OUT that
# expected-skips does not list, one a line
unexpected_skips()
{
	skipped_points "$1" |
	while read -r point; do
		expected "$2" "$point" || echo "$point"
	done
}

# plan_matches OUT PROGRAM: OUT's plan is the number of points it printed
plan_matches()
{
	local plan points

	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$1" | head -n1)
	points=$(grep -c -E '^(not )?ok ' "$1" | tr -d ' ')
	[ -n "$plan" ] || { echo "  # $2: no KTAP plan"; return 1; }
	[ "$plan" -eq "$points" ] && return 0
	echo "  # $2: planned $plan test points, printed $points"
	return 1
}

set -- $list
echo "TAP version 13"
echo "1..$#"
pass=0 fail=0 skip=0 n=0
[ $# -gt 0 ] || { echo "# no tests to run"; fail=1; }
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
	4) if [ $((p + s + f)) -eq 0 ]; then
		# the program skipped as a whole, before any plan
		if expected "$t" '*'; then
			s=1
		else
			echo "  # $t: unexpected skip of the whole program"
			f=1
		fi
	   fi ;;
	124|137) echo "  # $t: timed out after ${timeout}s"; f=$((f + 1)) ;;
	*) [ "$f" -eq 0 ] && { echo "  # $t: exit status $rc"; f=1; } ;;
	esac
	if [ $((p + s + f)) -gt 0 ] || [ $rc -ne 4 ]; then
		plan_matches "$out" "$t" || f=$((f + 1))
	fi
	# an unexpected skip counts as a failure, not as a skip
	for point in $(unexpected_skips "$out" "$t"); do
		echo "  # $t: unexpected skip: $point"
		s=$((s - 1)) f=$((f + 1))
	done
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
