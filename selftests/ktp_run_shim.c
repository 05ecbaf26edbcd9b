// SPDX-License-Identifier: GPL-2.0
/*
 * The ktp-run shim (libktp-run.so) as a program under it sees it. This is
 * the one dynamically linked test: ktp_run.sh runs it twice, as
 *
 *	ktp-run ./ktp_run_shim			every TCP socket is KTP
 *	ktp-run -p LO-HI ./ktp_run_shim		only those bound or
 *						connected to LO..HI
 *
 * and every test asserts what its mode promises: which sockets are KTP
 * (they answer KTP_INFO at SOL_KTP), that UDP and Unix sockets are left
 * alone, that type flags, fcntl flags and options survive, and what the
 * TCP-level options and TCP_INFO read on a KTP socket. Ports LO..LO+12 are
 * used as listed ones, LO+50.. as unlisted ones (both KTP without -p).
 */
#include <sys/un.h>
#include <linux/tcp.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"

/* TCP_ESTABLISHED of <netinet/tcp.h>, which clashes with <linux/tcp.h>. */
#define TCPS_ESTABLISHED	1

/* Without -p, the ports the tests use. */
#define BASE_PORT	20700
#define UNLISTED	50

/* LO of KTP_RUN_PORTS=LO-HI, or 0 when every socket is KTP. */
static unsigned short limited(void)
{
	const char *spec = getenv("KTP_RUN_PORTS");

	return spec ? strtoul(spec, NULL, 10) : 0;
}

static unsigned short port(int i)
{
	return (limited() ? : BASE_PORT) + i;
}

/* socket() with blocking calls bounded by KTP_IO_TIMEOUT_MS. */
static int sock(int domain, int type)
{
	int fd = socket(domain, type, 0);

	if (fd >= 0 && (set_timeo(fd, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS) ||
			set_timeo(fd, SO_SNDTIMEO, KTP_IO_TIMEOUT_MS))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Only a KTP socket answers at SOL_KTP: not through any mapping. */
static bool is_ktp(int fd)
{
	struct ktp_info info;
	socklen_t len = sizeof(info);

	return !getsockopt(fd, SOL_KTP, KTP_INFO, &info, &len);
}

static int get_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int val;

	if (getsockopt(fd, level, name, &val, &len))
		return -errno;
	return val;
}

static int listener(unsigned short p)
{
	int fd = sock(AF_INET, SOCK_STREAM);

	if (fd < 0)
		return -1;
	if (set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) || bind_port(fd, p) ||
	    listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Accept within the time bound, whatever the listener's O_NONBLOCK. */
static int accept_bounded(int lfd, int flags)
{
	if (!(poll_events(lfd, POLLIN, KTP_IO_TIMEOUT_MS) & POLLIN))
		return -1;
	return accept4(lfd, NULL, NULL, flags);
}

TEST(inet_stream_is_ktp)
{
	int fd, fd6;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	fd6 = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, fd6);
	if (!limited()) {
		EXPECT_TRUE(is_ktp(fd));
		EXPECT_TRUE(is_ktp(fd6));
	} else {
		/* TCP until the port is known; then KTP on the same fd */
		EXPECT_FALSE(is_ktp(fd));
		EXPECT_EQ(IPPROTO_TCP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
		ASSERT_EQ(0, bind_port(fd, port(0)));
		EXPECT_TRUE(is_ktp(fd));
		EXPECT_EQ(port(0), sock_port(fd, 0));
		EXPECT_FALSE(is_ktp(fd6));
	}
	close(fd);
	close(fd6);
}

TEST(type_flags_kept)
{
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	if (limited())
		ASSERT_EQ(0, bind_port(fd, port(1)));
	EXPECT_TRUE(is_ktp(fd));
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* and their absence, with O_NONBLOCK set later by fcntl() */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	if (limited())
		ASSERT_EQ(0, bind_port(fd, port(1) + 1));
	EXPECT_TRUE(is_ktp(fd));
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* IPv6 is KTPPROTO_KTP6 where the module has it, and EAFNOSUPPORT (as on
 * a system without IPv6) where it does not: never quietly TCP.
 */
TEST(inet6_is_ktp6_or_eafnosupport)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port(2)),
		.sin6_addr = IN6ADDR_LOOPBACK_INIT,
	};
	int fd, ret;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (!limited()) {
		if (fd < 0) {
			EXPECT_EQ(EAFNOSUPPORT, errno);
			TH_LOG("no KTP over IPv6 in this module: EAFNOSUPPORT");
		} else {
			EXPECT_TRUE(is_ktp(fd));
			close(fd);
		}
		return;
	}
	ASSERT_LE(0, fd);
	EXPECT_FALSE(is_ktp(fd));
	ret = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	if (ret) {
		EXPECT_EQ(EAFNOSUPPORT, errno);
		/* left as it was: a TCP socket */
		EXPECT_EQ(IPPROTO_TCP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
		TH_LOG("no KTP over IPv6 in this module: EAFNOSUPPORT");
	} else {
		EXPECT_TRUE(is_ktp(fd));
	}
	close(fd);
}

TEST(udp_and_unix_pass_through)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, fd);
	EXPECT_FALSE(is_ktp(fd));
	EXPECT_EQ(IPPROTO_UDP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
	/* a listed port does not change that */
	EXPECT_EQ(0, bind_port(fd, port(3)));
	EXPECT_FALSE(is_ktp(fd));
	EXPECT_EQ(IPPROTO_UDP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
	close(fd);

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	ASSERT_LE(0, fd);
	EXPECT_EQ(AF_INET6, get_int(fd, SOL_SOCKET, SO_DOMAIN));
	EXPECT_FALSE(is_ktp(fd));
	close(fd);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(AF_UNIX, get_int(fd, SOL_SOCKET, SO_DOMAIN));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/ktp_run_shim.%d",
		 getpid());
	unlink(sun.sun_path);
	EXPECT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	EXPECT_FALSE(is_ktp(fd));
	unlink(sun.sun_path);
	close(fd);
}

