/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTP tracepoints, the counterparts of tcp:*.
 *
 * ktp:ktp_set_state fires on every state transition of a connection, for
 * the full socket, the SYN_RECV request entry and the TIME_WAIT entry
 * alike, so one ftrace or perf stream tells a connection's whole life.
 * ktp:ktp_retransmit fires for each segment sent again, ktp:ktp_send_reset
 * for each RST sent (by a socket, or in answer to a segment no socket
 * wanted), ktp:ktp_receive_reset when a RST aborts a connection, and
 * ktp:ktp_probe for each ACK a connection processes, with its congestion
 * and window state, as tcp:tcp_probe.
 *
 * Addresses are stored as struct sockaddr_in or sockaddr_in6 and printed
 * with %pISpc, so one format serves both families.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ktp

#if !defined(_KTP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KTP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in6.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "protocol.h"

#ifndef _KTP_TRACE_HELPERS
#define _KTP_TRACE_HELPERS

#define KTP_TP_ADDR_LEN	sizeof(struct sockaddr_in6)

/* A socket's own address and its peer's, as sockaddrs. */
static inline void ktp_trace_sk_addrs(const struct sock *sk, void *src,
				      void *dst)
{
	const struct inet_sock *inet = inet_sk(sk);

	memset(src, 0, KTP_TP_ADDR_LEN);
	memset(dst, 0, KTP_TP_ADDR_LEN);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		struct sockaddr_in6 *s6 = src, *d6 = dst;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = inet->inet_sport;
		s6->sin6_addr = sk->sk_v6_rcv_saddr;
		d6->sin6_family = AF_INET6;
		d6->sin6_port = inet->inet_dport;
		d6->sin6_addr = sk->sk_v6_daddr;
		return;
	}
#endif
	((struct sockaddr_in *)src)->sin_family = AF_INET;
	((struct sockaddr_in *)src)->sin_port = inet->inet_sport;
	((struct sockaddr_in *)src)->sin_addr.s_addr = inet->inet_rcv_saddr;
	((struct sockaddr_in *)dst)->sin_family = AF_INET;
	((struct sockaddr_in *)dst)->sin_port = inet->inet_dport;
	((struct sockaddr_in *)dst)->sin_addr.s_addr = inet->inet_daddr;
}

/* The ends of the answer to a received segment: from its destination
 * back to its source.
 */
static inline void ktp_trace_reply_addrs(const struct sk_buff *skb,
					 void *src, void *dst)
{
	const struct ktphdr *kh = ktp_hdr(skb);

	memset(src, 0, KTP_TP_ADDR_LEN);
	memset(dst, 0, KTP_TP_ADDR_LEN);
#if IS_ENABLED(CONFIG_IPV6)
	if (skb->protocol == htons(ETH_P_IPV6)) {
		struct sockaddr_in6 *s6 = src, *d6 = dst;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = kh->dest;
		s6->sin6_addr = ipv6_hdr(skb)->daddr;
		d6->sin6_family = AF_INET6;
		d6->sin6_port = kh->source;
		d6->sin6_addr = ipv6_hdr(skb)->saddr;
		return;
	}
#endif
	((struct sockaddr_in *)src)->sin_family = AF_INET;
	((struct sockaddr_in *)src)->sin_port = kh->dest;
	((struct sockaddr_in *)src)->sin_addr.s_addr = ip_hdr(skb)->daddr;
	((struct sockaddr_in *)dst)->sin_family = AF_INET;
	((struct sockaddr_in *)dst)->sin_port = kh->source;
	((struct sockaddr_in *)dst)->sin_addr.s_addr = ip_hdr(skb)->saddr;
}

/* The IPv6 view of an entry's addresses: its own, or v4-mapped. */
static inline void ktp_trace_skc_v6(const struct sock_common *skc,
				    void *saddr, void *daddr)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (skc->skc_family == AF_INET6) {
		memcpy(saddr, &skc->skc_v6_rcv_saddr, 16);
		memcpy(daddr, &skc->skc_v6_daddr, 16);
		return;
	}
