// SPDX-License-Identifier: GPL-2.0
/*
 * The DPDK peers of the cgl LPM benchmark (tools/testing/cgl/cores/benches/
 * lpm.rs): rte_lpm and rte_fib (DIR24_8) for IPv4, rte_lpm6 and rte_fib6
 * (TRIE) for IPv6, loaded with the same routes in the same order and
 * looked up with the same keys.
 *
 * usage: lpm_dpdk [-4|-6] [-k KEYS] [-n NKEYS] [-r ROUNDS] [-b BURST]
 *                 [-d NDEL] [-m MB] [ROUTES|-]
 *
 * ROUTES (default stdin): the pyasn format, uncompressed: one
 * "prefix/len<TAB>asn" a line, ';' starts a comment line. Lines of the
 * other family are skipped. Route i (counting from 0 among the lines of
 * the family) gets nexthop i + 1. Routes are inserted in the order of the
 * Rust bench: 0..n shuffled by Fisher-Yates with xorshift64* seeded
 * 0xfeedbeef. Then the first NDEL routes (default: all) of a second
 * shuffle by the same generator are deleted.
 *
 * KEYS: binary lookup keys, IPv4 as native-endian u32, IPv6 as 16 bytes
 * in network order. Without -k, NKEYS (default 4M) keys are generated as
 * the Rust bench does, from xorshift64* seeded 0x9e3779b97f4a7c15: IPv4
 * uniform, IPv6 a random route's prefix with random host bits.
 *
 * EAL runs with --no-huge --no-pci on lcore 0 with MB (default 2048) of
 * ordinary memory. Tables get room for the routes and for the tbl8 groups
 * they need (see count_tbl8s() and count_rsvd6()) plus 1/8 and 256 spare.
 *
 * Output: for each structure one line of key=value fields: routes, keys;
 * bytes (rte_malloc heap growth from create to loaded); single_mlps and
 * single_sum (one key per call), bulk_mlps and bulk_sum (bursts of BURST
 * keys); ins_per_s and ins_p50_ns, ins_p99_ns, ins_max_ns; the same for
 * del_ if NDEL > 0. Each update is timed on its own with CLOCK_MONOTONIC (a vDSO call
 * of some 20-30 ns is included; DPDK's updates take microseconds). A sum
 * is the sum of the nexthops found, 0 for a miss; lookup rates are the
 * best of ROUNDS. Any failure exits with status 1.
 *
 * Known peer bug (DPDK 22.11.11): rte_fib DIR24_8 loses the table when a
 * prefix is added over more-specific ones of which one ends at
 * 255.255.255.255 (its range end wraps to 0): after 255.220.0.0/14,
 * 255.224.0.0/11 and 255.0.0.0/8, every address maps to the /8. A
 * checksum mismatch of rte_fib alone on a new table may be that.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

struct route {
	uint32_t ip4;		/* host order */
	uint8_t ip6[16];	/* network order */
	uint8_t depth;
};

struct table {
	int family;
	struct route *r;
	uint32_t n;
	uint32_t *ins_order;
	uint32_t *del_order;
	uint32_t *keys4;
	uint8_t (*keys6)[16];
	size_t nkeys;
	unsigned int burst;
	uint32_t tbl8s;		/* tbl8 groups the routes need */
	uint32_t rsvd6;		/* tbl8 groups rte_fib6 reserves for them */
};