/* What SOL_SOCKET says of a KTP socket: an AF_INET TCP stream. */
TEST(so_protocol_reads_tcp)
{
	int fd = listener(port(4));

	ASSERT_LE(0, fd);
	ASSERT_TRUE(is_ktp(fd));
	EXPECT_EQ(IPPROTO_TCP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
	EXPECT_EQ(AF_INET, get_int(fd, SOL_SOCKET, SO_DOMAIN));
	EXPECT_EQ(SOCK_STREAM, get_int(fd, SOL_SOCKET, SO_TYPE));
	EXPECT_EQ(1, get_int(fd, SOL_SOCKET, SO_ACCEPTCONN));
	close(fd);
}

TEST(tcp_options_map_to_sol_ktp)
{
	static const struct { int tcp, ktp, val; } opts[] = {
		{ TCP_NODELAY,	 KTP_NODELAY,	1 },
		{ TCP_CORK,	 KTP_CORK,	1 },
		{ TCP_MAXSEG,	 KTP_MAXSEG,	1000 },
		{ TCP_KEEPIDLE,	 KTP_KEEPIDLE,	30 },
		{ TCP_KEEPINTVL, KTP_KEEPINTVL,	7 },
		{ TCP_KEEPCNT,	 KTP_KEEPCNT,	4 },
	};
	char cc[16] = "";
	socklen_t len;
	unsigned int i;
	int fd;

	fd = listener(port(5));
	ASSERT_LE(0, fd);
	ASSERT_TRUE(is_ktp(fd));
	for (i = 0; i < ARRAY_LEN(opts); i++) {
		EXPECT_EQ(0, set_int_opt(fd, IPPROTO_TCP, opts[i].tcp,
					 opts[i].val)) {
			TH_LOG("TCP option %d: %s", opts[i].tcp,
			       strerror(errno));
		}
		EXPECT_EQ(opts[i].val, get_int(fd, IPPROTO_TCP, opts[i].tcp));
		EXPECT_EQ(opts[i].val, get_int(fd, SOL_KTP, opts[i].ktp));
	}
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	len = sizeof(cc);
	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_STREQ("reno", cc);
	close(fd);
}

TEST(tcp_options_noop_or_refused)
{
	static const int noop[] = {
		TCP_QUICKACK, TCP_DEFER_ACCEPT, TCP_FASTOPEN, TCP_LINGER2,
		TCP_WINDOW_CLAMP, TCP_NOTSENT_LOWAT,
	};
	static const int refused[] = {
		TCP_USER_TIMEOUT, TCP_SYNCNT, TCP_MD5SIG, TCP_FASTOPEN_CONNECT,
		TCP_ULP, TCP_REPAIR,
	};
	unsigned int i;
	char one = 1;
	int fd;

	fd = listener(port(6));
	ASSERT_LE(0, fd);
	ASSERT_TRUE(is_ktp(fd));
	for (i = 0; i < ARRAY_LEN(noop); i++) {
		EXPECT_EQ(0, set_int_opt(fd, IPPROTO_TCP, noop[i], 5));
		EXPECT_EQ(0, get_int(fd, IPPROTO_TCP, noop[i]));
	}
	/* a no-op still checks its argument, as TCP does */
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, 1));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < ARRAY_LEN(refused); i++) {
		EXPECT_EQ(-1, set_int_opt(fd, IPPROTO_TCP, refused[i], 1));
		EXPECT_EQ(ENOPROTOOPT, errno);
		EXPECT_EQ(-ENOPROTOOPT, get_int(fd, IPPROTO_TCP, refused[i]));
	}
	close(fd);
}

