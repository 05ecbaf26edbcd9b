#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KTAP for the host tests written in bash: source it, print the plan,
# call ok STATUS NAME for each point, end with ktap_done.

ktap_n=0
ktap_failed=0

# ok STATUS NAME: a point that passed when STATUS is 0.
ok()
{
	ktap_n=$((ktap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $ktap_n $2"
	else
		echo "not ok $ktap_n $2"
		ktap_failed=$((ktap_failed + 1))
	fi
}

# The exit status: 0 when no point failed.
ktap_done()
{
	[ "$ktap_failed" = 0 ]
}
