// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_xfer: move N bytes in both directions at once over one connection
 * and prove they arrived intact. The helper of ktp_transfer.sh.
 *
 *   ktp_xfer -l [-p PORT] [options]	accept one connection, then transfer
 *   ktp_xfer -c ADDR [-p PORT] [options]	connect (retrying while refused)
 *
 * Options:
 *   -n BYTES	bytes to send (K, M suffixes; default 4M)
 *   -r BYTES	bytes expected from the peer (default: as -n)
 *   -t SECS	hard time bound of the whole run (default 60)
 *   -b BYTES	read at most this much a recv() call (default 64K)
 *   -z SECS	stop reading for SECS after the first -Z bytes arrived
 *   -Z BYTES	see -z (default 64K)
 *   -m BYTES	print "# ROLE: progress" once BYTES arrived (for the caller
 *		to act mid-transfer)
 *   -E ERRNO	the transfer must fail with this error (ETIMEDOUT, ...)
 *   -K I,N,C	SO_KEEPALIVE with KTP_KEEPIDLE I, KTP_KEEPINTVL N and
 *		KTP_KEEPCNT C (seconds, seconds, probes); the side keeps its
 *		half open after sending, so the connection goes idle
 *   -T		use TCP instead of KTP (checks the harness itself)
 *   -6		IPv6: KTPPROTO_KTP6 sockets, ADDR an IPv6 address
 *   -M MSS	KTP_MAXSEG (TCP_MAXSEG with -T) before listen() or connect():
 *		this side's segments, and the MSS it offers, at most MSS
 *
 * Each direction carries a pseudo-random stream (xorshift64*, seeded by
 * the direction), so the receiver knows what it must get: it compares
 * every byte as it arrives and digests both what it sent and what it
 * received with 64-bit FNV-1a. One thread sends while the main thread
 * receives; both run until the stream ends (the sender shuts down its
 * side), then the program waits, within the time bound, until the peer
 * acknowledged everything and reads KTP_INFO. The last line of stdout is
 *
 *   ktp_xfer: role=R sent=N sent_fnv=X recv=N recv_fnv=X expect_fnv=X
 *	       elapsed_ms=N total_retrans=N rto_us=N srtt_us=N err=E result=R
 *
 * Exit status: 0 the transfer did what was asked, 1 mismatch or a wrong
 * outcome, 2 usage or setup error, 124 the time bound hit (a line saying
 * how far it got is printed first).
 */
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ktp.h"

#define CHUNK		(64 * 1024)
#define SEED_C2S	0x6b74702d63327331ULL	/* client to server */
#define SEED_S2C	0x6b74702d73326331ULL	/* server to client */
#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_SETUP = 2, EXIT_TIMEOUT = 124 };

/* A pseudo-random byte stream that can be read in pieces of any size. */
struct stream {
	uint64_t state;
	unsigned char buf[CHUNK];
	size_t pos, len;
};

static struct {
	const char *addr;
	int listen;
	int port;
	uint64_t send_bytes;
	uint64_t recv_bytes;
	int time_bound;
	int pause_sec;
	uint64_t pause_after;
	uint64_t mark;
	uint64_t read_size;
	int expect_err;
	int tcp;
	int v6;
	int maxseg;
	int keep_idle, keep_intvl, keep_cnt;
} opt = {
	.port = 7007,
	.send_bytes = 4 << 20,
	.recv_bytes = UINT64_MAX,
	.time_bound = 60,
	.pause_after = 64 << 10,
	.mark = UINT64_MAX,
	.read_size = CHUNK,
};

static const char *role;
static int sock_fd = -1;
static volatile uint64_t sent_so_far, recv_so_far;
static int send_err;
static uint64_t sent_fnv = FNV_OFFSET;

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return h;
}

static void stream_init(struct stream *s, uint64_t seed)
{
	s->state = seed;
	s->pos = 0;
	s->len = 0;
}

/* Refill with whole 64-bit words; CHUNK is a multiple of 8. */
static void stream_refill(struct stream *s)
{
	uint64_t x = s->state;
	size_t i;

	for (i = 0; i < CHUNK; i += 8) {
		uint64_t v;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dULL;
		memcpy(s->buf + i, &v, 8);
	}
	s->state = x;
	s->pos = 0;
	s->len = CHUNK;
}

/* The next @n bytes of the stream, n <= CHUNK; may return fewer. */
static const unsigned char *stream_next(struct stream *s, size_t *n)
{
	const unsigned char *p;

	if (s->pos == s->len)
		stream_refill(s);
	if (*n > s->len - s->pos)
		*n = s->len - s->pos;
	p = s->buf + s->pos;
	s->pos += *n;
	return p;
}

