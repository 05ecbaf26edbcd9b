// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_inject's script parser on the host: every statement form, the
 * option bytes an inject line builds, the rejection of malformed lines
 * with their line numbers, and the counters file in both layouts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ktp_inject_script.h"
#include "kselftest_harness.h"

static char err[256];

/* Parse one line that must be a statement. */
static struct stmt parse_ok(struct __test_metadata *_metadata,
			    const char *line)
{
	struct stmt st;
	int rc = script_parse_line(line, 7, &st, err, sizeof(err));

	if (rc != 1)
		TH_LOG("'%s': %s", line, rc < 0 ? err : "no statement");
	EXPECT_EQ(1, rc);
	return st;
}

#define OK(line) parse_ok(_metadata, line)

TEST(blank_and_comment_lines)
{
	struct stmt st;

	EXPECT_EQ(0, script_parse_line("", 1, &st, err, sizeof(err)));
	EXPECT_EQ(0, script_parse_line("   \t \n", 1, &st, err, sizeof(err)));
	EXPECT_EQ(0, script_parse_line("# inject S", 1, &st, err,
				       sizeof(err)));
	st = OK("listen 4   # a comment after a statement");
	EXPECT_EQ(ST_LISTEN, st.kind);
	EXPECT_EQ(4, st.num);
	EXPECT_STREQ("listen 4", st.src);
	EXPECT_EQ(7, st.line);
}

TEST(socket_calls)
{
	struct stmt st;

	st = OK("socket");
	EXPECT_EQ(ST_SOCKET, st.kind);
	EXPECT_FALSE(st.blocking);
	EXPECT_TRUE(OK("socket blocking").blocking);

	st = OK("bind 8000");
	EXPECT_EQ(ST_BIND, st.kind);
	EXPECT_EQ(8000, st.port);
	EXPECT_FALSE(st.addr_set);
	st = OK("bind *:8001");
	EXPECT_TRUE(st.addr_set);
	EXPECT_EQ(0, st.addr[0] | st.addr[1] | st.addr[2] | st.addr[3]);
	st = OK("bind 127.0.0.1:8002");
	EXPECT_EQ(0, memcmp(st.addr, "\x7f\0\0\x01", 4));
	EXPECT_EQ(8002, st.port);

	EXPECT_EQ(8, OK("listen").num);
	EXPECT_EQ(ST_ACCEPT, OK("accept").kind);

	st = OK("connect 192.0.2.9:9000 expect EINPROGRESS");
	EXPECT_EQ(ST_CONNECT, st.kind);
	EXPECT_EQ(9000, st.port);
	EXPECT_EQ(9, st.addr[3]);
	EXPECT_TRUE(st.ret.set);
	EXPECT_TRUE(st.ret.is_errno);
	EXPECT_EQ(EINPROGRESS, st.ret.value);

	EXPECT_EQ(ST_CLOSE, OK("close").kind);
	EXPECT_EQ(SHUT_RD, OK("shutdown rd").num);
	EXPECT_EQ(SHUT_WR, OK("shutdown wr").num);
	EXPECT_EQ(SHUT_RDWR, OK("shutdown rdwr").num);

	st = OK("send 100");
	EXPECT_EQ(ST_SEND, st.kind);
	EXPECT_EQ(100, st.num);
	EXPECT_FALSE(st.ret.set);
	st = OK("recv 100 expect 0");
	EXPECT_EQ(ST_RECV, st.kind);
	EXPECT_TRUE(st.ret.set);
	EXPECT_FALSE(st.ret.is_errno);
	EXPECT_EQ(0, st.ret.value);
	EXPECT_EQ(EAGAIN, OK("recv 1 expect EAGAIN").ret.value);

	st = OK("setsockopt KTP_NODELAY 1");
	EXPECT_EQ(SOL_KTP, st.optlevel);
	EXPECT_EQ(KTP_NODELAY, st.optname);
	EXPECT_EQ(1, st.optval);
	st = OK("setsockopt KTP_CORK 1");
	EXPECT_EQ(SOL_KTP, st.optlevel);
	EXPECT_EQ(KTP_CORK, st.optname);
	EXPECT_EQ(KTP_KEEPIDLE, OK("setsockopt KTP_KEEPIDLE 1").optname);
	EXPECT_EQ(SO_RCVLOWAT, OK("setsockopt SO_RCVLOWAT 9").optname);
	st = OK("setsockopt SO_LINGER 0");
	EXPECT_EQ(SOL_SOCKET, st.optlevel);
	EXPECT_EQ(SO_LINGER, st.optname);
	EXPECT_EQ(4096, OK("setsockopt SO_RCVBUF 0x1000").optval);
}

