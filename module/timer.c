// SPDX-License-Identifier: GPL-2.0
/*
 * KTP timers: retransmission of SYN, data and FIN with exponential
 * back-off, the persist timer's window probes, delayed ACKs, keepalive,
 * and the life of an orphan in FIN_WAIT2. They are KTP's own timer_lists
 * in struct ktp_sock, one callback each, not the connection-socket
 * layer's.
 *
 * Each timer callback runs in softirq context: it takes bh_lock_sock();
 * if a process owns the socket it sets a bit in ktp_sk(sk)->deferred,
 * holding a reference, and ktp_release_cb() does the work when the
 * process releases the socket; otherwise it acts at once. The timer's
 * own reference (taken by sk_reset_timer()) is dropped on the way out.
 */
#include <linux/module.h>
#include <net/sock.h>

#include "protocol.h"

/**
 * ktp_reset_rtx_timer - arm the retransmission or the persist timer
 * @sk: the socket, owned by the caller
 * @event: KTP_RTX_RETRANS, KTP_RTX_PROBE or KTP_RTX_LOSS_PROBE
 * @when: in how many jiffies; no more than KTP_RTO_MAX
 */
void ktp_reset_rtx_timer(struct sock *sk, int event, unsigned long when)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->rtx_pending = event;
	kp->rtx_timeout = jiffies + min_t(unsigned long, when, KTP_RTO_MAX);
	sk_reset_timer(sk, &kp->rtx_timer, kp->rtx_timeout);
}

/* Nothing due: the timer may still fire, and then finds nothing to do. */
static void ktp_clear_rtx_timer(struct sock *sk)
{
	ktp_sk(sk)->rtx_pending = KTP_RTX_NONE;
}

/**
 * ktp_reset_keepalive_timer - (re)arm the keepalive timer
 * @sk: the socket, owned by the caller
 * @len: in how many jiffies
 */
void ktp_reset_keepalive_timer(struct sock *sk, unsigned long len)
{
	sk_reset_timer(sk, &ktp_sk(sk)->keepalive_timer, jiffies + len);
}

/**
 * ktp_delete_keepalive_timer - stop the keepalive timer
 * @sk: the socket, owned by the caller
 */
void ktp_delete_keepalive_timer(struct sock *sk)
{
	sk_stop_timer(sk, &ktp_sk(sk)->keepalive_timer);
}

/**
 * ktp_clear_xmit_timers - stop every timer of the socket
 * @sk: the socket, owned by the caller
 *
 * Each stopped timer gives back its reference. A callback already
 * running waits for the socket lock and then finds nothing due.
 */
void ktp_clear_xmit_timers(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->rtx_pending = KTP_RTX_NONE;
	kp->ack_pending = 0;
	sk_stop_timer(sk, &kp->rtx_timer);
	sk_stop_timer(sk, &kp->delack_timer);
	sk_stop_timer(sk, &kp->keepalive_timer);
}

/**
 * ktp_stop_timers_sync - stop every timer and wait for a running handler
 * @sk: the socket, owned by the caller (process context)
 *
 * Owning the socket keeps a handler that runs meanwhile from more than
 * deferring its work to release_sock() (ktp_timer_run()), so no timer is
 * armed again. Each stopped timer gives back its reference.
 */
void ktp_stop_timers_sync(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (timer_delete_sync(&kp->rtx_timer))
		__sock_put(sk);
	if (timer_delete_sync(&kp->delack_timer))
		__sock_put(sk);
	if (timer_delete_sync(&kp->keepalive_timer))
		__sock_put(sk);
	kp->rtx_pending = KTP_RTX_NONE;
	kp->ack_pending = 0;
}

/**
 * ktp_rearm_rto - run the retransmission timer iff something is in flight
 * @sk: the socket, owned by the caller
 */
void ktp_rearm_rto(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (kp->snd_una != kp->snd_nxt)
		ktp_reset_rtx_timer(sk, KTP_RTX_RETRANS,
				    inet_csk(sk)->icsk_rto);
	else
		ktp_clear_rtx_timer(sk);
}

