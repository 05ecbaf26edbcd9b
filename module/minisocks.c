// SPDX-License-Identifier: GPL-2.0
/*
 * KTP's light entries: the request entry a listener keeps for a connection
 * in SYN_RECV, and the TIME_WAIT entry that outlives a closed connection.
 * Neither carries queues or timers of a full socket, so a busy server
 * pays a few dozen bytes per connection in these states.
 */
#include <linux/module.h>
#include <net/sock.h>
#include <net/inet_common.h>
#include <net/inet_timewait_sock.h>

#include "protocol.h"

/* The entry dies: its TIME_WAIT ends, early or on time. */
static void ktp_twsk_destructor(struct sock *sk)
{
	ktp_trace_state(&inet_twsk(sk)->__tw_common, KTP_TIME_WAIT, KTP_CLOSE);
}

struct timewait_sock_ops ktp_timewait_sock_ops = {
	.twsk_obj_size	= sizeof(struct ktp_timewait_sock),
	.twsk_destructor = ktp_twsk_destructor,
};

#if IS_ENABLED(CONFIG_IPV6)
/* The same for KTPv6: each proto has its own slab of entries. */
struct timewait_sock_ops ktp6_timewait_sock_ops = {
	.twsk_obj_size	= sizeof(struct ktp_timewait_sock),
	.twsk_destructor = ktp_twsk_destructor,
};
#endif

/**
 * ktp_time_wait - hand a closing connection over to a TIME_WAIT entry
 * @sk: the full socket, owned by the caller; it is done when this returns
 * @timeo: how long the entry lives (2 MSL), in jiffies
 *
 * Without memory for the entry, the connection closes at once, as TCP's
 * does when it runs out of TIME_WAIT buckets.
 */
void ktp_time_wait(struct sock *sk, int timeo)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);
	struct inet_timewait_sock *tw;

	tw = inet_twsk_alloc(sk, &kn->death_row, KTP_TIME_WAIT);
	if (tw) {
		struct ktp_timewait_sock *ktw = ktp_twsk((struct sock *)tw);

		ktw->rcv_nxt = kp->rcv_nxt;
		ktw->snd_nxt = kp->snd_nxt;
		ktw->last_oow_ack_time = 0;
#if IS_ENABLED(CONFIG_IPV6)
		if (tw->tw_family == AF_INET6) {
			/* the lookup of an IPv6 4-tuple reads these */
			tw->tw_v6_daddr = sk->sk_v6_daddr;
			tw->tw_v6_rcv_saddr = sk->sk_v6_rcv_saddr;
			tw->tw_ipv6only = sk->sk_ipv6only;
		}
#endif
		ktp_set_state(sk, KTP_TIME_WAIT);
		KTP_INC_STATS(sock_net(sk), KTP_MIB_TWRECYCLED);
		/* The timer is pinned: BH stay off until the entry is fully
		 * linked. The hash, the bind bucket and the timer hold its
		 * three references; it must not be touched afterwards.
		 */
		local_bh_disable();
		inet_twsk_schedule(tw, timeo);
		inet_twsk_hashdance(tw, sk, &ktp_hashinfo);
		local_bh_enable();
	}
	ktp_done(sk);
}

/* Anything else the entry answers, at most once per invalid_ratelimit. */
static enum ktp_tw_status ktp_timewait_oow_ack(struct inet_timewait_sock *tw,
					       struct sk_buff *skb)
{
	struct ktp_timewait_sock *ktw = ktp_twsk((struct sock *)tw);

	if (ktp_oow_rate_limited(twsk_net(tw), skb,
				 KTP_MIB_ACKSKIPPEDTIMEWAIT,
				 &ktw->last_oow_ack_time))
		return KTP_TW_SUCCESS;
	return KTP_TW_ACK;
}

/**
 * ktp_timewait_state_process - decide what a segment to TIME_WAIT gets
 * @tw: the entry
 * @skb: the segment, header pulled
 *
 * RFC 9293 3.10.7.4 for TIME-WAIT. A RST is ignored, so a stray or forged
 * one cannot cut the wait short (RFC 1337). A retransmitted FIN is
 * acknowledged again and restarts the 2 MSL wait. A new SYN with a higher
 * sequence number may take over the 4-tuple (RFC 1122 4.2.2.13).
 *
 * Return: what the caller must do.
 */
enum ktp_tw_status ktp_timewait_state_process(struct inet_timewait_sock *tw,
					      struct sk_buff *skb)
{
	struct ktp_timewait_sock *ktw = ktp_twsk((struct sock *)tw);
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_net *kn = ktp_pernet(twsk_net(tw));

	if (cb->flags & KTP_FLAG_RST)
		return KTP_TW_SUCCESS;
	if (cb->flags & KTP_FLAG_SYN) {
		if (!(cb->flags & KTP_FLAG_ACK) &&
		    ktp_after(cb->seq, ktw->rcv_nxt))
			return KTP_TW_SYN;
		return ktp_timewait_oow_ack(tw, skb);
	}
	if ((cb->flags & KTP_FLAG_FIN) && cb->end_seq == ktw->rcv_nxt) {
		inet_twsk_reschedule(tw, READ_ONCE(kn->tw_timeout));
		return KTP_TW_ACK;
	}
	/* A bare ACK of our FIN, repeated: nothing to say. */
	if (cb->seq == ktw->rcv_nxt && cb->end_seq == cb->seq)
		return KTP_TW_SUCCESS;
	return ktp_timewait_oow_ack(tw, skb);
}

