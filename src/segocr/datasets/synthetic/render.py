"""Rendering a plate: a style draws the flat scene, then the warp, the crop with car
body around, the resize to the output size and the degradations.

Each character's box is the bounds of its glyph's ink rectangle after every geometric
transform (the four corners are mapped, then clipped to the image): what a segmenter
should find and what a character classifier may crop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from segocr.datasets.synthetic.config import DEFAULT_CONFIG, SyntheticConfig
from segocr.datasets.synthetic.degrade import apply_h, blur, box_bounds, homography, tone
from segocr.datasets.synthetic.scene import u
from segocr.datasets.synthetic.styles import check_text, get_style
from segocr.segment.boxes import CharBox


@dataclass(frozen=True)
class RenderedPlate:
    """A synthetic plate crop and its ground truth.

    ``image`` is uint8 RGB (H, W, 3); ``boxes`` has one :class:`CharBox` per character
    of ``text``, left to right, in ``image`` coordinates; ``plate_quad`` is the plate's
    corners (top-left, top-right, bottom-right, bottom-left) as (x, y) in pixel-edge
    coordinates of ``image`` (may lie outside it); ``dark_ink`` says the characters are
    darker than the plate; ``rows`` is each character's text row (0 top; all 0 on a
    one-row plate). On a two-row plate the boxes are the top row left to right, then
    the bottom row: boxes of one row never overlap horizontally.
    """

    image: np.ndarray = field(repr=False, compare=False)
    text: str
    boxes: tuple[CharBox, ...]
    style: str = "cz"
    dark_ink: bool = True
    plate_quad: tuple[tuple[float, float], ...] = ()
    rows: tuple[int, ...] = ()


def draw_style(rng: np.random.Generator, styles: Mapping[str, float]) -> str:
    """A style name drawn from the weights ``styles`` (names sorted, so the draw does
    not depend on the mapping's order)."""
    names = sorted(styles)
    w = np.array([styles[s] for s in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _int_boxes(b: np.ndarray, width: int, height: int, rows: np.ndarray | None = None) -> tuple[CharBox, ...]:
    """Integer boxes (floor/ceil of the float bounds, clipped to the image); a 1-pixel
    overlap made by rounding (between neighbours of one row) is split at the middle of
    the float gap."""
    rows = np.zeros(len(b), np.int64) if rows is None else rows
    x0 = np.clip(np.floor(b[:, 0] + 1e-6), 0, width - 1).astype(int)
    y0 = np.clip(np.floor(b[:, 1] + 1e-6), 0, height - 1).astype(int)
    x1 = np.clip(np.ceil(b[:, 2] - 1e-6), 1, width).astype(int)
    y1 = np.clip(np.ceil(b[:, 3] - 1e-6), 1, height).astype(int)
    for i in range(len(b) - 1):
        if rows[i] == rows[i + 1] and x1[i] > x0[i + 1]:
            mid = round((b[i, 2] + b[i + 1, 0]) / 2)
            x1[i], x0[i + 1] = mid, mid
    return tuple(
        CharBox(int(x0[i]), int(y0[i]), max(1, int(x1[i] - x0[i])), max(1, int(y1[i] - y0[i])))
        for i in range(len(b))
    )


def render_plate(
    text: str,
    *,
    rng: np.random.Generator,
    config: SyntheticConfig = DEFAULT_CONFIG,
    style: str | None = None,
) -> RenderedPlate:
    """Render ``text`` as a degraded plate crop with its character boxes.

    ``style`` (a name of :data:`STYLES`) defaults to one drawn from ``config.styles``.
    The same ``text``, ``rng`` state and ``config`` give byte-identical images (a ``us``
    plate also depends on whether ``us-plate-designs`` is found, see
    :attr:`SyntheticConfig.designs_dir`). ``text`` must be 1..12 characters of the
    style's alphabet (:data:`segocr.charset.LATIN`; Chinese styles add the CCPD
    provinces).

    >>> p = render_plate("9B52145", rng=np.random.default_rng(0))
    >>> p.image.dtype, p.image.ndim, p.image.shape[2], len(p.boxes)
    (dtype('uint8'), 3, 3, 7)
    >>> all(a.x2 <= b.x for a, b in zip(p.boxes, p.boxes[1:]))
    True
    """
    if style is None:
        style = draw_style(rng, config.styles)
    plate_style = get_style(style)
    check_text(plate_style, text)

    # output plate height (log-uniform) and the working resolution drawn at
    lo, hi = config.plate_height
    k = plate_style.height_scale
    hf = k * float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    hp = int(np.clip(round(hf * 1.3), 40 * k, 150 * k))
    scene = plate_style.scene(text, rng, config, hp)

    # geometry: warp + crop with car-body margins, at the working resolution
    m = homography(scene, rng, config)
    pq = apply_h(m, scene.plate)
    mg = [hp * u(rng, config.margin) * f * plate_style.margin_scale for f in (0.5, 0.65, 0.5, 1.0)]  # left, top, right, bottom
    x0, y0 = math.floor(pq[:, 0].min() - mg[0]), math.floor(pq[:, 1].min() - mg[1])
    x1, y1 = math.ceil(pq[:, 0].max() + mg[2]), math.ceil(pq[:, 1].max() + mg[3])
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    m = shift @ m
    cw, chh = x1 - x0, y1 - y0
    work = cv2.warpPerspective(
        scene.image, m, (cw, chh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    boxes = box_bounds(m, scene.boxes)
    plate = apply_h(m, scene.plate)

    # output size
    s = hf / hp
    ow, oh = max(8, round(cw * s)), max(8, round(chh * s))
    img = cv2.resize(work, (ow, oh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    scale = np.array([ow / cw, oh / chh, ow / cw, oh / chh])
    boxes, plate = boxes * scale, plate * scale[:2]

    f = tone(img.astype(np.float32) / 255.0, rng, config)
    f = blur(f, rng, config, hf)
    if rng.random() < config.p_lowres:
        target = u(rng, config.lowres_height)
        if target < hf * 0.9:
            k = target / hf
            lw, lh = max(4, round(ow * k)), max(4, round(oh * k))
            f = cv2.resize(f, (lw, lh), interpolation=cv2.INTER_AREA)
            if rng.random() < config.p_upscale:
                interp = cv2.INTER_CUBIC if rng.random() < 0.5 else cv2.INTER_LINEAR
                f = np.clip(cv2.resize(f, (ow, oh), interpolation=interp), 0, 1)
            else:
                sc = np.array([lw / ow, lh / oh, lw / ow, lh / oh])
                boxes, plate = boxes * sc, plate * sc[:2]
    if rng.random() < config.p_noise:
        sigma = u(rng, config.noise_sigma) / 255.0
        luma = rng.standard_normal(size=f.shape[:2] + (1,), dtype=np.float32)
        chroma = rng.standard_normal(size=f.shape, dtype=np.float32)
        f = f + (luma + 0.3 * chroma) * np.float32(sigma)
    out = (np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.random() < config.p_jpeg:
        q = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q]
        )
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            out = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    out = np.ascontiguousarray(out)
    return RenderedPlate(
        image=out,
        text=text,
        boxes=_int_boxes(boxes, out.shape[1], out.shape[0], scene.rows),
        style=style,
        rows=tuple(int(r) for r in scene.rows),
        dark_ink=scene.dark_ink,
        plate_quad=tuple((float(x), float(y)) for x, y in plate),
    )
