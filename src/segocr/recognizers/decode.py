"""Decoders: pure functions from one sample's logits to class indices with
per-character confidences. No model needed; tested on hand-made logits.

- CTC (:mod:`segocr.models.crnn`): logits (T, C) over the charset plus a blank;
  :func:`ctc_greedy_decode` takes the best class per frame, merges repeats and drops
  blanks; :func:`ctc_beam_decode` runs a prefix beam search (summing over every
  alignment of a prefix) and explains its best text with :func:`ctc_align`.
- Slots (:mod:`segocr.models.holistic`): logits (K, C) with a pad class;
  :func:`slot_decode` takes the best class per slot and strips the pads.

``blank`` / ``pad`` is a class index; negative values count from the end (the models
here put it last, ``-1``). A character's confidence is a softmax probability in
[0, 1]; :attr:`Decoded.confidence` is their product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class Decoded:
    """A decoded sequence: class ``indices`` (charset indices, blank/pad removed) and
    one confidence per index."""

    indices: tuple[int, ...]
    confidences: tuple[float, ...]

    @property
    def confidence(self) -> float:
        """Product of the character confidences; 0 for an empty sequence.

        >>> Decoded((1, 2), (0.5, 0.5)).confidence, Decoded((), ()).confidence
        (0.25, 0.0)
        """
        return float(np.prod(self.confidences)) if self.indices else 0.0


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of float ``logits`` along ``axis`` (float64, same shape).

    >>> softmax(np.array([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    x = np.asarray(logits, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    out: np.ndarray = e / e.sum(axis=axis, keepdims=True)
    return out


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """log of :func:`softmax`, computed stably (float64, same shape).

    >>> np.exp(log_softmax(np.array([1.0, 1.0]))).tolist()
    [0.5, 0.5]
    """
    x = np.asarray(logits, dtype=np.float64)
    m = x.max(axis=axis, keepdims=True)
    out: np.ndarray = x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return out


def _check(logits: np.ndarray, special: int, what: str) -> tuple[np.ndarray, int]:
    x = np.asarray(logits)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"expected logits of shape (T, C) with C >= 2, got {x.shape}")
    c = x.shape[1]
    if not -c <= special < c:
        raise ValueError(f"{what} index {special} is outside the {c} classes")
    return x, special % c


def ctc_greedy_decode(logits: np.ndarray, *, blank: int = -1) -> Decoded:
    """Best path decoding of CTC ``logits`` (T, C): the most likely class per frame,
    repeats merged, blanks dropped. A character's confidence is the highest
    probability among the frames of its run.

    >>> B = -1  # the blank is the last class (index 2 of 3)
    >>> lg = np.log(np.array([[.9, .05, .05], [.8, .1, .1], [.1, .1, .8], [.1, .7, .2], [.6, .2, .2]]))
    >>> d = ctc_greedy_decode(lg, blank=B)
    >>> d.indices, [round(c, 2) for c in d.confidences]
    ((0, 1, 0), [0.9, 0.7, 0.6])
    """
    x, blank = _check(logits, blank, "blank")
    probs = softmax(x)
    best = probs.argmax(axis=1)
    indices: list[int] = []
    confs: list[float] = []
    prev = blank
    for t, k in enumerate(best.tolist()):
        p = float(probs[t, k])
        if k != blank:
            if k == prev:
                confs[-1] = max(confs[-1], p)
            else:
                indices.append(k)
                confs.append(p)
        prev = k
    return Decoded(tuple(indices), tuple(confs))


def ctc_align(logits: np.ndarray, labels: tuple[int, ...] | list[int], *, blank: int = -1) -> list[list[int]]:
    """The most likely CTC alignment (Viterbi) of ``labels`` to ``logits`` (T, C): for
    each label, the frames it occupies (at least one each). Raises ``ValueError`` when
    the labels cannot fit in T frames.

    >>> lg = np.log(np.array([[.8, .1, .1], [.1, .1, .8], [.7, .2, .1], [.1, .8, .1]]))
    >>> ctc_align(lg, [0, 1], blank=2)  # frame 2 goes to B (0.2) rather than blank (0.1)
    [[0], [2, 3]]
    >>> ctc_align(lg, [0, 0], blank=2)  # a repeat needs a blank between
    [[0], [2]]
    """
    x, blank = _check(logits, blank, "blank")
    lab = [int(k) for k in labels]
    T = x.shape[0]
    if not lab:
        return []
    repeats = sum(1 for a, b in pairwise(lab) if a == b)
    if len(lab) + repeats > T:
        raise ValueError(f"{len(lab)} labels ({repeats} repeats) do not fit in {T} frames")
    lp = log_softmax(x)
    ext = [blank]
    for k in lab:
        ext += [k, blank]
    S = len(ext)
    ext_a = np.array(ext)
    # A state s may be entered from s-2 when it is a label differing from label s-2.
    skip = np.zeros(S, bool)
    skip[3::2] = ext_a[3::2] != ext_a[1:-2:2]
    neg = -np.inf
    score = np.full(S, neg)
    score[0] = lp[0, ext[0]]
    score[1] = lp[0, ext[1]]
    back = np.zeros((T, S), np.int64)
    for t in range(1, T):
        stay = score
        step = np.concatenate(([neg], score[:-1]))
        jump = np.where(skip, np.concatenate(([neg, neg], score[:-2])), neg)
        cand = np.stack([stay, step, jump])
        arg = cand.argmax(axis=0)
        score = cand[arg, np.arange(S)] + lp[t, ext_a]
        back[t] = np.arange(S) - arg
    s = S - 1 if score[S - 1] >= score[S - 2] else S - 2
    path = [s]
    for t in range(T - 1, 0, -1):
        s = int(back[t, s])
        path.append(s)
    path.reverse()
    frames: list[list[int]] = [[] for _ in lab]
    for t, s in enumerate(path):
        if s % 2 == 1:
            frames[s // 2].append(t)
    return frames


def _add(beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], pb: float, pnb: float) -> None:
    """Add log probabilities (ending in blank, ending in a label) to ``prefix``."""
    cur = beams.setdefault(prefix, [-np.inf, -np.inf])
    cur[0] = float(np.logaddexp(cur[0], pb))
    cur[1] = float(np.logaddexp(cur[1], pnb))


def _total(p: Sequence[float]) -> float:
    """log(P(ends in blank) + P(ends in a label)) of a prefix."""
    return float(np.logaddexp(p[0], p[1]))


def ctc_beam_decode(logits: np.ndarray, *, beam_width: int = 8, blank: int = -1, prune: float = 1e-4) -> Decoded:
    """CTC prefix beam search over ``logits`` (T, C): keeps the ``beam_width`` most
    likely prefixes, each scored by the sum over all its alignments; classes below
    probability ``prune`` in a frame are not extended. The best text's character
    confidences are, as in greedy decoding, the highest frame probability of each
    character in its most likely alignment (:func:`ctc_align`).

    Summing alignments can beat the best path: below, the best path is two blanks
    (the empty text, 0.63 ** 2 = 0.40), but "A" has three alignments worth 0.58 together.

    >>> p = np.array([[0.36, 0.01, 0.63], [0.36, 0.01, 0.63]])  # classes A, B, blank
    >>> ctc_greedy_decode(np.log(p)).indices, ctc_beam_decode(np.log(p)).indices
    ((), (0,))
    """
    x, blank = _check(logits, blank, "blank")
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    lp = log_softmax(x)
    log_prune = np.log(prune) if prune > 0 else -np.inf
    # prefix -> (log P(prefix, ends in blank), log P(prefix, ends in a label))
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}
    for t in range(lp.shape[0]):
        row = lp[t]
        cands = [int(k) for k in np.nonzero(row >= log_prune)[0]]
        if blank not in cands:
            cands.append(blank)
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = float(np.logaddexp(pb, pnb))
            for k in cands:
                p = float(row[k])
                if k == blank:
                    _add(nxt, prefix, total + p, -np.inf)
                elif prefix and prefix[-1] == k:
                    _add(nxt, prefix, -np.inf, pnb + p)  # repeat merged
                    _add(nxt, (*prefix, k), -np.inf, pb + p)  # a new k after a blank
                else:
                    _add(nxt, (*prefix, k), -np.inf, total + p)
        ranked = sorted(nxt.items(), key=lambda kv: _total(kv[1]), reverse=True)
        beams = {k: (v[0], v[1]) for k, v in ranked[:beam_width]}
    best = max(beams.items(), key=lambda kv: _total(kv[1]))[0]
    if not best:
        return Decoded((), ())
    probs = np.exp(lp)
    frames = ctc_align(x, best, blank=blank)
    confs = tuple(float(max(probs[t, k] for t in fr)) for k, fr in zip(best, frames))
    return Decoded(best, confs)


def slot_decode(logits: np.ndarray, *, pad: int = -1) -> Decoded:
    """Decode fixed-slot ``logits`` (K, C): the most likely class per slot, pad slots
    stripped (wherever they are). A character's confidence is its slot's probability.

    >>> lg = np.log(np.array([[.7, .2, .1], [.1, .1, .8], [.2, .6, .2], [.1, .1, .8]]))
    >>> d = slot_decode(lg)  # class 2 is the pad
    >>> d.indices, [round(c, 2) for c in d.confidences]
    ((0, 1), [0.7, 0.6])
    """
    x, pad = _check(logits, pad, "pad")
    probs = softmax(x)
    best = probs.argmax(axis=1)
    keep = [(int(k), float(probs[i, k])) for i, k in enumerate(best.tolist()) if k != pad]
    return Decoded(tuple(k for k, _ in keep), tuple(c for _, c in keep))
