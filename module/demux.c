// SPDX-License-Identifier: GPL-2.0
/*
 * KTP demultiplexing, common to IPv4 and IPv6: check an incoming segment,
 * and hand it to what the lookup found (a listener, a request entry, a
 * TIME_WAIT entry or a connection). ipv4.c and ipv6.c do the lookups.
 *
 * These run in softirq with RCU held by the protocol handler, except
 * ktp_do_rcv(), which is also the sockets' backlog_rcv and runs with the
 * socket owned: bh-locked, or by a process in release_sock().
 */
#include <linux/module.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/xfrm.h>
#include <linux/filter.h>

#include "protocol.h"
#include "trace.h"

/**
 * ktp_segment_ok - the header is whole and sane, the checksum right
 * @net: the namespace it arrived in
 * @skb: the segment, at its KTP header
 *
 * Malformed segments are counted here and must be dropped, never acted
 * on.
 *
 * Return: true if the segment may be processed.
 */
static bool ktp_segment_ok(struct net *net, struct sk_buff *skb)
{
	const struct ktphdr *th;
	unsigned int hlen;
	int err;

	if (!pskb_may_pull(skb, KTP_HDR_LEN))
		goto bad_header;
	th = ktp_hdr(skb);
	hlen = th->doff * 4;
	if (th->doff < KTP_HDR_MIN_WORDS || th->doff > KTP_HDR_MAX_WORDS ||
	    hlen > skb->len || !pskb_may_pull(skb, hlen))
		goto bad_header;
	th = ktp_hdr(skb);
	if ((th->flags & ~KTP_FLAG_MASK) || th->reserved) {
		__KTP_INC_STATS(net, KTP_MIB_UNKNOWNBITS);
		goto bad;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skb_v6(skb))
		err = skb_checksum_init(skb, ktp_ipproto, ip6_compute_pseudo);
	else
#endif
		err = skb_checksum_init(skb, ktp_ipproto, inet_compute_pseudo);
	if (err || skb_checksum_complete(skb)) {
		__KTP_INC_STATS(net, KTP_MIB_INCSUMERRORS);
		goto bad;
	}
	return true;

bad_header:
	__KTP_INC_STATS(net, KTP_MIB_BADHEADER);
bad:
	__KTP_INC_STATS(net, KTP_MIB_INERRS);
	return false;
}

/**
 * ktp_fill_cb - decode the header into KTP_SKB_CB() and pull it
 * @skb: a segment ktp_segment_ok() accepted
 *
 * The IP control block sits where cb->header does and stays intact: IP
 * options and the incoming interface remain readable.
 */
static void ktp_fill_cb(struct sk_buff *skb)
{
	const struct ktphdr *th = ktp_hdr(skb);
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	unsigned int hlen = th->doff * 4;

	BUILD_BUG_ON(sizeof(struct ktp_skb_cb) > sizeof(skb->cb));
	cb->seq = ntohl(th->seq);
	cb->end_seq = cb->seq + skb->len - hlen +
		      !!(th->flags & KTP_FLAG_SYN) + !!(th->flags & KTP_FLAG_FIN);
	cb->ack_seq = ntohl(th->ack_seq);
	cb->window = ntohs(th->window);
	cb->flags = th->flags;
	cb->retransmitted = 0;
	__skb_pull(skb, hlen);
}

/**
 * ktp_send_reset - answer @skb with a RST (RFC 9293 3.10.7.1), back the
 * way it came
 * @sk: the socket it reached, or NULL
 * @skb: the offending segment; never a RST itself
 *
 * If it carried an ACK: <SEQ=SEG.ACK><CTL=RST>; otherwise
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
void ktp_send_reset(const struct sock *sk, struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct net *net = sk ? sock_net(sk) : dev_net(skb_dst(skb)->dev);

	if (cb->flags & KTP_FLAG_RST)
		return;
	trace_ktp_send_reset(sk, skb);
	if (cb->flags & KTP_FLAG_ACK)
		ktp_send_reply(net, skb, cb->ack_seq, 0, KTP_FLAG_RST, NULL);
	else
		ktp_send_reply(net, skb, 0, cb->end_seq,
			       KTP_FLAG_RST | KTP_FLAG_ACK, NULL);
}

/**
 * ktp_timewait_ack - re-acknowledge from a TIME_WAIT entry
 * @tw: the entry
 * @skb: the segment that asked for it
 */
