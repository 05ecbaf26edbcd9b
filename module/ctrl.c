// SPDX-License-Identifier: GPL-2.0
/*
 * KTP per-netns state: counters, sysctls under net.ktp, the TIME_WAIT
 * death row, and the control socket that sends RSTs for segments no
 * socket owns. Made with each network namespace and torn down with it.
 */
#include <linux/module.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/inet_common.h>

#include "protocol.h"

unsigned int ktp_net_id __read_mostly;

static int ktp_zero;
static int ktp_one = 1;
static int ktp_two = 2;
static int ktp_max_retries = 255;
static int ktp_min_mss_floor = KTP_MIN_SND_MSS;	/* tcp_min_snd_mss's */
static int ktp_min_mss_ceiling = 1024;		/* as TCP's, too */
static int ktp_buf_floor = SOCK_MIN_RCVBUF;	/* the kernel's least */

/* Bounds of the time sysctls, in jiffies (extra1, extra2). */
static int ktp_ms_jiffies = HZ / 1000 ? : 1;	/* 1 ms */
static int ktp_one_s = HZ;
static int ktp_one_hour = 3600 * HZ;
static int ktp_keepidle_max = KTP_MAX_KEEPIDLE * HZ;
static int ktp_delack_max = HZ;			/* 1 s */
static int ktp_rto_max = KTP_RTO_MAX;

/* A time in seconds (proc_dointvec_jiffies()) or milliseconds
 * (proc_dointvec_ms_jiffies()), refused outside [extra1, extra2].
 */
static int ktp_proc_time(KTP_CTL_CONST struct ctl_table *table, int write, void *buffer,
			 size_t *lenp, loff_t *ppos, bool ms)
{
	int val = READ_ONCE(*(int *)table->data), err;
	struct ctl_table tbl = { .data = &val, .maxlen = sizeof(val) };

	if (ms)
		err = proc_dointvec_ms_jiffies(&tbl, write, buffer, lenp, ppos);
	else
		err = proc_dointvec_jiffies(&tbl, write, buffer, lenp, ppos);
	if (!write || err)
		return err;
	if (val < *(int *)table->extra1 || val > *(int *)table->extra2)
		return -EINVAL;
	WRITE_ONCE(*(int *)table->data, val);
	return 0;
}

static int ktp_proc_secs(KTP_CTL_CONST struct ctl_table *table, int write, void *buffer,
			 size_t *lenp, loff_t *ppos)
{
	return ktp_proc_time(table, write, buffer, lenp, ppos, false);
}

static int ktp_proc_ms(KTP_CTL_CONST struct ctl_table *table, int write, void *buffer,
		       size_t *lenp, loff_t *ppos)
{
	return ktp_proc_time(table, write, buffer, lenp, ppos, true);
}

/* net.ktp.rmem and wmem: min, default and max, each at least the
 * kernel's smallest buffer, in that order, or the write is refused.
 */
static int ktp_proc_buf_triple(KTP_CTL_CONST struct ctl_table *table, int write,
			       void *buffer, size_t *lenp, loff_t *ppos)
{
	int val[3], err;
	struct ctl_table tbl = {
		.data	= val,
		.maxlen	= sizeof(val),
		.extra1	= &ktp_buf_floor,
		.extra2	= table->extra2,
	};

	memcpy(val, table->data, sizeof(val));
	err = proc_dointvec_minmax(&tbl, write, buffer, lenp, ppos);
	if (!write || err)
		return err;
	if (val[0] > val[1] || val[1] > val[2])
		return -EINVAL;
	memcpy(table->data, val, sizeof(val));
	return 0;
}

/* net.ktp.congestion_control: only a registered algorithm is taken. */
static int ktp_proc_congestion(KTP_CTL_CONST struct ctl_table *table, int write,
			       void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ktp_net *kn = container_of(table->data, struct ktp_net,
					  congestion_control);
	char val[KTP_CA_NAME_MAX];
	struct ctl_table tbl = { .data = val, .maxlen = sizeof(val) };
	int err;

	spin_lock_bh(&kn->ca_lock);
	strscpy(val, kn->congestion_control, sizeof(val));
	spin_unlock_bh(&kn->ca_lock);
	err = proc_dostring(&tbl, write, buffer, lenp, ppos);
	if (!write || err)
		return err;
	if (!ktp_ca_known(val))
		return -ENOENT;
	spin_lock_bh(&kn->ca_lock);
	strscpy(kn->congestion_control, val, sizeof(kn->congestion_control));
	spin_unlock_bh(&kn->ca_lock);
	return 0;
}

