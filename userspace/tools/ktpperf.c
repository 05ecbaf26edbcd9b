// SPDX-License-Identifier: GPL-2.0
/*
 * ktpperf: an iperf-style benchmark for KTP, and for Linux TCP with the
 * same code paths, so that the two can be compared in one run.
 *
 *   ktpperf -s [-p PORT] [-B ADDR] [-t SECONDS]
 *   ktpperf -c ADDR [-p PORT] [-t SECONDS | -n COUNT] [--mode bulk|rr|crr]
 *           [--size N] [--tcp] [--json] [--timeout SECONDS]
 *
 * The server listens on KTP and TCP at once, on the same port number, and
 * serves one connection at a time. Each connection starts with a 16-byte
 * header that names the mode:
 *
 *   bulk  the client sends for -t seconds (or -n bytes), shuts down its
 *         side, and the server answers with the byte count it received
 *   rr    request/response: --size bytes (default 1) each way, one
 *         transaction at a time, for -t seconds (or -n transactions)
 *   crr   connect, one request/response, close; as often as it can
 *
 * Output: one table row per run, or with --json one JSON object per run.
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
#include <signal.h>
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
#define VERSION		1
#define IO_TIMEOUT	10		/* seconds, each socket call */
#define BULK_BUF	(128 * 1024)
#define MAX_SIZE	(1024 * 1024)
#define MAX_SAMPLES	(16 * 1024 * 1024)

enum { EXIT_RUN = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };
enum { MODE_BULK = 1, MODE_RR, MODE_CRR };

struct header {
	uint32_t magic;
	uint8_t version;
	uint8_t mode;
	uint16_t flags;
	uint32_t size;		/* rr/crr message size */
	uint32_t reserved;
};

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
	uint32_t size;
	int tcp;
	int json;
	int time_bound;
} opt = {
	.port = DEFAULT_PORT,
	.seconds = 10,
	.mode = MODE_BULK,
	.size = 1,
};

static const char *const mode_names[] = {
	[MODE_BULK] = "bulk", [MODE_RR] = "rr", [MODE_CRR] = "crr",
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

/* ---- server ---- */

static void serve_bulk(int fd)
{
	static char buf[BULK_BUF];
	struct bulk_result res;
	uint64_t bytes = 0;
	double t0 = now();
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ktpperf: bulk recv: %s\n",
				strerror(errno));
			return;
		}
		bytes += n;
	}
	res.bytes = htobe64(bytes);
	res.usecs = htobe64((uint64_t)((now() - t0) * 1e6));
	if (write_all(fd, &res, sizeof(res)))
		fprintf(stderr, "ktpperf: bulk result: %s\n", strerror(errno));
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

static void serve_one(int fd, int tcp)
{
	struct header h;

	set_io_timeouts(fd);
	if (read_all(fd, &h, sizeof(h)) != 1)
		return;
	if (ntohl(h.magic) != MAGIC || h.version != VERSION ||
	    ntohl(h.size) == 0 || ntohl(h.size) > MAX_SIZE) {
		fprintf(stderr, "ktpperf: bad header\n");
		return;
	}
	switch (h.mode) {
	case MODE_BULK:
		serve_bulk(fd);
		break;
	case MODE_RR:
	case MODE_CRR:
		serve_echo(fd, ntohl(h.size), tcp);
		break;
	default:
		fprintf(stderr, "ktpperf: unknown mode %u\n", h.mode);
	}
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
	printf("ktpperf: listening on port %d (%s%s)\n", opt.port,
	       pfd[0].fd >= 0 ? "KTP" : "",
	       pfd[1].fd >= 0 ? (pfd[0].fd >= 0 ? ", TCP" : "TCP") : "");
	fflush(stdout);

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("ktpperf: poll");
			return EXIT_RUN;
		}
		for (i = 0; i < 2; i++) {
			int fd;

			if (pfd[i].fd < 0 || !(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			serve_one(fd, i);
			close(fd);
		}
	}
}

/* ---- client ---- */

static int client_connect(const struct sockaddr_in *sin)
{
	int fd = new_socket(opt.tcp);

	if (fd < 0)
		return -1;
	set_io_timeouts(fd);
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin))) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void fill_header(struct header *h, int mode)
{
	memset(h, 0, sizeof(*h));
	h->magic = htonl(MAGIC);
	h->version = VERSION;
	h->mode = mode;
	h->size = htonl(mode == MODE_BULK ? 1 : opt.size);
}

static const char *proto_name(void)
{
	return opt.tcp ? "tcp" : "ktp";
}

