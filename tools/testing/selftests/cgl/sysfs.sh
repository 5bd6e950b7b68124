#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /sys/kernel/cgl/core: values readable, writable by root only, bad values
# refused with an errno and no change.

. "$(dirname "$0")/lib.sh"
T=sysfs
d=/sys/kernel/cgl/core

for f in ring_size printk_level next_seq records overwritten dropped; do
	check "$f readable and numeric" "grep -qx '[0-9][0-9]*' $d/$f"
done
old=$(cat $d/ring_size)
seq_before=$(cat $d/next_seq)
check "ring_size accepts 128" "echo 128 > $d/ring_size && [ \$(cat $d/ring_size) = 128 ]"
check "a change is logged as an event" "[ \$(cat $d/next_seq) -gt $seq_before ]"
for bad in 5 70000 abc -1 ''; do
	check "ring_size refuses '$bad' and keeps 128" \
		"! (echo '$bad' > $d/ring_size) 2>/dev/null && [ \$(cat $d/ring_size) = 128 ]"
done
check "printk_level refuses 9" "! (echo 9 > $d/printk_level) 2>/dev/null && [ \$(cat $d/printk_level) -le 8 ]"
check "read-only counter refuses writes" "! (echo 1 > $d/next_seq) 2>/dev/null"
check "non-root cannot write ring_size" \
	"! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo 64 > $d/ring_size' 2>/dev/null && [ \$(cat $d/ring_size) = 128 ]"
check "non-root can read ring_size" \
	"[ \"\$(setpriv --reuid=65534 --regid=65534 --clear-groups cat $d/ring_size)\" = 128 ]"
echo "$old" > $d/ring_size
finish
