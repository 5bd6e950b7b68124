#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The C sample (samples/cgl/heartbeat_client.c) against /dev/cgl_hb: it
# beats, unregisters; hung, it gets the monitor's signal.

. "$(dirname "$0")/lib.sh"
T=heartbeat_sample
repo=$(cd "$(dirname "$0")/../../../.." && pwd)
bin=/tmp/heartbeat_client
check "sample builds against the uapi header" \
	"cc -Wall -Werror -I $repo/include/uapi -o $bin $repo/samples/cgl/heartbeat_client.c"
check "sample beats and unregisters" "$bin sample-ok 20 10 | grep -q 'beat 10 times, unregistered'"
check "hung sample gets SIGUSR1 from the monitor" "$bin sample-hung 20 0 | grep -q 'got SIGUSR1'"
check "its entity is gone after it exits" "! grep -q sample-hung /sys/kernel/cgl/heartbeat/table && [ ! -d /sys/kernel/cgl/heartbeat/entities/sample-hung ]"
finish
