# The two README commands. Each does all of its own set-up on a fresh Debian
# bookworm machine: packages (scripts/install-deps.sh), build, models.
#   make run    prepare the zoo and bench it on opencv, torch, onnxruntime and native
#               -> out/bench/, then digits_cnn's accuracy on the held-out digits -> out/accuracy/,
#               then both runs' plots -> out/report.html
#   make test   the same set-up, then the whole CTest suite
# ZOO=paper make run benches all six models of the reference study.
# INFERLAB_WITH_ONNXRUNTIME=OFF make ... builds without ONNX Runtime (and
# fetches nothing from the npm registry); AUTO/ON also work as for cmake.

BUILD ?= build
ZOO ?= quick
OUT ?= out/bench
JOBS ?= $(shell nproc)
# ctest runs two more tests than there are cores: the e2e tests spend much of
# their time starting worker processes and servers and waiting on them. On 2
# cores, back to back with models cached: 384 s at -j2, 328 s at -j3, 305 s
# at -j4. Tests that time anything are RUN_SERIAL and run alone whatever -j says.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 2 )))
INFERLAB := $(BUILD)/inferlab
INFERLAB_WITH_ONNXRUNTIME ?= AUTO
export INFERLAB_WITH_ONNXRUNTIME
BACKENDS := opencv,torch,$(if $(filter OFF off,$(INFERLAB_WITH_ONNXRUNTIME)),,onnxruntime,)native

# The zoo's models come from the CLI, which is built from models/zoo.json.
ZOO_MODELS = $$($(INFERLAB) models list --zoo $(ZOO))

# Run rules for the main job: at least 2 s and 10 iterations per configuration
# (at large sweep batches one VGG16 iteration takes seconds on 2 cores).
RUN_RULES ?= --min-duration-ms 2000 --min-count 10 --warmup-ms 500

.PHONY: all deps configure build models run test format-check clean

all: build

deps:
	bash scripts/install-deps.sh

# ccache (installed by install-deps.sh): a clean build of sources compiled
# before (another clone, `make clean`) comes from the cache. CCACHE_BASEDIR
# makes the compiler's paths relative to the checkout, so that clones in other
# folders share it.
export CCACHE_BASEDIR := $(CURDIR)
# Precompiled headers (inferlab_cli, inferlab_bench) are cached only with
# this sloppiness (ccache's manual, "Precompiled headers"); the include-file
# times of a fresh clone are all new, which must not forbid caching either.
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DINFERLAB_WITH_ONNXRUNTIME=$(INFERLAB_WITH_ONNXRUNTIME) \
	  $$(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

models: build
	$(INFERLAB) models prepare --zoo $(ZOO)
	$(INFERLAB) models prepare --zoo digits

run: models
	$(INFERLAB) info
	$(INFERLAB) bench $(ZOO_MODELS) --backends $(BACKENDS) --batch 1,sweep $(RUN_RULES) --out $(OUT)
	mkdir -p out/accuracy
	$(INFERLAB) accuracy digits_cnn --dataset digits --backends $(BACKENDS) --failures out/accuracy \
	  --json out/accuracy/digits_cnn.json --md out/accuracy/digits_cnn.md
	$(INFERLAB) report -o out/report.html

test: build
	$(INFERLAB) models prepare --zoo quick
	$(INFERLAB) models prepare --zoo digits
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) --timeout 900

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) out
