// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libktp-run.so: the LD_PRELOAD shim behind ktp-run(1). It puts KTP under
 * an unmodified, dynamically linked program that believes it speaks TCP.
 *
 * - socket(AF_INET or AF_INET6, SOCK_STREAM [| SOCK_NONBLOCK | SOCK_CLOEXEC],
 *   0 or IPPROTO_TCP) opens socket(<KTP family>, same type, KTPPROTO_KTP or
 *   KTPPROTO_KTP6); every other socket is left alone.
 * - With KTP_RUN_PORTS set, socket() still opens TCP, and bind() to a
 *   listed local port or connect() to a listed remote port first puts a
 *   KTP socket in its place on the same descriptor (ktp_run_swap()).
 * - TCP-level options a KTP socket refuses are translated to SOL_KTP,
 *   accepted as no-ops, or refused as TCP refuses what it lacks (the
 *   table is ktp_run_tcpopts[]); TCP_INFO is filled from KTP_INFO, and
 *   SO_PROTOCOL says IPPROTO_TCP.
 *
 * The wrappers hold no per-descriptor state: a socket is KTP when it
 * answers at SOL_KTP, and the options to carry over in a swap are the
 * ones whose value differs from a fresh TCP socket's. docs/ktp-run.md
 * explains the choices and their limits.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/tcp.h>

#include "ktp.h"

#define KTP_RUN_API	__attribute__((visibility("default")))
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* The C library's functions, found past this object with RTLD_NEXT. */
static struct {
	int (*socket)(int domain, int type, int protocol);
	int (*bind)(int fd, const struct sockaddr *addr, socklen_t len);
	int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
	int (*setsockopt)(int fd, int level, int name, const void *val,
			  socklen_t len);
	int (*getsockopt)(int fd, int level, int name, void *val,
			  socklen_t *len);
} real;

/* Read once from the environment, never written after ktp_run_setup(). */
static struct {
	bool verbose;			/* KTP_RUN_VERBOSE: say what moved */
	bool limited;			/* KTP_RUN_PORTS is set */
	unsigned char ports[65536 / 8];	/* its ports, one bit each */
} cfg;

static pthread_once_t ktp_run_once = PTHREAD_ONCE_INIT;

/* What becomes of a TCP-level option on a KTP socket. */
enum ktp_run_action {
	KTP_RUN_REFUSE,		/* ENOPROTOOPT, as TCP lacking the feature */
	KTP_RUN_MAP,		/* the SOL_KTP option of the same meaning */
	KTP_RUN_NOOP,		/* a hint KTP has no use for: reads 0 */
};

struct ktp_run_tcpopt {
	int tcp;		/* TCP_* at IPPROTO_TCP */
	int ktp;		/* KTP_* at SOL_KTP, for KTP_RUN_MAP */
	enum ktp_run_action action;
};

/* Options not named here are refused: TCP_USER_TIMEOUT, TCP_SYNCNT (time
 * bounds the caller counts on), TCP_MD5SIG (a security promise),
 * TCP_FASTOPEN_CONNECT, TCP_ULP, TCP_REPAIR*, TCP_ZEROCOPY_RECEIVE, ...
 */
static const struct ktp_run_tcpopt ktp_run_tcpopts[] = {
	{ TCP_NODELAY,		KTP_NODELAY,	KTP_RUN_MAP },
	{ TCP_MAXSEG,		KTP_MAXSEG,	KTP_RUN_MAP },
	{ TCP_CORK,		KTP_CORK,	KTP_RUN_MAP },
	{ TCP_KEEPIDLE,		KTP_KEEPIDLE,	KTP_RUN_MAP },
	{ TCP_KEEPINTVL,	KTP_KEEPINTVL,	KTP_RUN_MAP },
	{ TCP_KEEPCNT,		KTP_KEEPCNT,	KTP_RUN_MAP },
	{ TCP_CONGESTION,	KTP_CONGESTION,	KTP_RUN_MAP },
	{ TCP_INFO,		KTP_INFO,	KTP_RUN_MAP },
	{ TCP_LINGER2,		0,		KTP_RUN_NOOP },
	{ TCP_DEFER_ACCEPT,	0,		KTP_RUN_NOOP },
	{ TCP_WINDOW_CLAMP,	0,		KTP_RUN_NOOP },
	{ TCP_QUICKACK,		0,		KTP_RUN_NOOP },
	{ TCP_THIN_LINEAR_TIMEOUTS, 0,		KTP_RUN_NOOP },
	{ TCP_THIN_DUPACK,	0,		KTP_RUN_NOOP },
	{ TCP_FASTOPEN,		0,		KTP_RUN_NOOP },
	{ TCP_NOTSENT_LOWAT,	0,		KTP_RUN_NOOP },
};

