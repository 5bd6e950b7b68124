#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that every option a config fragment sets made it into the final
# .config: merge_config.sh drops an option whose dependencies are missing
# without failing.
#
# usage: checkconfig.sh .config FRAGMENT...
set -euo pipefail
cfg=$1; shift
bad=0
for frag in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$cfg" || { echo "checkconfig: $frag: '$line' not in final config (got: $(grep "^${line%%=*}=" "$cfg" || echo unset))" >&2; bad=1; } ;;
		esac
	done < "$frag"
done
exit $bad
