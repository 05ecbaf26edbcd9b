// SPDX-License-Identifier: GPL-2.0
/*
 * KTP memory accounting: every queued segment is charged to its socket
 * (SO_SNDBUF, SO_RCVBUF) and to a module-wide pool bounded by net.ktp.mem
 * (pages: no pressure below the first value, pressure above the second,
 * a hard limit at the third), with the kernel's sk_mem_* machinery, as
 * tcp_mem bounds TCP. Under pressure a receiver prunes its out-of-order
 * queue first and its window shrinks; data already acknowledged is never
 * dropped.
 */
#include <linux/module.h>
#include <linux/percpu_counter.h>
#include <linux/swap.h>
#include <net/sock.h>

#include "protocol.h"

atomic_long_t ktp_memory_allocated;	/* pages charged by all sockets */
DEFINE_PER_CPU(int, ktp_memory_per_cpu_fw_alloc);
struct percpu_counter ktp_sockets_allocated;
unsigned long ktp_memory_pressure;	/* set while above mem[1] */
long ktp_sysctl_mem[3];			/* net.ktp.mem, pages */
int ktp_sysctl_wmem[3] = { 4096, 16384, 4 << 20 };  /* min, -, max */
int ktp_sysctl_rmem[3] = { 4096, 131072, 6 << 20 };

/* Orphans (closed by their process, still finishing with the peer) the
 * module keeps before it resets them, as tcp_max_orphans.
 */
int ktp_max_orphans = 8192;
static int ktp_zero_orphans;

static struct ctl_table_header *ktp_mem_sysctl_hdr;

static struct ctl_table ktp_mem_table[] = {
	{
		.procname	= "mem",
		.data		= &ktp_sysctl_mem,
		.maxlen		= sizeof(ktp_sysctl_mem),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
	},
	{
		.procname	= "max_orphans",
		.data		= &ktp_max_orphans,
		.maxlen		= sizeof(ktp_max_orphans),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &ktp_zero_orphans,
	},
	{}
};

/**
 * ktp_orphan_oom - can the module not afford this orphan?
 * @sk: an orphan
 * @shift: weigh it as 2^shift orphans
 *
 * Return: true over net.ktp.max_orphans, or when it holds data to send
 * while the module is over its hard memory limit (net.ktp.mem[2]).
 */
bool ktp_orphan_oom(const struct sock *sk, int shift)
{
	if (ktp_too_many_orphans(shift))
		return true;
	return sk->sk_wmem_queued > SOCK_MIN_SNDBUF &&
	       sk_memory_allocated(sk) > sk_prot_mem_limits(sk, 2);
}

/**
 * ktp_too_many_orphans - are there more orphans than net.ktp.max_orphans?
 * @shift: weigh each orphan as 2^shift (a suspect one counts more)
 *
 * Return: true if so.
 */
bool ktp_too_many_orphans(int shift)
{
	long orphans = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		orphans += (int)per_cpu(ktp_orphan_count, cpu);
	return max(orphans, 0L) << shift > READ_ONCE(ktp_max_orphans);
}

void ktp_enter_memory_pressure(struct sock *sk)
{
	if (!READ_ONCE(ktp_memory_pressure))
		WRITE_ONCE(ktp_memory_pressure, 1);
}

void ktp_leave_memory_pressure(struct sock *sk)
{
	if (READ_ONCE(ktp_memory_pressure))
		WRITE_ONCE(ktp_memory_pressure, 0);
}

/**
 * ktp_wmem_free_skb - drop a segment of the write queue, uncharging it
 * @sk: the socket, owned by the caller
 * @skb: the segment, already unlinked
 */
void ktp_wmem_free_skb(struct sock *sk, struct sk_buff *skb)
{
	sk_wmem_queued_add(sk, -skb->truesize);
	sk_mem_uncharge(sk, skb->truesize);
	__kfree_skb(skb);
}

/**
 * ktp_rmem_schedule - make room to queue a received segment
 * @sk: the socket, owned by the caller
 * @skb: the segment
 *
 * Over the socket's or the module's budget, out-of-order data goes
 * first: it was never acknowledged, the sender still has it.
 *
 * Return: true if @skb may be queued.
 */
bool ktp_rmem_schedule(struct sock *sk, struct sk_buff *skb)
{
	if (atomic_read(&sk->sk_rmem_alloc) <= KTP_RMEM_LIMIT(sk) &&
	    sk_rmem_schedule(sk, skb, skb->truesize))
		return true;
	if (RB_EMPTY_ROOT(&ktp_sk(sk)->ooo_queue))
		return false;
	KTP_INC_STATS(sock_net(sk), KTP_MIB_OFOPRUNED);
	ktp_purge_ooo_queue(sk);
	sk_mem_reclaim(sk);
	return atomic_read(&sk->sk_rmem_alloc) <= KTP_RMEM_LIMIT(sk) &&
	       sk_rmem_schedule(sk, skb, skb->truesize);
}

