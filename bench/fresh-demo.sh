#!/usr/bin/env bash
# The first `npm run demo` on a fresh clone with an empty cache, timed: clones main into a temp
# dir (with ../shared beside it, a symlink to SHARED_DIR, as the workspace expects), installs the
# workspace, then runs `npm run demo` under `time` and prints its wall time. Needs the network
# (npm registry), so it is not part of `pnpm bench`; its figure is in bench/report.md.
# Usage: bench/fresh-demo.sh [repo dir, default: this checkout's main] ; KEEP=1 keeps the temp dir.
set -euo pipefail

repo="${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}"
shared="${SHARED_DIR:-/work/shared}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/mvp-fresh-demo-XXXXXX")"
cleanup() { [ "${KEEP:-}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"; }
trap cleanup EXIT
# mktemp makes it 0700: the builder's commands run as another uid (MVP_SANDBOX=auto as root),
# which must reach the clone, as it reaches a checkout in a home directory.
chmod 755 "$tmp"

ln -s "$shared" "$tmp/shared"
git clone -q --branch main "$repo" "$tmp/repo"
cd "$tmp/repo"
echo "fresh clone of $(git rev-parse --short HEAD) in $tmp/repo"

# A fresh clone has no node_modules: the newcomer's first step, timed apart.
start=$(date +%s.%N)
node scripts/pnpm.mjs install --frozen-lockfile --reporter=silent
install_s=$(echo "$(date +%s.%N) - $start" | bc)

# The demo itself: its data dir (and so its dependency cache, MVP_CACHE_DIR unset) starts empty.
export MVP_DATA_DIR="$tmp/data"
# A newcomer has no PostgreSQL settings either: the embedded database choice of this machine.
unset MVP_CACHE_DIR MVP_APPS_DATABASE_URL MVP_DATABASE_PROVISIONER MVP_TEMPLATE
start=$(date +%s.%N)
status=0
npm run demo || status=$?
demo_s=$(echo "$(date +%s.%N) - $start" | bc)

printf 'workspace install: %.1f s\n' "$install_s"
printf 'first npm run demo (tsc -b, empty dependency cache, app build, journeys, deploy): %.1f s (exit %d)\n' "$demo_s" "$status"
exit "$status"
