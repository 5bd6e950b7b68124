#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Multi-FIB benchmark in the guest (make bench-fib), side by side with the
# kernel's own fib_trie: the real IPv4 table (pyasn RouteViews 2014,
# 512,621 prefixes) loaded into FIB 1 by "cgl-ctl -batch" and into the
# main table by "ip -batch" (the same unicast routes via one veth), load
# time and memory per route of each; lookups of the same pseudo-random
# addresses in both (/sys/kernel/cgl/fib/bench, which also counts the
# addresses whose matched prefix length differs); lookups in a 10-route
# FIB for size independence. Then the same load, memory and lookup
# figures for the IPv6 table against fib6 (pyasn 2015, 27,693 prefixes;
# FIB_BENCH_V6=0 skips it) and, with FIB_BENCH_1M=1, every figure for 1M
# synthetic IPv4 prefixes with the 2014 table's prefix-length shares.
# Prints figures and ratios; asserts nothing.

set -e
ctl=cgl-ctl
S=/sys/kernel/cgl/fib
data=${CGL_PYASN_DIR:-$CGL_REPO/build/pyasn/usr/lib/python3/dist-packages/data}
table=$data/ipasn_20140513.dat.gz
N=${FIB_BENCH_LOOKUPS:-1000000}
[ -f "$table" ] || { echo "fib_bench: $table missing (make check downloads it)"; exit 1; }
d=$(mktemp -d)
ip link del cglfib0 2>/dev/null || true
ip link add cglfib0 type veth peer name cglfib1
ip link set cglfib0 up
ip link set cglfib1 up

zcat "$table" | python3 -c '
import sys
seen = set()
with open(sys.argv[1], "w") as ipf, open(sys.argv[2], "w") as cf:
    for line in sys.stdin:
        p = line.split("\t", 1)[0].strip()
        if not p or p.startswith(";") or p in seen:
            continue
        seen.add(p)
        ipf.write(f"route add {p} dev cglfib0\n")
        cf.write(f"route add {p} dev cglfib0 fib 1\n")
print(len(seen))' $d/ip.batch $d/cgl.batch > $d/count
n=$(cat $d/count)

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
# accel FIB: waits (up to 20 s) for FIB's IPv4 lookup accelerator, which
# the module builds once no request has come for 1 s; prints yes/no.
accel() {
	for _ in $(seq 100); do
		[ "$(cat $S/by-id/$1/accel)" != 0 ] && { echo yes; return; }
		sleep 0.2
	done
	echo no
}
slab() { awk '/^Slab:/ { print $2 * 1024 }' /proc/meminfo; }

$ctl fib del 1 2>/dev/null || true
$ctl fib add 1
used0=$(cat $S/used_bytes)
mem0=$(cat $S/memory_bytes)
t=$(date +%s%N)
$ctl -batch $d/cgl.batch
t_cgl=$(ms $t)
used1=$(cat $S/used_bytes)
mem1=$(cat $S/memory_bytes)
echo "fib bench: cgl-ctl -batch loaded $n routes in $t_cgl ms"

sync
s0=$(slab)
# ip's memory grows with the lines of one batch (2 GB for the whole
# table), so it gets the table in slices of 64k lines.
split -l 65536 $d/ip.batch $d/ip.slice.
t=$(date +%s%N)
for f in $d/ip.slice.*; do
	ip -force -batch $f
done
t_ip=$(ms $t)
s1=$(slab)
echo "fib bench: ip -batch loaded them in $t_ip ms"

acc=$(accel 1)
used2=$(cat $S/used_bytes)
own1=$(cat $S/by-id/1/memory_bytes)
echo "1 $N" > $S/bench
b=$(cat $S/bench)
get() { echo "$b" | tr ' ' '\n' | awk -v k="$1" 'f { print; exit } $0 == k { f = 1 }'; }
ours=$(get cgl_fib_ns_per_lookup)
trie=$(get kernel_ns_per_lookup)
differ=$(get differ)
burst=$(get cgl_fib_burst_ns_per_lookup)
burst_ok=$([ "$(get sum_cgl_burst)" = "$(get sum_cgl)" ] && echo same || echo DIFFERENT)

$ctl fib del 2 2>/dev/null || true
$ctl fib add 2
head -10 $d/cgl.batch | sed 's/ fib 1$/ fib 2/' > $d/small.batch
$ctl -batch $d/small.batch
echo "2 $N" > $S/bench
small=$(cat $S/bench | tr ' ' '\n' | awk 'f { print; exit } $0 == "cgl_fib_ns_per_lookup" { f = 1 }')

