#!/usr/bin/env bash
# Fetches uPlot, the streaming chart library the web Timing Monitor
# (`inferlab live --web P`) serves to the browser: its minified IIFE build and
# stylesheet from the npm registry, pinned and checked by sha256. Nothing of
# it is committed; the CLI reads the files at run time.
#
# Same rules as fetch-charts.sh: `npm pack --ignore-scripts` (npm checks the
# tarball's integrity, runs no install script), idempotent, offline once the
# folder holds both files with the pinned sums.
#
# Usage: fetch-uplot.sh [DEST]   (default: see uplot_dir below; the CLI looks
# there, or in $INFERLAB_UPLOT_DIR)
set -euo pipefail
. "$(dirname "$0")/npm-pack.sh"

UPLOT_VERSION=1.6.32
# sha256 of package/dist/<file> in uplot-$UPLOT_VERSION.tgz
declare -A SHA256=(
  [uPlot.iife.min.js]=19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f
  [uPlot.min.css]=df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04
)

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/inferlab"
uplot_dir="${1:-${INFERLAB_UPLOT_DIR:-$cache_root/web/uplot-$UPLOT_VERSION}}"

fail() {
  echo "fetch-uplot: $* (the web Timing Monitor, live --web, needs it; everything else works without it)" >&2
  exit 1
}

if files_match_sha256 SHA256 "$uplot_dir"; then
  echo "fetch-uplot: uPlot $UPLOT_VERSION present in $uplot_dir"
  exit 0
fi

command -v npm >/dev/null 2>&1 || fail "npm is not installed: it is needed to fetch uplot@$UPLOT_VERSION from the npm registry"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-uplot: fetching uplot@$UPLOT_VERSION (about 60 kB)"
if ! npm_error=$(npm_pack "$work" "uplot@$UPLOT_VERSION"); then
  fail "npm could not fetch uplot@$UPLOT_VERSION: $npm_error"
fi

staging="$uplot_dir.partial"
rm -rf "$staging"
mkdir -p "$staging"
members=(package/LICENSE)
for f in "${!SHA256[@]}"; do members+=("package/dist/$f"); done
tar -xzf "$work/uplot-$UPLOT_VERSION.tgz" -C "$work" "${members[@]}" ||
  fail "uplot@$UPLOT_VERSION lacks package/dist/uPlot.iife.min.js or uPlot.min.css"
for f in "${!SHA256[@]}"; do
  actual="$(sha256sum "$work/package/dist/$f" | cut -d' ' -f1)"
  [ "$actual" = "${SHA256[$f]}" ] || fail "$f from uplot@$UPLOT_VERSION has sha256 $actual, expected ${SHA256[$f]}"
  cp "$work/package/dist/$f" "$staging/"
done
cp "$work/package/LICENSE" "$staging/LICENSE"
cat >"$staging/SOURCE.txt" <<SRC
uPlot $UPLOT_VERSION (MIT, Leon Sorokin): npm uplot@$UPLOT_VERSION, package/dist/uPlot.iife.min.js and uPlot.min.css
Fetched by inferlab's scripts/fetch-uplot.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)
SRC
swap_into_place "$staging" "$uplot_dir"
echo "fetch-uplot: uPlot installed in $uplot_dir"
