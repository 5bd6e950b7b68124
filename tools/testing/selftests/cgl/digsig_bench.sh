#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# DigSig benchmarks, in the guest (scripts/cgl/vm.sh --cmd; make
# bench-digsig): exec latency of a signed static binary with the LSM off,
# on first (uncached) verification and cached; the cached mmap(PROT_EXEC)
# check; first verification of a large file against sha256sum of it plus
# one signature check. Prints ratios; asserts nothing.

set -e
here=$(cd "$(dirname "$0")" && pwd)
S=/sys/kernel/cgl/digsig
ctl=cgl-ctl
d=$(mktemp -d)
N=${DIGSIG_BENCH_N:-200}
echo off > $S/mode
openssl req -x509 -new -nodes -days 30 -subj "/CN=cgl digsig bench" \
	-newkey rsa:2048 -keyout $d/k.pem -out $d/c.pem 2>/dev/null
$ctl digsig key add $d/c.pem > /dev/null
sign() { $ctl digsig sign "$1" -o "$2" --key $d/k.pem --cert $d/c.pem > /dev/null; }
cc -O2 -static -o $d/probe.un $here/digsig_probe.c
sign $d/probe.un $d/probe
sign /bin/busybox $d/busybox
# A large ELF: the Python interpreter, or cgl-ctl.
big=$(readlink -f /usr/bin/python3)
sign "$big" $d/big
sign /bin/true $d/small
size=$(stat -c %s $d/big)

ns() { sed -n 's/.*: \([0-9]*\) ns.*/\1/p'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

min() { sort -n | head -1; }
R=${DIGSIG_BENCH_ROUNDS:-5}

# Warm-up runs (discarded): page cache, TCG translation cache.
$d/probe bench-exec $d/busybox $N > /dev/null
$d/probe bench-mmap $d/busybox $((N * 50)) > /dev/null
# R rounds alternating off and enforcing (cached); the best of each.
# In enforcing mode only signed code runs: results go to files, parsed
# once the mode is off again.
for r in $(seq $R); do
	$d/probe bench-exec $d/busybox $N > $d/off_exec.$r
	$d/probe bench-mmap $d/busybox $((N * 50)) > $d/off_mmap.$r
	echo enforcing > $S/mode
	$d/busybox true
	$d/probe bench-exec $d/busybox $N > $d/cached_exec.$r
	$d/probe bench-mmap $d/busybox $((N * 50)) > $d/cached_mmap.$r
	echo off > $S/mode
done
echo enforcing > $S/mode
$d/probe bench-exec $d/busybox $((N / 4)) $S/flush > $d/first_exec
$d/probe bench-mmap $d/big 10 $S/flush > $d/first_big
$d/probe bench-mmap $d/small $N $S/flush > $d/first_small
echo off > $S/mode
for f in off_exec off_mmap cached_exec cached_mmap; do
	eval "$f=\$(cat $d/$f.* | ns | min)"
done
for f in first_exec first_big first_small; do
	eval "$f=\$(ns < $d/$f)"
done
t0=$(date +%s%N)
for _ in 1 2 3 4 5 6 7 8 9 10; do sha256sum $d/big > /dev/null; done
sha_big=$((($(date +%s%N) - t0) / 10))

bb=$(stat -c %s $d/busybox)
echo "digsig bench: static busybox $bb bytes, big file $big $size bytes, N=$N, best of $R rounds"
echo "exec, LSM off:            $off_exec ns"
echo "exec, cached verify:      $cached_exec ns  ($(ratio $cached_exec $off_exec)x off; check cost $((cached_exec - off_exec)) ns)"
echo "exec, first verify:       $first_exec ns  ($(ratio $first_exec $off_exec)x off)"
echo "mmap(PROT_EXEC), off:     $off_mmap ns"
echo "mmap(PROT_EXEC), cached:  $cached_mmap ns  (check cost $((cached_mmap - off_mmap)) ns)"
echo "first verify of $size B:  $first_big ns  ($(awk -v s=$size -v t=$first_big 'BEGIN { printf "%.1f", s / t * 1000 }') MB/s)"
echo "sha256sum of it (fork+exec incl.): $sha_big ns  ($(awk -v s=$size -v t=$sha_big 'BEGIN { printf "%.1f", s / t * 1000 }') MB/s)"
echo "first verify of /bin/true ($(stat -c %s $d/small) B, ~one signature check): $first_small ns"
echo "first verify / (sha256sum + one signature check): $(ratio $first_big $((sha_big + first_small)))"
rm -rf $d
