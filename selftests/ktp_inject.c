// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_inject: test the kernel's KTP state machine by exact sequence
 * numbers, in the spirit of packetdrill. A script (docs/inject.md) drives
 * a KTP socket with socket calls while this program plays its peer: it
 * writes crafted segments and checks, one by one, the segments the kernel
 * sends back.
 *
 *   ktp_inject [-v] [-l] [-N] [-c] [-P PROTO] [-t SECONDS] [-i ISN] SCRIPT
 *
 * By default the peer sits behind a tun device in a network namespace of
 * its own: the kernel at 192.0.2.1, the peer at 192.0.2.2 (TEST-NET-1,
 * never routed anywhere). The kernel's segments to the peer go into the
 * tun device and nowhere else, so no KTP endpoint answers them. With -l
 * the peer is 127.0.0.2 on loopback, through raw sockets; there the
 * kernel's own KTP input also sees every segment it sends to the peer and
 * answers those for a port nobody holds, so -l suits one-segment
 * exchanges only (a SYN to a closed port, a dropped bad segment).
 *
 * Exit status: 0 the script passed, 1 an expectation failed (or the
 * module or the system lacks something the script needs: the test VM has
 * everything, so nothing is ever skipped), 2 bad usage or a bad script.
 *
 * after= intervals are measured between the times the kernel sent the
 * segments: in tun mode a packet socket on the device stamps each one as
 * it leaves (dev_queue_xmit_nit), so a reader woken late on a loaded VM
 * does not shorten or stretch them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>

#include "ktp.h"
#include "ktp_seg.h"
#include "ktp_inject_script.h"
#include "ktp_tun.h"

#define SNMP_FILE	"/proc/net/ktp_snmp"
#define TRACE_LINES	64
#define PKT_MAX		(65535 + 64)
/* What an ICMP error quotes at most: its datagram within 576 bytes
 * (RFC 1812 4.3.2.3), as Linux's icmp_send() does.
 */
#define ICMP_QUOTE_MAX	(576 - 20 - 8)

enum { PASS = 0, FAIL = 1, BAD = 2 };

struct run {
	const char *path;
	bool verbose;
	bool loopback;
	bool offload;		/* the tun device checksums: super-segments */
	bool no_netns;
	int proto;
	double deftimeout;

	int tunfd;		/* tun mode: both directions */
	int tapfd;		/* tun mode: the kernel's segments, stamped */
	double real_off;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	int sendfd;		/* -l: IPPROTO_RAW, IP_HDRINCL */
	int rcvfd;		/* the kernel's segments come from here */
	uint8_t laddr[4];	/* the kernel's side */
	uint8_t paddr[4];	/* the peer's side */
	uint16_t kport;
	uint16_t pport;
	uint16_t ip_id;

	uint32_t peer_isn;	/* absolute */
	uint32_t peer_nxt;	/* the peer's next sequence number */
	bool have_kisn;
	uint32_t kisn;
	bool have_kts;
	uint32_t kts;		/* the kernel's first TSval: ts='s base */
	bool have_kts_last;
	uint32_t kts_last;	/* the kernel's last TSval seen */
	bool have_knxt;
	uint32_t knxt;		/* the kernel's highest seq + len seen */
	uint8_t klast[ICMP_QUOTE_MAX]; /* the start of its last datagram */
	size_t klast_len;	/* for icmp to quote; 0: none yet */
	size_t klast_ktp;	/* where its KTP header starts */

	int fd[SK_MAX];
	bool nonblock[SK_MAX];
	int cur;

	double t0;		/* script start */
	double tref;		/* the segment the last expect matched was
				 * sent then
				 */
	double tact;		/* the last inject or socket call began
				 * then
				 */
	bool tact_inject;	/* ... and it was an inject */
	bool have_tinj;		/* the tap saw that inject arrive: */
	double tinj;		/* then, on the kernel's clock */
	bool held;		/* an expect-none read this segment, sent */
	struct ktp_seg held_seg; /* after its window: the next reader's */
	double held_when;

	char *snmp_start;	/* the counters file at the start */
	struct {
		char name[64];
		long long v;
	} base[32];
	int nbase;

	char trace[TRACE_LINES][320];
	int ntrace;
	const struct stmt *st;	/* being run */
};

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/* Milliseconds for poll(), rounded up so that a wait never ends early. */
static int ms_of(double secs)
{
	return secs <= 0 ? 0 : (int)(secs * 1000) + 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 2, 3)))
trace(struct run *r, const char *fmt, ...)
{
	char *line = r->trace[r->ntrace % TRACE_LINES];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(r->trace[0]), "%8.3f ", now() - r->t0);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(r->trace[0]) - n, fmt, ap);
	va_end(ap);
	r->ntrace++;
	if (r->verbose)
		printf("  %s\n", line);
}

static void dump_trace(struct run *r)
{
	int i = r->ntrace > TRACE_LINES ? r->ntrace - TRACE_LINES : 0;

	if (r->verbose || !r->ntrace)
		return;
	printf("the conversation so far:\n");
	for (; i < r->ntrace; i++)
		printf("  %s\n", r->trace[i % TRACE_LINES]);
}

