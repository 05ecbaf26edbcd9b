// SPDX-License-Identifier: GPL-2.0
/*
 * KTP's connection tables, one set per network namespace: which socket,
 * request entry or TIME_WAIT entry a segment belongs to, and who owns a
 * port.
 *
 *   established  every connection in a synchronizing or synchronized
 *		  state: full sockets from SYN_SENT on, request entries
 *		  (KTP_NEW_SYN_RECV) and TIME_WAIT entries, chained by a
 *		  keyed hash of the 4-tuple. All three begin with struct
 *		  sock_common, so one walk matches them all.
 *   listen	  listeners, by local port; SO_REUSEPORT groups through the
 *		  core's sock_reuseport.
 *   bind	  per local port a struct ktp_bind_bucket, whose owners are
 *		  the sockets holding the port (bound, listening, connected,
 *		  children) and its TIME_WAIT entries.
 *
 * Locking:
 *   - Lookups run under RCU and take no lock. Full sockets are
 *     SLAB_TYPESAFE_BY_RCU and so are request and TIME_WAIT entries: a
 *     lookup takes a reference with refcount_inc_not_zero() and checks
 *     the keys again, and a chain's nulls marker tells it when the entry
 *     it stood on moved to another chain (hlist_nulls).
 *   - Each bucket has its own spinlock, always taken with BH off: softirq
 *     inserts and removes too (requests, children, TIME_WAIT).
 *   - Order: a bind bucket's lock, then an established bucket's lock.
 *     A listen bucket's lock nests inside nothing and nothing in it.
 *   - Being in the established table holds a reference (sk_nulls_add_node
 *     style); listeners hold none for the listen table: they are freed
 *     after a grace period (SOCK_RCU_FREE) and lookups of listeners take
 *     no reference.
 */
#include <linux/module.h>
#include <linux/jhash.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/siphash.h>
#include <net/sock.h>
#include <net/sock_reuseport.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "protocol.h"

/* Buckets per namespace; powers of two. */
#define KTP_EHASH_SIZE	BIT(12)
#define KTP_LHASH_SIZE	BIT(6)
#define KTP_BHASH_SIZE	BIT(10)

static struct kmem_cache *ktp_bind_bucket_cachep;
static siphash_aligned_key_t ktp_port_secret;

static struct ktp_tables *ktp_tables(const struct net *net)
{
	return &ktp_pernet(net)->tables;
}

/* Does an entry bound to @bound take a segment that came in on @dif (or
 * its L3 master @sdif)?
 */
static bool ktp_dev_ok(int bound, int dif, int sdif)
{
	return !bound || bound == dif || bound == sdif;
}

static u32 ktp_ehashfn4(const struct ktp_tables *t, __be32 laddr, u16 lport,
			__be32 faddr, __be16 fport)
{
	return jhash_3words((__force u32)laddr, (__force u32)faddr,
			    (u32)lport << 16 | (__force u32)fport, t->seed);
}

#if IS_ENABLED(CONFIG_IPV6)
static u32 ktp_ehashfn6(const struct ktp_tables *t,
			const struct in6_addr *laddr, u16 lport,
			const struct in6_addr *faddr, __be16 fport)
{
	u32 lhash = jhash2((const u32 *)laddr->s6_addr32, 4, t->seed);
	u32 fhash = jhash2((const u32 *)faddr->s6_addr32, 4, t->seed);

	return jhash_3words(lhash, fhash,
			    (u32)lport << 16 | (__force u32)fport, t->seed);
}
#endif

/* An IPv6 entry whose peer is not IPv4-mapped: the IPv6 hash and match. */
static bool ktp_skc_v6(const struct sock_common *c)
{
#if IS_ENABLED(CONFIG_IPV6)
	return c->skc_family == AF_INET6 &&
	       !ipv6_addr_v4mapped(&c->skc_v6_daddr);
#else
	return false;
#endif
}

/**
 * ktp_ehashfn - the established-table hash of an entry's 4-tuple
 * @net: its namespace
 * @c: the entry, addresses and ports set
 *
 * Return: the hash, which the entry keeps in skc_hash.
 */
u32 ktp_ehashfn(const struct net *net, const struct sock_common *c)
{
	const struct ktp_tables *t = ktp_tables(net);

#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skc_v6(c))
		return ktp_ehashfn6(t, &c->skc_v6_rcv_saddr, c->skc_num,
				    &c->skc_v6_daddr, c->skc_dport);
#endif
	return ktp_ehashfn4(t, c->skc_rcv_saddr, c->skc_num, c->skc_daddr,
			    c->skc_dport);
}

/* What a lookup matches: a segment's addresses, ports and interface. */
struct ktp_flow {
	struct net *net;
	const struct in6_addr *saddr6;	/* IPv6 addresses, or NULL: IPv4 */
	const struct in6_addr *daddr6;
	__be32 saddr;			/* IPv4 addresses */
	__be32 daddr;
	__be16 sport;
	u16 hnum;			/* destination port, host order */
	int dif;			/* the interface it came in on */
	int sdif;			/* its L3 master, or 0 */
};

static u32 ktp_flow_hash(const struct ktp_tables *t, const struct ktp_flow *f)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (f->daddr6)
		return ktp_ehashfn6(t, f->daddr6, f->hnum, f->saddr6, f->sport);
