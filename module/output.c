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
#include <asm/unaligned.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/ip6_checksum.h>

#include "protocol.h"
#include "trace.h"

/**
 * ktp_build_header - push and fill a KTP header in front of the payload
 * @skb: the segment, with headroom for the header and options
 * @sport: source port
 * @dport: destination port
 * @seq: sequence number
 * @ack: acknowledgment number (sent only with KTP_FLAG_ACK)
 * @flags: KTP_FLAG_*
 * @window: receive window field, already scaled
 * @opts: SYN options to carry (MSS, window scale), or NULL
 *
 * The checksum is left to icsk_af_ops->send_check() or the caller.
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
}

/* SACK blocks for what waits beyond a hole (RFC 2018 4): contiguous
 * runs of the out-of-order queue, lowest first, so the sender fills the
 * holes in order.
 */
static void ktp_fill_sacks(const struct ktp_sock *kp, struct ktp_syn_opts *o)
{
	struct rb_node *node;

	o->nr_sacks = 0;
	for (node = rb_first(&kp->ooo_queue); node; node = rb_next(node)) {
		const struct ktp_skb_cb *cb = KTP_SKB_CB(rb_to_skb(node));
		struct ktp_sack_block *b = &o->sacks[o->nr_sacks - 1];

		if (o->nr_sacks && !ktp_after(cb->seq, b->end)) {
			if (ktp_after(cb->end_seq, b->end))
				b->end = cb->end_seq;
			continue;
		}
		if (o->nr_sacks == KTP_MAX_SACKS)
			break;
		b = &o->sacks[o->nr_sacks++];
		b->start = cb->seq;
		b->end = cb->end_seq;
	}
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
	kp->rcv_wnd = win;
	kp->rcv_wup = kp->rcv_nxt;
	if (syn)
		return min(kp->rcv_wnd, KTP_MAX_WINDOW);
	return kp->rcv_wnd >> kp->rcv_wscale;
}

/* Every segment carries an ACK: whatever was owed is paid now. */
static void ktp_ack_sent(struct sock *sk)
{
	ktp_sk(sk)->ack_pending = 0;
	inet_csk(sk)->icsk_ack.pending = 0;
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
	u16 window;
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
	} else if (kp->sack_ok && !RB_EMPTY_ROOT(&kp->ooo_queue) &&
		   (cb->flags & KTP_FLAG_ACK)) {
		ktp_fill_sacks(kp, &opts);
		/* a full data segment has room for one block only */
		if (skb->len)
			opts.nr_sacks = min_t(u8, opts.nr_sacks, 1);
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
	inet_csk(sk)->icsk_af_ops->send_check(sk, skb);
	kp->segs_out++;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTSEGS);
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

	err = ktp_transmit_skb(sk, skb, true);
	if (!err) {
		trace_ktp_retransmit(sk, skb);
		KTP_SKB_CB(skb)->retransmitted = 1;
		KTP_SKB_CB(skb)->lost_retx = 1;
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
	struct sk_buff *skb = skb_peek(&sk->sk_write_queue);

	if (!skb || skb == ktp_sk(sk)->send_head)
		return 0;
	return ktp_retransmit_skb(sk, skb);
}

/* Room in the peer's window for this segment? SYN and FIN always fit. */
static bool ktp_wnd_allows(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	u32 end = KTP_SKB_CB(skb)->end_seq;

	if (skb->len == 0)
		return true;
	return !ktp_after(end, kp->snd_una + kp->snd_wnd);
}

/* Cut an unsent segment so that its first @len bytes go alone; the rest
 * becomes the next segment on the queue and keeps PSH and FIN.
 */
