#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the KTP test VM: mount the pseudo file systems, bring up
# loopback, load ktp.ko, run the command the host wrote to /ktp/.cmd and
# report its exit status on the console for scripts/vm.sh. An insmod
# that fails ends the run with status 1, the command not run.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd /dev/fd
echo /sbin/modprobe > /proc/sys/kernel/modprobe
hostname ktpvm
/usr/sbin/ip link set lo up

cd /ktp || exit 1
loaded=1
if [ "$(cat .load)" = 1 ] &&
   ! insmod "/lib/modules/$(cat .release)/extra/ktp.ko"; then
	echo "init: insmod ktp.ko failed"
	loaded=0
fi

if [ $loaded = 0 ] && [ "$(cat .interactive)" != 1 ]; then
	# every test would run against no module: the run fails at once
	rc=1
elif [ "$(cat .interactive)" = 1 ]; then
	echo "KTP test VM: ktp.ko is loaded; 'poweroff -f' or Ctrl-D leaves."
	setsid cttyhack sh -l
	rc=$?
else
	# scripts/vm.sh: a splat before this line is the boot's
	echo "KTP-VM-BOOTED"
	sh -c "$(cat .cmd)"
	rc=$?
fi
echo "KTP-VM-EXIT rc=$rc"
poweroff -f
