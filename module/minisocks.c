// SPDX-License-Identifier: GPL-2.0
/*
 * KTP's light entries: the request entry a listener keeps for a connection
 * in SYN_RECV, and the TIME_WAIT entry that outlives a closed connection.
 * Neither carries the queues or the timers of a full socket, so a busy
 * server pays a few dozen bytes per connection in these states. Both live
 * in the established table (hash.c) beside full sockets.
 *
 * References, for either kind:
 *   - the established table holds one while the entry is in it (a
 *     TIME_WAIT entry's place in the bind table goes with it);
 *   - its timer holds one while pending;
 *   - a lookup holds one while it works on the entry.
 * The last ktp_entry_put() frees it. Neither kind pins the module or its
 * namespace: a namespace that goes purges them (ktp_tables_purge()), and
 * a listener that closes drops its requests (ktp_drop_requests()).
 *
 * A request entry is also on its listener's req_list (under the
 * listener's queue_lock) until it is dropped or has become a connection.
 */
#include <linux/module.h>
#include <net/sock.h>
#include <net/inet_common.h>

#include "protocol.h"
#include "trace.h"

static struct kmem_cache *ktp_req_cachep;
static struct kmem_cache *ktp_tw_cachep;

/*
 * The caches are SLAB_TYPESAFE_BY_RCU, as full sockets are: a lookup may
 * still look at an entry that was freed and reused, so a new one keeps
 * its chain node and a zero reference count until it is fully set up.
 */
static void ktp_common_init(struct sock_common *c, const struct net *net,
			    unsigned short family, unsigned char state)
{
	/* unhashed; the forward pointer a stale lookup may follow stays */
	c->skc_nulls_node.pprev = NULL;
	c->skc_family = family;
	c->skc_state = state;
	c->skc_reuse = 0;
	c->skc_reuseport = 0;
	c->skc_ipv6only = 0;
	c->skc_bound_dev_if = 0;
	c->skc_daddr = 0;
	c->skc_rcv_saddr = 0;
	c->skc_portpair = 0;
	write_pnet(&c->skc_net, (struct net *)net);
	atomic64_set(&c->skc_cookie, 0);
#if IS_ENABLED(CONFIG_IPV6)
	c->skc_v6_daddr = in6addr_any;
	c->skc_v6_rcv_saddr = in6addr_any;
#endif
}

/* ---- TIME_WAIT ---- */

/**
 * ktp_tw_free - free a TIME_WAIT entry: its last reference is gone
 * @tw: the entry, out of the tables
 *
 * The wait ends here, early or on time: traced as TIME_WAIT -> CLOSE.
 */
void ktp_tw_free(struct ktp_tw *tw)
{
	ktp_trace_state(&tw->common, KTP_TIME_WAIT, KTP_CLOSE);
	kmem_cache_free(ktp_tw_cachep, tw);
}

/* Out of the established and bind tables; the caller holds a reference. */
static void ktp_tw_unlink(struct ktp_tw *tw)
{
	if (ktp_ehash_remove((struct sock *)tw))
		ktp_tw_unbind(tw);
}

/* 2 MSL are over. */
static void ktp_tw_expire(struct timer_list *t)
{
	struct ktp_tw *tw = timer_container_of(tw, t, timer);

	ktp_tw_unlink(tw);
	ktp_entry_put((struct sock *)tw);
}

/**
 * ktp_tw_kill - end a TIME_WAIT entry now
 * @tw: the entry; the caller holds a reference, which stays its own
 * @sync: wait for a running timer (process context only)
 */
void ktp_tw_kill(struct ktp_tw *tw, bool sync)
{
	ktp_tw_unlink(tw);
	if (sync ? timer_delete_sync(&tw->timer) : timer_delete(&tw->timer))
		ktp_entry_put((struct sock *)tw);
}

