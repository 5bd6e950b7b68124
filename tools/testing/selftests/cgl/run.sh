#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run every CGL selftest in the guest (scripts/cgl/vm.sh --cmd). Each test
# prints one "ok - ..." or "not ok - ..." line per check; the last line is
# the summary "N passed, N failed". Exit status 0 only if all passed.
#
# usage: run.sh [TEST...]   (default: every test listed below)

cd "$(dirname "$0")" || exit 1
tests=${*:-"posix_timers.py kunit.sh sysfs.sh core_netlink.py cgl_ctl.sh heartbeat.py heartbeat_sample.sh wdt.sh digsig.sh fib.py fib_ioctl.sh fib_fwd.py fib_fwd_accel.sh fib_churn.sh"}
log=$(mktemp)
pass=0 fail=0
for t in $tests; do
	echo "# $t"
	./"$t" > "$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t ran no check"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
rm -f "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
