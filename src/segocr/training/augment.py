"""Augmentation of normalized character crops (N, S, S) float32; seeded, pure."""

from __future__ import annotations

import cv2
import numpy as np


def augment_crops(
    crops: np.ndarray,
    *,
    rng: np.random.Generator,
    strength: float = 1.0,
    photometric: bool = False,
    low_contrast: float = 0.0,
) -> np.ndarray:
    """Random small affine changes (shift, zoom, rotation, shear), blur, noise and
    contrast on each crop of ``crops`` (N, S, S); returns a new array of the same shape.
    With ``photometric`` each crop first gets, at random, what HDR and badly exposed
    captures do to a character (:func:`photometric`): gamma, a light gradient across
    it, thinner or thicker strokes, motion blur. With ``low_contrast`` > 0, each crop
    is, with that probability, made faint after the geometric change
    (:func:`low_contrast_crop`). Without either the random draws are those of earlier
    versions (same seed, same crops).

    >>> x = np.zeros((4, 32, 32), np.float32); x[:, 8:24, 12:20] = 1
    >>> augment_crops(x, rng=np.random.default_rng(0)).shape
    (4, 32, 32)
    """
    n, s, _ = crops.shape
    out = np.empty_like(crops)
    c = s / 2
    for i in range(n):
        src = photometric_crop(crops[i], rng=rng) if photometric else crops[i]
        ang = rng.normal(0, 4 * strength)
        zoom = 1 + rng.normal(0, 0.08 * strength)
        shear = rng.normal(0, 0.08 * strength)
        tx, ty = rng.normal(0, 1.2 * strength, size=2)
        m = cv2.getRotationMatrix2D((c, c), ang, zoom)
        m[0, 1] += shear
        m[:, 2] += (tx - shear * c, ty)
        img = cv2.warpAffine(src, m, (s, s), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_LINEAR)
        if rng.random() < 0.3 * strength:
            img = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.4, 1.2))
        if low_contrast > 0 and rng.random() < low_contrast:
            img = low_contrast_crop(img, rng=rng)
        img = img * rng.uniform(1 - 0.3 * strength, 1 + 0.2 * strength) + rng.normal(0, 0.15 * strength)
        img = img + rng.normal(0, rng.uniform(0, 0.15 * strength), size=img.shape)
        out[i] = img
    return out.astype(np.float32)


def photometric_crop(crop: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """One normalized crop (S, S) float32 (dark ink on light, zero mean) under a random
    exposure change, each part with its own probability: gamma 0.5-2 (blown-out or
    crushed background), a linear light gradient across the crop (half the contrast at
    most), strokes one pixel thinner or thicker (a bright background eats into or
    bleeds from dark ink), horizontal or vertical motion blur of 3-5 px. The result has
    zero mean and the crop's range again (as :func:`segocr.recognizers.segcnn.crop_char` gives).

    >>> x = np.zeros((32, 32), np.float32); x[8:24, 12:20] = -1; x[x == 0] = 1
    >>> y = photometric_crop(x, rng=np.random.default_rng(0))
    >>> y.shape, bool(abs(float(y.mean())) < 1e-4)
    ((32, 32), True)
    """
    s = crop.shape[0]
    lo, hi = float(crop.min()), float(crop.max())
    img: np.ndarray = (crop - lo) / max(hi - lo, 1e-6)
    if rng.random() < 0.5:
        img = img ** float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    if rng.random() < 0.3:
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s - 0.5
        ramp = np.cos(ang) * xx + np.sin(ang) * yy
        img = img * (1 - rng.uniform(0, 0.5) * (ramp + 0.5))
    if rng.random() < 0.3:
        k = np.ones((2, 2), np.uint8)
        img = cv2.erode(img, k) if rng.random() < 0.5 else cv2.dilate(img, k)
    if rng.random() < 0.2:
        n = int(rng.integers(3, 6))
        kern = np.zeros((n, n), np.float32)
        if rng.random() < 0.5:
            kern[n // 2, :] = 1 / n
        else:
            kern[:, n // 2] = 1 / n
        img = cv2.filter2D(img, -1, kern, borderType=cv2.BORDER_REPLICATE)
    img = img.astype(np.float32)
    return (img - img.mean()) * (hi - lo)


#: Grey levels per unit of a standardized training crop, assumed for
#: :func:`low_contrast_crop` (a well-exposed character crop has a standard deviation of
#: roughly 40-60 grey levels).
GREY_PER_UNIT = 50.0


def low_contrast_crop(crop: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """One standardized crop (S, S) float32 as a faint, washed-out capture gives it:
    blurred (probability 0.5, Gaussian sigma 0.5-1.5 px), its contrast compressed to
    5-20 % of its range, read in grey levels (``GREY_PER_UNIT``) with sensor noise
    (sigma 1-3 grey levels) and rounded to whole levels, then standardized as
    :func:`segocr.recognizers.segcnn.crop_char` does it (zero mean, divided by the
    standard deviation but at least 8 grey levels). So a character whose crop has a
    standard deviation of 3-10 grey levels comes out with its noise amplified, as the
    HDR validation losses look.

    >>> x = np.zeros((32, 32), np.float32); x[8:24, 12:20] = -1; x[x == 0] = 1
    >>> y = low_contrast_crop(x, rng=np.random.default_rng(0))
    >>> y.shape, bool(abs(float(y.mean())) < 1e-4)
    ((32, 32), True)
    """
    img = crop.astype(np.float32)
    if rng.random() < 0.5:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.5, 1.5)), np.float32)
    grey = (img - img.mean()) * GREY_PER_UNIT * rng.uniform(0.05, 0.2)
    noisy = np.round(grey + rng.normal(0, rng.uniform(1.0, 3.0), size=grey.shape))
    out: np.ndarray = ((noisy - noisy.mean()) / max(float(noisy.std()), 8.0)).astype(np.float32)
    return out
