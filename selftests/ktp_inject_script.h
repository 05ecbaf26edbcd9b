/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The script language of ktp_inject: one statement a line, parsed into
 * struct stmt, and the matching of the kernel's segments against expect
 * lines; pure functions that the host unit tests exercise. The language
 * is described in docs/inject.md.
 */
#ifndef _KTP_INJECT_SCRIPT_H
#define _KTP_INJECT_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ktp_seg.h"

enum stmt_kind {
	/* socket calls on the kernel side */
	ST_SOCKET,
	ST_BIND,
	ST_LISTEN,
	ST_ACCEPT,
	ST_CONNECT,
	ST_CLOSE,
	ST_SHUTDOWN,
	ST_SEND,
	ST_RECV,
	ST_SETSOCKOPT,
	/* checks and settings */
	ST_USE,
	ST_STATE,
	ST_SOCKERR,
	ST_PEER,
	ST_PORT,
	ST_SLEEP,
	ST_COUNTER,
	ST_SYSCTL,
	ST_OFFLOAD,
	ST_INFO,
	ST_TRANSFER,
	/* segments */
	ST_INJECT,
	ST_INJECT_RAW,
	ST_EXPECT,
	ST_EXPECT_NONE,
	ST_ICMP,
};

/* An ICMP error the peer's side sends about the kernel's last segment. */
struct icmp_stmt {
	uint8_t type;
	uint8_t code;
	uint32_t mtu;		/* frag-needed: the next hop's MTU */
	bool seq_set;		/* the quoted sequence number, rewritten, */
	uint32_t seq;		/* relative to the kernel's ISN */
};

/* The two sockets a script can hold: "sock" and the accepted "child". */
enum { SK_SOCK, SK_CHILD, SK_MAX };

/* The fields of struct ktp_info an info statement can check. */
enum info_field {
	INFO_SND_UNA,		/* relative to the kernel's ISN */
	INFO_SND_NXT,		/* relative to the kernel's ISN */
	INFO_RCV_NXT,		/* relative to the peer's ISN */
	INFO_RCV_QUEUE,
	INFO_NOTSENT,
	INFO_RETRANSMITS,
	INFO_BACKOFF,
	INFO_TOTAL_RETRANS,
	INFO_SND_MSS,
	INFO_RCV_MSS,
	INFO_OPTIONS,		/* KTPI_OPT_* bits */
};

/* What an info field's value counts from. */
enum info_base { INFO_ABS, INFO_KERNEL_ISN, INFO_PEER_ISN };

/* One header field of a segment statement. */
struct field {
	bool set;		/* given in the statement */
	bool any;		/* given as '*' (expect only) */
	uint32_t v;
};

struct seg_stmt {
	int flags;		/* KTP_FLAG_* bits, -1 for '*' */
	struct field seq;	/* relative to the sender's ISN */
	struct field ack;	/* relative to the receiver's ISN */
	struct field win;
	struct field len;	/* payload bytes */
	struct field doff;
	struct field reserved;
	struct field rawflags;	/* flags=0xNN replaces the flags byte */
	/* options, in the order written (inject) */
	uint8_t opt[KTP_SEG_MAX_OPTLEN];
	size_t optlen;
	bool opts_none;		/* expect: opts=none */
	/* options to find (expect) */
	struct field mss;
	struct field wscale;
	bool sack_perm;
	bool ts;		/* ts=: the timestamps option */
	struct field ts_val;	/* expect: LO, counted from the kernel's
				 * first TSval; inject: absolute
				 */
	uint32_t ts_val_hi;	/* expect: HI of ts=LO..HI:ECR, else LO */
	struct field ts_ecr;	/* expect: absolute; inject: counted from
				 * the kernel's first TSval
				 */
	bool ts_ecr_last;	/* inject: ts=VAL:-, the kernel's last TSval */
	int ts_off;		/* inject: the timestamps option in opt[],
				 * or -1
				 */
	int nsack;		/* -1: sack=* */
	uint32_t sack[KTP_SEG_MAX_SACK][2];
	int sack_off;		/* inject: the SACK option in opt[], or -1 */
	int csum;		/* inject: KTP_BUILD_CSUM_*; expect: 0 or
				 * 1 (csum=ok) verify, 2 (csum=*) do not
				 */
	uint16_t csum_raw;
	double timeout;		/* < 0: the default */
	bool after;		/* sent LO..HI s after the previous expect's */
	double after_lo;
	double after_hi;
	bool delay;		/* sent LO..HI s after the last inject or
				 * socket call began
				 */
	double delay_lo;
	double delay_hi;
};

