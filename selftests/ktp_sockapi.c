// SPDX-License-Identifier: GPL-2.0
/*
 * The socket API of a KTP connection over IPv4 as a user sees it:
 * addresses, accept and accept4, non-blocking connect, poll/epoll/select
 * masks through a connection's life, the recv flags and time-outs, every
 * misuse's errno with nothing lost (ENOTCONN, EINVAL, EFAULT, EOPNOTSUPP,
 * ENOPROTOOPT), SO_LINGER with a time-out, SO_RCVLOWAT, SO_REUSEPORT,
 * connect(AF_UNSPEC), sendfile() and splice(), and a 4 MiB transfer both
 * ways at once checked byte by byte and by digest.
 */
#include <fcntl.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
	       a->sin_addr.s_addr == b->sin_addr.s_addr;
}

TEST_F(conn, getsockname_getpeername)
{
	struct sockaddr_in cl, cp, sl, sp, acc;
	socklen_t len;
	char small[4];
	int fd;

	if (ktp_test_family != AF_INET)
		SKIP(return, "about IPv4 addresses; ktp_ipv6 has IPv6's");
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	len = sizeof(cl);
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&cl, &len));
	EXPECT_EQ(sizeof(cl), len);
	EXPECT_EQ(AF_INET, cl.sin_family);
	EXPECT_EQ(0, cl.sin_port);
	EXPECT_EQ(htonl(INADDR_ANY), cl.sin_addr.s_addr);
	len = sizeof(cp);
	EXPECT_EQ(-1, getpeername(fd, (struct sockaddr *)&cp, &len));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);

	self->cli = ktp_dial(self->port);
	ASSERT_LE(0, self->cli);
	len = sizeof(acc);
	self->srv = accept(self->lfd, (struct sockaddr *)&acc, &len);
	ASSERT_LE(0, self->srv);
	EXPECT_EQ(sizeof(acc), len);

	len = sizeof(cl);
	ASSERT_EQ(0, getsockname(self->cli, (struct sockaddr *)&cl, &len));
	len = sizeof(cp);
	ASSERT_EQ(0, getpeername(self->cli, (struct sockaddr *)&cp, &len));
	len = sizeof(sl);
	ASSERT_EQ(0, getsockname(self->srv, (struct sockaddr *)&sl, &len));
	len = sizeof(sp);
	ASSERT_EQ(0, getpeername(self->srv, (struct sockaddr *)&sp, &len));
	EXPECT_TRUE(same_addr(&cl, &sp));
	EXPECT_TRUE(same_addr(&cl, &acc));
	EXPECT_TRUE(same_addr(&cp, &sl));
	EXPECT_EQ(htons(self->port), sl.sin_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), sl.sin_addr.s_addr);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), cl.sin_addr.s_addr);
	EXPECT_NE(0, cl.sin_port);

	/* A short buffer is filled as far as it goes; the length says all. */
	len = sizeof(small);
	ASSERT_EQ(0, getsockname(self->cli, (struct sockaddr *)small, &len));
	EXPECT_EQ(sizeof(cl), len);
	EXPECT_EQ(0, memcmp(small, &cl, sizeof(small)));

	/* A reset connection has no peer any more. */
	ASSERT_EQ(0, abort_close(&self->cli, self->srv));
	len = sizeof(sp);
	EXPECT_EQ(-1, getpeername(self->srv, (struct sockaddr *)&sp, &len));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(conn, accept4_flags)
{
	int c[3], a, i;

	for (i = 0; i < 3; i++) {
		c[i] = ktp_dial(self->port);
		ASSERT_LE(0, c[i]);
	}
	a = accept4(self->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_TRUE(fcntl(a, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(a)));
	close(a);

	/* Flags are the caller's, not inherited from a listener's. */
	ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, O_NONBLOCK));
	a = accept4(self->lfd, NULL, NULL, 0);
	ASSERT_LE(0, a);
	EXPECT_FALSE(fcntl(a, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(a, F_GETFD) & FD_CLOEXEC);
	close(a);

	EXPECT_EQ(-1, accept4(self->lfd, NULL, NULL, 0x1));
	EXPECT_EQ(EINVAL, errno);
	/* The connection an invalid call did not take is still there. */
	a = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_TRUE(fcntl(a, F_GETFD) & FD_CLOEXEC);
	close(a);
	for (i = 0; i < 3; i++)
		close(c[i]);
}

TEST_F(conn, accept_nonblocking_and_timeout)
{
	long long t0, dt;
	int fd, a;

	EXPECT_EQ(0, poll_now(self->lfd));
	ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, O_NONBLOCK));
	t0 = now_ms();
	EXPECT_EQ(-1, accept(self->lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_GT(200, now_ms() - t0);

	/* Blocking, bounded by SO_RCVTIMEO: EAGAIN once it ran out. */
	ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, 0));
	ASSERT_EQ(0, set_timeo(self->lfd, SO_RCVTIMEO, 300));
	t0 = now_ms();
	EXPECT_EQ(-1, accept(self->lfd, NULL, NULL));
	dt = now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(290, dt);
	EXPECT_GT(2000, dt);

	/* A waiting connection makes the listener readable. */
	self->cli = ktp_dial(self->port);
	ASSERT_LE(0, self->cli);
	EXPECT_EQ(POLLIN, poll_events(self->lfd, POLLIN, 2000) & POLL_SEEN);
	ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, O_NONBLOCK));
	a = accept(self->lfd, NULL, NULL);
	EXPECT_LE(0, a);
	close(a);

	/* Only a listener accepts. */
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, accept(self->cli, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(conn, connect_nonblocking)
{
	short ev;
	int fd;

	fd = ktp_sock(SOCK_NONBLOCK);
	ASSERT_LE(0, fd);
	self->cli = fd;
	EXPECT_EQ(-1, connect_port(fd, self->port));
	EXPECT_EQ(EINPROGRESS, errno);
	ev = poll_events(fd, POLLOUT, 2000) & POLL_SEEN;
	EXPECT_EQ(POLLOUT, ev);
	EXPECT_EQ(0, sock_error(fd));
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(fd)));
	/* As TCP's: the first connect() after completion says 0, later
	 * ones EISCONN.
	 */
	EXPECT_EQ(0, connect_port(fd, self->port));
	EXPECT_EQ(-1, connect_port(fd, self->port));
	EXPECT_EQ(EISCONN, errno);
	self->srv = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->srv);
	ASSERT_EQ(2, send(fd, "ok", 2, 0));
	EXPECT_EQ(2, recv(self->srv, &ev, sizeof(ev), 0));

	/* Blocking sockets too; and a listener is no client. */
	fd = ktp_dial(self->port);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect_port(fd, self->port));
	EXPECT_EQ(EISCONN, errno);
	close(fd);
	EXPECT_EQ(-1, connect_port(self->lfd, self->port));
	EXPECT_EQ(EISCONN, errno);
}

