// SPDX-License-Identifier: GPL-2.0
/*
 * libktp without a kernel module: state names, family discovery from the
 * module parameter file, argument checking.
 *
 * ktp_connect_host() and ktp_listen_host() are tried here over Linux TCP:
 * with the family file saying 2 (AF_INET), ktp_socket(AF_INET) opens
 * socket(AF_INET, SOCK_STREAM, KTPPROTO_KTP = 0), a TCP socket, while
 * ktp_socket(AF_INET6) asks for protocol KTPPROTO_KTP6 = 1 and fails with
 * EPROTONOSUPPORT, as an AF_KTP socket does before KTP speaks IPv6. So the
 * order in which candidates are tried and the errno left when all fail can
 * be checked without the module; selftests/ktp_libktp.c does it over KTP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "ktp.h"
#include "kselftest_harness.h"

static void with_family_file(const char *content)
{
	static char path[] = "/tmp/ktp-family-XXXXXX";
	int fd;

	strcpy(path, "/tmp/ktp-family-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		abort();
	close(fd);
	setenv("KTP_FAMILY_FILE", path, 1);
}

/* @call fails with -1 and errno @err. */
#define EXPECT_ERRNO(err, call) do {		\
	errno = 0;				\
	EXPECT_EQ(-1, (call));			\
	EXPECT_EQ(err, errno);			\
} while (0)

TEST(state_names)
{
	EXPECT_STREQ("ESTABLISHED", ktp_state_name(KTP_ESTABLISHED));
	EXPECT_STREQ("SYN_SENT", ktp_state_name(KTP_SYN_SENT));
	EXPECT_STREQ("SYN_RECEIVED", ktp_state_name(KTP_SYN_RECV));
	EXPECT_STREQ("FIN_WAIT_1", ktp_state_name(KTP_FIN_WAIT1));
	EXPECT_STREQ("FIN_WAIT_2", ktp_state_name(KTP_FIN_WAIT2));
	EXPECT_STREQ("TIME_WAIT", ktp_state_name(KTP_TIME_WAIT));
	EXPECT_STREQ("CLOSED", ktp_state_name(KTP_CLOSE));
	EXPECT_STREQ("CLOSE_WAIT", ktp_state_name(KTP_CLOSE_WAIT));
	EXPECT_STREQ("LAST_ACK", ktp_state_name(KTP_LAST_ACK));
	EXPECT_STREQ("LISTEN", ktp_state_name(KTP_LISTEN));
	EXPECT_STREQ("CLOSING", ktp_state_name(KTP_CLOSING));
}

TEST(state_name_out_of_range)
{
	errno = 0;
	EXPECT_EQ(NULL, ktp_state_name(0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ktp_state_name(__KTP_STATE_MAX));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, ktp_state_name(-1));
}

TEST(family_from_parameter)
{
	with_family_file("19\n");
	EXPECT_EQ(19, ktp_family());
	unlink(getenv("KTP_FAMILY_FILE"));
}

TEST(family_default_when_unloaded)
{
	setenv("KTP_FAMILY_FILE", "/nonexistent/ktp/family", 1);
	EXPECT_EQ(AF_KTP, ktp_family());
}

TEST(family_garbage_ignored)
{
	with_family_file("nineteen\n");
	EXPECT_EQ(AF_KTP, ktp_family());
	unlink(getenv("KTP_FAMILY_FILE"));
	with_family_file("-3\n");
	EXPECT_EQ(AF_KTP, ktp_family());
	unlink(getenv("KTP_FAMILY_FILE"));
}

TEST(socket_rejects_other_families)
{
	errno = 0;
	EXPECT_EQ(-1, ktp_socket(AF_UNIX));
	EXPECT_EQ(EAFNOSUPPORT, errno);
}

/* ktp_socket() reads the family once, and again only when a socket of it
 * cannot be had: 200 has no handler; 2 (AF_INET: TCP stands in, as
 * KTPPROTO_KTP is 0) then works, and keeps working when the parameter
 * says 200 again.
 */
TEST(socket_family_read_once)
{
	int fd;

	with_family_file("200\n");
	EXPECT_ERRNO(EAFNOSUPPORT, ktp_socket(AF_INET));
	unlink(getenv("KTP_FAMILY_FILE"));
	with_family_file("2\n");
	fd = ktp_socket(AF_INET);
	EXPECT_LE(0, fd);
	close(fd);
	unlink(getenv("KTP_FAMILY_FILE"));
	with_family_file("200\n");
	fd = ktp_socket(AF_INET);
	EXPECT_LE(0, fd);
	close(fd);
	unlink(getenv("KTP_FAMILY_FILE"));
}