static const char *errname(int err)
{
	static char buf[16];

	switch (err) {
	case 0: return "none";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNRESET: return "ECONNRESET";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EPIPE: return "EPIPE";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	}
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

static int errnum(const char *name)
{
	static const int known[] = { ETIMEDOUT, ECONNRESET, ECONNREFUSED,
				     EPIPE, EHOSTUNREACH, ENETUNREACH };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, errname(known[i])))
			return known[i];
	return atoi(name);
}

/* Async-signal-safe decimal, for the time-out message. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* Close with a RST rather than a FIN: a transfer that did not finish
 * leaves no orphan behind to retransmit (and hold the module) for minutes.
 */
static void abort_socket(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (sock_fd >= 0)
		setsockopt(sock_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void on_alarm(int sig)
{
	char buf[160], *p = buf;

	(void)sig;
	abort_socket();
	p = put_str(p, "ktp_xfer: role=");
	p = put_str(p, role);
	p = put_str(p, " sent=");
	p = put_u64(p, sent_so_far);
	p = put_str(p, " recv=");
	p = put_u64(p, recv_so_far);
	p = put_str(p, " result=timeout after ");
	p = put_u64(p, opt.time_bound);
	p = put_str(p, "s\n");
	if (write(STDOUT_FILENO, buf, p - buf) < 0)
		_exit(EXIT_TIMEOUT);
	_exit(EXIT_TIMEOUT);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int new_socket(void)
{
	int family = opt.v6 ? AF_INET6 : AF_INET;
	int fd;

	fd = opt.tcp ? socket(family, SOCK_STREAM, 0) : ktp_socket(family);
	if (fd >= 0 && opt.maxseg &&
	    setsockopt(fd, opt.tcp ? IPPROTO_TCP : SOL_KTP,
		       opt.tcp ? TCP_MAXSEG : KTP_MAXSEG, &opt.maxseg,
		       sizeof(opt.maxseg))) {
		perror("ktp_xfer: MAXSEG");
		close(fd);
		return -1;
	}
	return fd;
}

/* The address to listen on or connect to: IPv4, or IPv6 with -6. */
static socklen_t make_addr(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (opt.v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(opt.port);
		if (inet_pton(AF_INET6, ip ? ip : "::", &sin6->sin6_addr) != 1)
			return 0;
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(opt.port);
	if (inet_pton(AF_INET, ip ? ip : "0.0.0.0", &sin->sin_addr) != 1)
		return 0;
	return sizeof(*sin);
}

static int do_listen(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, NULL);
	int one = 1, lfd, fd;

	lfd = new_socket();
	if (lfd < 0) {
		perror("ktp_xfer: socket");
		return -1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 1)) {
		perror("ktp_xfer: bind/listen");
		close(lfd);
		return -1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		perror("ktp_xfer: accept");
	close(lfd);
	return fd;
}

/* Connect, retrying while the server is not listening yet. */
static int do_connect(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, opt.addr);
	int fd;

	if (!len) {
		fprintf(stderr, "ktp_xfer: bad address %s\n", opt.addr);
		return -1;
	}
	for (;;) {
		fd = new_socket();
		if (fd < 0) {
			perror("ktp_xfer: socket");
			return -1;
		}
		if (!connect(fd, (struct sockaddr *)&ss, len))
			return fd;
		if (errno != ECONNREFUSED) {
			perror("ktp_xfer: connect");
			close(fd);
			return -1;
		}
		close(fd);
		usleep(100 * 1000);	/* the alarm bounds the retries */
	}
}

struct info {
	uint32_t total_retrans, rto, srtt;
	int state_closed;
	int all_acked;
};

static int get_info(int fd, struct info *out);

/* Keepalive runs: once all we sent is acknowledged, say so; the caller
 * cuts the link when both ends are idle.
 */
static void wait_idle(int fd)
{
	struct info info;

	while (!get_info(fd, &info) && !info.all_acked && !info.state_closed)
		usleep(10 * 1000);	/* the alarm bounds the wait */
	printf("# %s: idle, all acknowledged\n", role);
}

static void *sender(void *arg)
{
	int fd = *(int *)arg;
	struct stream *s;
	uint64_t left = opt.send_bytes;

	s = malloc(sizeof(*s));
	if (!s) {
		send_err = ENOMEM;
		return NULL;
	}
	stream_init(s, opt.listen ? SEED_S2C : SEED_C2S);
	while (left) {
		size_t n = left < CHUNK ? left : CHUNK;
		const unsigned char *p = stream_next(s, &n);
		size_t off = 0;

		while (off < n) {
			ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				send_err = errno;
				goto out;
			}
			off += w;
			sent_so_far += w;
		}
		sent_fnv = fnv1a(sent_fnv, p, n);
		left -= n;
	}
	/* with keepalive the connection stays open and goes idle */
	if (opt.keep_idle)
		wait_idle(fd);
	else if (shutdown(fd, SHUT_WR))
		send_err = errno;
out:
	free(s);
	return NULL;
}

static int get_info(int fd, struct info *out)
{
	memset(out, 0, sizeof(*out));
	if (opt.tcp) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);
		int outq = 0;

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		out->total_retrans = ti.tcpi_total_retrans;
		out->rto = ti.tcpi_rto;
		out->srtt = ti.tcpi_rtt;
		out->state_closed = ti.tcpi_state == TCP_CLOSE;
		/* SIOCOUTQ: bytes sent or queued, not yet acknowledged */
		if (ioctl(fd, SIOCOUTQ, &outq))
			return -1;
		out->all_acked = !outq;
	} else {
		struct ktp_info ki;

		if (ktp_info(fd, &ki))
			return -1;
		out->total_retrans = ki.ktpi_total_retrans;
		out->rto = ki.ktpi_rto;
		out->srtt = ki.ktpi_srtt;
		out->state_closed = ki.ktpi_state == KTP_CLOSE;
		out->all_acked = ki.ktpi_snd_una == ki.ktpi_snd_nxt &&
				 !ki.ktpi_notsent_bytes;
	}
	return 0;
}

