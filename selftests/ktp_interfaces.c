// SPDX-License-Identifier: GPL-2.0
/*
 * KTP as the kernel's networking tools see it: /proc/net/ktp rows for
 * listeners, connections and TIME_WAIT entries; network namespaces that
 * keep their sockets, ports, sysctls and counters to themselves, and that
 * free everything when they die with connections still open; counter
 * deltas around operations, as nstat shows them.
 *
 * Every test runs in a network namespace of its own (the harness forks
 * each test), so what it reads is what it did.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"

/* One row of /proc/net/ktp, the fields of /proc/net/tcp that matter. */
struct proc_row {
	uint32_t laddr, raddr;		/* as printed: network order */
	unsigned int lport, rport;
	unsigned int st;
	unsigned int tx_queue, rx_queue;
	unsigned int timer;
	unsigned long inode;
};

/*
 * Find the row whose local port is @lport and, unless 0, remote port
 * @rport. Returns 1 found, 0 not, -1 the file is missing or malformed.
 */
static int proc_find(unsigned int lport, unsigned int rport,
		     struct proc_row *row)
{
	char line[512];
	int found = 0;
	FILE *f;

	f = fopen("/proc/net/ktp", "r");
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f) || !strstr(line, "local_address")) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct proc_row r;
		unsigned long when;
		unsigned int retr, uid, timeout;
		int sl;

		if (sscanf(line, "%d: %x:%x %x:%x %x %x:%x %x:%lx %x %u %u %lu",
			   &sl, &r.laddr, &r.lport, &r.raddr, &r.rport, &r.st,
			   &r.tx_queue, &r.rx_queue, &r.timer, &when, &retr,
			   &uid, &timeout, &r.inode) != 14) {
			found = -1;
			break;
		}
		if (r.lport == lport && (!rport || r.rport == rport)) {
			*row = r;
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Poll /proc/net/ktp for up to @ms until the row is in state @st (or,
 * for @st 0, gone). Returns 1 when it is, 0 on time-out, -1 on error.
 */
static int proc_wait(unsigned int lport, unsigned int rport, unsigned int st,
		     int ms, struct proc_row *row)
{
	long long end = now_ms() + ms;
	int r;

	for (;;) {
		r = proc_find(lport, rport, row);
		if (r < 0)
			return -1;
		if (st ? r == 1 && row->st == st : r == 0)
			return 1;
		if (now_ms() >= end)
			return 0;
		sleep_ms(10);
	}
}

/* A listener: st 0A, no peer, its socket's inode, accept queue in rx. */
TEST_F(ns, proc_listener_row)
{
	struct proc_row row;
	int cli;

	ASSERT_EQ(1, proc_find(self->port, 0, &row));
	EXPECT_EQ(KTP_LISTEN, row.st);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), row.laddr);
	EXPECT_EQ(0, row.raddr);
	EXPECT_EQ(0, row.rport);
	EXPECT_EQ(fd_inode(self->lfd), row.inode);
	EXPECT_EQ(0, row.rx_queue);

	/* one connection waiting to be accepted */
	cli = ktp_dial(self->port);
	ASSERT_LE(0, cli);
	ASSERT_EQ(1, proc_find(self->port, 0, &row));
	EXPECT_EQ(1, row.rx_queue);
	close(cli);

	close(self->lfd);
	self->lfd = -1;
	EXPECT_EQ(1, proc_wait(self->port, 0, 0, 2000, &row));
}

/* Both ends of a connection: ESTABLISHED, ports crossed, each its inode;
 * unread data in rx_queue, unacknowledged data in tx_queue.
 */
