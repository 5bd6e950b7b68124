#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The CGL watchdog through real clients: wdctl (util-linux) and busybox
# watchdog. Expiry runs the "event" action here (log only), so the test
# can watch it happen: a pinging daemon keeps it alive, a killed one lets
# it expire, magic close stops it, nowayout does not let it stop, the
# pretimeout comes first.

. "$(dirname "$0")/lib.sh"
dev=/dev/watchdog0
sys=/sys/class/watchdog/watchdog0
cgl=/sys/kernel/cgl/wdt
ev="$(dirname "$0")/cgl_events.py"
T=wdt

check "device registered with the watchdog core" "[ -c $dev ] && grep -qx 'CGL watchdog' $sys/identity"
check "wdctl reads the identity and timeout" \
	"wdctl $dev | grep -q 'CGL watchdog' && wdctl $dev | grep -qi 'timeout:'"
check "action defaults to panic" "[ \"\$(cat $cgl/action)\" = panic ]"
check "bad action refused, action unchanged" "! (echo explode > $cgl/action) 2>/dev/null && [ \"\$(cat $cgl/action)\" = panic ]"
echo event > $cgl/action
check "action set to event" "[ \"\$(cat $cgl/action)\" = event ]"
check "wdctl sets the timeout" "wdctl -s 2 $dev >/dev/null && [ \$(cat $sys/timeout) = 2 ]"
check "timeout out of range refused" "! wdctl -s 7200 $dev >/dev/null 2>&1 && [ \$(cat $sys/timeout) = 2 ]"

expirations() { cat $cgl/expirations; }

# A live daemon keeps it fed for longer than the timeout.
e0=$(expirations)
busybox watchdog -F -T 2 -t 500ms $dev &
pid=$!
sleep 4
check "busybox watchdog keeps it alive past the timeout" "[ \$(expirations) = $e0 ] && [ \$(cat $sys/state) = active ]"
check "timeleft is reported while running" "[ \$(cat $sys/timeleft) -le 2 ]"
# A hung daemon (SIGKILL: no magic close) lets it expire.
seq=$($ev next)
kill -9 $pid; wait $pid 2>/dev/null
sleep 3.5
check "expires once the pinging process dies" "[ \$(expirations) = \$(($e0 + 1)) ]"
check "expiry is logged as an emergency event" "$ev $seq wdt | grep -q '^[0-9]* 0 1 watchdog expired'"

# Magic close: 'V' then close stops it.
e1=$(expirations)
python3 -c "import os; fd = os.open('$dev', os.O_WRONLY); os.write(fd, b'V'); os.close(fd)"
sleep 3
check "magic close stops it" "[ \$(expirations) = $e1 ] && [ \$(cat $sys/state) = inactive ]"
# Close without the magic character: it keeps running and expires.
python3 -c "import os; fd = os.open('$dev', os.O_WRONLY); os.write(fd, b'x'); os.close(fd)"
sleep 3
check "close without magic character leaves it running to expiry" "[ \$(expirations) = \$(($e1 + 1)) ]"

# Pretimeout: an alert one second before expiry.
wdctl -s 3 -p 1 $dev >/dev/null 2>&1
check "pretimeout set" "[ \$(cat $sys/pretimeout) = 1 ]"
seq=$($ev next)
python3 -c "import os; fd = os.open('$dev', os.O_WRONLY); os.write(fd, b'x'); os.close(fd)"
sleep 4
check "pretimeout alert comes before the expiry" \
	"$ev $seq wdt | awk '\$3 == 2 { p = NR } \$3 == 1 { e = NR } END { exit !(p && e && p < e) }'"

# nowayout: magic close no longer stops it.
echo 1 > $sys/nowayout
e2=$(expirations)
wdctl -s 2 $dev >/dev/null 2>&1
python3 -c "import os; fd = os.open('$dev', os.O_WRONLY); os.write(fd, b'V'); os.close(fd)"
sleep 3
check "nowayout: magic close does not stop it" "[ \$(expirations) -gt $e2 ]"
check "nowayout cannot be cleared" "! (echo 0 > $sys/nowayout) 2>/dev/null || [ \$(cat $sys/nowayout) = 1 ]"

# The watchdog core pins the driver of an active nowayout watchdog.
check "nowayout pins the module" "! rmmod cgl_wdt 2>/dev/null && [ -c $dev ]"
finish