void ktp_timewait_ack(struct ktp_tw *tw, struct sk_buff *skb)
{
	struct ktp_syn_opts opts = { .wscale = -1 };

	if (READ_ONCE(tw->ts_recent_stamp)) {
		opts.ts = 1;
		opts.tsval = ktp_clock_ms() + tw->ts_off;
		opts.tsecr = READ_ONCE(tw->ts_recent);
	}
	ktp_send_reply(ktp_tw_net(tw), skb, tw->snd_nxt, tw->rcv_nxt,
		       KTP_FLAG_ACK, &opts);
}

/**
 * ktp_reqsk_ack - an unacceptable segment to a request entry gets an ACK
 * of where the handshake stands (RFC 9293 3.10.7.4, first check)
 * @req: the entry
 * @skb: the segment
 */
void ktp_reqsk_ack(struct ktp_request *req, struct sk_buff *skb)
{
	struct ktp_syn_opts opts = { .wscale = -1 };

	if (req->ts_ok) {
		opts.ts = 1;
		opts.tsval = ktp_clock_ms() + req->ts_off;
		opts.tsecr = req->ts_recent;
	}
	ktp_send_reply(ktp_req_net(req), skb, req->snt_isn + 1,
		       req->rcv_isn + 1, KTP_FLAG_ACK, &opts);
}

/* LISTEN, RFC 9293 3.10.7.2; an ACK may be the third of a handshake
 * answered with a SYN cookie. Return: true if @skb was consumed (it went
 * to the new connection), else the caller frees it.
 */
static bool ktp_listen_rcv(struct sock *sk, struct sk_buff *skb)
{
	u8 flags = KTP_SKB_CB(skb)->flags;
	struct sock *child;

	if (flags & KTP_FLAG_RST)
		return false;
	if (flags & KTP_FLAG_ACK) {
		child = flags & KTP_FLAG_SYN ? NULL : ktp_cookie_ack(sk, skb);
		if (child) {
			ktp_child_process(sk, child, skb);
			return true;
		}
		ktp_send_reset(sk, skb);
		return false;
	}
	if (flags & KTP_FLAG_SYN)
		inet_csk(sk)->icsk_af_ops->conn_request(sk, skb);
	return false;
}

/**
 * ktp_do_rcv - a segment for a full socket, which the caller owns
 * @sk: listener or connection
 * @skb: the segment, header pulled; consumed
 *
 * Also the socket's backlog_rcv, for segments that arrived while a
 * process owned it. Listeners take their segments without the socket
 * lock (ktp_deliver()); one here was queued before the socket began to
 * listen, and runs with BH off as in softirq: it takes the locks of the
 * request queue and the tables, which softirq takes too.
 *
 * Return: 0.
 */
int ktp_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	if (sk->sk_state == KTP_LISTEN) {
		local_bh_disable();
		if (!ktp_listen_rcv(sk, skb))
			kfree_skb(skb);
		local_bh_enable();
		return 0;
	}
	return ktp_rcv_state_process(sk, skb);
}

/* IPsec: the protocol is registered no_policy, so the inbound policy
 * check is KTP's to make, as TCP makes its own. @sk may be NULL.
 */
static bool ktp_policy_ok(struct sock *sk, struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skb_v6(skb))
		return xfrm6_policy_check(sk, XFRM_POLICY_IN, skb);
#endif
	return xfrm4_policy_check(sk, XFRM_POLICY_IN, skb);
}

