"""Ensembles of recognizers (:mod:`segocr.ensemble`) against their members, on
VALIDATION plates only (never a test split): the figures that chose the members and the
fusion rule, and the default reader of ``segocr read``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble_validation.py --data-dir ../shared/data \\
        [--out benchmarks/results/ensemble_validation.md]

Parts:

- ``general``: the mix's validation plates that neither general model trained on
  (``benchmarks/mix_validation.py``, part ``both``: in the crnn-general trainer's 15% and
  the segcnn-general trainer's 12% held out of the mix train split), read by
  ``ensemble`` (segcnn + crnn, general weights) and its members;
- ``iwt4s``: the 78 plates of the IWT4S train split that segcnn-iwt4s and crnn-iwt4s
  both held out for checkpoint choice (15%, seed 1), read by ``ensemble-iwt4s``.

Every model reads as ``segocr read`` does (two-row plates by :mod:`segocr.rows`,
``auto``). The members read once; every fusion rule of :data:`segocr.fusion.RULES` is
applied to those readings. Scores by :func:`segocr.training.mixdata.score_visible`
(UC3M-LP hidden characters match one character or none): plate accuracy, CER and the
ECE of the plate confidence. CPU ms a plate: ``time.process_time`` of each member's
reading, one thread (an ensemble costs the sum of its members).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mix_validation import SHORT, parts  # noqa: E402

from segocr.api import load_recognizer  # noqa: E402
from segocr.datasets.base import PlateSample, load_dataset  # noqa: E402
from segocr.datasets.splits import group_split  # noqa: E402
from segocr.ensemble import ENSEMBLES, EnsembleRecognizer  # noqa: E402
from segocr.fusion import DEFAULT_RULE, RULES  # noqa: E402
from segocr.recognizers.base import Prediction  # noqa: E402
from segocr.rows import DEFAULT_ROWS, with_rows  # noqa: E402
from segocr.training.mixdata import score_visible  # noqa: E402


def read_part(ensemble: str, samples: list[PlateSample]) -> tuple[dict[str, list[Prediction]], dict[str, float]]:
    """Every member's and every rule's predictions of ``samples``, and each member's
    CPU ms a plate."""
    images = [s.load() for s in samples]
    members = [with_rows(load_recognizer(m, device="cpu"), DEFAULT_ROWS) for m in ENSEMBLES[ensemble]]
    readings: dict[str, list[Prediction]] = {}
    cost: dict[str, float] = {}
    for name, rec in zip(ENSEMBLES[ensemble], members, strict=True):
        rec.predict(images[:4])  # warm-up
        t = time.process_time()
        readings[name] = rec.predict(images)
        cost[name] = 1000 * (time.process_time() - t) / len(images)
    for rule in RULES:
        ens = EnsembleRecognizer(members, rule=rule, name=ensemble)
        readings[f"{ensemble} ({rule})"] = ens.fuse_readings([readings[m] for m in ENSEMBLES[ensemble]])
    cost[ensemble] = sum(cost[m] for m in ENSEMBLES[ensemble])
    return readings, cost


def table(samples: list[PlateSample], readings: dict[str, list[Prediction]]) -> dict[str, dict[str, dict[str, float]]]:
    """{row: {source: score_visible figures}} with source ``all`` and each subset."""
    by_source: dict[str, list[int]] = {"all": list(range(len(samples)))}
    for i, s in enumerate(samples):
        by_source.setdefault(SHORT.get(s.subset, s.subset), []).append(i)
    return {
        row: {src: score_visible([samples[i].text for i in ix], [preds[i] for i in ix]) for src, ix in by_source.items()}
        for row, preds in readings.items()
    }


def markdown(results: dict[str, Any], command: str) -> str:
    lines = ["# Ensembles on validation plates (never test)", "", f"`{command}`", ""]
    for part, res in results.items():
        sources = list(next(iter(res["table"].values())))
        lines += [
            f"## {part} ({res['n']} plates)",
            "",
            "| reader | " + " | ".join(sources) + " | CER | ECE | CPU ms/plate |",
            "|:--|" + "--:|" * (len(sources) + 3),
        ]
        for row, cells in res["table"].items():
            member = row.split(" (")[0]
            acc = " | ".join(f"{100 * cells[s]['plate_accuracy']:.1f}" for s in sources)
            ms = res["cost"].get(member)
            lines.append(f"| {row} | {acc} | {100 * cells['all']['cer']:.1f} | {cells['all']['ece']:.3f} | {ms:.1f} |")
        lines.append("")
    lines.append(f"Plate accuracy in %, CER in %; the shipped rule is `{DEFAULT_RULE}`.")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=None, help="Markdown report (and .json beside it)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    mix = load_dataset("mix", args.data_dir, config="general")
    groups, _ = parts(mix, args.data_dir)
    iw = load_dataset("iwt4s", args.data_dir)
    _, iw_val = group_split(list(iw.samples("train")), test_fraction=0.15, seed=1)
    results: dict[str, Any] = {}
    for part, ensemble, samples in (("general", "ensemble", groups["both"]), ("iwt4s", "ensemble-iwt4s", iw_val)):
        readings, cost = read_part(ensemble, samples)
        results[part] = {"n": len(samples), "table": table(samples, readings), "cost": cost}
    command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble_validation.py --data-dir ../shared/data"
    text = markdown(results, command)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
