"""Plate-reading metrics: pure functions on parallel lists of strings and floats.

Every function takes ``truths`` (labels) and ``preds`` (readings) of equal length, or
per-plate ``confidences`` and ``correct`` flags, and returns plain numbers or frozen
dataclasses. An empty input gives ``nan`` (there is nothing to measure), never an error
or a warning. Edit distances come from :mod:`rapidfuzz`, bootstrap intervals and the
exact McNemar test from :mod:`scipy.stats` (imported when first used).

>>> character_error_rate(["ABC"], ["ABD"])
0.3333333333333333
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

#: Coverages of :func:`risk_coverage`: accept the most confident 10 %, 20 %, ..., 100 %.
DEFAULT_COVERAGES: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(1, 11))


def _check_pairs(truths: Sequence[str], preds: Sequence[str]) -> None:
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} labels but {len(preds)} predictions")


def _as_arrays(
    confidences: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    ok = np.asarray(correct, dtype=bool).reshape(-1)
    if conf.shape != ok.shape:
        raise ValueError(f"{conf.size} confidences but {ok.size} correctness flags")
    if conf.size and (np.isnan(conf).any() or conf.min() < 0.0 or conf.max() > 1.0 + 1e-9):
        raise ValueError("confidences must lie in [0, 1]")
    return np.clip(conf, 0.0, 1.0), ok


def plate_accuracy(truths: Sequence[str], preds: Sequence[str]) -> float:
    """Fraction of plates read exactly (every character, nothing extra).

    >>> plate_accuracy(["AB1", "CD2", "EF3", "GH4"], ["AB1", "CD2", "EF8", ""])
    0.5
    """
    _check_pairs(truths, preds)
    if not truths:
        return math.nan
    return sum(t == p for t, p in zip(truths, preds, strict=True)) / len(truths)


def character_error_rate(truths: Sequence[str], preds: Sequence[str]) -> float:
    """CER: total Levenshtein distance over total label characters (pooled over the
    corpus, so long labels weigh more). 0 means all exact; it can exceed 1 when the
    readings carry extra characters. ``nan`` when the labels hold no characters.

    >>> character_error_rate(["ABC", "12"], ["ABD", "12"])
    0.2
    >>> character_error_rate(["AB"], ["ABXYZ"])
    1.5
    """
    _check_pairs(truths, preds)
    total = sum(len(t) for t in truths)
    if total == 0:
        return math.nan
    return sum(Levenshtein.distance(t, p) for t, p in zip(truths, preds, strict=True)) / total


def matched_chars(truth: str, pred: str) -> int:
    """Characters of ``truth`` that the Levenshtein alignment of ``pred`` keeps unchanged:
    ``len(truth) - substitutions - deletions`` counted from rapidfuzz's ``editops``.
    Inserted characters cost nothing here (CER counts them). Where several alignments
    are optimal, rapidfuzz's choice is used (``AB`` vs ``BA`` matches one character).

    >>> matched_chars("ABC", "ABD"), matched_chars("ABC", "AC"), matched_chars("AB", "XABX")
    (2, 2, 2)
    """
    lost = sum(op.tag in ("replace", "delete") for op in Levenshtein.editops(truth, pred))
    return len(truth) - lost


def char_accuracy(truths: Sequence[str], preds: Sequence[str]) -> float:
    """Per-character accuracy, position-wise over the edit alignment: matched label
    characters (:func:`matched_chars`) over all label characters, pooled over the corpus.
    In [0, 1]; ``nan`` when the labels hold no characters.

    >>> char_accuracy(["ABC", "1234"], ["ABD", "1234"])
    0.8571428571428571
    """
    _check_pairs(truths, preds)
    total = sum(len(t) for t in truths)
    if total == 0:
        return math.nan
    return sum(matched_chars(t, p) for t, p in zip(truths, preds, strict=True)) / total


def bootstrap_ci(
    values: Sequence[float] | Sequence[bool] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval ``(low, high)`` of the mean of ``values`` (e.g. the
    per-plate correctness flags, giving the interval of plate accuracy), by
    :func:`scipy.stats.bootstrap`. Seeded, so the same input always gives the same
    interval. ``(nan, nan)`` for an empty input.

    >>> low, high = bootstrap_ci([True] * 80 + [False] * 20)
    >>> bool(0.7 < low < 0.8 < high < 0.9)
    True
    >>> bootstrap_ci([1, 1, 1])
    (1.0, 1.0)
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if x.size == 0:
        return (math.nan, math.nan)
    if x.size == 1:  # every resample is the one value (scipy wants two or more)
        return (float(x[0]), float(x[0]))
    from scipy.stats import bootstrap

    result = bootstrap(
        (x,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        vectorized=True,
        batch=max(1, 4_000_000 // x.size),  # bound memory: at most ~4M indices at once
        random_state=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return (float(low), float(high))


def expected_calibration_error(
    confidences: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, *, n_bins: int = 10
) -> float:
    """ECE of plate confidence against plate correctness: confidences fall into
    ``n_bins`` equal-width bins over [0, 1] (1.0 goes to the last); the result is the
    sample-weighted mean of ``|accuracy(bin) - mean confidence(bin)|``. 0 is perfectly
    calibrated. ``nan`` for an empty input.

    >>> expected_calibration_error([0.9, 0.9, 0.2, 0.2], [True, False, False, False])
    0.3
    """
    conf, ok = _as_arrays(confidences, correct)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if conf.size == 0:
        return math.nan
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        sel = bins == b
        ece += sel.sum() / conf.size * abs(ok[sel].mean() - conf[sel].mean())
    return round(float(ece), 12)


@dataclass(frozen=True)
class RiskCoveragePoint:
    """Accuracy when only the ``coverage`` most confident fraction of plates is
    accepted: ``n_accepted`` plates, whose lowest confidence is ``threshold``."""

    coverage: float
    n_accepted: int
    accuracy: float
    threshold: float


def risk_coverage(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    *,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
) -> list[RiskCoveragePoint]:
    """The risk-coverage table: for each coverage ``c``, accept the ``ceil(c * n)`` most
    confident plates (ties keep input order) and report their accuracy. Accuracy
    should fall as coverage grows if confidence means anything.

    >>> pts = risk_coverage([0.9, 0.8, 0.3, 0.1], [True, True, False, True], coverages=[0.5, 1.0])
    >>> [(p.coverage, p.n_accepted, p.accuracy, p.threshold) for p in pts]
    [(0.5, 2, 1.0, 0.8), (1.0, 4, 0.75, 0.1)]
    """
    conf, ok = _as_arrays(confidences, correct)
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    points = []
    for c in coverages:
        if not 0.0 < c <= 1.0:
            raise ValueError(f"coverages must lie in (0, 1], got {c}")
        k = min(conf.size, max(1, math.ceil(round(c * conf.size, 9)))) if conf.size else 0
        acc = float(ok[:k].mean()) if k else math.nan
        points.append(RiskCoveragePoint(float(c), k, acc, float(conf[k - 1]) if k else math.nan))
    return points


def confusion_pairs(truths: Sequence[str], preds: Sequence[str]) -> list[tuple[str, str, int]]:
    """Character substitutions ``(truth char, predicted char, count)`` from the
    Levenshtein alignment of each pair, most frequent first (ties by characters).
    Insertions and deletions are not confusions and are left out.

    >>> confusion_pairs(["B8O", "B80", "ABC"], ["880", "880", "ABC"])
    [('B', '8', 2), ('O', '0', 1)]
    """
    _check_pairs(truths, preds)
    counts: Counter[tuple[str, str]] = Counter()
    for t, p in zip(truths, preds, strict=True):
        for op in Levenshtein.editops(t, p):
            if op.tag == "replace":
                counts[(t[op.src_pos], p[op.dest_pos])] += 1
    return [(a, b, n) for (a, b), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


@dataclass(frozen=True)
class SegmentationAttribution:
    """Where a segmentation-based reader loses plates. Of ``n`` plates, ``correct`` were
    read exactly; ``wrong_count`` had a segment count different from the label length
    (segmentation lost them, whatever the classifier did); ``misread`` had the right
    count but a wrong reading (the character classifier lost them)."""

    n: int
    correct: int
    wrong_count: int
    misread: int

    @property
    def count_accuracy(self) -> float:
        """Fraction of plates whose segment count equals the label length."""
        return (self.n - self.wrong_count) / self.n if self.n else math.nan


def segmentation_attribution(
    truths: Sequence[str], preds: Sequence[str], n_segments: Sequence[int]
) -> SegmentationAttribution:
    """Split the plates into read correctly, lost to a wrong segment count and misread
    with the right count (see :class:`SegmentationAttribution`).

    >>> segmentation_attribution(["AB1", "AB2", "AB3"], ["AB1", "A2", "AB8"], [3, 2, 3])
    SegmentationAttribution(n=3, correct=1, wrong_count=1, misread=1)
    """
    _check_pairs(truths, preds)
    if len(n_segments) != len(truths):
        raise ValueError(f"{len(truths)} labels but {len(n_segments)} segment counts")
    correct = wrong_count = misread = 0
    for t, p, k in zip(truths, preds, n_segments, strict=True):
        if t == p:
            correct += 1
        elif k != len(t):
            wrong_count += 1
        else:
            misread += 1
    return SegmentationAttribution(len(truths), correct, wrong_count, misread)


def paired_bootstrap_ci(
    a: Sequence[float] | Sequence[bool] | np.ndarray,
    b: Sequence[float] | Sequence[bool] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval ``(low, high)`` of ``mean(b) - mean(a)`` for paired
    values (e.g. per-plate correctness of two systems on the same plates): every
    resample draws the same items for both, so what the two share cancels out.
    Seeded; ``(nan, nan)`` for empty input.

    >>> paired_bootstrap_ci([True, False, True], [True, False, True])
    (0.0, 0.0)
    >>> low, high = paired_bootstrap_ci([False] * 50 + [True] * 50, [True] * 100)
    >>> bool(0.39 < low < 0.5 < high < 0.61)
    True
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"paired values differ in number: {x.size} and {y.size}")
    return bootstrap_ci(y - x, confidence=confidence, n_resamples=n_resamples, seed=seed)


def discordant_pairs(
    a: Sequence[bool] | np.ndarray, b: Sequence[bool] | np.ndarray
) -> tuple[int, int]:
    """``(only_a, only_b)``: the items ``a`` gets right and ``b`` wrong, and the reverse.

    >>> discordant_pairs([True, True, False, False], [True, False, True, True])
    (1, 2)
    """
    x = np.asarray(a, dtype=bool).reshape(-1)
    y = np.asarray(b, dtype=bool).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"paired flags differ in number: {x.size} and {y.size}")
    return int((x & ~y).sum()), int((~x & y).sum())


def binomial_two_sided_p(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` fair coin flips
    (:func:`scipy.stats.binomtest`; for p = 1/2 it is ``min(1, 2 * P(X <= min(k, n - k)))``);
    1.0 when ``n`` is 0.

    >>> binomial_two_sided_p(0, 5)
    0.0625
    >>> binomial_two_sided_p(3, 6)
    1.0
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(min(1.0, binomtest(k, n, 0.5, alternative="two-sided").pvalue))


def mcnemar_exact(a: Sequence[bool] | np.ndarray, b: Sequence[bool] | np.ndarray) -> float:
    """Exact McNemar p-value for paired correctness flags: a two-sided binomial test
    on the discordant pairs (:func:`discordant_pairs`); agreements carry no evidence.
    1.0 when the two never disagree.

    >>> mcnemar_exact([True] * 10 + [False] * 5, [True] * 15)
    0.0625
    >>> mcnemar_exact([True, False], [True, False])
    1.0
    """
    only_a, only_b = discordant_pairs(a, b)
    return binomial_two_sided_p(only_a, only_a + only_b)
