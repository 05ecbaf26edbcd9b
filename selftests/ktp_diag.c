// SPDX-License-Identifier: GPL-2.0
/*
 * KTP over NETLINK_SOCK_DIAG (module/diag.c) and ktpss, as a user of ss
 * sees them: rows for a listener, both ends of a connection with the
 * ktp_info KTP_INFO gives, a TIME_WAIT entry; the state and port filters;
 * a namespace that sees only its own sockets; a dump of hundreds of
 * sockets over many netlink messages, each socket once; malformed
 * requests answered with an errno; the module not pinned once a dump is
 * over or abandoned; ktpss's rows from sock_diag and from /proc the same.
 *
 * Every test runs in a network namespace of its own, so a dump lists
 * what the test made and nothing else.
 */
#include <sys/wait.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"

#define DIAG_BUF	(64 * 1024)
#define ALL_STATES	0xffe		/* 1 << KTP_ESTABLISHED ... CLOSING */
#define EXT_INFO	(1 << (INET_DIAG_INFO - 1))
#define EXT_CONG	(1 << (INET_DIAG_CONG - 1))

/* One reply row: the message and the attributes the tests look at. */
struct diag_row {
	struct inet_diag_msg m;
	int has_info;
	struct ktp_info info;
	char cong[16];
	int shutdown;			/* -1: no INET_DIAG_SHUTDOWN */
};

/* What a request got back. */
struct diag_result {
	struct diag_row rows[1024];
	int n;
	int msgs;			/* recv() calls that brought rows */
	int err;			/* errno of an NLMSG_ERROR, 0 */
	int truncated;
};

static struct inet_diag_req_v2 diag_req(void)
{
	struct inet_diag_req_v2 r;

	memset(&r, 0, sizeof(r));
	r.sdiag_family = ktp_family();
	r.sdiag_protocol = KTP_DIAG_ALL;
	r.idiag_states = ALL_STATES;
	r.idiag_ext = EXT_INFO | EXT_CONG;
	r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	return r;
}

static int diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd >= 0 && set_timeo(fd, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A request of @len bytes of payload (which may be short or carry
 * attributes); 0 or -1.
 */
static int diag_send(int fd, uint16_t flags, const void *payload, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[512];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;

	if (NLMSG_LENGTH(len) > sizeof(buf))
		return -1;
	memset(buf, 0, sizeof(buf));
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = 7;
	memcpy(NLMSG_DATA(h), payload, len);
	return sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&sa,
		      sizeof(sa)) == (ssize_t)h->nlmsg_len ? 0 : -1;
}

static void diag_add(struct diag_result *res, const struct nlmsghdr *h)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	struct rtattr *a = (struct rtattr *)(m + 1);
	struct diag_row *row;
	size_t n;

	if (res->n >= (int)ARRAY_LEN(res->rows))
		return;
	row = &res->rows[res->n++];
	memset(row, 0, sizeof(*row));
	row->m = *m;
	row->shutdown = -1;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		n = RTA_PAYLOAD(a);
		if (a->rta_type == INET_DIAG_INFO) {
			memcpy(&row->info, RTA_DATA(a),
			       n < sizeof(row->info) ? n : sizeof(row->info));
			row->has_info = 1;
		} else if (a->rta_type == INET_DIAG_CONG && n < 16) {
			memcpy(row->cong, RTA_DATA(a), n);
		} else if (a->rta_type == INET_DIAG_SHUTDOWN) {
			row->shutdown = *(uint8_t *)RTA_DATA(a);
		}
	}
}

/*
 * Read replies into @res, with recv() buffers of @bufsize bytes (the
 * kernel sizes dump messages by the reader's buffer), until NLMSG_DONE or
 * NLMSG_ERROR; @max_msgs stops early (0: no limit). 0, or -1 when the
 * socket failed (time-out).
 */
static int diag_read(int fd, struct diag_result *res, size_t bufsize,
		     int max_msgs)
{
	char *buf = malloc(bufsize);
	struct nlmsghdr *h;
	int len, got;
	ssize_t n;

	if (!buf)
		return -1;
	for (;;) {
		n = recv(fd, buf, bufsize, MSG_TRUNC);
		if (n <= 0)
			break;
		if ((size_t)n > bufsize) {
			res->truncated = 1;
			break;
		}
		len = n;
		got = 0;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto done;
			if (h->nlmsg_type == NLMSG_ERROR) {
				res->err = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
				goto done;
			}
			diag_add(res, h);
			got = 1;
		}
		res->msgs += got;
		if (max_msgs && res->msgs >= max_msgs)
			goto done;
	}
	free(buf);
	return -1;
