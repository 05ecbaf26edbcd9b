// SPDX-License-Identifier: GPL-2.0
/*
 * KTP over IPv6: KTPPROTO_KTP6 sockets with struct sockaddr_in6, the
 * protocol handler IPv6 calls for IPPROTO_KTP datagrams, the IPv6
 * pseudo-header checksum, link-local peers with a scope id, and IPv4-mapped
 * addresses (::ffff:a.b.c.d) on IPv6 sockets unless IPV6_V6ONLY, which run
 * over IPv4 with ktp_ipv6_mapped as their af_ops, as TCP's do.
 *
 * The tables are hash.c's, one set per namespace for both families; the
 * lookups here match IPv6 4-tuples. An IPv4 segment for an IPv6 socket
 * comes in through ipv4.c, whose lookups find IPv4-mapped sockets.
 *
 * Lock rules are the IPv4 side's: the protocol handler runs in softirq
 * under RCU and defers to the socket backlog while a process owns the
 * socket; connect() runs with the socket owned.
 */
#include <linux/module.h>
#include <linux/siphash.h>
#include <net/addrconf.h>
#include <net/inet6_connection_sock.h>
#include <net/inet6_hashtables.h>
#include <net/inet_common.h>
#include <net/ip6_checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include <net/protocol.h>
#include <net/transp_v6.h>
#include <linux/bpf-cgroup.h>
#include <linux/security.h>

#include "protocol.h"
#include "trace.h"

struct proto ktpv6_prot;

static const struct inet_connection_sock_af_ops ktp_ipv6_specific;
static const struct inet_connection_sock_af_ops ktp_ipv6_mapped;

static siphash_aligned_key_t ktp_isn6_secret;

/* RFC 6528 for IPv6 4-tuples: as ktp_v4_isn(), over the wider tuple. */
static u32 ktp_v6_isn(const struct in6_addr *saddr,
		      const struct in6_addr *daddr, __be16 sport, __be16 dport)
{
	const struct {
		struct in6_addr saddr;
		struct in6_addr daddr;
		__be16 sport;
		__be16 dport;
	} __aligned(SIPHASH_ALIGNMENT) tuple = {
		.saddr = *saddr,
		.daddr = *daddr,
		.sport = sport,
		.dport = dport,
	};
	u32 hash;

	net_get_random_once(&ktp_isn6_secret, sizeof(ktp_isn6_secret));
	hash = siphash(&tuple, offsetofend(typeof(tuple), dport),
		       &ktp_isn6_secret);
	return hash + (u32)(ktime_get_real_ns() >> 6);
}

static siphash_aligned_key_t ktp_ts6_secret;

/**
 * ktp_v6_ts_off - ktp_v4_ts_off() for a pair of IPv6 hosts
 * @saddr: local address
 * @daddr: remote address
 *
 * Return: the offset.
 */
u32 ktp_v6_ts_off(const struct in6_addr *saddr, const struct in6_addr *daddr)
{
	const struct {
		struct in6_addr saddr;
		struct in6_addr daddr;
	} __aligned(SIPHASH_ALIGNMENT) pair = {
		.saddr = *saddr,
		.daddr = *daddr,
	};

	net_get_random_once(&ktp_ts6_secret, sizeof(ktp_ts6_secret));
	return siphash(&pair, sizeof(pair), &ktp_ts6_secret);
}

/* The checksum over the IPv6 pseudo-header (RFC 8200 8.1) and the
 * segment, offloaded only as ktp_v4_send_check() does.
 */
void ktp_v6_send_check(struct sock *sk, struct sk_buff *skb)
{
	struct ktphdr *th = ktp_hdr(skb);
	__wsum csum = 0;

	if (!ktp_csum_offload(sk, skb))
		csum = skb_checksum(skb, 0, skb->len, 0);
	th->check = csum_ipv6_magic(&inet6_sk(sk)->saddr, &sk->sk_v6_daddr,
				    skb->len, ktp_ipproto, csum);
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		th->check = ~th->check;
}

