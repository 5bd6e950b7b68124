#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The multi-FIB module through its netlink family: FIBs with overlapping
addresses stay apart, every bad input is refused with an extack message
and leaves the FIB unchanged, batches, replace, dumps over many buffers,
and longest-prefix matches against a model and against the kernel's own
fib_trie (`ip route get fibmatch`) on the same routes."""

import errno
import ipaddress
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, sys.path[0])
from cgl_netlink import *  # noqa: E402,F403

# include/uapi/linux/cgl_fib.h
(NEWFIB, DELFIB, GETFIB, NEWROUTE, DELROUTE, GETROUTE, C_FIB, C_ROUTE) = range(1, 9)
(A_FIB_ID, A_FAMILY, A_DST, A_DST_LEN, A_TYPE, A_GATEWAY, A_OIF, A_METRIC, A_ADDR,
 A_REPLACE, A_BATCH, A_ROUTE, A_ROUTES4, A_ROUTES6, A_LOOKUPS, A_MISSES, A_DONE,
 A_PAD) = range(1, 19)
UNICAST, BLACKHOLE, UNREACHABLE, PROHIBIT = range(4)
AF_INET, AF_INET6 = 2, 10

t = Checks("fib")
s = GenlSocket()
fam, _ = s.resolve("cgl_fib")
t.check("family resolves", fam > 0)
rng = random.Random(4242)


def af_of(net):
    return AF_INET if net.version == 4 else AF_INET6


def route_attrs(net, rtype=None, gw=None, oif=None, metric=None):
    a = attr(A_DST, net.network_address.packed) + a_u8(A_DST_LEN, net.prefixlen)
    if rtype is not None:
        a += a_u8(A_TYPE, rtype)
    if gw is not None:
        a += attr(A_GATEWAY, ipaddress.ip_address(gw).packed)
    if oif is not None:
        a += a_u32(A_OIF, oif)
    if metric is not None:
        a += a_u32(A_METRIC, metric)
    return a


def new_fib(i):
    return s.request(fam, NEWFIB, a_u32(A_FIB_ID, i))


def del_fib(i):
    return s.request(fam, DELFIB, a_u32(A_FIB_ID, i))


def add(fib, prefix, replace=False, **kw):
    net = ipaddress.ip_network(prefix)
    a = a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af_of(net)) + route_attrs(net, **kw)
    if replace:
        a += attr(A_REPLACE, b"")
    return s.request(fam, NEWROUTE, a)


def add_raw(fib, af, extra):
    return s.request(fam, NEWROUTE, a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af) + extra)


def delete(fib, prefix):
    net = ipaddress.ip_network(prefix)
    a = (a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af_of(net)) +
         attr(A_DST, net.network_address.packed) + a_u8(A_DST_LEN, net.prefixlen))
    return s.request(fam, DELROUTE, a)


def get(fib, addr):
    ip = ipaddress.ip_address(addr)
    af = AF_INET if ip.version == 4 else AF_INET6
    r = s.request(fam, GETROUTE, a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af) + attr(A_ADDR, ip.packed))[0]
    net = ipaddress.ip_network((ipaddress.ip_address(r[A_DST][0]), r.u8(A_DST_LEN)))
    gw = str(ipaddress.ip_address(r[A_GATEWAY][0])) if A_GATEWAY in r else None
    return str(net), r.u8(A_TYPE), gw, r.u32(A_OIF) if A_OIF in r else 0


def dump(fib, af=None):
    a = a_u32(A_FIB_ID, fib) + (a_u8(A_FAMILY, af) if af else b"")
    out = []
    for r in s.request(fam, GETROUTE, a, dump=True):
        out.append(str(ipaddress.ip_network((ipaddress.ip_address(r[A_DST][0]), r.u8(A_DST_LEN)))))
    return out


def fib_info(i):
    r = s.request(fam, GETFIB, a_u32(A_FIB_ID, i))[0]
    return r.u64(A_ROUTES4), r.u64(A_ROUTES6), r.u64(A_LOOKUPS), r.u64(A_MISSES)


def batch(fib, af, nets, replace=False, **kw):
    nest = b"".join(attr(A_ROUTE | 0x8000, route_attrs(n, **kw)) for n in nets)
    a = a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af) + attr(A_BATCH | 0x8000, nest)
    if replace:
        a += attr(A_REPLACE, b"")
    return s.request(fam, NEWROUTE, a)


for f in (10, 20, 30, 40):
    try:
        del_fib(f)
    except NetlinkError:
        pass

# --- FIBs ---
new_fib(10)
new_fib(20)
t.check("two FIBs created", [x.u32(A_FIB_ID) for x in s.request(fam, GETFIB, dump=True)][:2] == [10, 20])
t.raises("a FIB that exists: EEXIST", lambda: new_fib(10), errno.EEXIST)
t.raises("FIB id 0xffffffff is reserved: EINVAL", lambda: new_fib(0xFFFFFFFF), errno.EINVAL)
t.raises("deleting a missing FIB: ENOENT", lambda: del_fib(77), errno.ENOENT)
t.raises("a route in a missing FIB: ENOENT", lambda: add(77, "10.0.0.0/8", rtype=BLACKHOLE), errno.ENOENT)

# --- two customers with the same addresses ---
add(10, "10.0.0.0/24", gw="192.0.2.1", oif=1)
add(20, "10.0.0.0/24", rtype=BLACKHOLE)
add(10, "2001:db8::/32", gw="fe80::1", oif=1)
add(20, "2001:db8::/32", rtype=PROHIBIT)
t.check("FIB 10 forwards 10.0.0.5 via its gateway", get(10, "10.0.0.5") == ("10.0.0.0/24", UNICAST, "192.0.2.1", 1))
t.check("FIB 20 blackholes the same address", get(20, "10.0.0.5") == ("10.0.0.0/24", BLACKHOLE, None, 0))
t.check("FIB 10 IPv6", get(10, "2001:db8::5") == ("2001:db8::/32", UNICAST, "fe80::1", 1))
t.check("FIB 20 IPv6 prohibit", get(20, "2001:db8::5")[1] == PROHIBIT)
t.raises("no route: ENETUNREACH", lambda: get(10, "10.0.1.1"), errno.ENETUNREACH)

# --- bad input: refused with a message, FIB unchanged ---
before = dump(10)
t.raises("host bits set: EINVAL", lambda: add_raw(10, AF_INET, attr(A_DST, bytes([10, 0, 0, 1])) + a_u8(A_DST_LEN, 8) + a_u8(A_TYPE, BLACKHOLE)), errno.EINVAL)
t.raises("prefix length 33 for IPv4: EINVAL", lambda: add_raw(10, AF_INET, attr(A_DST, bytes(4)) + a_u8(A_DST_LEN, 33) + a_u8(A_TYPE, BLACKHOLE)), errno.EINVAL)
t.raises("prefix length 129: refused by the policy", lambda: add_raw(10, AF_INET6, attr(A_DST, bytes(16)) + a_u8(A_DST_LEN, 129) + a_u8(A_TYPE, BLACKHOLE)), errno.ERANGE)
t.raises("5-byte IPv4 address: EINVAL", lambda: add_raw(10, AF_INET, attr(A_DST, bytes(5)) + a_u8(A_DST_LEN, 8) + a_u8(A_TYPE, BLACKHOLE)), errno.EINVAL)
t.raises("unknown family: EAFNOSUPPORT", lambda: add_raw(10, 7, attr(A_DST, bytes(4)) + a_u8(A_DST_LEN, 8)), errno.EAFNOSUPPORT)
t.raises("duplicate route: EEXIST", lambda: add(10, "10.0.0.0/24", gw="192.0.2.9", oif=1), errno.EEXIST)
t.raises("unknown interface: ENODEV", lambda: add(10, "10.9.0.0/16", oif=999999), errno.ENODEV)
t.raises("gateway of the other family: EINVAL", lambda: add(10, "10.9.0.0/16", gw="2001:db8::1"), errno.EINVAL)
t.raises("unicast without gateway or interface: EINVAL", lambda: add(10, "10.9.0.0/16"), errno.EINVAL)
t.raises("blackhole with a gateway: EINVAL", lambda: add(10, "10.9.0.0/16", rtype=BLACKHOLE, gw="192.0.2.1"), errno.EINVAL)
t.raises("bad route type: refused by the policy", lambda: add(10, "10.9.0.0/16", rtype=9), errno.ERANGE)
t.raises("deleting a missing route: ENOENT", lambda: delete(10, "10.9.0.0/16"), errno.ENOENT)
t.raises("missing destination: EINVAL", lambda: add_raw(10, AF_INET, a_u8(A_DST_LEN, 8)), errno.EINVAL)
t.check("after all that, FIB 10 is unchanged", dump(10) == before, f"{dump(10)} != {before}")
t.check("FIB 10 counts 1 IPv4 and 1 IPv6 route", fib_info(10)[:2] == (1, 1))

# --- replace ---
add(10, "10.0.0.0/24", replace=True, gw="192.0.2.7", oif=1)
t.check("replace changes the nexthop", get(10, "10.0.0.9")[2] == "192.0.2.7")
add(10, "10.5.0.0/16", replace=True, rtype=UNREACHABLE)
t.check("replace of a missing route adds it", get(10, "10.5.1.1")[1] == UNREACHABLE and fib_info(10)[0] == 2)

# --- privileges ---
pid = os.fork()
if pid == 0:
    os.setuid(65534)
    try:
        new_fib(99)
        os._exit(1)
    except NetlinkError as e:
        os._exit(0 if e.errno == errno.EPERM else 2)
_, st = os.waitpid(pid, 0)
t.check("an unprivileged user cannot create a FIB (EPERM)", os.WEXITSTATUS(st) == 0)

# --- batches, model, dump ---
new_fib(30)
model = {}
nets = set()
while len(nets) < 3000:
    ln = rng.choice([8, 12, 16, 18, 20, 22, 24, 24, 24, 28, 32])
    nets.add(ipaddress.ip_network((rng.getrandbits(32) >> (32 - ln) << (32 - ln), ln)))
nets = sorted(nets)
gws = ["192.0.2.%d" % i for i in range(1, 9)]
done = 0
for i in range(0, len(nets), 1000):
    chunk = nets[i:i + 1000]
    for n in chunk:
        model[n] = gws[int(n.network_address) % len(gws)]
    nest = b"".join(attr(A_ROUTE | 0x8000, route_attrs(n, gw=model[n], oif=1)) for n in chunk)
    r = s.request(fam, NEWROUTE, a_u32(A_FIB_ID, 30) + a_u8(A_FAMILY, AF_INET) + attr(A_BATCH | 0x8000, nest))
    done += r[0].u32(A_DONE)
t.check("3000 routes loaded in batches of 1000", done == 3000 and fib_info(30)[0] == 3000)
d = dump(30)
t.check("the dump (many buffers) returns every route, in order",
        d == [str(n) for n in sorted(model, key=lambda n: (int(n.network_address), n.prefixlen))])
sys.stdout.flush()


def lpm(model, ip):
    best = None
    for n in model:
        if ip in n and (best is None or n.prefixlen > best.prefixlen):
            best = n
    return best


addrs = [ipaddress.ip_address(rng.getrandbits(32)) for _ in range(300)]
addrs += [n.network_address + rng.randrange(n.num_addresses) for n in rng.sample(nets, 300)]
bad = 0
for ip in addrs:
    want = lpm(model, ip)
    try:
        got = get(30, str(ip))
    except NetlinkError as e:
        got = None if e.errno == errno.ENETUNREACH else e
    if (want is None and got is not None) or (want is not None and (got is None or got[0] != str(want) or got[2] != model[want])):
        bad += 1
t.check("600 lookups equal the model's longest prefix match", bad == 0, f"({bad} differ)")

bad_nest = b"".join(attr(A_ROUTE | 0x8000, route_attrs(ipaddress.ip_network(f"172.16.{i}.0/24"), rtype=BLACKHOLE)) for i in range(5))
bad_nest += attr(A_ROUTE | 0x8000, attr(A_DST, bytes([172, 16, 9, 1])) + a_u8(A_DST_LEN, 24) + a_u8(A_TYPE, BLACKHOLE))
nh_now = lambda: int(open("/sys/kernel/cgl/fib/nexthops").read())  # noqa: E731


def exact(fib, prefix):
    """FIB `fib`'s route of exactly `prefix`: (type, gateway), or None."""
    net = ipaddress.ip_network(prefix)
    a = (a_u32(A_FIB_ID, fib) + a_u8(A_FAMILY, af_of(net)) +
         attr(A_DST, net.network_address.packed) + a_u8(A_DST_LEN, net.prefixlen))
    try:
        r = s.request(fam, GETROUTE, a)[0]
    except NetlinkError as e:
        if e.errno == errno.ENETUNREACH:
            return None
        raise
    return r.u8(A_TYPE), str(ipaddress.ip_address(r[A_GATEWAY][0])) if A_GATEWAY in r else None


