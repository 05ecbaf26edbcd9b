#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The tools as a user runs them, over 127.0.0.1: ktpcat moving a few MiB
# each way with the digests compared, its half-close (a listener whose
# output ends when the client's input does, and whose reply still
# arrives), its -v state path and its exit codes; ktpperf's modes (bulk
# forward, parallel, reverse and both ways, rr, crr, cc, over TCP), their
# --json output with non-zero numbers, the server's own byte count, the
# table and the progress line.
#
# Every command runs under /usr/bin/timeout; a hang is a failed point.
#
#   ktp_tools.sh [case...]		only these cases (names at the end)

. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
kcat=$here/ktpcat
perf=$here/ktpperf
tmo=/usr/bin/timeout
out=/tmp/ktp_tools.$$
port=20400
pids=

# TIME_WAIT entries (hundreds, after crr and cc) hold module references
# until they expire: a second here, and the module is left as found.
tw=/proc/sys/net/ktp/tw_timeout
tw_saved=$(cat $tw)
refs() { cat /sys/module/ktp/refcnt; }
refs_start=$(refs)

stop_servers()
{
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill $pids 2>/dev/null
	pids=
}

cleanup()
{
	stop_servers
	echo "$tw_saved" > $tw
	rm -rf "$out"
}
trap cleanup EXIT
echo 1 > $tw

# The state path ktpcat -v reported in FILE, and what it may be: the
# client closes first, the listener answers the FIN with its own.
cli_path="^(SYN_SENT -> )?ESTABLISHED -> FIN_WAIT_[12]( -> FIN_WAIT_2)?\
 -> (TIME_WAIT|CLOSED)\$"
srv_path="^LISTEN -> ESTABLISHED -> CLOSE_WAIT( -> LAST_ACK)?( -> CLOSED)?\$"

states()
{
	sed -n 's/^ktpcat: states: //p' "$1"
}

digest()
{
	sha256sum < "$1" | cut -d' ' -f1
}

cat_help()
{
	$tmo 10 "$kcat" --help > "$out/help" 2> "$out/err"
	rc=$?
	ktap_check_files cat_help_exits_0 \
		'[ $rc -eq 0 ] && grep -q "^usage: ktpcat" "$out/help" &&
		 [ ! -s "$out/err" ]' "$out/help" "$out/err"
}

cat_usage()
{
	local bad=0 args

	for args in "" "127.0.0.1" "-p 1 127.0.0.1 1" "-w 0 127.0.0.1 1" \
		    "-x 127.0.0.1 1" "-l 1 2 3"; do
		# shellcheck disable=SC2086
		$tmo 10 "$kcat" $args < /dev/null > "$out/usage" 2>&1
		rc=$?
		if [ $rc -ne 2 ] || ! grep -q "^usage:" "$out/usage"; then
			diag "ktpcat $args: exit $rc"
			bad=1
		fi
	done
	ktap_check_files cat_bad_usage_exits_2 '[ $bad = 0 ]'
}

cat_refused()
{
	$tmo 10 "$kcat" 127.0.0.1 $port < /dev/null > "$out/refused" 2>&1
	rc=$?
	ktap_check_files cat_refused_exits_1 \
		'[ $rc -eq 1 ] && grep -q "Connection refused" "$out/refused"' \
		"$out/refused"
}

cat_timeout()
{
	$tmo 10 "$kcat" -l -w 0.5 127.0.0.1 $port < /dev/null \
		> "$out/wait" 2>&1
	rc=$?
	ktap_check_files cat_listen_w_timeout_exits_4 \
		'[ $rc -eq 4 ] && grep -q "timed out" "$out/wait"' "$out/wait"
}

