// SPDX-License-Identifier: GPL-2.0
/*
 * KTP timers: retransmission of SYN, data and FIN with exponential
 * back-off, and the life of an orphan in FIN_WAIT2.
 *
 * Each timer callback runs in softirq context: it takes bh_lock_sock();
 * if a process owns the socket it sets a bit in ktp_sk(sk)->deferred,
 * holding a reference, and ktp_release_cb() does the work when the
 * process releases the socket; otherwise it acts at once. The timer's
 * own reference (taken by sk_reset_timer()) is dropped on the way out.
 */
#include <linux/module.h>
#include <net/sock.h>
#include <net/inet_connection_sock.h>

#include "protocol.h"

/**
 * ktp_rearm_rto - run the retransmission timer iff something is in flight
 * @sk: the socket, owned by the caller
 */
void ktp_rearm_rto(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (kp->snd_una != kp->snd_nxt)
		inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS,
					  inet_csk(sk)->icsk_rto, KTP_RTO_MAX);
	else
		inet_csk_clear_xmit_timer(sk, ICSK_TIME_RETRANS);
}

/* Too many retransmissions: the connection fails with ETIMEDOUT. */
static bool ktp_out_of_retries(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	int limit;

	if ((1 << sk->sk_state) & (KTPF_SYN_SENT | KTPF_SYN_RECV))
		limit = READ_ONCE(kn->syn_retries);
	else
		limit = READ_ONCE(kn->retries2);
	return inet_csk(sk)->icsk_retransmits >= limit;
}

/**
 * ktp_retransmit_timer - the RTO expired: send the head again, back off
 * @sk: the socket, owned by the caller
 */
void ktp_retransmit_timer(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);

	if (sk->sk_state == KTP_CLOSE || kp->snd_una == kp->snd_nxt)
		return;
	if (ktp_out_of_retries(sk)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONTIMEOUT);
		sk->sk_err = READ_ONCE(sk->sk_err_soft) ? : ETIMEDOUT;
		ktp_purge_write_queue(sk);
		if (!sock_flag(sk, SOCK_DEAD))
			sk_error_report(sk);
		ktp_done(sk);
		return;
	}
	ktp_retransmit_head(sk);
	icsk->icsk_retransmits++;
	icsk->icsk_backoff++;
	icsk->icsk_rto = min(icsk->icsk_rto << 1, KTP_RTO_MAX);
	inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, icsk->icsk_rto,
				  KTP_RTO_MAX);
}

/**
 * ktp_finwait2_timer - an orphan waited long enough for the peer's FIN
 * @sk: the socket, owned by the caller
 */
void ktp_finwait2_timer(struct sock *sk)
{
	if (sk->sk_state != KTP_FIN_WAIT2 || !sock_flag(sk, SOCK_DEAD))
		return;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_FINWAIT2TIMEOUT);
	ktp_send_active_reset(sk, GFP_ATOMIC);
	ktp_done(sk);
}

static void ktp_write_timer_handler(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	if (icsk->icsk_pending != ICSK_TIME_RETRANS)
		return;
	if (time_after(icsk->icsk_timeout, jiffies)) {
		sk_reset_timer(sk, &icsk->icsk_retransmit_timer,
			       icsk->icsk_timeout);
		return;
	}
	icsk->icsk_pending = 0;
	ktp_retransmit_timer(sk);
}

/* Run @fn now, or defer it to release_sock() as @bit. */
static void ktp_timer_run(struct sock *sk, int bit, void (*fn)(struct sock *))
{
	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk))
		fn(sk);
	else if (!test_and_set_bit(bit, &ktp_sk(sk)->deferred))
		sock_hold(sk);
	bh_unlock_sock(sk);
	sock_put(sk);
}

static void ktp_write_timer(struct timer_list *t)
{
	struct inet_connection_sock *icsk =
		from_timer(icsk, t, icsk_retransmit_timer);

	ktp_timer_run(&icsk->icsk_inet.sk, KTP_RETRANSMIT_DEFERRED,
		      ktp_write_timer_handler);
}

static void ktp_delack_timer(struct timer_list *t)
{
	struct inet_connection_sock *icsk =
		from_timer(icsk, t, icsk_delack_timer);

	/* Every ACK goes out at once for now. */
	sock_put(&icsk->icsk_inet.sk);
}

static void ktp_keepalive_timer(struct timer_list *t)
{
	struct sock *sk = from_timer(sk, t, sk_timer);

	ktp_timer_run(sk, KTP_FINWAIT2_DEFERRED, ktp_finwait2_timer);
}

/**
 * ktp_init_xmit_timers - set up a socket's timers
 * @sk: a new socket
 */
void ktp_init_xmit_timers(struct sock *sk)
{
	inet_csk_init_xmit_timers(sk, ktp_write_timer, ktp_delack_timer,
				  ktp_keepalive_timer);
}

/**
 * ktp_release_cb - run the timer work deferred while a process owned @sk
 * @sk: the socket, still owned, with its spinlock held and BH off
 */
void ktp_release_cb(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (test_and_clear_bit(KTP_RETRANSMIT_DEFERRED, &kp->deferred)) {
		ktp_write_timer_handler(sk);
		__sock_put(sk);
	}
	if (test_and_clear_bit(KTP_FINWAIT2_DEFERRED, &kp->deferred)) {
		ktp_finwait2_timer(sk);
		__sock_put(sk);
	}
}