static uint64_t xs_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void xs_shuffle(uint64_t *s, uint32_t *v, uint32_t n)
{
	uint32_t i, j, t;

	for (i = n ? n - 1 : 0; i >= 1; i--) {
		j = xs_next(s) % ((uint64_t)i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "lpm_dpdk: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory%s", "");
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __uint128_t be128(const uint8_t b[16])
{
	__uint128_t v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | b[i];
	return v;
}

static void put128(uint8_t b[16], __uint128_t v)
{
	int i;

	for (i = 15; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

static __uint128_t mask128(unsigned int len)
{
	return len ? ~(__uint128_t)0 << (128 - len) : 0;
}

/* Reads the routes of @family from @f; host bits are cleared. */
static void read_routes(FILE *f, struct table *t)
{
	size_t cap = 1 << 16;
	char line[512];

	t->r = xmalloc(cap * sizeof(*t->r));
	t->n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *slash, *end;
		struct route *r;
		unsigned long len;
		bool v6;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ';' || *p == '\n' || *p == '\r' || !*p)
			continue;
		p[strcspn(p, " \t\r\n")] = 0;
		v6 = strchr(p, ':');
		if (v6 != (t->family == 6))
			continue;
		slash = strchr(p, '/');
		if (!slash)
			die("no prefix length: %s", p);
		*slash = 0;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > (v6 ? 128u : 32u))
			die("bad prefix length in %s", p);
		if (t->n == cap) {
			cap *= 2;
			t->r = realloc(t->r, cap * sizeof(*t->r));
			if (!t->r)
				die("out of memory%s", "");
		}
		r = &t->r[t->n];
		memset(r, 0, sizeof(*r));
		r->depth = len;
		if (v6) {
			if (inet_pton(AF_INET6, p, r->ip6) != 1)
				die("bad IPv6 address %s", p);
			put128(r->ip6, be128(r->ip6) & mask128(len));
		} else {
			uint32_t a;

			if (inet_pton(AF_INET, p, &a) != 1)
				die("bad IPv4 address %s", p);
			r->ip4 = ntohl(a) & (len ? ~0u << (32 - len) : 0);
		}
		if (++t->n > (1u << 24) - 1)
			die("more than 2^24 - 1 routes (rte_lpm's nexthop limit)%s", "");
	}
}

static void read_keys(const char *path, struct table *t)
{
	size_t w = t->family == 4 ? 4 : 16;
	FILE *f = fopen(path, "rb");
	void *buf;
	long sz;

	if (!f)
		die("cannot open %s", path);
	if (fseek(f, 0, SEEK_END))
		die("cannot seek %s", path);
	sz = ftell(f);
	if (sz < 0 || fseek(f, 0, SEEK_SET))
		die("cannot size %s", path);
	if (sz % w)
		die("%s: size is not a whole number of keys", path);
	t->nkeys = sz / w;
	buf = xmalloc(sz);
	if (fread(buf, 1, sz, f) != (size_t)sz)
		die("short read on %s", path);
	fclose(f);
	if (w == 4)
		t->keys4 = buf;
	else
		t->keys6 = buf;
}

/* The Rust bench's key stream (benches/lpm.rs). */
static void gen_keys(struct table *t)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	size_t i;

	if (t->family == 4) {
		t->keys4 = xmalloc(t->nkeys * 4);
		for (i = 0; i < t->nkeys; i++)
			t->keys4[i] = (uint32_t)xs_next(&s);
		return;
	}
	if (!t->n)
		die("no IPv6 routes to draw keys from%s", "");
	t->keys6 = xmalloc(t->nkeys * 16);
	for (i = 0; i < t->nkeys; i++) {
		const struct route *r = &t->r[xs_next(&s) % t->n];
		__uint128_t hi = xs_next(&s), lo = xs_next(&s);
		__uint128_t host = hi << 64 | lo;

		host = r->depth < 128 ? host >> r->depth : 0;
		put128(t->keys6[i], be128(r->ip6) | host);
	}
}

static int cmp___uint128_t(const void *a, const void *b)
{
	__uint128_t x = *(const __uint128_t *)a, y = *(const __uint128_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Groups of 256 entries every table below needs: one per distinct
 * (24 + 8k)-bit prefix covering a route longer than that, k >= 0.
 */
static uint32_t count_tbl8s(const struct table *t)
{
	unsigned int bits = t->family == 4 ? 32 : 128, level;
	__uint128_t *v = xmalloc((size_t)t->n * sizeof(*v));
	uint64_t total = 0;
	uint32_t i, m, k;

	for (level = 24; level < bits; level += 8) {
		for (m = 0, i = 0; i < t->n; i++) {
			const struct route *r = &t->r[i];
			__uint128_t p = t->family == 4 ? (__uint128_t)r->ip4 << 96 : be128(r->ip6);

			if (r->depth > level)
				v[m++] = p & mask128(level);
		}
		qsort(v, m, sizeof(*v), cmp___uint128_t);
		for (k = 0; k < m; k++)
			total += !k || v[k] != v[k - 1];
	}
	free(v);
	return total > UINT32_MAX / 2 ? UINT32_MAX / 2 : total;
}

/*
 * rte_fib6 (TRIE) refuses a route unless (depth rounded up to 8 - 24) / 8
 * tbl8 groups stay unreserved besides those reserved by the routes in
 * place (less when a covering route exists): the sum over all routes is
 * enough in any order.
 */
static uint32_t count_rsvd6(const struct table *t)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < t->n; i++)
		if (t->r[i].depth > 24)
			total += (RTE_ALIGN_CEIL(t->r[i].depth, 8) - 24) / 8;
	return total > UINT32_MAX / 2 ? UINT32_MAX / 2 : total;
}

