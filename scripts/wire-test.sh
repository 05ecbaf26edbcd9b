#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two kernels on one wire: two test VMs, one booting Debian's stock 6.1
# (module/ktp.ko) and one the newest kernel Debian ships
# (build/<abi>/ktp.ko), joined by a virtual wire: a virtio-net NIC in
# each, the two ends of a QEMU socket netdev over 127.0.0.1 (the 6.1 VM
# listens, the other connects). In each, selftests/wire_side.sh sets up
# the NIC (10.99.0.1/24 and fd99::1/64 on 6.1, .2 and ::2 on the newest)
# and runs the cases: in each, KTP connects both ways at once, each
# connection moving BYTES in both directions (ktp_xfer), over IPv4 and
# IPv6, on a clean wire and under netem loss 1% delay 5ms on both sides.
#
#   scripts/wire-test.sh [-n BYTES] [-t SECS] [case...]    (make check-wire)
#
#   -n BYTES   sent by each end of each connection (default 8M)
#   -t SECS    time bound of one transfer (default 600)
#   case       clean_ipv4 clean_ipv6 loss_ipv4 loss_ipv6 (default: all);
#              bench: ktpperf's bulk from the newest VM to the 6.1 one,
#              KTP and TCP in turn, 5 rounds of 3 s: a row KTP, TCP and
#              KTP/TCP (medians), as scripts/bench.sh prints its rows
#
# It builds what is missing or older than its sources (module/ktp.ko,
# the newest kernel's ktp.ko, ktp_xfer and the scripts it runs), boots
# the VMs side by side, each under vm.sh's hard time-out (VM_TIMEOUT,
# default 1200 s and a transfer's bound for each case) with one CPU
# (VM_SMP=1) unless told otherwise; when one ends, the other has 180 s
# to end too. KTP_WIRE_LOGS=DIR keeps both full console logs there.
# Then it prints KTAP, judging both consoles: each VM finished without a
# kernel splat or a time-out, its NIC came up and the peer answered, for
# each connection the bytes and digests one end sent are the ones the
# other end received and both ends said ok, the loss cases retransmitted
# at every end, and no connection was left at the end. Exit status: 0
# when every point passed, 1 otherwise.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE
KSFT_INC=$KTP_CACHE/src/tools/testing/selftests
export VM_SMP=${VM_SMP:-1}
GRACE=180

size=8M
bound=600
while getopts n:t: opt; do
	case $opt in
	n) size=$OPTARG ;;
	t) bound=$OPTARG ;;
	*) sed -n '14,21s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
cases=${*:-clean_ipv4 clean_ipv6 loss_ipv4 loss_ipv6}
vm_timeout=${VM_TIMEOUT:-$((1200 + $(wc -w <<<"$cases") * (bound + 10)))}

work=$(mktemp -d /tmp/ktp-wire.XXXXXX)
# the VMs by name, a (6.1) and b (newest): vm.sh's pid, then its status
declare -A pid rc
sessions=
# stop SID: every process of that session, vm.sh's own and timeout's
# group with qemu in it (timeout makes a process group of its own)
stop()
{
	local p

	for p in $(ps -o pid= -s "$1"); do
		kill "$p" 2>/dev/null
	done
}
cleanup()
{
	local s

	for s in $sessions; do
		stop "$s"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "# $*"; }

# stale FILE: FILE is missing or older than one of the module's sources.
stale()
{
	[ -f "$1" ] || return 0
	[ -n "$(scripts/kernels.sh sources | xargs find -newer "$1" 2>/dev/null)" ]
}

