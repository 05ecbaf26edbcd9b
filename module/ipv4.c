// SPDX-License-Identifier: GPL-2.0
/*
 * KTP over IPv4: the protocol handler IP calls for IPPROTO_KTP datagrams,
 * connect(), and the IPv4 side of request entries and new connections.
 * The tables they look up are hash.c's.
 */
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <linux/siphash.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/icmp.h>
#include <net/checksum.h>
#include <net/inet_common.h>
#include <net/protocol.h>
#include <net/inet_hashtables.h>
#include <linux/bpf-cgroup.h>
#include <linux/security.h>

#include "protocol.h"
#include "trace.h"

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

static siphash_aligned_key_t ktp_ts_secret;

/**
 * ktp_v4_ts_off - the offset of our timestamp clock toward a host
 * @saddr: local address
 * @daddr: remote address
 *
 * RFC 7323 5.4 and 7.1: a random offset, so the clock tells an observer
 * neither the uptime nor which connections share a host. It is one per
 * host pair, not per connection, as TCP's: a new connection to the same
 * peer goes on with the clock its TIME_WAIT entry saw, so PAWS there and
 * a SYN cookie's third ACK keep working.
 *
 * Return: the offset.
 */
u32 ktp_v4_ts_off(__be32 saddr, __be32 daddr)
{
	net_get_random_once(&ktp_ts_secret, sizeof(ktp_ts_secret));
	return siphash_2u32((__force u32)saddr, (__force u32)daddr,
			    &ktp_ts_secret);
}

/**
 * ktp_v4_send_check - set up the checksum of an outgoing segment
 * @sk: the socket
 * @skb: the segment, header at the transport header
 *
 * Offloaded (CHECKSUM_PARTIAL) only to a device that checksums any
 * protocol; see ktp_csum_offload().
 */
void ktp_v4_send_check(struct sock *sk, struct sk_buff *skb)
{
	struct inet_sock *inet = inet_sk(sk);
	struct ktphdr *th = ktp_hdr(skb);
	__wsum csum = 0;

	if (!ktp_csum_offload(sk, skb))
		csum = skb_checksum(skb, 0, skb->len, 0);
	th->check = csum_tcpudp_magic(inet->inet_saddr, inet->inet_daddr,
				      skb->len, ktp_ipproto, csum);
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		th->check = ~th->check;
}

/**
 * ktp_v4_send_pkt - put an IPv4 header on a segment and send it
 * @skb: the segment, its route set, at its KTP header
 * @sk: the socket it goes out for: a listener, or the control socket
 * @saddr: source address
 * @daddr: destination address
 *
 * For SYN-ACKs and answers without a connection, as TCP's go through
 * ip_build_and_send_pkt() (not exported by every kernel): no IP options,
 * never fragmented.
 *
 * Return: what ip_local_out() returns.
 */
static int ktp_v4_send_pkt(struct sk_buff *skb, const struct sock *sk,
			   __be32 saddr, __be32 daddr)
{
	struct dst_entry *dst = skb_dst(skb);
	struct net *net = sock_net(sk);
	struct iphdr *iph;
	int ttl;

	skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = READ_ONCE(inet_sk(sk)->tos);
	ttl = READ_ONCE(inet_sk(sk)->uc_ttl);
	iph->ttl = ttl < 0 ? ip4_dst_hoplimit(dst) : ttl;
	iph->frag_off = htons(IP_DF);
	iph->protocol = ktp_ipproto;
	iph->saddr = saddr;
	iph->daddr = daddr;
	ip_select_ident(net, skb, NULL);
	skb->priority = READ_ONCE(sk->sk_priority);
	skb->mark = READ_ONCE(sk->sk_mark);
	skb->protocol = htons(ETH_P_IP);
	/* the socket is only read, as ip_build_and_send_pkt() reads it */
	return ip_local_out(net, (struct sock *)sk, skb);
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

/**
 * ktp_v4_send_reply - a header-only segment in answer to an IPv4 one,
 * from the netns' control socket: RSTs for unknown connections, ACKs of
 * TIME_WAIT and request entries
 * @net: the namespace
 * @rxskb: the segment answered
 * @seq: sequence number
 * @ack: acknowledgment number
 * @flags: KTP_FLAG_*
 * @opts: options to carry (a timestamp), or NULL
 */
void ktp_v4_send_reply(struct net *net, struct sk_buff *rxskb, u32 seq,
		       u32 ack, u8 flags, const struct ktp_syn_opts *opts)
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
			 opts);
	th = ktp_hdr(skb);
	th->check = csum_tcpudp_magic(rxiph->daddr, rxiph->saddr, skb->len,
				      ktp_ipproto,
				      csum_partial(th, skb->len, 0));

	local_bh_disable();
	bh_lock_sock(ctl_sk);
	ktp_v4_send_pkt(skb, ctl_sk, rxiph->daddr, rxiph->saddr);
	bh_unlock_sock(ctl_sk);
	local_bh_enable();
	KTP_INC_STATS(net, KTP_MIB_OUTSEGS);
	if (flags & KTP_FLAG_RST)
		KTP_INC_STATS(net, KTP_MIB_OUTRSTS);
}

