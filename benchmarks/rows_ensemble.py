"""The default reader on two-row plates: row finding and the margin retry, on training
and validation plates only (never a test split).

    OMP_NUM_THREADS=1 python benchmarks/rows_ensemble.py --data-dir ../shared/data \\
        --variant 'base={}' --variant 'out1={"rows": {"max_outliers": 1}}' \\
        --variant 'keep={"ensemble": {"keep_rows": true}}' [--out benchmarks/results/rows_ensemble.json]

Each variant updates the ``RowsConfig`` of ``--rows auto`` (``"rows"``) and the default
ensemble's config (``"ensemble"``) and reads, as ``segocr read`` does (the ensemble with
its card, rows found per member, the margin retry):

- ``eu2 train``: the EU2 training split (207 crops, most of them two-row plates; the
  general weights trained on them, so its figures are high, but every variant reads
  the same plates with the same weights: what differs is how the rows are found and
  kept);
- the general validation part (``benchmarks/mix_validation.py`` part ``both``: plates
  neither general model trained on), per source.

Printed per variant: plates read right (UC3M-LP scored on its visible characters) and
how many readings were read as two rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from mix_validation import parts

from segocr.api import load_recognizer
from segocr.datasets.base import PlateSample, load_dataset
from segocr.datasets.masked import visible_correct
from segocr.ensemble import EnsembleRecognizer
from segocr.rows import RowsConfig, with_rows


def read_all(rec: Any, samples: list[PlateSample], batch: int = 32) -> tuple[Counter[str], Counter[str], int]:
    """Plates right per source (``subset``, else ``all``), plates per source, readings read as two rows."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    two = 0
    for i in range(0, len(samples), batch):
        chunk = samples[i : i + batch]
        for s, p in zip(chunk, rec.predict([s.load() for s in chunk]), strict=True):
            src = s.subset or "all"
            total[src] += 1
            right[src] += int(visible_correct(s.text, p.text))
            two += int(p.info.get("rows", 1) == 2)
    return right, total, two


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON", required=True)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    eu2 = list(load_dataset("openalpr-eu2", args.data_dir).samples("train"))
    general = parts(load_dataset("mix", args.data_dir, config="general"), args.data_dir)[0]["both"]
    base = load_recognizer("ensemble", device="cpu")
    assert isinstance(base, EnsembleRecognizer)
    results = []
    for spec in args.variant:
        name, _, js = spec.partition("=")
        upd = json.loads(js or "{}")
        ens = EnsembleRecognizer(base.members, base.config.model_copy(update=upd.get("ensemble", {})), name=base.name)
        rec = with_rows(ens, RowsConfig.model_validate({"mode": "auto", **upd.get("rows", {})}))
        e_right, e_total, e_two = read_all(rec, eu2)
        g_right, g_total, g_two = read_all(rec, general)
        row = {
            "variant": name,
            "update": upd,
            "eu2_train": sum(e_right.values()),
            "eu2_train_n": sum(e_total.values()),
            "eu2_train_two_rows": e_two,
            "general": sum(g_right.values()),
            "general_n": sum(g_total.values()),
            "general_two_rows": g_two,
            "general_by_source": {k: [g_right[k], g_total[k]] for k in sorted(g_total)},
        }
        results.append(row)
        by = "  ".join(f"{k} {r}/{n}" for k, (r, n) in row["general_by_source"].items())
        print(
            f"{name:12s} eu2 train {row['eu2_train']}/{row['eu2_train_n']} (two rows {e_two})  "
            f"general {row['general']}/{row['general_n']} (two rows {g_two}): {by}",
            flush=True,
        )
    if args.out is not None:
        args.out.write_text(json.dumps({"command": " ".join(sys.argv), "rows": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
