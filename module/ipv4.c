// SPDX-License-Identifier: GPL-2.0
/*
 * KTP over IPv4: the protocol handler IP calls for IPPROTO_KTP datagrams,
 * and the tables that map ports and 4-tuples to sockets.
 *
 * The tables are the kernel's own inet_hashinfo, as DCCP uses them, so KTP
 * gets RCU lookups, SO_REUSEADDR/SO_REUSEPORT and TIME_WAIT-aware port
 * allocation that have been proven by TCP. One table serves every netns:
 * each lookup matches the namespace as well as the addresses.
 */
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <linux/siphash.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/checksum.h>
#include <net/inet_common.h>
#include <net/protocol.h>
#include <net/inet_hashtables.h>

#include "protocol.h"
#include "trace.h"

/* Buckets in the established and bind tables; both are powers of two. */
#define KTP_EHASH_SIZE	BIT(14)
#define KTP_BHASH_SIZE	BIT(12)

struct inet_hashinfo ktp_hashinfo;

static siphash_aligned_key_t ktp_isn_secret;

/**
 * ktp_v4_isn - an initial sequence number for a 4-tuple (RFC 6528)
 * @saddr: local address
 * @daddr: remote address
 * @sport: local port
 * @dport: remote port
 *
 * ISN = M + F(4-tuple, secret): F is SipHash keyed with a secret drawn on
 * first use, M a clock ticking every 64 ns, so numbers are unguessable
 * off-path yet still move forward for a reused 4-tuple.
 *
 * Return: the ISN.
 */
u32 ktp_v4_isn(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport)
{
	u32 hash;

	net_get_random_once(&ktp_isn_secret, sizeof(ktp_isn_secret));
	hash = siphash_3u32((__force u32)saddr, (__force u32)daddr,
			    (__force u32)sport << 16 | (__force u32)dport,
			    &ktp_isn_secret);
	return hash + (u32)(ktime_get_real_ns() >> 6);
}

/**
 * ktp_v4_send_check - set up the checksum of an outgoing segment
 * @sk: the socket
 * @skb: the segment, header at the transport header
 *
 * Filled as CHECKSUM_PARTIAL: the device (or skb_checksum_help() for one
 * that cannot) folds in the payload.
 */
void ktp_v4_send_check(struct sock *sk, struct sk_buff *skb)
{
	struct inet_sock *inet = inet_sk(sk);
	struct ktphdr *th = ktp_hdr(skb);

	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct ktphdr, check);
	th->check = ~csum_tcpudp_magic(inet->inet_saddr, inet->inet_daddr,
				       skb->len, ktp_ipproto, 0);
}

/* A route back to the sender of @skb, for segments without a socket. */
static struct dst_entry *ktp_v4_route_reply(struct net *net, struct sock *sk,
					    struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct ktphdr *th = ktp_hdr(skb);
	struct flowi4 fl4 = {
		.flowi4_oif = inet_iif(skb),
		.daddr = iph->saddr,
		.saddr = iph->daddr,
		.flowi4_proto = ktp_ipproto,
		.fl4_sport = th->dest,
		.fl4_dport = th->source,
	};
	struct rtable *rt;

	rt = ip_route_output_flow(net, &fl4, sk);
	if (IS_ERR(rt))
		return NULL;
	return &rt->dst;
}

/* Send a header-only segment in reply to @skb from the netns' control
 * socket: RSTs for unknown connections and ACKs of TIME_WAIT entries.
 */
