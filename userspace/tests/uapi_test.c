// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/ktp.h> must compile on its own in C and C++, and its layout is
 * ABI: check it. Prints TAP.
 */
#include <linux/ktp.h>

#include <stddef.h>
#include <stdio.h>

static int n, failed;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d %s\n", cond ? "" : "not ", n, what);
}

int main(void)
{
	printf("TAP version 13\n1..6\n");
	check(sizeof(struct ktphdr) == 20 &&
	      offsetof(struct ktphdr, seq) == 4 &&
	      offsetof(struct ktphdr, ack_seq) == 8 &&
	      offsetof(struct ktphdr, doff) == 12 &&
	      offsetof(struct ktphdr, flags) == 13 &&
	      offsetof(struct ktphdr, window) == 14 &&
	      offsetof(struct ktphdr, check) == 16 &&
	      offsetof(struct ktphdr, reserved) == 18,
	      "uapi_ktphdr_layout");
	check(offsetof(struct ktp_info, ktpi_state) == 0 &&
	      sizeof(((struct ktp_info *)0)->ktpi_state) == 1,
	      "uapi_ktp_info_state_first");
	check(sizeof(struct ktp_info) % 8 == 0, "uapi_ktp_info_padded");
	/* TCP's numbering, so that habits carry over. */
	check(KTP_ESTABLISHED == 1 && KTP_SYN_SENT == 2 && KTP_SYN_RECV == 3 &&
	      KTP_FIN_WAIT1 == 4 && KTP_FIN_WAIT2 == 5 && KTP_TIME_WAIT == 6 &&
	      KTP_CLOSE == 7 && KTP_CLOSE_WAIT == 8 && KTP_LAST_ACK == 9 &&
	      KTP_LISTEN == 10 && KTP_CLOSING == 11 && __KTP_STATE_MAX == 12,
	      "uapi_states_numbered_as_tcp");
	check(AF_KTP > 0 && AF_KTP < 46 && PF_KTP == AF_KTP &&
	      KTPPROTO_KTP != KTPPROTO_KTP6, "uapi_family_constants");
	check((KTP_FLAG_FIN | KTP_FLAG_SYN | KTP_FLAG_RST | KTP_FLAG_PSH |
	       KTP_FLAG_ACK) == KTP_FLAG_MASK, "uapi_flag_mask");
	return failed ? 1 : 0;
}