static void ktp_syn_ack_timeout(const struct request_sock *req)
{
}

/* __reqsk_free() calls it unconditionally; nothing of ours to free. */
static void ktp_reqsk_destructor(struct request_sock *req)
{
}

struct request_sock_ops ktp_request_sock_ops = {
	.family		= PF_INET,
	.obj_size	= sizeof(struct ktp_request_sock),
	.rtx_syn_ack	= ktp_v4_rtx_synack,
	.syn_ack_timeout = ktp_syn_ack_timeout,
	.destructor	= ktp_reqsk_destructor,
};

#if IS_ENABLED(CONFIG_IPV6)
struct request_sock_ops ktp6_request_sock_ops = {
	.family		= AF_INET6,
	.obj_size	= sizeof(struct ktp_request_sock),
	.rtx_syn_ack	= ktp_v6_rtx_synack,
	.syn_ack_timeout = ktp_syn_ack_timeout,
	.destructor	= ktp_reqsk_destructor,
};
#endif

/**
 * ktp_conn_request - LISTEN and a SYN arrives (RFC 9293 3.10.7.2): keep a
 * light request entry in the SYN queue and answer SYN=1 ACK=1 seq=y
 * ack=x+1
 * @af: the family's part
 * @sk: the listener
 * @skb: the SYN
 *
 * Return: 0; a SYN that cannot be taken is dropped and counted, and the
 * client retries it.
 */
int ktp_conn_request(const struct ktp_request_af_ops *af, struct sock *sk,
		     struct sk_buff *skb)
{
	struct net *net = sock_net(sk);
	struct request_sock *req;
	struct dst_entry *dst;

	if (inet_csk_reqsk_queue_is_full(sk) || sk_acceptq_is_full(sk)) {
		/* the client retries its SYN */
		KTP_INC_STATS(net, KTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	req = inet_reqsk_alloc(af->rsk_ops, sk, true);
	if (!req)
		goto drop;
	af->init_req(req, sk, skb);
	dst = af->route_req(sk, req);
	if (!dst)
		goto drop_and_free;
	if (!inet_csk_reqsk_queue_hash_add(sk, req, req->timeout)) {
		dst_release(dst);
		goto drop_and_free;
	}
	ktp_trace_state(&req->__req_common, KTP_LISTEN, KTP_SYN_RECV);
	af->send_synack(sk, dst, req);
	dst_release(dst);
	reqsk_put(req);
	return 0;

drop_and_free:
	__reqsk_free(req);
drop:
	KTP_INC_STATS(net, KTP_MIB_LISTENDROPS);
	return 0;
}

/**
 * ktp_init_req - what a request entry keeps of the SYN, either family
 * @req: the new entry, addresses and interface already set
 * @sk: the listener
 * @skb: the SYN
 * @isn: our initial sequence number for it
 */
void ktp_init_req(struct request_sock *req, const struct sock *sk,
		  struct sk_buff *skb, u32 isn)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	const struct ktphdr *th = ktp_hdr(skb);
	struct inet_request_sock *ireq = inet_rsk(req);
	struct ktp_request_sock *kreq = ktp_rsk(req);
	struct ktp_syn_opts opts;

	ireq->ir_rmt_port = th->source;
	ireq->ir_num = ntohs(th->dest);
	ireq->ir_mark = inet_request_mark(sk, skb);
	kreq->rcv_isn = KTP_SKB_CB(skb)->seq;
	kreq->snt_isn = isn;
	kreq->last_oow_ack_time = 0;
	ktp_parse_opts(skb, &opts);
	/* what this namespace does not do is as if not offered */
	if (!READ_ONCE(kn->window_scaling))
		opts.wscale = -1;
	if (!READ_ONCE(kn->sack))
		opts.sack_ok = 0;
	kreq->mss = opts.mss ? opts.mss : KTP_MSS_DEFAULT;
	kreq->snd_wscale = opts.wscale;
	kreq->sack_ok = opts.sack_ok;
	kreq->rcv_wscale = opts.wscale >= 0 ? ktp_choose_wscale(sk) : 0;
	req->timeout = KTP_TIMEOUT_INIT;
}

/**
 * ktp_init_child - fill a new connection from its request entry and the
 * third ACK
 * @newsk: the clone of the listener, with its route
 * @req: the request entry
 * @skb: the third ACK
 */
void ktp_init_child(struct sock *newsk, const struct request_sock *req,
		    const struct sk_buff *skb)
{
	const struct ktp_request_sock *kreq = ktp_rsk(req);
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_sock *kp = ktp_sk(newsk);

	inet_csk(newsk)->icsk_rto = KTP_TIMEOUT_INIT;
	kp->iss = kreq->snt_isn;
	kp->snd_una = kreq->snt_isn + 1;
	kp->snd_nxt = kp->snd_una;
	kp->write_seq = kp->snd_una;
	kp->irs = kreq->rcv_isn;
	kp->rcv_nxt = kreq->rcv_isn + 1;
	kp->copied_seq = kp->rcv_nxt;
	kp->rcv_wup = kp->rcv_nxt;
	kp->ooo_queue = RB_ROOT;
	kp->num_sacks = 0;
	kp->snd_wscale = kreq->snd_wscale >= 0 ? kreq->snd_wscale : 0;
	kp->wscale_ok = kreq->snd_wscale >= 0;
	kp->rcv_wscale = kreq->rcv_wscale;
	kp->rcv_wnd = ktp_select_window(newsk);
	kp->snd_wnd = (u32)cb->window << kp->snd_wscale;
	kp->srtt_us = 0;
	kp->rttvar_us = 0;
	kp->snd_cwnd = KTP_INIT_CWND;
	kp->snd_ssthresh = U32_MAX;
	kp->cwnd_cnt = 0;
	kp->packets_out = 0;
	kp->dupacks = 0;
	kp->in_recovery = 0;
	kp->ack_pending = 0;
	kp->sack_ok = kreq->sack_ok;
	kp->sacked_out = 0;
	kp->highest_sack = kp->snd_una;
	kp->snd_wl1 = cb->seq;
	kp->snd_wl2 = cb->ack_seq;
	kp->peer_mss = kreq->mss;
	kp->rtx_queue = RB_ROOT;
	kp->lost_out = 0;
	kp->retrans_out = 0;
	kp->retx_hint = kp->snd_una;
	kp->deferred = 0;
	kp->fin_queued = 0;
	kp->total_retrans = 0;
	kp->bytes_acked = 0;
	kp->bytes_received = 0;
	kp->segs_in = 0;
	kp->segs_out = 0;
	ktp_init_mss(newsk);
	ktp_resync_mss(newsk);
}

/**
 * ktp_check_req - a segment for a request entry in the SYN queue
 * @sk: the listener
 * @skb: the segment, header pulled; not consumed
 * @req: the request entry
 * @req_stolen: set when another CPU completed the same entry first
 *
 * RFC 9293 3.10.7.4 for SYN-RECEIVED: a repeated SYN gets the SYN-ACK
 * again, a RST at the right place drops the entry, a wrong ACK gets a
 * RST, and the ACK of y+1 makes the connection.
 *
 * Return: the new connection, bh-locked, or NULL.
 */
struct sock *ktp_check_req(struct sock *sk, struct sk_buff *skb,
			   struct request_sock *req, bool *req_stolen)
{
	struct ktp_request_sock *kreq = ktp_rsk(req);
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	bool own_req = false;
	struct sock *child;

