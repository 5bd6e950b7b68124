#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Load the CGL KUnit modules; KUnit runs their suites at load and reports
# KTAP in the kernel log. One check per test case.

: "${CGL_TREE:?CGL_TREE must name the kernel tree}"
rc=0
for ko in "$CGL_TREE"/drivers/cgl/*_kunit.ko; do
	[ -e "$ko" ] || { echo "not ok - kunit: no KUnit modules in $CGL_TREE"; exit 1; }
	name=$(basename "$ko" .ko)
	mark="cgl-selftest-$name-$$"
	echo "$mark" > /dev/kmsg
	if ! insmod "$ko"; then
		echo "not ok - kunit: insmod $name"
		rc=1
		continue
	fi
	rmmod "$name"
	# Case lines of the suites this load ran: "    ok 1 name" / "    not ok 2 name".
	dmesg | sed -n "/$mark/,\$p" | sed 's/^\[[^]]*\] //' |
		awk -v mod="$name" '
		/^    # Subtest: / { suite = $3 }
		/^    (not )?ok [0-9]+ / {
			n++
			st = ($1 == "not") ? "not ok" : "ok"
			name = ($1 == "not") ? $4 : $3
			print st " - kunit: " suite "." name
			if (st == "not ok") bad = 1
		}
		END { if (n == 0) { print "not ok - kunit: " mod " reported no test case"; bad = 1 }
		      exit bad }' || rc=1
done
exit $rc
