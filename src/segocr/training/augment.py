"""Augmentation of normalized character crops (N, S, S) float32; seeded, pure."""

from __future__ import annotations

import cv2
import numpy as np


def augment_crops(crops: np.ndarray, *, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Random small affine changes (shift, zoom, rotation, shear), blur, noise and
    contrast on each crop of ``crops`` (N, S, S); returns a new array of the same shape.

    >>> x = np.zeros((4, 32, 32), np.float32); x[:, 8:24, 12:20] = 1
    >>> augment_crops(x, rng=np.random.default_rng(0)).shape
    (4, 32, 32)
    """
    n, s, _ = crops.shape
    out = np.empty_like(crops)
    c = s / 2
    for i in range(n):
        ang = rng.normal(0, 4 * strength)
        zoom = 1 + rng.normal(0, 0.08 * strength)
        shear = rng.normal(0, 0.08 * strength)
        tx, ty = rng.normal(0, 1.2 * strength, size=2)
        m = cv2.getRotationMatrix2D((c, c), ang, zoom)
        m[0, 1] += shear
        m[:, 2] += (tx - shear * c, ty)
        img = cv2.warpAffine(crops[i], m, (s, s), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_LINEAR)
        if rng.random() < 0.3 * strength:
            img = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.4, 1.2))
        img = img * rng.uniform(1 - 0.3 * strength, 1 + 0.2 * strength) + rng.normal(0, 0.15 * strength)
        img = img + rng.normal(0, rng.uniform(0, 0.15 * strength), size=img.shape)
        out[i] = img
    return out.astype(np.float32)
