// SPDX-License-Identifier: GPL-2.0
/*
 * Segmentation offload (GSO) for KTP, IPv4 and IPv6.
 *
 * output.c hands IP a run of full-sized segments as one super-segment:
 * one KTP header, gso_size the MSS, the payload the pages of the write
 * queue's segments. It crosses IP, netfilter and the qdisc once. Then:
 *
 * - a device that takes it whole (loopback, veth, a bridge or bond above
 *   one) carries it to the receiving stack, which takes it as one long
 *   segment: KTP's input has no upper bound on a segment's length but
 *   the window;
 * - any other device gets the segments cut here, just before it
 *   (validate_xmit_skb() -> inet_gso_segment() / ipv6_gso_segment() ->
 *   ktp_gso_segment()).
 *
 * The GSO type is SKB_GSO_SCTP: the core's only type that no hardware
 * claims (NETIF_F_GSO_SCTP is in NETIF_F_GSO_SOFTWARE and set by no
 * driver), so a super-segment is never given to a NIC's TCP engine. The
 * type only says who may carry it; who cuts it is chosen by the IP
 * protocol number, KTP's. The IP layers fix each segment's IP header;
 * here each gets its sequence number, its flags (FIN and PSH only on the
 * last, as TCP's) and its checksum: left to the device only with
 * NETIF_F_HW_CSUM (see ktp_csum_offload()), else summed here.
 *
 * Every input is untrusted: a forwarded super-segment may come from
 * anywhere, so its header is checked as input would, and a type or
 * size KTP never makes is refused (-EINVAL: the core drops it).
 */
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <net/protocol.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_checksum.h>

#include "protocol.h"

/* The offloads could be registered: ktp_can_gso() may say yes. */
bool ktp_gso_registered __read_mostly;

static __wsum ktp_gso_pseudo4(const struct sk_buff *seg, unsigned int len)
{
	const struct iphdr *iph = ip_hdr(seg);

	return csum_tcpudp_nofold(iph->saddr, iph->daddr, len, ktp_ipproto, 0);
}

static __wsum ktp_gso_pseudo6(const struct sk_buff *seg, unsigned int len)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(seg);

	/* csum_ipv6_magic() folds and complements: undo both */
	return ~csum_unfold(csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, len,
					    ktp_ipproto, 0));
}

/* The checksum of one cut segment, @len bytes from its KTP header, with
 * its IPv4 or IPv6 (@v6) pseudo-header: the device's, or summed here.
 */
static void ktp_gso_csum(struct sk_buff *seg, struct ktphdr *th,
			 unsigned int len, netdev_features_t features, bool v6)
{
	__wsum pseudo = v6 ? ktp_gso_pseudo6(seg, len) :
			     ktp_gso_pseudo4(seg, len);

	th->check = 0;
	if (features & NETIF_F_HW_CSUM) {
		seg->ip_summed = CHECKSUM_PARTIAL;
		seg->csum_start = skb_transport_header(seg) - seg->head;
		seg->csum_offset = offsetof(struct ktphdr, check);
		th->check = ~csum_fold(pseudo);
		return;
	}
	seg->ip_summed = CHECKSUM_NONE;
	th->check = csum_fold(csum_add(pseudo,
				       skb_checksum(seg, skb_transport_offset(seg),
						    len, 0)));
}

/* Cut @skb, at its KTP header, into gso_size segments. */
static struct sk_buff *ktp_gso_segment(struct sk_buff *skb,
				       netdev_features_t features, bool v6)
{
	unsigned int thlen, mss = skb_shinfo(skb)->gso_size;
	struct sk_buff *segs, *seg;
	struct ktphdr *th;
	u32 seq;
	u8 flags;

	if (skb_shinfo(skb)->gso_type & ~(SKB_GSO_SCTP | SKB_GSO_DODGY) ||
	    !mss || mss == GSO_BY_FRAGS)
		return ERR_PTR(-EINVAL);
	if (!pskb_may_pull(skb, sizeof(*th)))
		return ERR_PTR(-EINVAL);
	thlen = ktp_hdr(skb)->doff * 4;
	if (thlen < sizeof(*th) || !pskb_may_pull(skb, thlen))
		return ERR_PTR(-EINVAL);
	th = ktp_hdr(skb);
	flags = th->flags;
	if (flags & (KTP_FLAG_SYN | KTP_FLAG_RST) || skb->len - thlen <= mss)
		return ERR_PTR(-EINVAL);
	seq = ntohl(th->seq);

	/* No checksum for a device that sums only TCP and UDP: skb_segment()
	 * would leave it CHECKSUM_PARTIAL at TCP's offset for that device.
	 */
	if (!(features & NETIF_F_HW_CSUM))
		features &= ~NETIF_F_CSUM_MASK;
	__skb_pull(skb, thlen);
	segs = skb_segment(skb, features);
	if (IS_ERR_OR_NULL(segs))
		return segs ? segs : ERR_PTR(-EINVAL);

	for (seg = segs; seg; seg = seg->next) {
		unsigned int len = seg->len - skb_transport_offset(seg);

		th = ktp_hdr(seg);
		th->seq = htonl(seq);
		th->flags = seg->next ?
			    flags & ~(KTP_FLAG_FIN | KTP_FLAG_PSH) : flags;
		ktp_gso_csum(seg, th, len, features, v6);
		seq += len - thlen;
	}
	return segs;
}

static struct sk_buff *ktp4_gso_segment(struct sk_buff *skb,
					netdev_features_t features)
{
	return ktp_gso_segment(skb, features, false);
}

static const struct net_offload ktp_v4_offload = {
	.callbacks = {
		.gso_segment	= ktp4_gso_segment,
	},
};

#if IS_ENABLED(CONFIG_IPV6)
static struct sk_buff *ktp6_gso_segment(struct sk_buff *skb,
					netdev_features_t features)
{
	return ktp_gso_segment(skb, features, true);
}

static const struct net_offload ktp_v6_offload = {
	.callbacks = {
		.gso_segment	= ktp6_gso_segment,
	},
};

static int ktp_v6_offload_add(void)
{
	return inet6_add_offload(&ktp_v6_offload, ktp_ipproto);
}

static void ktp_v6_offload_del(void)
{
	inet6_del_offload(&ktp_v6_offload, ktp_ipproto);
}
#else
static int ktp_v6_offload_add(void) { return 0; }
static void ktp_v6_offload_del(void) { }
#endif

/**
 * ktp_offload_init - register the GSO callbacks for KTP's IP protocol
 *
 * Another module may hold the offload slot of the protocol number KTP
 * was given (ipproto=): then KTP sends one segment at a time, as before.
 */
void ktp_offload_init(void)
{
	if (inet_add_offload(&ktp_v4_offload, ktp_ipproto))
		goto out_none;
	if (ktp_v6_offload_add())
		goto out_del_v4;
	ktp_gso_registered = true;
	return;

out_del_v4:
	inet_del_offload(&ktp_v4_offload, ktp_ipproto);
out_none:
	pr_info("GSO off: the offload slot of IP protocol %d is taken\n",
		ktp_ipproto);
}

/**
 * ktp_offload_exit - remove the GSO callbacks
 *
 * inet_del_offload() and inet6_del_offload() wait for the RCU readers
 * in the core's segmentation paths; a super-segment still queued after
 * that finds no callback and is dropped.
 */
void ktp_offload_exit(void)
{
	if (!ktp_gso_registered)
		return;
	ktp_gso_registered = false;
	ktp_v6_offload_del();
	inet_del_offload(&ktp_v4_offload, ktp_ipproto);
}
