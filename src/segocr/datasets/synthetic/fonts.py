"""Fonts of the synthetic plates: where each face lives, its glyphs as ink masks, and
pasting a glyph at a size.

Faces are named by file name. The vendored ones live in :mod:`segocr.fonts` (package
data, each folder with its licence): the highway-gothic ``RG2014*.ttf`` series of
Debian ``fonts-roadgeek`` (MIT), ``OSP-DIN.ttf`` of ``fonts-opendin`` (OFL-1.1), a
subset of DejaVu Sans Condensed Bold (Bitstream Vera / DejaVu licence) and subsets of
Noto Sans CJK SC Bold and Regular (``fonts-noto-cjk``, OFL-1.1) holding the CCPD province
characters and Latin capitals and digits. DejaVu Sans Bold and DejaVu Sans Mono Bold
come with matplotlib.

Glyphs are rasterised once at :data:`REF_SIZE` px by Pillow and cached as float
coverage masks cropped to their ink; a face at a size (:class:`Face`) scales them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segocr.errors import DatasetError

#: Font size glyphs are rasterised at before scaling (px).
REF_SIZE = 128

#: Folder of the vendored fonts (``src/segocr/fonts``).
FONT_DIR = Path(__file__).resolve().parents[2] / "fonts"

#: Vendored faces: file name -> sub-folder of :data:`FONT_DIR`.
VENDORED: dict[str, str] = {
    **{f"RG2014{s}.ttf": "roadgeek" for s in ("B", "C", "D", "E", "EM", "EEM", "F")},
    "OSP-DIN.ttf": "opendin",
    "DejaVuSansCondensed-Bold-plates.ttf": "dejavu",
    "NotoSansCJKsc-Bold-plates.otf": "noto-cjk",
    "NotoSansCJKsc-Regular-plates.otf": "noto-cjk",
}
#: Faces shipped with matplotlib (``mpl-data/fonts/ttf``).
MATPLOTLIB = ("DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans.ttf")

#: Families used by the plate styles (name -> {face: weight}).
HIGHWAY_GOTHIC = {"RG2014C.ttf": 0.25, "RG2014D.ttf": 0.35, "RG2014E.ttf": 0.2, "RG2014EM.ttf": 0.1, "RG2014B.ttf": 0.1}
DIN = {"OSP-DIN.ttf": 0.45, "DejaVuSansCondensed-Bold-plates.ttf": 0.35, "RG2014D.ttf": 0.2}
DEJAVU = {"DejaVuSans-Bold.ttf": 0.6, "DejaVuSansMono-Bold.ttf": 0.4}
CJK = {"NotoSansCJKsc-Bold-plates.otf": 0.6, "NotoSansCJKsc-Regular-plates.otf": 0.4}


def font_names() -> list[str]:
    """Every face the generator can draw with.

    >>> "OSP-DIN.ttf" in font_names() and "RG2014D.ttf" in font_names()
    True
    """
    return sorted([*VENDORED, *MATPLOTLIB])


def font_path(name: str) -> Path:
    """The file of face ``name`` (vendored, or in matplotlib's ``mpl-data``); raises
    :class:`DatasetError` when it is missing.

    >>> font_path("RG2014D.ttf").name
    'RG2014D.ttf'
    """
    if name in VENDORED:
        path = FONT_DIR / VENDORED[name] / name
        if not path.is_file():
            raise DatasetError(f"font {name} not found at {path}: the package data is incomplete (reinstall segocr)")
        return path
    if name not in MATPLOTLIB:
        raise DatasetError(f"unknown font {name!r}; choose one of: {', '.join(font_names())}")
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise DatasetError("matplotlib is not installed; its DejaVu fonts draw the plates")
    path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name
    if not path.is_file():
        raise DatasetError(f"font {name} not found at {path} (it ships with matplotlib)")
    return path


@lru_cache(maxsize=256)
def pil_font(name: str, size: int) -> Any:
    """A Pillow ``FreeTypeFont`` of face ``name`` at ``size`` px."""
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(name)), size)


def is_mono(font: str) -> bool:
    return "Mono" in font


@dataclass(frozen=True)
class Glyph:
    mask: np.ndarray  # float32 (h, w) coverage in [0, 1], cropped to the ink
    top: int  # ink top relative to the cap top of "H" (px at REF_SIZE)


def _raster(font: str, char: str, weight: int) -> np.ndarray:
    """``char`` drawn white on black, uint8 (2 * REF_SIZE, 2 * REF_SIZE); ``weight``
    > 0 strokes it that many pixels bolder, < 0 erodes it."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (2 * REF_SIZE, 2 * REF_SIZE), 0)
    ImageDraw.Draw(img).text(
        (REF_SIZE // 2, REF_SIZE // 2),
        char,
        font=pil_font(font, REF_SIZE),
        fill=255,
        stroke_width=max(0, weight),
        stroke_fill=255,
    )
    a = np.array(img)
    if weight < 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * -weight + 1, 2 * -weight + 1))
        a = cv2.erode(a, k)
    if not a.any():
        raise ValueError(f"font {font} has no ink for {char!r}")
    return a


@lru_cache(maxsize=128)
def cap_metrics(font: str, weight: int) -> tuple[int, int, int]:
    """(cap top, cap height, width of "8") of ``font`` at the reference size (px)."""
    ys, _ = np.nonzero(_raster(font, "H", weight))
    _, xs = np.nonzero(_raster(font, "8", weight))
    return int(ys.min()), int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


