// SPDX-License-Identifier: GPL-2.0
/*
 * ktpperf: an iperf-style benchmark for KTP, and for Linux TCP with the
 * same code paths, so that the two can be compared in one run.
 *
 *   ktpperf -s [-p PORT] [-B ADDR] [-t SECONDS] [--json]
 *   ktpperf -c ADDR [-p PORT] [-t SECONDS | -n COUNT] [-P STREAMS]
 *           [--mode bulk|rr|crr|cc] [-R | --bidir] [--size N] [--tcp]
 *           [--json] [--progress] [--timeout SECONDS]
 *   ktpperf -c ADDR [-p PORT] --mode idle [-n CONNS] [-t SECONDS] [--tcp]
 *           [--json] [--timeout SECONDS]
 *   ktpperf -c ADDR [-p PORT] --mode accept [-n CONNS] [-P THREADS]
 *           [--tcp] [--json] [--progress] [--timeout SECONDS]
 *
 * The server listens on KTP and TCP at once, on the same port number, and
 * serves each connection in a thread of its own. A connection starts with
 * a 24-byte header that names the mode:
 *
 *   bulk  forward: the client sends for -t seconds (or -n bytes), shuts
 *         down its side, and the server answers with the byte count it
 *         received. Reverse (-R): the server sends, shuts down, and the
 *         client answers with the count it received.
 *         --bidir runs -P streams each way at once.
 *   rr    request/response: --size bytes (default 1) each way, one
 *         transaction at a time, for -t seconds (or -n transactions)
 *   crr   connect, one request/response, close; as often as it can
 *   cc    connect and close, no data: the connection rate
 *
 * Two modes need no server: ktpperf is both ends, with a listener of its
 * own on ADDR:PORT (a local address, loopback for a start).
 *
 *   idle    kernel memory of an idle connection: -n pairs (default 1000)
 *           opened and left alone for -t seconds (default 1), /proc/meminfo
 *           read before and after; see idle_run()
 *   accept  accept rate: -n connects (default 10000) from -P threads, all
 *           held open, one thread accepting; connections accepted a second
 *
 * -P runs that many connections at once; -n counts for each of them.
 * Output: a table, or with --json one JSON object per run; the server
 * prints a line (or object) per bulk connection. A progress line goes to
 * standard error each second when it is a terminal, or with --progress.
 * Exit status: 0 done, 1 the run failed (connection, short count), 2
 * usage, 3 the time bound hit. Every socket has 10 s send and receive
 * time-outs, and the client a hard bound (--timeout, default -t + 30 s).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ktp.h"

#define DEFAULT_PORT	5301
#define MAGIC		0x4b545046	/* "KTPF" */
#define VERSION		2
#define IO_TIMEOUT	10		/* seconds, each socket call */
#define BULK_BUF	(128 * 1024)
#define MAX_SIZE	(1024 * 1024)
#define MAX_SAMPLES	(16 * 1024 * 1024)
#define MAX_STREAMS	128
#define IDLE_CONNS	1000		/* idle: default pairs a batch */
#define ACCEPT_CONNS	10000		/* accept: default connects */
#define MAX_CONNS	(1 << 20)

enum { EXIT_RUN = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };
enum {
	MODE_BULK = 1, MODE_RR, MODE_CRR, MODE_CC,
	MODE_IDLE, MODE_ACCEPT,		/* both ends here, no server */
	__MODE_MAX
};
/* Which way a bulk stream's data goes. */
enum { DIR_FORWARD, DIR_REVERSE, DIR_BIDIR };

struct header {
	uint32_t magic;
	uint8_t version;
	uint8_t mode;
	uint8_t dir;		/* DIR_FORWARD or DIR_REVERSE */
	uint8_t reserved;
	uint32_t size;		/* rr/crr message size */
	uint32_t msecs;		/* reverse: how long the server sends */
	uint64_t count;		/* reverse: bytes to send, 0 by time */
};

/* A byte count and how long it took, big-endian on the wire. */
struct bulk_result {
	uint64_t bytes;
	uint64_t usecs;
};

static struct {
	int server;
	const char *host;
	const char *bind_addr;
	int port;
	double seconds;
	uint64_t count;		/* bytes (bulk) or transactions */
	int mode;
	int dir;
	int streams;
	uint32_t size;
	int tcp;
	int json;
	int progress;
	int time_bound;
} opt = {
	.port = DEFAULT_PORT,
	.seconds = 10,
	.mode = MODE_BULK,
	.dir = DIR_FORWARD,
	.streams = 1,
	.size = 1,
};

static const char *const mode_names[__MODE_MAX] = {
	[MODE_BULK] = "bulk", [MODE_RR] = "rr", [MODE_CRR] = "crr",
	[MODE_CC] = "cc", [MODE_IDLE] = "idle", [MODE_ACCEPT] = "accept",
};

static const char *const dir_names[] = {
	[DIR_FORWARD] = "forward", [DIR_REVERSE] = "reverse",
	[DIR_BIDIR] = "bidir",
};

static void on_alarm(int sig)
{
	static const char msg[] = "ktpperf: time bound reached\n";

	(void)sig;
	if (opt.server)
		_exit(0);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(EXIT_TIMEOUT);
	_exit(EXIT_TIMEOUT);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_io_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void set_nodelay(int fd, int tcp)
{
	int one = 1;

	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	else
		setsockopt(fd, SOL_KTP, KTP_NODELAY, &one, sizeof(one));
}

static int new_socket(int tcp)
{
	if (tcp)
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return ktp_socket_flags(AF_INET, SOCK_CLOEXEC);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Read exactly @len bytes: 1 done, 0 EOF before any byte, -1 error. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!n) {
			if (!got)
				return 0;
			errno = EPIPE;
			return -1;
		}
		got += n;
	}
	return 1;
}

/*
 * Receive until EOF, counting into *@bytes (read by the progress line);
 * 0 or -1.
 */
