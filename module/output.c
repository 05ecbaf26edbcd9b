// SPDX-License-Identifier: GPL-2.0
/*
 * KTP output: building segments and putting them on the wire.
 *
 * Every segment that consumes sequence space (SYN, data, FIN) lives on
 * sk->sk_write_queue, in sequence order, from the moment it is queued
 * until it is cumulatively acknowledged; ktp_sk(sk)->send_head marks the
 * first one not sent yet. What goes to IP is a clone, so the original
 * stays for retransmission. Pure ACKs and RSTs are built on the fly.
 */
#include <linux/module.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/ip6_checksum.h>
#include <linux/rbtree_augmented.h>

#include "protocol.h"
#include "trace.h"

/*
 * The retransmission queue: the segments sent and not yet acknowledged,
 * in an rb-tree by sequence number, as TCP's tcp_rtx_queue. Each node
 * also counts the segments not SACKed in its subtree (an augmented
 * rb-tree), so that the first segment not SACKed at or after any point
 * is found in O(log n): no ACK, however its SACK blocks are made, walks
 * the whole queue. Next to it, counters keep RFC 6675's pipe: what is
 * SACKed (sacked_out), the holes below the highest SACK (lost_out) and
 * those of them resent in this recovery (retrans_out).
 *
 * A node is one skb, which may hold several segments: what left as one
 * super-segment stays one skb (its pcount MSSes), as TCP's TSO skbs. The
 * counters count segments, cwnd's unit; the tree's own count is of
 * skbs, only to find them. An skb is cut where the peer's ACKs and SACKs
 * fall within it, and where one of its segments is resent alone; never
 * finer than what the peer's ACKs and SACKs describe, so a peer gets at
 * most one cut per segment in flight, however it draws its blocks. An
 * skb not SACKed lies wholly below or wholly above the highest SACK:
 * that mark only ever lands on an skb's edge.
 *
 * All of it is the socket owner's: bh-locked or owned by a process.
 */

static u32 ktp_rb_unsacked(const struct rb_node *rb)
{
	return rb ? KTP_SKB_CB(rb_to_skb((struct rb_node *)rb))->unsacked : 0;
}

/* Recompute a node's count; true if it did not change. */
static bool ktp_rtx_compute(struct sk_buff *skb)
{
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 n = !cb->sacked + ktp_rb_unsacked(skb->rbnode.rb_left) +
		ktp_rb_unsacked(skb->rbnode.rb_right);

	if (cb->unsacked == n)
		return true;
	cb->unsacked = n;
	return false;
}

static void ktp_rtx_propagate(struct rb_node *rb, struct rb_node *stop)
{
	while (rb != stop) {
		if (ktp_rtx_compute(rb_to_skb(rb)))
			break;
		rb = rb_parent(rb);
	}
}

static void ktp_rtx_copy(struct rb_node *old, struct rb_node *new)
{
	KTP_SKB_CB(rb_to_skb(new))->unsacked =
		KTP_SKB_CB(rb_to_skb(old))->unsacked;
}

static void ktp_rtx_rotate(struct rb_node *old, struct rb_node *new)
{
	ktp_rtx_copy(old, new);
	ktp_rtx_compute(rb_to_skb(old));
}

static const struct rb_augment_callbacks ktp_rtx_augment = {
	.propagate	= ktp_rtx_propagate,
	.copy		= ktp_rtx_copy,
	.rotate		= ktp_rtx_rotate,
};

/**
 * ktp_rtx_first - the oldest segment not acknowledged
 * @sk: the socket
 *
 * Return: it, or NULL when nothing is in flight.
 */
struct sk_buff *ktp_rtx_first(const struct sock *sk)
{
	return skb_rb_first(&ktp_sk(sk)->rtx_queue);
}

/* The newest segment in flight (a tail loss probe resends it). */
struct sk_buff *ktp_rtx_last(const struct sock *sk)
{
	return skb_rb_last(&ktp_sk(sk)->rtx_queue);
}

/* Add (@sign 1) or take out (-1) what @skb counts for in the pipe's
 * counters: its segments, SACKed, or a hole, perhaps resent.
 */
static void ktp_rtx_count(struct ktp_sock *kp, const struct sk_buff *skb,
			  int sign)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 n = sign * (int)cb->pcount;

	kp->packets_out += n;
	if (cb->sacked) {
		kp->sacked_out += n;
	} else if (ktp_before(cb->seq, kp->highest_sack)) {
		kp->lost_out += n;
		if (cb->lost_retx)
			kp->retrans_out += n;
	}
}

/* The segments @skb is on the wire at the current MSS; a SYN or a FIN
 * alone is one.
 */
static u16 ktp_pcount(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	return max_t(u32, DIV_ROUND_UP(skb->len, kp->mss), 1);
}

/* Put @skb, on no list, in its place in the rtx queue. */
static void ktp_rtx_link(struct sock *sk, struct sk_buff *skb)
{
	struct rb_node **p = &ktp_sk(sk)->rtx_queue.rb_node, *parent = NULL;
	u32 seq = KTP_SKB_CB(skb)->seq;

	while (*p) {
		parent = *p;
		KTP_SKB_CB(rb_to_skb(parent))->unsacked +=
			!KTP_SKB_CB(skb)->sacked;
		if (ktp_before(seq, KTP_SKB_CB(rb_to_skb(parent))->seq))
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	KTP_SKB_CB(skb)->unsacked = !KTP_SKB_CB(skb)->sacked;
	rb_link_node(&skb->rbnode, parent, p);
	rb_insert_augmented(&skb->rbnode, &ktp_sk(sk)->rtx_queue,
			    &ktp_rtx_augment);
}

/* A segment just sent leaves the write queue for the rtx queue. */
static void ktp_rtx_insert(struct sock *sk, struct sk_buff *skb)
{
	__skb_unlink(skb, &sk->sk_write_queue);
	ktp_rtx_link(sk, skb);
}

/**
 * ktp_rtx_unlink - an acknowledged segment leaves the rtx queue
 * @sk: the socket
 * @skb: the segment; the caller frees it
 */
void ktp_rtx_unlink(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);

	ktp_rtx_count(kp, skb, -1);
	rb_erase_augmented(&skb->rbnode, &kp->rtx_queue, &ktp_rtx_augment);
}