/**
 * ktp_v6_send_reply - ktp_v4_send_reply() for an IPv6 segment, from the
 * netns' IPv6 control socket
 * @net: the namespace
 * @rxskb: the segment answered
 * @seq: sequence number
 * @ack: acknowledgment number
 * @flags: KTP_FLAG_*
 * @opts: options to carry (a timestamp), or NULL
 */
void ktp_v6_send_reply(struct net *net, struct sk_buff *rxskb, u32 seq,
		       u32 ack, u8 flags, const struct ktp_syn_opts *opts)
{
	struct sock *ctl_sk = ktp_pernet(net)->rst_sk6;
	const struct ipv6hdr *rxip6h = ipv6_hdr(rxskb);
	const struct ktphdr *rxth = ktp_hdr(rxskb);
	struct dst_entry *dst;
	struct sk_buff *skb;
	struct flowi6 fl6;
	struct ktphdr *th;

	memset(&fl6, 0, sizeof(fl6));
	fl6.daddr = rxip6h->saddr;
	fl6.saddr = rxip6h->daddr;
	fl6.flowi6_proto = ktp_ipproto;
	fl6.fl6_sport = rxth->dest;
	fl6.fl6_dport = rxth->source;
	/* a link-local peer is reached through the interface it used */
	if (rt6_need_strict(&fl6.daddr))
		fl6.flowi6_oif = inet6_iif(rxskb);
	fl6.flowi6_uid = sock_net_uid(net, NULL);
	dst = ip6_dst_lookup_flow(net, ctl_sk, &fl6, NULL);
	if (IS_ERR(dst))
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
	th->check = csum_ipv6_magic(&fl6.saddr, &fl6.daddr, skb->len,
				    ktp_ipproto, csum_partial(th, skb->len, 0));
	ip6_xmit(ctl_sk, skb, &fl6, 0, NULL, 0, 0);
	KTP_INC_STATS(net, KTP_MIB_OUTSEGS);
	if (flags & KTP_FLAG_RST)
		KTP_INC_STATS(net, KTP_MIB_OUTRSTS);
}

/* A route to the client of an IPv6 request entry, filling @fl6, through
 * the listener's routing header if it has one.
 */
static struct dst_entry *ktp_v6_route_flow(const struct sock *sk,
					   const struct ktp_request *req,
					   struct flowi6 *fl6)
{
	const struct sock_common *c = &req->common;
	const struct ipv6_pinfo *np = inet6_sk(sk);
	struct in6_addr *final_p, final;
	struct dst_entry *dst;

	memset(fl6, 0, sizeof(*fl6));
	fl6->flowi6_proto = ktp_ipproto;
	fl6->daddr = c->skc_v6_daddr;
	rcu_read_lock();
	final_p = fl6_update_dst(fl6, rcu_dereference(np->opt), &final);
	rcu_read_unlock();
	fl6->saddr = c->skc_v6_rcv_saddr;
	fl6->flowi6_oif = c->skc_bound_dev_if;
	fl6->flowi6_mark = req->mark;
	fl6->fl6_dport = c->skc_dport;
	fl6->fl6_sport = htons(c->skc_num);
	fl6->flowi6_uid = sk->sk_uid;
	dst = ip6_dst_lookup_flow(sock_net(sk), sk, fl6, final_p);
	return IS_ERR(dst) ? NULL : dst;
}

/* SYN+ACK seq=y ack=x+1 for an IPv6 request entry; routes it when @dst
 * is NULL.
 */
static int ktp_v6_send_synack(const struct sock *sk, struct dst_entry *dst,
			      struct ktp_request *req)
{
	const struct sock_common *c = &req->common;
	const struct ipv6_pinfo *np = inet6_sk(sk);
	struct dst_entry *own = NULL;
	struct sk_buff *skb;
	struct flowi6 fl6;
	int err;