static int drain(int fd, char *buf, _Atomic uint64_t *bytes)
{
	ssize_t n;

	while ((n = recv(fd, buf, BULK_BUF, 0)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		atomic_fetch_add_explicit(bytes, n, memory_order_relaxed);
	}
	return 0;
}

/*
 * Send for @secs or @count bytes (when not 0), counting into *@bytes,
 * then shut down the sending side; 0 or -1.
 */
static int pour(int fd, char *buf, double secs, uint64_t count,
		_Atomic uint64_t *bytes)
{
	double t0 = now();
	uint64_t sent = 0;

	memset(buf, 0x5a, BULK_BUF);
	for (;;) {
		size_t n = BULK_BUF;

		if (count) {
			if (sent >= count)
				break;
			if (count - sent < n)
				n = count - sent;
		} else if (now() - t0 >= secs) {
			break;
		}
		if (write_all(fd, buf, n))
			return -1;
		sent += n;
		atomic_fetch_add_explicit(bytes, n, memory_order_relaxed);
	}
	return shutdown(fd, SHUT_WR);
}

static int send_result(int fd, uint64_t bytes, double secs)
{
	struct bulk_result res = {
		.bytes = htobe64(bytes),
		.usecs = htobe64((uint64_t)(secs * 1e6)),
	};

	return write_all(fd, &res, sizeof(res));
}

static int recv_result(int fd, uint64_t *bytes)
{
	struct bulk_result res;

	if (read_all(fd, &res, sizeof(res)) != 1)
		return -1;
	*bytes = be64toh(res.bytes);
	return 0;
}

/* Segments sent again, from KTP_INFO or TCP_INFO; -1 when unknown. */
static long retransmits(int fd, int tcp)
{
	if (tcp) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		return ti.tcpi_total_retrans;
	} else {
		struct ktp_info ki;

		if (ktp_info(fd, &ki))
			return -1;
		return ki.ktpi_total_retrans;
	}
}

static const char *proto_name(int tcp)
{
	return tcp ? "tcp" : "ktp";
}

/* ---- server ---- */

struct conn {
	int fd;
	int tcp;
	char peer[INET6_ADDRSTRLEN + 8];
};

/* The server's line for one bulk connection. */
static void server_report(const struct conn *c, const char *dir,
			  uint64_t bytes, double secs, uint64_t client_bytes)
{
	int reverse = !strcmp(dir, "reverse");
	double mbps = secs > 0 ? bytes * 8 / secs / 1e6 : 0;

	/* one line per connection, whole: the connections' threads report
	 * at the same time
	 */
	flockfile(stdout);
	if (opt.json) {
		printf("{\"role\":\"server\",\"proto\":\"%s\","
		       "\"mode\":\"bulk\",\"dir\":\"%s\",\"peer\":\"%s\","
		       "\"bytes\":%llu,\"seconds\":%.3f,\"mbps\":%.2f",
		       proto_name(c->tcp), dir, c->peer,
		       (unsigned long long)bytes, secs, mbps);
		if (reverse)
			printf(",\"client_bytes\":%llu",
			       (unsigned long long)client_bytes);
		printf("}\n");
		funlockfile(stdout);
		return;
	}
	printf("server: %s bulk %s %s: %s %llu bytes in %.3f s, %.2f Mbit/s",
	       proto_name(c->tcp), reverse ? "to" : "from", c->peer,
	       reverse ? "sent" : "received", (unsigned long long)bytes, secs,
	       mbps);
	if (reverse)
		printf(", the client got %llu",
		       (unsigned long long)client_bytes);
	printf("\n");
	funlockfile(stdout);
}

static void serve_bulk_forward(const struct conn *c, char *buf)
{
	_Atomic uint64_t bytes = 0;
	double t0 = now(), secs;

	if (drain(c->fd, buf, &bytes)) {
		fprintf(stderr, "ktpperf: bulk recv: %s\n", strerror(errno));
		return;
	}
	secs = now() - t0;
	if (send_result(c->fd, bytes, secs))
		fprintf(stderr, "ktpperf: bulk result: %s\n", strerror(errno));
	server_report(c, "forward", bytes, secs, bytes);
}

static void serve_bulk_reverse(const struct conn *c, char *buf,
			       const struct header *h)
{
	_Atomic uint64_t bytes = 0;
	uint64_t got = 0;
	double t0 = now(), secs;

	if (pour(c->fd, buf, ntohl(h->msecs) / 1e3, be64toh(h->count),
		 &bytes) || recv_result(c->fd, &got)) {
		fprintf(stderr, "ktpperf: bulk send: %s\n", strerror(errno));
		return;
	}
	secs = now() - t0;
	server_report(c, "reverse", bytes, secs, got);
	if (got != bytes)
		fprintf(stderr, "ktpperf: sent %llu bytes to %s, it got %llu\n",
			(unsigned long long)bytes, c->peer,
			(unsigned long long)got);
}

static void serve_bulk(const struct conn *c, const struct header *h)
{
	char *buf = malloc(BULK_BUF);

	if (!buf)
		return;
	if (h->dir == DIR_REVERSE)
		serve_bulk_reverse(c, buf, h);
	else
		serve_bulk_forward(c, buf);
	free(buf);
}

static void serve_echo(int fd, uint32_t size, int tcp)
{
	char *buf = malloc(size);
	int r;

	if (!buf)
		return;
	set_nodelay(fd, tcp);
	while ((r = read_all(fd, buf, size)) == 1)
		if (write_all(fd, buf, size))
			break;
	if (r < 0 && errno != EPIPE && errno != ECONNRESET)
		fprintf(stderr, "ktpperf: echo: %s\n", strerror(errno));
	free(buf);
}

static int header_ok(const struct header *h)
{
	return ntohl(h->magic) == MAGIC && h->version == VERSION &&
	       ntohl(h->size) && ntohl(h->size) <= MAX_SIZE &&
	       h->dir <= DIR_REVERSE;
}

