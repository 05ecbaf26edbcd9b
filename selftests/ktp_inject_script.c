// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_inject's script parser (text in, struct stmt out) and its matcher
 * (an expect line against a parsed segment): nothing else.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "ktp_inject_script.h"

#define MAX_TOKENS	48
#define MAX_LINE	1024

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EINTR", EINTR },
	{ "EBADF", EBADF }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM },
	{ "EACCES", EACCES }, { "EFAULT", EFAULT }, { "EINVAL", EINVAL },
	{ "EPIPE", EPIPE }, { "ENOTSOCK", ENOTSOCK },
	{ "EDESTADDRREQ", EDESTADDRREQ }, { "EMSGSIZE", EMSGSIZE },
	{ "ENOPROTOOPT", ENOPROTOOPT }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EAFNOSUPPORT", EAFNOSUPPORT }, { "EADDRINUSE", EADDRINUSE },
	{ "EADDRNOTAVAIL", EADDRNOTAVAIL }, { "ENETUNREACH", ENETUNREACH },
	{ "ECONNABORTED", ECONNABORTED }, { "ECONNRESET", ECONNRESET },
	{ "ENOBUFS", ENOBUFS }, { "EISCONN", EISCONN },
	{ "ENOTCONN", ENOTCONN }, { "ESHUTDOWN", ESHUTDOWN },
	{ "ETIMEDOUT", ETIMEDOUT }, { "ECONNREFUSED", ECONNREFUSED },
	{ "EHOSTUNREACH", EHOSTUNREACH }, { "EALREADY", EALREADY },
	{ "EINPROGRESS", EINPROGRESS }, { "ENOSYS", ENOSYS },
	{ "EWOULDBLOCK", EWOULDBLOCK },
};

int errno_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, name))
			return errnos[i].err;
	return -1;
}

const char *errno_str(int err)
{
	static __thread char buf[16];
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

static const struct {
	const char *name;
	int state;
} states[] = {
	{ "ESTABLISHED", KTP_ESTABLISHED }, { "SYN_SENT", KTP_SYN_SENT },
	{ "SYN_RECV", KTP_SYN_RECV }, { "SYN_RECEIVED", KTP_SYN_RECV },
	{ "FIN_WAIT1", KTP_FIN_WAIT1 }, { "FIN_WAIT_1", KTP_FIN_WAIT1 },
	{ "FIN_WAIT2", KTP_FIN_WAIT2 }, { "FIN_WAIT_2", KTP_FIN_WAIT2 },
	{ "TIME_WAIT", KTP_TIME_WAIT }, { "CLOSE", KTP_CLOSE },
	{ "CLOSED", KTP_CLOSE }, { "CLOSE_WAIT", KTP_CLOSE_WAIT },
	{ "LAST_ACK", KTP_LAST_ACK }, { "LISTEN", KTP_LISTEN },
	{ "CLOSING", KTP_CLOSING },
};

int state_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(states[i].name, name))
			return states[i].state;
	return -1;
}

static const struct {
	const char *name;
	enum info_base base;
} infos[] = {
	[INFO_SND_UNA] = { "snd_una", INFO_KERNEL_ISN },
	[INFO_SND_NXT] = { "snd_nxt", INFO_KERNEL_ISN },
	[INFO_RCV_NXT] = { "rcv_nxt", INFO_PEER_ISN },
	[INFO_RCV_QUEUE] = { "rcv_queue", INFO_ABS },
	[INFO_NOTSENT] = { "notsent_bytes", INFO_ABS },
	[INFO_RETRANSMITS] = { "retransmits", INFO_ABS },
	[INFO_BACKOFF] = { "backoff", INFO_ABS },
	[INFO_TOTAL_RETRANS] = { "total_retrans", INFO_ABS },
	[INFO_SND_MSS] = { "snd_mss", INFO_ABS },
	[INFO_RCV_MSS] = { "rcv_mss", INFO_ABS },
	[INFO_OPTIONS] = { "options", INFO_ABS },
};

int info_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
		if (!strcmp(infos[i].name, name))
			return (int)i;
	return -1;
}

const char *info_name(int field)
{
	return infos[field].name;
}

enum info_base info_base_of(int field)
{
	return infos[field].base;
}

bool sysctl_path(const char *name, char *path, size_t size)
{
	size_t i, len = strlen(name);

	/* only a network namespace's own: the script's namespace is */
	if (strncmp(name, "net.", 4) || len < 5 || name[len - 1] == '.' ||
	    strstr(name, "..") || 10 + len >= size)
		return false;
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_' || name[i] == '.' || name[i] == '-'))
			return false;
	strcpy(path, "/proc/sys/");
	for (i = 0; i <= len; i++)
		path[10 + i] = name[i] == '.' ? '/' : name[i];
	return true;
}

