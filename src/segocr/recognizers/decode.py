"""Decoders: pure functions from one sample's logits to class indices with
per-character confidences. No model needed; tested on hand-made logits.

- CTC (:mod:`segocr.models.crnn`): logits (T, C) over the charset plus a blank;
  :func:`ctc_greedy_decode` takes the best class per frame, merges repeats and drops
  blanks; :func:`ctc_beam_decode` runs a prefix beam search (summing over every
  alignment of a prefix) and explains its best text with :func:`ctc_align`.
- Slots (:mod:`segocr.models.holistic`): logits (K, C) with a pad class;
  :func:`slot_decode` takes the best class per slot and strips the pads.

- Boxes (:mod:`segocr.recognizers.segcnn`): per segmentation hypothesis, (n, C)
  probabilities of its n boxes with a noise class; :func:`boxes_decode` reads one
  hypothesis, :func:`hypotheses_decode` chooses among several.

``blank`` / ``pad`` / ``noise`` is a class index; negative values count from the end
(the models here put it last, ``-1``). A character's confidence is a softmax
probability in [0, 1]; :attr:`Decoded.confidence` is their product.

**Constrained decoding and top-N.** Every decoder takes ``patterns`` (a plate
format's layouts compiled over the charset, :class:`segocr.formats.Automaton`:
per layout an (L, n_chars) bool mask) and returns the most likely reading that some
layout accepts, or an empty :class:`Decoded` with ``logp = -inf`` when none can be
built; ``topn`` > 1 fills :attr:`Decoded.alternatives` with the N most likely
readings and their probabilities, best first (distinct texts, so the probabilities
sum to at most 1).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from segocr.formats.schema import Automaton


@dataclass(frozen=True)
class Decoded:
    """A decoded sequence: class ``indices`` (charset indices, blank/pad removed) and
    one confidence per index."""

    indices: tuple[int, ...]
    confidences: tuple[float, ...]
    #: log P(this reading) under the decoder's model (CTC: summed over alignments;
    #: slots: the slot sequence, pads included; boxes: the hypothesis score); ``-inf``
    #: when a constrained decoder found no legal reading, ``nan`` when not computed.
    logp: float = float("nan")
    #: The ``topn`` most likely readings (indices, probability), best first.
    alternatives: tuple[tuple[tuple[int, ...], float], ...] = ()
    #: (len(indices), n_chars) float: each character position's distribution over the
    #: charset (blank/pad/noise left out, rows summing to at most 1), for fusion.
    posteriors: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: For :func:`boxes_decode`: the box index each character was read from.
    sources: tuple[int, ...] = ()

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
    # Plain Python over lists: S is small (2 x labels + 1), so NumPy's per-call cost
    # would dominate. cand order per state: stay in s, step from s-1, jump from s-2;
    # ties go to the first (as argmax would).
    emit = lp[:, ext_a].tolist()  # (T, S)
    can_jump = skip.tolist()
    score = [-math.inf] * S
    score[0] = emit[0][0]
    score[1] = emit[0][1]
    back: list[list[int]] = [[0] * S]
    for t in range(1, T):
        e = emit[t]
        new = [score[0] + e[0]]
        bk = [0]
        for s in range(1, S):
            best, arg = score[s], s
            if score[s - 1] > best:
                best, arg = score[s - 1], s - 1
            if can_jump[s] and score[s - 2] > best:
                best, arg = score[s - 2], s - 2
            new.append(best + e[s])
            bk.append(arg)
        score = new
        back.append(bk)
    s = S - 1 if score[S - 1] >= score[S - 2] else S - 2
    path = [s]
    for t in range(T - 1, 0, -1):
        s = back[t][s]
        path.append(s)
    path.reverse()
    frames: list[list[int]] = [[] for _ in lab]
    for t, s in enumerate(path):
        if s % 2 == 1:
            frames[s // 2].append(t)
    return frames


_LOG2 = math.log(2.0)


def _logaddexp(x: float, y: float) -> float:
    """``np.logaddexp`` on two Python floats, the same formula (so the same result to
    the bit) without a NumPy call's overhead; ``-inf`` inputs give the other one.

    >>> _logaddexp(math.log(0.25), math.log(0.25)) == float(np.logaddexp(math.log(0.25), math.log(0.25)))
    True
    >>> _logaddexp(-math.inf, -1.5), _logaddexp(-math.inf, -math.inf)
    (-1.5, -inf)
    """
    if y == -math.inf:
        return x
    if x == -math.inf:
        return y
    if x == y:
        return x + _LOG2
    d = x - y
    if d > 0:
        return x + math.log1p(math.exp(-d))
    return y + math.log1p(math.exp(d))


def _add(beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], pb: float, pnb: float) -> None:
    """Add log probabilities (ending in blank, ending in a label) to ``prefix``."""
    cur = beams.get(prefix)
    if cur is None:
        beams[prefix] = [pb, pnb]  # logaddexp(-inf, p) is p
        return
    if pb != -math.inf:
        cur[0] = _logaddexp(cur[0], pb)
    if pnb != -math.inf:
        cur[1] = _logaddexp(cur[1], pnb)


def _total(p: Sequence[float]) -> float:
    """log(P(ends in blank) + P(ends in a label)) of a prefix."""
    return _logaddexp(p[0], p[1])


def ctc_labelling_logp(lp: np.ndarray, labels: Sequence[int], *, blank: int, prune: float = 1e-4) -> float:
    """log P(``labels``) under CTC log probabilities ``lp`` (T, C): the sum over every
    alignment of the labels (the forward algorithm, run over the labels' prefixes with
    the recursion of :func:`ctc_beam_decode`, whose classes below probability ``prune``
    in a frame are ignored as there). ``labels`` are class indices, ``blank`` a
    non-negative class index.

    >>> p = np.array([[0.36, 0.01, 0.63], [0.36, 0.01, 0.63]])  # classes A, B, blank
    >>> round(math.exp(ctc_labelling_logp(np.log(p), [0], blank=2)), 4)  # AA, A-, -A
    0.5832
    """
    lab = [int(k) for k in labels]
    n = len(lab)
    log_prune = math.log(prune) if prune > 0 else -math.inf
    # Frames where none of the labels is likely only move paths into the blank.
    active = (lp[:, sorted(set(lab))] >= log_prune).any(axis=1) if lab else np.zeros(len(lp), bool)
    blank_lp = lp[:, blank].tolist()
    # Probabilities, rescaled after every frame with more than the blank (log scale
    # kept in ``scale``): plain float arithmetic, no logaddexp per state.
    pb = [1.0] + [0.0] * n  # P(first i labels, path ends in blank) / exp(scale)
    pnb = [0.0] * (n + 1)  # ... ends in label i
    scale = 0.0
    prev = -1
    for t in np.flatnonzero(active).tolist():
        if t > prev + 1:  # frames of no label: every prefix waits, ending in blank
            scale += math.fsum(blank_lp[prev + 1 : t])
            pb = [b + nb for b, nb in zip(pb, pnb)]
            pnb = [0.0] * (n + 1)
        prev = t
        row = lp[t]
        p = [math.exp(v) if v >= log_prune else 0.0 for v in row[lab].tolist()]
        p_blank = math.exp(blank_lp[t])
        b_new = [(b + nb) * p_blank for b, nb in zip(pb, pnb)]
        nb_new = [0.0] * (n + 1)
        for i in range(n):
            if i and p[i - 1]:
                nb_new[i] += pnb[i] * p[i - 1]  # repeat merged
            if p[i]:
                nb_new[i + 1] += (pb[i] if i and lab[i - 1] == lab[i] else pb[i] + pnb[i]) * p[i]
        if n and p[n - 1]:
            nb_new[n] += pnb[n] * p[n - 1]
        top = max(max(b_new), max(nb_new))
        if top == 0.0:
            return -math.inf
        pb = [v / top for v in b_new]
        pnb = [v / top for v in nb_new]
        scale += math.log(top)
    scale += math.fsum(blank_lp[prev + 1 :])
    total = pb[n] + pnb[n]
    return math.log(total) + scale if total > 0 else -math.inf


def _dominant_path(lp: np.ndarray, blank: int, prune: float) -> Decoded | None:
    """The reading of the best path's text when that text has probability above 1/2,
    else None. It is then the most likely text of all, exactly: every other text shares
    what is left. Two tests, the cheap one first: the best path alone above 1/2 (a
    single alignment, no sum needed), else the text's probability summed over all its
    alignments (:func:`ctc_labelling_logp`, with the search's pruning: a lower bound of
    the exact sum, so "above 1/2" still holds exactly). The best path is the text's most
    likely alignment, so its runs give the confidences and posteriors
    :func:`ctc_beam_decode` would give it.

    Two frames (classes A, B, blank): no path reaches 1/2 (the best, "AA", has 0.25),
    but the text "A" has three alignments worth 0.65 together.

    >>> lp = np.log(np.array([[0.5, 0.1, 0.4], [0.5, 0.1, 0.4]]))
    >>> d = _dominant_path(lp, blank=2, prune=1e-4)
    >>> d.indices, round(math.exp(d.logp), 2)
    ((0,), 0.65)
    """
    best = lp.argmax(axis=1)
    rows = np.arange(len(best))
    path_logp = float(lp[rows, best].sum())
    probs = np.exp(lp)
    peak_p = probs[rows, best].tolist()
    indices: list[int] = []
    peaks: list[int] = []
    prev = blank
    for t, k in enumerate(best.tolist()):
        if k != blank:
            if k != prev:
                indices.append(k)
                peaks.append(t)
            elif peak_p[t] > peak_p[peaks[-1]]:
                peaks[-1] = t
        prev = k
    labels = tuple(indices)
    logp = ctc_labelling_logp(lp, labels, blank=blank, prune=prune)
    if path_logp <= -_LOG2 and logp <= -_LOG2:
        return None
    if not labels:
        return Decoded((), (), logp=logp)
    confs = tuple(peak_p[t] for t in peaks)
    return Decoded(_labels(labels, blank), confs, logp=logp, posteriors=_drop_class(probs[peaks], blank))


def ctc_beam_decode(
    logits: np.ndarray,
    *,
    beam_width: int = 8,
    blank: int = -1,
    prune: float = 1e-4,
    patterns: Automaton | None = None,
    topn: int = 1,
    shortcut: bool = True,
) -> Decoded:
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

    With ``patterns`` a prefix is only extended by a character some layout allows at
    its position, and only whole plates (a layout's full length) can win; the search
    walks the automaton, so the result is the most likely *legal* text in the beam.
    ``topn`` ranks the final beams (legal ones only, with ``patterns``).

    ``shortcut``: without ``patterns`` and for ``topn`` = 1, when the best path's text
    has probability above 1/2 (the best path alone, or summed over the text's
    alignments) it is returned without the search (:func:`_dominant_path`): it is
    provably the most likely text, which the search can only approximate; ``logp``
    then sums over all of its alignments (:func:`ctc_labelling_logp`). A confident CTC
    model's plates mostly take it.
    """
    x, blank = _check(logits, blank, "blank")
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    if topn < 1:
        raise ValueError(f"topn must be at least 1, got {topn}")
    lp = log_softmax(x)
    if shortcut and patterns is None and topn == 1:
        fast = _dominant_path(lp, blank, prune)
        if fast is not None:
            return fast
    log_prune = np.log(prune) if prune > 0 else -np.inf
    n_chars = x.shape[1] - 1
    # prefix -> (log P(prefix, ends in blank), log P(prefix, ends in a label))
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    states: dict[tuple[int, ...], tuple[int, ...]] = {(): patterns.start()} if patterns is not None else {}
    # Plain floats and lists in the loop (NumPy scalars cost ~1 us per operation here).
    keep = lp >= log_prune
    cols = np.nonzero(keep)[1].tolist()
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    ninf = -math.inf
    for t, rowl in enumerate(lp.tolist()):
        cands = cols[ends[t - 1] if t else 0 : ends[t]]
        if not cands or cands == [blank]:
            # Only the blank: every prefix just waits; adding one log probability to
            # every total keeps the beams' order, so no new ranking is needed.
            p = rowl[blank]
            beams = {prefix: (_logaddexp(pb, pnb) + p, ninf) for prefix, (pb, pnb) in beams.items()}
            continue
        if blank not in cands:
            cands.append(blank)
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = _logaddexp(pb, pnb)
            last = prefix[-1] if prefix else -1
            for k in cands:
                p = rowl[k]
                if k == blank:
                    _add(nxt, prefix, total + p, ninf)
                    continue
                if last == k:
                    _add(nxt, prefix, ninf, pnb + p)  # repeat merged
                if patterns is not None:
                    ext = (*prefix, k)
                    if ext not in states:
                        # blank and label indices share the charset's numbering below blank
                        idx = k if k < blank else k - 1
                        st = patterns.step(states[prefix], len(prefix), idx) if idx < n_chars else ()
                        if not st:
                            continue
                        states[ext] = st
                    elif not states[ext]:
                        continue
                if last == k:
                    _add(nxt, (*prefix, k), ninf, pb + p)  # a new k after a blank
                else:
                    _add(nxt, (*prefix, k), ninf, total + p)
        ranked = sorted(nxt.items(), key=lambda kv: _total(kv[1]), reverse=True)
        beams = {k: (v[0], v[1]) for k, v in ranked[:beam_width]}
    final = sorted(((pre, _total(v)) for pre, v in beams.items()), key=lambda kv: kv[1], reverse=True)
    if patterns is not None:
        final = [(pre, s) for pre, s in final if patterns.final(states[pre], len(pre))]
        if not final:
            return Decoded((), (), logp=-math.inf)
    best, best_logp = final[0]
    alts = tuple((_labels(pre, blank), math.exp(s)) for pre, s in final[:topn]) if topn > 1 else ()
    if not best:
        return Decoded((), (), logp=best_logp, alternatives=alts)
    probs = np.exp(lp)
    frames = ctc_align(x, best, blank=blank)
    peaks = [fr[int(np.argmax(probs[fr, k]))] for k, fr in zip(best, frames)]
    confs = tuple(float(probs[t, k]) for k, t in zip(best, peaks))
    post = _drop_class(probs[peaks], blank)
    return Decoded(_labels(best, blank), confs, logp=best_logp, alternatives=alts, posteriors=post)


