#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernels KTP supports: resolve each in Debian's archive, fetch its
# image and headers into $KTP_CACHE, build ktp.ko for it with the right
# toolchain, and say how the test VM boots it. docs/kernels.md has the why.
#
#   scripts/kernels.sh list              the supported kernels' names
#   scripts/kernels.sh sources           the module's source files, for a copy
#   scripts/kernels.sh abi KERNEL        its ABI, e.g. 7.3.4+deb13-amd64
#   scripts/kernels.sh fetch KERNEL...   image, headers, toolchain, cached
#   scripts/kernels.sh kdir KERNEL       the KDIR its module builds against
#   scripts/kernels.sh toolchain KERNEL  "host" or the build root's path
#   scripts/kernels.sh vm-args KERNEL    vm.sh's -k IMAGE -m MODDIR, a line each
#   scripts/kernels.sh build KERNEL [OUT] [make args...]
#                                        ktp.ko for it in OUT (default
#                                        build/<abi>): OUT/ktp.ko, the log
#                                        in OUT/build.log, sources in OUT/src
#   scripts/kernels.sh hello KERNEL      build a module of a few lines for it:
#                                        is the toolchain sound? prints
#                                        where and with what it built
#   scripts/kernels.sh run KERNEL CMD... CMD with that kernel's toolchain
#                                        (on the host or in the build root)
#
# KERNEL is one of
#   6.1     Debian 12's own kernel: the stock kit of scripts/deps.sh
#   6.12    the newest 6.12 of bookworm-backports   (host gcc-12)
#   newest  the newest kernel Debian ships: trixie-backports' linux-image-amd64
#           (gcc-14 and glibc >= 2.38: a trixie build root)
# or a version line (7.3) or a full ABI (6.12.95+deb12-amd64) that one of
# those suites carries.
#
# Layout of $KTP_CACHE (default ~/.cache/ktp):
#   apt/<suite>/          a private apt configuration and package lists for
#                         one suite: the host's apt sources stay untouched
#   <abi>/image/          the image packages unpacked (dpkg -x), depmod'ed
#   <abi>/headers/        the headers packages unpacked (host toolchain)
#   buildroot-trixie/     debootstrap'ed trixie with gcc-14; the headers of
#                         the kernels built there are installed in it by apt
#   kernels/<name>        the ABI and suite a name last resolved to
# Nothing is installed on the host but debootstrap; no module is loaded.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE
export DEBIAN_FRONTEND=noninteractive
# Package lists older than this (minutes) are refreshed when resolving.
KTP_APT_MAX_AGE=${KTP_APT_MAX_AGE:-720}
# Bump to rebuild the build root from scratch.
BUILDROOT_RECIPE=1
BUILDROOT=$KTP_CACHE/buildroot-trixie
BUILDROOT_PKGS="make,gcc-14,libc6-dev,bc,kmod,xz-utils,dkms"

KERNELS="6.1 6.12 newest"
# The suites searched for a version line or an ABI, in this order.
SUITES="bookworm-backports trixie-backports"

log() { echo "kernels: $*" >&2; }
die() { log "$*"; exit 1; }

# The Debian mirror the host's apt uses for bookworm (KTP_MIRROR overrides).
mirror()
{
	local m=${KTP_MIRROR:-}

	[ -n "$m" ] || m=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
			   2>/dev/null | awk '$2 == "bookworm" { print $1; exit }')
	echo "${m:-http://deb.debian.org/debian/}"
}

# papt SUITE apt-get|apt-cache ARGS...: apt with a private configuration
# holding SUITE alone. The host's sources and lists are not touched.
papt()
{
	local dir=$KTP_CACHE/apt/$1 cmd=$2

	shift 2
	"$cmd" -o "Dir::Etc::SourceList=$dir/sources.list" \
		-o "Dir::Etc::SourceParts=$dir/parts" \
		-o "Dir::Etc::Preferences=$dir/parts/none" \
		-o "Dir::Etc::PreferencesParts=$dir/parts" \
		-o "Dir::State=$dir/state" -o "Dir::State::status=$dir/status" \
		-o "Dir::Cache=$dir/cache" \
		-o "APT::Sandbox::User=$(id -un)" "$@"
}

