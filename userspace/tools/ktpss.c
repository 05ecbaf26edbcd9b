// SPDX-License-Identifier: GPL-2.0
/*
 * ktpss: ss for KTP sockets.
 *
 *   ktpss [-tanlieH46] [--proc] [state STATE]... [sport [=] :PORT]
 *         [dport [=] :PORT]
 *
 * It asks the module over NETLINK_SOCK_DIAG (module/diag.c) for the
 * sockets of the caller's network namespace and prints them as ss -t
 * does: State Recv-Q Send-Q Local Address:Port Peer Address:Port, and
 * with -i a second line from each socket's struct ktp_info. When the
 * module does not answer sock_diag (a module without it: ENOENT, EINVAL,
 * EPROTONOSUPPORT, EOPNOTSUPP) it reads /proc/net/ktp and /proc/net/ktp6
 * instead, which have no ktp_info; --proc makes it do that anyway.
 *
 * Exit status: 0 listed (maybe nothing), 1 no way to list KTP sockets
 * (the module is not loaded, a read failed), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "ktp.h"

enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

#define ALL_STATES	(((1U << __KTP_STATE_MAX) - 1) & ~1U)
#define STATE_BIT(s)	(1U << (s))
#define RECV_BUF	(64 * 1024)

/* One socket, from either source. */
struct row {
	int family;
	int state;
	unsigned int rqueue, wqueue;
	struct in6_addr src, dst;	/* IPv4 in the first four bytes */
	unsigned int sport, dport;
	unsigned int uid;
	unsigned long inode;
	unsigned long long cookie;
	int has_info;
	struct ktp_info info;
	char cong[16];
};

static struct {
	unsigned int states;	/* STATE_BIT()s to show */
	int state_given;	/* a "state" filter overrides -a and -l */
	int all, listening;
	int info, extended, header;
	int v4, v6;		/* neither: both */
	int proc;
	unsigned int sport, dport; /* 0: any */
} opt = {
	.header = 1,
};

/* ss's names, so that ss habits read the same. */
static const char *const state_names[__KTP_STATE_MAX] = {
	[KTP_ESTABLISHED]	= "ESTAB",
	[KTP_SYN_SENT]		= "SYN-SENT",
	[KTP_SYN_RECV]		= "SYN-RECV",
	[KTP_FIN_WAIT1]		= "FIN-WAIT-1",
	[KTP_FIN_WAIT2]		= "FIN-WAIT-2",
	[KTP_TIME_WAIT]		= "TIME-WAIT",
	[KTP_CLOSE]		= "UNCONN",
	[KTP_CLOSE_WAIT]	= "CLOSE-WAIT",
	[KTP_LAST_ACK]		= "LAST-ACK",
	[KTP_LISTEN]		= "LISTEN",
	[KTP_CLOSING]		= "CLOSING",
};

#define CONNECTED	(ALL_STATES & ~(STATE_BIT(KTP_LISTEN) | \
					STATE_BIT(KTP_CLOSE)))
#define BUCKET		(STATE_BIT(KTP_SYN_RECV) | STATE_BIT(KTP_TIME_WAIT))

/* The words "state" takes, as ss has them. */
static const struct {
	const char *name;
	unsigned int states;
} state_words[] = {
	{ "all",		ALL_STATES },
	{ "connected",		CONNECTED },
	{ "synchronized",	CONNECTED & ~STATE_BIT(KTP_SYN_SENT) },
	{ "bucket",		BUCKET },
	{ "big",		ALL_STATES & ~BUCKET },
	{ "established",	STATE_BIT(KTP_ESTABLISHED) },
	{ "syn-sent",		STATE_BIT(KTP_SYN_SENT) },
	{ "syn-recv",		STATE_BIT(KTP_SYN_RECV) },
	{ "fin-wait-1",		STATE_BIT(KTP_FIN_WAIT1) },
	{ "fin-wait-2",		STATE_BIT(KTP_FIN_WAIT2) },
	{ "time-wait",		STATE_BIT(KTP_TIME_WAIT) },
	{ "closed",		STATE_BIT(KTP_CLOSE) },
	{ "close-wait",		STATE_BIT(KTP_CLOSE_WAIT) },
	{ "last-ack",		STATE_BIT(KTP_LAST_ACK) },
	{ "listening",		STATE_BIT(KTP_LISTEN) },
	{ "listen",		STATE_BIT(KTP_LISTEN) },
	{ "closing",		STATE_BIT(KTP_CLOSING) },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ktpss [options] [FILTER]\n"
		"  -t, --ktp        KTP sockets (the only kind; for ss habits)\n"
		"  -a, --all        all sockets, listeners included\n"
		"  -l, --listening  listening sockets only\n"
		"  -n, --numeric    numeric (always: KTP has no service names)\n"
		"  -i, --info       the connection's ktp_info on a second line\n"
		"  -e, --extended   uid, inode and cookie\n"
		"  -4, --ipv4       IPv4 sockets only\n"
		"  -6, --ipv6       IPv6 sockets only\n"
		"  -H, --no-header  no column header\n"
		"      --proc       read /proc/net/ktp{,6}, not sock_diag\n"
		"  -h, --help       this text\n"
		"FILTER := [state STATE]... [sport [=] :PORT] [dport [=] :PORT]\n"
		"STATE  := all | connected | synchronized | bucket | big |\n"
		"          established | syn-sent | syn-recv | fin-wait-1 |\n"
		"          fin-wait-2 | time-wait | closed | close-wait |\n"
		"          last-ack | listening | closing\n"
		"Without -a, -l or state: the connected states (all but LISTEN\n"
		"and closed).\n");
}