done:
	free(buf);
	return 0;
}

/* A whole dump of @r; 0 or -1. */
static int diag_dump(const struct inet_diag_req_v2 *r, struct diag_result *res)
{
	int fd = diag_open(), err;

	memset(res, 0, sizeof(*res));
	if (fd < 0)
		return -1;
	err = diag_send(fd, NLM_F_DUMP, r, sizeof(*r));
	if (!err)
		err = diag_read(fd, res, DIAG_BUF, 0);
	close(fd);
	return err;
}

/* The row with local port @lport and, unless 0, remote port @rport. */
static struct diag_row *diag_find(struct diag_result *res,
				  unsigned short lport, unsigned short rport)
{
	int i;

	for (i = 0; i < res->n; i++) {
		struct inet_diag_msg *m = &res->rows[i].m;

		if (ntohs(m->id.idiag_sport) == lport &&
		    (!rport || ntohs(m->id.idiag_dport) == rport))
			return &res->rows[i];
	}
	return NULL;
}

/* The rows of the last request; each test is a process of its own. */
static struct diag_result dres;

/* The listener: LISTEN, its address and port, no peer, its inode and
 * owner; the accept queue in Recv-Q, the backlog in Send-Q, as ss has it.
 */
TEST_F(ns, listener_row)
{
	struct inet_diag_req_v2 r = diag_req();
	struct diag_row *row;

	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(0, dres.err);
	ASSERT_EQ(1, dres.n);
	row = diag_find(&dres, self->port, 0);
	ASSERT_NE(NULL, row);
	EXPECT_EQ(AF_INET, row->m.idiag_family);
	EXPECT_EQ(KTP_LISTEN, row->m.idiag_state);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), row->m.id.idiag_src[0]);
	EXPECT_EQ(0, row->m.id.idiag_dst[0]);
	EXPECT_EQ(0, row->m.id.idiag_dport);
	EXPECT_EQ(fd_inode(self->lfd), row->m.idiag_inode);
	EXPECT_EQ(getuid(), row->m.idiag_uid);
	EXPECT_EQ(0, row->m.idiag_rqueue);
	EXPECT_EQ(16, row->m.idiag_wqueue);
	EXPECT_TRUE(row->m.id.idiag_cookie[0] || row->m.id.idiag_cookie[1]);
	ASSERT_TRUE(row->has_info);
	EXPECT_EQ(KTP_LISTEN, row->info.ktpi_state);
}

/* Both ends of a connection: ESTABLISHED, ports crossed, each its
 * inode, and INET_DIAG_INFO equal to what KTP_INFO says on the same fd.
 */
