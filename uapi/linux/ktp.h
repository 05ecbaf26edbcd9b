/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * KTP: a TCP-like reliable transport with its own protocol family.
 *
 * Userspace opens a KTP socket with
 *
 *	socket(AF_KTP, SOCK_STREAM, KTPPROTO_KTP);	IPv4
 *	socket(AF_KTP, SOCK_STREAM, KTPPROTO_KTP6);	IPv6
 *
 * and addresses it with plain struct sockaddr_in / sockaddr_in6, as AF_SMC
 * does, so inet_pton() and getaddrinfo() work unchanged. Inside the kernel
 * the socket is an inet socket: SO_DOMAIN reports AF_INET or AF_INET6 and
 * SO_PROTOCOL reports the wire protocol number, as MPTCP does.
 */
#ifndef _UAPI_LINUX_KTP_H
#define _UAPI_LINUX_KTP_H

#include <linux/types.h>
#include <asm/byteorder.h>

/*
 * The family number. Linux 6.1 only accepts numbers below AF_MAX (46) and
 * has named them all; 18 is AF_ASH, which no Linux release has ever
 * implemented or registered. The module parameter "family" moves KTP to
 * another free slot; libktp's ktp_family() reads the one in use from
 * /sys/module/ktp/parameters/family.
 */
#define AF_KTP		18
#define PF_KTP		AF_KTP

/* socket()'s protocol argument; 0 means IPv4. */
#define KTPPROTO_KTP	0
#define KTPPROTO_KTP6	1

/*
 * sock_diag: a NETLINK_SOCK_DIAG SOCK_DIAG_BY_FAMILY request for KTP is a
 * struct inet_diag_req_v2 (<linux/inet_diag.h>) with sdiag_family the
 * family in use (AF_KTP unless moved) and sdiag_protocol KTPPROTO_KTP for
 * the IPv4 sockets, KTPPROTO_KTP6 for the IPv6 ones or KTP_DIAG_ALL for
 * both; anything else fails with EPROTONOSUPPORT. A dump filters by
 * idiag_states (bits of the KTP_* states below, 1 << KTP_LISTEN ...) and
 * by the ports and addresses of id, each matched exactly unless zero; the
 * INET_DIAG_REQ_BYTECODE filter language is not implemented (EOPNOTSUPP).
 * idiag_ext may ask for INET_DIAG_INFO (struct ktp_info), INET_DIAG_CONG
 * and INET_DIAG_SKMEMINFO. Replies are struct inet_diag_msg with
 * idiag_family AF_INET or AF_INET6. See docs/interfaces.md.
 */
#define KTP_DIAG_ALL	0xff

/*
 * The IP protocol number KTP segments travel in: 253 is reserved for
 * experimentation and testing (RFC 3692). The module parameter "ipproto"
 * moves it.
 */
#define IPPROTO_KTP	253

/*
 * getsockopt()/setsockopt() level, numbered as SOL_TCP is: after the
 * default wire protocol number. It does not move with "ipproto".
 */
#define SOL_KTP		253

/* Connection states, numbered as TCP's so that habits carry over. */
enum {
	KTP_ESTABLISHED = 1,
	KTP_SYN_SENT,
	KTP_SYN_RECV,
	KTP_FIN_WAIT1,
	KTP_FIN_WAIT2,
	KTP_TIME_WAIT,
	KTP_CLOSE,
	KTP_CLOSE_WAIT,
	KTP_LAST_ACK,
	KTP_LISTEN,
	KTP_CLOSING,
	__KTP_STATE_MAX
};

/* Socket options at SOL_KTP. */
#define KTP_NODELAY	1	/* no Nagle: send partial segments at once */
#define KTP_INFO	2	/* struct ktp_info, read only */
#define KTP_KEEPIDLE	3	/* seconds idle before keepalive probes */
#define KTP_KEEPINTVL	4	/* seconds between keepalive probes */
#define KTP_KEEPCNT	5	/* unanswered probes before ETIMEDOUT */
#define KTP_CORK	6	/* hold partial segments until uncorked */
#define KTP_MAXSEG	7	/* cap on the MSS, bytes */
#define KTP_CONGESTION	8	/* congestion control: "cubic", "reno" */

/*
 * KTP_INFO: the kernel copies min(optlen, sizeof(struct ktp_info)) bytes
 * and writes back the length it copied, as TCP_INFO does. New fields are
 * only ever appended, so a binary built against an older header keeps
 * working and a newer one learns from optlen what the kernel knows.
 * Sequence numbers are absolute; times are in microseconds.
 */
struct ktp_info {
	__u8	ktpi_state;		/* KTP_* above */
	__u8	ktpi_retransmits;	/* consecutive timeouts of the head */
	__u8	ktpi_probes;		/* unanswered persist/keepalive probes */
	__u8	ktpi_backoff;		/* RTO back-off exponent */
	__u8	ktpi_options;		/* KTPI_OPT_* negotiated on the SYN */
	__u8	ktpi_snd_wscale;	/* shift applied to the peer's window */
	__u8	ktpi_rcv_wscale;	/* shift we apply to our window */
	__u8	ktpi_pad;

