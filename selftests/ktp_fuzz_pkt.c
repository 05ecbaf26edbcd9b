// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_fuzz_pkt: a packet fuzzer. It plays KTP peers behind a tun device,
 * over IPv4 (the kernel 192.0.2.1, the peers 192.0.2.2) and IPv6 (fd00::1,
 * fd00::2), and throws random and mutated segments at every kind of place
 * a segment can land:
 *
 * - listeners: SYNs with every option kind and length, ACKs (SYN cookie
 *   checks), RSTs, junk flags, to open and closed ports;
 * - request entries: a SYN the kernel answered with a SYN-ACK, then
 *   garbage;
 * - connections in every state the peer can drive: it makes the
 *   handshakes (passive, active, simultaneous) and the closes (CLOSE_WAIT,
 *   LAST_ACK, FIN_WAIT1, FIN_WAIT2, CLOSING, TIME_WAIT) itself, learning
 *   the kernel's numbers from the segments it reads on the tun device,
 *   and moves data both ways in between.
 *
 * The tun device has NAPI (IFF_NAPI) and a GRO flush time-out, so that
 * every segment also goes through KTP's GRO, and in-order ones merge.
 *
 * A mutated segment has a wild sequence or acknowledgment number (in,
 * at the edges of, or far from the window), any flags (bits outside the
 * mask too), a zero, tiny or huge window, options of every kind and
 * length (MSS, window scale, SACK-permitted, SACK blocks with wild edges,
 * timestamps, unknown kinds, options cut short or of length 0, 1, 255), a
 * lying data offset (0..4, or beyond the packet), a non-zero reserved
 * field, 0..2000 bytes of payload, a good or bad checksum; and the IP
 * datagram may be cut short (the IP length ends inside the segment), be
 * truncated (fewer bytes than the IP length), carry IP options or IPv6
 * extension headers, or come in fragments.
 *
 * Meanwhile it keeps the kernel's sockets busy (non-blocking connect,
 * accept, send, recv, shutdown, close, listeners closed and made again),
 * and a second thread takes their locks again and again, so that segments
 * also meet sockets owned by a process (the backlog). Flows that die are
 * replaced; scenarios and families take turns, so every state is reached
 * early in a run.
 *
 * What it checks, beyond the kernel's health (a splat fails the VM run):
 * every segment the kernel sends is well formed (checksum, data offset,
 * flags, reserved field, options); every payload byte the kernel sends,
 * and every byte recv() returns, is the one its sender wrote at that
 * sequence number (each side writes byte_at(seq), a function of the
 * sequence number alone, so retransmissions, SACK recovery and
 * reassembly out of order are all checked); KTP_INFO answers on every
 * socket with a valid state; every state the peer can drive was reached,
 * in both families; and at the end a fresh connection over loopback, in
 * a fresh namespace, carries 1 MB intact. The module's references must be
 * back where they were when the program exits (ktp_selftest.h).
 *
 *   ktp_fuzz_pkt [-n SEGMENTS] [-s SEED] [-t SECONDS] [-v]
 *
 * -n: segments to inject (default 20000, make check's run); -s: the seed,
 * printed at the start as "# seed N" to replay a run (the kernel's ISNs
 * and timing differ from run to run, the fuzzer's choices do not); -t:
 * stop fuzzing after that long even short of -n, which is no failure
 * (default 240 s, and one more for every 100 segments past 20000, as
 * ktp_fuzz_sys; the loopback check and the clean-up take at most two
 * minutes more); -v: every segment, both ways. On a failure the last
 * segments both ways are printed.
 */
#include <ctype.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "ktp_selftest.h"
#include "ktp_seg.h"
#include "ktp_tun.h"

#define NFLOWS		16	/* conversations driven at once */
#define NLSN		3	/* listeners */
#define PAY_MAX		2000	/* payload of a mutated segment */
#define SEG_MAX		(60 + PAY_MAX)
#define PKT_MAX		65536	/* what the kernel may send */
#define RING		40	/* segments shown after a failure */
#define RING_BYTES	(SEG_MAX + 64)	/* of each: all of it */
#define DATA_SEED	0x6b74702066757a7aULL
#define SCAN_EVERY	64	/* steps between /proc/net/ktp scans */
#define PERIOD		2000	/* segments between sysctl changes */
#define STATES_MIN	2000	/* segments that must reach every state */
#define PROGRESS	100000	/* segments between progress lines */
#define LOOPBACK_BYTES	(1 << 20)

#define DEFAULT_SEGMENTS	20000
#define DEFAULT_SECS		240

/* What was asked on the command line. */
static long opt_segments = DEFAULT_SEGMENTS;
static unsigned long long opt_seed;
static double opt_secs;
static bool opt_verbose;

enum { V4, V6, NFAM };
static const char *const fam_name[NFAM] = { "IPv4", "IPv6" };
static const int fam_af[NFAM] = { AF_INET, AF_INET6 };

/* How the IP datagram around a segment is made. */
enum ipmode {
	IPM_PLAIN,
	IPM_SHORT,	/* the IP length ends inside the segment */
	IPM_TRUNC,	/* fewer bytes written than the IP length says */
	IPM_EXT,	/* IPv4 options, or an IPv6 extension header */
	IPM_FRAG,	/* two or three fragments */
};

static const char *const ipmode_name[] = { "", " (ip: short)",
	" (ip: truncated)", " (ip: options)", " (ip: fragments)" };

/* The steps of a scenario: what the peer (or the kernel's socket) does
 * to move the connection on.
 */
enum move {
	MV_DONE,
	MV_SYN,		/* peer SYN to a listener: a request entry */
	MV_CONNECT,	/* kernel connect(): SYN_SENT */
	MV_SYNACK,	/* peer SYN-ACK: ESTABLISHED */
	MV_SIMUL,	/* peer SYN to the kernel's SYN: SYN_RECV */
	MV_ACK,		/* peer ACK (or SYN-ACK) of the kernel's SYN-ACK */
	MV_PEER_FIN,	/* peer FIN acking everything */
	MV_PEER_FIN_ONLY, /* peer FIN not acking the kernel's FIN: CLOSING */
	MV_SHUT,	/* kernel shutdown(SHUT_WR), or close() */
	MV_ACK_ALL,	/* peer ACK of everything, FIN included */
};

static const struct scenario {
	const char *name;
	enum move mv[8];
} scen[] = {
	{ "request", { MV_SYN } },
	{ "syn_sent", { MV_CONNECT } },
	{ "passive_close_wait",
	  { MV_SYN, MV_ACK, MV_PEER_FIN, MV_SHUT, MV_ACK_ALL } },
	{ "passive_fin_wait",
	  { MV_SYN, MV_ACK, MV_SHUT, MV_ACK_ALL, MV_PEER_FIN } },
	{ "active_closing",
	  { MV_CONNECT, MV_SYNACK, MV_SHUT, MV_PEER_FIN_ONLY, MV_ACK_ALL } },
	{ "active_close_wait",
	  { MV_CONNECT, MV_SYNACK, MV_PEER_FIN, MV_SHUT, MV_ACK_ALL } },
	{ "simultaneous",
	  { MV_CONNECT, MV_SIMUL, MV_ACK, MV_SHUT, MV_ACK_ALL, MV_PEER_FIN } },
};

#define NSCEN	ARRAY_LEN(scen)

/* The states a peer can drive the kernel into: each must be reached. */
static const int wanted[] = {
	KTP_LISTEN, KTP_SYN_SENT, KTP_SYN_RECV, KTP_ESTABLISHED,
	KTP_FIN_WAIT1, KTP_FIN_WAIT2, KTP_CLOSE_WAIT, KTP_CLOSING,
	KTP_LAST_ACK, KTP_TIME_WAIT,
};

/* One conversation between a peer port and a kernel port. */
struct flow {
	bool used;
	int fam;
	int scen;
	int stage;		/* index of the next move */
	int dwell;		/* segments to throw before that move */
	int budget;		/* segments left before it is retired */
	int tries;		/* attempts at a move that got no answer */
	bool orphan;		/* MV_SHUT is close(): the rest is an orphan's */
	uint16_t pport;
	uint16_t kport;
	int fd;			/* the kernel's socket, or -1 */
	bool have_info;
	struct ktp_info info;	/* its KTP_INFO, as last read */
	int state;		/* last known, from KTP_INFO or /proc */
	uint32_t p_isn;
	uint32_t p_nxt;		/* the peer's next sequence number */
	uint32_t p_ack;		/* the highest ACK it sent in earnest */
	bool have_kisn;
	uint32_t k_isn;
	bool have_knxt;
	uint32_t k_nxt;		/* highest seq + len the kernel sent */
	bool have_kack;
	uint32_t k_ack;		/* the kernel's last ACK: its RCV.NXT */
	bool k_fin;
	uint32_t k_fin_seq;
	bool k_rst;
	unsigned int rx;	/* kernel segments seen */
};

struct lsn {
	int fd;
	int af;			/* AF_INET, or AF_INET6 */
	bool any;		/* [::]: IPv4 peers too, v4-mapped */
	uint16_t port;
};

/* A segment to inject. */
struct out {
	int fam;
	struct ktp_seg_spec sp;
	uint8_t opt[KTP_SEG_MAX_OPTLEN];
	enum ipmode ipmode;
};

/* One datagram of the last RING, shown after a failure. */
struct ring_ent {
	long step;
	bool from_kernel;
	enum ipmode ipmode;
	size_t len;
	uint8_t b[RING_BYTES];
};

static struct fz {
	int tun;
	int proto;
	uint8_t kaddr[NFAM][16];
	uint8_t paddr[NFAM][16];
	uint16_t ip_id;
	uint64_t rng;
	struct flow flow[NFLOWS];
	struct lsn lsn[NLSN];
	long steps;
	long segments;
	long spawned;
	long kernel_segs;
	long kernel_rsts;
	long tun_errors;
	long tun_writes;	/* datagrams the tun device took */
	long accepted;
	long strays;		/* accepted connections of no flow */
	long lsn_remade;
	long moves;
	bool reached[NFAM][__KTP_STATE_MAX];
	bool failed;
	struct ring_ent ring[RING];
	long nring;
} fz;

/* Descriptors the prodding thread locks again and again: the flows'
 * sockets, then the listeners.
 */
static int prod_fd[NFLOWS + NLSN];
static int prod_stop;
static unsigned long prod_passes;	/* the prodder's rounds, done */
static int prod_running;

/*
 * Where the main thread's time goes, printed at the end: exclusive wall
 * time per kind of work, so that a slow run says what made it slow.
 */
enum tcat {
	TC_OTHER,	/* the fuzzer's own choices and checks */
	TC_EMIT,	/* writing segments to the tun device */
	TC_READ,	/* reading the kernel's segments */
	TC_WAIT,	/* waiting for the kernel's answer to a move */
	TC_INFO,	/* KTP_INFO */
	TC_SCAN,	/* /proc/net/ktp and ktp6 */
	TC_ACCEPT,	/* accept() */
	TC_SOCK,	/* the sockets' own calls: connect, send, close, ... */
	TC_N
};

static const char *const tcat_name[TC_N] = { "other", "emit", "read",
	"wait", "info", "scan", "accept", "sock" };
static long long tcat_ns[TC_N];
static long long tcat_since;
static enum tcat tcat_cur;

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Charge the time since the last switch to the current kind, and start
 * on @c. Return: the kind to go back to (tc_leave()).
 */
static enum tcat tc_enter(enum tcat c)
{
	long long t = mono_ns();
	enum tcat prev = tcat_cur;

	tcat_ns[prev] += t - tcat_since;
	tcat_since = t;
	tcat_cur = c;
	return prev;
}

static void tc_leave(enum tcat prev)
{
	tc_enter(prev);
}

static uint64_t rnd64(void)
{
	fz.rng += 0x9e3779b97f4a7c15ULL;
	return splitmix64(fz.rng);
}

/* Uniform in [0, n). */
static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

static bool chance(int pct)
{
	return rnd(100) < (uint32_t)pct;
}

/*
 * What either side writes at sequence number @seq: byte_at(seq), the
 * pattern of ktp_selftest.h at offset seq. The offset is taken modulo
 * 2^32, so a run across the wrap is two runs.
 */
static void fill_seq(uint8_t *buf, size_t len, uint32_t seq)
{
	uint64_t to_wrap = (uint64_t)UINT32_MAX - seq + 1;

	if (to_wrap >= len) {
		pattern_fill(buf, len, DATA_SEED, seq);
		return;
	}
	pattern_fill(buf, to_wrap, DATA_SEED, seq);
	pattern_fill(buf + to_wrap, len - to_wrap, DATA_SEED, 0);
}

/* The first byte of @a and @b that differ, or @len. */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len && a[i] == b[i]; i++)
		;
	return i;
}

