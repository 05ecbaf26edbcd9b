// SPDX-License-Identifier: GPL-2.0
/*
 * KTP socket-level calls and the connection state machine's one setter.
 */
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/inet_common.h>
#include <net/xfrm.h>
#include <asm/ioctls.h>
#include <linux/sockios.h>

#include "protocol.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

DEFINE_PER_CPU(unsigned int, ktp_orphan_count);

/**
 * ktp_trace_state - report a transition of any KTP entry
 * @skc: full socket, request entry or TIME_WAIT entry
 * @old: the state it leaves
 * @new: the state it enters
 */
void ktp_trace_state(const struct sock_common *skc, int old, int new)
{
	trace_ktp_set_state(skc, old, new);
}

/**
 * ktp_set_state - move a full socket to a new connection state
 * @sk: the socket, owned by the caller (socket lock or bh lock)
 * @state: a KTP_* state
 *
 * The only writer of sk->sk_state for KTP's own transitions, so that every
 * side effect happens here: the CurrEstab gauge, unhashing and releasing
 * the port on CLOSE, and the tracepoint. A full socket never enters
 * TIME_WAIT: it hands the connection to a light entry (ktp_time_wait())
 * and goes to CLOSE, which is not traced then: the entry traces the
 * connection's end when it expires.
 */
void ktp_set_state(struct sock *sk, int state)
{
	struct net *net = sock_net(sk);
	int old = sk->sk_state;

	if (old == state)
		return;
	if (state == KTP_ESTABLISHED ||
	    (state == KTP_CLOSE_WAIT && old != KTP_ESTABLISHED))
		KTP_INC_STATS(net, KTP_MIB_CURRESTAB);
	else if ((old == KTP_ESTABLISHED && state != KTP_CLOSE_WAIT) ||
		 old == KTP_CLOSE_WAIT)
		KTP_DEC_STATS(net, KTP_MIB_CURRESTAB);
	if (state == KTP_CLOSE && (old == KTP_SYN_SENT || old == KTP_SYN_RECV))
		KTP_INC_STATS(net, KTP_MIB_ATTEMPTFAILS);

	/* Lockless readers (poll, diag) pair with smp_load_acquire(). */
	smp_store_release(&sk->sk_state, state);
	if (state == KTP_ESTABLISHED) {
		/* The idle clock of keepalive starts now; its timer needs
		 * the new state (SO_KEEPALIVE set before connect() or on
		 * the listener).
		 */
		ktp_sk(sk)->rcv_tstamp = jiffies;
		ktp_reset_keepalive(sk);
		/* room for the first window, as tcp_init_buffer_space() */
		ktp_sndbuf_expand(sk);
	}
	/* Reported while the ports are still the connection's; the end
	 * of a connection that a TIME_WAIT entry carries on is the entry's.
	 */
	if (state == KTP_CLOSE && ktp_sk(sk)->tw_handoff)
		ktp_sk(sk)->tw_handoff = 0;
	else
		ktp_trace_state(&sk->__sk_common, old, state);

	if (state == KTP_CLOSE) {
		sk->sk_prot->unhash(sk);
		if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK))
			ktp_put_port(sk);
	}
}

/**
 * ktp_destroy_dead - free an orphan that has reached CLOSE
 * @sk: the socket, dead, unhashed, owned by the caller
 *
 * What inet_csk_destroy_sock() does for TCP: KTP's destroy, the queues,
 * the socket's IPsec policies, the orphan count, the last reference.
 */
void ktp_destroy_dead(struct sock *sk)
{
	WARN_ON_ONCE(sk->sk_state != KTP_CLOSE);
	WARN_ON_ONCE(!sock_flag(sk, SOCK_DEAD));
	WARN_ON_ONCE(!sk_unhashed(sk));
	sk->sk_prot->destroy(sk);
	sk_stream_kill_queues(sk);
	xfrm_sk_free_policy(sk);
	this_cpu_dec(ktp_orphan_count);
	/* for sk_prot_free() to give back (ktp_orphan_count_inc()) */
	__module_get(THIS_MODULE);
	sock_put(sk);
}

/**
 * ktp_orphan_count_inc - a socket becomes an orphan: count it, unpin
 *
 * An orphan does not keep the module loaded: rmmod works as soon as no
 * process holds a KTP socket, and ktp_orphans_abort() ends the orphans
 * then. The reference that sk_alloc() took for the socket goes here
 * and is taken again by ktp_destroy_dead(), so that sk_prot_free()'s
 * module_put(), after the memory is back in the cache, stays the last
 * thing done for the socket; ktp_exit() waits for it.
 *
 * Called where the module is still pinned otherwise: in close(), by the
 * socket's struct socket; for a listener's child, by the listener.
 */
void ktp_orphan_count_inc(void)
{
	this_cpu_inc(ktp_orphan_count);
	module_put(THIS_MODULE);
}

/**
 * ktp_abort_orphan - rmmod: an orphan tells its peer and goes
 * @sk: the orphan, referenced by the caller (process context)
 *
 * Its timers are stopped and waited for first: no handler of this
 * socket runs once it returns.
 */
void ktp_abort_orphan(struct sock *sk)
{
	lock_sock(sk);
	ktp_stop_timers_sync(sk);
	ktp_forget_deferred(sk);
	if (sk->sk_state != KTP_CLOSE) {
		ktp_send_active_reset(sk, GFP_KERNEL);
		ktp_done(sk);
	}
	release_sock(sk);
}

