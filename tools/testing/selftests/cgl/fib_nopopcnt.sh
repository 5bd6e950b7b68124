#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In a guest whose CPU lacks POPCNT (vm.sh --cpu max,popcnt=off, a boot
# of its own in make check): cgl_fib, built with CONFIG_CGL_FIB_POPCNT,
# refuses to load with ENODEV and says why, and leaves nothing behind;
# the other CGL modules load as usual.

. "$(dirname "$0")/lib.sh"
T=fib_nopopcnt
ko=$CGL_TREE/net/cgl/fib/cgl_fib.ko

check "the CPU has no POPCNT" "! grep -qw popcnt /proc/cpuinfo"
check "the module was built for POPCNT" \
	"grep -qx CONFIG_CGL_FIB_POPCNT=y '$CGL_TREE/.config'"
check "cgl_fib did not load at boot" "[ ! -d /sys/module/cgl_fib ]"
check "the kernel log says why" "dmesg | grep -q 'cgl_fib: this CPU has no POPCNT'"
err=$(insmod "$ko" 2>&1)
rc=$?
check "loading it again fails" "[ $rc -ne 0 ]"
check "with ENODEV" "echo \"\$err\" | grep -q 'No such device'"
check "and leaves no module, sysfs or device behind" \
	"[ ! -d /sys/module/cgl_fib ] && [ ! -e /sys/kernel/cgl/fib ] && [ ! -e /dev/cgl_fib ]"
check "cgl_core is up" "[ -d /sys/kernel/cgl ]"
check "the heartbeat and watchdog modules loaded" \
	"[ -d /sys/module/cgl_heartbeat ] && [ -d /sys/module/cgl_wdt ]"
check "no oops" "! dmesg | grep -qE 'BUG:|Oops|invalid opcode'"
finish