/* The first lines of a failure: where, and the statement. */
static int __attribute__((format(printf, 3, 4)))
report(struct run *r, int rc, const char *fmt, ...)
{
	const struct stmt *st = r->st;
	va_list ap;

	if (st)
		printf("%s:%d: %s\n  ", r->path, st->line, st->src);
	else
		printf("%s: ", r->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (rc == FAIL)
		dump_trace(r);
	fflush(stdout);
	return rc;
}

/* The segment in the numbering of the script: relative to the ISNs. */
static void fmt_seg(struct run *r, const struct ktp_seg *seg, bool from_kernel,
		    char *buf, size_t size)
{
	struct ktp_seq_ctx ctx = { .name_s = 'x', .name_d = 'y' };

	if (from_kernel) {
		ctx.have_s = r->have_kisn;
		ctx.isn_s = r->kisn;
		ctx.have_d = true;
		ctx.isn_d = r->peer_isn;
	} else {
		ctx.have_s = true;
		ctx.isn_s = r->peer_isn;
		ctx.have_d = r->have_kisn;
		ctx.isn_d = r->kisn;
	}
	ktp_seg_format(buf, size, seg, &ctx, KTP_SEQ_RELATIVE, false);
}

/*
 * CLOCK_REALTIME - CLOCK_MONOTONIC. A reading between two of the other
 * clock is bracketed; of many, the tightest bracket wins, so that being
 * preempted between two reads (a loaded VM) does not skew every time.
 */
static double real_minus_mono(void)
{
	struct timespec rt, m1, m2;
	double best = 1e9, off = 0, gap;
	int i;

	for (i = 0; i < 50; i++) {
		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		gap = (m2.tv_sec - m1.tv_sec) + (m2.tv_nsec - m1.tv_nsec) / 1e9;
		if (gap >= best)
			continue;
		best = gap;
		off = (rt.tv_sec + rt.tv_nsec / 1e9) -
		      (m1.tv_sec + m1.tv_nsec / 1e9 + gap / 2);
	}
	return off;
}

/*
 * A packet socket on the tun device that sees the kernel's segments as
 * they leave, each with the time it left (SO_TIMESTAMPNS: the kernel's
 * CLOCK_REALTIME, kept in the monotonic clock's terms through real_off).
 * It becomes where segments are read; the tun device is only drained.
 */
static int open_tap(struct run *r, const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	int one = 1, fd;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	/* ETH_P_ALL: only such taps see what a device transmits */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    htons(ETH_P_ALL));
	if (fd < 0)
		return -1;
	if (!sll.sll_ifindex ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	r->tapfd = fd;
	r->rcvfd = fd;
	r->real_off = real_minus_mono();
	/* enabling time stamps is deferred to a work item: let it run */
	usleep(20000);
	return 0;
}

/*
 * One datagram from the kernel's side into @buf: its length, 0 to read
 * again (not the kernel's, or the tun device drained), -1 with errno.
 * *@when is the time it was sent, in now()'s terms, when known.
 */
static ssize_t read_seg(struct run *r, uint8_t *buf, size_t size,
			double *when)
{
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct sockaddr_ll from;
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;
	struct timespec ts;
	ssize_t n;

	*when = now();
	if (r->tapfd < 0)
		return read(r->rcvfd, buf, size);
	/* what the tun device holds was seen through the tap already */
	while (read(r->tunfd, buf, size) > 0)
		;
	n = recvmsg(r->tapfd, &msg, 0);
	if (n <= 0)
		return n;
	if (from.sll_protocol != htons(ETH_P_IP))
		return 0;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SO_TIMESTAMPNS)
			continue;
		memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		if (ts.tv_sec)
			*when = ts.tv_sec + ts.tv_nsec / 1e9 - r->real_off;
	}
	/* our own inject arriving: delay= counts from here, on the same
	 * clock as the answer's stamp
	 */
	if (from.sll_pkttype == PACKET_HOST) {
		r->tinj = *when;
		r->have_tinj = true;
	}
	if (from.sll_pkttype != PACKET_OUTGOING)
		return 0;
	return n;
}

static int setup_tun(struct run *r)
{
	static const uint8_t mask[4] = { 255, 255, 255, 0 };
	char path[128], ifname[IFNAMSIZ];
	int s, fd;

	fd = ktp_tun_open();
	if (fd < 0)
		return report(r, FAIL, "no tun device (/dev/net/tun: %s)",
			      strerror(errno));
	if (ktp_tun_attach(fd, "ktpinj%d", ifname)) {
		close(fd);
		return report(r, FAIL, "TUNSETIFF: %s", strerror(errno));
	}
	/* no IPv6 chatter (router solicitations, MLD) on the link */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	s = open(path, O_WRONLY | O_CLOEXEC);
	if (s >= 0) {
		if (write(s, "1", 1) != 1)
			(void)0;
		close(s);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ktp_if_addr4(s, ifname, SIOCSIFADDR, r->laddr) ||
	    ktp_if_addr4(s, ifname, SIOCSIFNETMASK, mask) ||
	    ktp_if_up(s, ifname)) {
		report(r, BAD, "configuring %s: %s", ifname,
		       strerror(errno));
		close(fd);
		if (s >= 0)
			close(s);
		return BAD;
	}
	close(s);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	r->tunfd = fd;
	r->rcvfd = fd;
	if (open_tap(r, ifname))
		return report(r, FAIL, "packet socket on %s: %s",
			      ifname, strerror(errno));
	if (r->verbose)
		printf("peer behind %s: kernel 192.0.2.1, peer 192.0.2.2\n",
		       ifname);
	return PASS;
}

/*
 * offload: the tun device takes the checksum (TUNSETOFFLOAD, TUN_F_CSUM),
 * so the kernel's KTP hands it super-segments (module/offload.c) that the
 * core cuts in front of it: the tap sees each segment, its checksum left
 * to the device (CHECKSUM_PARTIAL), and the script what a peer behind a
 * device without KTP offload sees. Connections routed after it.
 */
static int do_offload(struct run *r)
{
	if (r->tunfd < 0)
		return report(r, BAD, "offload needs the tun device (not -l)");
	if (ioctl(r->tunfd, TUNSETOFFLOAD, TUN_F_CSUM))
		return report(r, FAIL, "TUNSETOFFLOAD: %s", strerror(errno));
	r->offload = true;
	return PASS;
}

static int setup_loopback(struct run *r)
{
	r->sendfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	r->rcvfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			  r->proto);
	if (r->sendfd < 0 || r->rcvfd < 0)
		return report(r, FAIL, "raw sockets: %s", strerror(errno));
	return PASS;
}

static int setup(struct run *r)
{
	int s;

	if (!r->no_netns) {
		if (unshare(CLONE_NEWNET)) {
			printf("note: no network namespace of our own (%s); "
			       "using the current one\n", strerror(errno));
		} else {
			s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (s < 0 || ktp_if_up(s, "lo"))
				return report(r, BAD, "bringing lo up: %s",
					      strerror(errno));
			close(s);
		}
	}
	if (r->loopback) {
		inet_pton(AF_INET, "127.0.0.1", r->laddr);
		inet_pton(AF_INET, "127.0.0.2", r->paddr);
		return setup_loopback(r);
	}
	inet_pton(AF_INET, "192.0.2.1", r->laddr);
	inet_pton(AF_INET, "192.0.2.2", r->paddr);
	return setup_tun(r);
}

