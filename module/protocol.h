/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTP: private declarations shared by the files of the module.
 *
 * Where things live:
 *   af_ktp.c	 module init/exit, the family's create(), proto_ops
 *   protocol.c	 struct proto, ktp_set_state(), the socket calls
 *   input.c	 what happens to an incoming segment of a connection
 *   output.c	 building and sending segments; the retransmission queue
 *   timer.c	 KTP's own timers: retransmission, persist, delayed ACK,
 *		 keepalive and FIN_WAIT2; RTT and RTO; orphan limits
 *   ipv4.c	 the IPv4 protocol handler, connect, SYN handling, tables
 *   ipv6.c	 the same for IPv6, and IPv4-mapped addresses on IPv6 sockets
 *   demux.c	 checking a segment and handing it to what the lookup
 *		 found, either family; RSTs for segments without a socket
 *   proc.c	 /proc/net/ktp, /proc/net/ktp6 and /proc/net/ktp_snmp
 *   hash.c	 the connection tables of a namespace: established,
 *		 listen and bind (ports); their lock rules
 *   listen.c	 listen(), the accept queue, accept(), new connections
 *   minisocks.c TIME_WAIT entries and request (SYN_RECV) entries, and
 *		 the requests SYN cookies stand for
 *   syncookies.c making and checking SYN cookies
 *   icmp.c	 ICMP and ICMPv6 errors about our segments; path MTU
 *   offload.c	 segmentation offload (GSO): super-segments cut for the
 *		 devices that do not carry them whole
 *   ctrl.c	 per-netns state, sysctls, the reset socket
 *   mib.c	 counters and /proc/net/ktp_snmp
 *   diag.c	 sock_diag: the sockets over NETLINK_SOCK_DIAG, for ktpss
 *   cong.c	 congestion control: the registry, and NewReno
 *   cubic.c	 CUBIC
 *   mem.c	 memory accounting: net.ktp.mem and the sk_mem_* pools
 *
 * Locking, as in TCP: process context owns a socket with lock_sock();
 * softirq input, ICMP errors and timers take bh_lock_sock() and, when the
 * socket is owned by a process, defer the work (input to the socket
 * backlog, timers and path MTU news to ktp_sk(sk)->deferred) to
 * release_sock(), which runs it.
 */
#ifndef __KTP_PROTOCOL_H
#define __KTP_PROTOCOL_H

#include <linux/types.h>
#include <linux/skbuff.h>
#include <net/inet_connection_sock.h>
#include <net/snmp.h>
#include <net/ip.h>
#include <net/netns/generic.h>
#include <linux/ipv6.h>
#include <uapi/linux/ktp.h>

#include "compat.h"

/* State sets as bit masks, for (1 << sk->sk_state) & KTPF_... tests. */
#define KTPF(state)	(1 << (state))
#define KTPF_ESTABLISHED	KTPF(KTP_ESTABLISHED)
#define KTPF_SYN_SENT		KTPF(KTP_SYN_SENT)
#define KTPF_SYN_RECV		KTPF(KTP_SYN_RECV)
#define KTPF_FIN_WAIT1		KTPF(KTP_FIN_WAIT1)
#define KTPF_FIN_WAIT2		KTPF(KTP_FIN_WAIT2)
#define KTPF_TIME_WAIT		KTPF(KTP_TIME_WAIT)
#define KTPF_CLOSE		KTPF(KTP_CLOSE)
#define KTPF_CLOSE_WAIT		KTPF(KTP_CLOSE_WAIT)
#define KTPF_LAST_ACK		KTPF(KTP_LAST_ACK)
#define KTPF_LISTEN		KTPF(KTP_LISTEN)
#define KTPF_CLOSING		KTPF(KTP_CLOSING)

/* The state of a request entry (struct ktp_request): never a full
 * socket's, so that a lookup tells the kinds apart. TCP's number, so
 * that the core's sk_fullsock() would say the same.
 */
#define KTP_NEW_SYN_RECV	__KTP_STATE_MAX
static_assert((int)KTP_NEW_SYN_RECV == (int)TCP_NEW_SYN_RECV);

/* States in which our FIN is out: its ACK moves the state on. */
#define KTPF_FIN_SENT	(KTPF_FIN_WAIT1 | KTPF_CLOSING | KTPF_LAST_ACK)
/* States that accept new data from the peer. */
#define KTPF_RCV_DATA	(KTPF_ESTABLISHED | KTPF_FIN_WAIT1 | KTPF_FIN_WAIT2)

#define KTP_HDR_LEN		sizeof(struct ktphdr)
#define KTP_MAX_HEADER		L1_CACHE_ALIGN(128 + MAX_HEADER)
#define KTP_MSS_DEFAULT		536U		/* RFC 9293 3.7.1 */
#define KTP_TIMEOUT_INIT	((unsigned int)HZ)	/* RFC 6298 2.1 */
#define KTP_RTO_MAX		((unsigned int)(120 * HZ))
#define KTP_RTO_MIN		((unsigned int)(HZ / 5))
#define KTP_MAX_WINDOW		65535U		/* the unscaled field */
#define KTP_MAX_WSCALE		14		/* RFC 7323 2.3 */
#define KTP_INIT_CWND		10		/* RFC 6928 */
#define KTP_DELACK_SEGS		2		/* ACK every second segment */
/* the worst case of a peer's delayed ACK (RFC 8985 7.2 WCDelAckT) */
#define KTP_WC_DELACK_US	(200 * USEC_PER_MSEC)
#define KTP_MIN_SND_MSS		48		/* as TCP_MIN_SND_MSS */
#define KTP_MAX_KEEPIDLE	32767		/* seconds, KEEPIDLE and KEEPINTVL */
#define KTP_MAX_KEEPCNT		127
#define KTP_ORPHAN_RETRIES	8		/* net.ktp.orphan_retries 0 */

/* What received data may take of memory. The window offers half of
 * SO_RCVBUF in payload; small segments cost several times their payload
 * in skb overhead, so the bound is twice the buffer: data sent into an
 * offered window is never refused for the socket's own budget. Computed
 * wide: sk_rcvbuf may be INT_MAX, and sk_rmem_alloc is an int.
 */
#define KTP_RMEM_LIMIT(sk)	\
	((int)min_t(u64, 2ULL * READ_ONCE((sk)->sk_rcvbuf), INT_MAX))

