"""The torch backend: a ``torch.nn.Module`` behind the :class:`segocr.runtime.Network`
interface. Importing this module imports torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from segocr.models.weights import resolve_device


class TorchNetwork:
    """``module`` in eval mode on ``device`` (``auto``, ``cpu``, ``cuda[:N]`` or a
    ``torch.device``); ``net(x)``: float32 numpy (N, C, H, W) -> float32 numpy logits,
    computed under ``torch.inference_mode``.

    >>> from segocr.models.charcnn import CharCNN
    >>> net = TorchNetwork(CharCNN(num_classes=5, width=4), "cpu")
    >>> net(np.zeros((3, 1, 32, 32), np.float32)).shape, net.runtime
    ((3, 5), 'torch')
    """

    runtime = "torch"

    def __init__(self, module: nn.Module, device: Any = "auto") -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(str(device))
        self.module = module.to(self.device).eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            out: np.ndarray = self.module(t).float().cpu().numpy()
        return out
