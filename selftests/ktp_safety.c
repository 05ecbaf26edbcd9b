// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel safety: what any local program may do to a KTP socket, and what
 * the kernel's security hooks must still see. Every IP and IPv6 option in
 * every state (one of them once called a NULL hook), socket filters,
 * cgroup BPF programs, IPsec policy, the checksum on a device without
 * generic offload, the IPv4-mapped child of an IPv6 listener that fails,
 * listeners under a SYN flood while their owner holds the lock, orphans
 * over their limits, and the ranges of sysctls and socket options.
 *
 * The segment-level halves (a peer's tiny MSS, rate-limited answers to
 * invalid segments, liveness from invalid segments) are the safety_*.pkt
 * scripts of inject/.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"

#ifndef IPV6_2292HOPOPTS
#define IPV6_2292HOPOPTS	3
#endif

/* Move @n bytes of the pattern from @a to @b and check them. */
static int carry(int a, int b, size_t n, uint64_t seed)
{
	static unsigned char out[65536], in[65536];
	size_t got = 0;
	ssize_t r;

	if (n > sizeof(out))
		return -1;
	pattern_fill(out, n, seed, 0);
	if (send(a, out, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	while (got < n) {
		r = recv(b, in + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += r;
	}
	return memcmp(in, out, n) ? -1 : 0;
}

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	return system(cmd);
}

/* Both ways, 64 KiB each. */
static int carries_data(int cli, int srv)
{
	if (set_timeo(cli, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS) ||
	    set_timeo(srv, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS))
		return -1;
	return carry(cli, srv, 65536, 1) || carry(srv, cli, 65536, 2) ? -1 : 0;
}

/*
 * Every option number of @level with no value, a short one, an int, a
 * page of zeros and, for those that take headers, a valid one; then each
 * read back. What each returns is the kernel's business; that it returns
 * is ours.
 */
static void poke_options(int fd, int level, int family)
{
	/* IP_OPTIONS: NOPs and an end: valid, and it changes the header */
	static const unsigned char ipopts[8] = { 1, 1, 1, 1, 1, 1, 1, 0 };
	/* an IPv6 extension header of 8 bytes: next 0, length 0, PadN 4 */
	static const unsigned char exthdr[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	unsigned char zero[256], cbuf[CMSG_SPACE(sizeof(exthdr))];
	struct cmsghdr *cm = (struct cmsghdr *)cbuf;
	unsigned char back[512];
	socklen_t len;
	int opt, one = 1;

	memset(zero, 0, sizeof(zero));
	for (opt = 0; opt < 100; opt++) {
		setsockopt(fd, level, opt, NULL, 0);
		setsockopt(fd, level, opt, zero, 1);
		setsockopt(fd, level, opt, &one, sizeof(one));
		setsockopt(fd, level, opt, zero, sizeof(zero));
		len = sizeof(back);
		getsockopt(fd, level, opt, back, &len);
		len = 1;
		getsockopt(fd, level, opt, back, &len);
	}
	setsockopt(fd, SOL_IP, IP_OPTIONS, ipopts, sizeof(ipopts));
	setsockopt(fd, SOL_IP, IP_OPTIONS, NULL, 0);
	if (family != AF_INET6)
		return;
	setsockopt(fd, SOL_IPV6, IPV6_HOPOPTS, exthdr, sizeof(exthdr));
	setsockopt(fd, SOL_IPV6, IPV6_DSTOPTS, exthdr, sizeof(exthdr));
	setsockopt(fd, SOL_IPV6, IPV6_RTHDRDSTOPTS, exthdr, sizeof(exthdr));
	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_len = CMSG_LEN(sizeof(exthdr));
	cm->cmsg_level = SOL_IPV6;
	cm->cmsg_type = IPV6_2292HOPOPTS;
	memcpy(CMSG_DATA(cm), exthdr, sizeof(exthdr));
	setsockopt(fd, SOL_IPV6, IPV6_2292PKTOPTIONS, cbuf, sizeof(cbuf));
	setsockopt(fd, SOL_IPV6, IPV6_2292PKTOPTIONS, NULL, 0);
	setsockopt(fd, SOL_IPV6, IPV6_HOPOPTS, NULL, 0);
	setsockopt(fd, SOL_IPV6, IPV6_DSTOPTS, NULL, 0);
	setsockopt(fd, SOL_IPV6, IPV6_RTHDRDSTOPTS, NULL, 0);
}

static void poke_all_levels(int fd, int family)
{
	poke_options(fd, SOL_IP, family);
	if (family == AF_INET6)
		poke_options(fd, SOL_IPV6, family);
}

FIXTURE(fam) {
	int lfd, cli, srv;
	unsigned short port;
};

FIXTURE_VARIANT(fam) {
	int family;
};

FIXTURE_VARIANT_ADD(fam, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(fam, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(fam)
{
	ktp_sysctls_restore();
	signal(SIGPIPE, SIG_IGN);
	ktp_test_family = variant->family;
	self->cli = self->srv = -1;
	self->port = 0;
	ASSERT_EQ(0, sysctl_set("ktp/tw_timeout", "1"));
	self->lfd = ktp_listener(16, &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fam)
{
	close_conn(&self->lfd, &self->cli, &self->srv);
	ktp_sysctls_restore();
}

/*
 * IP_OPTIONS on a connected socket once called icsk_sync_mss, which KTP
 * left NULL: any user could oops the kernel. Every option of IP and IPv6,
 * on a fresh socket, a listener and both ends of a connection; the
 * connection then still carries data both ways.
 */
TEST_F(fam, every_ip_option_in_every_state)
{
	int fd, fam = variant->family;

	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	poke_all_levels(fd, fam);
	close(fd);

	poke_all_levels(self->lfd, fam);
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	poke_all_levels(self->cli, fam);
	poke_all_levels(self->srv, fam);
	EXPECT_EQ(KTP_ESTABLISHED, ktp_state(self->cli));
	EXPECT_EQ(0, carries_data(self->cli, self->srv));
}

/*
 * IP_OPTIONS change the header: the MSS follows (icsk_sync_mss), on a
 * path whose MTU, not the peer's MSS, sets it (lo at 1500 bytes).
 */
TEST(ip_options_shrink_the_mss)
{
	static const unsigned char ipopts[40] = { [0 ... 38] = 1, [39] = 0 };
	struct ktp_info before, after;
	socklen_t len = sizeof(before);
	unsigned short port = 0;
	const char *why = "";
	int lfd, cli, srv;

	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, run("/usr/sbin/ip link set lo mtu 1500"));
	ktp_test_family = AF_INET;
	lfd = ktp_listener(4, &port);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, ktp_pair(lfd, port, &cli, &srv));
	ASSERT_EQ(0, getsockopt(cli, SOL_KTP, KTP_INFO, &before, &len));
	ASSERT_EQ(0, setsockopt(cli, SOL_IP, IP_OPTIONS, ipopts,
				sizeof(ipopts)));
	len = sizeof(after);
	ASSERT_EQ(0, getsockopt(cli, SOL_KTP, KTP_INFO, &after, &len));
	EXPECT_EQ(before.ktpi_snd_mss - 40, after.ktpi_snd_mss);
	EXPECT_EQ(0, carries_data(cli, srv));
	ASSERT_EQ(0, setsockopt(cli, SOL_IP, IP_OPTIONS, NULL, 0));
	len = sizeof(after);
	ASSERT_EQ(0, getsockopt(cli, SOL_KTP, KTP_INFO, &after, &len));
	EXPECT_EQ(before.ktpi_snd_mss, after.ktpi_snd_mss);
	EXPECT_EQ(0, carries_data(cli, srv));
	close(cli);
	close(srv);
	close(lfd);
}

/* SIOCINQ and SIOCOUTQ, as a TCP socket answers them. */
TEST_F(fam, siocinq_siocoutq)
{
	char buf[1000];
	int n = -1;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(-1, ioctl(self->lfd, SIOCINQ, &n));
	EXPECT_EQ(EINVAL, errno);
	memset(buf, 'k', sizeof(buf));
	ASSERT_EQ(1000, send(self->cli, buf, sizeof(buf), 0));
	ASSERT_EQ(0, wait_acked(self->cli, KTP_IO_TIMEOUT_MS));
	ASSERT_EQ(0, ioctl(self->cli, SIOCOUTQ, &n));
	EXPECT_EQ(0, n);
	ASSERT_TRUE(poll_events(self->srv, POLLIN, KTP_IO_TIMEOUT_MS) & POLLIN);
	ASSERT_EQ(0, ioctl(self->srv, SIOCINQ, &n));
	EXPECT_EQ(1000, n);
	ASSERT_EQ(0, shutdown(self->cli, SHUT_WR));
	ASSERT_EQ(KTP_CLOSE_WAIT,
		  wait_state(self->srv, KTP_CLOSE_WAIT, KTP_IO_TIMEOUT_MS));
	ASSERT_EQ(0, ioctl(self->srv, SIOCINQ, &n));
	EXPECT_EQ(1000, n);	/* the FIN is no byte */
}

/*
 * A socket filter that drops everything stops the data (counted as
 * FilterDrop); detached, the sender's retransmission delivers it intact.
 */
TEST_F(fam, socket_filter_drops_everything)
{
	struct sock_filter drop[] = { { BPF_RET | BPF_K, 0, 0, 0 } };
	struct sock_fprog prog = { .len = 1, .filter = drop };
	char out[1000], in[1000];
	long before;
	int dummy = 0;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, setsockopt(self->srv, SOL_SOCKET, SO_ATTACH_FILTER,
				&prog, sizeof(prog)));
	before = snmp_get("FilterDrop");
	ASSERT_LE(0, before);
	memset(out, 'f', sizeof(out));
	ASSERT_EQ(1000, send(self->cli, out, sizeof(out), 0));
	EXPECT_LT(before, wait_snmp("FilterDrop", before + 1, 5000));
	EXPECT_EQ(0, poll_events(self->srv, POLLIN, 500));
	ASSERT_EQ(0, setsockopt(self->srv, SOL_SOCKET, SO_DETACH_FILTER,
				&dummy, sizeof(dummy)));
	ASSERT_EQ(0, set_timeo(self->srv, SO_RCVTIMEO, 15000));
	ASSERT_EQ(1000, recv(self->srv, in, sizeof(in), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
}

/* A filter on the listener sees the SYNs: none gets through. */
TEST_F(fam, socket_filter_on_listener_drops_syns)
{
	struct sock_filter drop[] = { { BPF_RET | BPF_K, 0, 0, 0 } };
	struct sock_fprog prog = { .len = 1, .filter = drop };
	long before = snmp_get("FilterDrop");

	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_ATTACH_FILTER,
				&prog, sizeof(prog)));
	self->cli = ktp_sock(SOCK_NONBLOCK);
	ASSERT_LE(0, self->cli);
	ASSERT_EQ(-1, connect_port(self->cli, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_LT(before, wait_snmp("FilterDrop", before + 1, 5000));
	EXPECT_EQ(KTP_SYN_SENT, ktp_state(self->cli));
}

/* cgroup BPF, raw: a program that returns 0 (refuse). */
static int bpf_prog_ret0(__u32 type, __u32 attach_type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.expected_attach_type = attach_type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = ARRAY_LEN(insns);
	attr.license = (uintptr_t)"GPL";
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

static int bpf_cg_attach(int cmd, int cg, int prog, __u32 attach_type)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = cg;
	attr.attach_bpf_fd = prog;
	attr.attach_type = attach_type;
	return syscall(__NR_bpf, cmd, &attr, sizeof(attr));
}

#define CG_ROOT	"/tmp/ktp-safety-cg"
#define CG_SUB	CG_ROOT "/ktp"

/* This process in a cgroup of its own; its directory's fd, or -1. */
static int cgroup_enter(void)
{
	char pid[32];

	mkdir(CG_ROOT, 0755);
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
		return -1;
	if (mkdir(CG_SUB, 0755) && errno != EEXIST)
		return -1;
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (write_file(CG_SUB "/cgroup.procs", pid))
		return -1;
	return open(CG_SUB, O_RDONLY | O_DIRECTORY);
}

static void cgroup_leave(int cg)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	write_file(CG_ROOT "/cgroup.procs", pid);
	close(cg);
	rmdir(CG_SUB);
	umount(CG_ROOT);
	rmdir(CG_ROOT);
}

/*
 * cgroup connect and socket programs run for KTP as for TCP: a refusing
 * one makes connect() (IPv4 and IPv6 programs) and socket() fail with
 * EPERM. Without a pre_connect hook the connect programs never ran.
 */
TEST_F(fam, cgroup_bpf_connect_and_create)
{
	__u32 conn = variant->family == AF_INET ? BPF_CGROUP_INET4_CONNECT :
						  BPF_CGROUP_INET6_CONNECT;
	int cg, pconn, pcreate, fd, err;

	cg = cgroup_enter();
	ASSERT_LE(0, cg) TH_LOG("cgroup2: %s", strerror(errno));
	pconn = bpf_prog_ret0(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, conn);
	ASSERT_LE(0, pconn) TH_LOG("BPF_PROG_LOAD: %s", strerror(errno));
	pcreate = bpf_prog_ret0(BPF_PROG_TYPE_CGROUP_SOCK,
				BPF_CGROUP_INET_SOCK_CREATE);
	ASSERT_LE(0, pcreate) TH_LOG("BPF_PROG_LOAD: %s", strerror(errno));

	ASSERT_EQ(0, bpf_cg_attach(BPF_PROG_ATTACH, cg, pconn, conn));
	fd = ktp_sock(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect_port(fd, self->port));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(KTP_CLOSE, ktp_state(fd));
	close(fd);
	ASSERT_EQ(0, bpf_cg_attach(BPF_PROG_DETACH, cg, pconn, conn));

	ASSERT_EQ(0, bpf_cg_attach(BPF_PROG_ATTACH, cg, pcreate,
				   BPF_CGROUP_INET_SOCK_CREATE));
	fd = ktp_sock(0);
	err = errno;
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EPERM, err);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, bpf_cg_attach(BPF_PROG_DETACH, cg, pcreate,
				   BPF_CGROUP_INET_SOCK_CREATE));

	/* nothing attached: both work again */
	fd = ktp_dial(self->port);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		abort_close(&fd, -1);
	close(pconn);
	close(pcreate);
	cgroup_leave(cg);
}

/* Two namespaces on a veth pair, A (10.99.0.1) and B (10.99.0.2). */
#define NS_A	"ktpsafeA"
#define NS_B	"ktpsafeB"
#define ADDR_A	"10.99.0.1"
#define ADDR_B	"10.99.0.2"
#define MAC_A	"02:6b:74:70:00:01"
#define MAC_B	"02:6b:74:70:00:02"

static int ns_enter(const char *name)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	err = setns(fd, CLONE_NEWNET);
	close(fd);
	return err;
}

static void veth_down(void)
{
	run("/usr/sbin/ip netns del " NS_A);
	run("/usr/sbin/ip netns del " NS_B);
}

static int veth_up(void)
{
	veth_down();
	/* Fixed addresses, and neighbours that need no ARP: a netem delay
	 * on va holds ARP requests too, and three unanswered probes (3 s)
	 * drop what waited for the answer, SYNs included.
	 */
	return run("/usr/sbin/ip netns add " NS_A) ||
	       run("/usr/sbin/ip netns add " NS_B) ||
	       run("/usr/sbin/ip link add va address " MAC_A " netns " NS_A
		   " type veth peer name vb address " MAC_B " netns " NS_B) ||
	       run("/usr/sbin/ip -n " NS_A " addr add " ADDR_A "/24 dev va") ||
	       run("/usr/sbin/ip -n " NS_B " addr add " ADDR_B "/24 dev vb") ||
	       run("/usr/sbin/ip -n " NS_A " link set va up") ||
	       run("/usr/sbin/ip -n " NS_B " link set vb up") ||
	       run("/usr/sbin/ip -n " NS_A " neigh replace " ADDR_B " lladdr "
		   MAC_B " dev va nud permanent") ||
	       run("/usr/sbin/ip -n " NS_B " neigh replace " ADDR_A " lladdr "
		   MAC_A " dev vb nud permanent") ||
	       run("/usr/sbin/ip -n " NS_A " link set lo up") ||
	       run("/usr/sbin/ip -n " NS_B " link set lo up") ? -1 : 0;
}

/* Transmit checksum offload of @dev in the current namespace on or off. */
static int set_tx_csum(const char *dev, int on)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = on };
	struct ifreq ifr;
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, dev, sizeof(ifr.ifr_name) - 1);
	ifr.ifr_data = (void *)&ev;
	err = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	return err;
}