# The lists of SUITE, refreshed when older than KTP_APT_MAX_AGE minutes
# (or when $2 is "force"); a failed refresh keeps the old lists.
suite_lists()
{
	local suite=$1 dir=$KTP_CACHE/apt/$1 stamp

	stamp=$dir/.updated
	if [ "${2:-}" != force ] && [ -f "$stamp" ] &&
	   [ -z "$(find "$stamp" -mmin "+$KTP_APT_MAX_AGE")" ]; then
		return 0
	fi
	mkdir -p "$dir/parts" "$dir/state/lists/partial" \
		"$dir/cache/archives/partial"
	# one refresh at a time (other work trees share the cache)
	(
		flock 8
		echo "deb $(mirror) $suite main" > "$dir/sources.list"
		: > "$dir/status"
		log "refreshing the package lists of $suite"
		if papt "$suite" apt-get update -q </dev/null \
			>"$dir/update.log" 2>&1; then
			touch "$stamp"
		elif [ -f "$stamp" ]; then
			log "cannot refresh $suite (see $dir/update.log); using the old lists"
		else
			cat "$dir/update.log" >&2
			die "cannot fetch the package lists of $suite"
		fi
	) 8>"$dir/.lock" || exit 1
}

# Is PACKAGE in SUITE's lists?
in_suite()
{
	papt "$1" apt-cache show "$2" >/dev/null 2>&1
}

# The newest ABI of a version line (6.12) in SUITE, from the names of its
# linux-headers-<line>.<n>+<tag>-amd64 packages.
line_abi()
{
	local suite=$1 line=${2//./\\.}

	papt "$suite" apt-cache pkgnames linux-headers- |
		sed -n "s/^linux-headers-\\($line\\.[0-9]*+[a-z0-9]*-amd64\\)\$/\\1/p" |
		sort -V | tail -n1
}

# The ABI SUITE's linux-headers-amd64 meta-package points at.
meta_abi()
{
	papt "$1" apt-cache depends linux-headers-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(.*-amd64\)$/\1/p' | head -n1
}

# resolve KERNEL: print "ABI SUITE". 6.1 is the host's, through deps.sh.
resolve()
{
	local k=$1 suite abi

	case $k in
	6.1|"$("$top/scripts/deps.sh" abi 2>/dev/null || echo 6.1)")
		abi=$("$top/scripts/deps.sh" abi) || die "run 'make deps' first"
		echo "$abi bookworm"
		return 0
		;;
	6.12) suite=bookworm-backports; suite_lists $suite
	      abi=$(line_abi $suite 6.12) ;;
	newest) suite=trixie-backports; suite_lists $suite
		abi=$(meta_abi $suite) ;;
	[0-9]*.[0-9]*-amd64)
		for suite in $SUITES; do
			suite_lists "$suite"
			in_suite "$suite" "linux-headers-$k" && { abi=$k; break; }
		done ;;
	[0-9]*.[0-9]*)
		for suite in $SUITES; do
			suite_lists "$suite"
			abi=$(line_abi "$suite" "$k")
			[ -n "$abi" ] && break
		done ;;
	*) die "unknown kernel '$k' (one of: $KERNELS, a version line, an ABI)" ;;
	esac
	[ -n "${abi:-}" ] || die "no kernel '$k' in $SUITES"
	mkdir -p "$KTP_CACHE/kernels"
	echo "$abi $suite" > "$KTP_CACHE/kernels/$k"
	echo "$abi $suite"
}

# set_kernel resolve|fetch_one KERNEL: set the caller's abi and suite, or
# exit when that fails (its message is out already).
set_kernel()
{
	local out

	out=$("$1" "$2") || exit 1
	read -r abi suite <<<"$out"
	[ -n "$abi" ] || exit 1
}

# Where a suite's kernels are built: bookworm's on the host, trixie's in
# the build root (their kbuild tools need glibc >= 2.38, their gcc is 14).
suite_toolchain()
{
	case $1 in
	bookworm*) echo host ;;
	trixie*) echo "$BUILDROOT" ;;
	*) die "no toolchain for $1" ;;
	esac
}

