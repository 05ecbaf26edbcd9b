// SPDX-License-Identifier: GPL-2.0
/*
 * KTP: a TCP-like reliable transport in its own protocol family.
 *
 * This file is the family's glue: module parameters, module init and exit,
 * and create(), which builds the socket behind socket(AF_KTP, ...).
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <net/inet_common.h>
#include <net/ipv6.h>
#include <net/protocol.h>
#include <linux/bpf-cgroup.h>

#include "protocol.h"

int ktp_family = AF_KTP;
module_param_named(family, ktp_family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 18)");

int ktp_ipproto = IPPROTO_KTP;
module_param_named(ipproto, ktp_ipproto, int, 0444);
MODULE_PARM_DESC(ipproto, "IP protocol number of KTP segments (default 253)");

const struct proto_ops ktp_stream_ops = {
	.family		= PF_KTP,
	.owner		= THIS_MODULE,
	.release	= inet_release,
	.bind		= inet_bind,
	.connect	= inet_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet_getname,
	.poll		= ktp_poll,
	.ioctl		= inet_ioctl,
	.gettstamp	= sock_gettstamp,
	.listen		= ktp_listen,
	.shutdown	= inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= inet_sendmsg,
	.recvmsg	= inet_recvmsg,
	.mmap		= sock_no_mmap,
};

#if IS_ENABLED(CONFIG_IPV6)
/* KTPPROTO_KTP6: struct sockaddr_in6 at bind, getname and release. */
const struct proto_ops ktp6_stream_ops = {
	.family		= PF_KTP,
	.owner		= THIS_MODULE,
	.release	= inet6_release,
	.bind		= inet6_bind,
	.connect	= inet_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet6_getname,
	.poll		= ktp_poll,
	.ioctl		= inet6_ioctl,
	.gettstamp	= sock_gettstamp,
	.listen		= ktp_listen,
	.shutdown	= inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= inet_sendmsg,
	.recvmsg	= inet_recvmsg,
	.mmap		= sock_no_mmap,
};
#endif

/* What inet_create() does for an inet socket, for ours. */
static void ktp_inet_init(struct sock *sk, struct net *net)
{
	struct inet_sock *inet = inet_sk(sk);

	ktp_inet_init_flags(sk);
	if (READ_ONCE(net->ipv4.sysctl_ip_no_pmtu_disc))
		inet->pmtudisc = IP_PMTUDISC_DONT;
	else
		inet->pmtudisc = IP_PMTUDISC_WANT;
	atomic_set(&inet->inet_id, 0);
	inet->uc_ttl = -1;
	inet->mc_ttl = 1;
	inet->mc_index = 0;
	inet->mc_list = NULL;
	inet->rcv_tos = 0;
	sk->sk_destruct = inet_sock_destruct;
	sk->sk_protocol = ktp_ipproto;
	sk->sk_backlog_rcv = sk->sk_prot->backlog_rcv;
	sk->sk_txrehash = READ_ONCE(net->core.sysctl_txrehash);
}

static int ktp_create(struct net *net, struct socket *sock, int protocol,
		      int kern)
{
	const struct proto_ops *ops = &ktp_stream_ops;
	struct proto *prot = &ktp_prot;
	int family = PF_INET;
	struct sock *sk;
	int err;

	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	switch (protocol) {
	case KTPPROTO_KTP:
		break;
#if IS_ENABLED(CONFIG_IPV6)
	case KTPPROTO_KTP6:
		ops = &ktp6_stream_ops;
		prot = &ktpv6_prot;
		family = PF_INET6;
		break;
#endif
	default:
		return -EPROTONOSUPPORT;
	}

	sock->state = SS_UNCONNECTED;
	sk = sk_alloc(net, family, GFP_KERNEL, prot, kern);
	if (!sk)
		return -ENOBUFS;

	sock->ops = ops;
	sock_init_data(sock, sk);
	ktp_inet_init(sk, net);
#if IS_ENABLED(CONFIG_IPV6)
	if (family == PF_INET6)
		ktp_v6_init_sock_generic(sk);
#endif

	err = sk->sk_prot->init(sk);
	if (err)
		goto out_release;
	/* cgroup sock programs see a user's new socket, as inet_create()
	 * shows them TCP's (BPF_CGROUP_INET_SOCK_CREATE)
	 */
	if (!kern) {
		err = BPF_CGROUP_RUN_PROG_INET_SOCK(sk);
		if (err)
			goto out_release;
	}
	return 0;

out_release:
	sk_common_release(sk);
	sock->sk = NULL;
	return err;
}

