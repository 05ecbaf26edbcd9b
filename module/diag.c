// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag for KTP: the sockets of the requester's network namespace over
 * NETLINK_SOCK_DIAG, as ss gets TCP's from inet_diag, so that ktpss (or
 * anything that speaks inet_diag) lists them with their struct ktp_info.
 *
 * A request is a struct inet_diag_req_v2 with sdiag_family the family the
 * module registered (ktp_family) and sdiag_protocol KTPPROTO_KTP (IPv4),
 * KTPPROTO_KTP6 (IPv6) or KTP_DIAG_ALL (both); see uapi/linux/ktp.h. A
 * dump (NLM_F_DUMP) shows the entries whose state is in idiag_states and
 * whose ports and addresses equal those of id that are not zero; the
 * INET_DIAG_REQ_BYTECODE language is not implemented and a request that
 * carries it fails with EOPNOTSUPP rather than being answered unfiltered.
 * A request without NLM_F_DUMP gets the one entry whose ports, addresses
 * and (unless INET_DIAG_NOCOOKIE) cookie are exactly those of id.
 *
 * Each reply is a struct inet_diag_msg (idiag_family AF_INET or AF_INET6)
 * followed, for a full socket, by INET_DIAG_SHUTDOWN and as idiag_ext asks
 * INET_DIAG_INFO (struct ktp_info), INET_DIAG_CONG, INET_DIAG_SKMEMINFO.
 * Request (SYN_RECV) and TIME_WAIT entries get the message alone.
 *
 * Locking: entries are found under their bucket's lock, as in proc.c
 * (spin_lock() for a listening bucket, spin_lock_bh() for an established
 * one), and each gets a reference, up to KTP_DIAG_BATCH per hold. Rows are
 * filled after the bucket is unlocked, as inet_diag does, because a full
 * socket's ktp_info is read under lock_sock_fast(), which may sleep and
 * nests outside the bucket locks (softirq input unhashes a socket with its
 * lock held). So INET_DIAG_INFO is the consistent snapshot KTP_INFO gives;
 * the queue and timer fields of the message are lockless reads, as in
 * /proc/net/ktp. A dump resumes at the bucket, and the count of matching
 * entries in it, where the last message filled up: an entry that comes or
 * goes between two messages may be missed or shown twice, as with TCP.
 */
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <net/netlink.h>

#include "protocol.h"

/* Entries referenced per hold of a bucket lock. */
#define KTP_DIAG_BATCH	16

/* idiag_ext's bit for an attribute that can be asked for. */
#define KTP_DIAG_EXT(attr)	(1U << ((attr) - 1))

enum {
	KTP_DIAG_LISTENING,
	KTP_DIAG_ESTABLISHED,	/* connections, request and TIME_WAIT entries */
	KTP_DIAG_DONE,
};

/* Where a walk is, kept in cb->ctx between the messages of a dump. */
struct ktp_diag_ctx {
	unsigned int part;	/* KTP_DIAG_LISTENING ... */
	unsigned int bucket;	/* in that part's hash */
	unsigned int num;	/* matching entries of the bucket done */
};

/* What a request asks for. */
struct ktp_diag_filter {
	struct net *net;		/* the requester's namespace */
	struct ktp_tables *tables;	/* its tables, looked up once */
	const struct inet_diag_sockid *id; /* zero fields: any (dump) */
	u32 states;			/* KTPF_* of the states to show */
	sa_family_t family;		/* AF_UNSPEC: both */
	bool exact;			/* get: every field of id, cookie too */
};

/* Where and how rows are written. */
struct ktp_diag_out {
	struct sk_buff *skb;
	struct user_namespace *user_ns;	/* idiag_uid is seen from there */
	u32 portid;
	u32 seq;
	u16 flags;			/* NLM_F_MULTI in a dump */
	u8 ext;				/* idiag_ext */
	unsigned int rows;		/* written so far */
	unsigned int max_rows;
};

/* sdiag_protocol to the family of the entries it selects, or -1. */
static int ktp_diag_family(u8 protocol)
{
	switch (protocol) {
	case KTPPROTO_KTP:
		return AF_INET;
	case KTPPROTO_KTP6:
		return AF_INET6;
	case KTP_DIAG_ALL:
		return AF_UNSPEC;
	}
	return -1;
}

