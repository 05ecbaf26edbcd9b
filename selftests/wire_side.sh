#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One side of scripts/wire-test.sh, in a test VM whose virtio-net NIC
# (eth0) is wired to another VM's: configure the NIC, wait for the peer,
# then case by case listen for the peer's KTP connection and connect to
# the peer's listener at the same time, each connection moving BYTES in
# both directions (ktp_xfer checks every byte). Both sides run the same
# cases in the same order; a case cannot end on one side before it
# reached the other, which keeps the two in step. Not one of the tests
# run_tests.sh runs: it needs the other VM.
#
#   wire_side.sh -s 1|2 [-n BYTES] [-t SECS] [-w SECS] [case...]
#
#   -s SIDE   1: 10.99.0.1/24 and fd99::1/64, the peer .2 and ::2; 2: the
#             other way round
#   -n BYTES  sent by each end of each connection (default 8M)
#   -t SECS   time bound of one transfer, connecting included (default 600)
#   -w SECS   how long the peer has to answer ping (default 600: it may
#             boot minutes later)
#   case      clean_ipv4 clean_ipv6 loss_ipv4 loss_ipv6 (default: all);
#             loss_*: netem loss 1% delay 5ms on eth0, the peer likewise;
#             bench (not among the default): ktpperf's bulk from side 2
#             to side 1 over IPv4, KTP and TCP in turn, BENCH_ROUNDS
#             rounds of BENCH_SECS s each (5 and 3), for the host's table
#
# For the host to judge, one line per step, "wire: setup ok ...", "wire:
# peer ADDR answered after N s", per transfer end "wire: case=C end=E
# rc=N ktp_xfer: ..." (ktp_xfer's result line, digests included), and
# "wire: closed ..."; what the programs say otherwise as "# " lines.
# Exit status: 0 when every step above went well, 1 otherwise.

. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
xfer=$here/ktp_xfer
perf=$here/ktpperf
rounds=5
secs=3
tmo=/usr/bin/timeout
dev=eth0
side=
size=8M
bound=600
peer_wait=600
# ktp_xfer's port of the first case; the next ones count up
port=7100
tmp=/tmp/wire_side.$$
pids=
failed=0

usage()
{
	sed -n '13,26s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts s:n:t:w: opt; do
	case $opt in
	s) side=$OPTARG ;;
	n) size=$OPTARG ;;
	t) bound=$OPTARG ;;
	w) peer_wait=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
case $side in
1) other=2 ;;
2) other=1 ;;
*) usage ;;
esac
addr4=10.99.0.$side
addr6=fd99::$side
peer4=10.99.0.$other
peer6=fd99::$other
cases=${*:-clean_ipv4 clean_ipv6 loss_ipv4 loss_ipv6}