TEST_F(ns, connection_rows_carry_ktp_info)
{
	struct inet_diag_req_v2 r = diag_req();
	struct ktp_info ci, si;
	struct diag_row *c, *s;
	unsigned short cport;
	char buf[3000];

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	cport = sock_port(self->cli, 0);
	memset(buf, 'd', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	ASSERT_EQ(0, wait_acked(self->cli, 2000));
	ASSERT_EQ(0, ktp_info(self->cli, &ci));
	ASSERT_EQ(0, ktp_info(self->srv, &si));

	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(3, dres.n);
	c = diag_find(&dres, cport, self->port);
	s = diag_find(&dres, self->port, cport);
	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(KTP_ESTABLISHED, c->m.idiag_state);
	EXPECT_EQ(KTP_ESTABLISHED, s->m.idiag_state);
	EXPECT_EQ(fd_inode(self->cli), c->m.idiag_inode);
	EXPECT_EQ(fd_inode(self->srv), s->m.idiag_inode);
	EXPECT_EQ(c->m.id.idiag_src[0], s->m.id.idiag_dst[0]);
	EXPECT_EQ(sizeof(buf), s->m.idiag_rqueue);
	EXPECT_EQ(0, c->m.idiag_wqueue);
	EXPECT_EQ(0, c->shutdown);
	EXPECT_STRNE("", c->cong);

	ASSERT_TRUE(c->has_info);
	ASSERT_TRUE(s->has_info);
	EXPECT_EQ(ci.ktpi_state, c->info.ktpi_state);
	EXPECT_EQ(ci.ktpi_snd_mss, c->info.ktpi_snd_mss);
	EXPECT_EQ(ci.ktpi_iss, c->info.ktpi_iss);
	EXPECT_EQ(ci.ktpi_irs, c->info.ktpi_irs);
	EXPECT_EQ(ci.ktpi_snd_nxt, c->info.ktpi_snd_nxt);
	EXPECT_LE(sizeof(buf), c->info.ktpi_bytes_acked);
	EXPECT_EQ(ci.ktpi_bytes_acked, c->info.ktpi_bytes_acked);
	EXPECT_EQ(si.ktpi_state, s->info.ktpi_state);
	EXPECT_EQ(si.ktpi_rcv_nxt, s->info.ktpi_rcv_nxt);
	EXPECT_LE(sizeof(buf), s->info.ktpi_bytes_received);
	EXPECT_EQ(si.ktpi_bytes_received, s->info.ktpi_bytes_received);
	EXPECT_EQ(sizeof(buf), s->info.ktpi_rcv_queue);
}

/* Start a close from the client: it becomes a TIME_WAIT entry. */
static int make_time_wait(int *cli, int *srv)
{
	char c;

	if (shutdown(*cli, SHUT_WR) || recv(*srv, &c, 1, 0) != 0)
		return -1;
	close(*srv);
	*srv = -1;
	if (wait_state(*cli, KTP_CLOSE, 2000) != KTP_CLOSE)
		return -1;
	close(*cli);
	*cli = -1;
	return 0;
}

/* The active closer's TIME_WAIT entry: state 6, timer 3 with time left,
 * no inode; gone after net.ktp.tw_timeout (1 s here).
 */
TEST_F(ns, time_wait_row)
{
	struct inet_diag_req_v2 r = diag_req();
	unsigned short cport;
	struct diag_row *row;
	long long end;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	cport = sock_port(self->cli, 0);
	ASSERT_EQ(0, make_time_wait(&self->cli, &self->srv));

	ASSERT_EQ(0, diag_dump(&r, &dres));
	row = diag_find(&dres, cport, self->port);
	ASSERT_NE(NULL, row);
	EXPECT_EQ(KTP_TIME_WAIT, row->m.idiag_state);
	EXPECT_EQ(3, row->m.idiag_timer);
	EXPECT_LT(0, row->m.idiag_expires);
	EXPECT_GE(1000, row->m.idiag_expires);
	EXPECT_EQ(0, row->m.idiag_inode);
	EXPECT_FALSE(row->has_info);

	end = now_ms() + 5000;
	do {
		sleep_ms(100);
		ASSERT_EQ(0, diag_dump(&r, &dres));
	} while (diag_find(&dres, cport, 0) && now_ms() < end);
	EXPECT_EQ(NULL, diag_find(&dres, cport, 0));
}

/* idiag_states picks states; the ports of id pick ports. */
TEST_F(ns, state_and_port_filters)
{
	struct inet_diag_req_v2 r = diag_req();
	unsigned short cport;
	int i, c2, s2;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &c2, &s2));
	cport = sock_port(self->cli, 0);

	r.idiag_states = 1 << KTP_ESTABLISHED;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(4, dres.n);
	for (i = 0; i < dres.n; i++)
		EXPECT_EQ(KTP_ESTABLISHED, dres.rows[i].m.idiag_state);

	r.idiag_states = 1 << KTP_LISTEN;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(1, dres.n);
	EXPECT_EQ(KTP_LISTEN, dres.rows[0].m.idiag_state);

	/* sport: the listener and the two accepted ends */
	r.idiag_states = ALL_STATES;
	r.id.idiag_sport = htons(self->port);
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(3, dres.n);
	for (i = 0; i < dres.n; i++)
		EXPECT_EQ(self->port, ntohs(dres.rows[i].m.id.idiag_sport));

	/* sport and dport: one end of one connection */
	r.id.idiag_dport = htons(cport);
	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(1, dres.n);
	EXPECT_EQ(fd_inode(self->srv), dres.rows[0].m.idiag_inode);

	/* dport alone: the client ends */
	r.id.idiag_sport = 0;
	r.id.idiag_dport = htons(self->port);
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(2, dres.n);

	/* a source address that is not ours: nothing */
	r.id.idiag_src[0] = htonl(0x7f000002);
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(0, dres.n);

	/* IPv6 only: none of these */
	r = diag_req();
	r.sdiag_protocol = KTPPROTO_KTP6;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(0, dres.n);
	r.sdiag_protocol = KTPPROTO_KTP;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(5, dres.n);
	abort_close(&c2, -1);
	abort_close(&s2, -1);
}

