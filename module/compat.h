/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTP on every kernel from Debian 12's 6.1 to the newest Debian ships: the
 * API drift, all of it here. Each block names the kernels on each side of
 * its change. Where a distribution backports a change (Debian's 6.12.117
 * moved ipv6_fl_list), LINUX_VERSION_CODE cannot tell, so a test compile
 * against the headers decides: the HAVE_* macros of compat_probe.h,
 * written by scripts/compat-probe.sh at build time.
 *
 * protocol.h includes this first; no other file tests a kernel version.
 */
#ifndef __KTP_COMPAT_H
#define __KTP_COMPAT_H

#include <linux/timer.h>
#include <linux/sysctl.h>
#include <linux/bpf-cgroup.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/inet_common.h>
#include <net/route.h>
#include <net/net_namespace.h>
#include <net/gro.h>

#include "compat_probe.h"

/* KTP's own forms of the calls whose kernel signature moves; the
 * ktp_proto_*() adapters below give them to struct proto.
 */
int ktp_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags);
struct sock *ktp_accept(struct sock *sk, int flags, int *err, bool kern);
int ktp_ioctl(struct sock *sk, int cmd, int *karg);

/* The oldest kernel KTP supports is 6.1: its timer and socket API. */
#ifndef HAVE_TIMER_DELETE_SYNC
#error "KTP needs Linux 6.1 or newer (timer_delete_sync() is missing)"
#endif

/* <asm/unaligned.h> up to 6.11, <linux/unaligned.h> from 6.12 */
#ifdef HAVE_LINUX_UNALIGNED_H
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* sk_memory_allocated() and friends: <net/sock.h> up to 6.9,
 * <net/proto_memory.h> from 6.10
 */
#ifdef HAVE_PROTO_MEMORY_H
#include <net/proto_memory.h>
#endif

/* from_timer() up to 6.15, timer_container_of() from 6.16 */
#ifndef HAVE_TIMER_CONTAINER_OF
#define timer_container_of(var, callback_timer, timer_fieldname) \
	from_timer(var, callback_timer, timer_fieldname)
#endif

/* A route's device: dst->dev up to 6.15, dst_dev() from 6.16 (and in
 * the stable kernels that took the data-race annotations).
 */
#ifndef HAVE_DST_DEV
static inline struct net_device *dst_dev(const struct dst_entry *dst)
{
	return READ_ONCE(dst->dev);
}
#endif

/* A sysctl handler's table: writable up to 6.10, const from 6.11. */
#ifdef HAVE_CTL_TABLE_CONST
#define KTP_CTL_CONST	const
#else
#define KTP_CTL_CONST
#endif

/**
 * ktp_register_sysctl - register @n entries of @table under @path
 * @net: the namespace
 * @path: "net/ktp"
 * @table: the entries, followed by an empty sentinel
 * @n: entries before the sentinel
 *
 * Up to 6.5 the sentinel ends the table; from 6.6 the count does, and
 * from 6.11 a sentinel that is counted is refused.
 *
 * Return: the header, or NULL.
 */
static inline struct ctl_table_header *
ktp_register_sysctl(struct net *net, const char *path,
		    struct ctl_table *table, size_t n)
{
#ifdef HAVE_REGISTER_NET_SYSCTL_SZ
	return register_net_sysctl_sz(net, path, table, n);
#else
	return register_net_sysctl(net, path, table);
#endif
}

/* inet_sock's flags: bit-fields up to 6.5, bits from 6.6; ipv6_pinfo's
 * multicast flags: bit-fields up to 6.6, bits from 6.7.
 */
static inline void ktp_inet_init_flags(struct sock *sk)
{
#ifdef HAVE_INET_SET_BIT
	inet_set_bit(IS_ICSK, sk);
	inet_clear_bit(NODEFRAG, sk);
	inet_set_bit(MC_LOOP, sk);
	inet_set_bit(MC_ALL, sk);
#else
	inet_sk(sk)->is_icsk = 1;
	inet_sk(sk)->nodefrag = 0;
	inet_sk(sk)->mc_loop = 1;
	inet_sk(sk)->mc_all = 1;
#endif
}

