"""The input of the end-to-end recognizers (CRNN, holistic): a plate as one text line.

A plate crop becomes a gray line ``height`` rows high with its aspect ratio kept
(:func:`line_gray`; only plates wider than ``width / height`` are squeezed to
``width``), then is standardized and padded on the right with zeros (the mean) to
``width`` columns (:func:`normalize_line`). Training augments between the two steps.

:class:`LineRecognizer` holds what the two recognizers share: batching, the model
call and turning decoded indices into a :class:`Prediction`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from segocr.charset import Charset
from segocr.preprocess import resize_to_height, to_gray
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.recognizers.decode import Decoded

if TYPE_CHECKING:
    from segocr.formats.decoding import DecodeOptions
    from segocr.formats.schema import Automaton

if TYPE_CHECKING:
    from torch import nn

    from segocr.runtime import Network


class LineConfig(BaseModel):
    """Size of the model input (N, 1, height, width); both multiples of 16."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    height: int = Field(32, ge=16, le=256)
    width: int = Field(128, ge=16, le=2048)

    @model_validator(mode="after")
    def _multiples(self) -> LineConfig:
        if self.height % 16 or self.width % 16:
            raise ValueError(f"height and width must be multiples of 16, got {self.height}x{self.width}")
        return self


def line_gray(image: np.ndarray, *, height: int = 32, max_width: int = 128) -> np.ndarray:
    """uint8 RGB (H, W, 3) or gray (H, W) plate -> uint8 gray (height, w) with the
    aspect ratio kept, ``w <= max_width`` (wider plates are squeezed to ``max_width``).

    >>> line_gray(np.zeros((50, 100, 3), np.uint8), height=32).shape
    (32, 64)
    >>> line_gray(np.zeros((10, 100, 3), np.uint8), height=32).shape
    (32, 128)
    """
    return resize_to_height(to_gray(image), height=height, max_width=max_width)


def normalize_line(line: np.ndarray, *, width: int = 128) -> np.ndarray:
    """uint8 (H, w) line -> float32 (H, width): zero mean, unit-ish variance (the
    standard deviation is floored at 8 grey levels), zero padding on the right.
    A line wider than ``width`` is squeezed to it.

    >>> x = normalize_line(np.tile(np.arange(64, dtype=np.uint8), (32, 1)), width=128)
    >>> x.shape, round(float(x[:, :64].mean()), 6), float(x[:, 64:].max())
    ((32, 128), 0.0, 0.0)
    """
    h, w = line.shape
    if w > width:
        import cv2

        line = cv2.resize(line, (width, h), interpolation=cv2.INTER_AREA)
        w = width
    x = line.astype(np.float32)
    x = (x - x.mean()) / max(float(x.std()), 8.0)
    out = np.zeros((h, width), np.float32)
    out[:, :w] = x
    return out


def line_batch(images: Sequence[np.ndarray], config: LineConfig) -> np.ndarray:
    """Images -> float32 (N, 1, height, width) model input.

    >>> line_batch([np.zeros((40, 90, 3), np.uint8)], LineConfig()).shape
    (1, 1, 32, 128)
    """
    if not images:
        return np.zeros((0, 1, config.height, config.width), np.float32)
    return np.stack(
        [normalize_line(line_gray(im, height=config.height, max_width=config.width), width=config.width) for im in images]
    )[:, None]


class LineRecognizer:
    """Shared machinery of the line recognizers: ``predict`` = :func:`line_batch` ->
    model -> :meth:`decode_one` per sample. Subclasses set ``name`` and implement
    :meth:`decode_one` on one sample's logits."""

    name = "line"

    def __init__(
        self, model: nn.Module | Network, charset: Charset, line: LineConfig, *, device: Any = "auto", card: dict[str, Any] | None = None
    ) -> None:
        from segocr.runtime import as_network

        #: The network behind :class:`segocr.runtime.Network` (torch or ONNX Runtime).
        self.net = as_network(model, device)
        self.device = self.net.device
        self.charset = charset
        self.line = line
        self.card = card or {}

    @property
    def model(self) -> nn.Module:
        """The torch network (only with the torch runtime); assigning a module swaps
        the network."""
        module = getattr(self.net, "module", None)
        if module is None:
            raise AttributeError(f"the {self.net.runtime} runtime has no torch module; load with runtime='torch'")
        return module

    @model.setter
    def model(self, module: nn.Module) -> None:
        from segocr.runtime import as_network

        self.net = as_network(module, self.device)

    def logits(self, batch: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """float32 model input (N, 1, H, W) -> float32 logits (N, ..., C)."""
        out = [self.net(batch[i : i + batch_size]) for i in range(0, len(batch), batch_size)]
        return np.concatenate(out)

    def decode_one(self, logits: np.ndarray, patterns: Automaton | None = None, topn: int = 1) -> Decoded:
        """One sample's logits -> decoded indices (under ``patterns`` when given)."""
        raise NotImplementedError

    def to_prediction(self, decoded: Decoded, **info: Any) -> Prediction:
        chars = [CharPrediction(self.charset.chars[k], c) for k, c in zip(decoded.indices, decoded.confidences)]
        return Prediction.from_chars(chars, self.name, **info)

    def decode(self, logits: np.ndarray, options: DecodeOptions | None = None) -> list[Prediction]:
        """Logits (N, ..., C) -> one :class:`Prediction` per sample, decoded as
        ``options`` say (format, top-N; see :mod:`segocr.formats.decoding`)."""
        from segocr.formats.decoding import decode_with_format, info_of, plan

        fplan = plan(options, self.charset)
        topn = options.topn if options is not None else 1
        out = []
        for lg in logits:
            d, fmt = decode_with_format(partial(self.decode_one, lg, topn=topn), fplan)
            out.append(self.to_prediction(d, **info_of(d, self.charset, fplan, fmt)))
        return out

    def predict(self, images: Sequence[np.ndarray], *, options: DecodeOptions | None = None) -> list[Prediction]:
        if not images:
            return []
        return self.decode(self.logits(line_batch(images, self.line)), options)
