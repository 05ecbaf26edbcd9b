// SPDX-License-Identifier: GPL-2.0
/*
 * ktpdump's segment codec on crafted bytes: checksums against a second
 * implementation and a known answer, and the exact line printed for each
 * kind of segment, in each numbering.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ktp_seg.h"
#include "ref_csum.h"
#include "kselftest_harness.h"

#define PROTO 253

static const uint8_t cli[4] = { 192, 0, 2, 2 };
static const uint8_t srv[4] = { 192, 0, 2, 1 };
static const uint8_t mss1460[4] = { KTPOPT_MSS, KTPOLEN_MSS, 0x05, 0xb4 };

static uint8_t pkt[70000];

/* An IPv4 datagram from @src to @dst carrying @sp; returns its length. */
static size_t mkpkt(const uint8_t *src, const uint8_t *dst,
		    const struct ktp_seg_spec *sp)
{
	long n = ktp_seg_build(pkt + 20, sizeof(pkt) - 20, sp, AF_INET, src,
			       dst, PROTO);

	if (n < 0)
		return 0;
	return ktp_ip4_wrap(pkt, src, dst, PROTO, (size_t)n, 1);
}

/* The line for pkt[0..len), numbered through @fl, or absolute. */
static const char *line_of(size_t len, struct ktp_flows *fl, int mode)
{
	static char buf[512];
	struct ktp_seq_ctx ctx;
	struct ktp_seg seg;

	if (ktp_seg_from_ip(&seg, pkt, len, PROTO))
		return "(not ktp)";
	if (fl) {
		ktp_flows_track(fl, &seg, &ctx);
		ktp_seg_format(buf, sizeof(buf), &seg, &ctx, mode, false);
	} else {
		ktp_seg_format(buf, sizeof(buf), &seg, NULL, KTP_SEQ_ABSOLUTE,
			       false);
	}
	return buf;
}

TEST(csum_known_answer)
{
	/* computed by an independent script over the same bytes */
	struct ktp_seg_spec sp = {
		.sport = 40000, .dport = 8000, .seq = 1000, .flags = 2,
		.doff = -1, .window = 65535, .opt = mss1460, .optlen = 4,
	};
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	uint8_t seg[64];

	ASSERT_EQ(24, ktp_seg_build(seg, sizeof(seg), &sp, AF_INET, lo, lo,
				    PROTO));
	EXPECT_EQ(0x33, seg[16]);
	EXPECT_EQ(0xc5, seg[17]);
}

TEST(csum_known_answer_payload)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	struct ktp_seg_spec sp = {
		.sport = 8000, .dport = 40000, .seq = 5000, .ack = 1001,
		.flags = KTP_FLAG_PSH | KTP_FLAG_ACK, .doff = -1,
		.window = 1024, .payload = (const uint8_t *)"hello",
		.paylen = 5,
	};
	uint8_t seg[64];

	ASSERT_EQ(25, ktp_seg_build(seg, sizeof(seg), &sp, AF_INET, a, b,
				    PROTO));
	EXPECT_EQ(0xcb0a, seg[16] << 8 | seg[17]);
}

TEST(csum_matches_reference)
{
	struct ktp_seg_spec sp = { .doff = -1 };
	uint8_t seg[2100];
	long n;
	int len;

	/* odd and even lengths, carries in every position */
	for (len = 0; len < 2048; len += 37) {
		sp.sport = (uint16_t)(len * 977);
		sp.dport = 0xffff;
		sp.seq = 0xffffffffu - len;
		sp.ack = (uint32_t)len * 2654435761u;
		sp.flags = (uint8_t)(len & KTP_FLAG_MASK);
		sp.window = (uint16_t)~len;
		sp.paylen = (size_t)len;
		n = ktp_seg_build(seg, sizeof(seg), &sp, AF_INET, cli, srv,
				  PROTO);
		ASSERT_EQ(20 + len, n);
		seg[16] = seg[17] = 0;
		n = ktp_csum_compute(AF_INET, cli, srv, PROTO, seg, (size_t)n);
		EXPECT_EQ(ref_csum4(cli, srv, PROTO, seg, 20 + len), n);
	}
}