/**
 * ktp_prepare_forced_close - a child that could not be set up goes
 * @sk: the new socket, bh-locked, as the clone returned it
 *
 * Unlocked and made a dead orphan with no port, so that ktp_done()
 * destroys it.
 */
void ktp_prepare_forced_close(struct sock *sk)
	__releases(&sk->sk_lock.slock)
{
	bh_unlock_sock(sk);
	sock_put(sk);
	sock_set_flag(sk, SOCK_DEAD);
	ktp_orphan_count_inc();
	inet_sk(sk)->inet_num = 0;
}

/**
 * ktp_done - the connection is over: CLOSE, timers off, wake or destroy
 * @sk: the socket, owned by the caller
 */
void ktp_done(struct sock *sk)
{
	ktp_set_state(sk, KTP_CLOSE);
	ktp_clear_xmit_timers(sk);
	sk->sk_shutdown = SHUTDOWN_MASK;
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else
		ktp_destroy_dead(sk);
}

/**
 * ktp_reset - the peer reset the connection (RFC 9293 3.10.7.4)
 * @sk: the socket, owned by the caller
 *
 * The next call on the socket fails with the error, later writes with
 * EPIPE.
 */
void ktp_reset(struct sock *sk)
{
	if (sk->sk_state != KTP_CLOSE)
		trace_ktp_receive_reset(sk, NULL);
	switch (sk->sk_state) {
	case KTP_SYN_SENT:
	case KTP_SYN_RECV:
		sk->sk_err = ECONNREFUSED;
		break;
	case KTP_CLOSE_WAIT:
		sk->sk_err = EPIPE;
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ESTABRESETS);
		break;
	case KTP_CLOSE:
		return;
	case KTP_ESTABLISHED:
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ESTABRESETS);
		fallthrough;
	default:
		sk->sk_err = ECONNRESET;
	}
	KTP_INC_STATS(sock_net(sk), KTP_MIB_INRSTS);
	ktp_purge_write_queue(sk);
	/* Wake every waiter with the error before the state goes. */
	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
	ktp_done(sk);
}

/**
 * ktp_listen - listen(2)
 * @sock: the socket
 * @backlog: bound of the accept queue and of the SYN queue
 *
 * Return: 0, -EINVAL if the socket is connected or connecting.
 */
int ktp_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	int err = -EINVAL;

	lock_sock(sk);
	if (sock->state != SS_UNCONNECTED)
		goto out;
	if (!((1 << sk->sk_state) & (KTPF_CLOSE | KTPF_LISTEN)))
		goto out;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	err = 0;
	if (sk->sk_state != KTP_LISTEN)
		err = ktp_listen_start(sk);
out:
	release_sock(sk);
	return err;
}

/* What close() does in each state: the next state, and whether to send
 * a FIN (RFC 9293 3.10.4).
 */
#define KTP_ACTION_FIN	BIT(7)
#define KTP_STATE_MASK	0x0f

static const unsigned char ktp_close_table[__KTP_STATE_MAX] = {
	[0]			= KTP_CLOSE,
	[KTP_ESTABLISHED]	= KTP_FIN_WAIT1 | KTP_ACTION_FIN,
	[KTP_SYN_SENT]		= KTP_CLOSE,
	[KTP_SYN_RECV]		= KTP_FIN_WAIT1 | KTP_ACTION_FIN,
	[KTP_FIN_WAIT1]		= KTP_FIN_WAIT1,
	[KTP_FIN_WAIT2]		= KTP_FIN_WAIT2,
	[KTP_TIME_WAIT]		= KTP_CLOSE,
	[KTP_CLOSE]		= KTP_CLOSE,
	[KTP_CLOSE_WAIT]	= KTP_LAST_ACK | KTP_ACTION_FIN,
	[KTP_LAST_ACK]		= KTP_LAST_ACK,
	[KTP_LISTEN]		= KTP_CLOSE,
	[KTP_CLOSING]		= KTP_CLOSING,
};

/* Move on for close() or shutdown(SHUT_WR); true if a FIN must go out. */
static bool ktp_close_state(struct sock *sk)
{
	int next = ktp_close_table[sk->sk_state];
	int state = next & KTP_STATE_MASK;

	if (state != sk->sk_state) {
		if (state == KTP_CLOSE)
			ktp_done(sk);
		else
			ktp_set_state(sk, state);
	}
	return next & KTP_ACTION_FIN;
}

static void ktp_shutdown(struct sock *sk, int how)
{
	if (!(how & SEND_SHUTDOWN))
		return;
	/* A FIN goes out once; CLOSE_WAIT becomes LAST_ACK. */
	if ((1 << sk->sk_state) &
	    (KTPF_ESTABLISHED | KTPF_SYN_RECV | KTPF_CLOSE_WAIT)) {
		if (ktp_close_state(sk))
			ktp_queue_fin(sk);
	}
}

static bool ktp_unread_data(const struct sock *sk)
{
	return !skb_queue_empty(&sk->sk_receive_queue);
}

/* Our FIN is out and not acknowledged yet. */
static bool ktp_closing(const struct sock *sk)
{
	return (1 << READ_ONCE(sk->sk_state)) & KTPF_FIN_SENT;
}

/* SO_LINGER with a time: close() waits, up to @timeout, for the peer to
 * acknowledge our FIN, or for a signal.
 */
static void ktp_wait_close(struct sock *sk, long timeout)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	if (!timeout)
		return;
	add_wait_queue(sk_sleep(sk), &wait);
	do {
		if (sk_wait_event(sk, &timeout, !ktp_closing(sk), &wait))
			break;
	} while (!signal_pending(current) && timeout);
	remove_wait_queue(sk_sleep(sk), &wait);
}

