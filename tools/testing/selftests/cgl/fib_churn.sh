#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Forwarding lookups racing route updates: the RCU side of the multi-FIB.
#
#   netns s (s0) -- veth -- (rs) router, FIB 5 (rr) -- veth -- (r0) netns r
#
# FIB 5 holds 64 /24s in 10.64.0.0/16 and 64 /56s in 2001:db8:64::/48
# via r, which never change. While a UDP blaster in s sends to 256
# addresses in each family's, a writer adds
# and deletes thousands of other routes around them in a loop:
# more-specific routes via the same gateway (the answer stays the same),
# covering and neighbouring blackholes (a leaked one would swallow the
# packet), and unrelated prefixes that make the arena allocate, retire
# and recycle blocks. On the guest's two vCPUs the lookups of the
# forwarding path run on one CPU while the updates run on the other.
# One round with the lookup accelerator on (accel_routes 1), one with the
# Tree Bitmap alone. Each round asserts that no packet found no route or
# a blackhole, that r received almost all of them (UDP may drop a few
# in socket buffers, never on a wrong route), and that the writer got
# through its batches several times.

T=fib_churn
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
py="python3 $here/fib_fwd_bench.py"
ctl=cgl-ctl
S=/sys/kernel/cgl/fib
secs=${FIB_CHURN_SECS:-6}
d=$(mktemp -d)
accel_old=$(cat $S/accel_routes)

cleanup() {
	for n in s r; do ip netns del $n 2>/dev/null || true; done
	$ctl fib del 5 2>/dev/null || true
}
cleanup

# --- topology ------------------------------------------------------------------
for n in s r; do
	ip netns add $n
	ip -n $n link set lo up
done
ip link add rs type veth peer name s0 netns s
ip link add rr type veth peer name r0 netns r
ip link set rs up
ip link set rr up
ip -n s addr add 10.0.0.2/24 dev s0
ip -n s -6 addr add 2001:db8::2/64 dev s0 nodad
ip -n s link set s0 up
ip -n r addr add 10.1.0.2/24 dev r0
ip -n r -6 addr add 2001:db8:1::2/64 dev r0 nodad
ip -n r link set r0 up
ip -n s route add default via 10.0.0.1
ip -n s -6 route add default via 2001:db8::1
# Every address is local in r.
ip -n r route add local 0.0.0.0/0 dev lo table local
ip -n r -6 route add local ::/0 dev lo table local
ip netns exec r sysctl -qw net.ipv4.conf.all.accept_local=1

$ctl fib add 5
$ctl fib bind dev rs fib 5 addr 10.0.0.1/24 addr 2001:db8::1/64
$ctl fib bind dev rr fib 5 addr 10.1.0.1/24 addr 2001:db8:1::1/64
cat > $d/base.batch <<EOF
route add 10.0.0.0/24 dev rs fib 5
route add 10.1.0.0/24 dev rr fib 5
route add 2001:db8::/64 dev rs fib 5
route add 2001:db8:1::/64 dev rr fib 5
EOF
$ctl -batch $d/base.batch

# Stable routes: 64 /24s in 10.64.0.0/16 and 64 /56s in
# 2001:db8:64::/48 via r, whose Tree Bitmap nodes and accelerator roots
# the churn keeps rebuilding. Destinations in them, and the churn:
# routes that never change where those go (more or less specific, via
# the same gateway), and routes that would swallow them if a lookup ever
# returned one of them for a destination.
python3 - $d <<'EOF'
import ipaddress, random, sys
d = sys.argv[1]
rnd = random.Random(5)
via4, via6 = "via 10.1.0.2 dev rr", "via 2001:db8:1::2 dev rr"
b4, b6 = 10 << 24 | 64 << 16, int(ipaddress.ip_address("2001:db8:64::"))
s4 = rnd.sample(range(256), 64)
s6 = rnd.sample(range(256), 64)
stable = [f"10.64.0.0/16 {via4}", f"2001:db8:64::/48 {via6}"]
stable += [f"{ipaddress.ip_network((b4 | x << 8, 24))} {via4}" for x in s4]
stable += [f"{ipaddress.ip_network((b6 | x << 72, 56))} {via6}" for x in s6]
with open(f"{d}/stable.batch", "w") as f:
    f.writelines(f"route add {r} fib 5\n" for r in stable)
with open(f"{d}/dst4", "w") as f:
    for _ in range(256):
        f.write(f"{ipaddress.ip_address(b4 | rnd.choice(s4) << 8 | rnd.getrandbits(8))}\n")
with open(f"{d}/dst6", "w") as f:
    for _ in range(256):
        f.write(f"{ipaddress.ip_address(b6 | rnd.choice(s6) << 72 | rnd.getrandbits(72))}\n")
same, other = set(), set()
for _ in range(1500):
    ln = rnd.choice((17, 18, 20, 22, 23, 24, 24, 24, 24, 26, 28, 32))
    same.add(f"{ipaddress.ip_network(((b4 | rnd.getrandbits(16)) >> (32 - ln) << (32 - ln), ln))} {via4}")
    ln = rnd.choice((49, 52, 54, 56, 56, 56, 56, 60, 64, 72, 128))
    same.add(f"{ipaddress.ip_network(((b6 | rnd.getrandbits(80)) >> (128 - ln) << (128 - ln), ln))} {via6}")