static int addr_of(struct sockaddr_in *sin, const char *ip, unsigned short p)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(p);
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

/*
 * IPsec: KTP registers with no_policy, so the inbound policy check is its
 * own. A policy of B that blocks protocol 253 coming in stops A's
 * handshake; flushed, the handshake completes. (Loopback is exempt from
 * policy, so over a veth pair.)
 */
TEST(ipsec_policy_blocks_inbound)
{
	struct sockaddr_in sin;
	int lfd, fd;

	ASSERT_EQ(0, veth_up());
	ASSERT_EQ(0, ns_enter(NS_B));
	lfd = ktp_sock_family(AF_INET, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, addr_of(&sin, ADDR_B, 7102));
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, run("/usr/sbin/ip xfrm policy add src " ADDR_A "/32 "
			 "dst " ADDR_B "/32 proto %d dir in action block",
			 IPPROTO_KTP));

	ASSERT_EQ(0, ns_enter(NS_A));
	fd = ktp_sock_family(AF_INET, SOCK_NONBLOCK);
	ASSERT_LE(0, fd);
	connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	EXPECT_EQ(0, poll_events(fd, POLLOUT, 2500) & POLLOUT);
	EXPECT_EQ(KTP_SYN_SENT, ktp_state(fd));

	ASSERT_EQ(0, ns_enter(NS_B));
	ASSERT_EQ(0, run("/usr/sbin/ip xfrm policy flush"));
	ASSERT_EQ(0, ns_enter(NS_A));
	/* the next SYN, at most 2 s away, gets through */
	EXPECT_EQ(KTP_ESTABLISHED, wait_state(fd, KTP_ESTABLISHED, 10000));
	abort_close(&fd, -1);
	close(lfd);
	veth_down();
}

