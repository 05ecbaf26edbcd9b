#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of make check-debug, once, into the cache.
#
#   scripts/debug-kernel.sh          build it unless cached; print its dir
#   scripts/debug-kernel.sh key      print the cache key only
#
# The kernel is Debian's linux-source-6.1, configured as x86_64_defconfig
# plus selftests/config (KASAN, lockdep, kmemleak, fault injection and what
# the tests need). It lives in $KTP_CACHE/debug-<version>-<key>, where the
# key hashes the fragment, the source package version and this recipe, so
# editing any of them builds a new one; $KTP_CACHE/debug points at the
# current one. The directory holds:
#
#   src/                      the built tree (KDIR for the module)
#   bzImage                   the kernel the VM boots (vm.sh -k)
#   mods/lib/modules/<rel>/   its modules, depmod'ed (vm.sh -m)
#   release                   <rel>
#
# A build takes about 20 minutes on 2 cores. An interrupted build resumes
# where it stopped; older debug-* trees are removed once a new one is ready.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
TARBALL=${TARBALL:-/usr/src/linux-source-6.1.tar.xz}
FRAGMENT=$top/selftests/config
JOBS=${JOBS:-$(($(nproc) + 1))}
# Bump when the way the kernel is built changes, to force a rebuild.
RECIPE=1

log() { echo "debug-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

source_version()
{
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
		die "linux-source-6.1 is not installed: run make deps"
}

cache_key()
{
	{
		echo "recipe $RECIPE"
		echo "source $(source_version)"
		cat "$FRAGMENT"
	} | sha256sum | cut -c1-12
}

# Every line of the fragment must be in the final .config as written; a
# "not set" line is also met by a symbol whose dependencies are off.
check_config()
{
	local cfg=$1 line sym bad=0

	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			sym=${line%%=*}
			grep -qxF "$line" "$cfg" && continue
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			grep -q "^$sym=" "$cfg" || continue
			;;
		*) continue ;;
		esac
		log "config: '$line' did not survive olddefconfig:" \
		    "$(grep -E "^(# )?${sym}[= ]" "$cfg" || echo "$sym absent")"
		bad=1
	done <"$FRAGMENT"
	return $bad
}

configure()
{
	local src=$1

	make -C "$src" -s x86_64_defconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" \
		"$src/.config" "$FRAGMENT" >/dev/null
	make -C "$src" -s olddefconfig
	check_config "$src/.config" || die "fix selftests/config"
}

build()
{
	local dir=$1 src=$1/src blog=$1/build.log rel

	if [ ! -f "$src/.configured" ]; then
		rm -rf "$src" && mkdir -p "$src"
		log "extracting $TARBALL"
		tar -xJf "$TARBALL" -C "$src" --strip-components=1
		configure "$src"
		touch "$src/.configured"
	fi
	log "building bzImage and modules with -j$JOBS (log: $blog)"
	if ! make -C "$src" -j"$JOBS" bzImage modules >"$blog" 2>&1; then
		tail -n 40 "$blog" >&2
		die "kernel build failed (full log: $blog)"
	fi
	rel=$(make -C "$src" -s kernelrelease)
	rm -rf "$dir/mods"
	make -C "$src" -s INSTALL_MOD_PATH="$dir/mods" DEPMOD=/bin/true \
		modules_install >>"$blog" 2>&1 || die "modules_install failed"
	depmod -b "$dir/mods" "$rel"
	cp "$src/arch/x86/boot/bzImage" "$dir/bzImage"
	echo "$rel" >"$dir/release"
	touch "$dir/.ok"
}

main()
{
	local key ver dir

	[ -f "$FRAGMENT" ] || die "no $FRAGMENT"
	key=$(cache_key)
	[ "${1:-}" = key ] && { echo "$key"; return 0; }
	ver=$(source_version)
	dir=$KTP_CACHE/debug-$ver-$key
	mkdir -p "$dir"
	exec 9>"$dir.lock"
	flock 9
	if [ ! -f "$dir/.ok" ]; then
		log "no debug kernel for key $key: building one in $dir"
		SECONDS=0
		build "$dir"
		log "built $(cat "$dir/release") in $((SECONDS / 60))m$((SECONDS % 60))s"
		find "$KTP_CACHE" -maxdepth 1 -name 'debug-*' ! -name "debug-$ver-$key*" \
			-exec rm -rf {} +
	fi
	ln -sfn "debug-$ver-$key" "$KTP_CACHE/debug"
	echo "$dir"
}

main "$@"