# Four MiB one way and three the other, at the same time.
cat_both_ways()
{
	local spid src up

	$tmo 60 "$kcat" -l -v -w 30 127.0.0.1 $port < "$out/b" \
		> "$out/got_a" 2> "$out/srv" &
	spid=$!
	pids="$pids $spid"
	ktap_until_line "$out/srv" "listening on"
	up=$?
	$tmo 60 "$kcat" -v -w 30 127.0.0.1 $port < "$out/a" \
		> "$out/got_b" 2> "$out/cli"
	rc=$?
	wait $spid
	src=$?
	diag "client exit $rc, server exit $src, listening seen: $up"
	ktap_check_files cat_both_ways_digests_match \
		'[ $up -eq 0 ] && [ $rc -eq 0 ] && [ $src -eq 0 ] &&
		 [ "$(digest "$out/a")" = "$(digest "$out/got_a")" ] &&
		 [ "$(digest "$out/b")" = "$(digest "$out/got_b")" ]' \
		"$out/srv" "$out/cli"
	ktap_check_files cat_verbose_counts_bytes \
		'grep -q "4194304 bytes sent, 3145728 received" "$out/cli" &&
		 grep -q "3145728 bytes sent, 4194304 received" "$out/srv"' \
		"$out/srv" "$out/cli"
}

# The listener's output goes to sha256sum, whose digest is the listener's
# input, FIFOs both ways: the digest exists only once the listener's
# output has ended, which it does when the client's input ends (its FIN);
# the digest must still reach the client afterwards, and the listener
# exit with 0.
cat_half_close()
{
	local spid busy up src

	port=$((port + 1))
	rm -f "$out/fifo" "$out/fifo2"
	mkfifo "$out/fifo" "$out/fifo2"
	sha256sum < "$out/fifo2" > "$out/fifo" &
	pids="$pids $!"
	# ktpcat must be fifo2's only writer, so no subshell or timeout
	# process around it: -w bounds it (and the whole script is bounded).
	# fifo2 is opened first: sha256sum opens it before fifo.
	"$kcat" -l -v -w 20 127.0.0.1 $port > "$out/fifo2" < "$out/fifo" \
		2> "$out/srv" &
	spid=$!
	pids="$pids $spid"
	ktap_until_line "$out/srv" "listening on"
	up=$?
	$tmo 10 "$kcat" -l 127.0.0.1 $port < /dev/null > "$out/busy" 2>&1
	busy=$?
	$tmo 30 "$kcat" -v -w 20 127.0.0.1 $port < "$out/a" \
		> "$out/reply" 2> "$out/cli"
	rc=$?
	wait $spid
	src=$?
	ktap_check_files cat_listen_on_busy_port_exits_1 \
		'[ $up -eq 0 ] && [ $busy -eq 1 ] && grep -q "in use" "$out/busy"' \
		"$out/busy"
	diag "client exit $rc, server exit $src"
	ktap_check_files cat_half_close_reply_after_fin \
		'[ $rc -eq 0 ] && [ $src -eq 0 ] &&
		 [ "$(cut -d" " -f1 "$out/reply")" = "$(digest "$out/a")" ]' \
		"$out/reply" "$out/srv" "$out/cli"
	diag "client: $(states "$out/cli")"
	diag "server: $(states "$out/srv")"
	# ktpcat sees the states between its steps, not every transition;
	# a socket whose connection moved to a TIME_WAIT entry reads CLOSED
	ktap_check_files cat_verbose_state_paths \
		'states "$out/cli" | grep -Eq "$cli_path" &&
		 states "$out/srv" | grep -Eq "$srv_path"'
}

# ---- ktpperf ----

# json_ok FILE: every line one flat JSON object of strings, numbers and
# booleans (what ktpperf writes; busybox has no jq).
json_ok()
{
	[ -s "$1" ] &&
	! sed -E 's/"[a-z0-9_]+":("[^"]*"|-?[0-9]+(\.[0-9]+)?|true|false)//g' \
		"$1" | grep -vqE '^\{,*\}$'
}

# field NAME FILE: a field's values, one a line.
field()
{
	sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$2"
}

