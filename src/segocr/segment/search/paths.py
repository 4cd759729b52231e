"""The search: the best paths through a lattice under the classifier's scores.

:func:`char_steps` finds what every candidate box may be read as (one array pass);
:func:`search_lattice` / :func:`search_lattices` run the dynamic programme over
(piece boundary, characters read) with linked partial paths (:func:`_best_paths`);
:func:`merge_paths` merges the paths of several lattices of one plate.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from segocr.segment.boxes import CharBox
from segocr.segment.search.config import SearchConfig
from segocr.segment.search.lattice import Lattice, Span


@dataclass(frozen=True)
class Path:
    """One reading of a lattice: ``score`` (total log-score), the characters' class
    indices, their boxes and log-probabilities."""

    score: float
    classes: tuple[int, ...]
    boxes: tuple[CharBox, ...]
    logps: tuple[float, ...]


def char_steps(
    logp: np.ndarray,
    narrow: Sequence[bool],
    *,
    noise_index: int,
    narrow_classes: Sequence[int],
    config: SearchConfig,
    allowed: np.ndarray | None = None,
) -> list[list[tuple[int, float]]]:
    """For each of S candidate boxes, the (class, log P) it may be read as, best first
    (``chars_per_box`` at most): ``logp`` (S, C+1) the classifier's rows (noise at
    ``noise_index``), ``narrow`` (S,) bool the narrow new boxes (only
    ``narrow_classes``), ``allowed`` (C,) bool the characters of the position (a plate
    format; None: all). A character less probable than noise (``noise_veto``) or below
    ``min_char_logp`` is not offered (-inf).

    All boxes in one array pass (the narrow ones in a second, whose rows
    ``chars + only`` take the dtype they take alone); each row is ordered by
    ``np.argsort`` of its negated values, so tied characters keep their order.

    >>> lp = np.log(np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.1, 0.6], [0.5, 0.3, 0.15, 0.05]]))
    >>> steps = char_steps(lp, [False, False, True], noise_index=3, narrow_classes=[1], config=SearchConfig(chars_per_box=2))
    >>> [[(c, round(v, 2)) for c, v in row] for row in steps]
    [[(0, -0.69), (1, -1.2)], [], [(1, -1.2)]]
    """
    chars = logp[:, :noise_index]
    if config.noise_veto:
        # max(min_char_logp, noise) as Python's max takes it (fmax: a NaN never wins).
        ok = chars >= np.fmax(config.min_char_logp, logp[:, noise_index : noise_index + 1])
    else:
        ok = chars >= config.min_char_logp
    if allowed is not None:
        ok &= allowed
    cpb = config.chars_per_box
    thin = [r for r, n in enumerate(narrow) if n]
    if not thin:
        return _best_chars(np.where(ok, -chars, np.inf), cpb)
    only = np.full(chars.shape[1], -np.inf)
    only[list(narrow_classes)] = 0.0
    wide = [r for r, n in enumerate(narrow) if not n]
    out: list[list[tuple[int, float]]] = [[] for _ in narrow]
    for rows, neg in (
        (wide, np.where(ok[wide], -chars[wide], np.inf)),
        (thin, -(np.where(ok[thin], chars[thin], -np.inf) + only)),
    ):
        for r, found in zip(rows, _best_chars(neg, cpb), strict=True):
            out[r] = found
    return out


def _best_chars(neg: np.ndarray, n: int) -> list[list[tuple[int, float]]]:
    """The ``n`` lowest finite entries of each row of ``neg`` (S, C) as (column,
    -value), lowest first (by ``np.argsort`` of the row)."""
    if len(neg) == 0:
        return []
    top = np.argsort(neg, axis=1)[:, :n]
    vals = neg[np.arange(len(neg))[:, None], top].tolist()
    isfinite = math.isfinite
    return [
        [(c, -v) for c, v in zip(cs, vs, strict=True) if isfinite(v)]
        for cs, vs in zip(top.tolist(), vals, strict=True)
    ]


#: A partial path of :func:`search_lattice`, newest character first: (previous node
#: or None, class, box, log P).
_Node = tuple[object, int, CharBox, float]


def search_lattice(
    lattice: Lattice,
    box_logp: Mapping[CharBox, np.ndarray],
    *,
    noise_index: int,
    length_logp: Mapping[int, float] | None = None,
    unseen_length_logp: float = -8.0,
    position_masks: np.ndarray | None = None,
    narrow_classes: Sequence[int] = (),
    config: SearchConfig,
) -> list[Path]:
    """The ``config.n_best`` best readings of ``lattice``, best first.

    ``box_logp`` maps each candidate box to the classifier's log-probabilities (C+1,)
    (characters, then noise at ``noise_index``). ``length_logp`` is log P(n) by
    length (lengths not listed get ``unseen_length_logp``; None or empty: no prior).
    ``position_masks`` (L, C) bool, when given, is a plate format: the reading has
    exactly L characters and character k must be allowed by row k (the hook for
    constrained decoding by plate format). ``narrow_classes``: the class indices of
    ``config.narrow_chars``, the only ones a narrow new box may be read as.

    The dynamic programme runs over states (piece boundary k, characters read n), in
    order of k then n; each span from k is tried in the lattice's order: skipped,
    read as noise, read as each of its characters. Every step appends (score, node)
    to the state it reaches; a state keeps its ``n_best`` highest scores (ties: the
    earlier step) when it is expanded. Partial paths are linked nodes (no tuple
    copies); the spans' characters are found in one array pass
    (:func:`search_lattices` does it once for several lattices).
    """
    return search_lattices(
        [lattice],
        [box_logp],
        noise_index=noise_index,
        length_logp=length_logp,
        unseen_length_logp=unseen_length_logp,
        position_masks=position_masks,
        narrow_classes=narrow_classes,
        config=config,
    )[0]


def search_lattices(
    lattices: Sequence[Lattice],
    box_logp: Sequence[Mapping[CharBox, np.ndarray]],
    *,
    noise_index: int,
    length_logp: Mapping[int, float] | None = None,
    unseen_length_logp: float = -8.0,
    position_masks: np.ndarray | None = None,
    narrow_classes: Sequence[int] = (),
    config: SearchConfig,
) -> list[list[Path]]:
    """:func:`search_lattice` of each of ``lattices`` (those of one plate, say) with
    its own ``box_logp`` (the same paths): the characters of the spans of all of them
    are found in one array pass (:func:`char_steps`)."""
    spans: list[list[Span]] = []
    rows: list[np.ndarray] = []
    for lattice, table in zip(lattices, box_logp, strict=True):
        kept: list[Span] = []
        for s in lattice.spans:
            lp = table.get(s.box)
            if lp is not None:
                kept.append(s)
                rows.append(lp)
        spans.append(kept)
    if not rows:
        return [[] for _ in lattices]
    logp = np.stack(rows)  # (S, C+1): the spans of all lattices
    every = [s for kept in spans for s in kept]
    narrow = [s.narrow for s in every]
    # Each span's character steps (class, log P, score step), per position under
    # position masks (found when first needed), else once.
    by_n: dict[int, list[list[tuple[int, float, float]]]] = {}

    def steps_at(n: int) -> list[list[tuple[int, float, float]]]:
        if n not in by_n:
            allowed = None if position_masks is None else position_masks[n]
            found = char_steps(
                logp,
                narrow,
                noise_index=noise_index,
                narrow_classes=narrow_classes,
                config=config,
                allowed=allowed,
            )
            by_n[n] = [
                [(c, v, v + s.edit_logp) for c, v in cands] if s.char_ok else []
                for s, cands in zip(every, found, strict=True)
            ]
        return by_n[n]

    noise_lp = logp[:, noise_index].tolist()
    prior: dict[int, float] = {}
    L = config.max_length if position_masks is None else len(position_masks)
    for n in range(1, L + 1) if position_masks is None else [L] if L else []:
        prior[n] = 0.0
        if length_logp:
            prior[n] = config.length_weight * length_logp.get(n, unseen_length_logp)
    out: list[list[Path]] = []
    row = 0  # the first row of each lattice's spans
    for lattice, kept in zip(lattices, spans, strict=True):
        if not kept:
            out.append([])
            continue
        out.append(
            _best_paths(
                len(lattice.pieces) + 1,
                kept,
                noise_lp[row : row + len(kept)],
                steps_at,
                row,
                by_position=position_masks is not None,
                L=L,
                prior=prior,
                nb=config.n_best,
            )
        )
        row += len(kept)
    return out


def _best_paths(
    K: int,
    spans: Sequence[Span],
    noise_lp: Sequence[float],
    steps_at: Callable[[int], Sequence[Sequence[tuple[int, float, float]]]],
    row: int,
    *,
    by_position: bool,
    L: int,
    prior: Mapping[int, float],
    nb: int,
) -> list[Path]:
    """The dynamic programme of :func:`search_lattice` over K piece boundaries:
    ``spans`` with their noise log P ``noise_lp``; ``steps_at(n)`` the character steps
    of every row at position n (the same for every n unless ``by_position``), span t
    at row ``row + t``; ``prior[n]`` the score of each final length (at most L
    characters); the ``nb`` best paths."""
    # outgoing[k]: (end piece j, skip cost, noise cost, row, box) of the spans from k.
    outgoing: list[list[tuple[int, float | None, float | None, int, CharBox]]] = [
        [] for _ in range(K)
    ]
    for t, s in enumerate(spans):
        noise = noise_lp[t] + s.edit_logp if s.noise_ok else None
        outgoing[s.i].append((s.j, s.skip_logp, noise, row + t, s.box))
    states: list[list[list[tuple[float, _Node | None]]]] = [
        [[] for _ in range(L + 1)] for _ in range(K)
    ]
    states[0][0].append((0.0, None))
    fixed = None if by_position else steps_at(0)
    for k in range(K - 1):
        out = outgoing[k]
        if not out:
            continue
        for n, here in enumerate(states[k]):
            if not here:
                continue
            if len(here) > nb:  # the n_best highest scores, ties in order (stable)
                here.sort(key=_first, reverse=True)
                del here[nb:]
            chars = None if n >= L else fixed if fixed is not None else steps_at(n)
            for j, skip, noise, r, box in out:
                dest = states[j]
                if skip is not None:
                    dest[n] += [(sc + skip, nd) for sc, nd in here]
                if noise is not None:
                    dest[n] += [(sc + noise, nd) for sc, nd in here]
                if chars is not None and chars[r]:
                    dest[n + 1] += [
                        (sc + step, (nd, c, box, v)) for c, v, step in chars[r] for sc, nd in here
                    ]
    finals: list[tuple[float, _Node | None]] = []
    for n, p in prior.items():
        ends = states[K - 1][n]
        if len(ends) > nb:
            ends.sort(key=_first, reverse=True)
            del ends[nb:]
        finals += [(sc + p, nd) for sc, nd in ends]
    finals.sort(key=_neg_first)
    return [_path(sc, nd) for sc, nd in finals[:nb]]


_first = operator.itemgetter(0)


def _neg_first(item: tuple[float, object]) -> float:
    return -item[0]


def _path(score: float, node: _Node | None) -> Path:
    """The :class:`Path` of ``score`` whose last character is ``node``."""
    classes: list[int] = []
    boxes: list[CharBox] = []
    logps: list[float] = []
    while node is not None:
        prev, c, box, v = node
        classes.append(c)
        boxes.append(box)
        logps.append(v)
        node = prev  # type: ignore[assignment]
    return Path(score, tuple(classes[::-1]), tuple(boxes[::-1]), tuple(logps[::-1]))


def merge_paths(per_lattice: Sequence[Sequence[Path]], n_best: int) -> list[tuple[Path, int]]:
    """The ``n_best`` best paths over several lattices as (path, lattice index), one per
    distinct reading (its best-scoring path), best first.

    >>> p = Path(-1.0, (1,), (), ()); q = Path(-0.5, (1,), (), ()); r = Path(-2.0, (2,), (), ())
    >>> [(x.score, i) for x, i in merge_paths([[p, r], [q]], 5)]
    [(-0.5, 1), (-2.0, 0)]
    """
    best: dict[tuple[int, ...], tuple[Path, int]] = {}
    for li, paths in enumerate(per_lattice):
        for p in paths:
            if p.classes not in best or p.score > best[p.classes][0].score:
                best[p.classes] = (p, li)
    return sorted(best.values(), key=lambda t: -t[0].score)[:n_best]
