#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# KTP's segmentation offload (module/offload.c), as a veth user meets it.
# Three namespaces: a client A, a router R and a server B, joined by veth
# pairs (MTU 1500); A talks to R directly, or to B through R. Each case
# moves 4 MiB from the client, which ktp_xfer checks byte by byte, and
# counts the packets the client's veth sent (/proc/net/dev), where a
# super-segment is one packet:
#
#   whole      the veth carries super-segments whole: far fewer packets
#              than segments (4 or more segments a packet on average)
#   cut        the veth takes no KTP super-segment (tx-sctp-segmentation
#              off): offload.c cuts them at the device, one packet per
#              segment, for the MSS the client's KTP_MAXSEG sets (536,
#              1001, 1337 and the path's own), IPv4 and IPv6
#   gso_off    GSO off in the device: one segment at a time from KTP
#   csum_off   the device does not checksum (tx-checksum-ip-generic off):
#              no super-segments, KTP sums each segment
#   fwd_csum   A's super-segments cross R whole and are cut at R's way
#              out to B, whose device checksums: each segment
#              CHECKSUM_PARTIAL
#   fwd_sw     the same where R's way out does not checksum: offload.c
#              sums each segment, and B counts no checksum error
#   fwd_lossy  fwd_csum through loss and corruption at R's way out: A's
#              super-segments acknowledged, SACKed and lost in part
#   gro        A cuts its super-segments (one segment a packet), R's end
#              of the pair merges them again (GRO on: veth's NAPI): R's
#              IP takes two segments a packet at least, and its KTP
#              counts every segment (InSegs)
#   fwd_gro    the same merged packets forwarded by R and cut again on
#              its way out to B: intact, each segment summed right
#
# Every case has a hard time bound; a hang is a failure.
#
#   ktp_gso.sh [case...]		only these cases

. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
xfer=$here/ktp_xfer
tmo=/usr/bin/timeout
ethtool=/usr/sbin/ethtool
id=$$
nsa=kga$id
nsr=kgr$id
nsb=kgb$id
va=kga$id
vra=kgra$id
vrb=kgrb$id
vb=kgb$id
size=4194304
port=20300
out=/tmp/ktp_gso.$id

