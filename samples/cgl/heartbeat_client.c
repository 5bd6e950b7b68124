// SPDX-License-Identifier: GPL-2.0
/*
 * A C application watched by the CGL heartbeat monitor through
 * /dev/cgl_hb: register, beat every PERIOD_MS for COUNT beats, then either
 * unregister (COUNT > 0) or stop beating and wait for the monitor's
 * signal (COUNT = 0: the "hung process" case; the action is SIGUSR1).
 *
 * Build: cc -I include/uapi -o heartbeat_client samples/cgl/heartbeat_client.c
 * Usage: heartbeat_client NAME PERIOD_MS COUNT
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/cgl_heartbeat.h>

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
	signalled = sig;
}

int main(int argc, char **argv)
{
	struct cgl_hb_register reg = { 0 };
	struct timespec period;
	int fd, count, ms;

	if (argc != 4) {
		fprintf(stderr, "usage: %s NAME PERIOD_MS COUNT\n", argv[0]);
		return 2;
	}
	ms = atoi(argv[2]);
	count = atoi(argv[3]);
	snprintf(reg.name, sizeof(reg.name), "%s", argv[1]);
	reg.period_ms = ms;
	reg.max_misses = 2;
	reg.action = CGL_HB_ACT_SIGNAL;
	reg.signal = SIGUSR1;
	signal(SIGUSR1, on_signal);

	fd = open("/dev/cgl_hb", O_RDWR);
	if (fd < 0 || ioctl(fd, CGL_HB_IOC_REGISTER, &reg) < 0) {
		perror("heartbeat_client: register");
		return 1;
	}
	printf("registered %s as handle %#x\n", reg.name, reg.handle);
	period.tv_sec = ms / 1000;
	period.tv_nsec = (ms % 1000) * 1000000L;
	for (int i = 0; i < count; i++) {
		nanosleep(&period, NULL);
		if (ioctl(fd, CGL_HB_IOC_BEAT, reg.handle) < 0) {
			perror("heartbeat_client: beat");
			return 1;
		}
	}
	if (count > 0) {
		if (ioctl(fd, CGL_HB_IOC_UNREGISTER, reg.handle) < 0) {
			perror("heartbeat_client: unregister");
			return 1;
		}
		printf("beat %d times, unregistered\n", count);
		return 0;
	}
	/* Hung: no more beats. The monitor signals after 2 missed periods. */
	for (int i = 0; i < 100 && !signalled; i++)
		nanosleep(&period, NULL);
	printf("%s\n", signalled ? "got SIGUSR1 from the monitor" : "no signal");
	return signalled ? 0 : 1;
}
