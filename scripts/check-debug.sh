#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: every selftest on a KASAN + lockdep + kmemleak kernel,
# the socket-level tests again under fault injection, then kmemleak scans
# before and after rmmod (scripts/vm-debug.sh does that inside the VM).
# The last line is "N passed, N failed[, N skipped]", as make check's.
#
#   KTP_PLANT=uaf|leak   build the module with a planted bug (module/plant.c):
#                        the run must fail and show KASAN's or kmemleak's
#                        report. Off by default.
#   KTP_FAULT_TESTS, KTP_FAULT_ROUNDS, KTP_DEBUG_STAGES, KTP_FUZZ_N,
#   KTP_FUZZ_ONLY        passed to scripts/vm-debug.sh
#   KTP_DEBUG_LOG=FILE   keep the whole console log of the debug VM there
#   VM_TIMEOUT, VM_MEM   as for scripts/vm.sh
#
#   scripts/check-debug.sh -i   instead of the run, a shell in the debug VM
#                               with all of the above in /ktp
#
# The debug kernel is built once into $KTP_CACHE (scripts/debug-kernel.sh).
# The module is built for it in a copy of the sources, so module/ktp.ko,
# built for the stock kernel, is left alone.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE
KTP_PLANT=${KTP_PLANT:-}
interactive=0
[ "${1:-}" = -i ] && interactive=1

work=$(mktemp -d /tmp/ktp-check-debug.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Stop before the VM: one failure, shown, and the closing line.
give_up()
{
	echo "not ok - $*"
	echo "0 passed, 1 failed"
	exit 1
}

echo "== debug kernel"
SECONDS=0
kdir=$(scripts/debug-kernel.sh) || give_up "building the debug kernel"
rel=$(cat "$kdir/release")
echo "# $rel in $kdir (ready in ${SECONDS}s)"

echo "== module for $rel${KTP_PLANT:+ (planted bug: $KTP_PLANT)}"
mkdir -p "$work/src" "$work/stage"
# The sources as they are in the work tree, new files included, build
# products (.gitignore) left out.
scripts/kernels.sh sources | tar -cf - -T - | tar -xf - -C "$work/src" ||
	give_up "copying the module sources"
if ! make -C "$kdir/src" M="$work/src" KTP_PLANT="$KTP_PLANT" modules \
	> "$work/build.log" 2>&1; then
	cat "$work/build.log"
	give_up "building ktp.ko for the debug kernel"
fi
grep -E 'warning|error' "$work/build.log"

install -m 755 scripts/vm-debug.sh "$work/stage/vm-debug.sh"
install -m 755 selftests/fault_inject.sh "$work/stage/fault_inject.sh"
${CC:-gcc} -O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE -static \
	-o "$work/stage/fault_exec" selftests/fault_exec.c ||
	give_up "building selftests/fault_exec.c"
env=
for v in KTP_FAULT_TESTS KTP_FAULT_ROUNDS KTP_DEBUG_STAGES KTP_FUZZ_N \
	 KTP_FUZZ_ONLY; do
	[ -n "${!v:-}" ] && env+="$v='${!v}' "
done

vm=(scripts/vm.sh -k "$kdir/bzImage" -m "$kdir/mods/lib/modules/$rel"
    -o "$work/src/module/ktp.ko" -d selftests/out -d "$work/stage")
if [ $interactive = 1 ]; then
	VM_MEM=${VM_MEM:-2048} "${vm[@]}" -i
	exit
fi

echo "== debug VM"
vmout=$work/vm.out
SECONDS=0
# A failed allocation may print its own warning with a call trace
# (warn_alloc): under fault injection that is the expected outcome. So
# may the sysctl core when a test's unshare(CLONE_NEWNET) loses the
# allocation of a directory: it names it, then dumps the stack.
# kmemleak's count of new suspects after a scan is judged by vm-debug.sh,
# which fails the run on the ones that belong to ktp only.
VM_SPLAT_ALLOW='page allocation failure: order:|vmalloc error: size|'
VM_SPLAT_ALLOW+='sysctl could not get directory: |'
VM_SPLAT_ALLOW+='kmemleak: [0-9]+ new suspected memory leaks'
export VM_SPLAT_ALLOW
VM_LOG=${KTP_DEBUG_LOG:-} VM_MEM=${VM_MEM:-2048} VM_TIMEOUT=${VM_TIMEOUT:-5400} \
	"${vm[@]}" -q -- "${env}./vm-debug.sh" 2>&1 | tee "$vmout"
vmrc=${PIPESTATUS[0]}
echo "# debug VM run: ${SECONDS}s"

totals=$(grep -o 'ktp-debug-totals: pass:[0-9]* fail:[0-9]* skip:[0-9]*' \
	 "$vmout" | tail -n1)
pass=0 fail=0 skip=0
if [ -n "$totals" ]; then
	# shellcheck disable=SC2046
	set -- $(echo "$totals" | tr -c '0-9\n' ' ')
	pass=$1 fail=$2 skip=$3
else
	echo "not ok - the debug VM run did not finish"
	fail=$((fail + 1))
fi
# vm.sh fails the run on any splat in the console log (KASAN, lockdep,
# WARNING, ...) and has shown it above.
if grep -q '^vm: kernel splat' "$vmout"; then
	echo "not ok - kernel splat in the debug VM (shown above)"
	fail=$((fail + 1))
elif [ "$vmrc" -ne 0 ] && [ "$fail" -eq 0 ]; then
	echo "not ok - the debug VM run failed (status $vmrc)"
	fail=$((fail + 1))
fi

summary="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && summary+=", $skip skipped"
echo "$summary"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
