// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libktp: family discovery, socket creation, state names, KTP_INFO.
 *
 * ktp_family() reads the module parameter every time. ktp_socket() keeps
 * what it read, and reads again only when a socket of that family cannot
 * be had (EAFNOSUPPORT: the module reloaded with another family, or not
 * loaded then): a sysfs open and read per socket cost a program that
 * opens many connections more than the connections did. Every function
 * is safe to call from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "ktp.h"

#define KTP_FAMILY_PARAM "/sys/module/ktp/parameters/family"

int ktp_family(void)
{
	const char *path = getenv("KTP_FAMILY_FILE");
	char buf[16];
	ssize_t n;
	long val;
	char *end;
	int fd;

	fd = open(path ? path : KTP_FAMILY_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return AF_KTP;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return AF_KTP;
	buf[n] = '\0';
	val = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || val <= 0 || val > 255)
		return AF_KTP;
	return (int)val;
}

/* The family ktp_socket_flags() last read; 0 before the first read. */
static int ktp_socket_family;

int ktp_socket_flags(int family, int flags)
{
	int proto, af, now, fd;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	switch (family) {
	case AF_INET:
		proto = KTPPROTO_KTP;
		break;
	case AF_INET6:
		proto = KTPPROTO_KTP6;
		break;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
	af = __atomic_load_n(&ktp_socket_family, __ATOMIC_RELAXED);
	if (!af) {
		af = ktp_family();
		__atomic_store_n(&ktp_socket_family, af, __ATOMIC_RELAXED);
	}
	fd = socket(af, SOCK_STREAM | flags, proto);
	if (fd >= 0 || errno != EAFNOSUPPORT)
		return fd;
	now = ktp_family();
	if (now == af) {
		errno = EAFNOSUPPORT;	/* not ktp_family()'s */
		return fd;
	}
	__atomic_store_n(&ktp_socket_family, now, __ATOMIC_RELAXED);
	return socket(now, SOCK_STREAM | flags, proto);
}

int ktp_socket(int family)
{
	return ktp_socket_flags(family, 0);
}

static const char *const ktp_state_names[__KTP_STATE_MAX] = {
	[KTP_ESTABLISHED]	= "ESTABLISHED",
	[KTP_SYN_SENT]		= "SYN_SENT",
	[KTP_SYN_RECV]		= "SYN_RECEIVED",
	[KTP_FIN_WAIT1]		= "FIN_WAIT_1",
	[KTP_FIN_WAIT2]		= "FIN_WAIT_2",
	[KTP_TIME_WAIT]		= "TIME_WAIT",
	[KTP_CLOSE]		= "CLOSED",
	[KTP_CLOSE_WAIT]	= "CLOSE_WAIT",
	[KTP_LAST_ACK]		= "LAST_ACK",
	[KTP_LISTEN]		= "LISTEN",
	[KTP_CLOSING]		= "CLOSING",
};

const char *ktp_state_name(int state)
{
	if (state <= 0 || state >= __KTP_STATE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	return ktp_state_names[state];
}

int ktp_info(int fd, struct ktp_info *info)
{
	socklen_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return getsockopt(fd, SOL_KTP, KTP_INFO, info, &len);
}
