#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what KTP needs from Debian's archive and prepare the test-VM kit.
#
#   scripts/deps.sh build   headers for the default KDIR, kselftest headers
#   scripts/deps.sh vm      everything 'build' does, plus qemu, busybox, kmod,
#                           cpio, iproute2, ethtool and the stock kernel
#                           image, and
#                           what the host tests of make check run (valgrind,
#                           pkg-config, man-db, tshark; python3, chromium
#                           and a font for ktpviz's browser test)
#                           and ktp_run.sh in the VM (iperf3, curl, socat,
#                           lighttpd)
#   scripts/deps.sh debug   everything 'vm' does, plus what building a kernel
#                           from linux-source-6.1 needs (make check-debug)
#   scripts/deps.sh kernels what scripts/kernels.sh needs beside the 'vm'
#                           kit: debootstrap, for the trixie build root
#   scripts/deps.sh dkms    Debian's dkms (make dkms-install)
#   scripts/deps.sh abi     print the resolved kernel ABI (e.g. 6.1.0-56-amd64)
#
# The kit lives in $KTP_CACHE (default ~/.cache/ktp), one directory per ABI,
# so a new Debian kernel upload rebuilds it and an unchanged one is reused.
# Nothing is ever installed into the host's /boot or /lib/modules: the image
# package is fetched with apt-get download and unpacked with dpkg -x. So are
# iperf3 and lighttpd, daemons whose packages would start a service on the
# host: they go to $KTP_CACHE/progs/root, for scripts/vm-progs.sh.
set -euo pipefail

KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS="make gcc libc6-dev linux-headers-amd64 linux-source-6.1 xz-utils sparse"
VM_PKGS="qemu-system-x86 busybox-static kmod cpio iproute2 binutils ethtool"
# ktp_run.sh's programs: the tools are installed, the daemons (PROG_DEBS)
# unpacked, and what those link against installed as plain libraries.
VM_PKGS+=" curl socat libssl3 libsctp1 libpcre2-8-0 libnettle8 libxxhash0"
PROG_DEBS="iperf3 libiperf0 lighttpd"
# What make check's host tests use beside the compiler (with 'vm').
CHECK_PKGS="valgrind pkg-config man-db groff-base tshark"
# ktpviz (make demo draws with it) and its test in headless Chromium.
CHECK_PKGS+=" python3 chromium fonts-dejavu-core"
DEBUG_PKGS="flex bison libelf-dev libssl-dev bc dwarves"
# scripts/kernels.sh: the newest kernel's build root; .ko.xz for the VM.
KERNELS_PKGS="debootstrap xz-utils"
DKMS_PKGS="dkms"

log() { echo "deps: $*" >&2; }

