# Sourced by the scripts that fetch files from the npm registry
# (fetch-onnxruntime.sh, fetch-charts.sh); not run on its own.

# npm_pack DIR PACKAGE@VERSION...: each package's tarball into DIR, with npm
# checking its integrity against the registry and running no install
# scripts. On failure prints npm's own error line and returns 1.
npm_pack() {
  local dir=$1
  shift
  if ! (cd "$dir" && npm pack --ignore-scripts "$@" >npm-pack.log 2>&1); then
    grep -v '^[[:space:]]*$' "$dir/npm-pack.log" | grep -m1 -i 'err' || tail -n 1 "$dir/npm-pack.log"
    return 1
  fi
}

# swap_into_place STAGING DEST: a folder assembled beside its destination
# replaces it whole, so an interrupted fetch never leaves one that looks complete.
swap_into_place() {
  rm -rf "$2"
  mv "$1" "$2"
}

# files_match_sha256 ARRAY DIR: true when every file named in the associative
# array ARRAY (file -> sha256) is in DIR with that checksum.
files_match_sha256() {
  local -n sums=$1
  local dir=$2 f
  for f in "${!sums[@]}"; do
    [ -f "$dir/$f" ] && [ "$(sha256sum "$dir/$f" | cut -d' ' -f1)" = "${sums[$f]}" ] || return 1
  done
}