#endif
	return ktp_ehashfn4(t, f->daddr, f->hnum, f->saddr, f->sport);
}

/* Is @c the entry of flow @f? */
static bool ktp_match(const struct sock_common *c, const struct ktp_flow *f)
{
	if (c->skc_dport != f->sport || c->skc_num != f->hnum ||
	    !net_eq(read_pnet(&c->skc_net), f->net) ||
	    !ktp_dev_ok(READ_ONCE(c->skc_bound_dev_if), f->dif, f->sdif))
		return false;
#if IS_ENABLED(CONFIG_IPV6)
	if (f->daddr6)
		return c->skc_family == AF_INET6 &&
		       ipv6_addr_equal(&c->skc_v6_daddr, f->saddr6) &&
		       ipv6_addr_equal(&c->skc_v6_rcv_saddr, f->daddr6);
#endif
	return !ktp_skc_v6(c) && c->skc_daddr == f->saddr &&
	       c->skc_rcv_saddr == f->daddr;
}

/* Take a reference on what a lookup found; false if it is dying. */
static bool ktp_entry_hold(struct sock *sk)
{
	return refcount_inc_not_zero(&sk->sk_refcnt);
}

/**
 * ktp_entry_put - drop a reference on any entry of the tables
 * @sk: a full socket, request entry or TIME_WAIT entry
 *
 * Only the last reference looks at the kind: a full socket never carries
 * the state of a request or TIME_WAIT entry (ktp_time_wait()).
 */
void ktp_entry_put(struct sock *sk)
{
	if (!refcount_dec_and_test(&sk->sk_refcnt))
		return;
	if (sk->sk_state == KTP_TIME_WAIT)
		ktp_tw_free(ktp_tw(sk));
	else if (sk->sk_state == KTP_NEW_SYN_RECV)
		ktp_req_free(ktp_req(sk));
	else
		sk_free(sk);
}

/*
 * The established-table entry of flow @f, with a reference, or NULL.
 * Called under RCU.
 */
static struct sock *ktp_lookup_established(const struct ktp_flow *f)
{
	struct ktp_tables *t = ktp_tables(f->net);
	u32 hash = ktp_flow_hash(t, f);
	unsigned int slot = hash & t->ehash_mask;
	struct ktp_hbucket *b = &t->ehash[slot];
	struct hlist_nulls_node *node;
	struct sock *sk;

begin:
	sk_nulls_for_each_rcu(sk, node, &b->chain) {
		if (sk->sk_hash != hash || !ktp_match(&sk->__sk_common, f))
			continue;
		if (unlikely(!ktp_entry_hold(sk)))
			return NULL;
		if (unlikely(sk->sk_hash != hash ||
			     !ktp_match(&sk->__sk_common, f))) {
			ktp_entry_put(sk);
			goto begin;
		}
		return sk;
	}
	/* moved to another chain under us: walk again */
	if (get_nulls_value(node) != slot)
		goto begin;
	return NULL;
}

/**
 * ktp_lookup_established4 - the connection an IPv4 segment belongs to
 * @net: the namespace it arrived in
 * @saddr: its source address
 * @sport: its source port
 * @daddr: its destination address
 * @hnum: its destination port, host order
 * @dif: the interface it came in on
 * @sdif: that interface's L3 master, or 0
 *
 * Called under RCU.
 *
 * Return: a full socket, request or TIME_WAIT entry, with a reference
 * (ktp_entry_put()), or NULL.
 */
struct sock *ktp_lookup_established4(struct net *net, __be32 saddr,
				     __be16 sport, __be32 daddr, u16 hnum,
				     int dif, int sdif)
{
	const struct ktp_flow f = {
		.net = net, .saddr = saddr, .daddr = daddr, .sport = sport,
		.hnum = hnum, .dif = dif, .sdif = sdif,
	};

	return ktp_lookup_established(&f);
}

#if IS_ENABLED(CONFIG_IPV6)
/**
 * ktp_lookup_established6 - ktp_lookup_established4() for IPv6
 * @net: the namespace it arrived in
 * @saddr: its source address
 * @sport: its source port
 * @daddr: its destination address
 * @hnum: its destination port, host order
 * @dif: the interface it came in on
 * @sdif: that interface's L3 master, or 0
 *
 * Return: the entry with a reference, or NULL.
 */
struct sock *ktp_lookup_established6(struct net *net,
				     const struct in6_addr *saddr,
				     __be16 sport,
				     const struct in6_addr *daddr, u16 hnum,
				     int dif, int sdif)
{
	const struct ktp_flow f = {
		.net = net, .saddr6 = saddr, .daddr6 = daddr, .sport = sport,
		.hnum = hnum, .dif = dif, .sdif = sdif,
	};

	return ktp_lookup_established(&f);
}
#endif

static struct ktp_hbucket *ktp_ehash_bucket(const struct net *net, u32 hash)
{
	const struct ktp_tables *t = ktp_tables(net);

	return &t->ehash[hash & t->ehash_mask];
}