TEST(checks_and_settings)
{
	struct stmt st;

	EXPECT_EQ(SK_CHILD, OK("use child").num);
	EXPECT_EQ(SK_SOCK, OK("use sock").num);
	EXPECT_EQ(KTP_ESTABLISHED, OK("state ESTABLISHED").num);
	EXPECT_EQ(KTP_SYN_RECV, OK("state SYN_RECEIVED").num);
	EXPECT_EQ(KTP_SYN_RECV, OK("state SYN_RECV").num);
	EXPECT_EQ(KTP_FIN_WAIT1, OK("state FIN_WAIT_1").num);
	EXPECT_EQ(KTP_CLOSE, OK("state CLOSED").num);
	EXPECT_EQ(0, OK("state CLOSED").secs);
	st = OK("state CLOSED timeout=4.5");
	EXPECT_EQ(KTP_CLOSE, st.num);
	EXPECT_EQ(4.5, st.secs);
	EXPECT_EQ(ECONNREFUSED, OK("sockerr ECONNREFUSED").num);
	EXPECT_EQ(0, OK("sockerr 0").num);

	st = OK("peer 40000 isn=4294967000");
	EXPECT_EQ(ST_PEER, st.kind);
	EXPECT_EQ(40000, st.port);
	EXPECT_TRUE(st.isn_set);
	EXPECT_EQ(4294967000u, st.isn);
	EXPECT_FALSE(OK("peer 1").isn_set);
	EXPECT_EQ(9999, OK("port 9999").port);

	st = OK("sleep 0.25");
	EXPECT_EQ(ST_SLEEP, st.kind);
	EXPECT_EQ(0.25, st.secs);
	st = OK("expect-none 1.5");
	EXPECT_EQ(ST_EXPECT_NONE, st.kind);
	EXPECT_EQ(1.5, st.secs);

	st = OK("counter InCsumErrors +1");
	EXPECT_EQ(ST_COUNTER, st.kind);
	EXPECT_STREQ("InCsumErrors", st.name);
	EXPECT_EQ(1, st.delta);
	EXPECT_EQ(-2, OK("counter CurrEstab -2").delta);
}

TEST(sysctl_statement)
{
	struct stmt st;
	char path[128];

	st = OK("sysctl net.ktp.tw_timeout 1");
	EXPECT_EQ(ST_SYSCTL, st.kind);
	EXPECT_STREQ("net.ktp.tw_timeout", st.name);
	EXPECT_STREQ("1", st.value);

	EXPECT_TRUE(sysctl_path("net.ktp.syn_retries", path, sizeof(path)));
	EXPECT_STREQ("/proc/sys/net/ktp/syn_retries", path);
	EXPECT_TRUE(sysctl_path("net.ipv4.conf.lo.forwarding", path,
				sizeof(path)));
	EXPECT_STREQ("/proc/sys/net/ipv4/conf/lo/forwarding", path);
	/* nothing outside a network namespace's, nothing to climb out by */
	EXPECT_FALSE(sysctl_path("kernel.panic", path, sizeof(path)));
	EXPECT_FALSE(sysctl_path("net.", path, sizeof(path)));
	EXPECT_FALSE(sysctl_path("net.ktp.", path, sizeof(path)));
	EXPECT_FALSE(sysctl_path("net..ktp", path, sizeof(path)));
	EXPECT_FALSE(sysctl_path("net.ktp/../../x", path, sizeof(path)));
	EXPECT_FALSE(sysctl_path("net.KTP.x", path, sizeof(path)));
	EXPECT_FALSE(sysctl_path("net.ktp.tw_timeout", path, 20));
}

TEST(info_statement)
{
	struct stmt st;

	st = OK("info rcv_nxt 101");
	EXPECT_EQ(ST_INFO, st.kind);
	EXPECT_EQ(INFO_RCV_NXT, st.num);
	EXPECT_EQ(101u, st.val);
	EXPECT_EQ(INFO_PEER_ISN, info_base_of(st.num));
	EXPECT_EQ(INFO_KERNEL_ISN, info_base_of(OK("info snd_nxt 2").num));
	EXPECT_EQ(INFO_KERNEL_ISN, info_base_of(OK("info snd_una 1").num));
	st = OK("info retransmits 0x3");
	EXPECT_EQ(INFO_RETRANSMITS, st.num);
	EXPECT_EQ(3u, st.val);
	EXPECT_EQ(INFO_ABS, info_base_of(st.num));
	EXPECT_EQ(INFO_BACKOFF, OK("info backoff 2").num);
	EXPECT_EQ(INFO_RCV_QUEUE, OK("info rcv_queue 0").num);
	EXPECT_EQ(INFO_NOTSENT, OK("info notsent_bytes 0").num);
	EXPECT_EQ(INFO_TOTAL_RETRANS, OK("info total_retrans 4").num);
	EXPECT_STREQ("total_retrans", info_name(INFO_TOTAL_RETRANS));
	EXPECT_EQ(INFO_OPTIONS, OK("info options 3").num);
	EXPECT_EQ(INFO_ABS, info_base_of(INFO_OPTIONS));
	EXPECT_EQ(-1, info_parse("RCV_NXT"));
}

