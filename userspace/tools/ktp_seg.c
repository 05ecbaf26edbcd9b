// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_seg: parse, verify, format and build KTP segments. See ktp_seg.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "ktp_seg.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

uint32_t ktp_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t ktp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t ktp_csum_pseudo(int family, const void *saddr, const void *daddr,
			 uint32_t len, uint8_t proto)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	sum = ktp_csum_add(0, saddr, alen);
	sum = ktp_csum_add(sum, daddr, alen);
	if (family == AF_INET6) {
		/* RFC 8200 8.1: 32-bit length, 24 zero bits, next header */
		put32(tail, len);
		tail[7] = proto;
		return ktp_csum_add(sum, tail, 8);
	}
	/* RFC 9293 3.1: zero, protocol, 16-bit length */
	tail[1] = proto;
	put16(tail + 2, (uint16_t)len);
	return ktp_csum_add(sum, tail, 4);
}

uint16_t ktp_csum_compute(int family, const void *saddr, const void *daddr,
			  uint8_t proto, const void *seg, size_t len)
{
	uint32_t sum = ktp_csum_pseudo(family, saddr, daddr, len, proto);

	return (uint16_t)~ktp_csum_fold(ktp_csum_add(sum, seg, len));
}

int ktp_csum_verify(int family, const void *saddr, const void *daddr,
		    uint8_t proto, const void *seg, size_t len)
{
	uint32_t pseudo = ktp_csum_pseudo(family, saddr, daddr, len, proto);

	if (len < sizeof(struct ktphdr))
		return KTP_CSUM_BAD;
	if (ktp_csum_fold(ktp_csum_add(pseudo, seg, len)) == 0xffff)
		return KTP_CSUM_OK;
	/* CHECKSUM_PARTIAL: the stack stored the pseudo-header sum only */
	if (get16((const uint8_t *)seg + 16) == ktp_csum_fold(pseudo))
		return KTP_CSUM_PARTIAL;
	return KTP_CSUM_BAD;
}

bool ktp_opts_parse(struct ktp_seg_opts *o, const uint8_t *opt, size_t len)
{
	size_t i = 0, olen;
	int n;

	memset(o, 0, sizeof(*o));
	o->mss = -1;
	o->wscale = -1;
	while (i < len) {
		if (opt[i] == KTPOPT_EOL)
			break;
		if (opt[i] == KTPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len) {
			o->bad = true;
			return false;
		}
		olen = opt[i + 1];
		o->count++;
		switch (opt[i]) {
		case KTPOPT_MSS:
			if (olen == KTPOLEN_MSS)
				o->mss = get16(opt + i + 2);
			break;
		case KTPOPT_WSCALE:
			if (olen == KTPOLEN_WSCALE)
				o->wscale = opt[i + 2];
			break;
		case KTPOPT_SACK_PERM:
			if (olen == KTPOLEN_SACK_PERM)
				o->sack_perm = true;
			break;
		case KTPOPT_SACK:
			for (n = 0; 2 + 8 * (n + 1) <= (int)olen &&
			     n < KTP_SEG_MAX_SACK; n++) {
				o->sack[n][0] = get32(opt + i + 2 + 8 * n);
				o->sack[n][1] = get32(opt + i + 6 + 8 * n);
			}
			o->nsack = n;
			break;
		case KTPOPT_TIMESTAMP:
			if (olen == KTPOLEN_TIMESTAMP) {
				o->ts = true;
				o->ts_val = get32(opt + i + 2);
				o->ts_ecr = get32(opt + i + 6);
			}
			break;
		}
		i += olen;
	}
	return true;
}