/* A connected pair through the shim: cli from connect(), srv accepted
 * with accept4()'s flags.
 */
static int pair(unsigned short p, int flags, int *lfd, int *cli, int *srv)
{
	*lfd = listener(p);
	if (*lfd < 0)
		return -1;
	*cli = sock(AF_INET, SOCK_STREAM);
	if (*cli < 0 || connect_port(*cli, p))
		return -1;
	*srv = accept_bounded(*lfd, flags);
	return *srv < 0 ? -1 : 0;
}

static int transfer(int from, int to, size_t n)
{
	char buf[16384];
	size_t got = 0;
	ssize_t r;

	memset(buf, 'k', sizeof(buf));
	while (got < n) {
		if (send(from, buf, sizeof(buf), 0) != sizeof(buf))
			return -1;
		r = recv(to, buf, sizeof(buf), MSG_WAITALL);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

TEST(tcp_info_from_ktp_info)
{
	int lfd, cli, srv, i;
	struct ktp_info ki;
	struct tcp_info ti;
	socklen_t len;
	long long end;

	ASSERT_EQ(0, pair(port(7), 0, &lfd, &cli, &srv));
	ASSERT_TRUE(is_ktp(cli));
	ASSERT_EQ(0, transfer(cli, srv, 256 * 1024));
	/* everything sent is acknowledged within the bound */
	end = now_ms() + KTP_IO_TIMEOUT_MS;
	for (i = 0;; i++) {
		len = sizeof(ti);
		ASSERT_EQ(0, getsockopt(cli, IPPROTO_TCP, TCP_INFO, &ti, &len));
		if (ti.tcpi_bytes_acked >= 256 * 1024 || now_ms() > end)
			break;
		sleep_ms(10);
	}
	EXPECT_EQ(sizeof(ti), len);
	EXPECT_EQ(TCPS_ESTABLISHED, ti.tcpi_state);
	EXPECT_LE(256 * 1024, ti.tcpi_bytes_acked);
	EXPECT_LT(0, ti.tcpi_snd_mss);
	EXPECT_LT(0, ti.tcpi_snd_cwnd);
	EXPECT_LT(0, ti.tcpi_rto);
	EXPECT_LT(0, ti.tcpi_segs_out);
	len = sizeof(ki);
	ASSERT_EQ(0, getsockopt(cli, SOL_KTP, KTP_INFO, &ki, &len));
	EXPECT_EQ(ki.ktpi_bytes_acked, ti.tcpi_bytes_acked);
	EXPECT_EQ(ki.ktpi_snd_mss, ti.tcpi_snd_mss);

	len = sizeof(ti);
	ASSERT_EQ(0, getsockopt(srv, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(256 * 1024, ti.tcpi_bytes_received);

	/* truncated to the caller's length, as TCP_INFO is */
	memset(&ti, 0xff, sizeof(ti));
	len = 8;
	ASSERT_EQ(0, getsockopt(cli, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(8, len);
	EXPECT_EQ(TCPS_ESTABLISHED, ti.tcpi_state);
	EXPECT_EQ(0xffffffff, ti.tcpi_rto);
	close(cli);
	close(srv);
	close(lfd);
}

static int sin6_call(int fd, unsigned short p, bool connecting)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(p),
		.sin6_addr = IN6ADDR_LOOPBACK_INIT,
	};

	if (connecting)
		return connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	return bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
}

/* Where the module has IPv6, a connection over ::1 as TCP's would be:
 * IPV6_V6ONLY (set before the swap with -p), sockaddr_in6 names, data.
 */
TEST(inet6_connection)
{
	struct sockaddr_in6 a, b;
	int lfd, cli, srv;
	socklen_t len;

	lfd = sock(AF_INET6, SOCK_STREAM);
	if (lfd < 0 && errno == EAFNOSUPPORT) {
		TH_LOG("no KTP over IPv6 in this module: EAFNOSUPPORT");
		return;
	}
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, set_int_opt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, 1));
	ASSERT_EQ(0, set_int_opt(lfd, SOL_SOCKET, SO_REUSEADDR, 1));
	if (sin6_call(lfd, port(12), false) && errno == EAFNOSUPPORT) {
		TH_LOG("no KTP over IPv6 in this module: EAFNOSUPPORT");
		close(lfd);
		return;
	}
	ASSERT_TRUE(is_ktp(lfd));
	EXPECT_EQ(1, get_int(lfd, IPPROTO_IPV6, IPV6_V6ONLY));
	EXPECT_EQ(AF_INET6, get_int(lfd, SOL_SOCKET, SO_DOMAIN));
	ASSERT_EQ(0, listen(lfd, 1));
	cli = sock(AF_INET6, SOCK_STREAM);
	ASSERT_LE(0, cli);
	ASSERT_EQ(0, sin6_call(cli, port(12), true));
	EXPECT_TRUE(is_ktp(cli));
	srv = accept_bounded(lfd, 0);
	ASSERT_LE(0, srv);
	len = sizeof(a);
	ASSERT_EQ(0, getsockname(cli, (struct sockaddr *)&a, &len));
	EXPECT_EQ(sizeof(a), len);
	EXPECT_EQ(AF_INET6, a.sin6_family);
	len = sizeof(b);
	ASSERT_EQ(0, getpeername(srv, (struct sockaddr *)&b, &len));
	EXPECT_EQ(AF_INET6, b.sin6_family);
	EXPECT_EQ(a.sin6_port, b.sin6_port);
	EXPECT_EQ(0, memcmp(&b.sin6_addr, &in6addr_loopback,
			    sizeof(in6addr_loopback)));
	EXPECT_EQ(0, transfer(cli, srv, 16384));
	close(cli);
	close(srv);
	close(lfd);
}

/* KTP sockets name their ends as AF_INET ones do. */
TEST(names_are_sockaddr_in)
{
	struct sockaddr_in a, b;
	int lfd, cli, srv;
	socklen_t len;

	ASSERT_EQ(0, pair(port(8), 0, &lfd, &cli, &srv));
	ASSERT_TRUE(is_ktp(cli));
	ASSERT_TRUE(is_ktp(srv));
	len = sizeof(a);
	ASSERT_EQ(0, getsockname(cli, (struct sockaddr *)&a, &len));
	EXPECT_EQ(sizeof(a), len);
	EXPECT_EQ(AF_INET, a.sin_family);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), a.sin_addr.s_addr);
	len = sizeof(b);
	ASSERT_EQ(0, getpeername(srv, (struct sockaddr *)&b, &len));
	EXPECT_EQ(AF_INET, b.sin_family);
	EXPECT_EQ(a.sin_port, b.sin_port);
	EXPECT_EQ(a.sin_addr.s_addr, b.sin_addr.s_addr);
	EXPECT_EQ(port(8), sock_port(cli, 1));
	EXPECT_EQ(port(8), sock_port(srv, 0));
	close(cli);
	close(srv);
	close(lfd);
}

