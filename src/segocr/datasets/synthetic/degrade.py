"""Degradations of a drawn plate scene: the geometric warp (tilt, keystone, squeeze)
and the photometric and sensor steps (exposure and HDR-like tone curves, illumination
gradient, colour cast, gaussian and motion blur, chromatic shift). Every draw comes from
the ``rng`` passed in."""

from __future__ import annotations

import math

import cv2
import numpy as np

from segocr.datasets.synthetic.config import SyntheticConfig
from segocr.datasets.synthetic.scene import Scene, rect_corners, u


def apply_h(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (n, 2) pixel-edge points through the homography ``h`` (which maps pixel
    centres, as OpenCV does)."""
    c = np.concatenate([pts - 0.5, np.ones((len(pts), 1))], axis=1) @ h.T
    return c[:, :2] / c[:, 2:3] + 0.5


def box_bounds(h: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(n, 4) bounds of each box's four mapped corners."""
    out = np.empty_like(boxes)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        p = apply_h(h, rect_corners(x0, y0, x1, y1))
        out[i] = p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()
    return out


def _overlaps(b: np.ndarray, rows: np.ndarray) -> bool:
    """Whether two neighbours of one row overlap horizontally (or nearly)."""
    same = rows[1:] == rows[:-1]
    return bool(len(b) > 1 and np.any(((b[1:, 0] - b[:-1, 2]) < 0.25) & same))


def homography(scene: Scene, rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    """A random tilt + keystone + squeeze about the plate's centre; the tilt and
    keystone are reduced until the mapped boxes no longer overlap horizontally."""
    src = scene.outer
    centre = src.mean(axis=0)
    h = src[3, 1] - src[0, 1]
    tilted = rng.random() < cfg.p_tilt
    # mostly small angles, sometimes up to the bound
    theta = (
        math.radians(cfg.max_tilt_deg * float(np.clip(rng.normal(0, 0.45), -1, 1)))
        if tilted
        else 0.0
    )
    persp = (
        np.clip(rng.normal(0, 0.5, size=4), -1, 1) * cfg.max_perspective if tilted else np.zeros(4)
    )
    squeeze = u(rng, cfg.view_squeeze)
    ok = _overlaps(scene.boxes, scene.rows)
    for attempt in range(8):
        k = 0.6**attempt if attempt < 7 else 0.0
        d = (src - centre) * [squeeze, 1.0]
        # keystone: left/right edge heights and top/bottom edge widths change
        d[:, 1] *= 1 + k * persp[0] * np.sign(d[:, 0])
        d[:, 0] *= 1 + k * persp[1] * np.sign(d[:, 1])
        d[:, 1] += k * persp[2] * h * np.sign(d[:, 0]) * 0.5  # vertical shear
        c, s = math.cos(k * theta), math.sin(k * theta)
        dst = d @ np.array([[c, s], [-s, c]]) + centre
        m = cv2.getPerspectiveTransform(
            (src - 0.5).astype(np.float32), (dst - 0.5).astype(np.float32)
        )
        if ok or not _overlaps(box_bounds(m, scene.boxes), scene.rows):
            return m
    return m


def tone(img: np.ndarray, rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    hgt, wid = img.shape[:2]
    if rng.random() < cfg.p_gradient:  # illumination falls off across the plate
        ang = rng.uniform(0, 2 * math.pi)
        yy = np.arange(hgt, dtype=np.float32)[:, None]
        xx = np.arange(wid, dtype=np.float32)[None, :]
        t = (xx / wid - 0.5) * math.cos(ang) + (yy / hgt - 0.5) * math.sin(ang)
        amp = rng.uniform(0.2, 0.7)
        img = img * (1 + amp * t)[..., None]
    if rng.random() < cfg.p_exposure:
        mode = int(rng.integers(4))
        if mode == 0:  # over-exposed, highlights clip
            img = img * rng.uniform(1.2, 1.8)
        elif mode == 1:  # dark
            img = img * rng.uniform(0.25, 0.6)
            img = np.power(np.clip(img, 0, 1), rng.uniform(1.0, 1.5))
        elif mode == 2:  # low contrast
            m = rng.uniform(0.3, 0.7)
            img = m + (img - m) * rng.uniform(0.35, 0.7)
        else:
            img = np.power(np.clip(img, 0, 1), rng.uniform(0.6, 1.6))
    if rng.random() < cfg.p_hdr:  # tone-mapped HDR: lifted shadows, pale colours
        img = np.power(np.clip(img, 0, 1), 1 / rng.uniform(1.4, 2.6))
        lo = rng.uniform(0.0, 0.2)
        img = lo + (1 - lo) * img
        grey = img.mean(axis=2, keepdims=True)
        img = grey + (img - grey) * rng.uniform(0.35, 0.9)
        if rng.random() < 0.5:
            img = img * rng.uniform(0.55, 0.9)
    if rng.random() < cfg.p_color_cast:
        gains = 1 + rng.normal(0, cfg.color_cast, size=3)
        img = img * (gains / gains.mean()).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def blur(
    img: np.ndarray, rng: np.random.Generator, cfg: SyntheticConfig, plate_h: float
) -> np.ndarray:
    if rng.random() < cfg.p_blur:
        sigma = plate_h * u(rng, cfg.blur_sigma)
        if sigma > 0.2:
            img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < cfg.p_motion_blur:
        length = max(2.0, plate_h * u(rng, cfg.motion_length))
        ang = math.radians(rng.uniform(-25, 25) + (90 if rng.random() < 0.25 else 0))
        size = math.ceil(length) | 1
        k = np.zeros((size, size), dtype=np.float32)
        c = size // 2
        dx, dy = math.cos(ang) * length / 2, math.sin(ang) * length / 2
        cv2.line(
            k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA
        )
        img = cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)
    if rng.random() < cfg.p_chroma_shift:
        shift = rng.uniform(-1.5, 1.5)
        m = np.array([[1, 0, shift], [0, 1, 0]], dtype=np.float32)
        img = img.copy()
        img[..., 0] = cv2.warpAffine(
            img[..., 0], m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE
        )
    return img
