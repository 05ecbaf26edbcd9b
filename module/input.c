// SPDX-License-Identifier: GPL-2.0
/*
 * KTP input: what happens to an incoming segment of a connection, in the
 * order RFC 9293 3.10.7.4 lays down: sequence check, RST, SYN, ACK, data,
 * FIN. Listeners, request entries and TIME_WAIT entries are handled in
 * demux.c and minisocks.c before a segment gets here.
 *
 * Every function here runs with the socket owned by the caller: bh-locked
 * from the protocol handler, or owned by a process draining its backlog.
 * Each consumes the skb it is given.
 */
#include <linux/module.h>
#include <net/sock.h>
#include <net/inet_common.h>

#include "protocol.h"
#include "trace.h"

/* SACK blocks, as many as fit, in the order sent. */
static void ktp_parse_sack_blocks(const u8 *opt, u8 len, struct ktp_syn_opts *o)
{
	int n = (len - 2) / 8, i;

	for (i = 0; i < n && o->nr_sacks < KTP_MAX_SACKS; i++) {
		struct ktp_sack_block *b = &o->sacks[o->nr_sacks++];

		b->start = get_unaligned_be32(opt + 2 + 8 * i);
		b->end = get_unaligned_be32(opt + 6 + 8 * i);
	}
}

/**
 * ktp_parse_opts - the options a segment carries
 * @skb: the segment, header still reachable through ktp_hdr()
 * @o: filled: MSS (0 if absent), window shift (-1 if absent),
 *     SACK-permitted, SACK blocks, timestamp (ts 0 if absent)
 *
 * Malformed options end the walk: what was read until then counts.
 */
void ktp_parse_opts(const struct sk_buff *skb, struct ktp_syn_opts *o)
{
	const struct ktphdr *th = ktp_hdr(skb);
	const u8 *opt = (const u8 *)(th + 1);
	int left = th->doff * 4 - KTP_HDR_LEN;

	memset(o, 0, sizeof(*o));
	o->wscale = -1;
	while (left > 0) {
		u8 kind = opt[0], len;

		if (kind == KTPOPT_EOL)
			break;
		if (kind == KTPOPT_NOP) {
			opt++;
			left--;
			continue;
		}
		if (left < 2)
			break;
		len = opt[1];
		if (len < 2 || len > left)
			break;
		if (kind == KTPOPT_MSS && len == KTPOLEN_MSS) {
			o->mss = get_unaligned_be16(opt + 2);
		} else if (kind == KTPOPT_WSCALE && len == KTPOLEN_WSCALE) {
			o->wscale = min_t(u8, opt[2], KTP_MAX_WSCALE);
		} else if (kind == KTPOPT_SACK_PERM &&
			   len == KTPOLEN_SACK_PERM) {
			o->sack_ok = 1;
		} else if (kind == KTPOPT_SACK && len >= 10 &&
			   (len - 2) % 8 == 0) {
			ktp_parse_sack_blocks(opt, len, o);
		} else if (kind == KTPOPT_TIMESTAMP &&
			   len == KTPOLEN_TIMESTAMP) {
			o->ts = 1;
			o->tsval = get_unaligned_be32(opt + 2);
			o->tsecr = get_unaligned_be32(opt + 6);
		}
		opt += len;
		left -= len;
	}
}

/* The peer's window in bytes; a SYN's field is never scaled. */
static u32 ktp_peer_window(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);

	if (cb->flags & KTP_FLAG_SYN)
		return cb->window;
	return (u32)cb->window << kp->snd_wscale;
}

/*
 * PAWS (RFC 7323 5.3): a segment whose TSval is older than TS.Recent is
 * an old duplicate, dropped before its sequence number is looked at. A
 * pure ACK that is no more than late is left alone, as TCP's
 * tcp_disordered_ack() leaves it: in sequence, acknowledging nothing new,
 * changing no window, and older by less than an RTO.
 */
static bool ktp_paws_discard(const struct sock *sk, const struct sk_buff *skb,
			     const struct ktp_syn_opts *o)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	const struct ktp_sock *kp = ktp_sk(sk);

	if (!ktp_paws_old(kp->ts_recent, kp->ts_recent_stamp, o->tsval, 1))
		return false;
	return !(cb->seq == cb->end_seq && cb->seq == kp->rcv_nxt &&
		 (cb->flags & KTP_FLAG_ACK) && cb->ack_seq == kp->snd_una &&
		 ktp_peer_window(kp, skb) == kp->snd_wnd &&
		 kp->ts_recent - o->tsval <=
		 jiffies_to_msecs(inet_csk(sk)->icsk_rto));
}

/* RFC 7323 4.3: TS.Recent follows the segments the next ACK answers:
 * one that starts at or before Last.ACK.sent (rcv_wup) and is not older.
 */
static void ktp_store_ts_recent(struct ktp_sock *kp, const struct sk_buff *skb,
				const struct ktp_syn_opts *o)
{
	if (!kp->ts_ok || !o->ts ||
	    ktp_after(KTP_SKB_CB(skb)->seq, kp->rcv_wup) ||
	    ktp_paws_old(kp->ts_recent, kp->ts_recent_stamp, o->tsval, 0))
		return;
	kp->ts_recent = o->tsval;
	kp->ts_recent_stamp = (u32)ktime_get_seconds() ? : 1;
}

/*
 * Data that arrived before (RFC 2883): the next ACK reports it in a
 * D-SACK block, so the sender learns its retransmission was not needed.
 * Only the part below RCV.NXT, or all of it if held out of order.
 */
static void ktp_dsack_set(struct sock *sk, u32 start, u32 end, int mib)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!kp->sack_ok || !ktp_after(end, start))
		return;
	kp->duplicate_sack.start = start;
	kp->duplicate_sack.end = end;
	kp->dsack = 1;
	KTP_INC_STATS(sock_net(sk), mib);
}

/* A segment with data wholly or partly below RCV.NXT. */
static void ktp_dsack_old(struct sock *sk, const struct sk_buff *skb)
{
	u32 seq = KTP_SKB_CB(skb)->seq, end = seq + skb->len;
	u32 rcv_nxt = ktp_sk(sk)->rcv_nxt;

	if (!skb->len || !ktp_before(seq, rcv_nxt))
		return;
	if (!ktp_after(end, rcv_nxt))
		KTP_INC_STATS(sock_net(sk), KTP_MIB_DUPDATA);
	ktp_dsack_set(sk, seq, ktp_after(end, rcv_nxt) ? rcv_nxt : end,
		      KTP_MIB_DSACKOLDSENT);
}

/* RFC 9293 3.10.7.4, first check: does any of it fall in the window?
 * The window is measured from RCV.NXT; the right edge it was offered at
 * never moves back (output.c), so the two agree.
 */
static bool ktp_sequence_ok(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	u32 seq = KTP_SKB_CB(skb)->seq;
	u32 len = KTP_SKB_CB(skb)->end_seq - seq;
	u32 wnd = kp->rcv_wup + kp->rcv_wnd - kp->rcv_nxt;
	u32 last = kp->rcv_nxt + wnd - 1;

	if ((s32)wnd < 0)
		wnd = 0;
	if (!len) {
		if (!wnd)
			return seq == kp->rcv_nxt;
		return ktp_between(seq, kp->rcv_nxt, last);
	}
	if (!wnd)
		return false;
	return ktp_between(seq, kp->rcv_nxt, last) ||
	       ktp_between(seq + len - 1, kp->rcv_nxt, last);
}

