"""CRNN after Shi, Bai and Yao 2015 (arXiv 1507.05717), sized for CPU training.

A VGG-style convolutional stack turns a text line (N, C_in, H, W) into a sequence of
W/4 column features, a two-layer bidirectional LSTM reads it in both directions and
a linear layer scores every column over the charset plus the CTC blank. Training
uses :class:`torch.nn.CTCLoss`; decoding lives in :mod:`segocr.recognizers.decode`.

One change to the paper: a linear shortcut from the column features to the LSTM's
output (``skip``). Without it the CTC loss sat on its initial plateau for the first
~500 steps here (the LSTM passes little gradient early on); with it the convolutions
learn at once and the LSTM adds context on top, which matters on a 20-minute CPU budget.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CRNN(nn.Module):
    """(N, in_channels, input_height, W) float32 lines -> (N, W // frame_width,
    num_classes) logits, batch first (transpose to (T, N, C) for
    :class:`torch.nn.CTCLoss`).

    ``num_classes`` is the charset size plus one: the blank is the last class.
    ``input_height`` must be a multiple of 16, ``W`` of ``frame_width``. ``channels``
    are the six convolution widths: pooling 2x2 after the first, 2 x (frame_width / 2)
    after the second, (2, 1) after the fourth and sixth; a last convolution spanning
    the remaining height turns each column into one feature vector. The paper's frames
    are 4 pixels wide; the default here is 2: on a 32-pixel line a plate character is
    about 8 pixels wide, and CTC needs a blank frame between two equal characters, so
    4-pixel frames dropped one of "88" or "22" again and again. The default size
    (~0.5M parameters) trains on one CPU core.

    >>> m = CRNN(num_classes=37)
    >>> m(torch.zeros(2, 1, 32, 128)).shape
    torch.Size([2, 64, 37])
    >>> CRNN(num_classes=37, frame_width=4)(torch.zeros(2, 1, 32, 128)).shape
    torch.Size([2, 32, 37])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 1,
        input_height: int = 32,
        channels: tuple[int, int, int, int, int, int] = (32, 64, 64, 64, 96, 96),
        hidden: int = 64,
        frame_width: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if input_height % 16:
            raise ValueError(f"input_height must be a multiple of 16, got {input_height}")
        if frame_width not in (2, 4):
            raise ValueError(f"frame_width must be 2 or 4, got {frame_width}")
        self.frame_width = frame_width
        c1, c2, c3, c4, c5, c6 = channels
        self.features = nn.Sequential(
            *_block(in_channels, c1), nn.MaxPool2d(2),
            *_block(c1, c2), nn.MaxPool2d((2, frame_width // 2)),
            *_block(c2, c3), *_block(c3, c4), nn.MaxPool2d((2, 1)),
            *_block(c4, c5), *_block(c5, c6), nn.MaxPool2d((2, 1)),
            nn.Conv2d(c6, c6, (input_height // 16, 1), bias=False), nn.BatchNorm2d(c6), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.LSTM(c6, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=dropout)
        self.skip = nn.Linear(c6, 2 * hidden)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)  # (N, C, 1, T)
        seq = self.dropout(f.squeeze(2).transpose(1, 2))  # (N, T, C)
        out, _ = self.rnn(seq)
        return self.head(self.dropout(out + self.skip(seq)))  # (N, T, num_classes)