# closure SUITE PATTERN EXCLUDE PKG: PKG and, recursively, what it depends
# on whose name contains PATTERN and does not match the regexp EXCLUDE.
closure()
{
	local suite=$1 pat=$2 excl=$3 todo=$4 seen=" " p d

	while [ -n "$todo" ]; do
		p=${todo%% *}
		todo=${todo#"$p"}; todo=${todo# }
		case $seen in *" $p "*) continue ;; esac
		seen+="$p "
		for d in $(papt "$suite" apt-cache depends --no-recommends \
				--no-suggests --no-conflicts --no-breaks \
				--no-replaces --no-enhances "$p" |
			   sed -n 's/^ *|\{0,1\}Depends: //p' |
			   grep -F -- "$pat" | grep -Ev -- "$excl" || true); do
			todo+=" $d"
		done
		todo=${todo# }
	done
	echo $seen
}

# unpack SUITE DEST PKG...: apt-get download and dpkg -x, never installed.
unpack()
{
	local suite=$1 dest=$2 tmp deb

	shift 2
	tmp=$(mktemp -d /tmp/ktp-dl.XXXXXX)
	chmod 755 "$tmp"
	log "fetching $* (unpacked into $dest, not installed)"
	if ! (cd "$tmp" && papt "$suite" apt-get download -q "$@" \
		</dev/null >&2); then
		rm -rf "$tmp"
		return 1
	fi
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$dest"
	done
	rm -rf "$tmp"
}

# The image: linux-image-<abi> and what it pulls in of the same ABI
# (from 7.x, linux-binary-, linux-modules- and linux-base-<abi>).
prepare_image()
{
	local abi=$1 suite=$2 dir=$KTP_CACHE/$1

	[ -f "$dir/.image-ok" ] && return 0
	rm -rf "$dir/image" && mkdir -p "$dir"
	# shellcheck disable=SC2046
	unpack "$suite" "$dir/image" $(closure "$suite" "$abi" '^$' \
					 "linux-image-$abi") || return 1
	# From 7.x the image is all in /usr/lib/modules/<abi>: link it where
	# the 6.x packages put it, /boot/vmlinuz-<abi> and /lib/modules/<abi>.
	if [ -f "$dir/image/usr/lib/modules/$abi/vmlinuz" ]; then
		mkdir -p "$dir/image/boot" "$dir/image/lib/modules"
		ln -sfn "../usr/lib/modules/$abi/vmlinuz" \
			"$dir/image/boot/vmlinuz-$abi"
		ln -sfn "../../usr/lib/modules/$abi" \
			"$dir/image/lib/modules/$abi"
	fi
	[ -f "$dir/image/boot/vmlinuz-$abi" ] || die "no vmlinuz-$abi in the image"
	depmod -b "$dir/image" "$abi"
	touch "$dir/.image-ok"
}

# The headers for the host toolchain: linux-headers-<abi>, its -common and
# linux-kbuild, unpacked. Their Makefile includes the -common one by its
# absolute /usr/src path: point it at the unpacked copy.
prepare_headers()
{
	local abi=$1 suite=$2 dir=$KTP_CACHE/$1 stem=${1%-amd64} hdr

	[ -f "$dir/.headers-ok" ] && return 0
	rm -rf "$dir/headers" && mkdir -p "$dir"
	# shellcheck disable=SC2046
	unpack "$suite" "$dir/headers" $(closure "$suite" "$stem" \
		'^linux-(image|modules|binary)-' "linux-headers-$abi") ||
		return 1
	hdr=$dir/headers/usr/src/linux-headers-$abi
	[ -f "$hdr/Makefile" ] || die "no Makefile in linux-headers-$abi"
	sed -i "s|^include /usr/src/|include $dir/headers/usr/src/|" \
		"$hdr/Makefile"
	touch "$dir/.headers-ok"
}

# in_root CMD...: run CMD in the build root, with /proc mounted in a mount
# namespace of its own (gone when CMD ends) and a clean environment.
in_root()
{
	local env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
		   LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)

	if unshare --mount --propagation private true 2>/dev/null; then
		unshare --mount --propagation private sh -c \
			'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
			"$BUILDROOT" "${env[@]}" "$@"
	else
		chroot "$BUILDROOT" "${env[@]}" "$@"
	fi
}