/**
 * ktp_schedule_loss_probe - arm the tail loss probe instead of the RTO
 * @sk: the socket, owned by the caller, with data in flight
 *
 * RFC 8985 7.2, as tcp_schedule_loss_probe(): with SACK, in order (no
 * recovery, no duplicate ACK or SACK outstanding: TCP's CA_Open) and
 * with no probe of this flight out yet, the probe timeout
 * (PTO) is two SRTTs; with one segment in flight, plus the worst case
 * of the peer's delayed ACK (WCDelAckT, 200 ms, as TCP adds
 * TCP_RTO_MIN): that segment's ACK may wait for the peer's delayed-ACK
 * timer, whose length we do not know, and a probe sent before it fires
 * is a spurious retransmission. 10 ms at least. An RTO due sooner
 * stays. When the PTO fires, ktp_loss_probe() sends new
 * data, or the newest segment again, so that a lost tail is answered
 * (with a SACK, or its own ACK) within an RTT instead of an RTO.
 *
 * Return: true if the probe is what the timer runs for now.
 */
bool ktp_schedule_loss_probe(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	unsigned long pto, due;
	u32 pto_us;

	if (!READ_ONCE(kn->tlp) || !kp->sack_ok || !kp->packets_out ||
	    kp->in_recovery || icsk->icsk_retransmits || kp->tlp_high_seq ||
	    kp->dupacks || kp->sacked_out || !kp->srtt_us ||
	    !((1 << sk->sk_state) & (KTPF_ESTABLISHED | KTPF_CLOSE_WAIT)))
		return false;
	pto_us = 2 * kp->srtt_us;
	if (kp->packets_out == 1)
		pto_us += KTP_WC_DELACK_US;
	pto = max(usecs_to_jiffies(pto_us), msecs_to_jiffies(10));
	due = jiffies + pto;
	if (pto >= icsk->icsk_rto ||
	    (kp->rtx_pending == KTP_RTX_RETRANS &&
	     time_before_eq(kp->rtx_timeout, due)))
		return false;
	ktp_reset_rtx_timer(sk, KTP_RTX_LOSS_PROBE, pto);
	return true;
}

/* The PTO fired: probe, then leave the rest to the RTO (RFC 8985 7.3). */
static void ktp_loss_probe(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	if (sk->sk_state == KTP_CLOSE || !kp->packets_out)
		return;
	if (kp->in_recovery)
		goto rearm;
	if (!ktp_xmit_probe_new(sk)) {
		struct ktp_skb_cb *cb;
		u8 lost;

		skb = ktp_rtx_last(sk);
		if (!skb || KTP_SKB_CB(skb)->sacked)
			goto rearm;
		/* of a super-segment, its last segment alone */
		if (KTP_SKB_CB(skb)->pcount > 1) {
			skb = ktp_rtx_split(sk, skb, (KTP_SKB_CB(skb)->pcount -
						      1) * kp->mss);
			if (!skb)
				goto rearm;
		}
		cb = KTP_SKB_CB(skb);
		lost = cb->lost_retx;
		if (ktp_retransmit_skb(sk, skb))
			goto rearm;
		/* a probe, not a repair: recovery may still resend it */
		cb->lost_retx = lost;
	}
	kp->tlp_high_seq = kp->snd_nxt;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_TLPPROBES);
rearm:
	ktp_reset_rtx_timer(sk, KTP_RTX_RETRANS, icsk->icsk_rto);
}

/**
 * ktp_rtt_sample - fold one RTT measurement into SRTT, RTTVAR and RTO
 * @sk: the socket, owned by the caller
 * @rtt_us: the measurement, in microseconds
 *
 * RFC 6298 2.2 and 2.3, with alpha 1/8 and beta 1/4; the RTO is kept
 * between net.ktp.rto_min and 120 s (2.4, 2.5). The congestion control
 * sees the measurement too.
 */
void ktp_rtt_sample(struct sock *sk, u32 rtt_us)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);
	u32 rto_us, err;

	rtt_us = max(rtt_us, 1U);
	if (!kp->rtt_min_us || rtt_us < kp->rtt_min_us)
		kp->rtt_min_us = rtt_us;
	if (!kp->srtt_us) {
		kp->srtt_us = rtt_us;
		kp->rttvar_us = rtt_us / 2;
	} else {
		err = abs((s32)(kp->srtt_us - rtt_us));
		kp->rttvar_us = kp->rttvar_us - kp->rttvar_us / 4 + err / 4;
		kp->srtt_us = kp->srtt_us - kp->srtt_us / 8 + rtt_us / 8;
	}
	rto_us = kp->srtt_us + max_t(u32, jiffies_to_usecs(1),
				     4 * kp->rttvar_us);
	inet_csk(sk)->icsk_rto = clamp_t(u32, usecs_to_jiffies(rto_us),
					 READ_ONCE(kn->rto_min), KTP_RTO_MAX);
	if (kp->ca_ops && kp->ca_ops->rtt_sample)
		kp->ca_ops->rtt_sample(sk, rtt_us);
}