/* At most one answer to invalid segments per net.ktp.invalid_ratelimit,
 * per socket or entry (@last), as __tcp_oow_rate_limited(): two ends
 * that disagree about the sequence space must not ping-pong ACKs at line
 * rate. Lockless callers (request and TIME_WAIT entries) race benignly.
 */
static bool __ktp_oow_rate_limited(struct net *net, int mib, u32 *last)
{
	u32 val = READ_ONCE(*last), now = jiffies;

	if (val) {
		s32 elapsed = now - val;

		if (elapsed >= 0 &&
		    elapsed < READ_ONCE(ktp_pernet(net)->invalid_ratelimit)) {
			KTP_INC_STATS(net, mib);
			return true;
		}
	}
	WRITE_ONCE(*last, now ? : 1);
	return false;
}

/**
 * ktp_oow_rate_limited - hold back the answer to an invalid segment?
 * @net: the namespace
 * @skb: the segment
 * @mib: the counter of answers held back
 * @last_oow_ack_time: the socket's or entry's time of its last answer
 *
 * Data (without SYN) always gets its answer: it is not part of an ACK
 * loop, and the sender needs to learn where we are.
 *
 * Return: true when the answer must not be sent.
 */
bool ktp_oow_rate_limited(struct net *net, const struct sk_buff *skb,
			  int mib, u32 *last_oow_ack_time)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);

	if (cb->seq != cb->end_seq && !(cb->flags & KTP_FLAG_SYN))
		return false;
	return __ktp_oow_rate_limited(net, mib, last_oow_ack_time);
}

/*
 * The namespace's budget of challenge ACKs for this second: drawn anew
 * each second from [limit/2, limit*3/2), so that an attacker who counts
 * the answers learns nothing of what other connections spent (the side
 * channel of CVE-2016-5696). Racy on purpose, as TCP's was: a lost
 * update costs one ACK more or less.
 */
static bool ktp_challenge_budget(struct net *net)
{
	struct ktp_net *kn = ktp_pernet(net);
	u32 now = jiffies / HZ, count;

	if (now != READ_ONCE(kn->challenge_stamp)) {
		u32 limit = READ_ONCE(kn->challenge_ack_limit);

		WRITE_ONCE(kn->challenge_stamp, now);
		WRITE_ONCE(kn->challenge_count,
			   (limit + 1) / 2 + get_random_u32_below(limit + 1));
	}
	count = READ_ONCE(kn->challenge_count);
	if (!count)
		return false;
	WRITE_ONCE(kn->challenge_count, count - 1);
	return true;
}

/**
 * ktp_challenge_ack_allowed - may a challenge ACK go out now?
 * @net: the namespace
 * @last_oow_ack_time: the socket's or request entry's last answer
 *
 * RFC 5961 3.2 and 4.2: an in-window RST or any SYN that is not exactly
 * expected is answered with an ACK; a real peer answers that with the
 * exact RST, a blind attacker cannot. Rate-limited per socket or entry,
 * then per namespace; counted either way.
 *
 * Return: true when the caller is to send it.
 */
bool ktp_challenge_ack_allowed(struct net *net, u32 *last_oow_ack_time)
{
	if (__ktp_oow_rate_limited(net, KTP_MIB_ACKSKIPPEDCHALLENGE,
				   last_oow_ack_time))
		return false;
	if (!ktp_challenge_budget(net)) {
		KTP_INC_STATS(net, KTP_MIB_ACKSKIPPEDCHALLENGE);
		return false;
	}
	KTP_INC_STATS(net, KTP_MIB_CHALLENGEACK);
	return true;
}

static void ktp_send_challenge_ack(struct sock *sk)
{
	if (ktp_challenge_ack_allowed(sock_net(sk),
				      &ktp_sk(sk)->last_oow_ack_time))
		ktp_send_ack(sk);
}

/*
 * A recovery was spurious: the originals all arrived, late or reordered.
 * Either its full ACK, and every ACK of new data before, answered
 * segments sent before its first retransmission (RFC 3522, with
 * timestamps: undo_ok), or D-SACKs reported every retransmission
 * unneeded (RFC 3708). cwnd and ssthresh go back to what they were, as
 * TCP's tcp_undo_cwnd_reduction() does; never within the recovery, with
 * segments still marked lost.
 */
static void ktp_undo(struct sock *sk, int mib)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->snd_cwnd = max(kp->snd_cwnd, kp->prior_cwnd);
	kp->snd_ssthresh = max(kp->snd_ssthresh, kp->prior_ssthresh);
	kp->retrans_stamp = 0;
	kp->undo_armed = 0;
	kp->undo_dsack = 0;
	KTP_INC_STATS(sock_net(sk), mib);
}

/* D-SACKs reported the last of a recovery's retransmissions unneeded:
 * undo now, or at its full ACK.
 */
static void ktp_dsack_undo(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (kp->in_recovery)
		kp->undo_dsack = 1;
	else
		ktp_undo(sk, KTP_MIB_DSACKUNDO);
}

/*
 * RFC 2883 4: a first SACK block below the cumulative ACK @ack, or within
 * the second block, is a D-SACK: the peer got that data twice. It marks
 * nothing. One for a retransmission of the last recovery, below what was
 * acknowledged before this ACK (as TCP counts them), tells that
 * retransmission was not needed.
 *
 * Return: true if the first block is one.
 */
static bool ktp_check_dsack(struct sock *sk, const struct ktp_syn_opts *o,
			    u32 ack)
{
	const struct ktp_sack_block *d = &o->sacks[0];
	struct ktp_sock *kp = ktp_sk(sk);

	if (!ktp_after(d->end, d->start))
		return false;
	if (!ktp_before(d->start, ack) &&
	    !(o->nr_sacks > 1 && !ktp_before(d->start, o->sacks[1].start) &&
	      !ktp_after(d->end, o->sacks[1].end)))
		return false;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_DSACKRECV);
	/* the peer got a segment twice: the original was not lost but
	 * late; wait a quarter RTT longer before presuming a hole lost
	 * (RFC 8985 6.2.4), once a round trip
	 */
	kp->reord_seen = 1;
	if (!kp->reo_wnd_persist || ktp_after(kp->snd_una, kp->reo_wnd_seq)) {
		kp->reo_wnd_steps = min_t(u32, max_t(u32, kp->reo_wnd_steps, 1) + 1,
					  U8_MAX);
		kp->reo_wnd_seq = kp->snd_nxt;
		kp->reo_wnd_persist = KTP_REO_WND_PERSIST;
	}
	if (kp->undo_armed && kp->undo_retrans &&
	    !ktp_after(d->end, kp->snd_una) &&
	    ktp_after(d->end, kp->undo_marker) && !--kp->undo_retrans)
		ktp_dsack_undo(sk);
	return true;
}

/* The end of the highest segment the peer SACKed, or snd_una. */
static u32 ktp_rtx_highest_sacked(const struct sock *sk)
{
	struct rb_node *n;

	for (n = rb_last(&ktp_sk(sk)->rtx_queue); n; n = rb_prev(n)) {
		const struct ktp_skb_cb *cb = KTP_SKB_CB(rb_to_skb(n));

		if (cb->sacked)
			return cb->end_seq;
	}
	return ktp_sk(sk)->snd_una;
}