# What the VMs need, built when missing or out of date.
build()
{
	local out=$top/selftests/out

	if stale module/ktp.ko; then
		log "building module/ktp.ko"
		make -s module >&2 || return 1
	fi
	abi=$(scripts/kernels.sh abi newest) || return 1
	ko=build/$abi/ktp.ko
	if stale "$ko"; then
		log "building $ko"
		scripts/kernels.sh build newest "build/$abi" >&2 || return 1
	fi
	mapfile -t newest < <(scripts/kernels.sh vm-args newest) || return 1
	[ ${#newest[@]} = 4 ] || return 1
	if [ ! -f userspace/lib/libktp.a ]; then
		log "building userspace"
		make -s userspace >&2 || return 1
	fi
	make -s -C selftests KSFT_INC="$KSFT_INC" "$out/ktp_xfer" \
		"$out/ktpperf" "$out/lib.sh" "$out/wire_side.sh" >&2 || return 1
	mkdir -p "$work/stage"
	cp "$out/ktp_xfer" "$out/ktpperf" "$out/lib.sh" "$out/wire_side.sh" \
		"$work/stage/"
}

# A TCP port on 127.0.0.1 nobody listens on, for the wire.
free_port()
{
	local p

	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Hltn "sport = :$p")" ] && { echo $p; return 0; }
	done
	return 1
}

# vm NAME SIDE NETDEV VM.SH-ARGS...: boot one side in the background, in
# a session of its own (stopped whole if it must be); sets pid[NAME].
vm()
{
	local name=$1 side=$2 netdev=$3 mac

	shift 3
	mac=52:54:00:99:00:0$side
	setsid scripts/vm.sh -q -t "$vm_timeout" "$@" \
		-w "-netdev $netdev -device virtio-net-pci,netdev=w0,mac=$mac" \
		${KTP_WIRE_LOGS:+-l "$KTP_WIRE_LOGS/$name.log"} \
		-d "$work/stage" -- \
		"./wire_side.sh -s $side -n $size -t $bound $cases" \
		> "$work/$name.out" 2>&1 < /dev/null &
	pid[$name]=$!
	sessions+=" $!"
}

# Boot the 6.1 VM listening on the wire, wait (180 s at most) until its
# qemu listens, then boot the newest one connecting to it.
boot()
{
	local port

	port=$(free_port) || { log "no free port"; return 1; }
	log "wire: 127.0.0.1:$port; VM_SMP=$VM_SMP, time-out ${vm_timeout}s each"
	vm a 1 "socket,id=w0,listen=127.0.0.1:$port"
	for _ in $(seq 180); do
		[ -n "$(ss -Hltn "sport = :$port")" ] && break
		kill -0 "${pid[a]}" 2>/dev/null || break
		sleep 1
	done
	if [ -z "$(ss -Hltn "sport = :$port")" ]; then
		log "the 6.1 VM's qemu never listened on $port"
		return 1
	fi
	vm b 2 "socket,id=w0,connect=127.0.0.1:$port" "${newest[@]}" -o "$ko"
}

# Wait for both, within each VM's time-out (and some more for building
# its initramfs); once one ends, the other has GRACE seconds. Sets rc[]
# (vm.sh's status; 124 when this script ended it).
await()
{
	local deadline=$((SECONDS + vm_timeout + 300)) first='' ended v

	while :; do
		ended=
		for v in a b; do
			kill -0 "${pid[$v]}" 2>/dev/null || ended+=$v
		done
		[ "$ended" = ab ] && break
		if [ -n "$ended" ] && [ -z "$first" ]; then
			first=$SECONDS
		fi
		if [ $SECONDS -ge $deadline ] ||
		   { [ -n "$first" ] && [ $((SECONDS - first)) -ge $GRACE ]; }; then
			for v in a b; do
				kill -0 "${pid[$v]}" 2>/dev/null || continue
				log "stopping the $(kname $v) VM: time is up"
				stop "${pid[$v]}"
				touch "$work/$v.killed"
			done
		fi
		sleep 2
	done
	for v in a b; do
		wait "${pid[$v]}"
		rc[$v]=$?
		[ -f "$work/$v.killed" ] && rc[$v]=124
	done
	sessions=
}

# field VM CASE END NAME: a field of that transfer end's result line.
field()
{
	awk -v c="case=$2" -v e="end=$3" -v k="$4=" '
		$1 == "wire:" && $2 == c && $3 == e {
			v = ""
			for (i = 4; i <= NF; i++)
				if (index($i, k) == 1)
					v = substr($i, length(k) + 1)
		}
		END { print v }' "$work/$1.out"
}

# bytes SIZE: 8M -> 8388608, as ktp_xfer reads it
bytes()
{
	case $1 in
	*K) echo $((${1%K} * 1024)) ;;
	*M) echo $((${1%M} * 1024 * 1024)) ;;
	*) echo "$1" ;;
	esac
}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"; }
point() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# ran VM: vm.sh saw the command finish, no splat, no time-out.
ran()
{
	[ "${rc[$1]}" != 124 ] && grep -q '^KTP-VM-EXIT rc=' "$work/$1.out" &&
	! grep -q '^vm: ' "$work/$1.out"
}

