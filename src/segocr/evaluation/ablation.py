"""Ablation studies of the segcnn recognizer: a base config, named variants, one split.

A *grid* (YAML, validated by :class:`AblationGrid`) names variants of a base
:class:`~segocr.recognizers.segcnn.SegCNNConfig` (by default the one in the weight
card of the ablated weights). Each variant is a set of overrides:

``set``
    dotted paths into the config and their new values; a list item is picked by its
    index or by its ``op`` / ``method`` name (``segment.preprocess.steps.clahe.clip_limit``);
``remove_steps``
    preprocessing steps (by ``op``) dropped from ``segment.preprocess``.

:func:`resolve_grid` turns a grid into :class:`Variant` objects (fully validated
configs); any unknown step, op, key or value is a :class:`~segocr.errors.ConfigError`
naming the variant. :func:`run_ablation` reads every variant on the same plates:

1. every image is decoded once;
2. the working images (:func:`segocr.segment.characters.prepare`: resize,
   preprocessing, band, polarity) are computed once per distinct preparation, keyed
   by :func:`prepare_hash` (the segmentation config less what only the hypothesis
   search reads, :data:`HYPOTHESIS_ONLY_FIELDS`), and shared by every variant with
   that preparation;
3. variants with identical configs are read once;
4. the distinct configs run in parallel (joblib), with the shipped classifier or,
   with ``retrain``, a classifier retrained per variant on the train split;
5. each is scored by :func:`segocr.evaluation.harness.score` and compared with the
   base, plate by plate: a paired bootstrap interval of the accuracy difference and
   an exact McNemar p-value.

:func:`write_ablation` writes ``ablation.md``, ``ablation.json`` (every resolved
config and figure), ``predictions.csv`` and ``ablation.png`` (a bar chart with
intervals).

>>> grid = parse_grid({"variants": {"no_clahe": {"remove_steps": ["clahe"]}}})
>>> [(v.name, [s.op for s in v.config.segment.preprocess.steps]) for v in resolve_grid(grid, SegCNNConfig())]
[('base', ['gray', 'clahe', 'unsharp']), ('no_clahe', ['gray', 'unsharp'])]
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segocr.charset import Charset
from segocr.datasets.base import PlateSample
from segocr.errors import ConfigError, DatasetError, ImageReadError
from segocr.evaluation import metrics as M
from segocr.evaluation.harness import Metrics, SampleFailure, score
from segocr.names import printable
from segocr.preprocess import STEPS
from segocr.recognizers.base import Prediction
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer
from segocr.segment.characters import SegmentConfig, WorkImage

#: The name of the base row; no variant may take it.
BASE = "base"

#: :class:`SegmentConfig` fields that only the hypothesis search reads, never
#: :func:`segocr.segment.characters.prepare`; nor does it read the binarizers after
#: the first. Everything else (and any field added later) is part of the preparation
#: key, so a variant can share working images only when that is safe;
#: ``tests/test_ablation.py`` checks the list by changing each of these.
HYPOTHESIS_ONLY_FIELDS: tuple[str, ...] = (
    "split_width_ratio",
    "min_piece_height",
    "round_piece_height",
    "min_char_width",
    "layout",
)

#: The grid shipped with the package (``src/segocr/configs/ablation_default.yaml``).
DEFAULT_GRID = "ablation_default.yaml"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


# --------------------------------------------------------------------------- grid


class Overrides(BaseModel):
    """What a variant changes in the base config (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Shown in the table instead of the generated list of changes.
    description: str = ""
    #: Steps (by ``op``) removed from ``segment.preprocess.steps``.
    remove_steps: tuple[str, ...] = ()
    #: Dotted path into :class:`SegCNNConfig` -> new value (applied before removals).
    set: dict[str, Any] = Field(default_factory=dict)

    @field_validator("remove_steps")
    @classmethod
    def _known_steps(cls, ops: tuple[str, ...]) -> tuple[str, ...]:
        for op in ops:
            if op not in STEPS:
                raise ValueError(f"unknown step {op!r}; valid steps: {', '.join(STEPS)}")
        if len(set(ops)) != len(ops):
            raise ValueError("a step is listed twice")
        return ops

    @field_validator("set")
    @classmethod
    def _known_roots(cls, paths: dict[str, Any]) -> dict[str, Any]:
        for path in paths:
            parts = path.split(".")
            if not all(parts):
                raise ValueError(f"{path!r} is not a dotted path")
            if parts[0] not in SegCNNConfig.model_fields:
                raise ValueError(
                    f"unknown key {parts[0]!r} in {path!r}; valid keys: {', '.join(SegCNNConfig.model_fields)}"
                )
        return paths

    def summary(self) -> str:
        """The changes in one line: ``-op`` per removed step, ``path=value`` per setting.

        >>> Overrides(remove_steps=("clahe",), set={"segment.work_height": 48}).summary()
        '-clahe; segment.work_height=48'
        """
        parts = [f"-{op}" for op in self.remove_steps]
        parts += [f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in self.set.items()]
        return "; ".join(parts)


class AblationGrid(BaseModel):
    """A grid: overrides making the base (usually none), named variants, and the
    training options ``--retrain`` uses (:class:`SegCNNTrainConfig` fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    base: Overrides = Overrides()
    variants: dict[str, Overrides] = Field(min_length=1)
    train: dict[str, Any] = Field(default_factory=dict)

    @field_validator("variants")
    @classmethod
    def _names(cls, variants: dict[str, Overrides]) -> dict[str, Overrides]:
        for name in variants:
            if name == BASE:
                raise ValueError(f"{BASE!r} names the base row; give the variant another name")
            if not _NAME.match(name):
                raise ValueError(f"variant name {name!r}: use letters, digits and _ . + -")
        return variants

    @field_validator("train")
    @classmethod
    def _train_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        from segocr.training.segcnn import SegCNNTrainConfig

        if "recognizer" in options:
            raise ValueError("'recognizer' comes from each variant; set it in the variants")
        SegCNNTrainConfig.model_validate(options)
        return options


def _format_errors(exc: ValidationError) -> str:
    """One line per pydantic error; an error inside a variant names the variant."""
    lines = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if len(loc) >= 2 and loc[0] == "variants":
            where = f"variant {loc[1]!r}" + (f": {'.'.join(loc[2:])}" if loc[2:] else "")
        else:
            where = ".".join(loc) or "grid"
        shown = err["type"] != "missing" and not isinstance(err["input"], dict)
        got = f" (got {err['input']!r})" if shown else ""
        lines.append(f"{where}: {msg}{got}")
    return "\n".join(lines)


def parse_grid(data: Any, *, source: str = "grid") -> AblationGrid:
    """Validate a grid given as plain data (what the YAML holds); a
    :class:`ConfigError` names ``source`` and the variant at fault.

    >>> parse_grid({"variants": {"x": {"remove_steps": ["clahee"]}}})
    Traceback (most recent call last):
    ...
    segocr.errors.ConfigError: grid: invalid ablation grid:
    variant 'x': remove_steps: unknown step 'clahee'; valid steps: gray, clahe, unsharp, denoise, resize (got ['clahee'])
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: an ablation grid is a mapping with 'variants', got {type(data).__name__}"
        )
    try:
        return AblationGrid.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid ablation grid:\n{_format_errors(exc)}") from None