TEST(socket_flags_checked)
{
	EXPECT_ERRNO(EINVAL, ktp_socket_flags(AF_INET, SOCK_DGRAM));
}

TEST(host_argument_errors)
{
	EXPECT_ERRNO(EINVAL, ktp_connect_host("127.0.0.1", NULL, 0));
	EXPECT_ERRNO(EINVAL, ktp_connect_host("127.0.0.1", "80", O_APPEND));
	EXPECT_ERRNO(EINVAL, ktp_connect_host("127.0.0.1", "65536", 0));
	EXPECT_ERRNO(EINVAL, ktp_listen_host(NULL, "", 1));
	EXPECT_ERRNO(EINVAL, ktp_listen_host(NULL, "0", -1));
}

/*
 * EAI_NONAME and EAI_SERVICE: ENOENT, as documented. A name with spaces is
 * refused by the resolver without a DNS query (res_hnok), so the test does
 * not depend on the network.
 */
TEST(host_unknown_name)
{
	EXPECT_ERRNO(ENOENT, ktp_connect_host("no such host", "80", 0));
	EXPECT_ERRNO(ENOENT, ktp_connect_host("127.0.0.1", "no-such-svc", 0));
	EXPECT_ERRNO(ENOENT, ktp_listen_host("not an address", "80", 1));
}

/* On the host the module is absent: the family has no socket() at all. */
TEST(host_no_module)
{
	setenv("KTP_FAMILY_FILE", "/nonexistent/ktp/family", 1);
	EXPECT_ERRNO(EAFNOSUPPORT, ktp_connect_host("127.0.0.1", "80", 0));
	EXPECT_ERRNO(EAFNOSUPPORT, ktp_listen_host(NULL, "0", 1));
}

static unsigned short local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return 0;
	return ntohs(sin.sin_port);
}

FIXTURE(over_tcp) {
	int lfd;
	char port[8];
};

FIXTURE_SETUP(over_tcp)
{
	with_family_file("2\n");
	self->lfd = ktp_listen_host("127.0.0.1", "0", 4);
	ASSERT_LE(0, self->lfd) TH_LOG("listen: %s", strerror(errno));
	snprintf(self->port, sizeof(self->port), "%u",
		 local_port(self->lfd));
}

FIXTURE_TEARDOWN(over_tcp)
{
	close(self->lfd);
	unlink(getenv("KTP_FAMILY_FILE"));
}

TEST_F(over_tcp, listen_sets_reuseaddr)
{
	socklen_t len = sizeof(int);
	int val = 0;

	ASSERT_EQ(0, getsockopt(self->lfd, SOL_SOCKET, SO_REUSEADDR, &val,
				&len));
	EXPECT_EQ(1, val);
	EXPECT_EQ(0, fcntl(self->lfd, F_GETFD) & FD_CLOEXEC);
}

TEST_F(over_tcp, connect_and_accept)
{
	int fd, afd;

	fd = ktp_connect_host("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(2, write(fd, "hi", 2));
	close(fd);
	close(afd);
}

TEST_F(over_tcp, nonblocking_connect)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int err = -1;

	pfd.fd = ktp_connect_host("127.0.0.1", self->port, SOCK_NONBLOCK);
	ASSERT_LE(0, pfd.fd) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(O_NONBLOCK, fcntl(pfd.fd, F_GETFL) & O_NONBLOCK);
	pfd.events = POLLOUT;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(0, getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err);
	close(pfd.fd);
}

/*
 * host NULL: getaddrinfo() gives ::1 before 127.0.0.1. The IPv6 candidate
 * cannot get a socket; the IPv4 one connects.
 */
TEST_F(over_tcp, next_address_after_unserved_family)
{
	int fd;

	fd = ktp_connect_host(NULL, self->port, 0);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	close(fd);
	EXPECT_ERRNO(EPROTONOSUPPORT, ktp_connect_host("::1", self->port, 0));
}

/* All fail: the error of the last real attempt, not "no IPv6". */
TEST_F(over_tcp, refused_reports_the_connect_error)
{
	char port[8];

	strcpy(port, self->port);
	close(self->lfd);
	self->lfd = -1;
	EXPECT_ERRNO(ECONNREFUSED, ktp_connect_host(NULL, port, 0));
}

TEST_F(over_tcp, listen_on_all_and_busy_port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = ktp_listen_host(NULL, "0", 1);
	ASSERT_LE(0, fd) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(htonl(INADDR_ANY), sin.sin_addr.s_addr);
	close(fd);
	EXPECT_ERRNO(EADDRINUSE, ktp_listen_host("127.0.0.1", self->port, 1));
}

TEST_HARNESS_MAIN