/**
 * ktp_rtt_sample_ts - an RTT sample from the echo of one of our
 * timestamps (RFC 7323 4.1)
 * @sk: the socket, owned by the caller, with timestamps on
 * @tsecr: the echo of an ACK that acknowledged new data
 *
 * Taken where Karn's rule forbids a sample from the segments (they were
 * sent twice): the echo says which transmission the peer saw. In
 * milliseconds; under one counts one, as TCP counts it. An echo of 0, of
 * the future, or of more than the RTO's ceiling ago, is not taken.
 */
void ktp_rtt_sample_ts(struct sock *sk, u32 tsecr)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 delta = ktp_clock_ms() + kp->ts_off - tsecr;

	if (!tsecr || (s32)delta < 0 ||
	    delta > jiffies_to_msecs(KTP_RTO_MAX))
		return;
	ktp_rtt_sample(sk, max(delta, 1U) * USEC_PER_MSEC);
}

/**
 * ktp_enter_loss - the RTO expired: everything in flight is presumed lost
 * @sk: the socket, owned by the caller
 *
 * RFC 5681 3.1 (7.): ssthresh to half the flight, cwnd to one segment;
 * then NewReno-style recovery resends each hole as partial ACKs reveal
 * it, until all that was in flight is acknowledged.
 */
void ktp_enter_loss(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	/* from an RTO in fast recovery, undo goes back to before that;
	 * F-RTO only for an RTO out of the blue (RFC 5682 2). A SYN's
	 * time-out has nothing to undo: retrans_stamp keeps the first
	 * SYN's TSval, the oldest a SYN-ACK may echo (input.c).
	 */
	if (sk->sk_state == KTP_SYN_SENT) {
		kp->frto = 0;
	} else if (!kp->in_recovery) {
		ktp_init_undo(kp, true);
		kp->frto = !!READ_ONCE(ktp_pernet(sock_net(sk))->frto);
	} else {
		kp->undo_loss = 1;
		kp->frto = 0;
	}
	/* All not SACKed is a hole now, to be resent once more. */
	kp->highest_sack = kp->snd_nxt;
	kp->all_lost = 1;
	ktp_rtx_reset_marks(sk);
	kp->snd_ssthresh = kp->ca_ops->ssthresh(sk);
	kp->snd_cwnd = 1;
	kp->cwnd_cnt = 0;
	kp->dupacks = 0;
	kp->recover = kp->snd_nxt;
	kp->in_recovery = 1;
	kp->tlp_high_seq = 0;
}

/**
 * ktp_simple_retransmit - the path MTU shrank under segments in flight:
 * they are lost, but not to congestion
 * @sk: the socket, owned by the caller, its MSS already lowered
 *
 * Everything not SACKed is a hole to resend, in segments that fit
 * (ktp_retransmit_skb() cuts them), as in ktp_enter_loss(); but the
 * congestion window stays, and is where it returns to when recovery
 * ends (tcp_simple_retransmit() does the same).
 */
void ktp_simple_retransmit(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!kp->packets_out)
		return;
	kp->highest_sack = kp->snd_nxt;
	kp->all_lost = 1;
	ktp_rtx_reset_marks(sk);
	if (!kp->in_recovery) {
		kp->snd_ssthresh = max(kp->snd_cwnd, 2U);
		kp->recover = kp->snd_nxt;
		kp->dupacks = 0;
		kp->in_recovery = 1;
	}
	if (kp->sack_ok)
		ktp_sack_retransmit(sk);
	else
		ktp_retransmit_head(sk);
	ktp_rearm_rto(sk);
}

/**
 * ktp_schedule_ack - data arrived in order: ACK it now or a little later
 * @sk: the socket, owned by the caller
 *
 * At least every second full-sized segment is acknowledged at once
 * (RFC 9293 3.8.6.3, RFC 5681 4.2); otherwise within net.ktp.delack.
 */