# positive NAME FILE: the field is there and above zero on every line.
positive()
{
	[ -n "$(field "$1" "$2")" ] &&
	field "$1" "$2" | awk '!($1 > 0) { bad = 1 } END { exit bad }'
}

perf_port=20410

perf_server()
{
	"$perf" -s -p $perf_port -t 120 --json > "$out/psrv" \
		2> "$out/psrv.err" &
	pids="$pids $!"
	ktap_until_line "$out/psrv.err" "listening on"
	perf_up=$?
	[ $perf_up -eq 0 ] || diag "the ktpperf server never said it listens"
}

# perf NAME ARGS...: one client run, its JSON in $out/NAME, exit in $rc.
perf()
{
	local name=$1

	shift
	$tmo 60 "$perf" -c 127.0.0.1 -p $perf_port --json "$@" \
		> "$out/$name" 2> "$out/$name.err"
	rc=$?
	# a server that never listened fails every client run
	[ "${perf_up:-1}" -eq 0 ] || rc=99
}

# server_has SELECTOR [N]: the server printed N (default 1) JSON lines
# that match.
server_has()
{
	[ "$(grep -c "$1" "$out/psrv")" -eq "${2:-1}" ]
}

perf_bulk()
{
	perf bulk -n 2000001
	ktap_check_files perf_bulk_json_and_server_count \
		'[ $rc -eq 0 ] && json_ok "$out/bulk" &&
		 positive mbps "$out/bulk" &&
		 [ "$(field bytes "$out/bulk")" = 2000001 ] &&
		 [ "$(field server_bytes "$out/bulk")" = 2000001 ] &&
		 server_has "\"ktp\",.*\"forward\",.*\"bytes\":2000001,"' \
		"$out/bulk" "$out/bulk.err" "$out/psrv"
}

perf_parallel()
{
	perf par -n 1000003 -P 3
	ktap_check_files perf_parallel_streams \
		'[ $rc -eq 0 ] && json_ok "$out/par" &&
		 [ "$(field streams "$out/par")" = 3 ] &&
		 [ "$(field bytes "$out/par")" = 3000009 ] &&
		 server_has "\"bytes\":1000003," 3' \
		"$out/par" "$out/par.err" "$out/psrv"
}

perf_reverse()
{
	local got sel

	perf rev -R -t 1
	got=$(field received_bytes "$out/rev")
	sel="\"dir\":\"reverse\",.*\"bytes\":$got,.*\"client_bytes\":$got}"
	ktap_check_files perf_reverse_server_sends \
		'[ $rc -eq 0 ] && json_ok "$out/rev" &&
		 positive received_bytes "$out/rev" &&
		 [ "$(field sent_bytes "$out/rev")" = 0 ] &&
		 server_has "$sel"' \
		"$out/rev" "$out/rev.err" "$out/psrv"
}

perf_bidir()
{
	perf bidir --bidir -t 1
	ktap_check_files perf_bidir_both_ways \
		'[ $rc -eq 0 ] && json_ok "$out/bidir" &&
		 positive sent_bytes "$out/bidir" &&
		 positive received_bytes "$out/bidir" &&
		 [ "$(field server_bytes "$out/bidir")" = \
		   "$(field sent_bytes "$out/bidir")" ]' \
		"$out/bidir" "$out/bidir.err"
}

perf_rr()
{
	perf rr --mode rr -P 2 -t 1
	ktap_check_files perf_rr_rate_and_latency \
		'[ $rc -eq 0 ] && json_ok "$out/rr" && positive tps "$out/rr" &&
		 positive transactions "$out/rr" && positive p50_us "$out/rr" &&
		 [ "$(field p99_us "$out/rr")" -ge \
		   "$(field p50_us "$out/rr")" ]' \
		"$out/rr" "$out/rr.err"
}