/* A route to the client of a request entry, filling @fl4: for its
 * SYN-ACKs, and then for the connection (the child's cork). KTP keeps no
 * IP options of a SYN, so no source route is taken.
 */
static struct dst_entry *ktp_v4_route_flow(const struct sock *sk,
					   const struct ktp_request *req,
					   struct flowi4 *fl4)
{
	const struct sock_common *c = &req->common;
	struct rtable *rt;

	flowi4_init_output(fl4, c->skc_bound_dev_if, req->mark,
			   ktp_rt_tos(sk), RT_SCOPE_UNIVERSE, ktp_ipproto,
			   inet_sk_flowi_flags(sk), c->skc_daddr,
			   c->skc_rcv_saddr, c->skc_dport, htons(c->skc_num),
			   sk->sk_uid);
	rt = ip_route_output_flow(ktp_req_net(req), fl4, sk);
	return IS_ERR(rt) ? NULL : &rt->dst;
}

/* SYN+ACK seq=y ack=x+1 for a request entry; routes it when @dst is
 * NULL.
 */
static int ktp_v4_send_synack(const struct sock *sk, struct dst_entry *dst,
			      struct ktp_request *req)
{
	struct dst_entry *own = NULL;
	struct sk_buff *skb;
	struct flowi4 fl4;
	int err = -ENOMEM;

	if (!dst) {
		dst = ktp_v4_route_flow(sk, req, &fl4);
		if (!dst)
			return -EHOSTUNREACH;
		own = dst;
	}
	skb = ktp_make_synack(sk, dst, req);
	if (skb) {
		err = ktp_v4_send_pkt(skb, sk, req->common.skc_rcv_saddr,
				      req->common.skc_daddr);
		err = net_xmit_eval(err);
		KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTSEGS);
	}
	dst_release(own);
	return err;
}

/**
 * ktp_v4_rtx_synack - send a request entry's SYN-ACK again
 * @sk: the listener
 * @req: the entry
 *
 * Return: 0 or -errno.
 */
int ktp_v4_rtx_synack(const struct sock *sk, struct ktp_request *req)
{
	int err = ktp_v4_send_synack(sk, NULL, req);

	if (!err)
		KTP_INC_STATS(sock_net(sk), KTP_MIB_RETRANSSEGS);
	return err;
}

static void ktp_v4_init_req(struct ktp_request *req, const struct sock *sk,
			    struct sk_buff *skb)
{
	const struct ktphdr *th = ktp_hdr(skb);

	req->common.skc_rcv_saddr = ip_hdr(skb)->daddr;
	req->common.skc_daddr = ip_hdr(skb)->saddr;
	req->common.skc_bound_dev_if = inet_request_bound_dev_if(sk, skb);
	ktp_init_req(req, sk, skb, ktp_v4_isn(ip_hdr(skb)->daddr,
					      ip_hdr(skb)->saddr,
					      th->dest, th->source),
		     ktp_v4_ts_off(ip_hdr(skb)->daddr, ip_hdr(skb)->saddr));
}