# The trixie build root: debootstrap from the host's Debian mirror, once.
prepare_buildroot()
{
	local key new

	key="recipe $BUILDROOT_RECIPE: $BUILDROOT_PKGS"
	[ "$(cat "$BUILDROOT/.ok" 2>/dev/null)" = "$key" ] && return 0
	[ "$(id -u)" = 0 ] || die "the trixie build root needs root (debootstrap, chroot)"
	command -v debootstrap >/dev/null || "$top/scripts/deps.sh" kernels
	new=$BUILDROOT.new
	rm -rf "$new"
	log "debootstrap trixie into $BUILDROOT (once; a few minutes)"
	if ! debootstrap --variant=minbase --include="$BUILDROOT_PKGS" trixie \
		"$new" "$(mirror)" > "$KTP_CACHE/buildroot.log" 2>&1; then
		tail -n 20 "$KTP_CACHE/buildroot.log" >&2
		rm -rf "$new"
		die "debootstrap failed (log: $KTP_CACHE/buildroot.log)"
	fi
	echo "deb $(mirror) trixie-backports main" \
		> "$new/etc/apt/sources.list.d/backports.list"
	rm -rf "$BUILDROOT"
	mv "$new" "$BUILDROOT"
	echo "$key" > "$BUILDROOT/.ok"
}

# linux-headers-<abi> installed in the build root by its apt, which brings
# linux-kbuild, gcc-14-for-host and pahole as the package says.
root_headers()
{
	local abi=$1

	in_root dpkg-query -W -f='${Status}' "linux-headers-$abi" 2>/dev/null |
		grep -q 'install ok installed' && return 0
	log "installing linux-headers-$abi in the build root"
	in_root sh -c "apt-get update -q && apt-get install -y -q \
		--no-install-recommends linux-headers-$abi" \
		</dev/null >> "$KTP_CACHE/buildroot.log" 2>&1 ||
		die "cannot install linux-headers-$abi in the build root (log: $KTP_CACHE/buildroot.log)"
}

# fetch_abi ABI SUITE: everything needed to build for it and boot it.
fetch_abi()
{
	local abi=$1 suite=$2

	if [ "$suite" = bookworm ]; then
		[ -f "$KTP_CACHE/$abi/.image-ok" ] || "$top/scripts/deps.sh" vm
		return 0
	fi
	prepare_image "$abi" "$suite" || return 1
	if [ "$(suite_toolchain "$suite")" = host ]; then
		prepare_headers "$abi" "$suite" || return 1
	else
		prepare_buildroot
		root_headers "$abi"
	fi
}

# fetch KERNEL: print "ABI SUITE" once fetched. When the archive moved on
# since the lists were read, read them again and take the new ABI.
fetch_one()
{
	local abi suite

	set_kernel resolve "$1"
	if ! fetch_abi "$abi" "$suite"; then
		log "$abi is gone from $suite? reading its lists again"
		suite_lists "$suite" force
		set_kernel resolve "$1"
		fetch_abi "$abi" "$suite" || die "cannot fetch the kernel $abi"
	fi
	echo "$abi $suite"
}

# kdir KERNEL: as seen by its toolchain (in the build root: from inside).
kdir_of()
{
	local abi=$1 suite=$2

	if [ "$suite" = bookworm ]; then
		echo "/usr/src/linux-headers-$abi"
	elif [ "$(suite_toolchain "$suite")" = host ]; then
		echo "$KTP_CACHE/$abi/headers/usr/src/linux-headers-$abi"
	else
		echo "/usr/src/linux-headers-$abi"
	fi
}

# The files of the module's source tree, relative to the top (work tree
# as is, untracked new files included, build products left out), for a
# scratch copy: make check-debug's, build/<abi>/, dkms's.
module_sources()
{
	(cd "$top" && git ls-files -co --exclude-standard -- Kbuild module \
		uapi scripts/compat-probe.sh scripts/compat-probe.mk |
	 while read -r f; do [ -f "$f" ] && echo "$f"; done)
}