static int parse_state(const char *word)
{
	unsigned int i;

	for (i = 0; i < sizeof(state_words) / sizeof(state_words[0]); i++) {
		if (!strcmp(word, state_words[i].name)) {
			opt.states |= state_words[i].states;
			opt.state_given = 1;
			return 0;
		}
	}
	fprintf(stderr, "ktpss: unknown state \"%s\"\n", word);
	return -1;
}

/* ":N" or "N", 1..65535. */
static int parse_port(const char *word, unsigned int *port)
{
	char *end;
	long val;

	if (*word == ':')
		word++;
	val = strtol(word, &end, 10);
	if (end == word || *end || val < 1 || val > 65535) {
		fprintf(stderr, "ktpss: bad port \"%s\"\n", word);
		return -1;
	}
	*port = val;
	return 0;
}

/* The FILTER words after the options; 0 or -1. */
static int parse_filter(int argc, char **argv)
{
	unsigned int *port;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "state") || !strcmp(argv[i], "sport") ||
		    !strcmp(argv[i], "dport")) {
			if (i + 1 >= argc)
				goto missing;
		} else {
			fprintf(stderr, "ktpss: unknown filter \"%s\"\n",
				argv[i]);
			return -1;
		}
		if (argv[i][0] == 's' && argv[i][1] == 't') {
			if (parse_state(argv[++i]))
				return -1;
			continue;
		}
		port = argv[i][0] == 's' ? &opt.sport : &opt.dport;
		i++;
		if (!strcmp(argv[i], "=") || !strcmp(argv[i], "==") ||
		    !strcmp(argv[i], "eq")) {
			if (++i >= argc)
				goto missing;
		}
		if (parse_port(argv[i], port))
			return -1;
	}
	return 0;
missing:
	fprintf(stderr, "ktpss: \"%s\" wants a value\n", argv[argc - 1]);
	return -1;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ktp",	no_argument,	NULL, 't' },
		{ "tcp",	no_argument,	NULL, 't' },
		{ "all",	no_argument,	NULL, 'a' },
		{ "listening",	no_argument,	NULL, 'l' },
		{ "numeric",	no_argument,	NULL, 'n' },
		{ "info",	no_argument,	NULL, 'i' },
		{ "extended",	no_argument,	NULL, 'e' },
		{ "ipv4",	no_argument,	NULL, '4' },
		{ "ipv6",	no_argument,	NULL, '6' },
		{ "no-header",	no_argument,	NULL, 'H' },
		{ "proc",	no_argument,	NULL, 'P' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "talnie46Hh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 't':
		case 'n':
			break;
		case 'a':
			opt.all = 1;
			break;
		case 'l':
			opt.listening = 1;
			break;
		case 'i':
			opt.info = 1;
			break;
		case 'e':
			opt.extended = 1;
			break;
		case '4':
			opt.v4 = 1;
			break;
		case '6':
			opt.v6 = 1;
			break;
		case 'H':
			opt.header = 0;
			break;
		case 'P':
			opt.proc = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (parse_filter(argc - optind, argv + optind))
		return -1;
	if (!opt.state_given)
		opt.states = opt.all ? ALL_STATES :
			     opt.listening ? STATE_BIT(KTP_LISTEN) : CONNECTED;
	return 0;
}

static int row_wanted(const struct row *r)
{
	if (r->state <= 0 || r->state >= __KTP_STATE_MAX ||
	    !(opt.states & STATE_BIT(r->state)))
		return 0;
	if ((opt.v4 && !opt.v6 && r->family != AF_INET) ||
	    (opt.v6 && !opt.v4 && r->family != AF_INET6))
		return 0;
	return (!opt.sport || r->sport == opt.sport) &&
	       (!opt.dport || r->dport == opt.dport);
}

