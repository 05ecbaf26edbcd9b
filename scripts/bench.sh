#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# KTP against Linux TCP, measured with ktpperf in the test VM. Over
# loopback: the kernel memory of an idle connection, the accept rate of
# one listener with CONNS connections held open, bulk throughput. Between
# two network namespaces joined by a veth pair: bulk (MTU 1500, one and
# four streams; MTU 9000), request/response (rr) and connect/request/
# response/close (crr) rates, and bulk goodput through netem (10 ms delay
# and 1% or 5% loss each way, every segment MTU-sized). KTP and TCP runs
# alternate, each round starting with the other protocol, and the table
# reports the median of the rounds and the ratio KTP/TCP. A benchmark, not
# a test: under TCG the numbers move by tens of percent from run to run.
#
#   scripts/bench.sh [-r ROUNDS] [-t SECONDS] [-s SIZE] [-i CONNS] [-a CONNS]
#
#   -r ROUNDS   runs of each protocol per measurement (default 5)
#   -t SECONDS  length of one run (default 3)
#   -s SIZE     rr/crr message size in bytes (default 1)
#   -i CONNS    idle connections measured for memory (default 1000)
#   -a CONNS    connections of the accept-rate run (default 10000)
#
# On the host it stages ktpperf and itself and boots the VM with
# scripts/vm.sh (VM_TIMEOUT, default 1800 s; VM_MEM, default 1024 MiB,
# holds 10000 pairs of each protocol); inside, "bench.sh --in-vm" does
# the work. Build first with make. Exit status: 0 when every run
# completed, 1 when one failed (its cell reads "fail"), 2 on a setup
# error.
set -u

ROUNDS=5
SECS=3
SIZE=1
IDLE=1000
ACCEPT=10000
in_vm=0

usage()
{
	sed -n '15,28s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-r) ROUNDS=$2; shift 2 ;;
	-t) SECS=$2; shift 2 ;;
	-s) SIZE=$2; shift 2 ;;
	-i) IDLE=$2; shift 2 ;;
	-a) ACCEPT=$2; shift 2 ;;
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
	"$top/scripts/vm.sh" -q -t "${VM_TIMEOUT:-1800}" -d "$stage" -- \
		"./bench.sh --in-vm -r $ROUNDS -t $SECS -s $SIZE -i $IDLE" \
		"-a $ACCEPT"
	exit $?
fi

# ---- inside the VM ----

ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }

PORT=5301
# idle and accept: ktpperf's own listener, beside the server's port
LPORT=5302
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

# one NETNS|- ADDR ARGS PROTO: one run of ktpperf with ARGS (split at
# blanks); prints its JSON line or "fail".
one()
{
	local ns=$1 addr=$2 args=$3 flag= json

	[ "$4" = tcp ] && flag=--tcp
	# stderr to a file: on the console (a terminal) ktpperf would draw
	# its progress line there
	# shellcheck disable=SC2086
	if [ "$ns" = - ]; then
		json=$(./ktpperf -c "$addr" -p $PORT $args --json $flag \
		       2> "$tmp/err")
	else
		json=$(ip netns exec "$ns" ./ktpperf -c "$addr" -p $PORT \
		       $args --json $flag 2> "$tmp/err")
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
	sed "s/.*\"$1\":\(-\{0,1\}[0-9.]*\).*/\1/"
}

