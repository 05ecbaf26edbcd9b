// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/ktp and /proc/net/ktp6: one line per KTP socket of the reader's
 * namespace and of that family, in the layout of /proc/net/tcp and tcp6,
 * so that the tools and habits built on those files work: listeners first,
 * then every entry of the established hash (full connections, request
 * entries in SYN_RECV, TIME_WAIT entries).
 *
 * Locking: the walk holds the lock of the bucket it is in from the moment
 * it returns an entry until it moves past it (->next or ->stop), so the
 * entry cannot be freed while it is shown, as tcp_ipv4.c's walk does. A
 * listening bucket lock is taken with spin_lock(), as the listen hash is
 * only changed in process context with BH off; an established bucket with
 * spin_lock_bh(), as softirq input changes it.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "protocol.h"

enum ktp_seq_part {
	KTP_SEQ_LISTENING,
	KTP_SEQ_ESTABLISHED,
};

struct ktp_iter_state {
	struct seq_net_private p;	/* must be first: seq_file_net() */
	enum ktp_seq_part part;
	unsigned int bucket;
	int offset;			/* matches before this one in bucket */
	int num;			/* the "sl" of the next line */
	loff_t last_pos;		/* *pos of the entry we stand at */
};

static unsigned short ktp_seq_family(struct seq_file *seq)
{
	return (unsigned long)pde_data(file_inode(seq->file));
}

static bool ktp_seq_match(struct seq_file *seq, const struct sock *sk)
{
	return sk->sk_family == ktp_seq_family(seq) &&
	       net_eq(sock_net(sk), seq_file_net(seq));
}

/* The first match at or after @sk in the bucket @sk is in. */
static struct sock *ktp_seq_from(struct seq_file *seq, struct sock *sk)
{
	struct hlist_nulls_node *node;

	sk_nulls_for_each_from(sk, node) {
		if (ktp_seq_match(seq, sk))
			return sk;
	}
	return NULL;
}

static struct ktp_tables *ktp_seq_tables(struct seq_file *seq)
{
	return &ktp_pernet(seq_file_net(seq))->tables;
}

/* The bucket the walk stands in, listening or established. */
static struct ktp_hbucket *ktp_seq_bucket(struct seq_file *seq)
{
	struct ktp_iter_state *st = seq->private;
	struct ktp_tables *t = ktp_seq_tables(seq);

	if (st->part == KTP_SEQ_LISTENING)
		return &t->lhash[st->bucket];
	return &t->ehash[st->bucket];
}

/* The first match from the bucket the walk stands in on, its bucket
 * left locked; NULL at the end of the part. The buckets are looked up
 * once: most are empty, and each net_generic() is an RCU dereference
 * that a lockdep kernel checks, which made a read of an idle namespace's
 * file cost tens of milliseconds on the debug kernel.
 */
static struct sock *ktp_seq_part_first(struct seq_file *seq,
				       struct ktp_hbucket *buckets,
				       unsigned int mask)
{
	struct ktp_iter_state *st = seq->private;
	struct ktp_hbucket *b;
	struct sock *sk;

	st->offset = 0;
	for (; st->bucket <= mask; st->bucket++) {
		b = &buckets[st->bucket];
		if (hlist_nulls_empty(&b->chain))
			continue;
		spin_lock_bh(&b->lock);
		sk = ktp_seq_from(seq, sk_nulls_head(&b->chain));
		if (sk)
			return sk;
		spin_unlock_bh(&b->lock);
	}
	return NULL;
}

static struct sock *ktp_listening_first(struct seq_file *seq)
{
	struct ktp_tables *t = ktp_seq_tables(seq);

	return ktp_seq_part_first(seq, t->lhash, t->lhash_mask);
}

static struct sock *ktp_listening_next(struct seq_file *seq, struct sock *cur)
{
	struct ktp_iter_state *st = seq->private;
	struct sock *sk;

	sk = ktp_seq_from(seq, sk_nulls_next(cur));
	if (sk) {
		st->offset++;
		return sk;
	}
	spin_unlock_bh(&ktp_seq_bucket(seq)->lock);
	st->bucket++;
	return ktp_listening_first(seq);
}