TEST(inject_builds_options_in_order)
{
	static const uint8_t want[] = {
		KTPOPT_MSS, 4, 0x05, 0xb4,
		KTPOPT_WSCALE, 3, 7,
		KTPOPT_SACK_PERM, 2,
		KTPOPT_NOP,
		/* the ECR is written at run time, against the base */
		KTPOPT_TIMESTAMP, 10, 0, 0, 0, 1, 0, 0, 0, 0,
		KTPOPT_EOL,
	};
	struct stmt st;

	st = OK("inject S seq=0 win=65535 mss=1460 wscale=7 sackOK nop "
		"ts=1:4294967295 eol");
	EXPECT_EQ(ST_INJECT, st.kind);
	EXPECT_EQ(KTP_FLAG_SYN, st.seg.flags);
	EXPECT_TRUE(st.seg.seq.set);
	EXPECT_EQ(0, st.seg.seq.v);
	EXPECT_EQ(65535, st.seg.win.v);
	EXPECT_FALSE(st.seg.ack.set);
	ASSERT_EQ(sizeof(want), st.seg.optlen);
	EXPECT_EQ(0, memcmp(want, st.seg.opt, sizeof(want)));
	EXPECT_EQ(-1, st.seg.sack_off);
	EXPECT_EQ(10, st.seg.ts_off);
	EXPECT_EQ(4294967295u, st.seg.ts_ecr.v);
}

TEST(inject_sack_blocks)
{
	struct stmt st = OK("inject . seq=1 ack=1 nop nop sack=1:101,201:301");

	EXPECT_EQ(KTP_FLAG_ACK, st.seg.flags);
	EXPECT_EQ(2, st.seg.nsack);
	EXPECT_EQ(201, st.seg.sack[1][0]);
	EXPECT_EQ(301, st.seg.sack[1][1]);
	/* the blocks are written against the kernel's ISN at run time */
	EXPECT_EQ(2, st.seg.sack_off);
	EXPECT_EQ(2 + 2 + 16, st.seg.optlen);
	EXPECT_EQ(KTPOPT_SACK, st.seg.opt[2]);
	EXPECT_EQ(18, st.seg.opt[3]);
}

TEST(inject_timestamps)
{
	static const uint8_t want[] = {
		KTPOPT_NOP, KTPOPT_EOL,
		KTPOPT_TIMESTAMP, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0,
	};
	struct stmt st;

	/* VAL as it is; ECR is written at run time, against the base */
	st = OK("inject . nop eol ts=0x12345678:30");
	EXPECT_TRUE(st.seg.ts);
	EXPECT_EQ(0x12345678u, st.seg.ts_val.v);
	EXPECT_EQ(30u, st.seg.ts_ecr.v);
	EXPECT_FALSE(st.seg.ts_ecr_last);
	EXPECT_EQ(2, st.seg.ts_off);
	ASSERT_EQ(sizeof(want), st.seg.optlen);
	EXPECT_EQ(0, memcmp(want, st.seg.opt, sizeof(want)));

	/* '-': the kernel's last TSval */
	st = OK("inject . ts=100:-");
	EXPECT_TRUE(st.seg.ts_ecr.set);
	EXPECT_TRUE(st.seg.ts_ecr_last);
	EXPECT_EQ(100u, st.seg.ts_val.v);
	EXPECT_EQ(0, st.seg.ts_off);
	EXPECT_EQ(10, st.seg.optlen);
	EXPECT_TRUE(OK("inject-raw . ts=1:-").seg.ts_ecr_last);
	EXPECT_EQ(-1, OK("inject . mss=1000").seg.ts_off);
	EXPECT_EQ(-1, OK("expect . ts=1:2").seg.ts_off);
}

TEST(inject_timestamps_echo)
{
	struct seq_base b = { .kisn = 7000, .peer_isn = 1000 };
	struct stmt st = OK("inject . ts=1:30");
	struct stmt last = OK("inject . ts=1:-");
	uint32_t ecr = 0;

	/* the base not known yet: the ECR goes out as written */
	EXPECT_TRUE(inject_ts_ecr(&st.seg, &b, &ecr));
	EXPECT_EQ(30u, ecr);
	EXPECT_FALSE(inject_ts_ecr(&last.seg, &b, &ecr));

	b.have_kts = true;
	b.kts = 500000;
	EXPECT_TRUE(inject_ts_ecr(&st.seg, &b, &ecr));
	EXPECT_EQ(500030u, ecr);
	/* past 2^32 it wraps, as the kernel's clock does */
	b.kts = 0xfffffff0u;
	EXPECT_TRUE(inject_ts_ecr(&st.seg, &b, &ecr));
	EXPECT_EQ(14u, ecr);

	/* '-' echoes the last TSval as it is, not counted from the base */
	b.have_kts_last = true;
	b.kts_last = 0x0000002au;
	EXPECT_TRUE(inject_ts_ecr(&last.seg, &b, &ecr));
	EXPECT_EQ(42u, ecr);

	st = OK("inject . seq=1");
	EXPECT_FALSE(inject_ts_ecr(&st.seg, &b, &ecr));
}