TEST(csum_verdicts)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .paylen = 11 };
	uint8_t seg[64];
	uint16_t partial;

	ASSERT_EQ(31, ktp_seg_build(seg, sizeof(seg), &sp, AF_INET, cli, srv,
				    PROTO));
	EXPECT_EQ(KTP_CSUM_OK, ktp_csum_verify(AF_INET, cli, srv, PROTO, seg,
					       31));
	/* the pseudo-header covers the addresses and the protocol */
	EXPECT_EQ(KTP_CSUM_BAD, ktp_csum_verify(AF_INET, srv, srv, PROTO, seg,
						31));
	EXPECT_EQ(KTP_CSUM_BAD, ktp_csum_verify(AF_INET, cli, srv, 254, seg,
						31));
	seg[30] ^= 1;
	EXPECT_EQ(KTP_CSUM_BAD, ktp_csum_verify(AF_INET, cli, srv, PROTO, seg,
						31));
	/* what CHECKSUM_PARTIAL leaves: the folded pseudo-header sum */
	partial = ktp_csum_fold(ktp_csum_pseudo(AF_INET, cli, srv, 31, PROTO));
	seg[16] = partial >> 8;
	seg[17] = partial & 0xff;
	EXPECT_EQ(KTP_CSUM_PARTIAL, ktp_csum_verify(AF_INET, cli, srv, PROTO,
						    seg, 31));
}

TEST(ip4_header_checksum)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1 };
	size_t len = mkpkt(cli, srv, &sp);

	ASSERT_EQ(40, len);
	EXPECT_EQ(0x45, pkt[0]);
	EXPECT_EQ(PROTO, pkt[9]);
	EXPECT_EQ(0xffff, ktp_csum_fold(ktp_csum_add(0, pkt, 20)));
}

TEST(flags_in_tcpdump_order)
{
	static const struct {
		uint8_t flags;
		const char *str;
	} t[] = {
		{ KTP_FLAG_SYN, "S" },
		{ KTP_FLAG_SYN | KTP_FLAG_ACK, "S." },
		{ KTP_FLAG_ACK, "." },
		{ KTP_FLAG_FIN | KTP_FLAG_ACK, "F." },
		{ KTP_FLAG_RST, "R" },
		{ KTP_FLAG_RST | KTP_FLAG_ACK, "R." },
		{ KTP_FLAG_PSH | KTP_FLAG_ACK, "P." },
		{ KTP_FLAG_FIN | KTP_FLAG_PSH | KTP_FLAG_ACK, "FP." },
		{ 0, "none" },
	};
	char buf[8];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		EXPECT_STREQ(t[i].str, ktp_flags_str(t[i].flags, buf));
		EXPECT_EQ(t[i].flags, ktp_flags_parse(t[i].str));
	}
	EXPECT_EQ(-1, ktp_flags_parse("SX"));
	EXPECT_EQ(-1, ktp_flags_parse(""));
}