static struct sock *ktp_established_first(struct seq_file *seq)
{
	struct ktp_tables *t = ktp_seq_tables(seq);

	return ktp_seq_part_first(seq, t->ehash, t->ehash_mask);
}

static struct sock *ktp_established_next(struct seq_file *seq,
					 struct sock *cur)
{
	struct ktp_iter_state *st = seq->private;
	struct sock *sk;

	sk = ktp_seq_from(seq, sk_nulls_next(cur));
	if (sk) {
		st->offset++;
		return sk;
	}
	spin_unlock_bh(&ktp_seq_bucket(seq)->lock);
	st->bucket++;
	return ktp_established_first(seq);
}

/* The entry after @cur (or the first, for NULL), across both parts. */
static struct sock *ktp_seq_next_sk(struct seq_file *seq, struct sock *cur)
{
	struct ktp_iter_state *st = seq->private;
	struct sock *sk = NULL;

	if (st->part == KTP_SEQ_LISTENING) {
		sk = cur ? ktp_listening_next(seq, cur) :
			   ktp_listening_first(seq);
		if (sk)
			return sk;
		st->part = KTP_SEQ_ESTABLISHED;
		st->bucket = 0;
		cur = NULL;
	}
	return cur ? ktp_established_next(seq, cur) :
		     ktp_established_first(seq);
}

/* The first entry of the bucket the walk stands in, across parts. */
static struct sock *ktp_seq_bucket_first(struct seq_file *seq)
{
	struct ktp_iter_state *st = seq->private;
	struct sock *sk;

	if (st->part == KTP_SEQ_LISTENING) {
		sk = ktp_listening_first(seq);
		if (sk)
			return sk;
		st->part = KTP_SEQ_ESTABLISHED;
		st->bucket = 0;
	}
	return ktp_established_first(seq);
}

/* Where the last read stopped, as tcp_seek_last_pos(): back into its
 * bucket and past the entries already shown there, so that reading the
 * whole file costs one walk, not one per page of output.
 */
static struct sock *ktp_seq_resume(struct seq_file *seq)
{
	struct ktp_iter_state *st = seq->private;
	int offset = st->offset;
	struct sock *sk;

	sk = ktp_seq_bucket_first(seq);
	while (sk && offset--)
		sk = ktp_seq_next_sk(seq, sk);
	return sk;
}

static void *ktp_seq_start(struct seq_file *seq, loff_t *pos)
{
	struct ktp_iter_state *st = seq->private;
	struct sock *sk;
	loff_t left;

	if (*pos && *pos == st->last_pos) {
		sk = ktp_seq_resume(seq);
		if (sk)
			return sk;
	}
	st->part = KTP_SEQ_LISTENING;
	st->bucket = 0;
	st->offset = 0;
	st->num = 0;
	st->last_pos = 0;
	if (!*pos)
		return SEQ_START_TOKEN;
	/* A reader that seeks: walk from the start to its position. */
	sk = ktp_seq_next_sk(seq, NULL);
	for (left = *pos - 1; sk && left; left--) {
		st->num++;
		sk = ktp_seq_next_sk(seq, sk);
	}
	st->last_pos = *pos;
	return sk;
}

static void *ktp_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct ktp_iter_state *st = seq->private;

	st->last_pos = ++*pos;
	if (v == SEQ_START_TOKEN)
		return ktp_seq_next_sk(seq, NULL);
	st->num++;
	return ktp_seq_next_sk(seq, v);
}

static void ktp_seq_stop(struct seq_file *seq, void *v)
{
	if (!v || v == SEQ_START_TOKEN)
		return;
	spin_unlock_bh(&ktp_seq_bucket(seq)->lock);
}