/*
 * F-RTO (RFC 5682 2, 3): an ACK of new data after an RTO, short of the
 * whole flight. The first (step 2b) sends two new segments rather than
 * the next holes, if there is data and window for them; the second
 * (step 3b) acknowledges segments sent only once: the RTO was spurious,
 * nothing is lost, and what it cut is given back (SpuriousRTOs), as
 * TCP's tcp_try_undo_loss() does. A duplicate ACK instead (ktp_dupack())
 * means the loss was real.
 *
 * Return: true if F-RTO took the ACK; false: recover as usual.
 */
static bool ktp_frto_ack(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *head = ktp_send_head(sk);

	if (kp->frto == 1) {
		if (!head || !ktp_wnd_allows(kp, head)) {
			kp->frto = 0;
			return false;
		}
		kp->frto = 2;
		kp->frto_cwnd = kp->snd_cwnd;
		kp->snd_cwnd = kp->packets_out - kp->sacked_out + 2;
		return true;
	}
	kp->frto = 0;
	kp->in_recovery = 0;
	kp->highest_sack = ktp_rtx_highest_sacked(sk);
	ktp_rtx_reset_marks(sk);
	ktp_undo(sk, KTP_MIB_SPURIOUSRTOS);
	return true;
}

/* RACK's order of transmissions (RFC 8985 6.2 step 2): sent later, or at
 * the same microsecond and higher in the sequence space.
 */
static bool ktp_rack_sent_after(u32 t1, u32 seq1, u32 t2, u32 seq2)
{
	return (s32)(t1 - t2) > 0 || (t1 == t2 && ktp_after(seq1, seq2));
}

/* @skb was delivered, ACKed or SACKed, @now: if it was sent after the
 * segment RACK knows as sent last among the delivered, it takes its
 * place (RFC 8985 6.2 step 2). A retransmission delivered within the
 * least RTT is the original's ACK, ambiguous, and not taken.
 */
static void ktp_rack_advance(struct ktp_sock *kp, const struct sk_buff *skb,
			     u32 now)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 rtt = now - cb->sent_us;

	if (cb->retransmitted && rtt < kp->rtt_min_us)
		return;
	if (kp->rack_on &&
	    !ktp_rack_sent_after(cb->sent_us, cb->end_seq, kp->rack_xmit_us,
				 kp->rack_end_seq))
		return;
	kp->rack_on = 1;
	kp->rack_xmit_us = cb->sent_us;
	kp->rack_end_seq = cb->end_seq;
	kp->rack_rtt_us = rtt;
}

/* A segment sent once and delivered below what the peer already held
 * came out of order (RFC 8985 6.2 step 3): from now on RACK gives holes
 * a reordering window before it presumes them lost.
 */
static void ktp_rack_check_reorder(struct ktp_sock *kp,
				   const struct sk_buff *skb, u32 highest)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);

	if (!cb->retransmitted && !cb->sacked &&
	    ktp_before(cb->end_seq, highest))
		kp->reord_seen = 1;
}

/* Free what the peer acknowledged, take an RTT sample from it (Karn's
 * rule: never from a segment sent twice; then from the timestamp echo
 * @tsecr, if any), and restart the clock.
 */
static void ktp_clean_rtx_queue(struct sock *sk, u32 ack, u32 tsecr)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	u32 acked = 0, sent_us = 0, now = ktp_clock_us();
	bool karn_ok = true;
	struct sk_buff *skb;

	while ((skb = ktp_rtx_first(sk))) {
		if (ktp_after(KTP_SKB_CB(skb)->end_seq, ack))
			break;
		if (KTP_SKB_CB(skb)->retransmitted)
			karn_ok = false;
		if (kp->sack_ok) {
			ktp_rack_check_reorder(kp, skb, kp->highest_sack);
			ktp_rack_advance(kp, skb, now);
		}
		sent_us = KTP_SKB_CB(skb)->sent_us;
		acked += KTP_SKB_CB(skb)->pcount;
		ktp_rtx_unlink(sk, skb);
		ktp_wmem_free_skb(sk, skb);
	}
	/* the peer holds the first bytes of the next one: they go */
	if (skb && ktp_after(ack, KTP_SKB_CB(skb)->seq)) {
		u32 pcount = KTP_SKB_CB(skb)->pcount;

		if (!ktp_rtx_trim_head(sk, skb, ack - KTP_SKB_CB(skb)->seq) &&
		    pcount > KTP_SKB_CB(skb)->pcount) {
			if (KTP_SKB_CB(skb)->retransmitted)
				karn_ok = false;
			sent_us = KTP_SKB_CB(skb)->sent_us;
			acked += pcount - KTP_SKB_CB(skb)->pcount;
		}
	}
	kp->bytes_acked += ack - kp->snd_una;
	kp->snd_una = ack;
	/* the probe's flight is acknowledged: the next may have one */
	if (kp->tlp_high_seq && !ktp_before(ack, kp->tlp_high_seq))
		kp->tlp_high_seq = 0;
	/* what is left below @ack (a segment acknowledged in part, its
	 * head not trimmed) is a hole now
	 */
	ktp_advance_highest_sack(sk, ack);
	if (ktp_before(kp->retx_hint, ack))
		kp->retx_hint = ack;
	if (acked && karn_ok)
		ktp_rtt_sample(sk, now - sent_us);
	else if (acked && kp->ts_ok)
		ktp_rtt_sample_ts(sk, tsecr);
	icsk->icsk_retransmits = 0;
	icsk->icsk_backoff = 0;

	/* an ACK sent for a retransmission: the loss was real */
	if (kp->in_recovery && kp->retrans_stamp &&
	    (!tsecr || !ktp_before(tsecr, kp->retrans_stamp)))
		kp->undo_ok = 0;
	if (kp->frto == 2 && kp->in_recovery) {
		/* F-RTO's second ACK of new data: the RTO was spurious */
		ktp_frto_ack(sk);
	} else if (kp->in_recovery && !ktp_before(ack, kp->recover)) {
		/* Full ACK: recovery is over (RFC 6582 3.2 step 3). */
		kp->in_recovery = 0;
		kp->frto = 0;
		kp->snd_cwnd = max(kp->snd_ssthresh, 1U);
		/* so many recoveries without a D-SACK: the window shrinks */
		if (kp->reo_wnd_persist && !--kp->reo_wnd_persist)
			kp->reo_wnd_steps = 1;
		if (kp->undo_ok && kp->retrans_stamp)
			ktp_undo(sk, kp->undo_loss ? KTP_MIB_LOSSUNDO :
						     KTP_MIB_FULLUNDO);
		else if (kp->undo_dsack)
			ktp_undo(sk, KTP_MIB_DSACKUNDO);
	} else if (kp->frto && ktp_frto_ack(sk)) {
		/* new data goes out, or the recovery is undone */
	} else if (kp->in_recovery && kp->undo_loss) {
		/* After an RTO, slow start from one segment up to ssthresh
		 * (RFC 5681 3.1), resending the holes, everything not
		 * SACKed below where the RTO found snd_nxt, as cwnd allows:
		 * with or without SACK.
		 */
		kp->snd_cwnd = max(kp->snd_cwnd,
				   min(kp->snd_cwnd + acked, kp->snd_ssthresh));
		ktp_sack_retransmit(sk);
	} else if (kp->in_recovery && kp->sack_ok) {
		ktp_sack_retransmit(sk);
	} else if (kp->in_recovery) {
		/* Partial ACK: the next hole is lost too; deflate. */
		ktp_retransmit_head(sk);
		kp->snd_cwnd -= min(kp->snd_cwnd - 1, acked);
		kp->snd_cwnd++;
	} else if (acked) {
		kp->ca_ops->cong_avoid(sk, acked);
	}
	kp->dupacks = 0;
	if (!ktp_schedule_loss_probe(sk))
		ktp_rearm_rto(sk);
	sk_mem_reclaim(sk);
	if (acked)
		ktp_sndbuf_expand(sk);
	sk->sk_write_space(sk);
}