void ktp_schedule_ack(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);

	if (kp->rcv_nxt - kp->rcv_wup >= KTP_DELACK_SEGS * kp->mss ||
	    !READ_ONCE(kn->delack)) {
		ktp_send_ack(sk);
		return;
	}
	if (kp->ack_pending)
		return;
	kp->ack_pending = 1;
	kp->ack_timeout = jiffies + READ_ONCE(kn->delack);
	sk_reset_timer(sk, &kp->delack_timer, kp->ack_timeout);
}

/* How many RTOs or window probes an orphan gets: net.ktp.orphan_retries,
 * 0 meaning 8, as tcp_orphan_retries(). No one waits for its answer.
 */
static int ktp_orphan_retries(const struct sock *sk)
{
	return READ_ONCE(ktp_pernet(sock_net(sk))->orphan_retries) ? :
	       KTP_ORPHAN_RETRIES;
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
	if (sock_flag(sk, SOCK_DEAD))
		limit = min(limit, ktp_orphan_retries(sk));
	return inet_csk(sk)->icsk_retransmits >= limit;
}

/**
 * ktp_out_of_resources - reset an orphan the module cannot afford
 * @sk: an orphan, owned by the caller
 * @do_reset: tell the peer with a RST
 *
 * As tcp_out_of_resources(): over net.ktp.max_orphans or the memory
 * limit, the orphan goes, the peer told with a RST; one whose peer keeps
 * its window shut, or that a soft error marked, counts double.
 *
 * Return: true when the socket is done.
 */
bool ktp_out_of_resources(struct sock *sk, bool do_reset)
{
	struct ktp_sock *kp = ktp_sk(sk);
	int shift = 0;

	if (!kp->snd_wnd)
		shift++;
	if (READ_ONCE(sk->sk_err_soft))
		shift++;
	if (!ktp_orphan_oom(sk, shift))
		return false;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONMEMORY);
	if (do_reset)
		ktp_send_active_reset(sk, GFP_ATOMIC);
	ktp_done(sk);
	return true;
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
	if (sock_flag(sk, SOCK_DEAD) && ktp_out_of_resources(sk, true))
		return;
	if (ktp_out_of_retries(sk)) {
		/* ETIMEDOUT, whatever soft error an ICMP left (SO_ERROR
		 * told it): a peer that vanished timed out, the same way
		 * whether or not a router or the neighbour layer said so
		 * (TCP would report the ICMP's error here)
		 */
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONTIMEOUT);
		sk->sk_err = ETIMEDOUT;
		ktp_purge_write_queue(sk);
		if (!sock_flag(sk, SOCK_DEAD))
			sk_error_report(sk);
		ktp_done(sk);
		return;
	}
	KTP_INC_STATS(sock_net(sk), KTP_MIB_TIMEOUTS);
	if (!icsk->icsk_retransmits)
		ktp_enter_loss(sk);
	ktp_retransmit_head(sk);
	icsk->icsk_retransmits++;
	icsk->icsk_backoff++;
	icsk->icsk_rto = min(icsk->icsk_rto << 1, KTP_RTO_MAX);
	ktp_reset_rtx_timer(sk, KTP_RTX_RETRANS, icsk->icsk_rto);
}

static u32 ktp_keepalive_time(const struct sock *sk)
{
	return ktp_sk(sk)->keepalive_time ? :
	       READ_ONCE(ktp_pernet(sock_net(sk))->keepalive_time);
}

static u32 ktp_keepalive_intvl(const struct sock *sk)
{
	return ktp_sk(sk)->keepalive_intvl ? :
	       READ_ONCE(ktp_pernet(sock_net(sk))->keepalive_intvl);
}

static u32 ktp_keepalive_probes(const struct sock *sk)
{
	return ktp_sk(sk)->keepalive_probes ? :
	       READ_ONCE(ktp_pernet(sock_net(sk))->keepalive_probes);
}

/**
 * ktp_reset_keepalive - restart the idle clock of a keepalive socket
 * @sk: the socket, owned by the caller
 */
void ktp_reset_keepalive(struct sock *sk)
{
	if (sock_flag(sk, SOCK_KEEPOPEN) &&
	    (1 << sk->sk_state) & (KTPF_ESTABLISHED | KTPF_CLOSE_WAIT))
		ktp_reset_keepalive_timer(sk, ktp_keepalive_time(sk));
}

