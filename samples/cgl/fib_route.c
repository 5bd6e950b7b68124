// SPDX-License-Identifier: GPL-2.0
/*
 * fib_route: add, delete and look up multi-FIB routes through the ioctls
 * of /dev/cgl_fib, as a legacy application would.
 *
 *   fib_route add FIB PREFIX/LEN [via GW] [dev IFINDEX] [blackhole] [replace]
 *   fib_route del FIB PREFIX/LEN
 *   fib_route get FIB ADDR          (longest prefix match)
 *
 * Prints "ok", or for get "PREFIX/LEN type T [via GW] [dev N]"; on error
 * prints the errno's name and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/cgl_fib.h>

static int parse_addr(const char *s, struct cgl_fib_ioc_route *r, __u8 *out)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		r->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		r->family = AF_INET6;
		return 0;
	}
	fprintf(stderr, "bad address %s\n", s);
	return -1;
}

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EPERM: return "EPERM";
	case ENETUNREACH: return "ENETUNREACH";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	struct cgl_fib_ioc_route r;
	char buf[INET6_ADDRSTRLEN], *slash;
	unsigned long cmd;
	int fd, i;

	if (argc < 4) {
		fprintf(stderr, "usage: %s add|del|get FIB PREFIX/LEN|ADDR ...\n", argv[0]);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	r.fib_id = strtoul(argv[2], NULL, 0);
	slash = strchr(argv[3], '/');
	if (slash) {
		*slash = 0;
		r.dst_len = atoi(slash + 1);
	}
	if (parse_addr(argv[3], &r, r.dst))
		return 2;
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "via") && i + 1 < argc) {
			__u8 fam = r.family;

			if (parse_addr(argv[++i], &r, r.gateway))
				return 2;
			r.family = fam;
			r.has_gateway = 1;
		} else if (!strcmp(argv[i], "dev") && i + 1 < argc) {
			r.oif = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "blackhole")) {
			r.type = CGL_FIB_RT_BLACKHOLE;
		} else if (!strcmp(argv[i], "replace")) {
			r.flags |= CGL_FIB_IOC_F_REPLACE;
		} else {
			fprintf(stderr, "unknown word %s\n", argv[i]);
			return 2;
		}
	}
	if (!strcmp(argv[1], "add"))
		cmd = CGL_FIB_IOC_ROUTE_ADD;
	else if (!strcmp(argv[1], "del"))
		cmd = CGL_FIB_IOC_ROUTE_DEL;
	else if (!strcmp(argv[1], "get"))
		cmd = CGL_FIB_IOC_ROUTE_GET;
	else
		return 2;
	fd = open("/dev/cgl_fib", O_RDWR);
	if (fd < 0) {
		perror("/dev/cgl_fib");
		return 2;
	}
	if (ioctl(fd, cmd, &r) < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	if (cmd != CGL_FIB_IOC_ROUTE_GET) {
		printf("ok\n");
		return 0;
	}
	inet_ntop(r.family, r.dst, buf, sizeof(buf));
	printf("%s/%u type %u", buf, r.dst_len, r.type);
	if (r.has_gateway) {
		inet_ntop(r.family, r.gateway, buf, sizeof(buf));
		printf(" via %s", buf);
	}
	if (r.oif)
		printf(" dev %u", r.oif);
	printf("\n");
	return 0;
}
