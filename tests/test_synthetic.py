"""Synthetic plates: determinism, box geometry and ink, text formats, config checks, the
registered dataset and the sample writer. Offline and seeded."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from segocr.charset import LATIN
from segocr.datasets import load_dataset
from segocr.datasets.synthetic import (
    CZ_LETTERS,
    DEFAULT_CONFIG,
    RenderedPlate,
    SyntheticConfig,
    is_test_text,
    main,
    random_plate_text,
    render_plate,
    write_samples,
)
from segocr.errors import DatasetError

MIXED = SyntheticConfig(styles={"cz": 0.5, "generic": 0.5})
CLEAN = MIXED.clean()
CZ_FORMAT = re.compile(rf"^[1-9][{CZ_LETTERS}][{CZ_LETTERS}0-9][0-9]{{4}}$")


def _render(seed: int, config: SyntheticConfig = MIXED, style: str | None = None) -> RenderedPlate:
    rng = np.random.default_rng(seed)
    style = style or ("cz" if seed % 2 == 0 else "generic")
    return render_plate(random_plate_text(rng, style), rng=rng, config=config, style=style)


def _gray(p: RenderedPlate) -> np.ndarray:
    return cv2.cvtColor(p.image, cv2.COLOR_RGB2GRAY).astype(np.float64)


def _check_geometry(p: RenderedPlate) -> None:
    h, w = p.image.shape[:2]
    assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3
    assert len(p.boxes) == len(p.text)
    for b in p.boxes:
        assert 0 <= b.x < b.x2 <= w and 0 <= b.y < b.y2 <= h, (b, p.image.shape)
    for a, b in zip(p.boxes, p.boxes[1:]):
        assert a.x2 <= b.x, (a, b)  # left to right, no horizontal overlap


# -- determinism -----------------------------------------------------------------------


def test_same_seed_same_bytes() -> None:
    for seed in (0, 1, 7):
        a, b = _render(seed), _render(seed)
        assert a.text == b.text and a.boxes == b.boxes
        assert a.image.tobytes() == b.image.tobytes()


def test_different_seed_different_image() -> None:
    a = render_plate("9B52145", rng=np.random.default_rng(0))
    b = render_plate("9B52145", rng=np.random.default_rng(1))
    assert a.image.shape != b.image.shape or a.image.tobytes() != b.image.tobytes()


# -- boxes -----------------------------------------------------------------------------


def test_boxes_geometry_under_default_degradations() -> None:
    for seed in range(80):
        _check_geometry(_render(seed))


def test_boxes_contain_ink_under_default_degradations() -> None:
    for seed in range(40):
        p = _render(seed)
        g = _gray(p)
        band = g[
            min(b.y for b in p.boxes) : max(b.y2 for b in p.boxes), p.boxes[0].x : p.boxes[-1].x2
        ]
        plate = float(np.median(band))
        for b in p.boxes:
            box = g[b.y : b.y2, b.x : b.x2]
            contrast = (
                plate - np.percentile(box, 5) if p.dark_ink else np.percentile(box, 95) - plate
            )
            assert contrast > 8, (seed, p.text, b, contrast)


def test_clean_boxes_are_tight_around_strong_ink() -> None:
    """Without degradations the ink (above 15% coverage) reaches every side of its box
    within a pixel, and is dark (or light, for reversed plates) against the plate."""
    for seed in range(30):
        p = _render(seed, CLEAN)
        _check_geometry(p)
        g = _gray(p)
        for b in p.boxes:
            box = g[b.y : b.y2, b.x : b.x2]
            if p.dark_ink:
                assert box.min() < 100, (seed, p.text, b)
            else:
                assert box.max() > 150, (seed, p.text, b)
            lo, hi = box.min(), box.max()
            ink = box < hi - 0.15 * (hi - lo) if p.dark_ink else box > lo + 0.15 * (hi - lo)
            ys, xs = np.nonzero(ink)
            assert xs.min() <= 1 and xs.max() >= b.w - 2, (seed, p.text, b)
            assert ys.min() <= 1 and ys.max() >= b.h - 2, (seed, p.text, b)


def test_clean_boxes_hold_all_ink_of_a_character() -> None:
    """Painting every box with the plate colour leaves no character ink behind
    (rendered on a plain generic plate with no frame, screws or separator)."""
    cfg = CLEAN.model_copy(
        update={"p_frame": 0.0, "p_screws": 0.0, "p_separator": 0.0, "p_reversed": 0.0}
    )
    for seed in range(10):
        p = _render(seed, cfg, style="generic")
        g = _gray(p)
        x0, x1 = p.boxes[0].x, p.boxes[-1].x2
        y0, y1 = min(b.y for b in p.boxes), max(b.y2 for b in p.boxes)
        region = g[y0:y1, x0:x1].copy()
        for b in p.boxes:
            region[b.y - y0 : b.y2 - y0, b.x - x0 : b.x2 - x0] = 255
        assert region.min() > 100, (seed, p.text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet=LATIN, min_size=1, max_size=10), seed=st.integers(0, 2**32 - 1))
def test_boxes_invariants_for_any_text(text: str, seed: int) -> None:
    for style in ("cz", "generic"):
        p = render_plate(text, rng=np.random.default_rng(seed), config=MIXED, style=style)
        assert p.text == text
        _check_geometry(p)


def test_render_rejects_bad_text() -> None:
    for bad in ("", "9b5", "ÄB123", "X" * 13):
        with pytest.raises(ValueError):
            render_plate(bad, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="style"):
        render_plate("AB12", rng=np.random.default_rng(0), style="xx")


# -- texts -----------------------------------------------------------------------------


def test_cz_text_format_and_rare_letters() -> None:
    rng = np.random.default_rng(0)
    texts = [random_plate_text(rng, "cz") for _ in range(2000)]
    assert all(CZ_FORMAT.match(t) for t in texts), [t for t in texts if not CZ_FORMAT.match(t)][:5]
    letters = "".join(t[1:3] for t in texts)
    assert not set("GOQW") & set(letters)
    for rare in "KNDTE":
        assert letters.count(rare) > letters.count("A") * 1.3


def test_generic_text_format() -> None:
    rng = np.random.default_rng(0)
    texts = [random_plate_text(rng, "generic") for _ in range(500)]
    assert {len(t) for t in texts} == {5, 6, 7, 8}
    assert set("".join(texts)) == set(LATIN)
    with pytest.raises(ValueError):
        random_plate_text(rng, "xx")


# -- config ----------------------------------------------------------------------------


def test_config_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="extra"):
        SyntheticConfig(blur=1.0)
    with pytest.raises(ValidationError):
        SyntheticConfig(p_blur=1.5)
    with pytest.raises(ValidationError, match="low <= high"):
        SyntheticConfig(plate_height=(80.0, 40.0))
    with pytest.raises(ValidationError):
        SyntheticConfig(style_mix={"cz": 0.0})
    with pytest.raises(ValidationError, match="unknown plate style xx"):
        SyntheticConfig(styles={"xx": 1.0})
    assert SyntheticConfig(style_mix={"us": 1.0}).styles == {"us": 1.0}  # the older name
    with pytest.raises(ValidationError):
        DEFAULT_CONFIG.seed = 3  # type: ignore[misc]  # frozen: the write itself is what is tested


def test_clean_config_switches_degradations_off() -> None:
    clean = DEFAULT_CONFIG.clean()
    assert clean.p_blur == clean.p_noise == clean.p_jpeg == clean.p_tilt == clean.p_hdr == 0.0
    assert clean.p_frame == DEFAULT_CONFIG.p_frame


# -- dataset ---------------------------------------------------------------------------


def test_registry_loads_synthetic_with_counts_and_disjoint_texts() -> None:
    ds = load_dataset("synthetic", n_train=40, n_test=12, seed=3)
    assert (
        ds.name == "synthetic"
        and "seed 3" in ds.source
        and "segocr.datasets.synthetic" in ds.source
    )
    train, test = ds.samples("train"), ds.samples("test")
    assert (len(train), len(test), len(ds.samples("all"))) == (40, 12, 52)
    assert not {s.text for s in train} & {s.text for s in test}
    assert all(is_test_text(s.text) for s in test) and not any(is_test_text(s.text) for s in train)
    assert len({s.id for s in train + test}) == 52
    for s in train[:10] + test:
        assert s.subset == "cz" and s.group == s.text and CZ_FORMAT.match(s.text)
        img = s.load()
        assert img.dtype == np.uint8 and img.ndim == 3
        assert len(s.meta["boxes"]) == len(s.text)
        assert all(b.x2 <= img.shape[1] and b.y2 <= img.shape[0] for b in s.meta["boxes"])


def test_sample_depends_only_on_seed_split_and_index() -> None:
    small = load_dataset("synthetic", n_train=2, n_test=2, seed=5).samples("test")
    large = load_dataset("synthetic", n_train=9, n_test=4, seed=5).samples("test")
    for a, b in zip(small, large[:2]):
        assert a.text == b.text and a.meta["boxes"] == b.meta["boxes"]
        assert a.load().tobytes() == b.load().tobytes()
    other = load_dataset("synthetic", n_train=0, n_test=2, seed=6).samples("test")
    assert [s.text for s in other] != [s.text for s in small]


def test_dataset_styles_and_errors() -> None:
    generic = load_dataset("synthetic", n_train=6, n_test=0, style="generic").samples("train")
    assert {s.subset for s in generic} == {"generic"}
    mixed = load_dataset("synthetic", n_train=40, n_test=0, style="mixed").samples("train")
    assert {s.subset for s in mixed} == {"cz", "generic"}
    with pytest.raises(DatasetError, match="style"):
        load_dataset("synthetic", style="xx")
    with pytest.raises(DatasetError, match="split"):
        load_dataset("synthetic", n_train=1, n_test=1).samples("val")


# -- sample files ----------------------------------------------------------------------


def test_write_samples(tmp_path: Path) -> None:
    paths = write_samples(tmp_path, 3, seed=0)
    assert [p.name for p in paths] == [
        p.name for p in sorted(tmp_path.glob("*.png"), key=paths.index)
    ]
    with (tmp_path / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["path"], r["text"]) for r in rows] == [(p.name, p.stem) for p in paths]
    for p in paths:
        assert p.stat().st_size < 50_000
        img = cv2.imread(str(p))
        assert img is not None and img.shape[2] == 3
    again = tmp_path / "again"
    write_samples(again, 3, seed=0)
    assert all((again / p.name).read_bytes() == p.read_bytes() for p in paths)


def test_main_writes_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(tmp_path / "out"), "--n", "2", "--seed", "1"])
    assert len(list((tmp_path / "out").glob("*.png"))) == 2
    assert (tmp_path / "out" / "labels.csv").is_file()
    assert capsys.readouterr().out.count(".png") == 2
