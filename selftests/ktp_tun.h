/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktp_tun: a tun device for a test that plays a KTP peer (ktp_inject,
 * ktp_fuzz_pkt). The test writes the peer's IP datagrams to the device
 * and reads there what the kernel routes to the peer. Each call returns
 * 0 (or the descriptor) on success, -1 with errno set on failure, and
 * says nothing itself: the caller reports in its own way.
 */
#ifndef KTP_TUN_H
#define KTP_TUN_H

#include <net/if.h>

/* /dev/net/tun, its node made first where no udev made it (the VM). */
int ktp_tun_open(void);

/* Make @fd a tun device (IFF_TUN, no packet information) named from
 * @fmt ("ktpinj%d"); the name the kernel gave it in @name.
 */
int ktp_tun_attach(int fd, const char *fmt, char name[IFNAMSIZ]);

/* The same with IFF_NAPI: what is written to @fd goes up through the
 * device's NAPI poll, and so through GRO.
 */
int ktp_tun_attach_napi(int fd, const char *fmt, char name[IFNAMSIZ]);

/* Bring the interface @name up through the socket @s. */
int ktp_if_up(int s, const char *name);

/* An IPv4 address ioctl (@req: SIOCSIFADDR, SIOCSIFNETMASK) of @name
 * with the 4 bytes at @addr, through the AF_INET socket @s.
 */
int ktp_if_addr4(int s, const char *name, unsigned long req,
		 const void *addr);

#endif /* KTP_TUN_H */