def load_grid(path: Path | str | None = None) -> AblationGrid:
    """Read and validate a YAML grid; ``None`` reads the shipped default grid."""
    import yaml

    if path is None:
        text = (
            resources.files("segocr").joinpath("configs", DEFAULT_GRID).read_text(encoding="utf-8")
        )
        source = f"src/segocr/configs/{DEFAULT_GRID}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the grid ({exc})") from None
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from None
    return parse_grid(data, source=source)


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """A resolved variant: its name, the full config it runs with, and what it
    changes relative to the base (``changes``; empty for the base)."""

    name: str
    config: SegCNNConfig
    changes: str = ""
    description: str = ""

    @property
    def label(self) -> str:
        """The description, else the changes, else ``(base config)``."""
        return self.description or self.changes or "(base config)"

    @property
    def key(self) -> str:
        """Hash of the whole config: equal keys read identically."""
        return config_hash(self.config)

    @property
    def prepare_key(self) -> str:
        """Hash of what the working images depend on (:func:`prepare_hash`)."""
        return prepare_hash(self.config.segment)


def config_hash(config: BaseModel) -> str:
    """A short sha256 of a pydantic config's JSON form.

    >>> config_hash(SegCNNConfig()) == config_hash(SegCNNConfig.model_validate(SegCNNConfig().model_dump()))
    True
    """
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def prepare_hash(segment: SegmentConfig) -> str:
    """A short sha256 of what ``prepare`` may read in ``segment``: every field except
    :data:`HYPOTHESIS_ONLY_FIELDS`, and of the binarizers only the first. Equal hashes
    give equal working images.

    >>> a = SegmentConfig()
    >>> prepare_hash(a) == prepare_hash(a.model_copy(update={"split_width_ratio": 2.0}))
    True
    >>> prepare_hash(a) == prepare_hash(a.model_copy(update={"work_height": 48}))
    False
    """
    data = segment.model_dump(mode="json", exclude=set(HYPOTHESIS_ONLY_FIELDS))
    data["binarizers"] = data["binarizers"][:1]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _list_index(items: list[Any], part: str, where: str, name: str) -> int:
    if re.fullmatch(r"-?\d+", part):
        i = int(part)
        if not -len(items) <= i < len(items):
            raise ConfigError(f"variant {name!r}: {where} has {len(items)} items, no index {i}")
        return i % len(items)
    names = [el.get("op", el.get("method")) if isinstance(el, dict) else None for el in items]
    hits = [i for i, n in enumerate(names) if n == part]
    listed = ", ".join(str(n) for n in names if n is not None) or "nothing named"
    if not hits:
        raise ConfigError(f"variant {name!r}: {where} has no item {part!r} (it has: {listed})")
    if len(hits) > 1:
        raise ConfigError(
            f"variant {name!r}: {where} has {len(hits)} items named {part!r}; pick one by index ({', '.join(map(str, hits))})"
        )
    return hits[0]