def batch_fails(what, nest, want_errno, want_idx, replace=False):
    """Sends `nest` as a batch to FIB 30; checks it fails with `want_errno`
    naming route `want_idx`, and that FIB 30 is as it was."""
    routes0, dump0, nh0 = fib_info(30)[0], dump(30), nh_now()
    a = a_u32(A_FIB_ID, 30) + a_u8(A_FAMILY, AF_INET) + attr(A_BATCH | 0x8000, nest)
    if replace:
        a += attr(A_REPLACE, b"")
    try:
        s.request(fam, NEWROUTE, a)
        t.check(what, False, "accepted")
    except NetlinkError as e:
        t.check(what, e.errno == want_errno and e.msg and e.msg.startswith(f"route {want_idx} of the batch:"),
                f"({errno.errorcode.get(e.errno)}, {e.msg!r})")
    t.check("... and nothing of it stays: FIB 30's routes and nexthops are as before",
            fib_info(30)[0] == routes0 and dump(30) == dump0 and nh_now() == nh0,
            f"{fib_info(30)[0]} routes, {nh_now()} nexthops, was {routes0}, {nh0}")


def nest_of(nets, **kw):
    return b"".join(attr(A_ROUTE | 0x8000, route_attrs(n, **kw)) for n in nets)


new24 = [ipaddress.ip_network(f"172.16.{i}.0/24") for i in range(5)]
# Checked before anything is applied: a route with host bits.
batch_fails("a batch with a bad route at index 5 fails naming it", bad_nest, errno.EINVAL, 5)
t.check("... the five good routes before it are not there", all(exact(30, n) is None for n in new24))
# Fails only when applied: route 5 exists; the five added before it go.
old_net = sorted(model)[100]
batch_fails("a batch whose route 5 exists fails naming it (EEXIST)",
            nest_of(new24 + [old_net], rtype=BLACKHOLE), errno.EEXIST, 5)