/* RACK's loss detection (RFC 8985 6.2 step 5): @skb, sent at
 * cb->sent_us (its last transmission), is lost once a segment sent
 * after it was delivered and it has been out the RTT of that one and a
 * reordering window more, reo_wnd_steps quarters of the least RTT (the
 * smoothed RTT at most). Until a segment is seen delivered out of order
 * the window is 0 with three SACKed segments, as three duplicate ACKs.
 * Segments that overtake each other on the way (a router's two CPUs,
 * veth's per-CPU backlogs) are then not resent at once; a real loss
 * waits that long longer, and the next ACK, or the RTO at the tail,
 * finds it. The same test finds a retransmission lost in its turn.
 */
static bool ktp_rack_lost(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 reo_wnd, base;

	/* a hole sent after everything delivered cannot be judged yet */
	if (!kp->rack_on ||
	    !ktp_rack_sent_after(kp->rack_xmit_us, kp->rack_end_seq,
				 cb->sent_us, cb->end_seq))
		return false;
	/* no reordering seen: three SACKed segments, or recovery, say it
	 * at once, as three duplicate ACKs would (6.2 step 4)
	 */
	if (!kp->reord_seen && (kp->in_recovery || kp->sacked_out >= 3)) {
		reo_wnd = 0;
	} else {
		base = kp->rtt_min_us ? : kp->srtt_us;
		reo_wnd = min(max_t(u32, kp->reo_wnd_steps, 1) * (base / 4),
			      kp->srtt_us);
	}
	return ktp_clock_us() - cb->sent_us >= kp->rack_rtt_us + reo_wnd;
}

/* Whether the hole @skb, not resent in this recovery, is due: after an
 * RTO every hole is; with SACK, when RACK says it is lost; without,
 * when the duplicate ACKs say it, a reordering window after it went.
 */
static bool ktp_hole_due(const struct ktp_sock *kp, const struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	u32 reo_wnd;

	if (kp->in_recovery && kp->all_lost)
		return true;
	if (kp->sack_ok)
		return ktp_rack_lost(kp, skb);
	reo_wnd = max_t(u32, kp->reo_wnd_steps, 1) * (kp->srtt_us / 4);
	reo_wnd = max_t(u32, min(reo_wnd, kp->srtt_us), USEC_PER_MSEC);
	return ktp_clock_us() - cb->sent_us >= reo_wnd;
}

/* Enter fast recovery: halve, remember where it ends, resend the first
 * hole (RFC 5681 3.2, RFC 6582 3.2, RFC 6675 5).
 */
static void ktp_enter_recovery(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	ktp_init_undo(kp, false);
	kp->frto = 0;
	kp->all_lost = 0;
	kp->snd_ssthresh = kp->ca_ops->ssthresh(sk);
	kp->snd_cwnd = kp->snd_ssthresh + (kp->sack_ok ? 0 : 3);
	kp->recover = kp->snd_nxt;
	kp->in_recovery = 1;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_RECOVERIES);
	ktp_rtx_reset_marks(sk);
	if (kp->sack_ok)
		ktp_sack_retransmit(sk);
	else
		ktp_retransmit_head(sk);
}

/* A duplicate ACK (RFC 5681 2): nothing new acked, no data, no window
 * change, while data is outstanding. The third, or three SACKed
 * segments, start recovery; within it, a NewReno peer's inflate the
 * window and a SACK peer's make room for the next hole.
 */
static void ktp_dupack(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->dupacks++;
	/* F-RTO: the RTO's loss is real (RFC 5682 2.2a, 2.3a) */
	if (kp->frto) {
		if (kp->frto == 2)
			kp->snd_cwnd = kp->frto_cwnd;
		kp->frto = 0;
	}
	/* out of order: recovery's business now, or the RTO's */
	if (kp->rtx_pending == KTP_RTX_LOSS_PROBE)
		ktp_rearm_rto(sk);
	if (kp->in_recovery) {
		if (kp->sack_ok)
			ktp_sack_retransmit(sk);
		else
			kp->snd_cwnd++;
		return;
	}
	if ((kp->dupacks >= 3 || (kp->sack_ok && kp->sacked_out >= 3)) &&
	    ktp_hole_due(kp, ktp_rtx_first(sk)))
		ktp_enter_recovery(sk);
}

/* @skb, not SACKed, meets SACK block @b: where it holds more segments
 * than the block covers, cut off those outside, at segment edges
 * (tcp_match_skb_to_sack()). A segment the block covers in part stays
 * unmarked, as before any cut.
 *
 * Return: the part that may lie within @b (perhaps still @skb, perhaps
 * not within: the caller checks), or NULL if a cut found memory short.
 */
static struct sk_buff *ktp_sack_cut(struct sock *sk, struct sk_buff *skb,
				    const struct ktp_sack_block *b)
{
	u32 mss = ktp_sk(sk)->mss, seq = KTP_SKB_CB(skb)->seq, off;

	if (KTP_SKB_CB(skb)->pcount < 2)
		return skb;
	if (ktp_before(seq, b->start)) {
		off = roundup(b->start - seq, mss);
		if (off >= skb->len)
			return skb;
		skb = ktp_rtx_split(sk, skb, off);
		if (!skb)
			return NULL;
		seq = KTP_SKB_CB(skb)->seq;
	}
	if (ktp_after(KTP_SKB_CB(skb)->end_seq, b->end) &&
	    KTP_SKB_CB(skb)->pcount > 1) {
		off = rounddown(b->end - seq, mss);
		if (off && off < skb->len && !ktp_rtx_split(sk, skb, off))
			return NULL;
	}
	return skb;
}

/* Mark what the peer's SACK blocks say it holds (RFC 2018). Blocks that
 * are not within what we sent are ignored. Each block costs a lookup and
 * then only the segments it newly covers (ktp_rtx_find_unsacked()), so a
 * peer that repeats large blocks makes no work. Return: segments newly
 * marked.
 */