/**
 * ktp_time_wait - hand a closing connection over to a TIME_WAIT entry
 * @sk: the full socket, owned by the caller; it is done when this returns
 * @timeo: how long the entry lives (2 MSL), in jiffies
 *
 * The entry takes the connection's place in the established table in one
 * step, and shares its port. The full socket itself never shows
 * TIME_WAIT (a lookup tells the kinds apart by the state): it goes to
 * CLOSE, untraced, and the trace shows the connection's TIME_WAIT here.
 * Without memory for the entry, the connection closes at once, as TCP's
 * does when it runs out of TIME_WAIT buckets.
 */
void ktp_time_wait(struct sock *sk, int timeo)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_tw *tw;
	struct sock *twsk;

	tw = kmem_cache_alloc(ktp_tw_cachep, GFP_ATOMIC | __GFP_NOWARN);
	if (!tw)
		goto done;
	twsk = (struct sock *)tw;
	ktp_common_init(&tw->common, sock_net(sk), sk->sk_family,
			KTP_TIME_WAIT);
	tw->common.skc_daddr = sk->sk_daddr;
	tw->common.skc_rcv_saddr = sk->sk_rcv_saddr;
	tw->common.skc_dport = sk->sk_dport;
	tw->common.skc_num = sk->sk_num;
	tw->common.skc_reuse = sk->sk_reuse;
	tw->common.skc_reuseport = sk->sk_reuseport;
	tw->common.skc_ipv6only = sk->sk_ipv6only;
	tw->common.skc_bound_dev_if = sk->sk_bound_dev_if;
#if IS_ENABLED(CONFIG_IPV6)
	tw->common.skc_v6_daddr = sk->sk_v6_daddr;
	tw->common.skc_v6_rcv_saddr = sk->sk_v6_rcv_saddr;
#endif
	atomic64_set(&tw->common.skc_cookie, atomic64_read(&sk->sk_cookie));
	tw->rcv_nxt = kp->rcv_nxt;
	tw->snd_nxt = kp->snd_nxt;
	tw->last_oow_ack_time = 0;
	tw->ts_recent = kp->ts_recent;
	tw->ts_recent_stamp = 0;
	if (kp->ts_ok)
		tw->ts_recent_stamp = kp->ts_recent_stamp ? : 1;
	tw->ts_off = kp->ts_off;
	tw->tb = NULL;
	timer_setup(&tw->timer, ktp_tw_expire, 0);
	/* ours until the end of this function */
	refcount_set(&tw->common.skc_refcnt, 1);

	local_bh_disable();
	ktp_tw_bind(tw, sk);
	if (ktp_ehash_replace(sk, twsk)) {
		refcount_inc(&tw->common.skc_refcnt);
		mod_timer(&tw->timer, jiffies + timeo);
		ktp_trace_state(&sk->__sk_common, sk->sk_state,
				KTP_TIME_WAIT);
		kp->tw_handoff = 1;
		__KTP_INC_STATS(sock_net(sk), KTP_MIB_TWRECYCLED);
	} else {
		ktp_tw_unbind(tw);
	}
	local_bh_enable();
	ktp_entry_put(twsk);
done:
	ktp_done(sk);
}