/* The table's header, once, before the first row. */
static void table_header(void)
{
	if (!opt.json)
		printf("%-5s %-5s %11s %20s %17s\n", "proto", "mode", "time",
		       "count", "rate");
}

static int run_bulk(const struct sockaddr_in *sin)
{
	static char buf[BULK_BUF];
	struct bulk_result res;
	uint64_t sent = 0, got;
	double t0, t1, secs;
	struct header h;
	long retrans;
	int fd;

	fd = client_connect(sin);
	if (fd < 0) {
		perror("ktpperf: connect");
		return EXIT_RUN;
	}
	memset(buf, 0x5a, sizeof(buf));
	fill_header(&h, MODE_BULK);
	t0 = now();
	if (write_all(fd, &h, sizeof(h)))
		goto err;
	for (;;) {
		size_t n = sizeof(buf);

		if (opt.count) {
			if (sent >= opt.count)
				break;
			if (opt.count - sent < n)
				n = opt.count - sent;
		} else if (now() - t0 >= opt.seconds) {
			break;
		}
		if (write_all(fd, buf, n))
			goto err;
		sent += n;
	}
	if (shutdown(fd, SHUT_WR))
		goto err;
	if (read_all(fd, &res, sizeof(res)) != 1)
		goto err;
	t1 = now();
	retrans = retransmits(fd, opt.tcp);
	close(fd);

	got = be64toh(res.bytes);
	secs = t1 - t0;
	table_header();
	if (opt.json)
		printf("{\"proto\":\"%s\",\"mode\":\"bulk\",\"seconds\":%.3f,"
		       "\"bytes\":%llu,\"mbps\":%.2f,\"server_seconds\":%.3f,"
		       "\"retrans\":%ld}\n", proto_name(), secs,
		       (unsigned long long)got, got * 8 / secs / 1e6,
		       be64toh(res.usecs) / 1e6, retrans);
	else
		printf("%-5s %-5s %9.2f s %14llu bytes %10.2f Mbit/s "
		       "%8ld retrans\n", proto_name(), "bulk", secs,
		       (unsigned long long)got, got * 8 / secs / 1e6,
		       retrans);
	if (got != sent) {
		fprintf(stderr, "ktpperf: sent %llu bytes, server got %llu\n",
			(unsigned long long)sent, (unsigned long long)got);
		return EXIT_RUN;
	}
	return 0;
err:
	perror("ktpperf: bulk");
	close(fd);
	return EXIT_RUN;
}

struct samples {
	uint32_t *v;
	size_t n, cap;
};

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

static int transaction(int fd, char *buf)
{
	if (write_all(fd, buf, opt.size))
		return -1;
	return read_all(fd, buf, opt.size) == 1 ? 0 : -1;
}

static int done(uint64_t n, double t0)
{
	if (opt.count)
		return n >= opt.count;
	return now() - t0 >= opt.seconds;
}

