"""Metrics against hand-computed cases and their invariants (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segocr.evaluation.metrics import (
    DEFAULT_COVERAGES,
    SegmentationAttribution,
    bootstrap_ci,
    char_accuracy,
    character_error_rate,
    confusion_pairs,
    expected_calibration_error,
    matched_chars,
    plate_accuracy,
    risk_coverage,
    segmentation_attribution,
)

PLATE = st.text(alphabet="0123456789ABCDEFGHJK", min_size=0, max_size=9)
NONEMPTY = st.text(alphabet="0123456789ABCDEFGHJK", min_size=1, max_size=9)


# ----------------------------------------------------------------------- hand cases


def test_cer_hand_cases() -> None:
    assert character_error_rate(["ABC"], ["ABD"]) == pytest.approx(1 / 3)
    assert character_error_rate(["ABC"], ["ABC"]) == 0.0
    assert character_error_rate(["ABC"], [""]) == 1.0
    assert character_error_rate(["ABC"], ["AC"]) == pytest.approx(1 / 3)
    assert character_error_rate(["AB"], ["ABCD"]) == 1.0
    # pooled: (1 + 0) / (3 + 5)
    assert character_error_rate(["ABC", "12345"], ["ABX", "12345"]) == pytest.approx(1 / 8)


def test_plate_accuracy_hand_cases() -> None:
    assert plate_accuracy(["A", "B", "C", "D"], ["A", "B", "C", "X"]) == 0.75
    assert plate_accuracy(["AB"], ["ab"]) == 0.0
    assert math.isnan(plate_accuracy([], []))


def test_char_accuracy_hand_cases() -> None:
    assert char_accuracy(["ABC"], ["ABD"]) == pytest.approx(2 / 3)  # one substitution
    assert char_accuracy(["ABC"], ["AC"]) == pytest.approx(2 / 3)  # one deletion
    assert char_accuracy(["ABC"], ["ABCX"]) == 1.0  # insertions are CER's business
    assert char_accuracy(["ABC"], [""]) == 0.0
    assert char_accuracy(["ABC", "1"], ["ABC", "2"]) == pytest.approx(3 / 4)
    assert matched_chars("1AB234", "1A8234") == 5


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        character_error_rate(["A", "B"], ["A"])


def test_empty_labels_give_nan() -> None:
    assert math.isnan(character_error_rate([], []))
    assert math.isnan(char_accuracy([""], ["A"]))
    assert math.isnan(expected_calibration_error([], []))
    assert bootstrap_ci([]) == (pytest.approx(math.nan, nan_ok=True), pytest.approx(math.nan, nan_ok=True))


def test_bootstrap_is_seeded_and_sensible() -> None:
    flags = [True] * 70 + [False] * 30
    assert bootstrap_ci(flags, seed=3) == bootstrap_ci(flags, seed=3)
    low, high = bootstrap_ci(flags)
    # normal approximation: 0.7 +- 1.96 * sqrt(0.21 / 100) = 0.7 +- 0.0898
    assert low == pytest.approx(0.61, abs=0.03)
    assert high == pytest.approx(0.79, abs=0.03)
    assert bootstrap_ci([False] * 5) == (0.0, 0.0)


def test_ece_hand_cases() -> None:
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([1.0, 0.0], [False, True]) == 1.0
    # bins 0.9 (acc 1/2, conf 0.9) and 0.3 (acc 1, conf 0.3), half the plates each
    assert expected_calibration_error([0.9, 0.9, 0.3, 0.3], [True, False, True, True]) == pytest.approx(
        0.5 * 0.4 + 0.5 * 0.7
    )
    with pytest.raises(ValueError, match="confidences"):
        expected_calibration_error([1.5], [True])


def test_risk_coverage_hand_case() -> None:
    conf = [0.1 * k for k in range(10)]  # 0.0 .. 0.9
    correct = [k >= 5 for k in range(10)]  # the 5 most confident are right
    pts = risk_coverage(conf, correct)
    assert [p.coverage for p in pts] == list(DEFAULT_COVERAGES)
    assert [p.n_accepted for p in pts] == list(range(1, 11))
    assert [p.accuracy for p in pts[:5]] == [1.0] * 5
    assert pts[-1].accuracy == 0.5
    assert pts[0].threshold == pytest.approx(0.9)


def test_risk_coverage_small_and_empty() -> None:
    pts = risk_coverage([0.5], [True], coverages=[0.1, 1.0])
    assert [p.n_accepted for p in pts] == [1, 1]
    empty = risk_coverage([], [], coverages=[0.5])
    assert empty[0].n_accepted == 0 and math.isnan(empty[0].accuracy)


def test_confusion_pairs_counts_substitutions_only() -> None:
    pairs = confusion_pairs(["8B0", "B0", "ABC", "XY"], ["BB0", "80", "ABC", "X"])
    assert pairs == [("8", "B", 1), ("B", "8", 1)]
    assert confusion_pairs(["O0O"], ["000"]) == [("O", "0", 2)]


def test_segmentation_attribution() -> None:
    a = segmentation_attribution(["ABC", "ABC", "ABC", "ABC"], ["ABC", "AB", "ABX", "ABCD"], [3, 2, 3, 4])
    assert a == SegmentationAttribution(n=4, correct=1, wrong_count=2, misread=1)
    assert a.count_accuracy == 0.5


# ----------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NONEMPTY, PLATE), min_size=1, max_size=8))
def test_cer_bounds(pairs: list[tuple[str, str]]) -> None:
    truths, preds = [t for t, _ in pairs], [p for _, p in pairs]
    cer = character_error_rate(truths, preds)
    assert cer >= 0
    assert (cer == 0) == (truths == preds)
    bound = sum(max(len(t), len(p)) for t, p in pairs) / sum(len(t) for t in truths)
    assert cer <= bound + 1e-12


@settings(max_examples=200, deadline=None)
@given(NONEMPTY, PLATE)
def test_single_pair_cer_bound(truth: str, pred: str) -> None:
    cer = character_error_rate([truth], [pred])
    assert (cer == 0) == (truth == pred)
    assert 0 <= cer <= max(len(truth), len(pred)) / len(truth)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NONEMPTY, PLATE), min_size=1, max_size=8))
def test_accuracies_in_unit_interval(pairs: list[tuple[str, str]]) -> None:
    truths, preds = [t for t, _ in pairs], [p for _, p in pairs]
    acc, cacc = plate_accuracy(truths, preds), char_accuracy(truths, preds)
    assert 0.0 <= acc <= 1.0
    assert 0.0 <= cacc <= 1.0
    if acc == 1.0:
        assert cacc == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 2**16))
def test_bootstrap_contains_point_estimate(flags: list[bool], seed: int) -> None:
    p = sum(flags) / len(flags)
    low, high = bootstrap_ci(flags, n_resamples=500, seed=seed)
    assert 0.0 <= low <= p <= high <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=40))
def test_ece_and_risk_coverage_ranges(rows: list[tuple[float, bool]]) -> None:
    conf, ok = [c for c, _ in rows], [b for _, b in rows]
    assert 0.0 <= expected_calibration_error(conf, ok) <= 1.0
    pts = risk_coverage(conf, ok)
    assert pts[-1].n_accepted == len(rows)
    assert pts[-1].accuracy == pytest.approx(sum(ok) / len(ok))
    assert all(0 <= p.accuracy <= 1 for p in pts)
    assert [p.n_accepted for p in pts] == sorted(p.n_accepted for p in pts)