/**
 * ktp_rtx_find - the segment that holds @seq, or else the first after it
 * @sk: the socket
 * @seq: a sequence number
 *
 * Return: the segment, or NULL.
 */
struct sk_buff *ktp_rtx_find(const struct sock *sk, u32 seq)
{
	struct rb_node *rb = ktp_sk(sk)->rtx_queue.rb_node;
	struct sk_buff *best = NULL;

	while (rb) {
		struct sk_buff *skb = rb_to_skb(rb);

		if (ktp_after(KTP_SKB_CB(skb)->end_seq, seq)) {
			best = skb;
			rb = rb->rb_left;
		} else {
			rb = rb->rb_right;
		}
	}
	return best;
}

/* The first segment not SACKed in the subtree @rb roots. */
static struct sk_buff *ktp_rtx_leftmost_unsacked(struct rb_node *rb)
{
	while (rb) {
		if (ktp_rb_unsacked(rb->rb_left)) {
			rb = rb->rb_left;
			continue;
		}
		if (!KTP_SKB_CB(rb_to_skb(rb))->sacked)
			return rb_to_skb(rb);
		rb = rb->rb_right;
	}
	return NULL;
}

/* The first segment not SACKed from @skb on, in sequence order. */
static struct sk_buff *ktp_rtx_unsacked_from(struct sk_buff *skb)
{
	struct rb_node *rb, *parent;

	if (!skb)
		return NULL;
	if (!KTP_SKB_CB(skb)->sacked)
		return skb;
	rb = &skb->rbnode;
	if (ktp_rb_unsacked(rb->rb_right))
		return ktp_rtx_leftmost_unsacked(rb->rb_right);
	/* climb: the next in order is the first ancestor we are left of */
	while ((parent = rb_parent(rb))) {
		struct rb_node *right = parent->rb_right;

		if (rb == parent->rb_left) {
			if (!KTP_SKB_CB(rb_to_skb(parent))->sacked)
				return rb_to_skb(parent);
			if (ktp_rb_unsacked(right))
				return ktp_rtx_leftmost_unsacked(right);
		}
		rb = parent;
	}
	return NULL;
}

/**
 * ktp_rtx_find_unsacked - the first segment not SACKed that ends after
 * @seq
 * @sk: the socket
 * @seq: a sequence number
 *
 * Return: the segment, or NULL; O(log n).
 */
struct sk_buff *ktp_rtx_find_unsacked(const struct sock *sk, u32 seq)
{
	return ktp_rtx_unsacked_from(ktp_rtx_find(sk, seq));
}

/**
 * ktp_rtx_next_unsacked - the next segment not SACKed after @skb
 * @skb: a segment of the rtx queue
 *
 * Return: the segment, or NULL; O(log n).
 */
struct sk_buff *ktp_rtx_next_unsacked(struct sk_buff *skb)
{
	return ktp_rtx_unsacked_from(skb_rb_next(skb));
}

/**
 * ktp_rtx_mark_sacked - the peer holds @skb (RFC 2018)
 * @sk: the socket
 * @skb: a segment of the rtx queue not SACKed yet
 */
void ktp_rtx_mark_sacked(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);

	ktp_rtx_count(kp, skb, -1);
	KTP_SKB_CB(skb)->sacked = 1;
	ktp_rtx_count(kp, skb, 1);
	ktp_rtx_propagate(&skb->rbnode, NULL);
}

/**
 * ktp_advance_highest_sack - the highest SACK moved up to @seq: the
 * segments not SACKed it passed are holes now
 * @sk: the socket
 * @seq: the new highest SACK; nothing if it is not higher
 *
 * Each segment is passed once between two ktp_rtx_reset_marks().
 */
void ktp_advance_highest_sack(struct sock *sk, u32 seq)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	if (!ktp_after(seq, kp->highest_sack))
		return;
	for (skb = ktp_rtx_find_unsacked(sk, kp->highest_sack);
	     skb && ktp_before(KTP_SKB_CB(skb)->seq, seq);
	     skb = ktp_rtx_next_unsacked(skb)) {
		if (ktp_before(KTP_SKB_CB(skb)->seq, kp->highest_sack))
			continue;
		kp->lost_out += KTP_SKB_CB(skb)->pcount;
		if (KTP_SKB_CB(skb)->lost_retx)
			kp->retrans_out += KTP_SKB_CB(skb)->pcount;
	}
	kp->highest_sack = seq;
}

/**
 * ktp_rtx_reset_marks - a new recovery: no hole resent yet
 * @sk: the socket
 *
 * Walks the whole queue, once per loss event, as tcp_enter_loss() does.
 */
void ktp_rtx_reset_marks(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	kp->lost_out = 0;
	skb_rbtree_walk(skb, &kp->rtx_queue) {
		KTP_SKB_CB(skb)->lost_retx = 0;
		if (!KTP_SKB_CB(skb)->sacked &&
		    ktp_before(KTP_SKB_CB(skb)->seq, kp->highest_sack))
			kp->lost_out += KTP_SKB_CB(skb)->pcount;
	}
	kp->retrans_out = 0;
	kp->retx_hint = kp->snd_una;
}

/**
 * ktp_rtx_unmark_retrans - a hole resent in this recovery was lost again:
 * it is a hole not yet resent
 * @sk: the socket, owned by the caller
 * @skb: the hole, on the retransmission queue
 */
void ktp_rtx_unmark_retrans(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);

	ktp_rtx_count(kp, skb, -1);
	KTP_SKB_CB(skb)->lost_retx = 0;
	ktp_rtx_count(kp, skb, 1);
}

/**
 * ktp_pipe - segments in flight, as RFC 6675 counts them: not SACKed and
 * not a hole below the highest SACK, unless resent
 * @kp: the socket
 *
 * Return: the count.
 */
u32 ktp_pipe(const struct ktp_sock *kp)
{
	return kp->packets_out - kp->sacked_out - kp->lost_out +
	       kp->retrans_out;
}

/**
 * ktp_build_header - push and fill a KTP header in front of the payload
 * @skb: the segment, with headroom for the header and options
 * @sport: source port
 * @dport: destination port
 * @seq: sequence number
 * @ack: acknowledgment number (sent only with KTP_FLAG_ACK)
 * @flags: KTP_FLAG_*
 * @window: receive window field, already scaled
 * @opts: options to carry (MSS, window scale, SACK, timestamp), or NULL
 *
 * The checksum is left to ktp_send_check() or the caller.
 */
