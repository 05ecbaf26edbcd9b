// SPDX-License-Identifier: GPL-2.0
/*
 * KTP over IPv6: KTPPROTO_KTP6 sockets with struct sockaddr_in6 over ::1,
 * IPv4-mapped addresses on an IPv6 socket (and IPV6_V6ONLY turning them
 * away), bind()'s conflicts and refusals, the port space shared with
 * IPv4, link-local peers that need a scope id, /proc/net/ktp6 rows and
 * IPv6 TIME_WAIT entries.
 *
 * Every test runs in a network namespace of its own, so ports, sysctls
 * and counters are the test's alone.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"

static int sock6(void)
{
	return ktp_sock_family(AF_INET6, 0);
}

static struct sockaddr_in6 addr6(const char *ip, unsigned short port,
				 unsigned int scope)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	sin6.sin6_scope_id = scope;
	inet_pton(AF_INET6, ip, &sin6.sin6_addr);
	return sin6;
}

/* An IPv6 listener on @ip (port picked by the kernel); V6ONLY as asked,
 * -1 leaves the default.
 */
static int listener6(const char *ip, int v6only, unsigned short *port)
{
	struct sockaddr_in6 sin6 = addr6(ip, 0, 0);
	int fd = sock6();

	if (fd < 0)
		return -1;
	if ((v6only >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
				       sizeof(v6only))) ||
	    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) ||
	    listen(fd, 8)) {
		close(fd);
		return -1;
	}
	*port = sock_port(fd, 0);
	return fd;
}

/* Both directions at once, @len bytes each, in 30 s at most: every byte
 * as sent, digests equal.
 */
static int both_ways(int a, int b, size_t len)
{
	long long deadline = now_ms() + 30000;
	struct ktp_stream st[4] = {
		{ .fd = a, .len = len, .seed = 61, .deadline = deadline },
		{ .fd = b, .len = len, .seed = 62, .deadline = deadline },
		{ .fd = b, .len = len, .seed = 61, .deadline = deadline },
		{ .fd = a, .len = len, .seed = 62, .deadline = deadline },
	};
	pthread_t t[4];
	int i, n;

	/* a thread that cannot start (fault injection) fails the transfer */
	for (n = 0; n < 4; n++)
		if (pthread_create(&t[n], NULL,
				   n < 2 ? stream_send : stream_recv, &st[n]))
			break;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++)
		if (st[i].err || st[i].done != len)
			return -1;
	return st[0].digest == st[2].digest && st[1].digest == st[3].digest &&
	       st[2].bad_at == len && st[3].bad_at == len ? 0 : -1;
}

FIXTURE(v6) {
	int lfd, cli, srv;
	unsigned short port;
};

FIXTURE_SETUP(v6)
{
	const char *why;

	self->lfd = self->cli = self->srv = -1;
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, sysctl_set("ktp/tw_timeout", "1"));
}

FIXTURE_TEARDOWN(v6)
{
	close_conn(&self->lfd, &self->cli, &self->srv);
}

/* ::1 to ::1: the handshake, addresses as sockaddr_in6, 1 MiB each way. */
TEST_F(v6, loopback_transfer)
{
	struct sockaddr_in6 to, peer;
	socklen_t len = sizeof(peer);
	char ip[INET6_ADDRSTRLEN];

	self->lfd = listener6("::1", -1, &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("listen: %s", strerror(errno));
	self->cli = sock6();
	ASSERT_LE(0, self->cli);
	to = addr6("::1", self->port, 0);
	ASSERT_EQ(0, connect(self->cli, (struct sockaddr *)&to, sizeof(to)));
	self->srv = accept(self->lfd, (struct sockaddr *)&peer, &len);
	ASSERT_LE(0, self->srv);
	ASSERT_EQ(sizeof(peer), len);
	EXPECT_EQ(AF_INET6, peer.sin6_family);
	inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof(ip));
	EXPECT_STREQ("::1", ip);
	EXPECT_EQ(sock_port(self->cli, 0), ntohs(peer.sin6_port));
	EXPECT_EQ(self->port, sock_port(self->cli, 1));
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(self->cli)));
	EXPECT_EQ(0, both_ways(self->cli, self->srv, 1 << 20));
}

/* An IPv4 client reaches a dual-stack IPv6 listener: the server sees
 * ::ffff:127.0.0.1, the data flows over IPv4.
 */
