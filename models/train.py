"""inferlab's training worker: fine-tuning after pruning, and distillation.

Run by `inferlab optimize` (src/optimize_workflow/training.cpp) with Debian's
/usr/bin/python3 and python3-torch, the interpreter models/prepare.py uses:

    /usr/bin/python3 models/train.py REQUEST.json

The request names the mode, files and hyper-parameters; the result (times,
per-epoch figures, accuracies) is written as JSON to request["result"].
Progress, one line per epoch, goes to stderr. Exit 0: done; exit 3: bad input
(one line on stderr starting "error: "); anything else: a failure.

Training is seeded and single-threaded (torch.set_num_threads(1)), so the
weights do not depend on the machine's core count. Datasets: the digits split
of models/digits_cnn.py ("digits:train" trains, "digits" is held out).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings

import onnx
import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_cnn  # noqa: E402
import digits_small  # noqa: E402
import onnx_torch  # noqa: E402

BATCH = 64
DIGITS_CHW = (1, digits_cnn.CELL, digits_cnn.CELL)


class BadInput(ValueError):
    pass


def load_split(name: str):
    """(x, y) of a digits dataset name: "digits:train" (4000) or "digits" / "digits:test" (1000 held out)."""
    cells, labels = digits_cnn.load_digits()
    train_idx, test_idx = digits_cnn.split_indices()
    if name == "digits:train":
        idx = train_idx
    elif name in ("digits", "digits:test"):
        idx = test_idx
    else:
        raise BadInput(f"training reads the digits datasets only (digits:train, digits); got {name}")
    return digits_cnn.normalise(cells[idx]), torch.from_numpy(labels[idx])


def check_input_shape(model: onnx.ModelProto, what: str, dataset: str) -> None:
    chw = onnx_torch.input_chw(model)
    if tuple(chw) != DIGITS_CHW:
        raise BadInput(f"{what} takes input {list(chw)} per sample but dataset {dataset} gives {list(DIGITS_CHW)}")


def top1(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def fit(model, x, y, x_test, y_test, epochs: int, lr: float, seed: int, loss_of, label: str, after_step=None):
    """Seeded AdamW with a cosine schedule and digits_cnn's augmentation; returns per-epoch records."""
    gen = torch.Generator().manual_seed(seed)
    steps = math.ceil(len(x) / BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * steps))
    history = []
    for epoch in range(epochs):
        start = time.monotonic()
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        report_every = max(1, steps // 25)
        for s in range(steps):
            idx = perm[s * BATCH : (s + 1) * BATCH]
            xb = digits_cnn.augment(x[idx], gen)
            loss = loss_of(model, xb, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if after_step:
                after_step()
            total += float(loss) * len(idx)
            if (s + 1) % report_every == 0 or s + 1 == steps:
                # Machine-readable, for the caller's progress bar on a TTY.
                seen = min(len(x), (s + 1) * BATCH)
                print(f"progress: {label} {epoch + 1}/{epochs} {s + 1}/{steps} {total / seen:.4f}",
                      file=sys.stderr, flush=True)
        model.eval()
        acc = top1(model, x_test, y_test)
        seconds = time.monotonic() - start
        history.append({"epoch": epoch + 1, "loss": total / len(x), "heldout_top1": acc, "seconds": seconds})
        print(f"train: {label} epoch {epoch + 1}/{epochs} loss {total / len(x):.4f} held-out top-1 "
              f"{100 * acc:.2f}% ({seconds:.1f} s)", file=sys.stderr, flush=True)
    return history


def save_torchscript(model, path: str) -> None:
    import prepare  # torchvision and the exporter helpers: only needed here

    prepare.export_torchscript(model.eval(), path, torch.zeros(1, *DIGITS_CHW))


def finetune(req: dict) -> dict:
    model_proto = onnx.load(req["onnx_in"])
    name = req.get("model_name", req["onnx_in"])
    try:
        module = onnx_torch.OnnxModule(model_proto)
    except onnx_torch.NoTrainableForm as e:
        raise BadInput(f"{name}: no trainable form ({e}); fine-tuning needs an ONNX graph of "
                       f"Conv/Gemm/MatMul, pooling, activation and elementwise ops") from e
    check_input_shape(model_proto, name, req["dataset"])
    zeros = module.keep_zeros_fixed() if req.get("keep_zeros", True) else 0
    x, y = load_split(req["dataset"])
    x_test, y_test = load_split(req["eval_dataset"])
    start_top1 = top1(module.eval(), x_test, y_test)
    loss = lambda m, xb, yb: F.cross_entropy(m(xb), yb)  # noqa: E731
    if req.get("teacher_onnx"):
        # The unpruned model's outputs as soft targets: the pruned network
        # relearns the function it computed, not only the 4000 labels.
        teacher = onnx_torch.OnnxModule(onnx.load(req["teacher_onnx"])).eval()
        loss = kd_loss_of(teacher, req.get("temperature", 4.0), req.get("alpha", 0.5))
    history = fit(module, x, y, x_test, y_test, req["epochs"], req["lr"], req["seed"], loss,
                  req.get("label", "fine-tune"), after_step=module.apply_masks)
    onnx.save(module.to_onnx(), req["onnx_out"])
    if req.get("torchscript_out"):
        save_torchscript(module, req["torchscript_out"])
    return {"fixed_zeros": zeros, "heldout_top1_before": start_top1, "epochs": history}


def teacher_of(req: dict):
    """The teacher in torch: its TorchScript file when it has one, else its ONNX graph."""
    proto = onnx.load(req["teacher_onnx"])
    check_input_shape(proto, f"teacher {req['teacher_onnx']}", req["dataset"])
    if req.get("teacher_torchscript"):
        return torch.jit.load(req["teacher_torchscript"]).eval(), "torchscript"
    try:
        return onnx_torch.OnnxModule(proto).eval(), "onnx graph"
    except onnx_torch.NoTrainableForm as e:
        raise BadInput(f"teacher {req['teacher_onnx']}: cannot run in torch ({e}); give a model with a "
                       f"TorchScript file") from e


def student_of(spec: str, seed: int):
    torch.manual_seed(seed)
    if spec in digits_small.STUDENTS:
        return digits_small.STUDENTS[spec]()
    if spec.endswith(".onnx") and os.path.exists(spec):
        proto = onnx.load(spec)
        check_input_shape(proto, f"student {spec}", "digits")
        try:
            return onnx_torch.OnnxModule(proto)
        except onnx_torch.NoTrainableForm as e:
            raise BadInput(f"--student {spec}: no trainable form ({e})") from e
    names = ", ".join(sorted(digits_small.STUDENTS))
    raise BadInput(f"--student {spec}: not a student architecture ({names}) nor an existing .onnx file")


def export_student(model, onnx_path: str, pt_path: str) -> None:
    import prepare

    model.eval()
    if isinstance(model, onnx_torch.OnnxModule):
        onnx.save(model.to_onnx(), onnx_path)
    else:
        raw = onnx_path + ".raw"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, torch.zeros(1, *DIGITS_CHW), raw, opset_version=13, input_names=["input"],
                              output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              do_constant_folding=True)
        fixer = prepare.OnnxFixer(onnx.load(raw))
        fixer.run()
        os.remove(raw)
        onnx.save(fixer.result(), onnx_path)
    save_torchscript(model, pt_path)


def kd_loss_of(teacher, T: float, alpha: float):
    """Hinton's distillation loss: T^2-scaled KL to the teacher's softened outputs plus the label loss."""

    def loss(m, xb, yb):
        s = m(xb)
        with torch.no_grad():
            t = teacher(xb)
        soft = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), reduction="batchmean", log_target=True)
        return alpha * T * T * soft + (1 - alpha) * F.cross_entropy(s, yb)

    return loss


