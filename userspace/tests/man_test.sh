#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The man pages: each renders without a warning from groff (-ww) and from
# man-db (--warnings), every function ktp.h declares has a page in
# section 3, every tool userspace/Makefile installs has one in section 1,
# and ktp(7) names every SOL_KTP option of the uapi header, every
# net.ktp sysctl of the module and every counter of /proc/net/ktp_snmp.
# KTAP output.
set -u
. "$(dirname "$0")/ktap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
man=$top/man


# renders PAGE: no output from either formatter but the page itself.
renders()
{
	local errs

	errs=$( { groff -ww -man -z "$1"; \
		  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" >/dev/null; \
		} 2>&1)
	[ -z "$errs" ] || { echo "$errs" | sed 's/^/# /'; return 1; }
}

# missing SECTION NAME...: the names with no page of their own in the
# section and no mention in a page's NAME line, on stdout.
missing()
{
	local sec=$1 name

	shift
	for name in "$@"; do
		[ -f "$man/$name.$sec" ] && continue
		sed -n '/^\.SH NAME/{n;p}' "$man"/*."$sec" |
			grep -qw -- "$name" || echo "$name"
	done
}

# absent PAGE WORD...: the words PAGE does not mention, on stdout.
absent()
{
	local page=$1 w

	shift
	for w in "$@"; do
		grep -q -- "$w" "$page" || echo "$w"
	done
}

report()
{
	local name=$1 what=$2

	[ -z "$what" ] || echo "# $name: $what" | tr '\n' ' '
	[ -z "$what" ] || echo
	ok "$([ -z "$what" ] && echo 0 || echo 1)" "$name"
}

pages=("$man"/*.[137])
funcs=$(sed -n 's/^[a-z][a-z ]*[ *]\(ktp_[a-z_]*\)(.*/\1/p' \
	"$top/userspace/include/ktp.h")
tools=$(sed -n 's/^\(TOOLS\|SCRIPTS\) := //p' "$top/userspace/Makefile" |
	tr ' ' '\n' | sed 's|^tools/||')
# the options: "#define KTP_NAME<tab>N<tab>/* what */"
opts=$(sed -n 's/^#define \(KTP_[A-Z]*\)\t[0-9]*\t\/\*.*/\1/p' \
	"$top/uapi/linux/ktp.h")
sysctls=$(sed -n 's/.*\.procname\t= "\([a-z_0-9]*\)",/\1/p' \
	"$top"/module/*.c | sort -u)
counters=$(sed -n 's/.*\] *= "\([A-Za-z0-9]*\)",/\1/p' "$top/module/mib.c")

echo "TAP version 13"
echo "1..$((${#pages[@]} + 5))"
for p in "${pages[@]}"; do
	renders "$p"
	ok $? "renders_${p##*/}"
done
report section3_for_every_function "$(missing 3 $funcs)"
report section1_for_every_tool "$(missing 1 $tools)"
report ktp7_socket_options "$(absent "$man/ktp.7" $opts)"
report ktp7_sysctls "$(absent "$man/ktp.7" $sysctls)"
report ktp7_snmp_counters "$(absent "$man/ktp.7" $counters)"
ktap_done
