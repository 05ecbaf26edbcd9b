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
 *
 * GRO, the other way: segments of one flow that a NAPI device (virtio-net,
 * a veth end with GRO on) receives in one poll are merged into one skb,
 * as tcp_gro_receive() merges TCP's, when each continues the last in
 * sequence, carries a full MSS, and has the same ACK, window, flags (but
 * PSH and FIN) and options. What arrives whole above is then one
 * super-segment for KTP's input, or for GSO again when it is forwarded.
 * The core's merge, skb_gro_receive(), is not exported to modules: the
 * merged segments hang on the first one's frag_list (ktp_gro_append()),
 * as its own slow path does; the stack is crossed once, the segments'
 * memory stays as it came.
 */
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <net/protocol.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_checksum.h>
#include <net/gro.h>

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

/*
 * Append @skb, its KTP header pulled (skb_gro_offset()), to the held @p:
 * what skb_gro_receive() does when it cannot move pages, which modules
 * cannot call. Runs in the NAPI poll, @p and @skb its own.
 *
 * Return: 0, or -E2BIG when @p would outgrow 64 KiB (then neither moves).
 */
static int ktp_gro_append(struct sk_buff *p, struct sk_buff *skb)
{
	unsigned int offset = skb_gro_offset(skb);
	unsigned int headlen = skb_headlen(skb);
	unsigned int len = skb_gro_len(skb);
	unsigned int truesize = skb->truesize;

	if (p->len + len >= GRO_LEGACY_MAX_SIZE || NAPI_GRO_CB(skb)->flush)
		return -E2BIG;

	/* the headers may still sit in the first page (frag0) */
	if (offset > headlen) {
		unsigned int eat = offset - headlen;

		skb_frag_off_add(&skb_shinfo(skb)->frags[0], eat);
		skb_frag_size_sub(&skb_shinfo(skb)->frags[0], eat);
		skb->data_len -= eat;
		skb->len -= eat;
		offset = headlen;
	}
	__skb_pull(skb, offset);
	/* whatever owned it hands it to @p */
	skb->destructor = NULL;

	if (NAPI_GRO_CB(p)->last == p)
		skb_shinfo(p)->frag_list = skb;
	else
		NAPI_GRO_CB(p)->last->next = skb;
	NAPI_GRO_CB(p)->last = skb;
	__skb_header_release(skb);

	NAPI_GRO_CB(p)->count++;
	p->data_len += len;
	p->truesize += truesize;
	p->len += len;
	NAPI_GRO_CB(skb)->same_flow = 1;
	return 0;
}

/*
 * GRO for one received segment @skb, its checksum checked, against the
 * packets held for the same addresses on @head. Return: the held packet
 * to deliver now (it may take no more), or NULL.
 */
static struct sk_buff *ktp_gro_receive(struct list_head *head,
				       struct sk_buff *skb)
{
	unsigned int off = skb_gro_offset(skb), thlen, len, mss = 1;
	struct sk_buff *pp = NULL, *p;
	struct ktphdr *th, *th2;
	int flush = 1;
	u8 flags;

	/* a super-segment (GSO from a local sender) goes up as it is */
	if (skb_is_gso(skb))
		goto out;
	th = skb_gro_header(skb, off + sizeof(*th), off);
	if (unlikely(!th))
		goto out;
	thlen = th->doff * 4;
	if (thlen < sizeof(*th) || th->doff > KTP_HDR_MAX_WORDS)
		goto out;
	th = skb_gro_header(skb, off + thlen, off);
	if (unlikely(!th))
		goto out;
	skb_gro_pull(skb, thlen);
	len = skb_gro_len(skb);
	flags = th->flags;

