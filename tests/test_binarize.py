"""Binarization on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from segocr.segment.binarize import (
    METHODS,
    BinarizeConfig,
    binarize,
    threshold_surface,
    window_pixels,
)

ALL = sorted(METHODS)


def _plate() -> np.ndarray:
    """A light plate (200) with a lighting gradient and two dark strokes (40)."""
    img = np.tile(np.linspace(170, 230, 60), (30, 1)).astype(np.uint8)
    img[5:25, 10:14] = 40
    img[5:25, 40:44] = 60
    return img


@pytest.mark.parametrize("method", ALL)
def test_every_method_finds_dark_strokes(method: str) -> None:
    img = _plate()
    ink = binarize(img, method=BinarizeConfig(method=method), polarity="dark")
    assert ink.dtype == bool and ink.shape == img.shape
    assert ink[10:20, 11:13].all() and ink[10:20, 41:43].all()
    # The plate background far from strokes is not ink.
    assert ink[:, 25:30].mean() < 0.1


@pytest.mark.parametrize("method", ALL)
def test_light_polarity_is_the_inverted_image(method: str) -> None:
    img = _plate()
    cfg = BinarizeConfig(method=method)
    assert np.array_equal(binarize(255 - img, method=cfg, polarity="light"), binarize(img, method=cfg, polarity="dark"))


def test_otsu_threshold_is_between_the_modes() -> None:
    img = np.array([[20] * 8 + [220] * 8], np.uint8)
    t = threshold_surface(img, method=BinarizeConfig(method="otsu"))
    assert t.shape == img.shape and 20 < float(t[0, 0]) <= 220


def test_sauvola_threshold_formula() -> None:
    # On a flat image std = 0, so T = m * (1 - k).
    img = np.full((9, 9), 100, np.uint8)
    t = threshold_surface(img, method=BinarizeConfig(method="sauvola", k=0.25))
    assert np.allclose(t, 75.0)


def test_niblack_and_adaptive_offsets() -> None:
    img = np.full((9, 9), 100, np.uint8)
    assert np.allclose(threshold_surface(img, method=BinarizeConfig(method="niblack", k=0.2)), 100.0)
    assert np.allclose(threshold_surface(img, method=BinarizeConfig(method="adaptive_mean", offset=7)), 93.0)
    assert np.allclose(threshold_surface(img, method=BinarizeConfig(method="adaptive_gaussian", offset=3)), 97.0)


def test_window_is_odd_and_at_least_three() -> None:
    assert window_pixels(4, 0.1) == 3
    assert all(window_pixels(h, f) % 2 == 1 for h in range(1, 80) for f in (0.2, 0.5, 1.0))


def test_config_rejects_unknown_method_and_keys() -> None:
    with pytest.raises(ValidationError):
        BinarizeConfig(method="magic")
    with pytest.raises(ValidationError):
        BinarizeConfig.model_validate({"method": "otsu", "radius": 3})


def test_threshold_surface_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="gray"):
        threshold_surface(np.zeros((4, 4, 3), np.uint8), method=BinarizeConfig())


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 50))), st.sampled_from(ALL))
def test_random_images_give_a_mask(img: np.ndarray, method: str) -> None:
    mask = binarize(img, method=BinarizeConfig(method=method))
    assert mask.shape == img.shape and mask.dtype == bool
