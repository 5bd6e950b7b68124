#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every cgl test, from nothing: bootstrap, build the kernel and cgl-ctl,
# host tests (cargo test), the exported patch series, then the selftests
# in the VM. The last line is the summary "N passed, N failed".
#
# usage: check.sh   (make check; BUILD, KSRC and JOBS as for make)
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
build=${BUILD:-$repo/build}
logs=$build/check
mkdir -p "$logs"
pass=0 fail=0
step() { printf '\n=== %s\n' "$*"; }
ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }
t0=$(date +%s)

step "bootstrap"
scripts/cgl/bootstrap.sh || { nok "bootstrap"; echo "$pass passed, $fail failed"; exit 1; }

step "kernel build"
t=$(date +%s)
if make -s kernel > "$logs/kernel.log" 2>&1; then
	ok "kernel and modules build ($(elapsed "$t"))"
else
	tail -40 "$logs/kernel.log"
	nok "kernel and modules build (log: $logs/kernel.log)"
	echo "$pass passed, $fail failed"
	exit 1
fi

step "host tests (cargo test --workspace)"
t=$(date +%s)
# The RouteViews prefix tables Debian ships in python3-pyasn: the LPM
# tests load them when CGL_PYASN_DIR is set.
pyasn=$build/pyasn
if [ ! -f "$pyasn/usr/lib/python3/dist-packages/data/ipasn_20140513.dat.gz" ]; then
	mkdir -p "$pyasn"
	(cd "$pyasn" && apt-get download -q python3-pyasn >/dev/null 2>&1 &&
		dpkg -x python3-pyasn_*.deb .) || echo "check: python3-pyasn not available; real-table tests skip"
fi
[ -d "$pyasn/usr/lib/python3/dist-packages/data" ] &&
	export CGL_PYASN_DIR=$pyasn/usr/lib/python3/dist-packages/data
cargo test --workspace --profile hosttest 2>&1 | tee "$logs/cargo-test.log" | grep -E '^(test |test result|error|failures)' || true
cp=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$logs/cargo-test.log" | paste -sd+ | bc)
cf=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$logs/cargo-test.log" | paste -sd+ | bc)
if [ "${PIPESTATUS[0]:-1}" != 0 ] && [ "${cf:-0}" = 0 ]; then
	nok "cargo test --workspace (did not run: see $logs/cargo-test.log)"
	tail -30 "$logs/cargo-test.log"
fi
pass=$((pass + ${cp:-0})) fail=$((fail + ${cf:-0}))
echo "host: ${cp:-0} passed, ${cf:-0} failed ($(elapsed "$t"))"

step "cgl-ctl build"
if make -s tools > "$logs/tools.log" 2>&1; then ok "cgl-ctl builds"; else tail -30 "$logs/tools.log"; nok "cgl-ctl builds"; fi

step "patch series"
t=$(date +%s)
if make -s series > "$logs/series.log" 2>&1; then
	cat "$logs/series.log"
	ok "series exports, applies with git am and reproduces the built tree ($(elapsed "$t"))"
else
	tail -20 "$logs/series.log"
	nok "series exports and applies (log: $logs/series.log)"
fi

# add_summary LOG WHAT RUNDIR: add a guest run's "N passed, N failed"
# line to the totals; sets $summary.
add_summary() {
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
	if [ -n "$summary" ]; then
		pass=$((pass + ${summary%% *}))
		f=${summary#*, }
		fail=$((fail + ${f%% *}))
	else
		nok "$2 produced no summary (console: $build/$3/guest0/console.log)"
	fi
}

step "selftests in the VM"
t=$(date +%s)
scripts/cgl/vm.sh --tree "$build/linux" --log "$build/vm-test" --timeout 1500 \
	--cmd tools/testing/selftests/cgl/run.sh 2>&1 | tr -d '\r' | tee "$logs/vm.log" |
	grep -E '^(ok|not ok|#|[0-9]+ passed)|vm.sh:|Kernel panic|BUG:|WARNING:'
add_summary "$logs/vm.log" "VM selftests" vm-test
echo "guest: ${summary:-none} ($(elapsed "$t"))"
if grep -qE 'BUG:|WARNING:|Kernel panic|Oops' "$build/vm-test/guest0/console.log" 2>/dev/null; then
	nok "kernel log free of BUG/WARNING/Oops"
else
	ok "kernel log free of BUG/WARNING/Oops"
fi

# boot WHAT DIR TIMEOUT CMD [VM.SH OPTION...]: a test that needs a boot
# of its own; its summary line counts like the others.
boot() {
	local what=$1 dir=$2 timeout=$3 cmd=$4 t
	shift 4
	t=$(date +%s)
	scripts/cgl/vm.sh --tree "$build/linux" --log "$build/$dir" --timeout "$timeout" "$@" \
		--cmd "$cmd" 2>&1 | tr -d '\r' | tee "$logs/$dir.log" |
		grep -E '^(ok|not ok|[0-9]+ passed)|vm.sh:|BUG:|WARNING:'
	add_summary "$logs/$dir.log" "$what" "$dir"
	echo "guest ($what): ${summary:-none} ($(elapsed "$t"))"
}

step "DigSig enforcing lock (a boot of its own)"
boot "DigSig lock" vm-lock 600 \
	"PATH=/tmp/cgl-signed:\$PATH tools/testing/selftests/cgl/run.sh digsig_lock.sh"

step "cgl_fib refuses a CPU without POPCNT (a boot of its own)"
boot "no POPCNT" vm-nopopcnt 300 "tools/testing/selftests/cgl/run.sh fib_nopopcnt.sh" \
	--cpu max,popcnt=off

step "three guests joined by links (make vm-multi)"
t=$(date +%s)
scripts/cgl/vm.sh --tree "$build/linux" --guests 3 --log "$build/vm-multi" --timeout 300 \
	--cmd "tools/testing/selftests/cgl/run.sh multiguest.sh" 2>&1 |
	tr -d '\r' | tee "$logs/vm-multi.log" | grep -E '^(ok|not ok)|vm.sh:|BUG:|WARNING:'
# One summary line per guest: all of them count.
n=$(grep -cE '^[0-9]+ passed, [0-9]+ failed$' "$logs/vm-multi.log")
if [ "$n" = 3 ]; then
	p=$(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$logs/vm-multi.log" | paste -sd+ | bc)
	f=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$logs/vm-multi.log" | paste -sd+ | bc)
	pass=$((pass + p)) fail=$((fail + f))
	echo "guests (3): $p passed, $f failed ($(elapsed "$t"))"
else
	nok "every guest of vm-multi gave a summary ($n of 3; consoles: $build/vm-multi/guest*/console.log)"
fi

echo
echo "check: total time $(elapsed "$t0")"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