static struct dst_entry *ktp_v4_route_req(const struct sock *sk,
					  struct ktp_request *req)
{
	struct flowi4 fl4;

	return ktp_v4_route_flow(sk, req, &fl4);
}

const struct ktp_request_af_ops ktp_v4_request_af = {
	.init_req	= ktp_v4_init_req,
	.route_req	= ktp_v4_route_req,
	.send_synack	= ktp_v4_send_synack,
};

/**
 * ktp_v4_conn_request - LISTEN and a SYN arrives over IPv4
 * @sk: the listener, IPv4 or IPv6 (then IPv4-mapped)
 * @skb: the SYN
 *
 * Return: 0, as ktp_conn_request().
 */
int ktp_v4_conn_request(struct sock *sk, struct sk_buff *skb)
{
	return ktp_conn_request(&ktp_v4_request_af, sk, skb);
}

/**
 * ktp_v4_lookup_listener - the listener a SYN to @skb's destination finds
 * @net: the namespace it arrived in
 * @skb: the segment, header pulled
 *
 * Return: the listener (not refcounted: RCU) or NULL.
 */
struct sock *ktp_v4_lookup_listener(struct net *net, struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct ktphdr *th = ktp_hdr(skb);

	return ktp_lookup_listener4(net, skb, th->doff * 4, iph->saddr,
				    th->source, iph->daddr, ntohs(th->dest),
				    inet_iif(skb), inet_sdif(skb));
}

static int ktp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	const struct ktphdr *th;
	const struct iphdr *iph;
	bool refcounted;
	struct sock *sk;

	if (!ktp_rcv_prepare(net, skb))
		return 0;
	th = ktp_hdr(skb);
	iph = ip_hdr(skb);
	do {
		refcounted = true;
		sk = ktp_lookup_established4(net, iph->saddr, th->source,
					     iph->daddr, ntohs(th->dest),
					     inet_iif(skb), inet_sdif(skb));
		if (!sk) {
			refcounted = false;
			sk = ktp_v4_lookup_listener(net, skb);
		}
	} while (ktp_rcv_found(net, sk, skb, refcounted));
	return 0;
}

/**
 * ktp_v4_err - IP's error handler: an ICMP error quoting a KTP segment
 * @skb: the ICMP message, at the IP header it quotes, which IP checked,
 *	with the 8 bytes after it (ports and sequence number) pulled
 * @info: for fragmentation needed, the next hop's MTU
 *
 * Return: 0, or -ENOENT when no connection sent the quoted segment.
 */
static int ktp_v4_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct ktphdr *th = (const void *)skb->data + (iph->ihl << 2);
	struct ktp_icmp_msg msg = { .seq = ntohl(th->seq) };
	int type = icmp_hdr(skb)->type, code = icmp_hdr(skb)->code;
	struct net *net = dev_net(skb->dev);
	struct sock *sk;

	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH)
			return 0;
		if (code == ICMP_FRAG_NEEDED) {
			msg.mtu = info;
			break;
		}
		/* A host without KTP answers protocol unreachable, where
		 * TCP would meet port unreachable: the same refusal.
		 */
		msg.err = code == ICMP_PROT_UNREACH ? ECONNREFUSED :
			  icmp_err_convert[code].errno;
		msg.fatal = icmp_err_convert[code].fatal;
		break;
	case ICMP_PARAMETERPROB:
		msg.err = EPROTO;
		msg.fatal = true;
		break;
	case ICMP_TIME_EXCEEDED:
		msg.err = EHOSTUNREACH;
		break;
	default:
		/* source quench (RFC 6633), redirects, anything else */
		return 0;
	}
	sk = ktp_lookup_established4(net, iph->daddr, th->dest, iph->saddr,
				     ntohs(th->source), inet_iif(skb), 0);
	if (!sk)
		return -ENOENT;
	ktp_icmp_rcv(sk, &msg);
	return 0;
}

/* A route for a connected socket, as ip_queue_xmit() finds one, stored
 * in the socket; NULL if there is none.
 */
