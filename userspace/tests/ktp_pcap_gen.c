// SPDX-License-Identifier: GPL-2.0
/*
 * A small KTP conversation written as ktpdump -w writes captures (the
 * segment builder of ktp_seg.c, the pcap writer of ktp_pcap.c), for
 * dissector_test.sh to read back through docs/ktp.lua with tshark.
 *
 *   ktp_pcap_gen FILE.pcap > expected
 *
 * prints, for each segment, the fields tshark is to find, tab-separated
 * in the order dissector_test.sh asks for them: ports, seq, ack, flags,
 * header length, window, payload length, option kinds, MSS, window
 * scale, timestamp value and echo, SACK edges (empty when absent; several
 * values comma-separated).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ktp_pcap.h"
#include "ktp_seg.h"

#define CPORT	40000
#define SPORT	7000

struct opts {
	uint8_t buf[KTP_SEG_MAX_OPTLEN];
	size_t len;
	char kinds[64];
	char fields[128];	/* mss, wscale, tsval, tsecr, sack_le, sack_re */
};

static void put(struct opts *o, int kind, const void *val, size_t vlen)
{
	size_t n = strlen(o->kinds);

	ktp_opt_put(o->buf, &o->len, kind, val, vlen);
	snprintf(o->kinds + n, sizeof(o->kinds) - n, "%s%d", n ? "," : "",
		 kind);
}

/* The options of a SYN: MSS, NOP, window scale, SACK permitted, TS. */
static void syn_opts(struct opts *o, uint16_t mss, uint8_t ws,
		     uint32_t tsval, uint32_t tsecr)
{
	uint16_t m = htons(mss);
	uint32_t ts[2] = { htonl(tsval), htonl(tsecr) };

	put(o, KTPOPT_MSS, &m, 2);
	put(o, KTPOPT_NOP, NULL, 0);
	put(o, KTPOPT_WSCALE, &ws, 1);
	put(o, KTPOPT_SACK_PERM, NULL, 0);
	put(o, KTPOPT_TIMESTAMP, ts, 8);
	snprintf(o->fields, sizeof(o->fields), "%u\t%u\t%u\t%u\t\t", mss, ws,
		 tsval, tsecr);
}

static void ts_opts(struct opts *o, uint32_t tsval, uint32_t tsecr)
{
	uint32_t ts[2] = { htonl(tsval), htonl(tsecr) };

	put(o, KTPOPT_NOP, NULL, 0);
	put(o, KTPOPT_NOP, NULL, 0);
	put(o, KTPOPT_TIMESTAMP, ts, 8);
	snprintf(o->fields, sizeof(o->fields), "\t\t%u\t%u\t\t", tsval, tsecr);
}

/* Two SACK blocks. */
static void sack_opts(struct opts *o, const uint32_t edge[4])
{
	uint32_t v[4];
	int i;

	for (i = 0; i < 4; i++)
		v[i] = htonl(edge[i]);
	put(o, KTPOPT_NOP, NULL, 0);
	put(o, KTPOPT_NOP, NULL, 0);
	put(o, KTPOPT_SACK, v, sizeof(v));
	snprintf(o->fields, sizeof(o->fields), "\t\t\t\t%u,%u\t%u,%u",
		 edge[0], edge[2], edge[1], edge[3]);
}

/* Build, wrap in IPv4, write; print the expected fields. 0 or -1. */
static int emit(FILE *f, int from_client, const struct ktp_seg_spec *sp,
		const struct opts *o)
{
	static const uint8_t cli[4] = { 10, 0, 0, 1 }, srv[4] = { 10, 0, 0, 2 };
	static unsigned int n;
	const uint8_t *src = from_client ? cli : srv;
	const uint8_t *dst = from_client ? srv : cli;
	struct timeval tv = { .tv_sec = 1700000000, .tv_usec = ++n * 1000 };
	uint8_t pkt[20 + 20 + KTP_SEG_MAX_OPTLEN + 64];
	long len;

	len = ktp_seg_build(pkt + 20, sizeof(pkt) - 20, sp, AF_INET, src, dst,
			    IPPROTO_KTP);
	if (len < 0)
		return -1;
	len = ktp_ip4_wrap(pkt, src, dst, IPPROTO_KTP, len, n);
	printf("%u\t%u\t%u\t%u\t0x%02x\t%zu\t%u\t%zu\t%s\t%s\n", sp->sport,
	       sp->dport, sp->seq, sp->ack, sp->flags,
	       20 + ((o->len + 3) & ~(size_t)3), sp->window, sp->paylen,
	       o->kinds, o->len ? o->fields : "\t\t\t\t\t");
	return ktp_pcap_write(f, &tv, pkt, len, len);
}

int main(int argc, char **argv)
{
	static const uint32_t sack[4] = { 2001, 3001, 4001, 5001 };
	struct ktp_seg_spec sp = { .doff = -1, .sport = CPORT,
				   .dport = SPORT };
	struct opts o[7] = { 0 };
	FILE *f;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]);
		return 2;
	}
	f = ktp_pcap_open(argv[1], 65535);
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	syn_opts(&o[0], 1460, 7, 100, 0);
	syn_opts(&o[1], 1400, 6, 200, 100);
	ts_opts(&o[3], 101, 200);
	sack_opts(&o[4], sack);

	/* SYN, SYN-ACK, ACK, data, a SACK, FIN, RST */
	sp.seq = 1000, sp.flags = KTP_FLAG_SYN, sp.window = 65535;
	sp.opt = o[0].buf, sp.optlen = o[0].len;
	err = emit(f, 1, &sp, &o[0]);
	sp.sport = SPORT, sp.dport = CPORT, sp.seq = 5000, sp.ack = 1001;
	sp.flags = KTP_FLAG_SYN | KTP_FLAG_ACK;
	sp.opt = o[1].buf, sp.optlen = o[1].len;
	err |= emit(f, 0, &sp, &o[1]);
	sp.sport = CPORT, sp.dport = SPORT, sp.seq = 1001, sp.ack = 5001;
	sp.flags = KTP_FLAG_ACK, sp.window = 512, sp.optlen = 0;
	err |= emit(f, 1, &sp, &o[2]);
	sp.flags = KTP_FLAG_PSH | KTP_FLAG_ACK;
	sp.opt = o[3].buf, sp.optlen = o[3].len;
	sp.payload = (const uint8_t *)"hello", sp.paylen = 5;
	err |= emit(f, 1, &sp, &o[3]);
	sp.sport = SPORT, sp.dport = CPORT, sp.seq = 5001, sp.ack = 1006;
	sp.flags = KTP_FLAG_ACK, sp.window = 510, sp.paylen = 0;
	sp.opt = o[4].buf, sp.optlen = o[4].len;
	err |= emit(f, 0, &sp, &o[4]);
	sp.sport = CPORT, sp.dport = SPORT, sp.seq = 1006, sp.ack = 5001;
	sp.flags = KTP_FLAG_FIN | KTP_FLAG_ACK, sp.optlen = 0;
	err |= emit(f, 1, &sp, &o[5]);
	sp.sport = SPORT, sp.dport = CPORT, sp.seq = 5001, sp.ack = 0;
	sp.flags = KTP_FLAG_RST, sp.window = 0;
	err |= emit(f, 0, &sp, &o[6]);
	if (fclose(f) || err) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
