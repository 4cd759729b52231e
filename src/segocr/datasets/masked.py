"""Labels with hidden characters, and scoring them on what is visible.

UC3M-LP greys out two characters of every plate (anonymity): its labels carry
:data:`MASK_CHAR` at those positions (``074?C?V``). Nothing is ever trained on a guess
of a hidden character; a reading is scored on the visible positions only:

- plate correct (:func:`visible_correct`): the reading matches the label where every
  hidden position stands for one character *or none* (a reader may read the greyed-out
  patch as something, or drop it), every visible character exactly;
- errors (:func:`masked_distance`): the Levenshtein distance where substituting or
  deleting a hidden position costs nothing; the CER divides by the visible characters.

For a label without hidden characters both are the usual exact match and Levenshtein
distance, so one scorer serves every source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: Marks a character hidden in the image (never a plate character).
MASK_CHAR = "?"


def is_masked(text: str) -> bool:
    """Whether ``text`` has hidden characters.

    >>> is_masked("074?C?V"), is_masked("0740CAV")
    (True, False)
    """
    return MASK_CHAR in text


def visible_text(text: str) -> str:
    """The visible characters of a label, in order.

    >>> visible_text("074?C?V")
    '074CV'
    """
    return text.replace(MASK_CHAR, "")


@lru_cache(maxsize=8192)
def _pattern(truth: str) -> re.Pattern[str]:
    return re.compile("".join(".?" if c == MASK_CHAR else re.escape(c) for c in truth), re.DOTALL)


def visible_correct(truth: str, pred: str) -> bool:
    """Whether ``pred`` reads every visible character of ``truth`` in place; a hidden
    position matches one character or none.

    >>> visible_correct("074?C?V", "0743CAV"), visible_correct("074?C?V", "074CV")
    (True, True)
    >>> visible_correct("074?C?V", "0743CBX"), visible_correct("AB1", "AB1"), visible_correct("AB1", "AB")
    (False, True, False)
    """
    if not is_masked(truth):
        return truth == pred
    return _pattern(truth).fullmatch(pred) is not None


def masked_distance(truth: str, pred: str) -> int:
    """Levenshtein distance from ``truth`` to ``pred`` where a hidden position of
    ``truth`` may be substituted or deleted at no cost.

    >>> masked_distance("074?C?V", "0743CAV"), masked_distance("074?C?V", "074CV")
    (0, 0)
    >>> masked_distance("074?C?V", "O74CV"), masked_distance("ABC", "ABD"), masked_distance("AB", "XABX")
    (1, 1, 2)
    """
    if not is_masked(truth):
        from rapidfuzz.distance import Levenshtein

        return int(Levenshtein.distance(truth, pred))
    n, m = len(truth), len(pred)
    prev = list(range(m + 1))
    for i in range(1, n + 1):
        hidden = truth[i - 1] == MASK_CHAR
        cur = [prev[0] + (0 if hidden else 1)] + [0] * m
        for j in range(1, m + 1):
            sub = 0 if hidden or truth[i - 1] == pred[j - 1] else 1
            cur[j] = min(prev[j] + (0 if hidden else 1), cur[j - 1] + 1, prev[j - 1] + sub)
        prev = cur
    return prev[m]


def masked_cer(truths: Sequence[str], preds: Sequence[str]) -> float:
    """Pooled CER over the visible characters: sum of :func:`masked_distance` over the
    number of visible label characters (``nan`` when there are none).

    >>> masked_cer(["074?C?V", "AB"], ["0743CAV", "AC"])
    0.14285714285714285
    """
    total = sum(len(visible_text(t)) for t in truths)
    if total == 0:
        return math.nan
    return sum(masked_distance(t, p) for t, p in zip(truths, preds, strict=True)) / total


def visible_accuracy(truths: Sequence[str], preds: Sequence[str]) -> float:
    """Fraction of plates read right on their visible characters (``nan`` when empty).

    >>> visible_accuracy(["074?C?V", "AB"], ["0743CAV", "AC"])
    0.5
    """
    if not truths:
        return math.nan
    return float(np.mean([visible_correct(t, p) for t, p in zip(truths, preds, strict=True)]))
