#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ktp.ko through Debian's dkms (dkms.conf at the top of the tree).
#
#   scripts/dkms.sh install [KERNELRELEASE]   (make dkms-install)
#       copy the module's sources to /usr/src/ktp-<version>, dkms add, then
#       dkms build and install for KERNELRELEASE (default: the running
#       kernel) if its headers are there; with AUTOINSTALL, dkms rebuilds
#       the module for each kernel installed later
#   scripts/dkms.sh test [KERNEL...]          (make dkms-check)
#       dkms build against each supported kernel's headers, in a throw-away
#       dkms tree: the host's /var/lib/dkms and /lib/modules are not
#       touched, no kernel is installed. The newest kernel's runs in the
#       trixie build root, whose dkms and headers are Debian's own.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)

log() { echo "dkms: $*" >&2; }

# stage DIR: the tree dkms builds from, as /usr/src/ktp-<version> holds it.
stage()
{
	mkdir -p "$1"
	{ scripts/kernels.sh sources; echo dkms.conf; } |
		tar -cf - -T - | tar -xf - -C "$1"
}

install_it()
{
	local kver=${1:-$(uname -r)} src=/usr/src/ktp-$ver

	[ "$(id -u)" = 0 ] || { log "run as root"; exit 1; }
	command -v dkms >/dev/null || "$top/scripts/deps.sh" dkms
	# the same version again: drop the old copy first
	if dkms status -m ktp -v "$ver" | grep -q .; then
		dkms remove -m ktp -v "$ver" --all
	fi
	rm -rf "$src"
	stage "$src"
	dkms add -m ktp -v "$ver"
	if [ -e "/lib/modules/$kver/build" ]; then
		dkms build -m ktp -v "$ver" -k "$kver"
		dkms install -m ktp -v "$ver" -k "$kver"
	else
		log "no headers for $kver (/lib/modules/$kver/build): added only;"
		log "dkms builds ktp when a kernel's headers are installed"
	fi
}

# test_one KERNEL: dkms add and build in a scratch tree; prints one line.
test_one()
{
	local k=$1 abi kdir tc tmp inner rc

	abi=$(scripts/kernels.sh abi "$k")
	scripts/kernels.sh fetch "$k" >/dev/null
	kdir=$(scripts/kernels.sh kdir "$k")
	tc=$(scripts/kernels.sh toolchain "$k")
	if [ "$tc" = host ]; then
		tmp=$(mktemp -d /tmp/ktp-dkms.XXXXXX)
		inner=$tmp
	else
		tmp=$tc/build/dkms-$abi
		rm -rf "$tmp" && mkdir -p "$tmp"
		inner=${tmp#"$tc"}
	fi
	stage "$tmp/src/ktp-$ver"
	mkdir -p "$tmp/tree"
	set +e
	# dkms signs what it builds, with a key it makes if there is none:
	# this one, not /var/lib/dkms's
	scripts/kernels.sh run "$k" env mok_signing_key="$inner/mok.key" \
		mok_certificate="$inner/mok.pub" sh -c "
		dkms add -m ktp -v $ver --dkmstree $inner/tree \
			--sourcetree $inner/src &&
		dkms build -m ktp -v $ver -k $abi --kernelsourcedir $kdir \
			--dkmstree $inner/tree --sourcetree $inner/src" \
		> "$tmp/dkms.log" 2>&1
	rc=$?
	set -e
	mkdir -p "build/$abi"
	cp "$tmp/dkms.log" "build/$abi/dkms.log"
	find "$tmp/tree" -name make.log -exec cp {} "build/$abi/dkms-make.log" \;
	if [ $rc = 0 ] && find "$tmp/tree" -name 'ktp.ko*' | grep -q .; then
		echo "ok - dkms build for $abi"
	else
		echo "not ok - dkms build for $abi: $(grep -c ': error: ' \
			"build/$abi/dkms-make.log" 2>/dev/null) compiler errors" \
			"(build/$abi/dkms.log, dkms-make.log)"
		rc=1
	fi
	rm -rf "$tmp"
	return $rc
}

case ${1:-} in
install) shift; install_it "$@" ;;
test)
	shift
	command -v dkms >/dev/null || "$top/scripts/deps.sh" dkms
	bad=0
	# shellcheck disable=SC2046
	[ $# -gt 0 ] || set -- $(scripts/kernels.sh list)
	for k in "$@"; do
		test_one "$k" || bad=1
	done
	exit $bad
	;;
*) log "usage: $0 install [KERNELRELEASE] | test [KERNEL...]"; exit 2 ;;
esac