/* Counters, per netns and per cpu; names in mib.c. */
enum ktp_mib_field {
	KTP_MIB_NUM = 0,
	KTP_MIB_ACTIVEOPENS,	/* connect() sent a SYN */
	KTP_MIB_PASSIVEOPENS,	/* a listener created a connection */
	KTP_MIB_ATTEMPTFAILS,	/* SYN_SENT/SYN_RECV to CLOSED */
	KTP_MIB_ESTABRESETS,	/* ESTABLISHED/CLOSE_WAIT to CLOSED by RST */
	KTP_MIB_CURRESTAB,	/* gauge: ESTABLISHED or CLOSE_WAIT now */
	KTP_MIB_INSEGS,		/* segments handed to KTP by IP */
	KTP_MIB_OUTSEGS,	/* segments sent */
	KTP_MIB_RETRANSSEGS,	/* segments sent again */
	KTP_MIB_INERRS,		/* segments dropped as malformed */
	KTP_MIB_OUTRSTS,	/* RST segments sent */
	KTP_MIB_INCSUMERRORS,	/* dropped: bad checksum */
	KTP_MIB_BADHEADER,	/* dropped: short or inconsistent header */
	KTP_MIB_UNKNOWNBITS,	/* dropped: reserved bits set */
	KTP_MIB_NOSOCKET,	/* segments for no known connection */
	KTP_MIB_LISTENOVERFLOWS, /* SYN or third ACK dropped: queue full */
	KTP_MIB_LISTENDROPS,	/* SYN dropped by a listener, any reason */
	KTP_MIB_OUTOFWINDOW,	/* segments outside the receive window */
	KTP_MIB_BACKLOGDROP,	/* dropped: socket backlog full */
	KTP_MIB_CHALLENGEACK,	/* challenge ACKs sent (RFC 5961) */
	KTP_MIB_INRSTS,		/* RST segments that aborted a connection */
	KTP_MIB_TWRECYCLED,	/* TIME_WAIT entries created */
	KTP_MIB_TWKILLED,	/* TIME_WAIT entries ended early */
	KTP_MIB_ABORTONDATA,	/* RST sent: closed with unread data */
	KTP_MIB_ABORTONLINGER,	/* RST sent: SO_LINGER of zero */
	KTP_MIB_ABORTONTIMEOUT,	/* connection dropped after retries */
	KTP_MIB_FINWAIT2TIMEOUT, /* orphan gave up waiting for the FIN */
	KTP_MIB_DUPDATA,	/* segments with only old data */
	KTP_MIB_OFODROP,	/* out-of-order data dropped */
	KTP_MIB_OFOPRUNED,	/* out-of-order queue pruned: memory */
	KTP_MIB_RCVPRUNED,	/* in-order data dropped: memory */
	KTP_MIB_FILTERDROP,	/* dropped by a socket filter, the LSM,
				 * or a pfmemalloc skb for a normal socket
				 */
	KTP_MIB_ACKSKIPPEDSEQ,	/* out-of-window ACK not sent: rate limit */
	KTP_MIB_ACKSKIPPEDCHALLENGE, /* challenge ACK not sent: rate limit */
	KTP_MIB_ACKSKIPPEDTIMEWAIT, /* TIME_WAIT ACK not sent: rate limit */
	KTP_MIB_ACKSKIPPEDSYNRECV, /* SYN_RECV ACK not sent: rate limit */
	KTP_MIB_ABORTONMEMORY,	/* orphan reset: too many or no memory */
	KTP_MIB_TOOOLDACK,	/* ACK below SND.UNA - MAX.SND.WND: dropped */
	KTP_MIB_OUTOFWINDOWICMPS, /* ICMP quoting a sequence not in flight */
	KTP_MIB_ICMPABORTS,	/* connection or request ended by ICMP */
	KTP_MIB_PMTUREDUCED,	/* MSS lowered by a path MTU message */
	KTP_MIB_SYNCOOKIESSENT,	/* SYN-ACKs with a cookie */
	KTP_MIB_SYNCOOKIESRECV,	/* third ACKs with a good cookie */
	KTP_MIB_SYNCOOKIESFAILED, /* ACKs to a listener with a bad one */
	KTP_MIB_TLPPROBES,	/* tail loss probes sent (RFC 8985 7) */
	KTP_MIB_PAWSESTAB,	/* dropped by PAWS: an old TSval (RFC 7323) */
	KTP_MIB_ACKSKIPPEDPAWS,	/* ACK to a PAWS drop not sent: rate limit */
	KTP_MIB_PAWSACTIVE,	/* SYN-ACK echoing no SYN of ours: reset */
	KTP_MIB_LOSSUNDO,	/* RTO recoveries undone: spurious */
	KTP_MIB_FULLUNDO,	/* fast recoveries undone: spurious */
	KTP_MIB_DSACKUNDO,	/* recoveries undone by D-SACKs */
	KTP_MIB_SPURIOUSRTOS,	/* RTOs F-RTO found spurious, undone */
	KTP_MIB_DSACKOLDSENT,	/* D-SACKs sent for old data */
	KTP_MIB_DSACKOFOSENT,	/* D-SACKs sent for out-of-order data */
	KTP_MIB_DSACKRECV,	/* D-SACKs received */
	KTP_MIB_TIMEOUTS,	/* RTOs: every hole presumed lost */
	KTP_MIB_RECOVERIES,	/* fast recoveries entered */
	KTP_MIB_LOSTRETRANSMIT,	/* retransmissions found lost again */
	__KTP_MIB_MAX
};

struct ktp_mib {
	unsigned long mibs[__KTP_MIB_MAX];
};

#define KTP_CA_NAME_MAX	16

/**
 * struct ktp_congestion_ops - a congestion-control algorithm
 * @list: in the registry, cong.c
 * @name: what KTP_CONGESTION and net.ktp.congestion_control take
 * @owner: module that provides it, pinned while a socket uses it; NULL
 *	   for the ones built into ktp.ko, which an orphan must not pin
 *	   (ktp_orphan_count_inc())
 * @init: a socket starts using it (optional); ca_priv is zeroed
 * @release: a socket stops using it (optional)
 * @ssthresh: on loss: the new slow-start threshold, in segments
 * @cong_avoid: on new data acknowledged outside recovery: grow cwnd
 * @rtt_sample: an RTT measured from an ACK, after snd_una moved and
 *		before @cong_avoid (optional)
 */
struct ktp_congestion_ops {
	struct list_head list;
	char name[KTP_CA_NAME_MAX];
	struct module *owner;
	void (*init)(struct sock *sk);
	void (*release)(struct sock *sk);
	u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, u32 acked);
	void (*rtt_sample)(struct sock *sk, u32 rtt_us);
};

/* A bucket of the established or the listen table (hash.c). */
struct ktp_hbucket {
	spinlock_t lock;		/* writers; BH off */
	struct hlist_nulls_head chain;	/* entries, by skc_nulls_node */
};

/* A bucket of the bind table: the ports that hash to it. */
struct ktp_bhead {
	spinlock_t lock;		/* BH off; before an ehash lock */
	struct hlist_head chain;	/* struct ktp_bind_bucket */
};

/* One local port in use, and who holds it. */
struct ktp_bind_bucket {
	struct hlist_node node;		/* in its ktp_bhead */
	struct hlist_head owners;	/* sockets and TIME_WAIT entries,
					 * by skc_bind_node
					 */
	u16 port;
	bool connect_only;		/* taken by connect() only: other
					 * connections may share it
					 */
};

/* A namespace's connection tables (hash.c). */
struct ktp_tables {
	struct ktp_hbucket *ehash;	/* by 4-tuple */
	struct ktp_hbucket *lhash;	/* listeners, by local port */
	struct ktp_bhead *bhash;	/* ports */
	unsigned int ehash_mask;
	unsigned int lhash_mask;
	unsigned int bhash_mask;
	u32 seed;			/* keys the 4-tuple hash */
	u32 port_counter;		/* RFC 6056 algorithm 3 */
};

