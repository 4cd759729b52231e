"""Augmentation of text lines for the CRNN and holistic trainings; seeded and pure.

Geometric changes (shift, zoom, small rotation, shear, horizontal stretch) are applied
to a line kept at a higher resolution than the model input (twice its height by
default), then the line is shrunk to the model height and changed photometrically
(contrast, exposure, blur, noise); a low-resolution step (off by default) shrinks the
line to a few pixels' height and back, as small crops (94x24 LPRNet crops of CCPD) are.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

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
    #: Probability that the line is shrunk to a height drawn uniformly from
    #: ``lowres_height`` (px) and enlarged back, before blur and noise; its width in
    #: proportion, or (``lowres_aspect``) to that width/height ratio, as a detector's
    #: fixed-size crops are (94/24 for LPRNet's), the line keeping its own width.
    p_lowres: float = Field(0.0, ge=0, le=1)
    lowres_height: tuple[float, float] = (16.0, 32.0)
    lowres_aspect: float | None = Field(None, gt=0.5, le=12)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The fields; the low-resolution ones only when that step is on, so that the
        options of runs made before it existed dump (and resume) unchanged.

        >>> "lowres_height" in AugmentConfig().model_dump(), AugmentConfig(p_lowres=0.5).model_dump()["lowres_height"]
        (False, (16.0, 32.0))
        """
        data: dict[str, Any] = handler(self)
        if self.p_lowres == 0:
            data.pop("p_lowres", None)
            data.pop("lowres_height", None)
            data.pop("lowres_aspect", None)
        return data


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
    if c.p_lowres > 0 and rng.random() < c.p_lowres:
        img = _lowres(img, rng.uniform(*c.lowres_height), rng, aspect=c.lowres_aspect)
    if rng.random() < c.p_blur:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.3, c.blur_sigma))
    if rng.random() < c.p_noise:
        img = img + rng.normal(0, rng.uniform(0, c.noise), size=img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _lowres(img: np.ndarray, height: float, rng: np.random.Generator, *, aspect: float | None = None) -> np.ndarray:
    """``img`` (h, w) float32 shrunk to ``height`` rows (area interpolation; not below
    4) and ``height * aspect`` columns (``None``: in proportion), and enlarged back to
    (h, w), bilinear or bicubic at random; unchanged when ``height >= h``.

    >>> img = np.zeros((48, 160), np.float32); img[:, ::2] = 255
    >>> out = _lowres(img, 16, np.random.default_rng(0))
    >>> out.shape, bool(out.std() < img.std() / 4)
    ((48, 160), True)
    >>> _lowres(img, 24, np.random.default_rng(0), aspect=94 / 24).shape
    (48, 160)
    """
    h, w = img.shape
    if height >= h:
        return img
    small_h = max(4, round(height))
    small_w = max(4, round(small_h * aspect if aspect is not None else w * small_h / h))
    small = cv2.resize(img, (small_w, small_h), interpolation=cv2.INTER_AREA)
    interp = cv2.INTER_LINEAR if rng.random() < 0.5 else cv2.INTER_CUBIC
    out: np.ndarray = cv2.resize(small, (w, h), interpolation=interp)
    return out