/*
 * A device that checksums only TCP and UDP must not get KTP's checksum to
 * do: KTP offloads only to NETIF_F_HW_CSUM. With transmit checksumming
 * off on both veth ends, 4 MiB cross intact and no segment is counted
 * with a bad checksum.
 */
TEST(checksum_without_device_offload)
{
	struct sockaddr_in sin;
	int lfd, cli, srv, i;
	long bad_before;

	ASSERT_EQ(0, veth_up());
	ASSERT_EQ(0, ns_enter(NS_B));
	ASSERT_EQ(0, set_tx_csum("vb", 0));
	bad_before = snmp_get("InCsumErrors");
	ASSERT_LE(0, bad_before);
	lfd = ktp_sock_family(AF_INET, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, addr_of(&sin, ADDR_B, 7100));
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, ns_enter(NS_A));
	ASSERT_EQ(0, set_tx_csum("va", 0));
	cli = ktp_sock_family(AF_INET, 0);
	ASSERT_LE(0, cli);
	ASSERT_EQ(0, connect(cli, (struct sockaddr *)&sin, sizeof(sin)));
	srv = accept(lfd, NULL, NULL);
	ASSERT_LE(0, srv);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, carries_data(cli, srv));
	EXPECT_EQ(0, snmp_get("InCsumErrors"));
	ASSERT_EQ(0, ns_enter(NS_B));
	EXPECT_EQ(bad_before, snmp_get("InCsumErrors"));
	abort_close(&cli, -1);
	abort_close(&srv, -1);
	close(lfd);
	veth_down();
}