/* The masks tcp_poll() gives, at each step of a connection's life. */
TEST_F(conn, poll_masks_through_life)
{
	char buf[8];
	int fd;

	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(POLLOUT | POLLHUP, poll_now(fd));
	close(fd);

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(POLLOUT, poll_now(self->cli));
	EXPECT_EQ(POLLOUT, poll_now(self->srv));

	ASSERT_EQ(3, send(self->srv, "abc", 3, 0));
	EXPECT_TRUE(poll_events(self->cli, POLLIN, 2000) & POLLIN);
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(self->cli));
	ASSERT_EQ(3, recv(self->cli, buf, sizeof(buf), 0));
	EXPECT_EQ(POLLOUT, poll_now(self->cli));

	/* Our FIN alone: still writable (the write fails), not readable. */
	ASSERT_EQ(0, shutdown(self->srv, SHUT_WR));
	EXPECT_EQ(POLLOUT, poll_now(self->srv));
	/* The peer's FIN: readable (EOF) and POLLRDHUP, not POLLHUP. */
	EXPECT_TRUE(poll_events(self->cli, POLLRDHUP, 2000) & POLLRDHUP);
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP, poll_now(self->cli));
	/* Both directions closed: POLLHUP. */
	ASSERT_EQ(0, shutdown(self->cli, SHUT_WR));
	EXPECT_TRUE(poll_events(self->srv, POLLRDHUP, 2000) & POLLRDHUP);
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLHUP, poll_now(self->cli));
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLHUP, poll_now(self->srv));
}

TEST_F(conn, poll_masks_after_reset)
{
	char buf[8];

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, abort_close(&self->cli, self->srv));
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR,
		  poll_now(self->srv));
	EXPECT_EQ(-1, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNRESET, errno);
	/* Reported once: POLLERR goes with the error. */
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLHUP, poll_now(self->srv));
}

/*
 * Fill the send side of @fd with pattern @seed until MSG_DONTWAIT sends
 * make no more progress, even after the peer had 50 ms to acknowledge
 * what was in flight; returns the bytes queued.
 */
static size_t fill_send_buffer(int fd, uint64_t seed)
{
	unsigned char *buf = malloc(STREAM_CHUNK);
	long long end = now_ms() + 5000;
	size_t total = 0, before;
	ssize_t n;

	if (!buf)
		return 0;
	do {
		before = total;
		for (;;) {
			pattern_fill(buf, STREAM_CHUNK, seed, total);
			n = send(fd, buf, STREAM_CHUNK,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n <= 0)
				break;
			total += n;
		}
		sleep_ms(50);
	} while (total != before && now_ms() < end);
	free(buf);
	return total;
}

/* Read @len bytes of pattern @seed from @fd; 0 if all arrived intact. */
static int drain_pattern(int fd, size_t len, uint64_t seed)
{
	struct ktp_stream rx = {
		.fd = fd, .len = len, .seed = seed,
		.deadline = now_ms() + 10000,
	};

	stream_recv(&rx);
	return rx.err || rx.done != len || rx.bad_at != len ? -1 : 0;
}

TEST_F_TIMEOUT(conn, epoll_events, 30)
{
	struct epoll_event ev = { 0 }, out[4];
	size_t queued;
	int ep, n;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	ev.data.fd = self->cli;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->cli, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 4, 0));

	ASSERT_EQ(2, send(self->srv, "hi", 2, 0));
	n = epoll_wait(ep, out, 4, 2000);
	ASSERT_EQ(1, n);
	EXPECT_EQ(self->cli, out[0].data.fd);
	EXPECT_EQ(EPOLLIN, out[0].events);
	/* Edge-triggered: nothing new, no event. */
	EXPECT_EQ(0, epoll_wait(ep, out, 4, 0));

	ASSERT_EQ(0, shutdown(self->srv, SHUT_WR));
	ASSERT_EQ(1, epoll_wait(ep, out, 4, 2000));
	EXPECT_EQ(EPOLLIN | EPOLLRDHUP, out[0].events);

	/* A writer blocked on a full buffer is woken when room comes. */
	queued = fill_send_buffer(self->cli, 3);
	EXPECT_LT(0, queued);
	ev.events = EPOLLOUT | EPOLLET;
	ev.data.fd = self->cli;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_MOD, self->cli, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 4, 100));
	EXPECT_EQ(0, drain_pattern(self->srv, queued, 3));
	ASSERT_EQ(1, epoll_wait(ep, out, 4, 2000));
	EXPECT_TRUE(out[0].events & EPOLLOUT);
	close(ep);
}

