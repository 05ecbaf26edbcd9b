// SPDX-License-Identifier: GPL-2.0
/*
 * libktp over the real module: ktp_listen_host() and ktp_connect_host()
 * on 127.0.0.1, what they return, the flags they honour, the errno when
 * every address fails. The same functions are tested on the host over
 * TCP by userspace/tests/libktp_test.c; here the sockets are KTP's.
 *
 * Until KTP speaks IPv6, an IPv6 candidate fails with EPROTONOSUPPORT
 * and the next one is tried; the tests accept what IPv6 support will
 * change (a refused ::1 instead of an unserved one) and nothing else.
 */
#include "kselftest_harness.h"
#include "ktp_selftest.h"

FIXTURE(host) {
	int lfd;
	unsigned short port;
	char service[8];
};

FIXTURE_SETUP(host)
{
	/* the TIME_WAIT entries the tests leave go in a second */
	ktp_sysctls_restore();
	ASSERT_EQ(0, sysctl_set("ktp/tw_timeout", "1"));
	self->lfd = ktp_listen_host("127.0.0.1", "0", 8);
	ASSERT_LE(0, self->lfd) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, set_timeo(self->lfd, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS));
	self->port = sock_port(self->lfd, 0);
	ASSERT_NE(0, self->port);
	snprintf(self->service, sizeof(self->service), "%u", self->port);
}

FIXTURE_TEARDOWN(host)
{
	if (self->lfd >= 0)
		close(self->lfd);
	ktp_sysctls_restore();
}

/* A KTP socket, listening, SO_REUSEADDR set, no flags it was not asked. */
TEST_F(host, listener_is_ktp)
{
	socklen_t len = sizeof(int);
	int val = 0;

	ASSERT_EQ(0, getsockopt(self->lfd, SOL_SOCKET, SO_PROTOCOL, &val,
				&len));
	EXPECT_EQ(IPPROTO_KTP, val);
	EXPECT_EQ(KTP_LISTEN, ktp_state(self->lfd));
	len = sizeof(val);
	ASSERT_EQ(0, getsockopt(self->lfd, SOL_SOCKET, SO_REUSEADDR, &val,
				&len));
	EXPECT_EQ(1, val);
	EXPECT_EQ(0, fcntl(self->lfd, F_GETFD) & FD_CLOEXEC);
}

TEST_F(host, connect_exchange)
{
	char buf[8] = "";
	int fd, afd;

	fd = ktp_connect_host("127.0.0.1", self->service, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(KTP_ESTABLISHED, ktp_state(fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd) TH_LOG("accept: %s", strerror(errno));
	ASSERT_EQ(0, set_timeo(afd, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS));
	EXPECT_EQ(self->port, sock_port(fd, 1));
	ASSERT_EQ(5, send(fd, "hello", 5, 0));
	EXPECT_EQ(5, recv(afd, buf, sizeof(buf), MSG_WAITALL));
	EXPECT_STREQ("hello", buf);
	close(afd);
	close(fd);
}

TEST_F(host, nonblocking_connect)
{
	socklen_t len = sizeof(int);
	struct pollfd pfd;
	int err = -1, afd;

	pfd.fd = ktp_connect_host("127.0.0.1", self->service, SOCK_NONBLOCK);
	ASSERT_LE(0, pfd.fd) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(O_NONBLOCK, fcntl(pfd.fd, F_GETFL) & O_NONBLOCK);
	pfd.events = POLLOUT;
	ASSERT_EQ(1, poll(&pfd, 1, KTP_IO_TIMEOUT_MS));
	ASSERT_EQ(0, getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err);
	EXPECT_EQ(KTP_ESTABLISHED, ktp_state(pfd.fd));
	afd = accept(self->lfd, NULL, NULL);
	EXPECT_LE(0, afd);
	close(afd);
	close(pfd.fd);
}

/* host NULL: ::1 first, then 127.0.0.1, which the listener serves. */
TEST_F(host, loopback_by_default)
{
	int fd;

	fd = ktp_connect_host(NULL, self->service, 0);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(KTP_ESTABLISHED, ktp_state(fd));
	close(fd);
}

TEST_F(host, ipv6_only_candidate)
{
	errno = 0;
	EXPECT_EQ(-1, ktp_connect_host("::1", self->service, 0));
	EXPECT_TRUE(errno == EPROTONOSUPPORT || errno == ECONNREFUSED)
		TH_LOG("errno %d (%s)", errno, strerror(errno));
}

TEST_F(host, refused)
{
	close(self->lfd);
	self->lfd = -1;
	errno = 0;
	EXPECT_EQ(-1, ktp_connect_host("127.0.0.1", self->service, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* ::1 unserved or refused, 127.0.0.1 refused: the last real error */
	errno = 0;
	EXPECT_EQ(-1, ktp_connect_host(NULL, self->service, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
}

TEST_F(host, port_in_use)
{
	errno = 0;
	EXPECT_EQ(-1, ktp_listen_host("127.0.0.1", self->service, 1));
	EXPECT_EQ(EADDRINUSE, errno);
}

/* host NULL listens on the wildcard, reachable through 127.0.0.1. */
TEST_F(host, listen_on_all)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd, fd;

	lfd = ktp_listen_host(NULL, "0", 1);
	ASSERT_LE(0, lfd) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(htonl(INADDR_ANY), sin.sin_addr.s_addr);
	fd = ktp_dial(ntohs(sin.sin_port));
	EXPECT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	close(fd);
	close(lfd);
}

TEST_HARNESS_MAIN
