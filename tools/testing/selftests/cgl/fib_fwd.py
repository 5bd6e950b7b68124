#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Forwarding through bound FIBs, with real clients: two customers with the
same addresses (10.0.0.0/24 and 10.1.0.0/24, 2001:db8::/64 and
2001:db8:1::/64) sit in network namespaces behind veth pairs whose router
ends are bound to FIB 10 (customer A) and FIB 20 (customer B). ping,
ping -6 and TCP go through; ICMP errors (TTL, no route, unreachable,
prohibit, fragmentation needed, neighbour failure) come back from the
router's address; ARP and NDP are answered and learnt per FIB; the
customers never see each other's packets; bad inputs are refused with an
extack message and change nothing.

With CGL_FIB_ACCEL=N (fib_fwd_accel.sh: N=1) the module's accel_routes is
N for the run, so both FIBs forward through the lookup accelerator rather
than the Tree Bitmap alone; it is set back to its old value at the end."""

import errno
import ipaddress
import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, sys.path[0])
from cgl_netlink import *  # noqa: E402,F403

# include/uapi/linux/cgl_fib.h
(NEWFIB, DELFIB, GETFIB, NEWROUTE, DELROUTE, GETROUTE, C_FIB, C_ROUTE, MIRROR,
 BIND, UNBIND, GETPORT, NEWNEIGH, DELNEIGH, GETNEIGH, SETFIB, C_PORT,
 C_NEIGH) = range(1, 19)
(A_FIB_ID, A_FAMILY, A_DST, A_DST_LEN, A_TYPE, A_GATEWAY, A_OIF, A_METRIC, A_ADDR,
 A_REPLACE, A_BATCH, A_ROUTE, A_ROUTES4, A_ROUTES6, A_LOOKUPS, A_MISSES, A_DONE,
 A_PAD, A_TABLE, A_LOCALS, A_LOCAL, A_LLADDR, A_NEIGH_STATE, A_NEIGH_LIMIT,
 A_NEIGHS, A_STATS) = range(1, 27)
UNICAST, BLACKHOLE, UNREACHABLE, PROHIBIT = range(4)
NUD = ["INCOMPLETE", "REACHABLE", "STALE", "FAILED", "PERMANENT"]
STATS = ["rx", "forwarded", "local", "noroute", "ttl", "blackhole", "toobig",
         "unresolved", "drops", "icmp", "arp"]
AF_INET, AF_INET6 = 2, 10
NLA_F_NESTED = 0x8000
CGL_CTL = os.environ.get("CGL_CTL", "cgl-ctl")

ACCEL = os.environ.get("CGL_FIB_ACCEL")
ACCEL_PATH = "/sys/kernel/cgl/fib/accel_routes"
t = Checks("fib_fwd_accel" if ACCEL else "fib_fwd")
accel_old = open(ACCEL_PATH).read().strip()
if ACCEL:
    with open(ACCEL_PATH, "w") as f:
        f.write(ACCEL)
s = GenlSocket()
fam, _ = s.resolve("cgl_fib")


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.returncode} {r.stdout} {r.stderr}")
    return r


def ns(name, cmd, check=True):
    return sh(f"ip netns exec {name} {cmd}", check)


def ifindex(dev):
    return socket.if_nametoindex(dev)


def mac_of(dev, netns=None):
    p = f"ip netns exec {netns} " if netns else ""
    out = sh(f"{p}cat /sys/class/net/{dev}/address").stdout.strip()
    return bytes(int(x, 16) for x in out.split(":"))


def req(cmd, a, dump=False):
    return s.request(fam, cmd, a, dump=dump)


def local(prefix):
    n = ipaddress.ip_interface(prefix)
    return attr(A_LOCAL | NLA_F_NESTED, attr(A_ADDR, n.ip.packed) + a_u8(A_DST_LEN, n.network.prefixlen))


def bind(dev, fib, *addrs, oif=None):
    a = a_u32(A_FIB_ID, fib) + a_u32(A_OIF, oif if oif is not None else ifindex(dev))
    if addrs:
        a += attr(A_LOCALS | NLA_F_NESTED, b"".join(local(x) for x in addrs))
    return req(BIND, a)


def route(fib, prefix, dev=None, gw=None, rtype=None):
    net = ipaddress.ip_network(prefix)
    af = AF_INET if net.version == 4 else AF_INET6
    a = (a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af) + attr(A_DST, net.network_address.packed) +
         a_u8(A_DST_LEN, net.prefixlen))
    if dev:
        a += a_u32(A_OIF, ifindex(dev))
    if gw:
        a += attr(A_GATEWAY, ipaddress.ip_address(gw).packed)
    if rtype is not None:
        a += a_u8(A_TYPE, rtype)
    return req(NEWROUTE, a)


def neigh_key(fib, addr):
    ip = ipaddress.ip_address(addr)
    return (a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, AF_INET if ip.version == 4 else AF_INET6) +
            attr(A_ADDR, ip.packed))


def neigh_add(fib, addr, mac, dev, replace=False):
    a = neigh_key(fib, addr) + attr(A_LLADDR, mac) + a_u32(A_OIF, ifindex(dev))
    if replace:
        a += attr(A_REPLACE, b"")
    return req(NEWNEIGH, a)


def neighs(fib=None):
    a = a_u32(A_FIB_ID, fib) if fib is not None else b""
    out = {}
    for m in req(GETNEIGH, a, dump=True):
        ip = ipaddress.ip_address(m[A_ADDR][0])
        out[(m.u32(A_FIB_ID), str(ip))] = (NUD[m.u8(A_NEIGH_STATE)],
                                           m.get(A_LLADDR, [None])[0], m.u32(A_OIF))
    return out


def stats_of(m):
    st = parse_attrs(m[A_STATS][0])
    return {STATS[k - 1]: struct.unpack("Q", v[0][:8])[0] for k, v in st.items()
            if 1 <= k <= len(STATS)}


def port(dev):
    return req(GETPORT, a_u32(A_OIF, ifindex(dev)))[0]


def fib_info(fib):
    return req(GETFIB, a_u32(A_FIB_ID, fib))[0]


def ping(netns, dst, extra="", count=1):
    """ping's output; a ping that gets no answer at all never ends here
    (the tinyconfig guest has no POSIX timers for its -W/-w), so it is
    killed and reported with returncode None."""
    v6 = ":" in dst
    cmd = f"ip netns exec {netns} ping {'-6 ' if v6 else ''}-n -c {count} -W 2 {extra} {dst}"
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=count * 2 + 6)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return subprocess.CompletedProcess(cmd, None, out, "")


def in_echos(netns):
    """ICMP echo requests the namespace's stack received (/proc/net/snmp)."""
    lines = [l.split() for l in ns(netns, "cat /proc/net/snmp").stdout.splitlines()
             if l.startswith("Icmp:")]
    return int(lines[1][lines[0].index("InEchos")])


