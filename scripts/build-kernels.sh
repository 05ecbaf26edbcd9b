#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where does ktp.ko build? For each kernel: is it fetched, is its toolchain
# sound (a module of a few lines builds), and how does the module build go:
# the error count, the files they are in and the first errors, or, when it
# builds, how many TCP/DCCP connection helpers it still imports.
#
#   scripts/build-kernels.sh [-b] [KERNEL...]   (make build-kernels)
#
#   KERNEL   6.1, 6.12, newest, a version line or an ABI (scripts/kernels.sh);
#            default: all the supported kernels
#   -b       also boot each kernel in the test VM (no ktp.ko) and load the
#            stock modules the selftests use
#
# Each build is kept in build/<abi>/ (build.log, ktp.ko, src/), made with
# make -k so that every error shows; module/ktp.ko is left alone. Exits
# non-zero unless everything asked for worked.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
KTP_CACHE=${KTP_CACHE:-$HOME/.cache/ktp}
export KTP_CACHE

boot=0
[ "${1:-}" = -b ] && { boot=1; shift; }
# shellcheck disable=SC2046
[ $# -gt 0 ] || set -- $(scripts/kernels.sh list)
kernels=("$@")
# What the issue asks the module not to import any more.
HELPERS='^(inet_csk_|inet_twsk_|inet_hash|inet_reqsk_alloc$|inet_rtx_syn_ack$|inet_ehash_)'
# The stock modules scripts/vm.sh puts in the VM.
VM_MODS="veth sch_netem tun xfrm_user"

rows=()
bad=0

for k in "${kernels[@]}"; do
	echo "== $k"
	SECONDS=0
	fetch=ok tool=- module=- vmboot=-
	if ! scripts/kernels.sh fetch "$k" >"/tmp/ktp-fetch.$$" 2>&1; then
		sed 's/^/# /' "/tmp/ktp-fetch.$$"
		rows+=("$(printf '%-7s %-22s %s' "$k" '?' 'fetch FAILED')")
		bad=1
		continue
	fi
	rm -f "/tmp/ktp-fetch.$$"
	abi=$(scripts/kernels.sh abi "$k")
	echo "# fetched: $abi (image in $KTP_CACHE/$abi/image;" \
	     "KDIR $(scripts/kernels.sh kdir "$k")$([ "$(scripts/kernels.sh \
		toolchain "$k")" = host ] || echo ' in the build root'))"

	if t=$(scripts/kernels.sh hello "$k" 2>/dev/null); then
		tool=ok
		echo "# toolchain ok: $t"
	else
		tool=FAILED bad=1
		echo "# toolchain FAILED: a module of a few lines does not build"
	fi

	out=build/$abi
	if scripts/kernels.sh build "$k" "$out" -k >/dev/null 2>&1; then
		n=$(nm -u "$out/ktp.ko" | awk '{ print $2 }' | grep -cE "$HELPERS")
		module="ok, imports $n helpers"
		echo "# module ok: $out/ktp.ko; $n TCP/DCCP connection helpers imported"
	else
		log=$out/build.log
		errs=$(grep -c ': error: ' "$log")
		# the module's files the errors are reported in (or expanded from)
		files=$(grep ': error: ' "$log" | cut -d: -f1 |
			sed -n 's|^.*/src/module/|module/|p; s|^module/|&|p' |
			sort -u | wc -l)
		all=$(scripts/kernels.sh sources | grep -c '^module/.*\.c$')
		module="$errs errors in $files of $all files"
		[ "$errs" = 0 ] && module="FAILED (no compiler error: see the log)"
		bad=1
		echo "# module: $module ($log); the first:"
		# paths relative to the module's sources, as in the tree
		grep -E ': (error|fatal error): ' "$log" | head -n 8 |
			sed -e "s|^.*/src/module/|module/|" -e 's/^/#   /'
		[ "$errs" = 0 ] && tail -n 5 "$log" | sed 's/^/#   /'
	fi

	if [ $boot = 1 ]; then
		# shellcheck disable=SC2046
		if o=$(scripts/vm.sh -n -q -t 180 $(scripts/kernels.sh vm-args "$k") -- \
		       "uname -r; for m in $VM_MODS; do modprobe \$m || echo no \$m; done; \
			cut -d' ' -f1 /proc/modules" 2>&1) &&
		   [ "$(echo "$o" | head -n1)" = "$abi" ] &&
		   ! echo "$o" | grep -q '^no '; then
			vmboot=ok
			echo "# boot ok: uname -r $abi; loaded:" $(echo "$o" | sed 1d |
				grep -vE 'KTP-VM-EXIT')
		else
			vmboot=FAILED bad=1
			echo "$o" | tail -n 20 | sed 's/^/#   /'
		fi
	fi
	echo "# ${SECONDS}s"
	rows+=("$(printf '%-7s %-22s %-6s %-6s %-6s %s' "$k" "$abi" "$fetch" \
		  "$tool" "$vmboot" "$module")")
done

echo "== summary"
printf '%-7s %-22s %-6s %-6s %-6s %s\n' kernel abi fetch tools boot module
printf '%s\n' "${rows[@]}"
exit $bad
