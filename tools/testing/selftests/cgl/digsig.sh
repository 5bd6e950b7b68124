#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The DigSig LSM, on copies in /tmp (tmpfs): signed static and dynamic
# binaries run when their key is trusted; each bypass of the issue is
# refused in enforcing mode and logged; permissive mode only logs; the
# cache, revocation by key and by digest, and the keyring lock.
#
# Enforcing mode is only switched on around one command at a time
# ("enf CMD..."): the host binaries the harness uses are not signed.

. "$(dirname "$0")/lib.sh"
T=digsig
here=$(cd "$(dirname "$0")" && pwd)
S=/sys/kernel/cgl/digsig
ctl=cgl-ctl
[ -d $S ] || { echo "not ok - $T: $S missing (cgl_digsig not in CONFIG_LSM?)"; exit 1; }
d=$(mktemp -d)
out=$d/out

# enf CMD...: run CMD in enforcing mode, output in $out.
enf() {
	echo enforcing > $S/mode
	"$@" > $out 2>&1
	_rc=$?
	echo off > $S/mode
	return $_rc
}
cnt() { cat $S/$1; }
# flip FILE OFFSET: XOR the byte at OFFSET with 0x01.
flip() {
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2], 0)
f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}
mkkey() { # NAME ALG...
	n=$1
	shift
	openssl req -x509 -new -nodes -days 30 -subj "/CN=cgl digsig test $n" \
		-keyout $d/$n.key -out $d/$n.crt "$@" 2>/dev/null
}

echo off > $S/mode
mkkey rsa -newkey rsa:2048
mkkey ec -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
mkkey untrusted -newkey rsa:2048
mkkey revoked -newkey rsa:2048
check "test keys made" "[ -s $d/rsa.crt ] && [ -s $d/ec.crt ] && [ -s $d/untrusted.crt ] && [ -s $d/revoked.crt ]"

check "RSA certificate added with cgl-ctl" "$ctl digsig key add $d/rsa.crt > $d/rsa.serial"
openssl x509 -in $d/ec.crt -outform DER -out $d/ec.der
check "EC certificate added with keyctl padd" \
	"keyctl padd asymmetric '' %:.cgl_digsig < $d/ec.der > $d/ec.serial"
check "certificate to be revoked added" "$ctl digsig key add $d/revoked.crt > $d/revoked.serial"
check "a non-certificate is refused by the keyring" \
	"! keyctl padd user junk %:.cgl_digsig < $d/rsa.crt 2>/dev/null"

cc -Wall -Werror -static -O2 -o $d/probe.un $here/digsig_probe.c
sign() { # IN OUT KEYNAME
	$ctl digsig sign "$1" -o "$2" --key $d/$3.key --cert $d/$3.crt > /dev/null
}
cp /bin/busybox $d/busybox.un
check "busybox and the probe signed" \
	"sign $d/busybox.un $d/busybox rsa && sign $d/busybox.un $d/busybox.ec ec && sign $d/probe.un $d/probe rsa"
sign $d/busybox.un $d/busybox.untrusted untrusted
sign $d/busybox.un $d/busybox.revkey revoked
cp $d/busybox.un $d/busybox.rev.un && printf 'revoke me' >> $d/busybox.rev.un && sign $d/busybox.rev.un $d/busybox.rev rsa

# --- exec ---
check "off: an unsigned binary runs" "$d/busybox.un true"
check "enforcing: RSA-signed static busybox runs" "enf $d/busybox true"
check "enforcing: ECDSA P-256-signed busybox runs" "enf $d/busybox.ec true"
v0=$(cnt denied)
check "enforcing: unsigned busybox is refused with EACCES" \
	"! enf $d/busybox.un true && grep -q 'Permission denied' $out"
check "the denial is counted" "[ $(cnt denied) -gt $v0 ]"
check "the denial is an event with path, reason and pid" \
	"$ctl events list | grep 'denied exec $d/busybox.un' | grep -q 'unsigned.*pid'"
check "enforcing: a signature by a key not in the keyring is refused" "! enf $d/busybox.untrusted true"
check "that event says no trusted key" "$ctl events list | grep 'busybox.untrusted' | grep -q 'no trusted key'"