void ktp_seg_parse(struct ktp_seg *seg, const void *hdr, size_t caplen,
		   size_t seglen)
{
	const uint8_t *p = hdr;
	size_t hlen;

	seg->hdr = p;
	seg->caplen = caplen < seglen ? caplen : seglen;
	seg->seglen = seglen;
	seg->bad = 0;
	seg->opt = NULL;
	seg->optlen = 0;
	seg->payload = NULL;
	seg->paylen = 0;
	memset(&seg->opts, 0, sizeof(seg->opts));
	seg->opts.mss = -1;
	seg->opts.wscale = -1;
	seg->csum = KTP_CSUM_UNCHECKED;
	if (caplen < seglen)
		seg->bad |= KTP_SEG_TRUNC;
	if (seg->caplen < sizeof(struct ktphdr) ||
	    seglen < sizeof(struct ktphdr)) {
		seg->bad |= KTP_SEG_TRUNC_HDR;
		if (seg->caplen >= 4) {
			seg->sport = get16(p);
			seg->dport = get16(p + 2);
		}
		seg->paylen = seglen;
		return;
	}
	seg->sport = get16(p);
	seg->dport = get16(p + 2);
	seg->seq = get32(p + 4);
	seg->ack = get32(p + 8);
	seg->doff = p[12];
	seg->flags = p[13];
	seg->window = get16(p + 14);
	seg->check = get16(p + 16);
	seg->reserved = get16(p + 18);
	if (seg->flags & ~KTP_FLAG_MASK)
		seg->bad |= KTP_SEG_BAD_FLAGS;
	if (seg->reserved)
		seg->bad |= KTP_SEG_BAD_RESERVED;

	hlen = (size_t)seg->doff * 4;
	if (seg->doff < KTP_HDR_MIN_WORDS || seg->doff > KTP_HDR_MAX_WORDS ||
	    hlen > seglen) {
		seg->bad |= KTP_SEG_BAD_DOFF;
		hlen = sizeof(struct ktphdr);
	} else {
		seg->opt = p + sizeof(struct ktphdr);
		seg->optlen = hlen - sizeof(struct ktphdr);
		if (hlen > seg->caplen) {
			seg->optlen = 0;
		} else if (!ktp_opts_parse(&seg->opts, seg->opt,
					   seg->optlen)) {
			seg->bad |= KTP_SEG_BAD_OPTS;
		}
	}
	seg->paylen = seglen - hlen;
	seg->payload = p + hlen;
	if (!(seg->bad & KTP_SEG_TRUNC))
		seg->csum = ktp_csum_verify(seg->family, seg->saddr,
					    seg->daddr, seg->ipproto, p,
					    seglen);
}

/* Skip IPv6 extension headers up to the upper layer; -1 if not reached. */
static int ip6_upper(const uint8_t *p, size_t len, size_t *off, int *nh)
{
	int hops;

	for (hops = 0; hops < 8; hops++) {
		switch (*nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (*off + 2 > len)
				return -1;
			*nh = p[*off];
			*off += ((size_t)p[*off + 1] + 1) * 8;
			break;
		case 44:	/* fragment: only the first one has a header */
			if (*off + 8 > len || (get16(p + *off + 2) & 0xfff8))
				return -1;
			*nh = p[*off];
			*off += 8;
			break;
		default:
			return *off <= len ? 0 : -1;
		}
	}
	return -1;
}

int ktp_seg_from_ip(struct ktp_seg *seg, const void *pkt, size_t len,
		    int ipproto)
{
	const uint8_t *p = pkt;
	size_t ihl, tot, seglen, off;
	bool frag = false;
	int nh;

	memset(seg, 0, sizeof(*seg));
	seg->ipproto = ipproto;
	if (len < 1)
		return -1;
	if (p[0] >> 4 == 4) {
		if (len < 20)
			return -1;
		ihl = (size_t)(p[0] & 0xf) * 4;
		tot = get16(p + 2);
		if (ihl < 20 || p[9] != ipproto || tot < ihl || len < ihl)
			return -1;
		if (get16(p + 6) & 0x1fff)	/* not the first fragment */
			return -1;
		frag = get16(p + 6) & 0x2000;
		seg->family = AF_INET;
		memcpy(seg->saddr, p + 12, 4);
		memcpy(seg->daddr, p + 16, 4);
		off = ihl;
		seglen = tot - ihl;
	} else if (p[0] >> 4 == 6) {
		if (len < 40)
			return -1;
		nh = p[6];
		off = 40;
		tot = 40 + (size_t)get16(p + 4);
		if (ip6_upper(p, len, &off, &nh) || nh != ipproto || off > tot)
			return -1;
		seg->family = AF_INET6;
		memcpy(seg->saddr, p + 8, 16);
		memcpy(seg->daddr, p + 24, 16);
		seglen = tot - off;
	} else {
		return -1;
	}
	ktp_seg_parse(seg, p + off, len - off, seglen);
	if (frag) {
		/* the rest of the segment is in the other fragments */
		seg->bad |= KTP_SEG_FRAG;
		seg->bad &= ~KTP_SEG_TRUNC;
		seg->csum = KTP_CSUM_UNCHECKED;
	}
	return 0;
}