/* The orphan part of close(): from now on the socket is the stack's.
 * Called owning the socket. The state is taken before release_sock()
 * runs the backlog, which may finish the connection and destroy it.
 */
static void ktp_close_orphan(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	int state = sk->sk_state;

	sock_hold(sk);
	sock_orphan(sk);
	ktp_orphan_count_inc();
	release_sock(sk);

	local_bh_disable();
	bh_lock_sock(sk);
	/* Destroyed already by the backlog or by input since? */
	if (state != KTP_CLOSE && sk->sk_state == KTP_CLOSE)
		goto out;
	/* One orphan too many: the peer learns at once, as with TCP. */
	if (sk->sk_state != KTP_CLOSE && ktp_orphan_oom(sk, 0)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONMEMORY);
		ktp_send_active_reset(sk, GFP_ATOMIC);
		ktp_set_state(sk, KTP_CLOSE);
	}
	if (sk->sk_state == KTP_FIN_WAIT2)
		ktp_reset_keepalive_timer(sk, READ_ONCE(kn->fin_timeout));
	if (sk->sk_state == KTP_CLOSE)
		ktp_destroy_dead(sk);
out:
	bh_unlock_sock(sk);
	local_bh_enable();
	sock_put(sk);
}

static void ktp_close(struct sock *sk, long timeout)
{
	bool unread;

	lock_sock(sk);
	sk->sk_shutdown = SHUTDOWN_MASK;

	if (sk->sk_state == KTP_LISTEN) {
		ktp_set_state(sk, KTP_CLOSE);
		ktp_listen_stop(sk);
		goto orphan;
	}

	unread = ktp_unread_data(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	ktp_purge_ooo_queue(sk);

	if (sk->sk_state == KTP_CLOSE) {
		/* nothing to tell anyone */
	} else if (unread) {
		/* RFC 2525 2.17: unread data is lost: say so with a RST. */
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONDATA);
		ktp_send_active_reset(sk, sk->sk_allocation);
		ktp_purge_write_queue(sk);
		ktp_done(sk);
	} else if (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime) {
		/* SO_LINGER {1, 0}: abort. */
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONLINGER);
		sk->sk_prot->disconnect(sk, 0);
	} else if (ktp_close_state(sk)) {
		ktp_queue_fin(sk);
	}

	ktp_wait_close(sk, timeout);
orphan:
	ktp_close_orphan(sk);
}

/* Abort: RST to a synchronized peer, then back to a fresh CLOSE. Used by
 * SO_LINGER {1, 0}, connect(AF_UNSPEC) and a closing listener's children.
 */
static int ktp_disconnect(struct sock *sk, int flags)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	int old = sk->sk_state;

	if (old != KTP_CLOSE)
		ktp_set_state(sk, KTP_CLOSE);

	if (old == KTP_LISTEN) {
		ktp_listen_stop(sk);
	} else if ((1 << old) & ~(KTPF_CLOSE | KTPF_LISTEN | KTPF_SYN_SENT)) {
		ktp_send_active_reset(sk, gfp_any());
		sk->sk_err = ECONNRESET;
	} else if (old == KTP_SYN_SENT) {
		sk->sk_err = ECONNRESET;
	}

	ktp_clear_xmit_timers(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	ktp_purge_ooo_queue(sk);
	ktp_purge_write_queue(sk);
	inet->inet_dport = 0;
	ktp_reset_saddr(sk);
	sk->sk_shutdown = 0;
	sock_reset_flag(sk, SOCK_DONE);
	icsk->icsk_backoff = 0;
	icsk->icsk_retransmits = 0;
	kp->fin_queued = 0;
	/* buffer auto-tuning and RACK measure the next connection afresh;
	 * the rest of what this one learned goes at the next connect()
	 * (ktp_forget_connection()), its counters readable until then
	 */
	kp->rtt_min_us = 0;
	kp->rack_on = 0;
	kp->reord_seen = 0;
	kp->rcvq_time_us = 0;
	kp->rcv_rtt_us = 0;
	kp->rcv_rtt_time_us = 0;
	/* the next peer's clock is another (RFC 7323 5.5) */
	kp->ts_ok = 0;
	kp->ts_recent = 0;
	kp->ts_recent_stamp = 0;
	ktp_forget_deferred(sk);
	/* A connection that was not there leaves no error behind. */
	if (sk->sk_err)
		sk_error_report(sk);
	return 0;
}

static int ktp_send_wait_ready(struct sock *sk, long *timeo)
{
	int err;

	/* Never connected: POSIX's ENOTCONN, not the EPIPE of a dead one. */
	if (sk->sk_state == KTP_CLOSE && !sk->sk_err &&
	    !(sk->sk_shutdown & SEND_SHUTDOWN) && !sock_flag(sk, SOCK_DONE))
		return -ENOTCONN;
	if ((1 << sk->sk_state) & ~(KTPF_ESTABLISHED | KTPF_CLOSE_WAIT)) {
		err = sk_stream_wait_connect(sk, timeo);
		if (err)
			return err;
	}
	if (sk->sk_err)
		return sock_error(sk);
	if (sk->sk_shutdown & SEND_SHUTDOWN)
		return -EPIPE;
	return 0;
}

/* The last skb of the write queue, if data may still join it: not sent
 * yet, no SYN or FIN, shorter than @goal, frags to spare.
 */
