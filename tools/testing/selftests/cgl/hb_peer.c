// SPDX-License-Identifier: GPL-2.0
/*
 * Peers of the heartbeat monitor's benchmark, run in the same guest:
 *
 *   hb_peer miss N      a userspace supervisor (systemd-style: one timerfd
 *                       armed to the earliest of N deadlines, a heap): how
 *                       late it notices each missed deadline. Prints
 *                       "userspace N p50_us p99_us max_us".
 *   hb_peer beat N      cost of a beat through /dev/cgl_hb (ioctl) and of
 *                       an eventfd write, N of each. Prints
 *                       "beat ioctl_ns eventfd_ns".
 *
 * Periods are 200 + (i % 100) ms, as in hb_bench.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/cgl_heartbeat.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t *heap;
static int heap_len;

static void push(uint64_t v)
{
	int i = heap_len++;

	heap[i] = v;
	while (i && heap[(i - 1) / 2] > heap[i]) {
		uint64_t t = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static uint64_t pop(void)
{
	uint64_t top = heap[0];
	int i = 0;

	heap[0] = heap[--heap_len];
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;

		if (l < heap_len && heap[l] < heap[m])
			m = l;
		if (r < heap_len && heap[r] < heap[m])
			m = r;
		if (m == i)
			break;
		uint64_t t = heap[i];

		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
	return top;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int miss(int n)
{
	uint64_t *late = calloc(n, sizeof(*late));
	uint64_t start = now_ns();
	int fd = timerfd_create(CLOCK_MONOTONIC, 0), done = 0;

	heap = calloc(n, sizeof(*heap));
	if (!late || !heap || fd < 0)
		return perror("hb_peer"), 1;
	for (int i = 0; i < n; i++)
		push(start + (200 + i % 100) * 1000000ull);
	while (done < n) {
		struct itimerspec its = { 0 };
		uint64_t exp;

		its.it_value.tv_sec = heap[0] / 1000000000ull;
		its.it_value.tv_nsec = heap[0] % 1000000000ull;
		timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
		if (read(fd, &exp, sizeof(exp)) < 0 && errno != EINTR)
			return perror("read"), 1;
		uint64_t now = now_ns();

		while (heap_len && heap[0] <= now)
			late[done++] = now - pop();
	}
	qsort(late, n, sizeof(*late), cmp);
	printf("userspace %d %.1f %.1f %.1f\n", n, late[n / 2] / 1e3,
	       late[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1] / 1e3, late[n - 1] / 1e3);
	return 0;
}

static int beat(int n)
{
	struct cgl_hb_register r = { .period_ms = 60000, .max_misses = 3, .signal = 15 };
	int fd = open("/dev/cgl_hb", O_RDWR), efd = eventfd(0, 0);
	uint64_t one = 1, t0, t1, t2;

	snprintf(r.name, sizeof(r.name), "bench-beat-%d", getpid());
	if (fd < 0 || efd < 0 || ioctl(fd, CGL_HB_IOC_REGISTER, &r))
		return perror("hb_peer"), 1;
	t0 = now_ns();
	for (int i = 0; i < n; i++)
		if (ioctl(fd, CGL_HB_IOC_BEAT, r.handle))
			return perror("beat"), 1;
	t1 = now_ns();
	for (int i = 0; i < n; i++) {
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			return perror("eventfd"), 1;
		if (i % 1000 == 999) { /* keep the counter far from overflow */
			uint64_t v;

			if (read(efd, &v, sizeof(v)) < 0)
				return perror("eventfd"), 1;
		}
	}
	t2 = now_ns();
	ioctl(fd, CGL_HB_IOC_UNREGISTER, r.handle);
	printf("beat %.1f %.1f\n", (double)(t1 - t0) / n, (double)(t2 - t1) / n);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (argc < 3 || n <= 0)
		return fprintf(stderr, "usage: hb_peer miss|beat N\n"), 2;
	if (!strcmp(argv[1], "miss"))
		return miss(n);
	if (!strcmp(argv[1], "beat"))
		return beat(n);
	return fprintf(stderr, "hb_peer: unknown mode %s\n", argv[1]), 2;
}
