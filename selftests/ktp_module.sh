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
leave="$(dirname "$0")/ktp_leave"
CYCLES=20
# KTP_EVERY_CYCLES: fewer for make check-debug's fault rounds, which are
# after error paths, not repetition
EVERY_CYCLES=${KTP_EVERY_CYCLES:-100}
NS_S=ktpmodS
NS_C=ktpmodC

cleanup()
{
	ip netns del $NS_S 2>/dev/null
	ip netns del $NS_C 2>/dev/null
	echo "$modprobe_path" > /proc/sys/kernel/modprobe
	grep -q '^ktp ' /proc/modules || insmod "$ko"
}
trap cleanup EXIT

loaded() { grep -q '^ktp ' /proc/modules; }
# proto_register() makes a "KTP" slab cache; it must go with the module.
no_trace() { ! loaded && ! grep -q '^KTP ' /proc/slabinfo; }
no_autoload() { echo /nonexistent > /proc/sys/kernel/modprobe; }
autoload() { echo "$modprobe_path" > /proc/sys/kernel/modprobe; }
# Request and TIME_WAIT entries have caches of their own (never merged:
# SLAB_TYPESAFE_BY_RCU); they go too.
no_entries() { no_trace && ! grep -qE '^ktp_(request|timewait) ' /proc/slabinfo; }

# rmmod as soon as nothing holds the module: a closed listener is freed
# after an RCU grace period, so a few tries, 2 s at most.
rmmod_soon()
{
	tries=0
	while [ $tries -lt 20 ]; do
		tries=$((tries + 1))
		rmmod ktp 2>/dev/null && { diag "rmmod: try $tries"; return 0; }
		sleep 0.1
	done
	diag "rmmod: still busy after $tries tries"
	return 1
}

# Two namespaces on a veth pair, the client's loopback up. The client
# knows the server's MAC address: no ARP answer is needed, before a cut
# or after.
veth_net()
{
	ip netns add $NS_S && ip netns add $NS_C &&
	ip link add vs netns $NS_S type veth peer name vc netns $NS_C &&
	ip -n $NS_S addr add 10.98.0.2/24 dev vs &&
	ip -n $NS_C addr add 10.98.0.1/24 dev vc &&
	ip -n $NS_S link set vs up && ip -n $NS_C link set vc up &&
	ip -n $NS_C link set lo up || return 1
	mac=$(ip -n $NS_S -o link show dev vs | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ -n "$mac" ] &&
	ip -n $NS_C neigh add 10.98.0.2 lladdr "$mac" dev vc nud permanent
}

# All the server sends is dropped, so its SYN-ACKs never reach the
# client and its requests stay in SYN_RECV.
synq_net()
{
	veth_net && tc -n $NS_S qdisc add dev vs root netem loss 100%
}

ktap_plan 14

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

# Entries no process holds do not pin the module: rmmod purges them.
out=$($leave tw 7301)
rmmod_soon
rc=$?
diag "time_wait: $out, rmmod $rc"
ktap_check "rmmod_with_time_wait_entry" \
	'[ "$out" = tw ] && [ $rc -eq 0 ] && no_entries'
insmod "$ko"

ip netns add $NS_C && ip -n $NS_C link set lo up
out=$(ip netns exec $NS_C "$leave" tw 7302)
ip netns del $NS_C
rmmod_soon
rc=$?
diag "time_wait in a deleted namespace: $out, rmmod $rc"
ktap_check "rmmod_after_namespace_with_time_wait_deleted" \
	'[ "$out" = tw ] && [ $rc -eq 0 ] && no_entries'
insmod "$ko"

out=
synq_net && out=$($leave synq $NS_S $NS_C 10.98.0.2 7303 8)
rmmod_soon
rc=$?
diag "listener with requests: $out, rmmod $rc"
ktap_check "rmmod_after_listener_with_requests_closed" \
	'[ "$out" = "synq 8" ] && [ $rc -eq 0 ] && no_entries'
ip netns del $NS_S
ip netns del $NS_C
insmod "$ko"

# Orphans do not pin the module either: rmmod resets them, and nothing
# of theirs is left (their slab caches go with the module).
cut="/usr/sbin/tc -n $NS_S qdisc add dev vs root netem loss 100% &&"
cut="$cut /usr/sbin/tc -n $NS_C qdisc add dev vc root netem loss 100%"
out=
veth_net && out=$($leave orphans $NS_S $NS_C 10.98.0.2 7304 "$cut")
rmmod_soon
rc=$?
diag "orphans (FIN_WAIT1 FIN_WAIT2 LAST_ACK): $out, rmmod $rc"
ktap_check "rmmod_with_orphans_in_closing_states" \
	'[ "$out" = "orphans 4 1 1" ] && [ $rc -eq 0 ] && no_entries'
ip netns del $NS_S
ip netns del $NS_C

# Load, use and unload, again and again, with every state that outlives
# its process left behind each time: TIME_WAIT, SYN_RECV, FIN_WAIT1,
# FIN_WAIT2, CLOSING, LAST_ACK. Only what the server sends is dropped.
cut="/usr/sbin/tc -n $NS_S qdisc add dev vs root netem loss 100%"
bad=0
i=0
if veth_net; then
	while [ $i -lt $EVERY_CYCLES ]; do
		i=$((i + 1))
		tc -n $NS_S qdisc del dev vs root 2>/dev/null
		if ! insmod "$ko"; then
			diag "cycle $i: insmod failed"
			bad=$((bad + 1))
			break
		fi
		out=$($leave every $NS_S $NS_C 10.98.0.2 7310 "$cut" 4)
		# TIME_WAIT SYN_RECV FIN_WAIT1 FIN_WAIT2 CLOSING LAST_ACK
		[ "$out" = "every 1 4 2 1 1 2" ] ||
			{ diag "cycle $i: $out"; bad=$((bad + 1)); }
		if ! rmmod_soon >/dev/null; then
			diag "cycle $i: rmmod failed"
			bad=$((bad + 1))
			break
		fi
		no_entries ||
			{ diag "cycle $i: module or a cache left behind"; bad=$((bad + 1)); }
	done
fi
diag "$i cycles, $bad bad"
ktap_check "every_state_${EVERY_CYCLES}_load_use_unload_cycles" \
	'[ $bad -eq 0 ] && [ $i -eq $EVERY_CYCLES ]'
ip netns del $NS_S
ip netns del $NS_C
insmod "$ko"

ktap_finish
