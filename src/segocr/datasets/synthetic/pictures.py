"""Pictured backgrounds for US plates, cut from the DMV sample designs of
``us-plate-designs/plates/<STATE>/`` when that folder is found at generation time.

The pictures are never part of the package or the repository (see
``../shared/data/README.md``): a fresh machine without them draws colours and
gradients instead. A design's placeholder text is removed before use: the band where
the characters sit is bridged from the rows just above and below it, with a little of
its own texture (a wide median, blurred) mixed back; the state name and slogan bands
above and below keep their pixels.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

#: Extensions of the design pictures.
_EXTS = (".png", ".jpg", ".jpeg", ".gif")
#: Width the pictures are kept at in memory (px).
_WIDTH = 360


def find_designs_dir(explicit: str | None = None) -> Path | None:
    """See :func:`_find` (cached per folder setting and environment)."""
    return _find(explicit, os.environ.get("SEGOCR_DATA"), os.environ.get("SEGOCR_SHARED_DATA"), os.getcwd())


@lru_cache(maxsize=32)
def _find(explicit: str | None, data: str | None, shared: str | None, cwd: str) -> Path | None:
    """The ``us-plate-designs`` folder: ``explicit`` if given (``None`` when it holds no
    ``plates/``), else ``$SEGOCR_DATA/us-plate-designs``, ``data/us-plate-designs``,
    ``$SEGOCR_SHARED_DATA/us-plate-designs``, ``../shared/data/us-plate-designs`` beside
    the repository; the first with a ``plates/`` folder, or ``None``."""
    if explicit is not None:
        p = Path(explicit)
        return p if (p / "plates").is_dir() else None
    candidates = [Path(env) / "us-plate-designs" for env in (data, shared) if env]
    candidates.append(Path(cwd) / "data" / "us-plate-designs")
    repo = Path(__file__).resolve().parents[4]
    candidates.append(repo.parent / "shared" / "data" / "us-plate-designs")
    for c in candidates:
        if (c / "plates").is_dir():
            return c
    return None


@lru_cache(maxsize=8)
def design_files(root: str) -> tuple[Path, ...]:
    """The design pictures under ``root/plates``, sorted (a stable order for the rng)."""
    return tuple(sorted(p for p in Path(root, "plates").glob("*/*") if p.suffix.lower() in _EXTS))


@lru_cache(maxsize=512)
def _load(path: str) -> np.ndarray | None:
    """A design as uint8 RGB at :data:`_WIDTH` px wide (transparency over white), or
    ``None`` for an unreadable file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.seek(0)
            rgba = im.convert("RGBA")
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    a = np.asarray(rgba, dtype=np.float32)
    rgb = a[..., :3] * (a[..., 3:] / 255.0) + 255.0 * (1 - a[..., 3:] / 255.0)
    h, w = rgb.shape[:2]
    if w < 40 or h < 20:
        return None
    out = cv2.resize(rgb, (_WIDTH, max(8, round(h * _WIDTH / w))), interpolation=cv2.INTER_AREA)
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def picture_background(rng: np.random.Generator, root: Path, hp: int, wp: int, band: tuple[float, float]) -> np.ndarray | None:
    """A (hp, wp, 3) uint8 background cut from a random design under ``root``, with the
    rows ``band`` (fractions of the height) cleared of the design's placeholder text;
    ``None`` when no design can be read."""
    files = design_files(str(root))
    if not files:
        return None
    pic = _load(str(files[int(rng.integers(len(files)))]))
    if pic is None:
        return None
    h, w = pic.shape[:2]
    # a slight random crop (at most 6% per side), then the plate's size
    cx0, cx1 = (int(rng.uniform(0, 0.06) * w) for _ in range(2))
    cy0, cy1 = (int(rng.uniform(0, 0.06) * h) for _ in range(2))
    crop = pic[cy0 : h - cy1, cx0 : w - cx1]
    img = cv2.resize(crop, (wp, hp), interpolation=cv2.INTER_AREA).astype(np.float32)
    y0, y1 = max(1, round(band[0] * hp)), min(hp - 1, round(band[1] * hp))
    mid = img[y0:y1]
    # the band is bridged from the rows just above and below it (no stroke of the
    # placeholder text survives), with some of its own texture (a wide median) back
    t = np.linspace(0.0, 1.0, y1 - y0, dtype=np.float32)[:, None, None]
    edge = max(1.0, wp * 0.02)
    above = cv2.GaussianBlur(img[y0 - 1 : y0], (0, 0), edge)
    below = cv2.GaussianBlur(img[y1 : y1 + 1], (0, 0), edge)
    bridge = (1 - t) * above + t * below
    k = max(3, round(hp * 0.3)) | 1
    texture = cv2.medianBlur(np.clip(mid, 0, 255).astype(np.uint8), min(k, 255)).astype(np.float32)
    cleared = 0.7 * bridge + 0.3 * cv2.GaussianBlur(texture, (0, 0), max(1.0, hp * 0.05))
    # feather the band's edges into the untouched parts
    t = np.ones((y1 - y0, 1, 1), np.float32)
    f = max(1, round(hp * 0.05))
    ramp = np.linspace(0, 1, f + 2, dtype=np.float32)[1:-1]
    if y1 - y0 > 2 * f:
        t[:f, 0, 0], t[-f:, 0, 0] = ramp, ramp[::-1]
    img[y0:y1] = t * cleared + (1 - t) * mid
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