static void ring_add(bool from_kernel, enum ipmode mode, const uint8_t *pkt,
		     size_t len)
{
	struct ring_ent *e = &fz.ring[fz.nring++ % RING];
	char line[512];
	struct ktp_seg seg;

	e->step = fz.steps;
	e->from_kernel = from_kernel;
	e->ipmode = mode;
	e->len = len;
	memcpy(e->b, pkt, len < RING_BYTES ? len : RING_BYTES);
	if (!opt_verbose)
		return;
	if (ktp_seg_from_ip(&seg, pkt, len, fz.proto))
		snprintf(line, sizeof(line), "not a KTP segment, %zu bytes",
			 len);
	else
		ktp_seg_format(line, sizeof(line), &seg, NULL,
			       KTP_SEQ_ABSOLUTE, false);
	printf("# %7ld %s %s%s\n", fz.steps, from_kernel ? "kernel" : "inject",
	       line, ipmode_name[mode]);
}

static void ring_dump(void)
{
	long i = fz.nring > RING ? fz.nring - RING : 0;
	struct ring_ent *e;
	struct ktp_seg seg;
	char line[512];

	printf("# the last %ld datagrams (step, direction, segment):\n",
	       fz.nring - i);
	for (; i < fz.nring; i++) {
		e = &fz.ring[i % RING];
		if (ktp_seg_from_ip(&seg, e->b, e->len < RING_BYTES ?
				    e->len : RING_BYTES, fz.proto))
			snprintf(line, sizeof(line),
				 "not a KTP segment (%zu bytes)", e->len);
		else
			ktp_seg_format(line, sizeof(line), &seg, NULL,
				       KTP_SEQ_ABSOLUTE, false);
		printf("#   %7ld %s %s%s\n", e->step,
		       e->from_kernel ? "kernel" : "inject", line,
		       ipmode_name[e->ipmode]);
	}
}

/* The first failure stops the run: it is shown with the seed and the
 * segments that led to it.
 */
static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (fz.failed)
		return;
	fz.failed = true;
	printf("# FAIL at step %ld, segment %ld (seed %llu): ", fz.steps,
	       fz.segments, opt_seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	ring_dump();
	fflush(stdout);
}

static void reach(int fam, int state)
{
	if (state <= 0 || state >= __KTP_STATE_MAX) {
		fail("state %d reported: no such state", state);
		return;
	}
	fz.reached[fam][state] = true;
}

static void prod_set(int slot, int fd)
{
	__atomic_store_n(&prod_fd[slot], fd, __ATOMIC_RELEASE);
}

/*
 * The second thread: setsockopt() takes each socket's lock (lock_sock)
 * and releases it, so that the segments written meanwhile on the other
 * CPU find the socket owned and wait in its backlog; KTP_INFO and poll()
 * read it under the lock's fast path. None of it changes what the main
 * thread sees: SO_RCVLOWAT 1 is the default. A descriptor closed and
 * reused meanwhile is another KTP socket or a /proc file (ENOTSOCK).
 */
static void *prodder(void *arg)
{
	struct pollfd pfd = { .events = POLLIN | POLLOUT };
	struct ktp_info info;
	int one = 1, i, fd;
	long long t0;

	(void)arg;
	while (!__atomic_load_n(&prod_stop, __ATOMIC_ACQUIRE)) {
		t0 = mono_ns();
		for (i = 0; i < NFLOWS + NLSN; i++) {
			fd = __atomic_load_n(&prod_fd[i], __ATOMIC_ACQUIRE);
			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one,
				   sizeof(one));
			ktp_info(fd, &info);
			pfd.fd = fd;
			poll(&pfd, 1, 0);
		}
		__atomic_add_fetch(&prod_passes, 1, __ATOMIC_RELEASE);
		/* a fifth of a CPU at most: the VM's vCPUs share one host
		 * thread, and a busier prodder slows the injection it is
		 * there to meet (the debug kernel's calls are slow)
		 */
		usleep(1000 + (useconds_t)((mono_ns() - t0) * 4 / 1000));
	}
	return NULL;
}

/*
 * Wait until the prodder cannot be in a call on a descriptor prod_set()
 * took away: two of its rounds end. A socket closed while another
 * thread's call holds its file is released only when that call returns,
 * and a listener remade at once on the same port would find the old one
 * still bound (EADDRINUSE: the fuzzer's race, not the kernel's). A
 * second at most.
 */
static void prod_quiesce(void)
{
	unsigned long start = __atomic_load_n(&prod_passes, __ATOMIC_ACQUIRE);
	int i;

	for (i = 0; i < 1000 && __atomic_load_n(&prod_running, __ATOMIC_ACQUIRE); i++) {
		if (__atomic_load_n(&prod_passes, __ATOMIC_ACQUIRE) - start >= 2)
			return;
		usleep(1000);
	}
}

/* ---- the wire ---- */

static void ip4_csum(uint8_t *h)
{
	uint16_t c;

	h[10] = 0;
	h[11] = 0;
	c = (uint16_t)~ktp_csum_fold(ktp_csum_add(0, h, (h[0] & 0xf) * 4));
	h[10] = c >> 8;
	h[11] = c & 0xff;
}

static size_t ip6_hdr(uint8_t *h, size_t plen, uint8_t nexthdr)
{
	memset(h, 0, 8);
	h[0] = 0x60;
	h[4] = plen >> 8;
	h[5] = plen & 0xff;
	h[6] = nexthdr;
	h[7] = 64;
	memcpy(h + 8, fz.paddr[V6], 16);
	memcpy(h + 24, fz.kaddr[V6], 16);
	return 40;
}

/*
 * The IP header(s) for @seglen bytes of segment, in front of them at
 * @pkt (the segment is copied after): with @ext, IPv4 options (NOPs) or
 * an IPv6 hop-by-hop or destination options header (PadN). Returns the
 * datagram's length.
 */