/* net.ktp.available_congestion_control, read only. */
static int ktp_proc_available(KTP_CTL_CONST struct ctl_table *table, int write,
			      void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table tbl = { .maxlen = 128 };
	int err;

	tbl.data = kmalloc(tbl.maxlen, GFP_KERNEL);
	if (!tbl.data)
		return -ENOMEM;
	ktp_ca_available(tbl.data, tbl.maxlen);
	err = proc_dostring(&tbl, write, buffer, lenp, ppos);
	kfree(tbl.data);
	return err;
}

/* Templates: .data points into init_net's ktp_net and is rebased for
 * every other namespace, as mptcp's ctrl.c does.
 */
static struct ctl_table ktp_sysctl_template[] = {
	{
		/* SYNs sent after the first before connect() fails */
		.procname	= "syn_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_max_retries,
	},
	{
		/* SYN-ACKs a listener resends for one request; the
		 * kernel's request timer takes 0 for "the default", so
		 * 0 is refused rather than silently become 5
		 */
		.procname	= "synack_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_one,
		.extra2		= &ktp_max_retries,
	},
	{
		/* RTOs in a row before an established connection fails */
		.procname	= "retries2",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_max_retries,
	},
	{
		/* seconds an orphan waits in FIN_WAIT2 for the peer's FIN */
		.procname	= "fin_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_secs,
		.extra1		= &ktp_one_s,
		.extra2		= &ktp_one_hour,
	},
	{
		/* seconds a TIME_WAIT entry lives (2 MSL) */
		.procname	= "tw_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_secs,
		.extra1		= &ktp_one_s,
		.extra2		= &ktp_one_hour,
	},
	{
		/* milliseconds: the RTO never goes below this */
		.procname	= "rto_min",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_ms,
		.extra1		= &ktp_ms_jiffies,
		.extra2		= &ktp_rto_max,
	},
	{
		/* seconds idle before the first keepalive probe */
		.procname	= "keepalive_time",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_secs,
		.extra1		= &ktp_one_s,
		.extra2		= &ktp_keepidle_max,
	},
	{
		/* seconds between keepalive probes */
		.procname	= "keepalive_intvl",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_secs,
		.extra1		= &ktp_one_s,
		.extra2		= &ktp_keepidle_max,
	},
	{
		/* unanswered keepalive probes before ETIMEDOUT */
		.procname	= "keepalive_probes",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_one,
		.extra2		= &ktp_max_retries,
	},
	{
		/* milliseconds an ACK of in-order data may wait; 0: never */
		.procname	= "delack",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_ms,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_delack_max,
	},
	{
		/* bytes: receive buffer min, default, max; new sockets
		 * start at max (no auto-tuning yet)
		 */
		.procname	= "rmem",
		.maxlen		= sizeof(int) * 3,
		.mode		= 0644,
		.proc_handler	= ktp_proc_buf_triple,
	},
	{
		/* bytes: send buffer min, default, max, as rmem */
		.procname	= "wmem",
		.maxlen		= sizeof(int) * 3,
		.mode		= 0644,
		.proc_handler	= ktp_proc_buf_triple,
	},
	{
		/* 0 or 1: offer and accept window scaling (RFC 7323) */
		.procname	= "window_scaling",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_one,
	},
	{
		/* 0 or 1: offer and accept SACK (RFC 2018) */
		.procname	= "sack",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_one,
	},
	{
		/* algorithm of new sockets: "cubic" or "reno" */
		.procname	= "congestion_control",
		.maxlen		= KTP_CA_NAME_MAX,
		.mode		= 0644,
		.proc_handler	= ktp_proc_congestion,
	},
	{
		.procname	= "available_congestion_control",
		.maxlen		= 128,
		.mode		= 0444,
		.proc_handler	= ktp_proc_available,
	},
	{
		/* bytes: the least MSS we send with, whatever the peer
		 * announced (tcp_min_snd_mss)
		 */
		.procname	= "min_snd_mss",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_min_mss_floor,
		.extra2		= &ktp_min_mss_ceiling,
	},
	{
		/* milliseconds: at most one answer per socket to invalid
		 * segments (out of window, challenge, TIME_WAIT) per this
		 */
		.procname	= "invalid_ratelimit",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ktp_proc_ms,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_one_hour,
	},
	{
		/* RTOs or window probes of an orphan before it is reset;
		 * 0: 8 (tcp_orphan_retries)
		 */
		.procname	= "orphan_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_max_retries,
	},
	{
		/* challenge ACKs a second for the whole namespace, on top
		 * of invalid_ratelimit's per socket; each second's budget
		 * is drawn at random from [limit/2, limit*3/2]; 0: none
		 */
		.procname	= "challenge_ack_limit",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
	},
	{
		/* SYN cookies (syncookies.c): 0 never, 1 when a
		 * listener's SYN queue is full, 2 always
		 */
		.procname	= "syncookies",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_two,
	},
	{
		/* 0 or 1: tail loss probes (RFC 8985 7), as
		 * tcp_early_retrans 3 turns TCP's on
		 */
		.procname	= "tlp",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_one,
	},
	{
		/* 0 or 1: offer and accept timestamps (RFC 7323), as
		 * tcp_timestamps 1 (always with a random offset)
		 */
		.procname	= "timestamps",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_one,
	},
	{
		/* 0 or 1: F-RTO (RFC 5682) after an RTO, as tcp_frto */
		.procname	= "frto",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero,
		.extra2		= &ktp_one,
	},
	{}
};

