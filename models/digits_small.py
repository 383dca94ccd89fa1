"""digits_small: the distillation student for digits_cnn, defined beside it.

Three narrow conv-BN-ReLU blocks and a small classifier: 1/6 of digits_cnn's
parameters and about 1/8 of its multiply-accumulates, so that batch-1 latency
is measurably lower on every backend while the teacher's softened outputs
can still carry it to within a point of the teacher.
"""

from __future__ import annotations

from torch import nn


class DigitsSmall(nn.Module):
    """conv(1->16)-pool, conv(16->32)-pool, conv(32->32), 800->32->10."""

    def __init__(self):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 32)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 5 * 5, 32), nn.ReLU(inplace=True), nn.Linear(32, 10)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


# Student architectures by the name `--student` takes.
STUDENTS = {"digits_small": DigitsSmall}