/* Anything else the entry answers, at most once per invalid_ratelimit. */
static enum ktp_tw_status ktp_timewait_oow_ack(struct ktp_tw *tw,
					       struct sk_buff *skb)
{
	if (ktp_oow_rate_limited(ktp_tw_net(tw), skb,
				 KTP_MIB_ACKSKIPPEDTIMEWAIT,
				 &tw->last_oow_ack_time))
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
 * sequence number may take over the 4-tuple (RFC 1122 4.2.2.13), and
 * with timestamps one with a newer TSval, whatever its sequence number
 * (RFC 6191). A segment with an older TSval than the connection's last
 * is an old duplicate (PAWS, RFC 7323 5.3): it gets an ACK, nothing else.
 *
 * Return: what the caller must do.
 */
enum ktp_tw_status ktp_timewait_state_process(struct ktp_tw *tw,
					      struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_net *kn = ktp_pernet(ktp_tw_net(tw));
	struct ktp_syn_opts opts;
	bool paws_old = false;

	opts.ts = 0;
	if (READ_ONCE(tw->ts_recent_stamp)) {
		ktp_parse_opts(skb, &opts);
		paws_old = opts.ts &&
			   ktp_paws_old(READ_ONCE(tw->ts_recent),
					READ_ONCE(tw->ts_recent_stamp),
					opts.tsval, 0);
	}
	if (cb->flags & KTP_FLAG_RST)
		return KTP_TW_SUCCESS;
	if (paws_old) {
		KTP_INC_STATS(ktp_tw_net(tw), KTP_MIB_PAWSESTAB);
		return ktp_timewait_oow_ack(tw, skb);
	}
	if (cb->flags & KTP_FLAG_SYN) {
		if (!(cb->flags & KTP_FLAG_ACK) &&
		    (ktp_after(cb->seq, tw->rcv_nxt) ||
		     (opts.ts &&
		      ktp_after(opts.tsval, READ_ONCE(tw->ts_recent)))))
			return KTP_TW_SYN;
		return ktp_timewait_oow_ack(tw, skb);
	}
	if ((cb->flags & KTP_FLAG_FIN) && cb->end_seq == tw->rcv_nxt) {
		if (opts.ts) {
			WRITE_ONCE(tw->ts_recent, opts.tsval);
			WRITE_ONCE(tw->ts_recent_stamp,
				   (u32)ktime_get_seconds() ? : 1);
		}
		/* a timer that already fired is not brought back */
		mod_timer_pending(&tw->timer,
				  jiffies + READ_ONCE(kn->tw_timeout));
		return KTP_TW_ACK;
	}
	/* A bare ACK of our FIN, repeated: nothing to say. */
	if (cb->seq == tw->rcv_nxt && cb->end_seq == cb->seq)
		return KTP_TW_SUCCESS;
	return ktp_timewait_oow_ack(tw, skb);
}

/* ---- requests ---- */

/**
 * ktp_req_free - free a request entry: its last reference is gone
 * @req: the entry, out of the table and off its listener's list
 */
void ktp_req_free(struct ktp_request *req)
{
	sock_put(req->listener);
	kmem_cache_free(ktp_req_cachep, req);
}

/* Off the listener's SYN queue, once. */
static void ktp_req_dequeue(struct ktp_request *req)
{
	struct ktp_sock *kl = ktp_sk(req->listener);

	spin_lock_bh(&kl->queue_lock);
	if (!hlist_unhashed(&req->listen_node)) {
		hlist_del_init(&req->listen_node);
		kl->req_qlen--;
	}
	spin_unlock_bh(&kl->queue_lock);
}

/**
 * ktp_req_drop - forget a request entry: out of the table, off the SYN
 * queue, its timer stopped
 * @req: the entry; the caller holds a reference, which stays its own
 * @sync: wait for a running timer (process context only)
 */
void ktp_req_drop(struct ktp_request *req, bool sync)
{
	struct sock *sk = ktp_req_sk(req);

	ktp_ehash_remove(sk);
	ktp_req_dequeue(req);
	if (sync ? timer_delete_sync(&req->timer) : timer_delete(&req->timer))
		ktp_entry_put(sk);
}

/* Send the SYN-ACK again, the family's way. */
static int ktp_req_rtx_synack(struct ktp_request *req)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (req->common.skc_family == AF_INET6)
		return ktp_v6_rtx_synack(req->listener, req);
#endif
	return ktp_v4_rtx_synack(req->listener, req);
}

/*
 * The SYN-ACK timer: resend with back-off up to synack_retries times,
 * then give up, as TCP's request timer does. A resend that could not go
 * (no route for now, no memory) counts as one, as in TCP: a route that
 * comes back within the entry's life still completes the handshake.
 */
static void ktp_req_timer(struct timer_list *t)
{
	struct ktp_request *req = timer_container_of(req, t, timer);
	struct sock *sk = ktp_req_sk(req);
	struct sock *listener = req->listener;
	struct ktp_net *kn = ktp_pernet(sock_net(listener));
	unsigned long timeo;

	/* completed or dropped meanwhile */
	if (sk_unhashed(sk))
		goto out;
	if (READ_ONCE(listener->sk_state) != KTP_LISTEN ||
	    req->num_timeout >= READ_ONCE(kn->synack_retries))
		goto drop;
	ktp_req_rtx_synack(req);
	req->num_timeout++;
	timeo = min_t(unsigned long, KTP_TIMEOUT_INIT << req->num_timeout,
		      KTP_RTO_MAX);
	/* the timer's reference stays with it */
	mod_timer(&req->timer, jiffies + timeo);
	return;

drop:
	ktp_ehash_remove(sk);
	ktp_req_dequeue(req);
out:
	ktp_entry_put(sk);
}

