"""The character classifier of the segmentation pipeline."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

#: How the channel-keeping 3x3 convs (the 2nd conv of the 16x16 and 8x8 stages) are built.
Repeat = Literal["full", "separable"]


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _repeat_block(c: int, repeat: Repeat) -> list[nn.Module]:
    """A conv that keeps ``c`` channels: a full 3x3 conv (``"full"``) or a depthwise 3x3
    conv + BN + ReLU then a 1x1 pointwise conv + BN + ReLU (``"separable"``)."""
    if repeat == "full":
        return _block(c, c)
    if repeat == "separable":
        return [
            nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
        ]  # fmt: skip
    raise ValueError(f"unknown repeat {repeat!r}; valid: 'full', 'separable'")


class CharCNN(nn.Module):
    """A small VGG-style CNN: (N, 1, S, S) float32 character crops -> (N, num_classes)
    logits. ``S`` is the input size (32 by default, any multiple of 8 works).
    At width 16, 32x32 crops and 37 classes: 148k parameters and 8.4 M multiply-adds
    per crop; with ``repeat="separable"`` (the two channel-keeping 3x3 convs, 32->32 at
    16x16 and 64->64 at 8x8, made depthwise-separable) 109k parameters and 4.3 M.

    With ``members`` > 1 it is an ensemble of that many such nets (``self.members``,
    trained apart and put together by :func:`segocr.training.segcnn.ensemble_recognizer`): the
    logits are the mean of the members' log-softmax.

    >>> m = CharCNN(num_classes=37)
    >>> m(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 37])
    >>> CharCNN(num_classes=37, width=4, members=2)(torch.zeros(3, 1, 32, 32)).shape
    torch.Size([3, 37])
    >>> s = CharCNN(num_classes=37, repeat="separable")
    >>> s(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 37])
    >>> sum(p.numel() for p in m.parameters()), sum(p.numel() for p in s.parameters())
    (148437, 108533)
    """

    def __init__(
        self, num_classes: int, *, width: int = 16, dropout: float = 0.2, members: int = 1, repeat: Repeat = "full"
    ) -> None:
        super().__init__()
        if members > 1:
            self.members = nn.ModuleList(
                CharCNN(num_classes, width=width, dropout=dropout, repeat=repeat) for _ in range(members)
            )
            return
        w = width
        self.features = nn.Sequential(
            *_block(1, w), nn.MaxPool2d(2),
            *_block(w, 2 * w), *_repeat_block(2 * w, repeat), nn.MaxPool2d(2),
            *_block(2 * w, 4 * w), *_repeat_block(4 * w, repeat), nn.MaxPool2d(2),
            *_block(4 * w, 8 * w), nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "members"):
            logp = [torch.log_softmax(m(x), dim=1) for m in self.members]
            return torch.stack(logp).mean(0)
        return self.head(self.features(x))
