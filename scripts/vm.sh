#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under qemu (TCG) with a busybox initramfs, load ktp.ko and
# run one command inside; exit with that command's status.
#
#   scripts/vm.sh [options] [--] command...
#   scripts/vm.sh -i                     interactive shell (make vm)
#
# Options (environment variables in brackets):
#   -k FILE   kernel image                 [VM_KERNEL, default: stock kit]
#   -m DIR    that kernel's /lib/modules/<release> tree        [VM_MODDIR]
#   -o FILE   the module to load           [VM_KO, default module/ktp.ko]
#   -d DIR    directory copied to /ktp in the VM (repeatable: merged);
#             the host programs its file vm-progs lists are packed too,
#             and the libraries of its dynamically linked files
#   -t SECS   hard time-out for the whole run               [VM_TIMEOUT=300]
#   -l FILE   also write the full console log here          [VM_LOG]
#   -n        do not insmod ktp.ko before the command
#   -q        print only the command's output and splats, not the boot log
#   -i        interactive shell on the console
#   -a ARGS   extra kernel command line                     [VM_APPEND]
#   -w ARGS   a NIC: extra qemu arguments, split at blanks, e.g.
#             "-netdev socket,id=w0,listen=127.0.0.1:PORT
#              -device virtio-net-pci,netdev=w0" (scripts/wire-test.sh);
#             the stock virtio_pci and virtio_net modules (when they are
#             modules) go in too, for the command to modprobe   [VM_WIRE]
#
# [VM_SMP=2] virtual CPUs, run by one host thread [VM_TCG=single]. QEMU
# 7.2's multi-threaded TCG (VM_TCG=multi, faster) now and then lets one
# vCPU run a stale int3 of the kernel's own code patching (text_poke_bp())
# after another finished it: "Oops: int3" or a panic at a static-key site,
# at boot or mid-run, that says nothing of KTP. One thread for all vCPUs
# cannot see a half-patched instruction.
#
# The run fails when the console shows a kernel splat, when the time-out
# hits, or when the command's exit marker never arrives. VM_SPLAT_ALLOW,
# a regular expression, names reports that are expected in this run (the
# allocation-failure warnings of make check-debug's fault injection): a
# line that matches it is left out of the scan, with the stack dump that
# follows it, if any.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
kit=$KTP_CACHE/current

VM_KERNEL=${VM_KERNEL:-}
VM_MODDIR=${VM_MODDIR:-}
VM_KO=${VM_KO:-$top/module/ktp.ko}
VM_TIMEOUT=${VM_TIMEOUT:-300}
VM_LOG=${VM_LOG:-}
VM_APPEND=${VM_APPEND:-}
VM_MEM=${VM_MEM:-1024}
VM_SMP=${VM_SMP:-2}
VM_TCG=${VM_TCG:-single}
VM_SPLAT_ALLOW=${VM_SPLAT_ALLOW:-}
VM_WIRE=${VM_WIRE:-}
load=1 quiet=0 interactive=0
dirs=()

# Kernel messages that mean the kernel is unhappy, whatever the test said.
SPLAT='BUG:|WARNING:|Oops|general protection fault|KASAN:|UBSAN:|kernel BUG|'
SPLAT+='Kernel panic|refcount_t:|list_add corruption|list_del corruption|'
SPLAT+='blocked for more than|sleeping function called from invalid context|'
SPLAT+='suspicious RCU usage|possible recursive locking|'
SPLAT+='circular locking dependency|inconsistent lock state|'
SPLAT+='unreferenced object|ODEBUG:|Call Trace:|stack-protector|'
SPLAT+='kmemleak:.*suspected memory leak|slab-out-of-bounds|use-after-free|'
SPLAT+='double-free'

die() { echo "vm: $*" >&2; exit 2; }

