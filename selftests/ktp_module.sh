#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The module's life: socket() before insmod, autoload through the family
# alias, parameters that move the family, init that fails and unwinds, and
# many insmod/rmmod cycles with sockets in between that leave nothing
# behind. Leaves the module loaded, as it found it.

. "$(dirname "$0")/lib.sh"

ko=/lib/modules/$(uname -r)/extra/ktp.ko
modprobe_path=$(cat /proc/sys/kernel/modprobe)
probe="$(dirname "$0")/ktp_sockprobe"
CYCLES=20

cleanup()
{
	echo "$modprobe_path" > /proc/sys/kernel/modprobe
	grep -q '^ktp ' /proc/modules || insmod "$ko"
}
trap cleanup EXIT

loaded() { grep -q '^ktp ' /proc/modules; }
# proto_register() makes a "KTP" slab cache; it must go with the module.
no_trace() { ! loaded && ! grep -q '^KTP ' /proc/slabinfo; }
no_autoload() { echo /nonexistent > /proc/sys/kernel/modprobe; }
autoload() { echo "$modprobe_path" > /proc/sys/kernel/modprobe; }

ktap_plan 9

loaded && rmmod ktp
no_autoload
out=$($probe)
diag "socket() without the module: $out"
ktap_check "socket_before_insmod_is_eafnosupport" '[ "$out" = EAFNOSUPPORT ]'

autoload
out=$($probe)
diag "socket() with autoload: $out"
ktap_check "socket_autoloads_module" '[ "$out" = ok ] && loaded'

rmmod ktp
insmod "$ko" family=2 2>/dev/null
rc=$?
ktap_check "taken_family_fails_and_unwinds" '[ $rc -ne 0 ] && no_trace'

insmod "$ko" ipproto=6 2>/dev/null
rc=$?
ktap_check "taken_ipproto_fails_and_unwinds" '[ $rc -ne 0 ] && no_trace'

insmod "$ko" family=99 2>/dev/null
rc=$?
ktap_check "out_of_range_family_rejected" '[ $rc -ne 0 ] && no_trace'

no_autoload
insmod "$ko" family=19
moved=$($probe -f 19)
old=$($probe -f 18)
param=$(cat /sys/module/ktp/parameters/family)
diag "family=19: socket(19) $moved, socket(18) $old, parameter $param"
ktap_check "family_parameter_moves_slot" \
	'[ "$moved" = ok ] && [ "$old" = EAFNOSUPPORT ] && [ "$param" = 19 ]'
rmmod ktp
autoload

bad=0
i=0
while [ $i -lt $CYCLES ]; do
	i=$((i + 1))
	if ! insmod "$ko"; then
		diag "cycle $i: insmod failed"
		bad=$((bad + 1))
		break
	fi
	out=$($probe)
	[ "$out" = ok ] || { diag "cycle $i: socket() $out"; bad=$((bad + 1)); }
	if ! rmmod ktp; then
		diag "cycle $i: rmmod failed"
		bad=$((bad + 1))
		break
	fi
	no_trace || { diag "cycle $i: module or slab left behind"; bad=$((bad + 1)); }
done
ktap_check "insmod_rmmod_${CYCLES}_cycles" '[ $bad -eq 0 ] && [ $i -eq $CYCLES ]'

no_autoload
out=$($probe)
ktap_check "family_gone_after_rmmod" '[ "$out" = EAFNOSUPPORT ]'
autoload

insmod "$ko"
ktap_check "reload_after_cycles" loaded

ktap_finish