t.check("... the five routes added before it are taken back, the existing one keeps its gateway",
        all(exact(30, n) is None for n in new24) and exact(30, old_net) == (UNICAST, model[old_net]))
# A prefix twice in one batch.
batch_fails("a batch with a prefix twice fails at the second (EEXIST)",
            nest_of(new24[:3] + new24[1:2], rtype=BLACKHOLE), errno.EEXIST, 3)
# A replace batch of ten existing routes with a bad last route: checked
# first, so none of the ten changes. (Taking back replaced routes, last
# first, needs a failure while applying, which only running out of memory
# gives a replace: the host tests inject it, tests/rtmsg.rs.)
olds = sorted(model)[200:210]
nest = nest_of(olds, gw="192.0.2.200", oif=1) + nest_of(new24[:1], oif=999999)
batch_fails("a replace batch whose route 10 names no device fails naming it (ENODEV)", nest, errno.ENODEV, 10, replace=True)
t.check("... its ten routes keep their gateways", all(exact(30, n) == (UNICAST, model[n]) for n in olds),
        [exact(30, n) for n in olds])
# The same replace batch without the bad route stays; replacing back
# releases the nexthop it brought.
nh0 = nh_now()
batch(30, AF_INET, olds, replace=True, gw="192.0.2.200", oif=1)
t.check("a replace batch that succeeds changes all ten and adds one nexthop",
        all(exact(30, n) == (UNICAST, "192.0.2.200") for n in olds) and nh_now() == nh0 + 1, nh_now())
