#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The conformance scripts in inject/: each one runs through ktp_inject,
# which plays the kernel's peer segment by segment, and is one test point.
# A script whose feature the module lacks yet is a skip, not a failure.
#
#   ktp_conformance.sh [script.pkt...]	default: every inject/*.pkt

. "$(dirname "$0")/lib.sh"

dir=$(dirname "$0")
if [ $# -eq 0 ]; then
	set -- "$dir"/inject/*.pkt
	[ -e "$1" ] || { echo "no scripts in $dir/inject"; exit $KSFT_SKIP; }
fi

ktap_plan $#
for script in "$@"; do
	name=$(basename "$script" .pkt)
	out=$("$dir/ktp_inject" "$script" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	case $rc in
	0) ktap_ok "$name" ;;
	4) ktap_skip "$name" "$(echo "$out" | tail -n1 | sed 's/^ *//')" ;;
	*) ktap_fail "$name" ;;
	esac
done
ktap_finish