/* Per network namespace state, from net_generic(). */
struct ktp_net {
	struct ktp_mib __percpu *mib;	/* counters, see ktp_mib_field */
	struct ktp_tables tables;	/* sockets, requests, TIME_WAIT */
	struct sock *rst_sk;		/* sends RSTs for no socket */
	struct sock *rst_sk6;		/* the same over IPv6 */
	struct ctl_table_header *sysctl_hdr;
	int syn_retries;		/* SYN sends before ETIMEDOUT */
	int synack_retries;		/* SYN-ACK sends of a listener */
	int retries2;			/* RTOs before a connection fails */
	int fin_timeout;		/* orphan FIN_WAIT2 lifetime, jiffies */
	int tw_timeout;			/* TIME_WAIT (2 MSL), jiffies */
	int rto_min;			/* RTO floor, jiffies */
	int delack;			/* delayed-ACK time-out, jiffies */
	int keepalive_time;		/* idle before probes, jiffies */
	int keepalive_intvl;		/* between probes, jiffies */
	int keepalive_probes;		/* unanswered before ETIMEDOUT */
	int rmem[3];			/* receive buffer: min, default, max */
	int wmem[3];			/* send buffer: min, default, max */
	int window_scaling;		/* offer/accept RFC 7323 scaling */
	int sack;			/* offer/accept RFC 2018 SACK */
	int min_snd_mss;		/* floor of the MSS we send with */
	int invalid_ratelimit;		/* jiffies between answers to
					 * invalid segments, per socket
					 */
	int orphan_retries;		/* RTOs of an orphan; 0: 8 */
	int challenge_ack_limit;	/* challenge ACKs a second, about */
	int syncookies;			/* 0 never, 1 SYN queue full, 2 always */
	int tlp;			/* tail loss probes (RFC 8985 7) */
	int timestamps;			/* offer/accept RFC 7323 timestamps */
	int frto;			/* F-RTO after an RTO (RFC 5682) */
	u32 challenge_stamp;		/* the second the budget is for */
	u32 challenge_count;		/* what is left of its budget */
	spinlock_t ca_lock;		/* protects congestion_control */
	char congestion_control[KTP_CA_NAME_MAX]; /* default algorithm */
};

/* Per-segment control block, in skb->cb. */
struct ktp_skb_cb {
	union {				/* IP's, kept: options, iif */
		struct inet_skb_parm h4;
#if IS_ENABLED(CONFIG_IPV6)
		struct inet6_skb_parm h6;
#endif
	} header;
	u32 seq;			/* first sequence number */
	u32 end_seq;			/* seq + SYN + FIN + payload */
	u32 ack_seq;			/* received: the ACK field */
	union {
		u16 window;		/* received: raw window field */
		u16 pcount;		/* queued to send: the segments
					 * it is on the wire (its MSSes)
					 */
	};
	u8 flags;			/* KTP_FLAG_* */
	u8 retransmitted:1,		/* sent more than once */
	   sacked:1,			/* the peer holds it (SACK) */
	   lost_retx:1;			/* resent in this recovery */
	u32 sent_us;			/* last sent, ktp_clock_us() */
	u32 unsacked;			/* in the retransmission queue:
					 * segments not SACKed in the
					 * subtree this one roots
					 */
};

#define KTP_SKB_CB(skb)	((struct ktp_skb_cb *)&((skb)->cb[0]))

static inline struct ktphdr *ktp_hdr(const struct sk_buff *skb)
{
	return (struct ktphdr *)skb_transport_header(skb);
}

#define KTP_MAX_SACKS	4	/* blocks that fit in 40 option bytes */

struct ktp_sack_block {
	u32 start;		/* first sequence number held */
	u32 end;		/* one past the last */
};

/* Bits of ktp_sock.deferred: timer work postponed to release_sock(). */
enum {
	KTP_RETRANSMIT_DEFERRED,
	KTP_FINWAIT2_DEFERRED,
	KTP_DELACK_DEFERRED,
	KTP_MTU_REDUCED_DEFERRED,	/* not a timer: an ICMP (icmp.c) */
};

/* What ktp_sock.rtx_timer is armed for. */
enum ktp_rtx_event {
	KTP_RTX_NONE,
	KTP_RTX_RETRANS,	/* the retransmission time-out */
	KTP_RTX_PROBE,		/* the persist timer: window probes */
	KTP_RTX_LOSS_PROBE,	/* the tail loss probe (RFC 8985 7) */
};

/* The first segment not sent yet. */
#define ktp_send_head(sk)	skb_peek(&(sk)->sk_write_queue)

/* The full connection socket. */
struct ktp_sock {
	struct inet_connection_sock icsk;	/* must be first */

	/* Send sequence space, RFC 9293 3.3.1 */
	u32	iss;		/* our initial sequence number */
	u32	snd_una;	/* oldest unacknowledged */
	u32	snd_nxt;	/* next to send */
	u32	write_seq;	/* end of the data queued by the user */
	u32	snd_wnd;	/* the peer's window */
	u32	max_window;	/* the largest it offered: MAX.SND.WND */
	u32	snd_wl1;	/* seq of the last window update */
	u32	snd_wl2;	/* ack of the last window update */

	/* Receive sequence space */
	u32	irs;		/* the peer's initial sequence number */
	u32	rcv_nxt;	/* next expected */
	u32	copied_seq;	/* next to hand to the user */
	u32	rcv_wnd;	/* window last advertised */

	u32	rcv_wup;	/* rcv_nxt when the window was last sent */
	struct rb_root ooo_queue; /* out-of-order segments, by seq */
	/* What we hold beyond a hole, most recently grown first (RFC 2018
	 * 4), kept as segments arrive: no ACK walks ooo_queue.
	 */
	struct ktp_sack_block selective_acks[KTP_MAX_SACKS];
	u8	num_sacks;	/* blocks in selective_acks */
	u8	dsack;		/* duplicate_sack holds a D-SACK block for
				 * the next ACK (RFC 2883)
				 */
	struct ktp_sack_block duplicate_sack;