void ktp_build_header(struct sk_buff *skb, __be16 sport, __be16 dport,
		      u32 seq, u32 ack, u8 flags, u16 window,
		      const struct ktp_syn_opts *opts)
{
	unsigned int hlen = KTP_HDR_LEN;
	struct ktphdr *th;
	u8 *opt;
	int i;

	if (opts && opts->mss)
		hlen += KTPOLEN_MSS;
	if (opts && opts->wscale >= 0)
		hlen += 1 + KTPOLEN_WSCALE;
	if (opts && opts->sack_ok)
		hlen += 2 + KTPOLEN_SACK_PERM;
	if (opts && opts->nr_sacks)
		hlen += 4 + 8 * opts->nr_sacks;
	if (opts && opts->ts)
		hlen += KTP_TS_OPT_ROOM;
	th = skb_push(skb, hlen);
	skb_reset_transport_header(skb);
	th->source = sport;
	th->dest = dport;
	th->seq = htonl(seq);
	th->ack_seq = (flags & KTP_FLAG_ACK) ? htonl(ack) : 0;
	th->doff = hlen / 4;
	th->flags = flags;
	th->window = htons(window);
	th->check = 0;
	th->reserved = 0;

	opt = (u8 *)(th + 1);
	if (opts && opts->mss) {
		opt[0] = KTPOPT_MSS;
		opt[1] = KTPOLEN_MSS;
		put_unaligned_be16(opts->mss, opt + 2);
		opt += KTPOLEN_MSS;
	}
	if (opts && opts->wscale >= 0) {
		opt[0] = KTPOPT_NOP;
		opt[1] = KTPOPT_WSCALE;
		opt[2] = KTPOLEN_WSCALE;
		opt[3] = opts->wscale;
		opt += 4;
	}
	if (opts && opts->sack_ok) {
		opt[0] = KTPOPT_NOP;
		opt[1] = KTPOPT_NOP;
		opt[2] = KTPOPT_SACK_PERM;
		opt[3] = KTPOLEN_SACK_PERM;
		opt += 4;
	}
	if (opts && opts->nr_sacks) {
		opt[0] = KTPOPT_NOP;
		opt[1] = KTPOPT_NOP;
		opt[2] = KTPOPT_SACK;
		opt[3] = 2 + 8 * opts->nr_sacks;
		opt += 4;
		for (i = 0; i < opts->nr_sacks; i++, opt += 8) {
			put_unaligned_be32(opts->sacks[i].start, opt);
			put_unaligned_be32(opts->sacks[i].end, opt + 4);
		}
	}
	if (opts && opts->ts) {
		opt[0] = KTPOPT_NOP;
		opt[1] = KTPOPT_NOP;
		opt[2] = KTPOPT_TIMESTAMP;
		opt[3] = KTPOLEN_TIMESTAMP;
		put_unaligned_be32(opts->tsval, opt + 4);
		put_unaligned_be32(opts->tsecr, opt + 8);
	}
}

/**
 * ktp_set_ts_opt - the timestamp option of a connection's next segment
 * (RFC 7323 3.2): our clock, and TS.Recent echoed
 * @kp: the socket, owned by the caller, with ts_ok
 * @o: the options to fill
 */
static void ktp_set_ts_opt(const struct ktp_sock *kp, struct ktp_syn_opts *o)
{
	o->ts = 1;
	o->tsval = ktp_clock_ms() + kp->ts_off;
	o->tsecr = kp->ts_recent;
}

/* SACK blocks for what waits beyond a hole (RFC 2018 4): the first
 * holds the segment that arrived last, then the others most recent
 * first, as input.c keeps them. A D-SACK block goes before them, in
 * this one segment only (RFC 2883 4).
 */
static void ktp_fill_sacks(struct ktp_sock *kp, struct ktp_syn_opts *o)
{
	int n = 0;

	if (kp->dsack) {
		o->sacks[n++] = kp->duplicate_sack;
		kp->dsack = 0;
	}
	memcpy(o->sacks + n, kp->selective_acks,
	       min_t(int, kp->num_sacks, KTP_MAX_SACKS - n) *
	       sizeof(o->sacks[0]));
	o->nr_sacks = min_t(int, n + kp->num_sacks, KTP_MAX_SACKS);
}

/**
 * ktp_init_syn_opts - what our SYN offers, by the namespace's switches:
 * window scaling (net.ktp.window_scaling) and SACK (net.ktp.sack)
 * @sk: the socket about to connect, owned by the caller
 */
void ktp_init_syn_opts(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);

	kp->wscale_ok = !!READ_ONCE(kn->window_scaling);
	kp->rcv_wscale = kp->wscale_ok ? ktp_choose_wscale(sk) : 0;
	kp->snd_wscale = 0;
	kp->sack_ok = !!READ_ONCE(kn->sack);
	kp->ts_ok = !!READ_ONCE(kn->timestamps);
	kp->ts_recent = 0;
	kp->ts_recent_stamp = 0;
}

/**
 * ktp_choose_wscale - the window shift to offer on our SYN (RFC 7323)
 * @sk: the socket
 *
 * Return: the smallest shift whose largest window covers the biggest
 * receive buffer this socket may get.
 */
u8 ktp_choose_wscale(const struct sock *sk)
{
	int space = max(READ_ONCE(sk->sk_rcvbuf),
			READ_ONCE(ktp_pernet(sock_net(sk))->rmem[2]));
	u8 shift = 0;

	while (shift < KTP_MAX_WSCALE && (KTP_MAX_WINDOW << shift) < space)
		shift++;
	return shift;
}

/**
 * ktp_select_window - the receive window we could advertise now
 * @sk: the socket, owned by the caller
 *
 * Half the free receive buffer (the rest covers skb overhead), rounded
 * down to what the scaled 16-bit field carries.
 *
 * Return: the window, in bytes.
 */