# A byte flipped anywhere: ELF header, program headers, code, section
# header table, section names, the signature, the last byte.
shoff=$(python3 -c 'import struct, sys; print(struct.unpack_from("<Q", open(sys.argv[1], "rb").read(), 0x28)[0])' $d/busybox)
size=$(stat -c %s $d/busybox)
sigoff=$(python3 - $d/busybox <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", b, 0x28)
shnum, shstrndx = struct.unpack_from("<HH", b, 0x3c)
def sh(i): return struct.unpack_from("<IIQQQQIIQQ", b, shoff + 64 * i)
stroff = sh(shstrndx)[4]
for i in range(shnum):
    s = sh(i)
    if b[stroff + s[0]:stroff + s[0] + 9] == b".cgl_sig\0":
        print(s[4] + 40)
EOF
)
for off in 0x5 0x12 0x40 0x1000 $((size / 2)) $shoff $((shoff + 64 * 3 + 24)) $sigoff $((size - 1)); do
	cp $d/busybox $d/busybox.t
	flip $d/busybox.t $off
	check "enforcing: byte $off flipped is refused" "! enf $d/busybox.t true"
done

# --- dynamic binaries: ld.so, libraries ---
mkdir $d/lib
ldso=$(readlink -f /lib64/ld-linux-x86-64.so.2)
libc=$(ldd /bin/true | awk '/libc.so/ {print $3}')
sign $ldso $d/lib/ld.so rsa && sign "$libc" $d/lib/libc.so.6 rsa && sign /bin/true $d/true rsa
cp /bin/true $d/true.un
check "enforcing: signed dynamic binary runs through signed ld.so and libc" \
	"enf $d/lib/ld.so --library-path $d/lib $d/true"
check "enforcing: signed binary whose interpreter is unsigned is refused" "! enf $d/true"
check "enforcing: ld.so ./unsigned is refused" \
	"! enf $d/lib/ld.so --library-path $d/lib $d/true.un"
check "that event is an mmap denial" "$ctl events list | grep -q 'denied mmap $d/true.un'"
cp $libc $d/lib/libc.so.6 && sign $d/lib/libc.so.6 $d/lib.tmp rsa && mv $d/lib.tmp $d/lib/libc.so.6
cp "$libc" $d/libc.un && mkdir $d/lib2 && cp $d/lib/ld.so $d/lib2/ && cp $d/libc.un $d/lib2/libc.so.6
check "enforcing: signed binary with an unsigned libc is refused" \
	"! enf $d/lib2/ld.so --library-path $d/lib2 $d/true"

# --- mmap, mprotect, memfd ---
check "enforcing: mmap(PROT_EXEC) of a signed file works" "enf $d/probe mmap $d/busybox"
check "enforcing: mmap(PROT_EXEC) of an unsigned file: EACCES" \
	"! enf $d/probe mmap $d/busybox.un && grep -q 'mmap: EACCES' $out"
check "enforcing: mprotect(PROT_EXEC) of a signed file mapping works" "enf $d/probe mprotect $d/busybox"
check "enforcing: mprotect(PROT_EXEC) of an unsigned file mapping: EACCES" \
	"! enf $d/probe mprotect $d/busybox.un && grep -q 'mprotect: EACCES' $out"
check "enforcing: memfd_create + execveat of unsigned code: EACCES" \
	"! enf $d/probe memfd $d/busybox.un true && grep -q 'execveat: EACCES' $out"
check "enforcing: memfd + execveat of signed code is refused too (no name)" \
	"! enf $d/probe memfd $d/busybox true && $ctl events list | grep -q 'unlinked file'"

# --- the cache ---
echo 1 > $S/flush
enf $d/busybox true
v=$(cnt verified) h=$(cnt cache_hits)
enf $d/busybox true
check "second exec is a cache hit, not a verification" \
	"[ $(cnt verified) -eq $v ] && [ $(cnt cache_hits) -gt $h ]"
# A script is not ELF: its exec runs the interpreter, which is checked.
# Its cached verdict must not refuse the second exec.
printf '#!%s sh\nexit 0\n' $d/busybox > $d/s.sh
chmod +x $d/s.sh
check "enforcing: a script whose interpreter is signed runs" "enf $d/s.sh"
h=$(cnt cache_hits)
enf $d/s.sh
rc=$?
check "... and runs again, from the cache" "[ $rc -eq 0 ] && [ $(cnt cache_hits) -gt $h ]"
printf '#!%s sh\nexit 0\n' $d/busybox.un > $d/u.sh
chmod +x $d/u.sh
check "enforcing: a script whose interpreter is unsigned is refused" "! enf $d/u.sh"
cp $d/busybox $d/busybox.mod
enf $d/busybox.mod true
flip $d/busybox.mod $((size / 3))
check "a cached file modified afterwards is refused" "! enf $d/busybox.mod true"
cp $d/busybox $d/busybox.trunc
enf $d/busybox.trunc true
truncate -s $((size - 1)) $d/busybox.trunc
check "a cached file truncated afterwards is refused" "! enf $d/busybox.trunc true"

