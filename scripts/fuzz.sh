#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make fuzz: every fuzzer (selftests/ktp_fuzz_*) on the debug kernel of
# make check-debug, each in a debug VM of its own, with KTP_FUZZ_N
# segments or calls, then that VM's kmemleak stage (scans before and
# after rmmod ktp). The VMs run at once, KTP_FUZZ_JOBS of them (the host's
# CPUs): a VM's vCPUs share one host thread (scripts/vm.sh), so two VMs
# take two CPUs, where one VM running both fuzzers in turn would take one
# for their sum.
#
#   KTP_FUZZ_N      segments or calls for each fuzzer [1000000]
#   KTP_FUZZ_JOBS   VMs at once [nproc]
#   VM_TIMEOUT      each VM's bound [its fuzzer's -t, ten minutes, and
#                   half an hour]
#
# Each VM's lines come prefixed with its fuzzer's name; a whole console
# log is kept in $KTP_CACHE/fuzz-<name>.log. The last line is "N passed,
# N failed", summed over the VMs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE
n=${KTP_FUZZ_N:-1000000}
jobs=${KTP_FUZZ_JOBS:-$(nproc)}

work=$(mktemp -d /tmp/ktp-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Built once here, not by two VMs' scripts at the same time.
echo "== debug kernel"
if ! scripts/debug-kernel.sh > /dev/null; then
	echo "not ok - building the debug kernel"
	echo "0 passed, 1 failed"
	exit 1
fi

fuzzers=()
for f in selftests/ktp_fuzz_*.c; do
	[ -e "$f" ] && fuzzers+=("$(basename "$f" .c)")
done
if [ ${#fuzzers[@]} = 0 ]; then
	echo "not ok - no selftests/ktp_fuzz_*.c"
	echo "0 passed, 1 failed"
	exit 1
fi

# fuzz_one NAME: its VM, its output prefixed and kept; its last line (the
# "N passed, N failed" of check-debug.sh) in $work/NAME.sum.
fuzz_one()
{
	local name=$1 secs

	# vm-debug.sh's -t for it, ten minutes before it is hung, and room
	# for boot, kmemleak and rmmod
	secs=$((240 + n / 50 + 600 + 1800))
	KTP_PLANT='' KTP_DEBUG_STAGES="fuzz kmemleak" KTP_FUZZ_N="$n" \
	KTP_FUZZ_ONLY="$name" KTP_DEBUG_LOG="$KTP_CACHE/fuzz-$name.log" \
	VM_TIMEOUT="${VM_TIMEOUT:-$secs}" scripts/check-debug.sh 2>&1 |
		tee "$work/$name.out" | sed -u "s/^/[$name] /"
	tail -n 1 "$work/$name.out" > "$work/$name.sum"
}

echo "== ${#fuzzers[@]} fuzzers, $n each, $jobs at once"
SECONDS=0
running=0
for name in "${fuzzers[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$name" &
	running=$((running + 1))
done
wait

pass=0 fail=0
for name in "${fuzzers[@]}"; do
	sum=$(cat "$work/$name.sum" 2>/dev/null)
	if [[ $sum =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		pass=$((pass + BASH_REMATCH[1]))
		fail=$((fail + BASH_REMATCH[2]))
		echo "# $name: $sum"
	else
		echo "not ok - $name: its debug VM run did not finish"
		fail=$((fail + 1))
	fi
done
echo "# make fuzz: ${SECONDS}s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
