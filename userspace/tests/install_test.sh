#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install into a scratch DESTDIR with PREFIX=/usr, then what a user of
# that tree does: pkg-config finds ktp in it, and the README's example,
# cut out of README.md, compiles and links with exactly
#
#	cc ex.c $(pkg-config --cflags --libs ktp)
#
# against the installed headers and libktp.so.1. Running it needs the
# shared library, so it runs with LD_LIBRARY_PATH pointing into the tree:
# once on this host, where the KTP module is absent (the error it prints
# is the user's), once with TCP standing in for KTP's family
# (KTP_FAMILY_FILE, as libktp_test does), talking to the installed ktpcat.
# It also links with -static, as the README says it can. KTAP output.
set -u
. "$(dirname "$0")/ktap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ktp-install.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
root=$tmp/root


# point NAME COMMAND...: one test point; the command's output on failure.
point()
{
	local name=$1 out

	shift
	out=$("$@" 2>&1)
	local rc=$?
	[ $rc = 0 ] || printf '%s\n' "$out" | head -n 20 | sed 's/^/# /'
	ok $rc "$name"
}

installed()
{
	local f

	for f in usr/lib/libktp.a usr/lib/libktp.so.1.0.0 usr/include/ktp.h \
		 usr/include/linux/ktp.h usr/lib/pkgconfig/ktp.pc \
		 usr/bin/ktpcat usr/bin/ktpperf usr/bin/ktpdump usr/bin/ktpdemo \
		 usr/bin/ktpviz usr/share/man/man1/ktpviz.1 \
		 usr/share/man/man7/ktp.7 usr/share/man/man1/ktpcat.1 \
		 usr/share/man/man3/ktp_connect_host.3; do
		[ -f "$root/$f" ] || { echo "missing $f"; return 1; }
	done
	[ "$(readlink "$root/usr/lib/libktp.so")" = libktp.so.1 ] &&
	[ "$(readlink "$root/usr/lib/libktp.so.1")" = libktp.so.1.0.0 ] &&
	readelf -d "$root/usr/lib/libktp.so.1.0.0" |
		grep -q 'SONAME.*\[libktp\.so\.1\]' &&
	cmp "$top/uapi/linux/ktp.h" "$root/usr/include/linux/ktp.h"
}

pc()
{
	PKG_CONFIG_SYSROOT_DIR=$root \
	PKG_CONFIG_PATH=$root/usr/lib/pkgconfig pkg-config "$@"
}

pkgconfig_finds_ktp()
{
	local cflags libs

	cflags=$(pc --cflags ktp) && libs=$(pc --libs ktp) || return 1
	echo "cflags: $cflags; libs: $libs"
	# pkg-config ends its output with a blank
	[ "${cflags% }" = "-I$root/usr/include" ] &&
	[ "${libs% }" = "-L$root/usr/lib -lktp" ] &&
	grep -qx 'prefix=/usr' "$root/usr/lib/pkgconfig/ktp.pc"
}

# The README's first ```c block after the line that names ex.c.
extract_example()
{
	awk '/ex\.c/ { seen = 1 }
	     seen && /^```c$/ { on = 1; next }
	     on && /^```$/ { exit }
	     on { print }' "$top/README.md" > "$tmp/build/ex.c"
	grep -q ktp_connect_host "$tmp/build/ex.c"
}

readme_says_how()
{
	grep -qF 'builds with `cc ex.c $(pkg-config --cflags --libs ktp)`' \
		"$top/README.md"
}

# Exactly the README's command, in the directory of ex.c.
build_example()
{
	# shellcheck disable=SC2046 # split as the shell splits it for a user
	(cd "$tmp/build" &&
	 cc ex.c $(pc --cflags --libs ktp)) &&
	readelf -d "$tmp/build/a.out" | grep -q 'NEEDED.*\[libktp\.so\.1\]'
}

run_without_module()
{
	local out rc

	out=$(KTP_FAMILY_FILE=/nonexistent LD_LIBRARY_PATH=$root/usr/lib \
	      timeout 10 "$tmp/build/a.out" 127.0.0.1 7000 2>&1)
	rc=$?
	echo "$out"
	[ $rc = 1 ] &&
	[ "$out" = "ktp_connect_host: Address family not supported by protocol" ]
}

# The example and the installed ktpcat, over TCP standing in for KTP.
run_against_ktpcat()
{
	local port i=0 out

	echo 2 > "$tmp/family"
	export KTP_FAMILY_FILE=$tmp/family
	echo answer > "$tmp/answer"
	timeout 20 "$root/usr/bin/ktpcat" -l -v -w 10 127.0.0.1 0 \
		< "$tmp/answer" > "$tmp/heard" 2> "$tmp/ktpcat.err" &
	until port=$(sed -n 's/.*listening on .* port //p' "$tmp/ktpcat.err")
	      [ -n "$port" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "ktpcat does not listen"; return 1; }
		sleep 0.1
	done
	out=$(LD_LIBRARY_PATH=$root/usr/lib timeout 10 \
	      "$tmp/build/a.out" 127.0.0.1 "$port")
	wait
	unset KTP_FAMILY_FILE
	echo "example printed: $out; ktpcat heard: $(cat "$tmp/heard")"
	[ "$out" = answer ] && [ "$(cat "$tmp/heard")" = hello ]
}

build_static()
{
	# shellcheck disable=SC2046
	(cd "$tmp/build" &&
	 cc -static -o ex-static ex.c $(pc --cflags --libs --static ktp) \
		2>&1 | grep -v 'getaddrinfo\|in function') ;
	[ -x "$tmp/build/ex-static" ] &&
	! readelf -d "$tmp/build/ex-static" 2>/dev/null | grep -q NEEDED
}

echo "TAP version 13"
echo "1..9"
mkdir -p "$tmp/build"
point make_install_destdir \
	make -s -C "$top" install DESTDIR="$root" PREFIX=/usr
point installed_tree installed
point pkgconfig_finds_ktp pkgconfig_finds_ktp
point readme_has_example extract_example
point readme_says_how_to_build readme_says_how
point example_builds_as_readme_says build_example
point example_runs run_without_module
point example_talks_to_ktpcat run_against_ktpcat
point example_links_statically build_static
ktap_done