	if (!dst) {
		dst = ktp_v6_route_flow(sk, req, &fl6);
		if (!dst)
			return -EHOSTUNREACH;
		own = dst;
	}
	memset(&fl6, 0, sizeof(fl6));
	fl6.flowi6_proto = ktp_ipproto;
	fl6.daddr = c->skc_v6_daddr;
	fl6.saddr = c->skc_v6_rcv_saddr;
	fl6.flowi6_oif = c->skc_bound_dev_if;
	fl6.flowi6_mark = req->mark;
	fl6.fl6_dport = c->skc_dport;
	fl6.fl6_sport = htons(c->skc_num);

	err = -ENOMEM;
	skb = ktp_make_synack(sk, dst, req);
	if (skb) {
		rcu_read_lock();
		err = ip6_xmit(sk, skb, &fl6, sk->sk_mark,
			       rcu_dereference(np->opt), np->tclass,
			       sk->sk_priority);
		rcu_read_unlock();
		err = net_xmit_eval(err);
		KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTSEGS);
	}
	dst_release(own);
	return err;
}

/**
 * ktp_v6_rtx_synack - send an IPv6 request entry's SYN-ACK again
 * @sk: the listener
 * @req: the request entry
 *
 * Return: 0 or -errno.
 */
int ktp_v6_rtx_synack(const struct sock *sk, struct ktp_request *req)
{
	int err = ktp_v6_send_synack(sk, NULL, req);

	if (!err)
		KTP_INC_STATS(sock_net(sk), KTP_MIB_RETRANSSEGS);
	return err;
}

static void ktp_v6_init_req(struct ktp_request *req, const struct sock *sk,
			    struct sk_buff *skb)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	const struct ktphdr *th = ktp_hdr(skb);
	struct sock_common *c = &req->common;

	c->skc_v6_daddr = ip6h->saddr;
	c->skc_v6_rcv_saddr = ip6h->daddr;
	/* the IPv4 fields match nothing IPv4, as a connected socket's */
	c->skc_daddr = LOOPBACK4_IPV6;
	c->skc_rcv_saddr = LOOPBACK4_IPV6;
	c->skc_bound_dev_if = READ_ONCE(sk->sk_bound_dev_if);
	/* a link-local client is only reachable where it came from */
	if (!c->skc_bound_dev_if &&
	    ipv6_addr_type(&c->skc_v6_daddr) & IPV6_ADDR_LINKLOCAL)
		c->skc_bound_dev_if = inet6_iif(skb);
	ktp_init_req(req, sk, skb, ktp_v6_isn(&ip6h->daddr, &ip6h->saddr,
					      th->dest, th->source),
		     ktp_v6_ts_off(&ip6h->daddr, &ip6h->saddr));
}

static struct dst_entry *ktp_v6_route_req(const struct sock *sk,
					  struct ktp_request *req)
{
	struct flowi6 fl6;

	return ktp_v6_route_flow(sk, req, &fl6);
}

const struct ktp_request_af_ops ktp_v6_request_af = {
	.init_req	= ktp_v6_init_req,
	.route_req	= ktp_v6_route_req,
	.send_synack	= ktp_v6_send_synack,
};

/* LISTEN and a SYN arrives, IPv6 or (to an IPv6 listener) IPv4. */
static int ktp_v6_conn_request(struct sock *sk, struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		return ktp_v4_conn_request(sk, skb);
	/* a SYN from a v4-mapped source is a forgery: drop it, as TCP */
	if (!ipv6_unicast_destination(skb) ||
	    ipv6_addr_v4mapped(&ipv6_hdr(skb)->saddr)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENDROPS);
		return 0;
	}
	return ktp_conn_request(&ktp_v6_request_af, sk, skb);
}

/* Give a child that ktp_clone_child() copied from an IPv6 listener
 * its own ipv6_pinfo: the copy still points at the listener's.
 */