static void ktp_net_defaults(struct ktp_net *kn)
{
	kn->syn_retries = 6;		/* as tcp_syn_retries */
	kn->synack_retries = 5;		/* as tcp_synack_retries */
	kn->retries2 = 15;		/* as tcp_retries2 */
	kn->fin_timeout = 60 * HZ;	/* as tcp_fin_timeout */
	kn->tw_timeout = 60 * HZ;	/* as TCP_TIMEWAIT_LEN */
	kn->rto_min = HZ / 5;		/* as TCP_RTO_MIN, 200 ms */
	kn->delack = HZ / 25;		/* as TCP_DELACK_MIN, 40 ms */
	kn->keepalive_time = 7200 * HZ;	/* as tcp_keepalive_time */
	kn->keepalive_intvl = 75 * HZ;	/* as tcp_keepalive_intvl */
	kn->keepalive_probes = 9;	/* as tcp_keepalive_probes */
	memcpy(kn->rmem, ktp_sysctl_rmem, sizeof(kn->rmem));
	memcpy(kn->wmem, ktp_sysctl_wmem, sizeof(kn->wmem));
	kn->window_scaling = 1;		/* as tcp_window_scaling */
	kn->sack = 1;			/* as tcp_sack */
	kn->min_snd_mss = KTP_MIN_SND_MSS;	/* as tcp_min_snd_mss */
	kn->invalid_ratelimit = HZ / 2;	/* as tcp_invalid_ratelimit */
	kn->orphan_retries = 0;		/* as tcp_orphan_retries */
	kn->challenge_ack_limit = 1000;	/* tcp_challenge_ack_limit's, 5.x */
	kn->syncookies = 1;		/* as tcp_syncookies */
	kn->tlp = 1;			/* as tcp_early_retrans 3 */
	kn->timestamps = 1;		/* as tcp_timestamps */
	kn->frto = 1;			/* as tcp_frto */
	spin_lock_init(&kn->ca_lock);
	strscpy(kn->congestion_control, "cubic",
		sizeof(kn->congestion_control));	/* as TCP's */
}