static int run_rr(const struct sockaddr_in *sin, int mode)
{
	struct samples s = { 0 };
	long retrans = 0;
	uint64_t n = 0;
	double t0, secs;
	struct header h;
	char *buf;
	int fd = -1, ret = 0;

	buf = malloc(sizeof(h) + opt.size);
	if (!buf)
		return EXIT_RUN;
	memset(buf, 0x5a, sizeof(h) + opt.size);
	fill_header(&h, mode);
	t0 = now();
	if (mode == MODE_RR) {
		fd = client_connect(sin);
		if (fd < 0 || write_all(fd, &h, sizeof(h)))
			goto err;
		set_nodelay(fd, opt.tcp);
	}
	while (!done(n, t0)) {
		double t = now();

		if (mode == MODE_CRR) {
			fd = client_connect(sin);
			if (fd < 0)
				goto err;
			set_nodelay(fd, opt.tcp);
			/* header and request in one write */
			memcpy(buf, &h, sizeof(h));
			if (write_all(fd, buf, sizeof(h) + opt.size) ||
			    read_all(fd, buf + sizeof(h), opt.size) != 1)
				goto err;
			retrans += retransmits(fd, opt.tcp);
			close(fd);
			fd = -1;
		} else if (transaction(fd, buf)) {
			goto err;
		}
		sample_add(&s, (now() - t) * 1e6);
		n++;
	}
	secs = now() - t0;
	if (mode == MODE_RR) {
		retrans = retransmits(fd, opt.tcp);
		close(fd);
	}
	goto report;
err:
	perror(mode == MODE_RR ? "ktpperf: rr" : "ktpperf: crr");
	if (fd >= 0)
		close(fd);
	secs = now() - t0;
	ret = EXIT_RUN;
report:
	qsort(s.v, s.n, sizeof(*s.v), cmp_u32);
	table_header();
	if (opt.json)
		printf("{\"proto\":\"%s\",\"mode\":\"%s\",\"size\":%u,"
		       "\"seconds\":%.3f,\"transactions\":%llu,\"tps\":%.1f,"
		       "\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u,"
		       "\"retrans\":%ld,\"ok\":%s}\n", proto_name(),
		       mode_names[mode], opt.size, secs, (unsigned long long)n,
		       n / secs, percentile(&s, 50), percentile(&s, 99),
		       percentile(&s, 100), retrans, ret ? "false" : "true");
	else
		printf("%-5s %-5s %9.2f s %14llu trans  %10.1f trans/s "
		       "p50 %u us p99 %u us %ld retrans\n", proto_name(),
		       mode_names[mode], secs, (unsigned long long)n, n / secs,
		       percentile(&s, 50), percentile(&s, 99), retrans);
	free(s.v);
	free(buf);
	return ret;
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

static int run_client(void)
{
	struct sockaddr_in sin;

	if (resolve(opt.host, &sin)) {
		fprintf(stderr, "ktpperf: %s is not an IPv4 address\n",
			opt.host);
		return EXIT_USAGE;
	}
	if (!opt.time_bound)
		opt.time_bound = (opt.count ? 60 : (int)opt.seconds) + 30;
	alarm(opt.time_bound);
	if (opt.mode == MODE_BULK)
		return run_bulk(&sin);
	return run_rr(&sin, opt.mode);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: ktpperf -s [-p PORT] [-B ADDR] [-t SECONDS]\n"
"       ktpperf -c ADDR [-p PORT] [-t SECONDS | -n COUNT]\n"
"               [--mode bulk|rr|crr] [--size N] [--tcp] [--json]\n"
"               [--timeout SECONDS]\n"
"\n"
"  -s             server: KTP and TCP on the same port, one client at a time\n"
"  -c ADDR        client of the server at this IPv4 address\n"
"  -p PORT        port (default %d)\n"
"  -B ADDR        server: listen on this address only\n"
"  -t SECONDS     client: run this long (default 10); server: exit after\n"
"  -n COUNT       client: bytes (bulk) or transactions (rr, crr) instead\n"
"  --mode MODE    bulk: one-way throughput; rr: request/response rate and\n"
"                 latency; crr: connect/request/response/close rate\n"
"  --size N       rr/crr message size in bytes (default 1)\n"
"  --tcp          Linux TCP instead of KTP\n"
"  --json         one JSON object per run\n"
"  --timeout S    client: hard bound of the run (default -t + 30)\n"
"\n"
"exit: 0 done, 1 the run failed, 2 usage, 3 time bound hit\n",
		DEFAULT_PORT);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 'S' },
		{ "tcp", no_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, have_t = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "sc:p:B:t:n:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			opt.server = 1;
			break;
		case 'c':
			opt.host = optarg;
			break;
		case 'p':
			opt.port = strtol(optarg, &end, 10);
			if (*end || opt.port <= 0 || opt.port > 65535)
				goto bad;
			break;
		case 'B':
			opt.bind_addr = optarg;
			break;
		case 't':
			opt.seconds = strtod(optarg, &end);
			if (*end || opt.seconds <= 0)
				goto bad;
			have_t = 1;
			break;
		case 'n':
			opt.count = strtoull(optarg, &end, 10);
			if (*end || !opt.count)
				goto bad;
			break;
		case 'm':
			for (opt.mode = MODE_CRR; opt.mode; opt.mode--)
				if (!strcmp(optarg, mode_names[opt.mode]))
					break;
			if (!opt.mode)
				goto bad;
			break;
		case 'S':
			opt.size = strtoul(optarg, &end, 10);
			if (*end || !opt.size || opt.size > MAX_SIZE)
				goto bad;
			break;
		case 'T':
			opt.tcp = 1;
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'O':
			opt.time_bound = strtol(optarg, &end, 10);
			if (*end || opt.time_bound <= 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || opt.server == !!opt.host ||
	    (have_t && opt.count))
		goto bad;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (opt.server) {
		if (have_t)
			opt.time_bound = (int)opt.seconds;
		return run_server();
	}
	return run_client();
bad:
	usage(stderr);
	return EXIT_USAGE;
}