TEST_F(ns, proc_connection_rows)
{
	unsigned short cport;
	struct proc_row c, s;
	char buf[1000];

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	cport = sock_port(self->cli, 0);
	ASSERT_EQ(1, proc_find(cport, self->port, &c));
	ASSERT_EQ(1, proc_find(self->port, cport, &s));
	EXPECT_EQ(KTP_ESTABLISHED, c.st);
	EXPECT_EQ(KTP_ESTABLISHED, s.st);
	EXPECT_EQ(fd_inode(self->cli), c.inode);
	EXPECT_EQ(fd_inode(self->srv), s.inode);
	EXPECT_EQ(c.laddr, s.raddr);
	EXPECT_EQ(s.laddr, c.raddr);

	memset(buf, 'k', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	ASSERT_EQ(0, wait_acked(self->cli, 2000));
	ASSERT_EQ(1, proc_find(self->port, cport, &s));
	EXPECT_EQ(sizeof(buf), s.rx_queue);
	ASSERT_EQ(1, proc_find(cport, self->port, &c));
	EXPECT_EQ(0, c.tx_queue);
}

/* The active closer's TIME_WAIT entry: st 06, timer 3, no inode, and
 * gone after net.ktp.tw_timeout (1 s here).
 */
TEST_F(ns, proc_time_wait_row)
{
	unsigned short cport;
	struct proc_row row;
	char c;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	cport = sock_port(self->cli, 0);
	ASSERT_EQ(0, shutdown(self->cli, SHUT_WR));
	ASSERT_EQ(0, recv(self->srv, &c, 1, 0));
	close(self->srv);
	self->srv = -1;
	ASSERT_EQ(1, proc_wait(cport, self->port, KTP_TIME_WAIT, 2000, &row));
	EXPECT_EQ(3, row.timer);
	EXPECT_EQ(0, row.inode);
	close(self->cli);
	self->cli = -1;
	EXPECT_EQ(1, proc_wait(cport, self->port, 0, 3000, &row));
}

/* A namespace sees only its own sockets, and its ports are its own. */
TEST_F(ns, netns_isolates_sockets_and_ports)
{
	struct proc_row row;
	int status, lfd;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		const char *why;
		int fd;

		if (private_netns(NULL, &why))
			_exit(10);
		/* not listed here, not reachable from here */
		if (proc_find(self->port, 0, &row) != 0)
			_exit(11);
		fd = ktp_sock(0);
		if (fd < 0)
			_exit(12);
		if (!connect_port(fd, self->port) || errno != ECONNREFUSED)
			_exit(13);
		close(fd);
		/* the same port is free here */
		lfd = ktp_listener(4, &self->port);
		if (lfd < 0)
			_exit(14);
		if (proc_find(self->port, 0, &row) != 1 || row.st != KTP_LISTEN)
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* ours is still the only one here */
	ASSERT_EQ(1, proc_find(self->port, 0, &row));
	EXPECT_EQ(fd_inode(self->lfd), row.inode);
}

/* A sysctl set in one namespace leaves another's alone. */
TEST_F(ns, netns_isolates_sysctls)
{
	char mine[32], theirs[32];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(0, sysctl_set("ktp/syn_retries", "2"));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		const char *why;
		char buf[32];

		close(p[0]);
		if (private_netns(NULL, &why) ||
		    read_file("/proc/sys/net/ktp/syn_retries", buf, sizeof(buf)))
			_exit(1);
		if (write(p[1], buf, strlen(buf)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], theirs, sizeof(theirs) - 1);
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_LT(0, n);
	theirs[n] = '\0';
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/syn_retries", mine,
			       sizeof(mine)));
	EXPECT_STREQ("2\n", mine);
	EXPECT_STREQ("6\n", theirs);	/* the default, as tcp_syn_retries */
}

/*
 * A namespace dies with a listener, an established connection with
 * unread data both ways, a connection half-closed and a TIME_WAIT entry
 * in it: the module's references come back to what they were, so
 * everything was freed (kmemleak and KASAN watch the same under make
 * check-debug).
 */
