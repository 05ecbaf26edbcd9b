/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the socket-level KTP selftests (ktp_lifecycle.c,
 * ktp_sockapi.c): loopback connections with time-bounded calls, states
 * from KTP_INFO, counters from /proc/net/ktp_snmp, sysctls that every
 * test gets back as the program found them, and private network
 * namespaces for tests that need netem on the loopback.
 *
 * Include after kselftest_harness.h. Every blocking call these helpers
 * make is bounded (SO_RCVTIMEO/SO_SNDTIMEO or a poll time-out), so a
 * misbehaving module fails an assertion instead of hanging the harness.
 */
#ifndef KTP_SELFTEST_H
#define KTP_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/ktp.h>
#include "ktp.h"

/* How long any single blocking socket call may take in a test. */
#define KTP_IO_TIMEOUT_MS	5000

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms <= 0)
		return;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline struct sockaddr_in lo_addr(unsigned short port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/*
 * The family of the sockets the helpers below make: AF_INET, or AF_INET6
 * when the program runs with KTP_TEST_FAMILY=6 (the *_ipv6.sh wrappers run
 * the same tests over IPv6 that way). A test about IPv4 addresses as such
 * skips then; ktp_ipv6.c has IPv6's.
 */
static int ktp_test_family = AF_INET;

static void __attribute__((constructor)) ktp_test_family_init(void)
{
	const char *f = getenv("KTP_TEST_FAMILY");

	if (f && !strcmp(f, "6"))
		ktp_test_family = AF_INET6;
}

/* The loopback address of @family, with @port; its length. */
static inline socklen_t lo_sockaddr_of(struct sockaddr_storage *ss,
				       int family, unsigned short port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
	*(struct sockaddr_in *)ss = lo_addr(port);
	return sizeof(struct sockaddr_in);
}

/* The same in the test family. */
static inline socklen_t lo_sockaddr(struct sockaddr_storage *ss,
				    unsigned short port)
{
	return lo_sockaddr_of(ss, ktp_test_family, port);
}

/* SO_RCVTIMEO or SO_SNDTIMEO in milliseconds. */
static inline int set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* @fd (a new socket, or -1), its blocking calls bounded by
 * KTP_IO_TIMEOUT_MS; -1 (and @fd closed) if that failed.
 */
static inline int sock_bounded(int fd)
{
	if (fd < 0)
		return -1;
	if (set_timeo(fd, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS) ||
	    set_timeo(fd, SO_SNDTIMEO, KTP_IO_TIMEOUT_MS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A KTP socket of @family whose blocking calls give up after
 * KTP_IO_TIMEOUT_MS.
 */
static inline int ktp_sock_family(int family, int flags)
{
	return sock_bounded(ktp_socket_flags(family, flags));
}

/* The same in the test family. */
static inline int ktp_sock(int flags)
{
	return ktp_sock_family(ktp_test_family, flags);
}

static inline int bind_port(int fd, unsigned short port)
{
	struct sockaddr_storage ss;
	socklen_t len = lo_sockaddr(&ss, port);

	return bind(fd, (struct sockaddr *)&ss, len);
}

static inline int connect_port(int fd, unsigned short port)
{
	struct sockaddr_storage ss;
	socklen_t len = lo_sockaddr(&ss, port);

	return connect(fd, (struct sockaddr *)&ss, len);
}

/* The local (or, with @peer, remote) port of @fd; 0 on error. The port
 * sits at the same place in sockaddr_in and sockaddr_in6.
 */
static inline unsigned short sock_port(int fd, int peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	if (peer)
		err = getpeername(fd, (struct sockaddr *)&ss, &len);
	else
		err = getsockname(fd, (struct sockaddr *)&ss, &len);
	return err ? 0 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * A listener on 127.0.0.1 and a port the kernel picks (or @port), its
 * accepts bounded in time; the port in *@port. Returns the fd or -1.
 */
static inline int ktp_listener(int backlog, unsigned short *port)
{
	int fd = ktp_sock(0);

	if (fd < 0)
		return -1;
	if (bind_port(fd, *port) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	*port = sock_port(fd, 0);
	return fd;
}

/* A blocking connect to 127.0.0.1:@port; the fd or -1 with errno. */
static inline int ktp_dial(unsigned short port)
{
	int fd = ktp_sock(0), err;

	if (fd < 0)
		return -1;
	if (connect_port(fd, port)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Connect to the listener @lfd on @port and accept: 0 or -1. */
static inline int ktp_pair(int lfd, unsigned short port, int *cli, int *srv)
{
	*cli = ktp_dial(port);
	if (*cli < 0)
		return -1;
	*srv = accept(lfd, NULL, NULL);
	if (*srv < 0) {
		close(*cli);
		*cli = -1;
		return -1;
	}
	return 0;
}

/* The connection state KTP_INFO reports, or -1. */
static inline int ktp_state(int fd)
{
	struct ktp_info info;

	if (ktp_info(fd, &info))
		return -1;
	return info.ktpi_state;
}

static inline const char *state_str(int state)
{
	const char *name = ktp_state_name(state);

	return name ? name : "?";
}

/* Wait up to @ms for @fd to reach @want; returns the state it has then. */
static inline int wait_state(int fd, int want, int ms)
{
	long long end = now_ms() + ms;
	int state;

	for (;;) {
		state = ktp_state(fd);
		if (state == want || now_ms() >= end)
			return state;
		sleep_ms(5);
	}
}

/* Wait until everything @fd sent is acknowledged; 0 or -1. */
static inline int wait_acked(int fd, int ms)
{
	long long end = now_ms() + ms;
	struct ktp_info info;

	do {
		if (ktp_info(fd, &info))
			return -1;
		if (info.ktpi_snd_una == info.ktpi_snd_nxt)
			return 0;
		sleep_ms(5);
	} while (now_ms() < end);
	return -1;
}

/* poll() for @events on @fd for up to @ms; the revents, 0 on time-out. */
static inline short poll_events(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	return pfd.revents;
}

/* The poll bits the tests look at, as poll() has them now. */
#define POLL_SEEN	(POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR)

static inline short poll_now(int fd)
{
	return poll_events(fd, POLLIN | POLLOUT | POLLRDHUP, 0) & POLL_SEEN;
}

/* Set SO_LINGER {1, 0}: close() then aborts with a RST. */
static inline int set_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/*
 * Abort the connection of *@fd with a RST and close it (*@fd becomes -1),
 * then wait up to 2 s for @peer, unless it is -1, to be CLOSED by the
 * RST. Returns 0, or -1 if any of that failed.
 */
static inline int abort_close(int *fd, int peer)
{
	int err = set_linger0(*fd);

	err |= close(*fd);
	*fd = -1;
	if (err)
		return -1;
	if (peer >= 0 && wait_state(peer, KTP_CLOSE, 2000) != KTP_CLOSE)
		return -1;
	return 0;
}

static inline int set_int_opt(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static inline int sock_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -1;
	return err;
}

/* One counter of /proc/net/ktp_snmp (this netns), or -1. */
static inline long snmp_get(const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f;

	f = fopen("/proc/net/ktp_snmp", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2) {
		if (!strcmp(key, name)) {
			found = val;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Wait up to @ms for counter @name to reach @want; returns its value. */
static inline long wait_snmp(const char *name, long want, int ms)
{
	long long end = now_ms() + ms;
	long val;

	for (;;) {
		val = snmp_get(name);
		if (val >= want || now_ms() >= end)
			return val;
		sleep_ms(10);
	}
}

static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static inline int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * The sysctls tests change. Their values are taken once when the program
 * starts, in the harness's parent, so every test (a forked child) can
 * put them back in its setup and teardown, even after a test before it
 * was killed half-way.
 */
static struct {
	const char *path;
	char val[64];
	int saved;
} ktp_sysctls[] = {
	{ "/proc/sys/net/ktp/syn_retries" },
	{ "/proc/sys/net/ktp/synack_retries" },
	{ "/proc/sys/net/ktp/retries2" },
	{ "/proc/sys/net/ktp/fin_timeout" },
	{ "/proc/sys/net/ktp/tw_timeout" },
	{ "/proc/sys/net/ktp/mem" },
	{ "/proc/sys/net/ktp/rmem" },
	{ "/proc/sys/net/ktp/wmem" },
	{ "/proc/sys/net/ipv4/ip_local_port_range" },
	{ "/proc/sys/net/ipv4/ip_unprivileged_port_start" },
};

static void __attribute__((constructor)) ktp_sysctls_save(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(ktp_sysctls); i++)
		ktp_sysctls[i].saved = !read_file(ktp_sysctls[i].path,
						  ktp_sysctls[i].val,
						  sizeof(ktp_sysctls[i].val));
}

static inline void ktp_sysctls_restore(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(ktp_sysctls); i++)
		if (ktp_sysctls[i].saved)
			write_file(ktp_sysctls[i].path, ktp_sysctls[i].val);
}

/*
 * The module's reference count as the program found it. TIME_WAIT entries
 * hold references (as DCCP's do) until they expire, so the harness's
 * parent, on its way out, waits for the last of them, a few seconds at
 * most: the program leaves the module as unloadable as it found it, or
 * fails (a leaked socket or reference).
 */
#define KTP_REFCNT	"/sys/module/ktp/refcnt"

static long ktp_refs_at_start = -1;

static inline long ktp_refs(void)
{
	char buf[32];

	if (read_file(KTP_REFCNT, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static void __attribute__((constructor)) ktp_refs_save(void)
{
	ktp_refs_at_start = ktp_refs();
}

static void __attribute__((destructor)) ktp_refs_wait(void)
{
	long long t0 = now_ms();

	while (ktp_refs() > ktp_refs_at_start && now_ms() - t0 < 15000)
		sleep_ms(100);
	if (ktp_refs() > ktp_refs_at_start) {
		printf("# module references: %ld at start, %ld at exit: "
		       "a socket or reference leaked\n",
		       ktp_refs_at_start, ktp_refs());
		fflush(stdout);
		_exit(KSFT_FAIL);
	}
}

/* Write a sysctl by its name under /proc/sys/net/: "ktp/fin_timeout". */
static inline int sysctl_set(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	return write_file(path, val);
}

/*
 * Whether the local route of @addr (v4 or v6, as text) is in this
 * namespace's local table, within @ms: 0 or -1. An address added with
 * "nodad" is a source at once, but addrconf's work inserts its local
 * route later (on a loaded TCG VM, after the test's first segment has
 * come back): until then the kernel drops what arrives for it
 * (Ip6InAddrErrors).
 */
static inline int wait_local_route(const char *addr, int ms)
{
	long long end = now_ms() + ms;
	char cmd[160], line[256];
	FILE *f;
	int found;

	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/ip %s route show table local %s 2>/dev/null",
		 strchr(addr, ':') ? "-6" : "-4", addr);
	for (;;) {
		f = popen(cmd, "r");
		if (!f)
			return -1;
		found = fgets(line, sizeof(line), f) && !strncmp(line, "local ", 6);
		pclose(f);
		if (found)
			return 0;
		if (now_ms() >= end)
			return -1;
		poll(NULL, 0, 10);
	}
}

/*
 * A byte stream both ends can recompute: byte i of stream @seed is a
 * byte of splitmix64(seed + i / 8), so a receiver checks every byte
 * whatever the segment boundaries were.
 */
static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline void pattern_fill(unsigned char *buf, size_t len,
				uint64_t seed, uint64_t off)
{
	uint64_t word = splitmix64(seed + off / 8);
	size_t i;

	for (i = 0; i < len; i++, off++) {
		if (i && !(off & 7))
			word = splitmix64(seed + off / 8);
		buf[i] = word >> ((off & 7) * 8);
	}
}

/* FNV-1a, 64 bits: @h is the running digest (start with FNV_INIT). */
#define FNV_INIT	0xcbf29ce484222325ULL

static inline uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * One direction of a transfer, run by stream_send() or stream_recv() in
 * a thread of its own: @len bytes of pattern @seed, with the digest of
 * what went through and, for the receiver, where it first differed from
 * the pattern. Both stop at @deadline (now_ms()) at the latest.
 */
struct ktp_stream {
	int fd;
	size_t len;
	uint64_t seed;
	long long deadline;
	size_t done;
	int err;
	uint64_t digest;
	size_t bad_at;
};

#define STREAM_CHUNK	(64 * 1024)

static inline void *stream_send(void *arg)
{
	struct ktp_stream *st = arg;
	unsigned char *buf = malloc(STREAM_CHUNK);
	ssize_t n;
	size_t want;

	st->digest = FNV_INIT;
	while (buf && st->done < st->len && now_ms() < st->deadline) {
		want = st->len - st->done;
		if (want > STREAM_CHUNK)
			want = STREAM_CHUNK;
		pattern_fill(buf, want, st->seed, st->done);
		n = send(st->fd, buf, want, MSG_NOSIGNAL);
		if (n <= 0) {
			st->err = n ? errno : EIO;
			break;
		}
		st->digest = fnv1a(st->digest, buf, n);
		st->done += n;
	}
	if (st->done < st->len && !st->err)
		st->err = buf ? ETIMEDOUT : ENOMEM;
	free(buf);
	return NULL;
}

static inline void *stream_recv(void *arg)
{
	struct ktp_stream *st = arg;
	unsigned char *buf = malloc(STREAM_CHUNK), *want = malloc(STREAM_CHUNK);
	ssize_t n, i;

	st->digest = FNV_INIT;
	st->bad_at = st->len;
	while (buf && want && st->done < st->len &&
	       now_ms() < st->deadline) {
		n = recv(st->fd, buf, STREAM_CHUNK, 0);
		if (n <= 0) {
			st->err = n ? errno : EPIPE;	/* EPIPE: early EOF */
			break;
		}
		pattern_fill(want, n, st->seed, st->done);
		if (st->bad_at == st->len && memcmp(buf, want, n)) {
			for (i = 0; buf[i] == want[i]; i++)
				;
			st->bad_at = st->done + i;
		}
		st->digest = fnv1a(st->digest, buf, n);
		st->done += n;
	}
	if (st->done < st->len && !st->err)
		st->err = buf && want ? ETIMEDOUT : ENOMEM;
	free(want);
	free(buf);
	return NULL;
}

/*
 * Move the calling test into a network namespace of its own with the
 * loopback up and, if @netem is not NULL, "tc qdisc add dev lo root netem
 * @netem". The namespace, its sysctls and counters die with the test.
 * Returns 0, or -1 with *@why saying what is missing: the test VM has
 * everything, so the caller fails.
 */
static inline int private_netns(const char *netem, const char **why)
{
	struct ifreq ifr;
	char cmd[256];
	int fd;

	if (unshare(CLONE_NEWNET)) {
		*why = "unshare(CLONE_NEWNET) failed";
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = "no AF_INET socket";
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			ifr.ifr_flags = 0;
	}
	close(fd);
	if (!(ifr.ifr_flags & IFF_UP)) {
		*why = "cannot bring lo up";
		return -1;
	}
	if (!netem)
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/tc qdisc add dev lo root netem %s >/dev/null 2>&1",
		 netem);
	if (system(cmd)) {
		*why = "tc netem is not available";
		return -1;
	}
	return 0;
}

/*
 * The fixture of most tests: a listener on 127.0.0.1 (lfd, port) and room
 * for one connection (cli, srv). Every test starts and ends with the
 * sysctls as the program found them, and with SIGPIPE ignored: a test
 * that wants it installs its own handler.
 *
 * A TIME_WAIT entry pins the module (as DCCP's do), and a test program
 * must leave nothing behind that stops the next one from unloading it:
 * during a test, net.ktp.tw_timeout is 1 s (a test that needs longer sets
 * its own), and teardown aborts what the test left open with a RST.
 */
static inline unsigned long fd_inode(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) ? 0 : sb.st_ino;
}

/*
 * Abort the connection ends a test left open with a RST, so that they
 * leave no TIME_WAIT entry behind, and close its listener; -1 each.
 */
static inline void close_conn(int *lfd, int *cli, int *srv)
{
	if (*cli >= 0)
		abort_close(cli, -1);
	if (*srv >= 0)
		abort_close(srv, -1);
	if (*lfd >= 0)
		close(*lfd);
	*lfd = -1;
}

FIXTURE(conn) {
	int lfd, cli, srv;
	unsigned short port;
};

FIXTURE_SETUP(conn)
{
	ktp_sysctls_restore();
	signal(SIGPIPE, SIG_IGN);
	self->cli = -1;
	self->srv = -1;
	self->port = 0;
	ASSERT_EQ(0, sysctl_set("ktp/tw_timeout", "1"));
	self->lfd = ktp_listener(16, &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
}

FIXTURE_TEARDOWN(conn)
{
	close_conn(&self->lfd, &self->cli, &self->srv);
	ktp_sysctls_restore();
}

/*
 * The same in a network namespace of the test's own, for tests that read
 * what the kernel lists (/proc/net/ktp, sock_diag): they see only what
 * they made, and the namespace's sysctls die with it.
 */
FIXTURE(ns) {
	int lfd, cli, srv;
	unsigned short port;
};

FIXTURE_SETUP(ns)
{
	const char *why;

	self->lfd = self->cli = self->srv = -1;
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, sysctl_set("ktp/tw_timeout", "1"));
	self->port = 0;
	self->lfd = ktp_listener(16, &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
}

FIXTURE_TEARDOWN(ns)
{
	close_conn(&self->lfd, &self->cli, &self->srv);
}

#endif /* KTP_SELFTEST_H */