static const struct {
	const char *name;
	enum stmt_kind kind;
} kinds[] = {
	{ "socket", ST_SOCKET }, { "bind", ST_BIND },
	{ "listen", ST_LISTEN }, { "accept", ST_ACCEPT },
	{ "connect", ST_CONNECT }, { "close", ST_CLOSE },
	{ "shutdown", ST_SHUTDOWN }, { "send", ST_SEND },
	{ "recv", ST_RECV }, { "setsockopt", ST_SETSOCKOPT },
	{ "use", ST_USE }, { "state", ST_STATE },
	{ "sockerr", ST_SOCKERR }, { "peer", ST_PEER },
	{ "port", ST_PORT }, { "sleep", ST_SLEEP },
	{ "counter", ST_COUNTER }, { "sysctl", ST_SYSCTL },
	{ "info", ST_INFO }, { "inject", ST_INJECT },
	{ "inject-raw", ST_INJECT_RAW }, { "expect", ST_EXPECT },
	{ "expect-none", ST_EXPECT_NONE }, { "transfer", ST_TRANSFER },
	{ "icmp", ST_ICMP }, { "offload", ST_OFFLOAD },
};

/* ICMP's types and codes (RFC 792, RFC 1812 5.2.7.1), by what they say */
static const struct {
	const char *name;
	uint8_t type;
	uint8_t code;
} icmp_kinds[] = {
	{ "net-unreach", 3, 0 }, { "host-unreach", 3, 1 },
	{ "proto-unreach", 3, 2 }, { "port-unreach", 3, 3 },
	{ "frag-needed", 3, 4 }, { "admin-prohibited", 3, 13 },
	{ "source-quench", 4, 0 }, { "time-exceeded", 11, 0 },
	{ "param-problem", 12, 0 },
};

static const struct {
	const char *name;
	int level;
	int opt;
} sockopts[] = {
	{ "KTP_NODELAY", SOL_KTP, KTP_NODELAY },
	{ "KTP_CORK", SOL_KTP, KTP_CORK },
	{ "KTP_KEEPIDLE", SOL_KTP, KTP_KEEPIDLE },
	{ "KTP_KEEPINTVL", SOL_KTP, KTP_KEEPINTVL },
	{ "KTP_KEEPCNT", SOL_KTP, KTP_KEEPCNT },
	{ "KTP_MAXSEG", SOL_KTP, KTP_MAXSEG },
	{ "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT },
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF },
	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR },
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE },
};

struct parser {
	int line;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(p->err, p->errlen, "line %d: ", p->line);
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || x > max)
		return false;
	*v = (uint32_t)x;
	return true;
}

static bool parse_secs(const char *s, double max, double *v)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return !errno && !*end && isfinite(*v) && *v >= 0 && *v <= max;
}

/* "8000", "*:8000" or "127.0.0.1:8000" */
static int parse_addr(struct parser *p, struct stmt *st, const char *s,
		      bool any_ok)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint32_t port;

	if (colon) {
		if ((size_t)(colon - s) >= sizeof(host))
			return fail(p, "bad address '%s'", s);
		memcpy(host, s, colon - s);
		host[colon - s] = '\0';
		if (!strcmp(host, "*")) {
			if (!any_ok)
				return fail(p, "'*' is no address to reach");
			memset(st->addr, 0, 4);
		} else if (inet_pton(AF_INET, host, st->addr) != 1) {
			return fail(p, "bad IPv4 address '%s'", host);
		}
		st->addr_set = true;
		s = colon + 1;
	}
	if (!parse_u32(s, 65535, &port) || !port)
		return fail(p, "bad port '%s'", s);
	st->port = (uint16_t)port;
	return 0;
}

static int parse_field(struct parser *p, struct field *f, const char *key,
		       const char *val, uint32_t max, bool any_ok)
{
	if (f->set)
		return fail(p, "%s given twice", key);
	f->set = true;
	if (!strcmp(val, "*")) {
		if (!any_ok)
			return fail(p, "%s=* only matches, in expect", key);
		f->any = true;
		return 0;
	}
	if (!parse_u32(val, max, &f->v))
		return fail(p, "bad value '%s' for %s", val, key);
	return 0;
}

