#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The cgl_core netlink family on the wire: events in order, multicast,
loss reporting, and bad input refused with an extack message and no
change."""

import errno
import select
import struct
import sys
import time

sys.path.insert(0, sys.path[0])
from cgl_netlink import *  # noqa: E402,F403

t = Checks("core_netlink")
s = GenlSocket()
fam, groups = s.resolve("cgl_core")
t.check("family resolves with an events group", "events" in groups)


def config():
    return s.request(fam, CMD_CONFIG_GET)[0]


def log(msg, sev=6, **kw):
    a = a_u8(A_EVENT_SEVERITY, sev) + a_str(A_EVENT_MSG, msg)
    if "subsys" in kw:
        a += a_str(A_EVENT_SUBSYS, kw["subsys"])
    if "id" in kw:
        a += a_u32(A_EVENT_ID, kw["id"])
    if "payload" in kw:
        a += attr(A_EVENT_PAYLOAD, kw["payload"])
    return s.request(fam, CMD_EVENT_LOG, a)[0].u64(A_EVENT_SEQ)


def dump(**filt):
    a = b""
    if "seq" in filt:
        a += a_u64(A_FILTER_SEQ, filt["seq"])
    if "sev" in filt:
        a += a_u8(A_FILTER_SEVERITY, filt["sev"])
    if "subsys" in filt:
        a += a_str(A_FILTER_SUBSYS, filt["subsys"])
    return s.request(fam, CMD_EVENT_GET, a, dump=True)


# Boot-time events are there.
recs = dump()
t.check("boot records present", any(r.str(A_EVENT_SUBSYS) == "cgl_core" and
                                    r.str(A_EVENT_MSG).startswith("event log started")
                                    for r in recs))
seqs = [r.u64(A_EVENT_SEQ) for r in recs]
t.check("dump is in sequence order", seqs == sorted(seqs) and len(set(seqs)) == len(seqs))

# Follower: subscribe first, then log.
f = GenlSocket()
f.join(groups["events"])
base = log("first", sev=3, subsys="selftest", id=7, payload=b"\x01\x02\x03")
s2 = log("second", sev=6, subsys="selftest")
s3 = log("third", sev=7, subsys="other")
t.check("sequence numbers increase by one", (s2, s3) == (base + 1, base + 2), f"{base} {s2} {s3}")

got = []
deadline = time.time() + 5
while len(got) < 3 and time.time() < deadline:
    r, _, _ = select.select([f.sock], [], [], 0.5)
    if r:
        for typ, flags, seq, payload in f.recv_msgs():
            cmd = payload[0]
            if cmd == CMD_EVENT_NEW:
                got.append(Attrs(parse_attrs(payload[4:])))
t.check("follower got every record by multicast, in order",
        [g.u64(A_EVENT_SEQ) for g in got] == [base, s2, s3], f"{[g.u64(A_EVENT_SEQ) for g in got]}")
if got:
    g = got[0]
    t.check("record fields round-trip",
            g.u8(A_EVENT_SEVERITY) == 3 and g.str(A_EVENT_SUBSYS) == "selftest" and
            g.u32(A_EVENT_ID) == 7 and g[A_EVENT_PAYLOAD][0] == b"\x01\x02\x03" and
            g.str(A_EVENT_MSG) == "first")
    now_ns = time.clock_gettime_ns(time.CLOCK_REALTIME)
    t.check("real-time stamp is now", abs(now_ns - g.u64(A_EVENT_REAL_NS)) < 10 * 10**9)
    t.check("monotonic stamp is set", g.u64(A_EVENT_MONO_NS) > 0)

# Filters.
t.check("severity filter", [r.u64(A_EVENT_SEQ) for r in dump(seq=base, sev=6)] == [base, s2])
t.check("subsystem filter", [r.u64(A_EVENT_SEQ) for r in dump(seq=base, subsys="other")] == [s3])
t.check("sequence filter", [r.u64(A_EVENT_SEQ) for r in dump(seq=s2)] == [s2, s3])

# A dump larger than one buffer resumes correctly.
for i in range(200):
    log("bulk %d " % i + "x" * 200, subsys="bulk")
bulk = dump(seq=base, subsys="bulk")
t.check("multi-buffer dump returns every record once", len(bulk) == 200 and
        [r.str(A_EVENT_MSG).split()[1] for r in bulk] == [str(i) for i in range(200)],
        f"n={len(bulk)} first={[r.str(A_EVENT_MSG)[:12] for r in bulk[:3]]}")

# Loss: shrink the ring, overflow it, read from before the overwrite.
before = config()
s.request(fam, CMD_CONFIG_SET, a_u32(A_CONFIG_RING_SIZE, 16))
t.check("ring size set to 16", config().u32(A_CONFIG_RING_SIZE) == 16)
start = log("loss-start")
for i in range(39):
    log("loss %d" % i)
recs = dump(seq=start)
t.check("reader behind is told its loss",
        len(recs) == 16 and A_EVENT_LOST in recs[0] and recs[0].u64(A_EVENT_LOST) == 24 and
        all(A_EVENT_LOST not in r for r in recs[1:]),
        f"n={len(recs)} lost={recs[0].u64(A_EVENT_LOST) if recs and A_EVENT_LOST in recs[0] else None}")
t.check("records after the loss are contiguous",
        [r.u64(A_EVENT_SEQ) for r in recs] == list(range(start + 24, start + 40)))
t.check("overwritten counter moved", config().u64(A_CONFIG_OVERWRITTEN) > before.u64(A_CONFIG_OVERWRITTEN))

# Bad input: refused with a message, nothing changes.
cfg = config()
t.raises("ring size below minimum refused",
         lambda: s.request(fam, CMD_CONFIG_SET, a_u32(A_CONFIG_RING_SIZE, 8)), errno.ERANGE)
t.raises("ring size above maximum refused",
         lambda: s.request(fam, CMD_CONFIG_SET, a_u32(A_CONFIG_RING_SIZE, 1 << 20)), errno.ERANGE)
t.raises("printk level 9 refused",
         lambda: s.request(fam, CMD_CONFIG_SET, a_u8(A_CONFIG_PRINTK_LEVEL, 9)), errno.ERANGE)
t.raises("good ring size with bad printk level refused as a whole",
         lambda: s.request(fam, CMD_CONFIG_SET, a_u32(A_CONFIG_RING_SIZE, 64) +
                           a_u8(A_CONFIG_PRINTK_LEVEL, 9)), errno.ERANGE)
t.raises("empty config set refused", lambda: s.request(fam, CMD_CONFIG_SET, b""), errno.EINVAL)
t.raises("severity 8 refused",
         lambda: s.request(fam, CMD_EVENT_LOG, a_u8(A_EVENT_SEVERITY, 8) + a_str(A_EVENT_MSG, "x")),
         errno.ERANGE)
t.raises("log without message refused",
         lambda: s.request(fam, CMD_EVENT_LOG, a_u8(A_EVENT_SEVERITY, 3)), errno.EINVAL)
t.raises("unknown attribute refused",
         lambda: s.request(fam, CMD_EVENT_LOG, a_u8(A_EVENT_SEVERITY, 3) + a_str(A_EVENT_MSG, "x") +
                           attr(99, b"\0\0\0\0")), errno.EINVAL)
t.raises("output-only attribute refused",
         lambda: s.request(fam, CMD_EVENT_LOG, a_u8(A_EVENT_SEVERITY, 3) + a_str(A_EVENT_MSG, "x") +
                           a_u64(A_EVENT_SEQ, 5)), errno.EINVAL)
t.raises("over-long subsystem refused",
         lambda: log("x", subsys="s" * 40), (errno.ERANGE, errno.EINVAL), want_msg=True)
t.raises("over-long payload refused",
         lambda: log("x", payload=b"\0" * 2000), (errno.ERANGE, errno.EINVAL), want_msg=True)
after = config()
t.check("bad input changed nothing",
        after.u32(A_CONFIG_RING_SIZE) == cfg.u32(A_CONFIG_RING_SIZE) and
        after.u8(A_CONFIG_PRINTK_LEVEL) == cfg.u8(A_CONFIG_PRINTK_LEVEL) and
        after.u64(A_CONFIG_NEXT_SEQ) == cfg.u64(A_CONFIG_NEXT_SEQ),
        f"{dict((k, v) for k, v in after.items())}")

# Unprivileged callers may read but not write.
import os  # noqa: E402
pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    u = GenlSocket()
    ok = 0
    try:
        u.request(fam, CMD_CONFIG_SET, a_u32(A_CONFIG_RING_SIZE, 64))
    except NetlinkError as e:
        ok = e.errno == errno.EPERM
    try:
        u.request(fam, CMD_CONFIG_GET)
    except NetlinkError:
        ok = 0
    os._exit(0 if ok else 1)
_, st = os.waitpid(pid, 0)
t.check("unprivileged config set refused with EPERM, get allowed", st == 0)

# Modules dump.
mods = s.request(fam, CMD_MODULE_GET, dump=True)
t.check("module list has the core", any(m.str(A_MODULE_NAME) == "core" and
                                        m.str(A_MODULE_FAMILY) == "cgl_core" for m in mods))

s.request(fam, CMD_CONFIG_SET, a_u32(A_CONFIG_RING_SIZE, before.u32(A_CONFIG_RING_SIZE)))
sys.exit(1 if t.failed else 0)
