#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# KTP against Linux TCP, measured with ktpperf in the test VM. Over
# loopback: the kernel memory of an idle connection, the accept rate of
# one listener with CONNS connections held open, bulk throughput. Between
# two network namespaces joined by a veth pair: bulk (MTU 1500, one and
# four streams; MTU 9000), request/response (rr) and connect/request/
# response/close (crr) rates, and bulk goodput through a router whose
# netem delays each way by 10 ms and loses 1% or 5% of the packets. KTP
# and TCP runs alternate, each round starting with the other protocol,
# and the table reports the median of the rounds and the ratio KTP/TCP.
# Last, the fair
# share (issue 14): two CUBIC flows at once through a router namespace
# whose bottleneck is 50 Mbit/s, 20 ms RTT and a queue of one BDP, KTP
# beside TCP, KTP beside KTP, TCP beside TCP; each row has the two rates
# and their ratio. A benchmark, not a test: under TCG the numbers move by
# tens of percent from run to run.
#
#   scripts/bench.sh [-r ROUNDS] [-t SECONDS] [-s SIZE] [-i CONNS] [-a CONNS]
#                    [-f SECONDS] [-l SECONDS] [-o GROUPS]
#
#   -r ROUNDS   runs of each protocol per measurement (default 5)
#   -t SECONDS  length of one run (default 3)
#   -s SIZE     rr/crr message size in bytes (default 1)
#   -i CONNS    idle connections measured for memory (default 1000)
#   -a CONNS    connections of the accept-rate run (default 10000)
#   -f SECONDS  length of a fair-share run (default 30)
#   -l SECONDS  length of one run through the lossy path (default 10)
#   -o GROUPS   only these rows, comma-separated: lo, veth, netem, fair
#               (default all)
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
FAIR=30
LOSSSECS=10
ONLY=lo,veth,netem,fair
in_vm=0

usage()
{
	sed -n '20,38s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-r) ROUNDS=$2; shift 2 ;;
	-t) SECS=$2; shift 2 ;;
	-s) SIZE=$2; shift 2 ;;
	-i) IDLE=$2; shift 2 ;;
	-a) ACCEPT=$2; shift 2 ;;
	-f) FAIR=$2; shift 2 ;;
	-l) LOSSSECS=$2; shift 2 ;;
	-o) ONLY=$2; shift 2 ;;
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
		"-a $ACCEPT -f $FAIR -l $LOSSSECS -o $ONLY"
	exit $?
fi

# ---- inside the VM ----

ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }

PORT=5301
# the fair-share bottleneck: one BDP of queue is 50 Mbit/s x 20 ms =
# 125 kB, 83 packets of 1514 bytes
FAIR_RATE=50mbit
FAIR_DELAY=20ms
FAIR_LIMIT=83
# idle and accept: ktpperf's own listener, beside the server's port
LPORT=5302
nsa=kbencha$$
nsb=kbenchb$$
# the fair-share rows' router
nsr=kbenchr$$
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
	ip netns del "$nsr" 2>/dev/null
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

# one NETNS|- ADDR ARGS PROTO [TAG]: one run of ktpperf with ARGS (split
# at blanks); prints its JSON line or "fail". Runs at once have TAGs of
# their own, for their error files.
one()
{
	local ns=$1 addr=$2 args=$3 flag= json err=$tmp/err${5:-}

	[ "$4" = tcp ] && flag=--tcp
	# stderr to a file: on the console (a terminal) ktpperf would draw
	# its progress line there
	# shellcheck disable=SC2086
	if [ "$ns" = - ]; then
		json=$(./ktpperf -c "$addr" -p $PORT $args --json $flag \
		       2> "$err")
	else
		json=$(ip netns exec "$ns" ./ktpperf -c "$addr" -p $PORT \
		       $args --json $flag 2> "$err")
	fi
	if [ $? -ne 0 ] || [ -z "$json" ]; then
		sed 's/^/# /' "$err" >&2
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
		row "$name" "$mk" "$mt" "$unit"
	done
}

# row NAME A B UNIT: a line of the table, with the ratio A/B.
row()
{
	local r

	r=$(awk -v a="$2" -v b="$3" 'BEGIN {
		if (a == "fail" || b == "fail" || b == 0) print "-";
		else printf "%.3f", a / b }')
	printf '%-16s %12s %12s %-8s %8s\n' "$1" "$2" "$3" "$4" "$r" \
		>> "$tmp/rows"
}

# mtu MTU: both ends of the veth pair.
mtu()
{
	ip -n "$nsa" link set veth0 mtu "$1" &&
	ip -n "$nsb" link set veth1 mtu "$1"
}