TEST(inject_raw_fields)
{
	struct stmt st;

	st = OK("inject-raw S seq=0 csum=bad");
	EXPECT_EQ(ST_INJECT_RAW, st.kind);
	EXPECT_EQ(KTP_BUILD_CSUM_BAD, st.seg.csum);
	st = OK("inject-raw S csum=0xbeef doff=3 reserved=1 flags=0x42 len=7");
	EXPECT_EQ(KTP_BUILD_CSUM_RAW, st.seg.csum);
	EXPECT_EQ(0xbeef, st.seg.csum_raw);
	EXPECT_EQ(3, st.seg.doff.v);
	EXPECT_EQ(1, st.seg.reserved.v);
	EXPECT_TRUE(st.seg.rawflags.set);
	EXPECT_EQ(0x42, st.seg.rawflags.v);
	EXPECT_EQ(7, st.seg.len.v);
	EXPECT_EQ(KTP_FLAG_FIN | KTP_FLAG_PSH | KTP_FLAG_ACK,
		  OK("inject FP. len=10").seg.flags);
}

TEST(expect_patterns)
{
	struct stmt st;

	st = OK("expect S. seq=0 ack=1 win=* mss=* timeout=2.5");
	EXPECT_EQ(ST_EXPECT, st.kind);
	EXPECT_EQ(KTP_FLAG_SYN | KTP_FLAG_ACK, st.seg.flags);
	EXPECT_TRUE(st.seg.win.set);
	EXPECT_TRUE(st.seg.win.any);
	EXPECT_TRUE(st.seg.mss.any);
	EXPECT_FALSE(st.seg.len.set);
	EXPECT_EQ(2.5, st.seg.timeout);
	/* expect builds no option bytes: it matches them */
	EXPECT_EQ(0, st.seg.optlen);

	st = OK("expect * seq=* after=0.9..1.5");
	EXPECT_EQ(-1, st.seg.flags);
	EXPECT_TRUE(st.seg.seq.any);
	EXPECT_TRUE(st.seg.after);
	EXPECT_EQ(0.9, st.seg.after_lo);
	EXPECT_EQ(1.5, st.seg.after_hi);
	EXPECT_EQ(-1, st.seg.timeout);
	EXPECT_FALSE(st.seg.delay);

	st = OK("expect . delay=0.49..1.5");
	EXPECT_FALSE(st.seg.after);
	EXPECT_TRUE(st.seg.delay);
	EXPECT_EQ(0.49, st.seg.delay_lo);
	EXPECT_EQ(1.5, st.seg.delay_hi);

	st = OK("expect . opts=none csum=ok len=0 doff=5");
	EXPECT_TRUE(st.seg.opts_none);
	EXPECT_EQ(1, st.seg.csum);
	EXPECT_TRUE(st.seg.len.set);
	EXPECT_EQ(5, st.seg.doff.v);

	st = OK("expect . sackOK wscale=7 ts=*:5 sack=1:2");
	EXPECT_TRUE(st.seg.sack_perm);
	EXPECT_EQ(7, st.seg.wscale.v);
	EXPECT_TRUE(st.seg.ts);
	EXPECT_TRUE(st.seg.ts_val.any);
	EXPECT_EQ(5, st.seg.ts_ecr.v);
	EXPECT_EQ(1, st.seg.nsack);
	EXPECT_EQ(-1, OK("expect . sack=*").seg.nsack);

	/* ts=: VAL a number, LO..HI or '*'; ECR a number or '*' */
	st = OK("expect . ack=1001 ts=900..1500:7");
	EXPECT_TRUE(st.seg.ts);
	EXPECT_TRUE(st.seg.ts_val.set);
	EXPECT_FALSE(st.seg.ts_val.any);
	EXPECT_EQ(900u, st.seg.ts_val.v);
	EXPECT_EQ(1500u, st.seg.ts_val_hi);
	EXPECT_EQ(7u, st.seg.ts_ecr.v);
	st = OK("expect . ts=0x10..0x10:0");
	EXPECT_EQ(16u, st.seg.ts_val.v);
	EXPECT_EQ(16u, st.seg.ts_val_hi);
	st = OK("expect . ts=0..4294967295:*");
	EXPECT_EQ(0u, st.seg.ts_val.v);
	EXPECT_EQ(4294967295u, st.seg.ts_val_hi);
	EXPECT_TRUE(st.seg.ts_ecr.any);
	st = OK("expect . ts=25:4294967295");
	EXPECT_EQ(25u, st.seg.ts_val.v);
	EXPECT_EQ(25u, st.seg.ts_val_hi);
	EXPECT_EQ(4294967295u, st.seg.ts_ecr.v);
	st = OK("expect . ts=*:*");
	EXPECT_TRUE(st.seg.ts_val.any);
	EXPECT_TRUE(st.seg.ts_ecr.any);
	st = OK("expect . ts=*");
	EXPECT_TRUE(st.seg.ts);
	EXPECT_FALSE(st.seg.ts_val.set);
	EXPECT_FALSE(st.seg.ts_ecr.set);
	EXPECT_EQ(0, OK("expect .").seg.csum);
	EXPECT_EQ(2, OK("expect . csum=*").seg.csum);
}