/**
 * ktp_filter - may @sk take @skb? Its socket filter (SO_ATTACH_FILTER),
 * cgroup ingress programs and the LSM say, and a pfmemalloc skb goes only
 * to a socket that serves memory reclaim (sk_filter_trim_cap())
 * @sk: a full socket, listener or connection
 * @skb: the segment, header pulled
 *
 * The filter sees the segment from its KTP header on, as a TCP socket's
 * sees TCP's; it may trim the payload, and the sequence space follows.
 *
 * Return: true to go on; false when it was refused (counted, not freed).
 */
static bool ktp_filter(struct sock *sk, struct sk_buff *skb)
{
	unsigned int hlen = skb->data - skb_transport_header(skb);
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	int err;

	__skb_push(skb, hlen);
	err = sk_filter_trim_cap(sk, skb, hlen);
	__skb_pull(skb, hlen);
	if (err) {
		__KTP_INC_STATS(sock_net(sk), KTP_MIB_FILTERDROP);
		return false;
	}
	cb->end_seq = cb->seq + skb->len + !!(cb->flags & KTP_FLAG_SYN) +
		      !!(cb->flags & KTP_FLAG_FIN);
	return true;
}

/**
 * ktp_rcv_req - a segment for a request entry: the third ACK, a repeated
 * SYN, a RST
 * @sk: the entry the lookup found, with the lookup's reference
 * @skb: the segment; consumed unless *@relookup is set
 * @relookup: set when the caller must look @skb up again
 */
static void ktp_rcv_req(struct sock *sk, struct sk_buff *skb, bool *relookup)
{
	struct ktp_request *req = ktp_req(sk);
	struct sock *listener = req->listener;
	bool req_stolen = false;
	struct sock *child;

	if (unlikely(READ_ONCE(listener->sk_state) != KTP_LISTEN)) {
		ktp_req_drop(req, false);
		ktp_entry_put(sk);
		*relookup = true;
		return;
	}
	if (!ktp_policy_ok(listener, skb) || !ktp_filter(listener, skb)) {
		ktp_entry_put(sk);
		kfree_skb(skb);
		return;
	}
	/* the entry's reference keeps the listener */
	child = ktp_check_req(listener, skb, req, &req_stolen);
	if (!child && !req_stolen &&
	    unlikely(READ_ONCE(listener->sk_state) != KTP_LISTEN)) {
		/* It closed meanwhile (its port gone, the child could not
		 * take it): the segment gets the answer of no listener, a
		 * RST, as if it had come a moment later.
		 */
		ktp_req_drop(req, false);
		req_stolen = true;
	}
	if (!child) {
		*relookup = req_stolen;
		if (!req_stolen)
			kfree_skb(skb);
		ktp_entry_put(sk);
		return;
	}
	sock_hold(listener);
	ktp_entry_put(sk);
	ktp_child_process(listener, child, skb);
	sock_put(listener);
}

/**
 * ktp_rcv_tw - a segment for a TIME_WAIT entry
 * @sk: the entry, with the lookup's reference, which is dropped here
 * @skb: the segment; not consumed
 *
 * Return: a listener a new SYN may go to instead (the entry is gone
 * then), or NULL when the caller is done with @skb.
 */
static struct sock *ktp_rcv_tw(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_tw *tw = ktp_tw(sk);
	struct net *net = ktp_tw_net(tw);
	struct sock *listener;

	switch (ktp_timewait_state_process(tw, skb)) {
	case KTP_TW_SYN:
		listener = ktp_lookup_listener(net, skb);
		if (listener) {
			KTP_INC_STATS(net, KTP_MIB_TWKILLED);
			ktp_tw_kill(tw, false);
			ktp_entry_put(sk);
			return listener;
		}
		fallthrough;
	case KTP_TW_ACK:
		ktp_timewait_ack(tw, skb);
		break;
	case KTP_TW_RST:
		ktp_send_reset(NULL, skb);
		ktp_tw_kill(tw, false);
		break;
	case KTP_TW_SUCCESS:
		break;
	}
	ktp_entry_put(sk);
	return NULL;
}