/* Is the 4-tuple of @c taken in its locked bucket @b by another entry? */
static bool ktp_ehash_taken(struct ktp_hbucket *b, const struct sock_common *c)
{
	const struct net *net = read_pnet(&c->skc_net);
	struct hlist_nulls_node *node;
	struct sock *sk2;

	sk_nulls_for_each(sk2, node, &b->chain) {
		const struct sock_common *c2 = &sk2->__sk_common;

		if (c2 == c || c2->skc_hash != c->skc_hash ||
		    !net_eq(read_pnet(&c2->skc_net), net) ||
		    c2->skc_portpair != c->skc_portpair ||
		    c2->skc_bound_dev_if != c->skc_bound_dev_if)
			continue;
		if (ktp_skc_v6(c) != ktp_skc_v6(c2))
			continue;
#if IS_ENABLED(CONFIG_IPV6)
		if (ktp_skc_v6(c)) {
			if (ipv6_addr_equal(&c2->skc_v6_daddr,
					    &c->skc_v6_daddr) &&
			    ipv6_addr_equal(&c2->skc_v6_rcv_saddr,
					    &c->skc_v6_rcv_saddr))
				return true;
			continue;
		}
#endif
		if (c2->skc_addrpair == c->skc_addrpair)
			return true;
	}
	return false;
}

/**
 * ktp_ehash_insert - put an entry in the established table
 * @sk: full socket, request or TIME_WAIT entry, 4-tuple set, not hashed
 * @unique: refuse it when another entry has the same 4-tuple
 *
 * Computes sk_hash. The table takes a reference.
 *
 * Return: true when inserted.
 */
bool ktp_ehash_insert(struct sock *sk, bool unique)
{
	struct ktp_hbucket *b;

	sk->sk_hash = ktp_ehashfn(sock_net(sk), &sk->__sk_common);
	b = ktp_ehash_bucket(sock_net(sk), sk->sk_hash);
	spin_lock_bh(&b->lock);
	if (unique && ktp_ehash_taken(b, &sk->__sk_common)) {
		spin_unlock_bh(&b->lock);
		return false;
	}
	refcount_inc(&sk->sk_refcnt);
	__sk_nulls_add_node_rcu(sk, &b->chain);
	spin_unlock_bh(&b->lock);
	return true;
}

/**
 * ktp_ehash_remove - take an entry out of the established table
 * @sk: the entry; hashed or not
 *
 * The caller holds a reference besides the table's, which is dropped
 * here.
 *
 * Return: true if this call removed it.
 */
bool ktp_ehash_remove(struct sock *sk)
{
	struct ktp_hbucket *b = ktp_ehash_bucket(sock_net(sk), sk->sk_hash);
	bool removed = false;

	spin_lock_bh(&b->lock);
	if (!sk_unhashed(sk)) {
		__sk_nulls_del_node_init_rcu(sk);
		removed = true;
	}
	spin_unlock_bh(&b->lock);
	if (removed)
		WARN_ON_ONCE(refcount_dec_and_test(&sk->sk_refcnt));
	return removed;
}

/**
 * ktp_ehash_replace - one entry takes another's place, atomically for
 * lookups: a request entry's child, a connection's TIME_WAIT entry
 * @old: the entry in the table, same 4-tuple as @new
 * @new: the entry to put there, not hashed
 *
 * The table's reference moves from @old to @new; the caller holds one
 * on @old besides it.
 *
 * Return: true if @old was there and @new took its place; false (and
 * @new left out) if @old had gone.
 */
bool ktp_ehash_replace(struct sock *old, struct sock *new)
{
	struct ktp_hbucket *b = ktp_ehash_bucket(sock_net(old), old->sk_hash);
	bool done = false;

	new->sk_hash = old->sk_hash;
	spin_lock_bh(&b->lock);
	if (!sk_unhashed(old)) {
		refcount_inc(&new->sk_refcnt);
		__sk_nulls_add_node_rcu(new, &b->chain);
		__sk_nulls_del_node_init_rcu(old);
		done = true;
	}
	spin_unlock_bh(&b->lock);
	if (done)
		WARN_ON_ONCE(refcount_dec_and_test(&old->sk_refcnt));
	return done;
}

/* ---- listeners ---- */

static struct ktp_hbucket *ktp_lhash_bucket(const struct net *net, u16 port)
{
	const struct ktp_tables *t = ktp_tables(net);

	return &t->lhash[port & t->lhash_mask];
}

/* Is @sk2 a listener of @sk's SO_REUSEPORT group: same port, address,
 * device, family and owner?
 */
static bool ktp_reuseport_peer(const struct sock *sk, const struct sock *sk2)
{
	return sk2 != sk && sk2->sk_reuseport && sk2->sk_family ==
	       sk->sk_family && sk2->sk_num == sk->sk_num &&
	       sk2->sk_bound_dev_if == sk->sk_bound_dev_if &&
	       ipv6_only_sock(sk2) == ipv6_only_sock(sk) &&
	       rcu_access_pointer(sk2->sk_reuseport_cb) &&
	       uid_eq(sk2->sk_uid, sk->sk_uid) &&
	       ktp_rcv_saddr_equal(&sk->__sk_common, &sk2->__sk_common,
				   false);
}

/* A listener joins the group of an equal one, or starts its own. */
static int ktp_reuseport_join(struct sock *sk, struct ktp_hbucket *b)
{
	bool any = sk->sk_family == AF_INET ? !sk->sk_rcv_saddr :
		   ipv6_addr_any(&sk->sk_v6_rcv_saddr);
	struct hlist_nulls_node *node;
	struct sock *sk2;

	sk_nulls_for_each(sk2, node, &b->chain) {
		if (ktp_reuseport_peer(sk, sk2))
			return reuseport_add_sock(sk, sk2, any);
	}
	return reuseport_alloc(sk, any);
}

