/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTP tracepoints. ktp:ktp_set_state fires on every state transition of a
 * connection, for the full socket, the SYN_RECV request entry and the
 * TIME_WAIT entry alike, so one ftrace or perf stream tells a
 * connection's whole life.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ktp

#if !defined(_KTP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KTP_TRACE_H

#include <linux/tracepoint.h>
#include <net/sock.h>

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
			     __array(__u8, daddr, 4)),
	    TP_fast_assign(__entry->skaddr = skc;
			   __entry->oldstate = oldstate;
			   __entry->newstate = newstate;
			   __entry->sport = skc->skc_num;
			   __entry->dport = ntohs(skc->skc_dport);
			   memcpy(__entry->saddr, &skc->skc_rcv_saddr, 4);
			   memcpy(__entry->daddr, &skc->skc_daddr, 4);),
	    TP_printk("sport=%u dport=%u saddr=%pI4 daddr=%pI4 oldstate=%s newstate=%s",
		      __entry->sport, __entry->dport,
		      __entry->saddr, __entry->daddr,
		      ktp_state_name(__entry->oldstate),
		      ktp_state_name(__entry->newstate))
);

#endif /* _KTP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