static size_t ip_wrap(uint8_t *pkt, int fam, const uint8_t *seg,
		      size_t seglen, bool ext)
{
	size_t hl;

	if (fam == V4) {
		hl = ext ? 24 : 20;
		ktp_ip4_wrap(pkt, fz.paddr[V4], fz.kaddr[V4], fz.proto,
			     seglen + hl - 20, fz.ip_id++);
		if (ext) {
			pkt[0] = 0x46;
			memcpy(pkt + 20, "\x01\x01\x01\x00", 4);
			ip4_csum(pkt);
		}
	} else if (ext) {
		hl = ip6_hdr(pkt, seglen + 8, chance(50) ? 0 : 60) + 8;
		memcpy(pkt + 40, "\x00\x00\x01\x04\x00\x00\x00\x00", 8);
		pkt[40] = fz.proto;
	} else {
		hl = ip6_hdr(pkt, seglen, fz.proto);
	}
	memcpy(pkt + hl, seg, seglen);
	return hl + seglen;
}

static void wire_write(const uint8_t *pkt, size_t len)
{
	enum tcat prev = tc_enter(TC_EMIT);

	if (write(fz.tun, pkt, len) != (ssize_t)len)
		fz.tun_errors++;
	else
		fz.tun_writes++;
	tc_leave(prev);
}

/* The segment in two or three fragments, in order or backwards. */
static void send_frags(int fam, const uint8_t *seg, size_t seglen)
{
	static uint8_t pkt[SEG_MAX + 64];
	size_t cut[4] = { 0 }, a, b, t;
	uint32_t id = (uint32_t)rnd64();
	int n = 2 + (int)rnd(2), i, k;
	bool back = chance(30);

	if (seglen < 24) {
		wire_write(pkt, ip_wrap(pkt, fam, seg, seglen, false));
		return;
	}
	for (i = 1; i < n; i++)
		cut[i] = 8 * (1 + rnd((uint32_t)(seglen - 1) / 8));
	cut[n] = seglen;
	/* sorted, duplicates make empty fragments that are skipped */
	for (i = 1; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (cut[k] < cut[i]) {
				t = cut[i];
				cut[i] = cut[k];
				cut[k] = t;
			}
	for (k = 0; k < n; k++) {
		i = back ? n - 1 - k : k;
		a = cut[i];
		b = cut[i + 1];
		if (a >= b)
			continue;
		if (fam == V4) {
			ktp_ip4_wrap(pkt, fz.paddr[V4], fz.kaddr[V4],
				     fz.proto, b - a, (uint16_t)id);
			t = a / 8 | (b < seglen ? 0x2000 : 0);
			pkt[6] = t >> 8;
			pkt[7] = t & 0xff;
			ip4_csum(pkt);
			memcpy(pkt + 20, seg + a, b - a);
			wire_write(pkt, 20 + b - a);
		} else {
			ip6_hdr(pkt, 8 + b - a, 44);
			t = a | (b < seglen ? 1 : 0);
			pkt[40] = fz.proto;
			pkt[41] = 0;
			pkt[42] = t >> 8;
			pkt[43] = t & 0xff;
			memcpy(pkt + 44, &id, 4);
			memcpy(pkt + 48, seg + a, b - a);
			wire_write(pkt, 48 + b - a);
		}
	}
}

/* Inject @o: one segment, whatever its datagram looks like. */
static void emit(struct out *o)
{
	static uint8_t seg[SEG_MAX], pkt[SEG_MAX + 64], pay[PAY_MAX];
	struct ktp_seg_spec *sp = &o->sp;
	size_t len, cut;
	uint16_t c;
	long n;

	if (sp->paylen > PAY_MAX)
		sp->paylen = PAY_MAX;
	fill_seq(pay, sp->paylen, sp->seq + !!(sp->flags & KTP_FLAG_SYN));
	sp->payload = pay;
	sp->opt = o->opt;
	n = ktp_seg_build(seg, sizeof(seg), sp, fam_af[o->fam],
			  fz.paddr[o->fam], fz.kaddr[o->fam], fz.proto);
	if (n < 0) {
		fail("internal: a segment with %zu option bytes does not fit",
		     sp->optlen);
		return;
	}
	len = (size_t)n;
	fz.segments++;
	switch (o->ipmode) {
	case IPM_SHORT:
		/* the IP length ends inside it; the checksum is right for
		 * what is left, when there is room for one
		 */
		cut = rnd((uint32_t)len);
		if (cut >= 18 && sp->csum == KTP_BUILD_CSUM_OK) {
			memset(seg + 16, 0, 2);
			c = ktp_csum_compute(fam_af[o->fam], fz.paddr[o->fam],
					     fz.kaddr[o->fam], fz.proto, seg,
					     cut);
			seg[16] = c >> 8;
			seg[17] = c & 0xff;
		}
		len = ip_wrap(pkt, o->fam, seg, cut, false);
		ring_add(false, o->ipmode, pkt, len);
		wire_write(pkt, len);
		break;
	case IPM_TRUNC:
		len = ip_wrap(pkt, o->fam, seg, len, false);
		ring_add(false, o->ipmode, pkt, len);
		wire_write(pkt, 1 + rnd((uint32_t)len - 1));
		break;
	case IPM_FRAG:
		/* shown whole, sent in pieces */
		ring_add(false, o->ipmode, pkt,
			 ip_wrap(pkt, o->fam, seg, len, false));
		send_frags(o->fam, seg, len);
		break;
	default:
		len = ip_wrap(pkt, o->fam, seg, len, o->ipmode == IPM_EXT);
		ring_add(false, o->ipmode, pkt, len);
		wire_write(pkt, len);
	}
}

/* ---- what the kernel sends ---- */

static struct flow *flow_of(int fam, uint16_t pport, uint16_t kport)
{
	struct flow *f;
	int i;

	for (i = 0; i < NFLOWS; i++) {
		f = &fz.flow[i];
		if (f->used && f->fam == fam && f->pport == pport &&
		    f->kport == kport)
			return f;
	}
	return NULL;
}

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* What a kernel segment on a flow teaches the peer. */
static void learn(struct flow *f, const struct ktp_seg *seg)
{
	uint32_t syn = !!(seg->flags & KTP_FLAG_SYN);
	uint32_t end = seg->seq + syn + (uint32_t)seg->paylen +
		       !!(seg->flags & KTP_FLAG_FIN);

	f->rx++;
	if (seg->flags & KTP_FLAG_RST) {
		f->k_rst = true;
		return;
	}
	if (syn && !f->have_kisn) {
		f->have_kisn = true;
		f->k_isn = seg->seq;
	}
	if (!f->have_knxt || seq_after(end, f->k_nxt)) {
		f->have_knxt = true;
		f->k_nxt = end;
	}
	if (seg->flags & KTP_FLAG_ACK) {
		f->have_kack = true;
		f->k_ack = seg->ack;
	}
	if (seg->flags & KTP_FLAG_FIN) {
		f->k_fin = true;
		f->k_fin_seq = end - 1;
	}
}

/* Whatever the kernel sends must be well formed, and carry the bytes its
 * sender wrote at those sequence numbers.
 */
static void check_kernel_seg(const struct ktp_seg *seg)
{
	static uint8_t want[PKT_MAX];
	unsigned int bad = seg->bad & ~KTP_SEG_FRAG;
	int fam = seg->family == AF_INET6 ? V6 : V4;
	size_t n, at;

	fz.kernel_segs++;
	if (seg->flags & KTP_FLAG_RST)
		fz.kernel_rsts++;
	if (bad)
		fail("the kernel sent a malformed segment (flags 0x%x)", bad);
	else if (!(seg->bad & KTP_SEG_FRAG) && seg->csum != KTP_CSUM_OK)
		fail("the kernel sent a segment with a bad checksum");
	else if (memcmp(seg->saddr, fz.kaddr[fam], fam == V4 ? 4 : 16) ||
		 memcmp(seg->daddr, fz.paddr[fam], fam == V4 ? 4 : 16))
		fail("the kernel sent a segment between other addresses");
	if (fz.failed || !seg->paylen)
		return;
	n = seg->caplen - (size_t)(seg->payload - seg->hdr);
	if (n > seg->paylen)
		n = seg->paylen;
	fill_seq(want, n, seg->seq + !!(seg->flags & KTP_FLAG_SYN));
	at = first_diff(seg->payload, want, n);
	if (at < n)
		fail("the kernel sent byte 0x%02x at seq %u, its socket wrote "
		     "0x%02x there", seg->payload[at], seg->seq + (uint32_t)at,
		     want[at]);
}

/* Read everything the kernel sent so far; with @ms, wait that long for
 * a segment on @f first.
 */
static void drain(struct flow *f, int ms)
{
	static uint8_t buf[PKT_MAX];
	long long end = now_ms() + ms;
	unsigned int rx0 = f ? f->rx : 0;
	struct ktp_seg seg;
	struct flow *g;
	ssize_t n;

	enum tcat prev = tc_enter(TC_READ);
	bool more;

	for (;;) {
		n = read(fz.tun, buf, sizeof(buf));
		if (n <= 0) {
			if (!f || f->rx != rx0 || now_ms() >= end)
				break;
			tc_enter(TC_WAIT);
			more = poll_events(fz.tun, POLLIN,
					   (int)(end - now_ms()));
			tc_enter(TC_READ);
			if (!more)
				break;
			continue;
		}
		if (ktp_seg_from_ip(&seg, buf, (size_t)n, fz.proto))
			continue;	/* ICMPv6, MLD and such */
		ring_add(true, IPM_PLAIN, buf, (size_t)n);
		check_kernel_seg(&seg);
		g = flow_of(seg.family == AF_INET6 ? V6 : V4, seg.dport,
			    seg.sport);
		if (g)
			learn(g, &seg);
	}
	tc_leave(prev);
}

/* ---- states ---- */

static bool synchronized(int state)
{
	return state != KTP_SYN_SENT && state != KTP_LISTEN &&
	       state != KTP_CLOSE && state > 0;
}

/* KTP_INFO of the flow's socket: it must answer, with a real state. */
static void refresh(struct flow *f)
{
	enum tcat prev;
	int rc;

	if (f->fd < 0)
		return;
	prev = tc_enter(TC_INFO);
	rc = ktp_info(f->fd, &f->info);
	tc_leave(prev);
	if (rc) {
		fail("KTP_INFO on a KTP socket: %s", strerror(errno));
		f->have_info = false;
		return;
	}
	f->have_info = true;
	f->state = f->info.ktpi_state;
	reach(f->fam, f->state);
}

/*
 * Every line of /proc/net/ktp and ktp6: the states of everything the
 * namespace holds (listeners, connections, orphans, request and
 * TIME_WAIT entries), and what became of the flows without a socket.
 */
static void scan_file(const char *path, bool v6)
{
	char line[512], raddr[40];
	unsigned int lport, rport, st;
	struct flow *f;
	FILE *in;
	int fam;

	in = fopen(path, "re");
	if (!in) {
		fail("%s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), in)) {
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x",
			   &lport, raddr, &rport, &st) != 4)
			continue;
		fam = v6 && strncmp(raddr, "0000000000000000FFFF0000", 24) ?
		      V6 : V4;
		reach(fam, (int)st);
		f = flow_of(fam, (uint16_t)rport, (uint16_t)lport);
		if (f && f->fd < 0)
			f->state = (int)st;
	}
	fclose(in);
}

