// SPDX-License-Identifier: GPL-2.0
/*
 * ktpcat: netcat for KTP.
 *
 *   ktpcat [-v] [-w SECONDS] HOST PORT             connect
 *   ktpcat -l [-v] [-w SECONDS] [HOST] PORT        listen, serve one peer
 *   ktpcat -l [-v] [-w SECONDS] -p PORT [HOST]
 *
 * Standard input goes to the socket and the socket to standard output.
 * At the end of standard input ktpcat shuts its side down (SHUT_WR: the
 * FIN) and keeps reading until the peer's FIN, at which it closes
 * standard output, so that a program reading it sees the end too; it
 * exits when both directions are done.
 *
 * Exit status: 0 both directions done, 1 no connection (unknown host,
 * refused, address in use), 2 usage, 3 the connection broke (reset, an
 * I/O error), 4 the -w time-out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktp.h"

enum {
	EXIT_NOCONN = 1,
	EXIT_USAGE = 2,
	EXIT_BROKEN = 3,
	EXIT_TIMEOUT = 4,
};

#define BUF_SIZE	(64 * 1024)
#define MAX_PATH	32		/* states remembered for -v */

static struct {
	int listen;
	int verbose;
	int timeout_ms;		/* -w, -1: none */
	const char *host;
	const char *port;
} opt = {
	.timeout_ms = -1,
};

/*
 * The states a connection went through, as KTP_INFO showed them at each
 * step: a transition and its undoing between two looks are not seen, and
 * a connection that moved to a TIME_WAIT entry leaves its socket CLOSED.
 */
struct path {
	int state[MAX_PATH];
	int n;
};

static void path_note(struct path *p, int fd)
{
	struct ktp_info info;

	if (ktp_info(fd, &info) || !info.ktpi_state)
		return;
	if (p->n && p->state[p->n - 1] == info.ktpi_state)
		return;
	if (p->n < MAX_PATH)
		p->state[p->n++] = info.ktpi_state;
}

static void path_print(const struct path *p)
{
	int i;

	if (!opt.verbose || !p->n)
		return;
	fprintf(stderr, "ktpcat: states:");
	for (i = 0; i < p->n; i++)
		fprintf(stderr, "%s %s", i ? " ->" : "",
			ktp_state_name(p->state[i]));
	fputc('\n', stderr);
}

