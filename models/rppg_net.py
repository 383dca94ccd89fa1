"""rppg_net: a small DeepPhys-style convolutional rPPG model, trained on synthetic skin patches.

The input contract (docs/rppg.md) is the one inferlab's C++ side builds from a
36x36 RGB face crop: channels 0-2 the motion representation
100 * (c_t - c_{t-1}) / (c_t + c_{t-1} + 1e-3), channels 3-5 the appearance,
c_t standardised over the crop (one mean and one standard deviation over all
pixels and channels). The output is one value per sample: the first
difference of the blood-volume pulse between frame t-1 and t.

Training data are synthetic: smooth random skin textures with hair/background
patches, a pulse with the blood-volume signature of skin (per-channel
amplitudes), illumination drift, occasional one-pixel motion and sensor noise.
No real face or real physiological recording is involved, so the model has
never seen real skin, real motion or real lighting. Everything is seeded.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

SIDE = 36
FPS = 30.0
# Blood-volume-pulse signature of skin (de Haan & van Leest 2014), R, G, B, green = 1.
PBV_RGB = np.array([0.27, 0.80, 0.54], dtype=np.float32) / 0.80
TARGET_SCALE = 10.0  # the unit waveform's per-frame difference is ~0.1-0.5; scaled to ~1-5
TRAIN_STEPS = 300
BATCH = 96
VALIDATION_CLIPS = 12
VALIDATION_SECONDS = 10.0


class RppgNet(nn.Module):
    """Motion branch gated by an appearance-driven attention mask (DeepPhys), ~7k parameters.

    Uses only ops OpenCV 4.6's ONNX importer reads: Conv, Tanh, Sigmoid, Mul
    (same shapes), AveragePool, GlobalAveragePool, Flatten, Gemm.
    """

    def __init__(self):
        super().__init__()
        self.motion = nn.Sequential(nn.Conv2d(6, 12, 3, padding=1), nn.Tanh(), nn.Conv2d(12, 12, 3, padding=1), nn.Tanh())
        self.attention = nn.Sequential(nn.Conv2d(6, 12, 3, padding=1), nn.Tanh(), nn.Conv2d(12, 12, 1), nn.Sigmoid())
        self.trunk = nn.Sequential(
            nn.AvgPool2d(2),
            nn.Conv2d(12, 16, 3, padding=1),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.Tanh(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(16, 1),
        )

    def forward(self, x):
        return self.trunk(self.motion(x) * self.attention(x))


def waveform(phase, harmonic, harmonic_phase):
    return (np.sin(phase) + harmonic * np.sin(2 * phase + harmonic_phase)) / (1 + harmonic)


class Subjects:
    """Random 'people': skin colour, texture, hair/background patches, pulse shape and strength."""

    def __init__(self, rng: np.random.Generator, n: int):
        red = rng.uniform(140, 230, n)
        green = red * rng.uniform(0.55, 0.8, n)
        blue = green * rng.uniform(0.7, 0.95, n)
        self.skin = np.stack([red, green, blue], axis=1).astype(np.float32)  # n x 3
        coarse = rng.normal(0, 1, (n, 6, 6, 1)).astype(np.float32) * rng.uniform(4, 20, (n, 1, 1, 1)).astype(np.float32)
        self.texture = np.repeat(np.repeat(coarse, 6, axis=1), 6, axis=2)  # n x 36 x 36 x 1, blocky but smooth enough
        self.skin_mask = np.ones((n, SIDE, SIDE, 1), dtype=np.float32)
        self.other = rng.uniform(10, 120, (n, 1, 1, 3)).astype(np.float32)
        for i in range(n):
            # Hair across the top and background down one side, as a loose face crop has.
            self.skin_mask[i, : rng.integers(0, 10), :, :] = 0
            side = rng.integers(0, 7)
            if rng.random() < 0.5:
                self.skin_mask[i, :, :side, :] = 0
            else:
                self.skin_mask[i, :, SIDE - side :, :] = 0
        self.amplitude = (rng.uniform(0.002, 0.012, (n, 1)) * PBV_RGB * rng.uniform(0.8, 1.2, (n, 3))).astype(np.float32)
        self.harmonic = rng.uniform(0, 0.5, n).astype(np.float32)
        self.harmonic_phase = rng.uniform(0, 2 * math.pi, n).astype(np.float32)
        self.noise = rng.uniform(0, 1.5, n).astype(np.float32)

    def render(self, rng, pulse, light, shift):
        """Frames (n x 36 x 36 x 3, 0..1) for pulse values (n), light gains (n) and shifts (n x 2 ints)."""
        n = len(pulse)
        base = self.skin[:, None, None, :] + self.texture
        colour = base * (1 + self.amplitude[:, None, None, :] * pulse[:, None, None, None])
        frame = self.skin_mask * colour + (1 - self.skin_mask) * (self.other + self.texture)
        frame = frame * light[:, None, None, None]
        for i in np.nonzero(shift.any(axis=1))[0]:
            frame[i] = np.roll(frame[i], tuple(shift[i]), axis=(0, 1))
        frame = frame + rng.normal(0, 1, frame.shape).astype(np.float32) * self.noise[:n, None, None, None]
        return np.clip(frame, 0, 255) / 255.0


def model_input(previous, current):
    """The contract's 6-channel input (n x 6 x 36 x 36) from two frames (n x 36 x 36 x 3, 0..1)."""
    motion = 100 * (current - previous) / (current + previous + 1e-3)
    mean = current.mean(axis=(1, 2, 3), keepdims=True)
    std = current.std(axis=(1, 2, 3), keepdims=True) + 1e-6
    appearance = (current - mean) / std
    return np.concatenate([motion, appearance], axis=3).transpose(0, 3, 1, 2).astype(np.float32)