static struct sk_buff *ktp_write_tail(struct sock *sk, u32 goal)
{
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);

	if (!skb ||
	    (KTP_SKB_CB(skb)->flags & (KTP_FLAG_SYN | KTP_FLAG_FIN)) ||
	    skb->len >= goal ||
	    skb_shinfo(skb)->nr_frags >= MAX_SKB_FRAGS)
		return NULL;
	return skb;
}

static struct sk_buff *ktp_new_data_skb(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	skb = alloc_skb_fclone(KTP_MAX_HEADER, sk->sk_allocation);
	if (!skb)
		return NULL;
	if (!sk_wmem_schedule(sk, skb->truesize)) {
		__kfree_skb(skb);
		return NULL;
	}
	skb_reserve(skb, KTP_MAX_HEADER);
	KTP_SKB_CB(skb)->seq = kp->write_seq;
	KTP_SKB_CB(skb)->end_seq = kp->write_seq;
	KTP_SKB_CB(skb)->flags = KTP_FLAG_ACK | KTP_FLAG_PSH;
	KTP_SKB_CB(skb)->retransmitted = 0;
	KTP_SKB_CB(skb)->sacked = 0;
	KTP_SKB_CB(skb)->lost_retx = 0;
	KTP_SKB_CB(skb)->pcount = 1;
	sk_wmem_queued_add(sk, skb->truesize);
	sk_mem_charge(sk, skb->truesize);
	__skb_queue_tail(&sk->sk_write_queue, skb);
	return skb;
}

/* Copy up to @size bytes from @msg into page fragments of the write
 * queue's tail skb, starting a new one when it is full: no allocation
 * per send() call, and small writes coalesce. An skb grows to as many
 * segments as leave together (ktp_size_goal()): one skb, not one per
 * MSS, to allocate, acknowledge and free for each super-segment.
 * Return: bytes queued, or -errno with nothing queued.
 */
static int ktp_queue_data(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct page_frag *pfrag = sk_page_frag(sk);
	u32 goal = ktp_size_goal(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;
	bool fresh = false;
	int copy, i, err;

	skb = ktp_write_tail(sk, goal);
	if (!skb) {
		skb = ktp_new_data_skb(sk);
		if (!skb)
			return -ENOBUFS;
		fresh = true;
	}
	if (msg->msg_flags & KTP_MSG_SPLICE_PAGES) {
		/* sendfile(), splice(): take the pages, as TCP does */
		copy = min_t(size_t, size, goal - skb->len);
		if (!sk_wmem_schedule(sk, copy)) {
			err = -ENOBUFS;
			goto out_unqueue;
		}
		copy = ktp_splice_from_iter(skb, &msg->msg_iter, copy,
					    sk->sk_allocation);
		if (copy < 0) {
			err = copy == -EMSGSIZE ? -ENOBUFS : copy;
			goto out_unqueue;
		}
		/* the pages are the file's: they may change under us */
		skb_shinfo(skb)->flags |= SKBFL_SHARED_FRAG;
		sk_wmem_queued_add(sk, copy);
		sk_mem_charge(sk, copy);
		goto queued;
	}
	if (!sk_page_frag_refill(sk, pfrag)) {
		err = -ENOBUFS;
		goto out_unqueue;
	}
	copy = min_t(size_t, size, goal - skb->len);
	copy = min_t(int, copy, pfrag->size - pfrag->offset);
	i = skb_shinfo(skb)->nr_frags;
	if (!sk_wmem_schedule(sk, copy)) {
		err = -ENOBUFS;
		goto out_unqueue;
	}

	err = skb_copy_to_page_nocache(sk, &msg->msg_iter, skb, pfrag->page,
				       pfrag->offset, copy);
	if (err)
		goto out_unqueue;
	if (skb_can_coalesce(skb, i, pfrag->page, pfrag->offset)) {
		skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], copy);
	} else {
		skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset, copy);
		get_page(pfrag->page);
	}
	pfrag->offset += copy;
queued:
	KTP_SKB_CB(skb)->end_seq += copy;
	kp->write_seq += copy;
	return copy;

out_unqueue:
	if (fresh && !skb->len) {
		/* keep nothing the copy did not fill */
		__skb_unlink(skb, &sk->sk_write_queue);
		ktp_wmem_free_skb(sk, skb);
	}
	return err;
}

static int ktp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	size_t copied = 0;
	long timeo;
	int err;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	err = ktp_send_wait_ready(sk, &timeo);
	if (err)
		goto out_err;

	while (copied < size) {
		if (!sk_stream_memory_free(sk)) {
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
			ktp_write_xmit(sk);
			err = sk_stream_wait_memory(sk, &timeo);
			if (err)
				goto out_err;
			err = ktp_send_wait_ready(sk, &timeo);
			if (err)
				goto out_err;
			continue;
		}
		err = ktp_queue_data(sk, msg, size - copied);
		if (err == -ENOBUFS) {
			/* over the memory budget: wait as for buffer space */
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
			ktp_write_xmit(sk);
			err = sk_stream_wait_memory(sk, &timeo);
			if (err)
				goto out_err;
			continue;
		}
		if (err < 0)
			goto out_err;
		copied += err;
	}
	ktp_write_xmit(sk);
	release_sock(sk);
	return copied;

out_err:
	if (copied) {
		ktp_write_xmit(sk);
		release_sock(sk);
		return copied;
	}
	err = sk_stream_error(sk, msg->msg_flags, err);
	release_sock(sk);
	return err;
}

