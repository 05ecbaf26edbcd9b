// SPDX-License-Identifier: GPL-2.0
/*
 * KTP socket-level calls and the connection state machine's one setter.
 */
#include <linux/module.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/inet_sock.h>

#include "protocol.h"

/**
 * ktp_set_state - move a socket to a new connection state
 * @sk: the socket, owned by the caller (socket lock or bh lock)
 * @state: a KTP_* state
 *
 * The only place that changes sk->sk_state of a KTP socket, so that every
 * side effect of a transition happens here and nowhere else.
 */
void ktp_set_state(struct sock *sk, int state)
{
	/* Lockless readers (poll, diag) pair with smp_load_acquire(). */
	smp_store_release(&sk->sk_state, state);
}

static int ktp_init_sock(struct sock *sk)
{
	return 0;
}

static void ktp_destroy_sock(struct sock *sk)
{
}

static void ktp_close(struct sock *sk, long timeout)
{
	lock_sock(sk);
	sk->sk_shutdown = SHUTDOWN_MASK;
	if (sk->sk_state != KTP_CLOSE)
		ktp_set_state(sk, KTP_CLOSE);
	release_sock(sk);
	sk_common_release(sk);
}

static int ktp_get_info(struct sock *sk, char __user *optval,
			int __user *optlen)
{
	struct ktp_info info;
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min_t(unsigned int, len, sizeof(info));

	memset(&info, 0, sizeof(info));
	lock_sock(sk);
	info.ktpi_state = sk->sk_state;
	release_sock(sk);

	if (put_user(len, optlen) || copy_to_user(optval, &info, len))
		return -EFAULT;
	return 0;
}

static int ktp_getsockopt(struct sock *sk, int level, int optname,
			  char __user *optval, int __user *optlen)
{
	if (level != SOL_KTP)
		return -ENOPROTOOPT;

	switch (optname) {
	case KTP_INFO:
		return ktp_get_info(sk, optval, optlen);
	}
	return -ENOPROTOOPT;
}

static int ktp_setsockopt(struct sock *sk, int level, int optname,
			  sockptr_t optval, unsigned int optlen)
{
	return -ENOPROTOOPT;
}

struct proto ktp_prot = {
	.name		= "KTP",
	.owner		= THIS_MODULE,
	.close		= ktp_close,
	.init		= ktp_init_sock,
	.destroy	= ktp_destroy_sock,
	.setsockopt	= ktp_setsockopt,
	.getsockopt	= ktp_getsockopt,
	.hash		= inet_hash,
	.unhash		= inet_unhash,
	.get_port	= inet_csk_get_port,
	.obj_size	= sizeof(struct ktp_sock),
	.slab_flags	= SLAB_TYPESAFE_BY_RCU,
	.h.hashinfo	= &ktp_hashinfo,
};