r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
echo "fib bench: $n unique IPv4 prefixes (pyasn 2014), unicast dev routes, $N lookups"
echo "load: cgl-ctl -batch ${t_cgl} ms, ip -batch (fib_trie) ${t_ip} ms: $(r $t_ip $t_cgl)x faster"
echo "memory (right after the load, blocks waiting for a grace period included): cgl_fib $(((used1 - used0) / n)) B/route used ($(((mem1 - mem0) / n)) B/route of arena chunks), fib_trie $(((s1 - s0) / n)) B/route of slab: $(r $(((s1 - s0))) $((used1 - used0)))x less"
echo "memory with the lookup accelerator (built: $acc; the load's retired blocks recycled): cgl_fib $(((used2 - used0) / n)) B/route used: $(r $(((s1 - s0))) $((used2 - used0)))x less"
echo "memory of FIB 1's own slots (accelerator included, counted when read): cgl_fib $((own1 / n)) B/route: $(r $(((s1 - s0))) $own1)x less"
echo "lookup: cgl_fib ${ours} ns, fib_table_lookup ${trie} ns: $(r $trie $ours)x; matched lengths differ for $differ of $N addresses; accelerator and Tree Bitmap differ for $(get accel_differ)"
echo "lookup in bursts of 32 (lookup_burst): cgl_fib ${burst} ns, fib_table_lookup ${trie} ns one at a time: $(r $trie $burst)x; nexthops $burst_ok"
echo "size independence: ${small} ns at 10 routes, ${ours} ns at $n routes: $(r $ours $small)x"

# load FAMILY DEV FIB CGL_BATCH IP_BATCH: loads both, sets t_cgl, t_ip,
# used_b, mem_b (cgl_fib's growth) and slab_b (the kernel's slab growth).
load() {
	$ctl fib del $3 2>/dev/null || true
	$ctl fib add $3
	u0=$(cat $S/used_bytes) m0=$(cat $S/memory_bytes)
	t=$(date +%s%N)
	$ctl -batch $4
	t_cgl=$(ms $t)
	used_b=$(($(cat $S/used_bytes) - u0)) mem_b=$(($(cat $S/memory_bytes) - m0))
	sync
	s0=$(slab)
	rm -f $d/slice.*
	split -l 65536 $5 $d/slice.
	t=$(date +%s%N)
	for f in $d/slice.*; do
		ip -$1 -force -batch $f
	done
	t_ip=$(ms $t)
	slab_b=$(($(slab) - s0))
}

# IPv6: the 2015 pyasn table's IPv6 prefixes, dev routes via one veth.
if [ "${FIB_BENCH_V6:-1}" = 1 ]; then
	table6=$data/ipasn6_20151101.dat.gz
	ip link del cglfib6 2>/dev/null || true
	ip link add cglfib6 type veth peer name cglfib7
	ip link set cglfib6 up
	ip link set cglfib7 up
	zcat "$table6" | python3 -c '
import sys
seen = set()
with open(sys.argv[1], "w") as ipf, open(sys.argv[2], "w") as cf:
    for line in sys.stdin:
        p = line.split("\t", 1)[0].strip()
        if not p or p.startswith(";") or ":" not in p or p in seen:
            continue
        seen.add(p)
        ipf.write(f"route add {p} dev cglfib6\n")
        cf.write(f"route add {p} dev cglfib6 fib 6\n")
print(len(seen))' $d/ip6.batch $d/cgl6.batch > $d/count6
	n6=$(cat $d/count6)
	load 6 cglfib6 6 $d/cgl6.batch $d/ip6.batch
	echo "fib bench IPv6: $n6 unique IPv6 prefixes (pyasn 2015), unicast dev routes"
	echo "load IPv6: cgl-ctl -batch ${t_cgl} ms, ip -6 -batch (fib6) ${t_ip} ms: $(r $t_ip $t_cgl)x faster"
	echo "memory IPv6 (right after the load, blocks waiting for a grace period included): cgl_fib $((used_b / n6)) B/route used ($((mem_b / n6)) B/route of arena chunks), fib6 $((slab_b / n6)) B/route of slab: $(r $slab_b $used_b)x less"
	# The FIB's own slots, counted when read: no retired block waits in
	# them, so unlike the figure above this one does not depend on how
	# far the grace periods got.
	acc6=$(accel 6)
	own6=$(cat $S/by-id/6/memory_bytes)
	echo "memory IPv6 of FIB 6's own slots (accelerator built: $acc6, its two-level table included): cgl_fib $((own6 / n6)) B/route: $(r $slab_b $own6)x less than fib6"
	# Addresses inside the table's prefixes (random ones would almost
	# all miss), the same in FIB 6 and in fib6's main table.
	echo "6 $N 6" > $S/bench
	b=$(cat $S/bench)
	ours6=$(get cgl_fib_ns_per_lookup)
	fib6=$(get kernel_ns_per_lookup)
	burst6=$(get cgl_fib_burst_ns_per_lookup)
	burst6_ok=$([ "$(get sum_cgl_burst)" = "$(get sum_cgl)" ] && echo same || echo DIFFERENT)
	echo "lookup IPv6 (addresses inside the routes): cgl_fib ${ours6} ns, fib6_table_lookup ${fib6} ns: $(r $fib6 $ours6)x; matched lengths differ for $(get differ) of $N addresses; accelerator and Tree Bitmap differ for $(get accel_differ)"
	echo "lookup IPv6 in bursts of 32 (lookup_burst): cgl_fib ${burst6} ns, fib6_table_lookup ${fib6} ns one at a time: $(r $fib6 $burst6)x; nexthops $burst6_ok"