# intact CASE CLIENT SERVER: the connection CLIENT's VM opened to
# SERVER's carried every byte both ways, as both ends say.
intact()
{
	local want k
	local -A cl sv		# the client's and the server's fields

	want=$(bytes "$size")
	for k in rc result sent recv sent_fnv recv_fnv; do
		cl[$k]=$(field "$2" "$1" client $k)
		sv[$k]=$(field "$3" "$1" server $k)
	done
	[ "${cl[rc]}" = 0 ] && [ "${sv[rc]}" = 0 ] &&
	[ "${cl[result]}" = ok ] && [ "${sv[result]}" = ok ] &&
	[ "${cl[sent]}" = "$want" ] && [ "${sv[recv]}" = "$want" ] &&
	[ "${sv[sent]}" = "$want" ] && [ "${cl[recv]}" = "$want" ] &&
	[ -n "${cl[sent_fnv]}" ] && [ "${cl[sent_fnv]}" = "${sv[recv_fnv]}" ] &&
	[ -n "${sv[sent_fnv]}" ] && [ "${sv[sent_fnv]}" = "${cl[recv_fnv]}" ]
}

# What a connection did, for the log.
summary()
{
	local c=$2 s=$3

	if [ -z "$(field "$c" "$1" client result)" ] ||
	   [ -z "$(field "$s" "$1" server result)" ]; then
		echo "$1 $(kname "$c") -> $(kname "$s"): no result from" \
		     "the client or the server"
		return
	fi
	echo "$1 $(kname "$c") -> $(kname "$s"):" \
	     "client sent $(field "$c" "$1" client sent) fnv $(field "$c" "$1" client sent_fnv)," \
	     "server recv $(field "$s" "$1" server recv) fnv $(field "$s" "$1" server recv_fnv);" \
	     "server sent $(field "$s" "$1" server sent) fnv $(field "$s" "$1" server sent_fnv)," \
	     "client recv $(field "$c" "$1" client recv) fnv $(field "$c" "$1" client recv_fnv);" \
	     "$(field "$c" "$1" client elapsed_ms)/$(field "$s" "$1" server elapsed_ms) ms," \
	     "retrans $(field "$c" "$1" client total_retrans)/$(field "$s" "$1" server total_retrans)," \
	     "srtt $(field "$c" "$1" client srtt_us)/$(field "$s" "$1" server srtt_us) us"
}

kname() { [ "$1" = a ] && echo 6.1 || echo newest; }

# retransmitted CASE: every end of both connections resent something:
# netem's loss was on the wire.
retransmitted()
{
	local v e r

	for v in a b; do
		for e in client server; do
			r=$(field $v "$1" $e total_retrans)
			[ "${r:-0}" -gt 0 ] 2>/dev/null || return 1
		done
	done
}