def training_batch(rng: np.random.Generator):
    s = Subjects(rng, BATCH)
    bpm = rng.uniform(40, 180, BATCH)
    phase = rng.uniform(0, 2 * math.pi, BATCH)
    step = 2 * math.pi * bpm / 60 / FPS
    w_prev = waveform(phase - step, s.harmonic, s.harmonic_phase)
    w_cur = waveform(phase, s.harmonic, s.harmonic_phase)
    light_prev = rng.uniform(0.6, 1.2, BATCH).astype(np.float32)
    light_cur = light_prev * (1 + rng.normal(0, 0.002, BATCH)).astype(np.float32)
    moves = rng.random(BATCH) < 0.3
    shift = np.zeros((BATCH, 2), dtype=np.int64)
    shift[moves] = rng.integers(-1, 2, (int(moves.sum()), 2))
    previous = s.render(rng, w_prev.astype(np.float32), light_prev, np.zeros_like(shift))
    current = s.render(rng, w_cur.astype(np.float32), light_cur, shift)
    target = ((w_cur - w_prev) * TARGET_SCALE).astype(np.float32)[:, None]
    return torch.from_numpy(model_input(previous, current)), torch.from_numpy(target)


def spectrum_bpm(signal: np.ndarray) -> float:
    signal = signal - np.polyval(np.polyfit(np.arange(len(signal)), signal, 1), np.arange(len(signal)))
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)), n=8192)) ** 2
    freqs = np.fft.rfftfreq(8192, 1 / FPS)
    band = (freqs >= 0.7) & (freqs <= 4.0)
    return float(freqs[band][np.argmax(spectrum[band])] * 60)


def validate(model, seed: int) -> dict:
    """Held-out synthetic clips: Pearson r of the per-frame output and BPM error of the integrated signal."""
    rng = np.random.default_rng(seed)
    frames = int(VALIDATION_SECONDS * FPS)
    errors, correlations = [], []
    for _ in range(VALIDATION_CLIPS):
        s = Subjects(rng, 1)
        bpm = rng.uniform(45, 150)
        phase = rng.uniform(0, 2 * math.pi) + 2 * math.pi * bpm / 60 / FPS * np.arange(frames)
        w = waveform(phase, s.harmonic[0], s.harmonic_phase[0]).astype(np.float32)
        light = (1 + 0.1 * np.sin(2 * math.pi * 0.1 * np.arange(frames) / FPS)).astype(np.float32)
        clip = np.concatenate([s.render(rng, w[i : i + 1], light[i : i + 1], np.zeros((1, 2), dtype=np.int64)) for i in range(frames)])
        with torch.no_grad():
            out = model(torch.from_numpy(model_input(clip[:-1], clip[1:]))).numpy()[:, 0]
        truth = np.diff(w) * TARGET_SCALE
        correlations.append(float(np.corrcoef(out, truth)[0, 1]))
        errors.append(abs(spectrum_bpm(np.cumsum(out)) - bpm))
    return {
        "clips": VALIDATION_CLIPS,
        "seconds_per_clip": VALIDATION_SECONDS,
        "seed": seed,
        "pearson_r_output_vs_true_difference": round(float(np.mean(correlations)), 4),
        "bpm_mae": round(float(np.mean(errors)), 3),
        "bpm_max_error": round(float(np.max(errors)), 3),
    }


def train(seed: int) -> tuple[nn.Module, dict]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = RppgNet()
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, TRAIN_STEPS)
    start = time.monotonic()
    losses = []
    for _ in range(TRAIN_STEPS):
        x, y = training_batch(rng)
        loss = nn.functional.mse_loss(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(float(loss))
    model.eval()
    info = {
        "steps": TRAIN_STEPS,
        "batch": BATCH,
        "optimiser": "Adam lr 5e-3, cosine schedule",
        "seed": seed,
        "seconds": round(time.monotonic() - start, 1),
        "final_loss_mse": round(float(np.mean(losses[-50:])), 5),
        "target_variance": round(float(np.var(training_batch(np.random.default_rng(seed + 1))[1].numpy())), 5),
        "data": "synthetic skin patches (see models/rppg_net.py and docs/rppg.md); no real faces",
    }
    info["validation"] = validate(model, seed + 100)
    return model, info