/* What a socket call must return: an errno, or a value. */
struct call_expect {
	bool set;
	bool is_errno;
	int value;
};

struct stmt {
	enum stmt_kind kind;
	int line;
	char src[128];		/* the statement as written, trimmed */
	bool blocking;		/* socket */
	bool addr_set;		/* bind, connect: an address was given */
	uint8_t addr[4];	/* network order; 0.0.0.0 for '*' */
	uint16_t port;		/* bind, connect, peer, port */
	bool isn_set;		/* peer isn=N */
	uint32_t isn;
	int num;		/* listen backlog, send/recv bytes, shutdown
				 * how, state, sockerr errno, use target,
				 * info field
				 */
	int optlevel;		/* setsockopt */
	int optname;
	int optval;
	char name[64];		/* counter, sysctl (dotted, "net.ktp.x") */
	char value[32];		/* sysctl */
	uint32_t val;		/* info */
	long delta;		/* counter */
	double secs;		/* sleep, expect-none; state's timeout= */
	struct call_expect ret;
	struct seg_stmt seg;
	struct icmp_stmt icmp;
};

struct script {
	struct stmt *st;
	int n;
};

/*
 * Parse one line. Returns 1 for a statement, 0 for a blank or comment
 * line, -1 with a message in @err ("line N: ...") for a bad one.
 */
int script_parse_line(const char *line, int lineno, struct stmt *st,
		      char *err, size_t errlen);

/* Parse a whole file; -1 with @err at the first bad line. */
int script_load(FILE *f, struct script *s, char *err, size_t errlen);
void script_free(struct script *s);

/* "ECONNREFUSED" <-> ECONNREFUSED for the errnos scripts may name. */
int errno_parse(const char *name);
const char *errno_str(int err);

/* "ESTABLISHED", "SYN_RECV" or "SYN_RECEIVED", ... -> KTP_*; -1. */
int state_parse(const char *name);

/* "rcv_nxt" -> INFO_RCV_NXT, ...; -1. */
int info_parse(const char *name);
const char *info_name(int field);
enum info_base info_base_of(int field);

/*
 * The file under /proc/sys of a dotted sysctl name ("net.ktp.tw_timeout"
 * -> "/proc/sys/net/ktp/tw_timeout"); false if @name is not one.
 */
bool sysctl_path(const char *name, char *path, size_t size);

/* What the numbers of expect and inject lines count from. */
struct seq_base {
	bool have_kisn;		/* else the kernel's numbers are absolute */
	uint32_t kisn;
	uint32_t peer_isn;
	bool have_kts;		/* else the kernel's TSvals are absolute */
	uint32_t kts;		/* its first TSval: ts= counts from it */
	bool have_kts_last;
	uint32_t kts_last;	/* its last TSval, for inject's ts=VAL:- */
	bool partial_ok;	/* accept offload's partial checksums */
};

/*
 * How the kernel's segment @seg differs from the expect pattern @g: NULL
 * when it matches, else @why ("ack 1, expected 2").
 */
const char *seg_mismatch(const struct seg_stmt *g, const struct ktp_seg *seg,
			 const struct seq_base *b, char *why, size_t n);

/*
 * The ECR of the timestamps option of inject pattern @g: its ECR counted
 * from the kernel's first TSval (as written while that is not known), or
 * for ts=VAL:- the kernel's last TSval as it is. False if @g has no
 * timestamps option, or for '-' before the kernel sent one.
 */
bool inject_ts_ecr(const struct seg_stmt *g, const struct seq_base *b,
		   uint32_t *ecr);

/*
 * Counters from the text of /proc/net/ktp_snmp, either as /proc/net/snmp
 * writes them (a line of names, then a line of values, same prefix) or
 * one "Name value" a line. Finds @name, case-insensitively.
 */
bool counter_find(const char *text, const char *name, long long *val);

#endif /* _KTP_INJECT_SCRIPT_H */
