# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the shell selftests: one "ok"/"not ok" line per check.
# Set T to the test's name before calling check.

_fail=0
check() { # NAME CONDITION
	if eval "$2"; then
		echo "ok - $T: $1"
	else
		echo "not ok - $T: $1"
		_fail=1
	fi
}
finish() { exit $_fail; }
