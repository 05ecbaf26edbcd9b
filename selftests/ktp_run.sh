#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Programs nobody here wrote, over KTP through ktp-run, as Debian ships
# them (scripts/vm.sh packs them with their libraries, from vm-progs):
#
#   iperf3   server and client: the server's byte count, the connection
#            ESTABLISHED in /proc/net/ktp while it runs, ktp_snmp's opens;
#            and the same programs without ktp-run, which stay on TCP;
#   curl     a few MiB from lighttpd, both under ktp-run, then both under
#            ktp-run -p (the port swap), then over IPv6: the digests match;
#   socat    a relay from KTP (a listed port) to a TCP sink (an unlisted
#            one): the digest at the sink, one open on each side;
#   shim     ktp_run_shim, the shim's own test program, under ktp-run and
#            under ktp-run -p: one point per test and mode;
#   cli      ktp-run's --help and exit codes.
#
# Everything runs in a network namespace of its own, on its loopback, so
# the counters move only for what a case does. Every program runs under
# /usr/bin/timeout, and every wait polls a condition with a bound.
#
#   ktp_run.sh [case...]		only these cases (names at the end)

. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
run=$here/ktp-run
tmo=/usr/bin/timeout
id=$$
ns=ktprun$id
out=/tmp/ktp_run.$id
IPERF3=/usr/bin/iperf3
CURL=/usr/bin/curl
SOCAT=/usr/bin/socat
LIGHTTPD=/usr/sbin/lighttpd
# listed for ktp_run_shim under -p: it uses LO..LO+12, and LO+50, LO+51
# as unlisted ports
SHIM_PORTS=20710-20729
pids=
# a process that stays in the namespace: its /proc/PID/net is the
# namespace's, read without entering it
anchor=
refcnt=/sys/module/ktp/refcnt