static int ktp_fragment(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 moved = skb->len - len;
	struct sk_buff *buff;

	buff = alloc_skb_fclone(KTP_MAX_HEADER, GFP_ATOMIC);
	if (!buff)
		return -ENOBUFS;
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
	__skb_queue_after(&sk->sk_write_queue, skb, buff);
	return 0;
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

	if (room > 0 && room < skb->len &&
	    (room >= kp->mss / 2 || !kp->packets_out) &&
	    !skb_cloned(skb) && !ktp_fragment(sk, skb, room))
		return true;
	if (!kp->packets_out && !icsk->icsk_pending)
		inet_csk_reset_xmit_timer(sk, ICSK_TIME_PROBE0, icsk->icsk_rto,
					  KTP_RTO_MAX);
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
	int err;

	if ((1 << sk->sk_state) & (KTPF_CLOSE | KTPF_LISTEN | KTPF_SYN_SENT))
		return 0;
	while ((skb = kp->send_head)) {
		if (kp->packets_out - kp->sacked_out >= kp->snd_cwnd ||
		    ktp_hold_partial(sk, skb))
			break;
		if (!ktp_wnd_allows(kp, skb) && !ktp_fit_window(sk, skb))
			break;
		err = ktp_transmit_skb(sk, skb, true);
		if (err) {
			if (!kp->packets_out && !icsk->icsk_pending)
				inet_csk_reset_xmit_timer(sk, ICSK_TIME_PROBE0,
							  icsk->icsk_rto,
							  KTP_RTO_MAX);
			return err;
		}
		kp->snd_nxt = KTP_SKB_CB(skb)->end_seq;
		kp->packets_out++;
		kp->send_head = skb_queue_is_last(&sk->sk_write_queue, skb) ?
				NULL : skb->next;
		/* data in flight: the RTO, not the persist timer, runs */
		if (icsk->icsk_pending != ICSK_TIME_RETRANS)
			ktp_rearm_rto(sk);
	}
	return 0;
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
	kp->write_seq++;
	/* SYN and FIN are never refused for memory: charged regardless */
	sk_wmem_queued_add(sk, skb->truesize);
	sk_mem_charge(sk, skb->truesize);
	__skb_queue_tail(&sk->sk_write_queue, skb);
	if (!kp->send_head)
		kp->send_head = skb;
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
	if (tail && kp->send_head &&
	    !(KTP_SKB_CB(tail)->flags & KTP_FLAG_SYN)) {
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

	kp->snd_una = kp->iss;
	kp->snd_nxt = kp->iss;
	kp->write_seq = kp->iss;
	kp->snd_wnd = 0;
	kp->rcv_nxt = 0;
	kp->rcv_wnd = 0;
	skb = ktp_queue_control(sk, KTP_FLAG_SYN, sk->sk_allocation);
	if (!skb)
		return -ENOBUFS;
	if (ktp_transmit_skb(sk, skb, true))
		pr_debug("SYN not sent at once; the timer will\n");
	kp->snd_nxt = kp->write_seq;
	kp->send_head = NULL;
	kp->packets_out = 1;
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
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&sk->sk_write_queue)))
		ktp_wmem_free_skb(sk, skb);
	sk_mem_reclaim(sk);
	ktp_sk(sk)->send_head = NULL;
	ktp_sk(sk)->packets_out = 0;
	ktp_sk(sk)->sacked_out = 0;
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
 * ktp_init_mss - the largest payload to send, from the route and the peer
 * @sk: the socket, with a route, owned by the caller
 */
void ktp_init_mss(struct sock *sk)
{
	struct dst_entry *dst = __sk_dst_get(sk);
	struct ktp_sock *kp = ktp_sk(sk);

	kp->mss = ktp_mss_for_mtu(dst ? dst_mtu(dst) : 576,
				  inet_csk(sk)->icsk_af_ops->net_header_len +
				  inet_csk(sk)->icsk_ext_hdr_len);
	if (kp->user_mss && kp->mss > kp->user_mss)
		kp->mss = kp->user_mss;
}

/**
 * ktp_sync_mss - the payload of a data segment, once the handshake told
 * the peer's MSS and whether SACK is on
 * @sk: the socket, owned by the caller
 *
 * The smaller of ours and the peer's, less the room one SACK block
 * takes: a segment that carries one must still fit the path, or IP
 * refuses it with EMSGSIZE and it is never delivered.
 */
void ktp_sync_mss(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->mss = min(kp->mss, kp->peer_mss);
	if (kp->sack_ok)
		kp->mss -= KTP_DATA_OPT_ROOM;
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
				struct request_sock *req)
{
	struct inet_request_sock *ireq = inet_rsk(req);
	struct ktp_request_sock *kreq = ktp_rsk(req);
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
	opts.wscale = kreq->snd_wscale >= 0 ? kreq->rcv_wscale : -1;
	opts.sack_ok = kreq->sack_ok;
	ktp_build_header(skb, htons(ireq->ir_num), ireq->ir_rmt_port,
			 kreq->snt_isn, kreq->rcv_isn + 1,
			 KTP_FLAG_SYN | KTP_FLAG_ACK,
			 min_t(int, sk->sk_rcvbuf / 2, KTP_MAX_WINDOW), &opts);
	len = skb->len;
	th = ktp_hdr(skb);
#if IS_ENABLED(CONFIG_IPV6)
	if (req->rsk_ops->family == AF_INET6)
		th->check = csum_ipv6_magic(&ireq->ir_v6_loc_addr,
					    &ireq->ir_v6_rmt_addr, len,
					    ktp_ipproto,
					    csum_partial(th, len, 0));
	else
#endif
		th->check = csum_tcpudp_magic(ireq->ir_loc_addr,
					      ireq->ir_rmt_addr, len,
					      ktp_ipproto,
					      csum_partial(th, len, 0));
	skb->ip_summed = CHECKSUM_NONE;
	return skb;
}
