"""Preprocessing ops on small hand-made arrays."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segocr.errors import ConfigError
from segocr.preprocess import (
    STEPS,
    ClaheStep,
    Pipeline,
    PipelineConfig,
    StepConfig,
    clahe,
    denoise,
    resize_to_height,
    to_gray,
    unsharp_mask,
)


def test_gray_weights_and_passthrough() -> None:
    rgb = np.array([[[255, 255, 255], [0, 0, 255]]], np.uint8)
    assert to_gray(rgb).tolist() == [[255, 29]]
    g = np.array([[1, 2]], np.uint8)
    out = to_gray(g)
    assert out.tolist() == [[1, 2]] and out is not g


def test_clahe_stretches_low_contrast_and_keeps_shape() -> None:
    img = np.tile(np.arange(120, 136, dtype=np.uint8), (16, 2))
    out = clahe(img, clip_limit=8.0, tile_grid=(2, 2))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.ptp(out) > 3 * np.ptp(img)
    rgb = np.stack([img] * 3, axis=2)
    assert clahe(rgb).shape == rgb.shape


def test_clahe_does_not_mutate() -> None:
    img = np.tile(np.arange(100, 132, dtype=np.uint8), (8, 1))
    before = img.copy()
    clahe(img)
    assert np.array_equal(img, before)


def test_unsharp_overshoots_at_an_edge_and_is_identity_on_flat() -> None:
    step = np.zeros((5, 10), np.uint8)
    step[:, 5:] = 100
    out = unsharp_mask(step, sigma=1.0, amount=2.0)
    assert out[2, 5] > 100 and out[2, 4] == 0  # bright side overshoots, dark side clips at 0
    flat = np.full((5, 5), 77, np.uint8)
    assert np.array_equal(unsharp_mask(flat, amount=3.0), flat)


def test_unsharp_threshold_suppresses_small_detail() -> None:
    img = np.full((9, 9), 100, np.uint8)
    img[4, 4] = 104  # detail of 4 levels
    assert np.array_equal(unsharp_mask(img, sigma=1.0, amount=1.0, threshold=10), img)
    assert not np.array_equal(unsharp_mask(img, sigma=1.0, amount=1.0, threshold=0), img)


@pytest.mark.parametrize("method", ["bilateral", "nlmeans", "median"])
def test_denoise_reduces_noise(method: str) -> None:
    rng = np.random.default_rng(0)
    img = np.clip(128 + rng.normal(0, 20, (24, 24)), 0, 255).astype(np.uint8)
    out = denoise(img, method=method, strength=10)
    assert out.shape == img.shape and out.std() < img.std()


def test_denoise_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown denoise method"):
        denoise(np.zeros((4, 4), np.uint8), method="magic")


def test_resize_to_height_keeps_aspect() -> None:
    assert resize_to_height(np.zeros((20, 50, 3), np.uint8), height=40).shape == (40, 100, 3)
    assert resize_to_height(np.zeros((20, 5000), np.uint8), height=40, max_width=300).shape == (40, 300)


def test_ops_reject_wrong_dtype() -> None:
    with pytest.raises(ValueError, match="uint8"):
        clahe(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="empty"):
        to_gray(np.zeros((0, 4), np.uint8))


def test_pipeline_config_validation() -> None:
    cfg = PipelineConfig.parse([{"op": "gray"}, {"op": "clahe", "clip_limit": 3}])
    assert isinstance(cfg.steps[1], ClaheStep) and cfg.steps[1].clip_limit == 3
    with pytest.raises(ConfigError, match="valid ops"):
        PipelineConfig.parse([{"op": "sharpen"}])
    with pytest.raises(ConfigError):
        PipelineConfig.parse([{"op": "clahe", "clip": 3}])  # unknown key
    with pytest.raises(ConfigError):
        PipelineConfig.parse([{"op": "clahe", "clip_limit": -1}])


def test_every_step_has_a_registered_op() -> None:
    step_classes = get_args(get_args(StepConfig)[0])
    ops = {cls.model_fields["op"].default for cls in step_classes}
    assert ops == set(STEPS)


def test_pipeline_order_matters_and_input_untouched() -> None:
    img = np.random.default_rng(1).integers(0, 255, (16, 40, 3), dtype=np.uint8)
    before = img.copy()
    a = Pipeline(PipelineConfig.parse([{"op": "gray"}, {"op": "resize", "height": 8}]))(img)
    assert a.shape == (8, 20) and np.array_equal(img, before)
    empty = Pipeline(PipelineConfig.parse([]))(img)
    assert np.array_equal(empty, img) and empty is not img


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 60), st.just(3))))
def test_default_pipeline_on_random_arrays(img: np.ndarray) -> None:
    out = Pipeline()(img)
    assert out.dtype == np.uint8 and out.shape == img.shape[:2]
