#!/usr/bin/env bash
# Fetches the charting library that `inferlab report` and `bench --html`
# inline into every HTML report, so the page opens offline: Vega, Vega-Lite
# and vega-embed (BSD-3-Clause), their minified UMD builds from the npm
# registry, pinned and checked by sha256. Nothing of them is committed.
#
# `npm pack --ignore-scripts` downloads each tarball (integrity-checked by npm
# against the registry) without running any install script. Idempotent and
# offline-safe: once the folder holds the three files with the pinned sums,
# nothing is fetched.
#
# Usage: fetch-charts.sh [DEST]   (default: see charts_dir below; the CLI
# looks there, or in $INFERLAB_CHARTS_DIR)
set -euo pipefail
. "$(dirname "$0")/npm-pack.sh"

VEGA_VERSION=6.2.0
VEGA_LITE_VERSION=6.4.1
VEGA_EMBED_VERSION=7.1.0
# sha256 of each package's build/*.min.js
declare -A SHA256=(
  [vega.min.js]=ea6a5936381d06f912466354e2b6a20eb66c4d41f1ca9dff1e0236dfee6ee392
  [vega-lite.min.js]=6d5035fdd429b4bc6f91f3754426c3f516f3dbd8e08b105cfc2496bed4ebd254
  [vega-embed.min.js]=c36254270219eee58fb9b1d954decad954fb07bfc9ab780c5d4401bd445cd50c
)

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/inferlab"
charts_dir="${1:-${INFERLAB_CHARTS_DIR:-$cache_root/web/vega-$VEGA_VERSION-lite-$VEGA_LITE_VERSION-embed-$VEGA_EMBED_VERSION}}"

fail() {
  echo "fetch-charts: $* (HTML reports need it; everything else works without it)" >&2
  exit 1
}

if files_match_sha256 SHA256 "$charts_dir"; then
  echo "fetch-charts: Vega $VEGA_VERSION, Vega-Lite $VEGA_LITE_VERSION, vega-embed $VEGA_EMBED_VERSION present in $charts_dir"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  fail "npm is not installed: it is needed to fetch vega@$VEGA_VERSION, vega-lite@$VEGA_LITE_VERSION and vega-embed@$VEGA_EMBED_VERSION from the npm registry"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-charts: fetching vega@$VEGA_VERSION, vega-lite@$VEGA_LITE_VERSION, vega-embed@$VEGA_EMBED_VERSION (about 2 MB)"
if ! npm_error=$(npm_pack "$work" "vega@$VEGA_VERSION" "vega-lite@$VEGA_LITE_VERSION" "vega-embed@$VEGA_EMBED_VERSION"); then
  fail "npm could not fetch vega@$VEGA_VERSION, vega-lite@$VEGA_LITE_VERSION and vega-embed@$VEGA_EMBED_VERSION: $npm_error"
fi

staging="$charts_dir.partial"
rm -rf "$staging"
mkdir -p "$staging"
for pkg in "vega:$VEGA_VERSION" "vega-lite:$VEGA_LITE_VERSION" "vega-embed:$VEGA_EMBED_VERSION"; do
  name=${pkg%%:*} version=${pkg#*:}
  tar -xzf "$work/$name-$version.tgz" -C "$work" "package/build/$name.min.js" ||
    fail "$name@$version has no package/build/$name.min.js"
  actual="$(sha256sum "$work/package/build/$name.min.js" | cut -d' ' -f1)"
  [ "$actual" = "${SHA256[$name.min.js]}" ] ||
    fail "$name.min.js from $name@$version has sha256 $actual, expected ${SHA256[$name.min.js]}"
  cp "$work/package/build/$name.min.js" "$staging/"
  rm -rf "$work/package"
done
cat >"$staging/SOURCE.txt" <<SRC
Vega $VEGA_VERSION, Vega-Lite $VEGA_LITE_VERSION, vega-embed $VEGA_EMBED_VERSION (BSD-3-Clause, the Vega project):
npm vega@$VEGA_VERSION, vega-lite@$VEGA_LITE_VERSION, vega-embed@$VEGA_EMBED_VERSION, package/build/*.min.js
Fetched by inferlab's scripts/fetch-charts.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)
SRC
swap_into_place "$staging" "$charts_dir"
echo "fetch-charts: charting library installed in $charts_dir"