/* "127.0.0.1:5000", "[::1]:5000", "0.0.0.0:*". */
static void format_addr(char *buf, size_t len, int family,
			const struct in6_addr *a, unsigned int port)
{
	char host[INET6_ADDRSTRLEN], num[12] = "*";

	inet_ntop(family, a, host, sizeof(host));
	if (port)
		snprintf(num, sizeof(num), "%u", port);
	if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, num);
	else
		snprintf(buf, len, "%s:%s", host, num);
}

/* Once, before the first row or at the end of an empty list. */
static void print_header(void)
{
	static int done;

	if (opt.header && !done++)
		printf("%-11s %-7s %-7s %-27s %s\n", "State", "Recv-Q",
		       "Send-Q", "Local Address:Port", "Peer Address:Port");
}

/* -i: the second line, in ss -i's words where ss has one. */
static void print_info(const struct row *r)
{
	const struct ktp_info *i = &r->info;

	printf("\t");
	if (r->cong[0])
		printf(" %s", r->cong);
	if (i->ktpi_options & KTPI_OPT_WSCALE)
		printf(" wscale:%u,%u", i->ktpi_snd_wscale,
		       i->ktpi_rcv_wscale);
	if (i->ktpi_options & KTPI_OPT_TIMESTAMPS)
		printf(" ts");
	if (i->ktpi_options & KTPI_OPT_SACK)
		printf(" sack");
	printf(" rto:%g rtt:%g/%g mss:%u rcvmss:%u cwnd:%u",
	       i->ktpi_rto / 1000.0, i->ktpi_srtt / 1000.0,
	       i->ktpi_rttvar / 1000.0, i->ktpi_snd_mss, i->ktpi_rcv_mss,
	       i->ktpi_snd_cwnd);
	if (i->ktpi_snd_ssthresh < 0xffff)
		printf(" ssthresh:%u", i->ktpi_snd_ssthresh);
	printf(" bytes_acked:%llu bytes_received:%llu segs_out:%llu segs_in:%llu",
	       (unsigned long long)i->ktpi_bytes_acked,
	       (unsigned long long)i->ktpi_bytes_received,
	       (unsigned long long)i->ktpi_segs_out,
	       (unsigned long long)i->ktpi_segs_in);
	printf(" snd_wnd:%u rcv_wnd:%u unacked:%u retrans:%u/%u notsent:%u\n",
	       i->ktpi_snd_wnd, i->ktpi_rcv_wnd, i->ktpi_unacked,
	       i->ktpi_retransmits, i->ktpi_total_retrans,
	       i->ktpi_notsent_bytes);
}

static void print_row(const struct row *r)
{
	char local[64], peer[64];

	if (!row_wanted(r))
		return;
	print_header();
	format_addr(local, sizeof(local), r->family, &r->src, r->sport);
	format_addr(peer, sizeof(peer), r->family, &r->dst, r->dport);
	printf("%-11s %-7u %-7u %-27s %s", state_names[r->state],
	       r->rqueue, r->wqueue, local, peer);
	if (opt.extended) {
		printf("%*s uid:%u ino:%lu", 27 - (int)strlen(peer), "",
		       r->uid, r->inode);
		if (r->cookie)
			printf(" sk:%llx", r->cookie);
	}
	printf("\n");
	if (opt.info && r->has_info)
		print_info(r);
}

/* sock_diag */

static int diag_protocol(void)
{
	if (opt.v4 == opt.v6)
		return KTP_DIAG_ALL;
	return opt.v4 ? KTPPROTO_KTP : KTPPROTO_KTP6;
}

static int diag_send(int fd)
{
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = ktp_family();
	req.r.sdiag_protocol = diag_protocol();
	req.r.idiag_states = opt.states;
	req.r.idiag_ext = 1 << (INET_DIAG_INFO - 1) |
			  1 << (INET_DIAG_CONG - 1);
	req.r.id.idiag_sport = htons(opt.sport);
	req.r.id.idiag_dport = htons(opt.dport);
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nladdr,
		   sizeof(nladdr)) != sizeof(req))
		return -1;
	return 0;
}

static void diag_attrs(struct row *row, const struct inet_diag_msg *m,
		       int len)
{
	struct rtattr *a = (struct rtattr *)(m + 1);
	size_t n;

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		n = RTA_PAYLOAD(a);
		if (a->rta_type == INET_DIAG_INFO) {
			if (n > sizeof(row->info))
				n = sizeof(row->info);
			memcpy(&row->info, RTA_DATA(a), n);
			row->has_info = 1;
		} else if (a->rta_type == INET_DIAG_CONG) {
			if (n >= sizeof(row->cong))
				n = sizeof(row->cong) - 1;
			memcpy(row->cong, RTA_DATA(a), n);
			row->cong[n] = '\0';
		}
	}
}