static struct ipv6_pinfo *ktp_v6_own_pinfo(struct sock *newsk,
					   const struct sock *sk)
{
	struct ipv6_pinfo *newnp = &((struct ktp6_sock *)newsk)->inet6;

	inet_sk(newsk)->pinet6 = newnp;
	memcpy(newnp, inet6_sk(sk), sizeof(*newnp));
	/* nothing of the listener's lists or options is the child's */
	newnp->ipv6_mc_list = NULL;
	newnp->ipv6_ac_list = NULL;
	ktp_inet6_clear_fl_list(newsk, newnp);
	newnp->pktoptions = NULL;
	newnp->rxpmtu = NULL;
	RCU_INIT_POINTER(newnp->opt, NULL);
	return newnp;
}

/* The mapped child's ipv6_pinfo, set right after the clone. */
static void ktp_v6_mapped_child_init(struct sock *newsk,
				     const struct sock *sk)
{
	ktp_v6_own_pinfo(newsk, sk);
}

/**
 * ktp_v6_syn_recv_sock - the third ACK to an IPv6 listener: make the
 * full socket, IPv6 or, for an IPv4 client, IPv4-mapped
 * @sk: the listener
 * @skb: the third ACK
 * @req: the request entry
 *
 * Return: the new socket, bh-locked, in SYN_RECV, or NULL.
 */
struct sock *ktp_v6_syn_recv_sock(const struct sock *sk, struct sk_buff *skb,
				  struct ktp_request *req)
{
	const struct sock_common *c = &req->common;
	struct ipv6_pinfo *newnp;
	struct inet_sock *newinet;
	struct dst_entry *dst;
	struct sock *newsk;
	struct flowi6 fl6;

	if (skb->protocol == htons(ETH_P_IP)) {
		newsk = ktp_v4_syn_recv_sock(sk, skb, req,
					     ktp_v6_mapped_child_init);
		if (!newsk)
			return NULL;
		newnp = inet6_sk(newsk);
		newnp->saddr = newsk->sk_v6_rcv_saddr;
		newnp->mcast_oif = inet_iif(skb);
		newnp->mcast_hops = ip_hdr(skb)->ttl;
		inet_csk(newsk)->icsk_af_ops = &ktp_ipv6_mapped;
		/* the MSS was computed with the IPv6 header: again */
		ktp_init_mss(newsk);
		ktp_resync_mss(newsk);
		return newsk;
	}

	if (sk_acceptq_is_full(sk)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENOVERFLOWS);
		goto out;
	}
	dst = ktp_v6_route_flow(sk, req, &fl6);
	if (!dst)
		goto out;
	newsk = ktp_clone_child(sk, req);
	if (!newsk) {
		dst_release(dst);
		goto out;
	}
	ktp_inherit_congestion_control(newsk);
	ktp_init_xmit_timers(newsk);
	newnp = ktp_v6_own_pinfo(newsk, sk);
	/* the flow its route was found with, as connect() leaves it */
	inet_sk(newsk)->cork.fl.u.ip6 = fl6;

	ip6_dst_store(newsk, dst, NULL, NULL);
	newsk->sk_v6_daddr = c->skc_v6_daddr;
	newnp->saddr = c->skc_v6_rcv_saddr;
	newsk->sk_v6_rcv_saddr = c->skc_v6_rcv_saddr;
	newsk->sk_bound_dev_if = c->skc_bound_dev_if;
	newnp->mcast_oif = inet6_iif(skb);
	newnp->mcast_hops = ipv6_hdr(skb)->hop_limit;

	newinet = inet_sk(newsk);
	RCU_INIT_POINTER(newinet->inet_opt, NULL);
	newinet->inet_daddr = LOOPBACK4_IPV6;
	newinet->inet_saddr = LOOPBACK4_IPV6;
	newinet->inet_rcv_saddr = LOOPBACK4_IPV6;
	inet_csk(newsk)->icsk_ext_hdr_len = 0;
	ktp_init_child(newsk, req, skb);
	return newsk;