/* The state a row shows: request entries are SYN_RECV, as in TCP. */
static int ktp_diag_state(const struct sock *sk)
{
	if (sk->sk_state == KTP_NEW_SYN_RECV)
		return KTP_SYN_RECV;
	return inet_sk_state_load(sk);
}

/* Ports, addresses and interface of any entry; no cookie. */
static void ktp_diag_sockid(const struct sock *sk, struct inet_diag_sockid *id)
{
	memset(id, 0, sizeof(*id));
	id->idiag_sport = htons(sk->sk_num);
	id->idiag_dport = sk->sk_dport;
	id->idiag_if = sk->sk_bound_dev_if;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memcpy(id->idiag_src, &sk->sk_v6_rcv_saddr, sizeof(id->idiag_src));
		memcpy(id->idiag_dst, &sk->sk_v6_daddr, sizeof(id->idiag_dst));
		return;
	}
#endif
	id->idiag_src[0] = sk->sk_rcv_saddr;
	id->idiag_dst[0] = sk->sk_daddr;
}

/* A field of the request matches when equal or, in a dump, zero. */
static bool ktp_diag_field(const void *want, const void *have, size_t len,
			   bool exact)
{
	return !memcmp(want, have, len) || (!exact && !memchr_inv(want, 0, len));
}

/* Called with the entry's bucket locked. */
static bool ktp_diag_match(struct sock *sk, const struct ktp_diag_filter *f)
{
	const struct inet_diag_sockid *want = f->id;
	struct inet_diag_sockid id;

	if (!net_eq(sock_net(sk), f->net) ||
	    (f->family != AF_UNSPEC && sk->sk_family != f->family) ||
	    !(f->states & KTPF(ktp_diag_state(sk))))
		return false;

	ktp_diag_sockid(sk, &id);
	if (!ktp_diag_field(&want->idiag_sport, &id.idiag_sport,
			    sizeof(id.idiag_sport), f->exact) ||
	    !ktp_diag_field(&want->idiag_dport, &id.idiag_dport,
			    sizeof(id.idiag_dport), f->exact) ||
	    !ktp_diag_field(want->idiag_src, id.idiag_src,
			    sizeof(id.idiag_src), f->exact) ||
	    !ktp_diag_field(want->idiag_dst, id.idiag_dst,
			    sizeof(id.idiag_dst), f->exact))
		return false;
	return !f->exact || !sock_diag_check_cookie(sk, want->idiag_cookie);
}

/* The message every row starts with, zeroed but for the id. */
static struct inet_diag_msg *ktp_diag_put(struct sock *sk,
					  struct ktp_diag_out *out,
					  struct nlmsghdr **nlh)
{
	struct inet_diag_msg *r;

	*nlh = nlmsg_put(out->skb, out->portid, out->seq, SOCK_DIAG_BY_FAMILY,
			 sizeof(*r), out->flags);
	if (!*nlh)
		return NULL;
	r = nlmsg_data(*nlh);
	memset(r, 0, sizeof(*r));
	r->idiag_family = sk->sk_family;
	ktp_diag_sockid(sk, &r->id);
	sock_diag_save_cookie(sk, r->id.idiag_cookie);
	return r;
}

/* A TIME_WAIT or request entry: the message alone, a minimal row. */
static int ktp_diag_fill_mini(struct sock *sk, struct ktp_diag_out *out)
{
	struct inet_diag_msg *r;
	struct nlmsghdr *nlh;
	unsigned long expires;

	r = ktp_diag_put(sk, out, &nlh);
	if (!r)
		return -EMSGSIZE;
	r->idiag_state = ktp_diag_state(sk);
	if (sk->sk_state == KTP_TIME_WAIT) {
		r->idiag_timer = 3;
		expires = READ_ONCE(ktp_tw(sk)->timer.expires);
	} else {	/* the SYN-ACK timer and its retransmissions */
		r->idiag_timer = 1;
		r->idiag_retrans = ktp_req(sk)->num_timeout;
		expires = READ_ONCE(ktp_req(sk)->timer.expires);
	}
	r->idiag_expires = jiffies_delta_to_msecs(expires - jiffies);
	nlmsg_end(out->skb, nlh);
	return 0;
}

/* idiag_timer as /proc/net/ktp's tr: 1 retransmit, 2 keepalive, 4 persist;
 * idiag_retrans the timeouts or probes of that timer.
 */
