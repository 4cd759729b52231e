"""The primary recognizer: segmentation + a character CNN.

plate crop -> :func:`segocr.segment.find_characters` (several binarizations, each a
hypothesis) -> a 32x32 crop per box -> :class:`segocr.models.CharCNN` -> per box a
softmax over the charset plus a ``noise`` class (stickers, screws, frame and band
pieces). For each hypothesis, boxes the classifier calls noise are dropped and the
rest scored by the sum of log character confidences plus the log prior of the
resulting length (estimated on the training labels); the best hypothesis is read.
Plates the cascade does not read confidently can then go through the segmentation
search (``SegCNNConfig.search``, :mod:`segocr.segment.search`), which over-segments
the hypotheses and lets the classifier choose the grouping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.charset import Charset
from segocr.models.weights import card_model_kwargs
from segocr.recognizers.base import (
    CharPrediction,
    Prediction,
    calibrated_confidence,
    load_from_weights,
    register_recognizer,
    register_weights_variant,
)
from segocr.segment.boxes import CharBox
from segocr.segment.characters import (
    CleanedByMask,
    Hypothesis,
    RowsByMask,
    SegmentConfig,
    WorkImage,
    hypotheses,
    prepare,
)
from segocr.segment.search import Lattice, SearchConfig, lattices, merge_paths, search_lattices

if TYPE_CHECKING:
    from segocr.formats.decoding import DecodeOptions, FormatPlan
    from segocr.formats.schema import Automaton
    from segocr.models.charcnn import CharCNN
    from segocr.runtime import Network
    from segocr.segment.search.paths import Path as SearchPath

NAME = "segcnn"
T = TypeVar("T")


class SegCNNConfig(BaseModel):
    """Inference settings of the segmentation recognizer (stored in its weight card)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    segment: SegmentConfig = SegmentConfig()
    input_size: int = Field(32, ge=8, le=128)
    #: Box margin added on every side before cropping, as a fraction of box height.
    margin: float = Field(0.08, ge=0, le=1)
    #: log P(plate length) by length; lengths not listed get ``unseen_length_logp``.
    length_logp: dict[int, float] = Field(default_factory=dict)
    unseen_length_logp: float = -8.0
    #: Softmax temperature (fitted on validation characters after training).
    temperature: float = Field(1.0, gt=0)
    #: (a, d, b, c): plate confidence ``sigmoid(a * log(x) + d * x + b * rel + c)``,
    #: ``x`` = -log(product of the character confidences), ``rel`` = log prior of the
    #: read length minus the most common length's; fitted on the validation plates of
    #: every source of a training mix. None: the product times ``exp(rel)``.
    plate_calibration: tuple[float, float, float, float] | None = None
    #: Cascade: read the first binarization alone and try the others only for plates
    #: not read with every character at least this confident (None: always try all).
    cascade_confidence: float | None = Field(0.9, gt=0, le=1)
    #: Segmentation search (:mod:`segocr.segment.search`) for the plates the cascade
    #: (or its first binarization, ``search.run_after``) does not read confidently
    #: (all plates when ``cascade_confidence`` is None). None: the old cascade alone.
    search: SearchConfig | None = None


def _square_u8(work: np.ndarray, box: CharBox, size: int, margin: float, invert: bool) -> np.ndarray | None:
    """The uint8 (size, size) square of one box before standardization (see
    :func:`crop_char`); None when the box lies outside ``work``."""
    H, W = work.shape
    m = round(margin * box.h)
    x0, y0 = max(0, box.x - m), max(0, box.y - m)
    x1, y1 = min(W, box.x2 + m), min(H, box.y2 + m)
    patch = work[y0:y1, x0:x1]
    if patch.size == 0:
        return None
    if invert:
        patch = 255 - patch
    h, w = patch.shape
    side = max(h, w)
    flat = patch.ravel()
    k = int(0.9 * (flat.size - 1))
    bg = float(np.partition(flat, k)[k])  # 90th percentile: the plate's background level
    top, left = (side - h) // 2, (side - w) // 2
    square = cv2.copyMakeBorder(patch, top, side - h - top, left, side - w - left, cv2.BORDER_CONSTANT, value=bg)
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)