for gw in set(model[n] for n in olds):
    batch(30, AF_INET, [n for n in olds if model[n] == gw], replace=True, gw=gw, oif=1)
t.check("... replaced back, the routes and the nexthop count are as before",
        all(exact(30, n) == (UNICAST, model[n]) for n in olds) and nh_now() == nh0, nh_now())
# OIF 0 means no interface until a batch names one; the check pass and the
# apply pass must read it alike (the apply pass once started with the
# interface the check pass found last, and refused route 0).
nest = nest_of(new24[:1], gw="192.0.2.1", oif=0) + nest_of(new24[1:2], oif=1)
r = s.request(fam, NEWROUTE, a_u32(A_FIB_ID, 30) + a_u8(A_FAMILY, AF_INET) + attr(A_BATCH | 0x8000, nest))
t.check("a batch with OIF 0 at route 0 and an interface at route 1 applies both",
        r[0].u32(A_DONE) == 2 and exact(30, new24[0]) == (UNICAST, "192.0.2.1") and exact(30, new24[1]) == (UNICAST, None))
for n in new24[:2]:
    delete(30, str(n))

# cgl-ctl -batch keeps ip -batch's rule (every line before the one named
# took effect) over all-or-nothing messages: it sends again the routes of
# the refused message that came before the bad one.
with open("/tmp/fib_lines.batch", "w") as f:
    for n in new24[:3]:
        f.write(f"route add blackhole {n} fib 30\n")
    f.write(f"route add blackhole {old_net} fib 30\n")
    f.write(f"route add blackhole {new24[3]} fib 30\n")
r = subprocess.run(["cgl-ctl", "-batch", "/tmp/fib_lines.batch"], capture_output=True, text=True)
t.check("cgl-ctl -batch stops at line 4 (the route exists), exit 1",
        r.returncode == 1 and r.stderr.startswith("cgl-ctl: /tmp/fib_lines.batch:4: "), r.stderr)
t.check("... lines 1 to 3 took effect, line 5 did not, line 4's route is unchanged",
        all(exact(30, n) == (BLACKHOLE, None) for n in new24[:3]) and exact(30, new24[3]) is None
        and exact(30, old_net) == (UNICAST, model[old_net]),
        [exact(30, n) for n in new24[:4]])
