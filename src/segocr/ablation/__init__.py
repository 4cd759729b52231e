"""Ablation studies of the segcnn recognizer (grid, runner, report): a base config, named variants, one split.

A *grid* (YAML, validated by :class:`AblationGrid`) names variants of a base
:class:`~segocr.recognizers.segcnn.SegCNNConfig` (by default the one in the weight
card of the ablated weights). Each variant is a set of overrides:

``set``
    dotted paths into the config and their new values; a list item is picked by its
    index or by its ``op`` / ``method`` name (``segment.preprocess.steps.clahe.clip_limit``);
``remove_steps``
    preprocessing steps (by ``op``) dropped from ``segment.preprocess``;
``format``
    the plate format the variant is read under (:mod:`segocr.formats`; ``none``: no
    format), so "with and without a format" is one more paired comparison.

The room: :mod:`segocr.ablation.grid` (grid, variants, overrides),
:mod:`segocr.ablation.runner` (reading every variant, paired comparisons),
:mod:`segocr.ablation.report` (tables, chart, result folder).

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

>>> from segocr.recognizers.segcnn import SegCNNConfig
>>> grid = parse_grid({"variants": {"no_clahe": {"remove_steps": ["clahe"]}}})
>>> [(v.name, [s.op for s in v.config.segment.preprocess.steps]) for v in resolve_grid(grid, SegCNNConfig())]
[('base', ['gray', 'clahe', 'unsharp']), ('no_clahe', ['gray', 'unsharp'])]
"""

from __future__ import annotations

from segocr.ablation.grid import (
    BASE,
    DEFAULT_GRID,
    HYPOTHESIS_ONLY_FIELDS,
    NO_FORMAT,
    AblationGrid,
    Overrides,
    Variant,
    apply_overrides,
    config_hash,
    load_grid,
    parse_grid,
    prepare_hash,
    resolve_grid,
)
from segocr.ablation.report import (
    LEGEND,
    AblationFiles,
    ablation_dict,
    ablation_frame,
    ablation_markdown,
    display_frame,
    draw_chart,
    predictions_frame,
    write_ablation,
)
from segocr.ablation.runner import (
    AblationResult,
    PairedComparison,
    RetrainSettings,
    VariantResult,
    compare_paired,
    load_base,
    load_images,
    run_ablation,
    with_images,
)

__all__ = [
    "BASE",
    "DEFAULT_GRID",
    "HYPOTHESIS_ONLY_FIELDS",
    "LEGEND",
    "NO_FORMAT",
    "AblationFiles",
    "AblationGrid",
    "AblationResult",
    "Overrides",
    "PairedComparison",
    "RetrainSettings",
    "Variant",
    "VariantResult",
    "ablation_dict",
    "ablation_frame",
    "ablation_markdown",
    "apply_overrides",
    "compare_paired",
    "config_hash",
    "display_frame",
    "draw_chart",
    "load_base",
    "load_grid",
    "load_images",
    "parse_grid",
    "predictions_frame",
    "prepare_hash",
    "resolve_grid",
    "run_ablation",
    "with_images",
    "write_ablation",
]