def _set_path(data: dict[str, Any], path: str, value: Any, name: str) -> None:
    """Set ``path`` (dotted) in the plain-data config ``data`` in place."""
    node: Any = data
    parts = path.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the config"
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                valid = ", ".join(map(str, node)) or "none"
                raise ConfigError(
                    f"variant {name!r}: unknown key {part!r} in {where} (valid keys: {valid})"
                )
            key: Any = part
        elif isinstance(node, list):
            key = _list_index(node, part, where, name)
        else:
            raise ConfigError(
                f"variant {name!r}: {where} is a value ({node!r}), it has no {part!r}"
            )
        if last:
            node[key] = copy.deepcopy(value)
        else:
            node = node[key]


def apply_overrides(config: SegCNNConfig, overrides: Overrides, *, name: str) -> SegCNNConfig:
    """``config`` with ``overrides`` applied (settings first, then step removals) and
    validated again; every problem is a :class:`ConfigError` naming ``name``.

    >>> cfg = apply_overrides(SegCNNConfig(), Overrides(set={"segment.work_height": 48}), name="h48")
    >>> cfg.segment.work_height
    48
    >>> apply_overrides(SegCNNConfig(), Overrides(set={"segment.work_height": 4}), name="h4")
    Traceback (most recent call last):
    ...
    segocr.errors.ConfigError: variant 'h4': invalid config:
    segment.work_height: Input should be greater than or equal to 16 (got 4)
    """
    data = config.model_dump(mode="json")
    for path, value in overrides.set.items():
        _set_path(data, path, value, name)
    steps = data["segment"]["preprocess"]["steps"]
    for op in overrides.remove_steps:
        kept = [s for s in steps if not (isinstance(s, dict) and s.get("op") == op)]
        if len(kept) == len(steps):
            have = ", ".join(str(s.get("op")) for s in steps if isinstance(s, dict)) or "no steps"
            raise ConfigError(
                f"variant {name!r}: remove_steps: the pipeline has no {op!r} step (it has: {have})"
            )
        steps = kept
    data["segment"]["preprocess"]["steps"] = steps
    try:
        return SegCNNConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            got = "" if isinstance(err["input"], dict) else f" (got {err['input']!r})"
            lines.append(f"{'.'.join(map(str, err['loc']))}: {err['msg']}{got}")
        raise ConfigError(f"variant {name!r}: invalid config:\n" + "\n".join(lines)) from None


def resolve_grid(grid: AblationGrid, base: SegCNNConfig) -> list[Variant]:
    """The base (``base`` with the grid's base overrides) followed by every variant
    applied to it, in grid order. Validates everything before anything runs."""
    base_cfg = apply_overrides(base, grid.base, name=BASE)
    out = [Variant(BASE, base_cfg, grid.base.summary(), grid.base.description)]
    for name, ov in grid.variants.items():
        out.append(
            Variant(name, apply_overrides(base_cfg, ov, name=name), ov.summary(), ov.description)
        )
    return out


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
    first_with: dict[str, str] = {}
    for v in variants:
        preps.setdefault(v.prepare_key, v.config.segment)
        configs.setdefault(v.key, v.config)
        first_with.setdefault(v.key, v.name)

    with Parallel(n_jobs=jobs) as parallel:
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