/* A handshake, data and a FIN, as each numbering prints them. */
static const struct {
	bool from_cli;
	struct ktp_seg_spec sp;
	const char *rel, *isn;
} conv[] = {
	{ true, { .seq = 1000, .flags = KTP_FLAG_SYN, .opt = mss1460,
		  .optlen = 4 },
	  "[S] seq 0, win 65535, options [mss 1460], length 0",
	  "[S] seq 1000 (x), win 65535, options [mss 1460], length 0" },
	{ false, { .seq = 5000, .ack = 1001,
		   .flags = KTP_FLAG_SYN | KTP_FLAG_ACK, .opt = mss1460,
		   .optlen = 4 },
	  "[S.] seq 0, ack 1, win 65535, options [mss 1460], length 0",
	  "[S.] seq 5000 (y), ack 1001 (x+1), win 65535, "
	  "options [mss 1460], length 0" },
	{ true, { .seq = 1001, .ack = 5001, .flags = KTP_FLAG_ACK },
	  "[.] seq 1, ack 1, win 65535, length 0",
	  "[.] seq 1001 (x+1), ack 5001 (y+1), win 65535, length 0" },
	{ true, { .seq = 1001, .ack = 5001,
		  .flags = KTP_FLAG_PSH | KTP_FLAG_ACK, .paylen = 5 },
	  "[P.] seq 1, ack 1, win 65535, length 5",
	  "[P.] seq 1001 (x+1), ack 5001 (y+1), win 65535, length 5" },
	{ false, { .seq = 5001, .ack = 1006, .flags = KTP_FLAG_ACK },
	  "[.] seq 1, ack 6, win 65535, length 0",
	  "[.] seq 5001 (y+1), ack 1006 (x+6), win 65535, length 0" },
	{ true, { .seq = 1006, .ack = 5001,
		  .flags = KTP_FLAG_FIN | KTP_FLAG_ACK },
	  "[F.] seq 6, ack 1, win 65535, length 0",
	  "[F.] seq 1006 (x+6), ack 5001 (y+1), win 65535, length 0" },
};

static void run_conv(struct __test_metadata *_metadata, int mode)
{
	static struct ktp_flows fl;
	struct ktp_seg_spec sp;
	char want[256], abs[64];
	size_t i, len;

	memset(&fl, 0, sizeof(fl));
	for (i = 0; i < sizeof(conv) / sizeof(conv[0]); i++) {
		sp = conv[i].sp;
		sp.sport = conv[i].from_cli ? 40000 : 8000;
		sp.dport = conv[i].from_cli ? 8000 : 40000;
		sp.doff = -1;
		sp.window = 65535;
		len = mkpkt(conv[i].from_cli ? cli : srv,
			    conv[i].from_cli ? srv : cli, &sp);
		snprintf(want, sizeof(want), "%s > %s: %s",
			 conv[i].from_cli ? "192.0.2.2:40000" : "192.0.2.1:8000",
			 conv[i].from_cli ? "192.0.2.1:8000" : "192.0.2.2:40000",
			 mode == KTP_SEQ_RELATIVE ? conv[i].rel : conv[i].isn);
		if (mode == KTP_SEQ_ABSOLUTE) {
			/* the ISN line without its "(x+N)" notes */
			char *p;

			while ((p = strstr(want, " ("))) {
				snprintf(abs, sizeof(abs), "%s",
					 strchr(p, ')') + 1);
				strcpy(p, abs);
			}
		}
		EXPECT_STREQ(want, line_of(len, &fl, mode));
	}
}

TEST(conversation_relative)
{
	run_conv(_metadata, KTP_SEQ_RELATIVE);
}

TEST(conversation_isn_arithmetic)
{
	run_conv(_metadata, KTP_SEQ_ISN);
}

TEST(conversation_absolute)
{
	run_conv(_metadata, KTP_SEQ_ABSOLUTE);
}

TEST(rst_to_closed_port)
{
	struct ktp_seg_spec syn = { .sport = 40000, .dport = 9999,
				    .seq = 77, .flags = KTP_FLAG_SYN,
				    .doff = -1, .window = 1000 };
	struct ktp_seg_spec rst = { .sport = 9999, .dport = 40000,
				    .seq = 0, .ack = 78, .doff = -1,
				    .flags = KTP_FLAG_RST | KTP_FLAG_ACK };
	struct ktp_flows fl = { 0 };
	size_t len;

	len = mkpkt(cli, srv, &syn);
	EXPECT_STREQ("192.0.2.2:40000 > 192.0.2.1:9999: [S] seq 0, win 1000, "
		     "length 0", line_of(len, &fl, KTP_SEQ_RELATIVE));
	/* the RST's own side has no ISN: its seq stays absolute */
	len = mkpkt(srv, cli, &rst);
	EXPECT_STREQ("192.0.2.1:9999 > 192.0.2.2:40000: [R.] seq 0, ack 1, "
		     "win 0, length 0", line_of(len, &fl, KTP_SEQ_RELATIVE));
}

