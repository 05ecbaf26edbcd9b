#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Probe the kernel headers the module is built against and write a header
# of HAVE_* macros, for module/compat.h. Distributions backport API changes
# (Debian's 6.12.117 moved ipv6_fl_list), so a version number cannot tell;
# a test compile can.
#
#   compat-probe.sh OUT CC [FLAGS...]
#
# CC and FLAGS are the kernel's compiler and C flags (scripts/compat-probe.mk
# passes kbuild's). Each probe below is a small C file: HAVE_<NAME> is
# defined when it compiles. The probes run in parallel; OUT is rewritten
# only when its contents change.
#
# KTP_PROBE_LOGS=DIR keeps each probe's C file and compiler output there.
#
# To add one: a line "probe NAME 'what it tells'" followed by the C file on
# standard input, written warning-free (the kernel's -Werror, if any, is
# dropped; incompatible pointers and implicit declarations stay errors).
set -u
out=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ktp-probe.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0

# The compiler and flags, less -Werror; errors that make a probe's answer.
cc=
for f in "$@"; do
	[ "$f" = -Werror ] || cc="$cc '$(printf '%s' "$f" | sed "s/'/'\\\\''/g")'"
done
cc="$cc -Werror=incompatible-pointer-types -Werror=implicit-function-declaration"
cc="$cc -Werror=int-conversion -fsyntax-only -x c"
# as kbuild names a module's objects (dynamic debug's inlines use them)
cc="$cc '-DKBUILD_MODNAME=\"ktp_probe\"' '-DKBUILD_BASENAME=\"ktp_probe\"'"

# probe NAME TEXT < C file: compiles in the background; the result lands in
# $tmp/<n>.h, numbered so that OUT keeps the order of this file.
probe()
{
	n=$((n + 1))
	cat > "$tmp/$n.c"
	(
		if eval "$cc" '"$tmp/$n.c"' -o /dev/null >"$tmp/$n.log" 2>&1; then
			printf '/* %s */\n#define HAVE_%s 1\n\n' "$2" "$1"
		else
			printf '/* %s: no */\n/* #undef HAVE_%s */\n\n' "$2" "$1"
		fi > "$tmp/$n.h"
	) &
}

probe TIMER_DELETE_SYNC 'timer_delete_sync() exists (6.1 has it; older kernels do not)' <<'EOF'
#include <linux/timer.h>
int ktp_probe(struct timer_list *t);
int ktp_probe(struct timer_list *t)
{
	return timer_delete_sync(t);
}
EOF

probe PROTO_OPS_SENDPAGE 'struct proto_ops has .sendpage (removed in 6.5)' <<'EOF'
#include <linux/net.h>
const struct proto_ops *ktp_probe(void);
const struct proto_ops *ktp_probe(void)
{
	static const struct proto_ops ops = { .sendpage = NULL };

	return &ops;
}
EOF

probe INET_SET_BIT 'inet_sock flags are bits behind inet_set_bit() (6.6)' <<'EOF'
#include <net/inet_sock.h>
void ktp_probe(struct sock *sk);
void ktp_probe(struct sock *sk)
{
	inet_set_bit(RECVERR, sk);
}
EOF

probe REGISTER_NET_SYSCTL_SZ 'register_net_sysctl_sz() exists (6.6)' <<'EOF'
#include <net/net_namespace.h>
void *ktp_probe(void);
void *ktp_probe(void)
{
	return register_net_sysctl_sz;
}
EOF

probe TIMER_CONTAINER_OF 'timer_container_of() replaces from_timer() (6.16)' <<'EOF'
#include <linux/timer.h>
struct ktp_probe_s { struct timer_list t; };
struct ktp_probe_s *ktp_probe(struct timer_list *t);
struct ktp_probe_s *ktp_probe(struct timer_list *t)
{
	struct ktp_probe_s *s = timer_container_of(s, t, t);

	return s;
}
EOF

probe PROTO_RECVMSG_ADDR_LEN 'struct proto .recvmsg takes int *addr_len (gone in 7.x)' <<'EOF'
#include <net/sock.h>
int ktp_probe(struct sock *sk, struct msghdr *msg, size_t len, int flags,
	      int *addr_len);
int ktp_probe(struct sock *sk, struct msghdr *msg, size_t len, int flags,
	      int *addr_len)
{
	struct proto p = { .recvmsg = ktp_probe };

	return p.recvmsg != NULL;
}
EOF

probe INET_SOCK_IPV6_FL_LIST 'ipv6_fl_list is in inet_sock, not ipv6_pinfo (6.17; Debian 6.12.117)' <<'EOF'
#include <net/inet_sock.h>
void *ktp_probe(struct inet_sock *inet);
void *ktp_probe(struct inet_sock *inet)
{
	return &inet->ipv6_fl_list;
}
EOF

probe LINUX_UNALIGNED_H '<linux/unaligned.h> replaces <asm/unaligned.h> (6.12)' <<'EOF'
#if !__has_include(<linux/unaligned.h>)
#error no linux/unaligned.h
#endif
EOF

probe PROTO_IOCTL_KARG 'struct proto .ioctl takes int *karg (6.4)' <<'EOF'
#include <net/sock.h>
int ktp_probe(struct sock *sk, int cmd, int *karg);
int ktp_probe(struct sock *sk, int cmd, int *karg)
{
	struct proto p = { .ioctl = ktp_probe };

	return p.ioctl != NULL;
}
EOF

probe PROTO_ACCEPT_ARG 'struct proto .accept takes struct proto_accept_arg (6.10)' <<'EOF'
#include <net/sock.h>
struct sock *ktp_probe(struct sock *sk, struct proto_accept_arg *arg);
struct sock *ktp_probe(struct sock *sk, struct proto_accept_arg *arg)
{
	struct proto p = { .accept = ktp_probe };