for n in new24[:3]:
    delete(30, str(n))

# --- against the kernel's own fib_trie ---
ip = lambda *a: subprocess.run(["ip", *a], capture_output=True, text=True)  # noqa: E731


def fibmatch_differ(probes):
    """How many of `probes` FIB 40 matches with another prefix than the
    kernel's `ip route get fibmatch` (main table) does."""
    mism = 0
    for p in probes:
        k = ip(f"-{p.version}", "route", "get", "fibmatch", str(p))
        kern = k.stdout.split()[0] if k.returncode == 0 and k.stdout else None
        if kern is not None and "/" not in kern:
            kern += f"/{p.max_prefixlen}"
        try:
            ours = get(40, str(p))[0]
        except NetlinkError:
            ours = None
        if kern != ours:
            mism += 1
            if mism < 4:
                print(f"# {p}: ip route get fibmatch -> {kern} {k.stderr.strip()!r}, cgl_fib -> {ours}")
    return mism


ip("link", "del", "cglfib0")
r = ip("link", "add", "cglfib0", "type", "veth", "peer", "name", "cglfib1")
ifindex = None
if r.returncode == 0:
    ip("link", "set", "cglfib0", "up")
    ip("link", "set", "cglfib1", "up")
    ifindex = int(open("/sys/class/net/cglfib0/ifindex").read())
