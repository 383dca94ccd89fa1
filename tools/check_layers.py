#!/usr/bin/python3
"""Checks inferlab's layering: no #include from a lower folder into a higher one.

Every `#include "..."` in src/, include/inferlab/ and apps/ is mapped to the
module (folder) of the file it names, and the including file's module must
sit above it in LAYERS (docs/architecture.md explains the order); modules on
the same line are peers and may not include each other. A public header in
include/inferlab/ belongs to the module it documents, as HEADER_MODULE says;
a header missing there is an error, so every new one is placed on purpose.

Usage: check_layers.py [--edges] [REPO_ROOT]   (default root: this script's parent folder)
Prints "file:line: ..." for every violation and exits 1 when there is any;
otherwise prints a one-line summary and exits 0. --edges also prints the
module dependencies found ("edge measure -> backends").
"""

import argparse
import os
import re
import sys

# The layer order, lowest first. A file may include its own module and any
# module on an earlier line; modules on one line are peers.
LAYERS = [
    ["core"],                        # Tensor, Error, files, the contract's value types
    ["model"],                       # ONNX graph IR, manifests and the zoo, declared preprocessing
    ["optimize", "data"],            # graph transforms; datasets, pixel preprocessing, batch loader
    ["backends"],                    # the backend contract: backend.h, profile.h, registry.h
    ["measure"],                     # run rules, stats, the worker protocol, bench and accuracy runners
    ["adapters", "store"],           # src/backends/<adapter>/ and registry/; the results store
    ["report"],                      # tables, profile tables, contact sheets, HTML
    ["optimize_workflow", "rppg"],   # `inferlab optimize`; rPPG methods and evaluation
    ["pipeline"],                    # the live rPPG pipeline
    ["serve"],                       # HTTP serving, metrics, live monitoring
    ["apps"],                        # the executables
]

# Public headers (include/inferlab/<name>) and the module each belongs to.
HEADER_MODULE = {
    "contract_types.h": "core",
    "cpu_info.h": "core",
    "engine_options.h": "core",
    "error.h": "core",
    "files.h": "core",
    "float16.h": "core",
    "tensor.h": "core",
    "model_metadata.h": "model",
    "onnx_graph.h": "model",
    "onnx_model.h": "model",
    "preprocess.h": "model",
    "zoo.h": "model",
    "fp16.h": "optimize",
    "graph_passes.h": "optimize",
    "pruning.h": "optimize",
    "quantize.h": "optimize",
    "batch_loader.h": "data",
    "dataset.h": "data",
    "preprocess_image.h": "data",
    "backend.h": "backends",
    "profile.h": "backends",
    "registry.h": "backends",
    "accuracy.h": "measure",
    "batcher.h": "measure",
    "bench.h": "measure",
    "conformance.h": "measure",
    "environment.h": "measure",
    "loadgen.h": "measure",
    "memory.h": "measure",
    "power.h": "measure",
    "result.h": "measure",
    "run_rules.h": "measure",
    "serving.h": "measure",
    "stats.h": "measure",
    "sweep.h": "measure",
    "worker.h": "measure",
    "python_worker.h": "adapters",
    "compare.h": "store",
    "recommend.h": "store",
    "recording.h": "store",
    "store.h": "store",
    "contact_sheet.h": "report",
    "html_report.h": "report",
    "profile_report.h": "report",
    "report.h": "report",
    "distill.h": "optimize_workflow",
    "optimizer.h": "optimize_workflow",
    "training.h": "optimize_workflow",
    "face_tracker.h": "rppg",
    "frame_source.h": "rppg",
    "rppg.h": "rppg",
    "rppg_assets.h": "rppg",
    "rppg_eval.h": "rppg",
    "rppg_model.h": "rppg",
    "bounded_queue.h": "pipeline",
    "latency_histogram.h": "pipeline",
    "live.h": "pipeline",
    "live_json.h": "pipeline",
    "live_row.h": "pipeline",
    "metrics.h": "serve",
}

# Files generated into the build tree, by the module whose code includes them.
GENERATED = {"zoo_list.inc": "model"}

SCANNED = ["src", "include/inferlab", "apps"]
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".inc")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(path):
    """The module of a repository-relative path: a folder name, "adapters", "apps",
    a public header's HEADER_MODULE entry (None when it has none), or None
    outside the scanned trees."""
    parts = path.split("/")
    if parts[:2] == ["src", "backends"] and len(parts) > 3:
        return "adapters"  # src/backends/<adapter>/ and src/backends/registry/
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[0] == "apps":
        return "apps"
    if parts[:2] == ["include", "inferlab"] and len(parts) == 3:
        return HEADER_MODULE.get(parts[2])
    return None


def resolve(root, including, name):
    """The repository-relative path an include names, as the build's include
    paths find it (the including file's folder, src/, include/), or None."""
    for base in (os.path.dirname(including), "src", "include"):
        candidate = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def source_files(root):
    for top in SCANNED:
        for directory, subdirs, names in os.walk(os.path.join(root, top)):
            subdirs.sort()
            for name in sorted(names):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(directory, name), root)


def check(root):
    """Returns (problems, edges, files checked)."""
    rank = {module: index for index, peers in enumerate(LAYERS) for module in peers}
    problems, edges, files = [], set(), 0
    for header, module in sorted(HEADER_MODULE.items()):
        if module not in rank:
            problems.append(f"tools/check_layers.py:1: HEADER_MODULE puts {header} in '{module}', "
                            "which is not in LAYERS")
        if not os.path.isfile(os.path.join(root, "include", "inferlab", header)):
            problems.append(f"tools/check_layers.py:1: HEADER_MODULE names include/inferlab/{header}, "
                            "which does not exist")
    for path in source_files(root):
        files += 1
        source = module_of(path)
        if source is None:
            problems.append(f"{path}:1: a public header without a module: add it to HEADER_MODULE "
                            "in tools/check_layers.py")
            continue
        if source not in rank:
            problems.append(f"{path}:1: folder '{source}' has no place in LAYERS (tools/check_layers.py)")
            continue
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                match = INCLUDE_RE.match(line)
                if not match:
                    continue
                included = match.group(1)
                target_path = resolve(root, path, included)
                if target_path is not None:
                    target = module_of(target_path)
                    if target is None:
                        continue  # outside the layers (a header without a module is reported as a file)
                elif os.path.basename(included) in GENERATED:
                    target = GENERATED[os.path.basename(included)]
                else:
                    problems.append(f'{path}:{line_no}: #include "{included}" names no file in the tree '
                                    "(a generated one belongs in GENERATED in tools/check_layers.py)")
                    continue
                if target == source:
                    continue
                edges.add((source, target))
                if target not in rank:
                    problems.append(f'{path}:{line_no}: #include "{included}": folder \'{target}\' has no '
                                    "place in LAYERS")
                elif rank[target] >= rank[source]:
                    how = "a peer of" if rank[target] == rank[source] else "above"
                    problems.append(f'{path}:{line_no}: #include "{included}": {target} is {how} {source} '
                                    "(docs/architecture.md)")
    return problems, edges, files


def main():
    parser = argparse.ArgumentParser(description="No #include from a lower folder into a higher one.")
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--edges", action="store_true", help="also print the module dependencies found")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    problems, edges, files = check(root)
    if args.edges:
        for source, target in sorted(edges):
            print(f"edge {source} -> {target}")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} violation(s) in {files} files under {root}")
        return 1
    print(f"check_layers: {files} files, {len(edges)} module dependencies, all downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