static void diag_row(const struct nlmsghdr *h)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct row row;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return;
	memset(&row, 0, sizeof(row));
	row.family = m->idiag_family;
	row.state = m->idiag_state;
	row.rqueue = m->idiag_rqueue;
	row.wqueue = m->idiag_wqueue;
	memcpy(&row.src, m->id.idiag_src, sizeof(row.src));
	memcpy(&row.dst, m->id.idiag_dst, sizeof(row.dst));
	row.sport = ntohs(m->id.idiag_sport);
	row.dport = ntohs(m->id.idiag_dport);
	row.uid = m->idiag_uid;
	row.inode = m->idiag_inode;
	row.cookie = (unsigned long long)m->id.idiag_cookie[1] << 32 |
		     m->id.idiag_cookie[0];
	diag_attrs(&row, m, h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	print_row(&row);
}

/* The replies to the dump; 0 at NLMSG_DONE, -1 with errno. */
static int diag_recv(int fd, char *buf)
{
	struct nlmsghdr *h;
	ssize_t n;
	int len;

	for (;;) {
		n = recv(fd, buf, RECV_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n ? errno : EPROTO;
			return -1;
		}
		len = n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				errno = e->error ? -e->error : EPROTO;
				return -1;
			}
			diag_row(h);
		}
	}
}

/* 0 listed, -1 with errno: the caller decides on the fallback. */
static int diag_list(void)
{
	char *buf = malloc(RECV_BUF);
	int fd, err = -1;

	if (!buf)
		return -1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd >= 0) {
		if (!diag_send(fd))
			err = diag_recv(fd, buf);
		close(fd);
	}
	free(buf);
	return err;
}

/* /proc/net/ktp and /proc/net/ktp6 */

/* The columns after the addresses, as /proc/net/tcp has them. */
#define PROC_TAIL	"%x %x:%x %*x:%*x %*x %u %*d %lu"

/* One line of the file: IPv4 addresses are one hex word, IPv6 four. */
static int proc_parse(const char *line, int family, struct row *r)
{
	uint32_t *s = r->src.s6_addr32, *d = r->dst.s6_addr32;
	int n, want;

	memset(r, 0, sizeof(*r));
	r->family = family;
	if (family == AF_INET) {
		want = 9;
		n = sscanf(line, "%*d: %x:%x %x:%x " PROC_TAIL,
			   &s[0], &r->sport, &d[0], &r->dport, &r->state,
			   &r->wqueue, &r->rqueue, &r->uid, &r->inode);
	} else {
		want = 15;
		n = sscanf(line, "%*d: %8x%8x%8x%8x:%x %8x%8x%8x%8x:%x " PROC_TAIL,
			   &s[0], &s[1], &s[2], &s[3], &r->sport, &d[0], &d[1],
			   &d[2], &d[3], &r->dport, &r->state, &r->wqueue,
			   &r->rqueue, &r->uid, &r->inode);
	}
	return n == want ? 0 : -1;
}

/* 1 listed, 0 the file does not exist, -1 it cannot be read. */
static int proc_file(const char *path, int family)
{
	char line[512];
	struct row r;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (!proc_parse(line, family, &r))
			print_row(&r);
	fclose(f);
	return 1;
}

static int proc_list(void)
{
	int v4 = 0, v6 = 0;

	if (opt.v4 || !opt.v6)
		v4 = proc_file("/proc/net/ktp", AF_INET);
	if (opt.v6 || !opt.v4)
		v6 = proc_file("/proc/net/ktp6", AF_INET6);
	if (v4 < 0 || v6 < 0 || (v4 == 0 && v6 == 0)) {
		fprintf(stderr, "ktpss: cannot read /proc/net/ktp: %s\n",
			v4 || v6 ? strerror(errno) : "KTP is not loaded");
		return -1;
	}
	print_header();
	return 0;
}

/* A module that does not answer KTP's sock_diag at all. */
static int diag_unsupported(int err)
{
	return err == ENOENT || err == EINVAL || err == EPROTONOSUPPORT ||
	       err == EOPNOTSUPP || err == EAFNOSUPPORT;
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv))
		return EXIT_USAGE;
	setvbuf(stdout, NULL, _IOFBF, 0);
	if (!opt.proc) {
		if (!diag_list()) {
			print_header();
			return 0;
		}
		if (!diag_unsupported(errno)) {
			fprintf(stderr, "ktpss: sock_diag: %s\n",
				strerror(errno));
			return EXIT_FAIL;
		}
	}
	return proc_list() ? EXIT_FAIL : 0;
}
