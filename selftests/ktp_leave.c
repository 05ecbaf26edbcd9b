// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_leave: leave KTP entries behind that no process holds, for the
 * unload tests of ktp_module.sh, and say what was left.
 *
 *   ktp_leave tw PORT
 *	a connection over 127.0.0.1:PORT that the client closes first: its
 *	TIME_WAIT entry stays. Prints "tw" once /proc/net/ktp shows it and
 *	nothing else of the connection (the server's LAST_ACK is over).
 *   ktp_leave synq SRV_NS CLI_NS ADDR PORT N
 *	a listener on ADDR:PORT in namespace SRV_NS, and N connects to it
 *	from CLI_NS whose SYN-ACKs do not come back (the caller drops them):
 *	N request entries. Prints "synq N" once SRV_NS's /proc/net/ktp
 *	shows them, then closes every socket.
 *   ktp_leave orphans SRV_NS CLI_NS ADDR PORT CUT
 *	three connections from CLI_NS to a listener on ADDR:PORT in SRV_NS,
 *	closed so that every socket is left an orphan that waits for its
 *	peer: the shell command CUT (run with system()) cuts the wire once
 *	the client of the first has its FIN acked. That one leaves FIN_WAIT2
 *	and LAST_ACK; the second FIN_WAIT1 on both sides; the third too,
 *	its client with 64 KiB unsent. Prints "orphans FW1 FW2 LAST_ACK",
 *	the rows of both namespaces, once all seven show.
 *   ktp_leave every SRV_NS CLI_NS ADDR PORT CUT N
 *	every state that outlives its process, with CUT dropping only what
 *	the server sends: in CLI_NS a TIME_WAIT entry over 127.0.0.1:PORT+1,
 *	FIN_WAIT2 (its FIN acked before the cut), FIN_WAIT1 twice; in
 *	SRV_NS, LAST_ACK twice, CLOSING, and N requests in SYN_RECV.
 *	Prints "every TW SYN_RECV FW1 FW2 CLOSING LAST_ACK" once they show.
 *
 * Exits 0 when the entries were seen, 1 otherwise, 2 on bad usage. Every
 * wait is bounded (5 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/ktp.h>

#define WAIT_MS	5000
#define MAX_N	64
#define ORPHANS	3

/* Say which step failed, and why, on stderr; 1 for main(). */
static int fail(const char *what)
{
	fprintf(stderr, "ktp_leave: %s: %s\n", what, strerror(errno));
	return 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int ns_enter(const char *name)
{
	char path[256];
	int fd, err;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	err = setns(fd, CLONE_NEWNET);
	close(fd);
	return err;
}

#define ANY_STATE	0

/*
 * Rows of this namespace's /proc/net/ktp whose local or remote port is
 * @port (a server's entries, or a client's), in @state or ANY_STATE.
 */
static int proc_rows(unsigned int port, unsigned int state)
{
	unsigned int lport, rport, st;
	char line[512];
	int n = 0;
	FILE *f;

	f = fopen("/proc/net/ktp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %*x:%x %*x:%x %x", &lport, &rport,
			   &st) == 3 && (lport == port || rport == port) &&
		    (state == ANY_STATE || st == state))
			n++;
	}
	fclose(f);
	return n;
}

static int wait_rows(unsigned int port, unsigned int state, int want)
{
	long long end = now_ms() + WAIT_MS;
	int n;

	do {
		n = proc_rows(port, state);
		if (n >= want)
			return n;
		sleep_ms(10);
	} while (now_ms() < end);
	return n;
}

static int ktp_socket(int flags)
{
	return socket(AF_KTP, SOCK_STREAM | flags, KTPPROTO_KTP);
}

static void set_addr(struct sockaddr_in *sin, const char *addr, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, addr, &sin->sin_addr);
}

