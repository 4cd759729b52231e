"""Second-generation synthetic plates: every style renders deterministically, its texts
follow the national pattern, boxes lie inside the image and hold ink, fonts load from
the package, style mixes reach the dataset. Offline and seeded (US plates are drawn
without pictures here unless a test says otherwise)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from segocr.charset import CCPD_CHARSET, CCPD_PROVINCES, LATIN
from segocr.datasets import load_dataset
from segocr.datasets.synthetic import (
    DEFAULT_CONFIG,
    STYLE_MIXES,
    STYLES,
    RenderedPlate,
    SyntheticConfig,
    SyntheticDataset,
    font_names,
    font_path,
    get_style,
    matches_pattern,
    open_synthetic,
    random_plate_text,
    render_plate,
)
from segocr.datasets.synthetic.fonts import FONT_DIR, VENDORED
from segocr.datasets.synthetic.pictures import find_designs_dir, picture_background
from segocr.errors import DatasetError

NEW = ("eu", "es", "us", "br", "mercosur", "co", "cn", "eu-2row", "br-2row", "cn-2row")
#: No pictures: the same plates on every machine.
DRAWN = DEFAULT_CONFIG.model_copy(update={"p_picture": 0.0})
CLEAN = DRAWN.clean()


def _plate(style: str, seed: int, config: SyntheticConfig = DRAWN) -> RenderedPlate:
    rng = np.random.default_rng([seed, 11])
    return render_plate(random_plate_text(rng, style), rng=rng, config=config, style=style)


def _check_geometry(p: RenderedPlate) -> None:
    h, w = p.image.shape[:2]
    assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3
    assert len(p.boxes) == len(p.text) == len(p.rows)
    assert list(p.rows) == sorted(p.rows), p.rows  # top row first
    for b in p.boxes:
        assert 0 <= b.x < b.x2 <= w and 0 <= b.y < b.y2 <= h, (b, p.image.shape)
    for (a, ra), (b, rb) in zip(zip(p.boxes, p.rows), zip(p.boxes[1:], p.rows[1:])):
        if ra == rb:
            assert a.x2 <= b.x, (p.style, p.text, a, b)  # one row: left to right, no overlap
        else:
            assert b.y >= a.y + 0.5 * a.h, (p.style, p.text, a, b)  # the next row is below


def test_registry_lists_every_style() -> None:
    assert set(NEW) | {"cz", "generic"} == set(STYLES)
    assert {get_style(s).rows for s in ("eu-2row", "br-2row", "cn-2row")} == {2}
    with pytest.raises(ValueError, match="unknown plate style 'xx'; choose one of: br, br-2row, cn,"):
        get_style("xx")


@pytest.mark.parametrize("style", STYLES)
def test_every_style_renders_deterministically_with_boxes_inside(style: str) -> None:
    for seed in range(6):
        a, b = _plate(style, seed), _plate(style, seed)
        assert a.text == b.text and a.boxes == b.boxes and a.image.tobytes() == b.image.tobytes()
        assert a.style == style
        _check_geometry(a)
    assert _plate(style, 0).image.tobytes() != _plate(style, 1).image.tobytes()


@pytest.mark.parametrize("style", NEW)
def test_texts_follow_the_national_pattern(style: str) -> None:
    rng = np.random.default_rng(3)
    texts = [random_plate_text(rng, style) for _ in range(400)]
    assert all(matches_pattern(style, t) for t in texts), [t for t in texts if not matches_pattern(style, t)][:5]
    assert len(set(texts)) > 300  # varied


def test_national_patterns_by_hand() -> None:
    rng = np.random.default_rng(0)
    t = [random_plate_text(rng, "es") for _ in range(300)]
    assert all(re.fullmatch(r"[0-9]{4}[BCDFGHJKLMNPRSTVWXYZ]{3}", x) for x in t)
    assert not set("AEIOUQ") & set("".join(x[4:] for x in t))
    assert all(re.fullmatch(r"[A-Z]{3}[0-9]{4}", random_plate_text(rng, "br")) for _ in range(100))
    assert all(re.fullmatch(r"[A-Z]{3}[0-9][A-Z][0-9]{2}", random_plate_text(rng, "mercosur")) for _ in range(100))
    assert all(re.fullmatch(r"[A-Z]{3}[0-9]{3}", random_plate_text(rng, "co")) for _ in range(100))
    cn = [random_plate_text(rng, "cn") for _ in range(400)]
    assert all(x[0] in CCPD_PROVINCES and x[1].isupper() and x[1] not in "IO" for x in cn)
    assert {len(x) for x in cn} == {7, 8}  # blue and green (new-energy) plates
    assert not set("IO") & set("".join(x[1:] for x in cn))
    us = [random_plate_text(rng, "us") for _ in range(400)]
    assert {len(x) for x in us} == {5, 6, 7}
    # every letter and digit is drawn somewhere
    everything = "".join(random_plate_text(rng, s) for s in STYLES for _ in range(60))
    assert set(LATIN) <= set(everything)


@pytest.mark.parametrize("style", NEW)
def test_clean_boxes_hold_ink(style: str) -> None:
    """On clean plates each box holds ink that differs from the plate around it, and
    its ink reaches each side of the box within a pixel or two."""
    for seed in range(5):
        p = _plate(style, seed, CLEAN)
        _check_geometry(p)
        g = cv2.cvtColor(p.image, cv2.COLOR_RGB2GRAY).astype(np.float64)
        for b in p.boxes:
            box = g[b.y : b.y2, b.x : b.x2]
            lo, hi = box.min(), box.max()
            assert hi - lo > 40, (style, seed, p.text, b, lo, hi)
            ink = box < hi - 0.3 * (hi - lo) if p.dark_ink else box > lo + 0.3 * (hi - lo)
            ys, xs = np.nonzero(ink)
            assert xs.min() <= 2 and xs.max() >= b.w - 3, (style, seed, p.text, b)
            assert ys.min() <= 2 and ys.max() >= b.h - 3, (style, seed, p.text, b)


def test_any_text_renders_in_any_style() -> None:
    """Styles draw texts off their pattern too (short, long, other letter orders)."""
    rng = np.random.default_rng(5)
    for style in STYLES:
        for text in ("A", "12", "AB12CD34EF", "ZZZZZZZZZZZZ", "7ABC123"):
            p = render_plate(text, rng=rng, config=DRAWN, style=style)
            assert p.text == text
            _check_geometry(p)
    p = render_plate("京A12345", rng=rng, style="cn")
    assert len(p.boxes) == 7
    with pytest.raises(ValueError, match="alphabet"):
        render_plate("京A12345", rng=rng, style="us")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    style=st.sampled_from(STYLES),
    text=st.text(alphabet=LATIN, min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_boxes_invariants_for_any_text_and_style(style: str, text: str, seed: int) -> None:
    p = render_plate(text, rng=np.random.default_rng(seed), config=DRAWN, style=style)
    assert p.text == text and p.style == style
    _check_geometry(p)


def test_fonts_load_from_the_package_with_licences() -> None:
    from PIL import ImageFont

    for name in font_names():
        assert ImageFont.truetype(str(font_path(name)), 20).getlength("A8") > 0
    for name, folder in VENDORED.items():
        path = font_path(name)
        assert path.parent == FONT_DIR / folder and path.is_file()
        assert (path.parent / "COPYRIGHT").is_file() or (path.parent / "LICENSE").is_file()
    total = sum(p.stat().st_size for p in FONT_DIR.rglob("*") if p.is_file())
    assert total < 2_000_000, total
    # the CJK subset holds every CCPD province and every Latin character
    from fontTools.ttLib import TTFont

    for face in ("NotoSansCJKsc-Bold-plates.otf", "NotoSansCJKsc-Regular-plates.otf"):
        cmap = TTFont(font_path(face)).getBestCmap()
        assert all(ord(c) in cmap for c in CCPD_CHARSET), face
    with pytest.raises(DatasetError, match="unknown font"):
        font_path("Comic.ttf")


def test_style_mix_config_and_dataset() -> None:
    cfg = SyntheticConfig(styles={"us": 0.3, "br": 0.2})
    assert cfg.styles == {"us": 0.3, "br": 0.2} and cfg.style_mix == cfg.styles
    assert SyntheticConfig(styles="us:3,cn").styles == {"us": 3.0, "cn": 1.0}
    with pytest.raises(ValidationError):
        SyntheticConfig(styles={"us": -1.0})
    ds = load_dataset("synthetic", n_train=60, n_test=6, styles={"us": 1, "cn": 1, "br-2row": 1}, p_picture=0.0)
    train = ds.samples("train")
    assert {s.subset for s in train} == {"us", "cn", "br-2row"}
    assert ds.charset.chars == CCPD_CHARSET and "us+" in ds.source or "br-2row+cn+us" in ds.source
    for s in train:
        assert matches_pattern(s.subset, s.text), (s.subset, s.text)
        assert len(s.meta["rows"]) == len(s.text)
    def mix(**options: object) -> dict[str, float]:
        ds = open_synthetic(n_train=1, n_test=0, **options)
        assert isinstance(ds, SyntheticDataset)
        return ds.config.styles

    assert open_synthetic(style="latin").charset.chars == LATIN and mix(style="latin") == STYLE_MIXES["latin"]
    assert mix(style="mercosur") == {"mercosur": 1.0}
    assert mix(styles="us:2,es") == {"us": 2.0, "es": 1.0}
    for bad in ({"styles": {"xx": 1}}, {"style": "xx"}, {"styles": "us:abc"}, {"style": "us", "styles": {"br": 1}}):
        with pytest.raises(DatasetError):
            load_dataset("synthetic", **bad)


def test_two_row_plates_stack_their_rows() -> None:
    for style, top in (("br-2row", 3), ("cn-2row", 2)):
        p = _plate(style, 1, CLEAN)
        assert p.rows == (0,) * top + (1,) * (len(p.text) - top)
        assert max(b.y2 for b in p.boxes[:top]) <= min(b.y for b in p.boxes[top:]) + 1


def test_us_pictures_replace_the_drawn_ground(tmp_path: Path) -> None:
    """A design folder (here a made-up one) is used when given; without one the drawn
    ground is used and the plate does not change with p_picture."""
    plates = tmp_path / "designs" / "plates" / "XX"
    plates.mkdir(parents=True)
    pic = np.zeros((60, 120, 3), np.uint8)
    pic[:, :, 0] = np.linspace(0, 255, 120, dtype=np.uint8)[None, :]
    cv2.putText(pic, "ABC123", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    cv2.imwrite(str(plates / "a.png"), pic)
    assert find_designs_dir(str(tmp_path / "designs")) == tmp_path / "designs"
    assert find_designs_dir(str(tmp_path / "none")) is None
    bg = picture_background(np.random.default_rng(0), tmp_path / "designs", 50, 100, (0.25, 0.75))
    assert bg is not None and bg.shape == (50, 100, 3)
    # the placeholder text in the middle band is gone: the band is smooth
    assert np.abs(np.diff(bg[18:32].astype(int), axis=1)).max() < 40
    with_pics = DRAWN.model_copy(update={"p_picture": 1.0, "designs_dir": str(tmp_path / "designs")})
    without = DRAWN.model_copy(update={"designs_dir": str(tmp_path / "none"), "p_picture": 1.0})
    a, b = _plate("us", 0, with_pics), _plate("us", 0, without)
    assert a.text == b.text and a.image.tobytes() != b.image.tobytes()
    assert _plate("us", 0, without).image.tobytes() == _plate("us", 0, DRAWN.model_copy(update={"designs_dir": str(tmp_path / "none")})).image.tobytes()


def test_generation_speed() -> None:
    """A loose floor (shared, slow CI machines): 12 styles x 5 plates in under 6 s;
    ``benchmarks/synthetic_grid.py`` measures the rate."""
    t0 = time.perf_counter()
    for style in STYLES:
        for seed in range(5):
            _plate(style, 100 + seed)
    assert time.perf_counter() - t0 < 6.0