static size_t heap_bytes(void)
{
	struct rte_malloc_socket_stats st;
	unsigned int i;
	size_t sum = 0;

	for (i = 0; i < rte_socket_count(); i++)
		if (!rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st))
			sum += st.heap_allocsz_bytes;
	return sum;
}

/* One structure under test. */
struct peer {
	const char *name;
	int family;
	void *(*create)(const struct table *t, const char *name);
	int (*add)(void *h, const struct route *r, uint32_t nh);
	int (*del)(void *h, const struct route *r);
	uint64_t (*single)(void *h, const struct table *t);
	uint64_t (*bulk)(void *h, const struct table *t);
	void (*destroy)(void *h);
};

static uint32_t slack(uint32_t n)
{
	return n + n / 8 + 256;
}

/* rte_lpm */

static void *lpm_create(const struct table *t, const char *name)
{
	struct rte_lpm_config c = {
		.max_rules = t->n + 1,
		.number_tbl8s = slack(t->tbl8s),
	};

	return rte_lpm_create(name, SOCKET_ID_ANY, &c);
}

static int lpm_add(void *h, const struct route *r, uint32_t nh)
{
	return rte_lpm_add(h, r->ip4, r->depth, nh);
}

static int lpm_del(void *h, const struct route *r)
{
	return rte_lpm_delete(h, r->ip4, r->depth);
}

static uint64_t lpm_single(void *h, const struct table *t)
{
	uint64_t sum = 0;
	uint32_t nh;
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (rte_lpm_lookup(h, t->keys4[i], &nh) == 0)
			sum += nh;
	return sum;
}

static uint64_t lpm_bulk(void *h, const struct table *t)
{
	uint32_t nh[256];
	uint64_t sum = 0;
	size_t i, j, b;

	for (i = 0; i < t->nkeys; i += b) {
		b = t->nkeys - i < t->burst ? t->nkeys - i : t->burst;
		rte_lpm_lookup_bulk(h, &t->keys4[i], nh, b);
		for (j = 0; j < b; j++)
			if (nh[j] & RTE_LPM_LOOKUP_SUCCESS)
				sum += nh[j] & 0x00ffffff;
	}
	return sum;
}

static void lpm_destroy(void *h)
{
	rte_lpm_free(h);
}

/* rte_fib, DIR24_8 */

static void *fib_create(const struct table *t, const char *name)
{
	struct rte_fib_conf c = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = 0,
		.max_routes = t->n + 1,
		.dir24_8 = {
			.nh_sz = RTE_FIB_DIR24_8_4B,
			.num_tbl8 = slack(t->tbl8s),
		},
	};

	return rte_fib_create(name, SOCKET_ID_ANY, &c);
}

static int fib_add(void *h, const struct route *r, uint32_t nh)
{
	return rte_fib_add(h, r->ip4, r->depth, nh);
}

static int fib_del(void *h, const struct route *r)
{
	return rte_fib_delete(h, r->ip4, r->depth);
}

static uint64_t fib_single(void *h, const struct table *t)
{
	uint64_t sum = 0, nh;
	size_t i;

	for (i = 0; i < t->nkeys; i++) {
		rte_fib_lookup_bulk(h, &t->keys4[i], &nh, 1);
		sum += nh;
	}
	return sum;
}

static uint64_t fib_bulk(void *h, const struct table *t)
{
	uint64_t nh[256], sum = 0;
	size_t i, j, b;

	for (i = 0; i < t->nkeys; i += b) {
		b = t->nkeys - i < t->burst ? t->nkeys - i : t->burst;
		rte_fib_lookup_bulk(h, &t->keys4[i], nh, b);
		for (j = 0; j < b; j++)
			sum += nh[j];
	}
	return sum;
}

static void fib_destroy(void *h)
{
	rte_fib_free(h);
}

/* rte_lpm6 */

static void *lpm6_create(const struct table *t, const char *name)
{
	struct rte_lpm6_config c = {
		.max_rules = t->n + 1,
		.number_tbl8s = slack(t->tbl8s),
	};

	return rte_lpm6_create(name, SOCKET_ID_ANY, &c);
}

static int lpm6_add(void *h, const struct route *r, uint32_t nh)
{
	return rte_lpm6_add(h, r->ip6, r->depth, nh);
}

static int lpm6_del(void *h, const struct route *r)
{
	return rte_lpm6_delete(h, r->ip6, r->depth);
}