static void ktp_diag_timer(const struct sock *sk, struct inet_diag_msg *r)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct ktp_sock *kp = ktp_sk(sk);
	unsigned long expires;

	switch (READ_ONCE(kp->rtx_pending)) {
	case KTP_RTX_RETRANS:
	case KTP_RTX_LOSS_PROBE:	/* as TCP reports its probe */
		r->idiag_timer = 1;
		r->idiag_retrans = READ_ONCE(icsk->icsk_retransmits);
		expires = READ_ONCE(kp->rtx_timeout);
		break;
	case KTP_RTX_PROBE:
		r->idiag_timer = 4;
		r->idiag_retrans = READ_ONCE(icsk->icsk_probes_out);
		expires = READ_ONCE(kp->rtx_timeout);
		break;
	default:
		if (!timer_pending(&kp->keepalive_timer))
			return;
		r->idiag_timer = 2;
		r->idiag_retrans = READ_ONCE(icsk->icsk_probes_out);
		expires = READ_ONCE(kp->keepalive_timer.expires);
	}
	r->idiag_expires = jiffies_delta_to_msecs(expires - jiffies);
}

/* A listener's queues are its accept queue and backlog, as in ss. */
static void ktp_diag_queues(const struct sock *sk, struct inet_diag_msg *r)
{
	const struct ktp_sock *kp = ktp_sk(sk);

	if (r->idiag_state == KTP_LISTEN) {
		r->idiag_rqueue = READ_ONCE(sk->sk_ack_backlog);
		r->idiag_wqueue = READ_ONCE(sk->sk_max_ack_backlog);
		return;
	}
	/* unlocked: the difference may be transiently negative */
	r->idiag_rqueue = max_t(int, READ_ONCE(kp->rcv_nxt) -
				     READ_ONCE(kp->copied_seq), 0);
	r->idiag_wqueue = READ_ONCE(kp->write_seq) - READ_ONCE(kp->snd_una);
}

/* INET_DIAG_INFO and INET_DIAG_CONG, read together under the socket lock. */
static int ktp_diag_put_info(struct sock *sk, const struct ktp_diag_out *out)
{
	char ca[KTP_CA_NAME_MAX] = "";
	struct ktp_info info;
	struct nlattr *attr;
	bool slow;

	slow = lock_sock_fast(sk);
	ktp_fill_info(sk, &info);
	if (ktp_sk(sk)->ca_ops)
		strscpy(ca, ktp_sk(sk)->ca_ops->name, sizeof(ca));
	unlock_sock_fast(sk, slow);

	if (out->ext & KTP_DIAG_EXT(INET_DIAG_INFO)) {
		attr = nla_reserve_64bit(out->skb, INET_DIAG_INFO, sizeof(info),
					 INET_DIAG_PAD);
		if (!attr)
			return -EMSGSIZE;
		memcpy(nla_data(attr), &info, sizeof(info));
	}
	if ((out->ext & KTP_DIAG_EXT(INET_DIAG_CONG)) && ca[0] &&
	    nla_put_string(out->skb, INET_DIAG_CONG, ca))
		return -EMSGSIZE;
	return 0;
}

static int ktp_diag_put_attrs(struct sock *sk, const struct ktp_diag_out *out)
{
	const u8 locked = KTP_DIAG_EXT(INET_DIAG_INFO) |
			  KTP_DIAG_EXT(INET_DIAG_CONG);

	if (nla_put_u8(out->skb, INET_DIAG_SHUTDOWN,
		       READ_ONCE(sk->sk_shutdown)))
		return -EMSGSIZE;
	if ((out->ext & KTP_DIAG_EXT(INET_DIAG_SKMEMINFO)) &&
	    sock_diag_put_meminfo(sk, out->skb, INET_DIAG_SKMEMINFO))
		return -EMSGSIZE;
	if (out->ext & locked)
		return ktp_diag_put_info(sk, out);
	return 0;
}

