"""The character classifier of the segmentation pipeline."""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CharCNN(nn.Module):
    """A small VGG-style CNN: (N, 1, S, S) float32 character crops -> (N, num_classes)
    logits. ``S`` is the input size (32 by default, any multiple of 8 works).
    About 160k parameters and 9M multiply-adds per crop for 37 classes.

    With ``members`` > 1 it is an ensemble of that many such nets (``self.members``,
    trained apart and put together by :func:`segocr.training.segcnn.ensemble_recognizer`): the
    logits are the mean of the members' log-softmax.

    >>> m = CharCNN(num_classes=37)
    >>> m(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 37])
    >>> CharCNN(num_classes=37, width=4, members=2)(torch.zeros(3, 1, 32, 32)).shape
    torch.Size([3, 37])
    """

    def __init__(self, num_classes: int, *, width: int = 16, dropout: float = 0.2, members: int = 1) -> None:
        super().__init__()
        if members > 1:
            self.members = nn.ModuleList(
                CharCNN(num_classes, width=width, dropout=dropout) for _ in range(members)
            )
            return
        w = width
        self.features = nn.Sequential(
            *_block(1, w), nn.MaxPool2d(2),
            *_block(w, 2 * w), *_block(2 * w, 2 * w), nn.MaxPool2d(2),
            *_block(2 * w, 4 * w), *_block(4 * w, 4 * w), nn.MaxPool2d(2),
            *_block(4 * w, 8 * w), nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "members"):
            logp = [torch.log_softmax(m(x), dim=1) for m in self.members]
            return torch.stack(logp).mean(0)
        return self.head(self.features(x))
