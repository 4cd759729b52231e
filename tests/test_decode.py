"""CTC (greedy, beam, alignment) and slot decoding on hand-made logits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from segocr.recognizers.decode import (
    Decoded,
    _dominant_path,
    ctc_align,
    ctc_beam_decode,
    ctc_greedy_decode,
    ctc_labelling_logp,
    log_softmax,
    slot_decode,
    softmax,
)

BLANK = 3  # classes 0, 1, 2 = "A", "B", "C"; 3 = blank


def frames(*rows: tuple[float, ...]) -> np.ndarray:
    """Logits whose softmax is exactly the given probability rows."""
    return np.log(np.array(rows, dtype=np.float64))


def peaked(seq: list[int], n_classes: int = 4, p: float = 0.9) -> np.ndarray:
    """Logits with probability ``p`` on class ``seq[t]`` at frame ``t``."""
    probs = np.full((len(seq), n_classes), (1 - p) / (n_classes - 1))
    probs[np.arange(len(seq)), seq] = p
    return np.log(probs)


def test_greedy_merges_repeats_and_drops_blanks() -> None:
    d = ctc_greedy_decode(peaked([0, 0, BLANK, 0, 1, 1, BLANK, BLANK, 2]), blank=BLANK)
    assert d.indices == (0, 0, 1, 2)
    assert d.confidences == pytest.approx((0.9, 0.9, 0.9, 0.9))
    assert d.confidence == pytest.approx(0.9**4)


def test_greedy_confidence_is_the_best_frame_of_a_run() -> None:
    lg = frames((0.6, 0.1, 0.1, 0.2), (0.8, 0.1, 0.05, 0.05), (0.1, 0.1, 0.1, 0.7))
    d = ctc_greedy_decode(lg, blank=BLANK)
    assert d.indices == (0,)
    assert d.confidences == pytest.approx((0.8,))


def test_greedy_all_blank_is_empty_with_zero_confidence() -> None:
    d = ctc_greedy_decode(peaked([BLANK] * 5), blank=BLANK)
    assert d == Decoded((), ())
    assert d.confidence == 0.0


def test_blank_index_may_be_first_or_negative() -> None:
    lg = peaked([1, 0, 2, 2, 0, 3])  # with blank 0: "1", "2", "3"
    assert ctc_greedy_decode(lg, blank=0).indices == (1, 2, 3)
    assert ctc_greedy_decode(peaked([0, 3, 1]), blank=-1).indices == (0, 1)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (4, 1)])
def test_bad_logit_shapes_are_errors(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shape"):
        ctc_greedy_decode(np.zeros(shape))


def test_blank_outside_classes_is_an_error() -> None:
    with pytest.raises(ValueError, match="blank index 7"):
        ctc_greedy_decode(np.zeros((3, 4)), blank=7)


def test_beam_equals_greedy_on_confident_frames() -> None:
    lg = peaked([0, BLANK, 0, 1, 1, BLANK, 2, BLANK], p=0.95)
    g, b = ctc_greedy_decode(lg, blank=BLANK), ctc_beam_decode(lg, blank=BLANK)
    assert b.indices == g.indices == (0, 0, 1, 2)
    assert b.confidences == pytest.approx(g.confidences)


def test_beam_sums_alignments_where_greedy_cannot() -> None:
    lg = frames((0.36, 0.01, 0.01, 0.62), (0.36, 0.01, 0.01, 0.62))
    assert ctc_greedy_decode(lg, blank=BLANK).indices == ()
    d = ctc_beam_decode(lg, blank=BLANK)
    assert d.indices == (0,)
    assert d.confidences == pytest.approx((0.36,))


def _exhaustive_best(lg: np.ndarray, blank: int) -> tuple[int, ...]:
    """The label sequence with the largest total probability over all paths."""
    p = softmax(lg)
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(p.shape[1]), repeat=p.shape[0]):
        labels: list[int] = []
        prev = blank
        for k in path:
            if k != blank and k != prev:
                labels.append(k)
            prev = k
        totals[tuple(labels)] = totals.get(tuple(labels), 0.0) + float(np.prod(p[np.arange(len(path)), path]))
    return max(totals, key=lambda k: totals[k])


@pytest.mark.parametrize("seed", range(6))
def test_wide_beam_finds_the_most_probable_text(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lg = rng.normal(0, 1.5, size=(5, 3))  # 2 labels + blank, 243 paths
    assert ctc_beam_decode(lg, beam_width=64, blank=2, prune=0).indices == _exhaustive_best(lg, 2)


def _exhaustive_totals(lg: np.ndarray, blank: int) -> dict[tuple[int, ...], float]:
    p = softmax(lg)
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(p.shape[1]), repeat=p.shape[0]):
        labels = tuple(k for i, k in enumerate(path) if k != blank and (i == 0 or k != path[i - 1]))
        totals[labels] = totals.get(labels, 0.0) + float(np.prod(p[np.arange(len(path)), path]))
    return totals


@pytest.mark.parametrize("seed", range(6))
def test_labelling_logp_sums_every_alignment(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lg = rng.normal(0, 2.0, size=(5, 3))
    lg[rng.integers(5), 2] -= 30  # a frame where the blank is (almost) impossible
    for labels, total in _exhaustive_totals(lg, 2).items():
        assert ctc_labelling_logp(log_softmax(lg), labels, blank=2, prune=0) == pytest.approx(np.log(total), rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_dominant_path_shortcut_reads_as_the_search(seed: int) -> None:
    """A confident best path (P > 1/2) is read without the search: same text,
    confidences and posteriors; its logp sums all alignments, so it is at least the
    search's (whose beam may have dropped some)."""
    rng = np.random.default_rng(seed)
    seq = [int(k) for k in rng.choice([0, 1, 2, BLANK, BLANK], size=30)]
    seq[10:12] = [1, 1]  # a repeat merged
    seq[20:23] = [2, BLANK, 2]  # a repeat kept
    lg = peaked(seq, p=0.995) + rng.normal(0, 0.3, size=(30, 4))
    assert log_softmax(lg).max(axis=1).sum() > np.log(0.5)
    fast = ctc_beam_decode(lg, blank=BLANK)
    slow = ctc_beam_decode(lg, blank=BLANK, shortcut=False)
    assert fast.indices == slow.indices
    assert fast.confidences == slow.confidences
    assert fast.posteriors is not None and slow.posteriors is not None
    assert np.array_equal(fast.posteriors, slow.posteriors)
    exact = ctc_labelling_logp(log_softmax(lg), fast.indices, blank=BLANK, prune=0)
    assert fast.logp == pytest.approx(exact, abs=1e-9)  # no class here is below the pruning
    assert slow.logp <= fast.logp + 1e-12