/* A new entry for a SYN to @listener; not visible to anyone yet. */
static struct ktp_request *ktp_req_alloc(struct sock *listener,
					 unsigned short family)
{
	struct ktp_request *req;

	req = kmem_cache_alloc(ktp_req_cachep, GFP_ATOMIC | __GFP_NOWARN);
	if (!req)
		return NULL;
	ktp_common_init(&req->common, sock_net(listener), family,
			KTP_NEW_SYN_RECV);
	sock_hold(listener);
	req->listener = listener;
	INIT_HLIST_NODE(&req->listen_node);
	timer_setup(&req->timer, ktp_req_timer, 0);
	req->num_timeout = 0;
	req->cookie = 0;
	return req;
}

/*
 * Make the entry visible: in the established table (unless a twin got
 * there first), then on the listener's SYN queue while it still listens,
 * then its timer. A listener that closes meanwhile drops it from its
 * queue, and a timer armed after that finds it gone.
 *
 * Return: true with the entry published; false with it unpublished and
 * only the caller's reference left.
 */
static bool ktp_req_publish(struct sock *listener, struct ktp_request *req)
{
	struct ktp_sock *kl = ktp_sk(listener);
	struct sock *sk = ktp_req_sk(req);
	bool listening;

	/* the caller's reference; the table takes its own */
	refcount_set(&req->common.skc_refcnt, 1);
	if (!ktp_ehash_insert(sk, true))
		return false;
	spin_lock_bh(&kl->queue_lock);
	listening = listener->sk_state == KTP_LISTEN;
	if (listening) {
		hlist_add_head(&req->listen_node, &kl->req_list);
		kl->req_qlen++;
	}
	spin_unlock_bh(&kl->queue_lock);
	if (!listening) {
		ktp_ehash_remove(sk);
		return false;
	}
	refcount_inc(&req->common.skc_refcnt);
	mod_timer(&req->timer, jiffies + KTP_TIMEOUT_INIT);
	return true;
}

/* Is the SYN queue at the listen() backlog? */
static bool ktp_synq_full(const struct sock *sk)
{
	return READ_ONCE(ktp_sk(sk)->req_qlen) >=
	       READ_ONCE(sk->sk_max_ack_backlog);
}

/* How long after a listener last sent a SYN cookie it takes ACKs that
 * carry one: the cookie's own lifetime (syncookies.c).
 */
#define KTP_COOKIE_WINDOW	(2 * 60 * HZ)

/* A request for a SYN, or for the third ACK of a cookie, on the stack:
 * never published, so no reference, queue or timer.
 */
static void ktp_req_init_cookie(struct ktp_request *req, struct sock *sk,
				const struct sk_buff *skb)
{
	memset(req, 0, sizeof(*req));
	ktp_common_init(&req->common, sock_net(sk),
			ktp_skb_v6(skb) ? AF_INET6 : AF_INET,
			KTP_NEW_SYN_RECV);
	req->listener = sk;
	req->cookie = 1;
}

/* The SYN queue is full, or cookies are always on: answer with a cookie
 * and keep nothing (RFC 4987 3.6). The stamp is written at most once a
 * jiffy: a flood's CPUs would otherwise fight over its cache line.
 */
static void ktp_conn_request_cookie(const struct ktp_request_af_ops *af,
				    struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kl = ktp_sk(sk);
	unsigned long now = jiffies ? : 1;
	struct ktp_request req;
	struct dst_entry *dst;

	ktp_req_init_cookie(&req, sk, skb);
	af->init_req(&req, sk, skb);
	req.snt_isn = ktp_cookie_make(&req);
	dst = af->route_req(sk, &req);
	if (!dst) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENDROPS);
		return;
	}
	if (READ_ONCE(kl->cookie_stamp) != now)
		WRITE_ONCE(kl->cookie_stamp, now);
	if (!af->send_synack(sk, dst, &req))
		KTP_INC_STATS(sock_net(sk), KTP_MIB_SYNCOOKIESSENT);
	dst_release(dst);
}

