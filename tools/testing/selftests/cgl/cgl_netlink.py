# SPDX-License-Identifier: GPL-2.0
"""Minimal generic netlink client for the cgl selftests.

Independent of cgl-ctl on purpose: the tests check the kernel's wire
format with their own encoder, so a bug shared by the kernel and the
tool cannot hide.
"""

import errno
import os
import socket
import struct

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR = 2
NLMSG_DONE = 3
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2


class NetlinkError(Exception):
    """An NLMSG_ERROR reply: errno and the extack message, if any."""

    def __init__(self, err, msg, offs):
        super().__init__(f"{os.strerror(err)} ({msg})")
        self.errno = err
        self.msg = msg
        self.offs = offs


def attr(t, payload):
    """One attribute, padded to 4 bytes."""
    n = 4 + len(payload)
    return struct.pack("HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)


def a_u8(t, v):
    return attr(t, struct.pack("B", v))


def a_u32(t, v):
    return attr(t, struct.pack("I", v))


def a_u64(t, v):
    return attr(t, struct.pack("Q", v))


def a_str(t, s):
    return attr(t, s.encode() + b"\0")


def parse_attrs(data):
    """Attributes as {type: [payload, ...]} (a type may repeat)."""
    out = {}
    off = 0
    while off + 4 <= len(data):
        n, t = struct.unpack_from("HH", data, off)
        if n < 4:
            break
        out.setdefault(t & 0x3FFF, []).append(data[off + 4:off + n])
        off += (n + 3) & ~3
    return out


class Attrs(dict):
    """Decoded attributes of one message with typed getters."""

    def u8(self, t):
        return struct.unpack("B", self[t][0][:1])[0]

    def u32(self, t):
        return struct.unpack("I", self[t][0][:4])[0]

    def u64(self, t):
        return struct.unpack("Q", self[t][0][:8])[0]

    def str(self, t):
        return self[t][0].split(b"\0", 1)[0].decode()


class GenlSocket:
    """A generic netlink socket with extended acks."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 1

    def send(self, family, cmd, attrs=b"", flags=NLM_F_REQUEST | NLM_F_ACK, version=1):
        self.seq += 1
        body = struct.pack("BBH", cmd, version, 0) + attrs
        hdr = struct.pack("IHHII", 16 + len(body), family, flags, self.seq, 0)
        self.sock.send(hdr + body)
        return self.seq

    def recv_msgs(self):
        data = self.sock.recv(1 << 20)
        off = 0
        while off + 16 <= len(data):
            n, typ, flags, seq, pid = struct.unpack_from("IHHII", data, off)
            yield typ, flags, seq, data[off + 16:off + n]
            off += (n + 3) & ~3

    def request(self, family, cmd, attrs=b"", dump=False):
        """Replies (as Attrs) until the ack or NLMSG_DONE; raises NetlinkError."""
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if dump else 0)
        seq = self.send(family, cmd, attrs, flags)
        out = []
        while True:
            for typ, mflags, mseq, payload in self.recv_msgs():
                if mseq != seq:
                    continue
                if typ == NLMSG_DONE:
                    return out
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("i", payload)[0]
                    msg, offs = None, None
                    if mflags & NLM_F_ACK_TLVS:
                        # error, then the request's header (capped) or all of it
                        if mflags & NLM_F_CAPPED:
                            skip = 4 + 16
                        else:
                            skip = 4 + ((struct.unpack_from("I", payload, 4)[0] + 3) & ~3)
                        tl = parse_attrs(payload[skip:])
                        if NLMSGERR_ATTR_MSG in tl:
                            msg = tl[NLMSGERR_ATTR_MSG][0].split(b"\0", 1)[0].decode()
                        if NLMSGERR_ATTR_OFFS in tl:
                            offs = struct.unpack("I", tl[NLMSGERR_ATTR_OFFS][0][:4])[0]
                    if err:
                        raise NetlinkError(err, msg, offs)
                    return out
                out.append(Attrs(parse_attrs(payload[4:])))

    def resolve(self, name):
        """(family id, {group name: id})."""
        r = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, a_str(CTRL_ATTR_FAMILY_NAME, name))
        fam = r[0]
        groups = {}
        for nest in fam.get(CTRL_ATTR_MCAST_GROUPS, []):
            for g in parse_attrs(nest).values():
                ga = Attrs(parse_attrs(g[0]))
                groups[ga.str(CTRL_ATTR_MCAST_GRP_NAME)] = ga.u32(CTRL_ATTR_MCAST_GRP_ID)
        return struct.unpack("H", fam[CTRL_ATTR_FAMILY_ID][0][:2])[0], groups

    def join(self, group):
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)


# include/uapi/linux/cgl_core.h
(CMD_EVENT_GET, CMD_EVENT_NEW, CMD_EVENT_LOG, CMD_CONFIG_GET, CMD_CONFIG_SET,
 CMD_MODULE_GET) = range(1, 7)
(A_PAD, A_EVENT_SEQ, A_EVENT_MONO_NS, A_EVENT_REAL_NS, A_EVENT_SEVERITY,
 A_EVENT_SUBSYS, A_EVENT_ID, A_EVENT_MSG, A_EVENT_PAYLOAD, A_EVENT_LOST,
 A_FILTER_SEQ, A_FILTER_SEVERITY, A_FILTER_SUBSYS, A_CONFIG_RING_SIZE,
 A_CONFIG_PRINTK_LEVEL, A_CONFIG_NEXT_SEQ, A_CONFIG_RECORDS,
 A_CONFIG_OVERWRITTEN, A_CONFIG_DROPPED, A_MODULE_NAME, A_MODULE_FAMILY,
 A_MODULE_DESC) = range(1, 23)


class Checks:
    """TAP-style checks: one 'ok'/'not ok' line each; exit status = failures."""

    def __init__(self, group):
        self.group = group
        self.failed = 0

    def check(self, name, cond, detail=""):
        if cond:
            print(f"ok - {self.group}: {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {self.group}: {name} {detail}", flush=True)
        return cond

    def raises(self, name, fn, want_errno, want_msg=True):
        try:
            fn()
        except NetlinkError as e:
            want = want_errno if isinstance(want_errno, tuple) else (want_errno,)
            return self.check(name, e.errno in want and (e.msg is not None or not want_msg),
                              f"(got {errno.errorcode.get(e.errno)} msg={e.msg!r})")
        return self.check(name, False, "(no error)")


# include/uapi/linux/cgl_heartbeat.h
(HB_CMD_REGISTER, HB_CMD_BEAT, HB_CMD_UNREGISTER, HB_CMD_GET, HB_CMD_GROUP_GET,
 HB_CMD_ALERT) = range(1, 7)
(HB_A_PAD, HB_A_HANDLE, HB_A_NAME, HB_A_PERIOD_MS, HB_A_MAX_MISSES, HB_A_ACTION,
 HB_A_SIGNAL, HB_A_COMMAND, HB_A_GROUP, HB_A_CRITICAL, HB_A_PID, HB_A_STATE,
 HB_A_MISSES, HB_A_LAST_BEAT_NS, HB_A_DEADLINE_NS, HB_A_LATE_NS, HB_A_GROUP_MEMBERS,
 HB_A_GROUP_DEAD) = range(1, 19)
HB_ACT_EVENT, HB_ACT_SIGNAL, HB_ACT_NOTIFY, HB_ACT_COMMAND, HB_ACT_PANIC = range(5)
HB_STATE_ALIVE, HB_STATE_LATE, HB_STATE_DEAD, HB_STATE_EXITED = range(4)


def hb_register(s, fam, name, period_ms, misses, action=None, signal=None, group=None,
                critical=False, pid=None, command=None):
    """Register an entity; returns its handle."""
    a = a_str(HB_A_NAME, name) + a_u32(HB_A_PERIOD_MS, period_ms) + a_u32(HB_A_MAX_MISSES, misses)
    if action is not None:
        a += a_u8(HB_A_ACTION, action)
    if signal is not None:
        a += a_u8(HB_A_SIGNAL, signal)
    if group is not None:
        a += a_str(HB_A_GROUP, group)
    if critical:
        a += attr(HB_A_CRITICAL, b"")
    if pid is not None:
        a += a_u32(HB_A_PID, pid)
    if command is not None:
        a += a_str(HB_A_COMMAND, command)
    return s.request(fam, HB_CMD_REGISTER, a)[0].u32(HB_A_HANDLE)