# --------------------------------------------------------------------------- report


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def ablation_frame(result: AblationResult) -> pd.DataFrame:
    """One numeric row per variant, best plate accuracy first: ``variant, label, n,
    plate_accuracy, ci_low, ci_high, cer, seg_count_accuracy, diff, diff_low,
    diff_high, p_value, base_only, variant_only, same_as, seconds`` (comparison
    columns ``nan`` on the base row)."""
    rows = []
    for r in result.ranked():
        m, c = r.metrics, r.comparison
        rows.append(
            {
                "variant": r.name,
                "label": r.variant.label,
                "n": m.n,
                "plate_accuracy": m.plate_accuracy,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "cer": m.cer,
                "seg_count_accuracy": m.segmentation.count_accuracy if m.segmentation else math.nan,
                "diff": c.difference if c else math.nan,
                "diff_low": c.low if c else math.nan,
                "diff_high": c.high if c else math.nan,
                "p_value": c.p_value if c else math.nan,
                "base_only": c.base_only if c else math.nan,
                "variant_only": c.variant_only if c else math.nan,
                "same_as": r.same_as or "",
                "seconds": r.seconds,
            }
        )
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _pp(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:+.1f}"


def display_frame(result: AblationResult) -> pd.DataFrame:
    """The table as display strings: what the terminal and ``ablation.md`` show."""
    df = ablation_frame(result)
    base_row = df["variant"] == BASE
    return pd.DataFrame(
        {
            "variant": [v + (" *" if v == BASE else "") for v in df["variant"]],
            "change": df["label"],
            "plate acc": df["plate_accuracy"].map(_pct),
            "95% CI": [
                f"{100 * lo:.1f}-{100 * hi:.1f}"
                for lo, hi in zip(df["ci_low"], df["ci_high"], strict=True)
            ],
            "CER": df["cer"].map(_pct),
            "seg count": df["seg_count_accuracy"].map(_pct),
            "Δ vs base (pp)": [
                "" if b else _pp(d) for b, d in zip(base_row, df["diff"], strict=True)
            ],
            "Δ 95% CI": [
                "" if b else f"{_pp(lo)} to {_pp(hi)}"
                for b, lo, hi in zip(base_row, df["diff_low"], df["diff_high"], strict=True)
            ],
            "McNemar p": [
                "" if b else f"{p:.3f}" for b, p in zip(base_row, df["p_value"], strict=True)
            ],
            "lost/won": [
                "" if b else f"{int(lo)}/{int(w)}"
                for b, lo, w in zip(base_row, df["base_only"], df["variant_only"], strict=True)
            ],
        }
    )


_LEFT = ("variant", "change")

LEGEND = (
    "Sorted by plate accuracy. `*` marks the base. Plate acc: exact reading of the whole "
    "plate, with its 95% percentile-bootstrap interval. CER: edit distance over label "
    "characters. Seg count: plates whose number of read characters equals the label "
    "length. Δ vs base: plate-accuracy difference to the base in percentage points, with "
    "a paired bootstrap 95% interval (the same resampled plates for both). McNemar p: "
    "exact two-sided binomial test on the plates where the two disagree. lost/won: plates "
    "only the base read / plates only the variant read."
)