/* sack=1:101,201:301 */
static int parse_sack(struct parser *p, struct seg_stmt *g, const char *val,
		      bool expect)
{
	char buf[256], *save = NULL, *blk, *colon;
	uint8_t v[8 * KTP_SEG_MAX_SACK];
	int n = 0;

	if (!strcmp(val, "*")) {
		if (!expect)
			return fail(p, "sack=* only matches, in expect");
		g->nsack = -1;
		return 0;
	}
	if (strlen(val) >= sizeof(buf))
		return fail(p, "sack list too long");
	strcpy(buf, val);
	for (blk = strtok_r(buf, ",", &save); blk;
	     blk = strtok_r(NULL, ",", &save)) {
		colon = strchr(blk, ':');
		if (n == KTP_SEG_MAX_SACK)
			return fail(p, "more than %d SACK blocks",
				    KTP_SEG_MAX_SACK);
		if (!colon)
			return fail(p, "SACK block '%s' is not START:END", blk);
		*colon = '\0';
		if (!parse_u32(blk, UINT32_MAX, &g->sack[n][0]) ||
		    !parse_u32(colon + 1, UINT32_MAX, &g->sack[n][1]))
			return fail(p, "bad SACK block '%s:%s'", blk,
				    colon + 1);
		n++;
	}
	if (!n)
		return fail(p, "empty sack=");
	g->nsack = n;
	if (expect)
		return 0;
	if (g->sack_off >= 0)
		return fail(p, "sack given twice");
	/* zeros for now: the runner writes the blocks against the ISN */
	memset(v, 0, sizeof(v));
	g->sack_off = (int)g->optlen;
	if (!ktp_opt_put(g->opt, &g->optlen, KTPOPT_SACK, v, 8 * n))
		return fail(p, "options longer than %d bytes",
			    KTP_SEG_MAX_OPTLEN);
	return 0;
}

/*
 * ts=VAL:ECR. In expect, VAL counts from the kernel's first TSval and is
 * a number, LO..HI (both included) or '*'; ECR is absolute, a number or
 * '*'; ts=* asks only for the option. In inject, VAL is absolute and ECR
 * counts from the kernel's first TSval, or is '-': its last TSval. The
 * runner writes inject's ECR, which it only knows then.
 */
static int parse_ts(struct parser *p, struct seg_stmt *g, const char *val,
		    bool expect)
{
	char buf[64], *colon, *dots;
	uint8_t v[8];

	if (g->ts)
		return fail(p, "ts given twice");
	g->ts = true;
	if (expect && !strcmp(val, "*"))
		return 0;
	if (strlen(val) >= sizeof(buf) || !strchr(val, ':'))
		return fail(p, "ts= wants VAL:ECR");
	strcpy(buf, val);
	colon = strchr(buf, ':');
	*colon++ = '\0';
	dots = strstr(buf, "..");
	if (dots) {
		if (!expect)
			return fail(p, "ts=LO..HI:ECR only matches, in expect");
		*dots = '\0';
		if (!parse_u32(buf, UINT32_MAX, &g->ts_val.v) ||
		    !parse_u32(dots + 2, UINT32_MAX, &g->ts_val_hi) ||
		    g->ts_val_hi < g->ts_val.v)
			return fail(p, "bad ts range '%s..%s'", buf, dots + 2);
		g->ts_val.set = true;
	} else {
		if (parse_field(p, &g->ts_val, "ts val", buf, UINT32_MAX,
				expect))
			return -1;
		g->ts_val_hi = g->ts_val.v;
	}
	if (!strcmp(colon, "-")) {
		if (expect)
			return fail(p, "ts=VAL:- is for inject");
		g->ts_ecr.set = true;
		g->ts_ecr_last = true;
	} else if (parse_field(p, &g->ts_ecr, "ts ecr", colon, UINT32_MAX,
			       expect)) {
		return -1;
	}
	if (expect)
		return 0;
	/* ECR zero for now, as SACK blocks are */
	memset(v, 0, sizeof(v));
	v[0] = g->ts_val.v >> 24;
	v[1] = g->ts_val.v >> 16;
	v[2] = g->ts_val.v >> 8;
	v[3] = g->ts_val.v;
	g->ts_off = (int)g->optlen;
	if (!ktp_opt_put(g->opt, &g->optlen, KTPOPT_TIMESTAMP, v, 8))
		return fail(p, "options longer than %d bytes",
			    KTP_SEG_MAX_OPTLEN);
	return 0;
}

