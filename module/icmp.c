// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP and ICMPv6 errors about KTP segments: what ipv4.c's and ipv6.c's
 * error handlers found, once they have looked up the 4-tuple the error
 * quotes, acted on as TCP acts on them (RFC 1122 4.2.3.9, RFC 5927,
 * RFC 1191 and RFC 8201):
 *
 * - only an error that quotes a sequence number in flight, [SND.UNA,
 *   SND.NXT], or a request entry's own ISN, is believed; a blind
 *   attacker must guess one, as for a RST (OutOfWindowIcmps);
 * - an unreachable destination, protocol or port fails connect() at
 *   once; on a synchronized connection any error is soft: SO_ERROR
 *   reports it once, and the connection goes on; if it dies of its
 *   retransmission time-out, that is ETIMEDOUT all the same (TCP would
 *   report the soft error there; a peer that vanished must read the
 *   same whether or not the neighbour layer noticed);
 * - a smaller path MTU lowers the MSS and resends what was in flight, in
 *   segments that fit (the caller's mtu_reduced, via
 *   ktp_pmtu_lowered()).
 *
 * Errors arrive in softirq. The socket is bh-locked here; when a process
 * owns it, a path MTU message waits in KTP_MTU_REDUCED_DEFERRED for
 * release_sock(), as the timers' work does (timer.c), and any other
 * error is only noted as soft.
 */
#include <net/sock.h>
#include <net/inet_connection_sock.h>

#include "protocol.h"

/* An error that quotes a request entry's SYN-ACK: only a hard one about
 * its own ISN ends it, as tcp_req_err() does. The caller's reference
 * stays its own.
 */
static void ktp_icmp_req(struct ktp_request *req, const struct ktp_icmp_msg *msg)
{
	struct net *net = ktp_req_net(req);

	if (msg->seq != req->snt_isn) {
		__KTP_INC_STATS(net, KTP_MIB_OUTOFWINDOWICMPS);
		return;
	}
	if (msg->mtu || !msg->fatal)
		return;
	ktp_req_drop(req, false);
	__KTP_INC_STATS(net, KTP_MIB_ICMPABORTS);
}

/* On a full socket, bh-locked; @owned: a process owns it. */
static void ktp_icmp_sk(struct sock *sk, const struct ktp_icmp_msg *msg,
			bool owned)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (sk->sk_state == KTP_CLOSE)
		return;
	if (ktp_before(msg->seq, kp->snd_una) ||
	    ktp_after(msg->seq, kp->snd_nxt)) {
		__KTP_INC_STATS(sock_net(sk), KTP_MIB_OUTOFWINDOWICMPS);
		return;
	}
	if (msg->mtu) {
		WRITE_ONCE(kp->mtu_info, msg->mtu);
		if (!owned)
			inet_csk(sk)->icsk_af_ops->mtu_reduced(sk);
		else if (!test_and_set_bit(KTP_MTU_REDUCED_DEFERRED,
					   &kp->deferred))
			sock_hold(sk);
		return;
	}
	/* connect() learns at once that no one answers, as from TCP */
	if ((1 << sk->sk_state) & (KTPF_SYN_SENT | KTPF_SYN_RECV) && !owned) {
		__KTP_INC_STATS(sock_net(sk), KTP_MIB_ICMPABORTS);
		sk->sk_err = msg->err;
		sk_error_report(sk);
		ktp_done(sk);
		return;
	}
	WRITE_ONCE(sk->sk_err_soft, msg->err);
}

/**
 * ktp_icmp_rcv - act on an ICMP or ICMPv6 error about a segment of ours
 * @sk: what the 4-tuple the error quotes found in the established table,
 *	with the lookup's reference, which this drops: a connection, a
 *	request entry or a TIME_WAIT entry (which ignores it)
 * @msg: what the error says
 */
void ktp_icmp_rcv(struct sock *sk, const struct ktp_icmp_msg *msg)
{
	if (sk->sk_state == KTP_NEW_SYN_RECV) {
		ktp_icmp_req(ktp_req(sk), msg);
	} else if (sk->sk_state != KTP_TIME_WAIT) {
		bh_lock_sock(sk);
		ktp_icmp_sk(sk, msg, sock_owned_by_user(sk));
		bh_unlock_sock(sk);
	}
	ktp_entry_put(sk);
}

/**
 * ktp_pmtu_lowered - the route now says @mtu: if that is less than the
 * MSS was made for, make segments smaller and resend what is in flight
 * @sk: the socket, owned by the caller
 * @mtu: the path MTU of its route
 */
void ktp_pmtu_lowered(struct sock *sk, u32 mtu)
{
	if (inet_csk(sk)->icsk_pmtu_cookie <= mtu)
		return;
	ktp_sync_mss(sk, mtu);
	KTP_INC_STATS(sock_net(sk), KTP_MIB_PMTUREDUCED);
	ktp_simple_retransmit(sk);
}