/* One connection, in a thread of its own; cc connections send nothing. */
static void *serve_one(void *arg)
{
	struct conn *c = arg;
	struct header h;

	set_io_timeouts(c->fd);
	if (read_all(c->fd, &h, sizeof(h)) != 1)
		goto out;
	if (!header_ok(&h)) {
		fprintf(stderr, "ktpperf: bad header from %s\n", c->peer);
		goto out;
	}
	switch (h.mode) {
	case MODE_BULK:
		serve_bulk(c, &h);
		break;
	case MODE_RR:
	case MODE_CRR:
		serve_echo(c->fd, ntohl(h.size), c->tcp);
		break;
	default:
		fprintf(stderr, "ktpperf: unknown mode %u\n", h.mode);
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void accept_one(int lfd, int tcp)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	pthread_attr_t attr;
	struct conn *c;
	pthread_t t;
	char addr[INET6_ADDRSTRLEN];

	c = malloc(sizeof(*c));
	if (!c)
		return;
	c->tcp = tcp;
	c->fd = accept4(lfd, (struct sockaddr *)&sin, &len, SOCK_CLOEXEC);
	if (c->fd < 0) {
		free(c);
		return;
	}
	inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof(addr));
	snprintf(c->peer, sizeof(c->peer), "%s:%u", addr,
		 ntohs(sin.sin_port));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve_one, c)) {
		close(c->fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static int listen_on(int tcp, const struct sockaddr_in *sin, int backlog)
{
	int one = 1, fd;

	fd = new_socket(tcp);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) ||
	    listen(fd, backlog)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int run_server(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(opt.port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct pollfd pfd[2];
	int i;

	if (opt.bind_addr && inet_pton(AF_INET, opt.bind_addr,
				       &sin.sin_addr) != 1) {
		fprintf(stderr, "ktpperf: bad address %s\n", opt.bind_addr);
		return EXIT_USAGE;
	}
	for (i = 0; i < 2; i++) {
		pfd[i].fd = listen_on(i, &sin, 128);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0)
			fprintf(stderr, "ktpperf: no %s listener: %s\n",
				i ? "TCP" : "KTP", strerror(errno));
	}
	if (pfd[0].fd < 0 && pfd[1].fd < 0)
		return EXIT_RUN;
	if (opt.time_bound)
		alarm(opt.time_bound);
	/* with --json, standard output holds nothing but JSON */
	fprintf(opt.json ? stderr : stdout,
		"ktpperf: listening on port %d (%s%s)\n", opt.port,
		pfd[0].fd >= 0 ? "KTP" : "",
		pfd[1].fd >= 0 ? (pfd[0].fd >= 0 ? ", TCP" : "TCP") : "");

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("ktpperf: poll");
			return EXIT_RUN;
		}
		for (i = 0; i < 2; i++)
			if (pfd[i].fd >= 0 && (pfd[i].revents & POLLIN))
				accept_one(pfd[i].fd, i);
	}
}

/* ---- client ---- */

struct samples {
	uint32_t *v;
	size_t n, cap;
};

/* One connection of a run (crr and cc: one after another), one thread. */
struct stream {
	pthread_t thread;
	int id;
	int dir;			/* bulk: DIR_FORWARD or DIR_REVERSE */
	_Atomic uint64_t done;		/* bytes or transactions so far */
	uint64_t peer_bytes;		/* bulk: what the server counted */
	double secs;
	long retrans;
	struct samples lat;		/* rr, crr, cc: microseconds */
	const char *failed;		/* the step that failed, or NULL */
	int err;
};

static struct sockaddr_in server_addr;

static void sample_add(struct samples *s, double usecs)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint32_t *v;

		if (cap > MAX_SAMPLES)
			return;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = usecs > UINT32_MAX ? UINT32_MAX : (uint32_t)usecs;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static uint32_t percentile(const struct samples *s, int pct)
{
	size_t rank;

	if (!s->n)
		return 0;
	rank = (s->n * pct + 99) / 100;
	return s->v[rank ? rank - 1 : 0];
}

static int stream_fail(struct stream *s, const char *what)
{
	s->failed = what;
	s->err = errno;
	return -1;
}