# --- topology --------------------------------------------------------------
CUST = {"a": 10, "b": 20}
for c in CUST:
    for side, (net4, net6) in enumerate([("10.0.0", "2001:db8:0"), ("10.1.0", "2001:db8:1")], 1):
        n = f"{c}{side}"
        sh(f"ip netns del {n}", check=False)
        # A namespace is torn down asynchronously: a previous run's veth
        # (its router end in this namespace) may still be there.
        sh(f"ip link del r{n}", check=False)
        for _ in range(50):
            if not os.path.exists(f"/sys/class/net/r{n}"):
                break
            time.sleep(0.1)
        sh(f"ip netns add {n}")
        sh(f"ip link add r{n} type veth peer name {n} netns {n}")
        sh(f"ip link set r{n} up")
        ns(n, "ip link set lo up")
        ns(n, f"ip addr add {net4}.2/24 dev {n}")
        ns(n, f"ip -6 addr add {net6}::2/64 dev {n} nodad")
        ns(n, f"ip link set {n} up")
        ns(n, f"ip route add default via {net4}.1")
        ns(n, f"ip -6 route add default via {net6}::1")
# Only customer A's far host has 10.1.0.3 and 10.5.0.1 (behind a gateway).
ns("a2", "ip addr add 10.1.0.3/24 dev a2")
ns("a2", "ip addr add 10.5.0.1/32 dev lo")
ns("b2", "ip addr add 10.6.0.1/32 dev lo")

