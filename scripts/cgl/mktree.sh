#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make (or refresh) the patched kernel tree: a pristine 6.12.y tree, the
# patch series in patches/ applied, and this repository's kernel-tree files
# laid over it.  Refreshing copies only files whose content changed, so
# Kbuild rebuilds only what an edit touched.
#
# usage: mktree.sh SOURCE TREE
#   SOURCE  the Debian linux-source tarball, or any unpacked 6.12.y tree
#   TREE    where the patched tree lives (created if needed)
set -euo pipefail

src=$1 tree=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
die() { printf 'mktree: error: %s\n' "$*" >&2; exit 1; }

[ -e "$src" ] || die "kernel source '$src' not found (run scripts/cgl/bootstrap.sh, or set KSRC)"

# What the patched tree was made from: the source, then one line per
# applied patch (name and content hash). A series that only grew is
# applied on top; any other change starts again from the pristine source.
src_id="source $src $(stat -c '%s %Y' "$src")"
want=("$src_id")
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	want+=("$p $(sha256sum < "$repo/patches/$p" | cut -c1-16)")
done < "$repo/patches/series"

have=()
[ -f "$tree/.cgl-applied" ] && mapfile -t have < "$tree/.cgl-applied"
fresh=0
if [ ${#have[@]} -eq 0 ] || [ ${#have[@]} -gt ${#want[@]} ]; then
	fresh=1
else
	for i in "${!have[@]}"; do
		[ "${have[$i]}" = "${want[$i]}" ] || { fresh=1; break; }
	done
fi

if [ $fresh = 1 ]; then
	echo "mktree: unpacking $src into $tree"
	rm -rf "$tree"
	mkdir -p "$tree"
	if [ -d "$src" ]; then
		grep -q '^PATCHLEVEL = 12$' "$src/Makefile" || die "$src is not a 6.12 tree"
		rsync -a --exclude=/.git "$src"/ "$tree"/
	else
		tar -xf "$src" -C "$tree" --strip-components=1
	fi
	grep -q '^PATCHLEVEL = 12$' "$tree/Makefile" || die "$src is not a 6.12 tree"
	echo "$src_id" > "$tree/.cgl-applied"
	have=("$src_id")
fi
for ((i = ${#have[@]}; i < ${#want[@]}; i++)); do
	p=${want[$i]%% *}
	echo "mktree: applying $p"
	patch -d "$tree" -p1 --batch --forward --quiet < "$repo/patches/$p" ||
		die "patches/$p does not apply to $src"
	echo "${want[$i]}" >> "$tree/.cgl-applied"
done

# Lay the repository's kernel-tree files over it.  Only tracked and
# not-ignored files: build products of the host workspace stay out.
cd "$repo"
git ls-files --cached --others --exclude-standard -- \
	Documentation drivers include kernel lib net rust samples scripts security tools |
	rsync -rc --files-from=- "$repo"/ "$tree"/