static int client_connect(void)
{
	int fd = new_socket(opt.tcp);

	if (fd < 0)
		return -1;
	set_io_timeouts(fd);
	if (connect(fd, (const struct sockaddr *)&server_addr,
		    sizeof(server_addr))) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void fill_header(struct header *h, int mode, int dir)
{
	memset(h, 0, sizeof(*h));
	h->magic = htonl(MAGIC);
	h->version = VERSION;
	h->mode = mode;
	h->dir = dir;
	h->size = htonl(mode == MODE_BULK ? 1 : opt.size);
	h->msecs = htonl((uint32_t)(opt.seconds * 1000));
	h->count = htobe64(opt.count);
}

static int stream_done(uint64_t n, double t0)
{
	if (opt.count)
		return n >= opt.count;
	return now() - t0 >= opt.seconds;
}

/*
 * Forward: send, then the server's count. Reverse: receive to the FIN,
 * then give the server our count; it has shut down its side, so it
 * compares and reports, and the data ending in a FIN is our check.
 */
static int bulk_stream(struct stream *s, int fd, char *buf)
{
	if (s->dir == DIR_FORWARD) {
		if (pour(fd, buf, opt.seconds, opt.count, &s->done))
			return stream_fail(s, "send");
		if (recv_result(fd, &s->peer_bytes))
			return stream_fail(s, "the server's count");
		return 0;
	}
	if (drain(fd, buf, &s->done))
		return stream_fail(s, "recv");
	if (send_result(fd, atomic_load(&s->done), 0))
		return stream_fail(s, "our count");
	s->peer_bytes = atomic_load(&s->done);
	return 0;
}

static int run_bulk_stream(struct stream *s)
{
	struct header h;
	char *buf;
	int fd, ret;

	buf = malloc(BULK_BUF);
	if (!buf)
		return stream_fail(s, "malloc");
	fd = client_connect();
	if (fd < 0) {
		free(buf);
		return stream_fail(s, "connect");
	}
	fill_header(&h, MODE_BULK, s->dir);
	if (write_all(fd, &h, sizeof(h)))
		ret = stream_fail(s, "send");
	else
		ret = bulk_stream(s, fd, buf);
	s->retrans = retransmits(fd, opt.tcp);
	close(fd);
	free(buf);
	return ret;
}

static int transaction(int fd, char *buf)
{
	if (write_all(fd, buf, opt.size))
		return -1;
	return read_all(fd, buf, opt.size) == 1 ? 0 : -1;
}

static int run_rr_stream(struct stream *s)
{
	struct header h;
	char *buf;
	int fd, ret = 0;
	double t0 = now(), t;

	buf = calloc(1, opt.size);
	if (!buf)
		return stream_fail(s, "malloc");
	fill_header(&h, MODE_RR, DIR_FORWARD);
	fd = client_connect();
	if (fd < 0 || write_all(fd, &h, sizeof(h))) {
		ret = stream_fail(s, "connect");
		goto out;
	}
	set_nodelay(fd, opt.tcp);
	while (!stream_done(atomic_load(&s->done), t0)) {
		t = now();
		if (transaction(fd, buf)) {
			ret = stream_fail(s, "transaction");
			break;
		}
		sample_add(&s->lat, (now() - t) * 1e6);
		atomic_fetch_add_explicit(&s->done, 1, memory_order_relaxed);
	}
	s->retrans = retransmits(fd, opt.tcp);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* crr: connect, header and request in one write, response, close. */
static int crr_once(struct stream *s, char *buf, size_t len)
{
	int fd = client_connect();

	if (fd < 0)
		return stream_fail(s, "connect");
	if (opt.mode == MODE_CRR) {
		set_nodelay(fd, opt.tcp);
		if (write_all(fd, buf, len) ||
		    read_all(fd, buf + sizeof(struct header), opt.size) != 1) {
			close(fd);
			return stream_fail(s, "transaction");
		}
	}
	if (retransmits(fd, opt.tcp) > 0)
		s->retrans += retransmits(fd, opt.tcp);
	close(fd);
	return 0;
}

static int run_crr_stream(struct stream *s)
{
	size_t len = sizeof(struct header) + opt.size;
	struct header h;
	double t0 = now(), t;
	char *buf;
	int ret = 0;

	buf = calloc(1, len);
	if (!buf)
		return stream_fail(s, "malloc");
	fill_header(&h, opt.mode, DIR_FORWARD);
	while (!stream_done(atomic_load(&s->done), t0)) {
		t = now();
		memcpy(buf, &h, sizeof(h));
		ret = crr_once(s, buf, len);
		if (ret)
			break;
		sample_add(&s->lat, (now() - t) * 1e6);
		atomic_fetch_add_explicit(&s->done, 1, memory_order_relaxed);
	}
	free(buf);
	return ret;
}

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running;
} run = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void *stream_main(void *arg)
{
	struct stream *s = arg;
	double t0 = now();

	if (opt.mode == MODE_BULK)
		run_bulk_stream(s);
	else if (opt.mode == MODE_RR)
		run_rr_stream(s);
	else
		run_crr_stream(s);
	s->secs = now() - t0;
	pthread_mutex_lock(&run.lock);
	run.running--;
	pthread_cond_signal(&run.cond);
	pthread_mutex_unlock(&run.lock);
	return NULL;
}

static uint64_t total_done(const struct stream *s, int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += atomic_load_explicit(&s[i].done, memory_order_relaxed);
	return sum;
}

/* The progress line: on a terminal rewritten in place, else one a line. */
struct progress {
	uint64_t done;		/* the sum at the last line */
	double at;		/* and when */
	int tty;		/* rewrite one line in place */
};

static void progress(const struct stream *s, int n, double secs,
		     struct progress *p)
{
	uint64_t sum = total_done(s, n);
	double rate = (sum - p->done) / (secs - p->at);
	const char *cr = p->tty ? "\r" : "", *end = p->tty ? "\033[K" : "\n";

	p->done = sum;
	p->at = secs;
	if (opt.mode == MODE_BULK)
		fprintf(stderr,
			"%sktpperf: %5.1f s %14llu bytes %10.2f Mbit/s%s", cr,
			secs, (unsigned long long)sum, rate * 8 / 1e6, end);
	else
		fprintf(stderr, "%sktpperf: %5.1f s %14llu trans %10.1f/s%s",
			cr, secs, (unsigned long long)sum, rate, end);
}

/* Wait for every stream; a progress line each second if wanted. */
static void wait_streams(const struct stream *s, int n, double t0)
{
	int tty = isatty(STDERR_FILENO), shown = 0;
	struct progress p = { .tty = tty && !opt.progress };
	struct timespec ts;
	double next = t0 + 1;

	pthread_mutex_lock(&run.lock);
	while (run.running) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&run.cond, &run.lock, &ts);
		if (!run.running || !(opt.progress || tty) || now() < next)
			continue;
		next += 1;
		progress(s, n, now() - t0, &p);
		shown = 1;
	}
	pthread_mutex_unlock(&run.lock);
	if (shown && p.tty)
		fprintf(stderr, "\r\033[K");
}

static void table_row_bulk(const char *label, int dir, int streams,
			   double secs, uint64_t bytes, long retrans)
{
	printf("%-5s %-5s %-7s %7d %9.2f s %14llu bytes %10.2f Mbit/s "
	       "%8ld retrans\n", label, "bulk", dir_names[dir], streams, secs,
	       (unsigned long long)bytes, secs > 0 ? bytes * 8 / secs / 1e6 : 0,
	       retrans);
}

struct totals {
	uint64_t sent, received, server;	/* bulk bytes */
	uint64_t trans;
	long retrans;
	double secs;
	struct samples lat;
	int failed;
};

static void add_up(struct stream *s, int n, struct totals *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		uint64_t done = atomic_load(&s[i].done);

		if (s[i].secs > t->secs)
			t->secs = s[i].secs;
		if (s[i].retrans > 0)
			t->retrans += s[i].retrans;
		if (s[i].failed) {
			errno = s[i].err;
			fprintf(stderr, "ktpperf: stream %d: %s: %s\n",
				s[i].id, s[i].failed, strerror(errno));
			t->failed = 1;
		}
		if (opt.mode != MODE_BULK) {
			t->trans += done;
			continue;
		}
		if (s[i].dir == DIR_FORWARD) {
			t->sent += done;
			t->server += s[i].peer_bytes;
		} else {
			t->received += done;
		}
	}
	/* what each end counted must agree, stream by stream */
	for (i = 0; opt.mode == MODE_BULK && !t->failed && i < n; i++) {
		if (atomic_load(&s[i].done) == s[i].peer_bytes)
			continue;
		fprintf(stderr,
			"ktpperf: stream %d: %llu bytes here, %llu there\n",
			s[i].id, (unsigned long long)atomic_load(&s[i].done),
			(unsigned long long)s[i].peer_bytes);
		t->failed = 1;
	}
}