out:
	KTP_INC_STATS(sock_net(sk), KTP_MIB_LISTENDROPS);
	return NULL;
}

/**
 * ktp_v6_lookup_listener - the listener a SYN to @skb's destination finds
 * @net: the namespace it arrived in
 * @skb: an IPv6 segment, header pulled
 *
 * Return: the listener (not refcounted: RCU) or NULL.
 */
struct sock *ktp_v6_lookup_listener(struct net *net, struct sk_buff *skb)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	const struct ktphdr *th = ktp_hdr(skb);

	return ktp_lookup_listener6(net, skb, th->doff * 4, &ip6h->saddr,
				    th->source, &ip6h->daddr, ntohs(th->dest),
				    inet6_iif(skb), inet6_sdif(skb));
}

static int ktp_v6_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	const struct ipv6hdr *ip6h;
	const struct ktphdr *th;
	bool refcounted;
	struct sock *sk;

	if (!ktp_rcv_prepare(net, skb))
		return 0;
	th = ktp_hdr(skb);
	ip6h = ipv6_hdr(skb);
	do {
		refcounted = true;
		sk = ktp_lookup_established6(net, &ip6h->saddr, th->source,
					     &ip6h->daddr, ntohs(th->dest),
					     inet6_iif(skb), inet6_sdif(skb));
		if (!sk) {
			refcounted = false;
			sk = ktp_v6_lookup_listener(net, skb);
		}
	} while (ktp_rcv_found(net, sk, skb, refcounted));
	return 0;
}

/**
 * ktp_v6_err - IPv6's error handler: an ICMPv6 error quoting a KTP segment
 * @skb: the ICMPv6 message, at the IPv6 header it quotes
 * @opt: unused
 * @type: the ICMPv6 type
 * @code: its code
 * @offset: where the quoted KTP header starts in @skb, its first 8 bytes
 *	(ports and sequence number) pulled
 * @info: for packet too big, the MTU
 *
 * Return: 0, or -ENOENT when no connection sent the quoted segment.
 */
static int ktp_v6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
		      u8 type, u8 code, int offset, __be32 info)
{
	const struct ipv6hdr *hdr = (const struct ipv6hdr *)skb->data;
	const struct ktphdr *th = (const void *)skb->data + offset;
	struct ktp_icmp_msg msg = { .seq = ntohl(th->seq) };
	struct net *net = dev_net(skb->dev);
	struct sock *sk;

	if (type == NDISC_REDIRECT)
		return 0;
	if (type == ICMPV6_PKT_TOOBIG) {
		msg.mtu = ntohl(info);
		/* IPv6 links carry 1280 bytes (RFC 8200 5) */
		if (msg.mtu < IPV6_MIN_MTU)
			return 0;
	} else {
		msg.fatal = icmpv6_err_convert(type, code, &msg.err);
		/* a host without KTP: unrecognized next header (RFC 8200
		 * 4), which TCP would meet as port unreachable
		 */
		if (type == ICMPV6_PARAMPROB && code == ICMPV6_UNK_NEXTHDR)
			msg.err = ECONNREFUSED;
	}
	sk = ktp_lookup_established6(net, &hdr->daddr, th->dest, &hdr->saddr,
				     ntohs(th->source), skb->dev->ifindex,
				     inet6_sdif(skb));
	if (!sk)
		return -ENOENT;
	ktp_icmp_rcv(sk, &msg);
	return 0;
}

/* A route for a connected IPv6 socket, looked up afresh and stored in
 * the socket; NULL if there is none.
 */
static struct dst_entry *ktp_v6_route_socket(struct sock *sk)
{
	struct ipv6_pinfo *np = inet6_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct in6_addr *final_p, final;
	struct dst_entry *dst;
	struct flowi6 fl6;

