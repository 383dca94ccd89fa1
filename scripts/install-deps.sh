#!/usr/bin/env bash
# The only installer: Debian bookworm packages the build, the tests and model
# preparation need. Idempotent: packages already present are not re-fetched and
# `apt-get update` runs at most once per invocation (and only when something is
# missing), so `make run` / `make test` stay fast on a prepared machine.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format git ccache
  # inference engines and their BLAS (libtorch falls back to the reference
  # BLAS without libopenblas0: eager PyTorch is then 3-30x slower)
  libopencv-dev libtorch-dev libopenblas0
  # ONNX graph layer
  libonnx-dev libprotobuf-dev protobuf-compiler
  # kernel libraries for the native backend: oneDNN, and XNNPACK with the
  # thread pool it runs on for the native engine's XNNPACK Conv tactic
  # (INFERLAB_WITH_XNNPACK; AUTO builds without it when these are missing)
  libdnnl-dev libxnnpack-dev libpthreadpool-dev
  # the ONNX backend node tests (inferlab conformance --suite onnx-node)
  libonnx-testdata
  # CLI, JSON, logging, tests, benchmarks
  libcli11-dev nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev
  # HTTP for `serve`, `/metrics` and the web Timing Monitor (cpp-httplib), and
  # the Prometheus server the monitoring e2e test starts on loopback
  libcpp-httplib-dev prometheus
  # the PostgreSQL results store (libpq) and the server its e2e test starts
  # (postgresql brings its psql client, postgresql-client-15)
  libpq-dev postgresql
  # reference model preparation (run with /usr/bin/python3, not pyenv's)
  python3 python3-torch python3-torchvision python3-onnx python3-numpy python3-pil
  # the project's one virtual environment for the Python-worker backends
  # (jax, openvino), made from Debian's python3 by setup-python-venv.sh
  python3-venv
  # data: face cascades, digits.png and sample videos
  opencv-data opencv-doc
  # processes and memory: ps/pkill used by e2e tests
  procps
  # HTML reports: the browser e2e test renders the report in headless Chromium
  chromium
)
# npm fetches ONNX Runtime and the charting library. Debian's npm is installed
# only where no npm is on PATH: a machine with NodeSource's nodejs has npm
# already, and Debian's npm package conflicts with that nodejs.
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# ONNX Runtime has no Debian package: its runtime and headers come from the
# npm registry into the user's cache (INFERLAB_WITH_ONNXRUNTIME=OFF skips it).
bash "$(dirname "$0")/fetch-onnxruntime.sh"

# jax, openvino and tvm come from PyPI into one hashed virtual environment in the
# user's cache (INFERLAB_WITH_PYTHON_BACKENDS=OFF skips it).
bash "$(dirname "$0")/setup-python-venv.sh"

# The charting library inlined into HTML reports (Vega, Vega-Lite, vega-embed)
# comes from the npm registry into the user's cache, like ONNX Runtime.
bash "$(dirname "$0")/fetch-charts.sh"

# uPlot, the streaming charts of the web Timing Monitor (`live --web`), from
# the npm registry into the user's cache the same way.
bash "$(dirname "$0")/fetch-uplot.sh"
