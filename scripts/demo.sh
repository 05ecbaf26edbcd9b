#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the test VM, load KTP and show it at work.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

cat <<'MSG'
== KTP demo: booting Debian's stock kernel under qemu (TCG, a few seconds)
MSG
VM_TIMEOUT=${VM_TIMEOUT:-300} scripts/vm.sh -q -d selftests/out -- '
echo "== the module, loaded with insmod"
grep "^ktp " /proc/modules
dmesg | sed -n "s/^\[[ 0-9.]*\] //p" | grep "^KTP"
echo "family $(cat /sys/module/ktp/parameters/family), IP protocol $(cat /sys/module/ktp/parameters/ipproto)"
echo "== socket(AF_KTP, SOCK_STREAM, KTPPROTO_KTP)"
./ktp_sockprobe && echo "a KTP socket was created and closed"
'
