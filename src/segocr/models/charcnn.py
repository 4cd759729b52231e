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

    >>> m = CharCNN(num_classes=37)
    >>> m(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 37])
    """

    def __init__(self, num_classes: int, *, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *_block(1, w), nn.MaxPool2d(2),
            *_block(w, 2 * w), *_block(2 * w, 2 * w), nn.MaxPool2d(2),
            *_block(2 * w, 4 * w), *_block(4 * w, 4 * w), nn.MaxPool2d(2),
            *_block(4 * w, 8 * w), nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
