// SPDX-License-Identifier: GPL-2.0
/*
 * KTP over IPv4: the protocol handler IP calls for IPPROTO_KTP datagrams,
 * and the tables that map ports and 4-tuples to sockets.
 *
 * The tables are the kernel's own inet_hashinfo, as DCCP uses them, so KTP
 * gets RCU lookups, SO_REUSEADDR/SO_REUSEPORT and TIME_WAIT-aware port
 * allocation that have been proven by TCP. One table serves every netns:
 * each lookup matches the namespace as well as the addresses.
 */
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/protocol.h>
#include <net/inet_hashtables.h>

#include "protocol.h"

/* Buckets in the established and bind tables; both are powers of two. */
#define KTP_EHASH_SIZE	BIT(14)
#define KTP_BHASH_SIZE	BIT(12)

struct inet_hashinfo ktp_hashinfo;

static int ktp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);

	__KTP_INC_STATS(net, KTP_MIB_INSEGS);
	__KTP_INC_STATS(net, KTP_MIB_NOSOCKET);
	kfree_skb(skb);
	return 0;
}

static int ktp_v4_err(struct sk_buff *skb, u32 info)
{
	return 0;
}

static const struct net_protocol ktp_v4_protocol = {
	.handler	= ktp_v4_rcv,
	.err_handler	= ktp_v4_err,
	.no_policy	= 1,
};

/**
 * ktp_ipv4_init - start taking IPPROTO_KTP datagrams from IPv4
 *
 * Return: 0, or -EBUSY when another protocol owns the number.
 */
int ktp_ipv4_init(void)
{
	if (inet_add_protocol(&ktp_v4_protocol, ktp_ipproto) < 0) {
		pr_err("IP protocol %d is taken\n", ktp_ipproto);
		return -EBUSY;
	}
	return 0;
}

void ktp_ipv4_exit(void)
{
	inet_del_protocol(&ktp_v4_protocol, ktp_ipproto);
	/* In-flight handlers are RCU readers: wait for them to finish. */
	synchronize_net();
}

static void ktp_bind_tables_free(struct inet_hashinfo *h)
{
	kvfree(h->bhash2);
	kvfree(h->bhash);
	h->bhash2 = NULL;
	h->bhash = NULL;
}

static int ktp_bind_tables_alloc(struct inet_hashinfo *h)
{
	unsigned int i;

	h->bhash_size = KTP_BHASH_SIZE;
	h->bhash = kvmalloc_array(h->bhash_size, sizeof(*h->bhash), GFP_KERNEL);
	h->bhash2 = kvmalloc_array(h->bhash_size, sizeof(*h->bhash2),
				   GFP_KERNEL);
	if (!h->bhash || !h->bhash2) {
		ktp_bind_tables_free(h);
		return -ENOMEM;
	}
	for (i = 0; i < h->bhash_size; i++) {
		spin_lock_init(&h->bhash[i].lock);
		INIT_HLIST_HEAD(&h->bhash[i].chain);
		spin_lock_init(&h->bhash2[i].lock);
		INIT_HLIST_HEAD(&h->bhash2[i].chain);
	}
	return 0;
}

static int ktp_ehash_alloc(struct inet_hashinfo *h)
{
	unsigned int i;

	h->ehash_mask = KTP_EHASH_SIZE - 1;
	h->ehash = kvmalloc_array(KTP_EHASH_SIZE, sizeof(*h->ehash),
				  GFP_KERNEL);
	if (!h->ehash)
		return -ENOMEM;
	for (i = 0; i < KTP_EHASH_SIZE; i++)
		INIT_HLIST_NULLS_HEAD(&h->ehash[i].chain, i);
	return 0;
}

/**
 * ktp_hashinfo_init - allocate the listening, established and bind tables
 *
 * Return: 0 or -ENOMEM.
 */
int ktp_hashinfo_init(void)
{
	struct inet_hashinfo *h = &ktp_hashinfo;
	int err;

	err = inet_hashinfo2_init_mod(h);
	if (err)
		return err;

	err = -ENOMEM;
	h->bind_bucket_cachep =
		kmem_cache_create("ktp_bind_bucket",
				  sizeof(struct inet_bind_bucket), 0,
				  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, NULL);
	if (!h->bind_bucket_cachep)
		goto out_free_lhash2;
	h->bind2_bucket_cachep =
		kmem_cache_create("ktp_bind2_bucket",
				  sizeof(struct inet_bind2_bucket), 0,
				  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, NULL);
	if (!h->bind2_bucket_cachep)
		goto out_destroy_bind_cache;

	err = ktp_ehash_alloc(h);
	if (err)
		goto out_destroy_bind2_cache;
	err = inet_ehash_locks_alloc(h);
	if (err)
		goto out_free_ehash;
	err = ktp_bind_tables_alloc(h);
	if (err)
		goto out_free_ehash_locks;
	h->pernet = false;
	return 0;

out_free_ehash_locks:
	inet_ehash_locks_free(h);
out_free_ehash:
	kvfree(h->ehash);
out_destroy_bind2_cache:
	kmem_cache_destroy(h->bind2_bucket_cachep);
out_destroy_bind_cache:
	kmem_cache_destroy(h->bind_bucket_cachep);
out_free_lhash2:
	inet_hashinfo2_free_mod(h);
	return err;
}

void ktp_hashinfo_exit(void)
{
	struct inet_hashinfo *h = &ktp_hashinfo;

	ktp_bind_tables_free(h);
	inet_ehash_locks_free(h);
	kvfree(h->ehash);
	kmem_cache_destroy(h->bind2_bucket_cachep);
	kmem_cache_destroy(h->bind_bucket_cachep);
	inet_hashinfo2_free_mod(h);
}