for c, fib in CUST.items():
    sh(f"true")
    try:
        req(DELFIB, a_u32(A_FIB_ID, fib))
    except NetlinkError:
        pass
    req(NEWFIB, a_u32(A_FIB_ID, fib))
    bind(f"r{c}1", fib, "10.0.0.1/24", "2001:db8::1/64")
    bind(f"r{c}2", fib, "10.1.0.1/24", "2001:db8:1::1/64")
    route(fib, "10.0.0.0/24", dev=f"r{c}1")
    route(fib, "10.1.0.0/24", dev=f"r{c}2")
    route(fib, "2001:db8::/64", dev=f"r{c}1")
    route(fib, "2001:db8:1::/64", dev=f"r{c}2")
    route(fib, "10.9.0.0/16", rtype=UNREACHABLE)
    route(fib, "10.8.0.0/16", rtype=BLACKHOLE)
    route(fib, "10.7.0.0/16", rtype=PROHIBIT)
    route(fib, "2001:db8:9::/48", rtype=UNREACHABLE)
# A gateway route without an interface: resolved through the gateway's
# route. Customer A reaches 10.5.0.1 behind 10.1.0.2, B reaches 10.6.0.1.
route(10, "10.5.0.0/16", gw="10.1.0.2")
route(20, "10.6.0.0/16", gw="10.1.0.2")
if ACCEL:
    # Built once no request has come for 1 s, from the 100 ms tick.
    for _ in range(100):
        acc = [open(f"/sys/kernel/cgl/fib/by-id/{f}/accel").read().strip() for f in (10, 20)]
        if acc == ["3", "3"]:
            break
        time.sleep(0.1)
    t.check("accel_routes 1: FIBs 10 and 20 get IPv4 and IPv6 accelerators, nothing dirty",
            acc == ["3", "3"] and all(open(f"/sys/kernel/cgl/fib/by-id/{f}/accel_dirty").read().strip() == "0"
                                      for f in (10, 20)), acc)
t.check("4 namespaces, 2 FIBs, 4 bound ports",
        len(req(GETPORT, b"", dump=True)) == 4)

# --- forwarding ------------------------------------------------------------
for c in CUST:
    r = ping(f"{c}1", "10.1.0.2", count=3)
    t.check(f"customer {c}: ping 10.0.0.2 -> 10.1.0.2 through FIB {CUST[c]}",
            r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr)
    r = ping(f"{c}1", "2001:db8:1::2", count=3)
    t.check(f"customer {c}: ping -6 2001:db8::2 -> 2001:db8:1::2 (NDP both sides)",
            r.returncode == 0, r.stdout + r.stderr)
    r = ping(f"{c}1", "10.0.0.1")
    t.check(f"customer {c}: the router answers echo on its near address",
            r.returncode == 0, r.stdout)
    r = ping(f"{c}1", "10.1.0.1")
    t.check(f"customer {c}: ... and on its far address", r.returncode == 0, r.stdout)
    r = ping(f"{c}1", "2001:db8::1")
    t.check(f"customer {c}: ... and on its IPv6 address", r.returncode == 0, r.stdout)

r = ping("a1", "10.5.0.1")
t.check("gateway-only route: A reaches 10.5.0.1 via 10.1.0.2", r.returncode == 0, r.stdout)
r = ping("b1", "10.5.0.1")
t.check("... B has no such route: net unreachable from 10.0.0.1",
        "From 10.0.0.1" in r.stdout and "Net Unreachable" in r.stdout, r.stdout)
r = ping("b1", "10.6.0.1")
t.check("... and B reaches its own 10.6.0.1 via its 10.1.0.2", r.returncode == 0, r.stdout)

# Isolation: A's traffic to 10.1.0.2 reaches a2, never b2.
before_a, before_b = in_echos("a2"), in_echos("b2")
ping("a1", "10.1.0.2", count=5)
after_a, after_b = in_echos("a2"), in_echos("b2")
t.check("isolation: A's 5 echo requests reach a2 and none reaches b2",
        after_a - before_a == 5 and after_b == before_b,
        f"(a2 +{after_a - before_a}, b2 +{after_b - before_b})")
# 10.1.0.3 exists only for A: B's neighbour resolution fails.
r = ping("a1", "10.1.0.3")
t.check("A reaches 10.1.0.3 (only A has it)", r.returncode == 0, r.stdout)
r = ping("b1", "10.1.0.3", extra="-w 6", count=6)
t.check("B's 10.1.0.3 does not resolve: host unreachable from 10.0.0.1 after 3 probes",
        "From 10.0.0.1" in r.stdout and "Host Unreachable" in r.stdout, r.stdout)