static int ktp_sysctl_register(struct net *net, struct ktp_net *kn)
{
	struct ctl_table *table;

	table = kmemdup(ktp_sysctl_template, sizeof(ktp_sysctl_template),
			GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	table[0].data = &kn->syn_retries;
	table[1].data = &kn->synack_retries;
	table[2].data = &kn->retries2;
	table[3].data = &kn->fin_timeout;
	table[4].data = &kn->tw_timeout;
	table[5].data = &kn->rto_min;
	table[6].data = &kn->keepalive_time;
	table[7].data = &kn->keepalive_intvl;
	table[8].data = &kn->keepalive_probes;
	table[9].data = &kn->delack;
	table[10].data = kn->rmem;
	table[11].data = kn->wmem;
	table[12].data = &kn->window_scaling;
	table[13].data = &kn->sack;
	table[14].data = kn->congestion_control;
	/* [15] available_congestion_control has no data */
	table[16].data = &kn->min_snd_mss;
	table[17].data = &kn->invalid_ratelimit;
	table[18].data = &kn->orphan_retries;
	table[19].data = &kn->challenge_ack_limit;
	table[20].data = &kn->syncookies;
	table[21].data = &kn->tlp;
	table[22].data = &kn->timestamps;
	table[23].data = &kn->frto;

	kn->sysctl_hdr = ktp_register_sysctl(net, "net/ktp", table,
					     ARRAY_SIZE(ktp_sysctl_template) - 1);
	if (!kn->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

static void ktp_sysctl_unregister(struct ktp_net *kn)
{
	const struct ctl_table *table = kn->sysctl_hdr->ctl_table_arg;

	unregister_net_sysctl_table(kn->sysctl_hdr);
	kfree(table);
}

static int __net_init ktp_net_init(struct net *net)
{
	struct ktp_net *kn = ktp_pernet(net);
	int err;

	ktp_net_defaults(kn);
	err = ktp_tables_init(net);
	if (err)
		return err;
	err = ktp_mib_alloc(kn);
	if (err)
		goto out_free_tables;
	err = inet_ctl_sock_create(&kn->rst_sk, PF_INET, SOCK_RAW,
				   ktp_ipproto, net);
	if (err)
		goto out_free_mib;
#if IS_ENABLED(CONFIG_IPV6)
	err = inet_ctl_sock_create(&kn->rst_sk6, PF_INET6, SOCK_RAW,
				   ktp_ipproto, net);
	if (err)
		goto out_destroy_rst_sk;
#endif
	err = ktp_sysctl_register(net, kn);
	if (err)
		goto out_destroy_rst_sk6;
	err = ktp_proc_init_net(net);
	if (err)
		goto out_unregister_sysctl;
	return 0;

out_unregister_sysctl:
	ktp_sysctl_unregister(kn);
out_destroy_rst_sk6:
#if IS_ENABLED(CONFIG_IPV6)
	inet_ctl_sock_destroy(kn->rst_sk6);
out_destroy_rst_sk:
#endif
	inet_ctl_sock_destroy(kn->rst_sk);
out_free_mib:
	ktp_mib_free(kn);
out_free_tables:
	ktp_tables_exit(net);
	return err;
}

static void __net_exit ktp_net_exit(struct net *net)
{
	struct ktp_net *kn = ktp_pernet(net);

	ktp_proc_exit_net(net);
	ktp_sysctl_unregister(kn);
#if IS_ENABLED(CONFIG_IPV6)
	inet_ctl_sock_destroy(kn->rst_sk6);
#endif
	inet_ctl_sock_destroy(kn->rst_sk);
}

/* TIME_WAIT and request entries of dying namespaces go, their timers
 * stopped, before the tables and counters do.
 */
static void __net_exit ktp_net_exit_batch(struct list_head *net_exit_list)
{
	struct net *net;

	list_for_each_entry(net, net_exit_list, exit_list) {
		ktp_tables_purge(net);
		ktp_tables_exit(net);
		ktp_mib_free(ktp_pernet(net));
	}
}

static struct pernet_operations ktp_net_ops = {
	.init		= ktp_net_init,
	.exit		= ktp_net_exit,
	.exit_batch	= ktp_net_exit_batch,
	.id		= &ktp_net_id,
	.size		= sizeof(struct ktp_net),
};

int ktp_ctrl_init(void)
{
	return register_pernet_subsys(&ktp_net_ops);
}

void ktp_ctrl_exit(void)
{
	unregister_pernet_subsys(&ktp_net_ops);
}