@pytest.mark.parametrize("seed", range(8))
def test_shortcut_by_the_text_when_no_single_path_is_dominant(seed: int) -> None:
    """Each character's frames are shared between it and the blank, so no single
    path reaches 1/2 but the text does, summed over its alignments: the shortcut
    still reads what the search reads (text, confidences, posteriors)."""
    rng = np.random.default_rng(seed)
    labels = [int(k) for k in rng.choice([0, 1, 2], size=3)]
    rows: list[tuple[float, ...]] = []
    for k in labels:
        for _ in range(2):  # two frames of label k or blank, ~ 0.6 / 0.39
            p = np.full(4, 0.005)
            p[k], p[BLANK] = 0.6, 0.39
            rows.append(tuple(p))
        rows.append((0.002, 0.002, 0.002, 0.994))  # a separating blank
    lg = frames(*rows) + rng.normal(0, 0.02, size=(len(rows), 4))
    lp = log_softmax(lg)
    assert lp.max(axis=1).sum() < np.log(0.5)  # no dominant path
    fast = ctc_beam_decode(lg, blank=BLANK)
    slow = ctc_beam_decode(lg, blank=BLANK, shortcut=False)
    assert fast.indices == slow.indices == tuple(labels)
    assert fast.logp > np.log(0.5)  # the text is dominant
    assert _dominant_path(lp, BLANK, 1e-4) is not None  # so the shortcut serves it
    assert fast.confidences == slow.confidences
    assert fast.posteriors is not None and slow.posteriors is not None
    assert np.array_equal(fast.posteriors, slow.posteriors)
    assert slow.logp <= fast.logp + 1e-12


def test_no_shortcut_when_the_best_path_is_not_dominant() -> None:
    lg = frames((0.36, 0.01, 0.01, 0.62), (0.36, 0.01, 0.01, 0.62))  # best path 0.38: the search runs
    assert ctc_beam_decode(lg, blank=BLANK).indices == (0,)


def test_beam_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="beam_width"):
        ctc_beam_decode(np.zeros((3, 4)), beam_width=0)


def test_align_gives_each_label_ordered_frames() -> None:
    lg = peaked([0, 0, BLANK, 0, 1, BLANK, 2, 2])
    fr = ctc_align(lg, [0, 0, 1, 2], blank=BLANK)
    assert fr == [[0, 1], [3], [4], [6, 7]]
    assert ctc_align(lg, [], blank=BLANK) == []


def test_align_rejects_labels_that_cannot_fit() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        ctc_align(np.zeros((3, 4)), [0, 0, 1], blank=BLANK)  # needs 4 frames


def test_slot_decode_strips_pads() -> None:
    pad = 3
    lg = frames(
        (0.7, 0.1, 0.1, 0.1),
        (0.1, 0.8, 0.05, 0.05),
        (0.1, 0.1, 0.1, 0.7),
        (0.1, 0.1, 0.6, 0.2),
        (0.05, 0.05, 0.05, 0.85),
    )
    d = slot_decode(lg, pad=pad)
    assert d.indices == (0, 1, 2)
    assert d.confidences == pytest.approx((0.7, 0.8, 0.6))
    assert slot_decode(lg).indices == (0, 1, 2)  # pad defaults to the last class


def test_slot_decode_all_pads_is_empty() -> None:
    d = slot_decode(peaked([3, 3, 3]), pad=3)
    assert d.indices == () and d.confidence == 0.0


def test_softmax_and_log_softmax_agree_and_are_stable() -> None:
    x = np.array([[1000.0, 1000.0, -1000.0], [0.0, 1.0, 2.0]])
    p = softmax(x)
    assert np.allclose(p.sum(axis=1), 1) and np.isfinite(p).all()
    assert np.allclose(np.exp(log_softmax(x)), p)