n10, n20 = neighs(10), neighs(20)
ma2, mb2 = mac_of("a2", "a2"), mac_of("b2", "b2")
t.check("per-FIB neighbours: 10.1.0.2 is a2's MAC in FIB 10 and b2's in FIB 20",
        n10.get((10, "10.1.0.2"), (0, None))[1] == ma2 and
        n20.get((20, "10.1.0.2"), (0, None))[1] == mb2, f"{n10} {n20}")
t.check("... the IPv6 neighbours too",
        n10.get((10, "2001:db8:1::2"), (0, None))[1] == ma2 and
        n20.get((20, "2001:db8:1::2"), (0, None))[1] == mb2)
t.check("FIB 20 holds no neighbour of FIB 10", all(k[0] == 20 for k in n20))
st = n20.get((20, "10.1.0.3"), ("?",))[0]
t.check("B's unanswered 10.1.0.3 is FAILED (or already freed)", st in ("FAILED", "?"), st)

# --- ICMP errors -----------------------------------------------------------
r = ping("a1", "10.1.0.2", extra="-t 1")
t.check("TTL 1: time exceeded from 10.0.0.1",
        "From 10.0.0.1" in r.stdout and "Time to live exceeded" in r.stdout, r.stdout)
r = ping("a1", "2001:db8:1::2", extra="-t 1")
t.check("hop limit 1: time exceeded from 2001:db8::1",
        "From 2001:db8::1" in r.stdout and "Time exceeded" in r.stdout, r.stdout)
r = ping("a1", "10.200.0.1")
t.check("no route: net unreachable", "Destination Net Unreachable" in r.stdout, r.stdout)
r = ping("a1", "2001:db8:77::1")
t.check("no IPv6 route: no route", "No route" in r.stdout, r.stdout)
r = ping("a1", "10.9.0.1")
t.check("unreachable route: host unreachable", "Destination Host Unreachable" in r.stdout,
        r.stdout)
r = ping("a1", "10.7.0.1")
t.check("prohibit route: communication administratively prohibited",
        "Packet filtered" in r.stdout, r.stdout)
p0 = stats_of(port("ra1"))
r = ping("a1", "10.8.0.1")
p1 = stats_of(port("ra1"))
t.check("blackhole route: silence, counted",
        r.returncode != 0 and "From" not in r.stdout and p1["blackhole"] == p0["blackhole"] + 1,
        r.stdout)
sh("ip link set ra2 mtu 1300")
r = ping("a1", "10.1.0.2", extra="-M do -s 1400")
t.check("over the output MTU with DF: frag needed, mtu = 1300",
        "mtu = 1300" in r.stdout or "Frag needed" in r.stdout, r.stdout)
r = ping("a1", "2001:db8:1::2", extra="-s 1400")
t.check("IPv6 over the output MTU: packet too big, mtu = 1300",
        "mtu = 1300" in r.stdout or "Packet too big" in r.stdout, r.stdout)
sh("ip link set ra2 mtu 1500")

# --- TCP through the FIB (real client and server) ---------------------------
srv = subprocess.Popen(
    "ip netns exec a2 python3 -c \"import socket,hashlib\n"
    "s=socket.create_server(('10.1.0.2',7777));c,_=s.accept();h=hashlib.sha256()\n"
    "while True:\n d=c.recv(65536)\n if not d: break\n h.update(d)\n"
    "c.sendall(h.hexdigest().encode());c.close()\"", shell=True,
    stdout=subprocess.PIPE, text=True)
time.sleep(1)
cli = ns("a1", "python3 -c \"import socket,hashlib,os\n"
         "d=os.urandom(4<<20);c=socket.create_connection(('10.1.0.2',7777))\n"
         "c.sendall(d);c.shutdown(1);r=c.recv(100).decode()\n"
         "print('same' if r==hashlib.sha256(d).hexdigest() else 'differ')\"", check=False)
srv.wait(timeout=30)
t.check("TCP: 4 MiB from a1 to a2 arrive intact", cli.stdout.strip() == "same",
        cli.stdout + cli.stderr)

pa = stats_of(port("ra1"))
fa = stats_of(fib_info(10))
t.check("port counters: rx, forwarded, local, icmp, arp move",
        all(pa[k] > 0 for k in ("rx", "forwarded", "local", "icmp", "arp", "ttl",
                                "noroute")), pa)