#endif
	ipv6_addr_set_v4mapped(skc->skc_rcv_saddr, saddr);
	ipv6_addr_set_v4mapped(skc->skc_daddr, daddr);
}

/* A RST's ends: the answer to @skb's sender, or @sk's own. */
static inline void ktp_trace_reset_addrs(const struct sock *sk,
					 const struct sk_buff *skb,
					 void *src, void *dst)
{
	if (skb)
		ktp_trace_reply_addrs(skb, src, dst);
	else
		ktp_trace_sk_addrs(sk, src, dst);
}

#endif /* _KTP_TRACE_HELPERS */

#define ktp_state_name(state)					\
	__print_symbolic(state,					\
			 { KTP_ESTABLISHED, "KTP_ESTABLISHED" },	\
			 { KTP_SYN_SENT, "KTP_SYN_SENT" },	\
			 { KTP_SYN_RECV, "KTP_SYN_RECV" },	\
			 { KTP_FIN_WAIT1, "KTP_FIN_WAIT1" },	\
			 { KTP_FIN_WAIT2, "KTP_FIN_WAIT2" },	\
			 { KTP_TIME_WAIT, "KTP_TIME_WAIT" },	\
			 { KTP_CLOSE, "KTP_CLOSE" },		\
			 { KTP_CLOSE_WAIT, "KTP_CLOSE_WAIT" },	\
			 { KTP_LAST_ACK, "KTP_LAST_ACK" },	\
			 { KTP_LISTEN, "KTP_LISTEN" },		\
			 { KTP_CLOSING, "KTP_CLOSING" })

TRACE_EVENT(ktp_set_state,
	    TP_PROTO(const struct sock_common *skc, int oldstate, int newstate),
	    TP_ARGS(skc, oldstate, newstate),
	    TP_STRUCT__entry(__field(const void *, skaddr)
			     __field(int, oldstate)
			     __field(int, newstate)
			     __field(__u16, sport)
			     __field(__u16, dport)
			     __array(__u8, saddr, 4)
			     __array(__u8, daddr, 4)
			     __array(__u8, saddr_v6, 16)
			     __array(__u8, daddr_v6, 16)),
	    TP_fast_assign(__entry->skaddr = skc;
			   __entry->oldstate = oldstate;
			   __entry->newstate = newstate;
			   __entry->sport = skc->skc_num;
			   __entry->dport = ntohs(skc->skc_dport);
			   memcpy(__entry->saddr, &skc->skc_rcv_saddr, 4);
			   memcpy(__entry->daddr, &skc->skc_daddr, 4);
			   ktp_trace_skc_v6(skc, __entry->saddr_v6,
					    __entry->daddr_v6);),
	    /* IPv4 first, as before IPv6 came; an IPv4 socket's addresses
	     * appear v4-mapped in the IPv6 fields, as in sock:inet_sock_*
	     */
	    TP_printk("sport=%u dport=%u saddr=%pI4 daddr=%pI4 oldstate=%s newstate=%s saddrv6=%pI6c daddrv6=%pI6c",
		      __entry->sport, __entry->dport,
		      __entry->saddr, __entry->daddr,
		      ktp_state_name(__entry->oldstate),
		      ktp_state_name(__entry->newstate),
		      __entry->saddr_v6, __entry->daddr_v6)
);

TRACE_EVENT(ktp_retransmit,
	    TP_PROTO(const struct sock *sk, const struct sk_buff *skb),
	    TP_ARGS(sk, skb),
	    TP_STRUCT__entry(__field(const void *, skaddr)
			     __array(__u8, saddr, KTP_TP_ADDR_LEN)
			     __array(__u8, daddr, KTP_TP_ADDR_LEN)
			     __field(int, state)
			     __field(__u32, seq)
			     __field(__u32, len)
			     __field(__u8, retransmits)),
	    TP_fast_assign(__entry->skaddr = sk;
			   ktp_trace_sk_addrs(sk, __entry->saddr,
					      __entry->daddr);
			   __entry->state = sk->sk_state;
			   __entry->seq = KTP_SKB_CB(skb)->seq;
			   __entry->len = KTP_SKB_CB(skb)->end_seq -
					  KTP_SKB_CB(skb)->seq;
			   __entry->retransmits =
				inet_csk(sk)->icsk_retransmits;),
	    TP_printk("src=%pISpc dst=%pISpc state=%s seq=%u len=%u retransmits=%u",
		      __entry->saddr, __entry->daddr,
		      ktp_state_name(__entry->state), __entry->seq,
		      __entry->len, __entry->retransmits)
);

