"""The weight card every trainer writes: one shape for segcnn, crnn and holistic.

A trainer supplies what only it knows (architecture, input size, its own ``training``
facts); this module adds what every card carries (the test figures measured once, the
licence the weights inherit, the mix's sources, the torch version) and saves the weights
with the card sealed (:func:`segocr.models.weights.save_weights`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from segocr.datasets.base import Dataset, PlateSample

#: Licence notes of single datasets whose terms the weights inherit (a mix names its own).
LICENCE_NOTE = {
    "iwt4s": (
        "Trained on IWT4S HDR LP (BUT FIT, CC BY-NC-SA 4.0): these weights inherit its "
        "terms: research and non-commercial use only; cite Spanhel et al., AVSS 2017."
    )
}


def measure_test_split(rec: Any, name: str, samples: Sequence[PlateSample]) -> dict[str, Any]:
    """The harness's figures for ``rec`` on ``samples`` (the test split), for a card."""
    from segocr.evaluation.harness import evaluate

    result = evaluate({name: rec}, list(samples), progress=False)
    mr = result.models[name]
    m = mr.overall
    return {
        "split": "test",
        "n": m.n,
        "plate_accuracy": m.plate_accuracy,
        "plate_accuracy_ci95": [m.ci_low, m.ci_high],
        "cer": m.cer,
        "char_accuracy": m.char_accuracy,
        "mean_confidence": m.mean_confidence,
        "ece": m.ece,
        "plates_per_s": mr.plates_per_s,
        "segment_count_accuracy": m.segmentation.count_accuracy if m.segmentation else None,
        # A segmentation reader's lost plates: wrong segment count / right count, misread.
        "lost_to_segmentation": m.segmentation.wrong_count if m.segmentation else None,
        "lost_to_classifier": m.segmentation.misread if m.segmentation else None,
        "per_subset": {k: {"n": v.n, "plate_accuracy": v.plate_accuracy, "cer": v.cer} for k, v in mr.subsets.items()},
    }


def measure_for_card(
    rec: Any, name: str, dataset: Dataset, *, evaluate_test: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    """The card's ``metrics``: nothing without ``evaluate_test``; else the finished
    model measured once on the test split (a mix: each source's test split, scored on
    the visible characters)."""
    from segocr.datasets.mix import Mix
    from segocr.training.mixdata import per_source_test

    if not evaluate_test:
        return {}
    if isinstance(dataset, Mix):
        metrics = {"split": "test (each source's)", "per_source": per_source_test(rec, name, dataset.samples("test"))}
        log(f"test splits: {metrics['per_source']}")
        return metrics
    metrics = measure_test_split(rec, name, dataset.samples("test"))
    log(f"test split: plate accuracy {metrics['plate_accuracy']:.3f}, CER {metrics['cer']:.4f} on {metrics['n']} plates")
    return metrics


def save_trained(
    model: Any,
    path: Path,
    dataset: Dataset,
    *,
    model_fields: dict[str, Any],
    training: dict[str, Any],
    command: str,
    metrics: dict[str, Any],
    also_inherits: str | None = None,
) -> dict[str, Any]:
    """Save ``model`` at ``path`` with its card: ``model_fields`` (model, architecture,
    model_kwargs, charset, classes, input_size, config, ...) first, then ``training``
    (completed with the dataset's name and source, and a mix's sources), the command,
    the metrics, the licence the weights inherit and the torch version. Returns the card.
    ``also_inherits`` is the licence of other weights the model started from (a
    fine-tuned net), added to the dataset's."""
    import torch

    from segocr.datasets.mix import Mix
    from segocr.models.weights import save_weights

    training = {"dataset": dataset.name, "source": dataset.source, **training}
    if isinstance(dataset, Mix):
        training["sources"] = dataset.card_sources()
        licence = dataset.licence
    else:
        licence = LICENCE_NOTE.get(dataset.name, "inherits the licence of the training data")
    if also_inherits:
        licence = f"{licence} It started from other weights and also inherits their terms: {also_inherits}"
    card = {
        **model_fields,
        "training": training,
        "command": command,
        "metrics": metrics,
        "licence": licence,
        "torch": torch.__version__,
    }
    return save_weights(model, path, card)