/* A listener or a connection. May sleep: no bucket lock held. */
static int ktp_diag_fill_sk(struct sock *sk, struct ktp_diag_out *out)
{
	struct inet_diag_msg *r;
	struct nlmsghdr *nlh;

	r = ktp_diag_put(sk, out, &nlh);
	if (!r)
		return -EMSGSIZE;
	r->idiag_state = inet_sk_state_load(sk);
	ktp_diag_timer(sk, r);
	ktp_diag_queues(sk, r);
	r->idiag_uid = from_kuid_munged(out->user_ns, ktp_sk_uid(sk));
	r->idiag_inode = sock_i_ino(sk);
	if (ktp_diag_put_attrs(sk, out)) {
		nlmsg_cancel(out->skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(out->skb, nlh);
	return 0;
}

static int ktp_diag_fill(struct sock *sk, struct ktp_diag_out *out)
{
	if ((1 << sk->sk_state) & (KTPF_TIME_WAIT | KTPF(KTP_NEW_SYN_RECV)))
		return ktp_diag_fill_mini(sk, out);
	return ktp_diag_fill_sk(sk, out);
}

/*
 * Reference up to KTP_DIAG_BATCH matching entries of a locked chain,
 * after the first @skip; @nums[i] is how many matching entries of the
 * chain are done once @batch[i] is.
 */
static unsigned int ktp_diag_grab(struct hlist_nulls_head *chain,
				  const struct ktp_diag_filter *f,
				  unsigned int skip, struct sock **batch,
				  unsigned int *nums)
{
	struct hlist_nulls_node *node;
	unsigned int n = 0, num = 0;
	struct sock *sk;

	sk_nulls_for_each(sk, node, chain) {
		if (!ktp_diag_match(sk, f))
			continue;
		if (num++ < skip || !refcount_inc_not_zero(&sk->sk_refcnt))
			continue;
		nums[n] = num;
		batch[n++] = sk;
		if (n == KTP_DIAG_BATCH)
			break;
	}
	return n;
}

static unsigned int ktp_diag_grab_bucket(const struct ktp_diag_ctx *ctx,
					 const struct ktp_diag_filter *f,
					 struct sock **batch,
					 unsigned int *nums)
{
	struct ktp_tables *t = f->tables;
	struct ktp_hbucket *b;
	unsigned int n;

	if (ctx->part == KTP_DIAG_LISTENING)
		b = &t->lhash[ctx->bucket];
	else
		b = &t->ehash[ctx->bucket];
	if (hlist_nulls_empty(&b->chain))
		return 0;
	spin_lock_bh(&b->lock);
	n = ktp_diag_grab(&b->chain, f, ctx->num, batch, nums);
	spin_unlock_bh(&b->lock);
	return n;
}

/* Fill the rows of a batch and drop its references; 0 or -EMSGSIZE. */
static int ktp_diag_fill_batch(struct ktp_diag_ctx *ctx,
			       struct ktp_diag_out *out, struct sock **batch,
			       const unsigned int *nums, unsigned int n)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < n; i++) {
		if (!err && out->rows < out->max_rows) {
			err = ktp_diag_fill(batch[i], out);
			if (!err) {
				out->rows++;
				ctx->num = nums[i];
			}
		}
		ktp_entry_put(batch[i]);
	}
	return err;
}

static unsigned int ktp_diag_buckets(const struct ktp_tables *t,
				     unsigned int part)
{
	if (part == KTP_DIAG_LISTENING)
		return t->lhash_mask + 1;
	return t->ehash_mask + 1;
}

/*
 * Write rows from @ctx on until the tables end, the skb is full
 * (-EMSGSIZE; @ctx then names the first row not written) or max_rows
 * are out.
 */
static int ktp_diag_walk(struct ktp_diag_ctx *ctx,
			 const struct ktp_diag_filter *f,
			 struct ktp_diag_out *out)
{
	unsigned int nums[KTP_DIAG_BATCH], n, nb;
	struct sock *batch[KTP_DIAG_BATCH];
	int err;

	for (; ctx->part < KTP_DIAG_DONE; ctx->part++, ctx->bucket = 0) {
		nb = ktp_diag_buckets(f->tables, ctx->part);
		for (; ctx->bucket < nb; ctx->bucket++, ctx->num = 0) {
			do {
				if (out->rows >= out->max_rows)
					return 0;
				n = ktp_diag_grab_bucket(ctx, f, batch, nums);
				err = ktp_diag_fill_batch(ctx, out, batch,
							  nums, n);
				if (err)
					return err;
			} while (n == KTP_DIAG_BATCH);
		}
	}
	return 0;
}

