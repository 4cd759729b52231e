"""The benchmark harness: every recognizer on the same images, scored the same way.

:func:`evaluate` reads each sample's image once per batch, hands the batch to every
recognizer in turn, times only ``predict`` and scores the readings with
:mod:`segocr.evaluation.metrics`. A sample whose image cannot be read is recorded as a
:class:`SampleFailure` and left out of every figure; the rest still run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from segocr.datasets.base import Dataset, PlateSample, load_dataset
from segocr.errors import DatasetError, ImageReadError, SegocrError
from segocr.evaluation import metrics as M
from segocr.io import CHUNK_PIXEL_BUDGET
from segocr.names import printable
from segocr.recognizers.base import (
    Prediction,
    Recognizer,
    default_benchmark_names,
    recognizer_names,
)

if TYPE_CHECKING:
    from segocr.formats.decoding import DecodeOptions

#: The dataset the benchmark prefers, and the embedded one it falls back to.
PREFERRED_DATASET = "iwt4s"
FALLBACK_DATASET = "synthetic"

#: Label of the samples whose ``subset`` is empty, when others have one.
NO_SUBSET = "(none)"
#: The row of the fused readings of each track (samples sharing ``meta["track_id"]``).
TRACKS = "tracks (fused)"


@dataclass(frozen=True)
class SampleFailure:
    """A sample left out because its image could not be read."""

    id: str
    path: str | None
    error: str


@dataclass(frozen=True)
class Metrics:
    """The figures of one model on one set of plates (all of them, or one subset).

    Accuracies, CER and ECE are fractions (``nan`` when ``n`` is 0); ``ci_low`` and
    ``ci_high`` bound the 95 % bootstrap interval of ``plate_accuracy``.
    ``segmentation`` is set when the predictions carry ``info["n_segments"]``.
    """

    n: int
    plate_accuracy: float
    ci_low: float
    ci_high: float
    cer: float
    char_accuracy: float
    mean_confidence: float
    ece: float
    risk_coverage: tuple[M.RiskCoveragePoint, ...] = ()
    segmentation: M.SegmentationAttribution | None = None


def n_segments_of(prediction: Prediction) -> int | None:
    """``prediction.info["n_segments"]`` as an int, or ``None`` when absent.

    >>> n_segments_of(Prediction("AB", 1.0, info={"n_segments": 2})), n_segments_of(Prediction("", 0.0))
    (2, None)
    """
    k = prediction.info.get("n_segments")
    return int(k) if k is not None else None


def score(
    truths: Sequence[str], predictions: Sequence[Prediction], *, n_bootstrap: int = 2000, seed: int = 0
) -> Metrics:
    """Score ``predictions`` against ``truths`` (parallel sequences).

    >>> m = score(["AB1", "CD2"], [Prediction("AB1", 0.9), Prediction("CD7", 0.6)])
    >>> m.n, m.plate_accuracy, round(m.cer, 3), round(m.mean_confidence, 2)
    (2, 0.5, 0.167, 0.75)
    """
    texts = [p.text for p in predictions]
    conf = [p.confidence for p in predictions]
    correct = [t == p for t, p in zip(truths, texts, strict=True)]
    seg = [
        (t, p, k)
        for t, p, k in zip(truths, texts, map(n_segments_of, predictions), strict=True)
        if k is not None
    ]
    attribution = None
    if seg:
        ts, ps, ks = zip(*seg, strict=True)
        attribution = M.segmentation_attribution(ts, ps, ks)
    low, high = M.bootstrap_ci(correct, n_resamples=n_bootstrap, seed=seed)
    return Metrics(
        n=len(truths),
        plate_accuracy=M.plate_accuracy(truths, texts),
        ci_low=low,
        ci_high=high,
        cer=M.character_error_rate(truths, texts),
        char_accuracy=M.char_accuracy(truths, texts),
        mean_confidence=float(np.mean(conf)) if conf else float("nan"),
        ece=M.expected_calibration_error(conf, correct),
        risk_coverage=tuple(M.risk_coverage(conf, correct)),
        segmentation=attribution,
    )


@dataclass(frozen=True)
class ModelResult:
    """One recognizer's readings (parallel to :attr:`BenchmarkResult.samples`), the time
    spent in its ``predict`` and its figures, overall and per subset."""

    name: str
    predictions: tuple[Prediction, ...]
    seconds: float
    overall: Metrics
    subsets: Mapping[str, Metrics] = field(default_factory=dict)
    confusions: tuple[tuple[str, str, int], ...] = ()

    @property
    def plates_per_s(self) -> float:
        """Throughput of ``predict`` alone (image reading excluded)."""
        n = len(self.predictions)
        return n / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class BenchmarkResult:
    """What :func:`evaluate` measured. ``samples`` are the scored samples (image read);
    ``failures`` the ones left out; ``models`` maps each recognizer's name to its
    :class:`ModelResult`, in the order given."""

    samples: tuple[PlateSample, ...]
    failures: tuple[SampleFailure, ...]
    models: Mapping[str, ModelResult]

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    @property
    def subsets(self) -> list[str]:
        """The subset names reported apart (empty when no sample names one)."""
        return subset_names(self.samples)


def subset_names(samples: Sequence[PlateSample]) -> list[str]:
    """Sorted subset names of ``samples``; empty when none has a subset, and
    :data:`NO_SUBSET` standing for the unnamed ones when only some have one.

    >>> subset_names([PlateSample("a", "A", subset="hdr"), PlateSample("b", "B")])
    ['(none)', 'hdr']
    """
    names = {s.subset for s in samples}
    if names <= {""}:
        return []
    return sorted(n or NO_SUBSET for n in names)


def _subset_of(sample: PlateSample) -> str:
    return sample.subset or NO_SUBSET


def evaluate(
    recognizers: Mapping[str, Recognizer],
    samples: Sequence[PlateSample],
    *,
    batch_size: int = 64,
    progress: bool = True,
    n_bootstrap: int = 2000,
    seed: int = 0,
    options: DecodeOptions | None = None,
    fusion: bool = True,
) -> BenchmarkResult:
    """Run every recognizer on the images of ``samples`` and score them.

    ``options`` decode under a plate format (and top-N; see
    :mod:`segocr.formats.decoding`). With ``fusion``, when samples share a
    ``meta["track_id"]`` (IWT4S: the normal and the HDR capture of one plate), each
    recognizer's readings of a track are fused (:mod:`segocr.fusion`) and scored
    per track in the :data:`TRACKS` row of ``subsets``.

    Images are read once, ``batch_size`` at a time (uint8 RGB (H, W, 3)), and every
    recognizer sees the same batch (smaller ones where the batch's pixels would pass
    :data:`segocr.io.CHUNK_PIXEL_BUDGET`). Before its first timed batch each recognizer gets
    one untimed warm-up call on one image, so lazy set-up is not billed as reading
    time. A sample whose image raises :class:`ImageReadError` (or has no pixels at all)
    becomes a :class:`SampleFailure`. ``progress`` shows a tqdm bar on stderr.

    >>> class Upper:
    ...     name = "upper"
    ...     def predict(self, images):
    ...         return [Prediction("AB1", 0.9) for _ in images]
    >>> img = np.zeros((20, 60, 3), np.uint8)
    >>> r = evaluate({"upper": Upper()}, [PlateSample("0", "AB1", image=img),
    ...              PlateSample("1", "AB2", image=img)], progress=False)
    >>> r.models["upper"].overall.plate_accuracy, r.n_failed
    (0.5, 0)
    """
    if not recognizers:
        raise ValueError("evaluate needs at least one recognizer")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    track_ids = [s.meta.get("track_id") for s in samples]
    fuse_tracks = fusion and len({t for t in track_ids if t}) < sum(1 for t in track_ids if t)
    if options is not None and options.active:
        from segocr.formats.decoding import FormattedRecognizer

        recognizers = {name: FormattedRecognizer(rec, options) for name, rec in recognizers.items()}  # type: ignore[misc]
    kept: list[PlateSample] = []
    failures: list[SampleFailure] = []
    preds: dict[str, list[Prediction]] = {name: [] for name in recognizers}
    seconds: dict[str, float] = dict.fromkeys(recognizers, 0.0)
    warmed: set[str] = set()

    def recognize(images: list[np.ndarray]) -> None:
        for name, rec in recognizers.items():
            if name not in warmed:
                rec.predict(images[:1])
                warmed.add(name)
            t0 = time.perf_counter()
            out = rec.predict(images)
            seconds[name] += time.perf_counter() - t0
            if len(out) != len(images):
                raise RuntimeError(f"recognizer {name!r} returned {len(out)} predictions for {len(images)} images")
            preds[name].extend(out)

    with tqdm(total=len(samples), unit="plate", desc="benchmark", disable=not progress) as bar:
        for start in range(0, len(samples), batch_size):
            images: list[np.ndarray] = []
            pixels = 0
            for sample in samples[start : start + batch_size]:
                try:
                    image = sample.load()
                except (ImageReadError, DatasetError) as err:
                    path = printable(sample.path) if sample.path is not None else None
                    failures.append(SampleFailure(printable(sample.id), path, printable(str(err))))
                    continue
                size = image.shape[0] * image.shape[1]
                if images and pixels + size > CHUNK_PIXEL_BUDGET:  # recognize what is held first
                    recognize(images)
                    images, pixels = [], 0
                images.append(image)
                pixels += size
                kept.append(sample)
            if images:
                recognize(images)
            bar.update(min(batch_size, len(samples) - start))

    truths = [s.text for s in kept]
    subsets = subset_names(kept)
    models: dict[str, ModelResult] = {}
    for name in recognizers:
        p = preds[name]
        per_subset = {}
        for sub in subsets:
            idx = [i for i, s in enumerate(kept) if _subset_of(s) == sub]
            per_subset[sub] = score(
                [truths[i] for i in idx], [p[i] for i in idx], n_bootstrap=n_bootstrap, seed=seed
            )
        if fuse_tracks:
            per_subset[TRACKS] = _track_metrics(kept, p, recognizers[name], options, n_bootstrap=n_bootstrap, seed=seed)
        models[name] = ModelResult(
            name=name,
            predictions=tuple(p),
            seconds=seconds[name],
            overall=score(truths, p, n_bootstrap=n_bootstrap, seed=seed),
            subsets=per_subset,
            confusions=tuple(M.confusion_pairs(truths, [x.text for x in p])),
        )
    return BenchmarkResult(tuple(kept), tuple(failures), models)


def _track_metrics(
    samples: Sequence[PlateSample],
    predictions: Sequence[Prediction],
    recognizer: Recognizer,
    options: DecodeOptions | None,
    *,
    n_bootstrap: int,
    seed: int,
) -> Metrics:
    """Fuse the readings of each track (samples sharing ``meta["track_id"]``; a sample
    without one is a track of its own) and score one fused reading per track."""
    from segocr.fusion import fuse_with_options

    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(str(s.meta.get("track_id") or s.id), []).append(i)
    charset = getattr(recognizer, "charset", None)
    truths, fused = [], []
    for idx in groups.values():
        truths.append(samples[idx[0]].text)
        preds = [predictions[i] for i in idx]
        if charset is None:
            fused.append(max(preds, key=lambda q: q.confidence))
        else:
            fused.append(fuse_with_options(preds, charset, options))
    return score(truths, fused, n_bootstrap=n_bootstrap, seed=seed)


# --------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class DatasetChoice:
    """The dataset a benchmark runs on; ``fallback_reason`` says why the preferred one
    was not used (``None`` when it was, or when the caller named the dataset)."""

    dataset: Dataset
    fallback_reason: str | None = None


def choose_dataset(name: str | None = None, data_dir: Path | None = None) -> DatasetChoice:
    """Open ``name`` (from ``data_dir`` if given). With neither given, open
    :data:`PREFERRED_DATASET` if its data can be found, else the embedded
    :data:`FALLBACK_DATASET`, saying why. A named dataset or an explicit ``data_dir``
    never falls back: its absence raises :class:`DatasetError`."""
    if name is not None or data_dir is not None:
        return DatasetChoice(load_dataset(name or PREFERRED_DATASET, data_dir))
    try:
        return DatasetChoice(load_dataset(PREFERRED_DATASET))
    except DatasetError as err:
        return DatasetChoice(load_dataset(FALLBACK_DATASET), fallback_reason=str(err))


@dataclass(frozen=True)
class LoadedRecognizers:
    """Recognizers ready to run (name -> recognizer, in the order asked), their weight
    cards, and the ones skipped (name -> why)."""

    recognizers: Mapping[str, Recognizer]
    cards: Mapping[str, Any]
    skipped: Mapping[str, str]


def load_recognizers(
    names: Sequence[str] | None = None, *, device: str = "auto", runtime: str = "auto"
) -> LoadedRecognizers:
    """Load each of ``names`` (default: every registered recognizer but the
    source-specific ones, :func:`~segocr.recognizers.base.default_benchmark_names`) with its shipped
    weights via :func:`segocr.api.load_recognizer`. A name that is not registered, or
    whose weights are missing or unusable, is skipped with the reason, not raised.
    A recognizer's card is its ``card`` attribute when it has one."""
    from segocr.api import load_recognizer

    registered = recognizer_names()
    recs: dict[str, Recognizer] = {}
    cards: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in names if names is not None else default_benchmark_names():
        if name in recs or name in skipped:
            continue
        if name not in registered:
            skipped[name] = f"not a registered recognizer (registered: {', '.join(registered) or 'none'})"
            continue
        try:
            rec = load_recognizer(name, device=device, runtime=runtime)
        except (SegocrError, FileNotFoundError) as err:
            skipped[name] = f"no usable weights ({err})"
            continue
        except NotImplementedError as err:
            skipped[name] = f"not available yet ({err})" if str(err) else "not available yet"
            continue
        recs[name] = rec
        cards[name] = getattr(rec, "card", None)
    return LoadedRecognizers(recs, cards, skipped)