/**
 * ktp_hash - proto.hash: a listener enters the listen table
 * @sk: the socket, in LISTEN, its port held
 *
 * Return: 0 or -errno (no memory for a reuseport group).
 */
int ktp_hash(struct sock *sk)
{
	struct ktp_hbucket *b;
	int err = 0;

	if (WARN_ON_ONCE(sk->sk_state != KTP_LISTEN))
		return -EINVAL;
	b = ktp_lhash_bucket(sock_net(sk), sk->sk_num);
	spin_lock_bh(&b->lock);
	if (sk->sk_reuseport) {
		err = ktp_reuseport_join(sk, b);
		if (err)
			goto out;
	}
	/* lookups take no reference on a listener: free it after RCU */
	sock_set_flag(sk, SOCK_RCU_FREE);
	__sk_nulls_add_node_rcu(sk, &b->chain);
	ktp_sk(sk)->in_lhash = 1;
out:
	spin_unlock_bh(&b->lock);
	return err;
}

/**
 * ktp_unhash - proto.unhash: leave the listen or the established table
 * @sk: a full socket, owned by the caller
 */
void ktp_unhash(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_hbucket *b;

	if (!kp->in_lhash) {
		if (!sk_unhashed(sk))
			ktp_ehash_remove(sk);
		return;
	}
	b = ktp_lhash_bucket(sock_net(sk), sk->sk_num);
	spin_lock_bh(&b->lock);
	if (rcu_access_pointer(sk->sk_reuseport_cb))
		reuseport_detach_sock(sk);
	__sk_nulls_del_node_init_rcu(sk);
	kp->in_lhash = 0;
	spin_unlock_bh(&b->lock);
}

/* How well listener @sk fits flow @f; -1: not at all. The most
 * specific wins: an exact address over the wildcard, a bound device,
 * IPv4 over a dual-stack IPv6 socket for an IPv4 segment.
 */