u32 ktp_select_window(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	int space = sk->sk_rcvbuf - atomic_read(&sk->sk_rmem_alloc);
	u32 win;

	win = clamp_t(int, space / 2, 0, KTP_MAX_WINDOW << kp->rcv_wscale);
	/* the module is short of memory: invite little more */
	if (sk_under_memory_pressure(sk))
		win = min(win, 4U * kp->mss);
	return (win >> kp->rcv_wscale) << kp->rcv_wscale;
}

/* The window field of an outgoing segment; a SYN's is never scaled. */
static u16 ktp_advertise_window(struct sock *sk, bool syn)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 win = ktp_select_window(sk);
	s32 offered = kp->rcv_wup + kp->rcv_wnd - kp->rcv_nxt;

	/* Never move the right edge back (RFC 9293 3.8.6.2.1): what was
	 * offered stays offered, rounded up to the scale's unit.
	 */
	if (offered > 0 && win < offered)
		win = round_up(offered, 1U << kp->rcv_wscale);
	/* What the field carries is what is offered: a SYN's unscaled
	 * (the peer may not scale at all: then rcv_wscale becomes 0 and
	 * this is the edge to keep), any other's in the scale.
	 */
	win = min(win, syn ? KTP_MAX_WINDOW :
		       KTP_MAX_WINDOW << kp->rcv_wscale);
	kp->rcv_wnd = win;
	kp->rcv_wup = kp->rcv_nxt;
	return syn ? win : win >> kp->rcv_wscale;
}

/* Every segment carries an ACK: whatever was owed is paid now. */
static void ktp_ack_sent(struct sock *sk)
{
	ktp_sk(sk)->ack_pending = 0;
}

/* Send one segment of the write queue, or a header-only one (@oskb with
 * no payload) built by the caller. Consumes nothing on failure.
 */
static int ktp_transmit_skb(struct sock *sk, struct sk_buff *oskb, bool clone)
{
	struct inet_sock *inet = inet_sk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_skb_cb *cb = KTP_SKB_CB(oskb);
	struct ktp_syn_opts opts, *o = NULL;
	struct sk_buff *skb = oskb;
	bool syn = cb->flags & KTP_FLAG_SYN;
	u16 window, segs;
	int err;

	if (clone) {
		/* A previous copy still in flight shares the headroom. */
		if (skb_cloned(oskb))
			skb = pskb_copy(oskb, gfp_any());
		else
			skb = skb_clone(oskb, gfp_any());
		if (!skb)
			return -ENOBUFS;
	}
	memset(&opts, 0, sizeof(opts));
	opts.wscale = -1;
	if (syn) {
		opts.mss = kp->mss;
		/* on our SYN: what we offer; on a SYN-ACK (simultaneous
		 * open): what both sides offered
		 */
		opts.wscale = kp->wscale_ok ? kp->rcv_wscale : -1;
		opts.sack_ok = kp->sack_ok;
		o = &opts;
	} else if (kp->sack_ok && (kp->num_sacks || kp->dsack) &&
		   (cb->flags & KTP_FLAG_ACK)) {
		ktp_fill_sacks(kp, &opts);
		/* a full data segment has room for one block only; beside
		 * a timestamp, an ACK for three
		 */
		if (skb->len)
			opts.nr_sacks = min_t(u8, opts.nr_sacks, 1);
		else if (kp->ts_ok)
			opts.nr_sacks = min_t(u8, opts.nr_sacks,
					      KTP_MAX_SACKS - 1);
		o = &opts;
	}
	/* on every segment once both sides sent one (RFC 7323 3.2); on
	 * our SYN, what we offer; a RST carries one as TCP's
	 */
	if (kp->ts_ok) {
		ktp_set_ts_opt(kp, &opts);
		o = &opts;
	}
	if (clone)
		cb->sent_us = ktp_clock_us();

	skb_orphan(skb);
	skb->sk = sk;
	skb->destructor = sock_wfree;
	refcount_add(skb->truesize, &sk->sk_wmem_alloc);

	window = ktp_advertise_window(sk, syn);
	ktp_build_header(skb, inet->inet_sport, inet->inet_dport, cb->seq,
			 kp->rcv_nxt, cb->flags, window, o);
	if (cb->flags & KTP_FLAG_ACK)
		ktp_ack_sent(sk);
	ktp_send_check(sk, skb);
	segs = max_t(u16, skb_shinfo(skb)->gso_segs, 1);
	kp->segs_out += segs;
	KTP_ADD_STATS(sock_net(sk), KTP_MIB_OUTSEGS, segs);
	if (cb->flags & KTP_FLAG_RST)
		KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTRSTS);

	err = inet_csk(sk)->icsk_af_ops->queue_xmit(sk, skb, &inet->cork.fl);
	return net_xmit_eval(err);
}

/* A segment with no payload and nothing to retransmit: ACK or RST. */
static void ktp_send_control(struct sock *sk, u8 flags, u32 seq, gfp_t gfp)
{
	struct sk_buff *skb;

	skb = alloc_skb(KTP_MAX_HEADER, gfp);
	if (!skb)
		return;
	skb_reserve(skb, KTP_MAX_HEADER);
	KTP_SKB_CB(skb)->seq = seq;
	KTP_SKB_CB(skb)->end_seq = seq;
	KTP_SKB_CB(skb)->flags = flags;
	ktp_transmit_skb(sk, skb, false);
}

/**
 * ktp_send_ack - acknowledge everything received so far
 * @sk: the socket, owned by the caller
 */
void ktp_send_ack(struct sock *sk)
{
	if (sk->sk_state == KTP_CLOSE)
		return;
	ktp_send_control(sk, KTP_FLAG_ACK, ktp_sk(sk)->snd_nxt, GFP_ATOMIC);
}

/**
 * ktp_send_probe - a window or keepalive probe: an ACK with an old
 * sequence number, which the peer must answer with its current ACK and
 * window (RFC 9293 3.8.6.1 and 3.8.4)
 * @sk: the socket, owned by the caller
 */
void ktp_send_probe(struct sock *sk)
{
	ktp_send_control(sk, KTP_FLAG_ACK, ktp_sk(sk)->snd_una - 1,
			 GFP_ATOMIC);
}

/**
 * ktp_send_active_reset - abort: tell the peer with a RST
 * @sk: the socket, owned by the caller
 * @gfp: allocation context
 */