/* SO_KEEPALIVE and its three knobs, at KTP's level or TCP's. */
static int set_keepalive(int fd)
{
	int level = opt.tcp ? IPPROTO_TCP : SOL_KTP, one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(fd, level, opt.tcp ? TCP_KEEPIDLE : KTP_KEEPIDLE,
		       &opt.keep_idle, sizeof(int)) ||
	    setsockopt(fd, level, opt.tcp ? TCP_KEEPINTVL : KTP_KEEPINTVL,
		       &opt.keep_intvl, sizeof(int)) ||
	    setsockopt(fd, level, opt.tcp ? TCP_KEEPCNT : KTP_KEEPCNT,
		       &opt.keep_cnt, sizeof(int))) {
		perror("ktp_xfer: keepalive options");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ktp_xfer -l [-p PORT] [options]\n"
		"       ktp_xfer -c ADDR [-p PORT] [options]\n"
		"  -n BYTES  send this much (K/M/G suffixes; default 4M)\n"
		"  -r BYTES  expect this much from the peer (default: -n)\n"
		"  -t SECS   hard time bound (default 60)\n"
		"  -b BYTES  read at most this much a call (default 64K)\n"
		"  -z SECS   stop reading for SECS after -Z bytes (zero window)\n"
		"  -Z BYTES  see -z (default 64K)\n"
		"  -m BYTES  print \"# ROLE: progress\" once BYTES arrived\n"
		"  -E ERR    the transfer must fail with ERR (e.g. ETIMEDOUT)\n"
		"  -K I,N,C  keepalive: idle I s, interval N s, C probes; "
		"no FIN\n"
		"  -T        TCP instead of KTP\n"
		"  -6        IPv6 (ADDR is an IPv6 address)\n"
		"  -M MSS    KTP_MAXSEG (TCP_MAXSEG with -T) before listen/connect\n"
		"exit: 0 as asked, 1 mismatch or wrong outcome, 2 setup, "
		"124 time bound\n");
}

