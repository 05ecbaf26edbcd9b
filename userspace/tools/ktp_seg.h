/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktp_seg: KTP segments as bytes, for ktpdump and ktp_inject.
 *
 * Pure functions, but for ktp_ipproto_param(): parse an IPv4/IPv6
 * datagram that carries a KTP segment, verify and compute the
 * pseudo-header checksum, format a segment as one tcpdump-like line, and
 * build segments and IPv4 datagrams from a description. Host unit tests
 * feed these crafted bytes.
 */
#ifndef _KTP_SEG_H
#define _KTP_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/ktp.h>

#define KTP_SEG_MAX_SACK	4
#define KTP_SEG_MAX_OPTLEN	40	/* (15 - 5) words */

/* What the options of a segment say; -1 for an absent MSS or shift. */
struct ktp_seg_opts {
	int mss;
	int wscale;
	bool sack_perm;
	bool ts;
	uint32_t ts_val;
	uint32_t ts_ecr;
	int nsack;
	uint32_t sack[KTP_SEG_MAX_SACK][2];
	int count;		/* options other than NOP and EOL */
	bool bad;		/* an option runs past the header */
};

/* Problems of a segment, in seg->bad. */
#define KTP_SEG_BAD_DOFF	0x01	/* doff < 5, or beyond the segment */
#define KTP_SEG_BAD_FLAGS	0x02	/* flag bits outside KTP_FLAG_MASK */
#define KTP_SEG_BAD_RESERVED	0x04	/* reserved field not zero */
#define KTP_SEG_BAD_OPTS	0x08	/* malformed options */
#define KTP_SEG_TRUNC		0x10	/* fewer bytes captured than sent */
#define KTP_SEG_TRUNC_HDR	0x20	/* not even the 20-byte header */
#define KTP_SEG_FRAG		0x40	/* first fragment of a datagram */

/* The state of seg->csum. */
enum {
	KTP_CSUM_UNCHECKED,	/* not verified (partial offload, fragment) */
	KTP_CSUM_OK,
	KTP_CSUM_PARTIAL,	/* only the pseudo-header sum: offload */
	KTP_CSUM_BAD,
};

struct ktp_seg {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t saddr[16];	/* 4 bytes used for IPv4 */
	uint8_t daddr[16];
	int ipproto;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t doff;		/* raw field */
	uint8_t flags;		/* raw field */
	uint16_t window;
	uint16_t check;
	uint16_t reserved;
	const uint8_t *hdr;	/* the segment's first byte */
	const uint8_t *opt;	/* the raw options */
	size_t optlen;
	const uint8_t *payload;
	size_t paylen;		/* payload length from the IP length */
	size_t seglen;		/* header + payload from the IP length */
	size_t caplen;		/* bytes of the segment at hand */
	struct ktp_seg_opts opts;
	unsigned int bad;	/* KTP_SEG_BAD_* */
	int csum;		/* KTP_CSUM_* */
};

/* Ones' complement arithmetic, as RFC 1071: 16-bit big-endian words. */
uint32_t ktp_csum_add(uint32_t sum, const void *buf, size_t len);
uint16_t ktp_csum_fold(uint32_t sum);	/* folded, not complemented */
uint32_t ktp_csum_pseudo(int family, const void *saddr, const void *daddr,
			 uint32_t len, uint8_t proto);

/*
 * The value for the check field of a segment whose check field is zero
 * (host byte order), and the verdict on a received one: KTP_CSUM_OK,
 * KTP_CSUM_PARTIAL when the field holds only the folded pseudo-header sum
 * (checksum offload left for the device), or KTP_CSUM_BAD.
 */
uint16_t ktp_csum_compute(int family, const void *saddr, const void *daddr,
			  uint8_t proto, const void *seg, size_t len);
int ktp_csum_verify(int family, const void *saddr, const void *daddr,
		    uint8_t proto, const void *seg, size_t len);

/*
 * Parse an IPv4 or IPv6 datagram of @len captured bytes. Returns 0 for a
 * KTP segment of protocol @ipproto (seg filled, csum verified when all of
 * it is at hand), -1 for anything else.
 */
int ktp_seg_from_ip(struct ktp_seg *seg, const void *pkt, size_t len,
		    int ipproto);

/*
 * Parse the KTP segment at @hdr: @caplen bytes at hand of @seglen sent.
 * seg->family, addresses and ipproto must be set; verifies the checksum
 * when the whole segment is at hand.
 */
