/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A second, deliberately plain checksum for the tests of ktp_seg: the
 * IPv4 pseudo-header and the segment copied into one buffer and summed a
 * byte pair at a time, as RFC 1071 describes it.
 */
#ifndef _REF_CSUM_H
#define _REF_CSUM_H

#include <stdint.h>
#include <string.h>

static inline uint16_t ref_csum4(const uint8_t src[4], const uint8_t dst[4],
				 uint8_t proto, const uint8_t *seg, size_t len)
{
	static uint8_t buf[12 + 70000];
	uint32_t sum = 0;
	size_t n = 12 + len, i;

	memcpy(buf, src, 4);
	memcpy(buf + 4, dst, 4);
	buf[8] = 0;
	buf[9] = proto;
	buf[10] = (uint8_t)(len >> 8);
	buf[11] = (uint8_t)len;
	memcpy(buf + 12, seg, len);
	buf[n] = 0;			/* odd length: pad */
	for (i = 0; i < n; i += 2) {
		sum += (uint32_t)buf[i] * 256 + buf[i + 1];
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

#endif /* _REF_CSUM_H */