TEST(new_syn_restarts_numbering)
{
	struct ktp_seg_spec sp = { .sport = 40000, .dport = 8000, .seq = 10,
				   .flags = KTP_FLAG_SYN, .doff = -1 };
	struct ktp_flows fl = { 0 };
	size_t len;

	len = mkpkt(cli, srv, &sp);
	line_of(len, &fl, KTP_SEQ_RELATIVE);
	sp.seq = 500;
	len = mkpkt(cli, srv, &sp);
	EXPECT_STREQ("192.0.2.2:40000 > 192.0.2.1:8000: [S] seq 0, win 0, "
		     "length 0", line_of(len, &fl, KTP_SEQ_RELATIVE));
	sp.flags = KTP_FLAG_ACK;
	sp.seq = 501;
	sp.ack = 7;
	len = mkpkt(cli, srv, &sp);
	/* the other side's ISN is not known: its ack stays absolute */
	EXPECT_STREQ("192.0.2.2:40000 > 192.0.2.1:8000: [.] seq 1, ack 7, "
		     "win 0, length 0", line_of(len, &fl, KTP_SEQ_RELATIVE));
}

TEST(isn_arithmetic_below_isn)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .seq = 100,
				   .flags = KTP_FLAG_SYN, .doff = -1 };
	struct ktp_flows fl = { 0 };
	size_t len;

	len = mkpkt(cli, srv, &sp);
	line_of(len, &fl, KTP_SEQ_ISN);
	sp.flags = 0;
	sp.seq = 98;
	len = mkpkt(cli, srv, &sp);
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [none] seq 98 (x-2), win 0, "
		     "length 0", line_of(len, &fl, KTP_SEQ_ISN));
}

TEST(options_all_kinds)
{
	static const uint8_t opt[] = {
		KTPOPT_MSS, 4, 0x05, 0xb4,
		KTPOPT_NOP,
		KTPOPT_WSCALE, 3, 7,
		KTPOPT_SACK_PERM, 2,
		KTPOPT_TIMESTAMP, 10, 0, 0, 0, 1, 0, 0, 0, 2,
		KTPOPT_SACK, 10, 0, 0, 0x13, 0x8d, 0, 0, 0x13, 0xf1,
		99, 3, 0,
		KTPOPT_EOL,
	};
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .flags = KTP_FLAG_ACK, .seq = 1,
				   .ack = 5001, .opt = opt,
				   .optlen = sizeof(opt) };
	size_t len = mkpkt(cli, srv, &sp);

	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [.] seq 1, ack 5001, win 0, "
		     "options [mss 1460,nop,wscale 7,sackOK,TS val 1 ecr 2,"
		     "sack 1 {5005:5105},opt-99 len 3,eol], length 0",
		     line_of(len, NULL, 0));
}

TEST(options_parsed)
{
	static const uint8_t opt[] = {
		KTPOPT_NOP, KTPOPT_MSS, 4, 0x02, 0x18,
		KTPOPT_WSCALE, 3, 14, KTPOPT_SACK_PERM, 2,
		KTPOPT_TIMESTAMP, 10, 0, 0, 0, 9, 0, 0, 0, 8,
		KTPOPT_SACK, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
	};
	struct ktp_seg_opts o;

	ASSERT_TRUE(ktp_opts_parse(&o, opt, sizeof(opt)));
	EXPECT_EQ(536, o.mss);
	EXPECT_EQ(14, o.wscale);
	EXPECT_TRUE(o.sack_perm);
	EXPECT_TRUE(o.ts);
	EXPECT_EQ(9, o.ts_val);
	EXPECT_EQ(8, o.ts_ecr);
	ASSERT_EQ(2, o.nsack);
	EXPECT_EQ(3, o.sack[1][0]);
	EXPECT_EQ(4, o.sack[1][1]);
	EXPECT_EQ(5, o.count);
	EXPECT_FALSE(o.bad);
	/* a length that runs past the end */
	EXPECT_FALSE(ktp_opts_parse(&o, (const uint8_t *)"\x02\x08\x05\xb4",
				    4));
	EXPECT_TRUE(o.bad);
	EXPECT_FALSE(ktp_opts_parse(&o, (const uint8_t *)"\x02\x01", 2));
}

