"""Constrained decoding and top-N on hand-made logits, checked against brute force:
a format forbids what it must, each decoder returns the best legal string, top-N
is ordered and its probabilities sum to at most 1."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from segocr.charset import Charset
from segocr.formats import PlateFormat
from segocr.formats.decoding import DecodeOptions, decode_with_format, plan
from segocr.recognizers.decode import (
    Decoded,
    boxes_decode,
    ctc_beam_decode,
    hypotheses_decode,
    kbest_product,
    slot_decode,
)

CS = Charset("01AB")  # 2 digits, 2 letters; the models' special class comes last (4)
FMT = PlateFormat(name="t", patterns=("LD", "LDD"))
AUT = FMT.compile(CS)


def ctc_logp(logits: np.ndarray, labels: list[int], blank: int) -> float:
    """log P(labels | logits) by torch's CTC forward algorithm (an independent reference)."""
    lp = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), dim=1)[:, None, :]
    if not labels:
        return float(lp[:, 0, blank].sum())
    loss = torch.nn.functional.ctc_loss(
        lp, torch.tensor([labels]), torch.tensor([len(logits)]), torch.tensor([len(labels)]), blank=blank, reduction="sum"
    )
    return -float(loss)


def legal_strings(max_len: int = 3) -> list[tuple[int, ...]]:
    return [s for n in range(1, max_len + 1) for s in itertools.product(range(len(CS)), repeat=n) if AUT.accepts(s)]


def random_logits(rng: np.random.Generator, shape: tuple[int, int], sharp: float = 3.0) -> np.ndarray:
    return rng.normal(size=shape) * sharp


def test_automaton_forbids_what_it_must() -> None:
    enc = CS.encode
    assert AUT.accepts(enc("A1")) and AUT.accepts(enc("B10"))
    for bad in ["1A", "A", "AB", "A1B", "A101", "11"]:
        assert not AUT.accepts(enc(bad)), bad


@pytest.mark.parametrize("seed", range(6))
def test_ctc_beam_returns_best_legal_string(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lg = random_logits(rng, (6, 5), sharp=2.0)
    d = ctc_beam_decode(lg, blank=4, patterns=AUT, beam_width=64, prune=0.0, topn=5)
    scores = {s: ctc_logp(lg, list(s), 4) for s in legal_strings()}
    best = max(scores, key=scores.__getitem__)
    assert d.indices == best
    assert d.logp == pytest.approx(scores[best], abs=1e-9)
    # top-N: legal, ordered, their probabilities exact and summing to <= 1
    texts = [ix for ix, _ in d.alternatives]
    probs = [p for _, p in d.alternatives]
    assert texts[0] == best and all(AUT.accepts(t) for t in texts)
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-12
    assert probs == pytest.approx([math.exp(scores[t]) for t in texts], rel=1e-9)
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)[: len(texts)]
    assert texts == ranked


def test_ctc_format_overrides_a_confusion() -> None:
    # frames read "A", "B", "1" unconstrained; "B" at position 2 is illegal (a digit
    # must follow), so the format picks the digit "0" that was the runner-up there.
    p = np.full((3, 5), 0.01)
    p[0, CS.encode("A")[0]] = 0.9
    p[1, CS.encode("B")[0]] = 0.6
    p[1, CS.encode("0")[0]] = 0.35
    p[2, CS.encode("1")[0]] = 0.9
    lg = np.log(p / p.sum(axis=1, keepdims=True))
    assert CS.decode(ctc_beam_decode(lg, blank=4).indices) == "AB1"
    assert CS.decode(ctc_beam_decode(lg, blank=4, patterns=AUT).indices) == "A01"


def test_ctc_no_legal_reading_is_minus_inf() -> None:
    lg = np.log(np.full((1, 5), 0.2))  # one frame cannot hold two characters
    d = ctc_beam_decode(lg, blank=4, patterns=AUT)
    assert d.indices == () and d.logp == -math.inf