	list_for_each_entry(p, head, list) {
		if (!NAPI_GRO_CB(p)->same_flow)
			continue;
		th2 = ktp_hdr(p);
		if (th->source != th2->source || th->dest != th2->dest) {
			NAPI_GRO_CB(p)->same_flow = 0;
			continue;
		}
		goto found;
	}
	p = NULL;
	goto out_check_final;

found:
	flush = NAPI_GRO_CB(p)->flush | ktp_gro_network_flush(th, th2, p);
	flush |= th->doff != th2->doff || th->ack_seq != th2->ack_seq ||
		 th->window != th2->window || th->reserved != th2->reserved;
	flush |= (flags ^ th2->flags) & ~(KTP_FLAG_FIN | KTP_FLAG_PSH);
	/* the options too: same timestamps, no SACK blocks that differ */
	if (!flush)
		flush = !!memcmp(th + 1, th2 + 1, thlen - sizeof(*th));
	mss = skb_shinfo(p)->gso_size;
	/* a segment longer than the first (len 0: a pure ACK) ends it */
	flush |= (len - 1) >= mss;
	flush |= ntohl(th2->seq) + skb_gro_len(p) != ntohl(th->seq);
	if (flush || ktp_gro_append(p, skb)) {
		mss = 1;
		goto out_check_final;
	}
	th2->flags |= flags & (KTP_FLAG_FIN | KTP_FLAG_PSH);

out_check_final:
	/* a short segment, or one that asks to be seen now, ends the run */
	flush = len < mss;
	flush |= !!(flags & (KTP_FLAG_PSH | KTP_FLAG_RST | KTP_FLAG_SYN |
			     KTP_FLAG_FIN));
	if (p && (!NAPI_GRO_CB(skb)->same_flow || flush))
		pp = p;
out:
	NAPI_GRO_CB(skb)->flush |= (flush != 0);
	return pp;
}

/* A merged packet, @th its KTP header: one super-segment, as GSO makes
 * them, its checksum left to whoever cuts it or taken as checked.
 */
static int ktp_gro_complete(struct sk_buff *skb, struct ktphdr *th)
{
	skb->csum_start = (unsigned char *)th - skb->head;
	skb->csum_offset = offsetof(struct ktphdr, check);
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb_shinfo(skb)->gso_type |= SKB_GSO_SCTP;
	skb_shinfo(skb)->gso_segs = NAPI_GRO_CB(skb)->count;
	if (skb->encapsulation)
		skb->inner_transport_header = skb->transport_header;
	return 0;
}

static struct sk_buff *ktp4_gro_receive(struct list_head *head,
					struct sk_buff *skb)
{
	/* no checksum work for what goes up at once anyway */
	if (!NAPI_GRO_CB(skb)->flush &&
	    skb_gro_checksum_validate(skb, ktp_ipproto,
				      inet_gro_compute_pseudo)) {
		NAPI_GRO_CB(skb)->flush = 1;
		return NULL;
	}
	return ktp_gro_receive(head, skb);
}

static int ktp4_gro_complete(struct sk_buff *skb, int thoff)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct ktphdr *th = (struct ktphdr *)(skb->data + thoff);

	th->check = ~csum_tcpudp_magic(iph->saddr, iph->daddr,
				       skb->len - thoff, ktp_ipproto, 0);
	return ktp_gro_complete(skb, th);
}

static const struct net_offload ktp_v4_offload = {
	.callbacks = {
		.gso_segment	= ktp4_gso_segment,
		.gro_receive	= ktp4_gro_receive,
		.gro_complete	= ktp4_gro_complete,
	},
};

#if IS_ENABLED(CONFIG_IPV6)
static struct sk_buff *ktp6_gso_segment(struct sk_buff *skb,
					netdev_features_t features)
{
	return ktp_gso_segment(skb, features, true);
}

static struct sk_buff *ktp6_gro_receive(struct list_head *head,
					struct sk_buff *skb)
{
	if (!NAPI_GRO_CB(skb)->flush &&
	    skb_gro_checksum_validate(skb, ktp_ipproto,
				      ip6_gro_compute_pseudo)) {
		NAPI_GRO_CB(skb)->flush = 1;
		return NULL;
	}
	return ktp_gro_receive(head, skb);
}

static int ktp6_gro_complete(struct sk_buff *skb, int thoff)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct ktphdr *th = (struct ktphdr *)(skb->data + thoff);

	th->check = ~csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
				     skb->len - thoff, ktp_ipproto, 0);
	return ktp_gro_complete(skb, th);
}

static const struct net_offload ktp_v6_offload = {
	.callbacks = {
		.gso_segment	= ktp6_gso_segment,
		.gro_receive	= ktp6_gro_receive,
		.gro_complete	= ktp6_gro_complete,
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