TEST_F(conn, select_readiness)
{
	struct timeval tv;
	fd_set rd, wr;
	char buf[4];
	int c;

	c = ktp_dial(self->port);
	ASSERT_LE(0, c);
	self->cli = c;
	FD_ZERO(&rd);
	FD_SET(self->lfd, &rd);
	tv = (struct timeval){ 2, 0 };
	EXPECT_EQ(1, select(self->lfd + 1, &rd, NULL, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(self->lfd, &rd));
	self->srv = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->srv);

	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(self->srv, &rd);
	FD_SET(c, &wr);
	tv = (struct timeval){ 0, 0 };
	EXPECT_EQ(1, select(FD_SETSIZE, &rd, &wr, NULL, &tv));
	EXPECT_FALSE(FD_ISSET(self->srv, &rd));
	EXPECT_TRUE(FD_ISSET(c, &wr));

	ASSERT_EQ(1, send(c, "x", 1, 0));
	FD_ZERO(&rd);
	FD_SET(self->srv, &rd);
	tv = (struct timeval){ 2, 0 };
	EXPECT_EQ(1, select(self->srv + 1, &rd, NULL, NULL, &tv));
	EXPECT_EQ(1, recv(self->srv, buf, sizeof(buf), 0));

	/* EOF is readable too. */
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	FD_ZERO(&rd);
	FD_SET(self->srv, &rd);
	tv = (struct timeval){ 2, 0 };
	EXPECT_EQ(1, select(self->srv + 1, &rd, NULL, NULL, &tv));
	EXPECT_EQ(0, recv(self->srv, buf, sizeof(buf), 0));
}