@pytest.mark.parametrize("seed", range(6))
def test_slot_decode_best_legal_and_topn(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    lg = random_logits(rng, (4, 5))
    lp = lg - np.logaddexp.reduce(lg, axis=1, keepdims=True)
    scores: dict[tuple[int, ...], float] = {}
    for s in legal_strings():  # characters first, pads after
        scores[s] = float(sum(lp[i, k] for i, k in enumerate(s)) + lp[len(s) :, 4].sum())
    d = slot_decode(lg, pad=4, patterns=AUT, topn=4)
    best = max(scores, key=scores.__getitem__)
    assert d.indices == best and d.logp == pytest.approx(scores[best])
    texts = [t for t, _ in d.alternatives]
    probs = [p for _, p in d.alternatives]
    assert texts == sorted(scores, key=scores.__getitem__, reverse=True)[:4]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1
    # unconstrained top-N: ordered, distinct texts, sum <= 1, best first
    free = slot_decode(lg, pad=4, topn=5)
    fp = [p for _, p in free.alternatives]
    assert free.alternatives[0][0] == free.indices
    assert fp == sorted(fp, reverse=True) and sum(fp) <= 1 + 1e-12
    assert len({t for t, _ in free.alternatives}) == len(free.alternatives)


def test_slot_format_forbids_a_letter_in_a_digit_slot() -> None:
    p = np.full((3, 5), 0.02)
    p[0, CS.encode("B")[0]] = 0.9
    p[1, CS.encode("A")[0]] = 0.5  # an "A" where a digit must be
    p[1, CS.encode("1")[0]] = 0.4
    p[2, 4] = 0.9  # pad
    lg = np.log(p)
    assert CS.decode(slot_decode(lg, pad=4).indices) == "BA"
    assert CS.decode(slot_decode(lg, pad=4, patterns=AUT).indices) == "B1"


@pytest.mark.parametrize("seed", range(8))
def test_boxes_decode_best_legal_by_brute_force(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    n = 4
    probs = np.exp(random_logits(rng, (n, 5), 2.0))
    probs /= probs.sum(axis=1, keepdims=True)
    logs = np.log(probs)
    length_logp = {2: -0.5, 3: -1.0}
    best: tuple[float, tuple[int, ...]] | None = None
    # every box is noise (class 4) or a character; the kept characters must be legal
    for labels in itertools.product(range(5), repeat=n):
        chars = tuple(k for k in labels if k != 4)
        if not AUT.accepts(chars):
            continue
        s = float(sum(logs[i, k] for i, k in enumerate(labels))) + length_logp.get(len(chars), 0.0)
        if best is None or s > best[0]:
            best = (s, chars)
    d = boxes_decode(probs, noise=4, patterns=AUT, length_logp=length_logp, topn=3)
    assert best is not None
    assert d.indices == best[1] and d.logp == pytest.approx(best[0])
    assert AUT.accepts(d.indices) and len(d.sources) == len(d.indices)
    ps = [p for _, p in d.alternatives]
    assert ps == sorted(ps, reverse=True) and sum(ps) <= 1 and d.alternatives[0][0] == d.indices


def test_boxes_decode_without_format_matches_argmax() -> None:
    probs = np.array([[0.7, 0.1, 0.1, 0.05, 0.05], [0.1, 0.1, 0.1, 0.1, 0.6], [0.1, 0.6, 0.1, 0.1, 0.1]])
    d = boxes_decode(probs, noise=4)
    assert d.indices == (0, 1) and d.sources == (0, 2)
    assert d.logp == pytest.approx(np.log([0.7, 0.6, 0.6]).sum())


def test_hypotheses_decode_prefers_a_legal_hypothesis() -> None:
    one = np.array([[0.05, 0.05, 0.8, 0.05, 0.05]])  # "A" alone: confident, illegal
    two = np.array([[0.05, 0.05, 0.6, 0.2, 0.1], [0.5, 0.3, 0.1, 0.05, 0.05]])  # "A0"
    free = hypotheses_decode([one, two], noise=4)
    assert free is not None and free[0] == 0
    legal = hypotheses_decode([one, two], noise=4, patterns=AUT)
    assert legal is not None
    j, d = legal
    assert j == 1 and CS.decode(d.indices) == "A0"
    assert hypotheses_decode([one], noise=4, patterns=AUT) is None


def test_kbest_product_is_exact() -> None:
    rng = np.random.default_rng(7)
    lp = np.log(rng.dirichlet(np.ones(3), size=3))
    lp[1, 2] = -np.inf
    got = kbest_product(lp, 50)
    allv = sorted(
        (float(sum(lp[i, k] for i, k in enumerate(s))), s) for s in itertools.product(range(3), repeat=3) if s[1] != 2
    )[::-1]
    assert [s for _, s in allv] == [s for s, _ in got]


def _fake(logp: float, text: str) -> Decoded:
    return Decoded(tuple(CS.encode(text)), (0.9,) * len(text), logp=logp)


def test_decode_with_format_strict_margin_and_auto() -> None:
    free, legal = _fake(-1.0, "AB"), _fake(-4.0, "A0")

    def decode(aut: object) -> Decoded:
        return free if aut is None else legal

    strict = plan(DecodeOptions(format=FMT, margin=None), CS)
    assert decode_with_format(decode, strict) == (legal, "t")
    soft = plan(DecodeOptions(format=FMT, margin=2.0), CS)
    assert decode_with_format(decode, soft) == (free, None)  # 3 nats worse: not this format
    assert decode_with_format(decode, None) == (free, None)
    # no legal reading at all: the free one, reported as following no format
    none = _fake(-math.inf, "")
    assert decode_with_format(lambda a: free if a is None else none, strict) == (free, None)


def test_auto_prefers_the_most_specific_format_within_margin() -> None:
    cs = Charset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    p = np.full((8, 37), 1e-4)
    p[7, 36] = 0.99  # 7 characters, then a pad slot
    for i, c in enumerate("ABC1234"):
        p[i, cs.encode(c)[0]] = 0.9
    lg = np.log(p)
    opts = DecodeOptions(format="auto", auto_formats=("br", "eu-generic", "br-mercosur"))
    d, name = decode_with_format(lambda a: slot_decode(lg, pad=36, patterns=a), plan(opts, cs))
    assert (cs.decode(d.indices), name) == ("ABC1234", "br")
    # a reading no candidate explains within the margin: no format
    p[3, cs.encode("1")[0]], p[3, cs.encode("Z")[0]] = 1e-4, 0.9  # "ABCZ234"
    d, name = decode_with_format(lambda a: slot_decode(np.log(p), pad=36, patterns=a), plan(opts.model_copy(update={"auto_formats": ("br",)}), cs))
    assert (cs.decode(d.indices), name) == ("ABCZ234", None)