static u32 ktp_sacktag(struct sock *sk, const struct ktp_syn_opts *o, u32 ack)
{
	u32 newly = 0, highest = ktp_sk(sk)->highest_sack;
	struct ktp_sock *kp = ktp_sk(sk);
	u32 prior = highest, now = ktp_clock_us();
	struct sk_buff *skb;
	int i;

	for (i = ktp_check_dsack(sk, o, ack); i < o->nr_sacks; i++) {
		const struct ktp_sack_block *b = &o->sacks[i];

		if (!ktp_after(b->end, b->start) ||
		    !ktp_after(b->start, kp->snd_una) ||
		    ktp_after(b->end, kp->snd_nxt))
			continue;
		for (skb = ktp_rtx_find_unsacked(sk, b->start);
		     skb && ktp_before(KTP_SKB_CB(skb)->seq, b->end);
		     skb = ktp_rtx_next_unsacked(skb)) {
			struct ktp_skb_cb *cb;

			/* a block covers whole segments; at its edges an
			 * skb may be covered in part only
			 */
			skb = ktp_sack_cut(sk, skb, b);
			if (!skb)
				break;
			cb = KTP_SKB_CB(skb);
			if (ktp_before(cb->seq, b->start) ||
			    ktp_after(cb->end_seq, b->end))
				continue;
			ktp_rack_check_reorder(kp, skb, prior);
			ktp_rack_advance(kp, skb, now);
			ktp_rtx_mark_sacked(sk, skb);
			newly++;
			if (ktp_after(cb->end_seq, highest))
				highest = cb->end_seq;
		}
	}
	ktp_advance_highest_sack(sk, highest);
	return newly;
}

/* Holes resent in this recovery that RACK finds lost again, a
 * retransmission lost in its turn (RFC 8985 6.2 step 5, TCP's
 * TCPLostRetransmit): they are holes to resend once more, so the search
 * for holes goes back to the first. Resent holes lie below retx_hint in
 * the order they went out, so the walk ends at the first not yet due:
 * it costs one look per ACK and one per hole found.
 */
static void ktp_rack_lost_retx(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;

	if (!kp->retrans_out)
		return;
	for (skb = ktp_rtx_find_unsacked(sk, kp->snd_una);
	     skb && ktp_before(KTP_SKB_CB(skb)->seq, kp->retx_hint);
	     skb = ktp_rtx_next_unsacked(skb)) {
		if (!KTP_SKB_CB(skb)->lost_retx)
			continue;
		if (!ktp_rack_lost(kp, skb))
			break;
		ktp_rtx_unmark_retrans(sk, skb);
		KTP_INC_STATS(sock_net(sk), KTP_MIB_LOSTRETRANSMIT);
		if (ktp_before(KTP_SKB_CB(skb)->seq, kp->retx_hint))
			kp->retx_hint = KTP_SKB_CB(skb)->seq;
	}
}

/**
 * ktp_sack_retransmit - resend the holes below the highest SACK, as far
 * as the congestion window allows (RFC 6675 NextSeg rule 1 and pipe)
 * @sk: the socket, owned by the caller
 *
 * Holes before retx_hint were resent (or SACKed) in this recovery, so
 * the search starts there: no ACK walks the queue from its head.
 */
void ktp_sack_retransmit(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct sk_buff *skb;
	u32 pipe;

	ktp_rack_lost_retx(sk);
	pipe = ktp_pipe(kp);
	for (skb = ktp_rtx_find_unsacked(sk, kp->retx_hint);
	     skb && pipe < kp->snd_cwnd &&
	     ktp_before(KTP_SKB_CB(skb)->seq, kp->highest_sack);
	     skb = ktp_rtx_next_unsacked(skb)) {
		struct ktp_skb_cb *cb = KTP_SKB_CB(skb);

		if (!cb->lost_retx) {
			/* in send order: the rest is younger still */
			if (!ktp_hole_due(kp, skb))
				break;
			if (ktp_retransmit_skb(sk, skb))
				break;
			pipe += cb->pcount;
		}
		kp->retx_hint = cb->end_seq;
	}
}

/* RFC 9293 3.10.7.4 fifth check, the window part. */
static void ktp_update_window(struct ktp_sock *kp, const struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);

	if (ktp_before(kp->snd_wl1, cb->seq) ||
	    (kp->snd_wl1 == cb->seq && !ktp_before(cb->ack_seq, kp->snd_wl2))) {
		ktp_set_snd_wnd(kp, ktp_peer_window(kp, skb));
		kp->snd_wl1 = cb->seq;
		kp->snd_wl2 = cb->ack_seq;
	}
}

static bool ktp_fin_acked(const struct ktp_sock *kp)
{
	return kp->fin_queued && kp->snd_una == kp->write_seq;
}

/* The FIN of this segment lands now: it starts at or before rcv_nxt. */
static bool ktp_fin_in_order(const struct ktp_sock *kp,
			     const struct sk_buff *skb)
{
	return (KTP_SKB_CB(skb)->flags & KTP_FLAG_FIN) &&
	       !ktp_after(KTP_SKB_CB(skb)->seq, kp->rcv_nxt);
}

/* SYN_RECV of a simultaneous open: our SYN-ACK is acknowledged. */
static int ktp_rcv_synrecv_ack(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 ack = KTP_SKB_CB(skb)->ack_seq;

	if (!ktp_between(ack, kp->snd_una + 1, kp->snd_nxt)) {
		ktp_send_reset(sk, skb);
		return -1;
	}
	kp->snd_wl1 = KTP_SKB_CB(skb)->seq;
	kp->snd_wl2 = ack;
	ktp_set_snd_wnd(kp, ktp_peer_window(kp, skb));
	ktp_set_state(sk, KTP_ESTABLISHED);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
	}
	return 0;
}

/* RFC 9293 3.10.7.4 fifth check: the ACK field; @o: the segment's
 * options, parsed if SACK or timestamps are on. Return: 0 to go on with
 * the segment's text, -1 to stop (the socket may be gone).
 */
