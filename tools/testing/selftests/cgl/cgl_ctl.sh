#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# cgl-ctl against the running modules: status, the event log (list, JSON,
# log, config, follow by multicast, loss), syslog forwarding over UDP and
# TCP with resume from the state file, and the heartbeat and watchdog
# commands.

. "$(dirname "$0")/lib.sh"
T=cgl_ctl
here=$(dirname "$0")
ctl=cgl-ctl
command -v $ctl >/dev/null || { echo "not ok - cgl_ctl: cgl-ctl not on PATH"; exit 1; }
tmp=$(mktemp -d)
json() { python3 -c 'import json, sys; json.load(sys.stdin)'; }
ready() { for _ in $(seq 100); do [ -e "$1.ready" ] && return 0; sleep 0.1; done; return 1; }

check "status lists the core and the modules" \
	"$ctl status > $tmp/st && grep -q cgl_core $tmp/st && grep -q heartbeat $tmp/st && grep -q wdt $tmp/st"
check "status -j is JSON" "$ctl -j status | json"
check "events list prints a table with a header" "$ctl events list --last 3 | head -1 | grep -q SEQ"
check "events list -j is JSON" "$ctl -j events list | json"
seq=$($ctl events log --severity warning --subsys selftest --id 42 hello from cgl-ctl | awk '{print $2}')
check "events log prints the new sequence number" "[ -n \"$seq\" ] && [ \"$seq\" -gt 0 ]"
check "the logged record is listed with its fields" \
	"$ctl events list --from-seq $seq | grep selftest | grep -q 'hello from cgl-ctl'"
check "severity filter hides it" "! $ctl events list --from-seq $seq --severity err | grep -q 'hello from cgl-ctl'"
check "bad severity is a usage error" "! $ctl events log --severity loud x 2>/dev/null"
$ctl events config --ring-size 5 > $tmp/out 2> $tmp/err
rc=$?
check "out-of-range ring size refused, quoting the kernel" "[ $rc = 1 ] && grep -q 'kernel refused' $tmp/err"
check "config unchanged" "[ \$(cat /sys/kernel/cgl/core/ring_size) != 5 ]"

# follow: multicast, in order.
$ctl events follow --subsys selftest --count 3 --timeout 20 > $tmp/follow &
fpid=$!
sleep 2
for i in 1 2 3; do $ctl events log --severity info --subsys selftest "follow $i" >/dev/null; done
wait $fpid
check "follow gets new records in order" \
	"[ \"\$(grep -o 'follow [0-9]' $tmp/follow | tr '\n' ' ')\" = 'follow 1 follow 2 follow 3 ' ]"

# syslog over UDP.
first=$($ctl events log --severity err --subsys selftest "to syslog 1" | awk '{print $2}')
$ctl events log --severity err --subsys selftest "to syslog 2" >/dev/null
python3 $here/syslog_collector.py udp 5514 $tmp/udp 2 15 &
cpid=$!
ready $tmp/udp
$ctl events follow --subsys selftest --from-seq $first --count 2 --timeout 10 \
	--syslog udp://127.0.0.1:5514 --hostname node1 > /dev/null
wait $cpid
check "syslog UDP: two RFC 5424 messages" "[ \$(wc -l < $tmp/udp) = 2 ]"
check "syslog UDP: header, structured data and message" \
	"grep -Eq '^<131>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z node1 cgl - selftest \\[cgl@32473 seq=\"$first\"[^]]*\\] to syslog 1\$' $tmp/udp"

# syslog over TCP, then resume from the state file after a restart.
python3 $here/syslog_collector.py tcp 5515 $tmp/tcp 4 20 &
cpid=$!
ready $tmp/tcp
$ctl events follow --subsys selftest --from-seq $first --count 2 --timeout 10 \
	--syslog tcp://127.0.0.1:5515 --state $tmp/state > /dev/null
for i in 3 4; do $ctl events log --severity err --subsys selftest "to syslog $i" >/dev/null; done
$ctl events follow --subsys selftest --count 2 --timeout 10 \
	--syslog tcp://127.0.0.1:5515 --state $tmp/state > /dev/null
wait $cpid
check "syslog TCP with resume: four messages, none twice, in order" \
	"[ \"\$(grep -o 'to syslog [0-9]' $tmp/tcp | tr '\n' ' ')\" = 'to syslog 1 to syslog 2 to syslog 3 to syslog 4 ' ]"

# Loss is reported.
old=$(cat /sys/kernel/cgl/core/ring_size)
$ctl events config --ring-size 16 > /dev/null
start=$($ctl events log --severity info --subsys selftest "loss start" | awk '{print $2}')
for i in $(seq 1 30); do $ctl events log --severity info --subsys selftest "loss $i" >/dev/null; done
check "a reader behind is told how many records it lost" \
	"$ctl events list --from-seq $start | grep -q 'records lost'"
$ctl events config --ring-size $old > /dev/null

# Heartbeat and watchdog commands.
if $ctl hb --help >/dev/null 2>&1; then
	check "hb register" "$ctl hb register ctl-test --period 100ms --misses 3 --pid $$ --group ctl | grep -q handle"
	check "hb list shows it" "$ctl hb list | grep -q ctl-test"
	check "hb beat" "$ctl hb beat ctl-test"
	check "hb groups" "$ctl hb groups | grep -q ctl"
	check "hb duplicate refused with the kernel's reason" \
		"! $ctl hb register ctl-test --period 100ms --misses 3 --pid $$ 2>$tmp/err && grep -q 'exists' $tmp/err"
	check "hb unregister" "$ctl hb unregister ctl-test && ! $ctl hb list | grep -q ctl-test"
	check "wdt status" "$ctl wdt status | grep -qi 'CGL watchdog'"
fi
rm -rf $tmp
finish
