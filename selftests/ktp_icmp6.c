// SPDX-License-Identifier: GPL-2.0
/*
 * ICMPv6 errors about KTP segments, as a user sees them. The test plays
 * the peer, fd00::2, behind a tun device that holds the kernel's fd00::1:
 * it reads the segments the kernel sends there and answers with ICMPv6
 * errors that quote them (RFC 4443: as much of the datagram as fits in
 * the minimum MTU), or with segments of its own.
 *
 * - In SYN_SENT, a host without KTP (parameter problem, unrecognized next
 *   header) or an unreachable destination fails connect() at once, with
 *   the errno SO_ERROR reports (IcmpAborts).
 * - An error quoting a sequence number not in flight changes nothing
 *   (OutOfWindowIcmps).
 * - On an established connection an error is soft: SO_ERROR reports it
 *   once, the connection stays.
 * - Packet too big lowers the MSS to what the new path MTU carries and
 *   resends what was in flight at once (PmtuReduced).
 *
 * Every test runs in a network namespace of its own, with its own tun
 * device, counters and sysctls.
 */
#include <netinet/icmp6.h>
#include <sys/sysmacros.h>
#include <linux/if_tun.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"
#include "ktp_seg.h"

#define KERNEL_ADDR	"fd00::1"
#define PEER_ADDR	"fd00::2"
#define PEER_PORT	8000
#define PEER_ISN	1000000u
#define PEER_MSS	1440
#define IP6_HLEN	40
/* The whole ICMPv6 error fits in IPv6's minimum MTU (RFC 4443 2.4 (c)). */
#define ICMP6_MTU	1280
/* What a 1280-byte path carries in a KTP segment without options. */
#define MSS_1280	(ICMP6_MTU - IP6_HLEN - (int)sizeof(struct ktphdr))
#define PKT_MAX		4096

/* A datagram the kernel sent, and the KTP segment in it. */
struct pkt {
	uint8_t buf[PKT_MAX];
	size_t len;
	struct ktp_seg seg;
};

/* The peer's end of the wire, and the socket under test. */
struct peer {
	int tun;		/* what the kernel sends to fd00::2 */
	int proto;		/* KTP's IP protocol number */
	struct in6_addr kaddr;	/* the kernel's end, fd00::1 */
	struct in6_addr paddr;	/* ours, fd00::2 */
	int fd;			/* the KTP socket under test */
	uint32_t iss;		/* its ISN */
	struct pkt syn;		/* its SYN */
	struct pkt seg[2];	/* its later segments, as a test keeps them */
};

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, sizeof(v));
}

/*
 * A namespace of the test's own, a tun device in it, up, with fd00::1/64
 * usable at once (nodad) and its local route in place, and
 * net.ktp.rto_min at 5 s there: no retransmission time-out interleaves
 * with what an ICMPv6 error makes the kernel send.
 */
static void peer_setup(struct __test_metadata *_metadata, struct peer *p)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	const char *why = "";
	char cmd[256];

	p->tun = -1;
	p->fd = -1;
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, sysctl_set("ktp/rto_min", "5000"));
	/* no udev in the VM: the node may be missing (EEXIST otherwise) */
	mkdir("/dev/net", 0755);
	mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200));
	p->tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, p->tun) TH_LOG("/dev/net/tun: %s", strerror(errno));
	strcpy(ifr.ifr_name, "ktp6i%d");
	ASSERT_EQ(0, ioctl(p->tun, TUNSETIFF, &ifr))
		TH_LOG("TUNSETIFF: %s", strerror(errno));
	/* a busybox sh would run its own ip applet: the full path */
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/ip link set dev %1$s up && /usr/sbin/ip -6 addr add %2$s/64 dev %1$s nodad",
		 ifr.ifr_name, KERNEL_ADDR);
	ASSERT_EQ(0, system(cmd)) TH_LOG("cannot put %s on %s",
					 KERNEL_ADDR, ifr.ifr_name);
	ASSERT_EQ(0, wait_local_route(KERNEL_ADDR, 5000))
		TH_LOG("no local route of %s within 5 s", KERNEL_ADDR);
	inet_pton(AF_INET6, KERNEL_ADDR, &p->kaddr);
	inet_pton(AF_INET6, PEER_ADDR, &p->paddr);
	p->proto = ktp_ipproto_param();
}

