-- SPDX-License-Identifier: GPL-2.0
--
-- A Wireshark/tshark dissector for KTP segments (docs/wire-format.md,
-- uapi/linux/ktp.h): IP protocol 253, a 20-byte header, then options
-- numbered as TCP's, then the payload.
--
--   tshark -X lua_script:docs/ktp.lua -r capture.pcap
--   wireshark -X lua_script:docs/ktp.lua capture.pcap
--
-- or copy it into ~/.local/lib/wireshark/plugins/. The IP protocol number
-- is a preference (Edit > Preferences > Protocols > KTP, or
-- -o ktp.ipproto:254) for a module loaded with another "ipproto".
-- Field names follow TCP's: ktp.srcport, ktp.seq, ktp.flags.syn, ...
-- Sequence numbers are shown as they are on the wire; the checksum is
-- shown, not verified (loopback captures hold partial checksums).

local ktp = Proto("ktp", "KTP (TCP-like transport)")

local FLAG_FIN, FLAG_SYN, FLAG_RST, FLAG_PSH, FLAG_ACK = 0x01, 0x02, 0x04,
	0x08, 0x10
local FLAG_MASK = 0x1f
local HDR_LEN = 20

local opt_names = {
	[0] = "EOL", [1] = "NOP", [2] = "MSS", [3] = "Window scale",
	[4] = "SACK permitted", [5] = "SACK", [8] = "Timestamps",
}

local f = ktp.fields
f.srcport = ProtoField.uint16("ktp.srcport", "Source Port")
f.dstport = ProtoField.uint16("ktp.dstport", "Destination Port")
f.port = ProtoField.uint16("ktp.port", "Source or Destination Port")
f.seq = ProtoField.uint32("ktp.seq", "Sequence Number")
f.ack = ProtoField.uint32("ktp.ack", "Acknowledgment Number")
f.hdr_len = ProtoField.uint8("ktp.hdr_len", "Header Length", base.DEC,
	nil, nil, "bytes: Data Offset times 4")
f.flags = ProtoField.uint8("ktp.flags", "Flags", base.HEX)
f.flags_res = ProtoField.uint8("ktp.flags.unknown", "Unknown flags",
	base.HEX, nil, 0xe0)
f.flags_ack = ProtoField.bool("ktp.flags.ack", "Acknowledgment", 8,
	nil, FLAG_ACK)
f.flags_psh = ProtoField.bool("ktp.flags.push", "Push", 8, nil, FLAG_PSH)
f.flags_rst = ProtoField.bool("ktp.flags.reset", "Reset", 8, nil, FLAG_RST)
f.flags_syn = ProtoField.bool("ktp.flags.syn", "Syn", 8, nil, FLAG_SYN)
f.flags_fin = ProtoField.bool("ktp.flags.fin", "Fin", 8, nil, FLAG_FIN)
f.flags_str = ProtoField.string("ktp.flags.str", "Flags")
f.window = ProtoField.uint16("ktp.window_size_value", "Window",
	base.DEC, nil, nil, "as sent: before the window scale")
f.checksum = ProtoField.uint16("ktp.checksum", "Checksum", base.HEX)
f.reserved = ProtoField.uint16("ktp.reserved", "Reserved", base.HEX)
f.options = ProtoField.bytes("ktp.options", "Options")
f.option_kind = ProtoField.uint8("ktp.option_kind", "Kind", base.DEC,
	opt_names)
f.option_len = ProtoField.uint8("ktp.option_len", "Length")
f.mss = ProtoField.uint16("ktp.options.mss_val", "MSS Value")
f.wscale = ProtoField.uint8("ktp.options.wscale.shift", "Shift count")
f.sack_perm = ProtoField.bool("ktp.options.sack_perm", "SACK permitted")
f.sack_le = ProtoField.uint32("ktp.options.sack_le", "Left edge")
f.sack_re = ProtoField.uint32("ktp.options.sack_re", "Right edge")
f.tsval = ProtoField.uint32("ktp.options.timestamp.tsval",
	"Timestamp value")
f.tsecr = ProtoField.uint32("ktp.options.timestamp.tsecr",
	"Timestamp echo reply")
f.len = ProtoField.uint32("ktp.len", "Segment Length", base.DEC, nil, nil,
	"payload bytes")
f.payload = ProtoField.bytes("ktp.payload", "Payload")

local e = {
	short = ProtoExpert.new("ktp.short", "Shorter than the 20-byte header",
		expert.group.MALFORMED, expert.severity.ERROR),
	doff = ProtoExpert.new("ktp.bad_doff",
		"Data Offset below 5 or past the segment",
		expert.group.MALFORMED, expert.severity.ERROR),
	unknown = ProtoExpert.new("ktp.unknown_bits",
		"Unknown flags or a non-zero Reserved field: KTP drops this",
		expert.group.PROTOCOL, expert.severity.WARN),
	opt = ProtoExpert.new("ktp.bad_option", "Option runs past the header",
		expert.group.MALFORMED, expert.severity.ERROR),
}
ktp.experts = { e.short, e.doff, e.unknown, e.opt }

ktp.prefs.ipproto = Pref.uint("IP protocol number", 253,
	"The IP protocol number KTP segments travel in (the module's ipproto)")