TEST(malformed_options_flagged)
{
	static const uint8_t opt[] = { KTPOPT_MSS, 9, 0, 0 };
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .opt = opt, .optlen = sizeof(opt) };
	size_t len = mkpkt(cli, srv, &sp);

	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [none] seq 0, win 0, "
		     "options [bad-opt 2], length 0, bad-opts",
		     line_of(len, NULL, 0));
}

TEST(header_anomalies)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .flags = KTP_FLAG_SYN | 0x40,
				   .reserved = 0x8000 };
	size_t len = mkpkt(cli, srv, &sp);

	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [S] seq 0, win 0, length 0, "
		     "flags 0x42, reserved 0x8000", line_of(len, NULL, 0));

	sp.flags = KTP_FLAG_SYN;
	sp.reserved = 0;
	sp.doff = 3;
	sp.paylen = 8;
	len = mkpkt(cli, srv, &sp);
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [S] seq 0, win 0, length 8, "
		     "bad-doff 3", line_of(len, NULL, 0));

	sp.doff = 9;		/* 36 bytes of header in a 28-byte segment */
	len = mkpkt(cli, srv, &sp);
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [S] seq 0, win 0, length 8, "
		     "bad-doff 9", line_of(len, NULL, 0));
}

TEST(bad_and_partial_checksums)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .csum = KTP_BUILD_CSUM_RAW,
				   .csum_raw = 0x1234 };
	uint16_t partial;
	size_t len = mkpkt(cli, srv, &sp);

	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [none] seq 0, win 0, "
		     "length 0, bad-csum 0x1234", line_of(len, NULL, 0));
	partial = ktp_csum_fold(ktp_csum_pseudo(AF_INET, cli, srv, 20, PROTO));
	sp.csum_raw = partial;
	len = mkpkt(cli, srv, &sp);
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [none] seq 0, win 0, "
		     "length 0, csum-partial", line_of(len, NULL, 0));
	sp.csum = KTP_BUILD_CSUM_BAD;
	len = mkpkt(cli, srv, &sp);
	EXPECT_NE(NULL, strstr(line_of(len, NULL, 0), "bad-csum"));
}

TEST(truncated_capture)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .paylen = 100 };
	size_t len = mkpkt(cli, srv, &sp);

	/* the header is there, not all the payload: no checksum verdict */
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [none] seq 0, win 0, "
		     "length 100, truncated", line_of(len - 50, NULL, 0));
	/* not even the header */
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [|ktp] length 120",
		     line_of(30, NULL, 0));
}

TEST(quiet_lines)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1,
				   .flags = KTP_FLAG_PSH | KTP_FLAG_ACK,
				   .paylen = 3 };
	struct ktp_seg seg;
	char buf[128];
	size_t len = mkpkt(cli, srv, &sp);
	int full;

	ASSERT_EQ(0, ktp_seg_from_ip(&seg, pkt, len, PROTO));
	full = ktp_seg_format(buf, sizeof(buf), &seg, NULL, KTP_SEQ_RELATIVE,
			      true);
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [P.] length 3", buf);
	EXPECT_EQ((int)strlen(buf), full);
	/* a short buffer is cut, never overrun */
	EXPECT_EQ(full, ktp_seg_format(buf, 8, &seg, NULL, 0, true));
	EXPECT_STREQ("192.0.2", buf);
}

