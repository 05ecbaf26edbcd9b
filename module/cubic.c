// SPDX-License-Identifier: GPL-2.0
/*
 * CUBIC for KTP (RFC 9438): after a loss the window grows along a cubic
 * curve centred on the size it had when the loss came, W(t) = C (t - K)^3
 * + W_max, with C = 0.4 and beta = 0.7, fast convergence, and the
 * Reno-friendly region that keeps it at least as fast as NewReno. As in
 * Linux's CUBIC, the window grows by at most half a segment per ACKed
 * segment (1.5 times a round trip), by at least 5% a round trip before
 * the first loss, and the curve runs one minimum RTT ahead.
 *
 * The first slow start ends with HyStart++ (RFC 9406) rather than with a
 * burst of losses: when a round trip's least RTT has risen by an eighth
 * (4 to 16 ms) over the previous round's, a queue is building; growth
 * slows to a quarter (conservative slow start) and, unless the RTT falls
 * back, congestion avoidance begins five round trips later.
 */
#include <linux/module.h>
#include <linux/math64.h>

#include "protocol.h"

#define CUBIC_BETA	717	/* 0.7 in 1/1024 */
#define CUBIC_C		410	/* 0.4 in 1/1024 */
#define CUBIC_ALPHA	542	/* 3 (1 - beta) / (1 + beta) in 1/1024 */

/* HyStart++'s constants (RFC 9406 4.3), RTTs in microseconds */
#define HYSTART_MIN_THRESH	4000
#define HYSTART_MAX_THRESH	16000
#define HYSTART_DIVISOR		8	/* of the last round's RTT */
#define HYSTART_N_SAMPLE	8	/* samples a round before judging */
#define HYSTART_CSS_DIVISOR	4	/* growth in conservative SS */
#define HYSTART_CSS_ROUNDS	5
#define HYSTART_L		8	/* segments an ACK may add, unpaced */
#define HYSTART_NONE		U32_MAX	/* no RTT yet, or not in CSS */

struct ktp_cubic {
	u32 w_max;		/* cwnd before the last reduction */
	u32 origin;		/* plateau of the current curve */
	u32 k_ms;		/* time to reach it, ms */
	u32 epoch_ms;		/* start of the current curve, 0: none */
	u32 w_est;		/* Reno-friendly estimate, segments */
	u32 est_cnt;		/* ACKs toward its next increase */
	/* HyStart++ in the first slow start */
	u32 round_end;		/* a round ends when this is ACKed */
	u32 last_round_min_us;	/* least RTT of the round before */
	u32 round_min_us;	/* of this round so far */
	u32 css_base_us;	/* conservative slow start's baseline */
	u8 round_samples;	/* RTT samples this round, up to N */
	u8 css_rounds;		/* rounds in conservative slow start */
	u8 rounds_on;		/* round_end is set */
};

static struct ktp_cubic *ktp_cubic(struct sock *sk)
{
	BUILD_BUG_ON(sizeof(struct ktp_cubic) > sizeof(ktp_sk(sk)->ca_priv));
	return (struct ktp_cubic *)ktp_sk(sk)->ca_priv;
}

static u32 ktp_now_ms(void)
{
	return jiffies_to_msecs(jiffies);
}