TEST_F(conn, msg_peek)
{
	char buf[32];
	int i;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(-1, recv(self->cli, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, set_int_opt(self->srv, SOL_KTP, KTP_NODELAY, 1));
	ASSERT_EQ(6, send(self->srv, "hello ", 6, 0));
	ASSERT_EQ(5, send(self->srv, "world", 5, 0));
	/* Both segments in, or give up. */
	for (i = 0; i < 200; i++) {
		if (recv(self->cli, buf, sizeof(buf), MSG_PEEK) == 11)
			break;
		sleep_ms(5);
	}
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(11, recv(self->cli, buf, sizeof(buf), MSG_PEEK));
	EXPECT_STREQ("hello world", buf);
	/* Peeking again sees the same bytes. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(11, recv(self->cli, buf, sizeof(buf), MSG_PEEK));
	EXPECT_STREQ("hello world", buf);
	/* A short peek, then a short read, then a peek at the rest. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, recv(self->cli, buf, 3, MSG_PEEK));
	EXPECT_STREQ("hel", buf);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(8, recv(self->cli, buf, 8, 0));
	EXPECT_STREQ("hello wo", buf);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, recv(self->cli, buf, sizeof(buf), MSG_PEEK));
	EXPECT_STREQ("rld", buf);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, recv(self->cli, buf, sizeof(buf), 0));
	EXPECT_STREQ("rld", buf);
	EXPECT_EQ(-1, recv(self->cli, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

struct paced {
	int fd, chunks, size, gap_ms, shut;
};

static void *paced_send(void *arg)
{
	struct paced *p = arg;
	unsigned char buf[4096];
	int i;

	for (i = 0; i < p->chunks; i++) {
		pattern_fill(buf, p->size, 11, (uint64_t)i * p->size);
		if (send(p->fd, buf, p->size, MSG_NOSIGNAL) != p->size)
			break;
		sleep_ms(p->gap_ms);
	}
	if (p->shut)
		shutdown(p->fd, SHUT_WR);
	return NULL;
}

TEST_F_TIMEOUT(conn, msg_waitall, 30)
{
	struct paced p = { .chunks = 3, .size = 1000, .gap_ms = 50 };
	unsigned char buf[4000], want[3000];
	long long t0, dt;
	pthread_t thr;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, set_int_opt(self->srv, SOL_KTP, KTP_NODELAY, 1));
	p.fd = self->srv;

	/* Three chunks 50 ms apart: one recv returns them all. */
	ASSERT_EQ(0, pthread_create(&thr, NULL, paced_send, &p));
	EXPECT_EQ(3000, recv(self->cli, buf, 3000, MSG_WAITALL));
	pthread_join(thr, NULL);
	pattern_fill(want, 3000, 11, 0);
	EXPECT_EQ(0, memcmp(buf, want, 3000));

	/* The time-out ends the wait with what arrived. */
	ASSERT_EQ(1000, send(self->srv, want, 1000, 0));
	ASSERT_EQ(0, set_timeo(self->cli, SO_RCVTIMEO, 300));
	t0 = now_ms();
	EXPECT_EQ(1000, recv(self->cli, buf, 3000, MSG_WAITALL));
	dt = now_ms() - t0;
	EXPECT_LE(290, dt);
	EXPECT_GT(2000, dt);

	/* So does EOF. */
	p.chunks = 1;
	p.shut = 1;
	ASSERT_EQ(0, pthread_create(&thr, NULL, paced_send, &p));
	EXPECT_EQ(1000, recv(self->cli, buf, 3000, MSG_WAITALL));
	pthread_join(thr, NULL);
	EXPECT_EQ(0, recv(self->cli, buf, 3000, MSG_WAITALL));
}

TEST_F_TIMEOUT(conn, rcvtimeo_eagain, 30)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	long long t0, dt;
	char buf[4];

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, set_timeo(self->cli, SO_RCVTIMEO, 300));
	ASSERT_EQ(0, getsockopt(self->cli, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	EXPECT_EQ(0, tv.tv_sec);
	EXPECT_EQ(300000, tv.tv_usec);

	t0 = now_ms();
	EXPECT_EQ(-1, recv(self->cli, buf, sizeof(buf), 0));
	dt = now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(290, dt);
	EXPECT_GT(2000, dt);

	/* MSG_DONTWAIT does not wait at all. */
	t0 = now_ms();
	EXPECT_EQ(-1, recv(self->cli, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_GT(100, now_ms() - t0);

	/* The connection is none the worse. */
	ASSERT_EQ(2, send(self->srv, "ok", 2, 0));
	EXPECT_EQ(2, recv(self->cli, buf, sizeof(buf), 0));
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(self->cli)));
}

/*
 * A peer that does not read: blocking sends stop at SO_SNDTIMEO, with
 * the count of what they queued or EAGAIN; nothing queued is lost.
 */
TEST_F_TIMEOUT(conn, sndtimeo_and_dontwait, 60)
{
	size_t chunk = 1 << 20, total = 0, limit = 64 << 20;
	unsigned char *buf = malloc(chunk);
	long long t0, dt = 0;
	int waited = 0;
	ssize_t n;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, set_timeo(self->cli, SO_SNDTIMEO, 300));

	/*
	 * Whole chunks go in at once until the buffers are full; from then
	 * on each blocking send waits SO_SNDTIMEO and returns what it could
	 * queue meanwhile (the buffers may still grow), until one queues
	 * nothing and fails with EAGAIN.
	 */
	while (total < limit) {
		pattern_fill(buf, chunk, 5, total);
		t0 = now_ms();
		n = send(self->cli, buf, chunk, MSG_NOSIGNAL);
		dt = now_ms() - t0;
		if (n < 0)
			break;
		total += n;
		if (n < (ssize_t)chunk) {
			EXPECT_LE(290, dt);
			waited++;
		}
	}
	ASSERT_GT(limit, total) TH_LOG("%zu bytes queued to a peer that does not read",
				       total);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(290, dt);
	EXPECT_GT(3000, dt);
	EXPECT_GT(20, waited);

	/* MSG_DONTWAIT never waits. */
	pattern_fill(buf, chunk, 5, total);
	t0 = now_ms();
	n = send(self->cli, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
	EXPECT_GT(100, now_ms() - t0);
	if (n > 0)
		total += n;
	else
		EXPECT_EQ(EAGAIN, errno);

	/* Everything accepted arrives, in order, and room comes back. */
	EXPECT_EQ(0, drain_pattern(self->srv, total, 5));
	EXPECT_TRUE(poll_events(self->cli, POLLOUT, 2000) & POLLOUT);
	free(buf);
}

TEST_F(conn, efault_keeps_data_queued)
{
	struct ktp_info info;
	socklen_t len;
	char buf[16];

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(10, send(self->srv, "0123456789", 10, 0));
	ASSERT_TRUE(poll_events(self->cli, POLLIN, 2000) & POLLIN);

	EXPECT_EQ(-1, recv(self->cli, (void *)1, 10, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, recv(self->cli, (void *)1, 10, MSG_PEEK));
	EXPECT_EQ(EFAULT, errno);
	/* Still all there. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(10, recv(self->cli, buf, sizeof(buf), 0));
	EXPECT_STREQ("0123456789", buf);

	/* A bad source sends nothing, and the stream goes on after it. */
	EXPECT_EQ(-1, send(self->cli, (void *)1, 10, 0));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, ktp_info(self->cli, &info));
	EXPECT_EQ(0, info.ktpi_notsent_bytes);
	EXPECT_EQ(info.ktpi_iss + 1, info.ktpi_snd_nxt);
	EXPECT_EQ(2, send(self->cli, "ok", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_STREQ("ok", buf);

	/* Bad option pointers. */
	len = sizeof(info);
	EXPECT_EQ(-1, getsockopt(self->cli, SOL_KTP, KTP_INFO, &info,
				 (socklen_t *)1));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, getsockopt(self->cli, SOL_KTP, KTP_INFO, (void *)1,
				 &len));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, setsockopt(self->cli, SOL_KTP, KTP_NODELAY, (void *)1,
				 sizeof(int)));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(conn, enotconn)
{
	char buf[4];
	int fd;

	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ENOTCONN, errno);
	/* Bound is not connected either. */
	ASSERT_EQ(0, bind_port(fd, 0));
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(fd, SHUT_WR));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(fd, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);

	/* Nor is a listener. */
	EXPECT_EQ(-1, recv(self->lfd, buf, sizeof(buf), 0));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(conn, einval)
{
	struct sockaddr_in sin = lo_addr(self->port);
	int val = 1;
	socklen_t len;

	if (ktp_test_family != AF_INET)
		SKIP(return, "about IPv4 addresses; ktp_ipv6 has IPv6's");
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(-1, listen(self->cli, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, listen(self->srv, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, shutdown(self->cli, 7));
	EXPECT_EQ(EINVAL, errno);

	len = (socklen_t)-1;
	EXPECT_EQ(-1, getsockopt(self->cli, SOL_KTP, KTP_NODELAY, &val, &len));
	EXPECT_EQ(EINVAL, errno);
	len = (socklen_t)-1;
	EXPECT_EQ(-1, getsockopt(self->cli, SOL_KTP, KTP_INFO, &val, &len));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->cli, SOL_KTP, KTP_NODELAY, &val, 2));
	EXPECT_EQ(EINVAL, errno);

	/* Addresses too short, or of the wrong family, for connect(). */
	close(self->cli);
	self->cli = ktp_sock(0);
	ASSERT_LE(0, self->cli);
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&sin,
			      sizeof(sin) - 1));
	EXPECT_EQ(EINVAL, errno);
	sin.sin_family = AF_INET6;
	EXPECT_EQ(-1, connect(self->cli, (struct sockaddr *)&sin,
			      sizeof(sin)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	/* None of that harmed the socket. */
	EXPECT_EQ(0, connect_port(self->cli, self->port));
}

TEST_F(conn, oob_not_supported)
{
	char buf[8];
	int c;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	c = self->cli;
	EXPECT_EQ(-1, send(c, "!", 1, MSG_OOB));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(4, send(c, "data", 4, 0));
	ASSERT_TRUE(poll_events(self->srv, POLLIN, 2000) & POLLIN);
	EXPECT_EQ(-1, recv(self->srv, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Nothing was sent out of band, nothing in band was lost. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_STREQ("data", buf);
	EXPECT_FALSE(poll_now(self->srv) & (POLLPRI | POLLIN));
}

TEST_F(conn, unknown_options)
{
	int val = 1, rcvbuf = 0;
	socklen_t len = sizeof(val);

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(-1, getsockopt(self->cli, SOL_KTP, 9999, &val, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(self->cli, SOL_KTP, 9999, &val, sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	/* KTP is not TCP or UDP: their levels are unknown here. */
	len = sizeof(val);
	EXPECT_EQ(-1, getsockopt(self->cli, IPPROTO_TCP, TCP_NODELAY, &val,
				 &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(self->cli, IPPROTO_TCP, TCP_NODELAY, &val,
				 sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(self->cli, IPPROTO_UDP, 1, &val,
				 sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	/* While the socket and IP levels work. */
	len = sizeof(rcvbuf);
	EXPECT_EQ(0, getsockopt(self->cli, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				&len));
	EXPECT_LT(0, rcvbuf);
	len = sizeof(val);
	EXPECT_EQ(0, getsockopt(self->cli, SOL_IP, IP_TTL, &val, &len));
	EXPECT_LT(0, val);
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(self->cli)));
}

TEST_F(conn, nodelay_option)
{
	socklen_t len = sizeof(int);
	int val = -1;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, getsockopt(self->cli, SOL_KTP, KTP_NODELAY, &val, &len));
	EXPECT_EQ(0, val);
	ASSERT_EQ(0, set_int_opt(self->cli, SOL_KTP, KTP_NODELAY, 5));
	len = sizeof(int);
	ASSERT_EQ(0, getsockopt(self->cli, SOL_KTP, KTP_NODELAY, &val, &len));
	EXPECT_EQ(1, val);
	EXPECT_EQ(sizeof(int), len);
	ASSERT_EQ(0, set_int_opt(self->cli, SOL_KTP, KTP_NODELAY, 0));
	len = sizeof(int);
	ASSERT_EQ(0, getsockopt(self->cli, SOL_KTP, KTP_NODELAY, &val, &len));
	EXPECT_EQ(0, val);
}

/*
 * SO_LINGER with a positive time-out: close() waits until the FIN is
 * acknowledged, and gives up after the time-out when it never is. Over a
 * loopback that first works, then loses everything (netem, in the test's
 * own namespace): the time-out is a lower bound on the wait, measured as
 * the user sees it.
 */
TEST_F_TIMEOUT(ns, linger_positive_waits_for_the_ack, 30)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 10 };
	char buf[4096];
	long long t0, dt;
	int n;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	memset(buf, 'l', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	ASSERT_EQ(0, setsockopt(self->cli, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	t0 = now_ms();
	EXPECT_EQ(0, close(self->cli));
	self->cli = -1;
	dt = now_ms() - t0;
	/* acknowledged: back long before the 10 s, the FIN already in */
	EXPECT_GT(5000, dt);
	EXPECT_STREQ("CLOSE_WAIT", state_str(ktp_state(self->srv)));
	EXPECT_EQ(sizeof(buf), recv(self->srv, buf, sizeof(buf), MSG_WAITALL));
	EXPECT_EQ(0, recv(self->srv, buf, sizeof(buf), 0));
	abort_close(&self->srv, -1);

	/* what is lost gives up soon: nothing outlives the test for long */
	ASSERT_EQ(0, sysctl_set("ktp/retries2", "3"));
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, system("/usr/sbin/tc qdisc add dev lo root netem loss 100%"
			    " >/dev/null 2>&1"));
	lg.l_linger = 1;
	ASSERT_EQ(0, setsockopt(self->cli, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	t0 = now_ms();
	n = close(self->cli);
	self->cli = -1;
	dt = now_ms() - t0;
	EXPECT_EQ(0, n);
	/* nothing acknowledged: the whole second, less a jiffy */
	EXPECT_LE(990, dt);
	EXPECT_GT(10000, dt);
}

/*
 * SO_RCVLOWAT: poll() says readable only once that many bytes (or the end
 * of the stream) are there, and a blocking recv() waits for them until
 * its time-out, then returns what there is.
 */
TEST_F_TIMEOUT(conn, rcvlowat, 30)
{
	char buf[256];
	long long t0;
	int lowat = 100;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, setsockopt(self->srv, SOL_SOCKET, SO_RCVLOWAT, &lowat,
				sizeof(lowat)));
	memset(buf, 'w', sizeof(buf));
	ASSERT_EQ(50, send(self->cli, buf, 50, 0));
	/* the 50 bytes are there once acknowledged */
	ASSERT_EQ(0, wait_acked(self->cli, 2000));
	EXPECT_FALSE(poll_now(self->srv) & POLLIN);
	ASSERT_EQ(0, set_timeo(self->srv, SO_RCVTIMEO, 500));
	t0 = now_ms();
	EXPECT_EQ(50, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_LE(490, now_ms() - t0);

	ASSERT_EQ(60, send(self->cli, buf, 60, 0));
	ASSERT_EQ(0, wait_acked(self->cli, 2000));
	EXPECT_FALSE(poll_now(self->srv) & POLLIN);
	ASSERT_EQ(40, send(self->cli, buf, 40, 0));
	EXPECT_TRUE(poll_events(self->srv, POLLIN, 2000) & POLLIN);
	t0 = now_ms();
	EXPECT_EQ(100, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_GT(400, now_ms() - t0);

	/* the end of the stream is readable whatever the low mark */
	ASSERT_EQ(10, send(self->cli, buf, 10, 0));
	ASSERT_EQ(0, shutdown(self->cli, SHUT_WR));
	EXPECT_TRUE(poll_events(self->srv, POLLIN, 2000) & POLLIN);
	EXPECT_EQ(10, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->srv, buf, sizeof(buf), 0));
}

/* A listener of the test family on @port with SO_REUSEPORT as asked. */
static int reuseport_listener(unsigned short port, int reuse)
{
	struct sockaddr_storage ss;
	socklen_t len = lo_sockaddr(&ss, port);
	int fd = ktp_sock(SOCK_NONBLOCK);

	if (fd < 0)
		return -1;
	if ((reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse,
				 sizeof(reuse))) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 32)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * SO_REUSEPORT: listeners that all set it share a port, and connections
 * are spread over them (by the 4-tuple's hash: 24 connections from 24
 * ports all landing on one of two listeners would be a 1 in 8 million
 * chance); one that did not set it may not join.
 */
TEST_F_TIMEOUT(conn, reuseport_spreads_connections, 60)
{
	int a, b, c, fds[24], got[2] = { 0, 0 }, i, s;
	unsigned short port;

	a = reuseport_listener(0, 1);
	ASSERT_LE(0, a);
	port = sock_port(a, 0);
	b = reuseport_listener(port, 1);
	ASSERT_LE(0, b) TH_LOG("second SO_REUSEPORT listener: %s",
			       strerror(errno));
	c = reuseport_listener(port, 0);
	EXPECT_EQ(-1, c);
	EXPECT_EQ(EADDRINUSE, errno);
	for (i = 0; i < 24; i++) {
		fds[i] = ktp_dial(port);
		ASSERT_LE(0, fds[i]) TH_LOG("connection %d: %s", i,
					    strerror(errno));
	}
	/* blocking connect() returned: every connection is queued */
	for (i = 0; i < 2; i++) {
		while ((s = accept(i ? b : a, NULL, NULL)) >= 0) {
			got[i]++;
			abort_close(&s, -1);
		}
		EXPECT_EQ(EAGAIN, errno);
	}
	EXPECT_EQ(24, got[0] + got[1]);
	EXPECT_LT(0, got[0]);
	EXPECT_LT(0, got[1]);
	for (i = 0; i < 24; i++)
		abort_close(&fds[i], -1);
	close(a);
	close(b);
}

/*
 * connect() with AF_UNSPEC dissolves a connection as TCP's does: a RST to
 * the peer, the socket CLOSED with ECONNRESET pending (tcp_disconnect()
 * leaves it too), and free to connect again. On a socket that never
 * connected it is a no-op.
 */
TEST_F(conn, connect_af_unspec_disconnects)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	char buf[4];
	int fd;

	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, connect(fd, &unspec, sizeof(unspec)));
	EXPECT_STREQ("CLOSED", state_str(ktp_state(fd)));
	close(fd);

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, connect(self->cli, &unspec, sizeof(unspec)))
		TH_LOG("connect(AF_UNSPEC): %s", strerror(errno));
	EXPECT_STREQ("CLOSED", state_str(ktp_state(self->cli)));
	EXPECT_EQ(ECONNRESET, sock_error(self->cli));
	EXPECT_STREQ("CLOSED",
		     state_str(wait_state(self->srv, KTP_CLOSE, 2000)));
	EXPECT_EQ(-1, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNRESET, errno);
	close(self->srv);

	/* the same socket connects again */
	ASSERT_EQ(0, connect_port(self->cli, self->port))
		TH_LOG("connect again: %s", strerror(errno));
	self->srv = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->srv);
	EXPECT_EQ(0, sock_error(self->cli));
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(self->cli)));
	ASSERT_EQ(2, send(self->cli, "ok", 2, 0))
		TH_LOG("send after reconnecting: %s", strerror(errno));
	EXPECT_EQ(2, recv(self->srv, buf, sizeof(buf), 0));
}

/*
 * A socket that connects again after connect(AF_UNSPEC) starts as a
 * fresh one, as TCP's does after tcp_disconnect(): the congestion window,
 * slow-start threshold, RTT and counters of the first connection are
 * gone. Before, the second connection inherited a window the first had
 * grown on another path.
 */
TEST_F_TIMEOUT(conn, reconnect_starts_afresh, 60)
{
	struct ktp_stream tx = { .len = 4 << 20, .seed = 5 };
	struct ktp_stream rx = { .len = 4 << 20, .seed = 5 };
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct ktp_info fresh, grown, again;
	pthread_t thr;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, ktp_info(self->cli, &fresh));
	tx.fd = self->cli;
	rx.fd = self->srv;
	tx.deadline = rx.deadline = now_ms() + 40000;
	ASSERT_EQ(0, pthread_create(&thr, NULL, stream_send, &tx));
	stream_recv(&rx);
	pthread_join(thr, NULL);
	ASSERT_EQ(rx.len, rx.done) TH_LOG("recv: %s", strerror(rx.err));
	ASSERT_EQ(0, wait_acked(self->cli, KTP_IO_TIMEOUT_MS));
	ASSERT_EQ(0, ktp_info(self->cli, &grown));
	/* the first connection did grow its window and count its bytes */
	ASSERT_LT(fresh.ktpi_snd_cwnd, grown.ktpi_snd_cwnd);
	ASSERT_LE(tx.len, grown.ktpi_bytes_acked);

	ASSERT_EQ(0, connect(self->cli, &unspec, sizeof(unspec)));
	close(self->srv);
	ASSERT_EQ(0, connect_port(self->cli, self->port))
		TH_LOG("connect again: %s", strerror(errno));
	self->srv = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->srv);
	ASSERT_EQ(0, ktp_info(self->cli, &again));
	EXPECT_EQ(fresh.ktpi_snd_cwnd, again.ktpi_snd_cwnd);
	EXPECT_EQ(fresh.ktpi_snd_ssthresh, again.ktpi_snd_ssthresh);
	EXPECT_EQ(fresh.ktpi_bytes_acked, again.ktpi_bytes_acked);
	EXPECT_EQ(fresh.ktpi_segs_out, again.ktpi_segs_out);
	EXPECT_EQ(0, again.ktpi_total_retrans);
	EXPECT_EQ(0, again.ktpi_retransmits);
}

/* Many tiny writes arrive whole and in order. */
TEST_F_TIMEOUT(conn, small_writes_in_order, 60)
{
	struct ktp_stream rx = { .len = 3000 * 7, .seed = 21 };
	unsigned char chunk[7];
	pthread_t thr;
	int i;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, set_int_opt(self->cli, SOL_KTP, KTP_NODELAY, 1));
	rx.fd = self->srv;
	rx.deadline = now_ms() + 30000;
	ASSERT_EQ(0, pthread_create(&thr, NULL, stream_recv, &rx));
	for (i = 0; i < 3000; i++) {
		pattern_fill(chunk, sizeof(chunk), 21, i * sizeof(chunk));
		if (send(self->cli, chunk, sizeof(chunk), 0) != sizeof(chunk))
			break;
	}
	EXPECT_EQ(3000, i) TH_LOG("send %d: %s", i, strerror(errno));
	pthread_join(thr, NULL);
	EXPECT_EQ(0, rx.err) TH_LOG("recv: %s", strerror(rx.err));
	EXPECT_EQ(rx.len, rx.done);
	EXPECT_EQ(rx.len, rx.bad_at);
}