static struct dst_entry *ktp_v4_route_socket(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct flowi4 *fl4 = &inet->cork.fl.u.ip4;
	const struct ip_options_rcu *opt;
	__be32 daddr = inet->inet_daddr;
	struct rtable *rt;

	rcu_read_lock();
	opt = rcu_dereference(inet->inet_opt);
	if (opt && opt->opt.srr)
		daddr = opt->opt.faddr;
	flowi4_init_output(fl4, sk->sk_bound_dev_if, READ_ONCE(sk->sk_mark),
			   ktp_rt_tos(sk), RT_SCOPE_UNIVERSE, ktp_ipproto,
			   inet_sk_flowi_flags(sk), daddr, inet->inet_saddr,
			   inet->inet_dport, inet->inet_sport, sk->sk_uid);
	rt = ip_route_output_flow(sock_net(sk), fl4, sk);
	rcu_read_unlock();
	if (IS_ERR(rt)) {
		sk->sk_route_caps = 0;
		return NULL;
	}
	sk_setup_caps(sk, &rt->dst);
	return &rt->dst;
}

/**
 * ktp_v4_mtu_reduced - icsk_af_ops->mtu_reduced of IPv4 and mapped
 * sockets: a path MTU message (ktp_icmp_rcv()) left mtu_info; the route
 * learns it, and the MSS follows the route
 * @sk: the socket, owned by the caller
 */
void ktp_v4_mtu_reduced(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct dst_entry *dst;
	u32 mtu;

	if ((1 << sk->sk_state) & (KTPF_LISTEN | KTPF_CLOSE))
		return;
	mtu = READ_ONCE(ktp_sk(sk)->mtu_info);
	dst = __sk_dst_check(sk, 0) ? : ktp_v4_route_socket(sk);
	if (!dst)
		return;
	dst->ops->update_pmtu(dst, sk, NULL, mtu, true);
	/* the route the update made, if it made a new one */
	dst = __sk_dst_check(sk, 0) ? : ktp_v4_route_socket(sk);
	if (!dst)
		return;
	/* below what the route may go (net.ipv4.route.min_pmtu): sent
	 * without DF from now on, and said so if that cannot be
	 */
	if (mtu < dst_mtu(dst) && ip_dont_fragment(sk, dst))
		WRITE_ONCE(sk->sk_err_soft, EMSGSIZE);
	if (inet->pmtudisc != IP_PMTUDISC_DONT && ip_sk_accept_pmtu(sk))
		ktp_pmtu_lowered(sk, dst_mtu(dst));
}

/**
 * ktp_v4_pre_connect - cgroup connect programs see connect() first, as
 * they see TCP's (BPF_CGROUP_INET4_CONNECT)
 * @sk: the socket, owned by the caller
 * @uaddr: a struct sockaddr_in, which the program may rewrite
 * @addr_len: its length
 *
 * Return: 0, or the program's -errno (-EPERM when it refuses).
 */
int ktp_v4_pre_connect(struct sock *sk, struct ktp_uaddr *uaddr, int addr_len)
{
	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	sock_owned_by_me(sk);
	return ktp_bpf_connect4(sk, (struct sockaddr *)uaddr, &addr_len);
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
int ktp_v4_connect(struct sock *sk, struct ktp_uaddr *uaddr, int addr_len)
{
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

	if (!inet->inet_saddr)
		inet->inet_saddr = fl4->saddr;
	sk_rcv_saddr_set(sk, inet->inet_saddr);
	inet->inet_dport = usin->sin_port;
	sk_daddr_set(sk, fl4->daddr);
	inet_csk(sk)->icsk_ext_hdr_len = 0;

	/* Pick the port first, so the transition is reported with it.
	 * Segments that find us hashed meanwhile wait in the backlog: the
	 * caller owns the socket until SYN_SENT is set.
	 */
	err = ktp_hash_connect(sk);
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
	kp->ts_off = ktp_v4_ts_off(inet->inet_saddr, inet->inet_daddr);
	ktp_init_syn_opts(sk);
	atomic_set(&inet->inet_id, get_random_u16());
	err = ktp_connect_send_syn(sk);
	if (err)
		goto failure;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_ACTIVEOPENS);
	return 0;

failure:
	/* unhashes the socket and releases the port */
	ktp_set_state(sk, KTP_CLOSE);
	ktp_reset_saddr(sk);
	ip_rt_put(rt);
	sk->sk_route_caps = 0;
	inet->inet_dport = 0;
	return err;
}

