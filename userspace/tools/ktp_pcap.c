// SPDX-License-Identifier: GPL-2.0
/*
 * pcap files of raw IP datagrams: the format's global header, then one
 * record header and the bytes for each datagram.
 */
#include <stdint.h>

#include "ktp_pcap.h"

FILE *ktp_pcap_open(const char *path, unsigned int snaplen)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} hdr = { 0xa1b2c3d4, 2, 4, 0, 0, snaplen, KTP_PCAP_LINKTYPE_RAW };
	FILE *f = fopen(path, "wb");

	if (!f)
		return NULL;
	if (fwrite(&hdr, sizeof(hdr), 1, f) != 1 || fflush(f)) {
		fclose(f);
		return NULL;
	}
	return f;
}

int ktp_pcap_write(FILE *f, const struct timeval *tv, const void *pkt,
		   size_t caplen, size_t len)
{
	uint32_t rec[4] = { (uint32_t)tv->tv_sec, (uint32_t)tv->tv_usec,
			    (uint32_t)caplen, (uint32_t)len };

	if (fwrite(rec, sizeof(rec), 1, f) != 1 ||
	    fwrite(pkt, 1, caplen, f) != caplen)
		return -1;
	return fflush(f);
}