/* A file of @len bytes of pattern @seed in /tmp, unlinked; its fd. */
static int pattern_file(size_t len, uint64_t seed)
{
	char name[] = "/tmp/ktp_sendfile.XXXXXX";
	unsigned char buf[STREAM_CHUNK];
	size_t off, n;
	int fd;

	fd = mkstemp(name);
	if (fd < 0)
		return -1;
	unlink(name);
	for (off = 0; off < len; off += n) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		pattern_fill(buf, n, seed, off);
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/*
 * sendfile() from a file into a KTP socket (the kernel's splice into a
 * socket: sendpage up to 6.4, sendmsg with MSG_SPLICE_PAGES from 6.5),
 * and splice() from a KTP socket through a pipe into a file: 2 MiB each,
 * checked byte by byte.
 */
TEST_F_TIMEOUT(conn, sendfile_and_splice, 60)
{
	struct ktp_stream rx = { .len = 2 << 20, .seed = 31 };
	struct ktp_stream tx = { .len = 2 << 20, .seed = 32 };
	unsigned char buf[STREAM_CHUNK], want[STREAM_CHUNK];
	char name[] = "/tmp/ktp_splice.XXXXXX";
	size_t done = 0, got = 0, n;
	int in, out, p[2], bad = -1;
	off_t off = 0;
	pthread_t thr;
	ssize_t r;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	in = pattern_file(rx.len, rx.seed);
	ASSERT_LE(0, in) TH_LOG("pattern file: %s", strerror(errno));
	rx.fd = self->srv;
	rx.deadline = now_ms() + 30000;
	ASSERT_EQ(0, pthread_create(&thr, NULL, stream_recv, &rx));
	while (done < rx.len) {
		r = sendfile(self->cli, in, &off, rx.len - done);
		if (r <= 0)
			break;
		done += r;
	}
	EXPECT_EQ(rx.len, done) TH_LOG("sendfile: %s", strerror(errno));
	EXPECT_EQ((off_t)rx.len, off);
	pthread_join(thr, NULL);
	close(in);
	EXPECT_EQ(0, rx.err) TH_LOG("recv: %s", strerror(rx.err));
	EXPECT_EQ(rx.len, rx.done);
	EXPECT_EQ(rx.len, rx.bad_at) TH_LOG("sendfile's bytes differ at %zu",
					    rx.bad_at);

	/* the other way: socket -> pipe -> file */
	out = mkstemp(name);
	ASSERT_LE(0, out);
	unlink(name);
	ASSERT_EQ(0, pipe(p));
	tx.fd = self->srv;
	tx.deadline = now_ms() + 30000;
	ASSERT_EQ(0, pthread_create(&thr, NULL, stream_send, &tx));
	while (got < tx.len) {
		r = splice(self->cli, NULL, p[1], NULL, tx.len - got, 0);
		if (r <= 0)
			break;
		while (r > 0) {
			ssize_t w = splice(p[0], NULL, out, NULL, r, 0);

			if (w <= 0)
				break;
			r -= w;
			got += w;
		}
		if (r)
			break;
	}
	pthread_join(thr, NULL);
	EXPECT_EQ(0, tx.err) TH_LOG("send: %s", strerror(tx.err));
	EXPECT_EQ(tx.len, got) TH_LOG("splice: %s", strerror(errno));
	for (off = 0; off < (off_t)got && bad < 0; off += n) {
		n = got - off < sizeof(buf) ? got - off : sizeof(buf);
		if (pread(out, buf, n, off) != (ssize_t)n) {
			bad = off;
			break;
		}
		pattern_fill(want, n, tx.seed, off);
		if (memcmp(buf, want, n))
			bad = off;
	}
	EXPECT_EQ(-1, bad) TH_LOG("splice's bytes differ in the 64 KiB at %d",
				  bad);
	close(p[0]);
	close(p[1]);
	close(out);
}

static int get_buf(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int val = -1;

	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len))
		return -1;
	return val;
}