static int listener(const char *addr, int port, int backlog)
{
	struct sockaddr_in sin;
	int one = 1, fd;

	fd = ktp_socket(0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	set_addr(&sin, addr, port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until EOF, bounded; 0 at EOF. */
static int read_eof(int fd)
{
	long long end = now_ms() + WAIT_MS;
	char buf[64];
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (now_ms() < end) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EAGAIN)
			return -1;
		sleep_ms(5);
	}
	return -1;
}

/* A TIME_WAIT entry over 127.0.0.1:@port, and nothing else of it. */
static int make_tw(int port)
{
	struct sockaddr_in sin;
	int lfd, cli, srv;
	long long end;

	lfd = listener("127.0.0.1", port, 4);
	if (lfd < 0)
		return fail("listener");
	cli = ktp_socket(0);
	if (cli < 0)
		return fail("socket");
	set_addr(&sin, "127.0.0.1", port);
	if (connect(cli, (struct sockaddr *)&sin, sizeof(sin)))
		return fail("connect");
	srv = accept(lfd, NULL, NULL);
	if (srv < 0)
		return fail("accept");
	close(lfd);
	/* the client's FIN first: it ends in TIME_WAIT */
	if (shutdown(cli, SHUT_WR) || read_eof(srv))
		return fail("server's EOF");
	close(srv);
	if (read_eof(cli))
		return fail("client's EOF");
	close(cli);
	/* the entry, and nothing else: the server's LAST_ACK is over */
	end = now_ms() + WAIT_MS;
	while (!(proc_rows(port, KTP_TIME_WAIT) == 1 &&
		 proc_rows(port, ANY_STATE) == 1)) {
		if (now_ms() > end) {
			fprintf(stderr, "ktp_leave: %d TIME_WAIT rows, %d in all\n",
				proc_rows(port, KTP_TIME_WAIT),
				proc_rows(port, ANY_STATE));
			return 1;
		}
		sleep_ms(10);
	}
	return 0;
}

static int leave_tw(int port)
{
	if (make_tw(port))
		return 1;
	printf("tw\n");
	return 0;
}

static int leave_synq(const char *srv_ns, const char *cli_ns,
		      const char *addr, int port, int n)
{
	int fds[MAX_N], lfd, i, seen;
	struct sockaddr_in sin;

	if (n < 1 || n > MAX_N)
		return 2;
	if (ns_enter(srv_ns))
		return fail(srv_ns);
	lfd = listener(addr, port, MAX_N);
	if (lfd < 0)
		return fail("listener");
	if (ns_enter(cli_ns))
		return fail(cli_ns);
	set_addr(&sin, addr, port);
	for (i = 0; i < n; i++) {
		fds[i] = ktp_socket(SOCK_NONBLOCK);
		if (fds[i] < 0)
			return fail("socket");
		connect(fds[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	if (ns_enter(srv_ns))
		return fail(srv_ns);
	seen = wait_rows(port, KTP_SYN_RECV, n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	close(lfd);
	printf("synq %d\n", seen);
	return seen == n ? 0 : 1;
}

/* Rows in @state for @port in namespaces @a and @b; enters @b. */
static int rows_both(const char *a, const char *b, int port, int state)
{
	int n;

	if (ns_enter(a))
		return -1;
	n = proc_rows(port, state);
	if (ns_enter(b))
		return -1;
	return n + proc_rows(port, state);
}

/*
 * ORPHANS connections from @cli_ns to a listener on @addr:@port in
 * @srv_ns with @backlog: their ends in @cli and @srv. Return: the
 * listener, in @cli_ns, or -1.
 */
static int open_pairs(const char *srv_ns, const char *cli_ns,
		      const char *addr, int port, int backlog, int *cli,
		      int *srv)
{
	const char *what = srv_ns;
	struct sockaddr_in sin;
	int lfd = -1, i;

	if (ns_enter(srv_ns))
		goto err;
	what = "listener";
	lfd = listener(addr, port, backlog);
	if (lfd < 0)
		goto err;
	what = cli_ns;
	if (ns_enter(cli_ns))
		goto err;
	set_addr(&sin, addr, port);
	for (i = 0; i < ORPHANS; i++) {
		what = "connect";
		cli[i] = ktp_socket(0);
		if (cli[i] < 0 ||
		    connect(cli[i], (struct sockaddr *)&sin, sizeof(sin)))
			goto err;
		what = "accept";
		srv[i] = accept(lfd, NULL, NULL);
		if (srv[i] < 0)
			goto err;
	}
	return lfd;
err:
	fail(what);
	return -1;
}

static int leave_orphans(const char *srv_ns, const char *cli_ns,
			 const char *addr, int port, const char *cut)
{
	int cli[ORPHANS], srv[ORPHANS], lfd, fw1, fw2, lack;
	static char data[65536];
	long long end;

	lfd = open_pairs(srv_ns, cli_ns, addr, port, ORPHANS, cli, srv);
	if (lfd < 0)
		return 1;
	close(lfd);
	/* the first: the client's FIN is acked before the cut */
	close(cli[0]);
	if (read_eof(srv[0]))
		return fail("server's EOF");
	if (wait_rows(port, KTP_FIN_WAIT2, 1) != 1)
		return fail("FIN_WAIT2");
	if (system(cut))
		return fail("cutting the wire");
	close(srv[0]);
	close(cli[1]);
	close(srv[1]);
	fcntl(cli[2], F_SETFL, O_NONBLOCK);
	if (send(cli[2], data, sizeof(data), 0) <= 0)
		return fail("send");
	close(cli[2]);
	close(srv[2]);

	end = now_ms() + WAIT_MS;
	do {
		fw1 = rows_both(srv_ns, cli_ns, port, KTP_FIN_WAIT1);
		fw2 = rows_both(srv_ns, cli_ns, port, KTP_FIN_WAIT2);
		lack = rows_both(srv_ns, cli_ns, port, KTP_LAST_ACK);
		if (fw1 == 4 && fw2 == 1 && lack == 1)
			break;
		sleep_ms(10);
	} while (now_ms() < end);
	printf("orphans %d %d %d\n", fw1, fw2, lack);
	return fw1 == 4 && fw2 == 1 && lack == 1 ? 0 : 1;
}

/* The states of leave_every(), and how many of each it leaves. */
static const struct {
	unsigned int state;
	int want;
} every[] = {
	{ KTP_TIME_WAIT, 1 },
	{ KTP_SYN_RECV, 0 },	/* N, from the command line */
	{ KTP_FIN_WAIT1, 2 },
	{ KTP_FIN_WAIT2, 1 },
	{ KTP_CLOSING, 1 },
	{ KTP_LAST_ACK, 2 },
};

#define N_EVERY	(sizeof(every) / sizeof(every[0]))

static int leave_every(const char *srv_ns, const char *cli_ns,
		       const char *addr, int port, const char *cut, int n)
{
	int cli[ORPHANS], srv[ORPHANS], syn[MAX_N], got[N_EVERY];
	int lfd, i, done;
	struct sockaddr_in sin;
	long long end;

	if (n < 1 || n > MAX_N)
		return 2;
	if (ns_enter(cli_ns))
		return fail(cli_ns);
	if (make_tw(port + 1))
		return 1;
	lfd = open_pairs(srv_ns, cli_ns, addr, port, MAX_N, cli, srv);
	if (lfd < 0)
		return 1;
	set_addr(&sin, addr, port);
	/* FIN_WAIT2: the client's FIN is acked before the cut */
	close(cli[0]);
	if (read_eof(srv[0]))
		return fail("server's EOF");
	if (wait_rows(port, KTP_FIN_WAIT2, 1) != 1)
		return fail("FIN_WAIT2");
	if (system(cut))
		return fail("cutting the wire");
	/* LAST_ACK: the server's FIN is lost */
	close(srv[0]);
	/* FIN_WAIT1 and LAST_ACK: the client's FIN arrives, no ACK does */
	close(cli[1]);
	if (read_eof(srv[1]))
		return fail("server's second EOF");
	close(srv[1]);
	/* CLOSING and FIN_WAIT1: the FINs cross, only the client's arrives */
	close(srv[2]);
	close(cli[2]);
	/* requests whose SYN-ACKs are lost */
	for (i = 0; i < n; i++) {
		syn[i] = ktp_socket(SOCK_NONBLOCK);
		if (syn[i] < 0)
			return fail("socket");
		connect(syn[i], (struct sockaddr *)&sin, sizeof(sin));
	}

	end = now_ms() + WAIT_MS;
	do {
		done = 1;
		for (i = 0; i < (int)N_EVERY; i++) {
			int p = every[i].state == KTP_TIME_WAIT ? port + 1 :
								  port;
			int want = every[i].state == KTP_SYN_RECV ? n :
								    every[i].want;

			got[i] = rows_both(srv_ns, cli_ns, p, every[i].state);
			done &= got[i] == want;
		}
		if (done)
			break;
		sleep_ms(10);
	} while (now_ms() < end);
	for (i = 0; i < n; i++)
		close(syn[i]);
	close(lfd);
	printf("every");
	for (i = 0; i < (int)N_EVERY; i++)
		printf(" %d", got[i]);
	printf("\n");
	return done ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "tw"))
		return leave_tw(atoi(argv[2]));
	if (argc == 7 && !strcmp(argv[1], "synq"))
		return leave_synq(argv[2], argv[3], argv[4], atoi(argv[5]),
				  atoi(argv[6]));
	if (argc == 7 && !strcmp(argv[1], "orphans"))
		return leave_orphans(argv[2], argv[3], argv[4], atoi(argv[5]),
				     argv[6]);
	if (argc == 8 && !strcmp(argv[1], "every"))
		return leave_every(argv[2], argv[3], argv[4], atoi(argv[5]),
				   argv[6], atoi(argv[7]));
	fprintf(stderr, "usage: ktp_leave tw PORT | "
		"ktp_leave synq SRV_NS CLI_NS ADDR PORT N | "
		"ktp_leave orphans SRV_NS CLI_NS ADDR PORT CUT | "
		"ktp_leave every SRV_NS CLI_NS ADDR PORT CUT N\n");
	return 2;
}