static int ktp_rcv_ack(struct sock *sk, struct sk_buff *skb,
		       const struct ktp_syn_opts *o)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);
	u32 ack = KTP_SKB_CB(skb)->ack_seq;
	u32 newly_sacked = 0;

	if (sk->sk_state == KTP_SYN_RECV && ktp_rcv_synrecv_ack(sk, skb))
		return -1;
	if (ktp_after(ack, kp->snd_nxt)) {
		/* acknowledges something not yet sent */
		ktp_send_challenge_ack(sk);
		return -1;
	}
	if (ktp_before(ack, kp->snd_una - kp->max_window)) {
		/* RFC 5961 5.2: older than any window the peer offered, so
		 * not from the peer: a blind attacker's data goes, and a
		 * real peer learns where we are
		 */
		KTP_INC_STATS(sock_net(sk), KTP_MIB_TOOOLDACK);
		ktp_send_challenge_ack(sk);
		return -1;
	}
	/* an acceptable segment: what we send from here echoes it */
	ktp_store_ts_recent(kp, skb, o);
	if (!ktp_before(ack, kp->snd_una)) {
		/* An acceptable ACK: only it proves the peer alive to
		 * keepalive and the persist timer, not any segment.
		 */
		kp->rcv_tstamp = jiffies;
		inet_csk(sk)->icsk_probes_out = 0;
	}
	if (kp->sack_ok && o->nr_sacks)
		newly_sacked = ktp_sacktag(sk, o, ack);
	if (ktp_after(ack, kp->snd_una)) {
		ktp_clean_rtx_queue(sk, ack, o->ts ? o->tsecr : 0);
		/* holes remain below what the peer holds: recover now */
		if (!kp->in_recovery && kp->sack_ok && kp->sacked_out >= 3 &&
		    ktp_hole_due(kp, ktp_rtx_first(sk)))
			ktp_enter_recovery(sk);
	} else if (ack == kp->snd_una && kp->packets_out &&
		   (newly_sacked ||
		    (!skb->len && !(KTP_SKB_CB(skb)->flags & KTP_FLAG_FIN) &&
		     ktp_peer_window(kp, skb) == kp->snd_wnd))) {
		/* a duplicate ACK; with SACK, any ACK that SACKs new data
		 * counts, whatever it carries (RFC 6675 2)
		 */
		ktp_dupack(sk);
	}
	if (!ktp_before(ack, kp->snd_una))
		ktp_update_window(kp, skb);
	trace_ktp_probe(sk, skb);

	switch (sk->sk_state) {
	case KTP_FIN_WAIT1:
		/* A FIN that also acks ours goes straight to TIME_WAIT. */
		if (!ktp_fin_acked(kp) || ktp_fin_in_order(kp, skb))
			break;
		ktp_set_state(sk, KTP_FIN_WAIT2);
		sk->sk_shutdown |= SEND_SHUTDOWN;
		if (sock_flag(sk, SOCK_DEAD))
			ktp_reset_keepalive_timer(sk,
						  READ_ONCE(kn->fin_timeout));
		else
			sk->sk_state_change(sk);
		break;
	case KTP_CLOSING:
		if (ktp_fin_acked(kp)) {
			ktp_time_wait(sk, READ_ONCE(kn->tw_timeout));
			return -1;
		}
		break;
	case KTP_LAST_ACK:
		if (ktp_fin_acked(kp)) {
			ktp_done(sk);
			return -1;
		}
		break;
	}
	ktp_write_xmit(sk);
	return 0;
}

static bool ktp_sack_touch(const struct ktp_sack_block *a, u32 start,
			   u32 end)
{
	return !ktp_after(start, a->end) && !ktp_after(a->start, end);
}

/* A segment [@start, @end) joined the out-of-order queue: grow the block
 * it touches, or start one, and make it the first (RFC 2018 4); blocks
 * it now bridges merge into it. Four blocks at most: the oldest goes.
 */
static void ktp_sack_new_ofo(struct ktp_sock *kp, u32 start, u32 end)
{
	struct ktp_sack_block *sp = kp->selective_acks, cur;
	int n = kp->num_sacks, i;

	for (i = 0; i < n && !ktp_sack_touch(&sp[i], start, end); i++)
		;
	if (i < n) {
		cur = sp[i];
		memmove(&sp[1], &sp[0], i * sizeof(*sp));
	} else {
		cur.start = start;
		cur.end = end;
		if (n == KTP_MAX_SACKS)
			n--;
		memmove(&sp[1], &sp[0], n * sizeof(*sp));
		n++;
	}
	if (ktp_before(start, cur.start))
		cur.start = start;
	if (ktp_after(end, cur.end))
		cur.end = end;
	sp[0] = cur;
	for (i = 1; i < n; ) {
		if (!ktp_sack_touch(&sp[0], sp[i].start, sp[i].end)) {
			i++;
			continue;
		}
		if (ktp_before(sp[i].start, sp[0].start))
			sp[0].start = sp[i].start;
		if (ktp_after(sp[i].end, sp[0].end))
			sp[0].end = sp[i].end;
		memmove(&sp[i], &sp[i + 1], (n - i - 1) * sizeof(*sp));
		n--;
	}
	kp->num_sacks = n;
}

/*
 * Segments of the out-of-order queue that one look at it walks, each way:
 * a sender of tiny segments must not make every arrival cost a walk over
 * all of them. A run longer than that is told in part, which RFC 2018
 * allows for any block but the first.
 */
#define KTP_SACK_WALK	64

/* The contiguous run of held data around @skb, just queued. */
static void ktp_ooo_run(struct sk_buff *skb, u32 *start, u32 *end)
{
	struct rb_node *node;
	int n;

	*start = KTP_SKB_CB(skb)->seq;
	*end = KTP_SKB_CB(skb)->end_seq;
	for (node = rb_prev(&skb->rbnode), n = 0; node && n < KTP_SACK_WALK;
	     node = rb_prev(node), n++) {
		const struct ktp_skb_cb *cb = KTP_SKB_CB(rb_to_skb(node));

		if (ktp_before(cb->end_seq, *start))
			break;
		if (ktp_before(cb->seq, *start))
			*start = cb->seq;
	}
	for (node = rb_next(&skb->rbnode), n = 0; node && n < KTP_SACK_WALK;
	     node = rb_next(node), n++) {
		const struct ktp_skb_cb *cb = KTP_SKB_CB(rb_to_skb(node));

		if (ktp_after(cb->seq, *end))
			break;
		if (ktp_after(cb->end_seq, *end))
			*end = cb->end_seq;
	}
}

/*
 * RCV.NXT moved: blocks it reached are no longer beyond a hole. Room that
 * frees is filled with held runs that no block tells (a fifth pushed
 * them out), in sequence order, from the queue's head.
 */
static void ktp_sack_remove(struct ktp_sock *kp)
{
	struct ktp_sack_block *sp = kp->selective_acks;
	int n = kp->num_sacks, i, walked = 0;
	struct rb_node *node;
	u32 start, end;

	for (i = 0; i < n; ) {
		if (ktp_after(sp[i].start, kp->rcv_nxt)) {
			i++;
			continue;
		}
		memmove(&sp[i], &sp[i + 1], (n - i - 1) * sizeof(*sp));
		n--;
	}

	node = rb_first(&kp->ooo_queue);
	while (node && n < KTP_MAX_SACKS && walked < KTP_SACK_WALK) {
		start = KTP_SKB_CB(rb_to_skb(node))->seq;
		end = KTP_SKB_CB(rb_to_skb(node))->end_seq;
		for (node = rb_next(node), walked++;
		     node && walked < KTP_SACK_WALK;
		     node = rb_next(node), walked++) {
			const struct ktp_skb_cb *cb =
				KTP_SKB_CB(rb_to_skb(node));

			if (ktp_after(cb->seq, end))
				break;
			if (ktp_after(cb->end_seq, end))
				end = cb->end_seq;
		}
		for (i = 0; i < n && !ktp_sack_touch(&sp[i], start, end); i++)
			;
		if (i == n) {
			sp[n].start = start;
			sp[n].end = end;
			n++;
		}
	}
	kp->num_sacks = n;
}

/* Keep a segment that arrived beyond a hole, in sequence order. Whole
 * duplicates of what is already held are dropped; overlaps are kept as
 * they are and trimmed when they move to the receive queue.
 */