TEST_F(v6, ipv4_client_of_dual_stack_listener)
{
	struct sockaddr_in6 peer;
	socklen_t len = sizeof(peer);
	char ip[INET6_ADDRSTRLEN];

	self->lfd = listener6("::", 0, &self->port);
	ASSERT_LE(0, self->lfd);
	self->cli = ktp_dial(self->port);
	ASSERT_LE(0, self->cli) TH_LOG("connect: %s", strerror(errno));
	self->srv = accept(self->lfd, (struct sockaddr *)&peer, &len);
	ASSERT_LE(0, self->srv);
	inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof(ip));
	EXPECT_STREQ("::ffff:127.0.0.1", ip);
	EXPECT_EQ(0, both_ways(self->cli, self->srv, 1 << 20));
}

/* An IPv6 socket connects to ::ffff:127.0.0.1: IPv4 underneath. */
TEST_F(v6, ipv6_socket_to_mapped_address)
{
	struct sockaddr_in6 to;

	self->lfd = ktp_listener(8, &self->port);
	ASSERT_LE(0, self->lfd);
	self->cli = sock6();
	ASSERT_LE(0, self->cli);
	to = addr6("::ffff:127.0.0.1", self->port, 0);
	ASSERT_EQ(0, connect(self->cli, (struct sockaddr *)&to, sizeof(to)))
		TH_LOG("connect: %s", strerror(errno));
	self->srv = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->srv);
	EXPECT_EQ(sock_port(self->cli, 0), sock_port(self->srv, 1));
	EXPECT_EQ(0, both_ways(self->cli, self->srv, 256 << 10));
}

/* IPV6_V6ONLY: the listener is not found by IPv4, the client may not
 * name a mapped address.
 */
TEST_F(v6, v6only_turns_ipv4_away)
{
	struct sockaddr_in6 to;
	int one = 1, fd;

	self->lfd = listener6("::", 1, &self->port);
	ASSERT_LE(0, self->lfd);
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect_port(fd, self->port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(fd);

	fd = sock6();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				sizeof(one)));
	to = addr6("::ffff:127.0.0.1", self->port, 0);
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(ENETUNREACH, errno);
	close(fd);
}

/* Nobody listens on the port: the IPv6 RST refuses at once. */
TEST_F(v6, refused_by_rst)
{
	struct sockaddr_in6 to;
	long rsts = snmp_get("OutRsts");
	long long t0;

	self->cli = sock6();
	ASSERT_LE(0, self->cli);
	to = addr6("::1", 9, 0);
	t0 = now_ms();
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_GT(1000, now_ms() - t0);
	EXPECT_EQ(rsts + 1, snmp_get("OutRsts"));
}

/* Bad addresses get clear errors before anything is sent. */
TEST_F(v6, connect_errors)
{
	struct sockaddr_in6 to = addr6("::1", 9, 0);
	struct sockaddr_in sin = lo_addr(9);

	self->cli = sock6();
	ASSERT_LE(0, self->cli);
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&to, 20));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&sin,
			      sizeof(to)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	to = addr6("ff02::1", 9, 0);
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(ENETUNREACH, errno);
	/* link-local without a scope id or a bound device */
	to = addr6("fe80::1", 9, 0);
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_STREQ("CLOSED", state_str(ktp_state(self->cli)));
}

/* bind() of @fd to @ip:@port, with V6ONLY as asked (-1: the default):
 * 0 or the errno.
 */
static int bind6(int fd, const char *ip, unsigned short port, int v6only)
{
	struct sockaddr_in6 sin6 = addr6(ip, port, 0);

	if (v6only >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
				      sizeof(v6only)))
		return errno;
	return bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) ? errno : 0;
}

/* A fresh IPv6 socket bound as bind6() does it: 0 or the errno. */
static int try_bind6(const char *ip, unsigned short port, int v6only)
{
	int fd = sock6(), err;

	if (fd < 0)
		return -1;
	err = bind6(fd, ip, port, v6only);
	close(fd);
	return err;
}

/* A fresh IPv4 socket bound to @ip:@port: 0 or the errno. */
static int try_bind4(const char *ip, unsigned short port)
{
	struct sockaddr_in sin = lo_addr(port);
	int fd = ktp_socket_flags(AF_INET, 0), err;

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, ip, &sin.sin_addr);
	err = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
	close(fd);
	return err;
}