/* Socket options a swap carries from the TCP socket to the KTP one, when
 * the program changed them; TCP-level ones come from ktp_run_tcpopts[].
 */
static const struct {
	int domain;		/* 0: any */
	int level;
	int name;
} ktp_run_carried[] = {
	{ 0,		SOL_SOCKET,	SO_REUSEADDR },
	{ 0,		SOL_SOCKET,	SO_REUSEPORT },
	{ 0,		SOL_SOCKET,	SO_KEEPALIVE },
	{ 0,		SOL_SOCKET,	SO_LINGER },
	{ 0,		SOL_SOCKET,	SO_RCVBUF },
	{ 0,		SOL_SOCKET,	SO_SNDBUF },
	{ 0,		SOL_SOCKET,	SO_RCVLOWAT },
	{ 0,		SOL_SOCKET,	SO_RCVTIMEO },
	{ 0,		SOL_SOCKET,	SO_SNDTIMEO },
	{ 0,		SOL_SOCKET,	SO_PRIORITY },
	{ 0,		SOL_SOCKET,	SO_MARK },
	{ 0,		SOL_SOCKET,	SO_OOBINLINE },
	{ 0,		SOL_SOCKET,	SO_BINDTODEVICE },
	{ 0,		SOL_SOCKET,	SO_MAX_PACING_RATE },
	{ AF_INET,	IPPROTO_IP,	IP_TOS },
	{ AF_INET,	IPPROTO_IP,	IP_TTL },
	{ AF_INET,	IPPROTO_IP,	IP_FREEBIND },
	{ AF_INET,	IPPROTO_IP,	IP_TRANSPARENT },
	{ AF_INET,	IPPROTO_IP,	IP_MTU_DISCOVER },
	{ AF_INET6,	IPPROTO_IPV6,	IPV6_V6ONLY },
	{ AF_INET6,	IPPROTO_IPV6,	IPV6_TCLASS },
	{ AF_INET6,	IPPROTO_IPV6,	IPV6_UNICAST_HOPS },
};

static void ktp_run_log(const char *fmt, ...)
{
	int err = errno;
	char buf[256];
	va_list ap;

	if (!cfg.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "ktp-run[%d]: %s\n", (int)getpid(), buf);
	errno = err;
}

/* "5201,8000-8099": ports and inclusive ranges, 1 to 65535. */
static int ktp_run_parse_ports(const char *spec)
{
	const char *p = spec;
	unsigned long lo, hi;
	char *end;

	do {
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (end != p && *end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
		}
		if (end == p || (*end && *end != ',') || lo < 1 || hi > 65535 ||
		    lo > hi)
			return -1;
		for (; lo <= hi; lo++)
			cfg.ports[lo / 8] |= 1 << (lo % 8);
		p = end + 1;
	} while (*end);
	return 0;
}

static bool ktp_run_listed(unsigned int port)
{
	return cfg.ports[port / 8] & (1 << (port % 8));
}

static void *ktp_run_next(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn) {
		dprintf(STDERR_FILENO, "ktp-run: %s not found: %s\n", name,
			dlerror());
		abort();
	}
	return fn;
}

static void ktp_run_setup(void)
{
	const char *spec = getenv("KTP_RUN_PORTS");
	const char *v = getenv("KTP_RUN_VERBOSE");

	real.socket = ktp_run_next("socket");
	real.bind = ktp_run_next("bind");
	real.connect = ktp_run_next("connect");
	real.setsockopt = ktp_run_next("setsockopt");
	real.getsockopt = ktp_run_next("getsockopt");
	cfg.verbose = v && *v && strcmp(v, "0");
	if (!spec)
		return;
	/* A list that does not parse moves no port: say so once. */
	cfg.limited = true;
	if (ktp_run_parse_ports(spec)) {
		memset(cfg.ports, 0, sizeof(cfg.ports));
		dprintf(STDERR_FILENO,
			"ktp-run: KTP_RUN_PORTS=\"%s\" is not a port list; every socket stays TCP\n",
			spec);
	}
}

static void ktp_run_init(void)
{
	pthread_once(&ktp_run_once, ktp_run_setup);
}

/* Before main(), so that a program that edits its environment early
 * still gets the KTP_RUN_* it was started with.
 */
__attribute__((constructor)) static void ktp_run_ctor(void)
{
	ktp_run_init();
}

