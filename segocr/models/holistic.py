"""The holistic fixed-slot CNN: the reference notebook's idea, sized for a CPU.

A VGG-style CNN looks at the whole plate and predicts ``slots`` characters at once,
slot ``k`` being the ``k``-th character of the text (left-aligned), each over the
charset plus a ``pad`` class (the last) for slots past the end of the text. Trained
with a per-slot cross-entropy; decoded by :func:`segocr.recognizers.decode.slot_decode`.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class HolisticCNN(nn.Module):
    """(N, in_channels, input_height, input_width) float32 plates -> (N, slots,
    num_classes) logits, ``num_classes`` = charset size + 1 (pad last).

    Four pooling stages divide the height by 16 and the width by 8 (the last pools
    only vertically: with 16-pixel columns a 7-character plate had hardly more
    columns than characters, and the slots learnt much more slowly); a 1x1
    convolution reduces the (channels[-1], H/16, W/8) map to ``reduce`` channels, and
    the flattened map feeds the slot logits through a dense layer of ``hidden`` units
    shared by all slots, or directly (``hidden=0``, the default: the shared layer was
    a bottleneck, every slot's character had to pass through it, and the loss fell
    about a third more slowly). The default (32x128 input) has ~0.73M parameters,
    against the notebook's 43M.

    >>> m = HolisticCNN(num_classes=37)
    >>> m(torch.zeros(2, 1, 32, 128)).shape
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
    ) -> None:
        super().__init__()
        if input_height % 16 or input_width % 16:
            raise ValueError(f"input size must be multiples of 16, got {input_height}x{input_width}")
        c1, c2, c3, c4, c5 = channels
        self.slots = slots
        self.num_classes = num_classes
        self.features = nn.Sequential(
            *_block(in_channels, c1), nn.MaxPool2d(2),
            *_block(c1, c2), nn.MaxPool2d(2),
            *_block(c2, c3), *_block(c3, c4), nn.MaxPool2d(2),
            *_block(c4, c5), nn.MaxPool2d((2, 1)),
            nn.Conv2d(c5, reduce, 1),
        )  # fmt: skip
        flat = reduce * (input_height // 16) * (input_width // 8)
        dense: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        if hidden:
            dense += [nn.Linear(flat, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        dense.append(nn.Linear(hidden or flat, slots * num_classes))
        self.head = nn.Sequential(*dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).view(-1, self.slots, self.num_classes)