while getopts "k:m:o:d:t:l:a:w:nqi" opt; do
	case $opt in
	k) VM_KERNEL=$OPTARG ;;
	m) VM_MODDIR=$OPTARG ;;
	o) VM_KO=$OPTARG ;;
	d) dirs+=("$OPTARG") ;;
	t) VM_TIMEOUT=$OPTARG ;;
	l) VM_LOG=$OPTARG ;;
	a) VM_APPEND="$VM_APPEND $OPTARG" ;;
	w) VM_WIRE=$OPTARG ;;
	n) load=0 ;;
	q) quiet=1 ;;
	i) interactive=1 ;;
	*) die "bad option (see the comment at the top of $0)" ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $interactive = 1 ] || [ $# -gt 0 ] || die "no command given"

if [ -z "$VM_KERNEL" ]; then
	[ -d "$kit/image/boot" ] || die "no VM kit in $kit: run 'make deps'"
	VM_KERNEL=$(ls "$kit"/image/boot/vmlinuz-*)
	VM_MODDIR=${VM_MODDIR:-$(ls -d "$kit"/image/lib/modules/*)}
fi
[ -f "$VM_KERNEL" ] || die "kernel $VM_KERNEL not found"
[ -d "$VM_MODDIR" ] || die "modules tree $VM_MODDIR not found"
[ $load = 0 ] || [ -f "$VM_KO" ] || die "$VM_KO not built: run 'make'"
release=$(basename "$VM_MODDIR")

work=$(mktemp -d /tmp/ktp-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root

# Copy a dynamically linked host binary and the libraries it needs.
copy_bin()
{
	"$top/scripts/vm-progs.sh" "$root" "$1"
}

# A stock module and, from modules.dep, everything it depends on.
copy_mod()
{
	local name=$1 rel dep

	rel=$(grep -E "(^|/)$name\.ko(\.xz)?:" "$VM_MODDIR/modules.dep" |
	      head -n1 | cut -d: -f1) || true
	[ -n "$rel" ] || return 0	# built in, or absent from this kernel
	case $rel in
	*.xz)	# Debian's 6.12 and later: unpacked, for busybox's insmod
		mkdir -p "$root/lib/modules/$release/$(dirname "$rel")"
		xz -dc "$VM_MODDIR/$rel" > "$root/lib/modules/$release/${rel%.xz}" ;;
	*)	install -D -m 644 "$VM_MODDIR/$rel" "$root/lib/modules/$release/$rel" ;;
	esac
	for dep in $(grep -E "^$rel:" "$VM_MODDIR/modules.dep" | cut -d: -f2); do
		copy_mod "$(basename "$dep" | sed 's/\.ko.*//')"
	done
}

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,ktp}
mkdir -p "$root/lib/modules/$release/extra"
install -m 755 /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	case $applet in ip|tc|busybox) continue ;; esac
	ln -sf busybox "$root/bin/$applet"
done
# iproute2's real ip and tc: netns and netem need them; ethtool turns a
# veth's offloads off (GSO, checksums) for the tests. busybox ash
# prefers its own applets, so tests call them as /usr/sbin/ip or through
# the functions in selftests/lib.sh.
for b in /usr/sbin/ip /usr/sbin/tc /usr/sbin/ethtool /usr/bin/sha256sum \
	 /usr/bin/timeout; do
	[ -x "$b" ] && copy_bin "$b"
done
[ -d /usr/lib/tc ] && cp -a /usr/lib/tc "$root/usr/lib/"
ln -sf ../bin/busybox "$root/sbin/modprobe"

# xfrm_user: ip xfrm, for the IPsec policy test of ktp_safety
for m in veth sch_netem tun xfrm_user; do
	copy_mod "$m"
done
# the NIC's driver, for a VM on a wire (-w)
if [ -n "$VM_WIRE" ]; then
	copy_mod virtio_pci
	copy_mod virtio_net
fi
cp "$VM_MODDIR"/modules.builtin* "$VM_MODDIR"/modules.order \
	"$root/lib/modules/$release/" 2>/dev/null || true
# Always in the tree, loaded or not, so that modprobe and the family's
# autoload on first socket() find it.
[ ! -f "$VM_KO" ] || install -m 644 "$VM_KO" "$root/lib/modules/$release/extra/ktp.ko"
depmod -b "$root" "$release"

for d in "${dirs[@]}"; do
	cp -a "$d/." "$root/ktp/"
	if [ -f "$d/vm-progs" ]; then
		# shellcheck disable=SC2046
		"$top/scripts/vm-progs.sh" "$root" $(cat "$d/vm-progs")
	fi