def draw_chart(result: AblationResult, path: Path) -> Path:
    """Horizontal bars of plate accuracy with bootstrap intervals (left) and the
    paired difference to the base with its interval (right), best variant on top;
    saved as PNG with matplotlib's Agg canvas (no pyplot)."""
    from matplotlib.figure import Figure

    df = ablation_frame(result).iloc[::-1].reset_index(drop=True)
    n = len(df)
    y = np.arange(n)
    fig = Figure(figsize=(11.0, 1.2 + 0.32 * n), dpi=110)
    ax_acc, ax_diff = fig.subplots(
        1, 2, sharey=True, gridspec_kw={"width_ratios": [1.3, 1.0], "wspace": 0.12}
    )
    is_base = (df["variant"] == BASE).to_numpy()
    acc = 100 * df["plate_accuracy"].to_numpy()
    err = np.vstack([acc - 100 * df["ci_low"].to_numpy(), 100 * df["ci_high"].to_numpy() - acc])
    colours = np.where(is_base, "tab:orange", "tab:blue")
    ax_acc.barh(y, acc, xerr=err, color=colours, alpha=0.85, error_kw={"capsize": 2, "lw": 0.8})
    base_acc = 100 * result.base.metrics.plate_accuracy
    ax_acc.axvline(base_acc, color="tab:orange", ls="--", lw=0.8)
    ax_acc.set_yticks(y, [f"{v}" for v in df["variant"]])
    ax_acc.set_xlabel("plate accuracy (%) with 95% bootstrap CI")
    lo_x = max(0.0, float(np.nanmin(100 * df["ci_low"].to_numpy())) - 10)
    ax_acc.set_xlim(lo_x, 100)
    d = 100 * df["diff"].fillna(0).to_numpy()
    derr = np.vstack(
        [
            d - 100 * df["diff_low"].fillna(0).to_numpy(),
            100 * df["diff_high"].fillna(0).to_numpy() - d,
        ]
    )
    sig = (df["p_value"].fillna(1.0) < 0.05).to_numpy()
    dcol = np.where(
        is_base, "tab:orange", np.where(sig, np.where(d > 0, "tab:green", "tab:red"), "tab:gray")
    )
    for yi, di, e0, e1, c in zip(y, d, derr[0], derr[1], dcol, strict=True):
        ax_diff.errorbar(di, yi, xerr=[[e0], [e1]], fmt="o", color=c, capsize=2, lw=1, ms=4)
    ax_diff.axvline(0, color="black", lw=0.8)
    ax_diff.set_xlabel(
        "Δ plate accuracy vs base (pp), paired 95% CI\n(green/red: McNemar p < 0.05)"
    )
    ax_diff.tick_params(axis="y", left=False)
    for ax in (ax_acc, ax_diff):
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.6, n - 0.4)
    kind = "classifier retrained per variant" if result.retrain else "base weights' classifier kept"
    fig.suptitle(f"segcnn ablation on {len(result.samples)} plates ({kind})", fontsize=11)
    fig.subplots_adjust(
        left=0.17,
        right=0.98,
        top=1 - 0.45 / (1.2 + 0.32 * n) - 0.02,
        bottom=0.95 / (1.2 + 0.32 * n),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


@dataclass(frozen=True)
class AblationFiles:
    """Where :func:`write_ablation` put each file."""

    out_dir: Path
    json: Path
    markdown: Path
    chart: Path
    predictions: Path


def _metrics_json(m: Metrics) -> dict[str, Any]:
    return {
        "n": m.n,
        "plate_accuracy": _finite(m.plate_accuracy),
        "plate_accuracy_ci95": [_finite(m.ci_low), _finite(m.ci_high)],
        "cer": _finite(m.cer),
        "char_accuracy": _finite(m.char_accuracy),
        "segment_count_accuracy": _finite(m.segmentation.count_accuracy)
        if m.segmentation
        else None,
        "lost_to_segment_count": m.segmentation.wrong_count if m.segmentation else None,
        "misread_with_right_count": m.segmentation.misread if m.segmentation else None,
        "mean_confidence": _finite(m.mean_confidence),
        "ece": _finite(m.ece),
    }


def ablation_dict(
    result: AblationResult,
    *,
    dataset: str,
    split: str,
    source: str = "",
    grid_source: str = "",
    grid: AblationGrid | None = None,
    weights: Mapping[str, Any] | None = None,
    command: str = "",
    wall_seconds: float | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """What ``ablation.json`` holds: the dataset, grid, weights, every variant's
    resolved config, figures and comparison with the base, and provenance."""
    from segocr import __version__
    from segocr.evaluation.report import git_commit, machine_info

    variants = []
    for r in result.variants:
        c = r.comparison
        variants.append(
            {
                "name": r.name,
                "description": r.variant.description,
                "changes": r.variant.changes,
                "same_config_as": r.same_as,
                "config_key": r.variant.key,
                "prepare_key": r.variant.prepare_key,
                "config": r.variant.config.model_dump(mode="json"),
                "metrics": _metrics_json(r.metrics),
                "vs_base": None
                if c is None
                else {
                    "difference": _finite(c.difference),
                    "difference_ci95": [_finite(c.low), _finite(c.high)],
                    "mcnemar_p": _finite(c.p_value),
                    "base_only_correct": c.base_only,
                    "variant_only_correct": c.variant_only,
                },
                "seconds": round(r.seconds, 3),
                "training": dict(r.training) if r.training is not None else None,
            }
        )
    return {
        "segocr_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "dataset": {"name": dataset, "source": source, "split": split},
        "n_samples": len(result.samples) + len(result.failures),
        "n_scored": len(result.samples),
        "failures": [dataclasses.asdict(f) for f in result.failures],
        "retrain": result.retrain,
        "weights": dict(weights or {}),
        "grid": {"source": grid_source, "spec": grid.model_dump(mode="json") if grid else None},
        "statistics": {"bootstrap_resamples": n_bootstrap, "seed": seed, "confidence": 0.95},
        "work_shared": {
            "variants": len(result.variants),
            "distinct_configs": result.n_configs,
            "distinct_preparations": result.n_preparations,
        },
        "ranking": [r.name for r in result.ranked()],
        "variants": variants,
        "run_seconds": round(result.seconds, 2),
        "wall_seconds": round(wall_seconds, 2) if wall_seconds is not None else None,
        "git_commit": git_commit(),
        "machine": machine_info("cpu"),
    }


def ablation_markdown(result: AblationResult, info: Mapping[str, Any], chart: Path) -> str:
    """``ablation.md``: provenance, the table, its legend and the chart."""
    from segocr.evaluation.report import markdown_table

    d, mach = info["dataset"], info["machine"]
    shared = info["work_shared"]
    kind = (
        "classifier retrained per variant on the train split"
        if result.retrain
        else "the base weights' classifier kept; only preprocessing and segmentation change"
    )
    wall = info.get("wall_seconds")
    lines = [
        f"# segcnn ablation: {d['name']} ({d['split']} split)",
        "",
        f"- data: {d['source'] or d['name']}; plates scored: {info['n_scored']} (unreadable: {len(result.failures)})",
        f"- {kind}",
        (
            f"- grid: {info['grid']['source'] or '(given)'}; {shared['variants']} variants, "
            f"{shared['distinct_configs']} distinct configs, "
            f"{shared['distinct_preparations']} distinct preparations"
        ),
        f"- weights: {info['weights'].get('path', '-')} (sha256 {str(info['weights'].get('sha256', '-'))[:12]})",
        f"- commit: {info['git_commit'] or 'unknown'}; created {info['created']}",
        f"- machine: {mach['platform']}, {mach['cpu_count']} CPUs, torch {mach['torch']}"
        + (f"; {wall:.0f} s from loading the grid to the last variant" if wall is not None else ""),
    ]
    if info.get("command"):
        lines += ["", "Reproduce:", "", "```", info["command"], "```"]
    lines += [
        "",
        "## Results",
        "",
        markdown_table(display_frame(result), left=_LEFT),
        "",
        LEGEND,
        "",
    ]
    same = [r for r in result.variants if r.same_as]
    if same:
        lines += [
            "Identical to another row's config (computed once, so their difference is exactly 0): "
            + ", ".join(f"`{r.name}` = `{r.same_as}`" for r in same)
            + ".",
            "",
        ]
    lines += [f"![ablation chart]({chart.name})", ""]
    return "\n".join(lines)


def predictions_frame(result: AblationResult) -> pd.DataFrame:
    """One row per variant and plate: ``variant, id, truth, prediction, confidence,
    correct, n_segments``."""
    rows = [
        {
            "variant": r.name,
            "id": s.id,
            "truth": s.text,
            "prediction": p.text,
            "confidence": round(p.confidence, 6),
            "correct": p.text == s.text,
            "n_segments": p.info.get("n_segments"),
        }
        for r in result.variants
        for s, p in zip(result.samples, r.predictions, strict=True)
    ]
    df = pd.DataFrame(
        rows,
        columns=["variant", "id", "truth", "prediction", "confidence", "correct", "n_segments"],
    )
    df["n_segments"] = df["n_segments"].astype("Int64")
    return df


def write_ablation(result: AblationResult, out_dir: Path | str, **info: Any) -> AblationFiles:
    """Write ``ablation.json``, ``ablation.md``, ``ablation.png`` and
    ``predictions.csv`` into ``out_dir`` (created if needed). ``info`` goes to
    :func:`ablation_dict` (dataset, split, source, grid, weights, command, ...)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = AblationFiles(
        out,
        out / "ablation.json",
        out / "ablation.md",
        out / "ablation.png",
        out / "predictions.csv",
    )
    data = ablation_dict(result, **info)
    files.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    draw_chart(result, files.chart)
    files.markdown.write_text(ablation_markdown(result, data, files.chart), encoding="utf-8")
    predictions_frame(result).to_csv(files.predictions, index=False)
    return files