/* A port is one endpoint: taken by an IPv6 address, by the wildcard that
 * covers it, by a listener; bound for good. (SO_REUSEADDR's sharing is
 * ktp_lifecycle's reuseaddr_binds_but_one_listens, run over IPv6 too.)
 */
TEST_F(v6, bind_conflicts)
{
	unsigned short port;
	int a;

	a = sock6();
	ASSERT_LE(0, a);
	ASSERT_EQ(0, bind6(a, "::1", 0, -1));
	port = sock_port(a, 0);
	ASSERT_NE(0, port);
	EXPECT_EQ(EADDRINUSE, try_bind6("::1", port, -1));
	EXPECT_EQ(EADDRINUSE, try_bind6("::", port, 1));
	EXPECT_EQ(EINVAL, bind6(a, "::1", 0, -1));
	close(a);

	self->lfd = listener6("::1", -1, &self->port);
	ASSERT_LE(0, self->lfd);
	EXPECT_EQ(EADDRINUSE, try_bind6("::1", self->port, -1));
}

/* ktp(7): "An IPv4 and an IPv6 socket share one port space, as TCP's do."
 * :: without V6ONLY covers every IPv4 address too, and a mapped address
 * is its IPv4 address; with V6ONLY the families keep apart.
 */
TEST_F(v6, shared_port_space)
{
	struct sockaddr_in sin = lo_addr(0);
	unsigned short port;
	int v4;

	v4 = ktp_socket_flags(AF_INET, 0);
	ASSERT_LE(0, v4);
	ASSERT_EQ(0, bind(v4, (struct sockaddr *)&sin, sizeof(sin)));
	port = sock_port(v4, 0);
	EXPECT_EQ(EADDRINUSE, try_bind6("::", port, 0));
	EXPECT_EQ(EADDRINUSE, try_bind6("::ffff:127.0.0.1", port, 0));
	EXPECT_EQ(0, try_bind6("::", port, 1));
	EXPECT_EQ(0, try_bind6("::1", port, -1));
	close(v4);

	v4 = sock6();
	ASSERT_LE(0, v4);
	ASSERT_EQ(0, bind6(v4, "::", 0, 0));
	port = sock_port(v4, 0);
	EXPECT_EQ(EADDRINUSE, try_bind4("127.0.0.1", port));
	EXPECT_EQ(EADDRINUSE, try_bind4("0.0.0.0", port));
	close(v4);

	v4 = sock6();
	ASSERT_LE(0, v4);
	ASSERT_EQ(0, bind6(v4, "::", 0, 1));
	port = sock_port(v4, 0);
	EXPECT_EQ(0, try_bind4("0.0.0.0", port));
	EXPECT_EQ(EADDRINUSE, try_bind6("::1", port, 1));
	close(v4);
}

/* Addresses bind() refuses on an IPv6 socket, which binds after all. */
TEST_F(v6, bind_bad_addresses)
{
	struct sockaddr_in6 sin6 = addr6("::1", 0, 0);
	struct sockaddr_in sin = lo_addr(0);
	int fd;

	/* not an address of this host (RFC 3849), IPv6 or mapped */
	EXPECT_EQ(EADDRNOTAVAIL, try_bind6("2001:db8::1", 0, -1));
	EXPECT_EQ(EADDRNOTAVAIL, try_bind6("::ffff:192.0.2.1", 0, 0));
	/* a mapped address on a V6ONLY socket */
	EXPECT_EQ(EINVAL, try_bind6("::ffff:127.0.0.1", 0, 1));
	/* link-local needs an interface */
	EXPECT_EQ(EINVAL, try_bind6("fe80::1", 0, -1));
	/* multicast is no endpoint */
	EXPECT_EQ(EINVAL, try_bind6("ff02::1", 0, -1));

	fd = sock6();
	ASSERT_LE(0, fd);
	/* shorter than RFC 2133's sockaddr_in6 */
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin6, 20));
	EXPECT_EQ(EINVAL, errno);
	/* AF_INET's or AF_KTP's address on an IPv6 socket */
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin, sizeof(sin6)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	sin6.sin6_family = ktp_family();
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	sin6.sin6_family = AF_INET6;
	EXPECT_EQ(0, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)));
	EXPECT_NE(0, sock_port(fd, 0));
	close(fd);
}