/* What a failed test left open goes with a RST, leaving nothing behind. */
static void peer_teardown(struct peer *p)
{
	if (p->fd >= 0)
		abort_close(&p->fd, -1);
	if (p->tun >= 0)
		close(p->tun);
}

/*
 * The next KTP segment over IPv6 the kernel sends, within @ms; router
 * solicitations, MLD reports and the like are passed over. 0 or -1.
 */
static int wire_read(struct peer *p, struct pkt *pkt, int ms)
{
	long long end = now_ms() + ms;
	ssize_t n;

	for (;;) {
		n = read(p->tun, pkt->buf, sizeof(pkt->buf));
		if (n > 0) {
			if (ktp_seg_from_ip(&pkt->seg, pkt->buf, n, p->proto) ||
			    pkt->seg.family != AF_INET6)
				continue;
			pkt->len = n;
			return 0;
		}
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (now_ms() >= end ||
		    !poll_events(p->tun, POLLIN, end - now_ms()))
			return -1;
	}
}

/* The next segment that carries data, within @ms each; 0 or -1. */
static int wire_data(struct peer *p, struct pkt *pkt, int ms)
{
	do {
		if (wire_read(p, pkt, ms))
			return -1;
	} while (!pkt->seg.paylen);
	return 0;
}

/* @len bytes of @nexthdr from fd00::2 to fd00::1, into the kernel. */
static int wire_send(struct peer *p, uint8_t nexthdr, const void *body,
		     size_t len)
{
	uint8_t pkt[IP6_HLEN + PKT_MAX] = { 0x60 };

	if (len > PKT_MAX)
		return -1;
	pkt[4] = len >> 8;
	pkt[5] = len & 0xff;
	pkt[6] = nexthdr;
	pkt[7] = 64;
	memcpy(pkt + 8, &p->paddr, sizeof(p->paddr));
	memcpy(pkt + 24, &p->kaddr, sizeof(p->kaddr));
	memcpy(pkt + IP6_HLEN, body, len);
	return write(p->tun, pkt, IP6_HLEN + len) == (ssize_t)(IP6_HLEN + len) ?
	       0 : -1;
}

static int send_seg(struct peer *p, const struct ktp_seg_spec *spec)
{
	uint8_t seg[PKT_MAX];
	long len;

	len = ktp_seg_build(seg, sizeof(seg), spec, AF_INET6, &p->paddr,
			    &p->kaddr, p->proto);
	return len < 0 ? -1 : wire_send(p, p->proto, seg, len);
}

/*
 * An ICMPv6 error of @type and @code from the peer, @param its second
 * word (the pointer, the MTU), quoting @about with its KTP sequence
 * number replaced by @seq.
 */
static int send_icmp6(struct peer *p, uint8_t type, uint8_t code,
		      uint32_t param, const struct pkt *about, uint32_t seq)
{
	uint8_t msg[ICMP6_MTU - IP6_HLEN] = { type, code };
	size_t seqat = 8 + (about->seg.hdr - about->buf) + 4;
	size_t qlen = about->len;
	uint16_t sum;

	if (qlen > sizeof(msg) - 8)
		qlen = sizeof(msg) - 8;
	put_be32(msg + 4, param);
	memcpy(msg + 8, about->buf, qlen);
	put_be32(msg + seqat, seq);
	sum = ktp_csum_compute(AF_INET6, &p->paddr, &p->kaddr,
			       IPPROTO_ICMPV6, msg, 8 + qlen);
	msg[2] = sum >> 8;
	msg[3] = sum & 0xff;
	return wire_send(p, IPPROTO_ICMPV6, msg, 8 + qlen);
}

/*
 * A non-blocking connect() to [fd00::2]:8000: EINPROGRESS, and its SYN
 * from fd00::1 on the wire within a second.
 */