	u16	mss;		/* payload of a data segment now */
	u16	mss_clamp;	/* the peer's MSS, or KTP_MAXSEG if lower */
	u16	peer_mss;	/* the MSS option the peer sent */
	u8	nodelay:1,	/* KTP_NODELAY */
		fin_queued:1,	/* our FIN is on the write queue */
		in_recovery:1,	/* fast recovery (RFC 6582, RFC 6675) */
		ack_pending:1,	/* an ACK is owed: delayed-ACK timer runs */
		sack_ok:1,	/* both sides sent SACK-permitted; on our
				 * SYN: we offer it
				 */
		wscale_ok:1,	/* window scaling, as sack_ok */
		cork:1;		/* KTP_CORK */
	u8	in_lhash:1,	/* in the listen table, not established */
		tw_handoff:1,	/* the connection went on in a TIME_WAIT
				 * entry: its CLOSE is not the end
				 */
		ts_ok:1,	/* timestamps (RFC 7323), as sack_ok */
		undo_ok:1,	/* no ACK of this recovery answered a
				 * retransmission yet: it may be undone
				 */
		undo_loss:1,	/* this recovery began with an RTO */
		all_lost:1,	/* in this recovery every hole is lost
				 * (an RTO, a smaller path MTU), whatever
				 * RACK says
				 */
		undo_armed:1,	/* a recovery began and was not undone:
				 * D-SACKs may still undo it
				 */
		undo_dsack:1;	/* D-SACKs covered every retransmission:
				 * undo at the full ACK
				 */
	u8	snd_wscale;	/* the peer's window shift (RFC 7323) */
	u8	rcv_wscale;	/* ours */
	u8	dupacks;	/* duplicate ACKs in a row */
	u16	user_mss;	/* KTP_MAXSEG, 0: none */
	u32	mtu_info;	/* the MTU a path MTU message reported */
	u32	keepalive_time;	/* KTP_KEEPIDLE, jiffies, 0: sysctl */
	u32	keepalive_intvl; /* KTP_KEEPINTVL, jiffies, 0: sysctl */
	u8	keepalive_probes; /* KTP_KEEPCNT, 0: sysctl */
	u32	rcv_tstamp;	/* jiffies of the last acceptable ACK */
	u32	last_oow_ack_time; /* jiffies of the last answer to an
				    * invalid segment (rate limit)
				    */
	/* Timestamps, RFC 7323: our TSval is ktp_clock_ms() + ts_off */
	u32	ts_off;		/* per host pair, unguessable (5.4) */
	u32	ts_recent;	/* TS.Recent: the TSval we echo */
	u32	ts_recent_stamp; /* when it was taken, seconds; 0: never */

	/* RTT and RTO, RFC 6298, in microseconds */
	u32	srtt_us;	/* smoothed RTT, 0 before the first sample */
	u32	rttvar_us;	/* RTT variation */
	u32	rtt_min_us;	/* least RTT measured, 0 before the first */

	/* Congestion control, in segments (RFC 5681, RFC 6582) */
	u32	snd_cwnd;	/* congestion window */
	u32	snd_ssthresh;	/* slow-start threshold */
	u32	cwnd_cnt;	/* ACKed segments toward the next increase */
	u32	packets_out;	/* segments sent and not yet acknowledged */
	u32	recover;	/* snd_nxt when recovery began */
	u32	sacked_out;	/* segments the peer SACKed */
	u32	lost_out;	/* not SACKed, below highest_sack: holes */
	u32	retrans_out;	/* holes resent in this recovery */
	u32	retx_hint;	/* holes before it were resent or SACKed */
	const struct ktp_congestion_ops *ca_ops; /* the algorithm */
	u64	ca_priv[6];	/* its private state */
	u32	highest_sack;	/* end of the highest SACKed segment */
	u32	tlp_high_seq;	/* snd_nxt when a tail loss probe went out,
				 * until it is acknowledged; 0: none
				 */
	/* Undo (RFC 3522 with timestamps): a recovery whose full ACK was
	 * sent for the original segments, not the retransmissions, was
	 * spurious, and gives back what it took.
	 */
	u32	prior_cwnd;	/* cwnd and ssthresh as recovery began */
	u32	prior_ssthresh;
	u32	retrans_stamp;	/* TSval of its first retransmission; 0:
				 * none yet. In SYN_SENT, of our first SYN
				 */
	u32	undo_marker;	/* snd_una as it began */
	/* RACK's reordering window (RFC 8985 6.2): reo_wnd_steps quarters
	 * of SRTT, SRTT at most; a D-SACK, once a round trip, adds one, and
	 * KTP_REO_WND_PERSIST recoveries without one take them back
	 */
	u8	reo_wnd_steps;
	u8	reo_wnd_persist;
	u8	reord_seen:1,	/* a segment was delivered out of order */
		rack_on:1;	/* rack_* describe a delivered segment */
	/* RACK (RFC 8985 6.2): of the delivered segments, the one sent
	 * last; a hole sent before it and still missing a reordering window
	 * after its RTT is lost
	 */
	u32	rack_xmit_us;	/* its send time */
	u32	rack_end_seq;
	u32	rack_rtt_us;	/* its RTT */
	u8	frto;		/* F-RTO (RFC 5682): 1 the RTO's first ACK,
				 * 2 its second, is awaited; 0 off
				 */
	u32	frto_cwnd;	/* cwnd before F-RTO's two new segments */
	u32	reo_wnd_seq;	/* snd_nxt when a D-SACK last added one */
	u32	undo_retrans;	/* its retransmissions no D-SACK reported
				 * unneeded yet
				 */

	/* KTP's own timers (timer.c), one callback each; the socket
	 * owner arms and stops them, each armed timer holds a reference.
	 */
	struct timer_list rtx_timer;	/* retransmission or persist */
	struct timer_list delack_timer;	/* a delayed ACK */
	struct timer_list keepalive_timer; /* keepalive; an orphan's
					    * FIN_WAIT2 time-out
					    */
	unsigned long rtx_timeout;	/* when rtx_timer's event is due */
	unsigned long ack_timeout;	/* when the delayed ACK is due */
	u8	rtx_pending;		/* enum ktp_rtx_event */
	unsigned long deferred;	/* KTP_*_DEFERRED bits */
	struct rb_root rtx_queue; /* sent, not yet acknowledged, by seq;
				   * sk_write_queue holds what is not sent
				   */

	/* Ports, and a listener's queues (listen.c). queue_lock (BH off)
	 * guards req_list, req_qlen and accept_queue; sk_ack_backlog
	 * counts accept_queue.
	 */
	struct ktp_bind_bucket *bind_bucket; /* the port held, or NULL;
					      * changed under its bhead lock
					      */
	spinlock_t	queue_lock;
	struct hlist_head req_list;	/* request entries (SYN queue) */
	int		req_qlen;	/* entries on req_list */
	unsigned long	cookie_stamp;	/* jiffies a SYN cookie was last
					 * sent, 0: never (lockless)
					 */
	struct list_head accept_queue;	/* children not accepted yet */
	struct list_head accept_node;	/* a child: on its listener's */

	u32	total_retrans;	/* segments retransmitted */
	/* Buffer auto-tuning (mem.c); times from ktp_clock_us(), 0: unset */
	u32	rcvq_space;	/* bytes the reader took in an RTT, at most */
	u32	rcvq_seq;	/* copied_seq when this RTT began */
	u32	rcvq_time_us;	/* when it began */
	u32	rcv_rtt_us;	/* the receiver's RTT estimate */
	u32	rcv_rtt_seq;	/* rcv_nxt that ends the window being timed */
	u32	rcv_rtt_time_us; /* when its timing began */

	u64	bytes_acked;	/* RFC 4898 */
	u64	bytes_received;
	u64	segs_in;
	u64	segs_out;
};

static inline struct ktp_sock *ktp_sk(const struct sock *sk)
{
	return (struct ktp_sock *)sk;
}

/* The peer's window, and the largest it ever offered (RFC 5961 5.2). */
static inline void ktp_set_snd_wnd(struct ktp_sock *kp, u32 wnd)
{
	kp->snd_wnd = wnd;
	if (wnd > kp->max_window)
		kp->max_window = wnd;
}

/* An IPv6 socket: inet6_sk_generic() wants ipv6_pinfo last. */
struct ktp6_sock {
	struct ktp_sock	kp;
	struct ipv6_pinfo inet6;
};