# median PROTO: the median rate (Mbit/s) of PROTO's bench runs, from the
# newest VM's lines; empty when a run failed.
median()
{
	awk -v p="proto=$1" '$1 == "wire:" && $2 == "bench" && $4 == p {
			if (!match($0, /"mbps":[0-9.]+/) || $0 !~ /"ok":true/) {
				bad = 1; next }
			v[n++] = substr($0, RSTART + 7, RLENGTH - 7) + 0 }
		END {
			if (bad || !n) exit
			for (i = 0; i < n; i++)	# sort: a handful of values
				for (j = i + 1; j < n; j++)
					if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			print (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
		}' "$work/b.out"
}

# bench: the table row (KTP, TCP, KTP/TCP) and whether every run went.
bench()
{
	local k t

	k=$(median ktp)
	t=$(median tcp)
	log "bench rounds (newest -> 6.1, Mbit/s):" \
	    "$(awk '$2 == "bench" && $3 ~ /^round=/ {
			match($0, /"mbps":[0-9.]+/)
			printf " %s:%s", substr($4, 7), substr($0, RSTART + 7, RLENGTH - 7) }' "$work/b.out")"
	[ -n "$k" ] && [ -n "$t" ] || return 1
	log "$(printf '%-22s %12s %12s %-8s %8s' test KTP TCP unit KTP/TCP)"
	log "$(awk -v k="$k" -v t="$t" 'BEGIN { printf "%-22s %12.2f %12.2f %-8s %8.3f",
		"virtio-net bulk", k, t, "Mbit/s", (t > 0 ? k / t : 0) }')"
	grep -q '^wire: bench end=server rc=0' "$work/a.out" &&
		grep -q '^wire: bench end=client rc=0' "$work/b.out"
}

judge()
{
	local c plan v

	plan=6
	for c in $cases; do
		case $c in
		bench) plan=$((plan + 1)) ;;
		loss_*) plan=$((plan + 3)) ;;
		*) plan=$((plan + 2)) ;;
		esac
	done
	echo "1..$plan"
	for v in a b; do
		log "--- the $(kname $v) VM's console (vm.sh -q, status ${rc[$v]})"
		sed 's/^/# /' "$work/$v.out"
	done
	point vm_6.1_finished_no_splat 'ran a'
	point vm_newest_finished_no_splat 'ran b'
	point wire_up_6.1 "grep -q '^wire: setup ok' $work/a.out &&
		[ \$(grep -c '^wire: peer .* answered' $work/a.out) = 2 ]"
	point wire_up_newest "grep -q '^wire: setup ok' $work/b.out &&
		[ \$(grep -c '^wire: peer .* answered' $work/b.out) = 2 ]"
	for c in $cases; do
		if [ "$c" = bench ]; then
			point bench_ran bench
			continue
		fi
		log "$(summary "$c" a b)"
		point "${c}_6.1_to_newest_intact" "intact $c a b"
		log "$(summary "$c" b a)"
		point "${c}_newest_to_6.1_intact" "intact $c b a"
		case $c in
		loss_*) point "${c}_retransmitted_at_every_end" "retransmitted $c" ;;
		esac
	done
	point no_connection_left_6.1 "grep -q '^wire: closed: ' $work/a.out"
	point no_connection_left_newest "grep -q '^wire: closed: ' $work/b.out"
}

echo "TAP version 13"
if ! build; then
	echo "1..1"
	echo "not ok 1 build # what the VMs need does not build"
	exit 1
fi
log "6.1: $(basename "$(ls "$KTP_CACHE"/current/image/boot/vmlinuz-*)") +" \
    "module/ktp.ko; newest: $(basename "${newest[1]}") + $ko"
t0=$SECONDS
if ! boot; then
	echo "1..1"
	echo "not ok 1 boot # the wire between the VMs did not come up"
	[ -f "$work/a.out" ] && sed 's/^/# /' "$work/a.out"
	exit 1
fi
await
log "both VMs done after $((SECONDS - t0)) s"
judge
log "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
