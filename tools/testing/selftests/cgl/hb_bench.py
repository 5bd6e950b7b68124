#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Benchmark of the heartbeat monitor against a userspace supervisor in the
same guest (hb_peer.c: one timerfd over a heap of deadlines, what a
systemd-style service manager does at best).

Detection latency: N entities (1, 1,000, 10,000) with periods 200 + i%100
ms that never beat; how late past its deadline each miss is noticed
(kernel: the late_ns the monitor reports; userspace: the same measured by
the peer). Beat cost: an ioctl beat against an eventfd write.

usage: hb_bench.py [BUILD_DIR]   (compiles hb_peer.c there with cc)
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, sys.path[0])
from cgl_netlink import *  # noqa: E402,F403

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.abspath(os.path.join(here, "../../../.."))
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
peer = os.path.join(out, "hb_peer")
subprocess.run(["cc", "-O2", "-Wall", "-I", os.path.join(repo, "include/uapi"), "-o", peer,
                os.path.join(here, "hb_peer.c")], check=True)

s = GenlSocket()
fam, _ = s.resolve("cgl_hb")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def kernel_miss(n):
    handles = []
    for i in range(n):
        handles.append(hb_register(s, fam, "bench-%d" % i, 200 + i % 100, 1))
    time.sleep(0.6)
    late = []
    for e in s.request(fam, HB_CMD_GET, dump=True):
        if e.str(HB_A_NAME).startswith("bench-") and e.u8(HB_A_STATE) == HB_STATE_DEAD:
            late.append(e.u64(HB_A_LATE_NS) / 1e3)
    for h in handles:
        s.request(fam, HB_CMD_UNREGISTER, a_u32(HB_A_HANDLE, h))
    if len(late) != n:
        print(f"kernel {n}: only {len(late)} of {n} entities declared dead")
    return pct(late, 0.5), pct(late, 0.99), max(late)


# Thousands of "declared dead" records would otherwise be mirrored to the
# (serial, slow) console and measure the console instead of the monitor;
# the userspace peer prints nothing either.
PRINTK = "/sys/kernel/cgl/core/printk_level"
old_printk = open(PRINTK).read().strip()
open(PRINTK, "w").write("0")
print("entities  kernel p50/p99/max (us)     userspace p50/p99/max (us)   p99 ratio")
for n in (1, 1000, 10000):
    k = kernel_miss(n)
    u = subprocess.run([peer, "miss", str(n)], capture_output=True, text=True, check=True)
    u = [float(x) for x in u.stdout.split()[2:5]]
    print(f"{n:8d}  {k[0]:8.1f} {k[1]:8.1f} {k[2]:8.1f}   {u[0]:8.1f} {u[1]:8.1f} {u[2]:8.1f}   "
          f"{k[1] / max(u[1], 0.001):.2f}x")
open(PRINTK, "w").write(old_printk)
b = subprocess.run([peer, "beat", "200000"], capture_output=True, text=True, check=True).stdout.split()
print(f"beat cost: ioctl {float(b[1]):.0f} ns, eventfd write {float(b[2]):.0f} ns, "
      f"ratio {float(b[1]) / float(b[2]):.2f}")
