#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Forwarding throughput in the guest (make bench-fwd): cgl_fib against the
# kernel's own IPv4/IPv6 forwarding on the same topology,
#
#   netns s (s0) -- veth -- (rs) router, init netns (rr) -- veth -- (r0) netns r
#
# Both hold the full tables: the pyasn RouteViews 2014 IPv4 prefixes and
# the 2015 IPv6 ones, all via 10.1.0.2 / 2001:db8:1::2 (r), plus the two
# connected subnets: in FIB 1 (cgl-ctl -batch) and in the kernel's main
# table (ip -batch). Kernel run: rs and rr unbound, with their addresses,
# forwarding on. cgl run: rs and rr bound to FIB 1 with the same
# addresses, kernel forwarding off. A python UDP blaster in s sends
# 32-byte datagrams to 1,024 addresses of random table prefixes for
# FWD_BENCH_SECS (5) seconds; a python receiver in r (any address is
# local there) counts them. A third run sends over a direct veth between
# two namespaces (no router) to measure the sender and receiver alone:
# the difference of the per-packet times is the router's share. The modes
# alternate FWD_BENCH_ROUNDS (3) times, in turn kernel or cgl_fib first;
# the best run of each counts (each round's ratio is printed too: under
# TCG on a busy host single runs vary by 20%).
# Prints figures and ratios (cgl/kernel); asserts nothing.

set -e
here=$(cd "$(dirname "$0")" && pwd)
py="python3 $here/fib_fwd_bench.py"
ctl=cgl-ctl
data=${CGL_PYASN_DIR:-$CGL_REPO/build/pyasn/usr/lib/python3/dist-packages/data}
table4=$data/ipasn_20140513.dat.gz
table6=$data/ipasn6_20151101.dat.gz
secs=${FWD_BENCH_SECS:-5}
rounds=${FWD_BENCH_ROUNDS:-3}
for f in $table4 $table6; do
	[ -f "$f" ] || { echo "fib_fwd_bench: $f missing (make check downloads it)"; exit 1; }
done
d=$(mktemp -d)

cleanup() {
	for n in s r bs br; do ip netns del $n 2>/dev/null || true; done
	$ctl fib del 1 2>/dev/null || true
	sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 2>/dev/null || true
}
cleanup

# --- topology ----------------------------------------------------------------
for n in s r bs br; do
	ip netns add $n
	ip -n $n link set lo up
done
ip link add rs type veth peer name s0 netns s
ip link add rr type veth peer name r0 netns r
ip -n bs link add b0 type veth peer name b1 netns br
addr() { # NETNS DEV ADDR4 ADDR6
	ip ${1:+-n $1} addr add $3 dev $2
	ip ${1:+-n $1} -6 addr add $4 dev $2 nodad
	ip ${1:+-n $1} link set $2 up
}
addr "" rs 10.0.0.1/24 2001:db8::1/64
addr "" rr 10.1.0.1/24 2001:db8:1::1/64
addr s s0 10.0.0.2/24 2001:db8::2/64
addr r r0 10.1.0.2/24 2001:db8:1::2/64
addr bs b0 10.2.0.1/24 2001:db8:2::1/64
addr br b1 10.2.0.2/24 2001:db8:2::2/64
ip -n s route add default via 10.0.0.1
ip -n s -6 route add default via 2001:db8::1
ip -n bs route add default via 10.2.0.2
ip -n bs -6 route add default via 2001:db8:2::2
# Receivers: every address is local (the destinations are spread over
# the whole table); accept_local lets sources pass the local 0/0 route.
for n in r br; do
	ip -n $n route add local 0.0.0.0/0 dev lo table local
	ip -n $n -6 route add local ::/0 dev lo table local
	ip netns exec $n sysctl -qw net.ipv4.conf.all.accept_local=1
done

# --- tables --------------------------------------------------------------------
set -- $($py gen $table4 $table6 $d 1024)
n4=$1 n6=$2
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
t=$(date +%s%N)
split -l 65536 $d/ip4.batch $d/ip4.slice.
for f in $d/ip4.slice.*; do ip -force -batch $f; done
ip -6 -force -batch $d/ip6.batch
echo "fwd bench: main table: $n4 IPv4 + $n6 IPv6 routes via r loaded by ip -batch in $(ms $t) ms"
$ctl fib add 1
bind() {
	$ctl fib bind dev rs fib 1 addr 10.0.0.1/24 addr 2001:db8::1/64
	$ctl fib bind dev rr fib 1 addr 10.1.0.1/24 addr 2001:db8:1::1/64
}
unbind() {
	$ctl fib unbind dev rs
	$ctl fib unbind dev rr
}
bind
t=$(date +%s%N)
$ctl -batch $d/cgl.batch
echo "fwd bench: FIB 1: the same + 2 connected routes per family loaded by cgl-ctl -batch in $(ms $t) ms"
# The lookup accelerators come once the control plane has been quiet for
# a second: wait for both families' (accel = 3) before measuring.
for _ in $(seq 100); do
	[ "$(cat /sys/kernel/cgl/fib/by-id/1/accel)" = 3 ] && break
	sleep 0.2
