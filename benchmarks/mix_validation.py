"""How the general and IWT4S-only weights read the general mix's VALIDATION plates (never a
test split): the figures that choose between crnn-general candidates (issue 10) and compare
segcnn-general with crnn-general.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mix_validation.py --data-dir ../shared/data \\
        [--candidate NAME=WEIGHTS.pt ...] [--out benchmarks/results/mix_validation.md]

Validation parts (each a ``group_split`` by plate of a train split, as the trainers draw them):

- ``crnn val``: the crnn-general trainer's, 15% of the mix train split (seed 1); the sequence
  trainer leaves out UC3M-LP plates (hidden characters), so its ``es`` column is measured
  here only (crnn-general never saw those plates either: they are in its validation part);
- ``segcnn val``: the segcnn-general trainer's, 12% of the mix train split (seed 1);
- ``both``: plates in both parts (neither general model trained on them);
- IWT4S: ``crnn-iwt4s val`` is 15% of the IWT4S train split (seed 1), what crnn-iwt4s
  held out; ``clean`` = in both the crnn val part and crnn-iwt4s's (no crnn trained on
  them: crnn-general and its candidates start from crnn-iwt4s's weights).

Every model reads as ``segocr read`` does (two-row plates by :mod:`segocr.rows`, ``auto``);
scoring by :func:`segocr.training.mixdata.score_visible` (UC3M-LP hidden characters match
one character or none). Also printed: each source's share of the crnn fit plates and of the
plates an epoch draws (rarity balancing times the source weight).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segocr.api import load_recognizer
from segocr.datasets.base import PlateSample, load_dataset
from segocr.datasets.splits import group_split
from segocr.evaluation.harness import evaluate
from segocr.rows import DEFAULT_ROWS, with_rows
from segocr.training.mixdata import score_visible

#: (row name, recognizer, weights).
MODELS = (
    ("segcnn-general", "segcnn", "segcnn-general"),
    ("crnn-general", "crnn", "crnn-general"),
    ("crnn-iwt4s", "crnn", "crnn-iwt4s"),
)
SHORT = {"iwt4s": "iwt4s", "openalpr-br": "br", "openalpr-eu2": "eu2", "uc3m-ocr": "es", "cparking-co": "co"}


def draw_shares(samples: Sequence[PlateSample], mix: Any, weights: Mapping[str, float]) -> dict[str, float]:
    """Each source's share of the plates one fine-tuning epoch draws from ``samples`` (the
    sequence trainer's rarity balancing, power 0.5 cap 4, times the source ``weights``)."""
    from segocr.training.sequence import rarity_weights

    kept = [s for s in samples if not mix.charset.unknown(s.text)]
    p = rarity_weights([mix.charset.encode(s.text) for s in kept], power=0.5, cap=4.0)
    p = p * np.array([weights[s.subset] for s in kept])
    p = p / p.sum()
    out: dict[str, float] = Counter()
    for s, pi in zip(kept, p, strict=True):
        out[s.subset] += float(pi)
    return dict(out)


def parts(mix: Any, data_dir: Path) -> tuple[dict[str, list[PlateSample]], dict[str, Any]]:
    """The validation parts (see the module docstring) and a few counts."""
    train = list(mix.samples("train"))
    crnn_fit, crnn_val = group_split(train, test_fraction=0.15, seed=1)
    _, seg_val = group_split(train, test_fraction=0.12, seed=1)
    iw = load_dataset("iwt4s", data_dir)
    _, iw_val = group_split(list(iw.samples("train")), test_fraction=0.15, seed=1)
    iw_val_ids = {f"iwt4s/{s.id}" for s in iw_val}
    seg_ids = {s.id for s in seg_val}
    crnn_iwt4s = [s for s in crnn_val if s.subset == "iwt4s"]
    out = {
        "crnn val": crnn_val,
        "segcnn val": seg_val,
        "both": [s for s in crnn_val if s.id in seg_ids],
        "iwt4s clean": [s for s in crnn_iwt4s if s.id in iw_val_ids],
        "iwt4s crnn-iwt4s val": [s for s in train if s.id in iw_val_ids],
    }
    seq_fit = [s for s in crnn_fit if not mix.charset.unknown(s.text)]
    info = {
        "crnn fit plates": dict(Counter(s.subset for s in seq_fit)),
        "crnn val plates": dict(Counter(s.subset for s in crnn_val)),
        "iwt4s crnn val in crnn-iwt4s fit": sum(s.id not in iw_val_ids for s in crnn_iwt4s),
        "iwt4s crnn-iwt4s val in crnn fit": sum(s.id in iw_val_ids for s in crnn_fit),
        "draw share (general.yaml weights)": draw_shares(seq_fit, mix, {s.dataset: s.weight for s in mix.config.sources}),
    }
    return out, info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--candidate", action="append", default=[], help="NAME=WEIGHTS.pt: crnn weights to measure too")
    ap.add_argument("--out", type=Path, default=None, help="Markdown report (and .json beside it)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    mix = load_dataset("mix", args.data_dir, config="general")
    groups, info = parts(mix, args.data_dir)
    models = [*MODELS]
    for c in args.candidate:
        name, _, path = c.partition("=")
        if not path:
            print(f"error: --candidate {c!r}: expected NAME=WEIGHTS.pt", file=sys.stderr)
            return 2
        models.append((name, "crnn", path))
    recs = {row: with_rows(load_recognizer(n, weights=w, device="cpu", runtime="torch"), DEFAULT_ROWS) for row, n, w in models}
    pool = {s.id: s for g in groups.values() for s in g}
    samples = list(pool.values())
    res = evaluate(recs, samples, progress=False, fusion=False)
    index = {s.id: i for i, s in enumerate(res.samples)}
    table: dict[str, dict[str, dict[str, float]]] = {}
    for row in recs:
        preds = res.models[row].predictions
        cells: dict[str, dict[str, float]] = {}
        for gname, g in groups.items():
            by_source: dict[str, list[PlateSample]] = {"all": g}
            if not gname.startswith("iwt4s"):
                for s in g:
                    by_source.setdefault(SHORT[s.subset], []).append(s)
                by_source["non-iwt4s seq"] = [s for s in g if s.subset != "iwt4s" and "?" not in s.text]
            for variant, label in (("h", "hdr"), ("m", "normal")):
                vs = [s for s in g if s.subset == "iwt4s" and s.meta.get("variant") == variant]
                if vs:
                    by_source[f"iwt4s {label}"] = vs
            for key, ss in by_source.items():
                if ss:
                    cells[f"{gname} | {key}"] = score_visible([s.text for s in ss], [preds[index[s.id]] for s in ss])
        table[row] = cells
    keys = list(next(iter(table.values())))
    lines = [
        "# Mix validation plates (never test)",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mix_validation.py --data-dir ../shared/data"
        + "".join(f" --candidate {c}" for c in args.candidate)
        + "`",
        "",
        "Plate accuracy (correct / n); parts and caveats: see the script's docstring.",
        "",
        "| part \\| source | n | " + " | ".join(table) + " |",
        "|:--|--:|" + "--:|" * len(table),
    ]
    for k in keys:
        n = int(table[next(iter(table))][k]["n"])
        cells = [f"{100 * table[r][k]['plate_accuracy']:.1f}% ({round(table[r][k]['plate_accuracy'] * n)})" for r in table]
        lines.append(f"| {k} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "```", json.dumps(info, indent=1), "```", ""]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines), encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps({"table": table, "info": info}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