/* A get without NLM_F_DUMP: the entry with exactly that id and cookie. */
TEST_F(ns, get_one_by_id_and_cookie)
{
	struct inet_diag_req_v2 r = diag_req();
	struct diag_result *one;
	struct diag_row *row;
	int fd;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, diag_dump(&r, &dres));
	row = diag_find(&dres, sock_port(self->cli, 0), self->port);
	ASSERT_NE(NULL, row);
	one = malloc(sizeof(*one));
	ASSERT_NE(NULL, one);

	r.id = row->m.id;
	fd = diag_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, diag_send(fd, NLM_F_ACK, &r, sizeof(r)));
	memset(one, 0, sizeof(*one));
	ASSERT_EQ(0, diag_read(fd, one, DIAG_BUF, 0));
	EXPECT_EQ(0, one->err);
	ASSERT_EQ(1, one->n);
	EXPECT_EQ(fd_inode(self->cli), one->rows[0].m.idiag_inode);
	EXPECT_TRUE(one->rows[0].has_info);

	/* a stale cookie: no such socket */
	r.id.idiag_cookie[0]++;
	ASSERT_EQ(0, diag_send(fd, NLM_F_ACK, &r, sizeof(r)));
	memset(one, 0, sizeof(*one));
	ASSERT_EQ(0, diag_read(fd, one, DIAG_BUF, 0));
	EXPECT_EQ(ENOENT, one->err);
	EXPECT_EQ(0, one->n);
	close(fd);
	free(one);
}

/* Malformed requests get an errno, and a good one still works after. */
TEST_F(ns, malformed_requests)
{
	struct inet_diag_req_v2 r = diag_req();
	struct {
		struct inet_diag_req_v2 r;
		struct nlattr bc;
		uint32_t op;
	} withbc;
	int fd;

	fd = diag_open();
	ASSERT_LE(0, fd);

	/* shorter than inet_diag_req_v2, longer than sock_diag_req */
	ASSERT_EQ(0, diag_send(fd, NLM_F_DUMP, &r, 8));
	memset(&dres, 0, sizeof(dres));
	ASSERT_EQ(0, diag_read(fd, &dres, DIAG_BUF, 0));
	EXPECT_EQ(EINVAL, dres.err);

	/* a protocol that is neither KTP, KTP6 nor both */
	r.sdiag_protocol = 6;
	ASSERT_EQ(0, diag_send(fd, NLM_F_DUMP, &r, sizeof(r)));
	memset(&dres, 0, sizeof(dres));
	ASSERT_EQ(0, diag_read(fd, &dres, DIAG_BUF, 0));
	EXPECT_EQ(EPROTONOSUPPORT, dres.err);

	/* inet_diag's filter bytecode is not spoken */
	withbc.r = diag_req();
	withbc.bc.nla_len = sizeof(withbc.bc) + sizeof(withbc.op);
	withbc.bc.nla_type = INET_DIAG_REQ_BYTECODE;
	withbc.op = 0;
	ASSERT_EQ(0, diag_send(fd, NLM_F_DUMP, &withbc, sizeof(withbc)));
	memset(&dres, 0, sizeof(dres));
	ASSERT_EQ(0, diag_read(fd, &dres, DIAG_BUF, 0));
	EXPECT_EQ(EOPNOTSUPP, dres.err);

	/* and a good request on the same socket */
	r = diag_req();
	ASSERT_EQ(0, diag_send(fd, NLM_F_DUMP, &r, sizeof(r)));
	memset(&dres, 0, sizeof(dres));
	ASSERT_EQ(0, diag_read(fd, &dres, DIAG_BUF, 0));
	EXPECT_EQ(0, dres.err);
	EXPECT_EQ(1, dres.n);
	close(fd);
}

/*
 * Sockets of another namespace are not listed, in either direction: a
 * child in a namespace of its own lists only its listener, and while it
 * holds it the parent lists only its own. (No /proc/self/ns file: under
 * fault injection proc turns a failed inode allocation into ENOENT.)
 */
