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

/*
 * socket(ktp_family(), SOCK_STREAM, KTPPROTO_KTP[6]) for AF_INET[6]; the
 * family read by the first call and kept, read again when socket() fails
 * with EAFNOSUPPORT.
 */
int ktp_socket(int family);

/* The same with SOCK_NONBLOCK and SOCK_CLOEXEC allowed in @flags. */
int ktp_socket_flags(int family, int flags);

/*
 * A socket connected to @host (NULL: loopback) at @service (a port number
 * or a name from /etc/services), every address getaddrinfo() gives tried
 * in turn. @flags: SOCK_NONBLOCK (the connect may still be in progress:
 * wait for POLLOUT, then read SO_ERROR) and SOCK_CLOEXEC.
 */
int ktp_connect_host(const char *host, const char *service, int flags);

/*
 * A socket listening on @host (NULL: every local address) at @service,
 * with SO_REUSEADDR; the first of getaddrinfo()'s addresses that binds.
 */
int ktp_listen_host(const char *host, const char *service, int backlog);

/* "ESTABLISHED", "SYN_SENT", ...; NULL with EINVAL for an unknown state. */
const char *ktp_state_name(int state);

/* getsockopt(SOL_KTP, KTP_INFO); fills *info, zeroes what the kernel lacks. */
int ktp_info(int fd, struct ktp_info *info);

#ifdef __cplusplus
}
#endif

#endif /* _KTP_H */
