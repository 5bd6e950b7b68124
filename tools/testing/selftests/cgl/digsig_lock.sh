#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# DigSig's enforcing lock, in a boot of its own (make vm-test-digsig-lock):
# once locked, nothing unsigned runs and the mode cannot leave enforcing
# until reboot. The harness's own commands after this test (cat, grep, rm)
# come from /tmp/cgl-signed, a signed busybox that the harness puts first
# in PATH; /init falls back to sysrq to power off.

. "$(dirname "$0")/lib.sh"
T=digsig_lock
here=$(cd "$(dirname "$0")" && pwd)
S=/sys/kernel/cgl/digsig
ctl=cgl-ctl
bin=/tmp/cgl-signed
d=$(mktemp -d)
openssl req -x509 -new -nodes -days 30 -subj "/CN=cgl digsig lock test" \
	-newkey rsa:2048 -keyout $d/k.pem -out $d/c.pem 2>/dev/null
check "key added" "$ctl digsig key add $d/c.pem >/dev/null"
mkdir -p $bin
check "busybox signed" "$ctl digsig sign /bin/busybox -o $bin/busybox --key $d/k.pem --cert $d/c.pem >/dev/null"
for a in cat grep rm sh true sleep mktemp; do ln -sf busybox $bin/$a; done
cp /bin/busybox $d/busybox.un

check "locking outside enforcing is refused" "! sh -c 'echo 1 > $S/locked' 2>/dev/null"
check "cgl-ctl digsig mode enforcing" "$ctl digsig mode enforcing"
# From here on only signed code runs: the checks use shell built-ins and
# the signed busybox.
PATH=$bin:$PATH
check "cgl-ctl is unsigned: refused" "! $ctl digsig status 2>/dev/null"
echo 1 > $S/locked
read l < $S/locked
check "locked" "[ \"$l\" = 1 ]"
check "the mode cannot be set to off" "! $bin/sh -c 'echo off > $S/mode' 2>/dev/null"
check "nor to permissive" "! $bin/sh -c 'echo permissive > $S/mode' 2>/dev/null"
read m < $S/mode
check "it is still enforcing" "[ \"$m\" = enforcing ]"
check "the lock cannot be undone" "! $bin/sh -c 'echo 0 > $S/locked' 2>/dev/null"
check "signed code runs" "$bin/true"
check "unsigned code is refused" "! $d/busybox.un true 2>/dev/null"
finish