/**
 * ktp_v4_syn_recv_sock - the third ACK is good: make the full socket
 * @sk: the listener, IPv4 or IPv6 (then the caller fixes up the rest)
 * @skb: the third ACK
 * @req: the request entry
 * @opt_child_init: the IPv6 listener's set-up of a mapped child, run
 *	before anything can fail, or NULL
 *
 * The caller gives it the listener's port and the request's place in
 * the tables (ktp_check_req()).
 *
 * Return: the new socket, bh-locked, in SYN_RECV, or NULL.
 */
struct sock *ktp_v4_syn_recv_sock(const struct sock *sk, struct sk_buff *skb,
				  struct ktp_request *req,
				  void (*opt_child_init)(struct sock *newsk,
							 const struct sock *sk))
{
	struct inet_sock *newinet;
	struct dst_entry *dst;
	struct sock *newsk;

	if (sk_acceptq_is_full(sk)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENOVERFLOWS);
		goto out;
	}
	newsk = ktp_clone_child(sk, req);
	if (!newsk)
		goto out;
	/* First: the copied algorithm pointer needs its own reference,
	 * the copied timers their own set-up (a failed child stops
	 * them), and a child of an IPv6 listener its own ipv6_pinfo,
	 * which the destructor of a failed child would otherwise free
	 * for the listener.
	 */
	ktp_inherit_congestion_control(newsk);
	ktp_init_xmit_timers(newsk);
	if (opt_child_init)
		opt_child_init(newsk, sk);

	newinet = inet_sk(newsk);
	sk_daddr_set(newsk, req->common.skc_daddr);
	sk_rcv_saddr_set(newsk, req->common.skc_rcv_saddr);
	newsk->sk_bound_dev_if = req->common.skc_bound_dev_if;
	newinet->inet_saddr = req->common.skc_rcv_saddr;
	RCU_INIT_POINTER(newinet->inet_opt, NULL);
	newinet->mc_index = inet_iif(skb);
	newinet->mc_ttl = ip_hdr(skb)->ttl;
	newinet->rcv_tos = ip_hdr(skb)->tos;
	inet_csk(newsk)->icsk_ext_hdr_len = 0;
	atomic_set(&newinet->inet_id, get_random_u16());

	dst = ktp_v4_route_flow(sk, req, &newinet->cork.fl.u.ip4);
	if (!dst)
		goto put_and_exit;
	sk_setup_caps(newsk, dst);
	ktp_init_child(newsk, req, skb);
	return newsk;

put_and_exit:
	ktp_prepare_forced_close(newsk);
	ktp_done(newsk);
out:
	KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENDROPS);
	return NULL;
}

/**
 * ktp_reset_saddr - forget the source address connect() chose
 * @sk: the socket, back in CLOSE
 *
 * One that bind() set stays.
 */
void ktp_reset_saddr(struct sock *sk)
{
	if (sk->sk_userlocks & SOCK_BINDADDR_LOCK)
		return;
	inet_sk(sk)->inet_saddr = 0;
	sk->sk_rcv_saddr = 0;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memset(&inet6_sk(sk)->saddr, 0, sizeof(struct in6_addr));
		memset(&sk->sk_v6_rcv_saddr, 0, sizeof(struct in6_addr));
	}
#endif
}

/* What the connection-socket layer and KTP's common code call through
 * icsk_af_ops for an IPv4 socket.
 */
const struct inet_connection_sock_af_ops ktp_ipv4_specific = {
	.queue_xmit	= ip_queue_xmit,
	.conn_request	= ktp_v4_conn_request,
	.mtu_reduced	= ktp_v4_mtu_reduced,
	.net_header_len	= sizeof(struct iphdr),
	.setsockopt	= ip_setsockopt,
	.getsockopt	= ip_getsockopt,
};

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