TEST(malformed_lines_rejected)
{
	static const struct {
		const char *line;
		const char *msg;
	} bad[] = {
		{ "frobnicate 1", "line 3: unknown statement 'frobnicate'" },
		{ "bind", "line 3: bind [ADDR:]PORT" },
		{ "bind 70000", "line 3: bad port '70000'" },
		{ "bind 0", "line 3: bad port '0'" },
		{ "bind 1.2.3:80", "line 3: bad IPv4 address '1.2.3'" },
		{ "connect *:80", "line 3: '*' is no address to reach" },
		{ "listen x", "line 3: listen [BACKLOG]" },
		{ "accept now", "line 3: accept takes no arguments" },
		{ "shutdown both", "line 3: shutdown rd|wr|rdwr" },
		{ "send -1", "line 3: send BYTES (up to 1048576)" },
		{ "recv 2000000", "line 3: recv BYTES (up to 1048576)" },
		{ "connect 80 expect EBOGUS", "line 3: unknown errno 'EBOGUS'" },
		{ "setsockopt SO_FOO 1", "line 3: unknown socket option 'SO_FOO'" },
		{ "use other", "line 3: use sock|child" },
		{ "state OPEN", "line 3: state NAME (ESTABLISHED, SYN_SENT, ...)" },
		{ "sockerr 5", "line 3: sockerr ERRNO|0" },
		{ "peer 1 isn=x", "line 3: peer PORT [isn=N]" },
		{ "sleep 61", "line 3: sleep SECONDS (up to 60)" },
		{ "expect-none -1", "line 3: expect-none SECONDS (up to 60)" },
		{ "counter InSegs 1", "line 3: counter NAME +N: bad '1'" },
		{ "sysctl net.ktp.tw_timeout",
		  "line 3: sysctl net.NAME VALUE (a network namespace's, "
		  "like net.ktp.tw_timeout)" },
		{ "sysctl kernel.panic 1",
		  "line 3: sysctl net.NAME VALUE (a network namespace's, "
		  "like net.ktp.tw_timeout)" },
		{ "sysctl net.ktp.x 123456789012345678901234567890123",
		  "line 3: sysctl value '123456789012345678901234567890123' "
		  "too long" },
		{ "info rcv_nxt",
		  "line 3: info FIELD VALUE (snd_una, snd_nxt, rcv_nxt, "
		  "rcv_queue, ...)" },
		{ "info window 1",
		  "line 3: info FIELD VALUE (snd_una, snd_nxt, rcv_nxt, "
		  "rcv_queue, ...)" },
		{ "info rcv_nxt -1", "line 3: info rcv_nxt: bad value '-1'" },
		{ "inject", "line 3: segments need flags, like S or S. or ." },
		{ "inject SYN", "line 3: bad flags 'SYN' (letters of FSRP.)" },
		{ "inject * seq=0", "line 3: bad flags '*' (letters of FSRP.)" },
		{ "inject S seq=*", "line 3: seq=* only matches, in expect" },
		{ "inject S seq=1 seq=2", "line 3: seq given twice" },
		{ "inject S seq=-1", "line 3: bad value '-1' for seq" },
		{ "inject S seq=4294967296",
		  "line 3: bad value '4294967296' for seq" },
		{ "inject S win=65536", "line 3: bad value '65536' for win" },
		{ "inject S csum=bad", "line 3: csum=bad is for inject-raw" },
		{ "inject S doff=3", "line 3: doff= is for inject-raw" },
		{ "expect S flags=0x40", "line 3: flags= is for inject-raw" },
		{ "inject S timeout=1", "line 3: timeout= is for expect" },
		{ "expect S after=2..1", "line 3: bad after=2..1" },
		{ "expect S after=1", "line 3: after= wants LO..HI seconds" },
		{ "expect S delay=1", "line 3: delay= wants LO..HI seconds" },
		{ "expect S delay=1..0", "line 3: bad delay=1..0" },
		{ "inject S delay=0..1", "line 3: delay= is for expect" },
		{ "state CLOSED timeout=x",
		  "line 3: state NAME [timeout=SECONDS]" },
		{ "expect S nop", "line 3: 'nop' is for inject" },
		{ "expect S csum=bad", "line 3: csum=bad is for inject-raw" },
		{ "inject S opts=none",
		  "line 3: opts=none is the only opts=, in expect" },
		{ "inject S bogus", "line 3: unknown word 'bogus'" },
		{ "inject S color=red", "line 3: unknown field 'color='" },
		{ "inject S sack=1-2", "line 3: SACK block '1-2' is not START:END" },
		{ "inject S ts=1", "line 3: ts= wants VAL:ECR" },
		{ "expect S ts=", "line 3: ts= wants VAL:ECR" },
		{ "inject S ts=*", "line 3: ts= wants VAL:ECR" },
		{ "inject S ts=*:1",
		  "line 3: ts val=* only matches, in expect" },
		{ "inject S ts=1:*",
		  "line 3: ts ecr=* only matches, in expect" },
		{ "inject S ts=1..2:3",
		  "line 3: ts=LO..HI:ECR only matches, in expect" },
		{ "expect . ts=1:-", "line 3: ts=VAL:- is for inject" },
		{ "expect . ts=5..4:1", "line 3: bad ts range '5..4'" },
		{ "expect . ts=..4:1", "line 3: bad ts range '..4'" },
		{ "expect . ts=4..:1", "line 3: bad ts range '4..'" },
		{ "expect . ts=1..x:1", "line 3: bad ts range '1..x'" },
		{ "expect . ts=1..2..3:1", "line 3: bad ts range '1..2..3'" },
		{ "expect . ts=*..3:1", "line 3: bad ts range '*..3'" },
		{ "expect . ts=-1:1", "line 3: bad value '-1' for ts val" },
		{ "expect . ts=4294967296:1",
		  "line 3: bad value '4294967296' for ts val" },
		{ "inject . ts=1:", "line 3: bad value '' for ts ecr" },
		{ "inject . ts=1:2:3", "line 3: bad value '2:3' for ts ecr" },
		{ "inject . ts=1:--", "line 3: bad value '--' for ts ecr" },
		{ "inject . ts=1:2 ts=3:4", "line 3: ts given twice" },
		{ "expect . ts=* ts=1:2", "line 3: ts given twice" },
		{ "inject S sack=1:2,3:4,5:6,7:8,9:10",
		  "line 3: more than 4 SACK blocks" },
		{ "inject S sack=1:2,3:4,5:6,7:8 mss=1 wscale=1",
		  "line 3: options longer than 40 bytes" },
	};
	struct stmt st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, script_parse_line(bad[i].line, 3, &st, err,
						sizeof(err)));
		EXPECT_STREQ(bad[i].msg, err) {
			TH_LOG("for '%s'", bad[i].line);
		}
	}
}

