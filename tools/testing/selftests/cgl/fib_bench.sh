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
# FIB for size independence. Prints figures and ratios; asserts nothing.

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

echo "1 $N" > $S/bench
b=$(cat $S/bench)
get() { echo "$b" | tr ' ' '\n' | awk -v k="$1" 'f { print; exit } $0 == k { f = 1 }'; }
ours=$(get cgl_fib_ns_per_lookup)
trie=$(get fib_trie_ns_per_lookup)
differ=$(get differ)

$ctl fib del 2 2>/dev/null || true
$ctl fib add 2
head -10 $d/cgl.batch | sed 's/ fib 1$/ fib 2/' > $d/small.batch
$ctl -batch $d/small.batch
echo "2 $N" > $S/bench
small=$(cat $S/bench | tr ' ' '\n' | awk 'f { print; exit } $0 == "cgl_fib_ns_per_lookup" { f = 1 }')

r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
echo "fib bench: $n unique IPv4 prefixes (pyasn 2014), unicast dev routes, $N lookups"
echo "load: cgl-ctl -batch ${t_cgl} ms, ip -batch (fib_trie) ${t_ip} ms: $(r $t_ip $t_cgl)x faster"
echo "memory: cgl_fib $(((used1 - used0) / n)) B/route used ($(((mem1 - mem0) / n)) B/route of arena chunks), fib_trie $(((s1 - s0) / n)) B/route of slab: $(r $(((s1 - s0))) $((used1 - used0)))x less"
echo "lookup: cgl_fib ${ours} ns, fib_table_lookup ${trie} ns: $(r $trie $ours)x; matched lengths differ for $differ of $N addresses"
echo "size independence: ${small} ns at 10 routes, ${ours} ns at $n routes: $(r $ours $small)x"
ip link del cglfib0
$ctl fib del 1
$ctl fib del 2
rm -rf $d
