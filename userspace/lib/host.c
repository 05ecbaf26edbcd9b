// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libktp: connect to or listen on a host and service by name.
 *
 * getaddrinfo() gives the candidates; each is tried in the order it
 * returns them (RFC 6724's, from /etc/gai.conf), and the first that works
 * wins. A family the module does not serve (KTPPROTO_KTP6 before KTP
 * speaks IPv6: EPROTONOSUPPORT) is just another failed candidate.
 *
 * getaddrinfo()'s EAI_* codes are not errno values; they are mapped as
 * ktp_connect_host(3) documents, so that callers can use perror().
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "ktp.h"

#define KTP_SOCK_FLAGS	(SOCK_NONBLOCK | SOCK_CLOEXEC)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	int eai;
	int err;
} ktp_gai_errnos[] = {
	{ EAI_NONAME,		ENOENT },	/* no such host */
	{ EAI_NODATA,		ENOENT },	/* no address */
	{ EAI_ADDRFAMILY,	ENOENT },
	{ EAI_SERVICE,		ENOENT },	/* no such service */
	{ EAI_AGAIN,		EAGAIN },	/* try again later */
	{ EAI_MEMORY,		ENOMEM },
	{ EAI_FAMILY,		EAFNOSUPPORT },
	{ EAI_SOCKTYPE,		ESOCKTNOSUPPORT },
	{ EAI_BADFLAGS,		EINVAL },
};

/* errno for an EAI_* code; EIO for EAI_FAIL and codes unknown here. */
static void ktp_set_gai_errno(int eai)
{
	size_t i;

	if (eai == EAI_SYSTEM)
		return;		/* errno says it already */
	for (i = 0; i < ARRAY_SIZE(ktp_gai_errnos); i++) {
		if (ktp_gai_errnos[i].eai == eai) {
			errno = ktp_gai_errnos[i].err;
			return;
		}
	}
	errno = EIO;
}

/* A numeric service must be a port number: glibc wraps 65536 to 0. */
static bool ktp_bad_port(const char *service)
{
	unsigned long port;
	char *end;

	if (!*service)
		return true;
	if (strspn(service, "0123456789") != strlen(service))
		return false;
	port = strtoul(service, &end, 10);
	return port > 65535;
}

static int ktp_resolve(const char *host, const char *service, int passive,
		       struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = passive ? AI_PASSIVE : 0,
	};
	int eai;

	if (!service || ktp_bad_port(service)) {
		errno = EINVAL;
		return -1;
	}
	eai = getaddrinfo(host, service, &hints, res);
	if (eai) {
		ktp_set_gai_errno(eai);
		return -1;
	}
	return 0;
}

/*
 * One candidate: 0 and *fd set, or -1 with errno. *opened says whether a
 * socket was made, so that the caller can prefer the error of a real
 * attempt to "this family is not served".
 */
static int ktp_try(const struct addrinfo *ai, int flags, int backlog,
		   int *fd, bool *opened)
{
	int one = 1, s, err;

	*opened = false;
	s = ktp_socket_flags(ai->ai_family, flags);
	if (s < 0)
		return -1;
	*opened = true;
	if (backlog < 0) {
		if (!connect(s, ai->ai_addr, ai->ai_addrlen) ||
		    errno == EINPROGRESS)
			goto done;
	} else if (!setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) &&
		   !bind(s, ai->ai_addr, ai->ai_addrlen) &&
		   !listen(s, backlog)) {
		goto done;
	}
	err = errno;
	close(s);
	errno = err;
	return -1;
done:
	*fd = s;
	return 0;
}

/* backlog < 0: connect; else listen. */
static int ktp_host(const char *host, const char *service, int flags,
		    int backlog)
{
	struct addrinfo *res, *ai;
	int fd = -1, err = EAFNOSUPPORT;
	bool opened, any = false;

	if (flags & ~KTP_SOCK_FLAGS) {
		errno = EINVAL;
		return -1;
	}
	if (ktp_resolve(host, service, backlog >= 0, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		if (!ktp_try(ai, flags, backlog, &fd, &opened))
			break;
		if (opened || !any)
			err = errno;
		any |= opened;
		/* a signal is the caller's to handle, now */
		if (errno == EINTR)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		errno = err;
	return fd;
}

int ktp_connect_host(const char *host, const char *service, int flags)
{
	return ktp_host(host, service, flags, -1);
}

int ktp_listen_host(const char *host, const char *service, int backlog)
{
	if (backlog < 0) {
		errno = EINVAL;
		return -1;
	}
	return ktp_host(host, service, 0, backlog);
}