static void report_bulk(struct stream *s, int n, const struct totals *t)
{
	uint64_t bytes = t->sent + t->received;
	double secs = t->secs > 0 ? t->secs : 1e-9;
	int i;

	if (opt.json) {
		printf("{\"proto\":\"%s\",\"mode\":\"bulk\",\"dir\":\"%s\","
		       "\"streams\":%d,\"seconds\":%.3f,\"bytes\":%llu,"
		       "\"mbps\":%.2f,\"sent_bytes\":%llu,"
		       "\"received_bytes\":%llu,\"server_bytes\":%llu,"
		       "\"retrans\":%ld,\"ok\":%s}\n", proto_name(opt.tcp),
		       dir_names[opt.dir], opt.streams, t->secs,
		       (unsigned long long)bytes, bytes * 8 / secs / 1e6,
		       (unsigned long long)t->sent,
		       (unsigned long long)t->received,
		       (unsigned long long)t->server, t->retrans,
		       t->failed ? "false" : "true");
		return;
	}
	printf("%-5s %-5s %-7s %7s %11s %20s %17s\n", "proto", "mode", "dir",
	       "streams", "time", "count", "rate");
	for (i = 0; n > 1 && i < n; i++)
		table_row_bulk("  #", s[i].dir, 1, s[i].secs,
			       atomic_load(&s[i].done), s[i].retrans);
	table_row_bulk(proto_name(opt.tcp), opt.dir, opt.streams, t->secs,
		       bytes, t->retrans);
}

static void report_rr(const struct totals *t)
{
	const struct samples *l = &t->lat;
	double secs = t->secs > 0 ? t->secs : 1e-9;

	if (opt.json) {
		printf("{\"proto\":\"%s\",\"mode\":\"%s\",\"streams\":%d,"
		       "\"size\":%u,\"seconds\":%.3f,\"transactions\":%llu,"
		       "\"tps\":%.1f,\"p50_us\":%u,\"p99_us\":%u,"
		       "\"max_us\":%u,\"retrans\":%ld,\"ok\":%s}\n",
		       proto_name(opt.tcp), mode_names[opt.mode], opt.streams,
		       opt.size, t->secs, (unsigned long long)t->trans,
		       t->trans / secs, percentile(l, 50), percentile(l, 99),
		       percentile(l, 100), t->retrans,
		       t->failed ? "false" : "true");
		return;
	}
	printf("%-5s %-5s %7s %11s %20s %17s %10s %10s\n", "proto", "mode",
	       "streams", "time", "count", "rate", "p50", "p99");
	printf("%-5s %-5s %7d %9.2f s %14llu trans %10.1f trans/s "
	       "%7u us %7u us %ld retrans\n", proto_name(opt.tcp),
	       mode_names[opt.mode], opt.streams, t->secs,
	       (unsigned long long)t->trans, t->trans / secs,
	       percentile(l, 50), percentile(l, 99), t->retrans);
}

/* Every stream's latencies in one sorted set. */
static void merge_samples(struct stream *s, int n, struct samples *all)
{
	int i;

	memset(all, 0, sizeof(*all));
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < s[i].lat.n; k++)
			sample_add(all, s[i].lat.v[k]);
		free(s[i].lat.v);
	}
	qsort(all->v, all->n, sizeof(*all->v), cmp_u32);
}

static int start_streams(struct stream *s, int n)
{
	int i;

	run.running = n;
	for (i = 0; i < n; i++) {
		s[i].id = i + 1;
		if (opt.dir == DIR_BIDIR)
			s[i].dir = i < n / 2 ? DIR_FORWARD : DIR_REVERSE;
		else
			s[i].dir = opt.dir;
		if (pthread_create(&s[i].thread, NULL, stream_main, &s[i])) {
			perror("ktpperf: pthread_create");
			pthread_mutex_lock(&run.lock);
			run.running -= n - i;
			pthread_mutex_unlock(&run.lock);
			return i;
		}
	}
	return n;
}

static int run_client(void)
{
	int n = opt.streams * (opt.dir == DIR_BIDIR ? 2 : 1), started, i;
	struct stream *s;
	struct totals t;
	double t0;

	s = calloc(n, sizeof(*s));
	if (!s)
		return EXIT_RUN;
	t0 = now();
	started = start_streams(s, n);
	wait_streams(s, started, t0);
	for (i = 0; i < started; i++)
		pthread_join(s[i].thread, NULL);
	add_up(s, started, &t);
	t.failed |= started < n;
	if (opt.mode == MODE_BULK) {
		report_bulk(s, started, &t);
	} else {
		merge_samples(s, started, &t.lat);
		report_rr(&t);
		free(t.lat.v);
	}
	free(s);
	return t.failed ? EXIT_RUN : 0;
}

/* ---- idle and accept: both ends of each connection in this process ---- */

/*
 * Connections opened to a listener of our own: connecting threads (-P)
 * take the next index, connect and keep the socket; the calling thread
 * accepts and keeps the other end. A semaphore holds the connects that
 * wait for accept() to the listen backlog, so that a full accept queue
 * (which drops a handshake and costs the client a SYN time-out) does not
 * enter the rate.
 */
struct pairs {
	int lfd;
	int *cfd, *afd;			/* the two ends, -1 for none */
	int cap;			/* room in cfd[] and afd[] */
	int limit;			/* this batch: connect up to this index */
	_Atomic int next;		/* the next index to connect */
	_Atomic int connected;
	_Atomic int connectors;		/* connecting threads still at it */
	_Atomic int stop;
	int accepted;
	sem_t window;
	pthread_mutex_t lock;		/* guards failed and err */
	const char *failed;		/* the first step that failed */
	int err;
};

static void pairs_fail(struct pairs *p, const char *what, int err)
{
	pthread_mutex_lock(&p->lock);
	if (!p->failed) {
		p->failed = what;
		p->err = err;
	}
	pthread_mutex_unlock(&p->lock);
	atomic_store(&p->stop, 1);
}