t.check("veth for the fib_trie comparison", ifindex is not None, r.stderr)
if ifindex:
    new_fib(40)
    sample = nets[:2000]
    with open("/tmp/fib_batch", "w") as f:
        for n in sample:
            f.write(f"route add {n} dev cglfib0\n")
    r = ip("-batch", "/tmp/fib_batch")
    t.check("2000 routes in the main table with ip -batch", r.returncode == 0, r.stderr[:200])
    for i in range(0, len(sample), 1000):
        batch(40, AF_INET, sample[i:i + 1000], oif=ifindex)
    probes = [ipaddress.ip_address(rng.getrandbits(32)) for _ in range(150)]
    # The kernel's local table answers for loopback, multicast and such.
    probes = [p for p in probes if p.is_global and not p.is_multicast]
    probes += [n.network_address + rng.randrange(n.num_addresses) for n in rng.sample(sample, 150)]
    mism = fibmatch_differ(probes)
    t.check(f"{len(probes)} lookups equal `ip route get fibmatch` of fib_trie", mism == 0, f"({mism} differ)")

    # The lookup accelerator: FIB 40 (2000 routes) gets one at threshold
    # 1000; the sysfs bench runs the forwarding lookup (through it) and
    # counts where it disagrees with the Tree Bitmap.
    S = "/sys/kernel/cgl/fib"
    acc = lambda: open(f"{S}/by-id/40/accel").read().strip()  # noqa: E731
    old = open(f"{S}/accel_routes").read().strip()
    t.check("FIB 40 has no accelerator below the threshold", acc() == "0" and old == "16384", (acc(), old))
    for bad in ("0", "x", "-1", "4294967296"):
        try:
            with open(f"{S}/accel_routes", "w") as f:
                f.write(bad)
            ok = False
        except OSError as e:
            ok = e.errno == errno.EINVAL
        t.check(f"accel_routes refuses {bad!r}: EINVAL", ok and open(f"{S}/accel_routes").read().strip() == old)
    mem = lambda: int(open(f"{S}/by-id/40/memory_bytes").read())  # noqa: E731
    m0 = mem()
    t.check("FIB 40's memory: 2000 routes in 4 to 1000 bytes each", 4 * 2000 <= m0 <= 1000 * 2000, m0)
    with open(f"{S}/accel_routes", "w") as f:
        f.write("1000")
    t.check("accel_routes 1000: FIB 40 gets an IPv4 accelerator at once", acc() == "1")
    t.check("... its memory grows by the 1.06 MiB table and its nodes", 1081856 <= mem() - m0 <= 1081856 + 100000,
            (m0, mem()))

    def bench40(family=""):
        with open(f"{S}/bench", "w") as f:
            f.write(f"40 200000 {family}")
        v = open(f"{S}/bench").read().split()
        return dict(zip(v[::2], v[1::2]))
    b = bench40()
    t.check("200k lookups through the accelerator equal the Tree Bitmap's", b.get("accel_differ") == "0", b)
    burst_same = lambda b: b.get("sum_cgl_burst") == b.get("sum_cgl") != "0"  # noqa: E731
    t.check("... and in bursts of 32 (lookup_burst), the same nexthops", burst_same(b), b)
    for n in sample[:700]:
        delete(40, str(n))
    for n in sample[700:900]:
        add(40, str(n), replace=True, rtype=BLACKHOLE)
    b = bench40()
    dirty = open(f"{S}/by-id/40/accel_dirty").read().strip()
    t.check("after 700 deletes and 200 replaces: rebuilt per request, still equal",
            b.get("accel_differ") == "0" and dirty == "0" and acc() == "1" and burst_same(b), (b, dirty))
    for n in sample[700:900]:
        try:
            got = get(40, str(n.network_address))
        except NetlinkError:
            got = None
        if not got or got[0] != str(n):
            break
    else:
        n = None
    t.check("the replaced routes answer", n is None, n)

    # IPv6 routes clustered as real ones are: /32s in a few /12s with /48s
    # and some longer routes under them, a few shorter covering routes.
    # The family's two-level direct table gives a /12 a page only for a
    # route longer than /12 in it.
    v6 = set()
    tops = [0x2001, 0x2400, 0x2a00, 0x2600, 0x2c00]
    while len(v6) < 1600:
        top = rng.choice(tops)
        p32 = (top << 112) | (rng.getrandbits(16 if top == 0x2001 else 20) << 96)
        v6.add(ipaddress.ip_network((p32, 32)))
        for _ in range(rng.randrange(4)):
            ln = rng.choice((36, 40, 44, 48, 48, 48, 56, 64, 128))
            v6.add(ipaddress.ip_network((p32 | rng.getrandbits(ln - 32) << (128 - ln), ln)))
    v6 = sorted(v6)
    short6 = [ipaddress.ip_network(n) for n in ("2000::/3", "2a00::/8", "2400::/12", "2001::/16", "2600::/20")]
    for i in range(0, len(v6), 400):
        batch(40, AF_INET6, v6[i:i + 400], rtype=BLACKHOLE)
    batch(40, AF_INET6, short6[1:3], rtype=BLACKHOLE)
    m4 = mem()
    for _ in range(40):
        if acc() == "3":
            break
        time.sleep(0.1)
    t.check(f"{len(v6) + 2} IPv6 routes: FIB 40 gets an IPv6 accelerator too, once quiet", acc() == "3", acc())
    t.check("... its table and pages: well under the IPv4 one's 1.06 MiB", 0 < mem() - m4 < 1081856 // 2,
            (m4, mem()))
    # The same routes in the kernel's IPv6 main table (via the veth: ip
    # route get answers a blackhole with an error), for the bench's
    # side-by-side fib6_table_lookup() and its matched-length check, and
    # for `ip -6 route get fibmatch`.
    def ip6_batch(cmd, nets):
        return subprocess.run(["ip", "-6", "-batch", "-"], capture_output=True, text=True,
                              input="".join(f"route {cmd} {n} dev cglfib0\n" for n in nets))
    r = ip6_batch("add", v6 + short6[1:3])
    t.check("the same IPv6 routes in the kernel's main table (ip -6 -batch)", r.returncode == 0, r.stderr)
    b = bench40(6)
    t.check("200k IPv6 lookups in its routes: the accelerator equals the Tree Bitmap, one at a time and in bursts",
            b.get("accel_differ") == "0" and b.get("lookups") == "200000" and burst_same(b), b)
    t.check("... and fib6 (fib6_table_lookup) matches the same prefix lengths",
            b.get("peer") == "fib6" and b.get("differ") == "0" and b.get("sum_cgl") != "0", b)
    probes6 = [n.network_address + rng.randrange(n.num_addresses) for n in rng.sample(v6, 100)]
    mism = fibmatch_differ(probes6)
    t.check(f"{len(probes6)} IPv6 lookups equal `ip -6 route get fibmatch` of fib6", mism == 0, f"({mism} differ)")
    r = ip6_batch("del", v6 + short6[1:3])
    t.check("... and taken out of it again", r.returncode == 0, r.stderr)
    rng.shuffle(v6)
    for n in v6[:500]:
        delete(40, str(n))
    batch(40, AF_INET6, v6[500:700], replace=True, rtype=UNREACHABLE)
    batch(40, AF_INET6, [short6[0], short6[3], short6[4]], rtype=PROHIBIT)
    delete(40, str(short6[1]))
    b = bench40(6)
    dirty = open(f"{S}/by-id/40/accel_dirty").read().strip()
    t.check("after IPv6 deletes, replaces and short routes over slots with and without pages: still equal",
            b.get("accel_differ") == "0" and dirty == "0" and acc() == "3" and burst_same(b), (b, dirty))
    # A long bench passes quiescent states every 1,024 lookups: with the
    # RCU stall timeout lowered to 3 s, several seconds of it (under TCG)
    # make no stall report.
    stall_to = "/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout"
    old_to = open(stall_to).read().strip()
    with open(stall_to, "w") as f:
        f.write("3")
    stalls = lambda: subprocess.run(["dmesg"], capture_output=True, text=True).stdout.count("detected stall")  # noqa: E731
    s0, t0 = stalls(), time.monotonic()
    try:
        with open(f"{S}/bench", "w") as f:
            f.write("40 8000000")
        took = time.monotonic() - t0
        time.sleep(1)
        s1 = stalls()
    finally:
        # Later tests run with the boot's timeout whatever happened.
        with open(stall_to, "w") as f:
            f.write(old_to)
    t.check(f"a bench of 8M lookups ({took:.1f} s, stall timeout 3 s): no RCU stall reported",
            took > 6 and s1 == s0, (took, s0, s1))
    try:
        with open(f"{S}/bench", "w") as f:
            f.write("40 10 4")
        ok = False
    except OSError as e:
        ok = e.errno == errno.EINVAL
    t.check("bench refuses a family other than 6: EINVAL", ok)
    with open(f"{S}/accel_routes", "w") as f:
        f.write("4000")
    t.check("threshold raised over twice the routes: the accelerator goes", acc() == "0")
    # Updates recycle what earlier ones retired once its grace period is
    # over; the tables and pages go back to free lists of their size.
    leaked = lambda: open(f"{S}/leaked_blocks").read().strip()  # noqa: E731
    for _ in range(10):
        add(40, "2001:db8:ffff::/48", rtype=BLACKHOLE)
        delete(40, "2001:db8:ffff::/48")
        time.sleep(0.1)
    t.check("the accelerators' tables and pages were recycled, none leaked", leaked() == "0", leaked())
    with open(f"{S}/accel_routes", "w") as f:
        f.write(old)
    ip("link", "del", "cglfib0")