static int ktp_listen_score(const struct sock *sk, const struct ktp_flow *f)
{
	int score = 1;

	if (!net_eq(sock_net(sk), f->net) || sk->sk_num != f->hnum)
		return -1;
	if (sk->sk_bound_dev_if) {
		if (!ktp_dev_ok(sk->sk_bound_dev_if, f->dif, f->sdif))
			return -1;
		score += 2;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (f->daddr6) {
		if (sk->sk_family != AF_INET6)
			return -1;
		if (ipv6_addr_any(&sk->sk_v6_rcv_saddr))
			return score;
		if (!ipv6_addr_equal(&sk->sk_v6_rcv_saddr, f->daddr6))
			return -1;
		return score + 4;
	}
	if (sk->sk_family == AF_INET6) {
		/* a dual-stack listener on :: or on a mapped address */
		if (ipv6_only_sock(sk) ||
		    !(ipv6_addr_any(&sk->sk_v6_rcv_saddr) ||
		      ipv6_addr_v4mapped(&sk->sk_v6_rcv_saddr)))
			return -1;
		score--;
	}
#endif
	score++;
	if (sk->sk_rcv_saddr) {
		if (sk->sk_rcv_saddr != f->daddr)
			return -1;
		score += 4;
	}
	return score;
}

/*
 * The listener flow @f finds; in a SO_REUSEPORT group, the group picks
 * one by the flow's hash. Called under RCU; no reference is taken
 * (SOCK_RCU_FREE).
 */
static struct sock *ktp_listener_find(const struct ktp_flow *f,
				      struct sk_buff *skb, int doff)
{
	struct ktp_tables *t = ktp_tables(f->net);
	unsigned int slot = f->hnum & t->lhash_mask;
	struct ktp_hbucket *b = &t->lhash[slot];
	struct sock *sk, *result, *chosen;
	struct hlist_nulls_node *node;
	int score, best;

begin:
	result = NULL;
	best = 0;
	sk_nulls_for_each_rcu(sk, node, &b->chain) {
		score = ktp_listen_score(sk, f);
		if (score <= best)
			continue;
		if (sk->sk_reuseport) {
			chosen = reuseport_select_sock(sk, ktp_flow_hash(t, f),
						       skb, doff);
			if (chosen)
				return chosen;
		}
		result = sk;
		best = score;
	}
	if (get_nulls_value(node) != slot)
		goto begin;
	return result;
}

/**
 * ktp_lookup_listener4 - the listener an IPv4 SYN finds
 * @net: the namespace it arrived in
 * @skb: the segment, for a reuseport group's choice
 * @doff: its header length
 * @saddr: source address
 * @sport: source port
 * @daddr: destination address
 * @hnum: destination port, host order
 * @dif: interface it came in on
 * @sdif: that interface's L3 master, or 0
 *
 * Called under RCU.
 *
 * Return: the listener (no reference taken) or NULL.
 */
struct sock *ktp_lookup_listener4(struct net *net, struct sk_buff *skb,
				  int doff, __be32 saddr, __be16 sport,
				  __be32 daddr, u16 hnum, int dif, int sdif)
{
	const struct ktp_flow f = {
		.net = net, .saddr = saddr, .daddr = daddr, .sport = sport,
		.hnum = hnum, .dif = dif, .sdif = sdif,
	};

	return ktp_listener_find(&f, skb, doff);
}

#if IS_ENABLED(CONFIG_IPV6)
/**
 * ktp_lookup_listener6 - ktp_lookup_listener4() for an IPv6 SYN
 * @net: the namespace it arrived in
 * @skb: the segment
 * @doff: its header length
 * @saddr: source address
 * @sport: source port
 * @daddr: destination address
 * @hnum: destination port, host order
 * @dif: interface it came in on
 * @sdif: that interface's L3 master, or 0
 *
 * Return: the listener or NULL.
 */
struct sock *ktp_lookup_listener6(struct net *net, struct sk_buff *skb,
				  int doff, const struct in6_addr *saddr,
				  __be16 sport, const struct in6_addr *daddr,
				  u16 hnum, int dif, int sdif)
{
	const struct ktp_flow f = {
		.net = net, .saddr6 = saddr, .daddr6 = daddr, .sport = sport,
		.hnum = hnum, .dif = dif, .sdif = sdif,
	};

	return ktp_listener_find(&f, skb, doff);
}
#endif

/* ---- ports ---- */

static struct ktp_bhead *ktp_bhash_head(const struct net *net, u16 port)
{
	const struct ktp_tables *t = ktp_tables(net);

	return &t->bhash[port & t->bhash_mask];
}

static struct ktp_bind_bucket *ktp_bucket_find(struct ktp_bhead *head,
					       u16 port)
{
	struct ktp_bind_bucket *tb;

	hlist_for_each_entry(tb, &head->chain, node) {
		if (tb->port == port)
			return tb;
	}
	return NULL;
}

static struct ktp_bind_bucket *ktp_bucket_create(struct ktp_bhead *head,
						 u16 port, bool connect_only)
{
	struct ktp_bind_bucket *tb;

	tb = kmem_cache_alloc(ktp_bind_bucket_cachep, GFP_ATOMIC);
	if (!tb)
		return NULL;
	tb->port = port;
	tb->connect_only = connect_only;
	INIT_HLIST_HEAD(&tb->owners);
	hlist_add_head(&tb->node, &head->chain);
	return tb;
}

/* A bucket without owners goes. Called with its head locked. */
static void ktp_bucket_release(struct ktp_bind_bucket *tb)
{
	if (!hlist_empty(&tb->owners))
		return;
	hlist_del(&tb->node);
	kmem_cache_free(ktp_bind_bucket_cachep, tb);
}

/* Under the head's lock: @sk holds @tb's port from now on. */
static void ktp_bucket_add(struct sock *sk, struct ktp_bind_bucket *tb)
{
	inet_sk(sk)->inet_num = tb->port;
	hlist_add_head(&sk->sk_bind_node, &tb->owners);
	ktp_sk(sk)->bind_bucket = tb;
}

/**
 * ktp_rcv_saddr_equal - do two entries' local addresses overlap?
 * @c1: the entry that wants a port
 * @c2: an owner of the port
 * @wildcard: whether a wildcard address overlaps every address
 *
 * IPv4 and IPv6 share one port space (ktp(7)): a dual-stack IPv6 socket
 * on :: overlaps every IPv4 address, an IPv6-only one none. The rules
 * are TCP's (inet_rcv_saddr_equal()).
 *
 * Return: true when they overlap.
 */
bool ktp_rcv_saddr_equal(const struct sock_common *c1,
			 const struct sock_common *c2, bool wildcard)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (c1->skc_family == AF_INET6) {
		int t1 = ipv6_addr_type(&c1->skc_v6_rcv_saddr);
		int t2 = c2->skc_family == AF_INET6 ?
			 ipv6_addr_type(&c2->skc_v6_rcv_saddr) :
			 IPV6_ADDR_MAPPED;

		if (t1 == IPV6_ADDR_MAPPED && t2 == IPV6_ADDR_MAPPED) {
			if (c2->skc_ipv6only)
				return false;
			return c1->skc_rcv_saddr == c2->skc_rcv_saddr ||
			       (wildcard && (!c1->skc_rcv_saddr ||
					     !c2->skc_rcv_saddr));
		}
		if (t1 == IPV6_ADDR_ANY && t2 == IPV6_ADDR_ANY)
			return true;
		if (t2 == IPV6_ADDR_ANY && wildcard &&
		    !(c2->skc_ipv6only && t1 == IPV6_ADDR_MAPPED))
			return true;
		if (t1 == IPV6_ADDR_ANY && wildcard &&
		    !(c1->skc_ipv6only && t2 == IPV6_ADDR_MAPPED))
			return true;
		return c2->skc_family == AF_INET6 &&
		       ipv6_addr_equal(&c1->skc_v6_rcv_saddr,
				       &c2->skc_v6_rcv_saddr);
	}
#endif
	if (c2->skc_ipv6only)
		return false;
	return c1->skc_rcv_saddr == c2->skc_rcv_saddr ||
	       (wildcard && (!c1->skc_rcv_saddr || !c2->skc_rcv_saddr));
}

/* May @sk share the port with owner @c2, whatever the addresses? The
 * rules of TCP's bind(): SO_REUSEADDR on both when @c2 does not listen,
 * or SO_REUSEPORT on both with the same owner (any TIME_WAIT entry).
 */