/**
 * struct ktp_request - a listener's light entry for a connection in
 * SYN_RECV, in the established table (skc_state KTP_NEW_SYN_RECV)
 * @common: addresses, ports, family, interface (skc_bound_dev_if),
 *	namespace and reference count, as a socket's
 * @listener: the listener, referenced
 * @listen_node: on the listener's req_list
 * @timer: resends the SYN-ACK, then drops the entry
 * @snt_isn: y, our ISN
 * @rcv_isn: x, the client's ISN
 * @mark: the SYN's mark, for routing
 * @last_oow_ack_time: rate limit of its ACKs
 * @mss: the client's MSS option
 * @snd_wscale: the client's shift, -1: none
 * @rcv_wscale: ours, if it sent one
 * @sack_ok: the client sent SACK-permitted
 * @ts_ok: the client sent a timestamp, and we take it
 * @ts_recent: the TSval of its SYN (of a cookie's third ACK)
 * @ts_off: our TSval offset for the client (ktp_ts_off())
 * @num_timeout: SYN-ACKs resent
 * @cookie: built on the stack from a SYN cookie (syncookies.c): in no
 *	table, on no queue, no timer
 */
struct ktp_request {
	struct sock_common common;	/* must be first */
	struct sock	*listener;
	struct hlist_node listen_node;
	struct timer_list timer;
	u32	snt_isn;
	u32	rcv_isn;
	u32	mark;
	u32	last_oow_ack_time;
	u32	ts_recent;
	u32	ts_off;
	u16	mss;
	s8	snd_wscale;
	u8	rcv_wscale;
	u8	sack_ok;
	u8	ts_ok;
	u8	num_timeout;
	u8	cookie;
};

static inline struct ktp_request *ktp_req(const struct sock *sk)
{
	return (struct ktp_request *)sk;
}

static inline struct sock *ktp_req_sk(const struct ktp_request *req)
{
	return (struct sock *)req;
}

static inline struct net *ktp_req_net(const struct ktp_request *req)
{
	return read_pnet(&req->common.skc_net);
}

/* The window a listener's SYN-ACK offers (never scaled, RFC 7323 2.2). */
static inline u32 ktp_synack_window(const struct sock *listener)
{
	return min_t(u32, READ_ONCE(listener->sk_rcvbuf) / 2, KTP_MAX_WINDOW);
}

/**
 * struct ktp_tw - the light TIME_WAIT entry that replaces a closed
 * connection in the established and bind tables
 * @common: as the connection's, skc_state KTP_TIME_WAIT
 * @timer: ends it after 2 MSL
 * @tb: the port it holds
 * @rcv_nxt: to re-ACK a retransmitted FIN
 * @snd_nxt: our FIN's seq + 1
 * @last_oow_ack_time: rate limit of its ACKs
 */
struct ktp_tw {
	struct sock_common common;	/* must be first */
	struct timer_list timer;
	struct ktp_bind_bucket *tb;
	u32	rcv_nxt;
	u32	snd_nxt;
	u32	last_oow_ack_time;
	u32	ts_recent;	/* the connection's, as it went */
	u32	ts_recent_stamp; /* seconds; 0: no timestamps */
	u32	ts_off;
};

static inline struct ktp_tw *ktp_tw(const struct sock *sk)
{
	return (struct ktp_tw *)sk;
}

static inline struct net *ktp_tw_net(const struct ktp_tw *tw)
{
	return read_pnet(&tw->common.skc_net);
}

/* A microsecond clock for RTT samples; wraps after 71 minutes. */
static inline u32 ktp_clock_us(void)
{
	return div_u64(ktime_get_ns(), NSEC_PER_USEC);
}

#define KTP_REO_WND_PERSIST	16	/* as TCP_RACK_RECOVERY_THRESH */

/* The timestamp clock (RFC 7323 5.4): milliseconds, as TCP's. */
static inline u32 ktp_clock_ms(void)
{
	return div_u64(ktime_get_ns(), NSEC_PER_MSEC);
}

/* TS.Recent older than this is no longer held against a segment
 * (RFC 7323 5.5), as TCP_PAWS_24DAYS.
 */
#define KTP_PAWS_IDLE	(60 * 60 * 24 * 24)

/**
 * ktp_paws_old - PAWS, RFC 7323 5.3 R1: is a segment's TSval older than
 * TS.Recent by more than @win?
 * @ts_recent: TS.Recent
 * @stamp: when it was taken, seconds
 * @tsval: the segment's
 * @win: ticks of slack
 *
 * A TS.Recent idle for 24 days no longer counts (5.5), nor one of 0: a
 * peer whose clock starts there, as TCP's check lets it.
 */
static inline bool ktp_paws_old(u32 ts_recent, u32 stamp, u32 tsval, u32 win)
{
	if ((s32)(ts_recent - tsval) <= (s32)win || !ts_recent)
		return false;
	return (u32)ktime_get_seconds() - stamp < KTP_PAWS_IDLE;
}

/* Serial number arithmetic, RFC 1982. */
static inline bool ktp_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

#define ktp_after(a, b)	ktp_before(b, a)

static inline bool ktp_between(u32 seq, u32 lo, u32 hi)
{
	return hi - lo >= seq - lo;
}

/* af_ktp.c */
extern int ktp_family;
extern int ktp_ipproto;
extern const struct proto_ops ktp_stream_ops;
extern const struct proto_ops ktp6_stream_ops;

/* ctrl.c */
extern unsigned int ktp_net_id;

static inline struct ktp_net *ktp_pernet(const struct net *net)
{
	return net_generic(net, ktp_net_id);
}

int ktp_ctrl_init(void);
void ktp_ctrl_exit(void);

/* diag.c */
int ktp_diag_init(void);
void ktp_diag_exit(void);

/* mib.c */
#define KTP_INC_STATS(net, field) \
	SNMP_INC_STATS(ktp_pernet(net)->mib, field)
#define __KTP_INC_STATS(net, field) \
	__SNMP_INC_STATS(ktp_pernet(net)->mib, field)
#define KTP_DEC_STATS(net, field) \
	SNMP_DEC_STATS(ktp_pernet(net)->mib, field)
#define KTP_ADD_STATS(net, field, val) \
	SNMP_ADD_STATS(ktp_pernet(net)->mib, field, val)
#define __KTP_ADD_STATS(net, field, val) \
	__SNMP_ADD_STATS(ktp_pernet(net)->mib, field, val)

int ktp_mib_alloc(struct ktp_net *kn);
void ktp_mib_free(struct ktp_net *kn);
int ktp_snmp_seq_show(struct seq_file *seq, void *v);
int ktp_proc_init_net(struct net *net);
void ktp_proc_exit_net(struct net *net);

/* protocol.c */
extern struct proto ktp_prot;
DECLARE_PER_CPU(unsigned int, ktp_orphan_count);

void ktp_set_state(struct sock *sk, int state);
int ktp_init_sock(struct sock *sk);
void ktp_forget_connection(struct sock *sk);
void ktp_done(struct sock *sk);
void ktp_destroy_dead(struct sock *sk);
void ktp_orphan_count_inc(void);
void ktp_abort_orphan(struct sock *sk);
void ktp_prepare_forced_close(struct sock *sk);
void ktp_reset(struct sock *sk);
int ktp_listen(struct socket *sock, int backlog);
__poll_t ktp_poll(struct file *file, struct socket *sock,
		  struct poll_table_struct *wait);