/**
 * ktp_deliver - hand a segment to a full socket: now, or via its backlog
 * if a process owns it
 * @net: the namespace it arrived in
 * @sk: the socket
 * @skb: the segment; consumed unless the caller must look again
 *
 * The connection may have ended between the lookup and the lock: a timer
 * on another CPU sent its RST and unhashed it while this segment waited.
 * Such a socket is no answer (RFC 9293: no TCB); the segment is looked up
 * again and meets a listener, a newer connection, or the no-socket RST.
 *
 * Return: true when the caller must look @skb up again.
 */
static bool ktp_deliver(struct net *net, struct sock *sk,
			struct sk_buff *skb)
{
	if (!ktp_policy_ok(sk, skb) || !ktp_filter(sk, skb)) {
		kfree_skb(skb);
		return false;
	}
	nf_reset_ct(skb);
	if (sk->sk_state == KTP_LISTEN) {
		/* No socket lock for a listener, as in TCP: a SYN touches
		 * only the request queue, which has locks of its own. Taken,
		 * the lock would send SYNs to the backlog, and release_sock()
		 * would run them with BH on, holding table locks that
		 * softirq takes on the same CPU.
		 */
		if (!ktp_listen_rcv(sk, skb))
			kfree_skb(skb);
		return false;
	}
	bh_lock_sock_nested(sk);
	if (!sock_owned_by_user(sk)) {
		if (sk->sk_state == KTP_CLOSE && sk_unhashed(sk)) {
			bh_unlock_sock(sk);
			return true;
		}
		ktp_do_rcv(sk, skb);
	} else if (sk_add_backlog(sk, skb, KTP_RMEM_LIMIT(sk) +
					   READ_ONCE(sk->sk_sndbuf))) {
		__KTP_INC_STATS(net, KTP_MIB_BACKLOGDROP);
		kfree_skb(skb);
	}
	bh_unlock_sock(sk);
	return false;
}

/**
 * ktp_rcv_prepare - the protocol handler's first step: a segment for
 * this host with a sane header and checksum, decoded
 * @net: the namespace it arrived in
 * @skb: the segment, at its KTP header
 *
 * Return: true to look it up; false when it was dropped (and freed).
 */
bool ktp_rcv_prepare(struct net *net, struct sk_buff *skb)
{
	if (skb->pkt_type != PACKET_HOST)
		goto discard;
	/* a super-segment a software device carried whole (offload.c) */
	__KTP_ADD_STATS(net, KTP_MIB_INSEGS,
			max_t(u16, skb_shinfo(skb)->gso_segs, 1));
	if (!ktp_segment_ok(net, skb))
		goto discard;
	ktp_fill_cb(skb);
	return true;

discard:
	kfree_skb(skb);
	return false;
}

/**
 * ktp_rcv_found - hand a segment to what the lookup found
 * @net: the namespace it arrived in
 * @sk: the lookup's result, or NULL
 * @skb: the segment; consumed unless the caller must look again
 * @refcounted: whether the lookup took a reference on @sk
 *
 * Return: true when the caller must look @skb up again (a request entry
 * went away under it).
 */
bool ktp_rcv_found(struct net *net, struct sock *sk, struct sk_buff *skb,
		   bool refcounted)
{
	bool relookup = false;

	if (!sk) {
		if (ktp_policy_ok(NULL, skb)) {
			__KTP_INC_STATS(net, KTP_MIB_NOSOCKET);
			ktp_send_reset(NULL, skb);
		}
		kfree_skb(skb);
		return false;
	}
	if (sk->sk_state == KTP_TIME_WAIT) {
		if (!ktp_policy_ok(NULL, skb)) {
			ktp_entry_put(sk);
			kfree_skb(skb);
			return false;
		}
		sk = ktp_rcv_tw(sk, skb);
		if (!sk) {
			kfree_skb(skb);
			return false;
		}
		refcounted = false;
	} else if (sk->sk_state == KTP_NEW_SYN_RECV) {
		ktp_rcv_req(sk, skb, &relookup);
		return relookup;
	}
	relookup = ktp_deliver(net, sk, skb);
	if (refcounted)
		sock_put(sk);
	return relookup;
}
