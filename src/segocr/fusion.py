"""Several captures of one plate -> one reading.

A camera rarely sees a car once: IWT4S holds a normal and an HDR capture of every
plate, video gives several frames. :func:`fuse` combines the readings of the
captures of one plate:

- ``product`` / ``mean``: when every capture read the same number of
  characters and carries per-character posteriors (``Prediction.info["posteriors"]``,
  filled by every recognizer when decoding with :class:`segocr.formats.decoding.DecodeOptions`),
  the posteriors are combined position by position (product of probabilities, i.e.
  independent evidence; or their mean) and each position takes its most likely
  character (under a format, the best legal layout of that length). When the lengths
  differ, the captures vote over their top-N strings (mean probability, each
  capture's readings scaled so that its top one weighs its plate confidence);
- ``product-pick`` (default): ``product`` when the lengths agree, else the most
  confident capture's reading;
- ``pick``: the most confident capture's reading (the baseline).

The default was chosen on the IWT4S validation part (39 tracks,
``benchmarks/fusion_validation.py``): it ties or beats every other rule under every
format setting; the top-N vote lost a CRNN track whose captures disagreed in length.
:func:`segocr.read_track` reads and fuses in one call.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from segocr.charset import Charset
from segocr.formats.decoding import DecodeOptions, FormatPlan, plan
from segocr.formats.schema import Automaton
from segocr.recognizers.base import DEFAULT_MODEL, CharPrediction, Prediction
from segocr.recognizers.decode import kbest_product

if TYPE_CHECKING:
    from segocr.batch import ReadResult

Rule = Literal["product", "mean", "product-pick", "pick"]
RULES: tuple[str, ...] = ("product", "mean", "product-pick", "pick")
#: The rule :func:`segocr.read_track` and the benchmark use (chosen on validation).
DEFAULT_RULE: Rule = "product-pick"
#: Readings per capture kept for voting.
DEFAULT_TOPN = 5
_EPS = 1e-6


def _topn_of(p: Prediction) -> list[tuple[str, float]]:
    """A capture's ranked readings as votes: the top reading weighs the capture's
    plate confidence (the calibrated P(right); the sequence probabilities of the CTC
    and slot decoders are on another scale), the others keep their ratio to it,
    shrunk when needed so that the votes sum to at most 1."""
    alts = [(str(t), float(q)) for t, q in p.info.get("topn") or ()]
    if not alts or alts[0][0] != p.text or alts[0][1] <= 0:
        return alts or ([(p.text, p.confidence)] if p.text else [])
    top = min(p.confidence, 1.0)
    rest = [(t, q * top / alts[0][1]) for t, q in alts[1:]]
    room = sum(q for _, q in rest)
    if room > 1 - top:
        rest = [(t, q * (1 - top) / room) for t, q in rest]
    return [(p.text, top), *rest]


def _posteriors(p: Prediction, n_chars: int) -> np.ndarray | None:
    post = p.info.get("posteriors")
    if post is None:
        return None
    a = np.asarray(post, dtype=np.float64)
    if a.ndim != 2 or a.shape != (len(p.text), n_chars):
        return None
    return a


def fuse(
    predictions: Sequence[Prediction],
    charset: Charset,
    *,
    rule: Rule = DEFAULT_RULE,
    automaton: Automaton | None = None,
    topn: int = 1,
) -> Prediction:
    """One reading from the ``predictions`` of several captures of one plate.

    ``charset`` is the recognizer's (the columns of the posteriors); ``automaton``
    a compiled plate format the fused reading must follow when aligned by position;
    ``topn`` > 1 fills ``info["topn"]`` of the result (probabilities summing to at
    most 1). ``info["fusion"]`` says how the reading was made (``aligned``, ``vote``,
    ``pick`` or ``single``) and ``info["captures"]`` how many were fused.

    >>> cs = Charset("AB12")
    >>> a = Prediction("A1", 0.54, info={"posteriors": np.array([[.9, .1, 0, 0], [0, 0, .6, .4]])})
    >>> b = Prediction("A2", 0.56, info={"posteriors": np.array([[.8, .2, 0, 0], [0, 0, .3, .7]])})
    >>> f = fuse([a, b], cs)
    >>> f.text, f.info["fusion"]   # position 2: 0.6 * 0.3 < 0.4 * 0.7
    ('A2', 'aligned')
    """
    if rule not in RULES:
        raise ValueError(f"unknown fusion rule {rule!r}; choose one of: {', '.join(RULES)}")
    preds = list(predictions)
    if not preds:
        raise ValueError("fuse needs at least one prediction")
    name = preds[0].recognizer
    base = {"captures": len(preds)}
    read = [p for p in preds if p.text]
    if len(preds) == 1 or rule == "pick" or not read:
        best = max(preds, key=lambda p: p.confidence)
        how = "single" if len(preds) == 1 else "pick"
        return Prediction(best.text, best.confidence, best.chars, best.recognizer, _picked(best, topn, base, how))
    if automaton is not None and sum(p.info.get("format", automaton.name) == automaton.name for p in preds) * 2 <= len(preds):
        automaton = None  # most captures fell back from the format: do not force it
    n_chars = len(charset)
    lengths = {len(p.text) for p in read}
    posts = [_posteriors(p, n_chars) for p in read]
    if len(lengths) == 1 and all(x is not None for x in posts):
        fused = _aligned([x for x in posts if x is not None], rule, automaton)
        if fused is not None:
            logp, choice = fused
            probs = np.exp(logp)
            chars = [CharPrediction(charset.chars[k], float(probs[i, k])) for i, k in enumerate(choice)]
            info: dict[str, object] = {**base, "fusion": "aligned", "posteriors": probs.astype(np.float32)}
            if topn > 1:
                lp = logp if automaton is None else _mask_best_layout(logp, automaton, choice)
                info["topn"] = [(charset.decode(ix), math.exp(s)) for ix, s in kbest_product(lp, topn)]
            return Prediction.from_chars(chars, name, **info)
    if rule == "product-pick":  # different lengths: the most confident capture
        best = max(preds, key=lambda p: p.confidence)
        return Prediction(best.text, best.confidence, best.chars, best.recognizer, _picked(best, topn, base, "pick"))
    # different lengths (or no posteriors): vote over the top-N strings
    votes: dict[str, float] = defaultdict(float)
    for p in preds:
        for text, q in _topn_of(p):
            if automaton is not None and not _legal(text, charset, automaton):
                continue
            votes[text] += q / len(preds)
    if not votes:
        best = max(preds, key=lambda p: p.confidence)
        return Prediction(best.text, best.confidence, best.chars, best.recognizer, _picked(best, topn, base, "pick"))
    ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
    text, score = ranked[0]
    source = max((p for p in preds if p.text == text), key=lambda p: p.confidence, default=None)
    voted = source.chars if source is not None else tuple(CharPrediction(c, score ** (1 / max(len(text), 1))) for c in text)
    info = {**base, "fusion": "vote"}
    if topn > 1:
        info["topn"] = ranked[:topn]
    return Prediction(text, score, tuple(voted), name, info)


def _picked(best: Prediction, topn: int, base: dict[str, int], how: str) -> dict[str, object]:
    """The info of a capture taken as it is: its own, with its top-N cut to ``topn``."""
    info: dict[str, object] = {k: v for k, v in best.info.items() if k != "topn"}
    if topn > 1 and best.info.get("topn"):
        info["topn"] = list(best.info["topn"])[:topn]
    return {**info, **base, "fusion": how}


def _legal(text: str, charset: Charset, automaton: Automaton) -> bool:
    if charset.unknown(text):
        return False
    return automaton.accepts(charset.encode(text))


def _aligned(posts: list[np.ndarray], rule: Rule, automaton: Automaton | None) -> tuple[np.ndarray, list[int]] | None:
    """Combine (L, C) posteriors; returns the normalized log posterior and the chosen
    index per position (best legal layout of length L under ``automaton``), or
    ``None`` when no layout of that length exists."""
    stack = np.stack(posts)
    if rule == "mean":
        comb = np.log(stack.mean(axis=0) + _EPS)
    else:
        comb = np.log(stack + _EPS).sum(axis=0)
    logp = comb - np.logaddexp.reduce(comb, axis=1, keepdims=True)
    if automaton is None:
        return logp, [int(k) for k in logp.argmax(axis=1)]
    best: tuple[float, list[int]] | None = None
    for mask in automaton.masks:
        if len(mask) != len(logp):
            continue
        m = np.where(mask, logp, -np.inf)
        choice = [int(k) for k in m.argmax(axis=1)]
        s = float(sum(m[i, k] for i, k in enumerate(choice)))
        if best is None or s > best[0]:
            best = (s, choice)
    if best is None:
        return None
    return logp, best[1]


def _mask_best_layout(logp: np.ndarray, automaton: Automaton, choice: list[int]) -> np.ndarray:
    """``logp`` restricted to the layout that accepts ``choice`` (the first one)."""
    for mask in automaton.masks:
        if len(mask) == len(choice) and all(mask[i, k] for i, k in enumerate(choice)):
            return np.where(mask, logp, -np.inf)
    return logp


def track_automaton(fplan: FormatPlan | None, predictions: Sequence[Prediction]) -> Automaton | None:
    """The format the fused reading must follow: the forced one, or under ``auto`` the
    one most captures followed (``None``: no format)."""
    if fplan is None:
        return None
    if not fplan.auto:
        return fplan.candidates[0]
    names = [p.info.get("format") for p in predictions if p.info.get("format")]
    if not names:
        return None
    top = max(set(names), key=names.count)
    return next((a for a in fplan.candidates if a.name == top), None)


def fuse_with_options(
    predictions: Sequence[Prediction],
    charset: Charset,
    options: DecodeOptions | None,
    *,
    rule: Rule = DEFAULT_RULE,
) -> Prediction:
    """:func:`fuse` with the format and top-N of ``options`` (the captures must have
    been read with the same options); ``info["format"]`` names the format of the
    fused reading when one was asked."""
    fplan = plan(options, charset)
    aut = track_automaton(fplan, predictions)
    out = fuse(predictions, charset, rule=rule, automaton=aut, topn=options.topn if options is not None else 1)
    if fplan is not None:
        fmt = aut.name if aut is not None and _legal(out.text, charset, aut) else None
        out = Prediction(out.text, out.confidence, out.chars, out.recognizer, {**out.info, "format": fmt})
    return out


def read_track(
    images: Sequence[str | Path | bytes | np.ndarray],
    *,
    model: str = DEFAULT_MODEL,
    device: str = "auto",
    format: str | Path | None = None,
    topn: int = 1,
    rule: Rule = DEFAULT_RULE,
) -> Prediction:
    """Read several captures of one plate (paths, bytes or arrays) and fuse them
    (:func:`fuse`) into one :class:`Prediction`; ``format`` and ``topn`` as in
    :func:`segocr.read`. ``info["captures"]`` counts the captures, ``info["fusion"]``
    says how they were combined.

    Raises :class:`segocr.errors.ImageReadError` when an image cannot be read.
    """
    from segocr.api import load_recognizer
    from segocr.io import read_image

    if not images:
        raise ValueError("read_track needs at least one image")
    rec = load_recognizer(model, device=device)
    charset: Charset = rec.charset  # type: ignore[attr-defined]
    decode = DecodeOptions(format=format, topn=max(topn, DEFAULT_TOPN))
    preds = rec.predict([read_image(x) for x in images], options=decode)  # type: ignore[call-arg]
    return fuse_with_options(preds, charset, decode.model_copy(update={"topn": topn}), rule=rule)


def group_key(source: str, group_by: str) -> str:
    """The group of an image ``source`` (a path) under ``--group-by``: ``dir`` (its
    folder) or ``regex:PATTERN`` (the first capture group of PATTERN searched in the
    path, or the whole match; a path it does not match is a group of its own).

    >>> group_key("cars/42/front.png", "dir")
    'cars/42'
    >>> group_key("crop_h1/I00009.png", r"regex:I(\\d+)"), group_key("x.png", r"regex:I(\\d+)")
    ('00009', 'x.png')
    """
    if group_by == "dir":
        parent = str(Path(source).parent)
        return parent
    pattern = parse_group_by(group_by)
    assert pattern is not None
    m = pattern.search(source)
    if m is None:
        return source
    return m.group(1) if m.groups() else m.group(0)


def parse_group_by(group_by: str) -> re.Pattern[str] | None:
    """Check a ``--group-by`` value: ``dir`` (returns ``None``) or ``regex:PATTERN``
    (returns the compiled pattern); raises ``ValueError`` with a clear message."""
    if group_by == "dir":
        return None
    if not group_by.startswith("regex:"):
        raise ValueError(f"--group-by takes dir or regex:PATTERN, got {group_by!r}")
    try:
        return re.compile(group_by.removeprefix("regex:"))
    except re.error as exc:
        raise ValueError(f"--group-by {group_by!r}: not a valid regular expression ({exc})") from None


def fuse_results(
    results: Iterator[ReadResult],
    group_by: str,
    charset: Charset,
    options: DecodeOptions | None,
    *,
    rule: Rule = DEFAULT_RULE,
) -> Iterator[ReadResult]:
    """``segocr read --group-by``: consume per-image ``results`` and yield one result
    per group (``source`` = the group key, in order of first appearance) with the
    fused prediction (``info["paths"]`` lists its images, ``info["agreeing"]`` counts
    those whose own reading is the fused text). Failures pass through at once. Closing
    this generator closes ``results``."""
    from segocr.batch import ReadResult

    groups: dict[str, list[ReadResult]] = {}
    try:
        for r in results:
            if r.prediction is None:
                yield r
                continue
            groups.setdefault(group_key(r.source, group_by), []).append(r)
        for key, members in groups.items():
            preds = [m.prediction for m in members if m.prediction is not None]
            fused = fuse_with_options(preds, charset, options, rule=rule)
            agreeing = sum(p.text == fused.text for p in preds)  # captures that read the fused text alone
            info = {**fused.info, "paths": [m.source for m in members], "agreeing": agreeing}
            yield ReadResult(key, prediction=Prediction(fused.text, fused.confidence, fused.chars, fused.recognizer, info))
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
