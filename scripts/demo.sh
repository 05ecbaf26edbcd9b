#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the test VM, load KTP, and show a connection's life:
# the segments on the wire and each side's state path as the kernel
# recorded it (scripts/demo-vm.sh runs inside).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

stage=$(mktemp -d /tmp/ktp-demo.XXXXXX)
trap 'rm -rf "$stage"' EXIT
install -m 755 userspace/tools/ktpdemo userspace/tools/ktpdump \
	scripts/demo-vm.sh "$stage/"

echo "== KTP demo: booting Debian's stock kernel under qemu (TCG, a few seconds)"
VM_TIMEOUT=${VM_TIMEOUT:-120} scripts/vm.sh -q -d "$stage" -- ./demo-vm.sh