/**
 * ktp_conn_request - LISTEN and a SYN arrives (RFC 9293 3.10.7.2): keep a
 * light request entry in the SYN queue and answer SYN=1 ACK=1 seq=y
 * ack=x+1
 * @af: the family's part
 * @sk: the listener
 * @skb: the SYN
 *
 * With the SYN queue at the backlog, or net.ktp.syncookies 2, y is a SYN
 * cookie and nothing is kept (syncookies.c); with net.ktp.syncookies 0
 * the SYN is dropped then (ListenOverflows).
 *
 * Return: 0; a SYN that cannot be taken is dropped and counted, and the
 * client retries it.
 */
int ktp_conn_request(const struct ktp_request_af_ops *af, struct sock *sk,
		     struct sk_buff *skb)
{
	int cookies = READ_ONCE(ktp_pernet(sock_net(sk))->syncookies);
	struct net *net = sock_net(sk);
	struct ktp_request *req;
	struct dst_entry *dst;

	/* no room for the child: the client retries its SYN, as TCP's */
	if (sk_acceptq_is_full(sk) || (!cookies && ktp_synq_full(sk))) {
		KTP_INC_STATS(net, KTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	if (cookies == 2 || ktp_synq_full(sk)) {
		ktp_conn_request_cookie(af, sk, skb);
		return 0;
	}
	req = ktp_req_alloc(sk, ktp_skb_v6(skb) ? AF_INET6 : AF_INET);
	if (!req)
		goto drop;
	af->init_req(req, sk, skb);
	dst = af->route_req(sk, req);
	if (!dst) {
		ktp_req_free(req);
		goto drop;
	}
	if (!ktp_req_publish(sk, req)) {
		dst_release(dst);
		ktp_entry_put(ktp_req_sk(req));
		goto drop;
	}
	ktp_trace_state(&req->common, KTP_LISTEN, KTP_SYN_RECV);
	af->send_synack(sk, dst, req);
	dst_release(dst);
	ktp_entry_put(ktp_req_sk(req));
	return 0;

drop:
	KTP_INC_STATS(net, KTP_MIB_LISTENDROPS);
	return 0;
}

/**
 * ktp_drop_requests - a listener that stops listening drops its SYN queue
 * @sk: the listener, owned by the caller, no longer in LISTEN
 *
 * Each entry's timer is waited for, so none runs for it afterwards.
 */
void ktp_drop_requests(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_request *req;

	for (;;) {
		spin_lock_bh(&kp->queue_lock);
		req = hlist_empty(&kp->req_list) ? NULL :
		      hlist_entry(kp->req_list.first, struct ktp_request,
				  listen_node);
		/* on the list, an entry is referenced: see ktp_req_drop() */
		if (req)
			refcount_inc(&req->common.skc_refcnt);
		spin_unlock_bh(&kp->queue_lock);
		if (!req)
			break;
		ktp_req_drop(req, true);
		ktp_entry_put(ktp_req_sk(req));
		cond_resched();
	}
}

/**
 * ktp_init_req - what a request entry keeps of the SYN, either family
 * @req: the new entry, addresses and interface already set
 * @sk: the listener
 * @skb: the SYN (the third ACK of a SYN cookie)
 * @isn: our initial sequence number for it
 * @ts_off: our timestamp clock's offset toward the client
 */
void ktp_init_req(struct ktp_request *req, const struct sock *sk,
		  struct sk_buff *skb, u32 isn, u32 ts_off)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	const struct ktphdr *th = ktp_hdr(skb);
	struct ktp_syn_opts opts;

	req->common.skc_dport = th->source;
	req->common.skc_num = ntohs(th->dest);
	req->mark = inet_request_mark(sk, skb);
	req->rcv_isn = KTP_SKB_CB(skb)->seq;
	req->snt_isn = isn;
	req->last_oow_ack_time = 0;
	ktp_parse_opts(skb, &opts);
	/* what this namespace does not do is as if not offered */
	if (!READ_ONCE(kn->window_scaling))
		opts.wscale = -1;
	if (!READ_ONCE(kn->sack))
		opts.sack_ok = 0;
	if (!READ_ONCE(kn->timestamps))
		opts.ts = 0;
	req->mss = opts.mss ? opts.mss : KTP_MSS_DEFAULT;
	req->snd_wscale = opts.wscale;
	req->sack_ok = opts.sack_ok;
	/* A cookie's third ACK carries one only if our SYN-ACK did, and
	 * that one only if the SYN did: the cookie needs no bit for it.
	 */
	req->ts_ok = opts.ts;
	req->ts_recent = opts.tsval;
	req->ts_off = ts_off;
	req->rcv_wscale = opts.wscale >= 0 ? ktp_choose_wscale(sk) : 0;
}

/* Timestamps of a new connection: TS.Recent from the third ACK (RFC
 * 7323 4.3: it is in sequence), and the first RTT sample from its echo
 * of our SYN-ACK's, as TCP takes it.
 */
static void ktp_init_child_ts(struct sock *newsk,
			      const struct ktp_request *req,
			      const struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(newsk);
	struct ktp_syn_opts opts;

	kp->ts_ok = req->ts_ok;
	kp->ts_off = req->ts_off;
	kp->ts_recent = req->ts_recent;
	kp->ts_recent_stamp = 0;
	if (!kp->ts_ok)
		return;
	kp->ts_recent_stamp = ktime_get_seconds() ? : 1;
	ktp_parse_opts(skb, &opts);
	if (!opts.ts)
		return;
	if (!ktp_before(opts.tsval, kp->ts_recent))
		kp->ts_recent = opts.tsval;
	ktp_rtt_sample_ts(newsk, opts.tsecr);
}

/**
 * ktp_init_child - fill a new connection from its request entry and the
 * third ACK
 * @newsk: the clone of the listener, with its route
 * @req: the request entry
 * @skb: the third ACK
 */
void ktp_init_child(struct sock *newsk, const struct ktp_request *req,
		    const struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_sock *kp = ktp_sk(newsk);

	inet_csk(newsk)->icsk_rto = KTP_TIMEOUT_INIT;
	kp->iss = req->snt_isn;
	kp->snd_una = req->snt_isn + 1;
	kp->snd_nxt = kp->snd_una;
	kp->write_seq = kp->snd_una;
	kp->irs = req->rcv_isn;
	kp->rcv_nxt = req->rcv_isn + 1;
	kp->copied_seq = kp->rcv_nxt;
	kp->rcv_wup = kp->rcv_nxt;
	kp->ooo_queue = RB_ROOT;
	kp->num_sacks = 0;
	kp->snd_wscale = req->snd_wscale >= 0 ? req->snd_wscale : 0;
	kp->wscale_ok = req->snd_wscale >= 0;
	kp->rcv_wscale = req->rcv_wscale;
	kp->rcv_wnd = ktp_select_window(newsk);
	ktp_set_snd_wnd(kp, (u32)cb->window << kp->snd_wscale);
	kp->rtx_queue = RB_ROOT;
	kp->deferred = 0;
	ktp_forget_connection(newsk);
	kp->sack_ok = req->sack_ok;
	kp->highest_sack = kp->snd_una;
	kp->snd_wl1 = cb->seq;
	kp->snd_wl2 = cb->ack_seq;
	kp->peer_mss = req->mss;
	kp->retx_hint = kp->snd_una;
	kp->reo_wnd_seq = kp->snd_una;
	ktp_init_child_ts(newsk, req, skb);
	ktp_init_mss(newsk);
	ktp_resync_mss(newsk);
}

/* The family's half of the third ACK: the new socket, bh-locked. */
static struct sock *ktp_syn_recv_sock(struct sock *sk, struct sk_buff *skb,
				      struct ktp_request *req)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return ktp_v6_syn_recv_sock(sk, skb, req);
#endif
	return ktp_v4_syn_recv_sock(sk, skb, req, NULL);
}