/* An option word or key=value of a segment statement. */
static int parse_seg_item(struct parser *p, struct stmt *st, char *tok)
{
	bool expect = st->kind == ST_EXPECT;
	bool raw = st->kind == ST_INJECT_RAW;
	struct seg_stmt *g = &st->seg;
	char *val = strchr(tok, '=');
	uint8_t v[2];
	int kind = -1;

	if (!val) {
		if (!strcmp(tok, "sackOK")) {
			g->sack_perm = true;
			kind = KTPOPT_SACK_PERM;
		} else if (!strcmp(tok, "nop")) {
			kind = KTPOPT_NOP;
		} else if (!strcmp(tok, "eol")) {
			kind = KTPOPT_EOL;
		} else {
			return fail(p, "unknown word '%s'", tok);
		}
		if (expect && kind != KTPOPT_SACK_PERM)
			return fail(p, "'%s' is for inject", tok);
		if (!expect && !ktp_opt_put(g->opt, &g->optlen, kind, NULL, 0))
			return fail(p, "options longer than %d bytes",
				    KTP_SEG_MAX_OPTLEN);
		return 0;
	}
	*val++ = '\0';
	if (!strcmp(tok, "seq"))
		return parse_field(p, &g->seq, tok, val, UINT32_MAX, expect);
	if (!strcmp(tok, "ack"))
		return parse_field(p, &g->ack, tok, val, UINT32_MAX, expect);
	if (!strcmp(tok, "win"))
		return parse_field(p, &g->win, tok, val, 65535, expect);
	if (!strcmp(tok, "len"))
		return parse_field(p, &g->len, tok, val, 65000, expect);
	if (!strcmp(tok, "mss") || !strcmp(tok, "wscale")) {
		struct field *f = tok[0] == 'm' ? &g->mss : &g->wscale;

		if (parse_field(p, f, tok, val, tok[0] == 'm' ? 65535 : 255,
				expect))
			return -1;
		if (expect)
			return 0;
		v[0] = tok[0] == 'm' ? f->v >> 8 : f->v;
		v[1] = f->v;
		if (!ktp_opt_put(g->opt, &g->optlen,
				 tok[0] == 'm' ? KTPOPT_MSS : KTPOPT_WSCALE,
				 v, tok[0] == 'm' ? 2 : 1))
			return fail(p, "options longer than %d bytes",
				    KTP_SEG_MAX_OPTLEN);
		return 0;
	}
	if (!strcmp(tok, "sack"))
		return parse_sack(p, g, val, expect);
	if (!strcmp(tok, "ts"))
		return parse_ts(p, g, val, expect);
	if (!strcmp(tok, "opts")) {
		if (!expect || strcmp(val, "none"))
			return fail(p, "opts=none is the only opts=, in expect");
		g->opts_none = true;
		return 0;
	}
	if (!strcmp(tok, "timeout") || !strcmp(tok, "after") ||
	    !strcmp(tok, "delay")) {
		double lo, hi;
		char *dots;

		if (!expect)
			return fail(p, "%s= is for expect", tok);
		if (tok[0] == 't') {
			if (!parse_secs(val, 600, &g->timeout))
				return fail(p, "bad timeout '%s'", val);
			return 0;
		}
		dots = strstr(val, "..");
		if (!dots)
			return fail(p, "%s= wants LO..HI seconds", tok);
		*dots = '\0';
		if (!parse_secs(val, 600, &lo) ||
		    !parse_secs(dots + 2, 600, &hi) || hi < lo)
			return fail(p, "bad %s=%s..%s", tok, val, dots + 2);
		if (tok[0] == 'a') {
			g->after = true;
			g->after_lo = lo;
			g->after_hi = hi;
		} else {
			g->delay = true;
			g->delay_lo = lo;
			g->delay_hi = hi;
		}
		return 0;
	}
	if (!strcmp(tok, "csum")) {
		if (!strcmp(val, "ok")) {
			g->csum = expect ? 1 : KTP_BUILD_CSUM_OK;
			return 0;
		}
		if (expect && !strcmp(val, "*")) {
			g->csum = 2;
			return 0;
		}
		if (!raw)
			return fail(p, "csum=%s is for inject-raw", val);
		if (!strcmp(val, "bad")) {
			g->csum = KTP_BUILD_CSUM_BAD;
			return 0;
		}
		{
			uint32_t c;

			if (!parse_u32(val, 65535, &c))
				return fail(p, "bad csum '%s'", val);
			g->csum = KTP_BUILD_CSUM_RAW;
			g->csum_raw = (uint16_t)c;
		}
		return 0;
	}
	if (!strcmp(tok, "doff") || !strcmp(tok, "reserved") ||
	    !strcmp(tok, "flags")) {
		struct field *f = tok[0] == 'd' ? &g->doff :
				  tok[0] == 'r' ? &g->reserved : &g->rawflags;

		if (!raw && !(expect && tok[0] != 'f'))
			return fail(p, "%s= is for inject-raw", tok);
		return parse_field(p, f, tok, val,
				   tok[0] == 'r' ? 65535 : 255, expect);
	}
	return fail(p, "unknown field '%s='", tok);
}