/* One /proc/net/ktp6 row with local port @lport: its state, or -1. */
static int proc6_state(unsigned short lport, char *laddr, size_t size)
{
	unsigned int port, st;
	char line[512], la[40];
	int sl, found = -1;
	FILE *f;

	f = fopen("/proc/net/ktp6", "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d: %32[0-9A-F]:%x %*32[0-9A-F]:%*x %x", &sl,
			   la, &port, &st) == 4 && port == lport) {
			snprintf(laddr, size, "%s", la);
			found = st;
			break;
		}
	}
	fclose(f);
	return found;
}

/* The listener, the connection and the TIME_WAIT entry in ktp6, not in
 * ktp; ::1 as /proc/net/tcp6 prints it.
 */
TEST_F(v6, proc_ktp6_rows)
{
	struct sockaddr_in6 to;
	unsigned short cport;
	long long end;
	char la[40], c;
	int st;

	self->lfd = listener6("::1", -1, &self->port);
	ASSERT_LE(0, self->lfd);
	EXPECT_EQ(KTP_LISTEN, proc6_state(self->port, la, sizeof(la)));
	EXPECT_STREQ("00000000000000000000000001000000", la);

	self->cli = sock6();
	ASSERT_LE(0, self->cli);
	to = addr6("::1", self->port, 0);
	ASSERT_EQ(0, connect(self->cli, (struct sockaddr *)&to, sizeof(to)));
	self->srv = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->srv);
	cport = sock_port(self->cli, 0);
	EXPECT_EQ(KTP_ESTABLISHED, proc6_state(cport, la, sizeof(la)));

	/* the client closes first and keeps the TIME_WAIT entry */
	ASSERT_EQ(0, shutdown(self->cli, SHUT_WR));
	ASSERT_EQ(0, recv(self->srv, &c, 1, 0));
	close(self->srv);
	self->srv = -1;
	end = now_ms() + 2000;
	do {
		st = proc6_state(cport, la, sizeof(la));
		if (st == KTP_TIME_WAIT)
			break;
		sleep_ms(10);
	} while (now_ms() < end);
	EXPECT_EQ(KTP_TIME_WAIT, st);
	close(self->cli);
	self->cli = -1;
}

/*
 * A link-local peer over a veth pair: reachable with the interface's scope
 * id, and the accepted socket reports the scope id it came in on.
 */
TEST_F(v6, link_local_with_scope_id)
{
	struct sockaddr_in6 to, peer;
	socklen_t len = sizeof(peer);
	unsigned int ifa, ifb;

	if (system("/usr/sbin/ip link add kv6a type veth peer name kv6b &&"
		   " /usr/sbin/ip link set kv6a up && /usr/sbin/ip link set kv6b up &&"
		   " /usr/sbin/ip addr add fe80::a/64 dev kv6a nodad &&"
		   " /usr/sbin/ip addr add fe80::b/64 dev kv6b nodad")) {
		ASSERT_TRUE(0) TH_LOG("cannot set up a veth pair with link-local addresses");
	}
	ASSERT_EQ(0, wait_local_route("fe80::a", 5000));
	ASSERT_EQ(0, wait_local_route("fe80::b", 5000));
	ifa = if_nametoindex("kv6a");
	ifb = if_nametoindex("kv6b");
	ASSERT_NE(0, ifa);
	ASSERT_NE(0, ifb);

	self->lfd = listener6("::", 1, &self->port);
	ASSERT_LE(0, self->lfd);
	self->cli = sock6();
	ASSERT_LE(0, self->cli);
	/* fe80::b lives on kv6b; from kv6a's side it is across the pair */
	to = addr6("fe80::b", self->port, ifa);
	ASSERT_EQ(0, connect(self->cli, (struct sockaddr *)&to, sizeof(to)))
		TH_LOG("connect: %s", strerror(errno));
	self->srv = accept(self->lfd, (struct sockaddr *)&peer, &len);
	ASSERT_LE(0, self->srv);
	EXPECT_EQ(ifb, peer.sin6_scope_id);
	EXPECT_EQ(0, both_ways(self->cli, self->srv, 256 << 10));
}

TEST_HARNESS_MAIN