def crop_chars(items: Sequence[tuple[np.ndarray, CharBox, bool]], *, size: int = 32, margin: float = 0.08) -> np.ndarray:
    """Crops of many boxes at once: ``items`` are (uint8 gray image (H, W), box,
    invert) triples -> float32 (n, size, size), each crop exactly
    :func:`crop_char`'s (the squares are cut one by one, the standardization runs
    on the whole stack: the same float32 arithmetic, several times faster).

    >>> img = np.full((40, 100), 200, np.uint8); img[10:30, 20:30] = 20
    >>> crop_chars([(img, CharBox(20, 10, 10, 20), False), (img, CharBox(200, 0, 5, 5), False)]).shape
    (2, 32, 32)
    """
    n = len(items)
    u8 = np.zeros((n, size, size), np.uint8)
    empty = np.zeros(n, bool)
    for j, (work, box, invert) in enumerate(items):
        sq = _square_u8(work, box, size, margin, invert)
        if sq is None:
            empty[j] = True
        else:
            u8[j] = sq
    x = u8.astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), np.float32(8.0))
    out: np.ndarray = (x - mean) / std
    out[empty] = 0.0
    return out


def crop_char(work: np.ndarray, box: CharBox, *, size: int = 32, margin: float = 0.08, invert: bool = False) -> np.ndarray:
    """A normalized square crop of one character from a uint8 gray image (H, W):
    the box grown by ``margin`` x its height, padded to a square with the background
    level, resized to (size, size), standardized to zero mean and unit-ish variance.
    ``invert`` turns light ink dark so the classifier sees one polarity.
    (:func:`crop_chars` crops many boxes at once.)

    >>> img = np.full((40, 100), 200, np.uint8); img[10:30, 20:30] = 20
    >>> crop_char(img, CharBox(20, 10, 10, 20)).shape
    (32, 32)
    """
    sq = _square_u8(work, box, size, margin, invert)
    if sq is None:
        return np.zeros((size, size), np.float32)
    x = sq.astype(np.float32)
    return (x - x.mean()) / max(float(x.std()), 8.0)


def hypothesis_crops(work: np.ndarray, hyp: Hypothesis, cfg: SegCNNConfig) -> np.ndarray:
    """(n, size, size) float32 crops of a hypothesis's boxes from the gray working
    image ``work`` (Hw, Ww) uint8."""
    light = hyp.polarity == "light"
    return crop_chars([(work, b, light) for b in hyp.boxes], size=cfg.input_size, margin=cfg.margin)


