// SPDX-License-Identifier: GPL-2.0
/*
 * KTP per-netns state: created with each network namespace and torn down
 * with it.
 */
#include <linux/module.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "protocol.h"

unsigned int ktp_net_id __read_mostly;

static int __net_init ktp_net_init(struct net *net)
{
	return ktp_mib_alloc(ktp_pernet(net));
}

static void __net_exit ktp_net_exit(struct net *net)
{
	ktp_mib_free(ktp_pernet(net));
}

static struct pernet_operations ktp_net_ops = {
	.init	= ktp_net_init,
	.exit	= ktp_net_exit,
	.id	= &ktp_net_id,
	.size	= sizeof(struct ktp_net),
};

int ktp_ctrl_init(void)
{
	return register_pernet_subsys(&ktp_net_ops);
}

void ktp_ctrl_exit(void)
{
	unregister_pernet_subsys(&ktp_net_ops);
}