cleanup()
{
	local p

	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp" || exit 1

# The NIC's driver (packed by vm.sh -w when it is a module; modprobe of
# one built in fails, quietly), then eth0, within 10 s.
nic_driver()
{
	local i=0

	modprobe virtio_pci > "$tmp/modprobe" 2>&1
	modprobe virtio_net >> "$tmp/modprobe" 2>&1
	while [ ! -e /sys/class/net/$dev ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			sed 's/^/# modprobe: /' "$tmp/modprobe"
			echo "wire: setup FAILED: no $dev after modprobe virtio_net"
			return 1
		fi
		sleep 0.1
	done
	drv=$(basename "$(readlink /sys/class/net/$dev/device/driver)")
}

# Addresses, and TIME_WAIT short enough to wait out at the end.
setup()
{
	nic_driver || return 1
	if ! ip link set $dev up ||
	   ! ip addr add $addr4/24 dev $dev ||
	   ! ip addr add $addr6/64 dev $dev nodad ||
	   ! wait_local_route - "$addr6" ||
	   ! echo 5 > /proc/sys/net/ktp/tw_timeout; then
		echo "wire: setup FAILED: addresses on $dev"
		return 1
	fi
	echo "wire: setup ok side=$side kernel=$(uname -r)" \
	     "ktp.ko=$(modinfo -F vermagic "/lib/modules/$(uname -r)/extra/ktp.ko" |
		       cut -d' ' -f1) dev=$dev driver=$drv" \
	     "mac=$(cat /sys/class/net/$dev/address) $addr4 $addr6"
}

# wait_peer PING ADDR: until ADDR answers, within peer_wait seconds.
wait_peer()
{
	local t0

	t0=$(date +%s)
	until $1 -c 1 -W 1 "$2" > /dev/null 2>&1; do
		if [ $(($(date +%s) - t0)) -ge "$peer_wait" ]; then
			echo "wire: peer $2 FAILED to answer within ${peer_wait}s"
			return 1
		fi
		sleep 1
	done
	echo "wire: peer $2 answered after $(($(date +%s) - t0))s"
}

# The counters that say where segments went, for each case's report:
# KTP's (per namespace, so both connections'), the root qdisc's drops,
# and eth0's.
COUNTERS="InSegs OutSegs RetransSegs InDupData OfoDrop OfoPruned RcvPruned \
BacklogDrop InOutOfWindow InCsumErrors TooOldAck AbortOnTimeout \
qdisc_dropped tx_packets rx_packets tx_dropped rx_dropped IpInReceives \
Ip6InReceives"

# snap FILE: those counters now
snap()
{
	local c

	{
		cat /proc/net/ktp_snmp
		tc -s qdisc show dev $dev |
			sed -n '1,3s/.*(dropped \([0-9]*\),.*/qdisc_dropped \1/p'
		for c in tx_packets rx_packets tx_dropped rx_dropped; do
			echo "$c $(cat /sys/class/net/$dev/statistics/$c)"
		done
		# what IP took in: a packet GRO merged counts once
		awk '$1 == "Ip:" && !n { for (i = 1; i <= NF; i++)
				f[$i] = i; n = 1; next }
		     $1 == "Ip:" { print "IpInReceives " $f["InReceives"] }' \
			/proc/net/snmp
		awk '$1 == "Ip6InReceives"' /proc/net/snmp6
	} > "$1"
}

# changes OLD NEW: the counters that changed, with how much
changes()
{
	awk -v want=" $COUNTERS " '
		NR == FNR { old[$1] = $2; next }
		index(want, " " $1 " ") && $2 != old[$1] {
			s = s " " $1 " +" ($2 - old[$1]) }
		END { print s ? s : " none" }' "$1" "$2"
}

# The root qdisc of eth0: its kind, and netem's impairments.
qdisc()
{
	tc qdisc show dev $dev | awk 'NR == 1 {
		q = $2
		if (q == "netem") { sub(/.* limit [0-9]+ /, ""); q = q " " $0 }
		print q }'
}

# result CASE END STATUS: what one end of a transfer reported.
result()
{
	local line

	grep -v '^ktp_xfer: ' "$tmp/$2" | sed "s/^/# $1 $2: /"
	line=$(grep '^ktp_xfer: ' "$tmp/$2" | tail -n 1)
	echo "wire: case=$1 end=$2 rc=$3 ${line:-ktp_xfer: no result line}"
	[ "$3" = 0 ] || failed=1
}

# run_case CASE: the peer's connection to us and ours to the peer, at once.
run_case()
{
	local name=$1 fam= dst=$peer4 spid cpid src crc

	case $name in
	clean_ipv4|loss_ipv4) ;;
	clean_ipv6|loss_ipv6) fam=-6 dst=$peer6 ;;
	*) echo "wire: case=$name FAILED: no such case"; failed=1; return ;;
	esac
	port=$((port + 1))
	tc qdisc del dev $dev root 2> /dev/null
	case $name in
	loss_*)
		if ! tc qdisc add dev $dev root netem loss 1% delay 5ms; then
			echo "wire: case=$name FAILED: tc netem"
			failed=1
			return
		fi ;;
	esac
	diag "$name: port $port, $size each way, qdisc $(qdisc)"
	snap "$tmp/before"
	$tmo -k 2 $((bound + 5)) "$xfer" -l -p $port -n "$size" \
		-t "$bound" $fam > "$tmp/server" 2>&1 &
	spid=$!
	$tmo -k 2 $((bound + 5)) "$xfer" -c "$dst" -p $port -n "$size" \
		-t "$bound" $fam > "$tmp/client" 2>&1 &
	cpid=$!
	pids="$spid $cpid"
	wait $spid
	src=$?
	wait $cpid
	crc=$?
	pids=
	snap "$tmp/after"
	diag "$name: counters:$(changes "$tmp/before" "$tmp/after")"
	result "$name" server $src
	result "$name" client $crc
}