done
[ ${#dirs[@]} = 0 ] ||
	find "$root/ktp" -type f -exec "$top/scripts/vm-progs.sh" -l "$root" {} +
printf '%s\n' "$*" > "$root/ktp/.cmd"
echo "$load" > "$root/ktp/.load"
echo "$interactive" > "$root/ktp/.interactive"
echo "$release" > "$root/ktp/.release"
install -m 755 "$top/scripts/vm-init.sh" "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) > "$work/initrd"

append="console=ttyS0 panic=-1 oops=panic printk.time=1 rdinit=/init"
append+=" tsc=reliable no_timer_check $VM_APPEND"
qemu=(qemu-system-x86_64 -machine pc -accel tcg,thread="$VM_TCG" -cpu max
      -smp "$VM_SMP" -m "$VM_MEM" -nodefaults -no-reboot -display none
      -net none -kernel "$VM_KERNEL" -initrd "$work/initrd"
      -append "$append")
if [ -n "$VM_WIRE" ]; then
	read -ra wire <<<"$VM_WIRE"
	qemu+=("${wire[@]}")
fi

if [ $interactive = 1 ]; then
	exec "${qemu[@]}" -serial mon:stdio
fi

log=$work/console.log
# The filter hides the boot log with -q; the full log is still scanned.
# A kernel that dies while it boots, before the command starts
# (KTP-VM-BOOTED), is booted once more: multi-threaded TCG now and then
# runs into a stale int3 of the kernel's own code patching ("Oops: int3"
# in ktime_get_real_ts64() at 2 s, KTP not loaded yet), which says
# nothing of KTP. A splat after that mark fails the run as always.
for try in 1 2; do
	set +e
	# sed -u, not tr: each console line as it comes (tr's output to a
	# pipe waits for 4 KiB, and a quiet fuzzer's hours looked hung)
	timeout -k 5 "$VM_TIMEOUT" "${qemu[@]}" -serial stdio </dev/null 2>&1 |
		sed -u 's/\r//g' | tee "$log" |
		if [ $quiet = 1 ]; then
			grep --line-buffered \
				-vE '^\[ *[0-9]+\.[0-9]+\] |^KTP-VM-BOOTED$' ||
				true
		else
			cat
		fi
	status=${PIPESTATUS[0]}
	set -e
	grep -q '^KTP-VM-BOOTED' "$log" && break
	grep -qE "$SPLAT" "$log" || break
	[ $try = 1 ] || break
	echo "vm: the kernel failed while booting, before the command:" \
	     "booting it again" >&2
	grep -E -m 3 "$SPLAT" "$log" >&2 || true
done
[ -n "$VM_LOG" ] && cp "$log" "$VM_LOG"

# The log to judge: the console, less the reports VM_SPLAT_ALLOW expects.
# An expected line goes, and so does the stack dump right after it if
# there is one (CPU:, Hardware name:, Call Trace: up to "</TASK>", at most
# 100 lines); anything else after it is judged as usual.
scan=$work/scan.log
awk -v allow="$VM_SPLAT_ALLOW" '
	mode == 2 { if (/<\/TASK>/ || ++len > 100) mode = 0; next }
	mode == 1 && /CPU: [0-9]+ PID:|Hardware name:|Call Trace:/ {
		if (/Call Trace:/) { mode = 2; len = 0 }
		next
	}
	{ mode = 0 }
	allow != "" && $0 ~ allow { mode = 1; n++; next }
	{ print }
	END { if (n) printf "vm: %d expected report(s) left out: %s\n", n, allow > "/dev/stderr" }
' "$log" > "$scan"
splats=$(grep -E '^\[ *[0-9]+\.[0-9]+\] ' "$scan" | grep -E "$SPLAT" || true)
rc=$(sed -n 's/^KTP-VM-EXIT rc=\([0-9]*\)$/\1/p' "$log" | tail -n1)
if [ -n "$splats" ]; then
	echo "vm: kernel splat in the console log:" >&2
	# show the whole report, not only the matching line
	grep -E -A 40 "$SPLAT" "$scan" | grep -E '^\[ *[0-9]+\.[0-9]+\] ' |
		head -n 120 >&2
	exit 1
fi
if [ -z "$rc" ]; then
	[ "$status" = 124 ] && echo "vm: time-out after ${VM_TIMEOUT}s" >&2
	echo "vm: the command never finished (qemu status $status)" >&2
	exit 1
fi
exit "$rc"
