#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Copy dynamically linked programs into the test VM's root, with the
# loader and every shared library they need, found by reading the ELF
# files' NEEDED entries (nothing is run, unlike ldd). scripts/vm.sh calls
# it for the host tools it always packs and for a -d directory's vm-progs
# list (selftests/out/vm-progs: Debian's iperf3, curl, socat, lighttpd for
# ktp_run.sh).
#
#   vm-progs.sh ROOT PATH...      copy each absolute PATH (a file, or a
#                                 directory copied whole) and what its
#                                 ELF files need
#   vm-progs.sh -l ROOT FILE...   only what FILE, already in ROOT or
#                                 anywhere, needs
#
# A PATH is taken from $KTP_CACHE/progs/root (the packages scripts/deps.sh
# unpacks there rather than install: daemons that would start a service)
# if it is there, else from the host's /. Libraries are looked up the same
# way, in the multiarch directories and then /lib64, /usr/lib, /lib.
set -euo pipefail

KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
unpacked=$KTP_CACHE/progs/root
LIBDIRS="/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib /lib"

die() { echo "vm-progs: $*" >&2; exit 2; }

# The first of the unpacked tree and / that has PATH, as a host path.
source_of()
{
	if [ -e "$unpacked$1" ]; then
		echo "$unpacked$1"
	elif [ -e "$1" ]; then
		echo "$1"
	fi
}

# Install the host file SRC as ROOT/DEST, following links, once.
put()
{
	[ -e "$root$2" ] && return 0
	install -D -m 755 "$1" "$root$2"
}

# The libraries and loader the ELF file FILE names, recursively.
needs()
{
	local file=$1 name dir src interp

	# not ELF, or static: nothing to do
	readelf -h "$file" >/dev/null 2>&1 || return 0
	interp=$(readelf -lW "$file" |
		 sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	if [ -n "$interp" ]; then
		src=$(source_of "$interp")
		[ -n "$src" ] || die "$file: loader $interp not found"
		put "$src" "$interp"
	fi
	for name in $(readelf -dW "$file" |
		      sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
		src=
		for dir in $LIBDIRS; do
			src=$(source_of "$dir/$name")
			[ -n "$src" ] && break
		done
		[ -n "$src" ] || die "$file: $name not found"
		[ -e "$root$dir/$name" ] && continue
		put "$src" "$dir/$name"
		needs "$src"
	done
}

libs_only=0
if [ "${1:-}" = -l ]; then
	libs_only=1
	shift
fi
[ $# -ge 1 ] || die "usage: $0 [-l] ROOT PATH..."
root=$1
shift
[ -d "$root" ] || die "no root directory $root"
command -v readelf >/dev/null || die "readelf not found (binutils)"

for path in "$@"; do
	if [ $libs_only = 1 ]; then
		needs "$path"
		continue
	fi
	case $path in /*) ;; *) die "not an absolute path: $path" ;; esac
	src=$(source_of "$path")
	[ -n "$src" ] || die "$path not found (run 'make deps')"
	if [ -d "$src" ]; then
		mkdir -p "$root$path"
		cp -a "$src/." "$root$path/"
		find "$src" -type f | while read -r f; do needs "$f"; done
	else
		put "$src" "$path"
		needs "$src"
	fi
done
