"""Synthetic licence plates with exact character boxes: the embedded default dataset
and a source of plates of many countries for training.

A plate *style* (:mod:`~segocr.datasets.synthetic.styles`: ``cz``, ``generic``, ``eu``,
``es``, ``us``, ``br``, ``mercosur``, ``co``, ``cn``, ``eu-2row``, ``br-2row``,
``cn-2row``) draws a text from its national pattern and lays it out flat with the
fonts of :mod:`~segocr.datasets.synthetic.fonts` (vendored highway-gothic, DIN and CJK
faces, DejaVu). :func:`render_plate` then warps the scene by a random tilt and
perspective, crops it with a margin of car body, resizes it to the output size and
degrades it (exposure and HDR-like tone curves, illumination gradient, colour cast,
gaussian and motion blur, low resolution, noise, JPEG). Every step draws from the
``rng`` passed in, so the same text, seed and config give byte-identical pixels.

Each character's box is the bounds of its glyph's ink rectangle after every geometric
transform, clipped to the image. Boxes of one text row are ordered left to right and
never overlap horizontally; a two-row plate lists its top row first
(:attr:`RenderedPlate.rows`).

The dataset ``synthetic`` (:func:`open_synthetic`) generates sample ``i`` of a split
from ``(seed, split, i)`` alone, with a weighted style mix
(``SyntheticConfig(styles={"us": 0.3, "br": 0.2})``,
``load_dataset("synthetic", styles={"us": 3, "br": 2})``); a text is a test text
exactly when :func:`is_test_text` says so. See ``docs/synthetic.md``.

Run ``python -m segocr.datasets.synthetic data/samples --n 6`` to write sample PNGs.
"""

from __future__ import annotations

from segocr.datasets.synthetic.config import DEFAULT_CONFIG, SyntheticConfig
from segocr.datasets.synthetic.dataset import (
    SAMPLES_CONFIG,
    STYLE_MIXES,
    TEST_BUCKETS,
    SyntheticDataset,
    charset_for,
    is_test_text,
    main,
    open_synthetic,
    random_plate_text,
    resolve_styles,
    write_samples,
)
from segocr.datasets.synthetic.fonts import font_names, font_path
from segocr.datasets.synthetic.legacy import CZ_LETTER_WEIGHTS, CZ_LETTERS, FONTS
from segocr.datasets.synthetic.render import RenderedPlate, render_plate
from segocr.datasets.synthetic.styles import (
    STYLE_REGISTRY,
    PlateStyle,
    get_style,
    matches_pattern,
    register_style,
    style_names,
)
from segocr.datasets.synthetic.styles import STYLES as _ORDERED

#: A style name (registered in :data:`STYLE_REGISTRY`).
Style = str
#: The registered style names, in registration order.
STYLES: tuple[str, ...] = tuple(_ORDERED)

__all__ = [
    "CZ_LETTERS",
    "CZ_LETTER_WEIGHTS",
    "DEFAULT_CONFIG",
    "FONTS",
    "SAMPLES_CONFIG",
    "STYLES",
    "STYLE_MIXES",
    "STYLE_REGISTRY",
    "TEST_BUCKETS",
    "PlateStyle",
    "RenderedPlate",
    "Style",
    "SyntheticConfig",
    "SyntheticDataset",
    "charset_for",
    "font_names",
    "font_path",
    "get_style",
    "is_test_text",
    "main",
    "matches_pattern",
    "open_synthetic",
    "random_plate_text",
    "register_style",
    "render_plate",
    "resolve_styles",
    "style_names",
    "write_samples",
]
