/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pcap files ktpdump -w writes: the classic format (microsecond time
 * stamps, the writer's byte order), link type LINKTYPE_RAW, so that each
 * record is an IP datagram as it was captured. Shared with the host test
 * that feeds docs/ktp.lua a file made the same way.
 */
#ifndef _KTP_PCAP_H
#define _KTP_PCAP_H

#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>

#define KTP_PCAP_LINKTYPE_RAW	101

/* A new file with its header written and flushed; NULL with errno. */
FILE *ktp_pcap_open(const char *path, unsigned int snaplen);

/*
 * One record: @caplen bytes of a datagram @len long, stamped @tv, then a
 * flush, so that a reader sees every record at once. 0, or -1 with errno.
 */
int ktp_pcap_write(FILE *f, const struct timeval *tv, const void *pkt,
		   size_t caplen, size_t len);

#endif /* _KTP_PCAP_H */