	memset(&fl6, 0, sizeof(fl6));
	fl6.flowi6_proto = ktp_ipproto;
	fl6.daddr = sk->sk_v6_daddr;
	fl6.saddr = np->saddr;
	fl6.flowi6_oif = sk->sk_bound_dev_if;
	fl6.flowi6_mark = READ_ONCE(sk->sk_mark);
	fl6.fl6_dport = inet->inet_dport;
	fl6.fl6_sport = inet->inet_sport;
	fl6.flowi6_uid = sk->sk_uid;
	rcu_read_lock();
	final_p = fl6_update_dst(&fl6, rcu_dereference(np->opt), &final);
	rcu_read_unlock();
	dst = ip6_dst_lookup_flow(sock_net(sk), sk, &fl6, final_p);
	if (IS_ERR(dst)) {
		sk->sk_route_caps = 0;
		return NULL;
	}
	ip6_dst_store(sk, dst, NULL, NULL);
	return dst;
}

/* icsk_af_ops->mtu_reduced of an IPv6 socket: as ktp_v4_mtu_reduced(). */
static void ktp_v6_mtu_reduced(struct sock *sk)
{
	struct dst_entry *dst;
	u32 mtu;

	/* IPV6_MTU_DISCOVER: interface or omit ignores path MTU news */
	if ((1 << sk->sk_state) & (KTPF_LISTEN | KTPF_CLOSE) ||
	    !ip6_sk_accept_pmtu(sk))
		return;
	mtu = READ_ONCE(ktp_sk(sk)->mtu_info);
	dst = ktp_v6_route_socket(sk);
	if (!dst)
		return;
	dst->ops->update_pmtu(dst, sk, NULL, mtu, true);
	/* the exception route the update made */
	dst = ktp_v6_route_socket(sk);
	if (dst)
		ktp_pmtu_lowered(sk, dst_mtu(dst));
}

/* cgroup connect programs, as tcp_v6_pre_connect() runs them: the
 * IPv6 ones, for a mapped peer too.
 */
static int ktp_v6_pre_connect(struct sock *sk, struct ktp_uaddr *uaddr,
			      int addr_len)
{
	if (addr_len < SIN6_LEN_RFC2133)
		return -EINVAL;
	sock_owned_by_me(sk);
	return ktp_bpf_connect6(sk, (struct sockaddr *)uaddr, &addr_len);
}

/* connect() to an IPv4-mapped address: the socket runs over IPv4. */
static int ktp_v6_connect_mapped(struct sock *sk,
				 const struct sockaddr_in6 *usin)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ipv6_pinfo *np = inet6_sk(sk);
	struct sockaddr_in sin;
	int err;

	if (ipv6_only_sock(sk))
		return -ENETUNREACH;
	sin.sin_family = AF_INET;
	sin.sin_port = usin->sin6_port;
	sin.sin_addr.s_addr = usin->sin6_addr.s6_addr32[3];

	icsk->icsk_af_ops = &ktp_ipv6_mapped;
	err = ktp_v4_connect(sk, (struct ktp_uaddr *)&sin, sizeof(sin));
	if (err) {
		icsk->icsk_af_ops = &ktp_ipv6_specific;
		return err;
	}
	np->saddr = sk->sk_v6_rcv_saddr;
	return 0;
}

/* The protocol half of connect(2) for an IPv6 socket: route, pick a
 * port, send SYN seq=x and enter SYN_SENT; 0, or -errno with the socket
 * back in CLOSE.
 */
