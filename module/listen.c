// SPDX-License-Identifier: GPL-2.0
/*
 * KTP listeners: listen() and its end, the accept queue and accept(), and
 * the new connection a third ACK makes (a clone of the listener).
 *
 * Locking: a listener's SYN queue (req_list) and accept queue are guarded
 * by its queue_lock, taken with BH off, since softirq adds to both. Input
 * never takes a listener's socket lock (ktp_deliver()); process context
 * (listen(), close(), accept()) owns it with lock_sock(). A connection
 * joins the accept queue only while its listener is in LISTEN, checked
 * under queue_lock: a listener that stops sets its state first, then
 * empties the queues.
 *
 * References: the accept queue holds one on each child, which accept()
 * hands to the new file, or ktp_child_forget() gives up.
 */
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/inet_connection_sock.h>

#include "protocol.h"

/**
 * ktp_listen_init - a socket's listener fields, empty
 * @sk: a new socket or a child just cloned from a listener
 */
void ktp_listen_init(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->bind_bucket = NULL;
	kp->in_lhash = 0;
	kp->tw_handoff = 0;
	spin_lock_init(&kp->queue_lock);
	INIT_HLIST_HEAD(&kp->req_list);
	kp->req_qlen = 0;
	INIT_LIST_HEAD(&kp->accept_queue);
	INIT_LIST_HEAD(&kp->accept_node);
	sk->sk_ack_backlog = 0;
}

/**
 * ktp_listen_start - enter LISTEN: take the port, join the listen table
 * @sk: the socket, owned by the caller, in CLOSE
 *
 * Announced as listening before get_port() validates the port, as TCP
 * does: it becomes visible only once hashed.
 *
 * Return: 0, or -EADDRINUSE with the socket back in CLOSE.
 */
int ktp_listen_start(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	int err;

	sk->sk_ack_backlog = 0;
	ktp_set_state(sk, KTP_LISTEN);
	err = sk->sk_prot->get_port(sk, inet->inet_num);
	if (!err) {
		inet->inet_sport = htons(inet->inet_num);
		sk_dst_reset(sk);
		err = sk->sk_prot->hash(sk);
		if (!err)
			return 0;
	}
	ktp_set_state(sk, KTP_CLOSE);
	return err;
}

/* The first child of the accept queue, with the queue's reference. */
static struct sock *ktp_accept_dequeue(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_sock *child;

	spin_lock_bh(&kp->queue_lock);
	child = list_first_entry_or_null(&kp->accept_queue, struct ktp_sock,
					 accept_node);
	if (child) {
		list_del_init(&child->accept_node);
		sk_acceptq_removed(sk);
	}
	spin_unlock_bh(&kp->queue_lock);
	return child ? (struct sock *)child : NULL;
}

/**
 * ktp_accept_enqueue - a new connection waits for accept()
 * @sk: its listener
 * @child: the connection, bh-locked; the queue takes the clone's second
 *	   reference
 *
 * Return: false when @sk no longer listens: the caller forgets @child.
 */
bool ktp_accept_enqueue(struct sock *sk, struct sock *child)
{
	struct ktp_sock *kp = ktp_sk(sk);
	bool ok;

	spin_lock_bh(&kp->queue_lock);
	ok = sk->sk_state == KTP_LISTEN;
	if (ok) {
		list_add_tail(&ktp_sk(child)->accept_node, &kp->accept_queue);
		sk_acceptq_added(sk);
	}
	spin_unlock_bh(&kp->queue_lock);
	return ok;
}

/**
 * ktp_child_forget - a connection nobody will accept: reset and orphaned
 * @sk: its listener
 * @child: the connection, bh-locked; the accept queue's reference goes
 */
void ktp_child_forget(struct sock *sk, struct sock *child)
{
	child->sk_prot->disconnect(child, O_NONBLOCK);
	sock_orphan(child);
	ktp_orphan_count_inc();
	if (child->sk_state == KTP_CLOSE)
		ktp_destroy_dead(child);
}

/**
 * ktp_listen_stop - a listener stops: its requests are dropped and its
 * unaccepted connections reset
 * @sk: the socket, owned by the caller, already out of LISTEN and
 *	unhashed
 */