	return p.accept ? sk : NULL;
}
EOF

probe SOCKADDR_UNSIZED 'struct proto .connect takes struct sockaddr_unsized (7.x)' <<'EOF'
#include <net/sock.h>
int ktp_probe(struct sock *sk, struct sockaddr_unsized *uaddr, int len);
int ktp_probe(struct sock *sk, struct sockaddr_unsized *uaddr, int len)
{
	struct proto p = { .connect = ktp_probe };

	return p.connect != NULL;
}
EOF

probe CTL_TABLE_CONST 'proc_handler takes a const struct ctl_table (6.11)' <<'EOF'
#include <linux/sysctl.h>
int ktp_probe(const struct ctl_table *t, int w, void *b, size_t *l, loff_t *p);
int ktp_probe(const struct ctl_table *t, int w, void *b, size_t *l, loff_t *p)
{
	proc_handler *h = ktp_probe;

	return h != NULL;
}
EOF

probe INET_RECV_ERROR_ADDR_LEN 'inet_recv_error() takes int *addr_len (gone in 7.x)' <<'EOF'
#include <net/inet_common.h>
int ktp_probe(struct sock *sk, struct msghdr *msg, int len);
int ktp_probe(struct sock *sk, struct msghdr *msg, int len)
{
	int addr_len;

	return inet_recv_error(sk, msg, len, &addr_len);
}
EOF

probe BPF_CONNECT_ADDRLEN 'the cgroup connect hooks take the address length (6.7)' <<'EOF'
#include <linux/bpf-cgroup.h>
int ktp_probe(struct sock *sk, struct sockaddr *uaddr, int len);
int ktp_probe(struct sock *sk, struct sockaddr *uaddr, int len)
{
	return BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr, &len);
}
EOF

probe SK_UID 'sk_uid() reads a socket owner (sock_i_uid() is gone in 7.x)' <<'EOF'
#include <net/sock.h>
kuid_t ktp_probe(const struct sock *sk);
kuid_t ktp_probe(const struct sock *sk)
{
	return sk_uid(sk);
}
EOF

probe IP_SOCK_RT_TOS 'ip_sock_rt_tos() replaces RT_CONN_FLAGS()' <<'EOF'
#include <net/route.h>
__u8 ktp_probe(const struct sock *sk);
__u8 ktp_probe(const struct sock *sk)
{
	return ip_sock_rt_tos(sk);
}
EOF

probe INET6_SET_BIT 'ipv6_pinfo flags are bits behind inet6_set_bit() (6.7)' <<'EOF'
#include <net/ipv6.h>
void ktp_probe(struct sock *sk);
void ktp_probe(struct sock *sk)
{
	inet6_set_bit(MC6_LOOP, sk);
}
EOF

probe PROTO_MEMORY_H '<net/proto_memory.h> has sk_memory_allocated() (6.10)' <<'EOF'
#if !__has_include(<net/proto_memory.h>)
#error no net/proto_memory.h
#endif
EOF

probe DST_DEV 'dst_dev() reads a route device (6.16; stable kernels backport it)' <<'EOF'
#include <net/dst.h>
struct net_device *ktp_probe(const struct dst_entry *dst);
struct net_device *ktp_probe(const struct dst_entry *dst)
{
	return dst_dev(dst);
}
EOF

probe SKB_SPLICE_FROM_ITER_GFP 'sendmsg(MSG_SPLICE_PAGES) hands pages over: skb_splice_from_iter() with a gfp (6.5)' <<'EOF'
#include <linux/skbuff.h>
ssize_t ktp_probe(struct sk_buff *skb, struct iov_iter *iter);
ssize_t ktp_probe(struct sk_buff *skb, struct iov_iter *iter)
{
	return skb_splice_from_iter(skb, iter, 1, GFP_KERNEL);
}
EOF

probe SKB_SPLICE_FROM_ITER 'skb_splice_from_iter() without the gfp' <<'EOF'
#include <linux/skbuff.h>
ssize_t ktp_probe(struct sk_buff *skb, struct iov_iter *iter);
ssize_t ktp_probe(struct sk_buff *skb, struct iov_iter *iter)
{
	return skb_splice_from_iter(skb, iter, 1);
}
EOF

probe GRO_RECEIVE_NETWORK_FLUSH 'the transport checks the IP fields in GRO: gro_receive_network_flush() (6.10)' <<'EOF'
#include <net/gro.h>
int ktp_probe(const void *th, const void *th2, struct sk_buff *p);
int ktp_probe(const void *th, const void *th2, struct sk_buff *p)
{
	return gro_receive_network_flush(th, th2, p);
}
EOF

wait
{
	echo '/* SPDX-License-Identifier: GPL-2.0 */'
	echo '/* Generated by scripts/compat-probe.sh at build time: do not edit. */'
	echo '#ifndef _KTP_COMPAT_PROBE_H'
	echo '#define _KTP_COMPAT_PROBE_H'
	echo
	i=1
	while [ $i -le $n ]; do
		cat "$tmp/$i.h"
		i=$((i + 1))
	done
	echo '#endif /* _KTP_COMPAT_PROBE_H */'
} > "$tmp/out.h"
cmp -s "$tmp/out.h" "$out" || cp "$tmp/out.h" "$out"
if [ -n "${KTP_PROBE_LOGS:-}" ]; then
	mkdir -p "$KTP_PROBE_LOGS" && cp "$tmp"/*.c "$tmp"/*.log "$KTP_PROBE_LOGS"
fi