class SegCNNRecognizer:
    """Segmentation + character CNN; see the module docstring."""

    name = NAME

    def __init__(
        self, model: CharCNN | Network, charset: Charset, config: SegCNNConfig, *, device: Any = "auto", card: dict[str, Any] | None = None
    ) -> None:
        from segocr.runtime import as_network

        #: The classifier behind :class:`segocr.runtime.Network` (torch or ONNX Runtime).
        self.net = as_network(model, device)
        self.device = self.net.device
        self.charset = charset
        self.config = config
        self.card = card or {}
        self.noise_index = len(charset)
        #: Overlap the classifier (a worker thread) with the segmentation of another
        #: part of the batch (see :meth:`predict_prepared`). Off by default: on the
        #: shared, loaded 2-core machine it measured 2-10% slower (thread handoffs);
        #: it is meant for a machine with a core to spare.
        self.overlap = False

    @property
    def model(self) -> CharCNN:
        """The torch classifier (only with the torch runtime); assigning a module
        swaps the network."""
        module = getattr(self.net, "module", None)
        if module is None:
            raise AttributeError(f"the {self.net.runtime} runtime has no torch module; load with runtime='torch'")
        return module

    @model.setter
    def model(self, module: CharCNN) -> None:
        from segocr.runtime import as_network

        self.net = as_network(module, self.device)

    def logits(self, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(n, size, size) crops -> (n, len(charset) + 1) raw logits.

        The crops go through the network ``batch_size`` at a time, the last chunk
        zero-padded to a power of two (at least 16): the network sees a handful of
        input shapes, not one per crop count. (oneDNN caches its kernels per shape, at
        about 17 MB each for this network, so unpadded counts made a long
        ``segocr read`` grow by gigabytes.) Padding rows are dropped; in eval mode each
        crop's output does not depend on the others.
        """
        n = len(crops)
        if n == 0:
            return np.zeros((0, len(self.charset) + 1), np.float32)
        out = []
        for i in range(0, n, batch_size):
            part = crops[i : i + batch_size]
            k = len(part)
            padded = min(batch_size, max(16, 1 << (k - 1).bit_length()))
            if padded > k:
                part = np.concatenate([part, np.zeros((padded - k, *part.shape[1:]), part.dtype)])
            out.append(self.net(part[:, None])[:k])
        return np.concatenate(out)

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """(n, size, size) crops -> (n, len(charset) + 1) softmax probabilities at the
        configured temperature."""
        z = self.logits(crops) / self.config.temperature
        z = z - z.max(axis=1, keepdims=True) if len(z) else z
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _crops(self, works: Sequence[WorkImage], index: dict[tuple[int, CharBox, str], int]) -> np.ndarray:
        """(n, size, size) crops of the (plate, box, polarity) keys of ``index`` (in
        its insertion order, which its values number)."""
        items = [(works[i].gray, b, pol == "light") for i, b, pol in index]
        return crop_chars(items, size=self.config.input_size, margin=self.config.margin)

    def _length_logp(self, n: int) -> float:
        return self.config.length_logp.get(n, self.config.unseen_length_logp) if self.config.length_logp else 0.0

    def length_factor(self, chars: Sequence[CharPrediction]) -> float:
        """What turns the product of the ``chars``' confidences into the plate
        confidence (see :attr:`SegCNNConfig.plate_calibration`)."""
        rel = self._length_logp(len(chars)) - max(self.config.length_logp.values()) if self.config.length_logp else 0.0
        if self.config.plate_calibration is None:
            return math.exp(rel)
        p = calibrated_confidence([ch.confidence for ch in chars], self.config.plate_calibration, rel)
        log_raw = sum(math.log(max(ch.confidence, 1e-12)) for ch in chars)
        return p / math.exp(log_raw) if log_raw > -700 else 0.0

    def read_hypothesis(self, probs: np.ndarray) -> tuple[list[int], float]:
        """Indices of the boxes kept as characters and the hypothesis score
        (sum of log confidences of kept boxes and of noise for dropped ones, plus
        the length log prior)."""
        best = probs.argmax(axis=1)
        top = probs[np.arange(len(probs)), best].tolist()
        keep = [i for i, c in enumerate(best.tolist()) if c != self.noise_index]
        score = sum(math.log(max(v, 1e-9)) for v in top)
        return keep, score + self._length_logp(len(keep))

    def _best(self, scored: list[tuple[Hypothesis, np.ndarray]]) -> tuple[float, int, list[int]] | None:
        best: tuple[float, int, list[int]] | None = None
        for j, (_, probs) in enumerate(scored):
            keep, score = self.read_hypothesis(probs)
            if keep and (best is None or score > best[0]):
                best = (score, j, keep)
        return best

    def _confident(self, probs: np.ndarray, keep: list[int]) -> bool:
        """True when a reading needs no further hypotheses: every box a character
        read with at least ``cascade_confidence``, at the most probable length."""
        if self.config.cascade_confidence is None or len(keep) != len(probs):
            return False
        if self.config.length_logp and self._length_logp(len(keep)) < max(self.config.length_logp.values()):
            return False
        return bool(probs[keep, :-1].max(axis=1).min() >= self.config.cascade_confidence)

    def predict(self, images: Sequence[np.ndarray], *, options: DecodeOptions | None = None) -> list[Prediction]:
        seg_cfg = self.config.segment
        return self.predict_prepared([prepare(img, config=seg_cfg) for img in images], options=options)

    def predict_prepared(self, works: Sequence[WorkImage], *, options: DecodeOptions | None = None) -> list[Prediction]:
        """:meth:`predict` on images already passed through
        :func:`segocr.segment.characters.prepare` with this recognizer's
        ``config.segment`` (the ablation runner shares them between variants).

        With :attr:`overlap` set and at least ``2 * OVERLAP_MIN`` images, the batch is read
        as two halves whose classifier calls run in a second thread while this one
        segments the other half (the network releases the GIL): on two cores the
        segmentation's Python and the network overlap instead of taking turns. Each
        half is read exactly as alone."""
        if not self.overlap or len(works) < 2 * OVERLAP_MIN:
            return _drive(self._read(works, options), self.classify)
        half = (len(works) + 1) // 2
        parts = [works[:half], works[half:]]
        out = _drive_overlapped([self._read(part, options) for part in parts], self.classify)
        return [p for part in out for p in part]

    def _read(
        self, works: Sequence[WorkImage], options: DecodeOptions | None
    ) -> Generator[np.ndarray, np.ndarray, list[Prediction]]:
        """The reading of ``works`` as a generator: it yields each batch of crops
        (n, size, size) the classifier must see and is sent back their softmax rows
        (n, C + 1) (see :func:`_drive`); returns the predictions."""
        seg_cfg = self.config.segment
        scored: list[list[tuple[Hypothesis, np.ndarray]]] = [[] for _ in works]
        pending = list(range(len(works)))
        rows_by_mask: list[RowsByMask] = [{} for _ in works]  # reused by the search
        cleaned: list[CleanedByMask] = [{} for _ in works]  # ditto
        binarizers = seg_cfg.binarizers
        stages = [binarizers[:1], binarizers[1:]] if self.config.cascade_confidence is not None else [binarizers]
        if self.config.search is not None and self.config.search.run_after == "first_binarization":
            # The cheap first binarization still serves the plates it reads
            # confidently; the search takes the rest.
            stages = stages[:1] if self.config.cascade_confidence is not None else []
        classified: dict[tuple[int, CharBox, str], np.ndarray] = {}  # softmax rows
        for stage in stages:
            if not pending or not stage:
                continue
            new: list[tuple[int, Hypothesis]] = []
            for i in pending:
                seen = {h.boxes for h, _ in scored[i]}
                found = hypotheses(works[i], stage, config=seg_cfg, rows_out=rows_by_mask[i], cleaned_out=cleaned[i])
                new.extend((i, h) for h in found if h.boxes not in seen)
            # Hypotheses of one image share most boxes: crop and classify each
            # (image, box, polarity) once, over all stages (a quarter of the second
            # stage's boxes were the first's).
            index: dict[tuple[int, CharBox, str], int] = {}
            for i, h in new:
                for b in h.boxes:
                    if (i, b, h.polarity) not in classified:
                        index.setdefault((i, b, h.polarity), len(index))
            if index:
                probs = yield self._crops(works, index)
                classified.update((key, probs[j]) for key, j in index.items())
            for i, h in new:
                scored[i].append((h, np.stack([classified[(i, b, h.polarity)] for b in h.boxes])))
            still = []
            for i in pending:
                best = self._best(scored[i])
                if best is None or not self._confident(scored[i][best[1]][1], best[2]):
                    still.append(i)
            pending = still
        searched: dict[int, Prediction] = {}
        if self.config.search is not None and pending:
            # Boxes the cascade already classified are not classified again.
            known: dict[tuple[int, CharBox, str], np.ndarray] = {
                (i, b, h.polarity): p[k] for i in pending for h, p in scored[i] for k, b in enumerate(h.boxes)
            }
            into = scored if self.config.search.paths_to_format and options is not None and options.active else None
            from segocr.formats.decoding import plan as format_plan

            fplan = format_plan(options, self.charset) if self.config.search.format_paths else None
            searched = yield from self._search(
                works, pending, known, paths_into=into, rows_by_mask=rows_by_mask, cleaned=cleaned, fplan=fplan
            )
        if options is not None and options.active:  # a plate format or top-N (segocr.formats)
            formatted = [self._formatted(works[i], scored[i], options) for i in range(len(works))]
            decides = self.config.search is not None and self.config.search.format_paths
            return [_with_search(f, searched.get(i), search_decides=decides) for i, f in enumerate(formatted)]
        return [searched[i] if i in searched else self._prediction(works[i], scored[i]) for i in range(len(works))]

    def _search(
        self,
        works: Sequence[WorkImage],
        which: Sequence[int],
        known: dict[tuple[int, CharBox, str], np.ndarray] | None = None,
        paths_into: list[list[tuple[Hypothesis, np.ndarray]]] | None = None,
        rows_by_mask: Sequence[RowsByMask] | None = None,
        cleaned: Sequence[CleanedByMask] | None = None,
        fplan: FormatPlan | None = None,
    ) -> Generator[np.ndarray, np.ndarray, dict[int, Prediction]]:
        """Read plates ``which`` of ``works`` by the segmentation search: a lattice per
        binarization, every candidate box of every plate through the classifier in one
        batch, then the best path (see :mod:`segocr.segment.search`). ``known``: softmax
        rows of (plate, box, polarity) already classified. ``paths_into``: each plate's
        N best paths are appended to its scored hypotheses there (so a plate format
        decodes the search's segmentations too). ``fplan``: the plate format the search
        reads under (``SearchConfig.format_paths``; :func:`_format_path`); its readings
        then carry ``info["format"]`` and ``info["posteriors"]``. A generator like
        :meth:`_read`."""
        cfg = self.config.search
        assert cfg is not None
        seg_cfg = self.config.segment
        binarizers = cfg.binarizers or seg_cfg.binarizers
        lats: dict[int, list[Lattice]] = {
            i: lattices(
                works[i], binarizers, segment=seg_cfg, config=cfg,
                known=rows_by_mask[i] if rows_by_mask else None, cleaned=cleaned[i] if cleaned else None,
            )
            for i in which
        }
        index: dict[tuple[int, CharBox, str], int] = {}
        for i, ls in lats.items():
            for lat in ls:
                for b in lat.boxes:
                    if (i, b, lat.polarity) not in index and (known is None or (i, b, lat.polarity) not in known):
                        index[(i, b, lat.polarity)] = len(index)
        probs = yield self._crops(works, index)
        if known:
            index.update({key: len(probs) + k for k, key in enumerate(known)})
            probs = np.concatenate([probs, np.stack(list(known.values()))])
        logp = np.log(np.maximum(probs, 1e-9))
        narrow_classes = [self.charset.chars.index(c) for c in cfg.narrow_chars if c in self.charset.chars]
        out: dict[int, Prediction] = {}
        for i, ls in lats.items():
            # The lattices of one plate are searched together (their spans'
            # characters found in one array pass).
            search = partial(
                search_lattices,
                ls,
                [{b: logp[index[(i, b, lat.polarity)]] for b in lat.boxes} for lat in ls],
                noise_index=self.noise_index,
                length_logp=self.config.length_logp,
                unseen_length_logp=self.config.unseen_length_logp,
                narrow_classes=narrow_classes,
                config=cfg,
            )
            ranked = merge_paths(search(), cfg.n_best)
            if not ranked:
                out[i] = Prediction("", 0.0, (), NAME, {"n_segments": 0, "n_hypotheses": len(ls), "search": True})
                continue
            if paths_into is not None:
                for p, pl in ranked:
                    lat = ls[pl]
                    rows = np.exp(np.stack([logp[index[(i, b, lat.polarity)]] for b in p.boxes]))
                    paths_into[i].append((Hypothesis(p.boxes, f"search:{lat.method}", lat.polarity, p.score), rows))
            path, li = ranked[0]
            under: dict[str, object] = {}
            if fplan is not None:
                (path, li), under["format"] = _format_path(search, ranked, len(ls), fplan, cfg)
                rows = logp[[index[(i, b, ls[li].polarity)] for b in path.boxes]]
                under["posteriors"] = np.exp(np.delete(rows, self.noise_index, axis=1)).astype(np.float32)
            sx, sy = works[i].scale
            chars = [
                CharPrediction(self.charset.chars[c], math.exp(lp), b.scaled(sx, sy))
                for c, lp, b in zip(path.classes, path.logps, path.boxes, strict=True)
            ]
            n_best = [("".join(self.charset.chars[c] for c in p.classes), round(p.score, 4)) for p, _ in ranked]
            pred = Prediction.from_chars(
                chars, NAME, n_segments=len(chars), n_hypotheses=len(ls), method=ls[li].method,
                polarity=ls[li].polarity, search=True, n_best=n_best, **under,
            )  # fmt: skip
            if self.config.length_logp:
                factor = self.length_factor(chars)
                pred = replace(pred, confidence=pred.confidence * factor)
            out[i] = pred
        return out

    def _formatted(self, work: WorkImage, scored: list[tuple[Hypothesis, np.ndarray]], options: DecodeOptions) -> Prediction:
        """The reading under ``options`` (:mod:`segocr.formats.decoding`): hypotheses and
        per-box characters chosen together by
        :func:`segocr.recognizers.decode.hypotheses_decode`. Without a format it picks
        the same reading as :meth:`_prediction`."""
        from segocr.formats.decoding import decode_with_format, info_of, plan
        from segocr.recognizers.decode import Decoded, hypotheses_decode

        fplan = plan(options, self.charset)
        chosen: dict[int, int] = {}

        def decode(patterns: Automaton | None) -> Decoded:
            found = hypotheses_decode(
                [p for _, p in scored], noise=self.noise_index, patterns=patterns, length_logp=self._length_logp, topn=options.topn
            )
            if found is None:
                return Decoded((), (), logp=-math.inf)
            chosen[id(found[1])] = found[0]
            return found[1]

        d, fmt = decode_with_format(decode, fplan)
        if not d.indices:
            return Prediction("", 0.0, (), NAME, {"n_segments": 0, "n_hypotheses": len(scored), **({"format": None} if fplan else {})})
        hyp = scored[chosen[id(d)]][0]
        sx, sy = work.scale
        chars = [
            CharPrediction(self.charset.chars[k], c, hyp.boxes[b].scaled(sx, sy)) for k, c, b in zip(d.indices, d.confidences, d.sources)
        ]
        factor = 1.0
        if self.config.length_logp:
            factor = self.length_factor(chars)
        pred = Prediction.from_chars(
            chars, NAME, n_segments=len(chars), n_hypotheses=len(scored), method=hyp.method, polarity=hyp.polarity,
            **info_of(d, self.charset, fplan, fmt, scale=factor),
        )  # fmt: skip
        return replace(pred, confidence=pred.confidence * factor)

    def _prediction(self, work: WorkImage, scored: list[tuple[Hypothesis, np.ndarray]]) -> Prediction:
        best = self._best(scored)
        if best is None:
            return Prediction("", 0.0, (), NAME, {"n_segments": 0, "n_hypotheses": len(scored)})
        _, j, keep = best
        hyp, p = scored[j]
        sx, sy = work.scale
        chars = [
            CharPrediction(self.charset.chars[int(p[k, :-1].argmax())], float(p[k, :-1].max()), hyp.boxes[k].scaled(sx, sy))
            for k in keep
        ]
        pred = Prediction.from_chars(
            chars, NAME, n_segments=len(keep), n_hypotheses=len(scored), method=hyp.method, polarity=hyp.polarity,
            posteriors=p[keep, :-1].astype(np.float32),  # per character, over the charset (segocr.fusion)
        )  # fmt: skip
        # P(plate right) also needs the length right: scale by how plausible the read
        # length is relative to the most common one (1 for the usual length).
        if self.config.length_logp:
            factor = self.length_factor(chars)
            pred = replace(pred, confidence=pred.confidence * factor)
        return pred


#: Fewest images per half for :meth:`SegCNNRecognizer.predict_prepared` to overlap.
OVERLAP_MIN = 4


def _drive(steps: Generator[np.ndarray, np.ndarray, T], classify: Callable[[np.ndarray], np.ndarray]) -> T:
    """Run a reading generator (:meth:`SegCNNRecognizer._read`): ``classify`` every
    batch of crops it yields, send the result back, return what it returns."""
    try:
        crops = next(steps)
        while True:
            crops = steps.send(classify(crops))
    except StopIteration as done:
        return done.value


def _drive_overlapped(gens: Sequence[Generator[np.ndarray, np.ndarray, T]], classify: Callable[[np.ndarray], np.ndarray]) -> list[T]:
    """Run several reading generators, each one's ``classify`` calls in one worker
    thread (in the order asked, one at a time) while this thread advances the others:
    round robin, each generator waiting only for its own last call. Returns each
    generator's result, in order."""
    from concurrent.futures import Future, ThreadPoolExecutor

    results: list[T | None] = [None] * len(gens)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="segocr-classify") as pool:
        waiting: list[tuple[int, Future[np.ndarray]]] = []
        for k, g in enumerate(gens):
            try:
                waiting.append((k, pool.submit(classify, next(g))))
            except StopIteration as done:
                results[k] = done.value
        while waiting:
            k, fut = waiting.pop(0)
            try:
                waiting.append((k, pool.submit(classify, gens[k].send(fut.result()))))
            except StopIteration as done:
                results[k] = done.value
    return results  # type: ignore[return-value]


def _format_path(
    search: Callable[..., list[list[SearchPath]]],
    ranked: list[tuple[SearchPath, int]],
    n_lattices: int,
    fplan: FormatPlan,
    config: SearchConfig,
) -> tuple[tuple[SearchPath, int], str | None]:
    """The search's reading of one plate under ``fplan``: ``search(position_masks=M,
    config=...)`` gives the best paths of every lattice constrained to layout M (L, C),
    for each layout of each candidate format (``config``: the search's, its noise veto
    as ``format_noise_veto`` says); ``ranked`` are the free paths (path, lattice), best
    first. :func:`segocr.formats.decoding.decode_with_format` chooses between the free
    best and the formats' best legal paths by their path scores (the margin, or
    ``auto``'s rule). Returns the chosen (path, lattice) and the format it follows."""
    from segocr.formats.decoding import decode_with_format
    from segocr.recognizers.decode import Decoded

    kept: dict[int, tuple[SearchPath, int]] = {}
    layouts = config.model_copy(update={"noise_veto": config.noise_veto and config.format_noise_veto})

    def decode(aut: Automaton | None) -> Decoded:
        if aut is None:
            best = ranked[0]
        else:
            per_layout = [search(position_masks=m, config=layouts) for m in aut.masks]
            legal = merge_paths([[p for found in per_layout for p in found[li]] for li in range(n_lattices)], 1)
            if not legal:
                return Decoded((), (), logp=-math.inf)
            best = legal[0]
        d = Decoded(best[0].classes, tuple(math.exp(v) for v in best[0].logps), logp=best[0].score)
        kept[id(d)] = best
        return d

    d, fmt = decode_with_format(decode, fplan)
    return kept[id(d)], fmt


def _with_search(formatted: Prediction, searched: Prediction | None, *, search_decides: bool = False) -> Prediction:
    """A reading under decode options, for a plate the search read: where no format
    applied (none asked, or the reading fell back from it), the plain reading is the
    search's, as without options; the top-N stays when it starts with that text.
    ``search_decides``: the search read the plate under the format itself
    (``SearchConfig.format_paths``), so its reading stands, format and posteriors
    included."""
    if searched is None or (formatted.info.get("format") is not None and not search_decides):
        return formatted
    info = {k: v for k, v in searched.info.items()}
    for key in ("format", "posteriors"):
        if key in formatted.info and not search_decides:
            info[key] = formatted.info[key] if key == "format" or formatted.text == searched.text else None
    alts = formatted.info.get("topn")
    if alts:
        info["topn"] = alts if alts[0][0] == searched.text else [(searched.text, searched.confidence)]
    if info.get("posteriors") is None:
        info.pop("posteriors", None)
    return replace(searched, info=info)


@register_recognizer(NAME)
def load_segcnn(weights: str | Path | None = None, device: str = "auto", runtime: str = "auto") -> SegCNNRecognizer:
    """The segcnn recognizer with the shipped weights (or ``weights``), its classifier
    on ``runtime`` (``auto``, ``onnx`` or ``torch``; see :mod:`segocr.runtime`)."""

    def build(card: dict[str, Any]) -> CharCNN:
        from segocr.models.charcnn import CharCNN

        return CharCNN(num_classes=len(Charset(card["charset"])) + 1, **card_model_kwargs(card))

    return load_from_weights(
        NAME, weights, build=build, config_class=SegCNNConfig, make=SegCNNRecognizer, device=device, runtime=runtime
    )


#: The segcnn weights trained on IWT4S alone (``segcnn.pt``), beside the general default.
register_weights_variant(f"{NAME}-iwt4s", load_segcnn)