static void verbose_addr(const char *what, int fd, int peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;
	int err;

	if (!opt.verbose)
		return;
	err = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		     getsockname(fd, (struct sockaddr *)&ss, &len);
	if (!err && ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (!err && ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	fprintf(stderr, "ktpcat: %s %s port %u\n", what, host, port);
}

static int fail(int code, const char *what)
{
	fprintf(stderr, "ktpcat: %s: %s\n", what, strerror(errno));
	return code;
}

/* Wait for @events on @fd within -w: 0 ready, EXIT_TIMEOUT, or -1. */
static int wait_for(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, opt.timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return n ? 0 : EXIT_TIMEOUT;
}

/* A connected socket in *fd, or the exit status. */
static int do_connect(struct path *path, int *fd)
{
	socklen_t len = sizeof(int);
	int err = 0, ret;

	*fd = ktp_connect_host(opt.host, opt.port,
			       SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*fd < 0)
		return fail(EXIT_NOCONN, "connect");
	path_note(path, *fd);
	ret = wait_for(*fd, POLLOUT);
	if (ret == EXIT_TIMEOUT) {
		fprintf(stderr, "ktpcat: connect: timed out\n");
		return ret;
	}
	if (ret || getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return fail(EXIT_NOCONN, "connect");
	if (err) {
		errno = err;
		return fail(EXIT_NOCONN, "connect");
	}
	path_note(path, *fd);
	verbose_addr("connected to", *fd, 1);
	return 0;
}

/* Listen, accept one peer into *fd and stop listening; or exit status. */
static int do_accept(struct path *path, int *fd)
{
	int lfd, ret;

	lfd = ktp_listen_host(opt.host, opt.port, 1);
	if (lfd < 0)
		return fail(EXIT_NOCONN, "listen");
	path_note(path, lfd);
	verbose_addr("listening on", lfd, 0);
	ret = wait_for(lfd, POLLIN);
	if (ret == EXIT_TIMEOUT)
		fprintf(stderr, "ktpcat: accept: timed out\n");
	else if (ret)
		ret = fail(EXIT_NOCONN, "accept");
	if (!ret) {
		*fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (*fd < 0)
			ret = fail(EXIT_NOCONN, "accept");
	}
	close(lfd);
	if (ret)
		return ret;
	path_note(path, *fd);
	verbose_addr("connection from", *fd, 1);
	return 0;
}

/* Write all of @len to a blocking @fd; 0 or -1. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

struct pump {
	char up[BUF_SIZE];	/* stdin to the socket, not yet sent */
	size_t up_off, up_len;
	char down[BUF_SIZE];
	unsigned long long sent, received;
	int in_eof;		/* standard input ended */
	int shut;		/* our FIN is queued */
	int peer_eof;		/* the peer's FIN arrived */
};

/* One step of stdin -> socket; 0, or an exit status. */
static int pump_up(struct pump *p, int fd, short sock_revents,
		   short in_revents)
{
	ssize_t n;

	if (!p->up_len && (in_revents & (POLLIN | POLLHUP))) {
		n = read(STDIN_FILENO, p->up, sizeof(p->up));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return fail(EXIT_BROKEN, "read from standard input");
		if (!n)
			p->in_eof = 1;
		if (n > 0) {
			p->up_off = 0;
			p->up_len = n;
		}
	}
	if (p->up_len && (sock_revents & POLLOUT)) {
		n = send(fd, p->up + p->up_off, p->up_len, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return fail(EXIT_BROKEN, "send");
		if (n > 0) {
			p->up_off += n;
			p->up_len -= n;
			p->sent += n;
		}
	}
	if (p->in_eof && !p->up_len && !p->shut) {
		if (shutdown(fd, SHUT_WR))
			return fail(EXIT_BROKEN, "shutdown");
		p->shut = 1;
	}
	return 0;
}

/* One step of socket -> stdout; 0, or an exit status. */
static int pump_down(struct pump *p, int fd, short revents)
{
	ssize_t n;

	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = recv(fd, p->down, sizeof(p->down), 0);
	if (n < 0 && errno != EINTR && errno != EAGAIN)
		return fail(EXIT_BROKEN, "recv");
	if (!n) {
		/* let a reader of our output see the end now, as the FIN */
		p->peer_eof = 1;
		if (close(STDOUT_FILENO))
			return fail(EXIT_BROKEN, "close standard output");
	}
	if (n > 0) {
		if (write_all(STDOUT_FILENO, p->down, n))
			return fail(EXIT_BROKEN, "write to standard output");
		p->received += n;
	}
	return 0;
}

static int transfer(int fd, struct path *path)
{
	static struct pump p;
	struct pollfd pfd[2];
	int n, ret = 0;

	pfd[1].fd = fd;
	while (!ret && !(p.shut && p.peer_eof)) {
		/* a closed pipe is POLLHUP at once: leave stdin out then */
		pfd[0].fd = p.in_eof || p.up_len ? -1 : STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].events = (p.peer_eof ? 0 : POLLIN) |
				(p.up_len ? POLLOUT : 0);
		pfd[0].revents = 0;
		pfd[1].revents = 0;
		n = poll(pfd, 2, opt.timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(EXIT_BROKEN, "poll");
		if (!n) {
			fprintf(stderr, "ktpcat: idle for -w, giving up\n");
			return EXIT_TIMEOUT;
		}
		ret = pump_down(&p, fd, pfd[1].revents);
		if (!ret)
			ret = pump_up(&p, fd, pfd[1].revents, pfd[0].revents);
		path_note(path, fd);
	}
	if (opt.verbose)
		fprintf(stderr, "ktpcat: %llu bytes sent, %llu received\n",
			p.sent, p.received);
	return ret;
}

static void print_usage(FILE *f)
{
	fprintf(f,
"usage: ktpcat [-v] [-w SECONDS] HOST PORT\n"
"       ktpcat -l [-v] [-w SECONDS] [HOST] PORT\n"
"       ktpcat -l [-v] [-w SECONDS] -p PORT [HOST]\n"
"\n"
"Connect to a KTP listener, or listen for one KTP connection, and copy\n"
"standard input to it and what it sends to standard output. At the end\n"
"of standard input, send FIN and keep reading until the peer's FIN;\n"
"close standard output then, and exit when both directions are done.\n"
"\n"
"  -l          listen on HOST (default: all addresses) for one peer\n"
"  -p PORT     the port to listen on (with -l)\n"
"  -v          say what happens on standard error, and at the end the\n"
"              states KTP_INFO showed along the way\n"
"  -w SECONDS  give up connecting, accepting, or when idle this long\n"
"  -h, --help  this text\n"
"\n"
"exit: 0 both directions done, 1 no connection, 2 usage,\n"
"      3 the connection broke, 4 -w time-out\n");
}

/* Options into opt; 0, or EXIT_USAGE, or -1 for --help. */
static int parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port = NULL;
	char *end;
	double w;
	int c;

	while ((c = getopt_long(argc, argv, "lp:vw:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			opt.listen = 1;
			break;
		case 'p':
			port = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'w':
			w = strtod(optarg, &end);
			if (*end || w <= 0 || w > 86400)
				return EXIT_USAGE;
			opt.timeout_ms = (int)(w * 1000);
			break;
		case 'h':
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (port && (!opt.listen || argc > 1))
		return EXIT_USAGE;
	if (port) {
		opt.port = port;
		opt.host = argc ? argv[0] : NULL;
		return 0;
	}
	if (argc < 1 + !opt.listen || argc > 2)
		return EXIT_USAGE;
	opt.host = argc == 2 ? argv[0] : NULL;
	opt.port = argv[argc - 1];
	return 0;
}

int main(int argc, char **argv)
{
	struct path path = { .n = 0 };
	int fd = -1, ret;

	ret = parse(argc, argv);
	if (ret < 0) {
		print_usage(stdout);
		return 0;
	}
	if (ret) {
		print_usage(stderr);
		return ret;
	}
	signal(SIGPIPE, SIG_IGN);
	ret = opt.listen ? do_accept(&path, &fd) : do_connect(&path, &fd);
	if (!ret)
		ret = transfer(fd, &path);
	if (fd >= 0)
		path_note(&path, fd);
	path_print(&path);
	if (fd >= 0)
		close(fd);
	return ret;
}