t.check("FIB counters sum its ports", fa["rx"] >= pa["rx"] and fa["forwarded"] >= pa["forwarded"])
sysd = "/sys/kernel/cgl/fib/by-id/10/"
v = {n: int(open(sysd + n).read()) for n in
     ("routes4", "routes6", "neighbours", "neigh_limit", "rx_packets", "forwarded", "drops")}
fa = stats_of(fib_info(10))
t.check("per-FIB sysfs: by-id/10 has its routes, neighbours, limit and counters",
        v["routes4"] == 6 and v["routes6"] == 3 and v["neigh_limit"] == 1024 and
        v["neighbours"] == fib_info(10).u32(A_NEIGHS) and v["forwarded"] == fa["forwarded"] and
        v["rx_packets"] == fa["rx"] and
        v["drops"] == sum(fa[k] for k in ("noroute", "ttl", "blackhole", "toobig",
                                          "unresolved", "drops")), f"{v} {fa}")
t.check("... and by-id/20 its own", int(open("/sys/kernel/cgl/fib/by-id/20/routes4").read()) == 6)

# --- routes change under traffic --------------------------------------------
# On SMP the writer (cgl-ctl batches on one CPU) races the lock-free
# readers (forwarding in softirq): a steady ping from a1 to 10.1.0.2 must
# lose nothing while FIB 10 churns around the route it uses. Each round
# adds two /25s that take over 10.1.0.2 (same port), a /12 (marks
# accelerator entries dirty), 250 /24s (per-node accelerator updates),
# an IPv6 /80 under 2001:db8:1::/64, replaces 10.1.0.0/24 with another
# metric, then deletes what it added. With the accelerator, every run of
# the batch is followed by dropping and rebuilding all accelerators.
churn = "/tmp/fib_fwd_churn.batch"
with open(churn, "w") as f:
    for rnd in range(30):
        f.write("route add 10.1.0.0/25 dev ra2 fib 10\n"
                "route add 10.1.0.128/25 dev ra2 fib 10\n"
                "route add 172.16.0.0/12 dev ra2 fib 10\n"
                "route add 2001:db8:1::/80 dev ra2 fib 10\n")
        f.writelines(f"route add 100.{64 + rnd}.{i}.0/24 dev ra2 fib 10\n" for i in range(250))
        f.write(f"route replace 10.1.0.0/24 dev ra2 metric {rnd + 1} fib 10\n"
                "route del 10.1.0.0/25 fib 10\nroute del 10.1.0.128/25 fib 10\n"
                "route del 172.16.0.0/12 fib 10\nroute del 2001:db8:1::/80 fib 10\n")
        f.writelines(f"route del 100.{64 + rnd}.{i}.0/24 fib 10\n" for i in range(250))
    f.write("route replace 10.1.0.0/24 dev ra2 fib 10\n")