fi

# 1M synthetic IPv4 prefixes with the 2014 table's share of each prefix
# length (random bits, fixed seed, in 1-223/8 without 10/8 and 127/8),
# in FIB 3 and, instead of the real table, in the main table. The FIBs
# stay until the end: the arena keeps the chunks of a deleted FIB for
# reuse, which would hide the growth; it still fills the free space the
# 512k load left in its chunks first, so the chunk growth per route is
# lower than the slots used.
if [ "${FIB_BENCH_1M:-0}" = 1 ]; then
	ip link del cglfib0
	ip link del cglfib4 2>/dev/null || true
	ip link add cglfib4 type veth peer name cglfib5
	ip link set cglfib4 up
	ip link set cglfib5 up
	M=${FIB_BENCH_1M_ROUTES:-1000000}
	zcat "$table" | python3 -c '
import random, sys
shape = [0] * 33
seen = set()
for line in sys.stdin:
    p = line.split("\t", 1)[0].strip()
    if p and not p.startswith(";") and p not in seen:
        seen.add(p)
        shape[int(p.split("/")[1])] += 1
m, total = int(sys.argv[3]), sum(shape)
want = [c * m // total for c in shape]
want[24] += m - sum(want)
rnd = random.Random(1000000)
getrandbits, randrange = rnd.getrandbits, rnd.randrange
out = set()
for plen in range(33):
    mask = (0xffffffff << (32 - plen)) & 0xffffffff
    got = 0
    while got < want[plen]:
        a = getrandbits(32) & mask
        if a >> 24 in (0, 10, 127) or a >> 24 >= 224:
            continue
        k = a << 6 | plen
        if k not in out:
            out.add(k)
            got += 1
with open(sys.argv[1], "w") as ipf, open(sys.argv[2], "w") as cf:
    for k in sorted(out):
        a, plen = k >> 6, k & 63
        p = f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}/{plen}"
        ipf.write(f"route add {p} dev cglfib4\n")
        cf.write(f"route add {p} dev cglfib4 fib 3\n")
print(len(out))' $d/ip1m.batch $d/cgl1m.batch $M > $d/count1m
	n1m=$(cat $d/count1m)
	load 4 cglfib4 3 $d/cgl1m.batch $d/ip1m.batch
	acc1m=$(accel 3)
	echo "3 $N" > $S/bench
	b=$(cat $S/bench)
	ours1m=$(get cgl_fib_ns_per_lookup)
	trie1m=$(get kernel_ns_per_lookup)
	differ1m=$(get differ)
	echo "fib bench 1M: $n1m synthetic IPv4 prefixes (pyasn 2014 length shares), unicast dev routes, $N lookups"
	echo "load 1M: cgl-ctl -batch ${t_cgl} ms, ip -batch (fib_trie) ${t_ip} ms: $(r $t_ip $t_cgl)x faster"
	echo "memory 1M: cgl_fib $((used_b / n1m)) B/route used (arena chunks grew $((mem_b / n1m)) B/route, after the 512k load's free space), fib_trie $((slab_b / n1m)) B/route of slab: $(r $slab_b $used_b)x less"
	echo "lookup 1M (accelerator: $acc1m): cgl_fib ${ours1m} ns, fib_table_lookup ${trie1m} ns: $(r $trie1m $ours1m)x; matched lengths differ for $differ1m of $N addresses; accelerator and Tree Bitmap differ for $(get accel_differ)"
	echo "size independence 1M: ${small} ns at 10 routes, ${ours1m} ns at $n1m routes: $(r $ours1m $small)x"
	ip link del cglfib4
	$ctl fib del 3
else
	ip link del cglfib0
fi
ip link del cglfib6 2>/dev/null || true
for f in 1 2 6; do $ctl fib del $f 2>/dev/null || true; done
rm -rf $d