static void scan_proc(void)
{
	enum tcat prev = tc_enter(TC_SCAN);

	scan_file("/proc/net/ktp", false);
	scan_file("/proc/net/ktp6", true);
	tc_leave(prev);
}

/* ---- listeners ---- */

static int sockaddr_k(struct sockaddr_storage *ss, int af, bool any,
		      uint16_t port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, fz.kaddr[V4], 4);
		return sizeof(*s4);
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	if (!any)
		memcpy(&s6->sin6_addr, fz.kaddr[V6], 16);
	return sizeof(*s6);
}

/* Listener @i made (again): a small backlog now and then, for cookies. */
static void lsn_open(int i)
{
	struct lsn *l = &fz.lsn[i];
	struct sockaddr_storage ss;
	int one = 1, zero = 0;
	socklen_t len;

	l->fd = ktp_socket_flags(l->af, SOCK_NONBLOCK);
	if (l->fd < 0) {
		fail("socket() for a listener: %s", strerror(errno));
		return;
	}
	len = (socklen_t)sockaddr_k(&ss, l->af, l->any, l->port);
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->af == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			   sizeof(zero));
	if (bind(l->fd, (struct sockaddr *)&ss, len) ||
	    listen(l->fd, chance(20) ? 1 + (int)rnd(4) : 64)) {
		fail("listener on port %u: %s", l->port, strerror(errno));
		close(l->fd);
		l->fd = -1;
		return;
	}
	prod_set(NFLOWS + i, l->fd);
}

static void lsn_remake(int i)
{
	enum tcat prev = tc_enter(TC_SOCK);

	prod_set(NFLOWS + i, -1);
	prod_quiesce();
	close(fz.lsn[i].fd);
	fz.lsn_remade++;
	lsn_open(i);
	tc_leave(prev);
}

/* A port of a listener that takes peers of @fam. */
static uint16_t lsn_port(int fam)
{
	if (chance(30))
		return fz.lsn[2].port;
	return fz.lsn[fam].port;
}