/* timer column: 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 persist. */
static void ktp_seq_show_sock(struct seq_file *f, struct sock *sk, int i)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct inet_sock *inet = inet_sk(sk);
	const struct ktp_sock *kp = ktp_sk(sk);
	unsigned long expires = jiffies;
	int timer = 0, state, rx_queue;

	if (kp->rtx_pending == KTP_RTX_RETRANS ||
	    kp->rtx_pending == KTP_RTX_LOSS_PROBE) {
		timer = 1;
		expires = kp->rtx_timeout;
	} else if (kp->rtx_pending == KTP_RTX_PROBE) {
		timer = 4;
		expires = kp->rtx_timeout;
	} else if (timer_pending(&kp->keepalive_timer)) {
		timer = 2;
		expires = kp->keepalive_timer.expires;
	}

	state = inet_sk_state_load(sk);
	if (state == KTP_LISTEN)
		rx_queue = READ_ONCE(sk->sk_ack_backlog);
	else	/* unlocked: the difference may be transiently negative */
		rx_queue = max_t(int, READ_ONCE(kp->rcv_nxt) -
				      READ_ONCE(kp->copied_seq), 0);

	if (sk->sk_family == AF_INET)
		seq_printf(f, "%4d: %08X:%04X %08X:%04X ", i,
			   inet->inet_rcv_saddr, ntohs(inet->inet_sport),
			   inet->inet_daddr, ntohs(inet->inet_dport));
#if IS_ENABLED(CONFIG_IPV6)
	else
		seq_printf(f, "%4d: %08X%08X%08X%08X:%04X %08X%08X%08X%08X:%04X ",
			   i, sk->sk_v6_rcv_saddr.s6_addr32[0],
			   sk->sk_v6_rcv_saddr.s6_addr32[1],
			   sk->sk_v6_rcv_saddr.s6_addr32[2],
			   sk->sk_v6_rcv_saddr.s6_addr32[3],
			   ntohs(inet->inet_sport),
			   sk->sk_v6_daddr.s6_addr32[0],
			   sk->sk_v6_daddr.s6_addr32[1],
			   sk->sk_v6_daddr.s6_addr32[2],
			   sk->sk_v6_daddr.s6_addr32[3],
			   ntohs(inet->inet_dport));
#endif
	seq_printf(f, "%02X %08X:%08X %02X:%08lX %08X %5u %8d %llu %d %pK %lu %u %u %d",
		   state, READ_ONCE(kp->write_seq) - READ_ONCE(kp->snd_una),
		   rx_queue, timer,
		   jiffies_delta_to_clock_t(expires - jiffies),
		   icsk->icsk_retransmits,
		   from_kuid_munged(seq_user_ns(f), ktp_sk_uid(sk)),
		   icsk->icsk_probes_out, (unsigned long long)sock_i_ino(sk),
		   refcount_read(&sk->sk_refcnt), sk,
		   jiffies_to_clock_t(icsk->icsk_rto), 0,
		   READ_ONCE(kp->snd_cwnd),
		   state == KTP_LISTEN ? 0 : (int)READ_ONCE(kp->snd_ssthresh));
}

static void ktp_seq_show_addrs(struct seq_file *f, unsigned short family,
			       const struct sock_common *c, int i)
{
	if (family == AF_INET)
		seq_printf(f, "%4d: %08X:%04X %08X:%04X ", i,
			   c->skc_rcv_saddr, c->skc_num,
			   c->skc_daddr, ntohs(c->skc_dport));
#if IS_ENABLED(CONFIG_IPV6)
	else
		seq_printf(f, "%4d: %08X%08X%08X%08X:%04X %08X%08X%08X%08X:%04X ",
			   i, c->skc_v6_rcv_saddr.s6_addr32[0],
			   c->skc_v6_rcv_saddr.s6_addr32[1],
			   c->skc_v6_rcv_saddr.s6_addr32[2],
			   c->skc_v6_rcv_saddr.s6_addr32[3], c->skc_num,
			   c->skc_v6_daddr.s6_addr32[0],
			   c->skc_v6_daddr.s6_addr32[1],
			   c->skc_v6_daddr.s6_addr32[2],
			   c->skc_v6_daddr.s6_addr32[3],
			   ntohs(c->skc_dport));
#endif
}