TEST_F(ns, other_netns_not_dumped)
{
	struct inet_diag_req_v2 r = diag_req();
	int up[2], down[2], status;
	unsigned short theirs;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned short port = 0;
		const char *why;
		int lfd;

		if (private_netns(NULL, &why) || diag_dump(&r, &dres) ||
		    dres.n != 0)
			_exit(10);
		lfd = ktp_listener(4, &port);
		if (lfd < 0 || diag_dump(&r, &dres) || dres.n != 1 ||
		    ntohs(dres.rows[0].m.id.idiag_sport) != port)
			_exit(11);
		if (write(up[1], &port, sizeof(port)) != sizeof(port) ||
		    read(down[0], &c, 1) != 1)
			_exit(12);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	ASSERT_EQ(sizeof(theirs), read(up[0], &theirs, sizeof(theirs)));
	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(1, dres.n);
	EXPECT_EQ(self->port, ntohs(dres.rows[0].m.id.idiag_sport));
	EXPECT_NE(theirs, self->port);
	ASSERT_EQ(1, write(down[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(up[0]);
	close(down[1]);
}

#define MANY	150	/* connections: 300 sockets and the listener */

/*
 * Whether make check-debug's fault injection is armed: a failure
 * probability in debugfs. (Not /proc/self/make-it-fail: under injection
 * proc turns a failed inode allocation into ENOENT.)
 */
static int fault_injected(void)
{
	static const char *const knobs[] = {
		"/sys/kernel/debug/failslab/probability",
		"/sys/kernel/debug/fail_page_alloc/probability",
	};
	unsigned int i;
	char buf[16];

	for (i = 0; i < ARRAY_LEN(knobs); i++)
		if (!read_file(knobs[i], buf, sizeof(buf)) && atoi(buf) > 0)
			return 1;
	return 0;
}

/* A dump too big for one message comes in many, each socket once. */
TEST_F(ns, many_sockets_many_messages_each_once)
{
	static unsigned char seen[65536];
	struct inet_diag_req_v2 r = diag_req();
	struct diag_result *res;
	int cli[MANY], srv[MANY], i, fd, dups = 0;
	long long t0 = now_ms();

	if (fault_injected())
		SKIP(return, "300 connections outlast the time-out under injection");
	res = calloc(1, sizeof(*res));
	ASSERT_NE(NULL, res);
	/* braces: an ASSERT's bail-out follows its statement */
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &cli[i], &srv[i]))
			TH_LOG("connection %d: %s", i, strerror(errno));
	}

	/* 8 KiB reads: the kernel fills no message beyond the reader's size */
	fd = diag_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, diag_send(fd, NLM_F_DUMP, &r, sizeof(r)));
	ASSERT_EQ(0, diag_read(fd, res, 8192, 0));
	close(fd);
	EXPECT_FALSE(res->truncated);
	EXPECT_EQ(0, res->err);
	EXPECT_LT(3, res->msgs) TH_LOG("%d messages", res->msgs);
	ASSERT_EQ(2 * MANY + 1, res->n);
	/* the client ends have distinct ports: count each once */
	for (i = 0; i < res->n; i++) {
		struct inet_diag_msg *m = &res->rows[i].m;
		unsigned short lp = ntohs(m->id.idiag_sport);
		unsigned short rp = ntohs(m->id.idiag_dport);
		unsigned short key = lp == self->port ? rp : lp;

		if (!rp)
			continue;
		if (seen[key] & (lp == self->port ? 1 : 2))
			dups++;
		seen[key] |= lp == self->port ? 1 : 2;
	}
	EXPECT_EQ(0, dups);
	for (i = 0; i < MANY; i++) {
		EXPECT_EQ(3, seen[sock_port(cli[i], 0)]);
		set_linger0(cli[i]);
		close(cli[i]);
		close(srv[i]);
	}
	free(res);
	EXPECT_GT(60000, now_ms() - t0);
}

/* Neither a finished dump nor one abandoned half-way pins the module. */
/*
 * One dump, read in part and abandoned: while it is under way it holds one
 * module reference, and closing it gives that back. Sockets of earlier
 * tests may still be going away in their namespaces and move the count
 * meanwhile, so a try that saw the count move otherwise is tried again.
 */
static int dump_ref_try(const struct inet_diag_req_v2 *r, long *before,
			long *during, long *after)
{
	long long end;
	int fd;

	*before = ktp_refs();
	fd = diag_open();
	if (fd < 0 || diag_send(fd, NLM_F_DUMP, r, sizeof(*r)))
		return -1;
	memset(&dres, 0, sizeof(dres));
	if (diag_read(fd, &dres, 4096, 1) || dres.n >= 81)
		return -1;
	*during = ktp_refs();
	close(fd);
	end = now_ms() + 3000;
	while ((*after = ktp_refs()) != *before && now_ms() < end)
		sleep_ms(20);
	return 0;
}