static int parse_seg(struct parser *p, struct stmt *st, char **tok, int n)
{
	struct seg_stmt *g = &st->seg;
	int i;

	g->timeout = -1;
	g->sack_off = -1;
	g->ts_off = -1;
	if (n < 1)
		return fail(p, "segments need flags, like S or S. or .");
	if (!strcmp(tok[0], "*") && st->kind == ST_EXPECT) {
		g->flags = -1;
	} else {
		g->flags = ktp_flags_parse(tok[0]);
		if (g->flags < 0)
			return fail(p, "bad flags '%s' (letters of FSRP.)",
				    tok[0]);
	}
	for (i = 1; i < n; i++)
		if (parse_seg_item(p, st, tok[i]))
			return -1;
	return 0;
}

static int parse_call_expect(struct parser *p, struct stmt *st,
			     const char *val)
{
	uint32_t v;
	int e;

	st->ret.set = true;
	if (val[0] == 'E') {
		e = errno_parse(val);
		if (e < 0)
			return fail(p, "unknown errno '%s'", val);
		st->ret.is_errno = true;
		st->ret.value = e;
		return 0;
	}
	if (!parse_u32(val, 1 << 30, &v))
		return fail(p, "expect wants an errno name or a number");
	st->ret.value = (int)v;
	return 0;
}

/* icmp KIND [mtu=N] [seq=N] */
static int parse_icmp(struct parser *p, struct stmt *st, char **tok, int n)
{
	struct icmp_stmt *ic = &st->icmp;
	size_t i;
	int k;

	for (i = 0; n && i < sizeof(icmp_kinds) / sizeof(icmp_kinds[0]); i++)
		if (!strcmp(icmp_kinds[i].name, tok[0]))
			break;
	if (!n || i == sizeof(icmp_kinds) / sizeof(icmp_kinds[0]))
		return fail(p, "icmp KIND [mtu=N] [seq=N]: KIND is one of "
			    "net-unreach, host-unreach, proto-unreach, "
			    "port-unreach, frag-needed, admin-prohibited, "
			    "source-quench, time-exceeded, param-problem");
	ic->type = icmp_kinds[i].type;
	ic->code = icmp_kinds[i].code;
	for (k = 1; k < n; k++) {
		if (!strncmp(tok[k], "mtu=", 4) && ic->code == 4 &&
		    ic->type == 3 && parse_u32(tok[k] + 4, 65535, &ic->mtu))
			continue;
		if (!strncmp(tok[k], "seq=", 4) && !ic->seq_set &&
		    parse_u32(tok[k] + 4, UINT32_MAX, &ic->seq)) {
			ic->seq_set = true;
			continue;
		}
		return fail(p, "icmp: bad '%s' (mtu= is frag-needed's)",
			    tok[k]);
	}
	return 0;
}