const char *ktp_flags_str(uint8_t flags, char *buf)
{
	/* tcpdump's order: F S R P . */
	static const struct {
		uint8_t bit;
		char c;
	} tab[] = {
		{ KTP_FLAG_FIN, 'F' }, { KTP_FLAG_SYN, 'S' },
		{ KTP_FLAG_RST, 'R' }, { KTP_FLAG_PSH, 'P' },
		{ KTP_FLAG_ACK, '.' },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (flags & tab[i].bit)
			buf[n++] = tab[i].c;
	buf[n] = '\0';
	if (!n)
		strcpy(buf, "none");
	return buf;
}

int ktp_flags_parse(const char *s)
{
	int flags = 0;

	if (!strcmp(s, "none"))
		return 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		switch (*s) {
		case 'F':
			flags |= KTP_FLAG_FIN;
			break;
		case 'S':
			flags |= KTP_FLAG_SYN;
			break;
		case 'R':
			flags |= KTP_FLAG_RST;
			break;
		case 'P':
			flags |= KTP_FLAG_PSH;
			break;
		case '.':
			flags |= KTP_FLAG_ACK;
			break;
		default:
			return -1;
		}
	}
	return flags;
}

int ktp_addr_format(char *buf, size_t size, int family, const void *addr,
		    uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		strcpy(a, "?");
	if (family == AF_INET6)
		return snprintf(buf, size, "[%s]:%u", a, port);
	return snprintf(buf, size, "%s:%u", a, port);
}

/* A bounded appender: keeps count of what would have been written. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
out_add(struct out *o, const char *fmt, ...)
{
	size_t room = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += n;
}

/* A sequence number in the chosen style, against @isn if @have. */
static void out_seq(struct out *o, uint32_t v, bool have, uint32_t isn,
		    char name, int mode)
{
	uint32_t d = v - isn;

	if (!have || mode == KTP_SEQ_ABSOLUTE)
		out_add(o, "%u", v);
	else if (mode == KTP_SEQ_RELATIVE)
		out_add(o, "%u", d);
	else if (d == 0)
		out_add(o, "%u (%c)", v, name);
	else if (d < 0x80000000u)
		out_add(o, "%u (%c+%u)", v, name, d);
	else
		out_add(o, "%u (%c-%u)", v, name, 0u - d);
}

static void out_opts(struct out *o, const struct ktp_seg *seg,
		     const struct ktp_seq_ctx *ctx, int mode)
{
	const uint8_t *opt = seg->opt;
	size_t i = 0, len = seg->optlen, olen, n;
	const char *sep = "";

	if (!len)
		return;
	out_add(o, ", options [");
	while (i < len) {
		out_add(o, "%s", sep);
		sep = ",";
		if (opt[i] == KTPOPT_EOL) {
			out_add(o, "eol");
			break;
		}
		if (opt[i] == KTPOPT_NOP) {
			out_add(o, "nop");
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len) {
			out_add(o, "bad-opt %u", opt[i]);
			break;
		}
		olen = opt[i + 1];
		if (opt[i] == KTPOPT_MSS && olen == KTPOLEN_MSS) {
			out_add(o, "mss %u", get16(opt + i + 2));
		} else if (opt[i] == KTPOPT_WSCALE && olen == KTPOLEN_WSCALE) {
			out_add(o, "wscale %u", opt[i + 2]);
		} else if (opt[i] == KTPOPT_SACK_PERM &&
			   olen == KTPOLEN_SACK_PERM) {
			out_add(o, "sackOK");
		} else if (opt[i] == KTPOPT_SACK && olen % 8 == 2) {
			/* blocks name the receiver's sequence space */
			out_add(o, "sack %zu", (olen - 2) / 8);
			for (n = 0; 2 + 8 * n < olen; n++) {
				out_add(o, " {");
				out_seq(o, get32(opt + i + 2 + 8 * n),
					ctx && ctx->have_d,
					ctx ? ctx->isn_d : 0,
					ctx ? ctx->name_d : 'y', mode);
				out_add(o, ":");
				out_seq(o, get32(opt + i + 6 + 8 * n),
					ctx && ctx->have_d,
					ctx ? ctx->isn_d : 0,
					ctx ? ctx->name_d : 'y', mode);
				out_add(o, "}");
			}
		} else if (opt[i] == KTPOPT_TIMESTAMP &&
			   olen == KTPOLEN_TIMESTAMP) {
			out_add(o, "TS val %u ecr %u", get32(opt + i + 2),
				get32(opt + i + 6));
		} else {
			out_add(o, "opt-%u len %zu", opt[i], olen);
		}
		i += olen;
	}
	out_add(o, "]");
}