cleanup()
{
	# shellcheck disable=SC2086
	[ -z "$pids$anchor" ] || kill $pids $anchor 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT

nsx() { ip netns exec "$ns" "$@"; }

# /proc/net/NAME of the namespace.
net() { cat "/proc/$anchor/net/$1"; }

# start OUT PROGRAM...: in the background, in the namespace, bounded, its
# output to OUT; the pid in $bg, also remembered for cleanup.
start()
{
	local o=$1

	shift
	/usr/sbin/ip netns exec "$ns" $tmo 60 "$@" > "$o" 2>&1 &
	bg=$!
	pids="$pids $bg"
}

# wait_for SECS CONDITION: poll a shell condition every 0.1 s.
wait_for()
{
	local n=$(($1 * 10))

	shift
	until eval "$*"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

# rows FILE PORT ST: sockets of /proc/net/FILE (tcp or ktp, one layout)
# in the namespace with local PORT in state ST (hex: 0A LISTEN, 01
# ESTABLISHED).
rows()
{
	net "$1" | awk -v p="$(printf ':%04X' "$2")" -v st="$3" \
		'NR > 1 && substr($2, length($2) - 4) == p && $4 == st' |
		wc -l | tr -d ' '
}

listening() { [ "$(rows "$1" "$2" 0A)" -gt 0 ]; }

# opens [tcp]: "active passive" opens so far, KTP's from ktp_snmp or TCP's
# from /proc/net/snmp; delta OLD NEW: what moved in between.
opens()
{
	if [ "${1:-}" = tcp ]; then
		net snmp | awk '$1 == "Tcp:" && !n {
			for (i = 2; i <= NF; i++) c[$i] = i; n = 1; next }
			$1 == "Tcp:" {
				print $c["ActiveOpens"], $c["PassiveOpens"] }'
	else
		net ktp_snmp | awk '$1 == "ActiveOpens" { a = $2 }
			$1 == "PassiveOpens" { p = $2 } END { print a, p }'
	fi
}

delta() { echo "$(($3 - $1)) $(($4 - $2))"; }

digest() { sha256sum < "$1" | cut -d' ' -f1; }

# have PROGRAM POINT...: PROGRAM is in the VM, or its POINTs fail.
have()
{
	local p=$1

	shift
	[ -x "$p" ] && return 0
	diag "$p is not in the VM: scripts/vm.sh packs what vm-progs lists"
	for p in "$@"; do
		ktap_fail "$p"
	done
	return 1
}

setup()
{
	refs=$(cat $refcnt)
	mkdir -p "$out/www" &&
	ip netns add "$ns" &&
	ip -n "$ns" link set lo up || return 1
	/usr/sbin/ip netns exec "$ns" sleep 3600 &
	anchor=$!
	wait_for 5 '[ -r /proc/$anchor/net/ktp ] &&
		[ "$(readlink /proc/$anchor/ns/net)" != "$(readlink /proc/self/ns/net)" ]' &&
	# TIME_WAIT entries are not what this test looks at
	nsx sh -c 'echo 1 > /proc/sys/net/ktp/tw_timeout' &&
	dd if=/dev/urandom of="$out/www/blob" bs=1024 count=3072 2>/dev/null
}

# json FILE SECTION: the bytes of SECTION (sum_sent, sum_received) in the
# end of iperf3 --json output.
json_bytes()
{
	sed -n "/\"$2\"/,/}/s/.*\"bytes\":[[:space:]]*\([0-9]*\).*/\1/p" "$1" |
		head -n 1
}

# InSegs of ktp_snmp in the namespace.
insegs()
{
	net ktp_snmp | awk '$1 == "InSegs" { print $2 }'
}

# run_iperf3 PORT LENGTH [ktp-run]: one server and one client (LENGTH is
# -t 2 or -n SIZE), through ktp-run or not; sets rc (the client's
# status), sent and bytes (what the client sent and the server counted),
# and seen: 1 if a KTP connection to PORT was ESTABLISHED while they ran.
run_iperf3()
{
	local port=$1 len=$2 proto=tcp cli srv

	shift 2
	[ $# -gt 0 ] && proto=ktp
	start "$out/iperf.srv" "$@" $IPERF3 -s -1 -B 127.0.0.1 -p "$port" \
		--json
	srv=$bg
	wait_for 10 listening $proto "$port"
	# shellcheck disable=SC2086
	start "$out/iperf.cli" "$@" $IPERF3 -c 127.0.0.1 -p "$port" $len \
		--json
	cli=$bg
	seen=0
	wait_for 30 '[ "$(rows ktp $port 01)" -gt 0 ] ||
		! kill -0 $cli 2>/dev/null' &&
		[ "$(rows ktp "$port" 01)" -gt 0 ] && seen=1
	wait $cli
	rc=$?
	wait $srv
	sent=$(json_bytes "$out/iperf.cli" sum_sent)
	bytes=$(json_bytes "$out/iperf.srv" sum_received)
}

# iperf3's server stops counting when the client's TEST_END arrives on the
# control connection, so what is still queued on the stream is not in its
# count: it is at most what was sent, not equal to it. Over KTP, the
# segments KTP received must cover that count (64 KiB at most a segment
# on the loopback).
case_iperf3()
{
	local b d t s

	have $IPERF3 iperf3_over_ktp iperf3_without_ktp_run_is_tcp || return
	b=$(opens)
	s=$(insegs)
	run_iperf3 5201 "-t 2" "$run"
	d=$(delta $b $(opens))
	s=$(($(insegs) - s))
	diag "iperf3 via ktp-run: client status $rc, sent $sent bytes," \
	     "server got $bytes, KTP connection seen $seen, KTP opens" \
	     "(active passive) +$d, KTP segments in +$s"
	# the control connection and one stream
	ktap_check_files iperf3_over_ktp '[ $rc = 0 ] && [ $seen = 1 ] &&
		[ "${bytes:-0}" -ge 1048576 ] &&
		[ "$bytes" -le "${sent:-0}" ] &&
		[ $s -ge $((bytes / 65536)) ] && [ "$d" = "2 2" ]' \
		"$out/iperf.srv" "$out/iperf.cli"

	b=$(opens)
	t=$(opens tcp)
	run_iperf3 5202 "-n 1M"
	d=$(delta $b $(opens))
	t=$(delta $t $(opens tcp))
	diag "iperf3 alone: client status $rc, sent $sent, server got $bytes," \
	     "KTP opens +$d, TCP opens +$t"
	# Over TCP on the loopback all 1 MiB may sit in the socket buffers
	# when TEST_END arrives: the server's count may then be 0 (see
	# above); that it reported one is what counts.
	ktap_check_files iperf3_without_ktp_run_is_tcp '[ $rc = 0 ] &&
		[ $seen = 0 ] &&
		[ "$sent" = 1048576 ] && [ -n "$bytes" ] &&
		[ "$d" = "0 0" ] && [ "$t" = "2 2" ]' \
		"$out/iperf.srv" "$out/iperf.cli"
}

# lighttpd_conf ADDRESS: serve $out/www on ADDRESS (127.0.0.1 or [::1]),
# port 8080.
lighttpd_conf()
{
	cat > "$out/lighttpd.conf" <<EOF
server.document-root = "$out/www"
server.bind = "$1"
server.port = 8080
server.errorlog = "$out/lighttpd.log"
server.compat-module-load = "disable"
server.modules = ( "mod_staticfile" )
mimetype.assign = ( "" => "application/octet-stream" )
EOF
}

# fetch NAME ADDRESS [ktp-run option...]: lighttpd on ADDRESS and curl,
# both under ktp-run; a point.
fetch()
{
	local name=$1 host=$2 proc=ktp b d rc srv

	shift 2
	[ "$host" = "[::1]" ] && proc=ktp6
	lighttpd_conf "$host"
	b=$(opens)
	start "$out/lighttpd.out" "$run" "$@" $LIGHTTPD -D \
		-f "$out/lighttpd.conf"
	srv=$bg
	wait_for 10 listening $proc 8080
	nsx $tmo 60 "$run" "$@" $CURL -gfsS -o "$out/got" \
		"http://$host:8080/blob" > "$out/curl.out" 2>&1
	rc=$?
	kill $srv
	wait $srv
	d=$(delta $b $(opens))
	diag "$name: curl status $rc, KTP opens +$d"
	ktap_check_files "$name" '[ $rc = 0 ] && [ -f "$out/got" ] &&
		[ "$(digest "$out/got")" = "$(digest "$out/www/blob")" ] &&
		[ "$d" = "1 1" ]' "$out/curl.out" "$out/lighttpd.out" \
		"$out/lighttpd.log"
	rm -f "$out/got"
}

CURL_POINTS="curl_from_lighttpd curl_from_lighttpd_port_listed \
curl_from_lighttpd_ipv6"

case_curl()
{
	# shellcheck disable=SC2086
	have $LIGHTTPD $CURL_POINTS && have $CURL $CURL_POINTS || return
	fetch curl_from_lighttpd 127.0.0.1
	fetch curl_from_lighttpd_port_listed 127.0.0.1 -p 8080
	fetch curl_from_lighttpd_ipv6 "[::1]"
}

# socat from a file to a KTP relay on a listed port, which forwards over
# TCP (an unlisted port) to a plain socat writing a file.
case_socat()
{
	local b t d rc sink relay

	have $SOCAT socat_relay_ktp_to_tcp || return
	b=$(opens)
	t=$(opens tcp)
	start "$out/sink.out" $SOCAT -u \
		TCP4-LISTEN:7001,bind=127.0.0.1,reuseaddr CREATE:"$out/sunk"
	sink=$bg
	start "$out/relay.out" "$run" -p 7000 $SOCAT \
		TCP4-LISTEN:7000,bind=127.0.0.1,reuseaddr TCP4:127.0.0.1:7001
	relay=$bg
	wait_for 10 listening tcp 7001 && wait_for 10 listening ktp 7000
	nsx $tmo 60 "$run" $SOCAT -u OPEN:"$out/www/blob" \
		TCP4:127.0.0.1:7000 > "$out/source.out" 2>&1
	rc=$?
	wait $sink
	wait $relay
	d=$(delta $b $(opens))
	t=$(delta $t $(opens tcp))
	diag "socat: source status $rc, KTP opens +$d, TCP opens +$t"
	ktap_check_files socat_relay_ktp_to_tcp '[ $rc = 0 ] &&
		[ -f "$out/sunk" ] &&
		[ "$(digest "$out/sunk")" = "$(digest "$out/www/blob")" ] &&
		[ "$d" = "1 1" ] && [ "$t" = "1 1" ]' "$out/source.out" \
		"$out/relay.out" "$out/sink.out"
}

# shim_run MODE [ktp-run option...]: ktp_run_shim under ktp-run, before
# the plan is printed (its tests count in it): the log in shim.MODE.log,
# its results as "ok NAME" or "not ok NAME" lines in shim.MODE.
shim_run()
{
	local mode=$1 log=$out/shim.$1.log

	shift
	nsx $tmo 120 "$run" "$@" "$here/ktp_run_shim" > "$log" 2>&1
	echo "# exit status $?" >> "$log"
	sed -n 's/^\(not \)*ok [0-9]* global\.\(.*\)/\1ok \2/p' "$log" \
		> "$out/shim.$mode"
}

# case_shim MODE: the results as points shim_MODE_TEST, a failure with
# the harness's own lines about it; and one point for the program's exit
# status, which a crash or a hang that leaves tests without a result
# fails.
case_shim()
{
	local mode=$1 log=$out/shim.$1.log line

	while read -r line; do
		case $line in
		"not ok "*)
			line=${line#not ok }
			ktap_fail "shim_${mode}_$line"
			grep ":$line:" "$log" | sed 's/^#* */# /'
			;;
		*) ktap_ok "shim_${mode}_${line#ok }" ;;
		esac
	done < "$out/shim.$mode"
	ktap_check_files "shim_${mode}_exit_status" \
		'grep -q "^# exit status 0$" "$log"' "$log"
}

case_cli()
{
	local rc

	"$run" --help > "$out/help" 2>&1
	rc=$?
	ktap_check_files ktp_run_help \
		'[ $rc = 0 ] && grep -q "^Usage: ktp-run" "$out/help"' "$out/help"
	"$run" -p 0 true 2> "$out/cli.err"
	rc=$?
	"$run" /nonexistent 2>> "$out/cli.err"
	rc="$rc $?"
	"$run" -p 1-2,x true 2>> "$out/cli.err"
	rc="$rc $?"
	ktap_check_files ktp_run_exit_codes '[ "$rc" = "125 127 125" ]' \
		"$out/cli.err"
}

# The namespace's KTP sockets, both families.
sockets()
{
	{ net ktp; net ktp6 2>/dev/null; } | grep -cv local_address
}

# Nothing outlives the test: the namespace's sockets close (TIME_WAIT
# lasts 1 s), and once it is gone the module is held no more than before,
# so that ktp_module.sh can unload it.
left_behind()
{
	local n

	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill $pids 2>/dev/null
	wait $pids 2>/dev/null
	pids=
	wait_for 15 '[ "$(sockets)" = 0 ]'
	n=$(sockets)
	kill $anchor
	wait $anchor 2>/dev/null
	anchor=
	ip netns del "$ns"
	wait_for 15 '[ "$(cat $refcnt)" -le $refs ]'
	diag "sockets left in the namespace: $n; module references:" \
	     "$refs before, $(cat $refcnt) after"
	ktap_check nothing_left_behind \
		'[ $n = 0 ] && [ "$(cat $refcnt)" -le $refs ]'
}

all="iperf3 curl socat shim cli"
[ $# -gt 0 ] && all="$*"

if ! setup; then
	ktap_plan 1
	ktap_fail "setup"
	ktap_finish
fi

# How many points: fixed ones per case, and the shim's tests.
n=0
for c in $all; do
	case $c in
	iperf3) n=$((n + 2)) ;;
	curl) n=$((n + 3)) ;;
	socat) n=$((n + 1)) ;;
	cli) n=$((n + 2)) ;;
	shim)
		shim_run all
		shim_run ports -p $SHIM_PORTS
		n=$((n + 2 + $(cat "$out/shim.all" "$out/shim.ports" | wc -l)))
		;;
	*) echo "ktp_run.sh: no case $c (cases: iperf3 curl socat shim cli)"
	   exit $KSFT_FAIL ;;
	esac
done
ktap_plan $((n + 1))

for c in $all; do
	if [ $c = shim ]; then
		case_shim all
		case_shim ports
	else
		case_$c
	fi
done
left_behind
ktap_finish
