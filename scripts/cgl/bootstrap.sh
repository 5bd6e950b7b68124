#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the cgl build and its VM tests need on a Debian 12
# machine: the 6.12 kernel source, Debian's Rust toolchain for the kernel,
# LLVM 19, bindgen, QEMU and the guest userspace.  Idempotent and
# non-interactive; a no-op when everything is present.
#
# The toolchain packages are pinned: a kernel built with another rustc or
# another 6.12.y is not the one the tests were written against.  If Debian
# has dropped a pinned version, the script says so and stops; set
# CGL_UNPINNED=1 to take the current version instead.
#
# usage: bootstrap.sh [--bench]
#   --bench  also what the host benchmarks compare against: Debian's DPDK
#            (dpdk-dev, for make bench-lpm). Not needed by make check.
set -euo pipefail

# Toolchain pins (package=version).
PINNED=(
	linux-source-6.12=6.12.117-1~deb12u1
	rustc-web=1.96.0+dfsg1-1~deb12u2
	rust-web-src=1.96.0+dfsg1-1~deb12u2
	rust-web-clippy=1.96.0+dfsg1-1~deb12u2
	clang-19=1:19.1.7-3~deb12u1
	lld-19=1:19.1.7-3~deb12u1
	llvm-19=1:19.1.7-3~deb12u1
	libclang-19-dev=1:19.1.7-3~deb12u1
	qemu-system-x86=1:7.2+dfsg-7+deb12u18+b3
	busybox-static=1:1.35.0-4+deb12u1+b1
	# OpenSSL headers for sign-file, extract-cert and cgl-ctl's openssl crate.
	libssl-dev=3.0.22-1~deb12u2
)
# Benchmark peers, only with --bench.
BENCH_PINNED=(
	dpdk-dev=22.11.11-0+deb12u1
)
# Build and guest tools whose exact version does not matter.
UNPINNED=(flex bison bc libelf-dev pkg-config cpio kmod make gcc git rsync
	  xz-utils python3 iproute2 iputils-ping keyutils util-linux procps
	  binutils openssl)
BINDGEN_VERSION=0.69.5

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

bench=0
for arg in "$@"; do
	case $arg in
	--bench) bench=1 ;;
	*) die "unknown argument '$arg' (usage: bootstrap.sh [--bench])" ;;
	esac
done
[ "$bench" = 0 ] || PINNED+=("${BENCH_PINNED[@]}")

[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO=${SUDO:-}

# Empty when the package is not installed; dpkg-query fails for a package
# it has never seen, which must not end the script under pipefail.
installed_version() {
	{ dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || true; } |
		awk '$3 == "installed" { print $4 }'
}

missing=()
for p in "${PINNED[@]}"; do
	name=${p%%=*} want=${p#*=}
	have=$(installed_version "$name")
	if [ "$have" != "$want" ]; then
		if [ -n "$have" ] && [ "${CGL_UNPINNED:-0}" = 1 ]; then
			continue
		fi
		missing+=("$p")
	fi
done
for name in "${UNPINNED[@]}"; do
	[ -n "$(installed_version "$name")" ] || missing+=("$name")
done

if [ ${#missing[@]} -gt 0 ]; then
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	want=()
	for p in "${missing[@]}"; do
		name=${p%%=*}
		if [ "$name" != "$p" ]; then
			ver=${p#*=}
			if ! apt-cache madison "$name" | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
					grep -qxF "$ver"; then
				cur=$(apt-cache policy "$name" | awk '/Candidate:/ { print $2 }')
				if [ "${CGL_UNPINNED:-0}" = 1 ]; then
					say "warning: $name $ver is gone, taking $cur (CGL_UNPINNED=1)"
					want+=("$name")
					continue
				fi
				die "pinned $name=$ver is no longer offered by apt (candidate: ${cur:-none}).
  Update the pin in scripts/cgl/bootstrap.sh after checking the build, or
  run with CGL_UNPINNED=1 to take the current version."
			fi
		fi
		want+=("$p")
	done
	$SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades "${want[@]}" >/dev/null
fi

# bindgen-cli from crates.io, built by any cargo on PATH (it is a host tool).
if ! command -v bindgen >/dev/null 2>&1 ||
   [ "$(bindgen --version 2>/dev/null | awk '{print $2}')" != "$BINDGEN_VERSION" ]; then
	command -v cargo >/dev/null 2>&1 || die "cargo is needed to install bindgen-cli"
	say "installing bindgen-cli $BINDGEN_VERSION"
	cargo install --quiet --locked "bindgen-cli@$BINDGEN_VERSION"
fi

[ -f /usr/src/linux-source-6.12.tar.xz ] || die "/usr/src/linux-source-6.12.tar.xz missing"
[ -x /usr/bin/rustc ] || die "/usr/bin/rustc (rustc-web) missing"
say "ok: $(/usr/bin/rustc --version), bindgen $(bindgen --version | awk '{print $2}'), $(clang-19 --version | head -1)"
[ "$bench" = 0 ] || say "ok: DPDK $(pkg-config --modversion libdpdk) for the benchmarks"