# offloads NETNS DEV on|off: the segmentation offloads of a veth end, gso
# and tso for TCP's bursts, tx-sctp-segmentation for the type KTP's
# super-segments carry. Off, every segment leaves MTU-sized.
offloads()
{
	ip netns exec "$1" /usr/sbin/ethtool -K "$2" gso "$3" tso "$3" \
		tx-sctp-segmentation "$3" > /dev/null
}

# lossy ARGS...: the same netem impairment on both ways through the
# router, its qdiscs afresh; none for a clean path. The loss is of wire
# packets: the senders' super-segments are cut at their own devices
# (router()), and the router forwards what it receives one packet at a
# time. netem on a sender's own device would drop a whole GSO or TSO skb
# as one packet, TCP's two to four segments at once as one loss event.
lossy()
{
	tc -n "$nsr" qdisc del dev veth4 root 2>/dev/null
	tc -n "$nsr" qdisc del dev veth3 root 2>/dev/null
	[ $# -eq 0 ] && return 0
	tc -n "$nsr" qdisc add dev veth4 root netem "$@" &&
	tc -n "$nsr" qdisc add dev veth3 root netem "$@"
}

# wire NETNS DEV NETNS DEV NET: a veth pair between two namespaces, MTU
# 1500, NET.1/24 on the first end and NET.2/24 on the second.
wire()
{
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
	ip -n "$1" link set "$2" mtu 1500 up &&
	ip -n "$3" link set "$4" mtu 1500 up &&
	ip -n "$1" addr add "$5.1/24" dev "$2" &&
	ip -n "$3" addr add "$5.2/24" dev "$4"
}

# cubic NETNS: CUBIC for the new sockets of both protocols there.
cubic()
{
	ip netns exec "$1" sh -c \
		'echo cubic > /proc/sys/net/ipv4/tcp_congestion_control &&
		 echo cubic > /proc/sys/net/ktp/congestion_control'
}

# router: the lossy and fair-share path from nsa to nsb through a third
# namespace,
# beside the direct pair: veth2 (nsa, 10.202.1.1) to veth3 (nsr, .2),
# veth4 (nsr, 10.202.2.1) to veth5 (nsb, .2). The bottleneck is the
# router's, as on a real path: a packet the sender's own qdisc drops is
# no loss to TCP but local congestion it hears of at once
# (NET_XMIT_DROP), and the sender's small-queue limit would count the
# packets queued there. The senders' segmentation offloads are off, so
# that every segment is one packet of the queue.
router()
{
	ip netns add "$nsr" &&
	wire "$nsa" veth2 "$nsr" veth3 10.202.1 &&
	wire "$nsr" veth4 "$nsb" veth5 10.202.2 &&
	ip -n "$nsa" route add 10.202.2.0/24 via 10.202.1.2 &&
	ip -n "$nsb" route add 10.202.1.0/24 via 10.202.2.1 &&
	ip netns exec "$nsr" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' &&
	offloads "$nsa" veth2 off && offloads "$nsb" veth5 off &&
	ip netns exec "$nsr" /usr/sbin/ethtool -K veth3 gro off &&
	ip netns exec "$nsr" /usr/sbin/ethtool -K veth4 gro off &&
	cubic "$nsa" && cubic "$nsb"
}

# bottleneck: the router's qdiscs afresh, their counters at zero. The data
# leave veth4 at FAIR_RATE through a queue of FAIR_LIMIT packets; the
# ACKs leave veth3 FAIR_DELAY late, all of the path's delay on one way.
# Not both in one netem: with a delay, netem's rate hides queueing
# under it (a packet waits the longer of the two, not their sum).
bottleneck()
{
	tc -n "$nsr" qdisc del dev veth4 root 2>/dev/null
	tc -n "$nsr" qdisc del dev veth3 root 2>/dev/null
	tc -n "$nsr" qdisc add dev veth4 root netem rate "$FAIR_RATE" \
		limit "$FAIR_LIMIT" &&
	tc -n "$nsr" qdisc add dev veth3 root netem delay "$FAIR_DELAY"
}

# pair LABEL PROTO PROTO: two bulk flows at once from nsa to nsb through
# the router for FAIR seconds; a row with their rates and the ratio
# first/second, "#" lines with their JSON and the bottleneck's counts.
pair()
{
	local label=$1 p1 p2 f

	bottleneck || { echo "bench: tc netem failed"; exit 2; }
	one "$nsa" 10.202.2.2 "-t $FAIR --mode bulk" "$2" 1 > "$tmp/flow1" &
	p1=$!
	one "$nsa" 10.202.2.2 "-t $FAIR --mode bulk" "$3" 2 > "$tmp/flow2" &
	p2=$!
	wait "$p1" "$p2"
	for f in 1 2; do
		echo "# $label flow $f: $(cat "$tmp/flow$f")"
		grep -q '^fail$' "$tmp/flow$f" && failed=1
	done
	echo "# $label bottleneck: $(tc -n "$nsr" -s qdisc show dev veth4 |
		sed -n 's/^ *Sent //p')"
	row "$label" "$(field mbps < "$tmp/flow1")" \
		"$(field mbps < "$tmp/flow2")" Mbit/s
}