/* Move @len bytes of pattern @seed from @tx to @rx; 0 if all intact. */
static int one_way(int tx, int rx, size_t len, uint64_t seed)
{
	struct ktp_stream out = { .fd = tx, .len = len, .seed = seed };
	pthread_t thr;

	out.deadline = now_ms() + 30000;
	if (pthread_create(&thr, NULL, stream_send, &out))
		return -1;
	if (drain_pattern(rx, len, seed)) {
		pthread_join(thr, NULL);
		return -1;
	}
	pthread_join(thr, NULL);
	return out.err || out.done != len ? -1 : 0;
}

/*
 * Buffer auto-tuning, as TCP's: a connection starts with net.ktp.rmem[1]
 * as its receive buffer, and both buffers grow with a bulk transfer,
 * within net.ktp.rmem[2] and wmem[2]. SO_RCVBUF and SO_SNDBUF lock them
 * at what was asked (doubled, as for every socket).
 */
TEST_F_TIMEOUT(conn, buffers_grow_and_lock, 60)
{
	int rmem1 = 131072, wmem1 = 16384, rmem2 = 6 << 20, wmem2 = 4 << 20;
	int rcv, snd;

	ASSERT_EQ(0, sysctl_set("ktp/rmem", "4096 131072 6291456"));
	ASSERT_EQ(0, sysctl_set("ktp/wmem", "4096 16384 4194304"));
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(rmem1, get_buf(self->srv, SO_RCVBUF));
	EXPECT_EQ(rmem1, get_buf(self->cli, SO_RCVBUF));
	ASSERT_EQ(0, one_way(self->cli, self->srv, 8 << 20, 41));
	rcv = get_buf(self->srv, SO_RCVBUF);
	snd = get_buf(self->cli, SO_SNDBUF);
	TH_LOG("after 8 MiB: receiver's buffer %d, sender's %d", rcv, snd);
	EXPECT_LT(rmem1, rcv);
	EXPECT_GE(rmem2, rcv);
	EXPECT_LT(wmem1, snd);
	EXPECT_GE(wmem2, snd);
	close(self->cli);
	close(self->srv);
	self->cli = self->srv = -1;

	/* locked: set before the transfer, kept through it */
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, set_int_opt(self->srv, SOL_SOCKET, SO_RCVBUF, 40000));
	ASSERT_EQ(0, set_int_opt(self->cli, SOL_SOCKET, SO_SNDBUF, 30000));
	ASSERT_EQ(0, one_way(self->cli, self->srv, 4 << 20, 42));
	EXPECT_EQ(80000, get_buf(self->srv, SO_RCVBUF));
	EXPECT_EQ(60000, get_buf(self->cli, SO_SNDBUF));
}