/* Take every connection the listeners have: each to its flow, or reset. */
static void accept_all(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct pollfd pfd[NLSN];
	enum tcat prev;
	struct flow *f;
	socklen_t len;
	int i, fd, fam;

	/* one poll() for the three: a refused accept() takes the socket
	 * lock, which the prodder holds often
	 */
	for (i = 0; i < NLSN; i++) {
		pfd[i].fd = fz.lsn[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	prev = tc_enter(TC_ACCEPT);
	i = poll(pfd, NLSN, 0);
	tc_leave(prev);
	if (i <= 0)
		return;
	for (i = 0; i < NLSN; i++) {
		if (!pfd[i].revents)
			continue;
		for (;;) {
			len = sizeof(ss);
			prev = tc_enter(TC_ACCEPT);
			fd = accept4(fz.lsn[i].fd, (struct sockaddr *)&ss,
				     &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
			tc_leave(prev);
			if (fd < 0)
				break;
			fz.accepted++;
			fam = ss.ss_family == AF_INET6 &&
			      !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ? V6 : V4;
			f = flow_of(fam, ntohs(s6->sin6_port),
				    fz.lsn[i].port);
			if (!f || f->fd >= 0) {
				fz.strays++;
				abort_close(&fd, -1);
				continue;
			}
			f->fd = fd;
			prod_set((int)(f - fz.flow), fd);
			refresh(f);
		}
	}
}

/* ---- what the peer sends ---- */

/* The kernel's RCV.NXT as well as the peer knows it. */
static uint32_t rcv_of(const struct flow *f)
{
	if (f->have_info && synchronized(f->info.ktpi_state))
		return f->info.ktpi_rcv_nxt;
	return f->have_kack ? f->k_ack : f->p_nxt;
}

/* The kernel's SND.NXT and SND.UNA likewise. */
static uint32_t snd_of(const struct flow *f)
{
	if (f->have_info && synchronized(f->info.ktpi_state))
		return f->info.ktpi_snd_nxt;
	if (f->have_knxt)
		return f->k_nxt;
	return f->have_kisn ? f->k_isn + 1 : 0;
}

static uint32_t una_of(const struct flow *f)
{
	if (f->have_info && synchronized(f->info.ktpi_state))
		return f->info.ktpi_snd_una;
	return f->p_ack ? f->p_ack : snd_of(f);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* An edge for a SACK block: around the kernel's window, or anywhere. */
static uint32_t sack_edge(const struct flow *f)
{
	uint32_t una = f ? una_of(f) : (uint32_t)rnd64();
	uint32_t nxt = f ? snd_of(f) : una + rnd(100000);

	switch (rnd(8)) {
	case 0:
		return una;
	case 1:
		return nxt;
	case 2:
		return una + rnd(nxt - una + 1);
	case 3:
		return una - 1 - rnd(3000);
	case 4:
		return nxt + 1 + rnd(3000);
	case 5:
		return nxt + 0x80000000u;
	case 6:
		return f && f->have_kisn ? f->k_isn + rnd(2) : una;
	default:
		return (uint32_t)rnd64();
	}
}

/* Append one option, maybe malformed, to o->opt; false when full. */
static bool put_opt(struct out *o, const struct flow *f)
{
	static const uint16_t mss[] = { 0, 1, 47, 48, 88, 536, 1220, 1440,
					1460, 9000, 65535 };
	static const uint8_t odd_len[] = { 0, 1, 255, 41, 3 };
	size_t len, room = KTP_SEG_MAX_OPTLEN - o->sp.optlen, i;
	uint8_t b[40], kind;
	uint32_t edge;
	int n;

	switch (rnd(12)) {
	case 0:
		b[0] = KTPOPT_NOP;
		len = 1;
		break;
	case 1:	/* EOL, maybe with bytes after it */
		b[0] = KTPOPT_EOL;
		len = 1 + (chance(50) ? rnd(4) : 0);
		for (i = 1; i < len; i++)
			b[i] = (uint8_t)rnd(256);
		break;
	case 2:
		b[0] = KTPOPT_MSS;
		b[1] = KTPOLEN_MSS;
		n = chance(70) ? mss[rnd(ARRAY_LEN(mss))] : (int)rnd(65536);
		b[2] = n >> 8;
		b[3] = n & 0xff;
		len = 4;
		break;
	case 3:
		b[0] = KTPOPT_WSCALE;
		b[1] = KTPOLEN_WSCALE;
		b[2] = chance(70) ? (uint8_t)rnd(16) : (uint8_t)rnd(256);
		len = 3;
		break;
	case 4:
		b[0] = KTPOPT_SACK_PERM;
		b[1] = KTPOLEN_SACK_PERM;
		len = 2;
		break;
	case 5:
	case 6:	/* SACK: up to 4 blocks, edges anywhere */
		n = (int)rnd(5);
		b[0] = KTPOPT_SACK;
		b[1] = (uint8_t)(2 + 8 * n);
		for (i = 0; i < (size_t)n; i++) {
			edge = sack_edge(f);
			put32(b + 2 + 8 * i, edge);
			put32(b + 6 + 8 * i, chance(70) ? edge + rnd(3000) :
			      sack_edge(f));
		}
		len = 2 + 8 * (size_t)n;
		break;
	case 7:
		b[0] = KTPOPT_TIMESTAMP;
		b[1] = 10;
		put32(b + 2, (uint32_t)rnd64());
		put32(b + 6, chance(50) ? 0 : (uint32_t)rnd64());
		len = 10;
		break;
	case 8:	/* an unknown kind, which is skipped */
		do {
			kind = (uint8_t)rnd(256);
		} while (kind < 6 || kind == KTPOPT_TIMESTAMP);
		len = 2 + rnd(11);
		b[0] = kind;
		b[1] = (uint8_t)len;
		for (i = 2; i < len; i++)
			b[i] = (uint8_t)rnd(256);
		break;
	case 9:	/* a length of 0, 1 or 255, or one running past the end */
		b[0] = (uint8_t)rnd(10);
		b[1] = odd_len[rnd(ARRAY_LEN(odd_len))];
		len = 2;
		break;
	case 10: /* a lone kind byte: the length is missing */
		b[0] = (uint8_t)(2 + rnd(7));
		len = 1;
		break;
	default: /* a known kind with the wrong length */
		b[0] = (uint8_t)(2 + rnd(7));
		b[1] = (uint8_t)rnd(12);
		len = 2 + rnd(8);
		for (i = 2; i < len; i++)
			b[i] = (uint8_t)rnd(256);
	}
	if (len > room)
		return false;
	memcpy(o->opt + o->sp.optlen, b, len);
	o->sp.optlen += len;
	return true;
}

/* Options a handshake still succeeds with: sane kinds, sane lengths,
 * values anywhere (a tiny MSS, a shift beyond 14, an unknown kind).
 */
static void syn_opts(struct out *o)
{
	uint8_t *p = o->opt;
	size_t n = 0;
	int mss = chance(80) ? 536 + (int)rnd(925) : 1 + (int)rnd(65535);

	if (chance(90)) {
		p[n++] = KTPOPT_MSS;
		p[n++] = KTPOLEN_MSS;
		p[n++] = mss >> 8;
		p[n++] = mss & 0xff;
	}
	if (chance(30))
		p[n++] = KTPOPT_NOP;
	if (chance(70)) {
		p[n++] = KTPOPT_WSCALE;
		p[n++] = KTPOLEN_WSCALE;
		p[n++] = chance(90) ? (uint8_t)rnd(15) : (uint8_t)rnd(256);
	}
	if (chance(70)) {
		p[n++] = KTPOPT_SACK_PERM;
		p[n++] = KTPOLEN_SACK_PERM;
	}
	if (chance(20)) {
		p[n++] = KTPOPT_TIMESTAMP;
		p[n++] = 10;
		put32(p + n, (uint32_t)rnd64());
		put32(p + n + 4, 0);
		n += 8;
	}
	if (chance(15)) {
		p[n++] = 200 + (uint8_t)rnd(50);
		p[n++] = 4;
		p[n++] = (uint8_t)rnd(256);
		p[n++] = (uint8_t)rnd(256);
	}
	o->sp.optlen = n;
}

/* A segment on @f with sane fields: the caller changes what it wants. */
static void out_init(struct out *o, const struct flow *f, uint8_t flags,
		     uint32_t seq, uint32_t ack)
{
	memset(o, 0, sizeof(*o));
	o->fam = f->fam;
	o->sp.sport = f->pport;
	o->sp.dport = f->kport;
	o->sp.seq = seq;
	o->sp.ack = ack;
	o->sp.flags = flags;
	o->sp.doff = -1;
	o->sp.window = 65535;
}

/* The peer sends @o on @f in earnest: its numbers move on. */
static void send_true(struct flow *f, struct out *o)
{
	uint32_t end = o->sp.seq + (uint32_t)o->sp.paylen +
		       !!(o->sp.flags & KTP_FLAG_SYN) +
		       !!(o->sp.flags & KTP_FLAG_FIN);

	if (seq_after(end, f->p_nxt))
		f->p_nxt = end;
	if ((o->sp.flags & KTP_FLAG_ACK) &&
	    (!f->p_ack || seq_after(o->sp.ack, f->p_ack)))
		f->p_ack = o->sp.ack;
	emit(o);
	f->budget--;
}

static uint32_t pick_seq(const struct flow *f, uint32_t rcv)
{
	switch (rnd(12)) {
	case 0: case 1: case 2:
		return rcv;
	case 3:
		return rcv + 1 + rnd(100);
	case 4:
		return rcv - 1 - rnd(100);
	case 5:	/* the right edge of a 64 KiB window */
		return rcv + 65535 + rnd(3) - 1;
	case 6:
		return rcv + (chance(50) ? 65536 : -65536) + rnd(1000);
	case 7:
		return rcv + 0x80000000u + rnd(3) - 1;
	case 8:
		return f->p_isn + rnd(2);
	case 9:
		return (uint32_t)rnd64();
	case 10:
		return rcv + rnd(2000);
	default:
		return rcv - rnd(2000);
	}
}

static uint32_t pick_ack(const struct flow *f)
{
	uint32_t snd = snd_of(f), una = una_of(f);

	switch (rnd(12)) {
	case 0: case 1: case 2:
		return snd;
	case 3:
		return una;
	case 4:
		return una - 1 - rnd(10);
	case 5:
		return snd + 1 + rnd(1000);
	case 6:	/* too old: blind data injection (RFC 5961 5) */
		return una - 0x40000000u;
	case 7:
		return f->k_isn + rnd(2);
	case 8:
		return (uint32_t)rnd64();
	case 9:
		return 0;
	case 10:
		return una + rnd(snd - una + 1);
	default:
		return snd + 0x80000000u;
	}
}

static uint8_t pick_flags(void)
{
	static const uint8_t common[] = {
		KTP_FLAG_ACK, KTP_FLAG_ACK, KTP_FLAG_ACK, KTP_FLAG_ACK,
		KTP_FLAG_ACK | KTP_FLAG_PSH, KTP_FLAG_ACK | KTP_FLAG_PSH,
		KTP_FLAG_FIN | KTP_FLAG_ACK, KTP_FLAG_FIN | KTP_FLAG_ACK,
		KTP_FLAG_RST, KTP_FLAG_RST | KTP_FLAG_ACK,
		KTP_FLAG_SYN, KTP_FLAG_SYN | KTP_FLAG_ACK,
		KTP_FLAG_SYN | KTP_FLAG_FIN, KTP_FLAG_SYN | KTP_FLAG_RST,
		KTP_FLAG_FIN | KTP_FLAG_RST, KTP_FLAG_FIN, 0, KTP_FLAG_MASK,
	};
	uint32_t r = rnd(100);

	if (r < 80)
		return common[rnd(ARRAY_LEN(common))];
	if (r < 94)
		return (uint8_t)rnd(KTP_FLAG_MASK + 1);
	return (uint8_t)rnd(256);	/* bits KTP does not know */
}

static size_t pick_len(void)
{
	uint32_t r = rnd(100);

	if (r < 45)
		return 0;
	if (r < 60)
		return 1 + rnd(10);
	if (r < 75)
		return 11 + rnd(590);
	if (r < 90)
		return 601 + rnd(860);
	return 1461 + rnd(PAY_MAX - 1460);
}

/* Everything else of a mutated segment: window, options, checksum, data
 * offset, reserved field, the datagram around it.
 */
static void mutate(struct out *o, const struct flow *f)
{
	uint32_t r = rnd(100);
	size_t hlen;

	o->sp.window = r < 10 ? 0 : r < 20 ? (uint16_t)(1 + rnd(100)) :
		       r < 65 ? 65535 : (uint16_t)rnd(65536);
	o->sp.paylen = pick_len();
	if (chance(55))
		while (chance(70) && put_opt(o, f))
			;
	r = rnd(100);
	if (r < 8) {
		o->sp.csum = KTP_BUILD_CSUM_BAD;
	} else if (r < 12) {
		o->sp.csum = KTP_BUILD_CSUM_RAW;
		o->sp.csum_raw = (uint16_t)rnd(65536);
	}
	if (chance(8)) {
		/* a data offset below 5, or reaching past the segment */
		hlen = 20 + ((o->sp.optlen + 3) & ~(size_t)3) + o->sp.paylen;
		o->sp.doff = chance(50) || hlen >= 60 ? (int)rnd(5) :
			     (int)(hlen / 4 + 1 + rnd(15 - (uint32_t)hlen / 4));
	}
	if (chance(4))
		o->sp.reserved = (uint16_t)(1 + rnd(65535));
	r = rnd(100);
	o->ipmode = r < 86 ? IPM_PLAIN : r < 90 ? IPM_SHORT :
		    r < 92 ? IPM_TRUNC : r < 95 ? IPM_EXT : IPM_FRAG;
}

/* A mutated segment at @f. */
static void garbage(struct flow *f)
{
	uint32_t rcv = rcv_of(f);
	struct out o;

	out_init(&o, f, pick_flags(), pick_seq(f, rcv), pick_ack(f));
	/* a RST at exactly RCV.NXT ends the connection: seldom */
	if ((o.sp.flags & KTP_FLAG_RST) && o.sp.seq == rcv && chance(80))
		o.sp.seq += 1 + rnd(1000);
	mutate(&o, f);
	emit(&o);
	f->budget--;
}

/* Data from the peer, in order, acknowledging all the kernel sent. Now
 * and then a run of 2 to 8 segments of one length back to back, PSH on
 * the last only: what GRO merges (ktp_gro_receive()).
 */
static void peer_data(struct flow *f)
{
	uint32_t i, n = chance(25) ? 2 + rnd(7) : 1, seq = rcv_of(f);
	uint32_t ack = snd_of(f), len = 1 + rnd(1400);
	struct out o;

	if (n > 1) {
		for (i = 0; i < n; i++, seq += len) {
			out_init(&o, f, KTP_FLAG_ACK |
				 (i == n - 1 ? KTP_FLAG_PSH : 0), seq, ack);
			o.sp.paylen = len;
			send_true(f, &o);
		}
		return;
	}
	out_init(&o, f, KTP_FLAG_ACK | (chance(50) ? KTP_FLAG_PSH : 0),
		 seq, ack);
	o.sp.paylen = len;
	if (chance(20))
		while (chance(50) && put_opt(&o, f))
			;
	send_true(f, &o);
}

/* A plain ACK of all the kernel sent; now and then a closed window. */
static void peer_ack(struct flow *f)
{
	uint32_t r = rnd(100);
	struct out o;

	out_init(&o, f, KTP_FLAG_ACK, rcv_of(f), snd_of(f));
	o.sp.window = r < 8 ? 0 : r < 15 ? (uint16_t)(1 + rnd(2000)) : 65535;
	send_true(f, &o);
}

/* ---- the kernel's sockets ---- */

/* send() the bytes byte_at() says belong at the socket's write_seq. */
static void sock_send(struct flow *f)
{
	static uint8_t buf[8192];
	size_t n = 1 + rnd(sizeof(buf));
	uint32_t write_seq;

	refresh(f);
	if (!f->have_info)
		return;
	write_seq = f->info.ktpi_snd_nxt + f->info.ktpi_notsent_bytes;
	fill_seq(buf, n, write_seq);
	send(f->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* recv() what is there: the bytes the peer sent at those numbers. */
static void sock_recv(struct flow *f)
{
	static uint8_t buf[65536], want[65536];
	uint32_t copied;
	size_t at;
	ssize_t n;
	int i;

	for (i = 0; i < 4; i++) {
		refresh(f);
		if (!f->have_info)
			return;
		copied = f->info.ktpi_rcv_nxt - f->info.ktpi_rcv_queue;
		n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return;
		fill_seq(want, (size_t)n, copied);
		at = first_diff(buf, want, (size_t)n);
		if (at < (size_t)n) {
			fail("recv() on port %u returned 0x%02x for seq %u, "
			     "the peer sent 0x%02x", f->kport, buf[at],
			     copied + (uint32_t)at, want[at]);
			return;
		}
	}
}

static void sock_op(struct flow *f)
{
	enum tcat prev = tc_enter(TC_SOCK);
	uint32_t r = rnd(100);
	int v = (int)rnd(2);

	if (r < 40)
		sock_send(f);
	else if (r < 85)
		sock_recv(f);
	else if (r < 88)
		shutdown(f->fd, SHUT_RD);
	else if (r < 94)
		setsockopt(f->fd, SOL_KTP, KTP_NODELAY, &v, sizeof(v));
	else
		poll_events(f->fd, POLLIN | POLLOUT, 0);
	tc_leave(prev);
	refresh(f);
	drain(NULL, 0);
}

/* A kernel socket of the flow's family connecting to the peer. */
static void kernel_connect(struct flow *f)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);
	bool mapped = f->fam == V4 && chance(30);
	enum tcat prev = tc_enter(TC_SOCK);
	int fd, rc;

	fd = ktp_socket_flags(f->fam == V6 || mapped ? AF_INET6 : AF_INET,
			      SOCK_NONBLOCK);
	if (fd < 0) {
		fail("socket(): %s", strerror(errno));
		tc_leave(prev);
		return;
	}
	if (f->fam == V4 && !mapped) {
		s4.sin_port = htons(f->pport);
		memcpy(&s4.sin_addr, fz.paddr[V4], 4);
		rc = connect(fd, (struct sockaddr *)&s4, sizeof(s4));
	} else {
		s6.sin6_port = htons(f->pport);
		if (mapped) {
			s6.sin6_addr.s6_addr[10] = 0xff;
			s6.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&s6.sin6_addr.s6_addr[12], fz.paddr[V4], 4);
		} else {
			memcpy(&s6.sin6_addr, fz.paddr[V6], 16);
		}
		rc = connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	}
	if ((rc && errno != EINPROGRESS) ||
	    getsockname(fd, (struct sockaddr *)&me, &len)) {
		fail("connect() to the peer: %s", strerror(errno));
		close(fd);
		tc_leave(prev);
		return;
	}
	f->kport = ntohs(((struct sockaddr_in *)&me)->sin_port);
	f->fd = fd;
	prod_set((int)(f - fz.flow), fd);
	tc_leave(prev);
}

/* ---- flows ---- */

/* Another flow of @f's family has its peer port. */
static bool pport_used(const struct flow *f)
{
	int i;

	for (i = 0; i < NFLOWS; i++)
		if (&fz.flow[i] != f && fz.flow[i].used &&
		    fz.flow[i].fam == f->fam && fz.flow[i].pport == f->pport)
			return true;
	return false;
}

static void flow_new(struct flow *f)
{
	long n = fz.spawned++;
	int i;

	memset(f, 0, sizeof(*f));
	f->used = true;
	f->fd = -1;
	/* scenarios and families take turns: all are met early */
	f->fam = (int)(n % NFAM);
	f->scen = (int)(n / NFAM % NSCEN);
	f->orphan = chance(30);
	for (i = 0; scen[f->scen].mv[i]; i++)
		;
	f->budget = 8 * i + 10 + (int)rnd(80);
	f->p_isn = (uint32_t)rnd64();
	f->p_nxt = f->p_isn;
	if (scen[f->scen].mv[0] == MV_SYN)
		f->kport = lsn_port(f->fam);
	do {
		f->pport = (uint16_t)(20000 + rnd(40000));
	} while (pport_used(f));
}

/*
 * The end of a flow: its socket reset (SO_LINGER 0) or closed (an orphan
 * that finishes on its own), or the peer's RST, or nothing (what is left
 * times out: request entries, TIME_WAIT, orphans).
 */
static void flow_retire(struct flow *f)
{
	uint32_t r = rnd(100);
	struct out o;

	if (r < 40 && !f->k_rst && f->kport) {
		out_init(&o, f, KTP_FLAG_RST, rcv_of(f), 0);
		emit(&o);
	}
	if (f->fd >= 0) {
		enum tcat prev = tc_enter(TC_SOCK);

		prod_set((int)(f - fz.flow), -1);
		if (r >= 70)
			abort_close(&f->fd, -1);
		else
			close(f->fd);
		tc_leave(prev);
	}
	drain(NULL, 0);
	f->used = false;
}

/* One move of @f's scenario; waits for the kernel's answer if it has
 * one to give.
 */
static void do_move(struct flow *f, enum move mv)
{
	uint32_t rcv = rcv_of(f), snd = snd_of(f);
	int wait = 0, slot = (int)(f - fz.flow);
	struct out o;

	fz.moves++;
	switch (mv) {
	case MV_SYN:
		out_init(&o, f, KTP_FLAG_SYN, f->p_isn, 0);
		syn_opts(&o);
		send_true(f, &o);
		wait = 50;
		break;
	case MV_CONNECT:
		kernel_connect(f);
		wait = 50;
		break;
	case MV_SYNACK:
	case MV_SIMUL:
		out_init(&o, f, KTP_FLAG_SYN | (mv == MV_SYNACK ?
						KTP_FLAG_ACK : 0),
			 f->p_isn, f->k_isn + 1);
		syn_opts(&o);
		send_true(f, &o);
		break;
	case MV_ACK:
		/* simultaneous open: the peer's SYN-ACK crosses the
		 * kernel's, as often as a plain ACK answers it
		 */
		if (f->fd >= 0 && chance(50)) {
			out_init(&o, f, KTP_FLAG_SYN | KTP_FLAG_ACK, f->p_isn,
				 f->k_isn + 1);
			syn_opts(&o);
		} else {
			out_init(&o, f, KTP_FLAG_ACK, f->p_isn + 1,
				 f->k_isn + 1);
		}
		send_true(f, &o);
		if (f->fd < 0)
			accept_all();
		break;
	case MV_PEER_FIN:
		out_init(&o, f, KTP_FLAG_FIN | KTP_FLAG_ACK, rcv, snd);
		send_true(f, &o);
		break;
	case MV_PEER_FIN_ONLY:
		out_init(&o, f, KTP_FLAG_FIN | KTP_FLAG_ACK, rcv,
			 f->k_fin ? f->k_fin_seq : snd);
		send_true(f, &o);
		break;
	case MV_SHUT:
		if (f->fd < 0)
			break;
		if (f->orphan) {
			prod_set(slot, -1);
			close(f->fd);
			f->fd = -1;
			f->have_info = false;
		} else {
			shutdown(f->fd, SHUT_WR);
		}
		wait = 50;
		break;
	case MV_ACK_ALL:
		out_init(&o, f, KTP_FLAG_ACK, rcv, snd);
		send_true(f, &o);
		break;
	case MV_DONE:
		break;
	}
	drain(f, wait);
	refresh(f);
	/* a flow without a socket shows its state only in /proc */
	if (f->fd < 0)
		scan_proc();
}

/* A move needs what the kernel said before it: its SYN for a SYN-ACK,
 * its SYN-ACK for the third ACK. Without it the move waits (and the
 * flow is retired after a few tries).
 */
static bool move_ready(const struct flow *f, enum move mv)
{
	switch (mv) {
	case MV_SYNACK:
	case MV_SIMUL:
	case MV_ACK:
		return f->have_kisn;
	case MV_SHUT:
		return f->fd >= 0;
	default:
		return true;
	}
}

/* @f gets its next move, or a segment or socket call in between. */
static void poke(struct flow *f)
{
	enum move mv = scen[f->scen].mv[f->stage];
	uint32_t r;

	refresh(f);
	if (f->k_rst)
		mv = MV_DONE;
	if (mv != MV_DONE && f->dwell <= 0) {
		if (!move_ready(f, mv)) {
			if (++f->tries > 4)
				f->budget = 0;
			else
				drain(f, 20);
			return;
		}
		do_move(f, mv);
		f->stage++;
		f->tries = 0;
		f->dwell = (int)rnd(8);
		return;
	}
	f->dwell--;
	r = rnd(100);
	if (r < 20 && f->fd >= 0) {
		sock_op(f);
		return;
	}
	/* a scenario that stops at its first move keeps its request entry
	 * or SYN_SENT: only garbage completes it, seldom
	 */
	if (!scen[f->scen].mv[1])
		garbage(f);
	else if (r < 35 && f->have_kisn && synchronized(f->state))
		peer_data(f);
	else if (r < 45 && f->have_knxt)
		peer_ack(f);
	else
		garbage(f);
	drain(NULL, 0);
}

/* A segment at a listener (or a closed port) from a peer no flow is. */
static void lsn_fuzz(void)
{
	struct flow tmp = { .fam = (int)rnd(NFAM) };
	uint32_t r = rnd(100);
	struct out o;

	tmp.pport = (uint16_t)(1024 + rnd(64512));
	tmp.kport = r < 85 ? lsn_port(tmp.fam) : (uint16_t)(6000 + rnd(3));
	tmp.p_isn = (uint32_t)rnd64();
	tmp.k_isn = (uint32_t)rnd64();
	r = rnd(100);
	out_init(&o, &tmp, r < 50 ? KTP_FLAG_SYN : r < 65 ? KTP_FLAG_ACK :
		 r < 72 ? KTP_FLAG_RST : pick_flags(), tmp.p_isn,
		 (uint32_t)rnd64());
	if ((o.sp.flags & KTP_FLAG_SYN) && chance(50))
		syn_opts(&o);
	mutate(&o, NULL);
	if (chance(60))
		o.sp.paylen = 0;
	emit(&o);
	drain(NULL, 0);
}

/* Per-namespace sysctls: short timers, so that what the fuzzer leaves
 * dies in seconds; now and then another SYN cookie mode.
 */
static int set_sysctls(void)
{
	static const char *const set[][2] = {
		{ "ktp/syn_retries", "1" }, { "ktp/synack_retries", "1" },
		{ "ktp/retries2", "3" }, { "ktp/orphan_retries", "1" },
		{ "ktp/fin_timeout", "2" }, { "ktp/tw_timeout", "2" },
		{ "ktp/delack", "0" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(set); i++)
		if (sysctl_set(set[i][0], set[i][1]))
			return -1;
	return 0;
}

static void period_change(void)
{
	uint32_t r = rnd(100);

	sysctl_set("ktp/syncookies", r < 10 ? "0" : r < 20 ? "2" : "1");
	lsn_remake((int)rnd(NLSN));
}

static void step(void)
{
	struct flow *f;
	int i;

	fz.steps++;
	for (i = 0; i < NFLOWS; i++) {
		f = &fz.flow[i];
		if (f->used && (f->budget <= 0 || (f->k_rst && chance(20))))
			flow_retire(f);
		if (!f->used)
			flow_new(f);
	}
	if (chance(12)) {
		lsn_fuzz();
	} else {
		f = &fz.flow[rnd(NFLOWS)];
		poke(f);
	}
	if (fz.steps % 8 == 0)
		accept_all();
	if (fz.steps % SCAN_EVERY == 0)
		scan_proc();
}

/* ---- the test ---- */

/* Write @val to the attribute @attr of this namespace's device @dev: the
 * /sys the program sees shows the namespace it was mounted from, so a
 * sysfs of this one is mounted for the write and taken away again.
 */
static int netns_dev_attr(const char *dev, const char *attr, const char *val)
{
	char dir[] = "/tmp/ktpfz-sys.XXXXXX", path[128];
	int err;

	if (!mkdtemp(dir))
		return -1;
	err = mount("sysfs", dir, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		    NULL);
	if (!err) {
		snprintf(path, sizeof(path), "%s/class/net/%s/%s", dir, dev,
			 attr);
		err = write_file(path, val);
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
	return err ? -1 : 0;
}

/* The namespace's tun device: 192.0.2.1/24 and fd00::1/64 (nodad) are
 * the kernel's, the peers' addresses route into it.
 */
static int wire_setup(const char **why)
{
	static const uint8_t mask[4] = { 255, 255, 255, 0 };
	char name[IFNAMSIZ], cmd[256];
	int s;

	fz.tun = ktp_tun_open();
	if (fz.tun < 0 || ktp_tun_attach_napi(fz.tun, "ktpfz%d", name)) {
		*why = "no tun device";
		return -1;
	}
	/* every segment through GRO (ktp_gro_receive()), held up to 100 us
	 * for the next one to merge with, which one poll a write would not
	 */
	if (netns_dev_attr(name, "gro_flush_timeout", "100000")) {
		*why = "cannot set the tun device's gro_flush_timeout";
		return -1;
	}
	fcntl(fz.tun, F_SETFL, O_NONBLOCK);
	inet_pton(AF_INET, "192.0.2.1", fz.kaddr[V4]);
	inet_pton(AF_INET, "192.0.2.2", fz.paddr[V4]);
	inet_pton(AF_INET6, "fd00::1", fz.kaddr[V6]);
	inet_pton(AF_INET6, "fd00::2", fz.paddr[V6]);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ktp_if_addr4(s, name, SIOCSIFADDR, fz.kaddr[V4]) ||
	    ktp_if_addr4(s, name, SIOCSIFNETMASK, mask) ||
	    ktp_if_up(s, name)) {
		*why = "cannot give the tun device its IPv4 address";
		return -1;
	}
	close(s);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip -6 addr add fd00::1/64 "
		 "dev %s nodad", name);
	if (system(cmd) || wait_local_route("fd00::1", 5000)) {
		*why = "cannot give the tun device its IPv6 address";
		return -1;
	}
	fz.proto = ktp_ipproto_param();
	return 0;
}

/* This namespace's IP InReceives (@v6: Ip6InReceives): what IP took in,
 * a packet GRO merged once; -1 if unreadable.
 */
static long ip_in_receives(int v6)
{
	char key[64], line[1024], *tok;
	long val = -1;
	int i, col = -1;
	FILE *f = fopen(v6 ? "/proc/net/snmp6" : "/proc/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (v6) {
			if (sscanf(line, "%63s %ld", key, &val) == 2 &&
			    !strcmp(key, "Ip6InReceives"))
				break;
			val = -1;
			continue;
		}
		if (strncmp(line, "Ip: ", 4))
			continue;
		/* the first "Ip:" line names the columns, the second has them */
		for (i = 0, tok = strtok(line, " \n"); tok;
		     i++, tok = strtok(NULL, " \n")) {
			if (col < 0 && !strcmp(tok, "InReceives"))
				col = i;
			else if (col >= 0 && i == col && isdigit(*tok))
				val = atol(tok);
		}
		if (val >= 0)
			break;
	}
	fclose(f);
	return val;
}

static void print_summary(double secs)
{
	char buf[512];
	size_t n;
	int fam, st;

	n = (size_t)snprintf(buf, sizeof(buf), "# segments %ld, states "
			     "reached:", fz.segments);
	for (fam = 0; fam < NFAM; fam++) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %s",
				      fam ? ";" : "", fam_name[fam]);
		for (st = 1; st < __KTP_STATE_MAX && n < sizeof(buf); st++)
			if (fz.reached[fam][st])
				n += (size_t)snprintf(buf + n, sizeof(buf) - n,
						      " %s",
						      state_str(st));
	}
	printf("%s\n", buf);
	printf("# %.1f s, %ld steps, %ld flows, %ld moves, %ld kernel "
	       "segments (%ld RSTs), %ld accepted (%ld strays), %ld "
	       "listeners made again, %ld tun write errors\n", secs,
	       fz.steps, fz.spawned, fz.moves, fz.kernel_segs,
	       fz.kernel_rsts, fz.accepted, fz.strays, fz.lsn_remade,
	       fz.tun_errors);
	/* GRO at work: IP counts a merged packet once */
	printf("# gro: %ld datagrams written, IP took %ld (IPv4 %ld, IPv6 "
	       "%ld)\n", fz.tun_writes, ip_in_receives(0) + ip_in_receives(1),
	       ip_in_receives(0), ip_in_receives(1));
}