static void *connector(void *arg)
{
	struct pairs *p = arg;
	int i, fd;

	for (;;) {
		i = atomic_fetch_add(&p->next, 1);
		if (i >= p->limit)
			break;
		while (sem_wait(&p->window) && errno == EINTR)
			;
		if (atomic_load(&p->stop))
			break;
		fd = client_connect();
		if (fd < 0) {
			pairs_fail(p, "connect", errno);
			sem_post(&p->window);
			break;
		}
		p->cfd[i] = fd;
		atomic_fetch_add(&p->connected, 1);
	}
	atomic_fetch_sub(&p->connectors, 1);
	return NULL;
}

/* The file-descriptor limit raised to @need, and the table grown to it. */
static int nofile_at_least(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur < (rlim_t)need) {
		if (rl.rlim_max < (rlim_t)need)
			rl.rlim_max = need;
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			return -1;
	}
	/* the kernel's table grows now, not during a measurement; it does
	 * not shrink on close()
	 */
	if (dup2(STDERR_FILENO, need - 1) >= 0)
		close(need - 1);
	return 0;
}

/* The listen backlog the kernel grants: listen() caps it at somaxconn. */
static int backlog_for(int want)
{
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
	int max = 128;

	if (f) {
		if (fscanf(f, "%d", &max) != 1 || max < 1)
			max = 128;
		fclose(f);
	}
	return want < max ? want : max;
}

/* Room for @cap pairs and the listener; the fd limit for all of them. */
static int pairs_init(struct pairs *p, int cap)
{
	/* a stalled accept() returns each second to look at the connectors */
	struct timeval tv = { .tv_sec = 1 };
	int i;

	memset(p, 0, sizeof(*p));
	p->lfd = -1;
	pthread_mutex_init(&p->lock, NULL);
	if (nofile_at_least(2 * cap + 16)) {
		fprintf(stderr, "ktpperf: %d descriptors: %s (ulimit -n)\n",
			2 * cap + 16, strerror(errno));
		return -1;
	}
	p->cfd = malloc(cap * sizeof(int));
	p->afd = malloc(cap * sizeof(int));
	if (!p->cfd || !p->afd) {
		fprintf(stderr, "ktpperf: no memory for %d pairs\n", cap);
		return -1;
	}
	for (i = 0; i < cap; i++)
		p->cfd[i] = p->afd[i] = -1;
	p->cap = cap;
	p->lfd = listen_on(opt.tcp, &server_addr, backlog_for(cap));
	if (p->lfd < 0) {
		fprintf(stderr, "ktpperf: listen on %s:%d: %s\n", opt.host,
			opt.port, strerror(errno));
		return -1;
	}
	setsockopt(p->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Abort every connection (SO_LINGER 0: a RST, no TIME_WAIT to keep the
 * ports), close the listener.
 */
static void pairs_close(struct pairs *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int i;

	for (i = 0; i < p->cap; i++) {
		if (p->cfd[i] >= 0) {
			setsockopt(p->cfd[i], SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
			close(p->cfd[i]);
		}
		if (p->afd[i] >= 0) {
			setsockopt(p->afd[i], SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
			close(p->afd[i]);
		}
	}
	if (p->lfd >= 0)
		close(p->lfd);
	free(p->cfd);
	free(p->afd);
	pthread_mutex_destroy(&p->lock);
}

static void progress_conns(uint64_t sum, double secs, struct progress *p)
{
	double rate = (sum - p->done) / (secs - p->at);

	fprintf(stderr, "%sktpperf: %5.1f s %14llu conns %10.1f/s%s",
		p->tty ? "\r" : "", secs, (unsigned long long)sum, rate,
		p->tty ? "\033[K" : "\n");
	p->done = sum;
	p->at = secs;
}

/*
 * Accept until every connect of the batch has its other end here, or the
 * connectors have stopped and nothing more comes (IO_TIMEOUT seconds of
 * nothing at most). The time of the last accept, in *@t_end.
 */
static void accept_batch(struct pairs *p, double t0, double *t_end)
{
	int tty = isatty(STDERR_FILENO), show = opt.progress || tty;
	struct progress pr = { .tty = tty && !opt.progress };
	double next = t0 + 1;
	int fd, waited = 0;

	*t_end = t0;
	while (p->accepted < p->limit) {
		fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				pairs_fail(p, "accept", errno);
				break;
			}
			if ((!atomic_load(&p->connectors) &&
			     p->accepted >= atomic_load(&p->connected)) ||
			    ++waited >= IO_TIMEOUT)
				break;
			continue;
		}
		waited = 0;
		p->afd[p->accepted++] = fd;
		sem_post(&p->window);
		if (show && now() >= next) {
			progress_conns(p->accepted, now() - t0, &pr);
			next += 1;
		}
	}
	*t_end = now();
	if (show && pr.at > 0 && pr.tty)
		fprintf(stderr, "\r\033[K");
}

/* Open @count more pairs with @threads connecting; the seconds it took. */
static double pairs_open(struct pairs *p, int count, int threads)
{
	pthread_t t[MAX_STREAMS];
	double t0, t_end;
	int i, started;

	p->limit = p->accepted + count;
	atomic_store(&p->next, p->accepted);
	atomic_store(&p->connectors, threads);
	sem_init(&p->window, 0, backlog_for(count));
	t0 = now();
	for (started = 0; started < threads; started++) {
		if (pthread_create(&t[started], NULL, connector, p)) {
			pairs_fail(p, "pthread_create", errno);
			atomic_fetch_sub(&p->connectors, threads - started);
			break;
		}
	}
	accept_batch(p, t0, &t_end);
	/* connectors that wait for a slot see the stop */
	atomic_store(&p->stop, 1);
	for (i = 0; i < started; i++)
		sem_post(&p->window);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	sem_destroy(&p->window);
	if (!p->failed && (p->accepted < p->limit ||
			   atomic_load(&p->connected) < p->limit))
		pairs_fail(p, "accept", ETIMEDOUT);
	atomic_store(&p->stop, 0);
	return t_end - t0;
}

static int pairs_report_failure(const struct pairs *p)
{
	if (!p->failed)
		return 0;
	fprintf(stderr, "ktpperf: %s: %s (%d connected, %d accepted of %d)\n",
		p->failed, strerror(p->err), atomic_load(&p->connected),
		p->accepted, p->limit);
	return 1;
}

static int run_accept(void)
{
	struct pairs p;
	double secs, rate;
	int failed;

	if (pairs_init(&p, (int)opt.count)) {
		pairs_close(&p);
		return EXIT_RUN;
	}
	secs = pairs_open(&p, (int)opt.count, opt.streams);
	failed = pairs_report_failure(&p);
	rate = secs > 0 ? p.accepted / secs : 0;
	if (opt.json) {
		printf("{\"proto\":\"%s\",\"mode\":\"accept\",\"streams\":%d,"
		       "\"connections\":%llu,\"seconds\":%.3f,"
		       "\"connected\":%d,\"accepted\":%d,\"cps\":%.1f,"
		       "\"ok\":%s}\n", proto_name(opt.tcp), opt.streams,
		       (unsigned long long)opt.count, secs,
		       atomic_load(&p.connected), p.accepted, rate,
		       failed ? "false" : "true");
	} else {
		printf("%-5s %-6s %7s %11s %20s %17s\n", "proto", "mode",
		       "streams", "time", "accepted", "rate");
		printf("%-5s %-6s %7d %9.2f s %8d of %8llu %10.1f conn/s\n",
		       proto_name(opt.tcp), "accept", opt.streams, secs,
		       p.accepted, (unsigned long long)opt.count, rate);
	}
	pairs_close(&p);
	return failed ? EXIT_RUN : 0;
}

/* Slab and MemFree of /proc/meminfo, in bytes. */
struct meminfo {
	long long slab, free;
};

static int read_meminfo(struct meminfo *m)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kb;

	m->slab = m->free = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Slab: %lld kB", &kb) == 1)
			m->slab = kb * 1024;
		else if (sscanf(line, "MemFree: %lld kB", &kb) == 1)
			m->free = kb * 1024;
	}
	fclose(f);
	return m->slab < 0 || m->free < 0 ? -1 : 0;
}