static void ktp_v4_send_reply(struct net *net, struct sk_buff *rxskb,
			      u32 seq, u32 ack, u8 flags)
{
	struct sock *ctl_sk = ktp_pernet(net)->rst_sk;
	const struct iphdr *rxiph = ip_hdr(rxskb);
	const struct ktphdr *rxth = ktp_hdr(rxskb);
	struct dst_entry *dst;
	struct sk_buff *skb;
	struct ktphdr *th;

	dst = ktp_v4_route_reply(net, ctl_sk, rxskb);
	if (!dst)
		return;
	skb = alloc_skb(KTP_MAX_HEADER, GFP_ATOMIC);
	if (!skb) {
		dst_release(dst);
		return;
	}
	skb_reserve(skb, KTP_MAX_HEADER);
	skb_dst_set(skb, dst);
	ktp_build_header(skb, rxth->dest, rxth->source, seq, ack, flags, 0,
			 NULL);
	th = ktp_hdr(skb);
	th->check = csum_tcpudp_magic(rxiph->daddr, rxiph->saddr, skb->len,
				      ktp_ipproto,
				      csum_partial(th, skb->len, 0));

	local_bh_disable();
	bh_lock_sock(ctl_sk);
	ip_build_and_send_pkt(skb, ctl_sk, rxiph->daddr, rxiph->saddr, NULL, 0);
	bh_unlock_sock(ctl_sk);
	local_bh_enable();
	KTP_INC_STATS(net, KTP_MIB_OUTSEGS);
	if (flags & KTP_FLAG_RST)
		KTP_INC_STATS(net, KTP_MIB_OUTRSTS);
}

/**
 * ktp_v4_send_reset - answer @skb with a RST (RFC 9293 3.10.7.1)
 * @sk: the socket it reached, or NULL
 * @skb: the offending segment; never a RST itself
 *
 * If it carried an ACK: <SEQ=SEG.ACK><CTL=RST>; otherwise
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
void ktp_v4_send_reset(const struct sock *sk, struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct net *net = sk ? sock_net(sk) : dev_net(skb_dst(skb)->dev);

	if (cb->flags & KTP_FLAG_RST)
		return;
	trace_ktp_send_reset(sk, skb);
	if (cb->flags & KTP_FLAG_ACK)
		ktp_v4_send_reply(net, skb, cb->ack_seq, 0, KTP_FLAG_RST);
	else
		ktp_v4_send_reply(net, skb, 0, cb->end_seq,
				  KTP_FLAG_RST | KTP_FLAG_ACK);
}

/**
 * ktp_v4_timewait_ack - re-acknowledge from a TIME_WAIT entry
 * @tw: the entry
 * @skb: the segment that asked for it
 */
void ktp_v4_timewait_ack(struct inet_timewait_sock *tw, struct sk_buff *skb)
{
	struct ktp_timewait_sock *ktw = ktp_twsk((struct sock *)tw);

	ktp_v4_send_reply(twsk_net(tw), skb, ktw->snd_nxt, ktw->rcv_nxt,
			  KTP_FLAG_ACK);
}

/**
 * ktp_v4_reqsk_ack - an unacceptable segment to a request entry gets an
 * ACK of where the handshake stands (RFC 9293 3.10.7.4, first check)
 * @req: the entry
 * @skb: the segment
 */
void ktp_v4_reqsk_ack(struct request_sock *req, struct sk_buff *skb)
{
	struct ktp_request_sock *kreq = ktp_rsk(req);

	ktp_v4_send_reply(read_pnet(&inet_rsk(req)->ireq_net), skb,
			  kreq->snt_isn + 1, kreq->rcv_isn + 1, KTP_FLAG_ACK);
}

static int ktp_v4_send_synack(const struct sock *sk, struct dst_entry *dst,
			      struct request_sock *req)
{
	struct inet_request_sock *ireq = inet_rsk(req);
	struct sk_buff *skb;
	int err;

	skb = ktp_make_synack(sk, dst, req);
	if (!skb)
		return -ENOMEM;
	rcu_read_lock();
	err = ip_build_and_send_pkt(skb, sk, ireq->ir_loc_addr,
				    ireq->ir_rmt_addr,
				    rcu_dereference(ireq->ireq_opt), 0);
	rcu_read_unlock();
	KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTSEGS);
	return net_xmit_eval(err);
}

/* rsk_ops->rtx_syn_ack: the request timer resends the SYN-ACK. */
int ktp_v4_rtx_synack(const struct sock *sk, struct request_sock *req)
{
	struct flowi4 fl4;
	struct dst_entry *dst;
	int err;

	dst = inet_csk_route_req(sk, &fl4, req);
	if (!dst)
		return -EHOSTUNREACH;
	err = ktp_v4_send_synack(sk, dst, req);
	dst_release(dst);
	if (!err)
		KTP_INC_STATS(sock_net(sk), KTP_MIB_RETRANSSEGS);
	return err;
}

