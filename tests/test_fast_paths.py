"""The speed work's fast paths give exactly what the straightforward code gave:
the CTC prefix beam search and Viterbi alignment (plain-float loops, a shortcut for
blank-only frames) against a NumPy reference (the previous implementation)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from untrained import untrained_model

from segocr.api import load_recognizer
from segocr.charset import LATIN, Charset
from segocr.datasets.base import load_dataset
from segocr.recognizers.decode import ctc_align, ctc_beam_decode, log_softmax
from segocr.recognizers.segcnn import (
    OVERLAP_MIN,
    SegCNNConfig,
    SegCNNRecognizer,
    crop_char,
    crop_chars,
)
from segocr.segment.boxes import CharBox
from segocr.segment.search import SearchConfig


def _ref_align(logits: np.ndarray, labels: list[int], blank: int) -> list[list[int]]:
    """The previous NumPy Viterbi (one argmax over stay/step/jump per frame)."""
    lp = log_softmax(logits)
    T = lp.shape[0]
    ext = [blank]
    for k in labels:
        ext += [k, blank]
    S = len(ext)
    ext_a = np.array(ext)
    skip = np.zeros(S, bool)
    skip[3::2] = ext_a[3::2] != ext_a[1:-2:2]
    neg = -np.inf
    score = np.full(S, neg)
    score[0], score[1] = lp[0, ext[0]], lp[0, ext[1]]
    back = np.zeros((T, S), np.int64)
    for t in range(1, T):
        step = np.concatenate(([neg], score[:-1]))
        jump = np.where(skip, np.concatenate(([neg, neg], score[:-2])), neg)
        cand = np.stack([score, step, jump])
        arg = cand.argmax(axis=0)
        score = cand[arg, np.arange(S)] + lp[t, ext_a]
        back[t] = np.arange(S) - arg
    s = S - 1 if score[S - 1] >= score[S - 2] else S - 2
    path = [s]
    for t in range(T - 1, 0, -1):
        s = int(back[t, s])
        path.append(s)
    path.reverse()
    frames: list[list[int]] = [[] for _ in labels]
    for t, s in enumerate(path):
        if s % 2 == 1:
            frames[s // 2].append(t)
    return frames


def _ref_beam(logits: np.ndarray, beam_width: int, blank: int, prune: float = 1e-4) -> list[tuple[tuple[int, ...], float]]:
    """The previous prefix beam search (NumPy scalars, every frame ranked): final
    beams as (prefix, log probability), best first."""
    lp = log_softmax(logits)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}

    def add(d: dict, prefix: tuple[int, ...], pb: float, pnb: float) -> None:
        cur = d.setdefault(prefix, [-np.inf, -np.inf])
        cur[0] = float(np.logaddexp(cur[0], pb))
        cur[1] = float(np.logaddexp(cur[1], pnb))

    for row in lp:
        cands = [int(k) for k in np.nonzero(row >= np.log(prune))[0]]
        if blank not in cands:
            cands.append(blank)
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = float(np.logaddexp(pb, pnb))
            for k in cands:
                p = float(row[k])
                if k == blank:
                    add(nxt, prefix, total + p, -np.inf)
                    continue
                if prefix and prefix[-1] == k:
                    add(nxt, prefix, -np.inf, pnb + p)
                    add(nxt, (*prefix, k), -np.inf, pb + p)
                else:
                    add(nxt, (*prefix, k), -np.inf, total + p)
        ranked = sorted(nxt.items(), key=lambda kv: float(np.logaddexp(*kv[1])), reverse=True)
        beams = {k: (v[0], v[1]) for k, v in ranked[:beam_width]}
    return sorted(((p, float(np.logaddexp(*v))) for p, v in beams.items()), key=lambda kv: kv[1], reverse=True)


def _peaky(rng: np.random.Generator, T: int, C: int) -> np.ndarray:
    """CTC-like logits: mostly confident blank frames, a few character frames, some
    ambiguous ones (so every branch of the search runs)."""
    x = rng.normal(size=(T, C))
    x[:, -1] += 9.0
    for t in rng.choice(T, size=T // 4, replace=False):
        x[t, rng.integers(C - 1)] += 12.0 + rng.normal() * 3
    return x


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("beam_width", [1, 4, 8])
def test_beam_search_equals_reference(seed: int, beam_width: int) -> None:
    rng = np.random.default_rng(seed)
    for x in (_peaky(rng, 40, 7), rng.normal(size=(30, 5)) * (1 + seed)):
        blank = x.shape[1] - 1
        ref = _ref_beam(x, beam_width, blank)
        d = ctc_beam_decode(x, beam_width=beam_width, blank=blank, topn=3)
        want = ref[0][0]
        assert d.indices == want
        assert d.logp == ref[0][1]  # to the bit
        assert [a for a, _ in d.alternatives] == [p for p, _ in ref[:3]]
        if want:
            assert ctc_align(x, list(want), blank=blank) == _ref_align(x, list(want), blank)


@pytest.mark.parametrize("seed", range(5))
def test_align_equals_reference_with_repeats(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    x = rng.normal(size=(25, 4)) * 3
    labels = [int(k) for k in rng.integers(0, 3, size=6)]
    if len(labels) + sum(a == b for a, b in pairwise(labels)) <= 25:
        assert ctc_align(x, labels, blank=3) == _ref_align(x, labels, 3)


def test_crop_chars_equals_crop_char_one_by_one() -> None:
    """The stacked crops are :func:`crop_char`'s to the bit, boxes outside the image
    and light ink included."""
    rng = np.random.default_rng(7)
    img = (rng.random((72, 300)) * 255).astype(np.uint8)
    img[20:50, 40:60] //= 4
    n = 300
    xs, ys = rng.integers(-10, 300, n), rng.integers(-5, 60, n)
    ws, hs, inv = rng.integers(1, 60, n), rng.integers(1, 70, n), rng.integers(0, 2, n)
    items = [(img, CharBox(int(x), int(y), int(w), int(h)), bool(v)) for x, y, w, h, v in zip(xs, ys, ws, hs, inv)]
    for size in (24, 32):
        got = crop_chars(items, size=size, margin=0.08)
        want = np.stack([crop_char(im, b, size=size, margin=0.08, invert=v) for im, b, v in items])
        assert got.dtype == np.float32 and np.array_equal(got, want)
    assert crop_chars([]).shape == (0, 32, 32)


def _same(a: list, b: list) -> None:
    assert [(p.text, p.confidence, [c.box for c in p.chars]) for p in a] == [
        (p.text, p.confidence, [c.box for c in p.chars]) for p in b
    ]


def test_segcnn_overlapped_batch_reads_as_one_thread() -> None:
    """The batch read in two overlapped halves (the classifier in a worker thread)
    gives the predictions of the one-thread reading, with the shipped weights and
    their search, and with an untrained network searching every plate."""
    images = [s.load() for s in load_dataset("synthetic", n_train=1, n_test=2 * OVERLAP_MIN + 1, seed=11).samples("test")]
    shipped = load_recognizer("segcnn-iwt4s", device="cpu", runtime="onnx")
    searching = SegCNNRecognizer(
        untrained_model(1), Charset(LATIN), SegCNNConfig(cascade_confidence=None, search=SearchConfig()), device="cpu"
    )
    for rec in (shipped, searching):
        rec.overlap = False
        alone = rec.predict(images)
        rec.overlap = True
        _same(rec.predict(images), alone)
        _same(rec.predict(images[:3]), alone[:3])  # too few to split


def _ref_extra_components(mask: np.ndarray, boxes: list, row: object, config: SearchConfig) -> list:
    """The previous per-component loop of :func:`segocr.segment.search.extra_components`."""
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    out = []
    for x, y, w, h, _ in stats[1:n]:
        cx = x + w / 2.0
        hc, base = row.height(cx), row.baseline(cx)  # type: ignore[attr-defined]
        tol = config.max_baseline_offset * hc
        if h < config.extra_min_height * hc or y + h > base + tol or y < base - hc - tol:
            continue
        if any(min(b.x2, x + w) - max(b.x, x) > 0.5 * min(w, b.w) for b in boxes):
            continue
        out.append(CharBox(int(x), int(y), int(w), int(h)))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_extra_components_equals_reference(seed: int) -> None:
    from segocr.segment.search import Row, extra_components

    rng = np.random.default_rng(seed)
    mask = rng.random((40, 160)) < 0.03
    for _ in range(12):
        x, y = int(rng.integers(0, 150)), int(rng.integers(0, 30))
        mask[y : y + int(rng.integers(3, 22)), x : x + int(rng.integers(1, 9))] = True
    boxes = [CharBox(int(x), 8, int(rng.integers(3, 12)), 22) for x in sorted(rng.choice(150, size=int(rng.integers(0, 6)), replace=False))]
    row = Row(float(rng.normal() * 0.05), 30.0 + float(rng.normal()), 20.0, float(rng.normal() * 0.02), 80.0)
    cfg = SearchConfig()
    assert extra_components(mask, boxes, row, cfg) == _ref_extra_components(mask, boxes, row, cfg)


def test_small_median_and_ink_fill_equal_numpy() -> None:
    import cv2

    from segocr.segment.characters import _ink_fill, small_median

    rng = np.random.default_rng(3)
    for n in range(1, 12):
        for v in (rng.normal(size=n) * 50, rng.integers(0, 90, size=n), rng.integers(0, 9, size=n).astype(np.float64)):
            assert small_median(v) == float(np.median(v))
            assert small_median(v.tolist()) == float(np.median(v))
    mask = rng.random((50, 120)) < 0.4
    ii = cv2.integral(mask.astype(np.uint8))
    for _ in range(200):
        b = CharBox(int(rng.integers(0, 110)), int(rng.integers(0, 45)), int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        assert _ink_fill(ii, b) == float(mask[b.y : b.y2, b.x : b.x2].mean())


def test_line_fit_agrees_with_polyfit() -> None:
    from segocr.segment.characters import line_fit

    rng = np.random.default_rng(5)
    for n in range(2, 15):
        x = rng.uniform(0, 300, n)
        y = 0.1 * x + rng.normal(size=n) * 3 + 40
        a, b = line_fit(x, y)
        a0, b0 = np.polyfit(x, y, 1)
        assert abs(a - a0) <= 1e-9 and abs(b - b0) <= 1e-7


@pytest.mark.parametrize("shape", [(72, 216), (30, 90), (600, 500)])
def test_component_stats_equal_32_bit_labels(shape: tuple[int, int]) -> None:
    import cv2

    from segocr.segment.characters import component_stats

    rng = np.random.default_rng(shape[0])
    for density in (0.02, 0.3, 0.6):
        mask = rng.random(shape) < density
        n0, _, st0, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        n, st = component_stats(mask)
        assert n == n0 and np.array_equal(st, st0)
