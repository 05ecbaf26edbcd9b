#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict over the kernel sources and the uapi header.
# Prints a KTAP plan and one point; exits non-zero on any error, warning or check.
#   scripts/checkpatch.sh PATH/TO/checkpatch.pl
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# compat_probe.h is generated at build time (scripts/compat-probe.sh).
files=$(ls module/*.[ch] uapi/linux/*.h | grep -v -e "\.mod\.c$" -e "/compat_probe\.h$")
# --no-tree: out of tree; the kernel's spelling list sits beside the script.
# FILE_PATH_CHANGES and SPDX position are for in-tree patches.
echo "1..1"
out=$(perl "$1" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES \
	-f $files 2>&1)
if [ -n "$out" ]; then
	echo "$out" | sed 's/^/# /'
	echo "not ok 1 checkpatch --strict"
	exit 1
fi
echo "ok 1 checkpatch --strict ($(echo $files | wc -w) files)"
