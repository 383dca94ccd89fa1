#!/usr/bin/env bash
# Fetches ONNX Runtime's CPU runtime and its official C/C++ API headers from
# the npm registry into one cache folder that CMake's FindInferlabOnnxRuntime
# looks in. Nothing of ONNX Runtime is committed to this repository.
#
#   runtime  onnxruntime-node: bin/napi-v6/linux/x64/libonnxruntime.so.1
#   headers  com.github.asus4.onnxruntime: Microsoft's MIT headers shipped in
#            its iOS simulator framework (ORT_API_VERSION 29; older headers
#            work against a newer runtime, never the reverse)
#
# `npm pack` downloads a package's tarball (integrity-checked by npm against
# the registry) without running its install scripts: onnxruntime-node's
# postinstall would try to download CUDA providers and fails offline.
# Idempotent and offline-safe: once the folder holds a library whose sha256
# matches the pinned value, nothing is fetched.
#
# Usage: fetch-onnxruntime.sh [DEST]   (default: see ort_dir below)
# INFERLAB_WITH_ONNXRUNTIME=OFF skips it.
set -euo pipefail
. "$(dirname "$0")/npm-pack.sh"

ORT_VERSION=1.31.1
HEADERS_PACKAGE=com.github.asus4.onnxruntime
HEADERS_VERSION=0.4.9
# sha256 of onnxruntime-node 1.31.1's bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_LIB_SHA256=f19a4da48c4c65e0cdccff82354482f657fa91a3455b66174195b94ca55b0e6f
HEADERS_IN_TARBALL='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
LIB_IN_TARBALL='package/bin/napi-v6/linux/x64/libonnxruntime.so.1'

mode="${INFERLAB_WITH_ONNXRUNTIME:-AUTO}"
if [ "${mode^^}" = "OFF" ]; then
  echo "fetch-onnxruntime: skipped (INFERLAB_WITH_ONNXRUNTIME=OFF)"
  exit 0
fi

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/inferlab"
ort_dir="${1:-${INFERLAB_ONNXRUNTIME_DIR:-$cache_root/sdk/onnxruntime-$ORT_VERSION}}"
lib="$ort_dir/lib/libonnxruntime.so.1"

fail() {
  echo "fetch-onnxruntime: $* (or build without it: INFERLAB_WITH_ONNXRUNTIME=OFF make ...)" >&2
  exit 1
}

if [ "$(uname -m)" != "x86_64" ]; then
  fail "the pinned ONNX Runtime library is for x86_64 Linux, this machine is $(uname -m)"
fi

if [ -f "$lib" ] && [ -f "$ort_dir/include/onnxruntime_cxx_api.h" ] &&
  [ "$(sha256sum "$lib" | cut -d' ' -f1)" = "$ORT_LIB_SHA256" ]; then
  echo "fetch-onnxruntime: ONNX Runtime $ORT_VERSION present in $ort_dir"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  fail "npm is not installed: it is needed to fetch onnxruntime-node@$ORT_VERSION and $HEADERS_PACKAGE@$HEADERS_VERSION from the npm registry"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-onnxruntime: fetching onnxruntime-node@$ORT_VERSION and $HEADERS_PACKAGE@$HEADERS_VERSION (about 265 MB)"
if ! npm_error=$(npm_pack "$work" "onnxruntime-node@$ORT_VERSION" "$HEADERS_PACKAGE@$HEADERS_VERSION"); then
  fail "npm could not fetch onnxruntime-node@$ORT_VERSION and $HEADERS_PACKAGE@$HEADERS_VERSION: $npm_error"
fi

tar -xzf "$work/onnxruntime-node-$ORT_VERSION.tgz" -C "$work" "$LIB_IN_TARBALL" ||
  fail "onnxruntime-node@$ORT_VERSION has no $LIB_IN_TARBALL"
tar -xzf "$work/$HEADERS_PACKAGE-$HEADERS_VERSION.tgz" -C "$work" --wildcards "$HEADERS_IN_TARBALL/*.h" ||
  fail "$HEADERS_PACKAGE@$HEADERS_VERSION has no headers under $HEADERS_IN_TARBALL"

actual="$(sha256sum "$work/$LIB_IN_TARBALL" | cut -d' ' -f1)"
[ "$actual" = "$ORT_LIB_SHA256" ] ||
  fail "libonnxruntime.so.1 from onnxruntime-node@$ORT_VERSION has sha256 $actual, expected $ORT_LIB_SHA256"

# Assemble beside the destination and swap it in whole, so an interrupted
# fetch never leaves a half-filled folder that looks complete.
staging="$ort_dir.partial"
rm -rf "$staging"
mkdir -p "$staging/lib" "$staging/include"
cp "$work/$LIB_IN_TARBALL" "$staging/lib/"
cp "$work/$HEADERS_IN_TARBALL/"*.h "$staging/include/"
cat >"$staging/SOURCE.txt" <<EOF
ONNX Runtime $ORT_VERSION CPU runtime: npm onnxruntime-node@$ORT_VERSION, $LIB_IN_TARBALL (sha256 $ORT_LIB_SHA256)
C/C++ API headers (MIT, Microsoft): npm $HEADERS_PACKAGE@$HEADERS_VERSION, $HEADERS_IN_TARBALL
Fetched by inferlab's scripts/fetch-onnxruntime.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
swap_into_place "$staging" "$ort_dir"
echo "fetch-onnxruntime: ONNX Runtime $ORT_VERSION installed in $ort_dir"