perf_crr()
{
	local m

	for m in crr cc; do
		perf $m --mode $m -t 1
		ktap_check_files perf_${m}_connection_rate \
			'[ $rc -eq 0 ] && json_ok "$out/$m" &&
			 positive tps "$out/$m" && positive p50_us "$out/$m" &&
			 [ "$(field mode "$out/$m")" = $m ]' \
			"$out/$m" "$out/$m.err"
	done
}

perf_tcp()
{
	perf tcp --tcp -n 1000000
	ktap_check_files perf_tcp_same_test_over_tcp \
		'[ $rc -eq 0 ] && json_ok "$out/tcp" &&
		 [ "$(field proto "$out/tcp")" = tcp ] &&
		 [ "$(field server_bytes "$out/tcp")" = 1000000 ] &&
		 server_has "\"proto\":\"tcp\".*\"bytes\":1000000,"' \
		"$out/tcp" "$out/tcp.err" "$out/psrv"
}

# With --json the server's standard output is JSON and nothing else.
perf_server_json()
{
	ktap_check_files perf_server_prints_only_json \
		'json_ok "$out/psrv" && [ "$(wc -l < "$out/psrv")" -ge 8 ]' \
		"$out/psrv"
}

# A table for people; a progress line each second when asked, and none
# on a run shorter than a second.
perf_output()
{
	$tmo 60 "$perf" -c 127.0.0.1 -p $perf_port -t 2.5 --progress \
		> "$out/table" 2> "$out/progress"
	rc=$?
	perf short -n 1000 --progress
	ktap_check_files perf_table_and_progress \
		'[ $rc -eq 0 ] && grep -q "^proto  *mode  *dir" "$out/table" &&
		 grep -q "^ktp  *bulk  *forward  *1 .* Mbit/s" "$out/table" &&
		 grep -q "^ktpperf: *1\.[0-9] s .* Mbit/s" "$out/progress" &&
		 [ ! -s "$out/short.err" ]' \
		"$out/table" "$out/progress" "$out/short.err"
}

perf_usage()
{
	local bad=0 args

	for args in "-c 127.0.0.1 -P 0" "-c 127.0.0.1 --mode rr -R" \
		    "-c 127.0.0.1 --mode nosuch" "-s -c 127.0.0.1"; do
		# shellcheck disable=SC2086
		$tmo 10 "$perf" $args > "$out/usage" 2>&1
		rc=$?
		if [ $rc -ne 2 ] || ! grep -q "^usage:" "$out/usage"; then
			diag "ktpperf $args: exit $rc"
			bad=1
		fi
	done
	$tmo 10 "$perf" --help > "$out/usage" 2>&1
	rc=$?
	ktap_check_files perf_help_0_bad_usage_2 \
		'[ $bad = 0 ] && [ $rc -eq 0 ] &&
		 grep -q "^usage:" "$out/usage"'
}

CASES="cat_help cat_usage cat_refused cat_timeout cat_both_ways \
cat_half_close perf_bulk perf_parallel perf_reverse perf_bidir perf_rr \
perf_crr perf_tcp perf_server_json perf_output perf_usage"

[ $# -gt 0 ] && CASES="$*"
mkdir -p "$out" &&
head -c 4194304 /dev/urandom > "$out/a" &&
head -c 3145728 /dev/urandom > "$out/b" || exit $KSFT_FAIL
n=0
for c in $CASES; do
	case $c in
	cat_both_ways) n=$((n + 2)) ;;
	cat_half_close) n=$((n + 3)) ;;
	perf_crr) n=$((n + 2)) ;;
	*) n=$((n + 1)) ;;
	esac
done
ktap_plan $((n + 1))
case $CASES in
*perf_*) perf_server ;;
esac
for c in $CASES; do
	$c
done

stop_servers
wait
n=0
while [ "$(refs)" -gt "$refs_start" ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
diag "module references: $refs_start before, $(refs) after"
ktap_check no_references_left '[ "$(refs)" -le "$refs_start" ]'
ktap_finish