cleanup()
{
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsr" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT

setup()
{
	mkdir -p "$out" &&
	ip netns add "$nsa" && ip netns add "$nsr" && ip netns add "$nsb" &&
	ip link add "$va" netns "$nsa" type veth peer name "$vra" netns "$nsr" &&
	ip link add "$vrb" netns "$nsr" type veth peer name "$vb" netns "$nsb" &&
	ip -n "$nsa" link set "$va" mtu 1500 up &&
	ip -n "$nsr" link set "$vra" mtu 1500 up &&
	ip -n "$nsr" link set "$vrb" mtu 1500 up &&
	ip -n "$nsb" link set "$vb" mtu 1500 up &&
	ip -n "$nsa" addr add 10.203.1.1/24 dev "$va" &&
	ip -n "$nsr" addr add 10.203.1.2/24 dev "$vra" &&
	ip -n "$nsr" addr add 10.203.2.1/24 dev "$vrb" &&
	ip -n "$nsb" addr add 10.203.2.2/24 dev "$vb" &&
	ip -n "$nsa" addr add fd00:203:1::1/64 dev "$va" nodad &&
	ip -n "$nsr" addr add fd00:203:1::2/64 dev "$vra" nodad &&
	ip -n "$nsr" addr add fd00:203:2::1/64 dev "$vrb" nodad &&
	ip -n "$nsb" addr add fd00:203:2::2/64 dev "$vb" nodad &&
	wait_local_route "$nsa" fd00:203:1::1 &&
	wait_local_route "$nsr" fd00:203:1::2 fd00:203:2::1 &&
	wait_local_route "$nsb" fd00:203:2::2 &&
	ip -n "$nsa" route add default via 10.203.1.2 &&
	ip -n "$nsb" route add default via 10.203.2.1 &&
	ip -n "$nsa" -6 route add default via fd00:203:1::2 &&
	ip -n "$nsb" -6 route add default via fd00:203:2::1 &&
	ip netns exec "$nsr" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' &&
	ip netns exec "$nsr" sh -c \
		'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding' &&
	ip netns exec "$nsr" sh -c 'echo 1 > /proc/sys/net/ktp/tw_timeout' &&
	ip netns exec "$nsb" sh -c 'echo 1 > /proc/sys/net/ktp/tw_timeout' &&
	ip netns exec "$nsa" sh -c 'echo 1 > /proc/sys/net/ktp/tw_timeout'
}

# features NS DEV SETTING...: ethtool -K, reported when it fails
features()
{
	local ns=$1 dev=$2

	shift 2
	ip netns exec "$ns" $ethtool -K "$dev" "$@" >/dev/null ||
		{ diag "ethtool -K $dev $* failed"; return 1; }
}

# Every offload back on, on every device; GRO at R off (veth's default).
defaults()
{
	features "$nsa" "$va" gso on tx-sctp-segmentation on \
		tx-checksum-ip-generic on tso on &&
	features "$nsr" "$vrb" gso on tx-sctp-segmentation on \
		tx-checksum-ip-generic on &&
	features "$nsr" "$vra" gro off
}

# veth_gro NAME: GRO at R's end of A's pair: on there (veth's NAPI), and
# TSO off at A's end, since veth passes what a device with TSO sends
# around its NAPI (veth_skb_is_eligible_for_gro()); A cuts its own
# super-segments. Fails both points of NAME if that cannot be set.
veth_gro()
{
	defaults && features "$nsa" "$va" tx-sctp-segmentation off tso off &&
		features "$nsr" "$vra" gro on && return 0
	ktap_fail "$1"_v4
	ktap_fail "$1"_v6
	return 1
}

# ip_in NS FAM: the packets IP took in (per skb: a merged one counts once)
ip_in()
{
	if [ "$2" = -6 ]; then
		ip netns exec "$1" cat /proc/net/snmp6 |
			awk '$1 == "Ip6InReceives" { print $2 }'
	else
		ip netns exec "$1" cat /proc/net/snmp | awk '
			$1 == "Ip:" && !n { for (i = 1; i <= NF; i++) f[$i] = i; n = 1; next }
			$1 == "Ip:" { print $f["InReceives"] }'
	fi
}

# tx_packets NS DEV
tx_packets()
{
	ip netns exec "$1" cat /proc/net/dev |
		awk -v d="$2:" '$1 == d { print $11 }'
}

snmp()
{
	ip netns exec "$1" cat /proc/net/ktp_snmp |
		awk -v k="$2" '$1 == k { print $2 }'
}

field()
{
	sed -n "s/^ktp_xfer: .* $2=\([^ ]*\).*/\1/p" "$1" | tail -n 1
}

# xfer SERVER_NS SERVER_ADDR FAM CLIENT_OPTS COUNT_NS COUNT_DEV: 4 MiB
# from the client in A to a server; sets ok (the bytes arrived intact,
# both ends said so) and pkts (what COUNT_DEV sent meanwhile).
xfer()
{
	local sns=$1 saddr=$2 fam=$3 copts=$4 cns=$5 cdev=$6 p0 spid cpid

	port=$((port + 1))
	p0=$(tx_packets "$cns" "$cdev")
	$tmo -k 2 65 ip netns exec "$sns" "$xfer" -l -p $port -n 0 \
		-r $size -t 60 $fam > "$out/server" 2>&1 &
	spid=$!
	$tmo -k 2 65 ip netns exec "$nsa" "$xfer" -c "$saddr" -p $port \
		-n $size -r 0 -t 60 $fam $copts > "$out/client" 2>&1 &
	cpid=$!
	wait $cpid
	crc=$?
	wait $spid
	src=$?
	pkts=$(($(tx_packets "$cns" "$cdev") - p0))
	sed 's/^\([^#]\)/# \1/' "$out/server" "$out/client"
	ok=0
	[ "$crc" = 0 ] && [ "$src" = 0 ] &&
		[ -n "$(field "$out/server" recv_fnv)" ] &&
		[ "$(field "$out/server" recv_fnv)" = \
		  "$(field "$out/server" expect_fnv)" ] &&
		[ "$(field "$out/client" sent_fnv)" = \
		  "$(field "$out/server" recv_fnv)" ] && ok=1
}

# direct NAME FAM MSS CHECK: a transfer A -> R, then the point NAME when
# it arrived intact and CHECK holds of $pkts and $segs (the segments the
# payload takes at MSS).
direct()
{
	local name=$1 fam=$2 mss=$3 check=$4 addr=10.203.1.2 opts=

	[ "$fam" = -6 ] && addr=fd00:203:1::2
	[ "$mss" -lt 1400 ] && opts="-M $mss"
	segs=$(((size + mss - 1) / mss))
	xfer "$nsr" "$addr" "$fam" "$opts" "$nsa" "$va"
	diag "$name: intact $ok, $pkts packets for $segs segments of $mss"
	ktap_check "$name" "[ $ok = 1 ] && $check"
}

# 1448: the path's MSS, less the room of a SACK block (ktp_sync_mss())
mss4=1448
mss6=1428

case_whole()
{
	defaults || { ktap_fail whole_v4; ktap_fail whole_v6; return; }
	direct whole_v4 "" $mss4 '[ $((pkts * 4)) -le $segs ]'
	direct whole_v6 -6 $mss6 '[ $((pkts * 4)) -le $segs ]'
}

case_cut()
{
	local m

	if ! defaults || ! features "$nsa" "$va" tx-sctp-segmentation off; then
		for m in 536 1001 1337 path; do ktap_fail "cut_mss_$m"; done
		ktap_fail cut_v6_mss_1001
		return
	fi
	for m in 536 1001 1337; do
		direct "cut_mss_$m" "" $m '[ $pkts -ge $segs ]'
	done
	direct cut_mss_path "" $mss4 '[ $pkts -ge $segs ]'
	direct cut_v6_mss_1001 -6 1001 '[ $pkts -ge $segs ]'
}

case_gso_off()
{
	if ! defaults ||
	   ! features "$nsa" "$va" gso off tx-sctp-segmentation off; then
		ktap_fail gso_off
		return
	fi
	direct gso_off "" $mss4 '[ $pkts -ge $segs ]'
}

case_csum_off()
{
	if ! defaults || ! features "$nsa" "$va" tx-checksum-ip-generic off
	then
		ktap_fail csum_off
		return
	fi
	direct csum_off "" $mss4 '[ $pkts -ge $segs ]'
}

# forwarded NAME FAM: A -> B through R, cut at R's way out (vrb), which
# sent at least a packet a segment while A's veth sent super-segments: two
# segments a packet at least, not counting A's retransmissions (the cut
# segments may overflow B's backlog, and on a slow kernel a stall passes
# for a loss; each resent segment is a packet at most). One segment at a
# time would be a packet a segment or more: resending half the data would
# hide that, so fewer than that must have been resent.
forwarded()
{
	local name=$1 fam=$2 addr=10.203.2.2 mss=$mss4 a0 e0 e1 r0 r1

	[ "$fam" = -6 ] && addr=fd00:203:2::2 && mss=$mss6
	segs=$(((size + mss - 1) / mss))
	a0=$(tx_packets "$nsa" "$va")
	e0=$(snmp "$nsb" InCsumErrors)
	r0=$(snmp "$nsa" RetransSegs)
	xfer "$nsb" "$addr" "$fam" "" "$nsr" "$vrb"
	apkts=$(($(tx_packets "$nsa" "$va") - a0))
	e1=$(snmp "$nsb" InCsumErrors)
	r1=$(snmp "$nsa" RetransSegs)
	diag "$name: intact $ok; A sent $apkts packets, $((r1 - r0)) segments of them resent, R $pkts, for $segs segments; B's InCsumErrors +$((e1 - e0))"
	ktap_check "$name" "[ $ok = 1 ] &&
		[ $(((apkts - (r1 - r0)) * 2)) -le $segs ] &&
		[ $(((r1 - r0) * 2)) -lt $segs ] &&
		[ $pkts -ge $segs ] && [ $e1 = $e0 ]"
}

case_fwd_csum()
{
	if ! defaults ||
	   ! features "$nsr" "$vrb" tx-sctp-segmentation off; then
		ktap_fail fwd_csum_v4; ktap_fail fwd_csum_v6
		return
	fi
	forwarded fwd_csum_v4 ""
	forwarded fwd_csum_v6 -6
}

case_fwd_sw()
{
	if ! defaults ||
	   ! features "$nsr" "$vrb" tx-sctp-segmentation off \
		tx-checksum-ip-generic off; then
		ktap_fail fwd_sw_v4; ktap_fail fwd_sw_v6
		return
	fi
	forwarded fwd_sw_v4 ""
	forwarded fwd_sw_v6 -6
}

# fwd_lossy: A -> B through R as fwd_csum, where R's way out also drops
# 0.5% of what it forwards and corrupts the first segment of 2% of the
# super-segments (netem cuts such a one to do so: B drops that segment
# for its KTP or IP checksum, or its IPv6 header): B then acknowledges
# and SACKs parts of A's super-segments, and loses some whole. A's send queue holds each super-segment as one
# skb (module/output.c): it must cut it where those ACKs and SACKs fall,
# resend its lost segments one by one, and probe a lost tail with the
# last segment. Intact, with super-segments from A (fewer packets than
# segments: losses keep its window, and so its bursts, small) and
# retransmissions at A.
case_fwd_lossy()
{
	local name fam addr mss a0 c0 c1 r0 r1 d0 d1

	if ! defaults ||
	   ! features "$nsr" "$vrb" tx-sctp-segmentation off ||
	   ! tc -n "$nsr" qdisc add dev "$vrb" root netem delay 2ms \
		loss 0.5% corrupt 2%; then
		ktap_fail fwd_lossy_v4; ktap_fail fwd_lossy_v6
		return
	fi
	for fam in "" -6; do
		name=fwd_lossy_v4 addr=10.203.2.2 mss=$mss4
		[ "$fam" = -6 ] &&
			name=fwd_lossy_v6 addr=fd00:203:2::2 mss=$mss6
		segs=$(((size + mss - 1) / mss))
		a0=$(tx_packets "$nsa" "$va")
		c0=$(snmp "$nsb" InCsumErrors)
		r0=$(snmp "$nsa" RetransSegs)
		d0=$(snmp "$nsa" DSACKRecv)
		xfer "$nsb" "$addr" "$fam" "" "$nsr" "$vrb"
		apkts=$(($(tx_packets "$nsa" "$va") - a0))
		c1=$(snmp "$nsb" InCsumErrors)
		r1=$(snmp "$nsa" RetransSegs)
		d1=$(snmp "$nsa" DSACKRecv)
		diag "$name: intact $ok; A sent $apkts packets for $segs segments, resent $((r1 - r0)), $((d1 - d0)) of them D-SACKed; B dropped $((c1 - c0)) by checksum"
		ktap_check "$name" "[ $ok = 1 ] && [ $apkts -lt $segs ] &&
			[ $r1 -gt $r0 ]"
	done
	tc -n "$nsr" qdisc del dev "$vrb" root
}

# gro: A -> R, cut at A, merged at R's end (vra). A sent a packet a
# segment; R's IP took at most one packet per two segments, and R's KTP
# counted each segment of the merged packets in InSegs.
case_gro()
{
	local name fam addr mss i0 i1 k0 k1

	veth_gro gro || return
	for fam in "" -6; do
		name=gro_v4 addr=10.203.1.2 mss=$mss4
		[ "$fam" = -6 ] && name=gro_v6 addr=fd00:203:1::2 mss=$mss6
		segs=$(((size + mss - 1) / mss))
		i0=$(ip_in "$nsr" "$fam")
		k0=$(snmp "$nsr" InSegs)
		xfer "$nsr" "$addr" "$fam" "" "$nsa" "$va"
		i1=$(ip_in "$nsr" "$fam")
		k1=$(snmp "$nsr" InSegs)
		diag "$name: intact $ok; A sent $pkts packets for $segs segments, R's IP took $((i1 - i0)), its KTP counted $((k1 - k0)) segments"
		ktap_check "$name" "[ $ok = 1 ] && [ $pkts -ge $segs ] &&
			[ $(((i1 - i0) * 2)) -le $segs ] &&
			[ $((k1 - k0)) -ge $segs ]"
	done
}

# fwd_gro: A -> B through R, cut at A, merged at R's way in, cut again
# at R's way out (vrb): intact, R sent a packet a segment, and B counted
# no checksum error.
case_fwd_gro()
{
	local name fam addr mss e0 e1

	veth_gro fwd_gro || return
	if ! features "$nsr" "$vrb" tx-sctp-segmentation off; then
		ktap_fail fwd_gro_v4; ktap_fail fwd_gro_v6
		return
	fi
	for fam in "" -6; do
		name=fwd_gro_v4 addr=10.203.2.2 mss=$mss4
		[ "$fam" = -6 ] && name=fwd_gro_v6 addr=fd00:203:2::2 mss=$mss6
		segs=$(((size + mss - 1) / mss))
		e0=$(snmp "$nsb" InCsumErrors)
		xfer "$nsb" "$addr" "$fam" "" "$nsr" "$vrb"
		e1=$(snmp "$nsb" InCsumErrors)
		diag "$name: intact $ok; R sent $pkts packets for $segs segments; B's InCsumErrors +$((e1 - e0))"
		ktap_check "$name" "[ $ok = 1 ] && [ $pkts -ge $segs ] &&
			[ $e1 = $e0 ]"
	done
}

ALL="whole cut gso_off csum_off fwd_csum fwd_sw fwd_lossy gro fwd_gro"
cases=${*:-$ALL}
points=0
for c in $cases; do
	case $c in
	whole|fwd_csum|fwd_sw|fwd_lossy|gro|fwd_gro) points=$((points + 2)) ;;
	cut) points=$((points + 5)) ;;
	gso_off|csum_off) points=$((points + 1)) ;;
	*) echo "unknown case $c (cases: $ALL)" >&2; exit $KSFT_FAIL ;;
	esac
done

if [ ! -x "$xfer" ] || [ ! -x "$ethtool" ]; then
	ktap_plan 1
	ktap_fail "gso # ktp_xfer or $ethtool missing"
	exit $KSFT_FAIL
fi
ktap_plan $((points + 1))
if ! setup; then
	echo "Bail out! cannot set up the namespaces and veth pairs"
	exit $KSFT_FAIL
fi
refs=$(cat /sys/module/ktp/refcnt 2>/dev/null)
for c in $cases; do
	case_$c
done

# ktp_xfer aborts what it did not finish, the rest closes within seconds.
ktap_refs_back no_references_left "$refs"
ktap_finish