int ktp_seg_format(char *buf, size_t size, const struct ktp_seg *seg,
		   const struct ktp_seq_ctx *ctx, int seqmode, bool quiet)
{
	struct out o = { .buf = buf, .size = size };
	char flags[8], a[64];

	if (size)
		buf[0] = '\0';
	ktp_addr_format(a, sizeof(a), seg->family, seg->saddr, seg->sport);
	out_add(&o, "%s > ", a);
	ktp_addr_format(a, sizeof(a), seg->family, seg->daddr, seg->dport);
	out_add(&o, "%s: ", a);
	if (seg->bad & KTP_SEG_TRUNC_HDR) {
		out_add(&o, "[|ktp] length %zu", seg->paylen);
		return (int)o.len;
	}
	out_add(&o, "[%s]", ktp_flags_str(seg->flags, flags));
	if (quiet) {
		out_add(&o, " length %zu", seg->paylen);
		return (int)o.len;
	}
	out_add(&o, " seq ");
	out_seq(&o, seg->seq, ctx && ctx->have_s, ctx ? ctx->isn_s : 0,
		ctx ? ctx->name_s : 'x', seqmode);
	if (seg->flags & KTP_FLAG_ACK) {
		out_add(&o, ", ack ");
		out_seq(&o, seg->ack, ctx && ctx->have_d, ctx ? ctx->isn_d : 0,
			ctx ? ctx->name_d : 'y', seqmode);
	}
	out_add(&o, ", win %u", seg->window);
	out_opts(&o, seg, ctx, seqmode);
	out_add(&o, ", length %zu", seg->paylen);
	if (seg->bad & KTP_SEG_BAD_FLAGS)
		out_add(&o, ", flags 0x%02x", seg->flags);
	if (seg->bad & KTP_SEG_BAD_RESERVED)
		out_add(&o, ", reserved 0x%04x", seg->reserved);
	if (seg->bad & KTP_SEG_BAD_DOFF)
		out_add(&o, ", bad-doff %u", seg->doff);
	if (seg->bad & KTP_SEG_BAD_OPTS)
		out_add(&o, ", bad-opts");
	if (seg->bad & KTP_SEG_FRAG)
		out_add(&o, ", frag");
	if (seg->bad & KTP_SEG_TRUNC)
		out_add(&o, ", truncated");
	if (seg->csum == KTP_CSUM_BAD)
		out_add(&o, ", bad-csum 0x%04x", seg->check);
	else if (seg->csum == KTP_CSUM_PARTIAL)
		out_add(&o, ", csum-partial");
	return (int)o.len;
}

/* Endpoint order: the smaller (address, port) is side 0. */
static int ep_cmp(const uint8_t *a, uint16_t pa, const uint8_t *b,
		  uint16_t pb)
{
	int c = memcmp(a, b, 16);

	if (c)
		return c;
	return (int)pa - (int)pb;
}

void ktp_flows_track(struct ktp_flows *fl, const struct ktp_seg *seg,
		     struct ktp_seq_ctx *ctx)
{
	struct ktp_flow *f, *victim = NULL;
	const uint8_t *a0, *a1;
	uint16_t p0, p1;
	int i, dir;

	memset(ctx, 0, sizeof(*ctx));
	ctx->name_s = 'x';
	ctx->name_d = 'y';
	if (seg->bad & KTP_SEG_TRUNC_HDR)
		return;
	dir = ep_cmp(seg->saddr, seg->sport, seg->daddr, seg->dport) > 0;
	a0 = dir ? seg->daddr : seg->saddr;
	a1 = dir ? seg->saddr : seg->daddr;
	p0 = dir ? seg->dport : seg->sport;
	p1 = dir ? seg->sport : seg->dport;

	fl->tick++;
	for (i = 0; i < KTP_FLOWS_MAX; i++) {
		f = &fl->flow[i];
		if (f->used && f->family == seg->family &&
		    !memcmp(f->addr[0], a0, 16) && !memcmp(f->addr[1], a1, 16) &&
		    f->port[0] == p0 && f->port[1] == p1)
			break;
		if (!victim || !f->used ||
		    (victim->used && f->last < victim->last))
			victim = f;
	}
	if (i == KTP_FLOWS_MAX) {
		f = victim;
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->family = seg->family;
		memcpy(f->addr[0], a0, 16);
		memcpy(f->addr[1], a1, 16);
		f->port[0] = p0;
		f->port[1] = p1;
		f->x = -1;
	}
	f->last = fl->tick;