int main(int argc, char **argv)
{
	uint64_t recv_fnv = FNV_OFFSET, expect_fnv = FNV_OFFSET;
	uint64_t first_bad = UINT64_MAX, start, elapsed;
	static unsigned char buf[CHUNK];
	int c, fd, recv_err = 0, paused = 0, ok;
	struct stream *expect;
	struct info info;
	pthread_t thr;

	while ((c = getopt(argc, argv, "lc:p:n:r:t:b:z:Z:m:E:K:T6M:h")) != -1) {
		switch (c) {
		case 'l': opt.listen = 1; break;
		case 'c': opt.addr = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'n':
			if (parse_size(optarg, &opt.send_bytes))
				goto bad;
			break;
		case 'r':
			if (parse_size(optarg, &opt.recv_bytes))
				goto bad;
			break;
		case 't': opt.time_bound = atoi(optarg); break;
		case 'b':
			if (parse_size(optarg, &opt.read_size) ||
			    !opt.read_size || opt.read_size > CHUNK)
				goto bad;
			break;
		case 'z': opt.pause_sec = atoi(optarg); break;
		case 'Z':
			if (parse_size(optarg, &opt.pause_after))
				goto bad;
			break;
		case 'm':
			if (parse_size(optarg, &opt.mark))
				goto bad;
			break;
		case 'E': opt.expect_err = errnum(optarg); break;
		case 'K':
			if (sscanf(optarg, "%d,%d,%d", &opt.keep_idle,
				   &opt.keep_intvl, &opt.keep_cnt) != 3 ||
			    opt.keep_idle <= 0 || opt.keep_intvl <= 0 ||
			    opt.keep_cnt <= 0)
				goto bad;
			break;
		case 'T': opt.tcp = 1; break;
		case '6': opt.v6 = 1; break;
		case 'M':
			opt.maxseg = atoi(optarg);
			if (opt.maxseg <= 0)
				goto bad;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: goto bad;
		}
	}
	if (opt.listen == !!opt.addr || optind != argc ||
	    opt.time_bound <= 0)
		goto bad;
	if (opt.recv_bytes == UINT64_MAX)
		opt.recv_bytes = opt.send_bytes;
	role = opt.listen ? "server" : "client";
	setvbuf(stdout, NULL, _IOLBF, 0);

	signal(SIGALRM, on_alarm);
	alarm(opt.time_bound);

	fd = opt.listen ? do_listen() : do_connect();
	if (fd < 0 || (opt.keep_idle && set_keepalive(fd)))
		return EXIT_SETUP;
	sock_fd = fd;
	expect = malloc(sizeof(*expect));
	if (!expect)
		return EXIT_SETUP;
	stream_init(expect, opt.listen ? SEED_C2S : SEED_S2C);

	start = now_ms();
	if (pthread_create(&thr, NULL, sender, &fd)) {
		fprintf(stderr, "ktp_xfer: pthread_create failed\n");
		return EXIT_SETUP;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, opt.read_size, 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			recv_err = errno;
			break;
		}
		if (!n)
			break;
		recv_fnv = fnv1a(recv_fnv, buf, n);
		while (off < (size_t)n) {
			size_t len = n - off;
			const unsigned char *want = stream_next(expect, &len);

			if (first_bad == UINT64_MAX &&
			    memcmp(want, buf + off, len)) {
				size_t i = 0;

				while (want[i] == buf[off + i])
					i++;
				first_bad = recv_so_far + off + i;
			}
			expect_fnv = fnv1a(expect_fnv, want, len);
			off += len;
		}
		if (recv_so_far < opt.mark && recv_so_far + n >= opt.mark)
			printf("# %s: progress %llu bytes\n", role,
			       (unsigned long long)opt.mark);
		recv_so_far += n;
		if (opt.pause_sec && !paused &&
		    recv_so_far >= opt.pause_after) {
			printf("# %s: reader paused for %d s at %llu bytes\n",
			       role, opt.pause_sec,
			       (unsigned long long)recv_so_far);
			sleep(opt.pause_sec);
			paused = 1;
		}
	}
	pthread_join(thr, NULL);
	elapsed = now_ms() - start;

	/* Everything we sent acknowledged, so the counters are final. */
	while (!recv_err && !send_err && !get_info(fd, &info) &&
	       !info.all_acked && !info.state_closed)
		usleep(10 * 1000);
	get_info(fd, &info);

	if (opt.expect_err)
		ok = recv_err == opt.expect_err || send_err == opt.expect_err;
	else
		ok = !recv_err && !send_err && first_bad == UINT64_MAX &&
		     sent_so_far == opt.send_bytes &&
		     recv_so_far == opt.recv_bytes;

	if (first_bad != UINT64_MAX)
		printf("# %s: first wrong byte at offset %llu\n", role,
		       (unsigned long long)first_bad);
	printf("ktp_xfer: role=%s sent=%llu sent_fnv=%016llx recv=%llu "
	       "recv_fnv=%016llx expect_fnv=%016llx elapsed_ms=%llu "
	       "total_retrans=%u rto_us=%u srtt_us=%u err=%s result=%s\n",
	       role, (unsigned long long)sent_so_far,
	       (unsigned long long)sent_fnv,
	       (unsigned long long)recv_so_far,
	       (unsigned long long)recv_fnv,
	       (unsigned long long)expect_fnv,
	       (unsigned long long)elapsed, info.total_retrans, info.rto,
	       info.srtt, errname(recv_err ? recv_err : send_err),
	       ok ? "ok" : "FAIL");
	if (!ok || recv_err || send_err)
		abort_socket();
	close(fd);
	return ok ? EXIT_OK : EXIT_BAD;
bad:
	usage(stderr);
	return EXIT_SETUP;
}