void ktp_send_active_reset(struct sock *sk, gfp_t gfp)
{
	trace_ktp_send_reset(sk, NULL);
	ktp_send_control(sk, KTP_FLAG_RST | KTP_FLAG_ACK, ktp_sk(sk)->snd_nxt,
			 gfp);
}

/* Cut @skb so that its first @len bytes stay in it; the rest, returned,
 * carries the marks it had, and its PSH and FIN. @skb must not be shared
 * with a copy in flight. NULL when memory is short.
 */
static struct sk_buff *ktp_split(struct sock *sk, struct sk_buff *skb,
				 u32 len)
{
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 moved = skb->len - len;
	struct sk_buff *buff;

	buff = alloc_skb_fclone(KTP_MAX_HEADER, GFP_ATOMIC);
	if (!buff)
		return NULL;
	skb_reserve(buff, KTP_MAX_HEADER);
	sk_wmem_queued_add(sk, buff->truesize);
	sk_mem_charge(sk, buff->truesize);
	skb_split(skb, buff, len);
	buff->truesize += moved;
	skb->truesize -= moved;

	*KTP_SKB_CB(buff) = *cb;
	KTP_SKB_CB(buff)->seq = cb->seq + len;
	cb->end_seq = cb->seq + len;
	cb->flags &= ~(KTP_FLAG_FIN | KTP_FLAG_PSH);
	return buff;
}

/* Cut an unsent segment so that its first @len bytes go alone; the rest
 * becomes the next segment on the queue.
 */
static int ktp_fragment(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct sk_buff *buff = ktp_split(sk, skb, len);

	if (!buff)
		return -ENOBUFS;
	__skb_queue_after(&sk->sk_write_queue, skb, buff);
	return 0;
}

/**
 * ktp_rtx_split - cut an skb in flight after its first @len bytes
 * @sk: the socket, owned by the caller
 * @skb: an skb of the rtx queue, longer than @len
 * @len: bytes that stay in @skb
 *
 * The rest joins the rtx queue behind it as what @skb was (SACKed or
 * not, resent in this recovery or not); each part counts its own
 * segments from here.
 *
 * Return: the rest, or NULL (memory short: nothing changed).
 */
struct sk_buff *ktp_rtx_split(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *buff;

	/* a copy still in a queue below shares the frags split would move */
	if (skb_unclone(skb, GFP_ATOMIC))
		return NULL;
	ktp_rtx_count(kp, skb, -1);
	buff = ktp_split(sk, skb, len);
	if (buff) {
		KTP_SKB_CB(buff)->pcount = ktp_pcount(kp, buff);
		ktp_rtx_link(sk, buff);
		ktp_rtx_count(kp, buff, 1);
	}
	KTP_SKB_CB(skb)->pcount = ktp_pcount(kp, skb);
	ktp_rtx_count(kp, skb, 1);
	return buff;
}

/**
 * ktp_rtx_trim_head - the peer acknowledged the first @len bytes of the
 * oldest skb in flight: drop them, keep the rest (tcp_trim_head())
 * @sk: the socket, owned by the caller
 * @skb: the first skb of the rtx queue, longer than @len
 * @len: bytes acknowledged, payload only (no SYN)
 *
 * No copy: the pages of the bytes dropped are released, the first one
 * kept starts later.
 *
 * Return: 0, or -ENOMEM (the skb stays as it was; its acknowledged part
 * is resent if need be, and acknowledged again).
 */
int ktp_rtx_trim_head(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct skb_shared_info *si;
	struct ktp_sock *kp = ktp_sk(sk);
	u32 eat = len, head;
	int i, k = 0;

	if (skb_unclone(skb, GFP_ATOMIC))
		return -ENOMEM;
	ktp_rtx_count(kp, skb, -1);
	head = min_t(u32, eat, skb_headlen(skb));
	__skb_pull(skb, head);
	eat -= head;
	si = skb_shinfo(skb);
	for (i = 0; i < si->nr_frags; i++) {
		u32 size = skb_frag_size(&si->frags[i]);

		if (size <= eat) {
			/* our pages: sk_page_frag()'s, or spliced */
			put_page(skb_frag_page(&si->frags[i]));
			eat -= size;
			continue;
		}
		si->frags[k] = si->frags[i];
		if (eat) {
			skb_frag_off_add(&si->frags[k], eat);
			skb_frag_size_sub(&si->frags[k], eat);
			eat = 0;
		}
		k++;
	}
	si->nr_frags = k;
	skb->data_len -= len - head;
	skb->len -= len - head;
	if (len - head) {
		skb->truesize -= len - head;
		sk_wmem_queued_add(sk, -(int)(len - head));
		sk_mem_uncharge(sk, len - head);
	}
	KTP_SKB_CB(skb)->seq += len;
	KTP_SKB_CB(skb)->pcount = ktp_pcount(kp, skb);
	ktp_rtx_count(kp, skb, 1);
	return 0;
}

/**
 * ktp_retransmit_skb - send a segment of the retransmission queue again
 * @sk: the socket, owned by the caller
 * @skb: a segment already sent once
 *
 * Return: 0, or -errno if it could not be sent (the timer retries).
 */
int ktp_retransmit_skb(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);
	int err;

	/* one segment at a time; or sent before the path MTU shrank
	 * (ktp_simple_retransmit())
	 */
	if (skb->len > kp->mss && !ktp_rtx_split(sk, skb, kp->mss))
		return -ENOBUFS;
	/* a recovery's first retransmission: what undo compares echoes
	 * with (its own TSval is not older)
	 */
	if (kp->in_recovery && kp->ts_ok && !kp->retrans_stamp)
		kp->retrans_stamp = (ktp_clock_ms() + kp->ts_off) ? : 1;
	err = ktp_transmit_skb(sk, skb, true);
	if (!err) {
		struct ktp_skb_cb *cb = KTP_SKB_CB(skb);

		trace_ktp_retransmit(sk, skb);
		cb->retransmitted = 1;
		ktp_rtx_count(kp, skb, -1);
		cb->lost_retx = 1;
		ktp_rtx_count(kp, skb, 1);
		/* one more that a D-SACK may show was not needed */
		if (kp->in_recovery && kp->undo_armed) {
			kp->undo_retrans++;
			kp->undo_dsack = 0;
		}
		kp->total_retrans++;
		KTP_INC_STATS(sock_net(sk), KTP_MIB_RETRANSSEGS);
	}
	return err;
}

