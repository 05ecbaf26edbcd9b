#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# KTP against Linux TCP, measured with ktpperf in the test VM: bulk
# throughput over loopback, and bulk, request/response (rr) and
# connect/request/response/close (crr) rates between two network
# namespaces joined by a veth pair (MTU 1500). KTP and TCP runs alternate,
# each round starting with the other protocol, and the table reports the
# median of the rounds and the ratio KTP/TCP. A benchmark, not a test:
# under TCG the numbers move by tens of percent from run to run.
#
#   scripts/bench.sh [-r ROUNDS] [-t SECONDS] [-s SIZE]
#
#   -r ROUNDS   runs of each protocol per measurement (default 5)
#   -t SECONDS  length of one run (default 3)
#   -s SIZE     rr/crr message size in bytes (default 1)
#
# On the host it stages ktpperf and itself and boots the VM with
# scripts/vm.sh (VM_TIMEOUT, default 900 s); inside, "bench.sh --in-vm"
# does the work. Build first with make. Exit status: 0 when every run
# completed, 1 when one failed (its cell reads "fail"), 2 on a setup
# error.
set -u

ROUNDS=5
SECS=3
SIZE=1
in_vm=0

usage()
{
	sed -n '12,22s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-r) ROUNDS=$2; shift 2 ;;
	-t) SECS=$2; shift 2 ;;
	-s) SIZE=$2; shift 2 ;;
	--in-vm) in_vm=1; shift ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done

if [ $in_vm = 0 ]; then
	top=$(cd "$(dirname "$0")/.." && pwd)
	perf=$top/userspace/tools/ktpperf
	[ -x "$perf" ] && [ -f "$top/module/ktp.ko" ] ||
		{ echo "bench: build first: make" >&2; exit 2; }
	stage=$(mktemp -d /tmp/ktp-bench.XXXXXX)
	trap 'rm -rf "$stage"' EXIT
	cp "$perf" "$0" "$stage/" || exit 2
	"$top/scripts/vm.sh" -q -t "${VM_TIMEOUT:-900}" -d "$stage" -- \
		"./bench.sh --in-vm -r $ROUNDS -t $SECS -s $SIZE"
	exit $?
fi

# ---- inside the VM ----

ip() { /usr/sbin/ip "$@"; }

PORT=5301
nsa=kbencha$$
nsb=kbenchb$$
failed=0
spids=
tmp=/tmp/bench.$$

cleanup()
{
	local p

	for p in $spids; do
		kill "$p" 2>/dev/null
	done
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# server NETNS|-: start a ktpperf server, wait until it listens.
server()
{
	local log=/tmp/bench-server.$$.$1 i=0

	if [ "$1" = - ]; then
		./ktpperf -s -p $PORT > "$log" 2>&1 &
	else
		ip netns exec "$1" ./ktpperf -s -p $PORT > "$log" 2>&1 &
	fi
	spids="$spids $!"
	while ! grep -q listening "$log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "bench: no server"; exit 2; }
		sleep 0.1
	done
}

# one NETNS|- ADDR MODE PROTO: one run; prints its JSON line or "fail".
one()
{
	local ns=$1 addr=$2 mode=$3 flag= json

	[ "$4" = tcp ] && flag=--tcp
	# stderr to a file: on the console (a terminal) ktpperf would draw
	# its progress line there
	if [ "$ns" = - ]; then
		json=$(./ktpperf -c "$addr" -p $PORT -t "$SECS" --mode "$mode" \
		       --size "$SIZE" --json $flag 2> "$tmp/err")
	else
		json=$(ip netns exec "$ns" ./ktpperf -c "$addr" -p $PORT \
		       -t "$SECS" --mode "$mode" --size "$SIZE" --json $flag \
		       2> "$tmp/err")
	fi
	if [ $? -ne 0 ] || [ -z "$json" ]; then
		sed 's/^/# /' "$tmp/err" >&2
		failed=1
		echo fail
		return
	fi
	echo "$json"
}

# field NAME < JSON lines: the values, "fail" for a failed run.
field()
{
	sed "s/.*\"$1\":\([0-9.]*\).*/\1/"
}

median()
{
	grep -v '^fail$' | sort -n |
		awk '{ v[NR] = $1 }
		     END { if (!NR) print "fail";
			   else if (NR % 2) print v[(NR + 1) / 2];
			   else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure LABEL NETNS ADDR MODE FIELD:UNIT[:SUFFIX]...: ROUNDS rounds
# that alternate which protocol goes first; one table row per field.
measure()
{
	local label=$1 ns=$2 addr=$3 mode=$4 i=0 spec f unit name mk mt r

	shift 4
	: > "$tmp/ktp"
	: > "$tmp/tcp"
	while [ $i -lt "$ROUNDS" ]; do
		if [ $((i % 2)) = 0 ]; then
			one "$ns" "$addr" "$mode" ktp >> "$tmp/ktp"
			one "$ns" "$addr" "$mode" tcp >> "$tmp/tcp"
		else
			one "$ns" "$addr" "$mode" tcp >> "$tmp/tcp"
			one "$ns" "$addr" "$mode" ktp >> "$tmp/ktp"
		fi
		i=$((i + 1))
	done
	for spec in "$@"; do
		f=${spec%%:*}
		unit=${spec#*:}
		name="$label"
		case $unit in
		*:*) name="$label ${unit#*:}"; unit=${unit%%:*} ;;
		esac
		echo "# $name ktp: $(field "$f" < "$tmp/ktp" | tr '\n' ' ')"
		echo "# $name tcp: $(field "$f" < "$tmp/tcp" | tr '\n' ' ')"
		mk=$(field "$f" < "$tmp/ktp" | median)
		mt=$(field "$f" < "$tmp/tcp" | median)
		r=$(awk -v k="$mk" -v t="$mt" 'BEGIN {
			if (k == "fail" || t == "fail" || t == 0) print "-";
			else printf "%.3f", k / t }')
		printf '%-16s %12s %12s %-8s %8s\n' "$name" "$mk" "$mt" \
			"$unit" "$r" >> "$tmp/rows"
	done
}

echo "# ktpperf: $ROUNDS rounds of ${SECS}s per protocol, message size" \
     "$SIZE, medians; $(nproc) CPUs, kernel $(uname -r)"
mkdir -p "$tmp"

server -
measure "lo bulk" - 127.0.0.1 bulk mbps:Mbit/s

ip netns add "$nsa" && ip netns add "$nsb" &&
ip link add veth0 netns "$nsa" type veth peer name veth1 netns "$nsb" &&
ip -n "$nsa" link set veth0 mtu 1500 up &&
ip -n "$nsb" link set veth1 mtu 1500 up &&
ip -n "$nsa" addr add 10.202.0.1/24 dev veth0 &&
ip -n "$nsb" addr add 10.202.0.2/24 dev veth1 ||
	{ echo "bench: cannot set up the veth pair"; exit 2; }
server "$nsb"
measure "veth bulk" "$nsa" 10.202.0.2 bulk mbps:Mbit/s
measure "veth rr" "$nsa" 10.202.0.2 rr tps:trans/s p50_us:us:p50 \
	p99_us:us:p99
measure "veth crr" "$nsa" 10.202.0.2 crr tps:conn/s p50_us:us:p50

echo
printf '%-16s %12s %12s %-8s %8s\n' test KTP TCP unit KTP/TCP
cat "$tmp/rows"
[ $failed = 0 ] || echo "# some runs failed: their cells read fail"
exit $failed
