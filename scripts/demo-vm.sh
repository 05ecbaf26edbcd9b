#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo, inside the test VM: two scenes over KTP on loopback, with the
# segments as ktpdump saw them and each side's state path as the kernel's
# own tracepoint (ktp:ktp_set_state) recorded it. Each scene's capture
# (ktpdump -w) and trace record go to the host as base64 between
# "--8<-- ktp-demo-file NAME" and "--8<-- end" lines, for ktpviz.
#
#   demo-vm.sh           the two scenes
#   demo-vm.sh --all     and the captures of ktpviz's tests that ktpdemo
#                        does not play: retransmission, RST, simultaneous
#                        open and close (userspace/tests/ktpviz_data)

cd "$(dirname "$0")" || exit 1
T=/sys/kernel/tracing
PORT=7000
rc=0

# KTP_SYN_RECV -> SYN_RECEIVED, KTP_FIN_WAIT1 -> FIN_WAIT_1, ...
pretty() {
	sed -e 's/KTP_CLOSE$/CLOSED/' -e 's/KTP_SYN_RECV/SYN_RECEIVED/' \
	    -e 's/KTP_FIN_WAIT\([12]\)/FIN_WAIT_\1/' -e 's/^KTP_//'
}

# path SPORT DPORT [LISTENER_PORT]: the chain of states of one side of a
# connection, prefixed by its listener's first transition when it has one.
path() {
	{
		[ -n "$3" ] && grep "sport=$3 dport=0 " /tmp/trace | head -n1
		grep "sport=$1 dport=$2 " /tmp/trace
	} | sed 's/.*oldstate=\([A-Z_0-9]*\) newstate=\([A-Z_0-9]*\).*/\1 \2/' |
	awk 'NR == 1 { printf "%s", $1 } { printf " %s", $2 } END { print "" }' |
	tr ' ' '\n' | pretty | tr '\n' ' ' | sed 's/ $//; s/ / -> /g'
}

# wait_closed SPORT DPORT: until the TIME_WAIT entry's end is traced.
wait_closed() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "sport=$1 dport=$2 .*oldstate=KTP_TIME_WAIT newstate=KTP_CLOSE" \
			$T/trace && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# emit FILE NAME: FILE to the host as NAME.
emit() {
	echo "--8<-- ktp-demo-file $2"
	base64 "$1"
	echo "--8<-- end"
}

# record_start NAME: an empty trace and ktpdump writing NAME.pcap.
record_start() {
	echo > $T/trace
	./ktpdump -i lo -X -w "/tmp/$1.pcap" > /tmp/dump 2>/dev/null &
	dump=$!
	sleep 0.3
}

# record_stop NAME: the capture ends, NAME.pcap and NAME.trace go out.
record_stop() {
	sleep 0.2
	kill "$dump" 2>/dev/null
	wait "$dump" 2>/dev/null
	cp $T/trace /tmp/trace
	cp $T/trace "/tmp/$1.trace"
	exported="$exported $1"
}

scene() {
	name=$1 port=$2
	record_start "$name"
	# One CPU for both ends: loopback queues a segment on the sending
	# CPU, so the server's ACK of the client's FIN (sent in softirq) and
	# its own FIN (sent by its process) could cross on two CPUs, and the
	# client go FIN_WAIT_1 -> TIME_WAIT on the FIN before the ACK.
	taskset 1 ./ktpdemo "$name" "$port" > /tmp/demo.out || rc=1
	cport=$(sed -n 's/^client-port //p' /tmp/demo.out)
	grep -v '^client-port' /tmp/demo.out | sort -s -k1,1 | sed 's/^/   /'
	wait_closed "$cport" "$port" || { echo "   (TIME_WAIT did not end)"; rc=1; }
	record_stop "$name"
	echo
	echo "-- the segments (ktpdump; seq/ack relative to each side's ISN x, y)"
	sed 's/^/   /' /tmp/dump
	echo
	echo "-- state paths, from the ktp:ktp_set_state tracepoint"
	client=$(path "$cport" "$port")
	server=$(path "$port" "$cport" "$port")
	echo "   client: $client"
	echo "   server: $server"
}

# fixture NAME COMMAND: a scene of ktpviz's tests, recorded, not shown;
# the 2.5 s let TIME_WAIT end.
fixture() {
	name=$1
	shift
	record_start "$name"
	sh -c "$*" > /tmp/fixture.out 2>&1 || {
		echo "   fixture $name failed:"
		sed 's/^/   /' /tmp/fixture.out
		rc=1
	}
	sleep 2.5
	record_stop "$name"
}

fixtures() {
	tc=/usr/sbin/tc
	echo "== the captures of ktpviz's tests"
	$tc qdisc add dev lo root netem delay 200ms
	fixture simopen ./ktpviz_scenes simopen 7100 7101
	$tc qdisc change dev lo root netem delay 400ms
	fixture simclose ./ktpviz_scenes simclose 7102
	$tc qdisc del dev lo root
	fixture reset "./ktpcat 127.0.0.1 7103 < /dev/null;" \
		"./ktpviz_scenes abort 7104"
	# 1500 bytes a datagram and 10 % loss: a few segments sent again.
	# Segment by segment: netem would drop a GSO super-segment whole.
	/usr/sbin/ip link set lo mtu 1500
	/usr/sbin/ethtool -K lo gso off tx-sctp-segmentation off >/dev/null
	$tc qdisc add dev lo root netem loss 10%
	fixture retransmit "sleep 4 | ./ktpcat -l 127.0.0.1 7105 > /dev/null &" \
		"sleep 0.3; head -c 60000 /dev/zero | ./ktpcat -w 20 127.0.0.1 7105;" \
		"wait"
	$tc qdisc del dev lo root
	/usr/sbin/ethtool -K lo gso on tx-sctp-segmentation on >/dev/null
	/usr/sbin/ip link set lo mtu 65536
}

exported=
# The tracepoint's time stamps on the clock of the capture's (CLOCK_TAI
# is CLOCK_REALTIME here: nothing sets the offset), so that ktpviz puts
# each state change beside the segment that caused it.
echo tai > $T/trace_clock 2>/dev/null
echo 1 > $T/events/ktp/ktp_set_state/enable
echo 1 > $T/events/ktp/ktp_retransmit/enable
echo "== KTP $(cat /sys/module/ktp/parameters/family) loaded (IP protocol $(cat /sys/module/ktp/parameters/ipproto))"
echo 2 > /proc/sys/net/ktp/tw_timeout
echo "== TIME_WAIT shortened to 2 s for the demo (sysctl net.ktp.tw_timeout=2; default 60)"
echo
echo "== scene 1: connect, exchange a greeting, close (client first)"
scene greeting $PORT
want_c="CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED"
want_s="CLOSED -> LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED"
[ "$client" = "$want_c" ] || { echo "   client path differs from: $want_c"; rc=1; }
[ "$server" = "$want_s" ] || { echo "   server path differs from: $want_s"; rc=1; }

echo
echo "== scene 2: half-close: the side that sent FIN keeps receiving"
scene halfclose $((PORT + 1))

[ "${1:-}" = --all ] && fixtures
for f in $exported; do
	emit "/tmp/$f.pcap" "$f.pcap"
	emit "/tmp/$f.trace" "$f.trace"
done

echo
[ $rc = 0 ] && echo "== demo done: both paths as RFC 9293 draws them" ||
	echo "== demo FAILED"
exit $rc