def _labels(indices: tuple[int, ...], special: int) -> tuple[int, ...]:
    """Class indices -> charset indices (classes after ``special`` shift down by one;
    the models here put the special class last, where nothing shifts)."""
    return tuple(k if k < special else k - 1 for k in indices)


def _drop_class(probs: np.ndarray, special: int) -> np.ndarray:
    """(n, C) probabilities -> (n, C - 1) without column ``special`` (float32)."""
    return np.delete(np.asarray(probs, dtype=np.float64), special, axis=1).astype(np.float32)


def kbest_product(logp: np.ndarray, k: int) -> list[tuple[tuple[int, ...], float]]:
    """The ``k`` most likely index sequences under independent positions: ``logp``
    (L, C) holds each position's log probabilities (``-inf``: forbidden). Returns
    (indices, summed log probability) pairs, best first; fewer when fewer are finite.

    >>> lp = np.log(np.array([[0.6, 0.4], [0.7, 0.3]]))
    >>> [(ix, round(float(np.exp(s)), 2)) for ix, s in kbest_product(lp, 3)]
    [((0, 0), 0.42), ((1, 0), 0.28), ((0, 1), 0.18)]
    """
    x = np.asarray(logp, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected (L, C) log probabilities, got shape {x.shape}")
    if k < 1:
        return []
    if x.shape[0] == 0:
        return [((), 0.0)]
    order = np.argsort(-x, axis=1, kind="stable")
    vals = np.take_along_axis(x, order, axis=1)
    if not np.isfinite(vals[:, 0]).all():
        return []
    L, C = vals.shape
    start = (0,) * L
    heap: list[tuple[float, tuple[int, ...]]] = [(-float(vals[:, 0].sum()), start)]
    seen = {start}
    out: list[tuple[tuple[int, ...], float]] = []
    while heap and len(out) < k:
        neg, ranks = heapq.heappop(heap)
        out.append((tuple(int(order[i, r]) for i, r in enumerate(ranks)), -neg))
        for i in range(L):
            r = ranks[i] + 1
            if r < C and np.isfinite(vals[i, r]):
                nr = (*ranks[:i], r, *ranks[i + 1 :])
                if nr not in seen:
                    seen.add(nr)
                    heapq.heappush(heap, (neg + float(vals[i, ranks[i]] - vals[i, r]), nr))
    return out


def slot_decode(logits: np.ndarray, *, pad: int = -1, patterns: Automaton | None = None, topn: int = 1) -> Decoded:
    """Decode fixed-slot ``logits`` (K, C): the most likely class per slot, pad slots
    stripped (wherever they are). A character's confidence is its slot's probability.

    >>> lg = np.log(np.array([[.7, .2, .1], [.1, .1, .8], [.2, .6, .2], [.1, .1, .8]]))
    >>> d = slot_decode(lg)  # class 2 is the pad
    >>> d.indices, [round(c, 2) for c in d.confidences]
    ((0, 1), [0.7, 0.6])

    With ``patterns``, a reading of a layout of length L fills the first L slots with
    characters that layout allows and pads the rest (as the model is trained); the
    most likely slot sequence over every layout wins. ``topn``: the N most likely slot
    sequences (each text once, at its best sequence's probability).
    """
    x, pad = _check(logits, pad, "pad")
    if topn < 1:
        raise ValueError(f"topn must be at least 1, got {topn}")
    probs = softmax(x)
    lp = log_softmax(x)
    K, C = lp.shape
    if patterns is None:
        best = probs.argmax(axis=1)
        keep = [(i, int(k)) for i, k in enumerate(best.tolist()) if k != pad]
        alts: tuple[tuple[tuple[int, ...], float], ...] = ()
        if topn > 1:
            seqs = kbest_product(lp, 4 * topn)
            alts = _dedupe(((_labels(tuple(k for k in seq if k != pad), pad), s) for seq, s in seqs), topn)
        post = _drop_class(probs[[i for i, _ in keep]], pad) if keep else np.zeros((0, C - 1), np.float32)
        return Decoded(
            _labels(tuple(k for _, k in keep), pad),
            tuple(float(probs[i, k]) for i, k in keep),
            logp=float(sum(lp[i, k] for i, k in enumerate(best.tolist()))),
            alternatives=alts,
            posteriors=post,
        )
    cands: list[tuple[tuple[int, ...], float]] = []
    for mask in patterns.masks:
        L = len(mask)
        if L > K:
            continue
        allowed = np.zeros((K, C), bool)
        allowed[:L] = np.insert(mask, pad, False, axis=1)
        allowed[L:, pad] = True
        masked = np.where(allowed, lp, -np.inf)
        cands.extend(kbest_product(masked, max(topn, 1)))
    if not cands:
        return Decoded((), (), logp=-math.inf)
    cands.sort(key=lambda c: c[1], reverse=True)
    seq, s = cands[0]
    keep = [(i, k) for i, k in enumerate(seq) if k != pad]
    alts = _dedupe(((_labels(tuple(k for k in sq if k != pad), pad), sc) for sq, sc in cands), topn) if topn > 1 else ()
    return Decoded(
        _labels(tuple(k for _, k in keep), pad),
        tuple(float(probs[i, k]) for i, k in keep),
        logp=float(s),
        alternatives=alts,
        posteriors=_drop_class(probs[[i for i, _ in keep]], pad),
    )


def _dedupe(items: Iterable[tuple[tuple[int, ...], float]], n: int) -> tuple[tuple[tuple[int, ...], float], ...]:
    """First ``n`` distinct texts of (indices, log probability) pairs sorted best
    first, as (indices, probability)."""
    out: dict[tuple[int, ...], float] = {}
    for ix, s in items:
        if ix not in out:
            out[ix] = math.exp(s)
            if len(out) == n:
                break
    return tuple(out.items())


def boxes_decode(
    probs: np.ndarray,
    *,
    noise: int = -1,
    patterns: Automaton | None = None,
    length_logp: Callable[[int], float] | Mapping[int, float] | None = None,
    topn: int = 1,
) -> Decoded:
    """Read one segmentation hypothesis: ``probs`` (n, C) are the class probabilities
    of its n boxes, left to right, with a ``noise`` class (not a character).

    Without ``patterns`` each box takes its most likely class and noise boxes are
    dropped. With them, a dynamic programme over the boxes chooses for each box
    either noise or the next position of a layout, and the layout, maximizing the
    summed log probabilities: a box may be dropped as noise against the classifier's
    word when the format needs it. ``logp`` is that sum plus ``length_logp`` of the
    number of characters read (a callable or a dict; missing lengths: 0).
    :attr:`Decoded.sources` gives each character's box index. ``topn``: the N most
    likely texts over the kept boxes (the box choice fixed).

    >>> p = np.array([[.6, .3, .1], [.2, .2, .6], [.1, .8, .1]])  # classes 0, 1, noise
    >>> boxes_decode(p).indices, boxes_decode(p).sources
    ((0, 1), (0, 2))
    """
    x = np.asarray(probs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"expected probabilities of shape (n, C) with C >= 2, got {x.shape}")
    C = x.shape[1]
    if not -C <= noise < C:
        raise ValueError(f"noise index {noise} is outside the {C} classes")
    noise %= C
    if topn < 1:
        raise ValueError(f"topn must be at least 1, got {topn}")
    lpf: Callable[[int], float]
    if length_logp is None:
        lpf = lambda n: 0.0
    elif callable(length_logp):
        lpf = length_logp
    else:
        table = dict(length_logp)
        lpf = lambda n: table.get(n, 0.0)
    logs = np.log(np.maximum(x, 1e-9))
    chars = np.delete(logs, noise, axis=1)  # (n, C - 1)
    n = len(x)
    if patterns is None:
        best = x.argmax(axis=1)
        keep = [i for i in range(n) if best[i] != noise]
        score = float(sum(logs[i, best[i]] for i in range(n))) + lpf(len(keep))
        ix = tuple(int(best[i]) if best[i] < noise else int(best[i]) - 1 for i in keep)
        masks = None
    else:
        found: tuple[float, list[int], tuple[int, ...], np.ndarray] | None = None
        for mask in patterns.masks:
            L = len(mask)
            if L > n:
                continue
            allowed = np.where(mask[None, :, :], chars[:, None, :], -np.inf)  # (n, L, C-1)
            char_best = allowed.max(axis=2)  # (n, L)
            dp = np.full((n + 1, L + 1), -np.inf)
            dp[0, 0] = 0.0
            for i in range(n):
                dp[i + 1] = dp[i] + logs[i, noise]
                dp[i + 1, 1:] = np.maximum(dp[i + 1, 1:], dp[i, :-1] + char_best[i])
            total = float(dp[n, L]) + lpf(L)
            if not np.isfinite(dp[n, L]) or (found is not None and total <= found[0]):
                continue
            kept: list[int] = []
            i, j = n, L
            while j > 0:
                if dp[i, j] == dp[i - 1, j - 1] + char_best[i - 1, j - 1]:
                    kept.append(i - 1)
                    j -= 1
                i -= 1
            kept.reverse()
            found = (total, kept, tuple(int(allowed[b, q].argmax()) for q, b in enumerate(kept)), mask)
        if found is None:
            return Decoded((), (), logp=-math.inf)
        score, keep, ix, m = found
        masks = m
    confs = tuple(float(np.exp(chars[b, k])) for b, k in zip(keep, ix))
    alts: tuple[tuple[tuple[int, ...], float], ...] = ()
    if topn > 1:
        sub = chars[keep]
        if masks is not None:
            sub = np.where(masks, sub, -np.inf)
        alts = tuple((seq, math.exp(s)) for seq, s in kbest_product(sub, topn))
    post = np.exp(chars[keep]).astype(np.float32) if keep else np.zeros((0, C - 1), np.float32)
    return Decoded(ix, confs, logp=score, alternatives=alts, posteriors=post, sources=tuple(keep))


def hypotheses_decode(
    hypotheses: Sequence[np.ndarray],
    *,
    noise: int = -1,
    patterns: Automaton | None = None,
    length_logp: Callable[[int], float] | Mapping[int, float] | None = None,
    topn: int = 1,
) -> tuple[int, Decoded] | None:
    """Choose among segmentation hypotheses: each item of ``hypotheses`` is one
    hypothesis's (n_i, C) box probabilities (see :func:`boxes_decode`). Returns the
    index of the hypothesis with the best-scoring non-empty reading and that reading,
    or ``None`` when no hypothesis yields one (with ``patterns``: no legal one). Ties
    go to the earlier hypothesis.

    >>> a = np.array([[.9, .05, .05]]); b = np.array([[.1, .8, .1], [.7, .2, .1]])
    >>> j, d = hypotheses_decode([a, b])
    >>> j, d.indices
    (0, (0,))
    """
    best: tuple[int, Decoded] | None = None
    for j, probs in enumerate(hypotheses):
        d = boxes_decode(probs, noise=noise, patterns=patterns, length_logp=length_logp, topn=topn)
        if d.indices and np.isfinite(d.logp) and (best is None or d.logp > best[1].logp):
            best = (j, d)
    return best