same -= set(stable)
for p in ("10.0.0.0/8", "10.64.0.0/10", "10.64.0.0/12", "10.65.0.0/16", "10.63.0.0/16",
          "10.66.0.0/15", "0.0.0.0/0", "2001:db8::/32", "2001:db8:60::/44", "2001:db8:65::/48",
          "2001:db8:63::/48", "2001:db8:64::/46", "::/0"):
    other.add(f"blackhole {p}")
for _ in range(3000):
    ln = rnd.choice((16, 20, 24, 24, 24, 28))
    a = 172 << 24 | 16 << 16 | rnd.getrandbits(20)
    other.add(f"blackhole {ipaddress.ip_network((a >> (32 - ln) << (32 - ln), ln))}")
for _ in range(1500):
    ln = rnd.choice((48, 56, 64, 64, 128))
    p = int(ipaddress.ip_address("2001:db9::")) | rnd.getrandbits(96)
    other.add(f"blackhole {ipaddress.ip_network((p >> (128 - ln) << (128 - ln), ln))}")
routes = sorted(same) + sorted(other)
rnd.shuffle(routes)
with open(f"{d}/add.batch", "w") as f:
    f.writelines(f"route add {r} fib 5\n" for r in routes)
rnd.shuffle(routes)
with open(f"{d}/del.batch", "w") as f:
    f.writelines(f"route del {next(w for w in r.split() if '/' in w)} fib 5\n" for r in routes)
print(len(routes), file=open(f"{d}/count", "w"))
EOF
$ctl -batch $d/stable.batch
n=$(cat $d/count)

# Counter NAME of FIB 5 (its ports' sum).
stat() { $ctl -j fib show 5 | python3 -c "import json, sys; print(json.load(sys.stdin)['stats']['$1'])"; }

# round NAME ACCEL_ROUTES
round() {
	echo $2 > $S/accel_routes
	if [ $2 = 1 ]; then
		# The accelerators come once requests pause; then updates keep
		# them up to date.
		for _ in $(seq 50); do
			[ "$(cat $S/by-id/5/accel)" = 3 ] && break
			sleep 0.2
		done
	fi
	acc=$(cat $S/by-id/5/accel)
	nr0=$(stat noroute) bh0=$(stat blackhole) fw0=$(stat forwarded)
	rm -f $d/stop $d/churn.fail
	(
		i=0
		while [ ! -f $d/stop ]; do
			$ctl -batch $d/add.batch > $d/churn.err 2>&1 || { echo add > $d/churn.fail; break; }
			$ctl -batch $d/del.batch > $d/churn.err 2>&1 || { echo del > $d/churn.fail; break; }
			i=$((i + 1))
		done
		echo $i > $d/churn.n
	) &
	cp=$!
	sent=0 got=0
	for f in 4 6; do
		rm -f $d/ready
		ip netns exec r $py recv $d/ready > $d/recv.out &
		rp=$!
		while [ ! -f $d/ready ]; do sleep 0.1; done
		ip netns exec s $py send $f $d/dst$f $secs > $d/sent
		wait $rp
		sent=$((sent + $(cut -d' ' -f1 $d/sent))) got=$((got + $(cat $d/recv.out)))
	done
	nr=$(($(stat noroute) - nr0)) bh=$(($(stat blackhole) - bh0)) fw=$(($(stat forwarded) - fw0))
	# Then the kernel's own lookup loop, far faster than the packets.
	echo "5 0a400000 16 $secs" > $S/torture
	t4=$(cat $S/torture)
	echo "5 20010db8006400000000000000000000 48 $secs" > $S/torture
	t6=$(cat $S/torture)
	touch $d/stop
	wait $cp
	loops=$(cat $d/churn.n)
	echo "# $1 (accel $acc): sent $sent, received $got, forwarded $fw, noroute $nr, blackhole $bh; $loops x ($n adds + $n deletes)"
	echo "# $1: torture IPv4: $t4; IPv6: $t6"
	[ -f $d/churn.fail ] && echo "# the writer failed: $(cat $d/churn.fail): $(tail -3 $d/churn.err)"
	check "$1: the writer added and deleted its $n routes at least twice meanwhile" \
		"[ ! -f $d/churn.fail ] && [ $loops -ge 2 ]"
	check "$1: no lookup of a stable destination found no route or a blackhole" \
		"[ $nr = 0 ] && [ $bh = 0 ] && [ $fw -ge $sent ]"
	check "$1: r received at least 95% of the $sent datagrams" "[ $((got * 100)) -ge $((sent * 95)) ]"
	for t in "$t4" "$t6"; do
		set -- "$1" $t
		check "$1: the kernel's lookup loop ($3 lookups) always found the stable gateway" \
			"[ $3 -gt 0 ] && [ $5 = 0 ] && [ $7 = 0 ] && [ $9 = 0 ]"
	done
}

round accelerated 1
check "accelerated: FIB 5 had both accelerators" "[ $acc = 3 ]"
round "tree bitmap" 4294967295
check "tree bitmap: FIB 5 had no accelerator" "[ $acc = 0 ]"

echo $accel_old > $S/accel_routes
cleanup
rm -rf $d
finish