/*
 * "ip route add unreachable DST/32" in the current namespace, through
 * rtnetlink at once: a shell and ip take too long on a loaded VM for the
 * race below.
 */
static int route_unreachable(const char *dst)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct rtattr *rta;
	int fd, err = -1;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_NEWROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL |
			     NLM_F_ACK;
	req.rt.rtm_family = AF_INET;
	req.rt.rtm_dst_len = 32;
	req.rt.rtm_table = RT_TABLE_MAIN;
	req.rt.rtm_protocol = RTPROT_STATIC;
	req.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	req.rt.rtm_type = RTN_UNREACHABLE;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(4);
	if (inet_pton(AF_INET, dst, RTA_DATA(rta)) != 1)
		return -1;
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) +
			   RTA_ALIGN(rta->rta_len);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	if (send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len &&
	    recv(fd, &ack, sizeof(ack), 0) >= (ssize_t)sizeof(ack) &&
	    ack.nh.nlmsg_type == NLMSG_ERROR)
		err = ack.err.error;
	close(fd);
	return err;
}

/*
 * The IPv4-mapped child of an IPv6 listener that cannot be made (no route
 * back to the client when its third ACK comes) is destroyed with an
 * ipv6_pinfo of its own: the listener keeps its IPv6 options. Before,
 * the child still pointed at the listener's, and its destructor freed
 * them. The client's segments are held back 3 s by netem: the route goes
 * while the third ACK is on its way (a starved VM has 3 s to remove it),
 * and the request, whose SYN-ACK resends fail without the route but
 * count as tries (as in TCP), lives 15 s with synack_retries 3.
 */