static bool ktp_ooo_insert(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct rb_node **p = &kp->ooo_queue.rb_node, *parent = NULL;
	u32 seq = KTP_SKB_CB(skb)->seq, end = KTP_SKB_CB(skb)->end_seq;

	while (*p) {
		struct sk_buff *cur = rb_to_skb(*p);

		parent = *p;
		if (!ktp_before(seq, KTP_SKB_CB(cur)->seq) &&
		    !ktp_after(end, KTP_SKB_CB(cur)->end_seq)) {
			/* all of it is here already */
			ktp_dsack_set(sk, seq, seq + skb->len,
				      KTP_MIB_DSACKOFOSENT);
			return false;
		}
		if (ktp_before(seq, KTP_SKB_CB(cur)->seq))
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	rb_link_node(&skb->rbnode, parent, p);
	rb_insert_color(&skb->rbnode, &kp->ooo_queue);
	/* RFC 2018 4: the first block is all the contiguous data held
	 * around this segment, a block no longer told included
	 */
	ktp_ooo_run(skb, &seq, &end);
	ktp_sack_new_ofo(kp, seq, end);
	return true;
}

/* Append in-order data; trims what was received already. */
static bool ktp_queue_in_order(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 seq = KTP_SKB_CB(skb)->seq;
	u32 len = skb->len;

	if (ktp_before(seq, kp->rcv_nxt)) {
		u32 dup = kp->rcv_nxt - seq;

		ktp_dsack_old(sk, skb);
		if (dup >= len || !pskb_pull(skb, dup))
			return false;
		KTP_SKB_CB(skb)->seq = kp->rcv_nxt;
		len -= dup;
	}
	if (!skb->sk)
		skb_set_owner_r(skb, sk);
	skb_dst_drop(skb);
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	kp->rcv_nxt += len;
	kp->bytes_received += len;
	return true;
}

/* The hole before the out-of-order queue's head filled: move over what
 * now follows in order. A held FIN lands with its segment.
 */
static void ktp_ooo_drain(struct sock *sk, bool *fin)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct rb_node *node;

	while ((node = rb_first(&kp->ooo_queue))) {
		struct sk_buff *skb = rb_to_skb(node);

		if (ktp_after(KTP_SKB_CB(skb)->seq, kp->rcv_nxt))
			break;
		rb_erase(node, &kp->ooo_queue);
		if (!ktp_after(KTP_SKB_CB(skb)->end_seq, kp->rcv_nxt)) {
			kfree_skb(skb);
			continue;
		}
		if (KTP_SKB_CB(skb)->flags & KTP_FLAG_FIN)
			*fin = true;
		if (!skb->len || !ktp_queue_in_order(sk, skb))
			kfree_skb(skb);
	}
}

/**
 * ktp_purge_ooo_queue - drop every out-of-order segment held
 * @sk: the socket, owned by the caller
 */
void ktp_purge_ooo_queue(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct rb_node *node;

	while ((node = rb_first(&kp->ooo_queue))) {
		rb_erase(node, &kp->ooo_queue);
		kfree_skb(rb_to_skb(node));
	}
	kp->num_sacks = 0;
	kp->dsack = 0;
}

/* RFC 9293 3.10.7.4 seventh check: the text. Return: true if the skb now
 * belongs to the receive or out-of-order queue. Sets *fin when a FIN
 * held out of order has now landed, *ooo when the segment left a hole.
 */
static bool ktp_rcv_data(struct sock *sk, struct sk_buff *skb, bool *fin,
			 bool *ooo)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 seq = KTP_SKB_CB(skb)->seq;
	u32 len = skb->len;

	if (!((1 << sk->sk_state) & KTPF_RCV_DATA))
		return false;
	if (ktp_after(seq, kp->rcv_nxt)) {
		*ooo = true;
		if (atomic_read(&sk->sk_rmem_alloc) > KTP_RMEM_LIMIT(sk) ||
		    !sk_rmem_schedule(sk, skb, skb->truesize)) {
			KTP_INC_STATS(sock_net(sk), KTP_MIB_OFODROP);
			return false;
		}
		return ktp_ooo_insert(sk, skb);
	}
	if (!len)
		return false;
	if (sk->sk_shutdown & RCV_SHUTDOWN) {
		/* shut down for reading: acknowledged, then discarded */
		if (ktp_after(seq + len, kp->rcv_nxt))
			kp->rcv_nxt = seq + len;
		return false;
	}
	if (!ktp_rmem_schedule(sk, skb)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_RCVPRUNED);
		return false;
	}
	if (!ktp_queue_in_order(sk, skb))
		return false;
	ktp_rcv_rtt_measure(sk);
	if (!RB_EMPTY_ROOT(&kp->ooo_queue)) {
		ktp_ooo_drain(sk, fin);
		ktp_sack_remove(kp);
		*ooo = true;	/* tell the sender at once: hole filled */
	}
	return true;
}

/* RFC 9293 3.10.7.4 eighth check: the FIN, once all before it arrived. */
static void ktp_rcv_fin(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	struct ktp_sock *kp = ktp_sk(sk);

	kp->rcv_nxt++;
	sk->sk_shutdown |= RCV_SHUTDOWN;
	sock_set_flag(sk, SOCK_DONE);

	switch (sk->sk_state) {
	case KTP_SYN_RECV:
	case KTP_ESTABLISHED:
		ktp_set_state(sk, KTP_CLOSE_WAIT);
		break;
	case KTP_FIN_WAIT1:
		if (!ktp_fin_acked(kp)) {
			ktp_set_state(sk, KTP_CLOSING);
			break;
		}
		fallthrough;
	case KTP_FIN_WAIT2:
		ktp_send_ack(sk);
		ktp_time_wait(sk, READ_ONCE(kn->tw_timeout));
		return;
	}
	ktp_send_ack(sk);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		if (sk->sk_shutdown == SHUTDOWN_MASK ||
		    sk->sk_state == KTP_CLOSE)
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_HUP);
		else
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_IN);
	}
}

/* SYN_SENT, RFC 9293 3.10.7.3. */
static void ktp_rcv_synsent(struct sock *sk, struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_syn_opts opts;

	if ((cb->flags & KTP_FLAG_ACK) &&
	    (!ktp_after(cb->ack_seq, kp->iss) ||
	     ktp_after(cb->ack_seq, kp->snd_nxt))) {
		if (!(cb->flags & KTP_FLAG_RST))
			ktp_send_reset(sk, skb);
		return;
	}
	if (cb->flags & KTP_FLAG_RST) {
		/* Only a RST that acknowledges our SYN refuses it. */
		if (cb->flags & KTP_FLAG_ACK)
			ktp_reset(sk);
		return;
	}
	if (!(cb->flags & KTP_FLAG_SYN))
		return;
	ktp_parse_opts(skb, &opts);
	/* A SYN-ACK whose echo is no TSval of our SYNs (RFC 7323 5.3, as
	 * TCP's PAWSActiveRejected): an old duplicate, reset.
	 */
	if ((cb->flags & KTP_FLAG_ACK) && kp->ts_ok && opts.ts && opts.tsecr &&
	    !ktp_between(opts.tsecr, kp->retrans_stamp,
			 ktp_clock_ms() + kp->ts_off)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_PAWSACTIVE);
		ktp_send_reset(sk, skb);
		return;
	}
	kp->retrans_stamp = 0;

	kp->irs = cb->seq;
	kp->rcv_nxt = cb->seq + 1;
	kp->copied_seq = kp->rcv_nxt;
	kp->rcv_wup = kp->rcv_nxt;
	kp->snd_wl1 = cb->seq;
	ktp_set_snd_wnd(kp, cb->window);
	kp->peer_mss = opts.mss ? opts.mss : KTP_MSS_DEFAULT;
	/* Only what we offered and the peer took (RFC 2018 2, RFC 7323
	 * 3.2: a SYN-ACK without a timestamp turns them off).
	 */
	kp->sack_ok = kp->sack_ok && opts.sack_ok;
	kp->ts_ok = kp->ts_ok && opts.ts;
	if (kp->ts_ok) {
		kp->ts_recent = opts.tsval;
		kp->ts_recent_stamp = (u32)ktime_get_seconds() ? : 1;
	}
	ktp_resync_mss(sk);
	/* Both sides scale, or neither does (RFC 7323 2.2). */
	if (opts.wscale >= 0 && kp->wscale_ok) {
		kp->snd_wscale = opts.wscale;
	} else {
		kp->wscale_ok = 0;
		kp->snd_wscale = 0;
		kp->rcv_wscale = 0;
	}

	if (!(cb->flags & KTP_FLAG_ACK)) {
		/* Simultaneous open (RFC 9293 figure 8): answer our own SYN
		 * again, now with an ACK, and wait for theirs.
		 */
		ktp_set_state(sk, KTP_SYN_RECV);
		KTP_SKB_CB(ktp_rtx_first(sk))->flags |= KTP_FLAG_ACK;
		ktp_retransmit_head(sk);
		return;
	}

	kp->snd_wl2 = cb->ack_seq;
	ktp_clean_rtx_queue(sk, cb->ack_seq, kp->ts_ok ? opts.tsecr : 0);
	ktp_set_state(sk, KTP_ESTABLISHED);
	ktp_send_ack(sk);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
	}
	ktp_write_xmit(sk);
}

