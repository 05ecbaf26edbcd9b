#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# docs/ktp.lua, the Wireshark dissector, read through tshark: a capture
# written by ktp_pcap_gen (ktpdump's segment builder and pcap writer: a
# handshake with options, data, a SACK, FIN and RST) decodes field by
# field to what the generator says it wrote; the Info column reads as
# TCP's; without the script, or with the IP protocol preference moved,
# nothing is KTP. KTAP output.
set -u
. "$(dirname "$0")/ktap.sh"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/ktp-dissector.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pcap=$tmp/ktp.pcap
FIELDS="ktp.srcport ktp.dstport ktp.seq ktp.ack ktp.flags ktp.hdr_len
ktp.window_size_value ktp.len ktp.option_kind ktp.options.mss_val
ktp.options.wscale.shift ktp.options.timestamp.tsval
ktp.options.timestamp.tsecr ktp.options.sack_le ktp.options.sack_re"


# tshark ARGS...: time-bounded, its banner about root left out.
tshark()
{
	timeout 60 /usr/bin/tshark "$@" 2> "$tmp/tshark.err"
	local rc=$?

	grep -v '^Running as user' "$tmp/tshark.err" | sed 's/^/# tshark: /'
	return $rc
}

ktp_tshark()
{
	tshark -X lua_script:"$top/docs/ktp.lua" -r "$pcap" "$@"
}

# frames ARGS...: how many frames tshark shows as KTP, or "error: WHY"
# when tshark itself fails: a count is never made of a failed run.
frames()
{
	local out=$tmp/frames.out

	if ! timeout 60 /usr/bin/tshark -r "$pcap" -Y ktp "$@" > "$out" \
			2> "$tmp/frames.err"; then
		echo "error: $(grep -v '^Running as user' "$tmp/frames.err" |
			       head -n1)"
		return
	fi
	grep -c . "$out"
}


segments=7
echo "TAP version 13"
echo "1..$((segments + 4))"

"$here/ktp_pcap_gen" "$pcap" > "$tmp/expected"
ok $? "generator_writes_capture"

mapfile -t want < "$tmp/expected"
# shellcheck disable=SC2046 # one -e per field
ktp_tshark -T fields $(printf -- '-e %s ' $FIELDS) > "$tmp/got"
mapfile -t got < "$tmp/got"
for i in $(seq 0 $((segments - 1))); do
	if [ "${got[$i]-}" = "${want[$i]-}" ]; then
		ok 0 "segment_$((i + 1))_fields"
	else
		echo "# want: ${want[$i]-}"
		echo "# got:  ${got[$i]-}"
		ok 1 "segment_$((i + 1))_fields"
	fi
done

ktp_tshark -T fields -e _ws.col.Info > "$tmp/info"
sed -n 2p "$tmp/info" | grep -q '^7000 → 40000 \[SYN, ACK\] Seq=5000 Ack=1001 Win=65535 Len=0$'
ok $? "info_column_as_tcp"
[ "$(wc -l < "$tmp/info")" = $segments ]
ok $? "every_frame_decoded"

all=$(frames -X lua_script:"$top/docs/ktp.lua")
none=$(frames)
moved=$(frames -X lua_script:"$top/docs/ktp.lua" -o ktp.ipproto:254)
echo "# KTP frames: $all with the script, $none without, $moved on 254"
# without the script the name ktp means nothing to tshark: that very
# error, not any failure, is what "no KTP" looks like there
[ "$all" = $segments ] && [ "$moved" = 0 ] &&
	[ "$none" = "error: tshark: ktp is neither a field nor a protocol name." ]
ok $? "only_the_script_on_its_protocol_decodes_ktp"
ktap_done
