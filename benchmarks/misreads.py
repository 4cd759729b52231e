"""Where a reader goes wrong on one split of a dataset: the looks behind the rows
rounds and the cparking-co label audit (README). Training or validation splits only by
habit: nothing here chooses anything.

    OMP_NUM_THREADS=1 python benchmarks/misreads.py --dataset openalpr-eu2 --split train
    OMP_NUM_THREADS=1 python benchmarks/misreads.py --dataset cparking-co --split train \\
        --sheet runs/misreads/co-train.png          # every disagreement: crop, label, reading
    OMP_NUM_THREADS=1 python benchmarks/misreads.py --dataset openalpr-eu2 --split train \\
        --margins --rows-config '{"max_outliers": 0}'   # row decisions across the ensemble's margins

Printed: the plates read wrong (scored on visible characters) by kind (the reading
shorter than the label, longer, or as long), and the confidently wrong ones (plate
confidence above ``--confident``). ``--sheet`` draws each disagreement (the crop, the
label and the reading: :func:`segocr.evaluation.report.draw_gallery`) into one PNG, for reading by eye: which of label and
reading is right is a person's call, not this script's. ``--margins`` adds how many
crops ``segocr.rows.find_rows`` splits differently at the default ensemble's margins
(its card's ``margins``, now 0, 0.1 and 0.15; edge pixels replicated), with ``--rows-config`` updating
``RowsConfig``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.datasets.masked import visible_correct
from segocr.ensemble import EnsembleConfig, ensemble_card
from segocr.evaluation.harness import evaluate
from segocr.evaluation.report import draw_gallery
from segocr.margins import pad_crop
from segocr.rows import RowsConfig, find_rows, with_rows


def kind(label: str, reading: str) -> str:
    """How a wrong reading differs from its label.

    >>> kind("AB123", "AB12"), kind("AB123", "AB1234"), kind("AB123", "AB128")
    ('shorter', 'longer', 'same length')
    """
    return "shorter" if len(reading) < len(label) else "longer" if len(reading) > len(label) else "same length"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--split", default="train")
    ap.add_argument("--model", default="ensemble")
    ap.add_argument("--limit", type=int, default=None, help="the first N plates")
    ap.add_argument("--confident", type=float, default=0.8)
    ap.add_argument("--sheet", type=Path, default=None, help="PNG of every disagreement")
    ap.add_argument("--margins", action="store_true", help="row decisions across the default ensemble's margins")
    ap.add_argument("--rows-config", default="{}", help="RowsConfig fields as JSON")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = RowsConfig.model_validate({"mode": "auto", **json.loads(args.rows_config)})
    samples = list(load_dataset(args.dataset, args.data_dir).samples(args.split))[: args.limit]
    rec = with_rows(load_recognizer(args.model, device="cpu"), rows)
    result = evaluate({args.model: rec}, samples, progress=False, fusion=False)
    samples = list(result.samples)  # the readable ones, in order
    preds = result.models[args.model].predictions
    kinds: Counter[str] = Counter()
    confident, disagree = [], []
    for i, (s, p) in enumerate(zip(samples, preds, strict=True)):
        if p.text != s.text:
            disagree.append(i)
        if not visible_correct(s.text, p.text):
            kinds[kind(s.text, p.text)] += 1
            if p.confidence > args.confident:
                confident.append(f"{s.id}: {s.text} read {p.text} ({p.confidence:.3f})")
    print(f"{args.dataset} {args.split}: {len(samples)} plates, {sum(kinds.values())} read wrong by {args.model}: {dict(kinds)}")
    print(f"read wrong with confidence above {args.confident}: {len(confident)}")
    for line in confident:
        print("  " + line)
    if args.margins:
        margins = EnsembleConfig.model_validate(ensemble_card("ensemble")["config"]).margins
        decisions = [tuple(find_rows(pad_crop(s.load(), m)[0], rows).n_rows for m in margins) for s in samples]
        differ = sum(len(set(d)) > 1 for d in decisions)
        print(f"row decisions differ across margins {'/'.join(f'{m:g}' for m in margins)}: {differ} of {len(samples)} crops")
    if args.sheet is not None:
        draw_gallery(result, disagree, args.sheet)
        print(f"{len(disagree)} disagreements (label != reading, exact text) drawn into {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
