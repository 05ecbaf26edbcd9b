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
		return KTP_TW_ACK;
	}
	if ((cb->flags & KTP_FLAG_FIN) && cb->end_seq == ktw->rcv_nxt) {
		inet_twsk_reschedule(tw, READ_ONCE(kn->tw_timeout));
		return KTP_TW_ACK;
	}
	/* A bare ACK of our FIN, repeated: nothing to say. */
	if (cb->seq == ktw->rcv_nxt && cb->end_seq == cb->seq)
		return KTP_TW_SUCCESS;
	return KTP_TW_ACK;
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

/* Fill a new connection from its request entry and the third ACK. */
static void ktp_init_child(struct sock *newsk, const struct request_sock *req,
			   const struct sk_buff *skb)
{
	const struct ktp_request_sock *kreq = ktp_rsk(req);
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_sock *kp = ktp_sk(newsk);

	ktp_init_xmit_timers(newsk);
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
	kp->snd_wscale = kreq->snd_wscale >= 0 ? kreq->snd_wscale : 0;
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
	kp->send_head = NULL;
	kp->deferred = 0;
	kp->fin_queued = 0;
	kp->total_retrans = 0;
	kp->bytes_acked = 0;
	kp->bytes_received = 0;
	kp->segs_in = 0;
	kp->segs_out = 0;
	ktp_init_mss(newsk);
	ktp_sync_mss(newsk);
}

/* The third ACK is good: make the full socket (inet_csk_clone_lock()
 * returns it bh-locked, in SYN_RECV) and move it to ESTABLISHED.
 */
static struct sock *ktp_v4_syn_recv_sock(struct sock *sk, struct sk_buff *skb,
					 struct request_sock *req,
					 bool *own_req)
{
	struct inet_request_sock *ireq = inet_rsk(req);
	struct inet_sock *newinet;
	struct dst_entry *dst;
	struct sock *newsk;

	if (sk_acceptq_is_full(sk)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENOVERFLOWS);
		return NULL;
	}
	newsk = inet_csk_clone_lock(sk, req, GFP_ATOMIC);
	if (!newsk)
		return NULL;
	/* First: the copied algorithm pointer needs its own reference. */
	ktp_inherit_congestion_control(newsk);

	newinet = inet_sk(newsk);
	sk_daddr_set(newsk, ireq->ir_rmt_addr);
	sk_rcv_saddr_set(newsk, ireq->ir_loc_addr);
	newsk->sk_bound_dev_if = ireq->ir_iif;
	newinet->inet_saddr = ireq->ir_loc_addr;
	RCU_INIT_POINTER(newinet->inet_opt, NULL);
	newinet->mc_index = inet_iif(skb);
	newinet->mc_ttl = ip_hdr(skb)->ttl;
	newinet->rcv_tos = ip_hdr(skb)->tos;
	inet_csk(newsk)->icsk_ext_hdr_len = 0;
	atomic_set(&newinet->inet_id, get_random_u16());

	dst = inet_csk_route_child_sock(sk, newsk, req);
	if (!dst)
		goto put_and_exit;
	sk_setup_caps(newsk, dst);
	ktp_init_child(newsk, req, skb);

	if (__inet_inherit_port(sk, newsk) < 0)
		goto put_and_exit;
	*own_req = inet_ehash_nolisten(newsk, req_to_sk(req), NULL);
	if (*own_req) {
		/* Still bh-locked: nobody sees SYN_RECV on the full socket. */
		ktp_set_state(newsk, KTP_ESTABLISHED);
		KTP_INC_STATS(sock_net(sk), KTP_MIB_PASSIVEOPENS);
	}
	return newsk;

put_and_exit:
	inet_csk_prepare_forced_close(newsk);
	ktp_done(newsk);
	return NULL;
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
		if (cb->seq == kreq->rcv_isn)
			inet_rtx_syn_ack(sk, req);
		return NULL;
	}
	if (!(cb->flags & KTP_FLAG_ACK))
		return NULL;
	if (cb->ack_seq != kreq->snt_isn + 1) {
		ktp_v4_send_reset(sk, skb);
		return NULL;
	}
	if (cb->seq != kreq->rcv_isn + 1) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTOFWINDOW);
		ktp_v4_reqsk_ack(req, skb);
		return NULL;
	}

	child = ktp_v4_syn_recv_sock(sk, skb, req, &own_req);
	if (!child)
		return NULL;
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