/* Where the time went: the main thread's kinds of work, its CPU time,
 * and the prodder's.
 */
static void print_times(pthread_t prod)
{
	struct timespec ts;
	struct rusage ru;
	char buf[256];
	size_t n = 0;
	clockid_t cid;
	int i;

	tc_enter(TC_OTHER);
	for (i = 0; i < TC_N; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s %.1f",
				      tcat_name[i], tcat_ns[i] / 1e9);
	printf("# time (s):%s\n", buf);
	if (!getrusage(RUSAGE_THREAD, &ru))
		printf("# main thread CPU: user %.1f s, system %.1f s\n",
		       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	if (!pthread_getcpuclockid(prod, &cid) &&
	    !clock_gettime(cid, &ts))
		printf("# prodder CPU: %.1f s, %lu rounds\n",
		       ts.tv_sec + ts.tv_nsec / 1e9,
		       __atomic_load_n(&prod_passes, __ATOMIC_ACQUIRE));
}

/* The wanted states not reached, as " IPv4 CLOSING IPv6 ..."; how many. */
static int missing_states(char *buf, size_t size)
{
	size_t n = 0;
	int fam, i, count = 0;

	buf[0] = '\0';
	for (fam = 0; fam < NFAM; fam++)
		for (i = 0; i < (int)ARRAY_LEN(wanted); i++) {
			if (fz.reached[fam][wanted[i]])
				continue;
			count++;
			if (n < size)
				n += (size_t)snprintf(buf + n, size - n,
						      " %s %s", fam_name[fam],
						      state_str(wanted[i]));
		}
	return count;
}

/* What the kernel made of it all: the namespace's non-zero counters. */
static void print_snmp(void)
{
	char name[64], line[128] = "";
	size_t n = 0;
	long long v;
	FILE *in;

	in = fopen("/proc/net/ktp_snmp", "re");
	if (!in)
		return;
	while (fscanf(in, "%63s %lld", name, &v) == 2) {
		if (!v)
			continue;
		if (n > 60) {
			printf("# snmp:%s\n", line);
			n = 0;
		}
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %lld",
				      name, v);
	}
	if (n)
		printf("# snmp:%s\n", line);
	fclose(in);
}