static int ktp_v6_connect(struct sock *sk, struct ktp_uaddr *uaddr,
			  int addr_len)
{
	struct sockaddr_in6 *usin = (struct sockaddr_in6 *)uaddr;
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct in6_addr *saddr = NULL, *final_p, final;
	struct ipv6_pinfo *np = inet6_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	struct ipv6_txoptions *opt;
	struct dst_entry *dst;
	struct flowi6 *fl6;
	int addr_type, err;

	if (addr_len < SIN6_LEN_RFC2133)
		return -EINVAL;
	if (usin->sin6_family != AF_INET6)
		return -EAFNOSUPPORT;

	/* connect to :: means the loopback, as in TCP (BSD'ism) */
	if (ipv6_addr_any(&usin->sin6_addr)) {
		if (ipv6_addr_v4mapped(&sk->sk_v6_rcv_saddr))
			ipv6_addr_set_v4mapped(htonl(INADDR_LOOPBACK),
					       &usin->sin6_addr);
		else
			usin->sin6_addr = in6addr_loopback;
	}
	addr_type = ipv6_addr_type(&usin->sin6_addr);
	if (addr_type & IPV6_ADDR_MULTICAST)
		return -ENETUNREACH;
	if (addr_type & IPV6_ADDR_LINKLOCAL) {
		if (addr_len >= sizeof(struct sockaddr_in6) &&
		    usin->sin6_scope_id) {
			/* a bound socket may only name its own device */
			if (!sk_dev_equal_l3scope(sk, usin->sin6_scope_id))
				return -EINVAL;
			sk->sk_bound_dev_if = usin->sin6_scope_id;
		}
		/* a link-local peer needs an interface */
		if (!sk->sk_bound_dev_if)
			return -EINVAL;
	}
	sk->sk_v6_daddr = usin->sin6_addr;

	if (addr_type & IPV6_ADDR_MAPPED)
		return ktp_v6_connect_mapped(sk, usin);

	if (!ipv6_addr_any(&sk->sk_v6_rcv_saddr))
		saddr = &sk->sk_v6_rcv_saddr;
	/* the socket's flow: newer kernels' inet6_csk_xmit() sends with
	 * it while the route holds, as TCP's connect() leaves it
	 */
	fl6 = &inet->cork.fl.u.ip6;
	memset(fl6, 0, sizeof(*fl6));
	fl6->flowi6_proto = ktp_ipproto;
	fl6->daddr = sk->sk_v6_daddr;
	fl6->saddr = saddr ? *saddr : np->saddr;
	fl6->flowi6_oif = sk->sk_bound_dev_if;
	fl6->flowi6_mark = sk->sk_mark;
	fl6->fl6_dport = usin->sin6_port;
	fl6->fl6_sport = inet->inet_sport;
	fl6->flowi6_uid = sk->sk_uid;
	opt = rcu_dereference_protected(np->opt, lockdep_sock_is_held(sk));
	final_p = fl6_update_dst(fl6, opt, &final);

	dst = ip6_dst_lookup_flow(sock_net(sk), sk, fl6, final_p);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	if (!saddr) {
		saddr = &fl6->saddr;
		sk->sk_v6_rcv_saddr = *saddr;
	}
	np->saddr = *saddr;
	inet->inet_rcv_saddr = LOOPBACK4_IPV6;
	ip6_dst_store(sk, dst, NULL, NULL);
	icsk->icsk_ext_hdr_len = opt ? opt->opt_flen + opt->opt_nflen : 0;
	inet->inet_dport = usin->sin6_port;

	/* Pick the port first, so the transition is reported with it. */
	err = ktp_hash_connect(sk);
	if (err)
		goto failure;
	fl6->fl6_sport = inet->inet_sport;
	ktp_set_state(sk, KTP_SYN_SENT);
	ktp_init_mss(sk);
	kp->iss = ktp_v6_isn(&np->saddr, &sk->sk_v6_daddr, inet->inet_sport,
			     inet->inet_dport);
	kp->ts_off = ktp_v6_ts_off(&np->saddr, &sk->sk_v6_daddr);
	ktp_init_syn_opts(sk);
	err = ktp_connect_send_syn(sk);
	if (err)
		goto failure;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_ACTIVEOPENS);
	return 0;