done
echo "fwd bench: FIB 1 lookup accelerators (1: IPv4, 2: IPv6): $(cat /sys/kernel/cgl/fib/by-id/1/accel)"
unbind

mode() {
	case $1 in
	kernel)
		sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ;;
	cgl)
		sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
		bind ;;
	esac
}
unmode() { [ $1 = cgl ] && unbind || true; }

# FIB 1's forwarded counter (its bound ports' sum; 0 when unbound).
fwd() { $ctl fib show 1 | awk '$1 == "forwarded:" { print $2 }'; }

# run MODE FAMILY ROUND: appends "MODE FAMILY SENT RECEIVED ROUTER_OUT NS" to $d/runs
run() {
	sn=s rn=r
	[ $1 = direct ] && sn=bs rn=br
	rm -f $d/ready
	ip netns exec $rn $py recv $d/ready > $d/recv.out &
	rp=$!
	while [ ! -f $d/ready ]; do sleep 0.1; done
	o0=$(cat /sys/class/net/rr/statistics/tx_packets) f0=$(fwd)
	set -- $1 $2 $3 $(ip netns exec $sn $py send $2 $d/dst$2 $secs)
	wait $rp
	got=$(cat $d/recv.out)
	out=$(($(cat /sys/class/net/rr/statistics/tx_packets) - o0)) f=$(($(fwd) - f0))
	echo "$1 $2 $4 $got $out $5" >> $d/runs
	awk -v m=$1 -v f=$2 -v r=$3 -v s=$4 -v g=$got -v o=$out -v ns=$5 -v e=$6 -v fw=$f 'BEGIN {
		printf "fwd bench: round %d IPv%s %-6s sent %d pkt/s, received %d pkt/s, loss %.2f%%%s%s%s\n",
			r, f, m, s * 1e9 / ns, g * 1e9 / ns, s ? 100 * (s - g) / s : 0,
			m == "direct" ? "" : sprintf(", out of rr %d pkt/s", o * 1e9 / ns),
			m == "cgl" ? sprintf(", FIB 1 forwarded %d", fw) : "", e ? ", send errors " e : "" }'
}

: > $d/runs
i=1
while [ $i -le $rounds ]; do
	# Odd rounds run the kernel first, even rounds cgl_fib first.
	order="kernel cgl direct"
	[ $((i % 2)) = 0 ] && order="cgl kernel direct"
	for m in $order; do
		mode $m
		run $m 4 $i
		run $m 6 $i
		unmode $m
	done
	i=$((i + 1))
done
echo "fwd bench: $n4 IPv4 (pyasn 2014) / $n6 IPv6 (pyasn 2015) routes in both, 1024 destinations, 32-byte UDP, best of $rounds x ${secs} s"
awk '
{ pps = $4 * 1e9 / $6; k = $1 " " $2; all[k] = all[k] " " pps
  if (pps > best[k]) { best[k] = pps; loss[k] = $3 ? 100 * ($3 - $4) / $3 : 0 } }
function r(a, b) { return b ? sprintf("%.2f", a / b) : "n/a" }
function us(m, f) { return 1e6 / best[m " " f] - 1e6 / best["direct " f] }
END {
	for (f = 4; f <= 6; f += 2) {
		c = best["cgl " f]; k = best["kernel " f]
		printf "forward IPv%d: cgl_fib %d pkt/s (loss %.2f%%), kernel %d pkt/s (loss %.2f%%): %sx (cgl_fib/kernel)\n",
			f, c, loss["cgl " f], k, loss["kernel " f], r(c, k)
		printf "router time IPv%d: cgl_fib %.1f us/pkt, kernel %.1f us/pkt: %sx (kernel/cgl_fib; sender and receiver alone, no router: %d pkt/s)\n",
			f, us("cgl", f), us("kernel", f), r(us("kernel", f), us("cgl", f)), best["direct " f]
		n = split(all["cgl " f], ca, " "); split(all["kernel " f], ka, " "); l = ""
		for (i = 1; i <= n; i++)
			l = l " " r(ca[i], ka[i])
		printf "forward IPv%d: cgl_fib/kernel of each round:%s\n", f, l
	}
}' $d/runs

cleanup
rm -rf $d
