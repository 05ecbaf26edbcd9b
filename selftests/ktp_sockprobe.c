// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_sockprobe: try socket() once and say what happened, for the shell
 * selftests.
 *
 *   ktp_sockprobe [-f family] [-t type] [-p protocol]
 *
 * Prints "ok" or the errno name (EAFNOSUPPORT, ...) and exits 0 on
 * success, 1 on failure, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ktp.h>

static const char *errno_name(int err)
{
	switch (err) {
	case EAFNOSUPPORT:	return "EAFNOSUPPORT";
	case EPROTONOSUPPORT:	return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT:	return "ESOCKTNOSUPPORT";
	case EINVAL:		return "EINVAL";
	case ENOBUFS:		return "ENOBUFS";
	case ENOMEM:		return "ENOMEM";
	case EPERM:		return "EPERM";
	case EACCES:		return "EACCES";
	}
	return strerror(err);
}

int main(int argc, char **argv)
{
	int family = AF_KTP, type = SOCK_STREAM, proto = KTPPROTO_KTP;
	int opt, fd;

	while ((opt = getopt(argc, argv, "f:t:p:")) != -1) {
		switch (opt) {
		case 'f':
			family = atoi(optarg);
			break;
		case 't':
			type = atoi(optarg);
			break;
		case 'p':
			proto = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-f family] [-t type] [-p proto]\n",
				argv[0]);
			return 2;
		}
	}
	fd = socket(family, type, proto);
	if (fd < 0) {
		printf("%s\n", errno_name(errno));
		return 1;
	}
	printf("ok\n");
	close(fd);
	return 0;
}
