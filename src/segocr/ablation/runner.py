"""Running an ablation: every variant on the same plates, working images and
identical configs shared, each compared with the base plate by plate. See
:mod:`segocr.ablation`."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segocr.ablation.grid import Variant, prepare_hash
from segocr.charset import Charset
from segocr.datasets.base import PlateSample
from segocr.errors import DatasetError, ImageReadError
from segocr.evaluation import metrics as M
from segocr.evaluation.harness import Metrics, SampleFailure, score
from segocr.names import printable
from segocr.recognizers.base import Prediction
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer
from segocr.segment.characters import SegmentConfig, WorkImage

# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class RetrainSettings:
    """How ``--retrain`` trains a classifier per variant: on ``train_samples`` (the
    train split), for ``charset``, with ``train_config`` (its ``recognizer`` is
    replaced by each variant's config)."""

    train_samples: Sequence[PlateSample]
    charset: Charset
    train_config: Any  # SegCNNTrainConfig (imported lazily: training pulls in more)


@dataclass(frozen=True)
class PairedComparison:
    """A variant against the base on the same plates: ``difference`` is its plate
    accuracy minus the base's, ``low``/``high`` the paired bootstrap interval of it,
    ``p_value`` the exact McNemar test; ``base_only`` plates only the base read,
    ``variant_only`` plates only the variant read."""

    difference: float
    low: float
    high: float
    p_value: float
    base_only: int
    variant_only: int


def compare_paired(
    base_correct: Sequence[bool] | np.ndarray,
    variant_correct: Sequence[bool] | np.ndarray,
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """Compare per-plate correctness flags of a variant with the base's.

    >>> c = compare_paired([True, True, False, False], [True, True, False, True])
    >>> c.difference, c.base_only, c.variant_only, c.p_value
    (0.25, 0, 1, 1.0)
    """
    a = np.asarray(base_correct, dtype=bool)
    b = np.asarray(variant_correct, dtype=bool)
    low, high = M.paired_bootstrap_ci(a, b, n_resamples=n_bootstrap, seed=seed)
    only_a, only_b = M.discordant_pairs(a, b)
    diff = float(b.mean() - a.mean()) if a.size else math.nan
    return PairedComparison(diff, low, high, M.mcnemar_exact(a, b), only_a, only_b)


@dataclass(frozen=True)
class VariantResult:
    """One variant's readings (parallel to :attr:`AblationResult.samples`), figures and
    comparison with the base (``None`` for the base itself). ``same_as`` names an
    earlier variant with the identical config whose readings these are; ``seconds``
    is the time spent reading (and training, with retrain) that config."""

    variant: Variant
    predictions: tuple[Prediction, ...]
    metrics: Metrics
    comparison: PairedComparison | None
    seconds: float
    same_as: str | None = None
    training: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.variant.name


@dataclass(frozen=True)
class AblationResult:
    """Every variant on the same scored ``samples`` (grid order, base first), the
    samples left out because their image could not be read, and what was shared:
    ``n_preparations`` distinct working-image sets and ``n_configs`` distinct configs
    were computed for ``len(variants)`` variants."""

    samples: tuple[PlateSample, ...]
    failures: tuple[SampleFailure, ...]
    variants: tuple[VariantResult, ...]
    n_preparations: int
    n_configs: int
    retrain: bool
    seconds: float

    @property
    def base(self) -> VariantResult:
        return self.variants[0]

    def ranked(self) -> list[VariantResult]:
        """Variants by plate accuracy, best first (then lower CER, then grid order)."""

        def key(item: tuple[int, VariantResult]) -> tuple[float, float, int]:
            i, r = item
            acc = r.metrics.plate_accuracy
            cer = r.metrics.cer
            return (
                -(acc if not math.isnan(acc) else -1.0),
                cer if not math.isnan(cer) else math.inf,
                i,
            )

        return [r for _, r in sorted(enumerate(self.variants), key=key)]


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (restored afterwards); ``None`` leaves it."""
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _prepare_all(images: Sequence[np.ndarray], segment: SegmentConfig) -> list[WorkImage]:
    from segocr.segment.characters import prepare

    return [prepare(img, config=segment) for img in images]


@dataclass(frozen=True)
class _Outcome:
    predictions: list[Prediction]
    seconds: float
    training: dict[str, Any] | None


def _read_config(
    config: SegCNNConfig,
    works: Sequence[WorkImage],
    weights: Path | None,
    retrain: RetrainSettings | None,
    threads: int | None,
    fmt: str | None = None,
) -> _Outcome:
    """Read the prepared ``works`` with ``config``: the classifier of ``weights``, or one
    trained for ``config`` when ``retrain`` is given (runs in a joblib worker)."""
    from segocr.recognizers.segcnn import SegCNNRecognizer

    with _torch_threads(threads):
        t0 = time.perf_counter()
        facts: dict[str, Any] | None = None
        if retrain is not None:
            from segocr.training.segcnn import train_segcnn

            cfg = retrain.train_config.model_copy(update={"recognizer": config})
            trained, facts = train_segcnn(
                retrain.train_samples, retrain.charset, cfg, log=lambda _msg: None
            )
            facts.pop("epochs", None)
            # Keep the trained length prior, everything else is the variant's.
            rec = SegCNNRecognizer(trained.model, trained.charset, trained.config, device="cpu")
        else:
            if weights is None:
                raise ValueError("either weights or retrain settings are needed")
            shipped = load_base(weights)
            rec = SegCNNRecognizer(shipped.model, shipped.charset, config, device="cpu")
        if fmt is not None:
            from segocr.formats.decoding import DecodeOptions

            preds = rec.predict_prepared(works, options=DecodeOptions(format=fmt))
        else:
            preds = rec.predict_prepared(works)
        return _Outcome(preds, time.perf_counter() - t0, facts)


def load_base(weights: Path) -> SegCNNRecognizer:
    """The segcnn recognizer of weight file ``weights`` (on the CPU): its card's config
    is the usual base, its classifier the one variants keep."""
    from segocr.recognizers.segcnn import SegCNNRecognizer, load_segcnn

    rec = load_segcnn(weights, device="cpu", runtime="torch")  # variants reuse its torch module
    assert isinstance(rec, SegCNNRecognizer)
    return rec


def load_images(
    samples: Sequence[PlateSample],
) -> tuple[list[PlateSample], list[np.ndarray], list[SampleFailure]]:
    """Decode every sample's image once: (the readable samples, their uint8 RGB
    images, the failures)."""
    kept: list[PlateSample] = []
    images: list[np.ndarray] = []
    failures: list[SampleFailure] = []
    for s in samples:
        try:
            img = s.load()
        except (ImageReadError, DatasetError) as err:
            path = printable(s.path) if s.path is not None else None
            failures.append(SampleFailure(printable(s.id), path, printable(str(err))))
            continue
        kept.append(s)
        images.append(img)
    return kept, images, failures


def with_images(samples: Sequence[PlateSample]) -> list[PlateSample]:
    """``samples`` with their pixels decoded into ``image`` (so workers and repeated
    training runs never decode again); unreadable samples are dropped."""
    return [dataclasses.replace(s, image=s.load()) for s in load_images(samples)[0]]


def run_ablation(
    variants: Sequence[Variant],
    samples: Sequence[PlateSample],
    *,
    weights: Path | None,
    retrain: RetrainSettings | None = None,
    jobs: int = 1,
    threads_per_job: int | None = 1,
    n_bootstrap: int = 2000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> AblationResult:
    """Read ``samples`` with every variant (the first is the base) and compare each
    with the base. ``weights`` is the segcnn weight file whose classifier every
    variant keeps (ignored with ``retrain``). ``jobs`` joblib workers (processes when
    above 1) each run torch with ``threads_per_job`` threads. ``progress`` gets a
    line as each config finishes."""
    from joblib import Parallel, delayed

    from segocr.pool import stop_workers, watched_pool

    if not variants:
        raise ValueError("run_ablation needs at least the base variant")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names repeat: {names}")
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    kept, images, failures = load_images(samples)
    if not kept:
        raise DatasetError("no sample's image could be read")

    # Distinct preparations, then distinct configs: nothing is computed twice.
    preps: dict[str, SegmentConfig] = {}
    configs: dict[str, SegCNNConfig] = {}
    formats: dict[str, str | None] = {}
    first_with: dict[str, str] = {}
    for v in variants:
        preps.setdefault(v.prepare_key, v.config.segment)
        configs.setdefault(v.key, v.config)
        formats.setdefault(v.key, v.format)
        first_with.setdefault(v.key, v.name)

    if jobs != 1:
        stop_workers()  # fresh workers: see segocr.batch._read_joblib
    with watched_pool(), Parallel(n_jobs=jobs) as parallel:
        prep_keys = list(preps)
        prepared = parallel(delayed(_prepare_all)(images, preps[k]) for k in prep_keys)
        works = dict(zip(prep_keys, prepared, strict=True))
        say(f"prepared {len(prep_keys)} distinct working-image sets of {len(kept)} plates")
        keys = list(configs)
        outcomes: dict[str, _Outcome] = {}
        calls = (
            delayed(_read_config)(
                configs[k],
                works[prepare_hash(configs[k].segment)],
                weights,
                retrain,
                threads_per_job,
                formats[k],
            )
            for k in keys
        )
        for k, outcome in zip(keys, parallel(calls), strict=True):
            outcomes[k] = outcome
            say(f"{first_with[k]}: {outcome.seconds:.1f}s")

    truths = [s.text for s in kept]
    base_correct: list[bool] | None = None
    results: list[VariantResult] = []
    for v in variants:
        out = outcomes[v.key]
        preds = tuple(out.predictions)
        correct = [p.text == t for p, t in zip(preds, truths, strict=True)]
        comparison = None
        if base_correct is None:
            base_correct = correct
        else:
            comparison = compare_paired(base_correct, correct, n_bootstrap=n_bootstrap, seed=seed)
        same = first_with[v.key]
        results.append(
            VariantResult(
                variant=v,
                predictions=preds,
                metrics=score(truths, preds, n_bootstrap=n_bootstrap, seed=seed),
                comparison=comparison,
                seconds=out.seconds,
                same_as=same if same != v.name else None,
                training=out.training,
            )
        )
    return AblationResult(
        samples=tuple(kept),
        failures=tuple(failures),
        variants=tuple(results),
        n_preparations=len(preps),
        n_configs=len(configs),
        retrain=retrain is not None,
        seconds=time.perf_counter() - t0,
    )