-- "[SYN, ACK]" as Wireshark's TCP writes it, and tcpdump's "S." for -T.
local function flag_names(flags)
	local names, short = {}, ""
	local order = {
		{ FLAG_FIN, "FIN", "F" }, { FLAG_SYN, "SYN", "S" },
		{ FLAG_RST, "RST", "R" }, { FLAG_PSH, "PSH", "P" },
		{ FLAG_ACK, "ACK", "." },
	}
	for _, b in ipairs(order) do
		if bit.band(flags, b[1]) ~= 0 then
			names[#names + 1] = b[2]
			short = short .. b[3]
		end
	end
	if short == "" then
		short = "none"
	end
	return table.concat(names, ", "), short
end

-- One option at offset @off of @opts (a TvbRange); returns its length.
local function dissect_option(opts, off, tree)
	local kind = opts(off, 1):uint()

	if kind == 0 or kind == 1 then
		local t = tree:add(f.option_kind, opts(off, 1))
		t:set_text(opt_names[kind])
		return 1
	end
	if off + 2 > opts:len() then
		tree:add_proto_expert_info(e.opt)
		return opts:len() - off
	end
	local len = opts(off + 1, 1):uint()
	if len < 2 or off + len > opts:len() then
		tree:add_proto_expert_info(e.opt)
		return opts:len() - off
	end
	local name = opt_names[kind] or ("Kind " .. kind)
	local t = tree:add(opts(off, len), name)
	t:add(f.option_kind, opts(off, 1))
	t:add(f.option_len, opts(off + 1, 1))
	if kind == 2 and len == 4 then
		t:add(f.mss, opts(off + 2, 2))
		t:append_text(": " .. opts(off + 2, 2):uint())
	elseif kind == 3 and len == 3 then
		t:add(f.wscale, opts(off + 2, 1))
		t:append_text(": " .. opts(off + 2, 1):uint())
	elseif kind == 4 and len == 2 then
		t:add(f.sack_perm, opts(off, 2), true)
	elseif kind == 5 then
		for b = off + 2, off + len - 8, 8 do
			t:add(f.sack_le, opts(b, 4))
			t:add(f.sack_re, opts(b + 4, 4))
		end
	elseif kind == 8 and len == 10 then
		t:add(f.tsval, opts(off + 2, 4))
		t:add(f.tsecr, opts(off + 6, 4))
	end
	return len
end

local function dissect_flags(tvb, tree)
	local flags = tvb(13, 1):uint()
	local names, short = flag_names(flags)
	local t = tree:add(f.flags, tvb(13, 1))

	t:append_text(" (" .. (names == "" and "none" or names) .. ")")
	t:add(f.flags_res, tvb(13, 1))
	t:add(f.flags_ack, tvb(13, 1))
	t:add(f.flags_psh, tvb(13, 1))
	t:add(f.flags_rst, tvb(13, 1))
	t:add(f.flags_syn, tvb(13, 1))
	t:add(f.flags_fin, tvb(13, 1))
	t:add(f.flags_str, tvb(13, 1), short)
	if bit.band(flags, bit.bnot(FLAG_MASK)) ~= 0 then
		t:add_proto_expert_info(e.unknown)
	end
	return flags, names
end

function ktp.dissector(tvb, pinfo, root)
	pinfo.cols.protocol = "KTP"
	local tree = root:add(ktp, tvb())
	if tvb:len() < HDR_LEN then
		tree:add_proto_expert_info(e.short)
		pinfo.cols.info = "[Malformed KTP: " .. tvb:len() .. " bytes]"
		return
	end

	local sport, dport = tvb(0, 2):uint(), tvb(2, 2):uint()
	tree:add(f.srcport, tvb(0, 2))
	tree:add(f.dstport, tvb(2, 2))
	tree:add(f.port, tvb(0, 2)):set_hidden()
	tree:add(f.port, tvb(2, 2)):set_hidden()
	tree:add(f.seq, tvb(4, 4))
	tree:add(f.ack, tvb(8, 4))
	local hlen = tvb(12, 1):uint() * 4
	local ht = tree:add(f.hdr_len, tvb(12, 1), hlen)
	ht:append_text(" (" .. hlen / 4 .. ")")
	local flags, names = dissect_flags(tvb, tree)
	tree:add(f.window, tvb(14, 2))
	tree:add(f.checksum, tvb(16, 2)):append_text(" [not verified]")
	local rt = tree:add(f.reserved, tvb(18, 2))
	if tvb(18, 2):uint() ~= 0 then
		rt:add_proto_expert_info(e.unknown)
	end
	if hlen < HDR_LEN or hlen > tvb:len() then
		ht:add_proto_expert_info(e.doff)
		hlen = HDR_LEN
	end

	tree:append_text(", Src Port: " .. sport .. ", Dst Port: " .. dport ..
		", Seq: " .. tvb(4, 4):uint())
	if hlen > HDR_LEN then
		local opts = tvb(HDR_LEN, hlen - HDR_LEN)
		local ot = tree:add(f.options, opts)
		local off = 0
		while off < opts:len() do
			off = off + dissect_option(opts, off, ot)
		end
	end

	local paylen = tvb:len() - hlen
	tree:add(f.len, paylen):set_generated()
	if paylen > 0 then
		tree:add(f.payload, tvb(hlen, paylen))
	end

	local info = sport .. " \226\134\146 " .. dport .. " [" .. names ..
		"] Seq=" .. tvb(4, 4):uint()
	if bit.band(flags, FLAG_ACK) ~= 0 then
		info = info .. " Ack=" .. tvb(8, 4):uint()
	end
	pinfo.cols.info = info .. " Win=" .. tvb(14, 2):uint() ..
		" Len=" .. paylen
	return tvb:len()
end

local registered = nil

local function register()
	local ipt = DissectorTable.get("ip.proto")

	if registered then
		ipt:remove(registered, ktp)
	end
	registered = ktp.prefs.ipproto
	ipt:add(registered, ktp)
end

function ktp.prefs_changed()
	if registered ~= ktp.prefs.ipproto then
		register()
	end
end

register()
