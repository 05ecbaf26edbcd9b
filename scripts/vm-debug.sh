#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug, inside the VM: the debug kernel has booted, /init has
# loaded ktp.ko, and /ktp holds selftests/out plus this script and
# fault_inject.sh. Three stages, each printing KTAP:
#
#   selftests        run_tests.sh: the whole suite, as make check runs it
#   fault injection  each test again under failslab and fail_page_alloc,
#                    limited to its processes that opened a KTP socket
#   kmemleak         two scans before rmmod ktp, rmmod, two scans after
#   fuzz             (make fuzz) each ktp_fuzz_* program, -n KTP_FUZZ_N
#
# The last line totals every test point as
# "# ktp-debug-totals: pass:N fail:N skip:N"; kernel splats are judged by
# scripts/vm.sh on the host from the console log.
#
# Environment (set by scripts/check-debug.sh from the host's):
#   KTP_FAULT_TESTS    programs to run under injection [all of tests.list]
#   KTP_FAULT_ROUNDS   what:percent pairs, one run each [see ROUNDS below]
#   KTP_DEBUG_STAGES   which stages run, in their order
#                      ["selftests fault kmemleak"; make fuzz: "fuzz kmemleak"]
#   KTP_FUZZ_N         segments or calls for each fuzzer [1000000]
#   KTP_FUZZ_ONLY      the fuzzers the fuzz stage runs [every ktp_fuzz_*]

cd "$(dirname "$0")" || exit 1

KML=/sys/kernel/debug/kmemleak
# A low rate reaches deep into a test before its first failure, a higher
# one fails early and often, page allocations (order >= 1) included. Two
# rounds, as a transfer test takes about 4 minutes a round under
# injection; KTP_FAULT_ROUNDS asks for more (e.g. add page:30).
ROUNDS=${KTP_FAULT_ROUNDS:-"slab:3 all:15"}
# Errors a failed allocation may legitimately surface as: ENOMEM,
# ENOBUFS; ENFILE, which socket() returns when the socket's inode cannot
# be allocated (net/socket.c, "socket: no more sockets"); EBADF, from a
# test that closes the descriptor a failed socket() never gave; EINTR and
# the ERESTART* codes (512-516, which sys_exit sees before the signal code
# turns them into EINTR or a restart), from a blocked call interrupted
# when a test that failed kills its helpers.
CLEAN_ERRNOS=" 12 105 23 9 4 512 513 514 516 "
# The same for one call only, as "syscall:errno": bind() (49) answers
# EADDRINUSE (98) when the port's bind bucket cannot be allocated
# (inet_csk_get_port() fails with its default -EADDRINUSE); execve()
# (59) answers E2BIG (7) when a page for the arguments cannot be had
# (copy_strings()), which the shell reports as "Argument list too long";
# open() (2), openat() (257) and readlink() (89) answer ENOENT (2) when
# procfs cannot allocate the inode of a per-process entry on the way
# (proc_pident_instantiate(): /proc/net is /proc/self/net, and
# /proc/self/ns/net a link of it); unshare() (272) answers ENODEV (19)
# when a new namespace's uevent socket cannot be allocated
# (uevent_net_init(), lib/kobject_uevent.c); open() and openat() answer
# ENOSPC (28) when a file is created on the VM's tmpfs or ramfs and its
# inode cannot be allocated (shmem_mknod(), ramfs_mknod(): new_inode()
# failed), as ktp_sockapi's sendfile test does.
CLEAN_SYSCALL_ERRNOS=" 49:98 59:7 2:2 257:2 89:2 272:19 2:28 257:28 "
# ktp_conformance.sh plays the peer itself, segment by scripted segment:
# a segment it injects may be lost to a failed allocation (ENOBUFS from
# the tun write), and the script then goes on against a connection that
# did not get it: the connection is reset (EPIPE, ECONNRESET), a read
# finds nothing yet (EAGAIN), and the script's helper has ended early
# when it is waited for (ECHILD). Those are the lost segment's, for that
# program only. ktp_icmp6 plays its peer behind a tun device the same way.
SCRIPTED_PEER=" ktp_conformance.sh ktp_icmp6 "
PEER_ERRNOS=" 32 104 11 10 "
timeout=$(sed -n 's/^timeout=//p' settings 2>/dev/null)
timeout=${timeout:-120}
pass=0 fail=0 skip=0 n=0

ok() { n=$((n + 1)) pass=$((pass + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)) fail=$((fail + 1)); echo "not ok $n $*"; }
skipped() { n=$((n + 1)) skip=$((skip + 1)); echo "ok $n $* # SKIP"; }
diag() { echo "# $*"; }