static int parse_args(struct parser *p, struct stmt *st, char **tok, int n)
{
	uint32_t v;
	size_t i;
	long d;
	char *end;

	switch (st->kind) {
	case ST_SOCKET:
		if (n > 1 || (n == 1 && strcmp(tok[0], "blocking")))
			return fail(p, "socket [blocking]");
		st->blocking = n == 1;
		return 0;
	case ST_BIND:
	case ST_CONNECT:
		if (n != 1)
			return fail(p, "%s [ADDR:]PORT", st->kind == ST_BIND ?
				    "bind" : "connect");
		return parse_addr(p, st, tok[0], st->kind == ST_BIND);
	case ST_LISTEN:
		st->num = 8;
		if (n > 1 || (n == 1 && !parse_u32(tok[0], 65535, &v)))
			return fail(p, "listen [BACKLOG]");
		if (n == 1)
			st->num = (int)v;
		return 0;
	case ST_ACCEPT:
	case ST_CLOSE:
		if (n)
			return fail(p, "%s takes no arguments",
				    st->kind == ST_ACCEPT ? "accept" : "close");
		return 0;
	case ST_SHUTDOWN:
		if (n == 1 && !strcmp(tok[0], "rd"))
			st->num = SHUT_RD;
		else if (n == 1 && !strcmp(tok[0], "wr"))
			st->num = SHUT_WR;
		else if (n == 1 && !strcmp(tok[0], "rdwr"))
			st->num = SHUT_RDWR;
		else
			return fail(p, "shutdown rd|wr|rdwr");
		return 0;
	case ST_TRANSFER:
		if (n < 1 || n > 2 || !parse_u32(tok[0], 1 << 24, &v) ||
		    (n == 2 && (strncmp(tok[1], "timeout=", 8) ||
				!parse_secs(tok[1] + 8, 600, &st->secs))))
			return fail(p, "transfer BYTES [timeout=SECONDS]");
		st->num = (int)v;
		return 0;
	case ST_SEND:
	case ST_RECV:
		if (n != 1 || !parse_u32(tok[0], 1 << 20, &v))
			return fail(p, "%s BYTES (up to 1048576)",
				    st->kind == ST_SEND ? "send" : "recv");
		st->num = (int)v;
		return 0;
	case ST_SETSOCKOPT:
		if (n != 2)
			return fail(p, "setsockopt NAME VALUE");
		for (i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
			if (!strcmp(sockopts[i].name, tok[0]))
				break;
		if (i == sizeof(sockopts) / sizeof(sockopts[0]))
			return fail(p, "unknown socket option '%s'", tok[0]);
		if (!parse_u32(tok[1], INT32_MAX, &v))
			return fail(p, "bad value '%s'", tok[1]);
		st->optlevel = sockopts[i].level;
		st->optname = sockopts[i].opt;
		st->optval = (int)v;
		return 0;
	case ST_USE:
		if (n == 1 && !strcmp(tok[0], "sock"))
			st->num = SK_SOCK;
		else if (n == 1 && !strcmp(tok[0], "child"))
			st->num = SK_CHILD;
		else
			return fail(p, "use sock|child");
		return 0;
	case ST_STATE:
		st->num = n == 1 || n == 2 ? state_parse(tok[0]) : -1;
		if (st->num < 0)
			return fail(p, "state NAME (ESTABLISHED, SYN_SENT, ...)");
		if (n == 2 && (strncmp(tok[1], "timeout=", 8) ||
			       !parse_secs(tok[1] + 8, 600, &st->secs)))
			return fail(p, "state NAME [timeout=SECONDS]");
		return 0;
	case ST_SOCKERR:
		st->num = n != 1 ? -1 : strcmp(tok[0], "0") ?
			  errno_parse(tok[0]) : 0;
		if (st->num < 0)
			return fail(p, "sockerr ERRNO|0");
		return 0;
	case ST_PEER:
		if (n < 1 || n > 2 || !parse_u32(tok[0], 65535, &v) || !v)
			return fail(p, "peer PORT [isn=N]");
		st->port = (uint16_t)v;
		if (n == 2) {
			if (strncmp(tok[1], "isn=", 4) ||
			    !parse_u32(tok[1] + 4, UINT32_MAX, &st->isn))
				return fail(p, "peer PORT [isn=N]");
			st->isn_set = true;
		}
		return 0;
	case ST_PORT:
		if (n != 1 || !parse_u32(tok[0], 65535, &v) || !v)
			return fail(p, "port PORT");
		st->port = (uint16_t)v;
		return 0;
	case ST_SLEEP:
	case ST_EXPECT_NONE:
		if (n != 1 || !parse_secs(tok[0], 60, &st->secs))
			return fail(p, "%s SECONDS (up to 60)",
				    st->kind == ST_SLEEP ? "sleep" :
				    "expect-none");
		return 0;
	case ST_COUNTER:
		if (n != 2 || strlen(tok[0]) >= sizeof(st->name))
			return fail(p, "counter NAME +N");
		strcpy(st->name, tok[0]);
		errno = 0;
		d = strtol(tok[1], &end, 10);
		if (errno || *end || end == tok[1] ||
		    (tok[1][0] != '+' && tok[1][0] != '-'))
			return fail(p, "counter NAME +N: bad '%s'", tok[1]);
		st->delta = d;
		return 0;
	case ST_SYSCTL: {
		char path[128];

		if (n != 2 || strlen(tok[0]) >= sizeof(st->name) ||
		    !sysctl_path(tok[0], path, sizeof(path)))
			return fail(p, "sysctl net.NAME VALUE (a network "
				    "namespace's, like net.ktp.tw_timeout)");
		if (strlen(tok[1]) >= sizeof(st->value))
			return fail(p, "sysctl value '%s' too long", tok[1]);
		strcpy(st->name, tok[0]);
		strcpy(st->value, tok[1]);
		return 0;
	}
	case ST_OFFLOAD:
		if (n)
			return fail(p, "offload takes no arguments");
		return 0;
	case ST_INFO:
		st->num = n == 2 ? info_parse(tok[0]) : -1;
		if (st->num < 0)
			return fail(p, "info FIELD VALUE (snd_una, snd_nxt, "
				    "rcv_nxt, rcv_queue, ...)");
		if (!parse_u32(tok[1], UINT32_MAX, &st->val))
			return fail(p, "info %s: bad value '%s'", tok[0],
				    tok[1]);
		return 0;
	case ST_INJECT:
	case ST_INJECT_RAW:
	case ST_EXPECT:
		return parse_seg(p, st, tok, n);
	case ST_ICMP:
		return parse_icmp(p, st, tok, n);
	}
	return fail(p, "internal: statement kind %d", st->kind);
}

int script_parse_line(const char *line, int lineno, struct stmt *st,
		      char *err, size_t errlen)
{
	struct parser p = { .line = lineno, .err = err, .errlen = errlen };
	char buf[MAX_LINE], *tok[MAX_TOKENS], *save = NULL, *t, *hash;
	size_t i, len;
	int n = 0;

	memset(st, 0, sizeof(*st));
	st->line = lineno;
	if (strlen(line) >= sizeof(buf))
		return fail(&p, "line longer than %d bytes", MAX_LINE - 1);
	strcpy(buf, line);
	hash = strchr(buf, '#');
	if (hash)
		*hash = '\0';
	for (t = strtok_r(buf, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_TOKENS)
			return fail(&p, "more than %d words", MAX_TOKENS);
		tok[n++] = t;
	}
	if (!n)
		return 0;
	for (i = 0, len = 0; i < (size_t)n && len < sizeof(st->src) - 1; i++)
		len += snprintf(st->src + len, sizeof(st->src) - len, "%s%s",
				i ? " " : "", tok[i]);

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, tok[0]))
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return fail(&p, "unknown statement '%s'", tok[0]);
	st->kind = kinds[i].kind;

	/* socket calls may end in "expect RESULT" */
	if (st->kind <= ST_SETSOCKOPT && n >= 3 &&
	    !strcmp(tok[n - 2], "expect")) {
		if (parse_call_expect(&p, st, tok[n - 1]))
			return -1;
		n -= 2;
	}
	if (parse_args(&p, st, tok + 1, n - 1))
		return -1;
	return 1;
}