# bench: side 1 serves (ktpperf -s), side 2 measures: ROUNDS rounds of a
# KTP and a TCP bulk run, SECS s each, the order alternating, each a line
# "wire: bench round=R proto=P {json}"; then an empty ktp_xfer connection
# to side 1 says it is done, which side 1 waits for before it stops the
# server. Both end with "wire: bench end=server|client rc=N".
run_bench()
{
	local sport=$((port + 50)) dport=$((port + 51)) spid r p i=0 rc=0

	tc qdisc del dev $dev root 2> /dev/null
	if [ "$side" = 1 ]; then
		$tmo -k 2 $((bound + 5)) "$perf" -s -p $sport \
			> "$tmp/perf_server" 2>&1 &
		spid=$!
		pids=$spid
		$tmo -k 2 $((bound + 5)) "$xfer" -l -p $dport -n 0 -r 0 \
			-t "$bound" > "$tmp/done" 2>&1 || rc=1
		kill $spid 2> /dev/null
		wait $spid 2> /dev/null
		pids=
		echo "wire: bench end=server rc=$rc"
		[ $rc = 0 ] || failed=1
		return
	fi
	# the server listens within 60 s
	until "$perf" -c "$peer4" -p $sport --mode rr -n 1 > /dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge 60 ] && { rc=1; break; }
		sleep 1
	done
	for r in $(seq $rounds); do
		[ $rc = 0 ] || break
		if [ $((r % 2)) = 0 ]; then set -- ktp tcp; else set -- tcp ktp; fi
		for p in "$@"; do
			echo "wire: bench round=$r proto=$p" \
			     "$($tmo -k 2 $((secs + 40)) "$perf" -c "$peer4" \
				-p $sport -t $secs --mode bulk --json \
				$([ $p = tcp ] && echo --tcp) 2> /dev/null)"
		done
	done
	$tmo -k 2 60 "$xfer" -c "$peer4" -p $dport -n 0 -r 0 -t 30 \
		> "$tmp/done" 2>&1 || rc=1
	echo "wire: bench end=client rc=$rc"
	[ $rc = 0 ] || failed=1
}

# The KTP connections and TIME_WAIT entries this side still has.
conns()
{
	awk 'FNR > 1' /proc/net/ktp /proc/net/ktp6 2> /dev/null
}

# Stay until nothing is left, TIME_WAIT's 5 s included, so that the
# peer's last FIN, resent if it was lost, is still answered; 60 s at most.
linger()
{
	local i=0

	tc qdisc del dev $dev root 2> /dev/null
	while [ -n "$(conns)" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -n "$(conns)" ]; then
		echo "wire: closed FAILED: KTP connections left after 60 s:"
		conns | sed 's/^/# /'
		failed=1
		return
	fi
	echo "wire: closed: no KTP connection left after $((i / 10)) s"
}

[ -x "$xfer" ] || { echo "wire: setup FAILED: no $xfer"; exit 1; }
setup || exit 1
wait_peer ping "$peer4" && wait_peer ping6 "$peer6" || exit 1
for c in $cases; do
	if [ "$c" = bench ]; then
		run_bench
	else
		run_case "$c"
	fi
done
linger
echo "wire: done side=$side failed=$failed"
exit $failed