static void dial(struct __test_metadata *_metadata, struct peer *p)
{
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(PEER_PORT),
		.sin6_addr = p->paddr,
	};

	p->fd = ktp_sock_family(AF_INET6, SOCK_NONBLOCK);
	ASSERT_LE(0, p->fd) TH_LOG("IPv6 KTP socket: %s", strerror(errno));
	ASSERT_EQ(-1, connect(p->fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, wire_read(p, &p->syn, 1000))
		TH_LOG("no SYN on the wire within 1 s");
	ASSERT_EQ(KTP_FLAG_SYN, p->syn.seg.flags);
	ASSERT_EQ(PEER_PORT, p->syn.seg.dport);
	ASSERT_EQ(0, memcmp(p->syn.seg.saddr, &p->kaddr, sizeof(p->kaddr)));
	p->iss = p->syn.seg.seq;
	ASSERT_EQ(KTP_SYN_SENT, ktp_state(p->fd));
}

/*
 * connect() failed at once: poll() sees it within 5 s (a loaded TCG VM
 * has taken more than 1; without the error it would wait out every SYN
 * retransmission, two minutes), SO_ERROR says @err, the socket is
 * closed.
 */
static void expect_refused(struct __test_metadata *_metadata,
			   struct peer *p, int err)
{
	short ev = poll_events(p->fd, POLLOUT, 5000);

	ASSERT_NE(0, ev & (POLLOUT | POLLERR))
		TH_LOG("connect() still pending 5 s after the error");
	EXPECT_EQ(err, sock_error(p->fd));
	EXPECT_STREQ("CLOSED", state_str(ktp_state(p->fd)));
}

/*
 * The handshake by hand: the SYN answered with a SYN-ACK offering an MSS
 * of 1440 and no other option, the kernel's ACK of it on the wire
 * (kept in seg[0]).
 */
static void establish(struct __test_metadata *_metadata, struct peer *p)
{
	uint16_t mss = htons(PEER_MSS);
	uint8_t opt[KTP_SEG_MAX_OPTLEN];
	struct ktp_seg_spec spec = {
		.sport = PEER_PORT,
		.seq = PEER_ISN,
		.flags = KTP_FLAG_SYN | KTP_FLAG_ACK,
		.doff = -1,
		.window = 65535,
		.opt = opt,
	};

	dial(_metadata, p);
	ASSERT_TRUE(ktp_opt_put(opt, &spec.optlen, KTPOPT_MSS, &mss,
				sizeof(mss)));
	spec.dport = p->syn.seg.sport;
	spec.ack = p->iss + 1;
	ASSERT_EQ(0, send_seg(p, &spec));
	ASSERT_NE(0, poll_events(p->fd, POLLOUT, 1000) & POLLOUT);
	ASSERT_EQ(0, sock_error(p->fd));
	ASSERT_STREQ("ESTABLISHED", state_str(ktp_state(p->fd)));
	ASSERT_EQ(0, wire_read(p, &p->seg[0], 1000))
		TH_LOG("no ACK of the SYN-ACK within 1 s");
	ASSERT_EQ(KTP_FLAG_ACK, p->seg[0].seg.flags);
	ASSERT_EQ(PEER_ISN + 1, p->seg[0].seg.ack);
}

/* The peer resets the connection: ECONNRESET, closed within a second. */
static void reset_by_peer(struct __test_metadata *_metadata, struct peer *p)
{
	struct ktp_info info;
	struct ktp_seg_spec spec = {
		.sport = PEER_PORT,
		.seq = PEER_ISN + 1,
		.flags = KTP_FLAG_RST | KTP_FLAG_ACK,
		.doff = -1,
	};

	ASSERT_EQ(0, ktp_info(p->fd, &info));
	spec.dport = p->syn.seg.sport;
	spec.ack = info.ktpi_snd_nxt;
	ASSERT_EQ(0, send_seg(p, &spec));
	ASSERT_EQ(KTP_CLOSE, wait_state(p->fd, KTP_CLOSE, 1000));
	EXPECT_EQ(ECONNRESET, sock_error(p->fd));
	close(p->fd);
	p->fd = -1;
}

/* The errors that fail connect(), and the errno each means. */
FIXTURE(syn_sent) {
	struct peer p;
};

FIXTURE_VARIANT(syn_sent) {
	uint8_t type;
	uint8_t code;
	uint32_t param;
	int err;
};

/* What a host without KTP answers: the pointer names the next header
 * field (RFC 8200 4), which TCP would meet as port unreachable.
 */
