#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Print CGL event records for shell tests: `cgl_events.py next` prints the
next sequence number; `cgl_events.py FROM [SUBSYS]` prints records from
FROM on as `seq severity id message` lines."""

import sys

sys.path.insert(0, sys.path[0])
from cgl_netlink import (A_CONFIG_NEXT_SEQ, A_EVENT_ID, A_EVENT_MSG, A_EVENT_SEQ,  # noqa: E402
                         A_EVENT_SEVERITY, A_FILTER_SEQ, A_FILTER_SUBSYS, CMD_CONFIG_GET,
                         CMD_EVENT_GET, GenlSocket, a_str, a_u64)

s = GenlSocket()
fam, _ = s.resolve("cgl_core")
if sys.argv[1] == "next":
    print(s.request(fam, CMD_CONFIG_GET)[0].u64(A_CONFIG_NEXT_SEQ))
    sys.exit(0)
a = a_u64(A_FILTER_SEQ, int(sys.argv[1]))
if len(sys.argv) > 2:
    a += a_str(A_FILTER_SUBSYS, sys.argv[2])
for r in s.request(fam, CMD_EVENT_GET, a, dump=True):
    print(r.u64(A_EVENT_SEQ), r.u8(A_EVENT_SEVERITY), r.u32(A_EVENT_ID), r.str(A_EVENT_MSG))