static bool ktp_bind_shares(const struct sock *sk, const struct sock_common *c2)
{
	int dev2 = READ_ONCE(c2->skc_bound_dev_if);

	if (sk->sk_bound_dev_if && dev2 && sk->sk_bound_dev_if != dev2)
		return true;
	if (sk->sk_reuse && c2->skc_reuse && c2->skc_state != KTP_LISTEN)
		return true;
	if (sk->sk_reuseport && c2->skc_reuseport) {
		if (c2->skc_state == KTP_TIME_WAIT)
			return true;
		return uid_eq(sk->sk_uid, ((const struct sock *)c2)->sk_uid);
	}
	return false;
}

/* Does @sk conflict with an owner of @tb? Called with the head locked. */
static bool ktp_bind_conflict(const struct sock *sk,
			      const struct ktp_bind_bucket *tb)
{
	struct sock_common *c2;

	hlist_for_each_entry(c2, &tb->owners, skc_bind_node) {
		if (c2 == &sk->__sk_common || ktp_bind_shares(sk, c2))
			continue;
		if (ktp_rcv_saddr_equal(&sk->__sk_common, c2, true))
			return true;
	}
	return false;
}

static void ktp_port_range(const struct net *net, int *low, int *high)
{
	inet_get_local_port_range(net, low, high);
}

/* bind() to port 0: a port of the ephemeral range nobody holds. */
static int ktp_get_free_port(struct sock *sk)
{
	struct net *net = sock_net(sk);
	struct ktp_bind_bucket *tb;
	int low, high, remaining;
	struct ktp_bhead *head;
	u32 i, offset;
	u16 port;

	ktp_port_range(net, &low, &high);
	remaining = high - low + 1;
	if (remaining < 1)
		return -EADDRINUSE;
	offset = get_random_u32_below(remaining);
	for (i = 0; i < remaining; i++) {
		port = low + (offset + i) % remaining;
		if (inet_is_local_reserved_port(net, port))
			continue;
		head = ktp_bhash_head(net, port);
		spin_lock_bh(&head->lock);
		if (!ktp_bucket_find(head, port)) {
			tb = ktp_bucket_create(head, port, false);
			if (!tb) {
				spin_unlock_bh(&head->lock);
				return -ENOBUFS;
			}
			ktp_bucket_add(sk, tb);
			spin_unlock_bh(&head->lock);
			return 0;
		}
		spin_unlock_bh(&head->lock);
		cond_resched();
	}
	return -EADDRINUSE;
}

/**
 * ktp_get_port - proto.get_port: take a local port for bind() or listen()
 * @sk: the socket, owned by the caller
 * @snum: the port, or 0 for any free one
 *
 * Return: 0, or -EADDRINUSE when it conflicts with an owner.
 */
int ktp_get_port(struct sock *sk, unsigned short snum)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_bind_bucket *tb;
	struct ktp_bhead *head;
	int err = 0;

	if (!snum)
		return ktp_get_free_port(sk);
	head = ktp_bhash_head(sock_net(sk), snum);
	spin_lock_bh(&head->lock);
	tb = ktp_bucket_find(head, snum);
	if (tb && kp->bind_bucket == tb) {
		/* listen() on a socket that bind() gave the port */
		if (ktp_bind_conflict(sk, tb))
			err = -EADDRINUSE;
		goto out;
	}
	if (tb) {
		if (ktp_bind_conflict(sk, tb)) {
			err = -EADDRINUSE;
			goto out;
		}
		tb->connect_only = false;
	} else {
		tb = ktp_bucket_create(head, snum, false);
		if (!tb) {
			err = -ENOBUFS;
			goto out;
		}
	}
	ktp_bucket_add(sk, tb);
out:
	spin_unlock_bh(&head->lock);
	return err;
}

/**
 * ktp_put_port - proto.put_port: give the local port back
 * @sk: the socket; a no-op when it holds none
 */
void ktp_put_port(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_bind_bucket *tb = kp->bind_bucket;
	struct ktp_bhead *head;

	if (!tb)
		return;
	head = ktp_bhash_head(sock_net(sk), tb->port);
	spin_lock_bh(&head->lock);
	__sk_del_bind_node(sk);
	kp->bind_bucket = NULL;
	inet_sk(sk)->inet_num = 0;
	ktp_bucket_release(tb);
	spin_unlock_bh(&head->lock);
}

/**
 * ktp_inherit_port - a listener's new connection shares its port
 * @listener: the listener
 * @child: the new socket, its inet_num the listener's
 *
 * Return: 0, or -ENOENT when the listener gave the port up meanwhile.
 */
int ktp_inherit_port(const struct sock *listener, struct sock *child)
{
	struct ktp_bhead *head = ktp_bhash_head(sock_net(child),
						child->sk_num);
	struct ktp_bind_bucket *tb;
	int err = 0;

	spin_lock_bh(&head->lock);
	/* cleared under this lock when the listener lets the port go */
	tb = READ_ONCE(ktp_sk(listener)->bind_bucket);
	if (tb && tb->port == child->sk_num)
		ktp_bucket_add(child, tb);
	else
		err = -ENOENT;
	spin_unlock_bh(&head->lock);
	return err;
}

/**
 * ktp_tw_bind - a TIME_WAIT entry holds its connection's port
 * @tw: the new entry
 * @sk: the connection, which holds the port still
 *
 * Called with BH off.
 */
