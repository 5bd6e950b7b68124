#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The ioctl interface of the multi-FIB module (/dev/cgl_fib) through the
# C sample samples/cgl/fib_route.c: add, replace, look up and delete
# routes; the same refusals and errnos as netlink; routes added by ioctl
# are the ones cgl-ctl sees.

. "$(dirname "$0")/lib.sh"
T=fib_ioctl
repo=$(cd "$(dirname "$0")/../../../.." && pwd)
bin=/tmp/fib_route
check "sample builds against the uapi header" \
	"cc -Wall -Werror -I $repo/include/uapi -o $bin $repo/samples/cgl/fib_route.c"
check "/dev/cgl_fib exists" "[ -c /dev/cgl_fib ]"
cgl-ctl fib del 60 2>/dev/null
cgl-ctl fib add 60
check "ioctl add of a route via a gateway" "[ \"\$($bin add 60 10.1.0.0/16 via 192.0.2.1 dev 1)\" = ok ]"
check "cgl-ctl sees it" "cgl-ctl route get 10.1.2.3 fib 60 | grep -q 'via 192.0.2.1'"
check "ioctl get: longest match" "[ \"\$($bin get 60 10.1.2.3)\" = '10.1.0.0/16 type 0 via 192.0.2.1 dev 1' ]"
check "ioctl add of an IPv6 blackhole" "[ \"\$($bin add 60 2001:db8::/32 blackhole)\" = ok ]"
check "ioctl get IPv6" "[ \"\$($bin get 60 2001:db8::1)\" = '2001:db8::/32 type 1' ]"
check "duplicate: EEXIST" "[ \"\$($bin add 60 10.1.0.0/16 via 192.0.2.9)\" = EEXIST ]"
check "replace" "[ \"\$($bin add 60 10.1.0.0/16 via 192.0.2.9 replace)\" = ok ] && $bin get 60 10.1.9.9 | grep -q 'via 192.0.2.9'"
check "host bits set: EINVAL" "[ \"\$($bin add 60 10.1.0.1/16 blackhole)\" = EINVAL ]"
check "prefix length 33: EINVAL" "[ \"\$($bin add 60 10.0.0.0/33 blackhole)\" = EINVAL ]"
check "unicast without nexthop: EINVAL" "[ \"\$($bin add 60 10.2.0.0/16)\" = EINVAL ]"
check "unknown interface: ENODEV" "[ \"\$($bin add 60 10.2.0.0/16 dev 99999)\" = ENODEV ]"
check "unknown FIB: ENOENT" "[ \"\$($bin add 61 10.2.0.0/16 blackhole)\" = ENOENT ]"
check "no route: ENETUNREACH" "[ \"\$($bin get 60 172.16.0.1)\" = ENETUNREACH ]"
check "FIB unchanged by the refusals" "[ \$(cgl-ctl route show fib 60 | wc -l) -eq 2 ]"
check "unprivileged add: EPERM" "[ \"\$(setpriv --reuid=65534 --clear-groups $bin add 60 10.3.0.0/16 blackhole)\" = EPERM ]"
check "unprivileged get works" "setpriv --reuid=65534 --clear-groups $bin get 60 10.1.2.3 | grep -q 10.1.0.0/16"
check "ioctl del" "[ \"\$($bin del 60 10.1.0.0/16)\" = ok ] && [ \"\$($bin get 60 10.1.2.3)\" = ENETUNREACH ]"
check "del of a missing route: ENOENT" "[ \"\$($bin del 60 10.1.0.0/16)\" = ENOENT ]"
cgl-ctl fib del 60
finish
