#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fib_fwd.py again with every FIB family accelerated (accel_routes 1), so
# forwarding runs through the direct-pointing lookup accelerator.
CGL_FIB_ACCEL=1 exec "$(dirname "$0")/fib_fwd.py"