TEST(other_datagrams_ignored)
{
	struct ktp_seg_spec sp = { .sport = 1, .dport = 2, .doff = -1 };
	struct ktp_seg seg;
	size_t len = mkpkt(cli, srv, &sp);

	EXPECT_EQ(-1, ktp_seg_from_ip(&seg, pkt, len, 6));
	EXPECT_EQ(-1, ktp_seg_from_ip(&seg, pkt, 19, PROTO));
	EXPECT_EQ(-1, ktp_seg_from_ip(&seg, pkt, 0, PROTO));
	pkt[0] = 0x55;		/* not IPv4 nor IPv6 */
	EXPECT_EQ(-1, ktp_seg_from_ip(&seg, pkt, len, PROTO));
	pkt[0] = 0x45;
	pkt[7] = 0x10;		/* a later fragment */
	EXPECT_EQ(-1, ktp_seg_from_ip(&seg, pkt, len, PROTO));
	pkt[6] = 0x20;		/* MF, offset 0: the first fragment */
	pkt[7] = 0;
	ASSERT_EQ(0, ktp_seg_from_ip(&seg, pkt, len, PROTO));
	EXPECT_EQ(KTP_CSUM_UNCHECKED, seg.csum);
	EXPECT_STREQ("192.0.2.2:1 > 192.0.2.1:2: [none] seq 0, win 0, "
		     "length 0, frag", line_of(len, NULL, 0));
}

TEST(ipv6_with_extension_header)
{
	static const uint8_t one[16] = { [15] = 1 };
	struct ktp_seg_spec sp = { .sport = 40000, .dport = 8000, .seq = 9,
				   .flags = KTP_FLAG_SYN, .doff = -1,
				   .window = 100, .paylen = 3 };
	struct ktp_seg seg;
	long n;

	memset(pkt, 0, 48);
	pkt[0] = 0x60;
	pkt[6] = 0;		/* next header: hop-by-hop options */
	pkt[7] = 64;
	memcpy(pkt + 8, one, 16);
	memcpy(pkt + 24, one, 16);
	pkt[40] = PROTO;	/* hop-by-hop: next header, length 0 (8 bytes) */
	n = ktp_seg_build(pkt + 48, 100, &sp, AF_INET6, one, one, PROTO);
	ASSERT_EQ(23, n);
	pkt[5] = (uint8_t)(8 + n);
	ASSERT_EQ(0, ktp_seg_from_ip(&seg, pkt, 48 + n, PROTO));
	EXPECT_EQ(AF_INET6, seg.family);
	EXPECT_EQ(KTP_CSUM_OK, seg.csum);
	EXPECT_STREQ("[::1]:40000 > [::1]:8000: [S] seq 9, win 100, "
		     "length 3", line_of(48 + n, NULL, 0));
}

TEST(builder_pads_options_and_fills_payload)
{
	static const uint8_t opt[] = { KTPOPT_WSCALE, 3, 7 };
	struct ktp_seg_spec sp = { .sport = 0x0102, .dport = 0x0304,
				   .seq = 0x05060708, .ack = 0x090a0b0c,
				   .flags = KTP_FLAG_ACK, .doff = -1,
				   .window = 0x0d0e, .opt = opt,
				   .optlen = sizeof(opt), .paylen = 28 };
	uint8_t seg[64];

	ASSERT_EQ(52, ktp_seg_build(seg, sizeof(seg), &sp, AF_INET, cli, srv,
				    PROTO));
	EXPECT_EQ(0, memcmp(seg, "\x01\x02\x03\x04\x05\x06\x07\x08"
			    "\x09\x0a\x0b\x0c\x06\x10\x0d\x0e", 16));
	EXPECT_EQ(0, seg[18] | seg[19]);		/* reserved */
	EXPECT_EQ(0, memcmp(seg + 20, "\x03\x03\x07\x00", 4)); /* EOL pad */
	EXPECT_EQ('a', seg[24]);
	EXPECT_EQ('b', seg[51]);			/* 'a' + 27 % 26 */
	EXPECT_EQ(-1, ktp_seg_build(seg, 51, &sp, AF_INET, cli, srv, PROTO));
}

TEST(addresses)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
	char buf[64];

	ktp_addr_format(buf, sizeof(buf), AF_INET, cli, 65535);
	EXPECT_STREQ("192.0.2.2:65535", buf);
	ktp_addr_format(buf, sizeof(buf), AF_INET6, v6, 1);
	EXPECT_STREQ("[2001:db8::5]:1", buf);
}

TEST_HARNESS_MAIN