void ktp_seg_parse(struct ktp_seg *seg, const void *hdr, size_t caplen,
		   size_t seglen);

/* Decode options; returns false if one runs past the end. */
bool ktp_opts_parse(struct ktp_seg_opts *o, const uint8_t *opt, size_t len);

/* "S.", "F.", "R", "" -> "none"...; buf of at least 8 bytes. */
const char *ktp_flags_str(uint8_t flags, char *buf);
/* Inverse for "S." etc.; -1 for an unknown letter. "none" is 0. */
int ktp_flags_parse(const char *s);

/* How seq, ack and SACK blocks are printed. */
enum {
	KTP_SEQ_RELATIVE,	/* to each direction's ISN once it is known */
	KTP_SEQ_ABSOLUTE,
	KTP_SEQ_ISN,		/* absolute and "(x+N)" / "(y+N)" */
};

/* The ISNs known for a segment's sender (s) and receiver (d). */
struct ktp_seq_ctx {
	bool have_s;
	bool have_d;
	uint32_t isn_s;
	uint32_t isn_d;
	char name_s;		/* 'x' for the side that sent the first SYN */
	char name_d;
};

/*
 * One line, no time stamp and no newline:
 *   127.0.0.1:40000 > 127.0.0.1:8000: [S] seq 0, win 65535,
 *	options [mss 1460], length 0
 * @ctx may be NULL (absolute). Returns the length snprintf would have.
 */
int ktp_seg_format(char *buf, size_t size, const struct ktp_seg *seg,
		   const struct ktp_seq_ctx *ctx, int seqmode, bool quiet);

/* "127.0.0.1:8000" or "[::1]:8000". */
int ktp_addr_format(char *buf, size_t size, int family, const void *addr,
		    uint16_t port);

/* Connections seen, to number sequence numbers relative to the ISNs. */
#define KTP_FLOWS_MAX	64

struct ktp_flow {
	bool used;
	int family;
	uint8_t addr[2][16];	/* side 0 sorts before side 1 */
	uint16_t port[2];
	bool have_isn[2];	/* ISN of what side N sends */
	uint32_t isn[2];
	int x;			/* the side that sent the first SYN, or -1 */
	unsigned long last;
};

struct ktp_flows {
	struct ktp_flow flow[KTP_FLOWS_MAX];
	unsigned long tick;
};

/* Learn from @seg (in capture order) and fill @ctx for formatting it. */
void ktp_flows_track(struct ktp_flows *fl, const struct ktp_seg *seg,
		     struct ktp_seq_ctx *ctx);

/* Append option @kind with @vlen value bytes; false if it does not fit. */
bool ktp_opt_put(uint8_t *opt, size_t *len, int kind, const void *val,
		 size_t vlen);

/* A segment to build. */
struct ktp_seg_spec {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	int doff;		/* -1: from the options */
	uint16_t window;
	uint16_t reserved;
	const uint8_t *opt;	/* padded with EOL to a 4-byte multiple */
	size_t optlen;
	const uint8_t *payload;	/* NULL: a pattern of bytes */
	size_t paylen;
	int csum;		/* KTP_BUILD_CSUM_* */
	uint16_t csum_raw;	/* with KTP_BUILD_CSUM_RAW */
};

enum {
	KTP_BUILD_CSUM_OK,
	KTP_BUILD_CSUM_BAD,	/* the right value with its bits flipped */
	KTP_BUILD_CSUM_RAW,	/* csum_raw as it is */
};

/* The payload byte at offset @i when spec->payload is NULL. */
static inline uint8_t ktp_pattern_byte(size_t i)
{
	return (uint8_t)('a' + i % 26);
}

/*
 * Write the segment into @buf; returns its length, or -1 if it does not
 * fit or the options are longer than 40 bytes.
 */
long ktp_seg_build(uint8_t *buf, size_t size, const struct ktp_seg_spec *spec,
		   int family, const void *saddr, const void *daddr,
		   uint8_t proto);

/* An IPv4 header (TTL 64, DF, header checksum) in front of @seglen bytes
 * already at buf + 20. Returns the datagram's length.
 */
size_t ktp_ip4_wrap(uint8_t *buf, const void *saddr, const void *daddr,
		    uint8_t proto, size_t seglen, uint16_t id);

/*
 * The one function here that reads a file: the IP protocol number the
 * loaded module uses (/sys/module/ktp/parameters/ipproto), IPPROTO_KTP
 * when it is not loaded.
 */
int ktp_ipproto_param(void);

#endif /* _KTP_SEG_H */