def distill(req: dict) -> dict:
    teacher, teacher_form = teacher_of(req)
    x, y = load_split(req["dataset"])
    x_test, y_test = load_split(req["eval_dataset"])
    with torch.no_grad():
        classes = teacher(x_test[:1]).shape[1]
    seed = req["seed"]
    kd_loss = kd_loss_of(teacher, req["temperature"], req["alpha"])

    results = {"teacher_form": teacher_form, "teacher_heldout_top1": top1(teacher, x_test, y_test)}
    for key, loss, label in (("distilled", kd_loss, "distill"),
                             ("labels_only", lambda m, xb, yb: F.cross_entropy(m(xb), yb), "labels-only")):
        student = student_of(req["student"], seed)
        with torch.no_grad():
            student_classes = student.eval()(x_test[:1]).shape[1]
        if student_classes != classes:
            raise BadInput(f"--student {req['student']}: {student_classes} output classes, the teacher has {classes}")
        start = time.monotonic()
        history = fit(student, x, y, x_test, y_test, req["epochs"], req["lr"], seed, loss, label)
        seconds = time.monotonic() - start
        export_student(student, req[key + "_onnx"], req[key + "_torchscript"])
        results[key] = {"epochs": history, "train_seconds": seconds,
                        "parameters": sum(p.numel() for p in student.parameters())}
    return results


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: train.py REQUEST.json", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        req = json.load(f)
    torch.set_num_threads(1)
    start = time.monotonic()
    try:
        result = finetune(req) if req["mode"] == "finetune" else distill(req)
    except (BadInput, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 3
    result["train_seconds_total"] = time.monotonic() - start
    result["threads"] = 1
    result["torch"] = torch.__version__
    with open(req["result"], "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