/**
 * ktp_retransmit_head - send the oldest unacknowledged segment again
 * @sk: the socket, owned by the caller
 *
 * Return: 0, or -errno if it could not be sent.
 */
int ktp_retransmit_head(struct sock *sk)
{
	struct sk_buff *skb = ktp_rtx_first(sk);

	if (!skb)
		return 0;
	return ktp_retransmit_skb(sk, skb);
}

/**
 * ktp_wnd_allows - room in the peer's window for this segment?
 * @kp: the socket
 * @skb: a segment of the write queue
 *
 * Return: true if it fits; SYN and FIN always do.
 */
bool ktp_wnd_allows(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	u32 end = KTP_SKB_CB(skb)->end_seq;

	if (skb->len == 0)
		return true;
	return !ktp_after(end, kp->snd_una + kp->snd_wnd);
}

/* The head of the unsent data does not fit the peer's window. Send the
 * part that does when it is worth a segment (sender-side silly window
 * avoidance, RFC 9293 3.8.6.2.1), or when nothing else is in flight to
 * bring the window back; else wait, probing a closed window.
 */
static bool ktp_fit_window(struct sock *sk, struct sk_buff *skb)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	s32 room = kp->snd_una + kp->snd_wnd - KTP_SKB_CB(skb)->seq;

	/* whole segments where more than one fits */
	if (room > kp->mss)
		room -= room % kp->mss;
	if (room > 0 && room < skb->len &&
	    (room >= kp->mss / 2 || !kp->packets_out) &&
	    !skb_cloned(skb) && !ktp_fragment(sk, skb, room))
		return true;
	if (!kp->packets_out && !kp->rtx_pending)
		ktp_reset_rtx_timer(sk, KTP_RTX_PROBE, icsk->icsk_rto);
	return false;
}

/* Hold a partial last segment back? KTP_CORK always does; Nagle does
 * while earlier data is unacknowledged (RFC 9293 3.7.4, RFC 896).
 */
static bool ktp_hold_partial(const struct sock *sk, const struct sk_buff *skb)
{
	const struct ktp_sock *kp = ktp_sk(sk);

	if (skb->len >= kp->mss || !skb_queue_is_last(&sk->sk_write_queue, skb) ||
	    (KTP_SKB_CB(skb)->flags & KTP_FLAG_FIN))
		return false;
	return kp->cork || (!kp->nodelay && kp->packets_out);
}

/* How many bytes of @skb, the head of the unsent data, may leave now as
 * one segment or one super-segment: @room segments of cwnd, as many as
 * the device takes in one (offload.c), else one MSS; and of the last
 * skb queued, its full segments only where a partial one may have to
 * wait (Nagle, KTP_CORK: ktp_hold_partial() then judges the rest).
 * TCP's tcp_tso_should_defer() also waits to fill a super-segment; KTP
 * sends what it has.
 */
static u32 ktp_xmit_limit(struct sock *sk, const struct sk_buff *skb,
			  u32 room)
{
	const struct ktp_sock *kp = ktp_sk(sk);
	u32 limit = kp->mss;

	if (skb->len <= kp->mss)
		return skb->len;
	if (ktp_can_gso(sk))
		limit = min(ktp_size_goal(sk),
			    min(room, sk->sk_gso_max_segs) * kp->mss);
	if (skb->len > limit)
		return limit;
	if (skb_queue_is_last(&sk->sk_write_queue, skb) &&
	    !(KTP_SKB_CB(skb)->flags & KTP_FLAG_FIN) &&
	    (kp->cork || !kp->nodelay) && skb->len % kp->mss)
		return skb->len - skb->len % kp->mss;
	return skb->len;
}

/* Send @skb, of more than one MSS, as one super-segment (offload.c): a
 * new skb whose frags take a reference on the pages of @skb, which stays
 * on the queues as it is, to be acknowledged, SACKed and cut as its
 * segments are. FIN and PSH go on the last segment only. Consumes
 * nothing on failure.
 */
static int ktp_transmit_gso(struct sock *sk, struct sk_buff *skb)
{
	const struct skb_shared_info *si = skb_shinfo(skb);
	struct ktp_sock *kp = ktp_sk(sk);
	struct skb_shared_info *gi;
	struct sk_buff *gso;
	unsigned int j;

	gso = alloc_skb(KTP_MAX_HEADER, gfp_any());
	if (!gso)
		return -ENOBUFS;
	skb_reserve(gso, KTP_MAX_HEADER);
	gi = skb_shinfo(gso);
	for (j = 0; j < si->nr_frags; j++) {
		const skb_frag_t *f = &si->frags[j];

		get_page(skb_frag_page(f));
		skb_fill_page_desc(gso, j, skb_frag_page(f), skb_frag_off(f),
				   skb_frag_size(f));
	}
	/* pages of a file (sendfile) stay marked as such */
	gi->flags |= si->flags & SKBFL_SHARED_FRAG;
	gso->len = skb->len;
	gso->data_len = skb->len;
	gso->truesize += gso->data_len;
	gi->gso_size = kp->mss;
	gi->gso_segs = DIV_ROUND_UP(skb->len, kp->mss);
	gi->gso_type = sk->sk_gso_type;
	KTP_SKB_CB(skb)->sent_us = ktp_clock_us();

	/* the header of the run: its first byte, its flags */
	KTP_SKB_CB(gso)->seq = KTP_SKB_CB(skb)->seq;
	KTP_SKB_CB(gso)->end_seq = KTP_SKB_CB(skb)->end_seq;
	KTP_SKB_CB(gso)->flags = KTP_SKB_CB(skb)->flags;
	return ktp_transmit_skb(sk, gso, false);
}

/* The head of the write queue went out: it is in flight. */
static void ktp_sent_new(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->snd_nxt = KTP_SKB_CB(skb)->end_seq;
	KTP_SKB_CB(skb)->pcount = ktp_pcount(kp, skb);
	ktp_rtx_insert(sk, skb);
	ktp_rtx_count(kp, skb, 1);
}

