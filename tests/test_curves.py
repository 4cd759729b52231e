"""Training curves from a run's log (the suite turns warnings into errors)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from segocr.training.curves import plot_curves


def test_a_column_that_starts_in_a_later_stage_is_drawn(tmp_path: Path) -> None:
    # segcnn: stage 1 is not validated, so the accuracy panel has one point at epoch 3
    log = pd.DataFrame(
        {"stage": [1, 1, 2], "loss": [3.65, 3.55, 3.66], "val_plate_accuracy": [math.nan, math.nan, 0.0]}
    )
    out = plot_curves(log, tmp_path / "curves.png", title="segcnn")
    assert out is not None and out.stat().st_size > 1000


def test_columns_without_values_get_no_panel_and_empty_logs_no_file(tmp_path: Path) -> None:
    log = pd.DataFrame({"stage": [1], "loss": [2.0], "val_plate_accuracy": [math.nan]})
    assert plot_curves(log, tmp_path / "a.png") is not None
    assert plot_curves(pd.DataFrame(), tmp_path / "b.png") is None and not (tmp_path / "b.png").exists()