TEST(netns_delete_with_live_connections)
{
	long before = ktp_refs();
	long long end;
	int status;
	pid_t pid;

	ASSERT_LE(0, before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned short port = 0;
		int lfd, c1, s1, c2, s2, c3, s3;
		const char *why;
		char buf[4096];

		memset(buf, 'x', sizeof(buf));
		if (private_netns(NULL, &why))
			_exit(10);
		lfd = ktp_listener(8, &port);
		if (lfd < 0 || ktp_pair(lfd, port, &c1, &s1) ||
		    ktp_pair(lfd, port, &c2, &s2) ||
		    ktp_pair(lfd, port, &c3, &s3))
			_exit(11);
		/* unread data both ways */
		if (send(c1, buf, sizeof(buf), 0) != sizeof(buf) ||
		    send(s1, buf, sizeof(buf), 0) != sizeof(buf))
			_exit(12);
		/* half-closed: c2 FIN_WAIT2, s2 CLOSE_WAIT */
		if (shutdown(c2, SHUT_WR) ||
		    wait_state(c2, KTP_FIN_WAIT2, 2000) != KTP_FIN_WAIT2)
			_exit(13);
		/* c3 into TIME_WAIT, the default 60 s */
		if (sysctl_set("ktp/tw_timeout", "60") || shutdown(c3, SHUT_WR) ||
		    recv(s3, buf, 1, 0) != 0)
			_exit(14);
		close(s3);
		if (proc_wait(sock_port(c3, 0), port, KTP_TIME_WAIT, 2000,
			      &(struct proc_row){ 0 }) != 1)
			_exit(15);
		/* one request waiting in the accept queue, too */
		if (ktp_dial(port) < 0)
			_exit(16);
		_exit(0);	/* the namespace goes with the last process */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* namespace teardown runs in a workqueue: bounded wait */
	end = now_ms() + 10000;
	while (ktp_refs() > before && now_ms() < end)
		sleep_ms(50);
	EXPECT_EQ(before, ktp_refs());
}

/* Within @ms, as many segments came in as went out since @out, @in:
 * loopback delivers each one, in softirq, soon after it was sent.
 */
static int segs_balance(long out, long in, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		if (snmp_get("OutSegs") - out == snmp_get("InSegs") - in)
			return 1;
		if (now_ms() >= end)
			return 0;
		sleep_ms(10);
	}
}

/* nstat-style: the counters move by what one connection does. */
TEST_F(ns, counters_around_a_connection)
{
	long act, pas, est, rst, in, out;
	char buf[100];

	act = snmp_get("ActiveOpens");
	pas = snmp_get("PassiveOpens");
	est = snmp_get("CurrEstab");
	rst = snmp_get("OutRsts");
	in = snmp_get("InSegs");
	out = snmp_get("OutSegs");
	ASSERT_LE(0, act);
	EXPECT_EQ(0, est);

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(act + 1, snmp_get("ActiveOpens"));
	EXPECT_EQ(pas + 1, wait_snmp("PassiveOpens", pas + 1, 2000));
	EXPECT_EQ(2, snmp_get("CurrEstab"));

	memset(buf, 'n', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	ASSERT_EQ(sizeof(buf), recv(self->srv, buf, sizeof(buf), MSG_WAITALL));
	ASSERT_EQ(0, wait_acked(self->cli, 2000));
	/* on loopback, every segment out is a segment in: SYN, SYN-ACK,
	 * ACK, data, its ACK at least
	 */
	EXPECT_LE(out + 5, snmp_get("OutSegs"));
	EXPECT_EQ(1, segs_balance(out, in, 1000));

	ASSERT_EQ(0, abort_close(&self->cli, self->srv));
	EXPECT_EQ(rst + 1, snmp_get("OutRsts"));
	EXPECT_EQ(0, snmp_get("CurrEstab"));
}

/*
 * Tracepoints: each fires with the connection's addresses and the right
 * fields. The trace buffer is global; lines are told apart by ports.
 */
#define TRACING	"/sys/kernel/tracing"

static int trace_enable(const char *event, int on)
{
	char path[128];

	snprintf(path, sizeof(path), TRACING "/events/ktp/%s/enable", event);
	return write_file(path, on ? "1" : "0");
}

/* The first line of the trace with @event whose text holds @what and
 * @also (unless NULL), copied into @line; 1 found, 0 not, -1 no trace.
 */
static int trace_find(const char *event, const char *what, const char *also,
		      char *line, size_t size)
{
	char tag[64], buf[1024];
	int found = 0;
	FILE *f;

	/* a line that did not match is never left behind to be judged */
	line[0] = '\0';
	f = fopen(TRACING "/trace", "r");
	if (!f)
		return -1;
	snprintf(tag, sizeof(tag), " %s: ", event);
	while (fgets(buf, sizeof(buf), f)) {
		if (strstr(buf, tag) && strstr(buf, what) &&
		    (!also || strstr(buf, also))) {
			snprintf(line, size, "%s", buf);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static const char *const ktp_events[] = {
	"ktp_retransmit", "ktp_send_reset", "ktp_receive_reset", "ktp_probe",
};

FIXTURE(tp) {
	int lfd, cli, srv;
	unsigned short port, cport;
	char cli_to_srv[96], srv_to_cli[96];
	char line[1024];
};

FIXTURE_SETUP(tp)
{
	const char *why;
	unsigned int i;

	self->lfd = self->cli = self->srv = -1;
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, access(TRACING "/events/ktp", F_OK))
		TH_LOG("no tracefs with the ktp events");
	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, write_file(TRACING "/trace", ""));
	for (i = 0; i < ARRAY_LEN(ktp_events); i++)
		ASSERT_EQ(0, trace_enable(ktp_events[i], 1));
	self->port = 0;
	self->lfd = ktp_listener(4, &self->port);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	self->cport = sock_port(self->cli, 0);
	snprintf(self->cli_to_srv, sizeof(self->cli_to_srv),
		 "src=127.0.0.1:%u dst=127.0.0.1:%u", self->cport, self->port);
	snprintf(self->srv_to_cli, sizeof(self->srv_to_cli),
		 "src=127.0.0.1:%u dst=127.0.0.1:%u", self->port, self->cport);
}

FIXTURE_TEARDOWN(tp)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(ktp_events); i++)
		trace_enable(ktp_events[i], 0);
	close_conn(&self->lfd, &self->cli, &self->srv);
}

