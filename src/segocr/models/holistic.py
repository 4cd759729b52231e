"""The holistic fixed-slot CNN: the reference notebook's idea, sized for a CPU.

A VGG-style CNN looks at the whole plate and predicts ``slots`` characters at once,
slot ``k`` being the ``k``-th character of the text (left-aligned), each over the
charset plus a ``pad`` class (the last) for slots past the end of the text. Trained
with a per-slot cross-entropy; decoded by :func:`segocr.recognizers.decode.slot_decode`.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SlotAttention(nn.Module):
    """Per-slot attention readout: (N, C, H', W') feature map -> (N, slots,
    num_classes) logits.

    The rows of each column are folded into its channels and projected to ``dim``;
    ``context`` residual 1x3 convolutions with dilations 1, 2, 4, ... along the width let
    every column see the whole line (so it can tell where the text starts and which
    character it is); a learned positional embedding (dim, W') is added. Each slot is a
    learned query; its softmax over the W' column keys weights the column features,
    and one linear layer shared by the slots (plus a per-slot bias) gives the logits.

    >>> SlotAttention(8, rows=2, columns=16, dim=32, slots=8, num_classes=5)(torch.zeros(3, 8, 2, 16)).shape
    torch.Size([3, 8, 5])
    """

    def __init__(
        self, cin: int, *, rows: int, columns: int, dim: int, slots: int, num_classes: int, context: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.proj = nn.Sequential(nn.Conv1d(cin * rows, dim, 1, bias=False), nn.BatchNorm1d(dim), nn.ReLU(inplace=True))
        self.context = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(dim, dim, 3, padding=2**i, dilation=2**i, bias=False), nn.BatchNorm1d(dim), nn.ReLU(inplace=True)
            )
            for i in range(context)
        )
        self.pos = nn.Parameter(torch.randn(1, dim, columns) * 0.02)
        self.key = nn.Conv1d(dim, dim, 1)
        self.query = nn.Parameter(torch.randn(slots, dim) / math.sqrt(dim))
        self.drop = nn.Dropout(dropout)
        self.classify = nn.Linear(dim, num_classes)
        self.slot_bias = nn.Parameter(torch.zeros(slots, num_classes))

    def attention(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H', W') -> column features (N, dim, W') and slot weights (N, slots, W')."""
        n, c, h, w = f.shape
        s = self.proj(f.reshape(n, c * h, w))
        for blk in self.context:
            s = s + blk(s)
        s = s + self.pos
        scores = torch.einsum("kd,ndw->nkw", self.query, self.key(s)) / math.sqrt(self.dim)
        return s, scores.softmax(-1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        s, att = self.attention(f)
        v = torch.einsum("nkw,ndw->nkd", att, s)  # (N, slots, dim)
        logits: torch.Tensor = self.classify(self.drop(v)) + self.slot_bias
        return logits


class HolisticCNN(nn.Module):
    """(N, in_channels, input_height, input_width) float32 plates -> (N, slots,
    num_classes) logits, ``num_classes`` = charset size + 1 (pad last).

    Four pooling stages divide the height by 16 and the width by ``column_width``, 8
    (the last pools only vertically: with 16-pixel columns a 7-character plate had
    hardly more columns than characters, and the slots learnt much more slowly) or 4
    (the last two pool only vertically: finer columns for the attention readout).

    ``readout="dense"`` (the first version): a 1x1 convolution reduces the
    (channels[-1], H/16, W/column_width) map to ``reduce`` channels, and the flattened map feeds
    the slot logits through a dense layer of ``hidden`` units shared by all slots, or
    directly (``hidden=0``: the shared layer was a bottleneck). 32x128 input: ~0.73M
    parameters, against the notebook's 43M.

    ``readout="attention"``: :class:`SlotAttention` of width ``dim`` with ``context``
    dilated width convolutions: each slot attends over the columns instead of
    reading fixed positions (``reduce`` and ``hidden`` are then unused).

    >>> m = HolisticCNN(num_classes=37)
    >>> m(torch.zeros(2, 1, 32, 128)).shape
    torch.Size([2, 8, 37])
    >>> HolisticCNN(num_classes=37, readout="attention", input_height=48, input_width=160)(torch.zeros(2, 1, 48, 160)).shape
    torch.Size([2, 8, 37])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        slots: int = 8,
        in_channels: int = 1,
        input_height: int = 32,
        input_width: int = 128,
        channels: tuple[int, int, int, int, int] = (32, 64, 96, 96, 128),
        reduce: int = 48,
        hidden: int = 0,
        dropout: float = 0.1,
        readout: Literal["dense", "attention"] = "dense",
        dim: int = 128,
        context: int = 3,
        column_width: Literal[4, 8] = 8,
    ) -> None:
        super().__init__()
        if column_width not in (4, 8):
            raise ValueError(f"column_width must be 4 or 8, got {column_width}")
        if input_height % 16 or input_width % 16:
            raise ValueError(f"input size must be multiples of 16, got {input_height}x{input_width}")
        if readout not in ("dense", "attention"):
            raise ValueError(f"readout must be 'dense' or 'attention', got {readout!r}")
        c1, c2, c3, c4, c5 = channels
        self.slots = slots
        self.num_classes = num_classes
        self.readout = readout
        layers: list[nn.Module] = [
            *_block(in_channels, c1), nn.MaxPool2d(2),
            *_block(c1, c2), nn.MaxPool2d(2),
            *_block(c2, c3), *_block(c3, c4), nn.MaxPool2d(2 if column_width == 8 else (2, 1)),
            *_block(c4, c5), nn.MaxPool2d((2, 1)),
        ]  # fmt: skip
        rows, columns = input_height // 16, input_width // column_width
        self.head: nn.Module
        if readout == "attention":
            self.features = nn.Sequential(*layers)
            self.head = SlotAttention(
                c5, rows=rows, columns=columns, dim=dim, slots=slots, num_classes=num_classes, context=context,
                dropout=dropout,
            )  # fmt: skip
            return
        self.features = nn.Sequential(*layers, nn.Conv2d(c5, reduce, 1))
        flat = reduce * rows * columns
        dense: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        if hidden:
            dense += [nn.Linear(flat, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        dense.append(nn.Linear(hidden or flat, slots * num_classes))
        self.head = nn.Sequential(*dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x))
        return out.view(-1, self.slots, self.num_classes)