TEST_F(ns, dump_leaves_no_module_reference)
{
	struct inet_diag_req_v2 r = diag_req();
	long before, during = -1, after = -1;
	int cli[40], srv[40], i, tries;

	for (i = 0; i < 40; i++) {
		ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &cli[i], &srv[i]));
	}
	ASSERT_LT(0, ktp_refs());
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(81, dres.n);

	for (tries = 0; tries < 5; tries++) {
		ASSERT_EQ(0, dump_ref_try(&r, &before, &during, &after));
		if (during == before + 1 && after == before)
			break;
		TH_LOG("try %d: references %ld, %ld during the dump, %ld "
		       "after", tries, before, during, after);
	}
	/* the dump under way held one, and gave it back */
	EXPECT_EQ(before + 1, during);
	EXPECT_EQ(before, after);
	for (i = 0; i < 40; i++) {
		set_linger0(cli[i]);
		close(cli[i]);
		close(srv[i]);
	}
}

/* An IPv6 listener on ::1 and one connection to it, accepted. */
static int v6_pair(int *lfd, int *cli, int *srv, unsigned short *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sin6);

	*lfd = ktp_socket(AF_INET6);
	*cli = ktp_socket(AF_INET6);
	if (*lfd < 0 || *cli < 0 ||
	    bind(*lfd, (struct sockaddr *)&sin6, sizeof(sin6)) ||
	    listen(*lfd, 4) ||
	    getsockname(*lfd, (struct sockaddr *)&sin6, &len) ||
	    set_timeo(*cli, SO_SNDTIMEO, KTP_IO_TIMEOUT_MS) ||
	    connect(*cli, (struct sockaddr *)&sin6, sizeof(sin6)))
		return -1;
	*port = ntohs(sin6.sin6_port);
	*srv = accept(*lfd, NULL, NULL);
	return *srv < 0 ? -1 : 0;
}

/* IPv6 sockets: AF_INET6 rows with ::1, picked by KTPPROTO_KTP6, their
 * ktp_info; KTPPROTO_KTP leaves them out, KTP_DIAG_ALL has both families.
 */
TEST_F(ns, ipv6_rows)
{
	struct inet_diag_req_v2 r = diag_req();
	int lfd = -1, cli = -1, srv = -1, i;
	unsigned short port, cport;
	struct ktp_info ci;
	struct diag_row *c;

	if (v6_pair(&lfd, &cli, &srv, &port) && errno == EAFNOSUPPORT)
		SKIP(goto out, "no IPv6 in this module");
	ASSERT_LE(0, srv) TH_LOG("IPv6 connection: %s", strerror(errno));
	cport = sock_port(cli, 0);
	ASSERT_EQ(0, ktp_info(cli, &ci));

	r.sdiag_protocol = KTPPROTO_KTP6;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(3, dres.n);
	for (i = 0; i < dres.n; i++) {
		EXPECT_EQ(AF_INET6, dres.rows[i].m.idiag_family);
		EXPECT_EQ(0, memcmp(dres.rows[i].m.id.idiag_src,
				    &in6addr_loopback, 16));
	}
	EXPECT_EQ(KTP_LISTEN, diag_find(&dres, port, 0)->m.idiag_state);
	c = diag_find(&dres, cport, port);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(0, memcmp(c->m.id.idiag_dst, &in6addr_loopback, 16));
	EXPECT_EQ(fd_inode(cli), c->m.idiag_inode);
	ASSERT_TRUE(c->has_info);
	EXPECT_EQ(ci.ktpi_snd_mss, c->info.ktpi_snd_mss);
	EXPECT_EQ(ci.ktpi_iss, c->info.ktpi_iss);

	/* a port filter on the IPv6 side */
	r.id.idiag_dport = htons(port);
	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(1, dres.n);
	EXPECT_EQ(cport, ntohs(dres.rows[0].m.id.idiag_sport));

	r = diag_req();
	r.sdiag_protocol = KTPPROTO_KTP;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	ASSERT_EQ(1, dres.n);
	EXPECT_EQ(AF_INET, dres.rows[0].m.idiag_family);
	r.sdiag_protocol = KTP_DIAG_ALL;
	ASSERT_EQ(0, diag_dump(&r, &dres));
	EXPECT_EQ(4, dres.n);
out:
	close_conn(&lfd, &cli, &srv);
}