FIXTURE(fuzz) {
	pthread_t prod;
};

FIXTURE_SETUP(fuzz)
{
	static const struct lsn spec[NLSN] = {
		{ .af = AF_INET, .port = 5000 },
		{ .af = AF_INET6, .port = 5001 },
		{ .af = AF_INET6, .any = true, .port = 5002 },
	};
	const char *why = "";
	int i;

	signal(SIGPIPE, SIG_IGN);
	memset(&fz, 0, sizeof(fz));
	fz.rng = opt_seed;
	for (i = 0; i < NFLOWS + NLSN; i++)
		prod_fd[i] = -1;
	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
	ASSERT_EQ(0, set_sysctls()) TH_LOG("net.ktp sysctls: %s",
					   strerror(errno));
	ASSERT_EQ(0, wire_setup(&why)) TH_LOG("%s: %s", why, strerror(errno));
	for (i = 0; i < NLSN; i++) {
		fz.lsn[i] = spec[i];
		lsn_open(i);
		ASSERT_FALSE(fz.failed);
	}
	ASSERT_EQ(0, pthread_create(&self->prod, NULL, prodder, NULL));
	__atomic_store_n(&prod_running, 1, __ATOMIC_RELEASE);
}

FIXTURE_TEARDOWN(fuzz)
{
	int i;

	__atomic_store_n(&prod_stop, 1, __ATOMIC_RELEASE);
	pthread_join(self->prod, NULL);
	__atomic_store_n(&prod_running, 0, __ATOMIC_RELEASE);
	for (i = 0; i < NFLOWS; i++)
		if (fz.flow[i].used && fz.flow[i].fd >= 0)
			abort_close(&fz.flow[i].fd, -1);
	for (i = 0; i < NLSN; i++)
		if (fz.lsn[i].fd >= 0)
			close(fz.lsn[i].fd);
	if (fz.tun >= 0)
		close(fz.tun);
}