/* ktp_send_reset: @sk may be NULL (an answer to a segment no socket
 * wanted) and @skb may be NULL (a socket aborting on its own), not both.
 * ktp_receive_reset: @skb is NULL, @sk the connection the RST aborts.
 */
DECLARE_EVENT_CLASS(ktp_reset_class,
		    TP_PROTO(const struct sock *sk, const struct sk_buff *skb),
		    TP_ARGS(sk, skb),
		    TP_STRUCT__entry(__field(const void *, skaddr)
				     __array(__u8, saddr, KTP_TP_ADDR_LEN)
				     __array(__u8, daddr, KTP_TP_ADDR_LEN)
				     __field(int, state)),
		    TP_fast_assign(__entry->skaddr = sk;
				   ktp_trace_reset_addrs(sk, skb,
							 __entry->saddr,
							 __entry->daddr);
				   __entry->state = sk ? sk->sk_state : 0;),
		    TP_printk("src=%pISpc dst=%pISpc state=%s",
			      __entry->saddr, __entry->daddr,
			      __entry->state ?
			      ktp_state_name(__entry->state) : "none")
);

DEFINE_EVENT(ktp_reset_class, ktp_send_reset,
	     TP_PROTO(const struct sock *sk, const struct sk_buff *skb),
	     TP_ARGS(sk, skb)
);

DEFINE_EVENT(ktp_reset_class, ktp_receive_reset,
	     TP_PROTO(const struct sock *sk, const struct sk_buff *skb),
	     TP_ARGS(sk, skb)
);

TRACE_EVENT(ktp_probe,
	    TP_PROTO(const struct sock *sk, const struct sk_buff *skb),
	    TP_ARGS(sk, skb),
	    TP_STRUCT__entry(__field(const void *, skaddr)
			     __array(__u8, saddr, KTP_TP_ADDR_LEN)
			     __array(__u8, daddr, KTP_TP_ADDR_LEN)
			     __field(__u32, data_len)
			     __field(__u32, snd_nxt)
			     __field(__u32, snd_una)
			     __field(__u32, snd_cwnd)
			     __field(__u32, ssthresh)
			     __field(__u32, snd_wnd)
			     __field(__u32, srtt)
			     __field(__u32, rcv_wnd)),
	    TP_fast_assign(const struct ktp_sock *kp = ktp_sk(sk);

			   __entry->skaddr = sk;
			   ktp_trace_sk_addrs(sk, __entry->saddr,
					      __entry->daddr);
			   __entry->data_len = skb->len;
			   __entry->snd_nxt = kp->snd_nxt;
			   __entry->snd_una = kp->snd_una;
			   __entry->snd_cwnd = kp->snd_cwnd;
			   __entry->ssthresh = kp->snd_ssthresh;
			   __entry->snd_wnd = kp->snd_wnd;
			   __entry->srtt = kp->srtt_us;
			   __entry->rcv_wnd = kp->rcv_wnd;),
	    TP_printk("src=%pISpc dst=%pISpc data_len=%u snd_nxt=%#x snd_una=%#x snd_cwnd=%u ssthresh=%u snd_wnd=%u srtt=%u rcv_wnd=%u",
		      __entry->saddr, __entry->daddr, __entry->data_len,
		      __entry->snd_nxt, __entry->snd_una, __entry->snd_cwnd,
		      __entry->ssthresh, __entry->snd_wnd, __entry->srtt,
		      __entry->rcv_wnd)
);

#endif /* _KTP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