# --- mirroring a kernel routing table (ip route ... table 100) ---
CMD_MIRROR, A_TABLE = 9, 19


def mirror(fib, table):
    return s.request(fam, CMD_MIRROR, a_u32(A_FIB_ID, fib) + a_u32(A_TABLE, table))


def wait_route(fib, addr, want, tries=50):
    """get(fib, addr) once it equals want (None: no route); last result."""
    got = None
    for _ in range(tries):
        try:
            got = get(fib, addr)
        except NetlinkError as e:
            got = None if e.errno == errno.ENETUNREACH else e
        if got == want:
            return got
        time.sleep(0.1)
    return got


ip("link", "del", "cglfib2")
ip("link", "add", "cglfib2", "type", "veth", "peer", "name", "cglfib3")
ip("link", "set", "cglfib2", "up")
ip("link", "set", "cglfib3", "up")
ip("addr", "add", "192.0.2.1/24", "dev", "cglfib2")
mx = int(open("/sys/class/net/cglfib2/ifindex").read())
r = ip("route", "add", "203.0.113.0/24", "dev", "cglfib2", "table", "100")
t.check("a route in kernel table 100", r.returncode == 0, r.stderr)
ip("-6", "addr", "add", "2001:db8:1::1/64", "dev", "cglfib2", "nodad")
r = ip("-6", "route", "add", "2001:db8:100::/48", "dev", "cglfib2", "table", "100")
t.check("an IPv6 route in kernel table 100", r.returncode == 0, r.stderr)
new_fib(50)
mirror(50, 100)
t.check("mirroring copies the table's existing routes",
        wait_route(50, "203.0.113.7", ("203.0.113.0/24", UNICAST, None, mx)) == ("203.0.113.0/24", UNICAST, None, mx))
t.check("... its IPv6 routes too",
        wait_route(50, "2001:db8:100::7", ("2001:db8:100::/48", UNICAST, None, mx)) == ("2001:db8:100::/48", UNICAST, None, mx))
t.check("GETFIB shows the mirrored table", s.request(fam, GETFIB, a_u32(A_FIB_ID, 50))[0].u32(A_TABLE) == 100)
ip("route", "add", "198.51.100.0/24", "via", "192.0.2.2", "dev", "cglfib2", "table", "100")
t.check("ip route add ... via ... table 100 appears in the FIB",
        wait_route(50, "198.51.100.1", ("198.51.100.0/24", UNICAST, "192.0.2.2", mx)) == ("198.51.100.0/24", UNICAST, "192.0.2.2", mx))
ip("route", "add", "blackhole", "10.66.0.0/16", "table", "100")
t.check("a blackhole route follows",
        wait_route(50, "10.66.1.1", ("10.66.0.0/16", BLACKHOLE, None, 0)) == ("10.66.0.0/16", BLACKHOLE, None, 0))