/*
 * The third ACK made @child: it takes the request's place in the tables
 * (a cookie's request has none: it goes in) and goes to the accept queue.
 * Return: @child, or NULL when another CPU completed the entry first
 * (*@req_stolen) or the listener went.
 */
static struct sock *ktp_req_complete(struct sock *sk, struct ktp_request *req,
				     struct sock *child, bool *req_stolen)
{
	if (ktp_inherit_port(sk, child) < 0)
		goto forced_close;
	if (req->cookie ? !ktp_ehash_insert(child, true) :
			  !ktp_ehash_replace(ktp_req_sk(req), child)) {
		/* a cookie's twin (a retransmitted third ACK) was first */
		if (!req->cookie)
			*req_stolen = true;
		ktp_put_port(child);
		goto forced_close;
	}
	/* Still bh-locked: nobody sees SYN_RECV on the full socket. */
	ktp_set_state(child, KTP_ESTABLISHED);
	KTP_INC_STATS(sock_net(sk), KTP_MIB_PASSIVEOPENS);
	if (!req->cookie) {
		ktp_req_dequeue(req);
		if (timer_delete(&req->timer))
			ktp_entry_put(ktp_req_sk(req));
	}
	if (!ktp_accept_enqueue(sk, child)) {
		ktp_child_forget(sk, child);
		bh_unlock_sock(child);
		sock_put(child);
		return NULL;
	}
	return child;

forced_close:
	ktp_prepare_forced_close(child);
	ktp_done(child);
	KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENDROPS);
	return NULL;
}

