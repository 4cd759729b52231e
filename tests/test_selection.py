"""Choosing among training runs on validation figures only (hand-made logs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from segocr.errors import SegocrError
from segocr.training.selection import rank_runs, summarize_run

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp: Path, name: str, rows: list[tuple[str, int, float, float, float]]) -> Path:
    d = tmp / name
    d.mkdir()
    log = pd.DataFrame(rows, columns=["stage", "epoch", "val_loss", "val_plate_accuracy", "val_cer"])
    log["seconds"] = 2.0
    log.to_csv(d / "log.csv", index=False)
    return d


def test_best_epoch_and_ranking(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [("pretrain", 1, 2.0, 0.1, 0.5), ("finetune", 1, 0.5, 0.90, 0.02), ("finetune", 2, 0.6, 0.80, 0.03)])
    b = _run(tmp_path, "b", [("finetune", 1, 0.4, 0.90, 0.01), ("finetune", 2, 0.3, 0.85, 0.01)])
    c = _run(tmp_path, "c", [("finetune", 1, 0.2, 0.90, 0.01)])
    sa = summarize_run(a)
    assert (sa.stage, sa.epoch, sa.val_plate_accuracy, sa.epochs_run, sa.seconds) == ("finetune", 1, 0.90, 3, 6.0)
    # equal accuracy: lower CER wins, then lower loss
    assert [r.name for r in rank_runs([summarize_run(x) for x in (a, b, c)])] == ["c", "b", "a"]


def test_unusable_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SegocrError, match="no log.csv"):
        summarize_run(tmp_path)
    (tmp_path / "log.csv").write_text("stage,epoch,loss\nfinetune,1,0.5\n")
    with pytest.raises(SegocrError, match="val_plate_accuracy"):
        summarize_run(tmp_path)


def test_script_names_the_winner_and_fails_cleanly(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [("finetune", 1, 0.5, 0.7, 0.05)])
    b = _run(tmp_path, "b", [("finetune", 1, 0.5, 0.8, 0.05)])
    script = ROOT / "benchmarks" / "select_by_validation.py"
    ok = subprocess.run([sys.executable, str(script), str(a), str(b)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "chosen on validation: b" in ok.stdout
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "nope")], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "no log.csv" in bad.stderr