	if ((seg->flags & (KTP_FLAG_SYN | KTP_FLAG_ACK)) == KTP_FLAG_SYN) {
		/* a SYN with a new ISN starts a new connection */
		if (!f->have_isn[dir] || f->isn[dir] != seg->seq) {
			f->have_isn[!dir] = false;
			f->x = dir;
		}
		f->have_isn[dir] = true;
		f->isn[dir] = seg->seq;
		if (f->x < 0)
			f->x = dir;
	} else if (seg->flags & KTP_FLAG_SYN) {
		f->have_isn[dir] = true;
		f->isn[dir] = seg->seq;
		if (!f->have_isn[!dir]) {
			f->have_isn[!dir] = true;
			f->isn[!dir] = seg->ack - 1;
		}
		if (f->x < 0)
			f->x = !dir;
	}
	ctx->have_s = f->have_isn[dir];
	ctx->isn_s = f->isn[dir];
	ctx->have_d = f->have_isn[!dir];
	ctx->isn_d = f->isn[!dir];
	ctx->name_s = f->x == !dir ? 'y' : 'x';
	ctx->name_d = ctx->name_s == 'x' ? 'y' : 'x';
}

bool ktp_opt_put(uint8_t *opt, size_t *len, int kind, const void *val,
		 size_t vlen)
{
	size_t need = kind == KTPOPT_EOL || kind == KTPOPT_NOP ? 1 : 2 + vlen;

	if (*len + need > KTP_SEG_MAX_OPTLEN || need > 255)
		return false;
	opt[*len] = (uint8_t)kind;
	if (need > 1) {
		opt[*len + 1] = (uint8_t)need;
		if (vlen)
			memcpy(opt + *len + 2, val, vlen);
	}
	*len += need;
	return true;
}

long ktp_seg_build(uint8_t *buf, size_t size, const struct ktp_seg_spec *spec,
		   int family, const void *saddr, const void *daddr,
		   uint8_t proto)
{
	size_t optpad = (spec->optlen + 3) & ~(size_t)3;
	size_t hlen = sizeof(struct ktphdr) + optpad;
	size_t len = hlen + spec->paylen, i;
	uint16_t check;
	int doff;

	if (spec->optlen > KTP_SEG_MAX_OPTLEN || len > size || len > 65535)
		return -1;
	doff = spec->doff >= 0 ? spec->doff : (int)(hlen / 4);
	memset(buf, 0, hlen);
	put16(buf, spec->sport);
	put16(buf + 2, spec->dport);
	put32(buf + 4, spec->seq);
	put32(buf + 8, spec->ack);
	buf[12] = (uint8_t)doff;
	buf[13] = spec->flags;
	put16(buf + 14, spec->window);
	put16(buf + 18, spec->reserved);
	if (spec->optlen)
		memcpy(buf + sizeof(struct ktphdr), spec->opt, spec->optlen);
	for (i = 0; i < spec->paylen; i++)
		buf[hlen + i] = spec->payload ? spec->payload[i] :
						ktp_pattern_byte(i);
	check = ktp_csum_compute(family, saddr, daddr, proto, buf, len);
	if (spec->csum == KTP_BUILD_CSUM_BAD)
		check = ~check;
	else if (spec->csum == KTP_BUILD_CSUM_RAW)
		check = spec->csum_raw;
	put16(buf + 16, check);
	return (long)len;
}

int ktp_ipproto_param(void)
{
	FILE *f = fopen("/sys/module/ktp/parameters/ipproto", "r");
	int v = IPPROTO_KTP;

	if (f) {
		if (fscanf(f, "%d", &v) != 1 || v <= 0 || v > 255)
			v = IPPROTO_KTP;
		fclose(f);
	}
	return v;
}

size_t ktp_ip4_wrap(uint8_t *buf, const void *saddr, const void *daddr,
		    uint8_t proto, size_t seglen, uint16_t id)
{
	memset(buf, 0, 20);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)(20 + seglen));
	put16(buf + 4, id);
	put16(buf + 6, 0x4000);		/* DF */
	buf[8] = 64;
	buf[9] = proto;
	memcpy(buf + 12, saddr, 4);
	memcpy(buf + 16, daddr, 4);
	put16(buf + 10, (uint16_t)~ktp_csum_fold(ktp_csum_add(0, buf, 20)));
	return 20 + seglen;
}