static void ktp_diag_filter_init(struct ktp_diag_filter *f,
				 const struct inet_diag_req_v2 *req,
				 struct net *net, bool exact)
{
	f->net = net;
	f->tables = &ktp_pernet(net)->tables;
	f->id = &req->id;
	f->family = ktp_diag_family(req->sdiag_protocol);
	f->exact = exact;
	/* a get names its entry by id alone, as inet_diag's does */
	f->states = exact ? ~0U : req->idiag_states;
}

static int ktp_diag_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct inet_diag_req_v2 *req = nlmsg_data(cb->nlh);
	struct ktp_diag_ctx *ctx = (struct ktp_diag_ctx *)cb->ctx;
	struct ktp_diag_out out = {
		.skb		= skb,
		.user_ns	= sk_user_ns(NETLINK_CB(cb->skb).sk),
		.portid		= NETLINK_CB(cb->skb).portid,
		.seq		= cb->nlh->nlmsg_seq,
		.flags		= NLM_F_MULTI,
		.ext		= req->idiag_ext,
		.max_rows	= UINT_MAX,
	};
	struct ktp_diag_filter f;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	ktp_diag_filter_init(&f, req, sock_net(skb->sk), false);
	ktp_diag_walk(ctx, &f, &out);
	return skb->len;
}

static size_t ktp_diag_msg_size(void)
{
	return NLMSG_ALIGN(sizeof(struct inet_diag_msg)) +
	       nla_total_size(sizeof(u8)) +			/* SHUTDOWN */
	       nla_total_size_64bit(sizeof(struct ktp_info)) +	/* INFO */
	       nla_total_size(KTP_CA_NAME_MAX) +		/* CONG */
	       nla_total_size(SK_MEMINFO_VARS * sizeof(u32));	/* SKMEMINFO */
}

/* A request without NLM_F_DUMP: the one entry id names, or ENOENT. */
static int ktp_diag_get_exact(struct sk_buff *in_skb,
			      const struct nlmsghdr *nlh)
{
	const struct inet_diag_req_v2 *req = nlmsg_data(nlh);
	struct net *net = sock_net(in_skb->sk);
	struct ktp_diag_ctx ctx = {};
	struct ktp_diag_out out = {
		.user_ns	= sk_user_ns(NETLINK_CB(in_skb).sk),
		.portid		= NETLINK_CB(in_skb).portid,
		.seq		= nlh->nlmsg_seq,
		.ext		= req->idiag_ext,
		.max_rows	= 1,
	};
	struct ktp_diag_filter f;
	int err;

	out.skb = nlmsg_new(ktp_diag_msg_size(), GFP_KERNEL);
	if (!out.skb)
		return -ENOMEM;
	ktp_diag_filter_init(&f, req, net, true);
	err = ktp_diag_walk(&ctx, &f, &out);
	if (!out.rows) {
		kfree_skb(out.skb);
		return err ? : -ENOENT;
	}
	return nlmsg_unicast(net->diag_nlsk, out.skb, out.portid);
}

static int ktp_diag_handler_dump(struct sk_buff *skb, struct nlmsghdr *nlh)
{
	const struct inet_diag_req_v2 *req = nlmsg_data(nlh);
	struct netlink_dump_control c = {
		.dump	= ktp_diag_dump,
		.module	= THIS_MODULE,	/* held until the dump is done */
	};

	if (nlmsg_len(nlh) < sizeof(*req))
		return -EINVAL;
	if (ktp_diag_family(req->sdiag_protocol) < 0)
		return -EPROTONOSUPPORT;
	if (nlmsg_find_attr(nlh, sizeof(*req), INET_DIAG_REQ_BYTECODE))
		return -EOPNOTSUPP;
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		return ktp_diag_get_exact(skb, nlh);
	return netlink_dump_start(sock_net(skb->sk)->diag_nlsk, skb, nlh, &c);
}

/* The family is the module's, set at init. */
static struct sock_diag_handler ktp_diag_handler = {
	.owner	= THIS_MODULE,
	.dump	= ktp_diag_handler_dump,
};

/**
 * ktp_diag_init - answer NETLINK_SOCK_DIAG requests for the KTP family
 *
 * Return: 0, or -EBUSY if the family already has a diag handler.
 */
int ktp_diag_init(void)
{
	ktp_diag_handler.family = ktp_family;
	return sock_diag_register(&ktp_diag_handler);
}

/**
 * ktp_diag_exit - stop answering; a dump under way pins the module
 */
void ktp_diag_exit(void)
{
	sock_diag_unregister(&ktp_diag_handler);
}