/**
 * ktp_keepalive - SO_KEEPALIVE switched on or off
 * @sk: the socket, locked by the caller
 * @val: on or off
 *
 * Called before SOCK_KEEPOPEN changes, as tcp_set_keepalive() is: on a
 * connection, switching it on starts the idle clock here.
 */
void ktp_keepalive(struct sock *sk, int val)
{
	if (val && !sock_flag(sk, SOCK_KEEPOPEN) &&
	    (1 << sk->sk_state) & (KTPF_ESTABLISHED | KTPF_CLOSE_WAIT))
		ktp_reset_keepalive_timer(sk, ktp_keepalive_time(sk));
	else if (!val && sk->sk_state != KTP_FIN_WAIT2)
		ktp_delete_keepalive_timer(sk);
}

/* An idle connection with SO_KEEPALIVE: probe after KTP_KEEPIDLE, every
 * KTP_KEEPINTVL, and give up with ETIMEDOUT after KTP_KEEPCNT probes
 * that went unanswered (RFC 9293 3.8.4).
 */
static void ktp_keepalive_probe(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	u32 idle = jiffies - kp->rcv_tstamp;

	if (!sock_flag(sk, SOCK_KEEPOPEN) ||
	    !((1 << sk->sk_state) & (KTPF_ESTABLISHED | KTPF_CLOSE_WAIT)))
		return;
	if (kp->packets_out || ktp_send_head(sk)) {
		/* not idle: the RTO and persist timers watch the peer */
		ktp_reset_keepalive_timer(sk, ktp_keepalive_time(sk));
		return;
	}
	if (idle < ktp_keepalive_time(sk)) {
		ktp_reset_keepalive_timer(sk, ktp_keepalive_time(sk) - idle);
		return;
	}
	if (icsk->icsk_probes_out >= ktp_keepalive_probes(sk)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONTIMEOUT);
		sk->sk_err = ETIMEDOUT;
		sk_error_report(sk);
		ktp_done(sk);
		return;
	}
	ktp_send_probe(sk);
	icsk->icsk_probes_out++;
	ktp_reset_keepalive_timer(sk, ktp_keepalive_intvl(sk));
}

/**
 * ktp_finwait2_timer - the keepalive timer fired: an orphan waited long
 * enough for the peer's FIN, or an idle connection needs a probe
 * @sk: the socket, owned by the caller
 */
void ktp_finwait2_timer(struct sock *sk)
{
	if (sk->sk_state == KTP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_FINWAIT2TIMEOUT);
		ktp_send_active_reset(sk, GFP_ATOMIC);
		ktp_done(sk);
		return;
	}
	ktp_keepalive_probe(sk);
}

/* The persist timer: unsent data and nothing in flight, because the
 * peer's window is closed or because the last attempt to send failed
 * locally (no route, the device down). Probe the window, or try the
 * data again, backing off; after net.ktp.retries2 rounds without an
 * answer or without a segment leaving, the peer is gone.
 */
static void ktp_probe_timer(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);

	if (sk->sk_state == KTP_CLOSE || kp->packets_out || !ktp_send_head(sk))
		return;
	if (kp->snd_wnd && !ktp_write_xmit(sk)) {
		/* sent, or held back by Nagle or cork: not a failure */
		icsk->icsk_probes_out = 0;
		icsk->icsk_backoff = 0;
		return;
	}
	/* A live socket waits as long as the peer answers its probes (RFC
	 * 1122 4.2.2.17); an orphan only orphan_retries rounds of back-off,
	 * which answers do not undo, so a peer that keeps its window shut
	 * cannot pin a closed socket's memory (the Sockstress attack).
	 */
	if (sock_flag(sk, SOCK_DEAD)) {
		if (ktp_out_of_resources(sk, true))
			return;
		if (icsk->icsk_backoff >= ktp_orphan_retries(sk)) {
			KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONTIMEOUT);
			ktp_send_active_reset(sk, GFP_ATOMIC);
			ktp_done(sk);
			return;
		}
	}
	if (icsk->icsk_probes_out >= READ_ONCE(kn->retries2)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONTIMEOUT);
		sk->sk_err = ETIMEDOUT;
		ktp_purge_write_queue(sk);
		if (!sock_flag(sk, SOCK_DEAD))
			sk_error_report(sk);
		ktp_done(sk);
		return;
	}
	if (!kp->snd_wnd)
		ktp_send_probe(sk);
	icsk->icsk_probes_out++;
	icsk->icsk_backoff = min_t(u8, icsk->icsk_backoff + 1, 15);
	ktp_reset_rtx_timer(sk, KTP_RTX_PROBE,
			    min_t(u32, icsk->icsk_rto << icsk->icsk_backoff,
				  KTP_RTO_MAX));
}