static int send_ip(struct run *r, const uint8_t *pkt, size_t len)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	ssize_t n;

	if (r->tunfd >= 0) {
		n = write(r->tunfd, pkt, len);
	} else {
		memcpy(&dst.sin_addr, r->laddr, 4);
		n = sendto(r->sendfd, pkt, len, 0, (struct sockaddr *)&dst,
			   sizeof(dst));
	}
	if (n != (ssize_t)len)
		return report(r, BAD, "sending the segment: %s",
			      n < 0 ? strerror(errno) : "short write");
	return PASS;
}

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* A segment the kernel sent on the script's connection? */
static bool on_connection(struct run *r, const struct ktp_seg *seg)
{
	return seg->family == AF_INET && !memcmp(seg->saddr, r->laddr, 4) &&
	       !memcmp(seg->daddr, r->paddr, 4) && seg->dport == r->pport &&
	       (!r->kport || seg->sport == r->kport) &&
	       !(seg->bad & KTP_SEG_TRUNC_HDR);
}

/*
 * The kernel's next segment on the connection before @deadline: 1 and
 * @seg (pointing into a static buffer), 0 if none came, -1 on error.
 */
static int next_seg(struct run *r, double deadline, struct ktp_seg *seg,
		    double *when)
{
	static uint8_t buf[PKT_MAX];
	struct pollfd pfd = { .fd = r->rcvfd, .events = POLLIN };
	double left;
	ssize_t n;
	char line[256];

	/* still in buf: nothing was read since */
	if (r->held) {
		r->held = false;
		*seg = r->held_seg;
		*when = r->held_when;
		return 1;
	}
	for (;;) {
		left = deadline - now();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, ms_of(left));
		if (n < 0 && errno != EINTR)
			return -1;
		if (n <= 0)
			continue;
		n = read_seg(r, buf, sizeof(buf), when);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (!n || ktp_seg_from_ip(seg, buf, (size_t)n, r->proto))
			continue;
		if (!on_connection(r, seg)) {
			if (r->verbose && !(seg->family == AF_INET &&
					    !memcmp(seg->saddr, r->paddr, 4))) {
				ktp_seg_format(line, sizeof(line), seg, NULL,
					       KTP_SEQ_ABSOLUTE, false);
				trace(r, "other   %s", line);
			}
			continue;
		}
		if (!r->kport)
			r->kport = seg->sport;
		/* learn the kernel's ISN from its first SYN, once: a later
		 * SYN or SYN-ACK of the conversation must carry the same
		 */
		if ((seg->flags & KTP_FLAG_SYN) && !r->have_kisn) {
			r->have_kisn = true;
			r->kisn = seg->seq;
		}
		/* and its timestamps' base from the first segment with the
		 * option, SYN or not: its clock starts at a random offset
		 */
		if (seg->opts.ts) {
			if (!r->have_kts) {
				r->have_kts = true;
				r->kts = seg->opts.ts_val;
			}
			r->have_kts_last = true;
			r->kts_last = seg->opts.ts_val;
		}
		{
			uint32_t end = seg->seq + (uint32_t)seg->paylen +
				       !!(seg->flags & KTP_FLAG_SYN) +
				       !!(seg->flags & KTP_FLAG_FIN);

			if (!(seg->flags & KTP_FLAG_RST) &&
			    (!r->have_knxt || seq_after(end, r->knxt))) {
				r->have_knxt = true;
				r->knxt = end;
			}
		}
		r->klast_len = (size_t)n < sizeof(r->klast) ? (size_t)n :
			       sizeof(r->klast);
		memcpy(r->klast, buf, r->klast_len);
		r->klast_ktp = (size_t)(buf[0] & 0x0f) * 4;
		fmt_seg(r, seg, true, line, sizeof(line));
		trace(r, "kernel  %s", line);
		return 1;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* What the script's numbers count from, as far as known. */
static void seq_base_of(const struct run *r, struct seq_base *b)
{
	memset(b, 0, sizeof(*b));
	b->have_kisn = r->have_kisn;
	b->kisn = r->kisn;
	b->peer_isn = r->peer_isn;
	b->have_kts = r->have_kts;
	b->kts = r->kts;
	b->have_kts_last = r->have_kts_last;
	b->kts_last = r->kts_last;
	b->partial_ok = r->loopback || r->offload;
}

static int do_inject(struct run *r, const struct stmt *st)
{
	static uint8_t pkt[PKT_MAX];
	const struct seg_stmt *g = &st->seg;
	struct ktp_seg_spec sp = { .doff = -1, .window = 65535 };
	uint8_t opt[KTP_SEG_MAX_OPTLEN];
	struct seq_base base;
	struct ktp_seg seg;
	char line[256];
	uint32_t kisn, ecr;
	long len;
	int i;

	if (!r->kport)
		return report(r, BAD, "the kernel's port is not known yet: "
			      "bind, connect or 'port N' first");
	memcpy(opt, g->opt, g->optlen);
	sp.sport = r->pport;
	sp.dport = r->kport;
	sp.flags = g->rawflags.set ? (uint8_t)g->rawflags.v : (uint8_t)g->flags;
	sp.seq = g->seq.set ? r->peer_isn + g->seq.v : r->peer_nxt;
	/* ack= and sack= count from the kernel's ISN once it is known */
	kisn = r->have_kisn ? r->kisn : 0;
	if (g->ack.set) {
		sp.ack = kisn + g->ack.v;
	} else if (sp.flags & KTP_FLAG_ACK) {
		if (!r->have_knxt)
			return report(r, BAD, "no ack= and nothing from the "
				      "kernel to acknowledge yet");
		sp.ack = r->knxt;
	}
	for (i = 0; g->sack_off >= 0 && i < g->nsack; i++) {
		put32(opt + g->sack_off + 2 + 8 * i, kisn + g->sack[i][0]);
		put32(opt + g->sack_off + 6 + 8 * i, kisn + g->sack[i][1]);
	}
	/* ts='s ECR counts from the kernel's first TSval, or is its last */
	seq_base_of(r, &base);
	if (g->ts_off >= 0 && !inject_ts_ecr(g, &base, &ecr))
		return report(r, BAD, "ts=VAL:- and no kernel TSval yet");
	if (g->ts_off >= 0)
		put32(opt + g->ts_off + 6, ecr);
	sp.opt = opt;
	sp.optlen = g->optlen;
	if (g->win.set)
		sp.window = (uint16_t)g->win.v;
	if (g->doff.set)
		sp.doff = (int)g->doff.v;
	sp.reserved = (uint16_t)g->reserved.v;
	sp.paylen = g->len.v;
	sp.csum = g->csum;
	sp.csum_raw = g->csum_raw;

	len = ktp_seg_build(pkt + 20, sizeof(pkt) - 20, &sp, AF_INET,
			    r->paddr, r->laddr, (uint8_t)r->proto);
	if (len < 0)
		return report(r, BAD, "the segment does not fit");
	ktp_ip4_wrap(pkt, r->paddr, r->laddr, (uint8_t)r->proto, (size_t)len,
		     r->ip_id++);
	ktp_seg_from_ip(&seg, pkt, 20 + (size_t)len, r->proto);
	fmt_seg(r, &seg, false, line, sizeof(line));
	trace(r, "inject  %s", line);
	/* before the write: the kernel may answer within it */
	r->tact = now();
	r->tact_inject = true;
	r->have_tinj = false;
	if (send_ip(r, pkt, 20 + (size_t)len))
		return BAD;
	if (st->kind == ST_INJECT) {
		uint32_t end = sp.seq + (uint32_t)sp.paylen +
			       !!(sp.flags & KTP_FLAG_SYN) +
			       !!(sp.flags & KTP_FLAG_FIN);

		if (seq_after(end, r->peer_nxt))
			r->peer_nxt = end;
	}
	return PASS;
}

/* An ICMP error from the peer's address about the kernel's last
 * segment: the IP header and as much of the datagram as fits (RFC 792),
 * its sequence number rewritten if the statement says so.
 */
static int do_icmp(struct run *r, const struct stmt *st)
{
	static const char *const what[] = { [3] = "unreach", [4] = "quench",
					    [11] = "time-exceeded",
					    [12] = "param-problem" };
	const struct icmp_stmt *ic = &st->icmp;
	uint8_t pkt[20 + 8 + ICMP_QUOTE_MAX];
	uint8_t *m = pkt + 20;
	size_t qlen = r->klast_len;
	uint32_t seq;

	if (!qlen || r->klast_ktp + 8 > qlen)
		return report(r, BAD, "icmp: no segment from the kernel to "
			      "quote yet");
	memset(m, 0, 8);
	m[0] = ic->type;
	m[1] = ic->code;
	if (ic->type == 3 && ic->code == 4) {
		m[6] = (uint8_t)(ic->mtu >> 8);
		m[7] = (uint8_t)ic->mtu;
	}
	if (ic->type == 12)
		m[4] = 9;	/* the pointer: the quoted protocol field */
	memcpy(m + 8, r->klast, qlen);
	if (ic->seq_set)
		put32(m + 8 + r->klast_ktp + 4,
		      (r->have_kisn ? r->kisn : 0) + ic->seq);
	seq = (uint32_t)m[8 + r->klast_ktp + 4] << 24 |
	      (uint32_t)m[8 + r->klast_ktp + 5] << 16 |
	      (uint32_t)m[8 + r->klast_ktp + 6] << 8 |
	      m[8 + r->klast_ktp + 7];
	{
		uint16_t c = (uint16_t)~ktp_csum_fold(ktp_csum_add(0, m,
								  8 + qlen));

		m[2] = (uint8_t)(c >> 8);
		m[3] = (uint8_t)c;
	}
	ktp_ip4_wrap(pkt, r->paddr, r->laddr, IPPROTO_ICMP, 8 + qlen,
		     r->ip_id++);
	trace(r, "icmp    %s code %u%s quoting seq %u (%zu bytes)",
	      what[ic->type], ic->code, ic->code == 4 && ic->type == 3 ?
	      " (frag-needed)" : "", seq - (r->have_kisn ? r->kisn : 0),
	      qlen);
	r->tact = now();
	r->tact_inject = true;
	r->have_tinj = false;
	return send_ip(r, pkt, 20 + 8 + qlen);
}

/* The peer acknowledges @ack, bypassing the script's numbering; for
 * transfer. The window, 16 KiB, keeps what is in flight below what the
 * tun device queues, whatever the MSS.
 */
static int send_ack(struct run *r, uint32_t ack)
{
	static uint8_t pkt[PKT_MAX];
	struct ktp_seg_spec sp = { .doff = -1, .window = 16384 };
	long len;

	sp.sport = r->pport;
	sp.dport = r->kport;
	sp.flags = KTP_FLAG_ACK;
	sp.seq = r->peer_nxt;
	sp.ack = ack;
	len = ktp_seg_build(pkt + 20, sizeof(pkt) - 20, &sp, AF_INET,
			    r->paddr, r->laddr, (uint8_t)r->proto);
	if (len < 0)
		return report(r, BAD, "the ACK does not fit");
	ktp_ip4_wrap(pkt, r->paddr, r->laddr, (uint8_t)r->proto, (size_t)len,
		     r->ip_id++);
	return send_ip(r, pkt, 20 + (size_t)len);
}

static int cur_fd(struct run *r);

/*
 * transfer N: the current socket sends N bytes of the pattern (as the
 * window lets it, never blocking) while the peer takes them in order,
 * checks every byte and acknowledges each segment. A segment beyond a
 * gap (one the tun device dropped) is not kept: the ACK of what arrived
 * in order tells the kernel to send it again. Fails on a wrong byte, a
 * RST, or when not all N bytes arrived within the time-out (default
 * 60 s).
 */
static int do_transfer(struct run *r, const struct stmt *st)
{
	static char buf[1 << 16];
	double deadline = now() + (st->secs > 0 ? st->secs : 60.0);
	long sent = 0, got = 0, segs = 0;
	int fd = cur_fd(r);
	struct ktp_seg seg;
	uint32_t nxt;
	double when;
	ssize_t n;
	size_t i;

	if (fd < 0 || !r->have_knxt)
		return report(r, BAD, "transfer needs a connection");
	nxt = r->knxt;
	while (got < st->num) {
		while (sent < st->num) {
			size_t len = st->num - sent;

			if (len > sizeof(buf))
				len = sizeof(buf);
			for (i = 0; i < len; i++)
				buf[i] = (char)ktp_pattern_byte(sent + i);
			n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				return report(r, FAIL, "send after %ld bytes: "
					      "%s", sent, strerror(errno));
			if (n <= 0)
				break;
			sent += n;
		}
		n = next_seg(r, now() + 0.05 < deadline ? now() + 0.05 :
			     deadline, &seg, &when);
		if (n < 0)
			return report(r, BAD, "reading: %s", strerror(errno));
		if (!n && now() >= deadline)
			return report(r, FAIL, "%ld of %d bytes arrived within "
				      "the time-out (%ld segments)", got,
				      st->num, segs);
		if (!n || !seg.paylen)
			continue;
		if (seg.flags & KTP_FLAG_RST)
			return report(r, FAIL, "a RST after %ld bytes", got);
		if (seg.seq == nxt) {
			for (i = 0; i < seg.paylen; i++)
				if (seg.payload[i] != ktp_pattern_byte(got + i))
					return report(r, FAIL, "byte %ld is "
						      "wrong", got + (long)i);
			got += seg.paylen;
			nxt += seg.paylen;
			segs++;
		}
		if (send_ack(r, nxt))
			return BAD;
	}
	trace(r, "transfer %ld bytes in %ld segments", got, segs);
	return PASS;
}

static int do_expect(struct run *r, const struct stmt *st)
{
	const struct seg_stmt *g = &st->seg;
	double timeout = g->timeout >= 0 ? g->timeout : r->deftimeout;
	double start = now(), deadline = start + timeout, when, dt;
	struct seq_base base;
	struct ktp_seg seg;
	char line[256], why[128];
	int got;

	if (g->after && r->tref + g->after_hi + 0.5 > deadline)
		deadline = r->tref + g->after_hi + 0.5;
	if (g->delay && r->tact + g->delay_hi + 0.5 > deadline)
		deadline = r->tact + g->delay_hi + 0.5;
	got = next_seg(r, deadline, &seg, &when);
	if (got < 0)
		return report(r, BAD, "reading: %s", strerror(errno));
	if (!got)
		return report(r, FAIL, "got nothing within %.3f s",
			      deadline - start);
	fmt_seg(r, &seg, true, line, sizeof(line));
	seq_base_of(r, &base);
	if (seg_mismatch(g, &seg, &base, why, sizeof(why)))
		return report(r, FAIL, "got %s\n  (%s)", line, why);
	dt = when - r->tref;
	if (g->after && (dt < g->after_lo || dt > g->after_hi))
		return report(r, FAIL, "sent %.4f s after the previous "
			      "expect's, not within %.3f..%.3f s", dt,
			      g->after_lo, g->after_hi);
	/* after an inject, from its arrival as the tap stamped it */
	dt = when - (r->tact_inject && r->have_tinj ? r->tinj : r->tact);
	if (g->delay && (dt < g->delay_lo || dt > g->delay_hi))
		return report(r, FAIL, "sent %.4f s after the last inject or "
			      "call began, not within %.3f..%.3f s", dt,
			      g->delay_lo, g->delay_hi);
	r->tref = when;
	return PASS;
}

/*
 * Nothing sent within @st->secs of the last event: the arrival of the
 * last inject (or the start of the last call) or the segment the last
 * expect matched, whichever came later. The kernel's stamps decide, not
 * when this process got to look: a loaded VM that runs the script late
 * neither lets a segment inside the window pass nor fails one sent after
 * it, which is left for the next statement.
 */
static int do_expect_none(struct run *r, const struct stmt *st)
{
	double from, end, when;
	struct ktp_seg seg;
	char line[256];
	int got;

	from = r->tact_inject && r->have_tinj ? r->tinj : r->tact;
	if (r->tref > from)
		from = r->tref;
	end = from + st->secs;
	/* what is queued already is read in any case */
	got = next_seg(r, (end > now() ? end : now()) + 0.01, &seg, &when);
	if (got < 0)
		return report(r, BAD, "reading: %s", strerror(errno));
	if (!got)
		return PASS;
	if (when > end) {
		r->held = true;
		r->held_seg = seg;
		r->held_when = when;
		return PASS;
	}
	fmt_seg(r, &seg, true, line, sizeof(line));
	return report(r, FAIL, "expected nothing within %.3f s, got %s "
		      "%.4f s after the last event", st->secs, line,
		      when - from);
}

/*
 * At the end of a script that passed: a segment the kernel sent that no
 * expect matched (a reply that came after an expect-none's window, say)
 * fails it. What is already queued is read, and what follows within a
 * tenth of a second.
 */
static int no_segment_left(struct run *r)
{
	struct ktp_seg seg;
	char line[256];
	double when;
	int got;

	r->st = NULL;
	if (!r->have_knxt && !r->kport)
		return PASS;
	got = next_seg(r, now() + 0.1, &seg, &when);
	if (got < 0)
		return report(r, BAD, "reading: %s", strerror(errno));
	if (!got)
		return PASS;
	fmt_seg(r, &seg, true, line, sizeof(line));
	return report(r, FAIL, "at the end, a segment no expect matched: %s",
		      line);
}

/*
 * Whatever the script's result, a connection it left open is reset, so
 * that a script that failed half-way leaves no orphan retransmitting for
 * minutes and holding the module: a RST at the peer's next sequence
 * number, and if the kernel answers with a challenge ACK (RFC 5961: it
 * was in the window but not RCV.NXT), a RST at the RCV.NXT that ACK
 * names (only after a failure: a script that passed ended in step).
 * A RST is never answered otherwise, and one that finds nothing changes
 * nothing.
 */
static void reset_leftover(struct run *r, bool failed)
{
	struct ktp_seg seg;
	struct stmt st;
	char err[128];
	double when;

	if (!r->kport || !r->have_knxt ||
	    script_parse_line("inject-raw R.", 0, &st, err, sizeof(err)) != 1)
		return;
	r->st = &st;
	r->verbose = false;
	if (do_inject(r, &st) || !failed ||
	    next_seg(r, now() + 0.3, &seg, &when) != 1 ||
	    !(seg.flags & KTP_FLAG_ACK))
		return;
	st.seg.seq.set = true;
	st.seg.seq.v = seg.ack - r->peer_isn;
	do_inject(r, &st);
}

/*
 * Judge a socket call's result against the statement's "expect", or the
 * default: success, with @want as the value (-1: any value >= 0), or the
 * errno @want_err when not 0. A call the module does not implement
 * (EOPNOTSUPP, ENOSYS) fails like any other error.
 */
static int judge(struct run *r, const struct stmt *st, long rc, int err,
		 long want, int want_err)
{
	bool is_errno = want_err != 0;
	long value = want_err ? want_err : want;

	if (st->ret.set) {
		is_errno = st->ret.is_errno;
		value = st->ret.value;
	}
	if (rc < 0 && alarmed)
		return report(r, FAIL, "blocked for more than %d s",
			      (int)r->deftimeout + 6);
	if (is_errno) {
		if (rc >= 0)
			return report(r, FAIL, "returned %ld, expected %s", rc,
				      errno_str((int)value));
		if (err != value)
			return report(r, FAIL, "failed with %s, expected %s",
				      errno_str(err), errno_str((int)value));
		return PASS;
	}
	if (rc < 0)
		return report(r, FAIL, "failed with %s (%s)", errno_str(err),
			      strerror(err));
	if (value >= 0 && rc != value)
		return report(r, FAIL, "returned %ld, expected %ld", rc, value);
	return PASS;
}

/* Wait until @fd is readable or @deadline passes. */
static void wait_readable(int fd, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double left = deadline - now();

	if (left > 0)
		poll(&pfd, 1, ms_of(left));
}

static int cur_fd(struct run *r)
{
	return r->fd[r->cur];
}

static void sin_of(struct sockaddr_in *sin, const uint8_t *addr,
		   uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	memcpy(&sin->sin_addr, addr, 4);
}

static int do_recv(struct run *r, const struct stmt *st, int fd)
{
	static char buf[1 << 20];
	bool wait = r->nonblock[r->cur] && (!st->ret.set || !st->ret.is_errno);
	double deadline = now() + r->deftimeout;
	long total = 0;
	ssize_t n;
	int err = 0;

	for (;;) {
		if (wait)
			wait_readable(fd, deadline);
		n = recv(fd, buf + total, st->num - total, 0);
		if (n > 0) {
			total += n;
			if (total >= st->num || now() >= deadline)
				break;
			continue;
		}
		err = errno;
		if (n < 0 && err == EAGAIN && total && now() < deadline)
			continue;
		break;
	}
	return judge(r, st, total || !n ? total : -1, err, st->num, 0);
}

/* A new socket in @slot, made the current one. */
static void keep_fd(struct run *r, int slot, int fd, bool nonblock)
{
	if (r->fd[slot] >= 0)
		close(r->fd[slot]);
	r->fd[slot] = fd;
	r->nonblock[slot] = nonblock;
	r->cur = slot;
}

/* A new conversation: the peer starts at its ISN, the kernel's unknown,
 * and so is its timestamps' base.
 */
static void restart(struct run *r)
{
	r->peer_nxt = r->peer_isn;
	r->have_kisn = false;
	r->have_kts = false;
	r->have_kts_last = false;
	r->have_knxt = false;
}

/* A field of KTP_INFO in the script's numbering. */
static uint32_t info_value(struct run *r, const struct ktp_info *info,
			   int field)
{
	uint32_t v = 0;

	switch (field) {
	case INFO_SND_UNA:
		v = info->ktpi_snd_una;
		break;
	case INFO_SND_NXT:
		v = info->ktpi_snd_nxt;
		break;
	case INFO_RCV_NXT:
		v = info->ktpi_rcv_nxt;
		break;
	case INFO_RCV_QUEUE:
		v = info->ktpi_rcv_queue;
		break;
	case INFO_NOTSENT:
		v = info->ktpi_notsent_bytes;
		break;
	case INFO_RETRANSMITS:
		v = info->ktpi_retransmits;
		break;
	case INFO_BACKOFF:
		v = info->ktpi_backoff;
		break;
	case INFO_TOTAL_RETRANS:
		v = info->ktpi_total_retrans;
		break;
	case INFO_SND_MSS:
		v = info->ktpi_snd_mss;
		break;
	case INFO_RCV_MSS:
		v = info->ktpi_rcv_mss;
		break;
	case INFO_OPTIONS:
		v = info->ktpi_options;
		break;
	}
	switch (info_base_of(field)) {
	case INFO_KERNEL_ISN:
		return v - (r->have_kisn ? r->kisn : 0);
	case INFO_PEER_ISN:
		return v - r->peer_isn;
	default:
		return v;
	}
}

/* info FIELD VALUE: polled as state is, the kernel may still be busy. */
static int do_info(struct run *r, const struct stmt *st, int fd)
{
	struct ktp_info info;
	uint32_t v = 0;
	long ret;
	int i;

	for (i = 0; ; i++) {
		ret = ktp_info(fd, &info);
		if (!ret)
			v = info_value(r, &info, st->num);
		if (ret || v == st->val || i * 10 >= r->deftimeout * 1000)
			break;
		usleep(10000);
	}
	if (ret)
		return report(r, FAIL, "KTP_INFO: %s", strerror(errno));
	trace(r, "info    %s %u", info_name(st->num), v);
	if (v != st->val)
		return report(r, FAIL, "%s %u, expected %u%s",
			      info_name(st->num), v, st->val,
			      info_base_of(st->num) == INFO_KERNEL_ISN &&
			      !r->have_kisn ? " (absolute: no kernel ISN "
			      "seen yet)" : "");
	return PASS;
}

static int do_call(struct run *r, const struct stmt *st)
{
	static char buf[1 << 20];
	int fd = cur_fd(r), one_err = 0, val, rc = PASS;
	struct sockaddr_in sin;
	struct linger lg;
	struct ktp_info info;
	socklen_t alen = sizeof(sin);
	long ret;
	size_t i;

	if (st->kind != ST_SOCKET && fd < 0)
		return report(r, BAD, "no socket: 'socket' first (or 'use')");
	/* what the kernel sends from here on was sent after this call
	 * began; checks that only look are no such call
	 */
	if (st->kind != ST_STATE && st->kind != ST_INFO &&
	    st->kind != ST_SOCKERR) {
		r->tact = now();
		r->tact_inject = false;
	}
	alarmed = 0;
	alarm((unsigned int)(r->deftimeout + st->secs) + 6);
	errno = 0;
	switch (st->kind) {
	case ST_SOCKET:
		ret = ktp_socket_flags(AF_INET,
				       st->blocking ? 0 : SOCK_NONBLOCK);
		rc = judge(r, st, ret, errno, -1, 0);
		if (ret >= 0)
			keep_fd(r, SK_SOCK, (int)ret, !st->blocking);
		break;
	case ST_BIND:
		sin_of(&sin, st->addr_set ? st->addr : r->laddr, st->port);
		ret = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		rc = judge(r, st, ret, errno, 0, 0);
		r->kport = st->port;
		break;
	case ST_LISTEN:
		ret = listen(fd, st->num);
		rc = judge(r, st, ret, errno, 0, 0);
		break;
	case ST_ACCEPT:
		if (r->nonblock[r->cur] && (!st->ret.set || !st->ret.is_errno))
			wait_readable(fd, now() + r->deftimeout);
		ret = accept4(fd, NULL, NULL, SOCK_CLOEXEC |
			      (r->nonblock[r->cur] ? SOCK_NONBLOCK : 0));
		rc = judge(r, st, ret, errno, -1, 0);
		if (ret >= 0)
			keep_fd(r, SK_CHILD, (int)ret, r->nonblock[r->cur]);
		break;
	case ST_CONNECT:
		if (st->addr_set)
			memcpy(r->paddr, st->addr, 4);
		r->pport = st->port;
		restart(r);
		sin_of(&sin, r->paddr, st->port);
		ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		one_err = errno;
		if (!getsockname(fd, (struct sockaddr *)&sin, &alen) &&
		    sin.sin_port) {
			r->kport = ntohs(sin.sin_port);
			if (sin.sin_addr.s_addr)
				memcpy(r->laddr, &sin.sin_addr, 4);
		}
		rc = judge(r, st, ret, one_err, 0,
			   r->nonblock[r->cur] ? EINPROGRESS : 0);
		break;
	case ST_CLOSE:
		ret = close(fd);
		r->fd[r->cur] = -1;
		rc = judge(r, st, ret, errno, 0, 0);
		break;
	case ST_SHUTDOWN:
		ret = shutdown(fd, st->num);
		rc = judge(r, st, ret, errno, 0, 0);
		break;
	case ST_SEND:
		for (i = 0; i < (size_t)st->num; i++)
			buf[i] = (char)ktp_pattern_byte(i);
		ret = send(fd, buf, st->num, MSG_NOSIGNAL);
		rc = judge(r, st, ret, errno, st->num, 0);
		break;
	case ST_RECV:
		rc = do_recv(r, st, fd);
		break;
	case ST_SETSOCKOPT:
		val = st->optval;
		if (st->optname == SO_LINGER && st->optlevel == SOL_SOCKET) {
			lg.l_onoff = 1;
			lg.l_linger = val;
			ret = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
					 sizeof(lg));
		} else {
			ret = setsockopt(fd, st->optlevel, st->optname, &val,
					 sizeof(val));
		}
		rc = judge(r, st, ret, errno, 0, 0);
		break;
	case ST_STATE:
		/* the kernel may still be busy with the last segment, or a
		 * timer (timeout=) may be about to move it
		 */
		for (i = 0; ; i++) {
			ret = ktp_info(fd, &info);
			if (ret || info.ktpi_state == st->num ||
			    i * 10 >= (st->secs > 0 ? st->secs :
				       r->deftimeout) * 1000)
				break;
			usleep(10000);
		}
		if (ret)
			rc = report(r, FAIL, "KTP_INFO: %s", strerror(errno));
		else if (info.ktpi_state != st->num)
			rc = report(r, FAIL, "state %s, expected %s",
				    ktp_state_name(info.ktpi_state) ?: "?",
				    ktp_state_name(st->num));
		break;
	case ST_INFO:
		rc = do_info(r, st, fd);
		break;
	case ST_SOCKERR:
		alen = sizeof(val);
		ret = getsockopt(fd, SOL_SOCKET, SO_ERROR, &val, &alen);
		if (ret)
			rc = report(r, FAIL, "SO_ERROR: %s", strerror(errno));
		else if (val != st->num)
			rc = report(r, FAIL, "SO_ERROR %s, expected %s",
				    val ? errno_str(val) : "0",
				    st->num ? errno_str(st->num) : "0");
		break;
	default:
		rc = report(r, BAD, "internal: not a socket call");
	}
	alarm(0);
	return rc;
}