static struct net_proto_family ktp_family_ops = {
	.family	= PF_KTP,
	.owner	= THIS_MODULE,
	.create	= ktp_create,
};

/*
 * Registered last, so that rmmod runs it first, for every namespace, while
 * all that a connection uses is still there: the orphans, which do not pin
 * the module (ktp_orphan_count_inc()), tell their peers and go. A dying
 * namespace has none left, as each one pins its namespace.
 */
static struct pernet_operations ktp_orphan_ops = {
	.exit	= ktp_orphans_abort,
};

/*
 * rmmod: wait until the last orphan's memory is back in its cache. A
 * segment still queued somewhere keeps its socket's memory, and
 * sk_prot_free() gives back the module reference that ktp_destroy_dead()
 * took only once the memory is back. try_stop_module() left the count
 * at zero, which module_refcount() reads as -1.
 */
static void ktp_wait_orphans_freed(void)
{
	unsigned int waited = 0;

	while (module_refcount(THIS_MODULE) >= 0) {
		msleep(20);
		waited += 20;
		if (waited % 10000 == 0)
			pr_warn("rmmod: waiting for %d sockets to be freed\n",
				module_refcount(THIS_MODULE) + 1);
	}
	/* The CPU whose sock_put() freed the last one may still run the
	 * rest of a timer handler of ours: it does so with preemption off.
	 */
	synchronize_rcu();
}

static int __init ktp_init(void)
{
	int err;

	if (ktp_family <= 0 || ktp_family >= NPROTO ||
	    ktp_ipproto <= 0 || ktp_ipproto >= MAX_INET_PROTOS)
		return -EINVAL;
	ktp_family_ops.family = ktp_family;

	err = ktp_hash_init();
	if (err)
		return err;
	err = ktp_mem_init();
	if (err)
		goto out_hash_exit;
	err = ktp_cong_init();
	if (err)
		goto out_mem_exit;
	err = proto_register(&ktp_prot, 1);
	if (err)
		goto out_cong_exit;
	err = ktp_ctrl_init();
	if (err)
		goto out_unregister_proto;
	err = ktp_ipv4_init();
	if (err)
		goto out_ctrl_exit;
	err = ktp_ipv6_init();
	if (err)
		goto out_ipv4_exit;
	ktp_offload_init();
	err = sock_register(&ktp_family_ops);
	if (err)
		goto out_offload_exit;
	err = ktp_diag_init();
	if (err)
		goto out_sock_unregister;
	err = register_pernet_subsys(&ktp_orphan_ops);
	if (err)
		goto out_diag_exit;

	ktp_plant_bug();
	pr_info("KTP registered: family %d, IP protocol %d\n",
		ktp_family, ktp_ipproto);
	return 0;

out_diag_exit:
	ktp_diag_exit();
out_sock_unregister:
	sock_unregister(ktp_family);
out_offload_exit:
	ktp_offload_exit();
	ktp_ipv6_exit();
out_ipv4_exit:
	ktp_ipv4_exit();
out_ctrl_exit:
	ktp_ctrl_exit();
out_unregister_proto:
	proto_unregister(&ktp_prot);
out_cong_exit:
	ktp_cong_exit();
out_mem_exit:
	ktp_mem_exit();
out_hash_exit:
	ktp_hash_exit();
	return err;
}

static void __exit ktp_exit(void)
{
	unregister_pernet_subsys(&ktp_orphan_ops);
	ktp_wait_orphans_freed();
	ktp_diag_exit();
	sock_unregister(ktp_family);
	ktp_offload_exit();
	ktp_ipv6_exit();
	ktp_ipv4_exit();
	ktp_ctrl_exit();
	proto_unregister(&ktp_prot);
	ktp_cong_exit();
	ktp_mem_exit();
	ktp_hash_exit();
}

module_init(ktp_init);
module_exit(ktp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KTP: a TCP-like reliable transport");
MODULE_ALIAS_NETPROTO(PF_KTP);
