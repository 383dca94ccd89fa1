"""digits_cnn: a small CNN trained on OpenCV's digits.png, inferlab's real labelled data.

digits.png (Debian opencv-doc) holds 5000 handwritten digits of 20x20 pixels
as a 100x50 grid; every five rows hold one class (500 samples). The split into
4000 training and 1000 held-out digits is fixed, stratified and seeded, and is
computed identically by the C++ loader (src/data/digits_dataset.cpp): per
class, in class order, a Fisher-Yates shuffle driven by splitmix64 seeded with
SPLIT_SEED; the first 400 shuffled indices train, the last 100 test.

Training is seeded and single-threaded so the weights do not depend on the
machine's core count.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

DIGITS_PNG = "/usr/share/doc/opencv-doc/examples/data/digits.png"
CELL = 20
GRID_COLS = 100
GRID_ROWS = 50
PER_CLASS = 500
TRAIN_PER_CLASS = 400
SPLIT_SEED = 20261124
TRAIN_SEED = 0
EPOCHS = 20
BATCH = 64

PREPROCESS = {
    "resize": 20,
    "crop": 20,
    "mean": [0.5],
    "std": [0.5],
    "channel_order": "GRAY",
    "layout": "NCHW",
    "dtype": "float32",
    "scale": 1.0 / 255.0,
}

MASK64 = (1 << 64) - 1


class SplitMix64:
    """The generator the C++ side uses (include/inferlab/tensor.h uses the same constants)."""

    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def split_indices() -> tuple[list[int], list[int]]:
    """(train, test) sample indices (row-major cell order), each sorted."""
    rng = SplitMix64(SPLIT_SEED)
    train: list[int] = []
    test: list[int] = []
    for label in range(10):
        order = list(range(label * PER_CLASS, (label + 1) * PER_CLASS))
        for i in range(len(order) - 1, 0, -1):
            j = rng.next() % (i + 1)
            order[i], order[j] = order[j], order[i]
        train += order[:TRAIN_PER_CLASS]
        test += order[TRAIN_PER_CLASS:]
    return sorted(train), sorted(test)


def load_digits(path: str = DIGITS_PNG) -> tuple[np.ndarray, np.ndarray]:
    """All 5000 cells as uint8 [5000, 20, 20] and their labels."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: not found (install Debian's opencv-doc)")
    grid = np.asarray(Image.open(path).convert("L"), dtype=np.uint8)
    if grid.shape != (GRID_ROWS * CELL, GRID_COLS * CELL):
        raise ValueError(f"{path}: expected a {GRID_COLS * CELL}x{GRID_ROWS * CELL} image, got {grid.shape[::-1]}")
    cells = grid.reshape(GRID_ROWS, CELL, GRID_COLS, CELL).transpose(0, 2, 1, 3).reshape(-1, CELL, CELL)
    labels = np.arange(GRID_ROWS * GRID_COLS) // (PER_CLASS)
    return cells, labels


class DigitsCnn(nn.Module):
    """conv-BN-ReLU, max-pool, (conv-BN-ReLU) x2, max-pool, then a two-layer classifier: 234,410 parameters."""

    def __init__(self):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, 32), nn.MaxPool2d(2), *block(32, 32), *block(32, 64), nn.MaxPool2d(2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, 10)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def normalise(cells: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(cells.astype(np.float32) * PREPROCESS["scale"])
    return ((x - PREPROCESS["mean"][0]) / PREPROCESS["std"][0]).unsqueeze(1)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (+-10 degrees), scale (0.9-1.1) and shift (+-2 px): seeded."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 / (CELL / 2))
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Background is -1 after normalisation (black ink-free paper).
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def train(log=print) -> tuple[nn.Module, dict]:
    """Trains digits_cnn; returns the eval-mode model and what happened (times, accuracies)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.monotonic()
        torch.manual_seed(TRAIN_SEED)
        gen = torch.Generator().manual_seed(TRAIN_SEED)
        cells, labels = load_digits()
        train_idx, test_idx = split_indices()
        x_train, y_train = normalise(cells[train_idx]), torch.from_numpy(labels[train_idx])
        x_test, y_test = normalise(cells[test_idx]), torch.from_numpy(labels[test_idx])

        model = DigitsCnn()
        steps_per_epoch = math.ceil(len(x_train) / BATCH)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=EPOCHS * steps_per_epoch)
        for epoch in range(EPOCHS):
            model.train()
            perm = torch.randperm(len(x_train), generator=gen)
            for s in range(steps_per_epoch):
                idx = perm[s * BATCH : (s + 1) * BATCH]
                loss = F.cross_entropy(model(augment(x_train[idx], gen)), y_train[idx], label_smoothing=0.05)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        model.eval()
        with torch.no_grad():
            test_top1 = float((model(x_test).argmax(1) == y_test).float().mean())
            train_top1 = float((model(x_train).argmax(1) == y_train).float().mean())
        seconds = time.monotonic() - start
        log(f"digits_cnn: trained {EPOCHS} epochs in {seconds:.1f} s; held-out top-1 {test_top1:.4f}")
        return model, {
            "epochs": EPOCHS,
            "batch": BATCH,
            "optimizer": "AdamW lr 3e-3 (one-cycle), weight decay 1e-4, label smoothing 0.05",
            "augmentation": "seeded random rotation +-10 deg, scale 0.9-1.1, shift +-2 px",
            "threads": 1,
            "train_seconds": round(seconds, 2),
            "train_samples": len(train_idx),
            "test_samples": len(test_idx),
            "train_top1": train_top1,
            "test_top1": test_top1,
            "split": f"stratified: per class a splitmix64 Fisher-Yates shuffle seeded {SPLIT_SEED}, 400 train / 100 test",
            "data": DIGITS_PNG,
        }
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    train()
