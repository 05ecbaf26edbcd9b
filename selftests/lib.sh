#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the KTP shell selftests: KTAP output and the real
# iproute2 tools. busybox sh runs its own applets before anything on PATH,
# so ip and tc must go by full path; these functions do that.

ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ktap_n=0
ktap_failed=0

ktap_plan()
{
	echo "TAP version 13"
	echo "1..$1"
}

ktap_ok()
{
	ktap_n=$((ktap_n + 1))
	echo "ok $ktap_n $1"
}

ktap_fail()
{
	ktap_n=$((ktap_n + 1))
	ktap_failed=$((ktap_failed + 1))
	echo "not ok $ktap_n $1"
}

ktap_skip()
{
	ktap_n=$((ktap_n + 1))
	echo "ok $ktap_n $1 # SKIP $2"
}

# ktap_check NAME CONDITION: one test point from a shell condition,
# evaluated in the caller's context.
ktap_check()
{
	local name=$1

	shift
	if eval "$*"; then
		ktap_ok "$name"
	else
		ktap_fail "$name"
	fi
}

# ktap_check_files NAME CONDITION [FILE...]: ktap_check, and when the
# point fails, the first lines of the FILEs that say why, as diagnostics.
ktap_check_files()
{
	local name=$1 cond=$2 f

	shift 2
	if eval "$cond"; then
		ktap_ok "$name"
		return 0
	fi
	ktap_fail "$name"
	for f in "$@"; do
		[ -f "$f" ] && sed "s|^|# ${f##*/}: |" "$f" | head -n 20
	done
	return 1
}

# ktap_until_line FILE PATTERN: wait, 10 s at most, for a line that a
# command in the background writes to FILE.
ktap_until_line()
{
	local n=100

	while ! grep -q "$2" "$1" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

ktap_finish()
{
	if [ "$ktap_failed" -gt 0 ]; then
		exit $KSFT_FAIL
	fi
	exit $KSFT_PASS
}

diag() { echo "# $*"; }

# wait_local_route NS ADDR...: each ADDR's local route in namespace NS
# ("-": this one) within 5 s (0), or 1. An IPv6 address added "nodad" is a source at
# once, but addrconf inserts its local route later: until then what
# arrives for it is dropped (Ip6InAddrErrors), a lost first segment.
wait_local_route()
{
	local nsopt="-n $1" addr fam i
	[ "$1" != - ] || nsopt=
	shift

	for addr in "$@"; do
		i=0
		# with a table, ip route defaults to IPv4 whatever the address
		case $addr in *:*) fam=-6 ;; *) fam=-4 ;; esac
		# shellcheck disable=SC2086 # "-n NS" is two words
		until ip $nsopt $fam route show table local "$addr" |
		      grep -q "^local "; do
			[ $i -lt 500 ] || return 1
			sleep 0.01
			i=$((i + 1))
		done
	done
}

# ktap_refs_back NAME REFS: the point NAME, once the module's reference
# count is back at REFS (what it was before the test's connections),
# within 20 s: a test leaves no connection behind, since ktp_module.sh
# unloads the module next.
ktap_refs_back()
{
	local i=0

	while [ "$(cat /sys/module/ktp/refcnt 2>/dev/null)" != "$2" ] &&
	      [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	diag "module refcnt $2 before, $(cat /sys/module/ktp/refcnt) after"
	ktap_check "$1" "[ $i -lt 100 ]"
}
