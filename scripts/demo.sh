#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the test VM, load KTP, and show a connection's life:
# the segments on the wire and each side's state path as the kernel
# recorded it (scripts/demo-vm.sh runs inside), then draw both scenes
# with ktpviz into one page, demo-out/demo.html.
#
#   scripts/demo.sh          the demo
#   scripts/demo.sh --all    also record the captures of ktpviz's tests
#                            (retransmission, RST, simultaneous open and
#                            close) into demo-out/
#
# KTP_DEMO_OUT moves demo-out/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${KTP_DEMO_OUT:-$top/demo-out}
all=
[ "${1:-}" = --all ] && all=--all

stage=$(mktemp -d /tmp/ktp-demo.XXXXXX)
trap 'rm -rf "$stage"' EXIT
install -m 755 userspace/tools/ktpdemo userspace/tools/ktpdump \
	scripts/demo-vm.sh "$stage/"
if [ -n "$all" ]; then
	make -s -C userspace/tests ktpviz_scenes
	install -m 755 userspace/tools/ktpcat userspace/tests/ktpviz_scenes \
		"$stage/"
fi
mkdir -p "$out"
rm -f "$out"/*.b64

# The VM's console, less the files it sends between "--8<--" lines,
# which land in $out as base64.
unpack()
{
	awk -v dir="$out" '
		/^--8<-- ktp-demo-file / { file = dir "/" $3 ".b64"; next }
		/^--8<-- end$/ { close(file); file = ""; next }
		file != "" { print > file; next }
		{ print; fflush() }'
}

echo "== KTP demo: booting Debian's stock kernel under qemu (TCG, a few seconds)"
set +e
VM_TIMEOUT=${VM_TIMEOUT:-180} scripts/vm.sh -q -d "$stage" -- \
	./demo-vm.sh $all | unpack
rc=${PIPESTATUS[0]}
set -e
for b in "$out"/*.b64; do
	[ -f "$b" ] || continue
	base64 -d -i "$b" > "${b%.b64}" && rm -f "$b"
done

if [ -f "$out/greeting.pcap" ] && [ -f "$out/halfclose.pcap" ]; then
	userspace/tools/ktpviz -o "$out/demo.html" --title "make demo" \
		-l 7000="scene 1: connect, exchange a greeting, close" \
		-l 7001="scene 2: half-close" \
		-t "$out/greeting.trace" -t "$out/halfclose.trace" \
		"$out/greeting.pcap" "$out/halfclose.pcap"
	echo "== the pictures of both scenes: $out/demo.html"
	echo "   (open it in a browser, e.g. chromium $out/demo.html)"
else
	echo "== no capture came back from the VM: no pictures"
	[ "$rc" != 0 ] || rc=1
fi
exit "$rc"
