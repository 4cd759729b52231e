"""The faint-character augmentation of segcnn training crops (issue 13, H13c)."""

from __future__ import annotations

import numpy as np
import pytest

from segocr.training.augment import augment_crops, low_contrast_crop
from segocr.training.segcnn import SegCNNTrainConfig


def _char_crop() -> np.ndarray:
    """A standardized 32x32 crop: a dark bar on a light background (zero mean, unit std)."""
    x = np.ones((32, 32), np.float32)
    x[6:26, 12:20] = -1
    return ((x - x.mean()) / x.std()).astype(np.float32)


def test_low_contrast_crop_is_standardized_faint_and_noisy() -> None:
    x = _char_crop()
    clean = float(x[x < 0].mean() - x[x > 0].mean())  # ink minus background, < 0
    diffs = []
    for seed in range(20):
        y = low_contrast_crop(x, rng=np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        assert abs(float(y.mean())) < 1e-4
        # standardized with a floor of 8 grey levels: never more contrast than the clean crop
        assert float(y.std()) <= 1.0 + 1e-4
        diff = float(y[x < 0].mean() - y[x > 0].mean())
        assert clean * 1.05 <= diff < 0
        # sensor noise: the background is no longer flat (the clean one is)
        assert float(y[x > 0].std()) > 0.05
        diffs.append(diff)
    # contrast compressed to 5-20 % of ~2.7 units x 50 levels: below the 8-level floor for
    # most draws, so on average the ink stands out clearly less than in the clean crop
    assert float(np.mean(diffs)) > 0.85 * clean


def test_low_contrast_off_keeps_the_earlier_draws() -> None:
    crops = np.stack([_char_crop()] * 16)
    a = augment_crops(crops, rng=np.random.default_rng(3), photometric=True)
    b = augment_crops(crops, rng=np.random.default_rng(3), photometric=True, low_contrast=0.0)
    c = augment_crops(crops, rng=np.random.default_rng(3), photometric=True, low_contrast=1.0)
    assert np.array_equal(a, b)
    assert c.shape == a.shape and not np.allclose(a, c)


def test_low_contrast_option_is_validated() -> None:
    assert SegCNNTrainConfig().low_contrast == 0.0
    assert SegCNNTrainConfig(low_contrast=0.2).low_contrast == 0.2
    with pytest.raises(ValueError):
        SegCNNTrainConfig(low_contrast=1.5)
