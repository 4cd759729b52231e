"""Fuzzing with hypothesis: random arrays into preprocessing, segmentation and every
registered recognizer. Each must give a valid result or a clear error
(:class:`ValueError` or a :class:`segocr.errors.SegocrError`), never another
exception, a warning (they are errors here), or a hang (a watchdog alarm stops any
single call after a few seconds).

(Random *bytes* into :func:`segocr.io.read_image` are fuzzed in tests/test_io.py.)
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from untrained import untrained_recognizer

from segocr.api import load_recognizer
from segocr.errors import SegocrError
from segocr.preprocess import (
    Pipeline,
    PipelineConfig,
    clahe,
    denoise,
    resize_to_height,
    to_gray,
    unsharp_mask,
)
from segocr.recognizers.base import Prediction, Recognizer, recognizer_names
from segocr.segment import find_characters

#: Seconds any single call may take before it counts as a hang.
HANG_S = 8.0
CLEAR_ERRORS = (ValueError, SegocrError)
FUZZ = settings(
    deadline=None,  # the watchdog below bounds each call; the machine is shared
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # same examples every run: a failure here is reproducible
)

T = TypeVar("T")


class Hang(Exception):
    pass


@contextmanager
def watchdog(seconds: float = HANG_S) -> Iterator[None]:
    """Raise :class:`Hang` in this (main) thread if the block runs longer than ``seconds``."""

    def fire(signum: int, frame: object) -> None:
        raise Hang(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def clear_or(call: Callable[[], T]) -> T | None:
    """``call()``'s result, or None when it raised a clear error (which must say
    something); any other exception, a warning, or a hang fails the test."""
    with watchdog():
        try:
            return call()
        except CLEAR_ERRORS as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            return None


# ------------------------------------------------------------------- strategies

SIZES = st.tuples(st.integers(1, 48), st.integers(1, 160))


@st.composite
def images(
    draw: st.DrawFn, *, gray: bool | None = None, max_h: int = 48, max_w: int = 160
) -> np.ndarray:
    """uint8 gray (H, W) or RGB (H, W, 3) images with structure: noise, flat, stripes,
    blocks, gradients, salt and pepper, or a few hypothesis-chosen pixels."""
    h, w = draw(st.integers(1, max_h)), draw(st.integers(1, max_w))
    is_gray = draw(st.booleans()) if gray is None else gray
    shape = (h, w) if is_gray else (h, w, 3)
    kind = draw(
        st.sampled_from(["noise", "flat", "stripes", "blocks", "gradient", "salt", "sparse"])
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "noise":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "flat":
        return np.full(shape, draw(st.sampled_from([0, 1, 127, 254, 255])), np.uint8)
    if kind == "stripes":
        period = draw(st.integers(1, 12))
        cols = ((np.arange(w) // period) % 2 * 255).astype(np.uint8)
        out = np.broadcast_to(cols[None, :], (h, w)).copy()
        return out if is_gray else np.repeat(out[:, :, None], 3, axis=2)
    if kind == "blocks":
        cells = rng.integers(0, 2, (max(1, h // 6), max(1, w // 4))).astype(np.uint8) * 255
        out = np.kron(cells, np.ones((6, 4), np.uint8))[:h, :w]
        out = np.pad(out, ((0, h - out.shape[0]), (0, w - out.shape[1])), constant_values=200)
        return out if is_gray else np.repeat(out[:, :, None], 3, axis=2)
    if kind == "gradient":
        out = np.linspace(0, 255, h * w).reshape(h, w).astype(np.uint8)
        return out if is_gray else np.dstack([out, out[::-1], 255 - out])
    if kind == "salt":
        out = np.full(shape, 230, np.uint8)
        out[rng.random((h, w)) < 0.05] = 0
        return out
    base = np.full(shape, draw(st.integers(0, 255)), np.uint8)
    for _ in range(draw(st.integers(0, 8))):
        y, x = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        base[y, x] = draw(st.integers(0, 255))
    return base


#: Arrays that are not images the library accepts: other dtypes and shapes, empty.
not_images = st.one_of(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int16, np.uint16, np.bool_, np.int64]),
        shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3])).map(
            lambda s: s if s[2] == 3 else s[:2]
        ),
    ),
    hnp.arrays(
        dtype=np.uint8, shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6)
    ).filter(
        lambda a: (
            not (a.ndim == 2 and a.size > 0)
            and not (a.ndim == 3 and a.shape[2] == 3 and a.size > 0)
        )
    ),
    st.tuples(st.integers(0, 5), st.integers(0, 5))
    .filter(lambda s: 0 in s)
    .map(lambda s: np.zeros((*s, 3), np.uint8)),
)

step_configs = st.lists(
    st.one_of(
        st.fixed_dictionaries({"op": st.just("gray")}),
        st.fixed_dictionaries(
            {
                "op": st.just("clahe"),
                "clip_limit": st.floats(-1, 50, allow_nan=False),
                "tile_grid": st.tuples(st.integers(-2, 80), st.integers(-2, 80)),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("unsharp"),
                "sigma": st.floats(-1, 25, allow_nan=False),
                "amount": st.floats(-1, 12, allow_nan=False),
                "threshold": st.integers(-5, 300),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("denoise"),
                "method": st.sampled_from(["bilateral", "nlmeans", "median", "gaussian"]),
                "strength": st.floats(-1, 60, allow_nan=False),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("resize"),
                "height": st.integers(-1, 1100),
                "max_width": st.integers(-1, 5000),
            }
        ),
        st.fixed_dictionaries({"op": st.sampled_from(["sharpen", ""])}),
    ),
    max_size=4,
)


def _check_image(out: Any, *, like: np.ndarray, gray: bool | None = None) -> None:
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert out.ndim in (2, 3) and (out.ndim == 2 or out.shape[2] == 3)
    assert out.shape[0] >= 1 and out.shape[1] >= 1
    if gray is not None:
        assert (out.ndim == 2) == gray
    assert out is not like


# ---------------------------------------------------------------- preprocessing


@settings(FUZZ, max_examples=100)
@given(image=images())
def test_preprocess_ops_on_any_image(image: np.ndarray) -> None:
    before = image.copy()
    ops: list[tuple[Callable[[np.ndarray], np.ndarray], bool]] = [
        (to_gray, False),
        (lambda im: clahe(im, clip_limit=3.0, tile_grid=(8, 16)), True),
        (lambda im: unsharp_mask(im, sigma=2.0, amount=1.5, threshold=3), True),
        (lambda im: denoise(im, method="bilateral"), True),
        (lambda im: denoise(im, method="median", strength=4), True),
        (lambda im: resize_to_height(im, height=33, max_width=50), False),
        (Pipeline(), False),
    ]
    for op, keeps_shape in ops:
        with watchdog():
            out = op(image)
        _check_image(out, like=image)
        if keeps_shape:
            assert out.shape == image.shape
    np.testing.assert_array_equal(image, before)  # never mutated


@settings(FUZZ, max_examples=100)
@given(image=images(max_h=24, max_w=64), steps=step_configs)
def test_any_valid_pipeline_config_runs_on_any_image(
    image: np.ndarray, steps: list[dict[str, Any]]
) -> None:
    """A config either fails validation (a ConfigError naming the valid ops) or
    runs on every image."""
    try:
        cfg = PipelineConfig.parse(steps)
    except SegocrError as exc:
        assert "valid ops" in str(exc)
        return
    with watchdog():
        out = Pipeline(cfg)(image)
    _check_image(out, like=image)


@settings(FUZZ, max_examples=60)
@given(
    image=images(max_h=16, max_w=40),
    tile_grid=st.tuples(st.integers(-2, 70), st.integers(-2, 70)),
    clip=st.floats(allow_nan=True, allow_infinity=True),
    sigma=st.floats(-2, 30),
    amount=st.floats(allow_nan=True),
    strength=st.floats(-5, 80) | st.just(float("nan")),
    method=st.sampled_from(["bilateral", "nlmeans", "median", "box"]),
    height=st.integers(-2, 200),
    max_width=st.integers(-2, 300),
)
@example(np.full((3, 4), 9, np.uint8), (0, 0), 2.0, 1.0, 1.0, 3.0, "median", 8, 40)  # SIGFPE once
@example(np.full((3, 4), 9, np.uint8), (-1, 2), 2.0, 0.0, 1.0, -5.0, "median", 0, 0)
def test_preprocess_options_give_an_image_or_a_value_error(
    image: np.ndarray,
    tile_grid: tuple[int, int],
    clip: float,
    sigma: float,
    amount: float,
    strength: float,
    method: str,
    height: int,
    max_width: int,
) -> None:
    for call in (
        lambda: clahe(image, clip_limit=clip, tile_grid=tile_grid),
        lambda: unsharp_mask(image, sigma=sigma, amount=amount),
        lambda: denoise(image, method=method, strength=strength),
        lambda: resize_to_height(image, height=height, max_width=max_width),
    ):
        out = clear_or(call)
        if out is not None:
            _check_image(out, like=image)


@settings(FUZZ, max_examples=40)
@given(array=not_images)
def test_preprocess_refuses_non_images_clearly(array: np.ndarray) -> None:
    ops: list[Callable[[np.ndarray], np.ndarray]] = [
        to_gray, clahe, unsharp_mask, denoise, resize_to_height, Pipeline(),
    ]  # fmt: skip
    for op in ops:
        _expect_refusal(op, array)


def _expect_refusal(op: Callable[[np.ndarray], np.ndarray], array: np.ndarray) -> None:
    assert clear_or(lambda: op(array)) is None


# ----------------------------------------------------------------- segmentation


@settings(FUZZ, max_examples=150)
@given(image=images(max_h=80, max_w=320))
def test_find_characters_on_any_image(image: np.ndarray) -> None:
    before = image.copy()
    seg = clear_or(lambda: find_characters(image))
    assert seg is not None  # a uint8 gray or RGB image is always segmentable
    np.testing.assert_array_equal(image, before)
    hw, ww = seg.work.shape
    scores = [h.score for h in seg.hypotheses]
    assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)
    for hyp in seg.hypotheses:
        xs = [b.x for b in hyp.boxes]
        assert xs and xs == sorted(xs)  # left to right
        for b in hyp.boxes:
            assert b.w >= 1 and b.h >= 1 and b.x >= 0 and b.y >= 0 and b.x2 <= ww and b.y2 <= hw
    H, W = image.shape[:2]
    for b in seg.boxes:
        assert b.x >= 0 and b.y >= 0 and b.x2 <= W + 1 and b.y2 <= H + 1


@settings(FUZZ, max_examples=30)
@given(array=not_images)
def test_find_characters_refuses_non_images_clearly(array: np.ndarray) -> None:
    assert clear_or(lambda: find_characters(array)) is None


def test_textured_images_segment_quickly() -> None:
    """Thousands of character-sized blobs (stripes, grids) used to cost O(k^3) time
    and memory in the row fit: 20 s and 2 GB for one 72x864 grid."""
    stripes = np.full((72, 864), 230, np.uint8)
    stripes[10:60, ::2] = 20
    grid = np.full((72, 864), 230, np.uint8)
    for y in range(0, 72, 15):
        grid[y : y + 14, ::2] = 20
    for image in (stripes, grid, np.dstack([grid] * 3)):
        t0 = time.perf_counter()
        with watchdog(5.0):
            find_characters(image)
        assert time.perf_counter() - t0 < 2.0


# ------------------------------------------------------------------ recognizers


def _recognizer(name: str) -> Recognizer:
    """``name`` with its shipped weights, else (segcnn) an untrained network."""
    try:
        return load_recognizer(name, device="cpu")
    except (SegocrError, FileNotFoundError, NotImplementedError) as exc:
        if name == "segcnn":
            return untrained_recognizer()
        builders = _untrained_builders()
        if name in builders:
            return builders[name]()
        pytest.skip(f"{name}: no usable shipped weights ({exc}) and no untrained stand-in")


def _untrained_builders() -> dict[str, Callable[[], Recognizer]]:
    """Untrained stand-ins for the line recognizers, built from their default configs."""
    import torch

    from segocr.charset import LATIN, Charset

    out: dict[str, Callable[[], Recognizer]] = {}
    try:
        from segocr.models.crnn import CRNN
        from segocr.recognizers.crnn import CRNNConfig, CRNNRecognizer

        def crnn() -> Recognizer:
            torch.manual_seed(0)
            cfg = CRNNConfig()
            model = CRNN(num_classes=len(LATIN) + 1, input_height=cfg.line.height)
            return CRNNRecognizer(model, Charset(LATIN), cfg, device="cpu")

        out["crnn"] = crnn
    except ImportError:  # pragma: no cover - not written yet
        pass
    try:
        from segocr.models.holistic import HolisticCNN
        from segocr.recognizers.holistic import HolisticConfig, HolisticRecognizer

        def holistic() -> Recognizer:
            torch.manual_seed(0)
            cfg = HolisticConfig()
            model = HolisticCNN(
                num_classes=len(LATIN) + 1, slots=cfg.slots,
                input_height=cfg.line.height, input_width=cfg.line.width,
            )  # fmt: skip
            return HolisticRecognizer(model, Charset(LATIN), cfg, device="cpu")

        out["holistic"] = holistic
    except ImportError:  # pragma: no cover - not written yet
        pass
    return out


@pytest.fixture(scope="module", params=recognizer_names())
def recognizer(request: pytest.FixtureRequest) -> Iterator[Recognizer]:
    load_recognizer.cache_clear()
    yield _recognizer(request.param)
    load_recognizer.cache_clear()


def _check_prediction(pred: Any, recognizer: Recognizer, image: np.ndarray) -> None:
    assert isinstance(pred, Prediction)
    assert isinstance(pred.text, str)
    assert math.isfinite(pred.confidence) and 0.0 <= pred.confidence <= 1.0
    charset = getattr(recognizer, "charset", None)
    if charset is not None:
        assert all(c in charset for c in pred.text), pred.text
    if pred.chars:
        assert "".join(c.char for c in pred.chars) == pred.text
    H, W = image.shape[:2]
    for c in pred.chars:
        assert math.isfinite(c.confidence) and 0.0 <= c.confidence <= 1.0
        if c.box is not None:
            b = c.box
            assert (
                b.w >= 1 and b.h >= 1 and b.x >= 0 and b.y >= 0 and b.x2 <= W + 1 and b.y2 <= H + 1
            )
    pred.to_dict()  # JSON-ready


@settings(
    FUZZ,
    max_examples=20,
    suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(images(gray=False, max_h=80, max_w=320), min_size=1, max_size=2))
def test_recognizer_predicts_any_image(recognizer: Recognizer, batch: list[np.ndarray]) -> None:
    before = [im.copy() for im in batch]
    preds = clear_or(lambda: recognizer.predict(batch))
    assert preds is not None, "uint8 RGB images must be read, not refused"
    assert isinstance(preds, list) and len(preds) == len(batch)
    for pred, image in zip(preds, batch, strict=True):
        _check_prediction(pred, recognizer, image)
    for im, b in zip(batch, before, strict=True):
        np.testing.assert_array_equal(im, b)


@settings(
    FUZZ,
    max_examples=10,
    suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture],
)
@given(array=st.one_of(not_images, images(gray=True)))
def test_recognizer_refuses_or_reads_odd_arrays(recognizer: Recognizer, array: np.ndarray) -> None:
    """Not the documented input (uint8 RGB): a clear error, or a valid reading."""
    preds = clear_or(lambda: recognizer.predict([array]))
    if preds is not None:
        assert len(preds) == 1
        _check_prediction(preds[0], recognizer, array if array.ndim >= 2 else array.reshape(1, -1))


def test_recognizer_on_an_empty_batch(recognizer: Recognizer) -> None:
    assert clear_or(lambda: recognizer.predict([])) in ([], None)
