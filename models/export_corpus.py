#!/usr/bin/python3
"""Exports a corpus of torchvision classification architectures to ONNX, to
check which of them the native engine runs (models/corpus_report.py).

Run with Debian's interpreter (python3-torch, python3-torchvision, python3-onnx):

    /usr/bin/python3 models/export_corpus.py --dir DIR [--only a,b] [--opset 13] [--dynamic-batch]

Each architecture gets seeded, untrained weights (torch.manual_seed(0)), and
its BatchNorm layers seeded running statistics too, so that the exported
BatchNormalization nodes (standalone ones included: DenseNet's
pre-activation BN follows a Concat, not a Conv) compute something other than
the identity. Nothing is downloaded. Inputs are batch 1 and small (mostly
112x112) to keep export and the corpus run fast on a 2-core machine; a few
architectures need a particular size (noted in SIZES). Writes DIR/<name>.onnx
and DIR/corpus.json (name, file, input shape, opset, parameter count).
With --dynamic-batch the batch dimension is symbolic, so that `inferlab
bench --batch sweep` can run ONNX Runtime at batches above 1 too (it refuses
them on a fixed-shape export; native re-plans for any batch either way).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

try:
    import onnx
    import torch
    import torchvision

    IMPORT_ERROR = None
except ImportError as _e:  # pragma: no cover - depends on the interpreter
    IMPORT_ERROR = _e

DEFAULT_SIZE = 112
# Architectures whose graphs need a particular input size at export.
SIZES = {
    # AdaptiveAvgPool2d((6, 6)) exports only when 6 divides the feature map: 6x6 at 224.
    "alexnet": 224,
    # Inception-v3's stem needs at least 75x75; 160 keeps its last map 3x3.
    "inception_v3": 160,
    # ViT's position embeddings are for 224x224 in 16x16 patches.
    "vit_b_16": 224,
    # resnet152 is the paper zoo's model, exported at its benchmark size.
    "resnet152": 224,
}
# Constructor arguments: eval-mode models without auxiliary heads.
KWARGS = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}
CORPUS = [
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "alexnet",
    "densenet121",
    "regnet_y_400mf",
    "regnet_x_400mf",
    "shufflenet_v2_x1_0",
    "mnasnet1_0",
    "googlenet",
    "inception_v3",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b1",
    "efficientnet_v2_s",
    "convnext_tiny",
    "squeezenet1_0",
]


def seed_batchnorm(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Seeded running statistics and affine parameters for every BatchNorm."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            c = module.num_features
            with torch.no_grad():
                module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                if module.affine:
                    module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                    module.bias.copy_(torch.randn(c, generator=generator) * 0.1)


def export(name: str, directory: str, opset: int, dynamic_batch: bool) -> dict:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **KWARGS.get(name, {}))
    seed_batchnorm(model, torch.Generator().manual_seed(1))
    model.eval()
    size = SIZES.get(name, DEFAULT_SIZE)
    shape = [1, 3, size, size]
    path = os.path.join(directory, name + ".onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter warns about every traced shape read
        torch.onnx.export(
            model,
            torch.zeros(*shape),
            path,
            opset_version=opset,
            input_names=["input"],
            output_names=["logits"],
            do_constant_folding=True,
            # A symbolic batch lets every engine run a batch sweep (ONNX
            # Runtime refuses other batches of a fixed-shape export).
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None,
        )
    onnx.checker.check_model(path)
    ops = sorted({node.op_type for node in onnx.load(path).graph.node})
    return {
        "name": name,
        "file": os.path.basename(path),
        "input": shape,
        "opset": opset,
        "dynamic_batch": dynamic_batch,
        "parameters": sum(p.numel() for p in model.parameters()),
        "ops": ops,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--only", default="", help="comma list of architectures (default: the corpus)")
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--dynamic-batch", action="store_true",
                        help="export the batch dimension as symbolic (for `inferlab bench --batch sweep`)")
    args = parser.parse_args()
    if IMPORT_ERROR is not None:
        print(f"export_corpus.py: needs Debian's /usr/bin/python3 with python3-torch and python3-torchvision "
              f"({IMPORT_ERROR})", file=sys.stderr)
        return 2
    names = [n for n in args.only.split(",") if n] or CORPUS
    for name in names:
        if not hasattr(torchvision.models, name):
            print(f"export_corpus.py: --only: torchvision {torchvision.__version__} has no {name}", file=sys.stderr)
            return 2
    os.makedirs(args.dir, exist_ok=True)
    manifest_path = os.path.join(args.dir, "corpus.json")
    entries = {}
    if os.path.exists(manifest_path):
        entries = {e["name"]: e for e in json.load(open(manifest_path))["models"]}
    torch.set_num_threads(1)
    for name in names:
        start = time.time()
        try:
            entries[name] = export(name, args.dir, args.opset, args.dynamic_batch)
            print(f"{name}: {entries[name]['input']} in {time.time() - start:.1f} s", flush=True)
        except Exception as e:  # one architecture's export failure must not stop the corpus
            entries[name] = {"name": name, "error": f"{type(e).__name__}: {e}".splitlines()[0]}
            print(f"{name}: export failed: {entries[name]['error']}", flush=True)
    with open(manifest_path, "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "models": sorted(entries.values(), key=lambda e: e["name"])}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