/* Simultaneous open, RFC 9293 figure 8, line 7: in SYN_RECV the peer's
 * SYN-ACK repeats a SYN we already counted. It is the ACK of ours that
 * matters: take it as that.
 */
static void ktp_strip_crossed_synack(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_sock *kp = ktp_sk(sk);

	if (sk->sk_state == KTP_SYN_RECV &&
	    (cb->flags & (KTP_FLAG_SYN | KTP_FLAG_ACK)) ==
	    (KTP_FLAG_SYN | KTP_FLAG_ACK) &&
	    cb->seq + 1 == kp->rcv_nxt && cb->end_seq == kp->rcv_nxt &&
	    cb->ack_seq == kp->snd_nxt) {
		cb->seq = kp->rcv_nxt;
		cb->flags &= ~KTP_FLAG_SYN;
	}
}

/* Synchronized states: the checks in order. */
static void ktp_rcv_synchronized(struct sock *sk, struct sk_buff *skb)
{
	const struct ktp_skb_cb *cb = KTP_SKB_CB(skb);
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_syn_opts opts;
	bool fin, queued, ooo;
	u32 end_seq, len;
	u8 flags;

	ktp_strip_crossed_synack(sk, skb);
	end_seq = cb->end_seq;
	flags = cb->flags;

	opts.ts = 0;
	opts.nr_sacks = 0;
	if (kp->ts_ok || kp->sack_ok)
		ktp_parse_opts(skb, &opts);
	/* a RST is taken even if it fails PAWS, as TCP takes it */
	if (kp->ts_ok && opts.ts && !(flags & KTP_FLAG_RST) &&
	    ktp_paws_discard(sk, skb, &opts)) {
		KTP_INC_STATS(sock_net(sk), KTP_MIB_PAWSESTAB);
		if (!ktp_oow_rate_limited(sock_net(sk), skb,
					  KTP_MIB_ACKSKIPPEDPAWS,
					  &kp->last_oow_ack_time))
			ktp_send_ack(sk);
		goto discard;
	}
	if (!ktp_sequence_ok(kp, skb)) {
		if (!(flags & KTP_FLAG_RST)) {
			KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTOFWINDOW);
			ktp_dsack_old(sk, skb);
			if (!ktp_oow_rate_limited(sock_net(sk), skb,
						  KTP_MIB_ACKSKIPPEDSEQ,
						  &kp->last_oow_ack_time))
				ktp_send_ack(sk);
		}
		goto discard;
	}
	if (flags & KTP_FLAG_RST) {
		if (cb->seq == kp->rcv_nxt)
			ktp_reset(sk);
		else
			ktp_send_challenge_ack(sk);
		goto discard;
	}
	if (flags & KTP_FLAG_SYN) {
		ktp_send_challenge_ack(sk);
		goto discard;
	}
	if (!(flags & KTP_FLAG_ACK))
		goto discard;
	if (ktp_rcv_ack(sk, skb, &opts))
		goto discard;

	len = skb->len;
	if (sock_flag(sk, SOCK_DEAD) && len &&
	    (1 << sk->sk_state) & (KTPF_FIN_WAIT1 | KTPF_FIN_WAIT2) &&
	    ktp_after(end_seq - !!(flags & KTP_FLAG_FIN), kp->rcv_nxt)) {
		/* New data for a socket no one will read: RFC 1122
		 * 4.2.2.13, the peer must learn it is lost.
		 */
		KTP_INC_STATS(sock_net(sk), KTP_MIB_ABORTONDATA);
		ktp_send_active_reset(sk, GFP_ATOMIC);
		ktp_done(sk);
		goto discard;
	}
	fin = false;
	ooo = false;
	queued = ktp_rcv_data(sk, skb, &fin, &ooo);
	/* The FIN lands only once everything before it has. */
	fin = fin || ((flags & KTP_FLAG_FIN) && end_seq - 1 == kp->rcv_nxt);
	if (fin && (1 << sk->sk_state) & (KTPF_RCV_DATA | KTPF_SYN_RECV)) {
		ktp_rcv_fin(sk);
	} else if (ooo || (!queued && (len || (flags & KTP_FLAG_FIN)))) {
		/* a hole, or nothing wanted: tell the peer where we are */
		ktp_send_ack(sk);
	} else if (queued) {
		ktp_schedule_ack(sk);
	}
	if (queued) {
		if (!sock_flag(sk, SOCK_DEAD) && kp->rcv_nxt != kp->copied_seq)
			sk->sk_data_ready(sk);
		return;
	}
discard:
	kfree_skb(skb);
}

/**
 * ktp_rcv_state_process - a segment for a full socket not listening
 * @sk: the socket, owned by the caller
 * @skb: the segment, header pulled; consumed
 *
 * Return: 0.
 */
int ktp_rcv_state_process(struct sock *sk, struct sk_buff *skb)
{
	struct ktp_sock *kp = ktp_sk(sk);

	kp->segs_in += max_t(u16, skb_shinfo(skb)->gso_segs, 1);

	switch (sk->sk_state) {
	case KTP_CLOSE:
		/* It closed while the segment waited in its backlog (a
		 * listener's owner closing it, a connection aborted): no TCB
		 * any more, and the answer is the no-socket one, RFC 9293
		 * 3.10.7.1. A third ACK for a listener that closed under it
		 * thus still resets its client.
		 */
		KTP_INC_STATS(sock_net(sk), KTP_MIB_NOSOCKET);
		ktp_send_reset(sk, skb);
		break;
	case KTP_LISTEN:
		break;
	case KTP_SYN_SENT:
		ktp_rcv_synsent(sk, skb);
		break;
	default:
		ktp_rcv_synchronized(sk, skb);
		return 0;
	}
	kfree_skb(skb);
	return 0;
}
