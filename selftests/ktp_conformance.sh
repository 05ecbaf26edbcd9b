#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The conformance scripts in inject/: each one runs through ktp_inject,
# which plays the kernel's peer segment by segment, and is one test point.
# A script whose feature the module lacks fails: nothing is skipped but
# the known bugs below.
# Each script ends with the kernel's side gone (a RST ends what is left):
# a script after which the module's references do not come back to what
# they were fails, and a last test point checks the same for the whole
# run: ktp_module.sh, which runs next, unloads the module.
#
# A script that expected-skips lists ("ktp_conformance.sh NAME known-bug:
# WHAT") shows a bug of the module that is not fixed yet: it is reported
# as a skip with that reason, and run only when KTP_KNOWN_BUGS=1 (then its
# failure is a failure). The fix removes the line.
#
#   ktp_conformance.sh [script.pkt...]	default: every inject/*.pkt
#   KTP_KNOWN_BUGS=1 ktp_conformance.sh	the known bugs too

. "$(dirname "$0")/lib.sh"

dir=$(dirname "$0")
if [ $# -eq 0 ]; then
	set -- "$dir"/inject/*.pkt
	[ -e "$1" ] || { echo "no scripts in $dir/inject"; exit $KSFT_FAIL; }
fi

# known_bug NAME: expected-skips' reason for skipping script NAME, if any
known_bug()
{
	awk -v name="$1" '$1 == "ktp_conformance.sh" && $2 == name {
		$1 = $2 = ""; sub(/^ */, ""); print; exit }' "$dir/expected-skips"
}

# the module's reference count, from /proc/modules
refs() { sed -n 's/^ktp [0-9]* \([0-9]*\) .*/\1/p' /proc/modules; }

# refs_back_to N: wait, 15 s at most, for the count to be N again. Each
# script ran in a network namespace of its own, which the kernel
# dismantles in the background once ktp_inject exits.
refs_back_to()
{
	local i=0

	while [ "$(refs)" != "$1" ] && [ $i -lt 150 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(refs)" = "$1" ]
}

before=$(refs)
ktap_plan $(($# + 1))
for script in "$@"; do
	name=$(basename "$script" .pkt)
	bug=$(known_bug "$name")
	if [ -n "$bug" ] && [ "${KTP_KNOWN_BUGS:-0}" != 1 ]; then
		ktap_skip "$name" "$bug"
		continue
	fi
	at=$(refs)
	out=$("$dir/ktp_inject" "$script" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	if ! refs_back_to "$at"; then
		diag "$name: module references $at before, $(refs) after"
		rc=1
	fi
	case $rc in
	0) ktap_ok "$name" ;;
	*) ktap_fail "$name" ;;
	esac
done

refs_back_to "$before"
diag "module references: $before before, $(refs) after"
ktap_check "no_references_left" '[ "$(refs)" = "$before" ]'
ktap_finish
