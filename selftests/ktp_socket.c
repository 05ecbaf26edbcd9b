// SPDX-License-Identifier: GPL-2.0
/*
 * Socket creation and the module's life: what socket() returns for each
 * type and protocol, the flags it honours, KTP_INFO on a new socket, and
 * the module reference every socket holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <unistd.h>

#include <linux/ktp.h>
#include "ktp.h"
#include "kselftest_harness.h"

static long read_long(const char *path)
{
	char buf[32] = "";
	long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		val = strtol(buf, NULL, 10);
	fclose(f);
	return val;
}

TEST(stream_socket)
{
	int fd, val;
	socklen_t len = sizeof(val);

	fd = socket(ktp_family(), SOCK_STREAM, KTPPROTO_KTP);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));

	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len));
	EXPECT_EQ(SOCK_STREAM, val);
	len = sizeof(val);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &val, &len));
	EXPECT_EQ(read_long("/sys/module/ktp/parameters/ipproto"), val);
	len = sizeof(val);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len));
	EXPECT_EQ(AF_INET, val);
	EXPECT_EQ(0, close(fd));
}

TEST(family_matches_module_parameter)
{
	EXPECT_EQ(AF_KTP, read_long("/sys/module/ktp/parameters/family"));
	EXPECT_EQ(AF_KTP, ktp_family());
	EXPECT_EQ(IPPROTO_KTP, read_long("/sys/module/ktp/parameters/ipproto"));
}

TEST(other_types_rejected)
{
	static const int types[] = {
		SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_RDM, SOCK_PACKET
	};
	unsigned int i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, socket(ktp_family(), types[i], KTPPROTO_KTP));
		EXPECT_EQ(ESOCKTNOSUPPORT, errno) TH_LOG("type %d", types[i]);
	}
}

TEST(other_protocols_rejected)
{
	static const int protos[] = { 2, 6, 17, IPPROTO_KTP, 255, 1000 };
	unsigned int i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, socket(ktp_family(), SOCK_STREAM, protos[i]));
		EXPECT_EQ(EPROTONOSUPPORT, errno) TH_LOG("proto %d", protos[i]);
	}
}

TEST(nonblock_and_cloexec_flags)
{
	int fd;

	fd = socket(ktp_family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    KTPPROTO_KTP);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = socket(ktp_family(), SOCK_STREAM, KTPPROTO_KTP);
	ASSERT_LE(0, fd);
	EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(info_of_new_socket)
{
	struct ktp_info info;
	int fd;

	fd = ktp_socket(AF_INET);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ktp_info(fd, &info));
	EXPECT_EQ(KTP_CLOSE, info.ktpi_state);
	EXPECT_STREQ("CLOSED", ktp_state_name(info.ktpi_state));
	close(fd);
}

TEST(info_length_semantics)
{
	unsigned char buf[sizeof(struct ktp_info) + 64];
	socklen_t len;
	int fd;

	fd = ktp_socket(AF_INET);
	ASSERT_LE(0, fd);

	/* Shorter than the struct: truncated, length reported as asked. */
	memset(buf, 0xaa, sizeof(buf));
	len = 1;
	ASSERT_EQ(0, getsockopt(fd, SOL_KTP, KTP_INFO, buf, &len));
	EXPECT_EQ(1, len);
	EXPECT_EQ(KTP_CLOSE, buf[0]);
	EXPECT_EQ(0xaa, buf[1]);

	/* Longer: the kernel says how much it knows. */
	len = sizeof(buf);
	ASSERT_EQ(0, getsockopt(fd, SOL_KTP, KTP_INFO, buf, &len));
	EXPECT_EQ(sizeof(struct ktp_info), len);

	/* Negative length. */
	len = (socklen_t)-1;
	EXPECT_EQ(-1, getsockopt(fd, SOL_KTP, KTP_INFO, buf, &len));
	EXPECT_EQ(EINVAL, errno);

	/* Bad pointer. */
	len = sizeof(struct ktp_info);
	EXPECT_EQ(-1, getsockopt(fd, SOL_KTP, KTP_INFO, (void *)8, &len));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST(unknown_option)
{
	int fd, val = 1;
	socklen_t len = sizeof(val);

	fd = ktp_socket(AF_INET);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, getsockopt(fd, SOL_KTP, 9999, &val, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_KTP, 9999, &val, sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	close(fd);
}

TEST(socket_pins_module)
{
	const char *refcnt = "/sys/module/ktp/refcnt";
	long before, during, after;
	int fds[3], i;

	before = read_long(refcnt);
	ASSERT_LE(0, before);
	for (i = 0; i < 3; i++) {
		fds[i] = ktp_socket(AF_INET);
		ASSERT_LE(0, fds[i]);
	}
	during = read_long(refcnt);
	EXPECT_LE(before + 3, during);

	/* rmmod must refuse while a socket lives. */
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "ktp", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));

	for (i = 0; i < 3; i++)
		close(fds[i]);
	after = read_long(refcnt);
	EXPECT_EQ(before, after);
}

TEST_HARNESS_MAIN