# build KERNEL [OUT] [make args]: a scratch copy kept in OUT between runs
# (tar keeps the times, so make rebuilds only what changed); in the build
# root the copy lives in /build/<key> and ktp.ko is copied out.
build_one()
{
	local k=$1 out=${2:-} abi suite tc kdir src rc

	shift $(($# < 2 ? $# : 2))
	set_kernel fetch_one "$k"
	out=${out:-$top/build/$abi}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	tc=$(suite_toolchain "$suite")
	kdir=$(kdir_of "$abi" "$suite")
	if [ "$tc" = host ]; then
		src=$out/src
	else
		src=$BUILDROOT/build/$(echo "$out" | sha256sum | cut -c1-12)
	fi
	mkdir -p "$src"
	module_sources | (cd "$top" && tar -cf - -T -) | tar -xf - -C "$src"
	rm -f "$out/ktp.ko"
	set +e
	if [ "$tc" = host ]; then
		make -C "$kdir" M="$src" "$@" modules
	else
		in_root make -C "$kdir" M="${src#"$BUILDROOT"}" "$@" modules
	fi > "$out/build.log" 2>&1
	rc=$?
	set -e
	echo "$abi" > "$out/abi"
	if [ $rc = 0 ] && [ -f "$src/module/ktp.ko" ]; then
		cp "$src/module/ktp.ko" "$out/ktp.ko"
		log "built $out/ktp.ko for $abi"
		return 0
	fi
	grep -E ': (fatal )?error: ' "$out/build.log" | head -n 20 >&2
	log "ktp.ko does not build for $abi: $(grep -c ': error: ' \
		"$out/build.log") errors (all of it in $out/build.log)"
	return 1
}

# hello KERNEL: build a module of a few lines for it, to tell a broken
# toolchain from a module that does not build; print what was used.
hello_one()
{
	local abi suite tc kdir dir glibc cc cfg

	set_kernel fetch_one "$1"
	tc=$(suite_toolchain "$suite")
	kdir=$(kdir_of "$abi" "$suite")
	if [ "$tc" = host ]; then
		dir=$(mktemp -d /tmp/ktp-hello.XXXXXX)
	else
		dir=$BUILDROOT/build/hello-$abi
		rm -rf "$dir" && mkdir -p "$dir"
	fi
	echo 'obj-m += hello.o' > "$dir/Kbuild"
	cat > "$dir/hello.c" <<-'EOF'
	#include <linux/module.h>
	static int __init hello_init(void) { return 0; }
	static void __exit hello_exit(void) { }
	module_init(hello_init);
	module_exit(hello_exit);
	MODULE_LICENSE("GPL");
	EOF
	set +e
	if [ "$tc" = host ]; then
		make -C "$kdir" M="$dir" modules
		glibc=$(ldd --version | head -n1)
	else
		in_root make -C "$kdir" M="${dir#"$BUILDROOT"}" modules
		glibc=$(in_root ldd --version | head -n1)
	fi > "$dir/build.log" 2>&1
	set -e
	# the compiler the kernel was built with, which its kbuild calls
	[ "$tc" = host ] && cfg=$kdir/.config || cfg=$BUILDROOT$kdir/.config
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
	[ "$tc" = host ] || tc="trixie build root"
	if [ -f "$dir/hello.ko" ]; then
		echo "$tc: ${cc:-?}, glibc ${glibc##* }"
		rm -rf "$dir"
		return 0
	fi
	cat "$dir/build.log" >&2
	rm -rf "$dir"
	return 1
}

main()
{
	local cmd=${1:-} k abi suite

	[ $# -gt 0 ] && shift
	mkdir -p "$KTP_CACHE"
	case $cmd in
	list) echo "$KERNELS" ;;
	sources) module_sources ;;
	abi) resolve "${1:?kernel}" | cut -d' ' -f1 ;;
	fetch)
		exec 9>"$KTP_CACHE/kernels.lock"
		flock 9
		# shellcheck disable=SC2086
		[ $# -gt 0 ] || set -- $KERNELS
		for k in "$@"; do
			fetch_one "$k" >/dev/null
		done
		;;
	kdir)
		set_kernel resolve "${1:?kernel}"
		kdir_of "$abi" "$suite"
		;;
	toolchain)
		set_kernel resolve "${1:?kernel}"
		suite_toolchain "$suite"
		;;
	vm-args)
		set_kernel fetch_one "${1:?kernel}"
		echo "-k"
		echo "$KTP_CACHE/$abi/image/boot/vmlinuz-$abi"
		echo "-m"
		echo "$KTP_CACHE/$abi/image/lib/modules/$abi"
		;;
	hello)
		exec 9>"$KTP_CACHE/kernels.lock"
		flock 9
		hello_one "${1:?kernel}"
		;;
	build)
		exec 9>"$KTP_CACHE/kernels.lock"
		flock 9
		build_one "$@"
		;;
	run)
		set_kernel fetch_one "${1:?kernel}"
		shift
		if [ "$(suite_toolchain "$suite")" = host ]; then
			"$@"
		else
			in_root "$@"
		fi
		;;
	*) die "usage: $0 list|sources|abi|fetch|kdir|toolchain|vm-args|hello|build|run (see the top of the script)" ;;
	esac
}

main "$@"