/**
 * ktp_check_req - a segment for a request entry in the SYN queue
 * @sk: the listener
 * @skb: the segment, header pulled; not consumed
 * @req: the request entry, referenced by the caller
 * @req_stolen: set when another CPU completed the same entry first
 *
 * RFC 9293 3.10.7.4 for SYN-RECEIVED: a repeated SYN gets the SYN-ACK
 * again, a RST at the right place drops the entry, a wrong ACK gets a
 * RST, and the ACK of y+1 makes the connection. RFC 5961 3.2 and 4.2: a
 * RST elsewhere in the window, and a SYN with another ISN, get a
 * challenge ACK, which a real peer answers with the exact RST (Linux
 * drops the entry instead, which a blind attacker can do as well).
 *
 * Return: the new connection, bh-locked, or NULL.
 */
struct sock *ktp_check_req(struct sock *sk, struct sk_buff *skb,
			   struct ktp_request *req, bool *req_stolen)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_syn_opts opts;
	struct sock *child;

	/* PAWS against the SYN's TSval (RFC 7323 5.3), as TCP's request
	 * entries: an older one is an old duplicate, answered with the
	 * entry's ACK; a RST is taken whatever its TSval.
	 */
	if (req->ts_ok && !(cb->flags & KTP_FLAG_RST)) {
		ktp_parse_opts(skb, &opts);
		if (opts.ts && ktp_paws_old(req->ts_recent,
					    (u32)ktime_get_seconds(),
					    opts.tsval, 0)) {
			KTP_INC_STATS(sock_net(sk), KTP_MIB_PAWSESTAB);
			if (!ktp_oow_rate_limited(sock_net(sk), skb,
						  KTP_MIB_ACKSKIPPEDSYNRECV,
						  &req->last_oow_ack_time))
				ktp_reqsk_ack(req, skb);
			return NULL;
		}
	}
	if (cb->flags & KTP_FLAG_RST) {
		if (cb->seq == req->rcv_isn + 1)
			ktp_req_drop(req, false);
		else if (cb->seq - (req->rcv_isn + 1) < ktp_synack_window(sk) &&
			 ktp_challenge_ack_allowed(sock_net(sk),
						   &req->last_oow_ack_time))
			ktp_reqsk_ack(req, skb);
		return NULL;
	}
	if (cb->flags & KTP_FLAG_SYN) {
		if (cb->seq != req->rcv_isn) {
			if (ktp_challenge_ack_allowed(sock_net(sk),
						      &req->last_oow_ack_time))
				ktp_reqsk_ack(req, skb);
		} else if (!ktp_oow_rate_limited(sock_net(sk), skb,
						 KTP_MIB_ACKSKIPPEDSYNRECV,
						 &req->last_oow_ack_time)) {
			ktp_req_rtx_synack(req);
		}
		return NULL;
	}
	if (!(cb->flags & KTP_FLAG_ACK))
		return NULL;
	if (cb->ack_seq != req->snt_isn + 1) {
		ktp_send_reset(sk, skb);
		return NULL;
	}
	if (cb->seq != req->rcv_isn + 1) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTOFWINDOW);
		if (!ktp_oow_rate_limited(sock_net(sk), skb,
					  KTP_MIB_ACKSKIPPEDSYNRECV,
					  &req->last_oow_ack_time))
			ktp_reqsk_ack(req, skb);
		return NULL;
	}

	child = ktp_syn_recv_sock(sk, skb, req);
	if (!child)
		return NULL;
	return ktp_req_complete(sk, req, child, req_stolen);
}