# 1,000 pings at 5 ms intervals; the batch runs again and again (at
# least once) until they are done.
pinger = subprocess.Popen(["ip", "netns", "exec", "a1", "ping", "-n", "-q", "-c", "1000",
                           "-i", "0.005", "-W", "2", "10.1.0.2"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
runs, churn_bad, toggles = 0, "", []
while churn_bad == "" and (runs == 0 or pinger.poll() is None):
    r = sh(f"{CGL_CTL} -batch {churn}", check=False)
    runs += 1
    if r.returncode != 0:
        churn_bad = r.stdout + r.stderr
    if ACCEL:
        # Drop every accelerator (readers fall back to the Tree Bitmap)
        # and build them again, under the same traffic.
        for v, want in (("1000000", "0"), (ACCEL, "3")):
            with open(ACCEL_PATH, "w") as f:
                f.write(v)
            toggles.append(open("/sys/kernel/cgl/fib/by-id/10/accel").read().strip() == want)
out = pinger.communicate(timeout=120)[0]
m = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", out)
sent, got = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
print(f"# churn: {runs} runs of the batch; {got} of {sent} pings answered meanwhile")
t.check("churn: 30 rounds of 1,016 route changes in FIB 10, again and again while "
        "traffic flows", churn_bad == "" and runs > 0, churn_bad)
t.check("... not one of the 1,000 pings sent meanwhile is lost",
        sent == 1000 and got == sent, out)
t.check("... and FIB 10 is back to its 6 IPv4 and 3 IPv6 routes",
        int(open("/sys/kernel/cgl/fib/by-id/10/routes4").read()) == 6 and
        int(open("/sys/kernel/cgl/fib/by-id/10/routes6").read()) == 3)
if ACCEL:
    t.check("... its accelerators were dropped and rebuilt after each run of the batch",
            len(toggles) == 2 * runs and all(toggles), toggles)
    t.check("... accelerated at the end, nothing left dirty",
            open("/sys/kernel/cgl/fib/by-id/10/accel").read().strip() == "3" and
            open("/sys/kernel/cgl/fib/by-id/10/accel_dirty").read().strip() == "0")

# --- cgl-ctl views -----------------------------------------------------------
r = sh(f"{CGL_CTL} neigh show fib 10", check=False)
t.check("cgl-ctl neigh show lists FIB 10's neighbours",
        r.returncode == 0 and re.search(r"10.1.0.2 dev ra2 lladdr \S+ (REACHABLE|STALE) fib 10", r.stdout),
        r.stdout + r.stderr)
r = sh(f"{CGL_CTL} fib ports", check=False)
t.check("cgl-ctl fib ports lists the 4 ports",
        r.returncode == 0 and all(d in r.stdout for d in ("ra1", "ra2", "rb1", "rb2")),
        r.stdout + r.stderr)

# --- neighbours: permanent, limits, errors -----------------------------------
mac = bytes([2, 0, 0, 0, 0, 0x42])
neigh_add(10, "10.1.0.50", mac, "ra2")
t.check("permanent neighbour added", neighs(10).get((10, "10.1.0.50"), ("",))[0] == "PERMANENT")
t.raises("duplicate neighbour without replace: EEXIST",
         lambda: neigh_add(10, "10.1.0.50", mac, "ra2"), errno.EEXIST)
neigh_add(10, "10.1.0.50", bytes([2, 0, 0, 0, 0, 0x43]), "ra2", replace=True)
t.check("replace changes the address",
        neighs(10)[(10, "10.1.0.50")][1] == bytes([2, 0, 0, 0, 0, 0x43]))
t.raises("neighbour on an interface of another FIB: ENODEV",
         lambda: neigh_add(10, "10.1.0.51", mac, "rb2"), errno.ENODEV)
t.raises("multicast link-layer address: EINVAL",
         lambda: neigh_add(10, "10.1.0.51", bytes([1, 0, 0x5e, 0, 0, 1]), "ra2"), errno.EINVAL)
t.raises("multicast neighbour address: EINVAL",
         lambda: neigh_add(10, "224.0.0.5", mac, "ra2"), errno.EINVAL)
t.raises("5-byte LLADDR: EINVAL",
         lambda: req(NEWNEIGH, neigh_key(10, "10.1.0.52") + attr(A_LLADDR, b"12345") +
                     a_u32(A_OIF, ifindex("ra2"))), errno.EINVAL)
t.raises("neighbour in a missing FIB: ENOENT",
         lambda: neigh_add(99, "10.1.0.51", mac, "ra2"), errno.ENOENT)
t.check("the refused neighbours left nothing", (10, "10.1.0.51") not in neighs(10))
req(DELNEIGH, neigh_key(10, "10.1.0.50"))
t.check("neighbour deleted", (10, "10.1.0.50") not in neighs(10))
t.raises("delete of a missing neighbour: ENOENT",
         lambda: req(DELNEIGH, neigh_key(10, "10.1.0.50")), errno.ENOENT)

count = fib_info(10).u32(A_NEIGHS)
req(SETFIB, a_u32(A_FIB_ID, 10) + a_u32(A_NEIGH_LIMIT, count))
t.check("neighbour limit set to the current count",
        fib_info(10).u32(A_NEIGH_LIMIT) == count)
t.raises("a permanent neighbour over the limit: ENOSPC",
         lambda: neigh_add(10, "10.1.0.60", mac, "ra2"), errno.ENOSPC)
ns("a2", "ip addr add 10.1.0.61/24 dev a2")
r = ping("a1", "10.1.0.61")
t.check("over the limit a new neighbour is refused: host unreachable",
        "Host Unreachable" in r.stdout and fib_info(10).u32(A_NEIGHS) == count, r.stdout)
r = ping("a1", "10.1.0.2")
t.check("... existing neighbours still work", r.returncode == 0)
req(SETFIB, a_u32(A_FIB_ID, 10) + a_u32(A_NEIGH_LIMIT, 1024))
r = ping("a1", "10.1.0.61")
t.check("limit raised: the new neighbour resolves", r.returncode == 0, r.stdout)
# A limit lowered below the count: a permanent entry is still replaced
# (in its slot; deleting and adding it again would hit the limit).
neigh_add(10, "10.1.0.62", mac, "ra2")
n1 = fib_info(10).u32(A_NEIGHS)
req(SETFIB, a_u32(A_FIB_ID, 10) + a_u32(A_NEIGH_LIMIT, 0))
neigh_add(10, "10.1.0.62", bytes([2, 0, 0, 0, 0, 0x44]), "ra2", replace=True)
t.check("limit 0, below the count: replacing a permanent neighbour works, in place",
        neighs(10).get((10, "10.1.0.62"), ("", b""))[:2] == ("PERMANENT", bytes([2, 0, 0, 0, 0, 0x44]))
        and fib_info(10).u32(A_NEIGHS) == n1, neighs(10).get((10, "10.1.0.62")))
req(DELNEIGH, neigh_key(10, "10.1.0.62"))
req(SETFIB, a_u32(A_FIB_ID, 10) + a_u32(A_NEIGH_LIMIT, 1024))

# --- bind errors ---------------------------------------------------------------
t.raises("bind lo: EOPNOTSUPP", lambda: bind("lo", 10), errno.EOPNOTSUPP)
t.raises("bind to a missing FIB: ENOENT", lambda: bind("ra1", 77), errno.ENOENT)
t.raises("bind an unknown ifindex: ENODEV", lambda: bind(None, 10, oif=999999), errno.ENODEV)
t.raises("9 IPv4 router addresses: E2BIG",
         lambda: bind("ra1", 10, *[f"10.0.0.{i}/24" for i in range(1, 10)]), errno.E2BIG)
t.raises("multicast router address: EINVAL",
         lambda: bind("ra1", 10, "224.0.0.1/24"), errno.EINVAL)
t.check("refused binds left ra1 as it was",
        port("ra1").u32(A_FIB_ID) == 10 and ping("a1", "10.1.0.2").returncode == 0)
t.raises("delete a FIB with bound ports: EBUSY",
         lambda: req(DELFIB, a_u32(A_FIB_ID, 10)), errno.EBUSY)
t.raises("unbind an unbound interface: ENOENT",
         lambda: req(UNBIND, a_u32(A_OIF, ifindex("lo"))), errno.ENOENT)
s2 = os.fork()
if s2 == 0:
    os.setgid(65534)
    os.setuid(65534)
    try:
        GenlSocket().request(fam, BIND, a_u32(A_FIB_ID, 10) + a_u32(A_OIF, ifindex("ra1")))
        os._exit(0)
    except NetlinkError as e:
        os._exit(e.errno)
_, st_ = os.waitpid(s2, 0)
t.check("bind without CAP_NET_ADMIN: EPERM", os.WEXITSTATUS(st_) == errno.EPERM)

# --- device removal, unbind ------------------------------------------------------
sh("ip netns del b2")
time.sleep(0.5)
ports = [m.u32(A_OIF) for m in req(GETPORT, b"", dump=True)]
t.check("deleting b2's namespace unbinds rb2 (its veth went away)", len(ports) == 3, ports)
t.check("... and its neighbours", all(v[2] in ports for v in neighs(20).values()))
r = ping("a1", "10.1.0.2")
t.check("customer A unaffected", r.returncode == 0)
req(UNBIND, a_u32(A_OIF, ifindex("ra1")))
r = ping("a1", "10.1.0.2")
t.check("unbound: ra1's packets go to the host's stack, which has no route for them",
        r.returncode != 0)
t.check("unbind dropped ra1's neighbours",
        all(v[2] != ifindex("ra1") for v in neighs(10).values()))

# --- cleanup -------------------------------------------------------------------
for n in ("a1", "a2", "b1"):
    sh(f"ip netns del {n}", check=False)
time.sleep(0.5)
t.check("all ports gone with their devices", req(GETPORT, b"", dump=True) == [])
for fib in CUST.values():
    req(DELFIB, a_u32(A_FIB_ID, fib))
t.check("FIBs deleted; no neighbours left", neighs() == {})
t.check("their sysfs directories are gone",
        not os.path.exists("/sys/kernel/cgl/fib/by-id/10") and
        not os.path.exists("/sys/kernel/cgl/fib/by-id/20"))
with open(ACCEL_PATH, "w") as f:
    f.write(accel_old)
sys.exit(1 if t.failed else 0)