#if IS_ENABLED(CONFIG_IPV6)
static inline void ktp_inet6_init_flags(struct sock *sk,
					struct ipv6_pinfo *np)
{
#ifdef HAVE_INET6_SET_BIT
	inet6_set_bit(MC6_LOOP, sk);
	inet6_set_bit(MC6_ALL, sk);
#else
	np->mc_loop = 1;
	np->mc_all = 1;
#endif
}

/* The flow-label list: in ipv6_pinfo up to 6.16, in inet_sock from 6.17
 * (and in Debian's 6.12.117).
 */
static inline void ktp_inet6_clear_fl_list(struct sock *sk,
					   struct ipv6_pinfo *np)
{
#ifdef HAVE_INET_SOCK_IPV6_FL_LIST
	RCU_INIT_POINTER(inet_sk(sk)->ipv6_fl_list, NULL);
#else
	RCU_INIT_POINTER(np->ipv6_fl_list, NULL);
#endif
}
#endif

/* A socket's owner: sock_i_uid() on 6.1 and 6.12; sk_uid() on 7.x, where
 * sock_i_uid() is gone.
 */
static inline kuid_t ktp_sk_uid(const struct sock *sk)
{
#ifdef HAVE_SK_UID
	return sk_uid(sk);
#else
	return sock_i_uid((struct sock *)sk);
#endif
}

/* The TOS of a socket's routes: RT_CONN_FLAGS() on 6.1,
 * ip_sock_rt_tos() on 6.12 and later.
 */
static inline u8 ktp_rt_tos(const struct sock *sk)
{
#ifdef HAVE_IP_SOCK_RT_TOS
	return ip_sock_rt_tos(sk);
#else
	return RT_CONN_FLAGS(sk);
#endif
}

/* cgroup connect programs: (sk, uaddr) up to 6.6, the address length
 * too from 6.7.
 */
static inline int ktp_bpf_connect4(struct sock *sk, struct sockaddr *uaddr,
				   int *addr_len)
{
#ifdef HAVE_BPF_CONNECT_ADDRLEN
	return BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr, addr_len);
#else
	return BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr);
#endif
}

static inline int ktp_bpf_connect6(struct sock *sk, struct sockaddr *uaddr,
				   int *addr_len)
{
#ifdef HAVE_BPF_CONNECT_ADDRLEN
	return BPF_CGROUP_RUN_PROG_INET6_CONNECT(sk, uaddr, addr_len);
#else
	return BPF_CGROUP_RUN_PROG_INET6_CONNECT(sk, uaddr);
#endif
}

/* sendfile() and splice() into a socket: through proto_ops.sendpage up
 * to 6.4 (KTP leaves it to sock_no_sendpage(), which copies), as
 * sendmsg() with MSG_SPLICE_PAGES from 6.5, whose pages an skb can take
 * without a copy (skb_splice_from_iter()). Debian's 6.1 defines the flag
 * but never sets it.
 */
#if defined(HAVE_SKB_SPLICE_FROM_ITER_GFP)
#define KTP_MSG_SPLICE_PAGES	MSG_SPLICE_PAGES
static inline ssize_t ktp_splice_from_iter(struct sk_buff *skb,
					   struct iov_iter *iter,
					   ssize_t maxsize, gfp_t gfp)
{
	return skb_splice_from_iter(skb, iter, maxsize, gfp);
}
#elif defined(HAVE_SKB_SPLICE_FROM_ITER)	/* the gfp went in 6.x */
#define KTP_MSG_SPLICE_PAGES	MSG_SPLICE_PAGES
static inline ssize_t ktp_splice_from_iter(struct sk_buff *skb,
					   struct iov_iter *iter,
					   ssize_t maxsize, gfp_t gfp)
{
	return skb_splice_from_iter(skb, iter, maxsize);
}
#else
#define KTP_MSG_SPLICE_PAGES	0
static inline ssize_t ktp_splice_from_iter(struct sk_buff *skb,
					   struct iov_iter *iter,
					   ssize_t maxsize, gfp_t gfp)
{
	return -EOPNOTSUPP;
}
#endif