# want GROUP: whether -o asked for this group of rows.
want()
{
	case ",$ONLY," in
	*",$1,"*) return 0 ;;
	esac
	return 1
}

echo "# ktpperf: $ROUNDS rounds of ${SECS}s per protocol, message size" \
     "$SIZE, $IDLE idle and $ACCEPT accepted connections, medians;" \
     "$(nproc) CPUs, $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) kB," \
     "kernel $(uname -r); fair share ${FAIR}s; rows $ONLY"
mkdir -p "$tmp"

bulk="-t $SECS --mode bulk"
lossbulk="-t $LOSSSECS --mode bulk"

# loopback, before anything leaves sockets behind (TIME_WAIT) whose end
# would move the memory figures: ktpperf is both ends, on its own port
if want lo; then
	ip link set lo up
	measure "lo idle" - 127.0.0.1 "-p $LPORT --mode idle -n $IDLE -t 1" \
		slab_per_conn:B/conn:slab mem_per_conn:B/conn:mem
	measure "lo accept" - 127.0.0.1 \
		"-p $LPORT --mode accept -n $ACCEPT -P 4" \
		cps:conn/s accepted:conns:count
	server -
	measure "lo bulk" - 127.0.0.1 "$bulk" mbps:Mbit/s
fi

ip netns add "$nsa" && ip netns add "$nsb" &&
wire "$nsa" veth0 "$nsb" veth1 10.202.0 ||
	{ echo "bench: cannot set up the veth pair"; exit 2; }
server "$nsb"
if want veth; then
	measure "veth bulk" "$nsa" 10.202.0.2 "$bulk" mbps:Mbit/s
	measure "veth bulk x4" "$nsa" 10.202.0.2 "$bulk -P 4" mbps:Mbit/s
	measure "veth rr" "$nsa" 10.202.0.2 \
		"-t $SECS --mode rr --size $SIZE" \
		tps:trans/s p50_us:us:p50 p99_us:us:p99
	measure "veth crr" "$nsa" 10.202.0.2 \
		"-t $SECS --mode crr --size $SIZE" tps:conn/s p50_us:us:p50

	mtu 9000 || { echo "bench: cannot set MTU 9000"; exit 2; }
	measure "veth mtu9k bulk" "$nsa" 10.202.0.2 "$bulk" mbps:Mbit/s
	mtu 1500 || { echo "bench: cannot set MTU 1500"; exit 2; }
fi

if want netem || want fair; then
	router || { echo "bench: cannot set up the router"; exit 2; }
fi
if want netem; then
	lossy delay 10ms loss 1% || { echo "bench: tc netem failed"; exit 2; }
	measure "netem 1% 10ms" "$nsa" 10.202.2.2 "$lossbulk" mbps:Mbit/s
	lossy delay 10ms loss 5% || { echo "bench: tc netem failed"; exit 2; }
	measure "netem 5% 10ms" "$nsa" 10.202.2.2 "$lossbulk" mbps:Mbit/s
	lossy
fi

# fair share, last: FAIR seconds of each pair, once
if want fair; then
	echo "# fair: congestion control tcp $(ip netns exec "$nsa" \
		cat /proc/sys/net/ipv4/tcp_congestion_control), ktp" \
		"$(ip netns exec "$nsa" cat /proc/sys/net/ktp/congestion_control)"
	pair "fair KTP:TCP" ktp tcp
	pair "fair KTP:KTP" ktp ktp
	pair "fair TCP:TCP" tcp tcp
fi

echo
printf '%-16s %12s %12s %-8s %8s\n' test KTP TCP unit KTP/TCP
cat "$tmp/rows"
want fair && echo "# fair rows: flow 1 and flow 2 at once through" \
	"$FAIR_RATE, ${FAIR_DELAY} RTT, a queue of $FAIR_LIMIT packets;" \
	"ratio flow 1/flow 2, fair from 0.8 to 1.25"
[ $failed = 0 ] || echo "# some runs failed: their cells read fail"
exit $failed