/*
 * Buffer auto-tuning, as TCP's. A connection starts with net.ktp.wmem[1]
 * and rmem[1] (SO_SNDBUF and SO_RCVBUF lock them, as for TCP) and grows
 * toward wmem[2] and rmem[2] by what it is seen to need:
 *
 * - the send buffer holds two congestion windows of segments, counted
 *   at their true size (tcp_sndbuf_expand());
 * - the receive buffer is sized by dynamic right-sizing (RFC 1323bis'
 *   DRS, tcp_rcv_space_adjust()): once an RTT, what the reader took in
 *   that RTT, doubled and given room to grow, becomes the window it may
 *   be offered (twice that in buffer: the window is half the free
 *   buffer, ktp_select_window()).
 *
 * The receiver's RTT is the time a window of data takes to arrive
 * (ktp_rcv_rtt_measure()): what the reader can take in it is what the
 * window must allow. Its RTT as a sender would be shorter than that
 * whenever the window, not the path, is the limit, and the buffer
 * would never grow.
 */

/* The memory one full segment takes on the write or rtx queue. */
static u32 ktp_per_mss(const struct ktp_sock *kp)
{
	return SKB_TRUESIZE(KTP_MAX_HEADER) + kp->mss;
}

/**
 * ktp_sndbuf_expand - grow the send buffer to two congestion windows
 * @sk: the socket, owned by the caller
 *
 * Called when an ACK freed room while the window was not the limit.
 */
void ktp_sndbuf_expand(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u64 sndmem;

	if ((sk->sk_userlocks & SOCK_SNDBUF_LOCK) ||
	    sk_under_memory_pressure(sk) ||
	    kp->packets_out >= kp->snd_cwnd)
		return;
	sndmem = 2ULL * max(kp->snd_cwnd, KTP_INIT_CWND) * ktp_per_mss(kp);
	sndmem = min_t(u64, sndmem,
		       READ_ONCE(ktp_pernet(sock_net(sk))->wmem[2]));
	if (sndmem > READ_ONCE(sk->sk_sndbuf))
		WRITE_ONCE(sk->sk_sndbuf, sndmem);
}

/**
 * ktp_rcv_rtt_measure - in-order data arrived: time a window of it
 * @sk: the socket, owned by the caller
 */
void ktp_rcv_rtt_measure(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 now = ktp_clock_us();

	if (kp->rcv_rtt_time_us) {
		u32 sample = now - kp->rcv_rtt_time_us;

		if (ktp_before(kp->rcv_nxt, kp->rcv_rtt_seq))
			return;
		/* a window's time is at least an RTT: keep the least */
		if (sample && (!kp->rcv_rtt_us || sample < kp->rcv_rtt_us))
			kp->rcv_rtt_us = sample;
	}
	kp->rcv_rtt_seq = kp->rcv_nxt + max(kp->rcv_wnd, (u32)kp->mss);
	kp->rcv_rtt_time_us = now ? : 1;
}

/**
 * ktp_rcv_space_adjust - the reader took data: grow the receive buffer?
 * @sk: the socket, owned by the caller
 */
void ktp_rcv_space_adjust(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);
	u32 now = ktp_clock_us(), rtt = kp->rcv_rtt_us, copied;
	u64 rcvwin, rcvbuf;

	if (!kp->rcvq_time_us) {
		/* what the first window lets in (on loopback, with its
		 * 64 KiB MSS, far less than ten segments)
		 */
		kp->rcvq_space = clamp_t(u32, kp->rcv_wnd, kp->mss,
					 KTP_INIT_CWND * kp->mss);
		goto new_measure;
	}
	if (!rtt || now - kp->rcvq_time_us < rtt)
		return;
	copied = kp->copied_seq - kp->rcvq_seq;
	if (copied <= kp->rcvq_space)
		goto new_measure;
	if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK)) {
		/* what it took, twice, and as much again as it grew by */
		rcvwin = 2ULL * copied + 16ULL * kp->mss;
		rcvwin += 2 * div_u64(rcvwin * (copied - kp->rcvq_space),
				      kp->rcvq_space);
		rcvbuf = min_t(u64, 2 * rcvwin,
			       READ_ONCE(ktp_pernet(sock_net(sk))->rmem[2]));
		if (rcvbuf > READ_ONCE(sk->sk_rcvbuf))
			WRITE_ONCE(sk->sk_rcvbuf, rcvbuf);
	}
	kp->rcvq_space = copied;
new_measure:
	kp->rcvq_seq = kp->copied_seq;
	kp->rcvq_time_us = now ? : 1;
}

int ktp_mem_init(void)
{
	unsigned long limit = nr_free_buffer_pages() / 16;
	int err;

	/* as tcp_init_mem() */
	limit = max(limit, 128UL);
	ktp_sysctl_mem[0] = limit / 4 * 3;
	ktp_sysctl_mem[1] = limit;
	ktp_sysctl_mem[2] = ktp_sysctl_mem[0] * 2;

	err = percpu_counter_init(&ktp_sockets_allocated, 0, GFP_KERNEL);
	if (err)
		return err;
	ktp_mem_sysctl_hdr = ktp_register_sysctl(&init_net, "net/ktp",
						 ktp_mem_table,
						 ARRAY_SIZE(ktp_mem_table) - 1);
	if (!ktp_mem_sysctl_hdr) {
		percpu_counter_destroy(&ktp_sockets_allocated);
		return -ENOMEM;
	}
	return 0;
}

void ktp_mem_exit(void)
{
	unregister_net_sysctl_table(ktp_mem_sysctl_hdr);
	percpu_counter_destroy(&ktp_sockets_allocated);
}
