#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run one test program with failslab and fail_page_alloc armed for its
# processes only (task-filter and /proc/<pid>/make-it-fail, which
# fault_exec sets in each of them at its first socket() of the KTP family
# and fork passes on), then disarm them. Needs a kernel with CONFIG_FAULT_INJECTION_DEBUG_FS
# (the debug kernel of make check-debug) and fault_exec beside this script.
#
#   fault_inject.sh [options] -- program [args...]
#
#   -p PERCENT   probability of failing an eligible allocation   [10]
#   -i N         only every Nth eligible allocation may fail     [1]
#   -n TIMES     stop after this many failures (-1: no limit)    [-1]
#   -s BYTES     let this many bytes through before failing      [0]
#   -w WHAT      slab, page, all, or none (trace only)           [all]
#   -e FILE      record the failed syscalls of the program's armed
#                processes in FILE, one "<syscall-nr> <errno>" a line
#                (raw_syscalls:sys_exit)
#
# Prints "# fault_inject: ..." lines with what was injected and exits with
# the program's status, 4 (kselftest skip) when the kernel has no fault
# injection, or 5 when -e's trace lost events. Injected failures are not
# logged (verbose=0): a stack dump per failure would bury the console and
# read as a splat.

here=$(cd "$(dirname "$0")" && pwd)
dbg=/sys/kernel/debug
tr=/sys/kernel/tracing
prob=10 interval=1 times=-1 space=0 what=all errfile=
# A large budget when no limit is asked for, so that the count of
# injected failures can be read back from what is left of it.
BUDGET=1000000

while getopts "p:i:n:s:w:e:" opt; do
	case $opt in
	p) prob=$OPTARG ;;
	i) interval=$OPTARG ;;
	n) times=$OPTARG ;;
	s) space=$OPTARG ;;
	w) what=$OPTARG ;;
	e) errfile=$OPTARG ;;
	*) echo "usage: $0 [-p %] [-i N] [-n N] [-s B] [-w W] [-e F] -- prog"
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "$1" = "--" ] && shift
[ $# -gt 0 ] || { echo "$0: no program given"; exit 2; }

case $what in
slab) attrs=failslab ;;
page) attrs=fail_page_alloc ;;
all) attrs="failslab fail_page_alloc" ;;
none) attrs= ;;
*) echo "$0: -w takes slab, page, all or none"; exit 2 ;;
esac

for a in failslab fail_page_alloc; do
	if [ ! -d "$dbg/$a" ]; then
		echo "# fault_inject: no $dbg/$a: kernel without fault injection"
		exit 4
	fi
done

[ "$times" = -1 ] && budget=$BUDGET || budget=$times

arm()
{
	local d="$dbg/$1"

	echo 0 > "$d/probability"
	echo Y > "$d/task-filter"
	echo 0 > "$d/verbose"
	echo N > "$d/ignore-gfp-wait"
	echo "$interval" > "$d/interval"
	echo "$space" > "$d/space"
	echo "$budget" > "$d/times"
	if [ "$1" = fail_page_alloc ]; then
		# The kernel's defaults, said here: user pages (highmem) and
		# order-0 pages (page tables, vmalloc areas such as a fork's
		# stack) stay out, as failing them only retries a fault or
		# fails a fork; skb data and large kmallocs are order >= 1.
		echo Y > "$d/ignore-gfp-highmem"
		echo 1 > "$d/min-order"
	fi
	echo "$prob" > "$d/probability"
}

disarm()
{
	local d="$dbg/$1" left

	echo 0 > "$d/probability"
	left=$(cat "$d/times")
	echo -1 > "$d/times"
	echo 1 > "$d/interval"
	echo 0 > "$d/space"
	echo "$((budget - left))"
}

# The ring buffer must hold a whole run: a long program (the conformance
# scripts poll, and fail with EAGAIN, thousands of times) overwrote the
# oldest events of the default 1.4 MB, and the clean run then lacked an
# error it had made on purpose. 32 MB a CPU; what was lost anyway is said.
TRACE_KB=32768

trace_start()
{
	echo 0 > $tr/tracing_on
	echo $TRACE_KB > $tr/buffer_size_kb
	echo > $tr/trace
	echo 1 > $tr/options/event-fork
	echo 'ret < 0' > $tr/events/raw_syscalls/sys_exit/filter
	echo 1 > $tr/events/raw_syscalls/sys_exit/enable
	echo 1 > $tr/tracing_on
}

# "NR 41 = -12" becomes "41 12", one line per failed syscall.
trace_stop()
{
	echo 0 > $tr/tracing_on
	echo 0 > $tr/events/raw_syscalls/sys_exit/enable
	echo 0 > $tr/events/raw_syscalls/sys_exit/filter
	echo > $tr/set_event_pid
	sed -n 's/.* sys_exit: NR \([0-9]*\) = -\([0-9]*\)$/\1 \2/p' \
		$tr/trace > "$errfile"
	lost=$(cat $tr/per_cpu/cpu*/stats 2>/dev/null |
		awk '/^overrun:/ { n += $2 } END { print n + 0 }')
	echo > $tr/trace
}

[ -n "$errfile" ] && trace_start
for a in $attrs; do
	arm "$a"
done

# fault_exec marks each process of the program, and has it traced, from
# its first KTP socket() on: the exec, the C library's start-up, the
# harness between tests and a shell test's ip and tc are left alone, the
# socket calls are not.
family=$(cat /sys/module/ktp/parameters/family 2>/dev/null || echo 18)
if [ -n "$errfile" ]; then
	"$here/fault_exec" -f "$family" -t $tr/set_event_pid "$@"
else
	"$here/fault_exec" -f "$family" "$@"
fi
rc=$?

msg=
for a in $attrs; do
	msg="$msg $a: $(disarm "$a") failed,"
done
[ -n "$errfile" ] && trace_stop
echo "# fault_inject: $1: p=$prob% interval=$interval space=$space,${msg:- no injection,} exit $rc"
# A record with holes cannot be judged: say so, and exit 5.
if [ -n "$errfile" ] && [ "${lost:-0}" -gt 0 ]; then
	echo "# fault_inject: the trace lost $lost events (-e is incomplete)"
	exit 5
fi
exit $rc