ip("-6", "route", "add", "2001:db8:200::/48", "via", "2001:db8:1::2", "dev", "cglfib2", "table", "100")
t.check("ip -6 route add ... via ... table 100 appears in the FIB",
        wait_route(50, "2001:db8:200::1", ("2001:db8:200::/48", UNICAST, "2001:db8:1::2", mx)) == ("2001:db8:200::/48", UNICAST, "2001:db8:1::2", mx))
ip("-6", "route", "add", "blackhole", "2001:db8:66::/48", "table", "100")
t.check("an IPv6 blackhole route follows",
        wait_route(50, "2001:db8:66::1", ("2001:db8:66::/48", BLACKHOLE, None, 0)) == ("2001:db8:66::/48", BLACKHOLE, None, 0))
ip("-6", "route", "del", "2001:db8:200::/48", "table", "100")
t.check("ip -6 route del follows", wait_route(50, "2001:db8:200::1", None) is None)
ip("route", "replace", "203.0.113.0/24", "via", "192.0.2.3", "dev", "cglfib2", "table", "100")
t.check("ip route replace follows",
        wait_route(50, "203.0.113.7", ("203.0.113.0/24", UNICAST, "192.0.2.3", mx)) == ("203.0.113.0/24", UNICAST, "192.0.2.3", mx))
ip("route", "del", "198.51.100.0/24", "table", "100")
t.check("ip route del follows", wait_route(50, "198.51.100.1", None) is None)
ip("route", "add", "100.64.0.0/10", "dev", "cglfib2")
time.sleep(0.5)
t.check("routes of other tables stay out", wait_route(50, "100.64.0.1", None, tries=3) is None)
new_fib(51)
t.raises("a second FIB for the same table: EBUSY", lambda: mirror(51, 100), errno.EBUSY)
t.raises("mirroring into a missing FIB: ENOENT", lambda: mirror(77, 101), errno.ENOENT)
# A second mirror gets the replay of its own table only: each mirror has a
# notifier block of its own, and the first one's stays registered.
applied = lambda: int(open("/sys/kernel/cgl/fib/mirror_applied").read())  # noqa: E731
ip("route", "add", "192.0.2.128/25", "dev", "cglfib2", "table", "101")
a0 = applied()
mirror(51, 101)
t.check("a second mirror copies its table's one route",
        wait_route(51, "192.0.2.129", ("192.0.2.128/25", UNICAST, None, mx)) == ("192.0.2.128/25", UNICAST, None, mx))
time.sleep(0.3)
t.check("... and only that: table 100 is not replayed again (one event applied)", applied() - a0 == 1, applied() - a0)
ip("route", "add", "198.51.100.0/24", "via", "192.0.2.2", "dev", "cglfib2", "table", "100")
mirror(51, 0)
ip("route", "del", "198.51.100.0/24", "table", "100")
t.check("FIB 50 follows table 100 while the second mirror comes and goes",
        wait_route(50, "198.51.100.1", None) is None)
r = subprocess.run(["cgl-ctl", "route", "get", "203.0.113.7", "fib", "50"], capture_output=True, text=True)
t.check("cgl-ctl route get shows the mirrored route", r.returncode == 0 and "via 192.0.2.3" in r.stdout, r.stdout + r.stderr)
r = subprocess.run(["cgl-ctl", "fib", "mirror", "50", "table", "0"], capture_output=True, text=True)
t.check("cgl-ctl fib mirror 50 table 0 stops mirroring", r.returncode == 0, r.stderr)
ip("route", "add", "198.18.0.0/15", "dev", "cglfib2", "table", "100")
time.sleep(0.5)
t.check("after mirroring stops, changes stay out", wait_route(50, "198.18.0.1", None, tries=3) is None)
t.check("no mirrored update was dropped", open("/sys/kernel/cgl/fib/mirror_dropped").read().strip() == "0")
ip("link", "del", "cglfib2")
for f in (50, 51):
    del_fib(f)

# --- delete FIBs ---
nh0 = int(open("/sys/kernel/cgl/fib/nexthops").read())
del_fib(30)
t.raises("a deleted FIB is gone", lambda: fib_info(30), errno.ENOENT)
t.check("its nexthops are released", int(open("/sys/kernel/cgl/fib/nexthops").read()) < nh0)
for f in (10, 20, 40):
    try:
        del_fib(f)
    except NetlinkError:
        pass
t.check("no routes left", open("/sys/kernel/cgl/fib/routes4").read().strip() == "0"
        and open("/sys/kernel/cgl/fib/routes6").read().strip() == "0")
t.check("no nexthops left", open("/sys/kernel/cgl/fib/nexthops").read().strip() == "0")
sys.exit(1 if t.failed else 0)