TEST(mapped_child_failure_spares_listener)
{
	static const unsigned char exthdr[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	unsigned char back[64];
	struct sockaddr_in sin;
	long drops;
	socklen_t len;
	int lfd, cli;

	ASSERT_EQ(0, veth_up());
	ASSERT_EQ(0, run("/usr/sbin/tc -n " NS_A " qdisc add dev va root "
			 "netem delay 3s"));
	ASSERT_EQ(0, ns_enter(NS_B));
	ASSERT_EQ(0, sysctl_set("ktp/synack_retries", "3"));
	lfd = ktp_sock_family(AF_INET6, 0);
	ASSERT_LE(0, lfd);
	s6.sin6_port = htons(7101);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&s6, sizeof(s6)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, setsockopt(lfd, SOL_IPV6, IPV6_HOPOPTS, exthdr,
				sizeof(exthdr)));
	drops = snmp_get("ListenDrops");

	ASSERT_EQ(0, ns_enter(NS_A));
	cli = ktp_sock_family(AF_INET, SOCK_NONBLOCK);
	ASSERT_LE(0, cli);
	ASSERT_EQ(0, addr_of(&sin, ADDR_B, 7101));
	connect(cli, (struct sockaddr *)&sin, sizeof(sin));
	/* the SYN-ACK is back: the third ACK is on its way */
	ASSERT_EQ(KTP_ESTABLISHED, wait_state(cli, KTP_ESTABLISHED, 10000));
	ASSERT_EQ(0, ns_enter(NS_B));
	ASSERT_EQ(0, route_unreachable(ADDR_A));
	EXPECT_LT(drops, wait_snmp("ListenDrops", drops + 1, 10000));

	len = sizeof(back);
	ASSERT_EQ(0, getsockopt(lfd, SOL_IPV6, IPV6_HOPOPTS, back, &len));
	EXPECT_EQ(sizeof(exthdr), len);
	EXPECT_EQ(0, memcmp(back, exthdr, sizeof(exthdr)));
	close(lfd);
	abort_close(&cli, -1);
	veth_down();
}