/* After the user took data: advertise the opened window if what is left
 * of the last one is at most half the largest and the new one is twice
 * that, and worth a segment (tcp_cleanup_rbuf(); RFC 9293 3.8.6.2.2,
 * receiver side silly-window avoidance). A closed window reopens so.
 */
static void ktp_cleanup_rbuf(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	s32 left = kp->rcv_wup + kp->rcv_wnd - kp->rcv_nxt;
	u32 clamp, win;

	if (!((1 << sk->sk_state) & (KTPF_ESTABLISHED | KTPF_FIN_WAIT1 |
				     KTPF_FIN_WAIT2)))
		return;
	left = max(left, 0);
	clamp = min_t(u32, READ_ONCE(sk->sk_rcvbuf) / 2,
		      KTP_MAX_WINDOW << kp->rcv_wscale);
	if (2 * (u32)left > clamp)
		return;
	win = ktp_select_window(sk);
	if (win >= 2 * (u32)left && win > (u32)left &&
	    win >= min_t(u32, kp->mss, clamp / 2))
		ktp_send_ack(sk);
}

/* Copy from the receive queue; returns bytes copied or -EFAULT. */
static int ktp_copy_to_user(struct sock *sk, struct msghdr *msg, size_t len,
			    int flags, u32 *seq)
{
	struct sk_buff *skb, *tmp;
	size_t copied = 0;

	skb_queue_walk_safe(&sk->sk_receive_queue, skb, tmp) {
		u32 offset = *seq - KTP_SKB_CB(skb)->seq;
		size_t avail = skb->len - offset;
		size_t chunk = min(avail, len - copied);

		if (offset >= skb->len)
			continue;
		if (skb_copy_datagram_msg(skb, offset, msg, chunk))
			return copied ? copied : -EFAULT;
		*seq += chunk;
		copied += chunk;
		if (!(flags & MSG_PEEK) && chunk == avail)
			sk_eat_skb(sk, skb);
		if (copied == len)
			break;
	}
	return copied;
}

/* Why no data: 1 to wait, 0 for EOF or to return what was copied,
 * -errno. An error is consumed only when nothing was copied, so the next
 * call reports it.
 */
static int ktp_recv_wait_status(struct sock *sk, long timeo, int copied)
{
	if (copied)
		return (sk->sk_err || sk->sk_state == KTP_CLOSE ||
			(sk->sk_shutdown & RCV_SHUTDOWN) || !timeo ||
			signal_pending(current)) ? 0 : 1;
	/* The peer's FIN came first: EOF, whatever happened after it. */
	if (sock_flag(sk, SOCK_DONE))
		return 0;
	if (sk->sk_err)
		return sock_error(sk);
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		return 0;
	if (sk->sk_state == KTP_CLOSE)
		return sock_flag(sk, SOCK_DONE) ? 0 : -ENOTCONN;
	if (!timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(timeo);
	return 1;
}

/**
 * ktp_recvmsg - proto.recvmsg, through ktp_proto_recvmsg()
 * @sk: the socket
 * @msg: where the data goes
 * @len: at most this much
 * @flags: MSG_*
 *
 * Return: bytes copied, or -errno.
 */
int ktp_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	struct ktp_sock *kp = ktp_sk(sk);
	int target, copied = 0, err = 0;
	u32 peek_seq, *seq;
	long timeo;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)
		return ktp_recv_error(sk, msg, len);

	lock_sock(sk);
	if (sk->sk_state == KTP_LISTEN) {
		err = -ENOTCONN;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	peek_seq = kp->copied_seq;
	seq = (flags & MSG_PEEK) ? &peek_seq : &kp->copied_seq;

	while (copied < len) {
		err = ktp_copy_to_user(sk, msg, len - copied, flags, seq);
		if (err < 0)
			break;
		copied += err;
		err = 0;
		if (copied >= target)
			break;
		err = ktp_recv_wait_status(sk, timeo, copied);
		if (err <= 0)
			break;
		ktp_cleanup_rbuf(sk);
		sk_wait_data(sk, &timeo, NULL);
		err = 0;
	}
	if (!(flags & MSG_PEEK)) {
		if (copied)
			ktp_rcv_space_adjust(sk);
		ktp_cleanup_rbuf(sk);
		sk_mem_reclaim(sk);
	}
out:
	release_sock(sk);
	return copied ? copied : err;
}

static bool ktp_readable(const struct sock *sk)
{
	const struct ktp_sock *kp = ktp_sk(sk);
	int avail = READ_ONCE(kp->rcv_nxt) - READ_ONCE(kp->copied_seq);

	return avail > 0 && avail >= max(READ_ONCE(sk->sk_rcvlowat), 1);
}

/**
 * ktp_poll - what the next call would do, as tcp_poll() reports it
 * @file: the file
 * @sock: the socket
 * @wait: poll table
 *
 * Return: the EPOLL* mask.
 */
__poll_t ktp_poll(struct file *file, struct socket *sock,
		  struct poll_table_struct *wait)
{
	struct sock *sk = sock->sk;
	__poll_t mask = 0;
	int state;

	sock_poll_wait(file, sock, wait);
	state = inet_sk_state_load(sk);
	if (state == KTP_LISTEN)
		return ktp_listen_poll(sk);

	if (sk->sk_shutdown == SHUTDOWN_MASK || state == KTP_CLOSE)
		mask |= EPOLLHUP;
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;

