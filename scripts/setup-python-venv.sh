#!/usr/bin/env bash
# Creates inferlab's one Python virtual environment (the python-worker
# backends jax, openvino and tvm) from python/requirements.lock, pinned with hashes.
#
# It uses Debian's /usr/bin/python3 (a fresh bookworm machine has no other)
# and never touches the system Python. The environment lives outside the
# repository, named after the lock file's hash, so a changed lock gets a fresh
# environment and the build finds it without being told:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/inferlab/venv-<first 16 hex of sha256(lock)>
# INFERLAB_PYTHON_VENV overrides the folder (the C++ side reads it too).
# Idempotent and offline-safe once done: an environment whose imports work is
# left alone. INFERLAB_WITH_PYTHON_BACKENDS=OFF skips it.
set -euo pipefail

mode="${INFERLAB_WITH_PYTHON_BACKENDS:-AUTO}"
if [ "${mode^^}" = "OFF" ]; then
  echo "setup-python-venv: skipped (INFERLAB_WITH_PYTHON_BACKENDS=OFF)"
  exit 0
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
lock="$root/python/requirements.lock"
hash="$(sha256sum "$lock" | cut -c1-16)"
venv="${INFERLAB_PYTHON_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/inferlab/venv-$hash}"
python=/usr/bin/python3
imports='import jax, jaxlib, openvino, onnx, numpy, tvm, tvm.relax.frontend.onnx'

fail() {
  echo "setup-python-venv: $* (or build without the Python backends: INFERLAB_WITH_PYTHON_BACKENDS=OFF make ...)" >&2
  exit 1
}

if [ -x "$venv/bin/python" ] && [ -f "$venv/.inferlab-complete" ] && "$venv/bin/python" -c "$imports" 2>/dev/null; then
  echo "setup-python-venv: environment present in $venv"
  exit 0
fi

[ -x "$python" ] || fail "$python is missing (Debian package python3)"
"$python" -c 'import ensurepip, venv' 2>/dev/null || fail "$python cannot create environments (Debian package python3-venv)"

# Build beside the destination and move it in whole, so an interrupted
# install never leaves a folder that looks complete. A venv records its own
# path, so it is created at its final name under a staging parent and moved
# only by renaming the parent's entry.
staging="$venv.partial"
rm -rf "$staging" "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$staging" || fail "$python -m venv $staging failed"
start=$(date +%s)
echo "setup-python-venv: installing python/requirements.lock into $venv (about 311 MB from PyPI, once)"
log="$staging/install.log"
if ! PIP_FIND_LINKS= "$staging/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --no-deps --only-binary=:all: -r "$lock" >"$log" 2>&1; then
  fail "pip could not install python/requirements.lock from PyPI: $(grep -v '^\s*$' "$log" | tail -n 1)"
fi
mv "$staging" "$venv"
# The scripts in bin/ name the staging path in their shebangs; inferlab only
# ever runs bin/python, which is a symlink, so they are left as they are.
"$venv/bin/python" -c "$imports" || fail "the environment in $venv cannot import its packages"
touch "$venv/.inferlab-complete"
echo "setup-python-venv: done in $(($(date +%s) - start)) s"