void ktp_trace_state(const struct sock_common *skc, int old, int new);
void ktp_fill_info(struct sock *sk, struct ktp_info *info);

/* input.c */
/* Option room a full-sized data segment keeps, when SACK is on, for one
 * SACK block (NOP, NOP, kind, length, one block): the MSS the peer
 * announces, like TCP's, counts no options.
 */
#define KTP_DATA_OPT_ROOM	12

/* Option room a data segment of a connection with timestamps keeps for
 * them: NOP, NOP, kind, length, TSval, TSecr.
 */
#define KTP_TS_OPT_ROOM		12

/* Options of one segment, parsed or to be sent. */
struct ktp_syn_opts {
	u16 mss;		/* 0: absent */
	s8 wscale;		/* -1: absent */
	u8 sack_ok;		/* SACK-permitted */
	u8 nr_sacks;		/* SACK blocks below */
	u8 ts;			/* a timestamp option: the two below */
	u32 tsval;
	u32 tsecr;
	struct ktp_sack_block sacks[KTP_MAX_SACKS];
};

int ktp_rcv_state_process(struct sock *sk, struct sk_buff *skb);
bool ktp_challenge_ack_allowed(struct net *net, u32 *last_oow_ack_time);
bool ktp_oow_rate_limited(struct net *net, const struct sk_buff *skb,
			  int mib, u32 *last_oow_ack_time);

/* demux.c */
int ktp_do_rcv(struct sock *sk, struct sk_buff *skb);
bool ktp_rcv_prepare(struct net *net, struct sk_buff *skb);
bool ktp_rcv_found(struct net *net, struct sock *sk, struct sk_buff *skb,
		   bool refcounted);
void ktp_parse_opts(const struct sk_buff *skb, struct ktp_syn_opts *o);
void ktp_purge_ooo_queue(struct sock *sk);
void ktp_sack_retransmit(struct sock *sk);

/* output.c */
void ktp_init_mss(struct sock *sk);
unsigned int ktp_sync_mss(struct sock *sk, u32 pmtu);
void ktp_resync_mss(struct sock *sk);
int ktp_connect_send_syn(struct sock *sk);
int ktp_write_xmit(struct sock *sk);
bool ktp_wnd_allows(const struct ktp_sock *kp, const struct sk_buff *skb);
bool ktp_xmit_probe_new(struct sock *sk);
void ktp_queue_fin(struct sock *sk);
void ktp_send_ack(struct sock *sk);
void ktp_send_active_reset(struct sock *sk, gfp_t gfp);
int ktp_retransmit_head(struct sock *sk);
int ktp_retransmit_skb(struct sock *sk, struct sk_buff *skb);
struct sk_buff *ktp_rtx_split(struct sock *sk, struct sk_buff *skb, u32 len);
int ktp_rtx_trim_head(struct sock *sk, struct sk_buff *skb, u32 len);
void ktp_purge_write_queue(struct sock *sk);
struct sk_buff *ktp_rtx_first(const struct sock *sk);
struct sk_buff *ktp_rtx_last(const struct sock *sk);
struct sk_buff *ktp_rtx_next_unsacked(struct sk_buff *skb);
struct sk_buff *ktp_rtx_find_unsacked(const struct sock *sk, u32 seq);
struct sk_buff *ktp_rtx_find(const struct sock *sk, u32 seq);
void ktp_rtx_mark_sacked(struct sock *sk, struct sk_buff *skb);
void ktp_rtx_unlink(struct sock *sk, struct sk_buff *skb);
void ktp_rtx_reset_marks(struct sock *sk);
void ktp_rtx_unmark_retrans(struct sock *sk, struct sk_buff *skb);
void ktp_advance_highest_sack(struct sock *sk, u32 seq);
u32 ktp_pipe(const struct ktp_sock *kp);
u32 ktp_select_window(struct sock *sk);
struct sk_buff *ktp_make_synack(const struct sock *sk, struct dst_entry *dst,
				struct ktp_request *req);
void ktp_build_header(struct sk_buff *skb, __be16 sport, __be16 dport,
		      u32 seq, u32 ack, u8 flags, u16 window,
		      const struct ktp_syn_opts *opts);
u8 ktp_choose_wscale(const struct sock *sk);
void ktp_init_syn_opts(struct sock *sk);
void ktp_enter_loss(struct sock *sk);
void ktp_simple_retransmit(struct sock *sk);

/* icmp.c */

/**
 * struct ktp_icmp_msg - an ICMP or ICMPv6 error about a segment of ours,
 * in KTP's terms
 * @seq: the sequence number of the segment it quotes
 * @mtu: a path MTU message (fragmentation needed, packet too big): the
 *	MTU it reports; else 0
 * @err: otherwise, the errno it means
 * @fatal: it is a hard error (RFC 1122 4.2.3.9): ends a request entry
 */
struct ktp_icmp_msg {
	u32	seq;
	u32	mtu;
	int	err;
	bool	fatal;
};

void ktp_icmp_rcv(struct sock *sk, const struct ktp_icmp_msg *msg);
void ktp_pmtu_lowered(struct sock *sk, u32 mtu);

/* cong.c, cubic.c */
int ktp_register_congestion_control(struct ktp_congestion_ops *ca);
void ktp_unregister_congestion_control(struct ktp_congestion_ops *ca);
int ktp_set_congestion_control(struct sock *sk, const char *name);
void ktp_init_congestion_control(struct sock *sk);
void ktp_inherit_congestion_control(struct sock *sk);
void ktp_reinit_congestion_control(struct sock *sk);
void ktp_cleanup_congestion_control(struct sock *sk);
void ktp_reno_cong_avoid(struct sock *sk, u32 acked);
void ktp_ca_available(char *buf, size_t len);
bool ktp_ca_known(const char *name);
int ktp_cong_init(void);
void ktp_cong_exit(void);
int ktp_cubic_register(void);
void ktp_cubic_unregister(void);

/* mem.c */
extern atomic_long_t ktp_memory_allocated;
DECLARE_PER_CPU(int, ktp_memory_per_cpu_fw_alloc);
extern struct percpu_counter ktp_sockets_allocated;
extern unsigned long ktp_memory_pressure;
extern long ktp_sysctl_mem[3];
extern int ktp_sysctl_wmem[3];
extern int ktp_sysctl_rmem[3];

extern int ktp_max_orphans;

void ktp_enter_memory_pressure(struct sock *sk);
bool ktp_too_many_orphans(int shift);
bool ktp_orphan_oom(const struct sock *sk, int shift);
void ktp_leave_memory_pressure(struct sock *sk);
void ktp_wmem_free_skb(struct sock *sk, struct sk_buff *skb);
bool ktp_rmem_schedule(struct sock *sk, struct sk_buff *skb);
void ktp_sndbuf_expand(struct sock *sk);
void ktp_rcv_rtt_measure(struct sock *sk);
void ktp_rcv_space_adjust(struct sock *sk);
int ktp_mem_init(void);
void ktp_mem_exit(void);

