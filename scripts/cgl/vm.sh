#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the cgl kernel under QEMU: a busybox initramfs, the host's root
# mounted read-only over 9p (so host binaries such as cgl-ctl, ip, python3
# and wdctl run in the guest, chrooted), and the CGL modules loaded.
#
# usage: vm.sh --tree DIR [--guests N] [--cmd CMD] [--log DIR] [--timeout S]
#              [--mem MB] [--cpu MODEL] [--kvm]
#   --cmd CMD   run CMD (a shell command line, in the repository's
#               directory) in every guest and exit with the worst status;
#               without it: an interactive shell on a terminal, a short
#               demo otherwise.
#   --guests N  start N guests, joined pairwise by point-to-point UDP
#               links on 127.0.0.1 (guest i's k-th NIC, ethK, leads to
#               the k-th other guest in index order).
#   --log DIR   keep run files there: guestI/console.log, guestI/status,
#               guestI/mon (the QEMU monitor's socket, if its path is
#               short enough: "info lapic", "info registers" of a hung
#               guest).
#   --cpu MODEL QEMU's -cpu (default max), e.g. max,popcnt=off to test a
#               module's refusal of a CPU that lacks a feature.
#
# A single guest has two vCPUs (an SMP kernel, so the modules' lock-free
# readers really race their writers); several guests have one each.
# In the guest: CGL_GUEST (0..N-1), CGL_GUESTS, CGL_TREE (the kernel tree,
# for test modules), CGL_REPO and CGL_SHARED (a directory all guests
# share, for barriers) are set; /tmp is a tmpfs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
tree= guests=1 cmd= log= timeout=1200 mem=512 accel=tcg cpu=max
while [ $# -gt 0 ]; do
	case "$1" in
	--tree) tree=$2; shift ;;
	--guests) guests=$2; shift ;;
	--cmd) cmd=$2; shift ;;
	--log) log=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--mem) mem=$2; shift ;;
	--cpu) cpu=$2; shift ;;
	--kvm) accel=kvm ;;
	*) echo "vm.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$tree" ] || { echo "vm.sh: --tree is required" >&2; exit 2; }
tree=$(cd "$tree" && pwd)
kernel=$tree/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "vm.sh: no kernel at $kernel (run make kernel)" >&2; exit 2; }
case "$guests" in ''|*[!0-9]*|0) echo "vm.sh: --guests takes a number from 1" >&2; exit 2 ;; esac

mode=cmd
if [ -z "$cmd" ]; then
	if [ -t 0 ] && [ -t 1 ] && [ "$guests" = 1 ]; then
		mode=shell
	else
		cmd='cgl-ctl status && cgl-ctl events list'
	fi
fi
export PATH="$repo/target/release:$PATH"

log=$(realpath -m "${log:-$(dirname "$tree")/vm}")
rm -rf "$log"
mkdir -p "$log"

# The initramfs: busybox, /init, every module the tree built.
ird=$log/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,mnt/host,run/cgl,lib/modules,tmp}
cp /bin/busybox "$ird/bin/busybox"
cp "$repo/tools/testing/cgl/init" "$ird/init"
chmod +x "$ird/init"
(cd "$tree" && find . -name '*.ko' -print0 | xargs -0 -r cp -t "$ird/lib/modules/")
# CGL modules load at boot; KUnit suites only when a test asks.
(cd "$ird/lib/modules" && ls | sed -n 's/^\(cgl_.*\)\.ko$/\1/p' | grep -v '_kunit$' || true) \
	> "$ird/lib/modules/autoload"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$log/initrd.gz"

# A directory every guest can write, for barriers between guests; empty,
# or a guest could take an earlier run's barrier files for its peers' and
# power off before they have reached it.
rm -rf "$log/shared"
mkdir -p "$log/shared"

port_base=$((20000 + RANDOM % 20000))
port() { echo $((port_base + $1 * 64 + $2)); } # guest $1's end of its link to $2

pids=()
for ((i = 0; i < guests; i++)); do
	g=$log/guest$i
	mkdir -p "$g"
	printf '%s\n' "$cmd" > "$g/cmd"
	cat > "$g/env" <<-ENV
	export CGL_GUEST=$i CGL_GUESTS=$guests CGL_TREE='$tree' CGL_REPO='$repo' CGL_SHARED=/run/cgl-shared
	export PATH='$PATH' HOME=/tmp LANG=C.UTF-8 CGL_INIT_ROOT=/mnt/host
	ENV
	net=()
	for ((j = 0; j < guests; j++)); do
		[ "$i" = "$j" ] && continue
		net+=(-netdev "socket,id=l$j,udp=127.0.0.1:$(port "$j" "$i"),localaddr=127.0.0.1:$(port "$i" "$j")"
		      -device "virtio-net-pci,netdev=l$j,mac=52:54:00:00:0$i:0$j")
	done
	smp=2
	[ "$guests" -gt 1 ] && smp=1
	qemu=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp" -nographic
	      -no-reboot -kernel "$kernel" -initrd "$log/initrd.gz"
	      -append "console=ttyS0 panic=-1 quiet cgl.mode=$mode cgl.guest=$i"
	      -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
	      -virtfs "local,path=$g,mount_tag=cglrun,security_model=none"
	      -virtfs "local,path=$log/shared,mount_tag=cglshared,security_model=none"
	      -virtfs "local,path=$repo,mount_tag=cglrepo,security_model=none,readonly=on"
	      -virtfs "local,path=$tree,mount_tag=cgltree,security_model=none,readonly=on"
	      "${net[@]}")
	if [ "$mode" = shell ]; then
		exec "${qemu[@]}" -chardev "stdio,id=c0,mux=on,signal=off,logfile=$g/console.log" \
			-serial chardev:c0 -mon chardev=c0,mode=readline
	fi
	# A Unix socket path has at most 107 bytes: no monitor past that.
	mon=(-monitor none)
	[ ${#g} -le 100 ] && mon=(-monitor "unix:$g/mon,server=on,wait=off")
	timeout -k 5 "$timeout" "${qemu[@]}" "${mon[@]}" -serial "file:$g/console.log" \
		</dev/null >"$g/qemu.log" 2>&1 &
	pids+=($!)
done

# Show guest 0's console as it runs; the others' after.
touch "$log/guest0/console.log"
tail -n +1 -f --pid="${pids[0]}" "$log/guest0/console.log" &
tailpid=$!
worst=0
for ((i = 0; i < guests; i++)); do
	wait "${pids[$i]}" || true
done
wait "$tailpid" 2>/dev/null || true
for ((i = 0; i < guests; i++)); do
	g=$log/guest$i
	if [ "$i" -gt 0 ]; then
		echo "===== guest $i console ====="
		cat "$g/console.log"
	fi
	st=$(cat "$g/status" 2>/dev/null || echo "")
	case "$st" in
	''|*[!0-9]*) echo "vm.sh: guest $i ended without a status (crash or timeout; see $g/console.log, $g/qemu.log)" >&2; st=125 ;;
	esac
	[ "$st" -gt "$worst" ] && worst=$st
done
exit "$worst"