FIXTURE_VARIANT_ADD(syn_sent, unknown_next_header) {
	.type = ICMP6_PARAM_PROB,
	.code = ICMP6_PARAMPROB_NEXTHEADER,
	.param = 6,
	.err = ECONNREFUSED,
};

FIXTURE_VARIANT_ADD(syn_sent, port_unreachable) {
	.type = ICMP6_DST_UNREACH,
	.code = ICMP6_DST_UNREACH_NOPORT,
	.err = ECONNREFUSED,
};

FIXTURE_VARIANT_ADD(syn_sent, no_route) {
	.type = ICMP6_DST_UNREACH,
	.code = ICMP6_DST_UNREACH_NOROUTE,
	.err = ENETUNREACH,
};

FIXTURE_VARIANT_ADD(syn_sent, address_unreachable) {
	.type = ICMP6_DST_UNREACH,
	.code = ICMP6_DST_UNREACH_ADDR,
	.err = EHOSTUNREACH,
};

FIXTURE_VARIANT_ADD(syn_sent, admin_prohibited) {
	.type = ICMP6_DST_UNREACH,
	.code = ICMP6_DST_UNREACH_ADMIN,
	.err = EACCES,
};

FIXTURE_SETUP(syn_sent)
{
	peer_setup(_metadata, &self->p);
}

FIXTURE_TEARDOWN(syn_sent)
{
	peer_teardown(&self->p);
}

TEST_F(syn_sent, connect_fails_at_once)
{
	long aborts = snmp_get("IcmpAborts");

	ASSERT_LE(0, aborts) TH_LOG("no IcmpAborts in /proc/net/ktp_snmp");
	dial(_metadata, &self->p);
	ASSERT_EQ(0, send_icmp6(&self->p, variant->type, variant->code,
				variant->param, &self->p.syn, self->p.iss));
	expect_refused(_metadata, &self->p, variant->err);
	EXPECT_EQ(aborts + 1, wait_snmp("IcmpAborts", aborts + 1, 1000));
}

/* A peer of the test's making, for the tests below. */
FIXTURE(peer6) {
	struct peer p;
};

FIXTURE_SETUP(peer6)
{
	peer_setup(_metadata, &self->p);
}

FIXTURE_TEARDOWN(peer6)
{
	peer_teardown(&self->p);
}

/* RFC 5927: an error must quote a sequence number in flight. */
TEST_F(peer6, out_of_window_error_ignored)
{
	long oow = snmp_get("OutOfWindowIcmps");
	long aborts = snmp_get("IcmpAborts");

	ASSERT_LE(0, oow) TH_LOG("no OutOfWindowIcmps in /proc/net/ktp_snmp");
	ASSERT_LE(0, aborts) TH_LOG("no IcmpAborts in /proc/net/ktp_snmp");
	dial(_metadata, &self->p);
	ASSERT_EQ(0, send_icmp6(&self->p, ICMP6_PARAM_PROB,
				ICMP6_PARAMPROB_NEXTHEADER, 6, &self->p.syn,
				self->p.iss + 1000));
	EXPECT_EQ(oow + 1, wait_snmp("OutOfWindowIcmps", oow + 1, 1000));
	EXPECT_EQ(aborts, snmp_get("IcmpAborts"));
	EXPECT_EQ(0, poll_now(self->p.fd) & (POLLOUT | POLLERR));
	EXPECT_STREQ("SYN_SENT", state_str(ktp_state(self->p.fd)));

	ASSERT_EQ(0, send_icmp6(&self->p, ICMP6_PARAM_PROB,
				ICMP6_PARAMPROB_NEXTHEADER, 6, &self->p.syn,
				self->p.iss));
	expect_refused(_metadata, &self->p, ECONNREFUSED);
	EXPECT_EQ(aborts + 1, wait_snmp("IcmpAborts", aborts + 1, 1000));
	EXPECT_EQ(oow + 1, snmp_get("OutOfWindowIcmps"));
}

/*
 * On an established connection even port unreachable is soft: SO_ERROR
 * reports it once, and the connection goes on sending.
 */