struct flood {
	unsigned short port;
	volatile int stop;
	int made;
};

/* Connect and abort, as fast as it goes: a stream of SYNs. */
static void *syn_flood(void *arg)
{
	struct flood *f = arg;
	int fd;

	while (!f->stop) {
		fd = ktp_sock(SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		connect_port(fd, f->port);
		f->made++;
		set_linger0(fd);
		close(fd);
	}
	return NULL;
}

/*
 * SYNs keep coming while the listener's owner holds its lock in accept()
 * and setsockopt(). KTP takes a listener's segments without the socket
 * lock, as TCP does: before, they went to the backlog and release_sock()
 * ran them with BH on, holding table locks softirq takes (lockdep on the
 * debug kernel). The listener then still accepts a connection that
 * carries data.
 */
TEST_F(fam, syn_flood_while_listener_owned)
{
	struct flood f = { .port = self->port };
	long long end = now_ms() + 3000;
	pthread_t th[2];
	int fd, val, i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, syn_flood, &f));
	fcntl(self->lfd, F_SETFL, O_NONBLOCK);
	while (now_ms() < end) {
		val = 65536 + (int)(now_ms() & 4095);
		setsockopt(self->lfd, SOL_SOCKET, SO_RCVBUF, &val,
			   sizeof(val));
		fd = accept(self->lfd, NULL, NULL);
		if (fd >= 0)
			abort_close(&fd, -1);
	}
	f.stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	EXPECT_LT(10, f.made);
	while ((fd = accept(self->lfd, NULL, NULL)) >= 0)
		abort_close(&fd, -1);
	fcntl(self->lfd, F_SETFL, 0);
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	EXPECT_EQ(0, carries_data(self->cli, self->srv));
}

