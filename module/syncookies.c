// SPDX-License-Identifier: GPL-2.0
/*
 * SYN cookies (RFC 4987 3.6): a listener whose SYN queue is full, or any
 * listener with net.ktp.syncookies 2, answers a SYN without keeping a
 * request entry. Its SYN-ACK's sequence number y carries what the
 * connection needs; the client's third ACK (ack = y + 1) brings it back,
 * and minisocks.c rebuilds the request from it (ktp_cookie_ack()). So a
 * flood of spoofed SYNs costs a listener no memory at all.
 *
 * The cookie is built as TCP builds its own:
 *
 *	y = H0(4-tuple) + x + (minute << 24)
 *	    + ((H1(4-tuple, minute) + data) mod 2^24)
 *
 * where x is the client's ISN, minute counts minutes modulo 256, and H0
 * and H1 are SipHash with two keys drawn at the first use (per boot).
 * data, 7 bits, is what the SYN said and a request entry would have kept:
 * an index into a table of MSS values (the largest not above the
 * client's), whether it sent SACK-permitted, and its window shift (15:
 * none). A cookie is good for two minutes. An ACK made up without the
 * keys passes with a probability of 2/256 * 128/2^24 = 2^-24.
 *
 * Lockless: the keys are written once, the rest is arithmetic.
 */
#include <linux/ktime.h>
#include <linux/siphash.h>
#include <net/sock.h>

#include "protocol.h"

#define KTP_COOKIE_BITS		24
#define KTP_COOKIE_MASK		((1U << KTP_COOKIE_BITS) - 1)
#define KTP_COOKIE_MAX_AGE	2	/* minutes */
#define KTP_COOKIE_NO_WSCALE	15

/* data: MSS index (2 bits), SACK-permitted (1), window shift (4) */
#define KTP_COOKIE_SACK		BIT(2)
#define KTP_COOKIE_WS_SHIFT	3
#define KTP_COOKIE_DATA_MAX	BIT(7)

/* The MSS a cookie can say, as TCP's tables: what links commonly carry */
static const u16 ktp_cookie_mss4[] = { 536, 1300, 1440, 1460 };
static const u16 ktp_cookie_mss6[] = { 1220, 1420, 1440, 8940 };

static siphash_aligned_key_t ktp_cookie_secret[2];

static const u16 *ktp_cookie_msstab(const struct ktp_request *req)
{
	return req->common.skc_family == AF_INET6 ? ktp_cookie_mss6 :
						    ktp_cookie_mss4;
}

static u32 ktp_cookie_hash(const struct ktp_request *req, u32 count, int c)
{
	const struct sock_common *sc = &req->common;

	net_get_random_once(ktp_cookie_secret, sizeof(ktp_cookie_secret));
#if IS_ENABLED(CONFIG_IPV6)
	if (sc->skc_family == AF_INET6) {
		const struct {
			struct in6_addr daddr;
			struct in6_addr saddr;
			u32 count;
			__be16 dport;
			u16 num;
		} __aligned(SIPHASH_ALIGNMENT) in = {
			.daddr = sc->skc_v6_daddr,
			.saddr = sc->skc_v6_rcv_saddr,
			.count = count,
			.dport = sc->skc_dport,
			.num = sc->skc_num,
		};

		return siphash(&in, sizeof(in), &ktp_cookie_secret[c]);
	}
#endif
	return siphash_4u32((__force u32)sc->skc_daddr,
			    (__force u32)sc->skc_rcv_saddr,
			    (__force u32)sc->skc_dport << 16 | sc->skc_num,
			    count, &ktp_cookie_secret[c]);
}

/* Minutes, modulo 2^8 once shifted into the cookie. */
static u32 ktp_cookie_time(void)
{
	return (u32)div_u64(ktime_get_seconds(), 60);
}

/**
 * ktp_cookie_make - the cookie for a SYN's request, built on the stack
 * @req: what the SYN said (ktp_init_req()); its MSS becomes what the
 *	cookie can say, as the connection will know it: the largest in the
 *	table not above the client's, or the least (as TCP's, whose
 *	least is RFC 9293's default)
 *
 * Return: the ISN y of the SYN-ACK.
 */
u32 ktp_cookie_make(struct ktp_request *req)
{
	const u16 *tab = ktp_cookie_msstab(req);
	u32 count = ktp_cookie_time(), data;
	int i;

	for (i = ARRAY_SIZE(ktp_cookie_mss4) - 1; i > 0; i--)
		if (req->mss >= tab[i])
			break;
	req->mss = tab[i];
	data = i;
	if (req->sack_ok)
		data |= KTP_COOKIE_SACK;
	data |= (req->snd_wscale >= 0 ? req->snd_wscale :
		 KTP_COOKIE_NO_WSCALE) << KTP_COOKIE_WS_SHIFT;
	return ktp_cookie_hash(req, 0, 0) + req->rcv_isn +
	       (count << KTP_COOKIE_BITS) +
	       ((ktp_cookie_hash(req, count, 1) + data) & KTP_COOKIE_MASK);
}

/**
 * ktp_cookie_decode - is @cookie one we made for @req, and recently?
 * @req: rebuilt from the third ACK: addresses, ports, and the client's
 *	ISN (the ACK's sequence number less one)
 * @cookie: the ACK's acknowledgment number less one
 *
 * Fills in the MSS, SACK-permitted and the client's window shift.
 *
 * Return: 0, or -EINVAL when it is not good.
 */
int ktp_cookie_decode(struct ktp_request *req, u32 cookie)
{
	u32 count = ktp_cookie_time(), diff, data, ws;

	cookie -= ktp_cookie_hash(req, 0, 0) + req->rcv_isn;
	diff = (count - (cookie >> KTP_COOKIE_BITS)) &
	       (U32_MAX >> KTP_COOKIE_BITS);
	if (diff >= KTP_COOKIE_MAX_AGE)
		return -EINVAL;
	data = (cookie - ktp_cookie_hash(req, count - diff, 1)) &
	       KTP_COOKIE_MASK;
	if (data >= KTP_COOKIE_DATA_MAX)
		return -EINVAL;
	ws = data >> KTP_COOKIE_WS_SHIFT;
	if (ws > KTP_MAX_WSCALE && ws != KTP_COOKIE_NO_WSCALE)
		return -EINVAL;
	req->mss = ktp_cookie_msstab(req)[data & 3];
	req->sack_ok = !!(data & KTP_COOKIE_SACK);
	req->snd_wscale = ws == KTP_COOKIE_NO_WSCALE ? -1 : ws;
	return 0;
}