TEST_F(peer6, established_error_is_soft)
{
	long aborts = snmp_get("IcmpAborts");
	unsigned char data[100];
	long long end;
	int err = 0;

	ASSERT_LE(0, aborts) TH_LOG("no IcmpAborts in /proc/net/ktp_snmp");
	establish(_metadata, &self->p);
	ASSERT_EQ(0, send_icmp6(&self->p, ICMP6_DST_UNREACH,
				ICMP6_DST_UNREACH_NOPORT, 0, &self->p.seg[0],
				self->p.seg[0].seg.seq));
	end = now_ms() + 1000;
	while (!err && now_ms() < end) {
		err = sock_error(self->p.fd);
		if (!err)
			sleep_ms(5);
	}
	EXPECT_EQ(ECONNREFUSED, err);
	EXPECT_EQ(0, sock_error(self->p.fd));
	EXPECT_STREQ("ESTABLISHED", state_str(ktp_state(self->p.fd)));
	EXPECT_EQ(aborts, snmp_get("IcmpAborts"));

	pattern_fill(data, sizeof(data), 5, 0);
	ASSERT_EQ(sizeof(data), send(self->p.fd, data, sizeof(data), 0));
	ASSERT_EQ(0, wire_data(&self->p, &self->p.seg[1], 1000))
		TH_LOG("no data sent within 1 s after the error");
	EXPECT_EQ(self->p.iss + 1, self->p.seg[1].seg.seq);
	EXPECT_EQ(sizeof(data), self->p.seg[1].seg.paylen);
	reset_by_peer(_metadata, &self->p);
}

/*
 * RFC 8201: packet too big about a segment in flight. The MSS follows
 * the path MTU (1280 - 40 - 20), and what was in flight is resent at
 * once, in segments that fit, from the first unacknowledged byte.
 */
TEST_F(peer6, packet_too_big_resends_smaller)
{
	long pmtu = snmp_get("PmtuReduced");
	unsigned char data[4000];
	struct pkt *last = &self->p.seg[0];
	struct ktp_info info;
	uint32_t una, end;
	int i;

	ASSERT_LE(0, pmtu) TH_LOG("no PmtuReduced in /proc/net/ktp_snmp");
	establish(_metadata, &self->p);
	ASSERT_EQ(0, ktp_info(self->p.fd, &info));
	ASSERT_EQ(PEER_MSS, info.ktpi_snd_mss);
	una = self->p.iss + 1;
	pattern_fill(data, sizeof(data), 6, 0);
	ASSERT_EQ(sizeof(data), send(self->p.fd, data, sizeof(data), 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, wire_data(&self->p, &self->p.seg[i], 1000))
			TH_LOG("data segment %d not sent within 1 s", i + 1);
		ASSERT_EQ(una + i * PEER_MSS, self->p.seg[i].seg.seq);
		ASSERT_EQ(PEER_MSS, self->p.seg[i].seg.paylen);
	}
	/* whatever else went out before the error */
	end = una + 2 * PEER_MSS;
	ASSERT_EQ(0, ktp_info(self->p.fd, &info));
	while (end != info.ktpi_snd_nxt) {
		ASSERT_EQ(0, wire_data(&self->p, last, 1000))
			TH_LOG("%u bytes sent, %u seen", info.ktpi_snd_nxt - una,
			       end - una);
		end = last->seg.seq + last->seg.paylen;
	}

	ASSERT_EQ(0, send_icmp6(&self->p, ICMP6_PACKET_TOO_BIG, 0, ICMP6_MTU,
				&self->p.seg[1], self->p.seg[1].seg.seq));
	ASSERT_EQ(0, wire_data(&self->p, last, 1000))
		TH_LOG("nothing resent within 1 s of packet too big");
	EXPECT_EQ(una, last->seg.seq);
	EXPECT_EQ(MSS_1280, last->seg.paylen);
	EXPECT_GE(ICMP6_MTU, last->len);
	EXPECT_EQ(0, memcmp(last->seg.payload, data, MSS_1280));
	EXPECT_EQ(pmtu + 1, wait_snmp("PmtuReduced", pmtu + 1, 1000));
	ASSERT_EQ(0, ktp_info(self->p.fd, &info));
	EXPECT_EQ(MSS_1280, info.ktpi_snd_mss);
	reset_by_peer(_metadata, &self->p);
}

TEST_HARNESS_MAIN
