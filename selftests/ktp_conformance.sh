#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The conformance scripts in inject/: each one runs through ktp_inject,
# which plays the kernel's peer segment by segment, and is one test point.
# A script whose feature the module lacks yet is a skip, not a failure.
# Each script ends with the kernel's side gone (a RST ends what is left),
# and a last test point checks that nothing holds the module afterwards:
# ktp_module.sh, which runs next, unloads it.
#
# A script with a line "# known-bug: WHAT" shows a bug of the module that
# is not fixed yet: it is reported as a skip with WHAT as the reason, and
# run only when KTP_KNOWN_BUGS=1 (then its failure is a failure). Remove
# the line with the fix.
#
#   ktp_conformance.sh [script.pkt...]	default: every inject/*.pkt
#   KTP_KNOWN_BUGS=1 ktp_conformance.sh	the known bugs too

. "$(dirname "$0")/lib.sh"

dir=$(dirname "$0")
if [ $# -eq 0 ]; then
	set -- "$dir"/inject/*.pkt
	[ -e "$1" ] || { echo "no scripts in $dir/inject"; exit $KSFT_SKIP; }
fi

# the module's reference count, from /proc/modules
refs() { sed -n 's/^ktp [0-9]* \([0-9]*\) .*/\1/p' /proc/modules; }

before=$(refs)
ktap_plan $(($# + 1))
for script in "$@"; do
	name=$(basename "$script" .pkt)
	bug=$(sed -n 's/^# known-bug: *//p' "$script" | head -n1)
	if [ -n "$bug" ] && [ "${KTP_KNOWN_BUGS:-0}" != 1 ]; then
		ktap_skip "$name" "known-bug: $bug"
		continue
	fi
	out=$("$dir/ktp_inject" "$script" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	case $rc in
	0) ktap_ok "$name" ;;
	4) ktap_skip "$name" "$(echo "$out" | tail -n1 | sed 's/^ *//')" ;;
	*) ktap_fail "$name" ;;
	esac
done

# every script ran in a network namespace of its own, which the kernel
# dismantles in the background: give it a few seconds
i=0
while [ "$(refs)" != "$before" ] && [ $i -lt 30 ]; do
	sleep 0.5
	i=$((i + 1))
done
diag "module references: $before before, $(refs) after"
ktap_check "no_references_left" '[ "$(refs)" = "$before" ]'
ktap_finish