static uint64_t lpm6_single(void *h, const struct table *t)
{
	uint64_t sum = 0;
	uint32_t nh;
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (rte_lpm6_lookup(h, t->keys6[i], &nh) == 0)
			sum += nh;
	return sum;
}

static uint64_t lpm6_bulk(void *h, const struct table *t)
{
	int32_t nh[256];
	uint64_t sum = 0;
	size_t i, j, b;

	for (i = 0; i < t->nkeys; i += b) {
		b = t->nkeys - i < t->burst ? t->nkeys - i : t->burst;
		rte_lpm6_lookup_bulk_func(h, &t->keys6[i], nh, b);
		for (j = 0; j < b; j++)
			if (nh[j] >= 0)
				sum += nh[j];
	}
	return sum;
}

static void lpm6_destroy(void *h)
{
	rte_lpm6_free(h);
}

/* rte_fib6, TRIE */

static void *fib6_create(const struct table *t, const char *name)
{
	struct rte_fib6_conf c = {
		.type = RTE_FIB6_TRIE,
		.default_nh = 0,
		.max_routes = t->n + 1,
		.trie = {
			.nh_sz = RTE_FIB6_TRIE_4B,
			.num_tbl8 = slack(t->rsvd6),
		},
	};

	return rte_fib6_create(name, SOCKET_ID_ANY, &c);
}

static int fib6_add(void *h, const struct route *r, uint32_t nh)
{
	return rte_fib6_add(h, r->ip6, r->depth, nh);
}

static int fib6_del(void *h, const struct route *r)
{
	return rte_fib6_delete(h, r->ip6, r->depth);
}

static uint64_t fib6_single(void *h, const struct table *t)
{
	uint64_t sum = 0, nh;
	size_t i;

	for (i = 0; i < t->nkeys; i++) {
		rte_fib6_lookup_bulk(h, &t->keys6[i], &nh, 1);
		sum += nh;
	}
	return sum;
}

static uint64_t fib6_bulk(void *h, const struct table *t)
{
	uint64_t nh[256], sum = 0;
	size_t i, j, b;

	for (i = 0; i < t->nkeys; i += b) {
		b = t->nkeys - i < t->burst ? t->nkeys - i : t->burst;
		rte_fib6_lookup_bulk(h, &t->keys6[i], nh, b);
		for (j = 0; j < b; j++)
			sum += nh[j];
	}
	return sum;
}

static void fib6_destroy(void *h)
{
	rte_fib6_free(h);
}