	if (state != KTP_SYN_SENT && state != KTP_SYN_RECV) {
		/* readable as recv() would see it: SO_RCVLOWAT bytes */
		if (ktp_readable(sk))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (!(sk->sk_shutdown & SEND_SHUTDOWN)) {
			if (sk_stream_is_writeable(sk)) {
				mask |= EPOLLOUT | EPOLLWRNORM;
			} else {
				sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
				set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
				/* Pairs with the barrier in write space. */
				smp_mb__after_atomic();
				if (sk_stream_is_writeable(sk))
					mask |= EPOLLOUT | EPOLLWRNORM;
			}
		} else {
			mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	/* Pairs with the write of sk_err before sk_error_report(). */
	smp_rmb();
	if (READ_ONCE(sk->sk_err) ||
	    !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	return mask;
}

/**
 * ktp_fill_info - what KTP_INFO and the sock_diag INET_DIAG_INFO report
 * @sk: a full socket (listener or connection), locked by the caller
 *	(lock_sock() or lock_sock_fast()) so that the fields agree
 * @info: filled, every field written
 */
void ktp_fill_info(struct sock *sk, struct ktp_info *info)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct ktp_sock *kp = ktp_sk(sk);

	memset(info, 0, sizeof(*info));
	info->ktpi_state = sk->sk_state;
	if (sk->sk_state == KTP_LISTEN) {
		info->ktpi_rcv_queue = READ_ONCE(sk->sk_ack_backlog);
		return;
	}
	info->ktpi_retransmits = icsk->icsk_retransmits;
	info->ktpi_backoff = icsk->icsk_backoff;
	info->ktpi_iss = kp->iss;
	info->ktpi_irs = kp->irs;
	info->ktpi_snd_una = kp->snd_una;
	info->ktpi_snd_nxt = kp->snd_nxt;
	info->ktpi_rcv_nxt = kp->rcv_nxt;
	info->ktpi_snd_wnd = kp->snd_wnd;
	info->ktpi_rcv_wnd = kp->rcv_wnd;
	info->ktpi_snd_mss = kp->mss;
	info->ktpi_rcv_mss = kp->peer_mss;
	info->ktpi_rto = jiffies_to_usecs(icsk->icsk_rto);
	info->ktpi_srtt = kp->srtt_us;
	info->ktpi_rttvar = kp->rttvar_us;
	info->ktpi_snd_cwnd = kp->snd_cwnd;
	info->ktpi_snd_ssthresh = kp->snd_ssthresh;
	info->ktpi_unacked = kp->packets_out;
	info->ktpi_snd_wscale = kp->snd_wscale;
	info->ktpi_rcv_wscale = kp->rcv_wscale;
	if (kp->wscale_ok)
		info->ktpi_options |= KTPI_OPT_WSCALE;
	if (kp->sack_ok)
		info->ktpi_options |= KTPI_OPT_SACK;
	if (kp->ts_ok)
		info->ktpi_options |= KTPI_OPT_TIMESTAMPS;
	info->ktpi_notsent_bytes = kp->write_seq - kp->snd_nxt;
	info->ktpi_rcv_queue = kp->rcv_nxt - kp->copied_seq;
	info->ktpi_total_retrans = kp->total_retrans;
	info->ktpi_bytes_acked = kp->bytes_acked;
	info->ktpi_bytes_received = kp->bytes_received;
	info->ktpi_segs_out = kp->segs_out;
	info->ktpi_segs_in = kp->segs_in;
}

/* SIOCINQ (FIONREAD), SIOCOUTQ and SIOCOUTQNSD, as TCP answers them;
 * anything else is not ours (inet_ioctl() tries the device ioctls).
 */
/**
 * ktp_ioctl - proto.ioctl, through ktp_proto_ioctl(): SIOCINQ, SIOCOUTQ
 * and SIOCOUTQNSD, as TCP answers them
 * @sk: the socket
 * @cmd: the request
 * @karg: the answer
 *
 * Return: 0, -ENOIOCTLCMD for another request, -EINVAL on a listener.
 */
int ktp_ioctl(struct sock *sk, int cmd, int *karg)
{
	struct ktp_sock *kp = ktp_sk(sk);
	bool slow;
	int answ;

	if (cmd != SIOCINQ && cmd != SIOCOUTQ && cmd != SIOCOUTQNSD)
		return -ENOIOCTLCMD;
	if (sk->sk_state == KTP_LISTEN)
		return -EINVAL;
	slow = lock_sock_fast(sk);
	if ((1 << sk->sk_state) & (KTPF_SYN_SENT | KTPF_SYN_RECV)) {
		answ = 0;
	} else if (cmd == SIOCINQ) {
		answ = kp->rcv_nxt - kp->copied_seq;
		/* the peer's FIN takes a sequence number, not a byte */
		if (answ && sock_flag(sk, SOCK_DONE))
			answ--;
	} else if (cmd == SIOCOUTQ) {
		answ = kp->write_seq - kp->snd_una;
	} else {
		answ = kp->write_seq - kp->snd_nxt;
	}
	unlock_sock_fast(sk, slow);
	*karg = answ;
	return 0;
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

	lock_sock(sk);
	ktp_fill_info(sk, &info);
	release_sock(sk);

	if (put_user(len, optlen) || copy_to_user(optval, &info, len))
		return -EFAULT;
	return 0;
}

static int ktp_get_int(struct sock *sk, int val, char __user *optval,
		       int __user *optlen)
{
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min_t(unsigned int, len, sizeof(int));
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}

static int ktp_get_congestion(struct sock *sk, char __user *optval,
			      int __user *optlen)
{
	char name[KTP_CA_NAME_MAX] = "";
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	lock_sock(sk);
	if (ktp_sk(sk)->ca_ops)
		strscpy(name, ktp_sk(sk)->ca_ops->name, sizeof(name));
	release_sock(sk);
	len = min_t(unsigned int, len, sizeof(name));
	if (put_user(len, optlen) || copy_to_user(optval, name, len))
		return -EFAULT;
	return 0;
}

static int ktp_set_congestion(struct sock *sk, sockptr_t optval,
			      unsigned int optlen)
{
	char name[KTP_CA_NAME_MAX];
	int err;

	if (optlen < 1)
		return -EINVAL;
	optlen = min_t(unsigned int, optlen, sizeof(name) - 1);
	if (copy_from_sockptr(name, optval, optlen))
		return -EFAULT;
	name[optlen] = '\0';
	lock_sock(sk);
	err = ktp_set_congestion_control(sk, name);
	release_sock(sk);
	return err;
}

static int ktp_getsockopt(struct sock *sk, int level, int optname,
			  char __user *optval, int __user *optlen)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);
	int val;