failure:
	/* unhashes the socket and releases the port */
	ktp_set_state(sk, KTP_CLOSE);
	ktp_reset_saddr(sk);
	sk->sk_route_caps = 0;
	inet->inet_dport = 0;
	return err;
}

static const struct inet_connection_sock_af_ops ktp_ipv6_specific = {
	.queue_xmit	= inet6_csk_xmit,
	.conn_request	= ktp_v6_conn_request,
	.mtu_reduced	= ktp_v6_mtu_reduced,
	.net_header_len	= sizeof(struct ipv6hdr),
	.setsockopt	= ipv6_setsockopt,
	.getsockopt	= ipv6_getsockopt,
};

/* An IPv6 socket talking to an IPv4-mapped peer: IPv4 on the wire,
 * IPv6 at the socket API.
 */
static const struct inet_connection_sock_af_ops ktp_ipv6_mapped = {
	.queue_xmit	= ip_queue_xmit,
	.conn_request	= ktp_v6_conn_request,
	.mtu_reduced	= ktp_v4_mtu_reduced,
	.net_header_len	= sizeof(struct iphdr),
	.setsockopt	= ipv6_setsockopt,
	.getsockopt	= ipv6_getsockopt,
};

static int ktp_v6_init_sock(struct sock *sk)
{
	int err = ktp_init_sock(sk);

	if (!err)
		inet_csk(sk)->icsk_af_ops = &ktp_ipv6_specific;
	return err;
}

/**
 * ktp_v6_init_sock_generic - what inet6_create() does for an IPv6 inet
 * socket, for a new KTPPROTO_KTP6 one
 * @sk: the socket, after sock_init_data()
 */
void ktp_v6_init_sock_generic(struct sock *sk)
{
	struct ipv6_pinfo *np = &((struct ktp6_sock *)sk)->inet6;
	struct net *net = sock_net(sk);

	inet_sk(sk)->pinet6 = np;
	np->hop_limit = -1;
	np->mcast_hops = IPV6_DEFAULT_MCASTHOPS;
	ktp_inet6_init_flags(sk, np);
	np->pmtudisc = IPV6_PMTUDISC_WANT;
	sk->sk_ipv6only = net->ipv6.sysctl.bindv6only;
	sk->sk_destruct = inet6_sock_destruct;
}

static const struct inet6_protocol ktp_v6_protocol = {
	.handler	= ktp_v6_rcv,
	.err_handler	= ktp_v6_err,
	.flags		= INET6_PROTO_NOPOLICY | INET6_PROTO_FINAL,
};

/**
 * ktp_ipv6_init - the IPv6 proto, and IPPROTO_KTP datagrams from IPv6
 *
 * Return: 0 or -errno.
 */
int ktp_ipv6_init(void)
{
	int err;

	/* KTPv6 is KTP with IPv6's socket size, connect and init */
	ktpv6_prot = ktp_prot;
	strscpy(ktpv6_prot.name, "KTPv6", sizeof(ktpv6_prot.name));
	ktpv6_prot.obj_size = sizeof(struct ktp6_sock);
	ktpv6_prot.connect = ktp_v6_connect;
	ktpv6_prot.pre_connect = ktp_v6_pre_connect;
	ktpv6_prot.init = ktp_v6_init_sock;
	err = proto_register(&ktpv6_prot, 1);
	if (err)
		return err;
	if (inet6_add_protocol(&ktp_v6_protocol, ktp_ipproto) < 0) {
		pr_err("IPv6 next header %d is taken\n", ktp_ipproto);
		err = -EBUSY;
		goto out_unregister_proto;
	}
	return 0;

out_unregister_proto:
	proto_unregister(&ktpv6_prot);
	return err;
}

void ktp_ipv6_exit(void)
{
	inet6_del_protocol(&ktp_v6_protocol, ktp_ipproto);
	/* In-flight handlers are RCU readers: wait for them to finish. */
	synchronize_net();
	proto_unregister(&ktpv6_prot);
}