/* The fuzzing itself; its time-out is set in main() from -t. */
TEST_F_TIMEOUT(fuzz, segments, DEFAULT_SECS + 120)
{
	long long t0 = now_ms(), end = t0 + (long long)(opt_secs * 1000);
	long next_period = PERIOD, next_progress = PROGRESS;
	char missing[512];

	printf("# seed %llu (replay: ktp_fuzz_pkt -s %llu -n %ld)\n",
	       opt_seed, opt_seed, opt_segments);
	fflush(stdout);
	tcat_since = mono_ns();
	while (fz.segments < opt_segments && !fz.failed) {
		if (fz.segments >= next_period) {
			period_change();
			next_period += PERIOD;
		}
		step();
		if (fz.segments >= next_progress) {
			printf("# %ld segments, %.0f s\n", fz.segments,
			       (now_ms() - t0) / 1000.0);
			next_progress += PROGRESS;
		}
		if (now_ms() >= end) {
			printf("# time bound of %.0f s reached after %ld of "
			       "%ld segments\n", opt_secs, fz.segments,
			       opt_segments);
			break;
		}
	}
	drain(NULL, 0);
	scan_proc();
	print_summary((now_ms() - t0) / 1000.0);
	print_times(self->prod);
	print_snmp();
	ASSERT_FALSE(fz.failed) TH_LOG("seed %llu", opt_seed);
	if (fz.segments < STATES_MIN) {
		printf("# %ld segments: fewer than the %d that must reach "
		       "every state, not checked\n", fz.segments, STATES_MIN);
		return;
	}
	EXPECT_EQ(0, missing_states(missing, sizeof(missing)))
		TH_LOG("never reached:%s (seed %llu)", missing, opt_seed);
	/* the runs of peer_data() reached ktp_gro_receive() and merged */
	EXPECT_GT(fz.tun_writes, ip_in_receives(0) + ip_in_receives(1))
		TH_LOG("GRO merged nothing (seed %llu)", opt_seed);
}

FIXTURE(fresh) {
	int lfd, cli, srv;
};

FIXTURE_SETUP(fresh)
{
	const char *why = "";

	self->lfd = -1;
	self->cli = -1;
	self->srv = -1;
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, private_netns(NULL, &why)) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(fresh)
{
	close_conn(&self->lfd, &self->cli, &self->srv);
}

/* After all that, a fresh connection carries 1 MB intact. */
TEST_F_TIMEOUT(fresh, loopback_1mb_intact, 60)
{
	struct ktp_stream tx = { .len = LOOPBACK_BYTES, .seed = opt_seed };
	struct ktp_stream rx = { .len = LOOPBACK_BYTES, .seed = opt_seed };
	unsigned short port = 0;
	pthread_t t;

	self->lfd = ktp_listener(1, &port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
	ASSERT_EQ(0, ktp_pair(self->lfd, port, &self->cli, &self->srv))
		TH_LOG("connect/accept over loopback: %s", strerror(errno));
	tx.fd = self->cli;
	rx.fd = self->srv;
	tx.deadline = now_ms() + 50000;
	rx.deadline = tx.deadline;
	ASSERT_EQ(0, pthread_create(&t, NULL, stream_send, &tx));
	stream_recv(&rx);
	pthread_join(t, NULL);
	EXPECT_EQ(0, tx.err) TH_LOG("send: %s", strerror(tx.err));
	EXPECT_EQ(0, rx.err) TH_LOG("recv: %s", strerror(rx.err));
	ASSERT_EQ(LOOPBACK_BYTES, rx.done);
	EXPECT_EQ(LOOPBACK_BYTES, rx.bad_at) TH_LOG("first wrong byte");
	EXPECT_EQ(tx.digest, rx.digest);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: ktp_fuzz_pkt [-n SEGMENTS] [-s SEED] [-t SECONDS] [-v]\n"
"Throw random and mutated KTP segments at the kernel from peers behind a\n"
"tun device, then check a fresh loopback connection.\n"
"  -n SEGMENTS  segments to inject (default %d)\n"
"  -s SEED      replay the run that printed \"# seed SEED\"\n"
"  -t SECONDS   stop fuzzing after that long (default %d, and a second\n"
"               more for every 100 segments past the default -n)\n"
"  -v           print every segment, both ways\n", DEFAULT_SEGMENTS,
		DEFAULT_SECS);
}

int main(int argc, char **argv)
{
	struct timespec ts;
	bool seeded = false;
	char *end;
	int c;

	while ((c = getopt(argc, argv, "n:s:t:vh")) != -1) {
		switch (c) {
		case 'n':
			opt_segments = strtol(optarg, &end, 0);
			if (*end || opt_segments <= 0)
				goto bad;
			break;
		case 's':
			opt_seed = strtoull(optarg, &end, 0);
			if (*end)
				goto bad;
			seeded = true;
			break;
		case 't':
			opt_secs = strtod(optarg, &end);
			if (*end || !(opt_secs > 0))
				goto bad;
			break;
		case 'v':
			opt_verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (!seeded) {
		clock_gettime(CLOCK_REALTIME, &ts);
		opt_seed = (unsigned long long)ts.tv_sec * 1000000007ULL ^
			   (unsigned long long)ts.tv_nsec ^
			   (unsigned long long)getpid() << 20;
	}
	/* as ktp_fuzz_sys: 240 s, and a second more for each 100 segments
	 * past make check's 20000 (the debug kernel does a few hundred a
	 * second)
	 */
	if (!opt_secs)
		opt_secs = DEFAULT_SECS + (opt_segments > DEFAULT_SEGMENTS ?
					   opt_segments / 100 : 0);
	/* the harness's own bound: the fuzzing's, and room to clean up */
	_fuzz_segments_object.timeout = (int)opt_secs + 60;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return test_harness_run(1, argv);
bad:
	usage(stderr);
	return 2;
}