	/* IP's levels go to the family's handler, as in TCP */
	if (level == SOL_IP || level == SOL_IPV6)
		return inet_csk(sk)->icsk_af_ops->getsockopt(sk, level, optname,
							     optval, optlen);
	if (level != SOL_KTP)
		return -ENOPROTOOPT;

	switch (optname) {
	case KTP_INFO:
		return ktp_get_info(sk, optval, optlen);
	case KTP_CONGESTION:
		return ktp_get_congestion(sk, optval, optlen);
	case KTP_NODELAY:
		val = kp->nodelay;
		break;
	case KTP_CORK:
		val = kp->cork;
		break;
	case KTP_MAXSEG:
		val = kp->user_mss ? : kp->mss;
		break;
	case KTP_KEEPIDLE:
		val = (kp->keepalive_time ? :
		       READ_ONCE(kn->keepalive_time)) / HZ;
		break;
	case KTP_KEEPINTVL:
		val = (kp->keepalive_intvl ? :
		       READ_ONCE(kn->keepalive_intvl)) / HZ;
		break;
	case KTP_KEEPCNT:
		val = kp->keepalive_probes ? :
		      READ_ONCE(kn->keepalive_probes);
		break;
	default:
		return -ENOPROTOOPT;
	}
	return ktp_get_int(sk, val, optval, optlen);
}

/* One SOL_KTP option with an int value; the socket is locked. */
static int ktp_setsockopt_int(struct sock *sk, int optname, int val)
{
	struct ktp_sock *kp = ktp_sk(sk);

	switch (optname) {
	case KTP_NODELAY:
		kp->nodelay = !!val;
		break;
	case KTP_CORK:
		kp->cork = !!val;
		break;
	case KTP_MAXSEG:
		if (val && (val < 64 || val > 65535))
			return -EINVAL;
		kp->user_mss = val;
		/* before the handshake, connect() and the SYN-ACK read it */
		if (!((1 << sk->sk_state) &
		      (KTPF_CLOSE | KTPF_LISTEN | KTPF_SYN_SENT)))
			ktp_resync_mss(sk);
		return 0;
	case KTP_KEEPIDLE:
	case KTP_KEEPINTVL:
		/* as TCP_KEEPIDLE's and TCP_KEEPINTVL's: no overflow */
		if (val < 1 || val > KTP_MAX_KEEPIDLE)
			return -EINVAL;
		if (optname == KTP_KEEPIDLE)
			kp->keepalive_time = val * HZ;
		else
			kp->keepalive_intvl = val * HZ;
		ktp_reset_keepalive(sk);
		return 0;
	case KTP_KEEPCNT:
		if (val < 1 || val > KTP_MAX_KEEPCNT)
			return -EINVAL;
		kp->keepalive_probes = val;
		return 0;
	case KTP_INFO:
		return -EINVAL;
	default:
		return -ENOPROTOOPT;
	}
	/* NODELAY set, or CORK cleared: what was held goes now. */
	ktp_write_xmit(sk);
	return 0;
}

static int ktp_setsockopt(struct sock *sk, int level, int optname,
			  sockptr_t optval, unsigned int optlen)
{
	int val, err;

	if (level == SOL_IP || level == SOL_IPV6)
		return inet_csk(sk)->icsk_af_ops->setsockopt(sk, level, optname,
							     optval, optlen);
	if (level != SOL_KTP)
		return -ENOPROTOOPT;
	if (optname == KTP_INFO)
		return -EINVAL;
	if (optname == KTP_CONGESTION)
		return ktp_set_congestion(sk, optval, optlen);
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	err = ktp_setsockopt_int(sk, optname, val);
	release_sock(sk);
	return err;
}

/* sk_stream_write_space(), which 6.1 does not export: wake writers once
 * a third of the send buffer is free again.
 */
