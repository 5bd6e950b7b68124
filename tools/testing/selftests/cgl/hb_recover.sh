#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Recovery command of the heartbeat selftest. The usermode helper runs it
# in the initramfs's root, where the host's /tmp is /mnt/host/tmp.
echo "$*" >> /mnt/host/tmp/hb_recover.out
