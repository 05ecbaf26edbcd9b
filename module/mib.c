// SPDX-License-Identifier: GPL-2.0
/*
 * KTP counters: per netns, per cpu, summed when read, as the kernel's own
 * SNMP MIBs are.
 */
#include <linux/percpu.h>

#include "protocol.h"

int ktp_mib_alloc(struct ktp_net *kn)
{
	kn->mib = alloc_percpu(struct ktp_mib);
	return kn->mib ? 0 : -ENOMEM;
}

void ktp_mib_free(struct ktp_net *kn)
{
	free_percpu(kn->mib);
}