static char *read_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = len + 8192);

			if (!b)
				break;
			buf = b;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int do_counter(struct run *r, const struct stmt *st)
{
	long long v, base = 0;
	char *text;
	int i;

	text = read_file(SNMP_FILE);
	if (!text)
		return report(r, FAIL, "no %s: %s", SNMP_FILE,
			      strerror(errno));
	if (!counter_find(text, st->name, &v)) {
		free(text);
		return report(r, FAIL, "no counter %s in %s", st->name,
			      SNMP_FILE);
	}
	free(text);
	for (i = 0; i < r->nbase; i++)
		if (!strcasecmp(r->base[i].name, st->name))
			break;
	if (i < r->nbase) {
		base = r->base[i].v;
	} else {
		if (r->snmp_start)
			counter_find(r->snmp_start, st->name, &base);
		if (i < 32) {
			strcpy(r->base[i].name, st->name);
			r->nbase++;
		}
	}
	if (i < 32)
		r->base[i].v = v;
	trace(r, "counter %s %lld (%+lld)", st->name, v, v - base);
	if (v - base != st->delta)
		return report(r, FAIL, "%s went from %lld to %lld (%+lld), "
			      "expected %+ld", st->name, base, v, v - base,
			      st->delta);
	return PASS;
}

/*
 * sysctl NAME VALUE: the script's network namespace is its own (unless
 * -N), so what it sets there goes with it.
 */