static void ktp_v4_init_req(struct request_sock *req, const struct sock *sk,
			    struct sk_buff *skb)
{
	const struct ktphdr *th = ktp_hdr(skb);
	struct inet_request_sock *ireq = inet_rsk(req);
	struct ktp_request_sock *kreq = ktp_rsk(req);
	struct ktp_syn_opts opts;

	sk_rcv_saddr_set(req_to_sk(req), ip_hdr(skb)->daddr);
	sk_daddr_set(req_to_sk(req), ip_hdr(skb)->saddr);
	ireq->ir_rmt_port = th->source;
	ireq->ir_num = ntohs(th->dest);
	ireq->ir_mark = inet_request_mark(sk, skb);
	ireq->ir_iif = inet_request_bound_dev_if(sk, skb);
	kreq->rcv_isn = KTP_SKB_CB(skb)->seq;
	kreq->snt_isn = ktp_v4_isn(ip_hdr(skb)->daddr, ip_hdr(skb)->saddr,
				   th->dest, th->source);
	ktp_parse_opts(skb, &opts);
	kreq->mss = opts.mss ? opts.mss : KTP_MSS_DEFAULT;
	kreq->snd_wscale = opts.wscale;
	kreq->sack_ok = opts.sack_ok;
	kreq->rcv_wscale = opts.wscale >= 0 ? ktp_choose_wscale(sk) : 0;
	req->timeout = KTP_TIMEOUT_INIT;
}

/* LISTEN and a SYN arrives (RFC 9293 3.10.7.2): keep a light request
 * entry in the SYN queue and answer SYN=1 ACK=1 seq=y ack=x+1.
 */