/**
 * ktp_write_xmit - send what the peer's window and cwnd allow
 * @sk: the socket, owned by the caller
 *
 * With a closed peer window and nothing in flight to bring a window
 * update, the persist timer probes it. It also takes over when a segment
 * cannot leave at all (no route, the device down) and nothing is in
 * flight: no ACK will come to send it, so the timer retries it, and
 * gives up after net.ktp.retries2 failed rounds as the RTO would.
 *
 * Return: 0, or the -errno of a segment that could not be sent.
 */
int ktp_write_xmit(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;
	u32 in_flight, limit;
	int err;

	if ((1 << sk->sk_state) & (KTPF_CLOSE | KTPF_LISTEN | KTPF_SYN_SENT))
		return 0;
	while ((skb = ktp_send_head(sk))) {
		in_flight = kp->packets_out - kp->sacked_out;
		if (in_flight >= kp->snd_cwnd || ktp_hold_partial(sk, skb))
			break;
		/* more than may go at once; or queued before the MSS
		 * shrank (IP options, a new path)
		 */
		limit = ktp_xmit_limit(sk, skb, kp->snd_cwnd - in_flight);
		if (skb->len > limit && ktp_fragment(sk, skb, limit))
			break;
		if (!ktp_wnd_allows(kp, skb) && !ktp_fit_window(sk, skb))
			break;
		if (skb->len > kp->mss)
			err = ktp_transmit_gso(sk, skb);
		else
			err = ktp_transmit_skb(sk, skb, true);
		if (err) {
			if (!kp->packets_out && !kp->rtx_pending)
				ktp_reset_rtx_timer(sk, KTP_RTX_PROBE,
						    icsk->icsk_rto);
			return err;
		}
		ktp_sent_new(sk, skb);
		/* data in flight: the RTO or the loss probe, not the
		 * persist timer, runs
		 */
		if (!ktp_schedule_loss_probe(sk) &&
		    kp->rtx_pending != KTP_RTX_RETRANS)
			ktp_rearm_rto(sk);
	}
	return 0;
}

/**
 * ktp_xmit_probe_new - send the head of the unsent data, whatever cwnd
 * says, if the peer's window takes it: a tail loss probe's new data
 * (RFC 8985 7.3)
 * @sk: the socket, owned by the caller
 *
 * Return: true if it was sent.
 */
bool ktp_xmit_probe_new(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb = ktp_send_head(sk);

	if (!skb || (skb->len > kp->mss && ktp_fragment(sk, skb, kp->mss)) ||
	    !ktp_wnd_allows(kp, skb) || ktp_transmit_skb(sk, skb, true))
		return false;
	ktp_sent_new(sk, skb);
	return true;
}

/* Queue a zero-length segment carrying @flags (SYN or FIN). */
static struct sk_buff *ktp_queue_control(struct sock *sk, u8 flags, gfp_t gfp)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	skb = alloc_skb_fclone(KTP_MAX_HEADER, gfp);
	if (!skb)
		return NULL;
	skb_reserve(skb, KTP_MAX_HEADER);
	KTP_SKB_CB(skb)->seq = kp->write_seq;
	KTP_SKB_CB(skb)->end_seq = kp->write_seq + 1;
	KTP_SKB_CB(skb)->flags = flags;
	KTP_SKB_CB(skb)->retransmitted = 0;
	KTP_SKB_CB(skb)->sacked = 0;
	KTP_SKB_CB(skb)->lost_retx = 0;
	KTP_SKB_CB(skb)->pcount = 1;
	kp->write_seq++;
	/* SYN and FIN are never refused for memory: charged regardless */
	sk_wmem_queued_add(sk, skb->truesize);
	sk_mem_charge(sk, skb->truesize);
	__skb_queue_tail(&sk->sk_write_queue, skb);
	return skb;
}

/**
 * ktp_queue_fin - queue our FIN after all data, and send what can go
 * @sk: the socket, owned by the caller
 *
 * The FIN must not be lost to memory pressure: it is retried with
 * __GFP_NOFAIL, as TCP's FIN is.
 */
void ktp_queue_fin(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	struct sk_buff *tail = skb_peek_tail(&sk->sk_write_queue);

	if (kp->fin_queued)
		return;
	kp->fin_queued = 1;
	if (tail && !(KTP_SKB_CB(tail)->flags & KTP_FLAG_SYN)) {
		/* Ride on the last unsent data segment. */
		KTP_SKB_CB(tail)->flags |= KTP_FLAG_FIN;
		KTP_SKB_CB(tail)->end_seq++;
		kp->write_seq++;
	} else {
		ktp_queue_control(sk, KTP_FLAG_FIN | KTP_FLAG_ACK,
				  sk->sk_allocation | __GFP_NOFAIL);
	}
	ktp_write_xmit(sk);
}

/**
 * ktp_connect_send_syn - queue and send SYN seq=x (RFC 9293 3.5)
 * @sk: the socket in SYN_SENT, owned by the caller
 *
 * Return: 0 or -ENOBUFS.
 */
int ktp_connect_send_syn(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	/* nothing of an earlier connection of this socket (after
	 * connect(AF_UNSPEC), or a connect() that failed) carries over
	 */
	ktp_forget_connection(sk);
	ktp_reinit_congestion_control(sk);
	kp->retx_hint = kp->iss;
	kp->reo_wnd_seq = kp->iss;
	kp->snd_una = kp->iss;
	kp->snd_nxt = kp->iss;
	kp->write_seq = kp->iss;
	kp->snd_wnd = 0;
	kp->max_window = 0;
	kp->rcv_nxt = 0;
	kp->rcv_wnd = 0;
	skb = ktp_queue_control(sk, KTP_FLAG_SYN, sk->sk_allocation);
	if (!skb)
		return -ENOBUFS;
	/* the oldest TSval a SYN-ACK may echo (input.c) */
	kp->retrans_stamp = (ktp_clock_ms() + kp->ts_off) ? : 1;
	if (ktp_transmit_skb(sk, skb, true))
		pr_debug("SYN not sent at once; the timer will\n");
	kp->snd_nxt = kp->write_seq;
	kp->highest_sack = kp->snd_una;
	kp->packets_out = 1;
	ktp_rtx_insert(sk, skb);
	inet_csk(sk)->icsk_rto = KTP_TIMEOUT_INIT;
	ktp_rearm_rto(sk);
	return 0;
}

