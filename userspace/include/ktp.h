/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktp: small helpers for programs that use KTP sockets.
 *
 * Errors return -1 (or NULL) with errno set, as the socket calls do.
 */
#ifndef _KTP_H
#define _KTP_H

#include <linux/ktp.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The family number the loaded module registered: its "family" parameter,
 * or AF_KTP when the module is not loaded (socket() may then autoload it).
 */
int ktp_family(void);

/* socket(ktp_family(), SOCK_STREAM | flags, KTPPROTO_KTP[6]) for AF_INET[6]. */
int ktp_socket(int family, int flags);

/* "ESTABLISHED", "SYN_SENT", ...; NULL with EINVAL for an unknown state. */
const char *ktp_state_name(int state);

/* getsockopt(SOL_KTP, KTP_INFO); fills *info, zeroes what the kernel lacks. */
int ktp_info(int fd, struct ktp_info *info);

#ifdef __cplusplus
}
#endif

#endif /* _KTP_H */
