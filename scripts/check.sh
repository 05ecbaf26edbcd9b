#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: checkpatch --strict, host unit tests, then every selftest in
# the test VM. Each stage prints KTAP; the last line totals the test points
# of all stages as "N passed, N failed[, N skipped]". Exits non-zero if
# anything failed or did not run.
#
#   KTP_KERNELS="6.1 6.12 newest"   the kernels the VM suite runs on, one
#                      after the other (default 6.1, the stock kit; the
#                      others as scripts/kernels.sh names them, each with
#                      its own build of ktp.ko in build/<abi>/)
#   scripts/check.sh --vm-only      the VM suites alone (make check-kernels)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE
KSFT_INC=$KTP_CACHE/src/tools/testing/selftests
KTP_KERNELS=${KTP_KERNELS:-6.1}
vm_only=0
[ "${1:-}" = --vm-only ] && vm_only=1

pass=0 fail=0 skip=0
logdir=$(mktemp -d /tmp/ktp-check.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

# expected PROGRAM POINT: selftests/expected-skips, the one list of the
# skips make check expects, lists that skip
expected()
{
	awk -v prog="$1" -v point="$2" '
		$1 == prog && $2 == point { found = 1 }
		END { exit !found }' selftests/expected-skips
}

# Count the top-level KTAP points of one stage's output. A skip the list
# does not expect is a failure, and so is a plan the points do not match.
tally()
{
	local name=$1 out=$2 p s f plan point

	p=$(grep -c '^ok ' "$out")
	s=$(grep -c '^ok .*# SKIP' "$out")
	f=$(grep -c '^not ok ' "$out")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$out" | head -n1)
	if [ "${plan:-none}" != $((p + f)) ]; then
		echo "not ok - $name: planned ${plan:-no} points, printed $((p + f))"
		f=$((f + 1))
	fi
	# the kselftest harness leaves the name out of "ok N # SKIP reason":
	# it is the one of the "#  RUN  NAME ..." line before
	for point in $(awk '/^#  RUN  / { name = $3 }
			    /^ok [0-9]+ .*# SKIP/ { print $3 == "#" ? name : $3 }' \
			   "$out"); do
		expected "$name" "$point" && continue
		echo "not ok - $name: unexpected skip: $point"
		p=$((p - 1)) s=$((s - 1)) f=$((f + 1))
	done
	pass=$((pass + p - s)) skip=$((skip + s)) fail=$((fail + f))
}

# stage NAME COMMAND...: run, show, tally; a failing command with no
# failing test point counts as one failure.
stage()
{
	local name=$1 out=$logdir/$1.out before=$fail rc

	shift
	echo "== $name"
	"$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	tally "$name" "$out"
	if [ $rc -ne 0 ] && [ $fail -eq $before ]; then
		echo "not ok - $name exited with status $rc"
		fail=$((fail + 1))
	fi
}

host_stages()
{
	stage checkpatch scripts/checkpatch.sh "$KTP_CACHE/src/scripts/checkpatch.pl"

	make -s -C userspace/tests KSFT_INC="$KSFT_INC" >/dev/null ||
		{ echo "not ok - building host unit tests"; fail=$((fail + 1)); }
	for t in uapi_c uapi_cxx libktp_test ktpdump_test ktp_inject_test; do
		stage "host:$t" "userspace/tests/$t"
	done
	# make install and the README's example; the man pages; docs/ktp.lua;
	# ktpviz's pages in headless Chromium.
	for t in install_test.sh man_test.sh dissector_test.sh ktpviz_test.py; do
		stage "host:$t" timeout 300 "userspace/tests/$t"
	done
	# libktp again under valgrind: a leak or a bad access fails the test it
	# happened in (the harness runs each test in a child of its own).
	stage host:libktp_valgrind valgrind -q --leak-check=full --error-exitcode=99 \
		userspace/tests/libktp_test
}
[ $vm_only = 1 ] || host_stages

# vm_suite KERNEL: the whole suite in the VM booting KERNEL. The VM prints
# its own totals line; the test points are nested in it.
vm_suite()
{
	local k=$1 vmout=$logdir/vm-$1.out vm=() abi errs plan points

	if [ "$k" = 6.1 ]; then
		echo "== vm selftests"
	else
		abi=$(scripts/kernels.sh abi "$k") || {
			echo "not ok - cannot resolve the kernel $k"
			fail=$((fail + 1))
			return
		}
		echo "== vm selftests on $k ($abi)"
		if ! scripts/kernels.sh build "$k" "build/$abi" >/dev/null 2>&1; then
			errs=$(grep -c ': error: ' "build/$abi/build.log" 2>/dev/null)
			echo "not ok - ktp.ko does not build for $abi" \
			     "(${errs:-?} errors: build/$abi/build.log)"
			fail=$((fail + 1))
			return
		fi
		mapfile -t vm < <(scripts/kernels.sh vm-args "$k")
		vm+=(-o "build/$abi/ktp.ko")
	fi
	# Each test in the VM has its own bound (selftests/settings); this
	# one is for the VM, whose suite takes 10 minutes on a quiet host
	# and twice that when a second make check shares its two cores.
	VM_TIMEOUT=${VM_TIMEOUT:-2400} scripts/vm.sh -q "${vm[@]}" -d selftests/out -- \
		./run_tests.sh 2>&1 | tee "$vmout"
	vmrc=${PIPESTATUS[0]}
	totals=$(grep -o 'ktp-vm-totals: pass:[0-9]* fail:[0-9]* skip:[0-9]*' "$vmout" |
		 tail -n1)
	if [ -z "$totals" ]; then
		echo "not ok - the VM suite did not finish${abi:+ on $abi}"
		fail=$((fail + 1))
	else
		# the VM's own plan: one top-level point per program of
		# tests.list
		plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$vmout" | head -n1)
		points=$(grep -c -E '^(not )?ok [0-9]+ selftests: ktp: ' "$vmout")
		if [ "${plan:-0}" -eq 0 ] || [ "$plan" -ne "$points" ]; then
			echo "not ok - the VM planned ${plan:-no} programs," \
			     "ran $points${abi:+ on $abi}"
			fail=$((fail + 1))
		fi
		set -- $(echo "$totals" | tr -c '0-9\n' ' ')
		pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
		if [ "$vmrc" -ne 0 ] && [ "$2" -eq 0 ]; then
			echo "not ok - the VM run failed${abi:+ on $abi} (kernel splat or time-out)"
			fail=$((fail + 1))
		fi
	fi
}

for k in $KTP_KERNELS; do
	vm_suite "$k"
done

summary="$pass passed, $fail failed"
[ $skip -gt 0 ] && summary+=", $skip skipped"
echo "$summary"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