static const struct peer peers[] = {
	{ "rte_lpm", 4, lpm_create, lpm_add, lpm_del, lpm_single, lpm_bulk,
	  lpm_destroy },
	{ "rte_fib", 4, fib_create, fib_add, fib_del, fib_single, fib_bulk,
	  fib_destroy },
	{ "rte_lpm6", 6, lpm6_create, lpm6_add, lpm6_del, lpm6_single,
	  lpm6_bulk, lpm6_destroy },
	{ "rte_fib6", 6, fib6_create, fib6_add, fib6_del, fib6_single,
	  fib6_bulk, fib6_destroy },
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Prints p50, p99 and max of @v (sorted in place) as @what_*_ns. */
static void print_pcts(const char *what, uint64_t *v, uint32_t n)
{
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	printf(" %s_p50_ns=%" PRIu64 " %s_p99_ns=%" PRIu64
	       " %s_max_ns=%" PRIu64, what, v[n / 2], what,
	       v[(uint64_t)n * 99 / 100], what, v[n - 1]);
}

static void *create(const struct peer *p, const struct table *t)
{
	static unsigned int seq;
	char name[32];
	void *h;

	snprintf(name, sizeof(name), "%s_%u", p->name, seq++);
	h = p->create(t, name);
	if (!h) {
		fprintf(stderr, "lpm_dpdk: %s: create: %s\n", p->name,
			rte_strerror(rte_errno));
		exit(1);
	}
	return h;
}

static void add_all(const struct peer *p, void *h, const struct table *t,
		    uint64_t *lat)
{
	uint32_t i, k;
	uint64_t t0;
	int rc;

	for (k = 0; k < t->n; k++) {
		i = t->ins_order[k];
		t0 = now_ns();
		rc = p->add(h, &t->r[i], i + 1);
		lat[k] = now_ns() - t0;
		if (rc) {
			fprintf(stderr, "lpm_dpdk: %s: add of route %u: %s\n",
				p->name, i, strerror(-rc));
			exit(1);
		}
	}
}

static void run(const struct peer *p, const struct table *t, int rounds,
		uint32_t ndel)
{
	double best1 = 1e30, bestb = 1e30, t0, ins;
	uint64_t sum1 = 0, sumb = 0, *ns;
	size_t m0, bytes;
	uint32_t k;
	void *h;
	int i, rc;

	ns = xmalloc((size_t)t->n * sizeof(*ns));
	m0 = heap_bytes();
	h = create(p, t);
	t0 = now();
	add_all(p, h, t, ns);
	ins = now() - t0;
	bytes = heap_bytes() - m0;
	for (i = 0; i < rounds; i++) {
		t0 = now();
		sum1 = p->single(h, t);
		t0 = now() - t0;
		if (t0 < best1)
			best1 = t0;
		t0 = now();
		sumb = p->bulk(h, t);
		t0 = now() - t0;
		if (t0 < bestb)
			bestb = t0;
	}
	printf("peer=%s routes=%u keys=%zu ins_per_s=%.0f bytes=%zu "
	       "single_mlps=%.3f single_sum=%" PRIu64 " bulk_mlps=%.3f "
	       "bulk_sum=%" PRIu64 " burst=%u",
	       p->name, t->n, t->nkeys, t->n / ins, bytes,
	       t->nkeys / best1 / 1e6, sum1, t->nkeys / bestb / 1e6, sumb,
	       t->burst);
	print_pcts("ins", ns, t->n);
	if (ndel > t->n)
		ndel = t->n;
	if (ndel) {
		t0 = now();
		for (k = 0; k < ndel; k++) {
			uint64_t s = now_ns();

			rc = p->del(h, &t->r[t->del_order[k]]);
			ns[k] = now_ns() - s;
			if (rc) {
				fprintf(stderr, "\nlpm_dpdk: %s: delete: %s\n",
					p->name, strerror(-rc));
				exit(1);
			}
		}
		printf(" del_per_s=%.0f", ndel / (now() - t0));
		print_pcts("del", ns, ndel);
	}
	p->destroy(h);
	free(ns);
	putchar('\n');
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: lpm_dpdk [-4|-6] [-k KEYS] [-n NKEYS] [-r ROUNDS] [-b BURST]\n"
		"                [-d NDEL] [-m MB] [ROUTES|-]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct table t = { .family = 4, .nkeys = 4 << 20, .burst = 32 };
	const char *keys = NULL, *mem = "2048";
	char *eal[] = { "lpm_dpdk", "--no-huge", "--no-pci", "-l", "0",
			"-m", NULL, "--no-shconf", "--no-telemetry",
			"--log-level=1", NULL };
	int rounds = 5, opt, i;
	uint32_t ndel = UINT32_MAX;
	uint64_t s;
	FILE *f;

	while ((opt = getopt(argc, argv, "46k:n:r:b:d:m:")) != -1) {
		switch (opt) {
		case '4':
		case '6':
			t.family = opt - '0';
			break;
		case 'k':
			keys = optarg;
			break;
		case 'n':
			t.nkeys = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'b':
			t.burst = atoi(optarg);
			break;
		case 'd':
			ndel = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			mem = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind > 1 || rounds < 1 || !t.burst || t.burst > 256)
		usage();
	eal[6] = (char *)mem;

	if (optind < argc && strcmp(argv[optind], "-")) {
		f = fopen(argv[optind], "r");
		if (!f)
			die("cannot open %s", argv[optind]);
	} else {
		f = stdin;
	}
	read_routes(f, &t);
	if (f != stdin)
		fclose(f);
	if (keys)
		read_keys(keys, &t);
	else
		gen_keys(&t);

	t.ins_order = xmalloc((size_t)t.n * 4);
	t.del_order = xmalloc((size_t)t.n * 4);
	for (i = 0; (uint32_t)i < t.n; i++)
		t.ins_order[i] = i;
	s = 0xfeedbeef;
	xs_shuffle(&s, t.ins_order, t.n);
	memcpy(t.del_order, t.ins_order, (size_t)t.n * 4);
	xs_shuffle(&s, t.del_order, t.n);
	t.tbl8s = count_tbl8s(&t);
	t.rsvd6 = count_rsvd6(&t);

	optind = 1;	/* EAL parses with getopt too */
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		die("rte_eal_init: %s", rte_strerror(rte_errno));
	for (i = 0; i < (int)RTE_DIM(peers); i++)
		if (peers[i].family == t.family)
			run(&peers[i], &t, rounds, ndel);
	rte_eal_cleanup();
	return 0;
}