/* Every ACK the sender processes: its cwnd, window and RTT. */
TEST_F(tp, probe_per_ack)
{
	char buf[4096];
	unsigned int cwnd = 0, wnd = 0;
	char *p;

	memset(buf, 'p', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	ASSERT_EQ(0, wait_acked(self->cli, 2000));
	ASSERT_EQ(1, trace_find("ktp_probe", self->cli_to_srv, NULL,
				self->line, sizeof(self->line)))
		TH_LOG("no ktp_probe for %s", self->cli_to_srv);
	p = strstr(self->line, "snd_cwnd=");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, sscanf(p, "snd_cwnd=%u", &cwnd));
	EXPECT_LT(0, cwnd);
	p = strstr(self->line, "snd_wnd=");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, sscanf(p, "snd_wnd=%u", &wnd));
	EXPECT_LT(0, wnd);
}

/* An abort: the RST the closer sends (SO_LINGER {1, 0} has moved it to
 * CLOSE by then, as TCP's tcp_disconnect() does), the RST the peer takes.
 */
TEST_F(tp, send_and_receive_reset)
{
	ASSERT_EQ(0, abort_close(&self->cli, self->srv));
	EXPECT_EQ(1, trace_find("ktp_send_reset", self->cli_to_srv,
				"state=KTP_CLOSE", self->line,
				sizeof(self->line)));
	EXPECT_EQ(1, trace_find("ktp_receive_reset", self->srv_to_cli,
				"state=KTP_ESTABLISHED", self->line,
				sizeof(self->line)));
}

/* A SYN to a port nobody listens on: answered without a socket. */
TEST_F(tp, reset_for_closed_port)
{
	unsigned short port = self->port;
	char what[96];
	int fd;

	close(self->lfd);
	self->lfd = -1;
	/* a port with no listener: the listener's, now closed */
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, connect_port(fd, port));
	ASSERT_EQ(ECONNREFUSED, errno);
	snprintf(what, sizeof(what), "src=127.0.0.1:%u dst=127.0.0.1:%u",
		 port, sock_port(fd, 0));
	close(fd);
	EXPECT_EQ(1, trace_find("ktp_send_reset", what, "state=none",
				self->line, sizeof(self->line)))
		TH_LOG("no ktp_send_reset %s state=none", what);
}

/* Data into a link that drops everything: the RTO sends it again. */
TEST_F(tp, retransmit_on_rto)
{
	char buf[100], want[64];
	int found = 0;

	ASSERT_EQ(0, system("/usr/sbin/tc qdisc add dev lo root netem loss 100%"
			    " >/dev/null 2>&1"));
	memset(buf, 'r', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(self->cli, buf, sizeof(buf), 0));
	/* the first RTO is at least net.ktp.rto_min, 200 ms */
	snprintf(want, sizeof(want), "len=%zu", sizeof(buf));
	for (int i = 0; i < 300; i++) {
		found = trace_find("ktp_retransmit", self->cli_to_srv, want,
				   self->line, sizeof(self->line));
		if (found)
			break;
		sleep_ms(10);
	}
	ASSERT_EQ(1, found)
		TH_LOG("no ktp_retransmit %s %s", self->cli_to_srv, want);
	EXPECT_NE(NULL, strstr(self->line, "state=KTP_ESTABLISHED"));
}

/* The options both ends of a new connection of this namespace report. */
static int pair_options(struct __test_metadata *_metadata, int lfd,
			unsigned short port, struct ktp_info *c,
			struct ktp_info *s)
{
	int cli, srv, ok;