TEST(load_reports_the_bad_line)
{
	static const char text[] =
		"# a script\n"
		"socket\n"
		"\n"
		"bind 8000\n"
		"listen 8 9\n"
		"accept\n";
	struct script sc;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	ASSERT_NE(NULL, f);
	EXPECT_EQ(-1, script_load(f, &sc, err, sizeof(err)));
	EXPECT_STREQ("line 5: listen [BACKLOG]", err);
	EXPECT_EQ(NULL, sc.st);
	fclose(f);
}

TEST(load_a_script)
{
	static const char text[] =
		"socket\n"
		"bind 8000\n"
		"listen 8\n"
		"# the peer\n"
		"inject S seq=0 win=65535 mss=1460\n"
		"expect S. seq=0 ack=1\n"
		"inject . seq=1 ack=1\n"
		"accept\n"
		"state ESTABLISHED";		/* no newline at the end */
	struct script sc;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, script_load(f, &sc, err, sizeof(err)));
	fclose(f);
	ASSERT_EQ(8, sc.n);
	EXPECT_EQ(ST_INJECT, sc.st[3].kind);
	EXPECT_EQ(5, sc.st[3].line);
	EXPECT_EQ(ST_STATE, sc.st[7].kind);
	EXPECT_EQ(9, sc.st[7].line);
	script_free(&sc);
}

TEST(errno_and_state_names)
{
	EXPECT_EQ(ECONNRESET, errno_parse("ECONNRESET"));
	EXPECT_EQ(-1, errno_parse("econnreset"));
	EXPECT_STREQ("ETIMEDOUT", errno_str(ETIMEDOUT));
	EXPECT_STREQ("errno 9999", errno_str(9999));
	EXPECT_EQ(KTP_LAST_ACK, state_parse("LAST_ACK"));
	EXPECT_EQ(-1, state_parse("last_ack"));
}

TEST(counters_snmp_layout)
{
	static const char text[] =
		"Ktp: ActiveOpens PassiveOpens InSegs InCsumErrors\n"
		"Ktp: 1 2 30 4\n"
		"KtpExt: Other\n"
		"KtpExt: 5\n";
	long long v = -1;

	EXPECT_TRUE(counter_find(text, "InCsumErrors", &v));
	EXPECT_EQ(4, v);
	EXPECT_TRUE(counter_find(text, "insegs", &v));
	EXPECT_EQ(30, v);
	EXPECT_TRUE(counter_find(text, "Other", &v));
	EXPECT_EQ(5, v);
	EXPECT_FALSE(counter_find(text, "Ktp", &v));
	EXPECT_FALSE(counter_find(text, "OutRsts", &v));
}

TEST(counters_line_layout)
{
	static const char text[] =
		"InSegs 12\n"
		"OutRsts: 3\n"
		"Header: Without Values\n"
		"InCsumErrors    7\n";
	long long v = -1;

	EXPECT_TRUE(counter_find(text, "InSegs", &v));
	EXPECT_EQ(12, v);
	EXPECT_TRUE(counter_find(text, "OutRsts", &v));
	EXPECT_EQ(3, v);
	EXPECT_TRUE(counter_find(text, "InCsumErrors", &v));
	EXPECT_EQ(7, v);
	EXPECT_FALSE(counter_find(text, "In", &v));
	EXPECT_FALSE(counter_find("", "InSegs", &v));
}