median()
{
	grep -v '^fail$' | sort -n |
		awk '{ v[NR] = $1 }
		     END { if (!NR) print "fail";
			   else if (NR % 2) print v[(NR + 1) / 2];
			   else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure LABEL NETNS ADDR ARGS FIELD:UNIT[:SUFFIX]...: ROUNDS rounds
# of ktpperf ARGS that alternate which protocol goes first; one table row
# per field.
measure()
{
	local label=$1 ns=$2 addr=$3 args=$4 i=0 spec f unit name mk mt r

	shift 4
	: > "$tmp/ktp"
	: > "$tmp/tcp"
	while [ $i -lt "$ROUNDS" ]; do
		if [ $((i % 2)) = 0 ]; then
			one "$ns" "$addr" "$args" ktp >> "$tmp/ktp"
			one "$ns" "$addr" "$args" tcp >> "$tmp/tcp"
		else
			one "$ns" "$addr" "$args" tcp >> "$tmp/tcp"
			one "$ns" "$addr" "$args" ktp >> "$tmp/ktp"
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

# mtu MTU: both ends of the veth pair.
mtu()
{
	ip -n "$nsa" link set veth0 mtu "$1" &&
	ip -n "$nsb" link set veth1 mtu "$1"
}

# netem ARGS...: the same impairment on both ends of the veth pair; none
# for a clean link. netem sits above the device and would drop a 64 KiB
# GSO or TSO burst as one packet: with an impairment every segment leaves
# MTU-sized, for both protocols (gso and tso off for TCP's bursts,
# tx-sctp-segmentation for the type KTP's super-segments carry).
netem()
{
	local onoff=off

	tc -n "$nsa" qdisc del dev veth0 root 2>/dev/null
	tc -n "$nsb" qdisc del dev veth1 root 2>/dev/null
	[ $# -eq 0 ] && onoff=on
	ip netns exec "$nsa" /usr/sbin/ethtool -K veth0 gso $onoff tso $onoff \
		tx-sctp-segmentation $onoff > /dev/null &&
	ip netns exec "$nsb" /usr/sbin/ethtool -K veth1 gso $onoff tso $onoff \
		tx-sctp-segmentation $onoff > /dev/null || return 1
	[ $# -eq 0 ] && return 0
	tc -n "$nsa" qdisc add dev veth0 root netem "$@" &&
	tc -n "$nsb" qdisc add dev veth1 root netem "$@"
}

echo "# ktpperf: $ROUNDS rounds of ${SECS}s per protocol, message size" \
     "$SIZE, $IDLE idle and $ACCEPT accepted connections, medians;" \
     "$(nproc) CPUs, $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) kB," \
     "kernel $(uname -r)"
mkdir -p "$tmp"

bulk="-t $SECS --mode bulk"

# loopback, before anything leaves sockets behind (TIME_WAIT) whose end
# would move the memory figures: ktpperf is both ends, on its own port
ip link set lo up
measure "lo idle" - 127.0.0.1 "-p $LPORT --mode idle -n $IDLE -t 1" \
	slab_per_conn:B/conn:slab mem_per_conn:B/conn:mem
measure "lo accept" - 127.0.0.1 "-p $LPORT --mode accept -n $ACCEPT -P 4" \
	cps:conn/s accepted:conns:count

server -
measure "lo bulk" - 127.0.0.1 "$bulk" mbps:Mbit/s

ip netns add "$nsa" && ip netns add "$nsb" &&
ip link add veth0 netns "$nsa" type veth peer name veth1 netns "$nsb" &&
ip -n "$nsa" link set veth0 mtu 1500 up &&
ip -n "$nsb" link set veth1 mtu 1500 up &&
ip -n "$nsa" addr add 10.202.0.1/24 dev veth0 &&
ip -n "$nsb" addr add 10.202.0.2/24 dev veth1 ||
	{ echo "bench: cannot set up the veth pair"; exit 2; }
server "$nsb"
measure "veth bulk" "$nsa" 10.202.0.2 "$bulk" mbps:Mbit/s
measure "veth bulk x4" "$nsa" 10.202.0.2 "$bulk -P 4" mbps:Mbit/s
measure "veth rr" "$nsa" 10.202.0.2 "-t $SECS --mode rr --size $SIZE" \
	tps:trans/s p50_us:us:p50 p99_us:us:p99
measure "veth crr" "$nsa" 10.202.0.2 "-t $SECS --mode crr --size $SIZE" \
	tps:conn/s p50_us:us:p50

mtu 9000 || { echo "bench: cannot set MTU 9000"; exit 2; }
measure "veth mtu9k bulk" "$nsa" 10.202.0.2 "$bulk" mbps:Mbit/s
mtu 1500 || { echo "bench: cannot set MTU 1500"; exit 2; }

netem delay 10ms loss 1% || { echo "bench: tc netem failed"; exit 2; }
measure "netem 1% 10ms" "$nsa" 10.202.0.2 "$bulk" mbps:Mbit/s
netem delay 10ms loss 5% || { echo "bench: tc netem failed"; exit 2; }
measure "netem 5% 10ms" "$nsa" 10.202.0.2 "$bulk" mbps:Mbit/s
netem

echo
printf '%-16s %12s %12s %-8s %8s\n' test KTP TCP unit KTP/TCP
cat "$tmp/rows"
[ $failed = 0 ] || echo "# some runs failed: their cells read fail"
exit $failed