stage_selftests()
{
	local out=/tmp/ktp-debug.suite totals t

	echo "== selftests"
	# KASAN and lockdep make the kernel several times slower than the
	# stock one: each program gets three times settings' time-out, and
	# KTP_SLOW_KERNEL tells the ones that measure a rate (ktp_synflood)
	t=$(sed -n 's/^timeout=//p' settings 2>/dev/null)
	KTP_SLOW_KERNEL=1 KTP_TEST_TIMEOUT=$((${t:-120} * 3)) \
		./run_tests.sh > $out 2>&1
	cat $out
	totals=$(sed -n 's/^# ktp-vm-totals: //p' $out | tail -n1)
	if [ -z "$totals" ]; then
		fail=$((fail + 1))
		echo "not ok - run_tests.sh did not finish"
		return
	fi
	# shellcheck disable=SC2046
	set -- $(echo "$totals" | tr -c '0-9\n' ' ')
	pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
}

# Failed syscalls of a fault run of PROG that neither the clean run of the
# same program saw nor an allocation failure explains, as "nr errno
# count".
unclean_errors()
{
	local base="$1" run="$2" prog="$3" peer=

	case $SCRIPTED_PEER in *" $prog "*) peer=$PEER_ERRNOS ;; esac
	sort "$run" | uniq -c | while read -r count nr err; do
		case $CLEAN_ERRNOS in *" $err "*) continue ;; esac
		case $peer in *" $err "*) continue ;; esac
		case $CLEAN_SYSCALL_ERRNOS in *" $nr:$err "*) continue ;; esac
		grep -qx "$nr $err" "$base" && continue
		echo "syscall $nr errno $err (x$count)"
	done
}

# fault_round PROG WHAT PERCENT: one test point.
fault_round()
{
	local prog="$1" what="$2" pct="$3" name out errs rc t0 bad=
	local base="/tmp/ktp-fault.$1.base"

	name="fault: $prog $what p=$pct%"
	out=/tmp/ktp-fault.out errs=/tmp/ktp-fault.errs
	t0=$(date +%s)
	/usr/bin/timeout -k 5 "$timeout" ./fault_inject.sh -w "$what" \
		-p "$pct" -e $errs -- "./$prog" > $out 2>&1
	rc=$?
	grep '^# fault_inject:' $out
	diag "  $(($(date +%s) - t0))s; test points: $(grep -c '^ok ' $out)" \
	     "ok, $(grep -c '^not ok ' $out) not ok (allowed under injection)"
	case $rc in
	4) skipped "$name"; return ;;
	5) bad="the syscall trace lost events" ;;
	124|137) bad="timed out after ${timeout}s" ;;
	*) [ "$rc" -gt 128 ] && bad="killed by signal $((rc - 128))" ;;
	esac
	# A harness child that hangs or crashes is a bug whatever failed.
	grep -E 'Test terminated (by timeout|unexpectedly)' $out |
		sed 's/^/  /'
	grep -qE 'Test terminated (by timeout|unexpectedly)' $out &&
		bad="${bad:+$bad; }a test child hung or crashed"
	unclean_errors "$base" "$errs" "$prog" > /tmp/ktp-fault.unclean
	if [ -s /tmp/ktp-fault.unclean ]; then
		sed 's/^/  # unexpected error: /' /tmp/ktp-fault.unclean
		bad="${bad:+$bad; }errors an allocation failure does not explain"
	fi
	if [ -n "$bad" ]; then
		sed 's/^/  /' $out
		not_ok "$name: $bad"
	else
		ok "$name"
	fi
}

stage_fault()
{
	local tests t r

	tests=${KTP_FAULT_TESTS:-$(cat tests.list)}
	echo "== fault injection"
	# ktp_module.sh's 100 load-use-unload cycles take 6 minutes on this
	# kernel: under injection, ten show its error paths as well
	KTP_EVERY_CYCLES=10
	export KTP_EVERY_CYCLES
	# fault-skip (selftests/Makefile's FAULT_SKIP): tests left out unless
	# KTP_FAULT_TESTS names them
	if [ -z "${KTP_FAULT_TESTS:-}" ] && [ -s fault-skip ]; then
		tests=$(echo "$tests" | grep -vxF -f fault-skip)
		diag "not under injection (fault-skip):" $(cat fault-skip)
	fi
	for t in $tests; do
		# The clean run: which errors this program provokes on purpose.
		./fault_inject.sh -w none -e "/tmp/ktp-fault.$t.base" -- \
			"./$t" > /tmp/ktp-fault.out 2>&1
		case $? in
		4)	skipped "fault: $t: no fault injection in this kernel"
			continue ;;
		5)	grep '^# fault_inject:' /tmp/ktp-fault.out
			not_ok "fault: $t: the clean run's syscall trace lost events"
			continue ;;
		esac
		sort -u -o "/tmp/ktp-fault.$t.base" "/tmp/ktp-fault.$t.base"
		for r in $ROUNDS; do
			fault_round "$t" "${r%%:*}" "${r#*:}"
		done
	done
}