missing_pkgs()
{
	local p

	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

apt_install()
{
	local todo

	todo=$(missing_pkgs "$@" | tr '\n' ' ')
	[ -z "${todo// /}" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		log "missing Debian packages: $todo"
		log "run as root:  apt-get install -y $todo"
		exit 1
	fi
	log "installing $todo"
	# shellcheck disable=SC2086
	if ! apt-get install -y -q --no-install-recommends $todo </dev/null >&2; then
		apt-get update -q </dev/null >&2
		apt-get install -y -q --no-install-recommends $todo </dev/null >&2
	fi
}

# The ABI the linux-headers-amd64 meta-package points at right now.
resolve_abi()
{
	dpkg-query -W -f='${Depends}\n' linux-headers-amd64 2>/dev/null |
		grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1 |
		sed 's/^linux-headers-//'
}

# Debian's kernel is xz-free (.ko), but look for both to be safe.
find_ko()
{
	find "$1" \( -name "$2.ko" -o -name "$2.ko.xz" \) | head -n1
}

prepare_image()
{
	local abi=$1 dir=$KTP_CACHE/$1 tmp deb

	[ -f "$dir/.image-ok" ] && return 0
	log "fetching linux-image-$abi (unpacked into $dir, not installed)"
	rm -rf "$dir/image" && mkdir -p "$dir"
	tmp=$(mktemp -d /tmp/ktp-dl.XXXXXX)
	chmod 755 "$tmp"
	if ! (cd "$tmp" && apt-get download -q "linux-image-$abi" </dev/null >&2); then
		rm -rf "$tmp"
		return 1
	fi
	deb=$(ls "$tmp"/linux-image-*.deb)
	dpkg -x "$deb" "$dir/image"
	rm -rf "$tmp"
	[ -f "$dir/image/boot/vmlinuz-$abi" ] || { log "no vmlinuz in image"; exit 1; }
	# The package leaves modules.dep to its postinst: make it here.
	depmod -b "$dir/image" "$abi"
	touch "$dir/.image-ok"
}

# The candidate versions of PROG_DEBS, as one line.
prog_versions()
{
	local p

	for p in $PROG_DEBS; do
		printf '%s=%s ' "$p" "$(apt-cache policy "$p" |
			sed -n 's/^ *Candidate: //p')"
	done
}

# PROG_DEBS unpacked (not installed) into $KTP_CACHE/progs-<key>/root,
# <key> a hash of their versions; $KTP_CACHE/progs points at it.
prepare_progs()
{
	local key dir tmp deb

	key=$(prog_versions | sha256sum | cut -c1-12)
	dir=$KTP_CACHE/progs-$key
	if [ ! -f "$dir/.ok" ]; then
		log "fetching $PROG_DEBS (unpacked into $dir, not installed)"
		rm -rf "$dir" && mkdir -p "$dir"
		tmp=$(mktemp -d /tmp/ktp-dl.XXXXXX)
		chmod 755 "$tmp"
		# shellcheck disable=SC2086
		if ! (cd "$tmp" && apt-get download -q $PROG_DEBS </dev/null >&2); then
			rm -rf "$tmp" "$dir"
			return 1
		fi
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" "$dir/root"
		done
		rm -rf "$tmp"
		prog_versions > "$dir/versions"
		touch "$dir/.ok"
	fi
	ln -sfn "progs-$key" "$KTP_CACHE/progs"
	find "$KTP_CACHE" -maxdepth 1 -name 'progs-*' ! -name "progs-$key" \
		-exec rm -rf {} +
}

# kselftest_harness.h, kselftest.h and checkpatch.pl from linux-source-6.1.
prepare_tools()
{
	local ver dir tarball

	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	dir=$KTP_CACHE/src-$ver
	[ -f "$dir/.ok" ] && { ln -sfn "src-$ver" "$KTP_CACHE/src"; return 0; }
	tarball=$(ls /usr/src/linux-source-6.1.tar.xz)
	log "extracting kselftest headers and checkpatch from $tarball"
	rm -rf "$dir" && mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch "$dir/.ok"
	ln -sfn "src-$ver" "$KTP_CACHE/src"
}

main()
{
	local what=${1:-vm} abi

	mkdir -p "$KTP_CACHE"
	case $what in
	abi)
		abi=$(resolve_abi)
		[ -n "$abi" ] || { log "linux-headers-amd64 is not installed: run make deps"; exit 1; }
		echo "$abi"
		return 0
		;;
	build|vm) ;;
	kernels)
		apt_install $KERNELS_PKGS
		return 0
		;;
	dkms)
		apt_install $DKMS_PKGS
		return 0
		;;
	debug)
		apt_install $DEBUG_PKGS
		what=vm
		;;
	*) log "usage: $0 build|vm|debug|kernels|dkms|abi"; exit 2 ;;
	esac

	apt_install $BUILD_PKGS
	[ "$what" = vm ] && apt_install $VM_PKGS $CHECK_PKGS
	abi=$(resolve_abi)
	[ -n "$abi" ] || { log "cannot resolve the kernel ABI"; exit 1; }
	if [ ! -d "/usr/src/linux-headers-$abi" ]; then
		apt_install "linux-headers-$abi"
	fi
	prepare_tools
	if [ "$what" = vm ] && ! prepare_image "$abi"; then
		# The security archive moved on: take the newest ABI and retry.
		log "linux-image-$abi is gone from the archive; upgrading headers"
		apt-get update -q </dev/null >&2
		apt-get install -y -q linux-headers-amd64 </dev/null >&2
		abi=$(resolve_abi)
		prepare_image "$abi"
	fi
	ln -sfn "$abi" "$KTP_CACHE/current"
	if [ "$what" = vm ] && ! prepare_progs; then
		# an older unpacked set still serves; without one, fail
		[ -d "$KTP_CACHE/progs/root" ] || { log "cannot fetch $PROG_DEBS"; exit 1; }
		log "cannot fetch $PROG_DEBS; keeping $(readlink "$KTP_CACHE/progs")"
	fi
}

main "$@"
