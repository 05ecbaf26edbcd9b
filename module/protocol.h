/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTP: private declarations shared by the files of the module.
 *
 * Where things live:
 *   af_ktp.c	module init/exit, the family's create(), proto_ops
 *   protocol.c	struct proto, ktp_set_state(), socket-level calls
 *   ipv4.c	the IPv4 protocol handler and the bind/established tables
 *   ctrl.c	per-netns state and sysctls
 *   mib.c	counters
 */
#ifndef __KTP_PROTOCOL_H
#define __KTP_PROTOCOL_H

#include <linux/types.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/snmp.h>
#include <net/netns/generic.h>
#include <uapi/linux/ktp.h>

/* State sets as bit masks, for (1 << sk->sk_state) & KTPF_... tests. */
#define KTPF(state)	(1 << (state))
#define KTPF_ESTABLISHED	KTPF(KTP_ESTABLISHED)
#define KTPF_SYN_SENT		KTPF(KTP_SYN_SENT)
#define KTPF_SYN_RECV		KTPF(KTP_SYN_RECV)
#define KTPF_FIN_WAIT1		KTPF(KTP_FIN_WAIT1)
#define KTPF_FIN_WAIT2		KTPF(KTP_FIN_WAIT2)
#define KTPF_TIME_WAIT		KTPF(KTP_TIME_WAIT)
#define KTPF_CLOSE		KTPF(KTP_CLOSE)
#define KTPF_CLOSE_WAIT		KTPF(KTP_CLOSE_WAIT)
#define KTPF_LAST_ACK		KTPF(KTP_LAST_ACK)
#define KTPF_LISTEN		KTPF(KTP_LISTEN)
#define KTPF_CLOSING		KTPF(KTP_CLOSING)

/* Counters, per netns and per cpu; names in mib.c. */
enum ktp_mib_field {
	KTP_MIB_NUM = 0,
	KTP_MIB_INSEGS,		/* segments handed to KTP by IP */
	KTP_MIB_OUTSEGS,	/* segments sent */
	KTP_MIB_INERRS,		/* segments dropped as malformed */
	KTP_MIB_INCSUMERRORS,	/* ... of which with a bad checksum */
	KTP_MIB_BADHEADER,	/* ... short or inconsistent header */
	KTP_MIB_UNKNOWNBITS,	/* ... reserved bits set */
	KTP_MIB_NOSOCKET,	/* segments for no known connection */
	__KTP_MIB_MAX
};

struct ktp_mib {
	unsigned long mibs[__KTP_MIB_MAX];
};

/* Per network namespace state, from net_generic(). */
struct ktp_net {
	struct ktp_mib __percpu *mib;	/* counters, see ktp_mib_field */
};

/* The full connection socket. */
struct ktp_sock {
	struct inet_connection_sock icsk;	/* must be first */
};

static inline struct ktp_sock *ktp_sk(const struct sock *sk)
{
	return (struct ktp_sock *)sk;
}

/* af_ktp.c */
extern int ktp_family;
extern int ktp_ipproto;

/* ctrl.c */
extern unsigned int ktp_net_id;

static inline struct ktp_net *ktp_pernet(const struct net *net)
{
	return net_generic(net, ktp_net_id);
}

int ktp_ctrl_init(void);
void ktp_ctrl_exit(void);

/* mib.c */
#define KTP_INC_STATS(net, field) \
	SNMP_INC_STATS(ktp_pernet(net)->mib, field)
#define __KTP_INC_STATS(net, field) \
	__SNMP_INC_STATS(ktp_pernet(net)->mib, field)

int ktp_mib_alloc(struct ktp_net *kn);
void ktp_mib_free(struct ktp_net *kn);

/* protocol.c */
extern struct proto ktp_prot;

void ktp_set_state(struct sock *sk, int state);

/* plant.c: deliberate bugs that prove make check-debug catches them.
 * Built only with KTP_PLANT=uaf or KTP_PLANT=leak; see docs/testing.md.
 */
#ifdef KTP_PLANT
void ktp_plant_bug(void);
#else
static inline void ktp_plant_bug(void) {}
#endif

/* ipv4.c */
extern struct inet_hashinfo ktp_hashinfo;

int ktp_ipv4_init(void);
void ktp_ipv4_exit(void);
int ktp_hashinfo_init(void);
void ktp_hashinfo_exit(void);

#endif /* __KTP_PROTOCOL_H */