void ktp_tw_bind(struct ktp_tw *tw, struct sock *sk)
{
	struct ktp_bind_bucket *tb = ktp_sk(sk)->bind_bucket;
	struct ktp_bhead *head;

	if (!tb)
		return;
	head = ktp_bhash_head(sock_net(sk), tb->port);
	spin_lock(&head->lock);
	tw->tb = tb;
	hlist_add_head(&tw->common.skc_bind_node, &tb->owners);
	spin_unlock(&head->lock);
}

/**
 * ktp_tw_unbind - a TIME_WAIT entry lets its port go
 * @tw: the entry
 */
void ktp_tw_unbind(struct ktp_tw *tw)
{
	struct ktp_bind_bucket *tb = tw->tb;
	struct ktp_bhead *head;

	if (!tb)
		return;
	head = ktp_bhash_head(read_pnet(&tw->common.skc_net), tb->port);
	spin_lock_bh(&head->lock);
	hlist_del_init(&tw->common.skc_bind_node);
	tw->tb = NULL;
	ktp_bucket_release(tb);
	spin_unlock_bh(&head->lock);
}

/* RFC 6056 algorithm 3: a keyed hash of the connection's addresses and
 * destination port picks where the search starts, so that ports are not
 * guessable off-path; the namespace's counter moves it on for the next
 * connection to the same peer.
 */
static u32 ktp_port_offset(const struct sock *sk)
{
	net_get_random_once(&ktp_port_secret, sizeof(ktp_port_secret));
#if IS_ENABLED(CONFIG_IPV6)
	if (ktp_skc_v6(&sk->__sk_common)) {
		const struct {
			struct in6_addr s, d;
			__be16 dport;
		} __aligned(SIPHASH_ALIGNMENT) key = {
			.s = sk->sk_v6_rcv_saddr,
			.d = sk->sk_v6_daddr,
			.dport = sk->sk_dport,
		};

		return siphash(&key, offsetofend(typeof(key), dport),
			       &ktp_port_secret);
	}
#endif
	return siphash_3u32((__force u32)sk->sk_rcv_saddr,
			    (__force u32)sk->sk_daddr,
			    (__force u32)sk->sk_dport, &ktp_port_secret);
}

/* The connection takes @port if its 4-tuple is free there; under the
 * port's head lock.
 */
static bool ktp_connect_try(struct sock *sk, struct ktp_bind_bucket *tb)
{
	struct inet_sock *inet = inet_sk(sk);

	inet->inet_num = tb->port;
	inet->inet_sport = htons(tb->port);
	if (!ktp_ehash_insert(sk, true)) {
		inet->inet_num = 0;
		inet->inet_sport = 0;
		return false;
	}
	ktp_bucket_add(sk, tb);
	return true;
}

/**
 * ktp_hash_connect - connect(): a local port if the socket has none, and
 * the established table, the 4-tuple unique
 * @sk: the socket, owned by the caller, addresses and dport set
 *
 * An ephemeral port is one no bind() holds, where this 4-tuple is free
 * (ports of other connections to other peers are shared, as TCP shares
 * them).
 *
 * Return: 0, -EADDRNOTAVAIL when no port is left or the 4-tuple is taken.
 */
int ktp_hash_connect(struct sock *sk)
{
	struct ktp_tables *t = ktp_tables(sock_net(sk));
	struct net *net = sock_net(sk);
	int low, high, remaining, err;
	struct ktp_bind_bucket *tb;
	struct ktp_bhead *head;
	u32 i, offset;
	u16 port;

	if (ktp_sk(sk)->bind_bucket) {
		if (!ktp_ehash_insert(sk, true))
			return -EADDRNOTAVAIL;
		return 0;
	}

	ktp_port_range(net, &low, &high);
	remaining = high - low + 1;
	if (remaining < 1)
		return -EADDRNOTAVAIL;
	offset = ktp_port_offset(sk) + READ_ONCE(t->port_counter);
	err = -EADDRNOTAVAIL;
	for (i = 0; i < remaining; i++) {
		port = low + (offset + i) % remaining;
		if (inet_is_local_reserved_port(net, port))
			continue;
		head = ktp_bhash_head(net, port);
		spin_lock_bh(&head->lock);
		tb = ktp_bucket_find(head, port);
		if (!tb) {
			tb = ktp_bucket_create(head, port, true);
			if (!tb) {
				spin_unlock_bh(&head->lock);
				return -ENOBUFS;
			}
		} else if (!tb->connect_only) {
			spin_unlock_bh(&head->lock);
			continue;
		}
		if (ktp_connect_try(sk, tb))
			err = 0;
		else
			ktp_bucket_release(tb);
		spin_unlock_bh(&head->lock);
		if (!err) {
			WRITE_ONCE(t->port_counter,
				   READ_ONCE(t->port_counter) + i + 2);
			return 0;
		}
		cond_resched();
	}
	return err;
}

/* ---- the tables of a namespace ---- */

static void *ktp_buckets_alloc(unsigned int n, size_t size)
{
	return kvmalloc_array(n, size, GFP_KERNEL);
}

/**
 * ktp_tables_init - a new namespace's empty tables
 * @net: the namespace
 *
 * Return: 0 or -ENOMEM.
 */
