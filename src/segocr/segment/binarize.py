"""Binarization: thresholds computed apart from applying them.

Every method maps a uint8 gray image (H, W) to a float32 threshold surface (H, W)
(a global method fills it with one value); :func:`binarize` applies it. Ink is the
side of the threshold given by ``polarity``: ``dark`` ink (dark characters on a light
plate) is ``gray < T``; ``light`` ink is ``gray > T``.

Sauvola, Wolf and Niblack take their local mean and deviation from ``cv2.boxFilter``
(reflected borders). ``cv2.ximgproc.niBlackThreshold`` and scikit-image were measured
against it (``benchmarks/binarize_libs.py``): ximgproc is up to 1.8x faster but
replicates borders, so with windows of half the plate height it decides 2-5% of the
pixels differently; padded to agree (99.7%) it is slower than this code, and
scikit-image agrees (99.6%) but is 7-9x slower. So this code stays.

>>> img = np.array([[10, 10, 200, 200]], np.uint8)
>>> binarize(img, method=BinarizeConfig(method="otsu"), polarity="dark").tolist()
[[True, True, False, False]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Polarity = Literal["dark", "light"]
MethodName = Literal["otsu", "adaptive_mean", "adaptive_gaussian", "sauvola", "wolf", "niblack"]


class BinarizeConfig(BaseModel):
    """A binarization method and its parameters.

    ``window`` is the local window as a fraction of the image height (made odd, at
    least 3 px); ``k`` is the local methods' sensitivity (Sauvola/Wolf/Niblack);
    ``offset`` is subtracted from adaptive thresholds (OpenCV's ``C``), in gray levels.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    method: MethodName = "sauvola"
    window: float = Field(0.5, gt=0, le=4)
    k: float = Field(0.2, ge=-1, le=1)
    offset: float = Field(5.0, ge=-64, le=64)


def window_pixels(height: int, fraction: float) -> int:
    """An odd window size in pixels for a fraction of ``height``.

    >>> window_pixels(64, 0.5)
    33
    """
    w = max(3, round(height * fraction))
    return w if w % 2 == 1 else w + 1


def _otsu(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray:
    t, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # cv2 puts pixels <= t on the dark side; +0.5 makes that `gray < T`.
    return np.full(gray.shape, t + 0.5, np.float32)


def _box_mean(gray: np.ndarray, win: int) -> np.ndarray:
    return cv2.boxFilter(gray.astype(np.float32), -1, (win, win), borderType=cv2.BORDER_REFLECT)


def _adaptive_mean(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray:
    return _box_mean(gray, window_pixels(gray.shape[0], cfg.window)) - cfg.offset


def _adaptive_gaussian(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray:
    win = window_pixels(gray.shape[0], cfg.window)
    # OpenCV's ADAPTIVE_THRESH_GAUSSIAN_C uses sigma = 0.3*((win-1)*0.5 - 1) + 0.8.
    blurred = cv2.GaussianBlur(gray.astype(np.float32), (win, win), 0, borderType=cv2.BORDER_REFLECT)
    return blurred - cfg.offset


def _local_stats(gray: np.ndarray, win: int) -> tuple[np.ndarray, np.ndarray]:
    g = gray.astype(np.float32)
    mean = cv2.boxFilter(g, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    sq = cv2.boxFilter(g * g, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))


def _sauvola(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray:
    # T = m * (1 + k * (s / R - 1)), R = 128 (Sauvola & Pietikainen 2000).
    mean, std = _local_stats(gray, window_pixels(gray.shape[0], cfg.window))
    return mean * (1.0 + cfg.k * (std / 128.0 - 1.0))


def _wolf(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray:
    # T = m - k * (1 - s / R) * (m - M), R = max s, M = min gray (Wolf & Jolion 2004).
    mean, std = _local_stats(gray, window_pixels(gray.shape[0], cfg.window))
    r = max(float(std.max()), 1e-6)
    return mean - cfg.k * (1.0 - std / r) * (mean - float(gray.min()))


def _niblack(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray:
    # T = m + k * s with k < 0 for dark ink (Niblack 1986); k is used as -|k| for that.
    mean, std = _local_stats(gray, window_pixels(gray.shape[0], cfg.window))
    return mean - abs(cfg.k) * std


#: Registry: method name -> threshold surface function.
METHODS: dict[str, Callable[[np.ndarray, BinarizeConfig], np.ndarray]] = {
    "otsu": _otsu,
    "adaptive_mean": _adaptive_mean,
    "adaptive_gaussian": _adaptive_gaussian,
    "sauvola": _sauvola,
    "wolf": _wolf,
    "niblack": _niblack,
}


def threshold_surface(gray: np.ndarray, *, method: BinarizeConfig) -> np.ndarray:
    """The threshold for every pixel of a uint8 gray image: float32 (H, W), computed for
    dark ink. For light ink, :func:`binarize` thresholds the inverted image."""
    if gray.dtype != np.uint8 or gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"expected a non-empty uint8 gray (H, W) image, got {gray.dtype} {gray.shape}")
    return METHODS[method.method](gray, method).astype(np.float32)


def binarize(gray: np.ndarray, *, method: BinarizeConfig, polarity: Polarity = "dark") -> np.ndarray:
    """Boolean ink mask (H, W) of a uint8 gray image: True where a character's stroke is."""
    src = gray if polarity == "dark" else (255 - gray)
    return src < threshold_surface(src, method=method)