static void ktp_v4_conn_request(struct sock *sk, struct sk_buff *skb)
{
	struct net *net = sock_net(sk);
	struct request_sock *req;
	struct dst_entry *dst;
	struct flowi4 fl4;

	if (inet_csk_reqsk_queue_is_full(sk) || sk_acceptq_is_full(sk)) {
		/* the client retries its SYN */
		KTP_INC_STATS(net, KTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	req = inet_reqsk_alloc(&ktp_request_sock_ops, sk, true);
	if (!req)
		goto drop;
	ktp_v4_init_req(req, sk, skb);
	dst = inet_csk_route_req(sk, &fl4, req);
	if (!dst)
		goto drop_and_free;
	if (!inet_csk_reqsk_queue_hash_add(sk, req, req->timeout)) {
		dst_release(dst);
		goto drop_and_free;
	}
	ktp_trace_state(&req->__req_common, KTP_LISTEN, KTP_SYN_RECV);
	ktp_v4_send_synack(sk, dst, req);
	dst_release(dst);
	reqsk_put(req);
	return;

drop_and_free:
	__reqsk_free(req);
drop:
	KTP_INC_STATS(net, KTP_MIB_LISTENDROPS);
}

/* LISTEN, RFC 9293 3.10.7.2. The caller frees the skb. */
static void ktp_v4_listen_rcv(struct sock *sk, struct sk_buff *skb)
{
	u8 flags = KTP_SKB_CB(skb)->flags;

	if (flags & KTP_FLAG_RST)
		return;
	if (flags & KTP_FLAG_ACK) {
		ktp_v4_send_reset(sk, skb);
		return;
	}
	if (flags & KTP_FLAG_SYN)
		ktp_v4_conn_request(sk, skb);
}

/**
 * ktp_v4_do_rcv - a segment for a full socket, which the caller owns
 * @sk: listener or connection
 * @skb: the segment, header pulled; consumed
 *
 * Also the socket's backlog_rcv, for segments that arrived while a
 * process owned it.
 *
 * Return: 0.
 */
int ktp_v4_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	if (sk->sk_state == KTP_LISTEN) {
		ktp_v4_listen_rcv(sk, skb);
		kfree_skb(skb);
		return 0;
	}
	return ktp_rcv_state_process(sk, skb);
}

/* Malformed segments are dropped and counted, never acted on. */
static bool ktp_v4_segment_ok(struct net *net, struct sk_buff *skb)
{
	const struct ktphdr *th;
	unsigned int hlen;

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
	if (skb_checksum_init(skb, ktp_ipproto, inet_compute_pseudo) ||
	    skb_checksum_complete(skb)) {
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

static void ktp_v4_fill_cb(struct sk_buff *skb)
{
	const struct ktphdr *th = ktp_hdr(skb);
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	unsigned int hlen = th->doff * 4;

	/* IPCB sits where cb->header does: IP options stay readable. */
	cb->seq = ntohl(th->seq);
	cb->end_seq = cb->seq + skb->len - hlen +
		      !!(th->flags & KTP_FLAG_SYN) + !!(th->flags & KTP_FLAG_FIN);
	cb->ack_seq = ntohl(th->ack_seq);
	cb->window = ntohs(th->window);
	cb->flags = th->flags;
	cb->retransmitted = 0;
	__skb_pull(skb, hlen);
}

/* A segment for a request entry: the third ACK, a repeated SYN, a RST. */
static int ktp_v4_rcv_req(struct sock *sk, struct sk_buff *skb, bool *relookup)
{
	struct request_sock *req = inet_reqsk(sk);
	struct sock *listener = req->rsk_listener;
	bool req_stolen = false;
	struct sock *child;

	if (unlikely(listener->sk_state != KTP_LISTEN)) {
		inet_csk_reqsk_queue_drop_and_put(listener, req);
		*relookup = true;
		return 0;
	}
	sock_hold(listener);
	child = ktp_check_req(listener, skb, req, &req_stolen);
	if (!child) {
		reqsk_put(req);
		*relookup = req_stolen;
		sock_put(listener);
		if (!req_stolen)
			kfree_skb(skb);
		return 0;
	}
	/* The lookup's reference on req now belongs to the accept queue. */
	ktp_child_process(listener, child, skb);
	sock_put(listener);
	return 0;
}

/* A segment for a TIME_WAIT entry; may hand a new SYN to a listener. */
static struct sock *ktp_v4_rcv_tw(struct sock *sk, struct sk_buff *skb)
{
	struct inet_timewait_sock *tw = inet_twsk(sk);
	const struct iphdr *iph = ip_hdr(skb);
	const struct ktphdr *th = ktp_hdr(skb);
	struct sock *listener;

	switch (ktp_timewait_state_process(tw, skb)) {
	case KTP_TW_SYN:
		listener = inet_lookup_listener(twsk_net(tw), &ktp_hashinfo,
						skb, th->doff * 4, iph->saddr,
						th->source, iph->daddr,
						th->dest, inet_iif(skb),
						inet_sdif(skb));
		if (listener) {
			KTP_INC_STATS(twsk_net(tw), KTP_MIB_TWKILLED);
			inet_twsk_deschedule_put(tw);
			return listener;
		}
		fallthrough;
	case KTP_TW_ACK:
		ktp_v4_timewait_ack(tw, skb);
		break;
	case KTP_TW_RST:
		ktp_v4_send_reset(NULL, skb);
		inet_twsk_deschedule_put(tw);
		return NULL;
	case KTP_TW_SUCCESS:
		break;
	}
	inet_twsk_put(tw);
	return NULL;
}

/* Hand @skb to a full socket: now, or via its backlog if a process owns
 * it. Consumes @skb.
 */
static void ktp_v4_deliver(struct net *net, struct sock *sk,
			   struct sk_buff *skb)
{
	nf_reset_ct(skb);
	bh_lock_sock_nested(sk);
	if (!sock_owned_by_user(sk)) {
		ktp_v4_do_rcv(sk, skb);
	} else if (sk_add_backlog(sk, skb, KTP_RMEM_LIMIT(sk) +
					   READ_ONCE(sk->sk_sndbuf))) {
		__KTP_INC_STATS(net, KTP_MIB_BACKLOGDROP);
		kfree_skb(skb);
	}
	bh_unlock_sock(sk);
}

static int ktp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	const struct ktphdr *th;
	const struct iphdr *iph;
	bool refcounted, relookup;
	struct sock *sk;

	if (skb->pkt_type != PACKET_HOST)
		goto discard;
	__KTP_INC_STATS(net, KTP_MIB_INSEGS);
	if (!ktp_v4_segment_ok(net, skb))
		goto discard;
	ktp_v4_fill_cb(skb);
	th = ktp_hdr(skb);
	iph = ip_hdr(skb);

lookup:
	sk = __inet_lookup(net, &ktp_hashinfo, skb, th->doff * 4, iph->saddr,
			   th->source, iph->daddr, th->dest, inet_iif(skb),
			   inet_sdif(skb), &refcounted);
	if (!sk)
		goto no_socket;

	if (sk->sk_state == KTP_TIME_WAIT) {
		sk = ktp_v4_rcv_tw(sk, skb);
		if (!sk)
			goto discard;
		refcounted = false;
	} else if (sk->sk_state == TCP_NEW_SYN_RECV) {
		relookup = false;
		ktp_v4_rcv_req(sk, skb, &relookup);
		if (relookup)
			goto lookup;
		return 0;
	}

	ktp_v4_deliver(net, sk, skb);
	if (refcounted)
		sock_put(sk);
	return 0;

no_socket:
	__KTP_INC_STATS(net, KTP_MIB_NOSOCKET);
	ktp_v4_send_reset(NULL, skb);
discard:
	kfree_skb(skb);
	return 0;
}

static int ktp_v4_err(struct sk_buff *skb, u32 info)
{
	return 0;
}

/**
 * ktp_v4_connect - the protocol half of connect(2): route, pick a port,
 * send SYN seq=x and enter SYN_SENT
 * @sk: the socket, owned by the caller
 * @uaddr: a struct sockaddr_in
 * @addr_len: its length
 *
 * Return: 0, or -errno with the socket back in CLOSE.
 */
int ktp_v4_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct sockaddr_in *usin = (struct sockaddr_in *)uaddr;
	struct inet_sock *inet = inet_sk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	__be16 orig_sport, orig_dport;
	struct flowi4 *fl4;
	struct rtable *rt;
	int err;

	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (usin->sin_family != AF_INET)
		return -EAFNOSUPPORT;

	orig_sport = inet->inet_sport;
	orig_dport = usin->sin_port;
	fl4 = &inet->cork.fl.u.ip4;
	rt = ip_route_connect(fl4, usin->sin_addr.s_addr, inet->inet_saddr,
			      sk->sk_bound_dev_if, ktp_ipproto, orig_sport,
			      orig_dport, sk);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	if (rt->rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST)) {
		ip_rt_put(rt);
		return -ENETUNREACH;
	}

	if (!inet->inet_saddr) {
		err = inet_bhash2_update_saddr(sk, &fl4->saddr, AF_INET);
		if (err) {
			ip_rt_put(rt);
			return err;
		}
	} else {
		sk_rcv_saddr_set(sk, inet->inet_saddr);
	}
	inet->inet_dport = usin->sin_port;
	sk_daddr_set(sk, fl4->daddr);
	inet_csk(sk)->icsk_ext_hdr_len = 0;

	/* Pick the port first, so the transition is reported with it.
	 * Segments that find us hashed meanwhile wait in the backlog: the
	 * caller owns the socket until SYN_SENT is set.
	 */
	err = inet_hash_connect(&kn->death_row, sk);
	if (err)
		goto failure;
	ktp_set_state(sk, KTP_SYN_SENT);

	rt = ip_route_newports(fl4, rt, orig_sport, orig_dport,
			       inet->inet_sport, inet->inet_dport, sk);
	if (IS_ERR(rt)) {
		err = PTR_ERR(rt);
		rt = NULL;
		goto failure;
	}
	sk_setup_caps(sk, &rt->dst);
	rt = NULL;
	ktp_init_mss(sk);

	kp->iss = ktp_v4_isn(inet->inet_saddr, inet->inet_daddr,
			     inet->inet_sport, inet->inet_dport);
	kp->rcv_wscale = ktp_choose_wscale(sk);
	kp->snd_wscale = 0;
	atomic_set(&inet->inet_id, get_random_u16());
	err = ktp_connect_send_syn(sk);
	if (err)
		goto failure;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_ACTIVEOPENS);
	return 0;