@lru_cache(maxsize=4096)
def glyph(font: str, char: str, weight: int) -> Glyph:
    """The glyph of ``char`` at the reference size, cropped to its ink, made more like a
    plate font: the monospace zero loses its dot (the letter O is drawn), the one loses
    its foot, a descender (J) is pulled up to the baseline, and a CJK character is
    scaled to the cap height (plates draw all characters the same height)."""
    mono = is_mono(font)
    a = _raster(font, "O" if (mono and char == "0") else char, weight)
    cap_top, cap_h, _ = cap_metrics(font, weight)
    ys, xs = np.nonzero(a)
    y0, y1 = int(ys.min()), int(ys.max()) + 1
    if ord(char) > 127:  # CJK: fit the ink to the cap height
        x0, x1 = int(xs.min()), int(xs.max()) + 1
        ink: np.ndarray = a[y0:y1, x0:x1].astype(np.float32) / 255.0
        k = cap_h / (y1 - y0)
        fitted: np.ndarray = cv2.resize(ink, (max(1, round((x1 - x0) * k)), cap_h), interpolation=cv2.INTER_AREA)
        fitted.setflags(write=False)
        return Glyph(fitted, 0)
    if char == "1" or (char == "I" and mono):  # drop the foot (and the I's serifs)
        cols = np.nonzero(a[y0 + int(0.55 * (y1 - y0))] > 127)[0]
        c0, c1 = int(cols.min()), int(cols.max()) + 1
        a = a.copy()
        for r0, r1 in (
            (y0 + int(0.7 * (y1 - y0)), y1),
            (y0, y0 + int(0.3 * (y1 - y0)) if char == "I" else y0),
        ):
            a[r0:r1, :c0] = 0
            a[r0:r1, c1:] = 0
    ys, xs = np.nonzero(a)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    mask: np.ndarray = a[y0:y1, x0:x1].astype(np.float32) / 255.0
    base = cap_top + cap_h
    if char != "Q" and y1 > base + 0.04 * cap_h:
        mask = cv2.resize(mask, (x1 - x0, max(1, base - y0)), interpolation=cv2.INTER_AREA)
    mask.setflags(write=False)
    return Glyph(mask, y0 - cap_top)


@dataclass(frozen=True)
class Face:
    """A font at a size: scale factors from the reference size to the target."""

    font: str
    weight: int
    sx: float
    sy: float

    @classmethod
    def make(cls, font: str, weight: int, cap_height: float, aspect: float) -> Face:
        """``font`` whose caps are ``cap_height`` px high and whose "8" is ``aspect``
        times as wide as high."""
        _, cap_h, w8 = cap_metrics(font, weight)
        sy = cap_height / cap_h
        return cls(font, weight, aspect * cap_height / w8, sy)

    def squeezed(self, k: float) -> Face:
        return Face(self.font, self.weight, self.sx * k, self.sy)

    def size(self, char: str) -> tuple[int, int]:
        """(w, h) in pixels of ``char``'s ink at this face's size."""
        g = glyph(self.font, char, self.weight)
        sx = self.sx if ord(char) <= 127 else self.sy * 0.95  # CJK keeps its proportions
        return max(1, round(g.mask.shape[1] * sx)), max(1, round(g.mask.shape[0] * self.sy))


def paste(canvas: np.ndarray, face: Face, char: str, x: int, cap_top: float, colour: np.ndarray) -> tuple[int, int, int, int]:
    """Draw ``char`` with its ink's left edge at ``x`` and its cap top at ``cap_top``;
    returns the ink rectangle (x0, y0, x1, y1), pixel edges, clipped to the canvas."""
    g = glyph(face.font, char, face.weight)
    w, h = face.size(char)
    y = round(cap_top + g.top * face.sy)
    interp = cv2.INTER_AREA if w < g.mask.shape[1] else cv2.INTER_LINEAR
    m = cv2.resize(g.mask, (w, h), interpolation=interp)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return x0, y0, max(x0, x1), max(y0, y1)
    a = m[y0 - y : y1 - y, x0 - x : x1 - x, None]
    roi = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (roi * (1.0 - a) + colour.astype(np.float32) * a + 0.5).astype(np.uint8)
    return x0, y0, x1, y1


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """A key of ``weights`` drawn with probability proportional to its value (keys in
    insertion order, so the draw is reproducible)."""
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def draw_text(
    canvas: np.ndarray,
    rect: tuple[int, int, int, int],
    text: str,
    colour: np.ndarray | tuple[int, int, int],
    *,
    font: str = "DejaVuSans-Bold.ttf",
    fill: float = 0.8,
    align: float = 0.5,
) -> None:
    """Free text (a state name, a slogan, dealer text) centred vertically in ``rect``
    (x0, y0, x1, y1) of ``canvas``, ``fill`` of its height, shrunk to fit its width;
    ``align`` 0 left, 0.5 centre, 1 right. Not a labelled character: no box."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = (int(v) for v in rect)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(canvas.shape[1], x1), min(canvas.shape[0], y1)
    w, h = x1 - x0, y1 - y0
    if w < 8 or h < 4 or not text:
        return
    size = max(4, int(h * fill))
    f = pil_font(font, size)
    length = f.getlength(text)
    if length > 0.94 * w:
        size = max(4, int(size * 0.94 * w / length))
        f = pil_font(font, size)
        length = f.getlength(text)
    img = Image.fromarray(np.ascontiguousarray(canvas[y0:y1, x0:x1]))
    c = tuple(int(v) for v in colour)
    ImageDraw.Draw(img).text(((w - length) * align, h / 2), text, font=f, fill=c, anchor="lm")
    canvas[y0:y1, x0:x1] = np.asarray(img)