/*
 * net.ktp.max_orphans 0: a closed connection cannot stay an orphan; it
 * is reset at close(), counted as AbortOnMemory, as TCP does over
 * tcp_max_orphans.
 */
TEST_F(fam, orphans_over_the_limit_are_reset)
{
	char old[32] = "", buf[100];
	long before;

	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/max_orphans", old,
			       sizeof(old)));
	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	before = snmp_get("AbortOnMemory");
	ASSERT_EQ(0, sysctl_set("ktp/max_orphans", "0"));
	close(self->cli);
	self->cli = -1;
	ASSERT_EQ(0, sysctl_set("ktp/max_orphans", old));
	EXPECT_EQ(before + 1, wait_snmp("AbortOnMemory", before + 1, 5000));
	/* the FIN went first, then the RST: end of file, then closed */
	ASSERT_EQ(0, set_timeo(self->srv, SO_RCVTIMEO, KTP_IO_TIMEOUT_MS));
	EXPECT_EQ(0, recv(self->srv, buf, sizeof(buf), 0));
	EXPECT_EQ(KTP_CLOSE, wait_state(self->srv, KTP_CLOSE, 5000));
}

/*
 * Sockstress: the peer answers every window probe with a zero window, for
 * ever. A live socket waits (RFC 1122 4.2.2.17), but an orphan gives up
 * after net.ktp.orphan_retries rounds of back-off and resets the peer:
 * no one can pin a closed socket's memory.
 */
TEST(zero_window_orphan_is_bounded)
{
	unsigned short port = 0;
	char buf[65536];
	long before, t0;
	const char *why = "";
	int lfd, cli, srv, small = 4096;

	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, sysctl_set("ktp/orphan_retries", "2"));
	ktp_test_family = AF_INET;
	lfd = ktp_listener(4, &port);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, ktp_pair(lfd, port, &cli, &srv));
	memset(buf, 'z', sizeof(buf));
	/* more than the window: the rest waits behind a closed one */
	fcntl(cli, F_SETFL, O_NONBLOCK);
	ASSERT_LT(0, send(cli, buf, sizeof(buf), 0));
	t0 = now_ms();
	while (now_ms() - t0 < 5000) {
		struct ktp_info info;
		socklen_t len = sizeof(info);

		ASSERT_EQ(0, getsockopt(cli, SOL_KTP, KTP_INFO, &info, &len));
		if (!info.ktpi_snd_wnd && info.ktpi_notsent_bytes)
			break;
		sleep_ms(20);
	}
	before = snmp_get("AbortOnTimeout");
	close(cli);
	EXPECT_EQ(KTP_CLOSE, wait_state(srv, KTP_CLOSE, 20000));
	EXPECT_LT(before, snmp_get("AbortOnTimeout"));
	close(srv);
	close(lfd);
}

/* /proc/net/ktp read in @chunk-byte reads: its lines, or -1. */
static int proc_lines(int chunk, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, lines = 0;
	size_t i;

	fd = open("/proc/net/ktp", O_RDONLY);
	if (fd < 0)
		return -1;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len < (size_t)chunk ?
			 size - 1 - len : (size_t)chunk);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	return lines;
}

/* Keep of each line only its local and remote address columns. */
static void addr_columns(char *buf)
{
	char *out = buf, *line, *save = NULL, a[64], b[64];

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%*s %63s %63s", a, b) != 2)
			continue;
		out += sprintf(out, "%s %s\n", a, b);
	}
	*out = '\0';
}

/*
 * /proc/net/ktp resumes where the last read stopped (as /proc/net/tcp
 * does) instead of walking again from the start for each page: read in
 * pieces of 100 bytes, it still lists every socket once, the same as one
 * big read.
 */