static bool ktp_run_is_tcp(int domain, int type, int protocol)
{
	if (domain != AF_INET && domain != AF_INET6)
		return false;
	if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
		return false;
	return protocol == 0 || protocol == IPPROTO_TCP;
}

/* How a KTP socket refuses a level it does not know: ENOPROTOOPT, or as
 * ip_getsockopt() does, EOPNOTSUPP.
 */
static bool ktp_run_refused(int level, int err)
{
	return level == IPPROTO_TCP &&
	       (err == ENOPROTOOPT || err == EOPNOTSUPP);
}

/* A KTP socket answers at SOL_KTP; every other socket refuses the level. */
static bool ktp_run_is_ktp(int fd)
{
	socklen_t len = sizeof(int);
	int err = errno, val;
	bool ktp;

	ktp = !real.getsockopt(fd, SOL_KTP, KTP_NODELAY, &val, &len);
	errno = err;
	return ktp;
}

static int ktp_run_int_opt(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int val;

	if (real.getsockopt(fd, level, name, &val, &len))
		return -1;
	return val;
}

/* A KTP socket for what the program asked of AF_INET or AF_INET6. The
 * module without IPv6 refuses KTPPROTO_KTP6 (EPROTONOSUPPORT): that is
 * reported as EAFNOSUPPORT, the answer of a system without IPv6, which
 * programs already handle by falling back to IPv4.
 */
static int ktp_run_open(int domain, int type)
{
	int proto = domain == AF_INET6 ? KTPPROTO_KTP6 : KTPPROTO_KTP;
	int family = ktp_family(), fd, err;
	static bool warned;

	fd = real.socket(family, type, proto);
	if (fd >= 0)
		return fd;
	err = errno;
	if (err == EPROTONOSUPPORT && domain == AF_INET6) {
		err = EAFNOSUPPORT;
	} else if (err == EAFNOSUPPORT &&
		   !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED)) {
		/* once, not for every socket */
		dprintf(STDERR_FILENO,
			"ktp-run: no KTP family %d here (is ktp.ko loaded?)\n",
			family);
	}
	ktp_run_log("socket(%s) over KTP failed: %s",
		    domain == AF_INET6 ? "AF_INET6" : "AF_INET", strerror(err));
	errno = err;
	return -1;
}

KTP_RUN_API int socket(int domain, int type, int protocol)
{
	int fd;

	ktp_run_init();
	if (cfg.limited || !ktp_run_is_tcp(domain, type, protocol))
		return real.socket(domain, type, protocol);
	fd = ktp_run_open(domain, type);
	if (fd >= 0)
		ktp_run_log("socket(%s, SOCK_STREAM) is KTP fd %d",
			    domain == AF_INET6 ? "AF_INET6" : "AF_INET", fd);
	return fd;
}

static int ktp_run_optlen(int fd, int level, int name, char *val,
			  socklen_t size)
{
	socklen_t len = size;

	memset(val, 0, size);
	if (real.getsockopt(fd, level, name, val, &len))
		return -1;
	return len;
}

/* One option from the TCP socket fd to the KTP socket nfd, if the program
 * changed it: its value differs from a fresh TCP socket's (ref).
 */
static void ktp_run_carry(int fd, int ref, int nfd, int level, int name,
			  int klevel, int kname)
{
	union {
		char buf[64];
		int i;
	} val, def;
	int len, dlen;

	len = ktp_run_optlen(fd, level, name, val.buf, sizeof(val));
	dlen = ktp_run_optlen(ref, level, name, def.buf, sizeof(def));
	if (len < 0 || (len == dlen && !memcmp(val.buf, def.buf, len)))
		return;
	/* The kernel reports twice the buffer size the program set. */
	if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
		val.i /= 2;
	if (real.setsockopt(nfd, klevel, kname, val.buf, len))
		ktp_run_log("fd %d: option %d/%d not carried over: %s", fd,
			    level, name, strerror(errno));
}