/**
 * ktp_purge_write_queue - drop every queued segment, sent or not
 * @sk: the socket, owned by the caller
 */
void ktp_purge_write_queue(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&sk->sk_write_queue)))
		ktp_wmem_free_skb(sk, skb);
	while ((skb = ktp_rtx_first(sk))) {
		rb_erase(&skb->rbnode, &kp->rtx_queue);
		ktp_wmem_free_skb(sk, skb);
	}
	sk_mem_reclaim(sk);
	kp->packets_out = 0;
	kp->sacked_out = 0;
	kp->lost_out = 0;
	kp->retrans_out = 0;
	kp->tlp_high_seq = 0;
}

/* The largest payload a route's MTU carries below @net_hdr_len bytes of
 * IP headers, with room for the longest options so that an IP datagram
 * never exceeds 64 KiB.
 */
static u16 ktp_mss_for_mtu(unsigned int mtu, unsigned int net_hdr_len)
{
	int mss = mtu - net_hdr_len - KTP_HDR_LEN;

	return clamp_t(int, mss, 64, IP_MAX_MTU - net_hdr_len -
		       KTP_HDR_MAX_WORDS * 4);
}

/**
 * ktp_init_mss - the MSS our SYN or SYN-ACK offers, from the route
 * @sk: the socket, with a route, owned by the caller
 *
 * Until the peer's MSS is known it is also the payload of a segment.
 */
void ktp_init_mss(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct dst_entry *dst = __sk_dst_get(sk);
	struct ktp_sock *kp = ktp_sk(sk);

	icsk->icsk_pmtu_cookie = dst ? dst_mtu(dst) : IPV4_MIN_MTU;
	kp->mss = ktp_mss_for_mtu(icsk->icsk_pmtu_cookie,
				  icsk->icsk_af_ops->net_header_len +
				  icsk->icsk_ext_hdr_len);
	if (kp->user_mss && kp->mss > kp->user_mss)
		kp->mss = kp->user_mss;
	kp->mss_clamp = kp->user_mss ? : U16_MAX;
}

/**
 * ktp_sync_mss - the payload of a data segment on a path MTU
 * @sk: the socket, owned by the caller
 * @pmtu: the path MTU, in bytes
 *
 * Also the socket's icsk_sync_mss(): IP and IPv6 call it when options
 * change the size of the network headers (IP_OPTIONS, IPv6 extension
 * headers, CIPSO labels).
 *
 * The path's MSS, no more than the peer's (or KTP_MAXSEG), less the room
 * one SACK block and a timestamp take on a data segment: a segment that
 * carries them must still fit the path. Whatever the peer announced, the
 * result is never below net.ktp.min_snd_mss, as tcp_min_snd_mss bounds
 * TCP's: an MSS of a few bytes would cost a segment each, or wrap to
 * nothing.
 *
 * Return: the new MSS.
 */
unsigned int ktp_sync_mss(struct sock *sk, u32 pmtu)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	int mss;

	mss = (int)pmtu - (int)icsk->icsk_af_ops->net_header_len -
	      (int)icsk->icsk_ext_hdr_len - (int)KTP_HDR_LEN;
	mss = min_t(int, mss, kp->mss_clamp);
	if (kp->sack_ok)
		mss -= KTP_DATA_OPT_ROOM;
	if (kp->ts_ok)
		mss -= KTP_TS_OPT_ROOM;
	mss = max_t(int, mss, READ_ONCE(kn->min_snd_mss));
	kp->mss = min_t(int, mss, U16_MAX);
	icsk->icsk_pmtu_cookie = pmtu;
	return kp->mss;
}

/**
 * ktp_resync_mss - the peer's MSS or KTP_MAXSEG changed: recompute it on
 * the path MTU last seen
 * @sk: the socket, owned by the caller
 */
void ktp_resync_mss(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->mss_clamp = kp->peer_mss;
	if (kp->user_mss && kp->user_mss < kp->mss_clamp)
		kp->mss_clamp = kp->user_mss;
	ktp_sync_mss(sk, inet_csk(sk)->icsk_pmtu_cookie);
}

/**
 * ktp_make_synack - build SYN+ACK seq=y ack=x+1 for a request entry
 * @sk: the listener
 * @dst: the route to the client
 * @req: the request entry
 *
 * Return: the segment with its checksum, or NULL.
 */
struct sk_buff *ktp_make_synack(const struct sock *sk, struct dst_entry *dst,
				struct ktp_request *req)
{
	const struct sock_common *c = &req->common;
	struct ktp_syn_opts opts;
	struct sk_buff *skb;
	struct ktphdr *th;
	unsigned int len;

	skb = alloc_skb(KTP_MAX_HEADER, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_reserve(skb, KTP_MAX_HEADER);
	skb_dst_set(skb, dst_clone(dst));
	memset(&opts, 0, sizeof(opts));
	opts.mss = ktp_mss_for_mtu(dst_mtu(dst),
				   inet_csk(sk)->icsk_af_ops->net_header_len);
	/* Window scaling and SACK only if the client offered them. */
	opts.wscale = req->snd_wscale >= 0 ? req->rcv_wscale : -1;
	opts.sack_ok = req->sack_ok;
	/* a timestamp only if the client sent one, echoing it */
	if (req->ts_ok) {
		opts.ts = 1;
		opts.tsval = ktp_clock_ms() + req->ts_off;
		opts.tsecr = req->ts_recent;
	}
	ktp_build_header(skb, htons(c->skc_num), c->skc_dport,
			 req->snt_isn, req->rcv_isn + 1,
			 KTP_FLAG_SYN | KTP_FLAG_ACK,
			 ktp_synack_window(sk), &opts);
	len = skb->len;
	th = ktp_hdr(skb);
#if IS_ENABLED(CONFIG_IPV6)
	if (c->skc_family == AF_INET6)
		th->check = csum_ipv6_magic(&c->skc_v6_rcv_saddr,
					    &c->skc_v6_daddr, len,
					    ktp_ipproto,
					    csum_partial(th, len, 0));
	else
#endif
		th->check = csum_tcpudp_magic(c->skc_rcv_saddr,
					      c->skc_daddr, len,
					      ktp_ipproto,
					      csum_partial(th, len, 0));
	skb->ip_summed = CHECKSUM_NONE;
	return skb;
}