TEST_F(ns, proc_read_in_pieces_lists_each_once)
{
	static char whole[1 << 20], pieces[1 << 20];
	int cli[150], srv[150], i, n;

	for (i = 0; i < 150; i++)
		ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &cli[i], &srv[i]));
	n = proc_lines(1 << 20, whole, sizeof(whole));
	EXPECT_EQ(1 + 1 + 300, n);	/* header, listener, 300 ends */
	EXPECT_EQ(n, proc_lines(100, pieces, sizeof(pieces)));
	/* the same sockets in the same order (timers may have moved) */
	addr_columns(whole);
	addr_columns(pieces);
	EXPECT_EQ(0, strcmp(whole, pieces));
	for (i = 0; i < 150; i++) {
		abort_close(&cli[i], -1);
		abort_close(&srv[i], -1);
	}
}

static int sysctl_write_err(const char *name, const char *val)
{
	return sysctl_set(name, val) ? errno : 0;
}

/* The ranges of net.ktp's sysctls, as docs/interfaces.md states them. */
TEST(sysctl_ranges)
{
	char old[64], now[64];

	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/rmem", old, sizeof(old)));
	/* an ordered triple, each at least the kernel's least buffer */
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/rmem", "300000 200000 100000"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/rmem", "100 200 300"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/wmem", "8192 4096 16384"));
	ASSERT_EQ(0, read_file("/proc/sys/net/ktp/rmem", now, sizeof(now)));
	EXPECT_STREQ(old, now);
	EXPECT_EQ(0, sysctl_write_err("ktp/rmem", "8192 65536 1048576"));
	EXPECT_EQ(0, sysctl_write_err("ktp/rmem", old));
	/* 0 SYN-ACK retries cannot mean "the default" behind our back */
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/synack_retries", "0"));
	EXPECT_EQ(0, sysctl_write_err("ktp/synack_retries", "1"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/min_snd_mss", "47"));
	EXPECT_EQ(0, sysctl_write_err("ktp/min_snd_mss", "48"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/max_orphans", "-1"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/orphan_retries", "-1"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/challenge_ack_limit", "-1"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/syncookies", "3"));
	EXPECT_EQ(EINVAL, sysctl_write_err("ktp/syncookies", "-1"));
	ktp_sysctls_restore();
	EXPECT_EQ(0, sysctl_write_err("ktp/synack_retries", "5"));
}

/* KTP_KEEP* are capped as TCP_KEEP* are, KTP_MAXSEG is bounded. */
TEST(sockopt_ranges)
{
	int fd = ktp_sock(0), v;
	socklen_t len = sizeof(v);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, set_int_opt(fd, SOL_KTP, KTP_KEEPIDLE, 32767));
	EXPECT_EQ(-1, set_int_opt(fd, SOL_KTP, KTP_KEEPIDLE, 32768));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int_opt(fd, SOL_KTP, KTP_KEEPIDLE, INT_MAX));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, getsockopt(fd, SOL_KTP, KTP_KEEPIDLE, &v, &len));
	EXPECT_EQ(32767, v);
	EXPECT_EQ(0, set_int_opt(fd, SOL_KTP, KTP_KEEPINTVL, 32767));
	EXPECT_EQ(-1, set_int_opt(fd, SOL_KTP, KTP_KEEPINTVL, 32768));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_int_opt(fd, SOL_KTP, KTP_KEEPCNT, 127));
	EXPECT_EQ(-1, set_int_opt(fd, SOL_KTP, KTP_KEEPCNT, 128));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int_opt(fd, SOL_KTP, KTP_MAXSEG, 63));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int_opt(fd, SOL_KTP, KTP_MAXSEG, 65536));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/*
 * The largest receive buffer there is (SO_RCVBUFFORCE INT_MAX): the
 * memory bound of received data, twice the buffer, must not overflow
 * into a negative limit that refuses every segment.
 */
TEST_F(fam, huge_rcvbuf_no_overflow)
{
	int big = INT_MAX;

	ASSERT_EQ(0, ktp_pair(self->lfd, self->port, &self->cli, &self->srv));
	ASSERT_EQ(0, setsockopt(self->srv, SOL_SOCKET, SO_RCVBUFFORCE, &big,
				sizeof(big)));
	EXPECT_EQ(0, carries_data(self->cli, self->srv));
}

TEST_HARNESS_MAIN