void ktp_listen_stop(struct sock *sk)
{
	struct sock *child;

	ktp_drop_requests(sk);
	while ((child = ktp_accept_dequeue(sk))) {
		local_bh_disable();
		bh_lock_sock(child);
		WARN_ON_ONCE(sock_owned_by_user(child));
		sock_hold(child);
		ktp_child_forget(sk, child);
		bh_unlock_sock(child);
		local_bh_enable();
		sock_put(child);
		cond_resched();
	}
	WARN_ON_ONCE(sk->sk_ack_backlog);
}

/**
 * ktp_clone_child - the new connection of a third ACK, a copy of its
 * listener
 * @sk: the listener
 * @req: the request entry it completes
 *
 * sk_clone_lock() copies the listener, its security and cgroup data and
 * socket filter included; what is the listener's alone is reset here.
 * The child is in SYN_RECV, bh-locked, with two references: one for the
 * caller, one for the accept queue.
 *
 * Return: the child or NULL.
 */
struct sock *ktp_clone_child(const struct sock *sk,
			     const struct ktp_request *req)
{
	struct inet_connection_sock *newicsk;
	struct inet_sock *newinet;
	struct sock *newsk;

	newsk = sk_clone_lock(sk, GFP_ATOMIC);
	if (!newsk)
		return NULL;
	newsk->sk_state = KTP_SYN_RECV;
	newinet = inet_sk(newsk);
	newinet->inet_dport = req->common.skc_dport;
	newinet->inet_num = req->common.skc_num;
	newinet->inet_sport = htons(req->common.skc_num);
	newinet->mc_list = NULL;
	/* listeners are freed after RCU, children are not */
	sock_reset_flag(newsk, SOCK_RCU_FREE);
	newsk->sk_mark = req->mark;
	atomic64_set(&newsk->sk_cookie, 0);
	newicsk = inet_csk(newsk);
	newicsk->icsk_retransmits = 0;
	newicsk->icsk_backoff = 0;
	newicsk->icsk_probes_out = 0;
	memset(&newicsk->icsk_accept_queue, 0,
	       sizeof(newicsk->icsk_accept_queue));
	ktp_listen_init(newsk);
	return newsk;
}

/* Wait for a connection to accept; called owning @sk, in LISTEN. */
static int ktp_accept_wait(struct sock *sk, long timeo)
{
	struct ktp_sock *kp = ktp_sk(sk);
	DEFINE_WAIT(wait);
	int err;

	for (;;) {
		prepare_to_wait_exclusive(sk_sleep(sk), &wait,
					  TASK_INTERRUPTIBLE);
		release_sock(sk);
		if (list_empty_careful(&kp->accept_queue))
			timeo = schedule_timeout(timeo);
		sched_annotate_sleep();
		lock_sock(sk);
		err = 0;
		if (!list_empty_careful(&kp->accept_queue))
			break;
		err = -EINVAL;
		if (sk->sk_state != KTP_LISTEN)
			break;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			break;
		err = -EAGAIN;
		if (!timeo)
			break;
	}
	finish_wait(sk_sleep(sk), &wait);
	return err;
}

/**
 * ktp_accept - proto.accept: the next connection of the accept queue
 * @sk: the listener
 * @flags: O_NONBLOCK
 * @err: -EINVAL when not listening, -EAGAIN, or a signal's errno
 * @kern: a kernel socket's accept
 *
 * Return: the connection, with the queue's reference, or NULL.
 */
struct sock *ktp_accept(struct sock *sk, int flags, int *err, bool kern)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sock *child = NULL;
	int error;

	lock_sock(sk);
	error = -EINVAL;
	if (sk->sk_state != KTP_LISTEN)
		goto out;
	if (list_empty_careful(&kp->accept_queue)) {
		long timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);

		error = -EAGAIN;
		if (!timeo)
			goto out;
		error = ktp_accept_wait(sk, timeo);
		if (error)
			goto out;
	}
	child = ktp_accept_dequeue(sk);
	error = child ? 0 : -EAGAIN;
out:
	release_sock(sk);
	if (error)
		*err = error;
	return child;
}

/**
 * ktp_listen_poll - what poll() says of a listener
 * @sk: the listener
 *
 * Return: readable when a connection waits.
 */
__poll_t ktp_listen_poll(const struct sock *sk)
{
	return READ_ONCE(sk->sk_ack_backlog) ? EPOLLIN | EPOLLRDNORM : 0;
}
