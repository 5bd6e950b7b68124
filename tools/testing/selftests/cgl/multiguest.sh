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
for j in $(seq 0 $((CGL_GUESTS - 1))); do
	[ "$j" = "$CGL_GUEST" ] && continue
	ip link set "eth$k" up
	ip addr add "192.0.2.$me/32" dev "eth$k"
	ip route add "192.0.2.$((j + 1))/32" dev "eth$k"
	k=$((k + 1))
done
for j in $(seq 0 $((CGL_GUESTS - 1))); do
	[ "$j" = "$CGL_GUEST" ] && continue
	peer=192.0.2.$((j + 1))
	ok=1
	for _ in $(seq 30); do ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { ok=0; break; }; sleep 0.5; done
	check "guest $CGL_GUEST reaches guest $j over their link" "[ $ok = 0 ]"
done
# Stay up until the peers had their turn.
sleep 3
finish
