#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A syslog collector for the cgl-ctl selftest: listens on 127.0.0.1 (UDP,
or TCP with RFC 6587 octet counting), writes each message as one line to
OUT, exits after COUNT messages or TIMEOUT seconds.

usage: syslog_collector.py udp|tcp PORT OUT COUNT TIMEOUT

OUT.ready appears once the socket listens."""

import socket
import sys
import time

proto, port, out, count, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
end = time.monotonic() + timeout
got = []
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    open(out + ".ready", "w").close()
    while len(got) < count and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            got.append(s.recv(65536).decode())
        except socket.timeout:
            break
else:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)
    open(out + ".ready", "w").close()
    buf = b""
    while len(got) < count and time.monotonic() < end:
        ls.settimeout(max(0.01, end - time.monotonic()))
        try:
            c, _ = ls.accept()
        except socket.timeout:
            break
        while len(got) < count and time.monotonic() < end:
            c.settimeout(max(0.01, end - time.monotonic()))
            try:
                d = c.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            buf += d
            while b" " in buf:
                n, rest = buf.split(b" ", 1)
                if not n.isdigit() or len(rest) < int(n):
                    break
                got.append(rest[:int(n)].decode())
                buf = rest[int(n):]
        c.close()
with open(out, "w") as f:
    for m in got:
        f.write(m.replace("\n", " ") + "\n")
