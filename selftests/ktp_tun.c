// SPDX-License-Identifier: GPL-2.0
/*
 * ktp_tun: the tun device of the tests that play a KTP peer. See
 * ktp_tun.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <netinet/in.h>

#include <linux/if_tun.h>

#include "ktp_tun.h"

int ktp_tun_open(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		/* no udev: make the node; opening it loads tun.ko */
		mkdir("/dev/net", 0755);
		if (mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200)) &&
		    errno != EEXIST)
			return -1;
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	}
	return fd;
}

static int tun_attach(int fd, const char *fmt, char name[IFNAMSIZ],
		      short flags)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | flags;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", fmt);
	if (ioctl(fd, TUNSETIFF, &ifr))
		return -1;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	return 0;
}

int ktp_tun_attach(int fd, const char *fmt, char name[IFNAMSIZ])
{
	return tun_attach(fd, fmt, name, 0);
}

int ktp_tun_attach_napi(int fd, const char *fmt, char name[IFNAMSIZ])
{
	return tun_attach(fd, fmt, name, IFF_NAPI);
}

int ktp_if_up(int s, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

int ktp_if_addr4(int s, const char *name, unsigned long req,
		 const void *addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	return ioctl(s, req, &ifr);
}
