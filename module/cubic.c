// SPDX-License-Identifier: GPL-2.0
/*
 * CUBIC for KTP (RFC 9438): after a loss the window grows along a cubic
 * curve centred on the size it had when the loss came, W(t) = C (t - K)^3
 * + W_max, with C = 0.4 and beta = 0.7, fast convergence, and the
 * Reno-friendly region that keeps it at least as fast as NewReno.
 */
#include <linux/module.h>
#include <linux/math64.h>

#include "protocol.h"

#define CUBIC_BETA	717	/* 0.7 in 1/1024 */
#define CUBIC_C		410	/* 0.4 in 1/1024 */
#define CUBIC_ALPHA	542	/* 3 (1 - beta) / (1 + beta) in 1/1024 */

struct ktp_cubic {
	u32 w_max;		/* cwnd before the last reduction */
	u32 origin;		/* plateau of the current curve */
	u32 k_ms;		/* time to reach it, ms */
	u32 epoch_ms;		/* start of the current curve, 0: none */
	u32 w_est;		/* Reno-friendly estimate, segments */
	u32 est_cnt;		/* ACKs toward its next increase */
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
	memset(ktp_cubic(sk), 0, sizeof(struct ktp_cubic));
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
		ktp_reno_cong_avoid(sk, acked);
		return;
	}
	if (!ca->epoch_ms)
		ktp_cubic_epoch(kp, ca);

	/* where the curve is one RTT from now (RFC 9438 4.2); in units of
	 * 10 ms, whose cube fits in 64 bits for offsets up to 17 minutes
	 */
	t = (s64)(u32)(ktp_now_ms() - ca->epoch_ms) + kp->srtt_us / 1000;
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
		cnt = max(kp->snd_cwnd / (target - kp->snd_cwnd), 1U);
	else
		cnt = 100 * kp->snd_cwnd;
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
};

int ktp_cubic_register(void)
{
	return ktp_register_congestion_control(&ktp_cubic_ops);
}

void ktp_cubic_unregister(void)
{
	ktp_unregister_congestion_control(&ktp_cubic_ops);
}