/**
 * ktp_cookie_ack - an ACK reached a listener: the third ACK of a
 * handshake it answered with a SYN cookie?
 * @sk: the listener
 * @skb: the ACK, neither SYN nor RST; not consumed
 *
 * Only while cookies are on and the listener sent one lately, as TCP
 * does: otherwise such an ACK is no more than one to reset.
 *
 * Return: the new connection, bh-locked, or NULL.
 */
struct sock *ktp_cookie_ack(struct sock *sk, struct sk_buff *skb)
{
	const struct ktp_request_af_ops *af = &ktp_v4_request_af;
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	unsigned long stamp = READ_ONCE(ktp_sk(sk)->cookie_stamp);
	struct net *net = sock_net(sk);
	struct ktp_request req;
	struct sock *child;

	if (!READ_ONCE(ktp_pernet(net)->syncookies) || !stamp ||
	    time_after(jiffies, stamp + KTP_COOKIE_WINDOW))
		return NULL;
#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skb_v6(skb)) {
		/* as a SYN from such a source is refused */
		if (ipv6_addr_v4mapped(&ipv6_hdr(skb)->saddr))
			return NULL;
		af = &ktp_v6_request_af;
	}
#endif
	ktp_req_init_cookie(&req, sk, skb);
	af->init_req(&req, sk, skb);
	req.rcv_isn = cb->seq - 1;
	req.snt_isn = cb->ack_seq - 1;
	if (ktp_cookie_decode(&req, req.snt_isn)) {
		KTP_INC_STATS(net, KTP_MIB_SYNCOOKIESFAILED);
		return NULL;
	}
	req.rcv_wscale = req.snd_wscale >= 0 ? ktp_choose_wscale(sk) : 0;
	KTP_INC_STATS(net, KTP_MIB_SYNCOOKIESRECV);
	child = ktp_syn_recv_sock(sk, skb, &req);
	if (!child)
		return NULL;
	return ktp_req_complete(sk, &req, child, NULL);
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

/**
 * ktp_minisocks_init - the caches of request and TIME_WAIT entries
 *
 * Return: 0 or -ENOMEM.
 */
int ktp_minisocks_init(void)
{
	ktp_req_cachep = kmem_cache_create("ktp_request",
					   sizeof(struct ktp_request), 0,
					   SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT |
					   SLAB_TYPESAFE_BY_RCU, NULL);
	if (!ktp_req_cachep)
		return -ENOMEM;
	ktp_tw_cachep = kmem_cache_create("ktp_timewait",
					  sizeof(struct ktp_tw), 0,
					  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT |
					  SLAB_TYPESAFE_BY_RCU, NULL);
	if (!ktp_tw_cachep) {
		kmem_cache_destroy(ktp_req_cachep);
		return -ENOMEM;
	}
	return 0;
}

/* Every namespace has purged its entries; no timer of theirs runs. */
void ktp_minisocks_exit(void)
{
	kmem_cache_destroy(ktp_tw_cachep);
	kmem_cache_destroy(ktp_req_cachep);
}
