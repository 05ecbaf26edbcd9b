#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ktp_lifecycle over IPv6: the same tests, KTPPROTO_KTP6 sockets on ::1.
KTP_TEST_FAMILY=6 exec "$(dirname "$0")/ktp_lifecycle" "$@"