/* proto.connect and .pre_connect: struct sockaddr on 6.x, struct
 * sockaddr_unsized on 7.x.
 */
#ifdef HAVE_SOCKADDR_UNSIZED
#define ktp_uaddr	sockaddr_unsized
#else
#define ktp_uaddr	sockaddr
#endif

/* inet_recv_error(): an addr_len argument up to 6.x, none in 7.x. */
static inline int ktp_recv_error(struct sock *sk, struct msghdr *msg,
				 size_t len)
{
#ifdef HAVE_INET_RECV_ERROR_ADDR_LEN
	int addr_len = 0;

	return inet_recv_error(sk, msg, len, &addr_len);
#else
	return inet_recv_error(sk, msg, len);
#endif
}

/*
 * proto.recvmsg: an addr_len argument up to 6.x, none in 7.x; KTP's
 * recvmsg never fills a source address (a connected stream).
 */
#ifdef HAVE_PROTO_RECVMSG_ADDR_LEN
static inline int ktp_proto_recvmsg(struct sock *sk, struct msghdr *msg,
				    size_t len, int flags, int *addr_len)
{
	return ktp_recvmsg(sk, msg, len, flags);
}
#else
static inline int ktp_proto_recvmsg(struct sock *sk, struct msghdr *msg,
				    size_t len, int flags)
{
	return ktp_recvmsg(sk, msg, len, flags);
}
#endif

/* proto.accept: (sk, flags, err, kern) up to 6.9, struct
 * proto_accept_arg from 6.10.
 */
#ifdef HAVE_PROTO_ACCEPT_ARG
static inline struct sock *ktp_proto_accept(struct sock *sk,
					    struct proto_accept_arg *arg)
{
	return ktp_accept(sk, arg->flags, &arg->err, arg->kern);
}
#else
static inline struct sock *ktp_proto_accept(struct sock *sk, int flags,
					    int *err, bool kern)
{
	return ktp_accept(sk, flags, err, kern);
}
#endif

/* proto.ioctl: the caller copies the answer out from 6.4; up to 6.3 the
 * protocol writes it to user memory itself.
 */
#ifdef HAVE_PROTO_IOCTL_KARG
static inline int ktp_proto_ioctl(struct sock *sk, int cmd, int *karg)
{
	return ktp_ioctl(sk, cmd, karg);
}
#else
static inline int ktp_proto_ioctl(struct sock *sk, int cmd,
				  unsigned long arg)
{
	int answ, err;

	err = ktp_ioctl(sk, cmd, &answ);
	return err ? err : put_user(answ, (int __user *)arg);
}
#endif

/* The IP-level checks of GRO between a held packet @p and a new segment
 * (TTL, TOS, DF, the run of IP IDs; the IPv6 class and hop limit): up to
 * 6.9 inet_gro_receive() folds them into NAPI_GRO_CB(p)->flush and
 * leaves the run of IDs in flush_id for the transport to judge, as
 * tcp_gro_receive() did; from 6.10 the transport asks
 * gro_receive_network_flush() with both its headers.
 */
#ifdef HAVE_GRO_RECEIVE_NETWORK_FLUSH
static inline int ktp_gro_network_flush(const void *th, const void *th2,
					struct sk_buff *p)
{
	return gro_receive_network_flush(th, th2, p);
}
#else
static inline int ktp_gro_network_flush(const void *th, const void *th2,
					struct sk_buff *p)
{
	/* a second packet decides: fixed IDs (atomic) or counting ones */
	if (NAPI_GRO_CB(p)->flush_id != 1 || NAPI_GRO_CB(p)->count != 1 ||
	    !NAPI_GRO_CB(p)->is_atomic)
		return NAPI_GRO_CB(p)->flush_id;
	NAPI_GRO_CB(p)->is_atomic = false;
	return 0;
}
#endif

#endif /* __KTP_COMPAT_H */