/* The kernel's SYN-ACK (ISN 7000) to a peer whose ISN is 1000. */
static struct ktp_seg kernel_seg(uint8_t flags, const uint8_t *opt,
				 size_t optlen, int csum)
{
	static const uint8_t k[4] = { 192, 0, 2, 1 }, p[4] = { 192, 0, 2, 2 };
	static uint8_t pkt[128];
	struct ktp_seg_spec sp = {
		.sport = 8000, .dport = 40000, .seq = 7000, .ack = 1001,
		.flags = flags, .doff = -1, .window = 65535, .opt = opt,
		.optlen = optlen, .csum = csum, .csum_raw = 0x1234,
	};
	struct ktp_seg seg;
	long n = ktp_seg_build(pkt + 20, sizeof(pkt) - 20, &sp, AF_INET, k, p,
			       253);

	ktp_ip4_wrap(pkt, k, p, 253, (size_t)n, 0);
	ktp_seg_from_ip(&seg, pkt, 20 + (size_t)n, 253);
	return seg;
}

/* The verdict of expect line @line on @seg: "" for a match. */
static const char *verdict(struct __test_metadata *_metadata,
			   const char *line, const struct ktp_seg *seg,
			   bool have_kisn)
{
	struct seq_base b = { .have_kisn = have_kisn, .kisn = 7000,
			      .peer_isn = 1000 };
	static char why[128];
	struct stmt st = parse_ok(_metadata, line);

	return seg_mismatch(&st.seg, seg, &b, why, sizeof(why)) ?: "";
}

#define VERDICT(line, seg) verdict(_metadata, line, &(seg), true)

TEST(expect_matches_synack)
{
	static const uint8_t mss[] = { KTPOPT_MSS, 4, 0x05, 0xb4 };
	struct ktp_seg seg = kernel_seg(KTP_FLAG_SYN | KTP_FLAG_ACK, mss, 4,
					KTP_BUILD_CSUM_OK);

	EXPECT_STREQ("", VERDICT("expect S. seq=0 ack=1 mss=* win=65535", seg));
	EXPECT_STREQ("", VERDICT("expect * len=0 mss=1460 doff=6", seg));
	EXPECT_STREQ("ack 1, expected 2", VERDICT("expect S. ack=2", seg));
	EXPECT_STREQ("seq 0, expected 1", VERDICT("expect S. seq=1", seg));
	EXPECT_STREQ("flags [S.], expected [S]", VERDICT("expect S", seg));
	EXPECT_STREQ("win 65535, expected 1", VERDICT("expect S. win=1", seg));
	EXPECT_STREQ("length 0, expected 5", VERDICT("expect S. len=5", seg));
	EXPECT_STREQ("mss 1460, expected another",
		     VERDICT("expect S. mss=536", seg));
	EXPECT_STREQ("wscale -1, expected one",
		     VERDICT("expect S. wscale=*", seg));
	EXPECT_STREQ("no sackOK", VERDICT("expect S. sackOK", seg));
	EXPECT_STREQ("no timestamps", VERDICT("expect S. ts=*", seg));
	EXPECT_STREQ("options present, expected none",
		     VERDICT("expect S. opts=none", seg));
	EXPECT_STREQ("no SACK blocks", VERDICT("expect S. sack=*", seg));
	/* before the kernel's ISN is known its numbers are absolute */
	EXPECT_STREQ("", verdict(_metadata, "expect S. seq=7000", &seg,
				 false));
	EXPECT_STREQ("seq (absolute) 7000, expected 0",
		     verdict(_metadata, "expect S. seq=0", &seg, false));
}

TEST(expect_matches_options)
{
	static const uint8_t opt[] = {
		KTPOPT_NOP, KTPOPT_NOP,
		KTPOPT_TIMESTAMP, 10, 0, 0, 0, 5, 0, 0, 0, 6,
		KTPOPT_SACK, 10, 0, 0, 0x04, 0x4d, 0, 0, 0x04, 0xb1,
	};
	struct ktp_seg seg = kernel_seg(KTP_FLAG_ACK, opt, sizeof(opt),
					KTP_BUILD_CSUM_OK);

	/* SACK blocks name the peer's sequence space: 1101 is 101 */
	EXPECT_STREQ("", VERDICT("expect . sack=101:201 ts=5:6", seg));
	EXPECT_STREQ("", VERDICT("expect . sack=* ts=*:6", seg));
	EXPECT_STREQ("SACK blocks differ", VERDICT("expect . sack=1:2", seg));
	EXPECT_STREQ("SACK blocks differ",
		     VERDICT("expect . sack=101:201,1:2", seg));
	EXPECT_STREQ("ts ecr 6, expected 7", VERDICT("expect . ts=5:7", seg));
	EXPECT_STREQ("options present, expected none",
		     VERDICT("expect . opts=none", seg));
}

/* An ACK of the kernel's with timestamps @val and @ecr. */
static struct ktp_seg ts_seg(uint32_t val, uint32_t ecr)
{
	uint8_t opt[12] = { KTPOPT_NOP, KTPOPT_NOP, KTPOPT_TIMESTAMP, 10 };
	int i;

	for (i = 0; i < 4; i++) {
		opt[4 + i] = (uint8_t)(val >> (24 - 8 * i));
		opt[8 + i] = (uint8_t)(ecr >> (24 - 8 * i));
	}
	return kernel_seg(KTP_FLAG_ACK, opt, sizeof(opt), KTP_BUILD_CSUM_OK);
}