	if (ktp_pair(lfd, port, &cli, &srv))
		return -1;
	ok = !ktp_info(cli, c) && !ktp_info(srv, s);
	abort_close(&cli, srv);
	close(srv);
	return ok ? 0 : -1;
}

/* net.ktp.window_scaling, net.ktp.sack and net.ktp.timestamps: on by
 * default, as TCP's; off, neither end offers or takes the option. Each
 * option a data segment carries costs the MSS its room: 12 bytes for one
 * SACK block, 12 for a timestamp.
 */
TEST_F(ns, sysctl_window_scaling_sack_timestamps)
{
	const int all = KTPI_OPT_WSCALE | KTPI_OPT_SACK | KTPI_OPT_TIMESTAMPS;
	struct ktp_info c, s;
	unsigned int mss;
	char buf[16];

	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/window_scaling", buf,
			       sizeof(buf)));
	EXPECT_STREQ("1\n", buf);
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/sack", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", buf);
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/timestamps", buf,
			       sizeof(buf)));
	EXPECT_STREQ("1\n", buf);
	ASSERT_EQ(0, pair_options(_metadata, self->lfd, self->port, &c, &s));
	EXPECT_EQ(all, c.ktpi_options);
	EXPECT_EQ(all, s.ktpi_options);
	EXPECT_LT(0, c.ktpi_rcv_wscale);
	EXPECT_EQ(c.ktpi_rcv_wscale, s.ktpi_snd_wscale);
	EXPECT_EQ(c.ktpi_rcv_mss - 24, s.ktpi_snd_mss);
	mss = c.ktpi_rcv_mss;

	ASSERT_EQ(0, sysctl_set("ktp/window_scaling", "0"));
	ASSERT_EQ(0, pair_options(_metadata, self->lfd, self->port, &c, &s));
	EXPECT_EQ(KTPI_OPT_SACK | KTPI_OPT_TIMESTAMPS, c.ktpi_options);
	EXPECT_EQ(KTPI_OPT_SACK | KTPI_OPT_TIMESTAMPS, s.ktpi_options);
	EXPECT_EQ(0, c.ktpi_rcv_wscale + c.ktpi_snd_wscale);
	EXPECT_EQ(0, s.ktpi_rcv_wscale + s.ktpi_snd_wscale);

	ASSERT_EQ(0, sysctl_set("ktp/window_scaling", "1"));
	ASSERT_EQ(0, sysctl_set("ktp/sack", "0"));
	ASSERT_EQ(0, pair_options(_metadata, self->lfd, self->port, &c, &s));
	EXPECT_EQ(KTPI_OPT_WSCALE | KTPI_OPT_TIMESTAMPS, c.ktpi_options);
	EXPECT_EQ(KTPI_OPT_WSCALE | KTPI_OPT_TIMESTAMPS, s.ktpi_options);
	EXPECT_EQ(mss - 12, s.ktpi_snd_mss);

	ASSERT_EQ(0, sysctl_set("ktp/sack", "1"));
	ASSERT_EQ(0, sysctl_set("ktp/timestamps", "0"));
	ASSERT_EQ(0, pair_options(_metadata, self->lfd, self->port, &c, &s));
	EXPECT_EQ(KTPI_OPT_WSCALE | KTPI_OPT_SACK, c.ktpi_options);
	EXPECT_EQ(KTPI_OPT_WSCALE | KTPI_OPT_SACK, s.ktpi_options);
	EXPECT_EQ(mss - 12, s.ktpi_snd_mss);

	EXPECT_EQ(-1, sysctl_set("ktp/sack", "2"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sysctl_set("ktp/timestamps", "2"));
	EXPECT_EQ(EINVAL, errno);
}

/* net.ktp.rmem and wmem: a new socket's buffers are their defaults, from
 * which auto-tuning grows them (ktp_sockapi's buffers_grow_and_lock).
 */
TEST_F(ns, sysctl_rmem_wmem)
{
	int fd, rcv = 0, snd = 0;
	socklen_t len = sizeof(int);
	char buf[64];

	ASSERT_EQ(0, sysctl_set("ktp/rmem", "4096 65536 1000000"));
	ASSERT_EQ(0, sysctl_set("ktp/wmem", "4096 16384 500000"));
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/rmem", buf, sizeof(buf)));
	EXPECT_STREQ("4096\t65536\t1000000\n", buf);
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len));
	len = sizeof(int);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len));
	EXPECT_EQ(65536, rcv);
	EXPECT_EQ(16384, snd);
	close(fd);
	EXPECT_EQ(-1, sysctl_set("ktp/rmem", "0 0 0"));
	EXPECT_EQ(EINVAL, errno);
}

