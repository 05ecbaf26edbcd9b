// SPDX-License-Identifier: GPL-2.0
/*
 * ktpdump: print KTP segments as they cross the interfaces, tcpdump style.
 *
 *   ktpdump [-i IFACE] [-P PROTO] [-c COUNT] [-T SECONDS] [-w FILE]
 *	     [-S | -X] [-t] [-q] [-n]
 *
 * One line per segment; see docs/ktpdump.md. Needs CAP_NET_RAW.
 *
 * Exit status: 0 done (COUNT segments, the -T bound without -c, or a
 * signal), 1 a system error, 2 bad usage, 3 the -T bound passed before
 * COUNT segments were seen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ktp_pcap.h"
#include "ktp_seg.h"

#define SNAPLEN		262144

enum {
	EXIT_DONE = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
};

struct opts {
	const char *iface;
	const char *wfile;
	int ipproto;
	long count;
	double tlimit;
	int seqmode;
	bool abstime;
	bool quiet;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: ktpdump [options]\n"
"Print each KTP segment on the interfaces as one line.\n"
"  -i IFACE     capture on IFACE only (default: all, loopback included)\n"
"  -P PROTO     the IP protocol number of KTP (default: the module's\n"
"               ipproto parameter, else 253)\n"
"  -c COUNT     exit after COUNT segments\n"
"  -T SECONDS   exit after SECONDS (status 3 if -c was not reached)\n"
"  -w FILE      also write the segments to FILE as pcap (LINKTYPE_RAW)\n"
"  -S           absolute sequence numbers\n"
"  -X, --isn    absolute sequence numbers and their ISN arithmetic (x+1)\n"
"  -t           absolute time of day instead of time since the first\n"
"  -q           short lines: addresses, flags and length\n"
"  -n           no name resolution (accepted; names are never looked up)\n"
"  -h, --help   this text\n"
"Exit status: 0 done, 1 error, 2 usage, 3 time bound hit before -c.\n");
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "isn", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	o->ipproto = -1;
	o->count = -1;
	o->tlimit = -1;
	o->seqmode = KTP_SEQ_RELATIVE;
	while ((c = getopt_long(argc, argv, "i:P:c:T:w:SXtqnh", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			o->iface = optarg;
			break;
		case 'P':
			if (!parse_num(optarg, 1, 255, &v) || v != (int)v)
				goto bad;
			o->ipproto = (int)v;
			break;
		case 'c':
			if (!parse_num(optarg, 1, 1e9, &v) || v != (long)v)
				goto bad;
			o->count = (long)v;
			break;
		case 'T':
			if (!parse_num(optarg, 0, 1e6, &v))
				goto bad;
			o->tlimit = v;
			break;
		case 'w':
			o->wfile = optarg;
			break;
		case 'S':
			o->seqmode = KTP_SEQ_ABSOLUTE;
			break;
		case 'X':
			o->seqmode = KTP_SEQ_ISN;
			break;
		case 't':
			o->abstime = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'n':
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_DONE);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ktpdump: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->ipproto < 0)
		o->ipproto = ktp_ipproto_param();
	return 0;
bad:
	fprintf(stderr, "ktpdump: bad value '%s' for -%c\n", optarg, c);
	return -1;
}

static int open_capture(const struct opts *o)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	int fd, one = 1;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("ktpdump: socket(AF_PACKET)");
		return -1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one))) {
		perror("ktpdump: setsockopt");
		goto fail;
	}
	if (o->iface) {
		sll.sll_ifindex = (int)if_nametoindex(o->iface);
		if (!sll.sll_ifindex) {
			fprintf(stderr, "ktpdump: no interface %s\n",
				o->iface);
			goto fail;
		}
		if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
			perror("ktpdump: bind");
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void print_time(const struct timeval *tv, const struct timeval *t0,
		       bool abstime)
{
	struct tm tm;
	time_t s;
	long us;

	if (abstime) {
		s = tv->tv_sec;
		localtime_r(&s, &tm);
		printf("%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min,
		       tm.tm_sec, (long)tv->tv_usec);
		return;
	}
	s = tv->tv_sec - t0->tv_sec;
	us = tv->tv_usec - t0->tv_usec;
	if (us < 0) {
		us += 1000000;
		s--;
	}
	printf("%ld.%06ld ", (long)s, us);
}

struct capture {
	int fd;
	FILE *pcap;
	struct ktp_flows flows;
	struct timeval t0;
	long seen;
};

/* Read one frame; returns 1 if a segment was printed, 0 if not, -1. */
static int capture_one(struct capture *c, const struct opts *o, uint8_t *buf)
{
	char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata)) +
		  CMSG_SPACE(sizeof(struct timeval))];
	struct iovec iov = { .iov_base = buf, .iov_len = SNAPLEN };
	struct tpacket_auxdata *aux = NULL;
	struct sockaddr_ll sll;
	struct msghdr msg = {
		.msg_name = &sll, .msg_namelen = sizeof(sll),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct timeval tv = { 0 };
	struct ktp_seq_ctx ctx;
	struct cmsghdr *cm;
	struct ktp_seg seg;
	char line[512];
	size_t caplen, len;
	ssize_t n;

	n = recvmsg(c->fd, &msg, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		perror("ktpdump: recvmsg");
		return -1;
	}
	len = (size_t)n;
	caplen = len < SNAPLEN ? len : SNAPLEN;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_PACKET &&
		    cm->cmsg_type == PACKET_AUXDATA)
			aux = (struct tpacket_auxdata *)CMSG_DATA(cm);
		else if (cm->cmsg_level == SOL_SOCKET &&
			 cm->cmsg_type == SO_TIMESTAMP)
			memcpy(&tv, CMSG_DATA(cm), sizeof(tv));
	}
	if (!tv.tv_sec)
		gettimeofday(&tv, NULL);
	/* loopback shows each datagram twice: keep the incoming copy */
	if (sll.sll_hatype == ARPHRD_LOOPBACK &&
	    sll.sll_pkttype == PACKET_OUTGOING)
		return 0;
	if (sll.sll_protocol != htons(ETH_P_IP) &&
	    sll.sll_protocol != htons(ETH_P_IPV6))
		return 0;
	if (ktp_seg_from_ip(&seg, buf, caplen, o->ipproto))
		return 0;
	/* checksum offload: only the pseudo-header sum is there yet */
	if (aux && (aux->tp_status & TP_STATUS_CSUMNOTREADY))
		seg.csum = KTP_CSUM_UNCHECKED;
	else if (seg.csum == KTP_CSUM_PARTIAL)
		seg.csum = KTP_CSUM_BAD;

	if (!c->seen)
		c->t0 = tv;
	c->seen++;
	ktp_flows_track(&c->flows, &seg, &ctx);
	ktp_seg_format(line, sizeof(line), &seg, &ctx, o->seqmode, o->quiet);
	print_time(&tv, &c->t0, o->abstime);
	printf("%s\n", line);
	fflush(stdout);
	if (c->pcap && ktp_pcap_write(c->pcap, &tv, buf, caplen, len)) {
		perror("ktpdump: writing the pcap file");
		return -1;
	}
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct capture *c;
	struct opts o;
	double deadline = 0;
	int rc = EXIT_DONE, timeout;
	uint8_t *buf;
	struct pollfd pfd;

	if (parse_args(argc, argv, &o))
		return EXIT_USAGE;
	c = calloc(1, sizeof(*c));
	buf = malloc(SNAPLEN);
	if (!c || !buf) {
		fprintf(stderr, "ktpdump: out of memory\n");
		return EXIT_ERROR;
	}
	c->fd = open_capture(&o);
	if (c->fd < 0)
		return EXIT_ERROR;
	if (o.wfile) {
		c->pcap = ktp_pcap_open(o.wfile, SNAPLEN);
		if (!c->pcap) {
			fprintf(stderr, "ktpdump: %s: %s\n", o.wfile,
				strerror(errno));
			return EXIT_ERROR;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!o.quiet)
		fprintf(stderr, "ktpdump: listening on %s, IP protocol %d\n",
			o.iface ? o.iface : "all interfaces", o.ipproto);
	if (o.tlimit >= 0)
		deadline = now() + o.tlimit;

	pfd.fd = c->fd;
	pfd.events = POLLIN;
	while (!stop && (o.count < 0 || c->seen < o.count)) {
		timeout = -1;
		if (o.tlimit >= 0) {
			double left = deadline - now();

			if (left <= 0) {
				if (o.count > 0)
					rc = EXIT_TIMEOUT;
				break;
			}
			timeout = (int)(left * 1000) + 1;
		}
		if (poll(&pfd, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			perror("ktpdump: poll");
			rc = EXIT_ERROR;
			break;
		}
		if (!(pfd.revents & POLLIN))
			continue;
		if (capture_one(c, &o, buf) < 0) {
			rc = EXIT_ERROR;
			break;
		}
	}
	fprintf(stderr, "ktpdump: %ld segment%s\n", c->seen,
		c->seen == 1 ? "" : "s");
	if (c->pcap && fclose(c->pcap)) {
		perror("ktpdump: closing the pcap file");
		rc = EXIT_ERROR;
	}
	close(c->fd);
	free(buf);
	free(c);
	return rc;
}