	if (cb->flags & KTP_FLAG_RST) {
		if (cb->seq == kreq->rcv_isn + 1)
			inet_csk_reqsk_queue_drop(sk, req);
		return NULL;
	}
	if (cb->flags & KTP_FLAG_SYN) {
		if (cb->seq == kreq->rcv_isn &&
		    !ktp_oow_rate_limited(sock_net(sk), skb,
					  KTP_MIB_ACKSKIPPEDSYNRECV,
					  &kreq->last_oow_ack_time))
			inet_rtx_syn_ack(sk, req);
		return NULL;
	}
	if (!(cb->flags & KTP_FLAG_ACK))
		return NULL;
	if (cb->ack_seq != kreq->snt_isn + 1) {
		ktp_send_reset(sk, skb);
		return NULL;
	}
	if (cb->seq != kreq->rcv_isn + 1) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTOFWINDOW);
		if (!ktp_oow_rate_limited(sock_net(sk), skb,
					  KTP_MIB_ACKSKIPPEDSYNRECV,
					  &kreq->last_oow_ack_time))
			ktp_reqsk_ack(req, skb);
		return NULL;
	}

	child = inet_csk(sk)->icsk_af_ops->syn_recv_sock(sk, skb, req, NULL,
							 req, &own_req, NULL);
	if (!child)
		return NULL;
	if (own_req) {
		/* Still bh-locked: nobody sees SYN_RECV on the full socket. */
		ktp_set_state(child, KTP_ESTABLISHED);
		KTP_INC_STATS(sock_net(sk), KTP_MIB_PASSIVEOPENS);
	}
	child = inet_csk_complete_hashdance(sk, child, req, own_req);
	if (!child)
		*req_stolen = true;
	return child;
}

/**
 * ktp_child_process - the third ACK's own content, for the new connection
 * @parent: the listener
 * @child: the new connection, bh-locked; unlocked and released here
 * @skb: the segment; consumed
 *
 * Return: 0.
 */
int ktp_child_process(struct sock *parent, struct sock *child,
		      struct sk_buff *skb)
{
	if (!sock_owned_by_user(child))
		ktp_rcv_state_process(child, skb);
	else if (sk_add_backlog(child, skb, READ_ONCE(child->sk_rcvbuf)))
		kfree_skb(skb);
	parent->sk_data_ready(parent);
	bh_unlock_sock(child);
	sock_put(child);
	return 0;
}