# Every fuzzer (selftests/ktp_fuzz_*) with -n KTP_FUZZ_N and -t, its own
# bound, of 240 s and a second for every 50 segments or calls (a rate the
# debug kernel keeps above); one test point each, from its exit status,
# its own KTAP shown nested. Ten minutes past its bound, it has hung.
stage_fuzz()
{
	local f rc size=${KTP_FUZZ_N:-1000000} found=0 secs

	echo "== fuzz"
	secs=$((240 + size / 50))
	for f in ${KTP_FUZZ_ONLY:-ktp_fuzz_*}; do
		[ -x "$f" ] || continue
		found=1
		# streamed, for a run of hours
		{ /usr/bin/timeout -k 5 $((secs + 600)) \
			"./$f" -n "$size" -t "$secs" 2>&1
		  echo $? > /tmp/ktp-fuzz.rc; } | sed 's/^/  /'
		rc=$(cat /tmp/ktp-fuzz.rc)
		case $rc in
		0) ok "fuzz: $f -n $size" ;;
		124|137) not_ok "fuzz: $f -n $size: hung ($((secs + 600))s)" ;;
		*) not_ok "fuzz: $f -n $size: exit status $rc" ;;
		esac
	done
	[ $found = 1 ] || not_ok "fuzz: no ktp_fuzz_* program"
}

# Print kmemleak's report blocks that belong to ktp: a frame in ktp, or a
# frame kallsyms cannot name in module space (an unloaded module: only
# ktp is ever unloaded in this VM).
kmemleak_ktp()
{
	awk '
	function flush() { if (mine) printf "%s", blk; blk = ""; mine = 0 }
	/^unreferenced object/ { flush() }
	{ blk = blk "  # " $0 "\n" }
	/\[ktp\]/ || /\] 0xffffffff[c-f][0-9a-f]*$/ { mine = 1 }
	END { flush() }' "$1"
}

# kmemleak_check NAME: scan twice, as objects must age and be seen
# unreferenced twice; one test point.
kmemleak_check()
{
	local rep="/tmp/ktp-kmemleak.$1" all mine

	sleep 6
	if ! echo scan > $KML 2>/dev/null; then
		not_ok "kmemleak $1: kmemleak is not running"
		return
	fi
	sleep 6
	echo scan > $KML
	cat $KML > "$rep"
	all=$(grep -c '^unreferenced object' "$rep")
	kmemleak_ktp "$rep" > "$rep.ktp"
	mine=$(grep -c 'unreferenced object' "$rep.ktp")
	diag "kmemleak $1: $all suspected leaks, $mine from ktp"
	if [ "$mine" -gt 0 ]; then
		# The first three reports in full: often they are all alike.
		awk '/unreferenced object/ { n++ } n <= 3' "$rep.ktp"
		[ "$mine" -gt 3 ] && diag "... and $((mine - 3)) more from ktp"
		not_ok "kmemleak $1: $mine leaks from ktp"
	else
		ok "kmemleak $1"
	fi
}

stage_kmemleak()
{
	echo "== kmemleak"
	# lockdep switches itself off after its first report (or when its
	# tables overflow): then a clean log proves nothing about locking.
	if grep -qE 'debug_locks: *1' /proc/lockdep_stats 2>/dev/null; then
		ok "lockdep still validating"
	else
		grep debug_locks /proc/lockdep_stats | sed 's/^/  # /'
		not_ok "lockdep still validating: it turned itself off"
	fi
	kmemleak_check before_rmmod
	if grep -q '^ktp ' /proc/modules && ! rmmod ktp; then
		grep '^ktp ' /proc/modules | sed 's/^/  # /'
		not_ok "rmmod ktp: the module is still in use"
	else
		ok "rmmod ktp"
	fi
	kmemleak_check after_rmmod
	# What else kmemleak holds (boot-time false positives, mostly):
	# shown for reference, never a failure.
	grep -A 3 '^unreferenced object' /tmp/ktp-kmemleak.after_rmmod |
		head -n 40 | sed 's/^/  # other: /'
}

for stage in ${KTP_DEBUG_STAGES:-selftests fault kmemleak}; do
	case $stage in
	selftests|fault|kmemleak|fuzz) "stage_$stage" ;;
	*) not_ok "no stage $stage" ;;
	esac
done
echo "# ktp-debug-totals: pass:$pass fail:$fail skip:$skip"
[ "$fail" -eq 0 ]