	__u32	ktpi_iss;		/* our initial sequence number */
	__u32	ktpi_irs;		/* the peer's initial sequence number */
	__u32	ktpi_snd_una;		/* oldest unacknowledged byte */
	__u32	ktpi_snd_nxt;		/* next byte to send */
	__u32	ktpi_rcv_nxt;		/* next byte expected */
	__u32	ktpi_snd_wnd;		/* peer's window, in bytes */
	__u32	ktpi_rcv_wnd;		/* window we advertise, in bytes */
	__u32	ktpi_snd_mss;		/* largest segment we send */
	__u32	ktpi_rcv_mss;		/* the peer's advertised MSS */

	__u32	ktpi_rto;		/* retransmission time-out, us */
	__u32	ktpi_srtt;		/* smoothed RTT, us */
	__u32	ktpi_rttvar;		/* RTT variation, us */
	__u32	ktpi_snd_cwnd;		/* congestion window, segments */
	__u32	ktpi_snd_ssthresh;	/* slow-start threshold, segments */

	__u32	ktpi_unacked;		/* segments in flight */
	__u32	ktpi_notsent_bytes;	/* queued, never sent */
	__u32	ktpi_rcv_queue;		/* bytes readable now */
	__u32	ktpi_total_retrans;	/* segments retransmitted */

	__u64	ktpi_bytes_acked;	/* RFC 4898 HCThruOctetsAcked */
	__u64	ktpi_bytes_received;	/* RFC 4898 HCThruOctetsReceived */
	__u64	ktpi_segs_out;		/* segments sent */
	__u64	ktpi_segs_in;		/* segments received */
};

#define KTPI_OPT_TIMESTAMPS	0x01
#define KTPI_OPT_SACK		0x02
#define KTPI_OPT_WSCALE		0x04

/*
 * The wire header, 20 bytes followed by options; all fields in network
 * byte order. See docs/wire-format.md for the byte layout.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+-------------------------------+
 * |          Source Port          |       Destination Port        |
 * +-------------------------------+-------------------------------+
 * |                        Sequence Number                        |
 * +---------------------------------------------------------------+
 * |                    Acknowledgment Number                      |
 * +---------------+---------------+-------------------------------+
 * |  Data Offset  |     Flags     |            Window             |
 * +---------------+---------------+-------------------------------+
 * |           Checksum            |        Reserved (zero)        |
 * +-------------------------------+-------------------------------+
 * |                     Options (TLV) ...                         |
 *
 * Data Offset counts 32-bit words of header, options included (5..15).
 * Flag bits outside KTP_FLAG_MASK and a non-zero Reserved field are
 * mandatory extensions this version does not know: such a segment is
 * dropped and counted, never acted on. The checksum covers an IPv4 or
 * IPv6 pseudo-header, the header and the payload, as TCP's does.
 */
struct ktphdr {
	__be16	source;
	__be16	dest;
	__be32	seq;
	__be32	ack_seq;
	__u8	doff;		/* header length in 32-bit words */
	__u8	flags;		/* KTP_FLAG_* */
	__be16	window;		/* receive window, >> the window scale */
	__sum16	check;		/* pseudo-header checksum */
	__be16	reserved;	/* must be zero */
};

#define KTP_FLAG_FIN	0x01
#define KTP_FLAG_SYN	0x02
#define KTP_FLAG_RST	0x04
#define KTP_FLAG_PSH	0x08
#define KTP_FLAG_ACK	0x10
#define KTP_FLAG_MASK	0x1f

#define KTP_HDR_MIN_WORDS	5
#define KTP_HDR_MAX_WORDS	15

/*
 * Options: kind, length (of the whole option), value; EOL and NOP are a
 * single byte. Kinds are numbered as TCP's. Unknown kinds are skipped.
 */
enum {
	KTPOPT_EOL = 0,
	KTPOPT_NOP = 1,
	KTPOPT_MSS = 2,		/* len 4: __be16 MSS, on SYN segments */
	KTPOPT_WSCALE = 3,	/* len 3: __u8 shift, on SYN segments */
	KTPOPT_SACK_PERM = 4,	/* len 2, on SYN segments */
	KTPOPT_SACK = 5,	/* len 2 + 8n: n (start, end) __be32 pairs */
	KTPOPT_TIMESTAMP = 8,	/* len 10: __be32 value, __be32 echo */
	__KTPOPT_MAX
};

#define KTPOLEN_MSS		4
#define KTPOLEN_WSCALE		3
#define KTPOLEN_SACK_PERM	2
#define KTPOLEN_TIMESTAMP	10

#endif /* _UAPI_LINUX_KTP_H */