static void ktp_write_timer_handler(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	int event = kp->rtx_pending;

	if (event == KTP_RTX_NONE)
		return;
	if (time_after(kp->rtx_timeout, jiffies)) {
		sk_reset_timer(sk, &kp->rtx_timer, kp->rtx_timeout);
		return;
	}
	kp->rtx_pending = KTP_RTX_NONE;
	if (event == KTP_RTX_PROBE)
		ktp_probe_timer(sk);
	else if (event == KTP_RTX_LOSS_PROBE)
		ktp_loss_probe(sk);
	else
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
	struct ktp_sock *kp = timer_container_of(kp, t, rtx_timer);

	ktp_timer_run((struct sock *)kp, KTP_RETRANSMIT_DEFERRED,
		      ktp_write_timer_handler);
}

static void ktp_delack_timer_handler(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!kp->ack_pending)
		return;
	if (time_after(kp->ack_timeout, jiffies)) {
		sk_reset_timer(sk, &kp->delack_timer, kp->ack_timeout);
		return;
	}
	ktp_send_ack(sk);
}

static void ktp_delack_timer(struct timer_list *t)
{
	struct ktp_sock *kp = timer_container_of(kp, t, delack_timer);

	ktp_timer_run((struct sock *)kp, KTP_DELACK_DEFERRED,
		      ktp_delack_timer_handler);
}

static void ktp_keepalive_timer(struct timer_list *t)
{
	struct ktp_sock *kp = timer_container_of(kp, t, keepalive_timer);

	ktp_timer_run((struct sock *)kp, KTP_FINWAIT2_DEFERRED,
		      ktp_finwait2_timer);
}

/**
 * ktp_init_xmit_timers - set up a socket's timers
 * @sk: a new socket, or a listener's fresh clone
 */
void ktp_init_xmit_timers(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	timer_setup(&kp->rtx_timer, ktp_write_timer, 0);
	timer_setup(&kp->delack_timer, ktp_delack_timer, 0);
	timer_setup(&kp->keepalive_timer, ktp_keepalive_timer, 0);
	kp->rtx_pending = KTP_RTX_NONE;
	kp->ack_pending = 0;
}

/**
 * ktp_forget_deferred - drop the timer work deferred to release_sock()
 * @sk: the socket, owned by the caller, who holds a reference of its own
 *
 * For a disconnect, which has stopped every timer: the work is moot. Each
 * bit holds a reference (ktp_timer_run()) that goes with it; clearing the
 * bits alone would leak the socket.
 */
void ktp_forget_deferred(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (test_and_clear_bit(KTP_RETRANSMIT_DEFERRED, &kp->deferred))
		__sock_put(sk);
	if (test_and_clear_bit(KTP_DELACK_DEFERRED, &kp->deferred))
		__sock_put(sk);
	if (test_and_clear_bit(KTP_FINWAIT2_DEFERRED, &kp->deferred))
		__sock_put(sk);
	if (test_and_clear_bit(KTP_MTU_REDUCED_DEFERRED, &kp->deferred))
		__sock_put(sk);
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
	if (test_and_clear_bit(KTP_DELACK_DEFERRED, &kp->deferred)) {
		ktp_delack_timer_handler(sk);
		__sock_put(sk);
	}
	if (test_and_clear_bit(KTP_FINWAIT2_DEFERRED, &kp->deferred)) {
		ktp_finwait2_timer(sk);
		__sock_put(sk);
	}
	/* a path MTU message came while the process owned it (icmp.c) */
	if (test_and_clear_bit(KTP_MTU_REDUCED_DEFERRED, &kp->deferred)) {
		inet_csk(sk)->icsk_af_ops->mtu_reduced(sk);
		__sock_put(sk);
	}
}
