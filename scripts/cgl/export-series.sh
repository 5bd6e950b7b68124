#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Export cgl as a git-am-able patch series against the pristine 6.12 tree,
# plus the config fragment: what a distro kernel builder takes.
#
# usage: export-series.sh SOURCE OUT
#   SOURCE  the Debian linux-source tarball, or any unpacked 6.12.y tree
#   OUT     output directory: OUT/series/*.patch, OUT/cgl.config
#
# New files come first, one commit per area (nothing uses them yet, so
# every step builds), then the edits to upstream files in patches/ that
# wire them in. The result is checked: the series applied with "git am" to
# a fresh pristine tree gives exactly the sources of the tree "make" builds.
set -euo pipefail

src=$1 out=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$out/work
rm -rf "$out"
mkdir -p "$out"
git_() { git -c user.name="cgl developers" -c user.email="cgl@example.invalid" \
	-c commit.gpgsign=false "$@"; }

# The pristine tree, as the base commit.
mkdir -p "$work"
if [ -d "$src" ]; then
	rsync -a --exclude=/.git "$src"/ "$work"/
else
	tar -xf "$src" -C "$work" --strip-components=1
fi
cd "$work"
git_ init -q
git_ add -A -f
git_ commit -q -m "Linux $(make -s kernelversion 2>/dev/null || echo 6.12)"
git_ tag base

# New files, by area.
commit_area() { # message paths...
	local msg=$1; shift
	(cd "$repo" && git ls-files --cached --others --exclude-standard -- "$@") |
		while read -r f; do
			[ -e "$work/$f" ] && continue # an upstream file: changed by patches/
			mkdir -p "$(dirname "$work/$f")"
			cp "$repo/$f" "$work/$f"
			git_ add -f "$f"
		done
	git_ diff --cached --quiet || git_ commit -q -F - <<-MSG
	$msg
	MSG
}
commit_area "rust: add the cgl_core crate and the helpers it needs

The shared crate of the Carrier Grade Linux modules: event log, generic
netlink families, sysfs under /sys/kernel/cgl and Rust KUnit suites,
with the C helpers for the inline functions it calls. Not built yet." \
	rust include
commit_area "drivers: add the Carrier Grade Linux drivers and menu

The Kconfig menu of the CGL core and modules, and the modules that live
under drivers/. Not reachable from the top-level Kconfig yet." drivers
commit_area "Documentation: describe the Carrier Grade Linux modules" Documentation
commit_area "cgl: add cgl-ctl, the selftests, the VM harness and config fragments

cgl-ctl administers every CGL module; the selftests drive the real
interfaces in a VM that scripts/cgl/vm.sh boots; kernel/configs/cgl.config
enables every option (make cgl.config)." tools scripts kernel net security samples lib

# The edits to upstream files.
git_ am -q "$repo"/patches/0*.patch
git_ format-patch -q -o "$out/series" base..HEAD
cp "$repo/kernel/configs/cgl.config" "$out/cgl.config"

# Check: the pristine tree takes the series and ends up
# with the sources of the tree that "make kernel" builds.
verify=$work
git_ checkout -q -b verify base
git_ am -q "$out"/series/*.patch
echo "export-series: $(ls "$out/series" | wc -l) patches in $out/series, config in $out/cgl.config"
tree=${CGL_TREE:-$(dirname "$out")/linux}
if [ -d "$tree" ]; then
	diff=$(git ls-files | rsync -rcln --out-format='%n' --files-from=- "$verify"/ "$tree"/ | grep -v '/$' || true)
	if [ -n "$diff" ]; then
		echo "export-series: the series does not give the built tree's sources; differing:" >&2
		echo "$diff" | head -20 >&2
		exit 1
	fi
	echo "export-series: git am onto pristine 6.12 reproduces the sources of $tree"
fi
rm -rf "$work"