/* The algorithm a socket uses, as KTP_CONGESTION reads it. */
static int cc_of(int fd, char *name, size_t size)
{
	socklen_t len = size - 1;

	memset(name, 0, size);
	return getsockopt(fd, SOL_KTP, KTP_CONGESTION, name, &len);
}

/*
 * net.ktp.congestion_control: the algorithm of the sockets made after it
 * is set (a child takes its listener's); a name nobody registered is
 * refused and changes nothing.
 */
TEST_F(ns, sysctl_congestion_control)
{
	char buf[64], name[16];
	int old, fd;

	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/congestion_control", buf,
			       sizeof(buf)));
	EXPECT_STREQ("cubic\n", buf);
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/available_congestion_control",
			       buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "reno"));
	old = ktp_sock(0);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, cc_of(old, name, sizeof(name)));
	EXPECT_STREQ("cubic", name);

	ASSERT_EQ(0, sysctl_set("ktp/congestion_control", "reno"));
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cc_of(fd, name, sizeof(name)));
	EXPECT_STREQ("reno", name);
	ASSERT_EQ(0, cc_of(old, name, sizeof(name)));
	EXPECT_STREQ("cubic", name);
	close(fd);
	/* the client is new; the listener, and so its child, is older */
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, cc_of(self->cli, name, sizeof(name)));
	EXPECT_STREQ("reno", name);
	ASSERT_EQ(0, cc_of(self->srv, name, sizeof(name)));
	EXPECT_STREQ("cubic", name);

	EXPECT_EQ(-1, sysctl_set("ktp/congestion_control", "nosuch"));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/congestion_control", buf,
			       sizeof(buf)));
	EXPECT_STREQ("reno\n", buf);
	close(old);
}

/* Bytes a non-blocking send() queues on @fd before EAGAIN, 30 s at most. */
static long fill_send_queue(int fd)
{
	static char chunk[16384];
	long long t0 = now_ms();
	long total = 0;
	ssize_t n;

	while (now_ms() - t0 < 30000) {
		n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			/* what was in flight may still be taken in: once more */
			if (poll_events(fd, POLLOUT, 200) & POLLOUT)
				continue;
			break;
		}
		return -1;
	}
	return total;
}

/*
 * net.ktp.mem, module-wide (it exists only in the initial namespace): its
 * hard limit in pages bounds what every socket together may queue. To a
 * reader that does not read, a sender with 4 MiB of send buffer from the
 * start (net.ktp.wmem[1]) queues megabytes without a limit, and a few hundred KiB at
 * most under a limit of 64 pages; whatever it queued arrives once the
 * reader reads.
 */
TEST_F_TIMEOUT(conn, sysctl_mem_bounds_queued_data, 120)
{
	static char buf[65536];
	long queued[2], got;
	ssize_t n;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, sysctl_set("ktp/wmem", "4096 4194304 4194304"));
		if (i)
			ASSERT_EQ(0, sysctl_set("ktp/mem", "16 32 64"));
		ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli,
				      &self->srv));
		queued[i] = fill_send_queue(self->cli);
		/* under the limit, what other sockets hold may leave none */
		ASSERT_LT(i ? -1 : 0, queued[i]);
		/* the limit goes before the reader catches up */
		ktp_sysctls_restore();
		for (got = 0; got < queued[i]; got += n) {
			n = recv(self->srv, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
		}
		EXPECT_EQ(queued[i], got);
		abort_close(&self->cli, self->srv);
		abort_close(&self->srv, -1);
	}
	TH_LOG("queued %ld bytes by default, %ld under 64 pages", queued[0],
	       queued[1]);
	/* in flight and in the reader's queue count as queued too: under
	 * 64 pages a little over 1 MiB was seen at most, against 4 MiB and
	 * more without the limit (the reader's buffer is its listener's,
	 * 128 KiB)
	 */
	EXPECT_LT(3L << 20, queued[0]);
	EXPECT_GT(2L << 20, queued[1]);
}

TEST_HARNESS_MAIN