TEST(accept4_flags)
{
	int lfd, cli, srv;

	ASSERT_EQ(0, pair(port(9), SOCK_NONBLOCK | SOCK_CLOEXEC, &lfd, &cli,
			  &srv));
	EXPECT_TRUE(is_ktp(srv));
	EXPECT_TRUE(fcntl(srv, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(srv, F_GETFD) & FD_CLOEXEC);
	/* nothing to read yet: EAGAIN, not a block */
	EXPECT_EQ(-1, recv(srv, &lfd, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(cli);
	close(srv);
	close(lfd);
}

/* Unlisted ports stay TCP, to a TCP listener or from a TCP bind. */
TEST(unlisted_ports)
{
	unsigned short p = port(UNLISTED);
	int lfd, cli, srv;

	ASSERT_EQ(0, pair(p, 0, &lfd, &cli, &srv));
	EXPECT_EQ(!limited(), is_ktp(lfd));
	EXPECT_EQ(!limited(), is_ktp(cli));
	EXPECT_EQ(!limited(), is_ktp(srv));
	EXPECT_EQ(0, transfer(cli, srv, 16384));
	close(cli);
	close(srv);
	close(lfd);
}

/* A swap keeps what the program set before bind(); without -p these
 * were set on the KTP socket directly and read the same.
 */
TEST(options_survive_the_swap)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 3 }, got;
	socklen_t len = sizeof(got);
	int fd, rcvbuf;

	fd = sock(AF_INET, SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
	ASSERT_EQ(0, set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, 96 * 1024));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_EQ(0, set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 33));
	rcvbuf = get_int(fd, SOL_SOCKET, SO_RCVBUF);
	ASSERT_EQ(0, bind_port(fd, port(10)));
	ASSERT_TRUE(is_ktp(fd));
	EXPECT_EQ(1, get_int(fd, SOL_SOCKET, SO_REUSEADDR));
	EXPECT_EQ(1, get_int(fd, SOL_SOCKET, SO_KEEPALIVE));
	EXPECT_EQ(rcvbuf, get_int(fd, SOL_SOCKET, SO_RCVBUF));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_LINGER, &got, &len));
	EXPECT_EQ(1, got.l_onoff);
	EXPECT_EQ(3, got.l_linger);
	EXPECT_EQ(1, get_int(fd, SOL_KTP, KTP_NODELAY));
	EXPECT_EQ(33, get_int(fd, SOL_KTP, KTP_KEEPIDLE));
	/* the blocking calls' bounds sock() set are options too */
	EXPECT_EQ(0, listen(fd, 1));
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

/* connect() to a listed port swaps the client, keeping a local port the
 * program bound (an unlisted one, so still TCP until then).
 */
TEST(connect_swaps_bound_client)
{
	int lfd, cli, srv;

	lfd = listener(port(11));
	ASSERT_LE(0, lfd);
	cli = sock(AF_INET, SOCK_STREAM);
	ASSERT_LE(0, cli);
	ASSERT_EQ(0, set_int_opt(cli, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, bind_port(cli, port(UNLISTED + 1)));
	EXPECT_EQ(!limited(), is_ktp(cli));
	ASSERT_EQ(0, connect_port(cli, port(11)));
	EXPECT_TRUE(is_ktp(cli));
	EXPECT_EQ(port(UNLISTED + 1), sock_port(cli, 0));
	srv = accept_bounded(lfd, 0);
	ASSERT_LE(0, srv);
	EXPECT_EQ(port(UNLISTED + 1), sock_port(srv, 1));
	EXPECT_EQ(0, transfer(cli, srv, 16384));
	close(cli);
	close(srv);
	close(lfd);
}

TEST_HARNESS_MAIN