static int do_sysctl(struct run *r, const struct stmt *st)
{
	char path[128], buf[40];
	ssize_t n;
	int fd, len;

	if (!sysctl_path(st->name, path, sizeof(path)))
		return report(r, BAD, "internal: bad sysctl name");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return report(r, FAIL, "%s: %s", path, strerror(errno));
	len = snprintf(buf, sizeof(buf), "%s\n", st->value);
	n = write(fd, buf, len);
	close(fd);
	if (n != len)
		return report(r, FAIL, "writing '%s' to %s: %s", st->value,
			      path, n < 0 ? strerror(errno) : "short write");
	trace(r, "sysctl  %s = %s", st->name, st->value);
	return PASS;
}

static int run_stmt(struct run *r, const struct stmt *st)
{
	struct timespec ts;

	r->st = st;
	if (r->verbose)
		printf("%d: %s\n", st->line, st->src);
	switch (st->kind) {
	case ST_INJECT:
	case ST_INJECT_RAW:
		return do_inject(r, st);
	case ST_EXPECT:
		return do_expect(r, st);
	case ST_EXPECT_NONE:
		return do_expect_none(r, st);
	case ST_ICMP:
		return do_icmp(r, st);
	case ST_USE:
		r->cur = st->num;
		return PASS;
	case ST_PEER:
		r->pport = st->port;
		if (st->isn_set)
			r->peer_isn = st->isn;
		restart(r);
		return PASS;
	case ST_PORT:
		r->kport = st->port;
		return PASS;
	case ST_SLEEP:
		ts.tv_sec = (time_t)st->secs;
		ts.tv_nsec = (long)((st->secs - ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		return PASS;
	case ST_COUNTER:
		return do_counter(r, st);
	case ST_SYSCTL:
		return do_sysctl(r, st);
	case ST_OFFLOAD:
		return do_offload(r);
	case ST_TRANSFER:
		return do_transfer(r, st);
	default:
		return do_call(r, st);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: ktp_inject [-v] [-l] [-N] [-c] [-P PROTO] [-t SECS] [-i ISN] SCRIPT\n"
"Run a KTP conformance script (docs/inject.md) against the kernel.\n"
"  -v          print each statement and segment as it happens\n"
"  -l          peer on loopback through raw sockets (one-segment tests)\n"
"  -N          stay in the current network namespace\n"
"  -c          only check the script's syntax\n"
"  -P PROTO    KTP's IP protocol (default: the module's ipproto, or 253)\n"
"  -t SECONDS  default time-out of expect, accept and recv (1.0)\n"
"  -i ISN      the peer's initial sequence number (default: random)\n"
"Exit status: 0 pass, 1 fail, 2 usage or script error.\n");
}

static uint32_t random_u32(void)
{
	struct timespec ts;
	uint32_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &v, sizeof(v)) != sizeof(v))
			v = 0;
		close(fd);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return v ^ (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct run r = { .tunfd = -1, .tapfd = -1, .sendfd = -1, .rcvfd = -1,
			 .deftimeout = 1.0, .proto = -1,
			 .fd = { -1, -1 } };
	bool isn_set = false, check_only = false;
	char err[256], *end;
	int c, rc = PASS, i;
	struct script sc;
	FILE *f;

	while ((c = getopt(argc, argv, "vlNcP:t:i:h")) != -1) {
		switch (c) {
		case 'v':
			r.verbose = true;
			break;
		case 'l':
			r.loopback = true;
			break;
		case 'N':
			r.no_netns = true;
			break;
		case 'c':
			check_only = true;
			break;
		case 'P':
			r.proto = (int)strtol(optarg, &end, 0);
			if (*end || r.proto <= 0 || r.proto > 255)
				goto usage;
			break;
		case 't':
			r.deftimeout = strtod(optarg, &end);
			if (*end || !(r.deftimeout > 0 && r.deftimeout <= 600))
				goto usage;
			break;
		case 'i':
			r.peer_isn = (uint32_t)strtoul(optarg, &end, 0);
			if (*end)
				goto usage;
			isn_set = true;
			break;
		case 'h':
			usage(stdout);
			return PASS;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	r.path = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);

	f = fopen(r.path, "r");
	if (!f) {
		fprintf(stderr, "ktp_inject: %s: %s\n", r.path,
			strerror(errno));
		return BAD;
	}
	if (script_load(f, &sc, err, sizeof(err))) {
		fclose(f);
		printf("%s: %s\n", r.path, err);
		return BAD;
	}
	fclose(f);
	if (check_only) {
		printf("%s: %d statements\n", r.path, sc.n);
		script_free(&sc);
		return PASS;
	}

	if (r.proto < 0)
		r.proto = ktp_ipproto_param();
	if (!isn_set)
		r.peer_isn = random_u32();
	r.peer_nxt = r.peer_isn;
	r.pport = (uint16_t)(20000 + random_u32() % 10000);
	sigaction(SIGALRM, &sa, NULL);

	rc = setup(&r);
	r.t0 = now();
	r.tref = r.t0;
	r.tact = r.t0;
	r.snmp_start = read_file(SNMP_FILE);
	for (i = 0; rc == PASS && i < sc.n; i++)
		rc = run_stmt(&r, &sc.st[i]);
	if (rc == PASS)
		rc = no_segment_left(&r);
	if (rc == PASS)
		printf("%s: pass (%d statements)\n", r.path, sc.n);
	reset_leftover(&r, rc != PASS);

	for (i = 0; i < SK_MAX; i++)
		if (r.fd[i] >= 0)
			close(r.fd[i]);
	free(r.snmp_start);
	script_free(&sc);
	return rc;
usage:
	usage(stderr);
	return BAD;
}