static void ktp_run_carry_all(int fd, int nfd, int domain)
{
	const struct ktp_run_tcpopt *t;
	unsigned int i;
	int ref;

	ref = real.socket(domain, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (ref < 0)
		return;
	for (i = 0; i < ARRAY_LEN(ktp_run_carried); i++) {
		if (ktp_run_carried[i].domain &&
		    ktp_run_carried[i].domain != domain)
			continue;
		ktp_run_carry(fd, ref, nfd, ktp_run_carried[i].level,
			      ktp_run_carried[i].name, ktp_run_carried[i].level,
			      ktp_run_carried[i].name);
	}
	for (i = 0; i < ARRAY_LEN(ktp_run_tcpopts); i++) {
		t = &ktp_run_tcpopts[i];
		if (t->action == KTP_RUN_MAP && t->tcp != TCP_INFO)
			ktp_run_carry(fd, ref, nfd, IPPROTO_TCP, t->tcp,
				      SOL_KTP, t->ktp);
	}
	close(ref);
}

/* The file status flags and signal owner that fcntl() set on fd. */
static int ktp_run_carry_fcntl(int fd, int nfd)
{
	struct f_owner_ex owner;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(nfd, F_SETFL, fl & (O_NONBLOCK | O_ASYNC)))
		return -1;
	if (!fcntl(fd, F_GETOWN_EX, &owner) && owner.pid &&
	    fcntl(nfd, F_SETOWN_EX, &owner))
		return -1;
	return 0;
}

/* connect() on a socket the program bound: bind KTP to the same address. */
static int ktp_run_rebind(int fd, int nfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET &&
	    !((struct sockaddr_in *)&ss)->sin_port)
		return 0;
	if (ss.ss_family == AF_INET6 &&
	    !((struct sockaddr_in6 *)&ss)->sin6_port)
		return 0;
	return real.bind(nfd, (struct sockaddr *)&ss, len);
}

/* Put a KTP socket in place of the TCP socket fd, on the same descriptor
 * number, with its descriptor and status flags and the options the
 * program set. On failure fd is left as it was.
 */
static int ktp_run_swap(int fd, int domain, bool rebind)
{
	int fdflags, nfd, err;

	fdflags = fcntl(fd, F_GETFD);
	if (fdflags < 0)
		return -1;
	nfd = ktp_run_open(domain, SOCK_STREAM | SOCK_CLOEXEC);
	if (nfd < 0)
		return -1;
	ktp_run_carry_all(fd, nfd, domain);
	if (ktp_run_carry_fcntl(fd, nfd) || (rebind && ktp_run_rebind(fd, nfd)))
		goto out_close;
	if (dup3(nfd, fd, fdflags & FD_CLOEXEC ? O_CLOEXEC : 0) < 0)
		goto out_close;
	close(nfd);
	return 0;

out_close:
	err = errno;
	close(nfd);
	errno = err;
	return -1;
}

static int ktp_run_port(const struct sockaddr *addr, socklen_t len)
{
	if (!addr)
		return 0;
	if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)addr)->sin_port);
	if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	return 0;
}

/* bind() or connect() naming addr on fd: with KTP_RUN_PORTS, a TCP socket
 * becomes KTP here if the port is listed. 0 to go on with the call.
 */
static int ktp_run_decide(int fd, const struct sockaddr *addr, socklen_t len,
			  bool connecting)
{
	int port = ktp_run_port(addr, len);
	int err = errno, domain;

	if (!cfg.limited || !port || !ktp_run_listed(port))
		return 0;
	if (ktp_run_int_opt(fd, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP ||
	    ktp_run_int_opt(fd, SOL_SOCKET, SO_TYPE) != SOCK_STREAM) {
		errno = err;
		return 0;
	}
	domain = ktp_run_int_opt(fd, SOL_SOCKET, SO_DOMAIN);
	if (ktp_run_swap(fd, domain, connecting))
		return -1;
	ktp_run_log("fd %d: %s() to port %d, now KTP", fd,
		    connecting ? "connect" : "bind", port);
	errno = err;
	return 0;
}

KTP_RUN_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	ktp_run_init();
	if (ktp_run_decide(fd, addr, len, false))
		return -1;
	return real.bind(fd, addr, len);
}

KTP_RUN_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	ktp_run_init();
	if (ktp_run_decide(fd, addr, len, true))
		return -1;
	return real.connect(fd, addr, len);
}

static const struct ktp_run_tcpopt *ktp_run_tcpopt(int name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(ktp_run_tcpopts); i++)
		if (ktp_run_tcpopts[i].tcp == name)
			return &ktp_run_tcpopts[i];
	return NULL;
}