/* timer.c */
void ktp_init_xmit_timers(struct sock *sk);
void ktp_clear_xmit_timers(struct sock *sk);
void ktp_stop_timers_sync(struct sock *sk);
void ktp_reset_rtx_timer(struct sock *sk, int event, unsigned long when);
void ktp_reset_keepalive_timer(struct sock *sk, unsigned long len);
void ktp_delete_keepalive_timer(struct sock *sk);
void ktp_rearm_rto(struct sock *sk);
bool ktp_schedule_loss_probe(struct sock *sk);
void ktp_release_cb(struct sock *sk);
void ktp_forget_deferred(struct sock *sk);
void ktp_retransmit_timer(struct sock *sk);
void ktp_finwait2_timer(struct sock *sk);
void ktp_schedule_ack(struct sock *sk);
void ktp_keepalive(struct sock *sk, int val);
void ktp_reset_keepalive(struct sock *sk);
void ktp_send_probe(struct sock *sk);
void ktp_rtt_sample(struct sock *sk, u32 rtt_us);
void ktp_rtt_sample_ts(struct sock *sk, u32 tsecr);

/**
 * ktp_init_undo - a recovery begins: keep what undoing it gives back
 * @kp: the socket, owned by the caller, cwnd and ssthresh not cut yet
 * @loss: it begins with an RTO
 *
 * Only with timestamps: without them an ACK does not tell which copy of
 * a segment it answers.
 */
static inline void ktp_init_undo(struct ktp_sock *kp, bool loss)
{
	kp->prior_cwnd = kp->snd_cwnd;
	kp->prior_ssthresh = kp->snd_ssthresh;
	kp->retrans_stamp = 0;
	kp->undo_ok = kp->ts_ok;
	kp->undo_loss = loss;
	kp->undo_armed = 1;
	kp->undo_dsack = 0;
	kp->undo_marker = kp->snd_una;
	kp->undo_retrans = 0;
}

bool ktp_out_of_resources(struct sock *sk, bool do_reset);

/* hash.c */
int ktp_hash_init(void);
void ktp_hash_exit(void);
int ktp_tables_init(struct net *net);
void ktp_orphans_abort(struct net *net);
void ktp_tables_purge(struct net *net);
void ktp_tables_exit(struct net *net);
u32 ktp_ehashfn(const struct net *net, const struct sock_common *c);
void ktp_entry_put(struct sock *sk);
struct sock *ktp_lookup_established4(struct net *net, __be32 saddr,
				     __be16 sport, __be32 daddr, u16 hnum,
				     int dif, int sdif);
struct sock *ktp_lookup_listener4(struct net *net, struct sk_buff *skb,
				  int doff, __be32 saddr, __be16 sport,
				  __be32 daddr, u16 hnum, int dif, int sdif);
#if IS_ENABLED(CONFIG_IPV6)
struct sock *ktp_lookup_established6(struct net *net,
				     const struct in6_addr *saddr,
				     __be16 sport,
				     const struct in6_addr *daddr, u16 hnum,
				     int dif, int sdif);
struct sock *ktp_lookup_listener6(struct net *net, struct sk_buff *skb,
				  int doff, const struct in6_addr *saddr,
				  __be16 sport, const struct in6_addr *daddr,
				  u16 hnum, int dif, int sdif);
#endif
bool ktp_ehash_insert(struct sock *sk, bool unique);
bool ktp_ehash_remove(struct sock *sk);
bool ktp_ehash_replace(struct sock *old, struct sock *new);
int ktp_hash(struct sock *sk);
void ktp_unhash(struct sock *sk);
bool ktp_rcv_saddr_equal(const struct sock_common *c1,
			 const struct sock_common *c2, bool wildcard);
int ktp_get_port(struct sock *sk, unsigned short snum);
void ktp_put_port(struct sock *sk);
int ktp_inherit_port(const struct sock *listener, struct sock *child);
int ktp_hash_connect(struct sock *sk);
void ktp_tw_bind(struct ktp_tw *tw, struct sock *sk);
void ktp_tw_unbind(struct ktp_tw *tw);

/* listen.c */
void ktp_listen_init(struct sock *sk);
int ktp_listen_start(struct sock *sk);
void ktp_listen_stop(struct sock *sk);
struct sock *ktp_clone_child(const struct sock *sk,
			     const struct ktp_request *req);
bool ktp_accept_enqueue(struct sock *sk, struct sock *child);
void ktp_child_forget(struct sock *sk, struct sock *child);
__poll_t ktp_listen_poll(const struct sock *sk);

/* ipv4.c */
int ktp_ipv4_init(void);
void ktp_ipv4_exit(void);
extern const struct inet_connection_sock_af_ops ktp_ipv4_specific;

int ktp_v4_connect(struct sock *sk, struct ktp_uaddr *uaddr, int addr_len);
int ktp_v4_pre_connect(struct sock *sk, struct ktp_uaddr *uaddr, int addr_len);
int ktp_v4_conn_request(struct sock *sk, struct sk_buff *skb);
struct sock *ktp_v4_syn_recv_sock(const struct sock *sk, struct sk_buff *skb,
				  struct ktp_request *req,
				  void (*opt_child_init)(struct sock *newsk,
							 const struct sock *sk));
struct sock *ktp_v4_lookup_listener(struct net *net, struct sk_buff *skb);
void ktp_v4_send_reply(struct net *net, struct sk_buff *rxskb, u32 seq,
		       u32 ack, u8 flags, const struct ktp_syn_opts *opts);
void ktp_v4_send_check(struct sock *sk, struct sk_buff *skb);
u32 ktp_v4_isn(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport);
u32 ktp_v4_ts_off(__be32 saddr, __be32 daddr);
int ktp_v4_rtx_synack(const struct sock *sk, struct ktp_request *req);
void ktp_reset_saddr(struct sock *sk);
void ktp_v4_mtu_reduced(struct sock *sk);

/* ipv6.c */
#if IS_ENABLED(CONFIG_IPV6)
extern struct proto ktpv6_prot;

int ktp_ipv6_init(void);
void ktp_ipv6_exit(void);
void ktp_v6_init_sock_generic(struct sock *sk);
void ktp_v6_send_check(struct sock *sk, struct sk_buff *skb);
int ktp_v6_rtx_synack(const struct sock *sk, struct ktp_request *req);
struct sock *ktp_v6_syn_recv_sock(const struct sock *sk, struct sk_buff *skb,
				  struct ktp_request *req);
struct sock *ktp_v6_lookup_listener(struct net *net, struct sk_buff *skb);
void ktp_v6_send_reply(struct net *net, struct sk_buff *rxskb, u32 seq,
		       u32 ack, u8 flags, const struct ktp_syn_opts *opts);
u32 ktp_v6_ts_off(const struct in6_addr *saddr, const struct in6_addr *daddr);
#else
static inline int ktp_ipv6_init(void) { return 0; }
static inline void ktp_ipv6_exit(void) { }
#endif

