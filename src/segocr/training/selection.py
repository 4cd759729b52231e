"""Choosing among finished training runs on their validation figures only.

A study of training choices (input size, frame width, a new readout...) trains one
run per candidate with ``segocr train ... --no-eval-test`` and keeps the candidate
whose best epoch scores highest on the validation plates (carved out of the train
split): the test split is never looked at while choosing. The order is the one the
trainers use to keep a checkpoint: validation plate accuracy, then lower CER, then
lower validation loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segocr.errors import SegocrError
from segocr.training.checkpoint import LOG_FILE

_COLUMNS = ("stage", "epoch", "val_loss", "val_plate_accuracy", "val_cer")


def validation_key(row: Mapping[str, Any]) -> tuple[float, float, float]:
    """Sort key of an epoch's row, higher is better: validation plate accuracy, then
    lower CER, then lower loss.

    >>> validation_key({"val_plate_accuracy": 0.9, "val_cer": 0.02, "val_loss": 0.1})
    (0.9, -0.02, -0.1)
    """
    return (float(row["val_plate_accuracy"]), -float(row["val_cer"]), -float(row["val_loss"]))


@dataclass(frozen=True)
class RunSummary:
    """A run's best epoch on the validation plates."""

    name: str
    path: Path
    stage: str
    epoch: int
    val_plate_accuracy: float
    val_cer: float
    val_loss: float
    epochs_run: int
    seconds: float

    def key(self) -> tuple[float, float, float]:
        return validation_key(vars(self))


def summarize_run(run_dir: Path) -> RunSummary:
    """The best validation epoch of the run in ``run_dir`` (from its ``log.csv``).

    Raises :class:`SegocrError` when the folder has no usable log."""
    import pandas as pd

    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        raise SegocrError(f"{run_dir}: no {LOG_FILE} (not a crnn/holistic run folder, or not started)")
    try:
        log = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SegocrError(f"{path}: cannot read: {exc}") from None
    missing = [c for c in _COLUMNS if c not in log.columns]
    if missing or log.empty:
        raise SegocrError(f"{path}: no validation figures (missing columns: {', '.join(missing) or 'none'}; rows: {len(log)})")
    rows = log.to_dict("records")
    best = max(rows, key=validation_key)
    seconds = float(log["seconds"].sum()) if "seconds" in log.columns else float("nan")
    return RunSummary(
        name=Path(run_dir).name, path=Path(run_dir), stage=str(best["stage"]), epoch=int(best["epoch"]),
        val_plate_accuracy=float(best["val_plate_accuracy"]), val_cer=float(best["val_cer"]),
        val_loss=float(best["val_loss"]), epochs_run=len(rows), seconds=seconds,
    )  # fmt: skip


def rank_runs(summaries: Iterable[RunSummary]) -> list[RunSummary]:
    """``summaries`` best first by :func:`validation_key`; ties keep the given order."""
    return sorted(summaries, key=RunSummary.key, reverse=True)


def ranking_table(ranked: list[RunSummary]) -> str:
    """A Markdown table of ``ranked`` (best first), validation figures only."""
    lines = [
        "| rank | run | best epoch | val plate acc | val CER | val loss | epochs | train s |",
        "|--:|:--|:--|--:|--:|--:|--:|--:|",
    ]
    for i, r in enumerate(ranked, 1):
        lines.append(
            f"| {i} | {r.name} | {r.stage} {r.epoch} | {r.val_plate_accuracy:.1%} | {r.val_cer:.2%} | "
            f"{r.val_loss:.3f} | {r.epochs_run} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)