int script_load(FILE *f, struct script *s, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0, room = 0;
	struct stmt st, *grown;

	s->st = NULL;
	s->n = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		rc = script_parse_line(line, lineno, &st, err, errlen);
		if (rc < 0)
			break;
		if (!rc)
			continue;
		if (s->n == room) {
			room = room ? 2 * room : 32;
			grown = realloc(s->st, room * sizeof(*grown));
			if (!grown) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
				break;
			}
			s->st = grown;
		}
		s->st[s->n++] = st;
		rc = 0;
	}
	free(line);
	if (rc < 0) {
		script_free(s);
		return -1;
	}
	return 0;
}

void script_free(struct script *s)
{
	free(s->st);
	s->st = NULL;
	s->n = 0;
}

/* A header field against its pattern: false, with @why, if it differs. */
static bool field_ok(const struct field *f, uint32_t got, const char *what,
		     char *why, size_t n)
{
	if (!f->set || f->any || got == f->v)
		return true;
	snprintf(why, n, "%s %u, expected %u", what, got, f->v);
	return false;
}

const char *seg_mismatch(const struct seg_stmt *g, const struct ktp_seg *seg,
			 const struct seq_base *b, char *why, size_t n)
{
	const struct ktp_seg_opts *o = &seg->opts;
	uint32_t seq = seg->seq - (b->have_kisn ? b->kisn : 0);
	uint32_t ack = seg->ack - b->peer_isn;
	char f1[8], f2[8];
	int i;

	if (g->flags >= 0 && seg->flags != g->flags) {
		snprintf(why, n, "flags [%s], expected [%s]",
			 ktp_flags_str(seg->flags, f1),
			 ktp_flags_str((uint8_t)g->flags, f2));
		return why;
	}
	if (!field_ok(&g->seq, seq, b->have_kisn ? "seq" : "seq (absolute)",
		      why, n) ||
	    !field_ok(&g->ack, ack, "ack", why, n) ||
	    !field_ok(&g->win, seg->window, "win", why, n) ||
	    !field_ok(&g->len, (uint32_t)seg->paylen, "length", why, n) ||
	    !field_ok(&g->doff, seg->doff, "doff", why, n) ||
	    !field_ok(&g->reserved, seg->reserved, "reserved", why, n))
		return why;
	if (g->opts_none && (seg->optlen && (o->count || seg->opt[0] != 0))) {
		snprintf(why, n, "options present, expected none");
		return why;
	}
	if (g->mss.set && (o->mss < 0 || (!g->mss.any &&
					  (uint32_t)o->mss != g->mss.v))) {
		snprintf(why, n, "mss %d, expected %s", o->mss,
			 g->mss.any ? "one" : "another");
		return why;
	}
	if (g->wscale.set && (o->wscale < 0 ||
			      (!g->wscale.any &&
			       (uint32_t)o->wscale != g->wscale.v))) {
		snprintf(why, n, "wscale %d, expected %s", o->wscale,
			 g->wscale.any ? "one" : "another");
		return why;
	}
	if (g->sack_perm && !o->sack_perm) {
		snprintf(why, n, "no sackOK");
		return why;
	}
	if (g->ts && !o->ts) {
		snprintf(why, n, "no timestamps");
		return why;
	}
	if (g->ts && g->ts_val.set && !g->ts_val.any) {
		/* unsigned: the kernel's clock may wrap past its base */
		uint32_t tv = o->ts_val - (b->have_kts ? b->kts : 0);
		const char *what = b->have_kts ? "ts val" : "ts val (absolute)";

		if (tv < g->ts_val.v || tv > g->ts_val_hi) {
			if (g->ts_val_hi == g->ts_val.v)
				snprintf(why, n, "%s %u, expected %u", what,
					 tv, g->ts_val.v);
			else
				snprintf(why, n, "%s %u, expected %u..%u",
					 what, tv, g->ts_val.v,
					 g->ts_val_hi);
			return why;
		}
	}
	if (g->ts && !field_ok(&g->ts_ecr, o->ts_ecr, "ts ecr", why, n))
		return why;
	if (g->nsack > 0) {
		bool same = o->nsack == g->nsack;

		for (i = 0; same && i < g->nsack; i++)
			same = o->sack[i][0] - b->peer_isn == g->sack[i][0] &&
			       o->sack[i][1] - b->peer_isn == g->sack[i][1];
		if (!same) {
			snprintf(why, n, "SACK blocks differ");
			return why;
		}
	} else if (g->nsack < 0 && !o->nsack) {
		snprintf(why, n, "no SACK blocks");
		return why;
	}
	if (g->csum != 2 && seg->csum != KTP_CSUM_OK &&
	    !(b->partial_ok && seg->csum == KTP_CSUM_PARTIAL)) {
		snprintf(why, n, "bad checksum 0x%04x", seg->check);
		return why;
	}
	return NULL;
}