static void ktp_write_space(struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct socket_wq *wq;

	if (!sock || !sk_stream_is_writeable(sk))
		return;
	clear_bit(SOCK_NOSPACE, &sock->flags);
	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM |
					   EPOLLWRBAND);
	if (wq && wq->fasync_list && !(sk->sk_shutdown & SEND_SHUTDOWN))
		sock_wake_async(wq, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

int ktp_init_sock(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);

	ktp_init_xmit_timers(sk);
	ktp_listen_init(sk);
	icsk->icsk_af_ops = &ktp_ipv4_specific;
	/* IP_OPTIONS, IPv6 extension headers and CIPSO call it */
	icsk->icsk_sync_mss = ktp_sync_mss;
	icsk->icsk_rto = KTP_TIMEOUT_INIT;
	kp->mss = KTP_MSS_DEFAULT;
	kp->mss_clamp = U16_MAX;
	kp->peer_mss = KTP_MSS_DEFAULT;
	kp->rtx_queue = RB_ROOT;
	kp->deferred = 0;
	kp->ooo_queue = RB_ROOT;
	kp->num_sacks = 0;
	kp->snd_cwnd = KTP_INIT_CWND;
	kp->snd_ssthresh = U32_MAX;
	kp->reo_wnd_steps = 1;
	ktp_init_congestion_control(sk);
	sk_sockets_allocated_inc(sk);
	sk->sk_write_space = ktp_write_space;
	sock_set_flag(sk, SOCK_USE_WRITE_QUEUE);
	/* what KTP's super-segments are (offload.c); sk_can_gso() asks */
	sk->sk_gso_type = SKB_GSO_SCTP;
	/* net.ktp.wmem[1] and rmem[1], to grow as they must (mem.c) */
	sk->sk_sndbuf = READ_ONCE(ktp_pernet(sock_net(sk))->wmem[1]);
	sk->sk_rcvbuf = READ_ONCE(ktp_pernet(sock_net(sk))->rmem[1]);
	return 0;
}

/**
 * ktp_forget_connection - what a connection learned and counted, reset
 * @sk: a new child, or a socket that connects (again); owned, and its
 *	queues empty
 *
 * Its RTT estimates, congestion window, loss recovery, receive-side
 * measurements and the KTP_INFO counters: a connection starts from the
 * same place as a fresh socket's, as TCP's does after tcp_disconnect().
 * TCP forgets at the disconnect, which a blocking connect() that failed
 * makes too; KTP at the next connect(), so that KTP_INFO still shows
 * what the failed attempt or the dissolved connection did. What depends
 * on its sequence numbers or its peer's options is the caller's to set,
 * and so are the deferred timer bits, which hold references
 * (ktp_forget_deferred()).
 */
void ktp_forget_connection(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->srtt_us = 0;
	kp->rttvar_us = 0;
	kp->rtt_min_us = 0;
	kp->rack_on = 0;
	kp->reord_seen = 0;
	kp->snd_cwnd = KTP_INIT_CWND;
	kp->snd_ssthresh = U32_MAX;
	kp->cwnd_cnt = 0;
	kp->packets_out = 0;
	kp->dupacks = 0;
	kp->in_recovery = 0;
	kp->ack_pending = 0;
	kp->sacked_out = 0;
	kp->lost_out = 0;
	kp->retrans_out = 0;
	kp->fin_queued = 0;
	kp->total_retrans = 0;
	kp->bytes_acked = 0;
	kp->bytes_received = 0;
	kp->segs_in = 0;
	kp->segs_out = 0;
	kp->tlp_high_seq = 0;
	kp->retrans_stamp = 0;
	kp->undo_ok = 0;
	kp->undo_armed = 0;
	kp->undo_dsack = 0;
	kp->dsack = 0;
	kp->reo_wnd_steps = 1;
	kp->reo_wnd_persist = 0;
	kp->frto = 0;
	kp->rcvq_time_us = 0;
	kp->rcv_rtt_us = 0;
	kp->rcv_rtt_time_us = 0;
}

static void ktp_destroy_sock(struct sock *sk)
{
	sk_sockets_allocated_dec(sk);
	ktp_cleanup_congestion_control(sk);
	ktp_clear_xmit_timers(sk);
	ktp_purge_write_queue(sk);
	ktp_purge_ooo_queue(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	ktp_put_port(sk);
}

struct proto ktp_prot = {
	.name		= "KTP",
	.owner		= THIS_MODULE,
	.close		= ktp_close,
	.pre_connect	= ktp_v4_pre_connect,
	.connect	= ktp_v4_connect,
	.disconnect	= ktp_disconnect,
	.accept		= ktp_proto_accept,
	.init		= ktp_init_sock,
	.destroy	= ktp_destroy_sock,
	.shutdown	= ktp_shutdown,
	.keepalive	= ktp_keepalive,
	.ioctl		= ktp_proto_ioctl,
	.setsockopt	= ktp_setsockopt,
	.getsockopt	= ktp_getsockopt,
	.sendmsg	= ktp_sendmsg,
	.recvmsg	= ktp_proto_recvmsg,
	.backlog_rcv	= ktp_do_rcv,
	.release_cb	= ktp_release_cb,
	.hash		= ktp_hash,
	.unhash		= ktp_unhash,
	.get_port	= ktp_get_port,
	.put_port	= ktp_put_port,
	.memory_allocated = &ktp_memory_allocated,
	.per_cpu_fw_alloc = &ktp_memory_per_cpu_fw_alloc,
	.sockets_allocated = &ktp_sockets_allocated,
	.memory_pressure = &ktp_memory_pressure,
	.enter_memory_pressure = ktp_enter_memory_pressure,
	.leave_memory_pressure = ktp_leave_memory_pressure,
	.sysctl_mem	= ktp_sysctl_mem,
	.sysctl_wmem	= ktp_sysctl_wmem,
	.sysctl_rmem	= ktp_sysctl_rmem,
	.obj_size	= sizeof(struct ktp_sock),
	.slab_flags	= SLAB_TYPESAFE_BY_RCU,
	.no_autobind	= true,
};