/* Integer cube root, by bisection: a loss is rare enough. */
static u32 ktp_cbrt(u64 a)
{
	u32 lo = 0, hi = 2097152;	/* 2^21: cube covers u64 */

	while (lo < hi) {
		u32 mid = lo + (hi - lo + 1) / 2;

		if ((u64)mid * mid * mid <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void ktp_cubic_init(struct sock *sk)
{
	struct ktp_cubic *ca = ktp_cubic(sk);

	memset(ca, 0, sizeof(*ca));
	ca->last_round_min_us = HYSTART_NONE;
	ca->round_min_us = HYSTART_NONE;
	ca->css_base_us = HYSTART_NONE;
}

/* HyStart++ runs in the first slow start only (RFC 9406 4.2): after a
 * loss, ssthresh says where the limit is.
 */
static bool ktp_hystart_on(const struct ktp_sock *kp)
{
	return kp->snd_ssthresh == U32_MAX && !kp->in_recovery;
}

/* A round trip ends when what was in flight at its start is ACKed; then
 * its least RTT becomes the last round's, and a round in conservative
 * slow start counts toward its end.
 */
static void ktp_hystart_round(struct ktp_sock *kp, struct ktp_cubic *ca)
{
	if (ca->rounds_on && ktp_before(kp->snd_una, ca->round_end))
		return;
	ca->rounds_on = 1;
	ca->round_end = kp->snd_nxt;
	ca->last_round_min_us = ca->round_min_us;
	ca->round_min_us = HYSTART_NONE;
	ca->round_samples = 0;
	if (ca->css_base_us == HYSTART_NONE ||
	    ++ca->css_rounds < HYSTART_CSS_ROUNDS)
		return;
	/* the queue kept growing: congestion avoidance from here */
	kp->snd_ssthresh = max(kp->snd_cwnd, 2U);
	ca->css_base_us = HYSTART_NONE;
	kp->cwnd_cnt = 0;
}

static void ktp_cubic_rtt_sample(struct sock *sk, u32 rtt_us)
{
	struct ktp_cubic *ca = ktp_cubic(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	u32 thresh;

	if (!ktp_hystart_on(kp))
		return;
	ktp_hystart_round(kp, ca);
	ca->round_min_us = min(ca->round_min_us, rtt_us);
	if (ca->round_samples < HYSTART_N_SAMPLE)
		ca->round_samples++;
	if (ca->round_samples < HYSTART_N_SAMPLE ||
	    ca->last_round_min_us == HYSTART_NONE)
		return;
	if (ca->css_base_us == HYSTART_NONE) {
		thresh = clamp_t(u32, ca->last_round_min_us / HYSTART_DIVISOR,
				 HYSTART_MIN_THRESH, HYSTART_MAX_THRESH);
		if (ca->round_min_us >= ca->last_round_min_us + thresh) {
			ca->css_base_us = ca->round_min_us;
			ca->css_rounds = 0;
		}
	} else if (ca->round_min_us < ca->css_base_us) {
		/* the rise was a spike: slow start again (4.2) */
		ca->css_base_us = HYSTART_NONE;
	}
}

/* Below ssthresh: standard slow start, an ACK adding at most L segments
 * while HyStart++ runs, a quarter of that in conservative slow start.
 */
static void ktp_cubic_slow_start(struct sock *sk, struct ktp_cubic *ca,
				 u32 acked)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!ktp_hystart_on(kp)) {
		ktp_reno_cong_avoid(sk, acked);
		return;
	}
	acked = min_t(u32, acked, HYSTART_L);
	if (ca->css_base_us == HYSTART_NONE) {
		kp->snd_cwnd += acked;
		return;
	}
	kp->cwnd_cnt += acked;
	kp->snd_cwnd += kp->cwnd_cnt / HYSTART_CSS_DIVISOR;
	kp->cwnd_cnt %= HYSTART_CSS_DIVISOR;
}

static u32 ktp_cubic_ssthresh(struct sock *sk)
{
	struct ktp_cubic *ca = ktp_cubic(sk);
	u32 cwnd = ktp_sk(sk)->snd_cwnd;

	ca->epoch_ms = 0;
	/* fast convergence (RFC 9438 4.7) */
	if (cwnd < ca->w_max)
		ca->w_max = cwnd * (1024 + CUBIC_BETA) / 2048;
	else
		ca->w_max = cwnd;
	return max(cwnd * CUBIC_BETA / 1024, 2U);
}

/* Start a new curve: K = cbrt(W_max (1 - beta) / C), in ms. */
static void ktp_cubic_epoch(struct ktp_sock *kp, struct ktp_cubic *ca)
{
	ca->epoch_ms = ktp_now_ms() ? : 1;
	if (kp->snd_cwnd < ca->w_max) {
		u64 segs = (u64)(ca->w_max - kp->snd_cwnd) * 1024 / CUBIC_C;

		/* cube root of segments * 1e9 gives milliseconds */
		ca->k_ms = ktp_cbrt(segs * 1000000000ULL);
		ca->origin = ca->w_max;
	} else {
		ca->k_ms = 0;
		ca->origin = kp->snd_cwnd;
	}
	ca->w_est = kp->snd_cwnd;
	ca->est_cnt = 0;
}

static void ktp_cubic_cong_avoid(struct sock *sk, u32 acked)
{
	struct ktp_cubic *ca = ktp_cubic(sk);
	struct ktp_sock *kp = ktp_sk(sk);
	s64 t, offs, delta;
	u32 target, cnt;

	if (kp->snd_cwnd < kp->snd_ssthresh) {
		ktp_cubic_slow_start(sk, ca, acked);
		return;
	}
	if (!ca->epoch_ms)
		ktp_cubic_epoch(kp, ca);

	/* where the curve is one RTT from now (RFC 9438 4.2), the least
	 * RTT, as queues would otherwise hurry it; in units of 10 ms, whose
	 * cube fits in 64 bits for offsets up to 17 minutes
	 */
	t = (s64)(u32)(ktp_now_ms() - ca->epoch_ms) +
	    (kp->rtt_min_us ? : kp->srtt_us) / 1000;
	offs = clamp_t(s64, t - ca->k_ms, -(1 << 20), 1 << 20) / 10;
	delta = div_s64(CUBIC_C * offs * offs * offs, 1024LL * 1000000LL);
	target = max_t(s64, (s64)ca->origin + delta, 2);

	/* Reno-friendly region (4.3): AIMD with alpha 3(1-beta)/(1+beta),
	 * 542/1024, keeps pace with NewReno at least
	 */
	ca->est_cnt += acked;
	if ((u64)ca->est_cnt * CUBIC_ALPHA >= (u64)kp->snd_cwnd * 1024) {
		ca->est_cnt = 0;
		ca->w_est++;
	}
	target = max(target, ca->w_est);

	if (target > kp->snd_cwnd)
		cnt = kp->snd_cwnd / (target - kp->snd_cwnd);
	else
		cnt = 100 * kp->snd_cwnd;
	/* no loss yet: no plateau to approach, 5% a round trip at least */
	if (!ca->w_max)
		cnt = min(cnt, 20U);
	/* 1.5 times a round trip at most, as Linux's CUBIC */
	cnt = max(cnt, 2U);
	kp->cwnd_cnt += acked;
	if (kp->cwnd_cnt >= cnt) {
		kp->snd_cwnd += kp->cwnd_cnt / cnt;
		kp->cwnd_cnt = 0;
	}
}

static struct ktp_congestion_ops ktp_cubic_ops = {
	.name		= "cubic",
	.owner		= NULL,		/* built in: struct ktp_congestion_ops */
	.init		= ktp_cubic_init,
	.ssthresh	= ktp_cubic_ssthresh,
	.cong_avoid	= ktp_cubic_cong_avoid,
	.rtt_sample	= ktp_cubic_rtt_sample,
};

int ktp_cubic_register(void)
{
	return ktp_register_congestion_control(&ktp_cubic_ops);
}

void ktp_cubic_unregister(void)
{
	ktp_unregister_congestion_control(&ktp_cubic_ops);
}
