// SPDX-License-Identifier: GPL-2.0
/*
 * ktpviz_scenes: the connections behind ktpviz's test captures that
 * ktpdemo and ktpcat cannot play, over KTP on 127.0.0.1. Run in the test
 * VM by ktpviz_fixtures.sh, which puts the delay on the loopback that
 * makes the segments cross.
 *
 *   ktpviz_scenes simopen PORT_A PORT_B   both sides connect() to each
 *                                         other: crossing SYNs (RFC 9293
 *                                         figure 8), then A closes first
 *   ktpviz_scenes simclose PORT           both sides shut down at once:
 *                                         crossing FINs (figure 13)
 *   ktpviz_scenes abort PORT              the client sends a byte, then
 *                                         closes with SO_LINGER {1, 0}: RST
 *
 * Exit status 0 when every step did what it should.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktp.h"

static int fail(const char *what)
{
	fprintf(stderr, "ktpviz_scenes: %s: %s\n", what, strerror(errno));
	return 1;
}

static struct sockaddr_in lo_addr(int port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return a;
}

static int bound(int port, int flags)
{
	struct sockaddr_in a = lo_addr(port);
	int fd = ktp_socket_flags(AF_INET, flags);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	return fd;
}

static int wait_for(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1 && (p.revents & events) ? 0 : -1;
}

/* Read until EOF, at most 5 s. */
static int drain(int fd)
{
	char buf[256];
	ssize_t n;

	do {
		if (wait_for(fd, POLLIN, 5000))
			return -1;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	} while (n > 0);
	return n;
}

static int simopen(int pa, int pb)
{
	struct sockaddr_in to_a = lo_addr(pa), to_b = lo_addr(pb);
	int a = bound(pa, SOCK_NONBLOCK), b = bound(pb, SOCK_NONBLOCK);
	char c;

	if (a < 0 || b < 0)
		return fail("socket/bind");
	if (!connect(a, (struct sockaddr *)&to_b, sizeof(to_b)) ||
	    errno != EINPROGRESS)
		return fail("connect a");
	if (!connect(b, (struct sockaddr *)&to_a, sizeof(to_a)) ||
	    errno != EINPROGRESS)
		return fail("connect b");
	if (wait_for(a, POLLOUT, 5000) || wait_for(b, POLLOUT, 5000))
		return fail("crossing SYNs");
	if (send(a, "a", 1, 0) != 1 || wait_for(b, POLLIN, 5000) ||
	    recv(b, &c, 1, 0) != 1)
		return fail("data a to b");
	close(a);
	if (drain(b))
		return fail("EOF at b");
	close(b);
	return 0;
}

/* A connection to a listener on @port, and its accepted end. */
static int pair(int port, int *c, int *s)
{
	struct sockaddr_in to = lo_addr(port);
	int l = bound(port, 0);

	if (l < 0 || listen(l, 4))
		return fail("listen");
	*c = ktp_socket(AF_INET);
	if (*c < 0 || connect(*c, (struct sockaddr *)&to, sizeof(to)))
		return fail("connect");
	*s = accept(l, NULL, NULL);
	if (*s < 0)
		return fail("accept");
	close(l);
	return 0;
}

static int simclose(int port)
{
	int c, s;

	if (pair(port, &c, &s))
		return 1;
	/* Both FINs leave before either arrives: the delay is 400 ms. */
	if (shutdown(c, SHUT_WR) || shutdown(s, SHUT_WR))
		return fail("shutdown");
	if (drain(c) || drain(s))
		return fail("EOF");
	close(c);
	close(s);
	return 0;
}

static int abort_close(int port)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int c, s;
	char ch;

	if (pair(port, &c, &s))
		return 1;
	if (send(c, "x", 1, 0) != 1 || recv(s, &ch, 1, 0) != 1)
		return fail("data");
	if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		return fail("SO_LINGER");
	close(c);
	/* The server reads the reset as ECONNRESET. */
	if (recv(s, &ch, 1, 0) != -1 || errno != ECONNRESET)
		return fail("expected ECONNRESET");
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "simopen"))
		return simopen(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "simclose"))
		return simclose(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "abort"))
		return abort_close(atoi(argv[2]));
	fprintf(stderr, "usage: %s simopen PORT_A PORT_B | simclose PORT | abort PORT\n",
		argv[0]);
	return 2;
}