/* ktpss's output, as lines. */
struct lines {
	char text[16384];
	int status;
};

static int run(const char *cmd, struct lines *out)
{
	size_t n = 0, got;
	FILE *p;

	p = popen(cmd, "r");
	if (!p)
		return -1;
	while ((got = fread(out->text + n, 1, sizeof(out->text) - 1 - n, p)))
		n += got;
	out->text[n] = '\0';
	out->status = pclose(p);
	return 0;
}

/* The line holding all of @words, in order; NULL if none. */
static const char *find_line(const char *text, const char *const *words)
{
	const char *line, *at;
	int i;

	for (line = text; *line; line = strchr(line, '\n') + 1) {
		const char *eol = strchr(line, '\n');

		if (!eol)
			break;
		at = line;
		for (i = 0; words[i]; i++) {
			at = strstr(at, words[i]);
			if (!at || at > eol)
				break;
			at += strlen(words[i]);
		}
		if (!words[i])
			return line;
	}
	return NULL;
}

/* The rows (state, local, peer) of ktpss output, sorted, one a line. */
static void row_keys(const char *text, char *keys, size_t len)
{
	char state[32], local[64], peer[64], *list[256], *copy, *line, *save;
	int n = 0, i, j;

	copy = strdup(text);
	keys[0] = '\0';
	for (line = strtok_r(copy, "\n", &save); line && n < 256;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '\t' || !strncmp(line, "State", 5))
			continue;
		if (sscanf(line, "%31s %*u %*u %63s %63s", state, local,
			   peer) != 3)
			continue;
		if (asprintf(&list[n], "%s %s %s\n", state, local, peer) > 0)
			n++;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
			char *t = list[j];

			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		strncat(keys, list[i], len - strlen(keys) - 1);
		free(list[i]);
	}
	free(copy);
}

/* Run @cmd and sort its rows into @keys; its exit status, -1 if none. */
static int run_keys(const char *cmd, struct lines *out, char *keys, size_t len)
{
	if (run(cmd, out))
		return -1;
	row_keys(out->text, keys, len);
	return WIFEXITED(out->status) ? WEXITSTATUS(out->status) : -1;
}

/* ktpss -tanli shows the listener, both ends with their info line and
 * the TIME_WAIT entry; --proc the same rows from /proc/net/ktp; the
 * filters narrow them; usage errors exit 2.
 */
