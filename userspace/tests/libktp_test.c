// SPDX-License-Identifier: GPL-2.0
/*
 * libktp without a kernel module: state names, family discovery from the
 * module parameter file, argument checking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	EXPECT_EQ(-1, ktp_socket(AF_UNIX, 0));
	EXPECT_EQ(EAFNOSUPPORT, errno);
}

TEST_HARNESS_MAIN
