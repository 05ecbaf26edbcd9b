#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The tools as a user runs them, over 127.0.0.1: ktpcat moving a few MiB
# each way with the digests compared, its half-close (a listener whose
# output ends when the client's input does, and whose reply still
# arrives), its -v state path and its exit codes; ktpperf's modes, their
# --json output and the server's own byte count.
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

cleanup()
{
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill $pids 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT

# until FILE PATTERN: wait (10 s at most) for a line of a background
# command's output.
until_line()
{
	local n=100

	while ! grep -q "$2" "$1" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

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

# check NAME CONDITION [FILE...]: one test point; when it fails, the
# files that say why as diagnostics.
check()
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

cat_help()
{
	$tmo 10 "$kcat" --help > "$out/help" 2> "$out/err"
	rc=$?
	check cat_help_exits_0 \
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
	check cat_bad_usage_exits_2 '[ $bad = 0 ]'
}

cat_refused()
{
	$tmo 10 "$kcat" 127.0.0.1 $port < /dev/null > "$out/refused" 2>&1
	rc=$?
	check cat_refused_exits_1 \
		'[ $rc -eq 1 ] && grep -q "Connection refused" "$out/refused"' \
		"$out/refused"
}

cat_timeout()
{
	$tmo 10 "$kcat" -l -w 0.5 127.0.0.1 $port < /dev/null \
		> "$out/wait" 2>&1
	rc=$?
	check cat_listen_w_timeout_exits_4 \
		'[ $rc -eq 4 ] && grep -q "timed out" "$out/wait"' "$out/wait"
}

# Four MiB one way and three the other, at the same time.
cat_both_ways()
{
	local spid src

	$tmo 60 "$kcat" -l -v -w 30 127.0.0.1 $port < "$out/b" \
		> "$out/got_a" 2> "$out/srv" &
	spid=$!
	pids="$pids $spid"
	until_line "$out/srv" "listening on"
	$tmo 60 "$kcat" -v -w 30 127.0.0.1 $port < "$out/a" \
		> "$out/got_b" 2> "$out/cli"
	rc=$?
	wait $spid
	src=$?
	diag "client exit $rc, server exit $src"
	check cat_both_ways_digests_match \
		'[ $rc -eq 0 ] && [ $src -eq 0 ] &&
		 [ "$(digest "$out/a")" = "$(digest "$out/got_a")" ] &&
		 [ "$(digest "$out/b")" = "$(digest "$out/got_b")" ]' \
		"$out/srv" "$out/cli"
	check cat_verbose_counts_bytes \
		'grep -q "4194304 bytes sent, 3145728 received" "$out/cli" &&
		 grep -q "3145728 bytes sent, 4194304 received" "$out/srv"' \
		"$out/srv" "$out/cli"
}

# The listener's output goes to sha256sum, whose digest is the listener's
# input through a FIFO: the digest exists only once the listener's output
# has ended, which it does when the client's input ends (its FIN); the
# digest must still reach the client afterwards.
cat_half_close()
{
	local spid busy

	port=$((port + 1))
	rm -f "$out/fifo"
	mkfifo "$out/fifo"
	# ktpcat must be the pipe's only writer, so no subshell or timeout
	# process around it: -w bounds it (and the whole script is bounded)
	"$kcat" -l -v -w 20 127.0.0.1 $port < "$out/fifo" 2> "$out/srv" |
		sha256sum > "$out/fifo" &
	spid=$!
	pids="$pids $spid"
	until_line "$out/srv" "listening on"
	$tmo 10 "$kcat" -l 127.0.0.1 $port < /dev/null > "$out/busy" 2>&1
	busy=$?
	$tmo 30 "$kcat" -v -w 20 127.0.0.1 $port < "$out/a" \
		> "$out/reply" 2> "$out/cli"
	rc=$?
	wait $spid
	check cat_listen_on_busy_port_exits_1 \
		'[ $busy -eq 1 ] && grep -q "in use" "$out/busy"' "$out/busy"
	diag "client exit $rc"
	check cat_half_close_reply_after_fin \
		'[ $rc -eq 0 ] &&
		 [ "$(cut -d" " -f1 "$out/reply")" = "$(digest "$out/a")" ]' \
		"$out/reply" "$out/srv" "$out/cli"
	diag "client: $(states "$out/cli")"
	diag "server: $(states "$out/srv")"
	# ktpcat sees the states between its steps, not every transition;
	# a socket whose connection moved to a TIME_WAIT entry reads CLOSED
	check cat_verbose_state_paths \
		'states "$out/cli" | grep -Eq "$cli_path" &&
		 states "$out/srv" | grep -Eq "$srv_path"'
}

CASES="cat_help cat_usage cat_refused cat_timeout cat_both_ways \
cat_half_close"

[ $# -gt 0 ] && CASES="$*"
mkdir -p "$out" &&
head -c 4194304 /dev/urandom > "$out/a" &&
head -c 3145728 /dev/urandom > "$out/b" || exit $KSFT_FAIL
n=0
for c in $CASES; do
	case $c in
	cat_both_ways) n=$((n + 2)) ;;
	cat_half_close) n=$((n + 3)) ;;
	*) n=$((n + 1)) ;;
	esac
done
ktap_plan $n
for c in $CASES; do
	$c
done
ktap_finish