TEST_F(ns, ktpss_rows_from_diag_and_proc)
{
	char lport[32], cport_s[32], tport[32], k1[4096], k2[4096];
	const char *line;
	struct lines *out;
	unsigned short cport, tw_port;
	int c2, s2;
	FILE *f;

	out = malloc(sizeof(*out));
	ASSERT_NE(NULL, out);
	/* the entry outlives the test's steps, however slow; the namespace
	 * takes it when it goes
	 */
	ASSERT_EQ(0, sysctl_set("ktp/tw_timeout", "60"));
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &c2, &s2));
	tw_port = sock_port(c2, 0);
	ASSERT_EQ(0, make_time_wait(&c2, &s2));
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	cport = sock_port(self->cli, 0);
	snprintf(lport, sizeof(lport), "127.0.0.1:%u", self->port);
	snprintf(cport_s, sizeof(cport_s), "127.0.0.1:%u", cport);
	snprintf(tport, sizeof(tport), "127.0.0.1:%u", tw_port);

	ASSERT_EQ(0, run("./ktpss -tanli", out));
	ASSERT_EQ(0, out->status) TH_LOG("%s", out->text);
	EXPECT_NE(NULL, strstr(out->text, "State"));
	EXPECT_NE(NULL, find_line(out->text, (const char *[]){
		"LISTEN", "0", "16", lport, "0.0.0.0:*", NULL }))
		TH_LOG("%s", out->text);
	line = find_line(out->text, (const char *[]){
		"ESTAB", cport_s, lport, NULL });
	ASSERT_NE(NULL, line) TH_LOG("%s", out->text);
	/* the info line follows the row */
	line = strchr(line, '\n') + 1;
	EXPECT_EQ('\t', line[0]);
	EXPECT_NE(NULL, find_line(line, (const char *[]){
		"rto:", "mss:", "cwnd:", "bytes_acked:", NULL }))
		TH_LOG("%s", out->text);
	EXPECT_NE(NULL, find_line(out->text, (const char *[]){
		"ESTAB", lport, cport_s, NULL }));
	EXPECT_NE(NULL, find_line(out->text, (const char *[]){
		"TIME-WAIT", tport, lport, NULL })) TH_LOG("%s", out->text);
	row_keys(out->text, k1, sizeof(k1));

	ASSERT_EQ(0, run_keys("./ktpss -tan --proc", out, k2, sizeof(k2)));
	EXPECT_STREQ(k1, k2);

	/* a family that has no diag handler: ktpss falls back to /proc */
	f = fopen("/tmp/ktp_diag.family", "w");
	ASSERT_NE(NULL, f);
	fputs("19\n", f);
	ASSERT_EQ(0, fclose(f));
	EXPECT_EQ(0, run_keys("KTP_FAMILY_FILE=/tmp/ktp_diag.family ./ktpss -tan",
			      out, k2, sizeof(k2)));
	unlink("/tmp/ktp_diag.family");
	EXPECT_STREQ(k1, k2);

	/* without -a: no listener; -l: only it; state; ports */
	ASSERT_EQ(0, run("./ktpss -tn", out));
	EXPECT_EQ(NULL, strstr(out->text, "LISTEN"));
	EXPECT_NE(NULL, strstr(out->text, "ESTAB"));
	ASSERT_EQ(0, run("./ktpss -tln", out));
	EXPECT_NE(NULL, strstr(out->text, "LISTEN"));
	EXPECT_EQ(NULL, strstr(out->text, "ESTAB"));
	ASSERT_EQ(0, run("./ktpss -tan state time-wait", out));
	EXPECT_NE(NULL, strstr(out->text, "TIME-WAIT"));
	EXPECT_EQ(NULL, strstr(out->text, "ESTAB"));
	EXPECT_EQ(NULL, strstr(out->text, "LISTEN"));
	snprintf(k2, sizeof(k2), "./ktpss -Htan sport = :%u", cport);
	ASSERT_EQ(0, run(k2, out));
	row_keys(out->text, k1, sizeof(k1));
	snprintf(k2, sizeof(k2), "ESTAB %s %s\n", cport_s, lport);
	EXPECT_STREQ(k2, k1);
	EXPECT_EQ(NULL, strstr(out->text, "State"));

	ASSERT_EQ(0, run("./ktpss -tan state bogus 2>/dev/null", out));
	EXPECT_EQ(2, WEXITSTATUS(out->status));
	ASSERT_EQ(0, run("./ktpss --bogus 2>/dev/null", out));
	EXPECT_EQ(2, WEXITSTATUS(out->status));
	free(out);
}

/* ktpss -6 shows the IPv6 rows as [::1]:port, the same from
 * /proc/net/ktp6; -4 leaves them out.
 */
TEST_F(ns, ktpss_ipv6)
{
	int lfd = -1, cli = -1, srv = -1;
	char want[64], k1[1024], k2[1024];
	struct lines *out;
	unsigned short port;

	if (v6_pair(&lfd, &cli, &srv, &port) && errno == EAFNOSUPPORT)
		SKIP(goto out, "no IPv6 in this module");
	ASSERT_LE(0, srv) TH_LOG("IPv6 connection: %s", strerror(errno));
	out = malloc(sizeof(*out));
	ASSERT_NE(NULL, out);
	snprintf(want, sizeof(want), "[::1]:%u", port);

	ASSERT_EQ(0, run_keys("./ktpss -tan -6", out, k1, sizeof(k1)));
	EXPECT_NE(NULL, find_line(out->text, (const char *[]){
		"LISTEN", want, "[::]:*", NULL })) TH_LOG("%s", out->text);
	EXPECT_NE(NULL, find_line(out->text, (const char *[]){
		"ESTAB", "[::1]:", want, NULL })) TH_LOG("%s", out->text);
	EXPECT_EQ(NULL, strstr(out->text, "127.0.0.1"));

	ASSERT_EQ(0, run_keys("./ktpss -tan -6 --proc", out, k2, sizeof(k2)));
	EXPECT_STREQ(k1, k2);

	ASSERT_EQ(0, run("./ktpss -tan -4", out));
	EXPECT_EQ(NULL, strstr(out->text, "[::"));
	EXPECT_NE(NULL, strstr(out->text, "127.0.0.1"));
	free(out);
out:
	close_conn(&lfd, &cli, &srv);
}

TEST_HARNESS_MAIN
