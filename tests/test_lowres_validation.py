"""The low-resolution options of the sequence trainings (CCPD's 94x24 LPRNet crops):
the line augmentation's shrink step and validation plates read shrunk. Seeded, offline."""

from __future__ import annotations

import numpy as np
import pytest

from segocr.charset import Charset
from segocr.datasets.base import PlateSample
from segocr.training.line_augment import AugmentConfig, augment_line
from segocr.training.sequence import CRNNTrainConfig, make_lines


def _bars(h: int = 96, w: int = 320) -> np.ndarray:
    line = np.full((h, w), 220, np.uint8)
    line[:, ::4] = 20  # fine detail that a small crop cannot hold
    return line


def test_lowres_off_draws_and_dumps_nothing_new() -> None:
    """With ``p_lowres`` 0 the augmentation is the one before the option existed (same
    random draws, same output) and the config dump has no new keys."""
    base = AugmentConfig()
    assert set(base.model_dump()) == set(AugmentConfig.model_fields) - {"p_lowres", "lowres_height", "lowres_aspect"}
    a = augment_line(_bars(), rng=np.random.default_rng(3), config=base, height=48, max_width=192)
    b = augment_line(_bars(), rng=np.random.default_rng(3), config=AugmentConfig(p_lowres=0.0, lowres_height=(8, 9)), height=48, max_width=192)
    assert np.array_equal(a, b)
    assert "val_resize" not in CRNNTrainConfig().model_dump(mode="json")
    on = CRNNTrainConfig.model_validate({"val_resize": [24, 94], "augment": {"p_lowres": 0.5}, "pretrain": {"style": "cn"}})
    dumped = on.model_dump(mode="json")
    assert dumped["val_resize"] == [24, 94] and dumped["augment"]["lowres_height"] == [16.0, 32.0]
    assert CRNNTrainConfig.model_validate(dumped) == on


def test_lowres_step_removes_fine_detail() -> None:
    still = AugmentConfig(p=1.0, shift=0, zoom=0, rotation_deg=0, shear=0, stretch=0, contrast=0, exposure=0, p_blur=0, p_noise=0)
    sharp = augment_line(_bars(), rng=np.random.default_rng(0), config=still, height=48, max_width=192)
    small = augment_line(
        _bars(), rng=np.random.default_rng(0), config=still.model_copy(update={"p_lowres": 1.0, "lowres_height": (12, 12), "lowres_aspect": 94 / 24}),
        height=48, max_width=192,
    )  # fmt: skip
    assert sharp.shape == small.shape == (48, 160)
    assert small.astype(float).std() < sharp.astype(float).std() / 3


def test_validation_lines_can_be_read_shrunk() -> None:
    img = np.zeros((46, 144, 3), np.uint8)
    img[:, ::3] = 255
    samples = [PlateSample(id="a", text="AB1", image=img)]
    keep = lambda n: True
    full, _ = make_lines(samples, Charset("AB12"), height=48, max_width=192, keep=keep)
    small, dropped = make_lines(samples, Charset("AB12"), height=48, max_width=192, keep=keep, resize=(24, 94))
    assert dropped == 0 and small.texts == ["AB1"]
    assert full.lines[0].shape == (48, 150) and small.lines[0].shape == (48, 188)  # 94x24 is 3.9:1
    assert small.lines[0].astype(float).std() < full.lines[0].astype(float).std()


@pytest.mark.parametrize("bad", [{"pretrain": {"style": "xx"}}, {"augment": {"lowres_aspect": 0}}])
def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CRNNTrainConfig.model_validate(bad)
