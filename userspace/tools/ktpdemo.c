// SPDX-License-Identifier: GPL-2.0
/*
 * ktpdemo: the two scenes of `make demo`, as a server and a client in two
 * processes over KTP on 127.0.0.1.
 *
 *   ktpdemo greeting PORT   connect, exchange a greeting, close (client
 *                           first): the classic lifecycle
 *   ktpdemo halfclose PORT  the client shuts down its sending side, and
 *                           keeps receiving what the server still sends
 *
 * Prints what each side does and, on stdout's last line, the client's
 * local port ("client-port N") so the caller can pick its trace events.
 * Exits 0 when every step did what it should, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktp.h"

#define TIMEOUT_SEC	10

static int fail(const char *who, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", who, what, strerror(errno));
	return 1;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_SEC };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static const char *state_of(int fd)
{
	struct ktp_info info;
	const char *name;

	if (ktp_info(fd, &info))
		return "?";
	name = ktp_state_name(info.ktpi_state);
	return name ? name : "?";
}

static int send_str(int fd, const char *s)
{
	size_t len = strlen(s);

	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static ssize_t recv_str(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* Accept one connection and play the server's part of @scene. */
static int server(int lfd, const char *scene)
{
	char buf[128];
	ssize_t n;
	int fd;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("server", "accept");
	set_timeouts(fd);
	printf("server: accepted, state %s\n", state_of(fd));

	if (!strcmp(scene, "greeting")) {
		n = recv_str(fd, buf, sizeof(buf));
		if (n <= 0)
			return fail("server", "recv greeting");
		printf("server: received \"%s\"\n", buf);
		if (send_str(fd, "hello, client"))
			return fail("server", "send");
		n = recv_str(fd, buf, sizeof(buf));
		if (n != 0)
			return fail("server", "expected EOF");
		printf("server: EOF from the client, state %s\n", state_of(fd));
	} else {
		n = recv_str(fd, buf, sizeof(buf));
		if (n != 0)
			return fail("server", "expected EOF");
		printf("server: EOF from the client (it sent FIN), state %s\n",
		       state_of(fd));
		if (send_str(fd, "still here after your FIN"))
			return fail("server", "send after FIN");
		printf("server: sent more data to the half-closed client\n");
	}
	close(fd);
	printf("server: closed\n");
	return 0;
}

static int client_greeting(int fd)
{
	char buf[128];

	if (send_str(fd, "hello, server"))
		return fail("client", "send");
	if (recv_str(fd, buf, sizeof(buf)) <= 0)
		return fail("client", "recv");
	printf("client: received \"%s\"\n", buf);
	printf("client: closing first\n");
	return 0;
}

static int client_halfclose(int fd)
{
	char buf[128];

	if (shutdown(fd, SHUT_WR))
		return fail("client", "shutdown");
	printf("client: shutdown(SHUT_WR): FIN sent, state %s\n",
	       state_of(fd));
	if (recv_str(fd, buf, sizeof(buf)) <= 0)
		return fail("client", "recv after own FIN");
	printf("client: still receiving: \"%s\" (state %s)\n", buf,
	       state_of(fd));
	if (recv_str(fd, buf, sizeof(buf)) != 0)
		return fail("client", "expected EOF");
	printf("client: EOF from the server\n");
	return 0;
}

static int client(int port, const char *scene, unsigned short *cport)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(addr);
	int fd, err;

	fd = ktp_socket(AF_INET);
	if (fd < 0)
		return fail("client", "socket");
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return fail("client", "connect");
	getsockname(fd, (struct sockaddr *)&addr, &len);
	*cport = ntohs(addr.sin_port);
	printf("client: connected from port %u, state %s\n", *cport,
	       state_of(fd));

	if (!strcmp(scene, "greeting"))
		err = client_greeting(fd);
	else
		err = client_halfclose(fd);
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	unsigned short cport = 0;
	int lfd, port, status, err;
	pid_t pid;

	if (argc != 3 || (strcmp(argv[1], "greeting") &&
			  strcmp(argv[1], "halfclose"))) {
		fprintf(stderr, "usage: %s greeting|halfclose PORT\n", argv[0]);
		return 2;
	}
	port = atoi(argv[2]);
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	alarm(3 * TIMEOUT_SEC);

	lfd = ktp_socket(AF_INET);
	if (lfd < 0)
		return fail("server", "socket");
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 8))
		return fail("server", "bind/listen");
	set_timeouts(lfd);
	printf("server: listening on port %d, state %s\n", port,
	       state_of(lfd));
	fflush(stdout);

	pid = fork();
	if (pid < 0)
		return fail("demo", "fork");
	if (!pid) {
		close(lfd);
		status = client(port, argv[1], &cport);
		printf("client-port %u\n", cport);
		return status;
	}
	err = server(lfd, argv[1]);
	fflush(stdout);
	close(lfd);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 1;
	return err || WEXITSTATUS(status);
}
