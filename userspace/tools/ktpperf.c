// SPDX-License-Identifier: GPL-2.0
/*
 * ktpperf: an iperf-style benchmark for KTP, and for Linux TCP with the
 * same code paths, so that the two can be compared in one run.
 *
 *   ktpperf -s [-p PORT] [-B ADDR] [-t SECONDS] [--json]
 *   ktpperf -c ADDR [-p PORT] [-t SECONDS | -n COUNT] [-P STREAMS]
 *           [--mode bulk|rr|crr|cc] [-R | --bidir] [--size N] [--tcp]
 *           [--json] [--progress] [--timeout SECONDS]
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
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum { EXIT_RUN = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };
enum { MODE_BULK = 1, MODE_RR, MODE_CRR, MODE_CC, __MODE_MAX };
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
	[MODE_CC] = "cc",
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

static int listen_on(int tcp, const struct sockaddr_in *sin)
{
	int one = 1, fd;

	fd = new_socket(tcp);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) ||
	    listen(fd, 128)) {
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
		pfd[i].fd = listen_on(i, &sin);
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
"\n"
"  -s             server: KTP and TCP on the same port, a thread a client\n"
"  -c ADDR        client of the server at this IPv4 address\n"
"  -p PORT        port (default %d)\n"
"  -B ADDR        server: listen on this address only\n"
"  -t SECONDS     client: run this long (default 10); server: exit after\n"
"  -n COUNT       client: bytes (bulk) or transactions, each stream\n"
"  -P STREAMS     client: connections at once (default 1, at most %d)\n"
"  --mode MODE    bulk: throughput; rr: request/response rate and\n"
"                 latency; crr: connect/request/response/close rate;\n"
"                 cc: connect/close rate\n"
"  -R, --reverse  bulk: the server sends\n"
"  --bidir        bulk: STREAMS each way at once\n"
"  --size N       rr/crr message size in bytes (default 1)\n"
"  --tcp          Linux TCP instead of KTP\n"
"  --json         one JSON object per run (server: per bulk connection)\n"
"  --progress     a progress line each second on standard error even\n"
"                 when it is not a terminal\n"
"  --timeout S    client: hard bound of the run (default -t + 30)\n"
"\n"
"exit: 0 done, 1 the run failed, 2 usage, 3 time bound hit\n",
		DEFAULT_PORT, MAX_STREAMS);
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
	    (have_t && opt.count) ||
	    (opt.dir != DIR_FORWARD && opt.mode != MODE_BULK))
		goto bad;

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