/* The verdict of @line on @seg, the kernel's first TSval being @kts. */
static const char *ts_verdict(struct __test_metadata *_metadata,
			      const char *line, const struct ktp_seg *seg,
			      bool have_kts, uint32_t kts)
{
	struct seq_base b = { .have_kisn = true, .kisn = 7000,
			      .peer_isn = 1000, .have_kts = have_kts,
			      .kts = kts };
	static char why[128];
	struct stmt st = parse_ok(_metadata, line);

	return seg_mismatch(&st.seg, seg, &b, why, sizeof(why)) ?: "";
}

#define TS_VERDICT(line, seg, kts) ts_verdict(_metadata, line, &(seg), \
					      true, kts)

TEST(expect_timestamps_relative)
{
	struct ktp_seg seg = ts_seg(3000250, 77);

	/* VAL counts from the kernel's first TSval, ECR is absolute */
	EXPECT_STREQ("", TS_VERDICT("expect . ts=250:77", seg, 3000000));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=*:77", seg, 3000000));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=250:*", seg, 3000000));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=*", seg, 3000000));
	EXPECT_STREQ("ts val 250, expected 251",
		     TS_VERDICT("expect . ts=251:77", seg, 3000000));
	EXPECT_STREQ("ts ecr 77, expected 3000077",
		     TS_VERDICT("expect . ts=250:3000077", seg, 3000000));
	/* the first segment with the option is val 0 */
	EXPECT_STREQ("", TS_VERDICT("expect . ts=0:77", seg, 3000250));
	/* base not known: absolute, and the message says so */
	EXPECT_STREQ("", ts_verdict(_metadata, "expect . ts=3000250:77", &seg,
				    false, 3000000));
	EXPECT_STREQ("ts val (absolute) 3000250, expected 250",
		     ts_verdict(_metadata, "expect . ts=250:77", &seg, false,
				3000000));
}

TEST(expect_timestamps_range)
{
	struct ktp_seg seg = ts_seg(3001000, 7);

	EXPECT_STREQ("", TS_VERDICT("expect . ack=1 ts=900..1500:7", seg,
				    3000000));
	/* both ends included */
	EXPECT_STREQ("", TS_VERDICT("expect . ts=1000..1500:7", seg, 3000000));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=900..1000:7", seg, 3000000));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=1000..1000:7", seg, 3000000));
	EXPECT_STREQ("ts val 1000, expected 1001..1500",
		     TS_VERDICT("expect . ts=1001..1500:7", seg, 3000000));
	EXPECT_STREQ("ts val 1000, expected 0..999",
		     TS_VERDICT("expect . ts=0..999:7", seg, 3000000));
	/* the range holds, the echo does not */
	EXPECT_STREQ("ts ecr 7, expected 8",
		     TS_VERDICT("expect . ts=900..1500:8", seg, 3000000));
	/* a TSval before the base is a huge difference, past any range */
	EXPECT_STREQ("ts val 4294967295, expected 0..100",
		     TS_VERDICT("expect . ts=0..100:7", seg, 3001001));
}

TEST(expect_timestamps_wrap)
{
	/* the kernel's clock started 16 ms before 2^32 and went past it */
	struct ktp_seg seg = ts_seg(0x00000010u, 0);

	EXPECT_STREQ("", TS_VERDICT("expect . ts=32:0", seg, 0xfffffff0u));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=30..40:0", seg, 0xfffffff0u));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=0..32:0", seg, 0xfffffff0u));
	EXPECT_STREQ("ts val 32, expected 0..31",
		     TS_VERDICT("expect . ts=0..31:0", seg, 0xfffffff0u));
	EXPECT_STREQ("ts val 32, expected 33..4294967295",
		     TS_VERDICT("expect . ts=33..4294967295:0", seg,
				0xfffffff0u));
	/* and a base right at the top */
	EXPECT_STREQ("", TS_VERDICT("expect . ts=17:0", seg, 0xffffffffu));
	seg = ts_seg(0xffffffffu, 0);
	EXPECT_STREQ("", TS_VERDICT("expect . ts=0:0", seg, 0xffffffffu));
	EXPECT_STREQ("", TS_VERDICT("expect . ts=15:0", seg, 0xfffffff0u));
}

TEST(expect_checks_the_checksum)
{
	struct ktp_seg bad = kernel_seg(KTP_FLAG_ACK, NULL, 0,
					KTP_BUILD_CSUM_RAW);
	struct seq_base b = { .kisn = 7000, .peer_isn = 1000 };
	char why[64];
	struct stmt st = OK("expect .");

	EXPECT_STREQ("bad checksum 0x1234", VERDICT("expect .", bad));
	EXPECT_STREQ("bad checksum 0x1234", VERDICT("expect . csum=ok", bad));
	EXPECT_STREQ("", VERDICT("expect . csum=*", bad));
	/* offload's partial sums pass only where offload happens */
	bad.csum = KTP_CSUM_PARTIAL;
	EXPECT_NE(NULL, seg_mismatch(&st.seg, &bad, &b, why, sizeof(why)));
	b.partial_ok = true;
	EXPECT_EQ(NULL, seg_mismatch(&st.seg, &bad, &b, why, sizeof(why)));
}

TEST_HARNESS_MAIN