/**
 * ktp_dev_hw_csum - does the device of @sk's route checksum any protocol?
 * @sk: a full socket, owned or bh-locked by the caller
 *
 * The device's own features, not sk->sk_route_caps: sk_setup_caps() adds
 * NETIF_F_HW_CSUM there wherever GSO is possible (for every protocol but
 * TCP, whenever the device does GSO at all), trusting the core's
 * fallback, skb_csum_hwoffload_help(). That fallback would hand KTP's
 * field, at TCP's offset, to a device that sums only TCP and UDP.
 */
static inline bool ktp_dev_hw_csum(struct sock *sk)
{
	const struct dst_entry *dst = __sk_dst_get(sk);

	return dst && (dst_dev(dst)->features & NETIF_F_HW_CSUM);
}

/* offload.c */
extern bool ktp_gso_registered;
void ktp_offload_init(void);
void ktp_offload_exit(void);

/**
 * ktp_can_gso - may @sk hand IP super-segments (offload.c)?
 * @sk: a full socket, owned or bh-locked by the caller
 *
 * Only where the checksum is the device's: a super-segment a software
 * device carries whole reaches the receiver with the checksum it has.
 */
static inline bool ktp_can_gso(struct sock *sk)
{
	return READ_ONCE(ktp_gso_registered) && sk_can_gso(sk) &&
	       sk->sk_gso_max_segs > 1 && ktp_dev_hw_csum(sk);
}

/**
 * ktp_size_goal - how long an skb of the write queue may grow
 * @sk: a full socket, owned by the caller
 *
 * As many whole segments as one super-segment may carry where the device
 * takes them (a 64 KiB IP datagram at most, headers included, as TCP's
 * tcp_size_goal()), else one.
 *
 * Return: the length, in bytes.
 */
static inline u32 ktp_size_goal(struct sock *sk)
{
	u32 mss = ktp_sk(sk)->mss, segs;

	if (!ktp_can_gso(sk))
		return mss;
	segs = (min_t(u32, sk->sk_gso_max_size, GSO_LEGACY_MAX_SIZE) - 1 -
		KTP_MAX_HEADER) / mss;
	segs = clamp_t(u32, segs, 1, sk->sk_gso_max_segs);
	return segs * mss;
}

/**
 * ktp_csum_offload - leave the checksum of @skb to the device?
 * @sk: the sending socket
 * @skb: the segment, its header at skb->data, th->check zero
 *
 * Only a device that checksums any protocol (NETIF_F_HW_CSUM) may get
 * CHECKSUM_PARTIAL: one that checksums only TCP and UDP
 * (NETIF_F_IP_CSUM, NETIF_F_IPV6_CSUM) would take KTP's field, at TCP's
 * offset, for TCP's and leave it wrong. Otherwise the caller sums the
 * segment itself.
 *
 * Return: true when set up for the device.
 */
static inline bool ktp_csum_offload(struct sock *sk, struct sk_buff *skb)
{
	if (!ktp_dev_hw_csum(sk)) {
		skb->ip_summed = CHECKSUM_NONE;
		return false;
	}
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct ktphdr, check);
	return true;
}

/* The checksum of an outgoing segment, the way the socket sends: IPv4
 * for an IPv4 socket or an IPv6 one with a mapped peer.
 */
static inline void ktp_send_check(struct sock *sk, struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (inet_csk(sk)->icsk_af_ops->net_header_len ==
	    sizeof(struct ipv6hdr)) {
		ktp_v6_send_check(sk, skb);
		return;
	}
#endif
	ktp_v4_send_check(sk, skb);
}

/* Was @skb carried by IPv6? Answers go back the way it came. */
static inline bool ktp_skb_v6(const struct sk_buff *skb)
{
	return IS_ENABLED(CONFIG_IPV6) && skb->protocol == htons(ETH_P_IPV6);
}

/* minisocks.c */
enum ktp_tw_status {
	KTP_TW_SUCCESS,		/* drop the segment */
	KTP_TW_ACK,		/* answer with an ACK */
	KTP_TW_RST,		/* answer with a RST */
	KTP_TW_SYN,		/* a new SYN may reuse the 4-tuple */
};

int ktp_minisocks_init(void);
void ktp_minisocks_exit(void);
void ktp_time_wait(struct sock *sk, int timeo);
enum ktp_tw_status ktp_timewait_state_process(struct ktp_tw *tw,
					      struct sk_buff *skb);
void ktp_tw_kill(struct ktp_tw *tw, bool sync);
void ktp_tw_free(struct ktp_tw *tw);

/* What a family supplies to ktp_conn_request(). */
struct ktp_request_af_ops {
	void (*init_req)(struct ktp_request *req, const struct sock *sk,
			 struct sk_buff *skb);
	struct dst_entry *(*route_req)(const struct sock *sk,
				       struct ktp_request *req);
	int (*send_synack)(const struct sock *sk, struct dst_entry *dst,
			   struct ktp_request *req);
};

extern const struct ktp_request_af_ops ktp_v4_request_af;
extern const struct ktp_request_af_ops ktp_v6_request_af;

int ktp_conn_request(const struct ktp_request_af_ops *af, struct sock *sk,
		     struct sk_buff *skb);
void ktp_init_req(struct ktp_request *req, const struct sock *sk,
		  struct sk_buff *skb, u32 isn, u32 ts_off);
void ktp_init_child(struct sock *newsk, const struct ktp_request *req,
		    const struct sk_buff *skb);
void ktp_req_drop(struct ktp_request *req, bool sync);
struct sock *ktp_cookie_ack(struct sock *sk, struct sk_buff *skb);

/* syncookies.c */
u32 ktp_cookie_make(struct ktp_request *req);
int ktp_cookie_decode(struct ktp_request *req, u32 cookie);
void ktp_req_free(struct ktp_request *req);
void ktp_drop_requests(struct sock *sk);

/* A header-only answer to @skb, back the way it came. */
static inline void ktp_send_reply(struct net *net, struct sk_buff *skb,
				  u32 seq, u32 ack, u8 flags,
				  const struct ktp_syn_opts *opts)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skb_v6(skb)) {
		ktp_v6_send_reply(net, skb, seq, ack, flags, opts);
		return;
	}
#endif
	ktp_v4_send_reply(net, skb, seq, ack, flags, opts);
}

void ktp_send_reset(const struct sock *sk, struct sk_buff *skb);
void ktp_reqsk_ack(struct ktp_request *req, struct sk_buff *skb);
void ktp_timewait_ack(struct ktp_tw *tw, struct sk_buff *skb);

static inline struct sock *ktp_lookup_listener(struct net *net,
					       struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skb_v6(skb))
		return ktp_v6_lookup_listener(net, skb);
#endif
	return ktp_v4_lookup_listener(net, skb);
}

struct sock *ktp_check_req(struct sock *sk, struct sk_buff *skb,
			   struct ktp_request *req, bool *req_stolen);
int ktp_child_process(struct sock *parent, struct sock *child,
		      struct sk_buff *skb);

/* plant.c: deliberate bugs that prove make check-debug catches them.
 * Built only with KTP_PLANT=uaf or KTP_PLANT=leak; see docs/testing.md.
 */
#ifdef KTP_PLANT
void ktp_plant_bug(void);
#else
static inline void ktp_plant_bug(void) {}
#endif

#endif /* __KTP_PROTOCOL_H */
