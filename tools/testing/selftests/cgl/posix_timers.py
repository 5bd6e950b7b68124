#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# CGL 2.0 asks for the POSIX timer interface (kernel/configs/cgl.config
# turns CONFIG_POSIX_TIMERS on; tinyconfig leaves it off, and then
# timer_create, setitimer and alarm fail with ENOSYS). Each timer must
# deliver its signal on time, and coreutils timeout(1), which the
# multi-guest tests use to bound a ping, must stop its command.

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cgl_netlink import Checks  # noqa: E402

c = Checks("posix-timers")
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])


def alarm_within(arm, limit):
    """Arms a timer with arm(), then waits up to limit seconds for
    SIGALRM; returns (arm's error or None, seconds until the signal or
    None)."""
    t0 = time.monotonic()
    try:
        arm()
    except OSError as e:
        return e, None
    info = signal.sigtimedwait([signal.SIGALRM], limit)
    return None, (time.monotonic() - t0) if info else None


def show(err, took):
    return f"(error {err}, signal after {took})"


err, took = alarm_within(lambda: signal.setitimer(signal.ITIMER_REAL, 0.05), 2.0)
c.check("setitimer(ITIMER_REAL, 50 ms) delivers SIGALRM within 1 s",
        err is None and took is not None and took < 1.0, show(err, took))

err, took = alarm_within(lambda: signal.alarm(1), 4.0)
c.check("alarm(1) delivers SIGALRM after 1 s (at most 3 s)",
        err is None and took is not None and 0.9 < took < 3.0, show(err, took))


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", Timespec), ("it_value", Timespec)]


libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
tid = ctypes.c_void_p()


def timer_create_arm():
    # A NULL sigevent: SIGALRM to the process when the timer expires.
    if libc.timer_create(time.CLOCK_MONOTONIC, None, ctypes.byref(tid)) != 0:
        raise OSError(ctypes.get_errno(), "timer_create")
    spec = Itimerspec(Timespec(0, 0), Timespec(0, 50_000_000))
    if libc.timer_settime(tid, 0, ctypes.byref(spec), None) != 0:
        raise OSError(ctypes.get_errno(), "timer_settime")


err, took = alarm_within(timer_create_arm, 2.0)
c.check("timer_create + timer_settime(50 ms) deliver SIGALRM within 1 s",
        err is None and took is not None and took < 1.0, show(err, took))
if err is None:
    c.check("timer_delete succeeds", libc.timer_delete(tid) == 0)
else:
    c.check("timer_delete succeeds", False, "(no timer)")

res = time.clock_getres(time.CLOCK_MONOTONIC)
c.check("CLOCK_MONOTONIC has high resolution (<= 1 us)", res <= 1e-6, f"({res} s)")

signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM])
t0 = time.monotonic()
rc = subprocess.run(["timeout", "1", "sleep", "10"]).returncode
took = time.monotonic() - t0
c.check("timeout 1 sleep 10 stops sleep after 1 s (status 124, under 5 s)",
        rc == 124 and took < 5.0, f"(status {rc} after {took:.1f} s)")
sys.exit(1 if c.failed else 0)