/*
 * 4 MiB each way at once, each direction a thread of its own, checked
 * byte by byte against the pattern and by FNV-1a digest.
 */
TEST_F_TIMEOUT(conn, transfer_4mib_both_ways, 90)
{
	struct ktp_stream tx[2], rx[2];
	struct ktp_info ci, si;
	pthread_t thr[3];
	long long deadline = now_ms() + 60000;
	size_t len = 4 << 20;
	int i;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	for (i = 0; i < 2; i++) {
		memset(&tx[i], 0, sizeof(tx[i]));
		memset(&rx[i], 0, sizeof(rx[i]));
		tx[i].len = rx[i].len = len;
		tx[i].seed = rx[i].seed = 100 + i;
		tx[i].deadline = rx[i].deadline = deadline;
	}
	tx[0].fd = self->cli;
	rx[0].fd = self->srv;
	tx[1].fd = self->srv;
	rx[1].fd = self->cli;
	ASSERT_EQ(0, pthread_create(&thr[0], NULL, stream_send, &tx[0]));
	ASSERT_EQ(0, pthread_create(&thr[1], NULL, stream_send, &tx[1]));
	ASSERT_EQ(0, pthread_create(&thr[2], NULL, stream_recv, &rx[0]));
	stream_recv(&rx[1]);
	for (i = 0; i < 3; i++)
		pthread_join(thr[i], NULL);

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, tx[i].err) TH_LOG("send %d: %s", i,
					      strerror(tx[i].err));
		EXPECT_EQ(0, rx[i].err) TH_LOG("recv %d: %s", i,
					      strerror(rx[i].err));
		EXPECT_EQ(len, tx[i].done);
		EXPECT_EQ(len, rx[i].done);
		EXPECT_EQ(len, rx[i].bad_at) TH_LOG("stream %d differs at %zu",
						    i, rx[i].bad_at);
		EXPECT_EQ(tx[i].digest, rx[i].digest);
	}

	/* Both ends agree on the byte counts; each side closes cleanly. */
	EXPECT_EQ(0, wait_acked(self->cli, 2000));
	EXPECT_EQ(0, wait_acked(self->srv, 2000));
	ASSERT_EQ(0, ktp_info(self->cli, &ci));
	ASSERT_EQ(0, ktp_info(self->srv, &si));
	EXPECT_EQ(len, si.ktpi_bytes_received);
	EXPECT_EQ(len, ci.ktpi_bytes_received);
	EXPECT_EQ(len, si.ktpi_bytes_acked);
	EXPECT_EQ(ci.ktpi_snd_nxt, si.ktpi_rcv_nxt);
	EXPECT_EQ(si.ktpi_snd_nxt, ci.ktpi_rcv_nxt);
	ASSERT_EQ(0, shutdown(self->cli, SHUT_WR));
	ASSERT_EQ(0, shutdown(self->srv, SHUT_WR));
	EXPECT_EQ(0, recv(self->srv, &i, sizeof(i), 0));
	EXPECT_EQ(0, recv(self->cli, &i, sizeof(i), 0));
}

TEST_HARNESS_MAIN