failure:
	/* unhashes the socket and releases the port */
	ktp_set_state(sk, KTP_CLOSE);
	inet_bhash2_reset_saddr(sk);
	ip_rt_put(rt);
	sk->sk_route_caps = 0;
	inet->inet_dport = 0;
	return err;
}

static const struct net_protocol ktp_v4_protocol = {
	.handler	= ktp_v4_rcv,
	.err_handler	= ktp_v4_err,
	.no_policy	= 1,
};

/**
 * ktp_ipv4_init - start taking IPPROTO_KTP datagrams from IPv4
 *
 * Return: 0, or -EBUSY when another protocol owns the number.
 */
int ktp_ipv4_init(void)
{
	if (inet_add_protocol(&ktp_v4_protocol, ktp_ipproto) < 0) {
		pr_err("IP protocol %d is taken\n", ktp_ipproto);
		return -EBUSY;
	}
	return 0;
}

void ktp_ipv4_exit(void)
{
	inet_del_protocol(&ktp_v4_protocol, ktp_ipproto);
	/* In-flight handlers are RCU readers: wait for them to finish. */
	synchronize_net();
}

static void ktp_bind_tables_free(struct inet_hashinfo *h)
{
	kvfree(h->bhash2);
	kvfree(h->bhash);
	h->bhash2 = NULL;
	h->bhash = NULL;
}

