#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The heartbeat monitor through its netlink family and /dev/cgl_hb: a
process that stops beating is detected and each action fires (signal,
multicast seen by another process, recovery command), a killed process is
reported at once, privileges hold, bad input is refused and leaves
nothing behind, and a dead critical entity stops the CGL watchdog's
feeding."""

import errno
import fcntl
import os
import select
import signal
import struct
import sys
import time

sys.path.insert(0, sys.path[0])
from cgl_netlink import *  # noqa: E402,F403

t = Checks("heartbeat")
s = GenlSocket()
fam, groups = s.resolve("cgl_hb")
t.check("family resolves with an alerts group", "alerts" in groups)
SYS = "/sys/kernel/cgl/heartbeat/"


def count():
    return int(open(SYS + "count").read())


def get(name):
    return s.request(fam, HB_CMD_GET, a_str(HB_A_NAME, name))[0]


def unregister(name):
    s.request(fam, HB_CMD_UNREGISTER, a_str(HB_A_NAME, name))


def alerts_socket():
    a = GenlSocket()
    a.join(groups["alerts"])
    return a


def wait_alert(sock, name, state, timeout=5.0):
    """The first alert for `name` in `state`, or None; (attrs, arrival time)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([sock.sock], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        now = time.monotonic_ns()
        for typ, flags, seq, payload in sock.recv_msgs():
            if payload[0] != HB_CMD_ALERT:
                continue
            a = Attrs(parse_attrs(payload[4:]))
            if a.str(HB_A_NAME) == name and a.u8(HB_A_STATE) == state:
                return a, now
    return None, None


def child(fn):
    """Run fn() in a child process with its own netlink socket; returns pid."""
    pid = os.fork()
    if pid == 0:
        try:
            fn(GenlSocket())
        finally:
            os._exit(0)
    return pid


# 1. Register, beat, state.
n0 = count()
h = hb_register(s, fam, "selftest-a", 200, 3, group="g1")
t.check("register returns a handle", h != 0)
e = get("selftest-a")
t.check("entity is alive and watches the caller",
        e.u8(HB_A_STATE) == HB_STATE_ALIVE and e.u32(HB_A_PID) == os.getpid() and
        e.u32(HB_A_HANDLE) == h)
s.request(fam, HB_CMD_BEAT, a_u32(HB_A_HANDLE, h))
t.check("beat by handle accepted", True)
t.check("sysfs count and table line", count() == n0 + 1 and
        "selftest-a" in open(SYS + "table").read())
ed = SYS + "entities/selftest-a/"
t.check("sysfs entity directory: state, misses, period, pid, last beat",
        open(ed + "state").read() == "alive\n" and open(ed + "misses").read() == "0\n" and
        open(ed + "period_ms").read() == "200\n" and open(ed + "pid").read() == "%d\n" % os.getpid() and
        int(open(ed + "last_beat_ms_ago").read()) < 5000)

# 2. Bad input: refused with a message, nothing left behind.
t.raises("duplicate name refused", lambda: hb_register(s, fam, "selftest-a", 100, 1), errno.EEXIST)
t.raises("period 0 refused", lambda: hb_register(s, fam, "bad", 0, 1), errno.ERANGE)
t.raises("period over an hour refused", lambda: hb_register(s, fam, "bad", 3600001, 1), errno.ERANGE)
t.raises("zero allowed misses refused", lambda: hb_register(s, fam, "bad", 100, 0), errno.ERANGE)
t.raises("name with a slash refused", lambda: hb_register(s, fam, "a/b", 100, 1), errno.EINVAL)
t.raises("unknown action refused", lambda: hb_register(s, fam, "bad", 100, 1, action=9), errno.ERANGE)
t.raises("command without the command action refused",
         lambda: hb_register(s, fam, "bad", 100, 1, command="/bin/true"), errno.EINVAL)
t.raises("command action without a command refused",
         lambda: hb_register(s, fam, "bad", 100, 1, action=HB_ACT_COMMAND), errno.EINVAL)
t.raises("relative command refused",
         lambda: hb_register(s, fam, "bad", 100, 1, action=HB_ACT_COMMAND, command="true"), errno.EINVAL)
t.raises("missing process refused", lambda: hb_register(s, fam, "bad", 100, 1, pid=4000000), errno.ESRCH)
try:
    hb_register(s, fam, "bad", 100, 1, pid=0x80000000)
    t.check("PID past pid_t refused", False)
except NetlinkError as e:
    t.check("PID past pid_t refused with a message (EINVAL)", e.errno == errno.EINVAL and e.msg == "PID out of range",
            f"({e.errno}, {e.msg!r})")
t.raises("beat of an unknown handle refused",
         lambda: s.request(fam, HB_CMD_BEAT, a_u32(HB_A_HANDLE, 0x7ffff)), errno.ENOENT)
t.raises("beat of an unknown name refused",
         lambda: s.request(fam, HB_CMD_BEAT, a_str(HB_A_NAME, "nosuch")), errno.ENOENT)
t.raises("beat naming nothing refused", lambda: s.request(fam, HB_CMD_BEAT, b""), errno.EINVAL)
t.check("refused registrations left nothing", count() == n0 + 1)

# 3. Privileges: another user cannot touch root's entity or ask for more.
def unpriv(sock):
    os.setgid(65534)
    os.setuid(65534)
    u = GenlSocket()
    res = []
    for fn in (lambda: u.request(fam, HB_CMD_BEAT, a_str(HB_A_NAME, "selftest-a")),
               lambda: u.request(fam, HB_CMD_UNREGISTER, a_str(HB_A_NAME, "selftest-a")),
               lambda: hb_register(u, fam, "u-panic", 100, 1, action=HB_ACT_PANIC),
               lambda: hb_register(u, fam, "u-other", 100, 1, pid=1),
               lambda: hb_register(u, fam, "u-crit", 100, 1, critical=True)):
        try:
            fn()
            res.append(0)
        except NetlinkError as e:
            res.append(e.errno)
    os._exit(0 if res == [errno.EPERM] * 5 else 1)


pid = os.fork()
if pid == 0:
    unpriv(None)
_, st = os.waitpid(pid, 0)
t.check("unprivileged: beat, unregister, panic action, other pid, critical all EPERM", st == 0)
t.check("entity untouched by the refused calls", get("selftest-a").u32(HB_A_HANDLE) == h)

# 4. Missed beats: late, then dead; detection latency.
al = alerts_socket()
hb_register(s, fam, "selftest-dead", 50, 2, action=HB_ACT_NOTIFY, group="g1")
a_late, _ = wait_alert(al, "selftest-dead", HB_STATE_LATE, 2)
a_dead, _ = wait_alert(al, "selftest-dead", HB_STATE_DEAD, 2)
t.check("missed beat reported as late, then dead after the allowed misses",
        a_late is not None and a_dead is not None and a_dead.u32(HB_A_MISSES) == 2)
if a_dead is not None:
    late_ms = a_dead.u64(HB_A_LATE_NS) / 1e6
    t.check("miss noticed within 10 ms of its deadline", late_ms < 10, f"({late_ms:.2f} ms)")
g = {x.str(HB_A_GROUP): x for x in s.request(fam, HB_CMD_GROUP_GET, dump=True)}
t.check("group shows 2 members, 1 dead", "g1" in g and g["g1"].u32(HB_A_GROUP_MEMBERS) == 2 and
        g["g1"].u32(HB_A_GROUP_DEAD) == 1)
t.check("sysfs shows the dead state", open(SYS + "entities/selftest-dead/state").read() == "dead\n")
s.request(fam, HB_CMD_BEAT, a_str(HB_A_NAME, "selftest-dead"))
a_back, _ = wait_alert(al, "selftest-dead", HB_STATE_ALIVE, 2)
t.check("a beat revives a dead entity", a_back is not None and
        get("selftest-dead").u8(HB_A_STATE) == HB_STATE_ALIVE)
unregister("selftest-dead")

# 5. Signal action: the child registers itself and stops beating.
r, w = os.pipe()


def sig_child(sock):
    signal.signal(signal.SIGUSR1, lambda *_: (os.write(w, b"USR1"), os._exit(0)))
    hb_register(sock, fam, "selftest-sig", 50, 1, action=HB_ACT_SIGNAL, signal=signal.SIGUSR1)
    time.sleep(5)
    os._exit(3)


pid = child(sig_child)
ready, _, _ = select.select([r], [], [], 3)
got = os.read(r, 16) if ready else b""
os.waitpid(pid, 0)
t.check("signal action: the silent process got its signal", got == b"USR1")

# 6. Exit is reported at once, not at the next deadline.
def sleeper(sock):
    hb_register(sock, fam, "selftest-exit", 10000, 3, action=HB_ACT_NOTIFY)
    os.write(w, b"R")
    time.sleep(60)


pid = child(sleeper)
select.select([r], [], [], 3)
os.read(r, 1)
killed = time.monotonic_ns()
os.kill(pid, signal.SIGKILL)
a_exit, when = wait_alert(al, "selftest-exit", HB_STATE_EXITED, 3)
os.waitpid(pid, 0)
ms = (when - killed) / 1e6 if when else -1
t.check("killed process reported at once (period 10 s)", a_exit is not None and ms < 200,
        f"({ms:.1f} ms)")
t.raises("exited entity is removed", lambda: get("selftest-exit"), errno.ENOENT)

# 7. Multicast seen by a second process (the child listens).
def listener(sock):
    sock.join(groups["alerts"])
    os.write(w, b"L")
    a, _ = wait_alert(sock, "selftest-mc", HB_STATE_DEAD, 5)
    os.write(w, b"Y" if a is not None else b"N")


pid = child(listener)
select.select([r], [], [], 3)
os.read(r, 1)
hb_register(s, fam, "selftest-mc", 30, 1, action=HB_ACT_NOTIFY)
select.select([r], [], [], 6)
res = os.read(r, 1)
os.waitpid(pid, 0)
t.check("another process saw the dead alert by multicast", res == b"Y")
unregister("selftest-mc")

# 8. Recovery command through the usermode helper.
out = "/tmp/hb_recover.out"
if os.path.exists(out):
    os.unlink(out)
script = os.environ.get("CGL_INIT_ROOT", "/mnt/host") + os.path.abspath(
    os.path.join(os.path.dirname(__file__), "hb_recover.sh"))
hb_register(s, fam, "selftest-cmd", 30, 1, action=HB_ACT_COMMAND, command=script)
for _ in range(50):
    if os.path.exists(out):
        break
    time.sleep(0.1)
txt = open(out).read() if os.path.exists(out) else ""
t.check("recovery command ran with the entity's name", txt.strip() == "selftest-cmd dead", repr(txt))
unregister("selftest-cmd")

# 9. /dev/cgl_hb for C applications.
IOC_REGISTER = (3 << 30) | (80 << 16) | (0xCB << 8) | 1
IOC_BEAT = (0xCB << 8) | 2
IOC_UNREGISTER = (0xCB << 8) | 3
fd = os.open("/dev/cgl_hb", os.O_RDWR)
req = bytearray(struct.pack("32s32sIIBBBBI", b"selftest-ioctl", b"", 100, 2, 0, 15, 0, 0, 0))
fcntl.ioctl(fd, IOC_REGISTER, req)
ih = struct.unpack_from("I", req, 76)[0]
t.check("ioctl register returns a handle", ih != 0 and get("selftest-ioctl").u32(HB_A_HANDLE) == ih)
fcntl.ioctl(fd, IOC_BEAT, ih)
try:
    fcntl.ioctl(fd, IOC_BEAT, 0x12345)
    ok = False
except OSError as e:
    ok = e.errno == errno.ENOENT
t.check("ioctl beat of a bad handle is ENOENT", ok)
bad = bytearray(struct.pack("32s32sIIBBBBI", b"x", b"", 0, 2, 0, 15, 0, 0, 0))
try:
    fcntl.ioctl(fd, IOC_REGISTER, bad)
    ok = False
except OSError as e:
    ok = e.errno == errno.ERANGE
t.check("ioctl register with period 0 is ERANGE", ok)
fcntl.ioctl(fd, IOC_UNREGISTER, ih)
t.raises("ioctl unregister removed it", lambda: get("selftest-ioctl"), errno.ENOENT)
# A request the handle cannot be written back to (a read-only page):
# EFAULT, and nothing registered.
import ctypes  # noqa: E402
import mmap  # noqa: E402
ro = mmap.mmap(-1, 4096)
ro.write(bytes(req))
libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
addr = ctypes.addressof(ctypes.c_char.from_buffer(ro))
n_before = count()
libc.mprotect(addr, 4096, 1)  # PROT_READ
rc = libc.ioctl(fd, IOC_REGISTER, addr)
err = ctypes.get_errno()
libc.mprotect(addr, 4096, 3)
t.check("ioctl register from a read-only buffer: EFAULT, nothing registered",
        rc == -1 and err == errno.EFAULT and count() == n_before, (rc, err, count(), n_before))
os.close(fd)

# 10. A dead critical entity stops the watchdog's feeding.
WDT = "/sys/kernel/cgl/wdt/"
if os.path.exists(WDT):
    old_action = open(WDT + "action").read().strip()
    open(WDT + "action", "w").write("event")
    open(WDT + "gate_critical", "w").write("1")
    wfd = os.open("/dev/watchdog0", os.O_WRONLY)
    refused0 = int(open(WDT + "refused_pings").read())
    hb_register(s, fam, "selftest-crit", 30, 1, critical=True)
    time.sleep(0.3)
    os.write(wfd, b"x")  # a ping
    refused1 = int(open(WDT + "refused_pings").read())
    s.request(fam, HB_CMD_BEAT, a_str(HB_A_NAME, "selftest-crit"))
    os.write(wfd, b"x")
    refused2 = int(open(WDT + "refused_pings").read())
    t.check("watchdog refuses pings while a critical entity is dead", refused1 > refused0,
            f"{refused0} {refused1}")
    t.check("and takes them again once it beats", refused2 == refused1, f"{refused1} {refused2}")
    # A critical entity whose process exited keeps gating until its name
    # registers again; a registration that fails (EFAULT: the handle
    # cannot be written back) must not lift the gate.
    def crit_exits(sock):
        hb_register(sock, fam, "selftest-crit2", 60000, 3, critical=True)
    os.waitpid(child(crit_exits), 0)
    time.sleep(0.2)
    r0 = int(open(WDT + "refused_pings").read())
    os.write(wfd, b"x")
    gated = int(open(WDT + "refused_pings").read()) > r0
    cfd = os.open("/dev/cgl_hb", os.O_RDWR)
    ro.seek(0)
    ro.write(struct.pack("32s32sIIBBBBI", b"selftest-crit2", b"", 60000, 3, 0, 15, 1, 0, 0))
    libc.mprotect(addr, 4096, 1)
    rc = libc.ioctl(cfd, IOC_REGISTER, addr)
    err = ctypes.get_errno()
    libc.mprotect(addr, 4096, 3)
    os.close(cfd)
    r1 = int(open(WDT + "refused_pings").read())
    os.write(wfd, b"x")
    still = int(open(WDT + "refused_pings").read()) > r1
    t.check("an exited critical entity gates pings; a failed (EFAULT) re-register leaves the gate",
            gated and rc == -1 and err == errno.EFAULT and still, (gated, rc, err, still))
    hb_register(s, fam, "selftest-crit2", 60000, 3, critical=True)
    unregister("selftest-crit2")
    unregister("selftest-crit")
    os.write(wfd, b"V")
    os.close(wfd)
    open(WDT + "gate_critical", "w").write("0")
    open(WDT + "action", "w").write(old_action)

# 11. A process in a pid namespace of its own registers itself: the entity
# watches that process (not whichever the initial namespace numbers as its
# pid there), and each side reads its own number for it.
import subprocess  # noqa: E402
code = ("import sys; sys.path.insert(0, %r)\n"
        "from cgl_netlink import *\n"
        "s = GenlSocket(); fam, _ = s.resolve('cgl_hb')\n"
        "try:\n"
        "    hb_register(s, fam, 'selftest-ns', 60000, 1, action=HB_ACT_NOTIFY)\n"
        "    print(s.request(fam, HB_CMD_GET, a_str(HB_A_NAME, 'selftest-ns'))[0].u32(HB_A_PID), flush=True)\n"
        "except NetlinkError as e:\n"
        "    print('error', e.errno, flush=True)\n"
        "sys.stdin.readline()\n") % sys.path[0]
ns = subprocess.Popen(["unshare", "-pf", "python3", "-c", code], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
seen = ns.stdout.readline().strip()
inner_pid = 0
for d in os.listdir("/proc"):
    try:
        if d.isdigit() and int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == ns.pid:
            inner_pid = int(d)
    except (OSError, IndexError, ValueError):
        pass
t.check("a process in a new pid namespace registers itself and reads its pid as 1", seen == "1", seen)
try:
    e_ns = get("selftest-ns")
    t.check("... the initial namespace reads its real pid, in netlink and sysfs",
            inner_pid > 0 and e_ns.u32(HB_A_PID) == inner_pid and
            open(SYS + "entities/selftest-ns/pid").read().strip() == str(inner_pid),
            f"{e_ns.u32(HB_A_PID)} {inner_pid}")
except NetlinkError as e:
    t.check("... the initial namespace sees the entity", False, e)
al_ns = alerts_socket()
ns.stdin.close()
ns.wait()
exit_seen = wait_alert(al_ns, "selftest-ns", HB_STATE_EXITED, 3)[0] is not None
deadline = time.monotonic() + 2
while time.monotonic() < deadline and os.path.exists(SYS + "entities/selftest-ns"):
    time.sleep(0.05)
t.check("... and its exit is that process's: reported, the entity removed",
        exit_seen and not os.path.exists(SYS + "entities/selftest-ns"))

unregister("selftest-a")
t.check("all test entities gone, with their directories", count() == n0 and
        not any(n.startswith("selftest") for n in os.listdir(SYS + "entities")))
sys.exit(1 if t.failed else 0)