/* A request entry: SYN_RECV, the SYN-ACK timer running. */
static void ktp_seq_show_req(struct seq_file *f, const struct ktp_request *req,
			     int i)
{
	long ttd = READ_ONCE(req->timer.expires) - jiffies;

	ktp_seq_show_addrs(f, req->common.skc_family, &req->common, i);
	seq_printf(f, "%02X %08X:%08X %02X:%08lX %08X %5u %8d %d %d %pK",
		   KTP_SYN_RECV, 0, 0, 1, jiffies_delta_to_clock_t(ttd),
		   req->num_timeout,
		   from_kuid_munged(seq_user_ns(f), req->listener->sk_uid),
		   0, 0, 0, req);
}

static void ktp_seq_show_tw(struct seq_file *f, const struct ktp_tw *tw,
			    int i)
{
	long delta = READ_ONCE(tw->timer.expires) - jiffies;

	ktp_seq_show_addrs(f, tw->common.skc_family, &tw->common, i);
	seq_printf(f, "%02X %08X:%08X %02X:%08lX %08X %5d %8d %d %d %pK",
		   KTP_TIME_WAIT, 0, 0, 3, jiffies_delta_to_clock_t(delta),
		   0, 0, 0, 0, refcount_read(&tw->common.skc_refcnt), tw);
}

static int ktp_seq_show(struct seq_file *seq, void *v)
{
	struct ktp_iter_state *st = seq->private;
	struct sock *sk = v;

	if (v == SEQ_START_TOKEN) {
		if (ktp_seq_family(seq) == AF_INET)
			seq_puts(seq, "  sl  local_address rem_address   ");
		else
			seq_puts(seq, "  sl  local_address                         remote_address                        ");
		seq_puts(seq, "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
		return 0;
	}
	if (sk->sk_state == KTP_TIME_WAIT)
		ktp_seq_show_tw(seq, ktp_tw(sk), st->num);
	else if (sk->sk_state == KTP_NEW_SYN_RECV)
		ktp_seq_show_req(seq, ktp_req(sk), st->num);
	else
		ktp_seq_show_sock(seq, sk, st->num);
	seq_putc(seq, '\n');
	return 0;
}

static const struct seq_operations ktp_seq_ops = {
	.start	= ktp_seq_start,
	.next	= ktp_seq_next,
	.stop	= ktp_seq_stop,
	.show	= ktp_seq_show,
};

/**
 * ktp_proc_init_net - /proc/net/ktp_snmp, ktp and ktp6 of a namespace
 * @net: the namespace
 *
 * Return: 0 or -ENOMEM.
 */
int ktp_proc_init_net(struct net *net)
{
	if (!proc_create_net_single("ktp_snmp", 0444, net->proc_net,
				    ktp_snmp_seq_show, NULL))
		return -ENOMEM;
	if (!proc_create_net_data("ktp", 0444, net->proc_net, &ktp_seq_ops,
				  sizeof(struct ktp_iter_state),
				  (void *)(unsigned long)AF_INET))
		goto out_remove_snmp;
#if IS_ENABLED(CONFIG_IPV6)
	if (!proc_create_net_data("ktp6", 0444, net->proc_net, &ktp_seq_ops,
				  sizeof(struct ktp_iter_state),
				  (void *)(unsigned long)AF_INET6))
		goto out_remove_ktp;
#endif
	return 0;

#if IS_ENABLED(CONFIG_IPV6)
out_remove_ktp:
	remove_proc_entry("ktp", net->proc_net);
#endif
out_remove_snmp:
	remove_proc_entry("ktp_snmp", net->proc_net);
	return -ENOMEM;
}

/**
 * ktp_proc_exit_net - remove what ktp_proc_init_net() created
 * @net: the namespace
 */
void ktp_proc_exit_net(struct net *net)
{
#if IS_ENABLED(CONFIG_IPV6)
	remove_proc_entry("ktp6", net->proc_net);
#endif
	remove_proc_entry("ktp", net->proc_net);
	remove_proc_entry("ktp_snmp", net->proc_net);
}