bool inject_ts_ecr(const struct seg_stmt *g, const struct seq_base *b,
		   uint32_t *ecr)
{
	if (g->ts_off < 0)
		return false;
	if (g->ts_ecr_last) {
		*ecr = b->kts_last;
		return b->have_kts_last;
	}
	*ecr = g->ts_ecr.v + (b->have_kts ? b->kts : 0);
	return true;
}

/* Is @s a whole number? */
static bool numeric(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int split(char *line, char **tok, int max)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(line, " \t\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	return n;
}

bool counter_find(const char *text, const char *name, long long *val)
{
	char *copy = strdup(text), *lines[256], *next, *l;
	char *t1[128], *t2[128], vals[4096];
	size_t nlen = strlen(name);
	int nl = 0, n1, n2, i, j;
	bool found = false;

	if (!copy)
		return false;
	for (l = copy; l && nl < 256; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		lines[nl++] = l;
	}
	for (i = 0; i < nl && !found; i++) {
		n1 = split(lines[i], t1, 128);
		if (n1 == 2 && numeric(t1[1])) {
			/* "Name value" or "Name: value" */
			if (!strncasecmp(t1[0], name, nlen) &&
			    (!t1[0][nlen] ||
			     (t1[0][nlen] == ':' && !t1[0][nlen + 1]))) {
				*val = strtoll(t1[1], NULL, 10);
				found = true;
			}
			continue;
		}
		if (n1 < 2 || i + 1 == nl || t1[0][strlen(t1[0]) - 1] != ':')
			continue;
		/* "Ktp: A B C" then "Ktp: 1 2 3"; split a copy, as the
		 * next line is read on its own if it is not the values
		 */
		if (strlen(lines[i + 1]) >= sizeof(vals))
			continue;
		strcpy(vals, lines[i + 1]);
		n2 = split(vals, t2, 128);
		if (n2 != n1 || strcmp(t1[0], t2[0]) || !numeric(t2[1]))
			continue;
		for (j = 1; j < n1; j++) {
			if (!strcasecmp(t1[j], name) && numeric(t2[j])) {
				*val = strtoll(t2[j], NULL, 10);
				found = true;
				break;
			}
		}
		i++;
	}
	free(copy);
	return found;
}
