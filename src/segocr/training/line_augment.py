"""Augmentation of text lines for the CRNN and holistic trainings; seeded and pure.

Geometric changes (shift, zoom, small rotation, shear, horizontal stretch) are applied
to a line kept at a higher resolution than the model input (twice its height by
default), then the line is shrunk to the model height and changed photometrically
(contrast, exposure, blur, noise).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.preprocess import resize_to_height


class AugmentConfig(BaseModel):
    """Strength of each augmentation. Spreads are standard deviations unless said
    otherwise; shifts are in line heights. ``p`` is the probability that a sample is
    augmented at all; ``p_*`` that one step is applied.

    >>> AugmentConfig(rotation_deg=2).rotation_deg
    2.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    p: float = Field(0.9, ge=0, le=1)
    shift: float = Field(0.06, ge=0, le=1)
    zoom: float = Field(0.08, ge=0, le=0.5)
    rotation_deg: float = Field(2.5, ge=0, le=30)
    shear: float = Field(0.1, ge=0, le=1)
    stretch: float = Field(0.1, ge=0, le=0.5)
    #: Contrast factor drawn uniformly from [1 - contrast, 1 + contrast / 2].
    contrast: float = Field(0.5, ge=0, lt=1)
    #: Gamma = exp(N(0, exposure)).
    exposure: float = Field(0.35, ge=0, le=2)
    p_blur: float = Field(0.3, ge=0, le=1)
    #: Gaussian blur sigma drawn uniformly from [0.3, blur_sigma] pixels of the output.
    blur_sigma: float = Field(1.0, ge=0.3, le=5)
    p_noise: float = Field(0.5, ge=0, le=1)
    #: Noise sigma drawn uniformly from [0, noise] grey levels.
    noise: float = Field(10.0, ge=0, le=64)


def augment_line(
    line: np.ndarray, *, rng: np.random.Generator, config: AugmentConfig, height: int, max_width: int
) -> np.ndarray:
    """A randomly changed copy of the uint8 gray ``line`` (h, w), returned at ``height``
    rows (uint8 (height, w') with ``w' <= max_width``). Without augmentation (drawn with
    probability ``1 - config.p``) it is only resized.

    >>> line = np.full((64, 200), 200, np.uint8); line[16:48, 20:180] = 30
    >>> out = augment_line(line, rng=np.random.default_rng(0), config=AugmentConfig(), height=32, max_width=128)
    >>> out.dtype, out.shape[0], out.shape[1] <= 128
    (dtype('uint8'), 32, True)
    """
    c = config
    if rng.random() >= c.p:
        return resize_to_height(line, height=height, max_width=max_width)
    h, w = line.shape
    stretch = math.exp(rng.normal(0, c.stretch))
    zoom = math.exp(rng.normal(0, c.zoom))
    ang = math.radians(rng.normal(0, c.rotation_deg))
    shear = rng.normal(0, c.shear)
    tx, ty = rng.normal(0, c.shift * h, size=2)
    out_w = max(4, round(w * stretch))
    # x' = A (x - centre) + centre' + t, with A = rotation @ shear @ scale.
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    a = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([zoom * stretch, zoom])
    centre, centre_out = np.array([w / 2, h / 2]), np.array([out_w / 2, h / 2])
    m = np.hstack([a, (centre_out + (tx, ty) - a @ centre)[:, None]])
    img = cv2.warpAffine(line, m, (out_w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    img = resize_to_height(img, height=height, max_width=max_width).astype(np.float32)
    mean = float(img.mean())
    img = (img - mean) * rng.uniform(1 - c.contrast, 1 + c.contrast / 2) + mean
    img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** math.exp(rng.normal(0, c.exposure))
    if rng.random() < c.p_blur:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.3, c.blur_sigma))
    if rng.random() < c.p_noise:
        img = img + rng.normal(0, rng.uniform(0, c.noise), size=img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