/* The protocol's socket object size, from /proc/net/protocols; -1. */
static long sock_size(int tcp)
{
	FILE *f = fopen("/proc/net/protocols", "r");
	char line[512], name[32];
	long size = -1, n;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %ld", name, &n) == 2 &&
		    !strcmp(name, tcp ? "TCP" : "KTP")) {
			size = n;
			break;
		}
	fclose(f);
	return size;
}

/* Every end still connected: no error on either. */
static int pairs_healthy(const struct pairs *p)
{
	int i, err;
	socklen_t len;

	for (i = 0; i < p->accepted; i++) {
		len = sizeof(err);
		if (getsockopt(p->cfd[i], SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err)
			return 0;
		len = sizeof(err);
		if (getsockopt(p->afd[i], SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err)
			return 0;
	}
	return 1;
}

static void settle(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (time_t)secs) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The kernel memory of an idle connection (both its ends: the connecting
 * socket and the accepted one, with their files, inodes and dentries),
 * measured as the growth of /proc/meminfo between two states:
 *
 *   1. -n pairs opened first and left open, a warm-up: they take up the
 *      free objects the slab caches kept from earlier sockets (SLUB keeps
 *      some empty slabs), and the fd table and the connecting thread's
 *      stack are in place; -t seconds for deferred frees (RCU) to end;
 *      meminfo read;
 *   2. -n pairs more, -t seconds idle, meminfo read again.
 *
 * The second batch takes fresh slabs, so the growth over it, divided by
 * -n, is the cost of one more connection: "slab" from Slab (every kmalloc
 * and kmem_cache object, large kmallocs too), "mem" from MemFree (also the
 * page allocator's and vmalloc's pages, and this process's own pages,
 * which the warm-up has in place; MemFree moves with the per-CPU page
 * lists, by up to a few hundred KiB, so it is the noisier of the two).
 * Nothing else should run on the machine meanwhile.
 */
static int run_idle(void)
{
	struct meminfo m0, m1;
	long long slab, mem;
	struct pairs p;
	double secs;
	int n = (int)opt.count, failed, healthy;

	if (pairs_init(&p, 2 * n)) {
		pairs_close(&p);
		return EXIT_RUN;
	}
	pairs_open(&p, n, 1);
	settle(opt.seconds);
	if (read_meminfo(&m0))
		pairs_fail(&p, "/proc/meminfo", errno);
	secs = p.failed ? 0 : pairs_open(&p, n, 1);
	settle(opt.seconds);
	if (!p.failed && read_meminfo(&m1))
		pairs_fail(&p, "/proc/meminfo", errno);
	healthy = pairs_healthy(&p);
	failed = pairs_report_failure(&p);
	if (!failed && !healthy) {
		fprintf(stderr, "ktpperf: a connection broke while idle\n");
		failed = 1;
	}
	slab = failed ? 0 : m1.slab - m0.slab;
	mem = failed ? 0 : m0.free - m1.free;
	if (opt.json) {
		printf("{\"proto\":\"%s\",\"mode\":\"idle\","
		       "\"connections\":%d,\"seconds\":%.3f,"
		       "\"slab_bytes\":%lld,\"mem_bytes\":%lld,"
		       "\"slab_per_conn\":%lld,\"mem_per_conn\":%lld,"
		       "\"sock_size\":%ld,\"ok\":%s}\n", proto_name(opt.tcp), n,
		       secs, slab, mem, slab / n, mem / n, sock_size(opt.tcp),
		       failed ? "false" : "true");
	} else {
		printf("%-5s %-6s %7s %11s %18s %18s %10s\n", "proto", "mode",
		       "conns", "time", "slab", "mem", "sock");
		printf("%-5s %-6s %7d %9.2f s %11lld B/conn %11lld B/conn "
		       "%8ld B\n", proto_name(opt.tcp), "idle", n, secs,
		       slab / n, mem / n, sock_size(opt.tcp));
	}
	pairs_close(&p);
	return failed ? EXIT_RUN : 0;
}

static int resolve(const char *host, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(opt.port);
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static int client_main(void)
{
	if (resolve(opt.host, &server_addr)) {
		fprintf(stderr, "ktpperf: %s is not an IPv4 address\n",
			opt.host);
		return EXIT_USAGE;
	}
	if (opt.mode == MODE_IDLE || opt.mode == MODE_ACCEPT) {
		if (!opt.time_bound)
			opt.time_bound = 60 + opt.count / 50 +
					 2 * (int)opt.seconds;
		alarm(opt.time_bound);
		return opt.mode == MODE_IDLE ? run_idle() : run_accept();
	}
	if (!opt.time_bound)
		opt.time_bound = (opt.count ? 60 : (int)opt.seconds) + 30;
	alarm(opt.time_bound);
	return run_client();
}

static void print_usage(FILE *f)
{
	fprintf(f,
"usage: ktpperf -s [-p PORT] [-B ADDR] [-t SECONDS] [--json]\n"
"       ktpperf -c ADDR [-p PORT] [-t SECONDS | -n COUNT] [-P STREAMS]\n"
"               [--mode bulk|rr|crr|cc] [-R | --bidir] [--size N]\n"
"               [--tcp] [--json] [--progress] [--timeout SECONDS]\n"
"       ktpperf -c ADDR [-p PORT] --mode idle [-n CONNS] [-t SECONDS]\n"
"               [--tcp] [--json] [--timeout SECONDS]\n"
"       ktpperf -c ADDR [-p PORT] --mode accept [-n CONNS] [-P THREADS]\n"
"               [--tcp] [--json] [--progress] [--timeout SECONDS]\n"
"\n"
"  -s             server: KTP and TCP on the same port, a thread a client\n"
"  -c ADDR        client of the server at this IPv4 address\n"
"  -p PORT        port (default %d)\n"
"  -B ADDR        server: listen on this address only\n"
"  -t SECONDS     client: run this long (default 10); server: exit after\n"
"  -n COUNT       client: bytes (bulk) or transactions, each stream;\n"
"                 idle, accept: connections\n"
"  -P STREAMS     client: connections at once (default 1, at most %d);\n"
"                 accept: connecting threads\n"
"  --mode MODE    bulk: throughput; rr: request/response rate and\n"
"                 latency; crr: connect/request/response/close rate;\n"
"                 cc: connect/close rate. With no server, ktpperf\n"
"                 listening on ADDR:PORT itself: idle: kernel memory of\n"
"                 an idle connection, COUNT pairs (default %d) held -t\n"
"                 seconds (default 1); accept: accept rate of COUNT\n"
"                 connects (default %d), all held open\n"
"  -R, --reverse  bulk: the server sends\n"
"  --bidir        bulk: STREAMS each way at once\n"
"  --size N       rr/crr message size in bytes (default 1)\n"
"  --tcp          Linux TCP instead of KTP\n"
"  --json         one JSON object per run (server: per bulk connection)\n"
"  --progress     a progress line each second on standard error even\n"
"                 when it is not a terminal\n"
"  --timeout S    client: hard bound of the run (default -t + 30;\n"
"                 idle, accept: 60 + COUNT / 50 + 2 * -t)\n"
"\n"
"exit: 0 done, 1 the run failed, 2 usage, 3 time bound hit\n",
		DEFAULT_PORT, MAX_STREAMS, IDLE_CONNS, ACCEPT_CONNS);
}

static int parse_mode(const char *name)
{
	int m;

	for (m = MODE_BULK; m < __MODE_MAX; m++)
		if (!strcmp(name, mode_names[m]))
			return m;
	return 0;
}

/* One option into opt: 0, -1 for a bad one. */
static int parse_opt(int c, const char *arg, int *have_t)
{
	char *end = "";

	switch (c) {
	case 's':
		opt.server = 1;
		break;
	case 'c':
		opt.host = arg;
		break;
	case 'p':
		opt.port = strtol(arg, &end, 10);
		return *end || opt.port <= 0 || opt.port > 65535 ? -1 : 0;
	case 'B':
		opt.bind_addr = arg;
		break;
	case 't':
		opt.seconds = strtod(arg, &end);
		*have_t = 1;
		return *end || opt.seconds <= 0 || opt.seconds > 86400 ? -1 : 0;
	case 'n':
		opt.count = strtoull(arg, &end, 10);
		return *end || !opt.count ? -1 : 0;
	case 'P':
		opt.streams = strtol(arg, &end, 10);
		return *end || opt.streams < 1 || opt.streams > MAX_STREAMS ?
			-1 : 0;
	case 'm':
		opt.mode = parse_mode(arg);
		return opt.mode ? 0 : -1;
	case 'R':
		opt.dir = DIR_REVERSE;
		break;
	case 'b':
		opt.dir = DIR_BIDIR;
		break;
	case 'S':
		opt.size = strtoul(arg, &end, 10);
		return *end || !opt.size || opt.size > MAX_SIZE ? -1 : 0;
	case 'T':
		opt.tcp = 1;
		break;
	case 'j':
		opt.json = 1;
		break;
	case 'g':
		opt.progress = 1;
		break;
	case 'O':
		opt.time_bound = strtol(arg, &end, 10);
		return *end || opt.time_bound <= 0 ? -1 : 0;
	default:
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "reverse", no_argument, NULL, 'R' },
		{ "bidir", no_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 'S' },
		{ "tcp", no_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "progress", no_argument, NULL, 'g' },
		{ "timeout", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, have_t = 0;

	while ((c = getopt_long(argc, argv, "sc:p:B:t:n:P:Rh", longopts,
				NULL)) != -1) {
		if (c == 'h') {
			print_usage(stdout);
			return 0;
		}
		if (parse_opt(c, optarg, &have_t))
			goto bad;
	}
	if (optind != argc || opt.server == !!opt.host ||
	    (have_t && opt.count && opt.mode != MODE_IDLE) ||
	    (have_t && opt.mode == MODE_ACCEPT) ||
	    (opt.dir != DIR_FORWARD && opt.mode != MODE_BULK))
		goto bad;
	if (opt.mode == MODE_IDLE || opt.mode == MODE_ACCEPT) {
		if (!opt.count)
			opt.count = opt.mode == MODE_IDLE ? IDLE_CONNS :
							    ACCEPT_CONNS;
		if (opt.count > MAX_CONNS)
			goto bad;
		if (!have_t)
			opt.seconds = 1;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (opt.server) {
		if (have_t)
			opt.time_bound = (int)opt.seconds;
		return run_server();
	}
	return client_main();
bad:
	print_usage(stderr);
	return EXIT_USAGE;
}