/* IPPROTO_TCP options the KTP socket fd refused. */
static int ktp_run_set_tcpopt(int fd, int name, const void *val,
			      socklen_t len)
{
	const struct ktp_run_tcpopt *t = ktp_run_tcpopt(name);

	if (!t || t->action == KTP_RUN_REFUSE) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (t->action == KTP_RUN_MAP)
		return real.setsockopt(fd, SOL_KTP, t->ktp, val, len);
	/* A no-op still checks its argument, as TCP does. */
	if (len < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

KTP_RUN_API int setsockopt(int fd, int level, int name, const void *val,
			   socklen_t len)
{
	ktp_run_init();
	if (!real.setsockopt(fd, level, name, val, len))
		return 0;
	if (!ktp_run_refused(level, errno) || !ktp_run_is_ktp(fd))
		return -1;
	return ktp_run_set_tcpopt(fd, name, val, len);
}

static void ktp_run_fill_tcp_info(struct tcp_info *ti,
				  const struct ktp_info *ki)
{
	/* Fields KTP does not keep stay 0, as an older kernel leaves them. */
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = ki->ktpi_state;	/* numbered as TCP's */
	ti->tcpi_retransmits = ki->ktpi_retransmits;
	ti->tcpi_probes = ki->ktpi_probes;
	ti->tcpi_backoff = ki->ktpi_backoff;
	if (ki->ktpi_options & KTPI_OPT_TIMESTAMPS)
		ti->tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (ki->ktpi_options & KTPI_OPT_SACK)
		ti->tcpi_options |= TCPI_OPT_SACK;
	if (ki->ktpi_options & KTPI_OPT_WSCALE)
		ti->tcpi_options |= TCPI_OPT_WSCALE;
	ti->tcpi_snd_wscale = ki->ktpi_snd_wscale;
	ti->tcpi_rcv_wscale = ki->ktpi_rcv_wscale;
	ti->tcpi_rto = ki->ktpi_rto;
	ti->tcpi_snd_mss = ki->ktpi_snd_mss;
	ti->tcpi_rcv_mss = ki->ktpi_rcv_mss;
	ti->tcpi_unacked = ki->ktpi_unacked;
	ti->tcpi_rtt = ki->ktpi_srtt;
	ti->tcpi_rttvar = ki->ktpi_rttvar;
	ti->tcpi_snd_ssthresh = ki->ktpi_snd_ssthresh;
	ti->tcpi_snd_cwnd = ki->ktpi_snd_cwnd;
	ti->tcpi_total_retrans = ki->ktpi_total_retrans;
	ti->tcpi_bytes_acked = ki->ktpi_bytes_acked;
	ti->tcpi_bytes_received = ki->ktpi_bytes_received;
	ti->tcpi_segs_out = ki->ktpi_segs_out;
	ti->tcpi_segs_in = ki->ktpi_segs_in;
	ti->tcpi_notsent_bytes = ki->ktpi_notsent_bytes;
	ti->tcpi_snd_wnd = ki->ktpi_snd_wnd;
}

/* TCP_INFO from KTP_INFO, truncated to the caller's length as TCP does. */
static int ktp_run_tcp_info(int fd, void *val, socklen_t *len)
{
	socklen_t klen = sizeof(struct ktp_info);
	struct ktp_info ki;
	struct tcp_info ti;

	if ((int)*len < 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&ki, 0, sizeof(ki));
	if (real.getsockopt(fd, SOL_KTP, KTP_INFO, &ki, &klen))
		return -1;
	ktp_run_fill_tcp_info(&ti, &ki);
	if (*len > sizeof(ti))
		*len = sizeof(ti);
	memcpy(val, &ti, *len);
	return 0;
}

static int ktp_run_get_tcpopt(int fd, int name, void *val, socklen_t *len)
{
	const struct ktp_run_tcpopt *t = ktp_run_tcpopt(name);
	int zero = 0;

	if (!t || t->action == KTP_RUN_REFUSE) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (name == TCP_INFO)
		return ktp_run_tcp_info(fd, val, len);
	if (t->action == KTP_RUN_MAP)
		return real.getsockopt(fd, SOL_KTP, t->ktp, val, len);
	if ((int)*len < 0) {
		errno = EINVAL;
		return -1;
	}
	if (*len > sizeof(zero))
		*len = sizeof(zero);
	memcpy(val, &zero, *len);
	return 0;
}

KTP_RUN_API int getsockopt(int fd, int level, int name, void *val,
			   socklen_t *len)
{
	int tcp = IPPROTO_TCP;

	ktp_run_init();
	if (!real.getsockopt(fd, level, name, val, len)) {
		/* KTP's own number would tell the program it is not TCP. */
		if (level == SOL_SOCKET && name == SO_PROTOCOL &&
		    *len >= sizeof(int) && *(int *)val != IPPROTO_TCP &&
		    ktp_run_is_ktp(fd))
			memcpy(val, &tcp, sizeof(tcp));
		return 0;
	}
	if (!ktp_run_refused(level, errno) || !ktp_run_is_ktp(fd))
		return -1;
	return ktp_run_get_tcpopt(fd, name, val, len);
}
