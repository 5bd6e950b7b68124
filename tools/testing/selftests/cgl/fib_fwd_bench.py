#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Helper of fib_fwd_bench.sh (make bench-fwd), run in the guest.

  gen TABLE4 TABLE6 DIR NDEST   route batches and destination lists:
      DIR/cgl.batch (both families, FIB 1), DIR/ip4.batch, DIR/ip6.batch,
      DIR/dst4, DIR/dst6 (NDEST addresses in random routed prefixes,
      fixed seed); prints "ROUTES4 ROUTES6"
  send 4|6 DSTFILE SECONDS      UDP blaster: a warm-up (resolves the
      neighbours), then sendto() over the destinations in a tight loop
      for SECONDS; prints "SENT ELAPSED_NS ERRORS"
  recv READYFILE                counts the timed datagrams arriving on
      port 9 (either family) until 1.5 s without one; prints the count
"""

import gzip
import ipaddress
import random
import socket
import sys
import time

PORT = 9
PAYLOAD = 32
# The bench's own subnets: table prefixes overlapping them are left out.
TEST4 = ipaddress.ip_network("10.0.0.0/14")
TEST6 = ipaddress.ip_network("2001:db8::/32")


def prefixes(path, version):
    seen = set()
    with gzip.open(path, "rt") as f:
        for line in f:
            p = line.split("\t", 1)[0].strip()
            if not p or p.startswith(";") or (":" in p) != (version == 6) or p in seen:
                continue
            seen.add(p)
    # Parsing 512k IPv4 prefixes is slow under TCG: only those in 10/8
    # can overlap the test nets (the table has nothing shorter than /8).
    test = TEST4 if version == 4 else TEST6
    near = "10." if version == 4 else ""
    return [p for p in sorted(seen)
            if not p.startswith(near) or not ipaddress.ip_network(p).overlaps(test)]


def gen(table4, table6, d, ndest):
    rnd = random.Random(20140513)
    t4, t6 = prefixes(table4, 4), prefixes(table6, 6)
    with open(f"{d}/cgl.batch", "w") as c, open(f"{d}/ip4.batch", "w") as i4, \
            open(f"{d}/ip6.batch", "w") as i6:
        c.write("route add 10.0.0.0/24 dev rs fib 1\n"
                "route add 10.1.0.0/24 dev rr fib 1\n"
                "route add 2001:db8::/64 dev rs fib 1\n"
                "route add 2001:db8:1::/64 dev rr fib 1\n")
        for n in t4:
            c.write(f"route add {n} via 10.1.0.2 dev rr fib 1\n")
            i4.write(f"route add {n} via 10.1.0.2 dev rr\n")
        for n in t6:
            c.write(f"route add {n} via 2001:db8:1::2 dev rr fib 1\n")
            i6.write(f"route add {n} via 2001:db8:1::2 dev rr\n")
    for name, t in (("dst4", t4), ("dst6", t6)):
        with open(f"{d}/{name}", "w") as f:
            for p in rnd.sample(t, ndest):
                n = ipaddress.ip_network(p)
                host = rnd.getrandbits(n.max_prefixlen - n.prefixlen)
                f.write(f"{n.network_address + host}\n")
    print(len(t4), len(t6))


def send(fam, dfile, secs):
    af = socket.AF_INET if fam == "4" else socket.AF_INET6
    dst = [(line.strip(), PORT) for line in open(dfile) if line.strip()]
    s = socket.socket(af, socket.SOCK_DGRAM)
    warm, timed = b"w" * PAYLOAD, b"m" * PAYLOAD
    sendto = s.sendto
    # Warm-up: the sender's and the router's neighbours get resolved.
    for _ in range(3):
        for a in dst[:4]:
            try:
                sendto(warm, a)
            except OSError:
                pass
        time.sleep(0.5)
    n = err = 0
    t0 = time.monotonic_ns()
    end = t0 + int(float(secs) * 1e9)
    while True:
        for a in dst:
            try:
                sendto(timed, a)
            except OSError:
                err += 1
        n += len(dst)
        if time.monotonic_ns() >= end:
            break
    print(n - err, time.monotonic_ns() - t0, err)


def recv(ready):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    s.bind(("::", PORT))
    s.settimeout(60)
    open(ready, "w").close()
    buf = bytearray(2048)
    n = 0
    recv_into = s.recv_into
    m = ord("m")
    while True:
        try:
            recv_into(buf)
        except socket.timeout:
            break
        if buf[0] == m:
            if n == 0:
                s.settimeout(1.5)
            n += 1
    print(n)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(args[0], args[1], args[2], int(args[3]))
    elif cmd == "send":
        send(*args)
    elif cmd == "recv":
        recv(*args)
    else:
        sys.exit(f"fib_fwd_bench.py: unknown command {cmd}")