# A signed file mapped executable cannot be rewritten (no MAP_DENYWRITE).
cp $d/busybox $d/lib.so
echo enforcing > $S/mode
$d/probe holdmap $d/lib.so 30 > $d/hold &
hold=$!
$d/busybox sleep 1
$d/probe openwrite $d/lib.so > $d/ow 2>&1
( printf x >> $d/lib.so ) 2> $d/sh.err
shrc=$?
kill $hold
wait $hold
echo off > $S/mode
check "a process maps a signed library executable" "grep -q 'holdmap: ok' $d/hold"
check "opening it for writing meanwhile: ETXTBSY" "grep -q 'openwrite: ETXTBSY' $d/ow"
check "the shell cannot append to it either" "[ $shrc -ne 0 ] && grep -qi 'busy' $d/sh.err"
check "once unmapped it can be written, and is then refused" \
	"printf x >> $d/lib.so && ! enf $d/probe mmap $d/lib.so"

# Rename and replace.
cp $d/busybox $d/busybox.app
enf $d/busybox.app true
mv $d/busybox.app $d/busybox.old
cp $d/busybox.un $d/busybox.app
check "a verified file renamed still runs" "enf $d/busybox.old true"
check "an unsigned file put in its place is refused" "! enf $d/busybox.app true"
cp $d/busybox.un $d/busybox.x && mv $d/busybox.x $d/busybox.old
check "an unsigned file renamed over a verified one is refused" "! enf $d/busybox.old true"

# --- revocation ---
check "file signed by the key to revoke runs" "enf $d/busybox.revkey true"
check "cgl-ctl digsig revoke --key revokes it" "$ctl digsig revoke --key $(cat $d/revoked.serial)"
check "at once: its files are refused" "! enf $d/busybox.revkey true"
check "files of other keys still run" "enf $d/busybox true"
check "file to revoke by digest runs" "enf $d/busybox.rev true"
check "cgl-ctl digsig revoke --file revokes its digest" "$ctl digsig revoke --file $d/busybox.rev"
check "the digest is listed" "grep -q $($ctl digsig digest $d/busybox.rev) $S/revoked"
check "at once: that file is refused" "! enf $d/busybox.rev true"
check "the same key's other files still run" "enf $d/busybox true"
check "a bad digest is refused by sysfs" "! sh -c 'echo xyz > $S/revoked' 2>/dev/null"

# --- permissive ---
echo permissive > $S/mode
w=$(cnt would_deny)
$d/busybox.un true
rc=$?
echo off > $S/mode
check "permissive: unsigned code runs" "[ $rc -eq 0 ]"
check "permissive: it is counted and logged as would deny" \
	"[ $(cnt would_deny) -gt $w ] && $ctl events list | grep -q 'would deny exec $d/busybox.un'"

# --- bad input, status ---
check "a bad mode is refused" "! sh -c 'echo bogus > $S/mode' 2>/dev/null && [ \$(cat $S/mode) = off ]"
check "locking outside enforcing mode is refused" "! sh -c 'echo 1 > $S/locked' 2>/dev/null && [ \$(cat $S/locked) = 0 ]"
check "cgl-ctl digsig status shows the counters" "$ctl digsig status | grep -q verified"
check "cgl-ctl digsig status -j is JSON" "$ctl -j digsig status | python3 -c 'import json, sys; json.load(sys.stdin)'"
check "cgl-ctl digsig mode permissive/off" \
	"$ctl digsig mode permissive && [ \$(cat $S/mode) = permissive ] && $ctl digsig mode off && [ \$(cat $S/mode) = off ]"

# --- keyring lock (last: it lasts until reboot) ---
check "cgl-ctl digsig key lock" "$ctl digsig key lock && [ \$(cat $S/keyring_locked) = 1 ]"
check "a locked keyring refuses keyctl padd" \
	"! keyctl padd asymmetric '' %:.cgl_digsig < $d/ec.der 2>/dev/null"
check "a locked keyring refuses cgl-ctl digsig key add" "! $ctl digsig key add $d/untrusted.crt 2>/dev/null"
check "the keyring lock cannot be undone" "! sh -c 'echo 0 > $S/keyring_locked' 2>/dev/null"
check "keys already in still verify" "enf $d/busybox true"

echo off > $S/mode
rm -rf $d
finish