int ktp_tables_init(struct net *net)
{
	struct ktp_tables *t = ktp_tables(net);
	unsigned int i;

	t->ehash = ktp_buckets_alloc(KTP_EHASH_SIZE, sizeof(*t->ehash));
	t->lhash = ktp_buckets_alloc(KTP_LHASH_SIZE, sizeof(*t->lhash));
	t->bhash = ktp_buckets_alloc(KTP_BHASH_SIZE, sizeof(*t->bhash));
	if (!t->ehash || !t->lhash || !t->bhash) {
		kvfree(t->bhash);
		kvfree(t->lhash);
		kvfree(t->ehash);
		return -ENOMEM;
	}
	t->ehash_mask = KTP_EHASH_SIZE - 1;
	t->lhash_mask = KTP_LHASH_SIZE - 1;
	t->bhash_mask = KTP_BHASH_SIZE - 1;
	for (i = 0; i < KTP_EHASH_SIZE; i++) {
		spin_lock_init(&t->ehash[i].lock);
		INIT_HLIST_NULLS_HEAD(&t->ehash[i].chain, i);
	}
	for (i = 0; i < KTP_LHASH_SIZE; i++) {
		spin_lock_init(&t->lhash[i].lock);
		INIT_HLIST_NULLS_HEAD(&t->lhash[i].chain, i);
	}
	for (i = 0; i < KTP_BHASH_SIZE; i++) {
		spin_lock_init(&t->bhash[i].lock);
		INIT_HLIST_HEAD(&t->bhash[i].chain);
	}
	t->seed = get_random_u32();
	t->port_counter = get_random_u32();
	return 0;
}

/* The first entry of a bucket that is a full socket (@full), or a
 * TIME_WAIT or request entry (!@full), with a reference.
 */
static struct sock *ktp_purge_one(struct ktp_hbucket *b, bool full)
{
	struct hlist_nulls_node *node;
	struct sock *sk, *found = NULL;

	spin_lock_bh(&b->lock);
	sk_nulls_for_each(sk, node, &b->chain) {
		bool light = sk->sk_state == KTP_TIME_WAIT ||
			     sk->sk_state == KTP_NEW_SYN_RECV;

		if (light == full)
			continue;
		if (ktp_entry_hold(sk)) {
			found = sk;
			break;
		}
	}
	spin_unlock_bh(&b->lock);
	return found;
}

/**
 * ktp_orphans_abort - reset every connection left in a namespace
 * @net: the namespace; the module is going away
 *
 * Only orphans can be left: a socket that a process holds pins the
 * module (ktp_orphan_count_inc()). Each one tells its peer with a RST
 * and is destroyed, its timers stopped and waited for.
 */
void ktp_orphans_abort(struct net *net)
{
	struct ktp_tables *t = ktp_tables(net);
	unsigned int i;
	struct sock *sk;

	for (i = 0; i <= t->ehash_mask; i++) {
		while ((sk = ktp_purge_one(&t->ehash[i], true))) {
			ktp_abort_orphan(sk);
			sock_put(sk);
		}
		cond_resched();
	}
}

/**
 * ktp_tables_purge - end every TIME_WAIT and request entry of a namespace
 * @net: the namespace, going away: no process holds a socket in it, and
 *	 no orphan is left (ktp_orphans_abort()), so only light entries
 *	 remain
 *
 * Their timers are stopped and waited for, so no timer of an entry of
 * this namespace runs after it returns.
 */
void ktp_tables_purge(struct net *net)
{
	struct ktp_tables *t = ktp_tables(net);
	unsigned int i;
	struct sock *sk;

	for (i = 0; i <= t->ehash_mask; i++) {
		while ((sk = ktp_purge_one(&t->ehash[i], false))) {
			if (sk->sk_state == KTP_TIME_WAIT)
				ktp_tw_kill(ktp_tw(sk), true);
			else
				ktp_req_drop(ktp_req(sk), true);
			ktp_entry_put(sk);
		}
		cond_resched();
	}
}

/**
 * ktp_tables_exit - free a namespace's tables, empty by now
 * @net: the namespace
 */
void ktp_tables_exit(struct net *net)
{
	struct ktp_tables *t = ktp_tables(net);
	unsigned int i;

	for (i = 0; i <= t->ehash_mask; i++)
		WARN_ON_ONCE(!hlist_nulls_empty(&t->ehash[i].chain));
	for (i = 0; i <= t->bhash_mask; i++)
		WARN_ON_ONCE(!hlist_empty(&t->bhash[i].chain));
	kvfree(t->bhash);
	kvfree(t->lhash);
	kvfree(t->ehash);
}

/**
 * ktp_hash_init - the caches of bind buckets, request and TIME_WAIT
 * entries
 *
 * Return: 0 or -ENOMEM.
 */
int ktp_hash_init(void)
{
	ktp_bind_bucket_cachep =
		kmem_cache_create("ktp_bind_bucket",
				  sizeof(struct ktp_bind_bucket), 0,
				  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, NULL);
	if (!ktp_bind_bucket_cachep)
		return -ENOMEM;
	if (ktp_minisocks_init()) {
		kmem_cache_destroy(ktp_bind_bucket_cachep);
		return -ENOMEM;
	}
	return 0;
}

/* After every namespace's tables are gone. */
void ktp_hash_exit(void)
{
	ktp_minisocks_exit();
	kmem_cache_destroy(ktp_bind_bucket_cachep);
}