static int ktp_bind_tables_alloc(struct inet_hashinfo *h)
{
	unsigned int i;

	h->bhash_size = KTP_BHASH_SIZE;
	h->bhash = kvmalloc_array(h->bhash_size, sizeof(*h->bhash), GFP_KERNEL);
	h->bhash2 = kvmalloc_array(h->bhash_size, sizeof(*h->bhash2),
				   GFP_KERNEL);
	if (!h->bhash || !h->bhash2) {
		ktp_bind_tables_free(h);
		return -ENOMEM;
	}
	for (i = 0; i < h->bhash_size; i++) {
		spin_lock_init(&h->bhash[i].lock);
		INIT_HLIST_HEAD(&h->bhash[i].chain);
		spin_lock_init(&h->bhash2[i].lock);
		INIT_HLIST_HEAD(&h->bhash2[i].chain);
	}
	return 0;
}

static int ktp_ehash_alloc(struct inet_hashinfo *h)
{
	unsigned int i;

	h->ehash_mask = KTP_EHASH_SIZE - 1;
	h->ehash = kvmalloc_array(KTP_EHASH_SIZE, sizeof(*h->ehash),
				  GFP_KERNEL);
	if (!h->ehash)
		return -ENOMEM;
	for (i = 0; i < KTP_EHASH_SIZE; i++)
		INIT_HLIST_NULLS_HEAD(&h->ehash[i].chain, i);
	return 0;
}

/**
 * ktp_hashinfo_init - allocate the listening, established and bind tables
 *
 * Return: 0 or -ENOMEM.
 */
int ktp_hashinfo_init(void)
{
	struct inet_hashinfo *h = &ktp_hashinfo;
	int err;

	err = inet_hashinfo2_init_mod(h);
	if (err)
		return err;

	err = -ENOMEM;
	h->bind_bucket_cachep =
		kmem_cache_create("ktp_bind_bucket",
				  sizeof(struct inet_bind_bucket), 0,
				  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, NULL);
	if (!h->bind_bucket_cachep)
		goto out_free_lhash2;
	h->bind2_bucket_cachep =
		kmem_cache_create("ktp_bind2_bucket",
				  sizeof(struct inet_bind2_bucket), 0,
				  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, NULL);
	if (!h->bind2_bucket_cachep)
		goto out_destroy_bind_cache;

	err = ktp_ehash_alloc(h);
	if (err)
		goto out_destroy_bind2_cache;
	err = inet_ehash_locks_alloc(h);
	if (err)
		goto out_free_ehash;
	err = ktp_bind_tables_alloc(h);
	if (err)
		goto out_free_ehash_locks;
	h->pernet = false;
	return 0;

out_free_ehash_locks:
	inet_ehash_locks_free(h);
out_free_ehash:
	kvfree(h->ehash);
out_destroy_bind2_cache:
	kmem_cache_destroy(h->bind2_bucket_cachep);
out_destroy_bind_cache:
	kmem_cache_destroy(h->bind_bucket_cachep);
out_free_lhash2:
	inet_hashinfo2_free_mod(h);
	return err;
}

void ktp_hashinfo_exit(void)
{
	struct inet_hashinfo *h = &ktp_hashinfo;

	ktp_bind_tables_free(h);
	inet_ehash_locks_free(h);
	kvfree(h->ehash);
	kmem_cache_destroy(h->bind2_bucket_cachep);
	kmem_cache_destroy(h->bind_bucket_cachep);
	inet_hashinfo2_free_mod(h);
}
