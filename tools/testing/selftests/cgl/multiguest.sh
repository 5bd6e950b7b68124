#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run in every guest of "vm.sh --guests N": guest i takes 192.0.2.(i+1) on
# each of its links (documentation addresses, on links that exist only
# between the guests) and pings every other guest over its own link.
# Cluster tests build on this.

. "$(dirname "$0")/lib.sh"
T="multiguest[$CGL_GUEST]"
me=$((CGL_GUEST + 1))
k=0
echo "# guest $CGL_GUEST starts"
for j in $(seq 0 $((CGL_GUESTS - 1))); do
	[ "$j" = "$CGL_GUEST" ] && continue
	ip link set "eth$k" up
	ip addr add "192.0.2.$me/32" dev "eth$k"
	ip route add "192.0.2.$((j + 1))/32" dev "eth$k"
	k=$((k + 1))
done
echo "# guest $CGL_GUEST starts"
for j in $(seq 0 $((CGL_GUESTS - 1))); do
	[ "$j" = "$CGL_GUEST" ] && continue
	peer=192.0.2.$((j + 1))
	ok=1
	echo "# guest $CGL_GUEST pings $peer"
	for _ in $(seq 60); do timeout 3 ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { ok=0; break; }; sleep 0.5; done
	check "guest $CGL_GUEST reaches guest $j over their link" "[ $ok = 0 ]"
done
# Stay up until every guest has had its turn (guests boot at different
# speeds on a busy host). Poll once a second with shell builtins only: a
# guest that forks ls and grep five times a second keeps its emulated CPU
# busy, and under TCG that takes the host CPU from the guests still
# pinging it (make check timed out that way, the last guest at 12% CPU).
touch "$CGL_SHARED/done.$CGL_GUEST"
for _ in $(seq 180); do
	n=0
	for f in "$CGL_SHARED"/done.*; do
		[ -e "$f" ] && n=$((n + 1))
	done
	[ "$n" -ge "$CGL_GUESTS" ] && break
	sleep 1
done
finish
