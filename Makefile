# SPDX-License-Identifier: GPL-2.0
#
# cgl: Carrier Grade Linux modules for Linux 6.12, in Rust.
#
#   make demo      bootstrap, build, boot the VM with every CGL module loaded
#   make check     every test: host cargo tests, kernel build, in-guest tests
#   make series    the git-am-able patch series + config fragment for distros
#   make help      the other targets
#
# Variables: KSRC (Debian tarball or any 6.12.y tree), BUILD (git-ignored
# build directory), JOBS, KVM=1 (opt-in; TCG is the default), TESTS (for
# vm-test: a subset of tools/testing/selftests/cgl/run.sh's tests),
# FIB_BENCH_1M=1 (bench-fib: also 1M synthetic IPv4 routes, minutes more
# under TCG), FIB_BENCH_V6=0 (bench-fib: no IPv6 table), FWD_BENCH_SECS
# and FWD_BENCH_ROUNDS (bench-fwd: 5 s per run, 3 rounds).

KSRC	?= /usr/src/linux-source-6.12.tar.xz
BUILD	?= $(CURDIR)/build
TREE	:= $(BUILD)/linux
JOBS	?= $(shell nproc)
CARGO	?= cargo

export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Every kernel make call uses Debian's rustc-web: the rustup toolchain on
# PATH has no rust-src for the kernel's core crate.
KMAKE	= $(MAKE) -C $(TREE) LLVM=-19 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	  HOSTRUSTC=/usr/bin/rustc BINDGEN=bindgen CLIPPY_DRIVER=/usr/bin/clippy-driver

FRAGMENTS := tools/testing/cgl/vm.config kernel/configs/cgl.config

.PHONY: all help bootstrap tree config kernel clippy tools host-test vm demo \
	check vm-test vm-lock bench-digsig bench-fib bench-fwd bench-lpm vm-multi series clean distclean

all: kernel tools

help:
	@sed -n '3,15p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Other targets: bootstrap tree config kernel clippy tools host-test vm vm-test clean distclean"

bootstrap:
	@scripts/cgl/bootstrap.sh

# The patched tree: refreshed on every build, copying only changed files.
tree: bootstrap
	@scripts/cgl/mktree.sh $(KSRC) $(TREE)

$(TREE)/.config: $(FRAGMENTS) patches/series | tree
	$(KMAKE) -s tinyconfig
	cd $(TREE) && scripts/kconfig/merge_config.sh -m -Q .config $(addprefix $(CURDIR)/,$(FRAGMENTS)) >/dev/null
	$(KMAKE) -s olddefconfig
	@scripts/cgl/checkconfig.sh $(TREE)/.config $(FRAGMENTS) || { rm -f $@; exit 1; }

config: tree $(TREE)/.config

kernel: config
	$(KMAKE) -j$(JOBS) -s bzImage modules

clippy: config
	$(KMAKE) -j$(JOBS) -s CLIPPY=1 bzImage modules

tools:
	$(CARGO) build --release -q -p cgl-ctl

host-test:
	$(CARGO) test --workspace

# Interactive shell in the VM (a short demo when not on a terminal).
vm: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) $(if $(KVM),--kvm)

demo: vm

# TESTS="heartbeat.py wdt.sh" runs only those (tools/testing/selftests/cgl/).
vm-test: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) $(if $(KVM),--kvm) --log $(BUILD)/vm-test \
		--cmd "tools/testing/selftests/cgl/run.sh $(TESTS)"

# DigSig's costs (exec and mmap with the LSM off, first and cached
# verification), printed as ratios.
bench-digsig: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) $(if $(KVM),--kvm) --log $(BUILD)/bench-digsig \
		--cmd "tools/testing/selftests/cgl/digsig_bench.sh"

# Multi-FIB against the kernel's fib_trie on the real table (needs the
# pyasn data make check downloads into build/pyasn).
# Variables given to make reach the guest's command line.
guestvars = $(foreach v,$(1),$(if $($(v)),$(v)=$($(v)) ))

bench-fib: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) $(if $(KVM),--kvm) --log $(BUILD)/bench-fib \
		--mem 2048 --timeout 1800 \
		--cmd "$(call guestvars,FIB_BENCH_1M FIB_BENCH_V6)tools/testing/selftests/cgl/fib_bench.sh"

# Forwarding throughput: cgl_fib against the kernel's IPv4 and IPv6
# forwarding between two namespaces, the pyasn tables in both.
bench-fwd: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) $(if $(KVM),--kvm) --log $(BUILD)/bench-fwd \
		--mem 2048 --timeout 1800 \
		--cmd "$(call guestvars,FWD_BENCH_SECS FWD_BENCH_ROUNDS)tools/testing/selftests/cgl/fib_fwd_bench.sh"

# The LPM core on the host, built with POPCNT as the module is
# (CONFIG_CGL_FIB_POPCNT), against prefix-trie and, when dpdk-dev is
# installed (scripts/cgl/bootstrap.sh --bench), DPDK's rte_lpm, rte_fib,
# rte_lpm6 and rte_fib6: real pyasn tables and synthetic ones. No kernel.
PYASN	:= $(BUILD)/pyasn
LPM_DPDK := $(BUILD)/bench/lpm_dpdk

bench-lpm:
	@if [ ! -f $(PYASN)/usr/lib/python3/dist-packages/data/ipasn_20140513.dat.gz ]; then \
		mkdir -p $(PYASN) && cd $(PYASN) && apt-get download -q python3-pyasn && \
		dpkg -x python3-pyasn_*.deb .; fi
	@if pkg-config --exists libdpdk 2>/dev/null; then \
		mkdir -p $(dir $(LPM_DPDK)) && \
		$(CC) -O2 -Wall -Wextra -o $(LPM_DPDK) tools/testing/cgl/bench/lpm_dpdk.c \
			$$(pkg-config --cflags --libs libdpdk) || exit 1; \
		export CGL_LPM_DPDK=$(LPM_DPDK); \
	else \
		echo "bench-lpm: no libdpdk (scripts/cgl/bootstrap.sh --bench installs it): DPDK peers skipped"; \
	fi; \
	CGL_PYASN_DIR=$(PYASN)/usr/lib/python3/dist-packages/data \
		RUSTFLAGS="$$RUSTFLAGS -Ctarget-feature=+popcnt" \
		$(CARGO) bench -q -p cgl-cores --bench lpm

# DigSig's enforcing lock lasts until reboot: it gets a boot of its own,
# with a signed busybox first in PATH for the harness.
vm-lock: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) $(if $(KVM),--kvm) --log $(BUILD)/vm-lock \
		--cmd "PATH=/tmp/cgl-signed:\$$PATH tools/testing/selftests/cgl/run.sh digsig_lock.sh"

# Three guests joined pairwise by links; each pings the others.
vm-multi: kernel tools
	@scripts/cgl/vm.sh --tree $(TREE) --guests 3 --log $(BUILD)/vm-multi --timeout 300 \
		--cmd "tools/testing/selftests/cgl/run.sh multiguest.sh"

check:
	@scripts/cgl/check.sh

series: tree
	@scripts/cgl/export-series.sh $(KSRC) $(BUILD)/series

clean:
	-$(KMAKE) -s clean
	$(CARGO) clean

distclean:
	rm -rf $(BUILD) target
