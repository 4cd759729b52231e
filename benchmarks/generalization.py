"""How the general weights read plates of every source, next to the IWT4S-only ones.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generalization.py --data-dir ../shared/data

Runs the benchmark harness (:func:`segocr.evaluation.harness.evaluate`) on the test
split of each source (each dataset's own leak-free split by plate text; none of these
plates was seen in training or used for a choice) for the shipped weights
``segcnn-general``, ``crnn-general``, ``segcnn-iwt4s`` (``segcnn.pt``) and
``crnn-iwt4s`` (``crnn.pt``), and scores them with
:func:`segocr.training.mixdata.score_visible`: exact plates, except that UC3M-LP's two
greyed-out characters per plate count as matched by one character or none (visible
positions only). Writes ``benchmarks/results/generalization.md`` and ``.json``: plate
accuracy (95% bootstrap interval), CER and ECE of the plate confidence per source, on
the union of the test splits, and per label length on that union.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.evaluation.harness import evaluate
from segocr.recognizers.base import Prediction
from segocr.training.mixdata import score_visible

#: (short name, registered dataset) of every source with plate labels.
SOURCES = (
    ("iwt4s", "iwt4s"),
    ("br", "openalpr-br"),
    ("eu2", "openalpr-eu2"),
    ("es", "uc3m-ocr"),
    ("co", "cparking-co"),
)
#: (row name, recognizer, shipped weights name).
MODELS = (
    ("segcnn-general", "segcnn", "segcnn-general"),
    ("crnn-general", "crnn", "crnn-general"),
    ("segcnn-iwt4s", "segcnn", "segcnn-iwt4s"),
    ("crnn-iwt4s", "crnn", "crnn-iwt4s"),
)


def pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path("../shared/data"),
        help="data root holding every source",
    )
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/generalization.md"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--write-cards",
        action="store_true",
        help="also write each *-general model's per-source test figures into its weight card (metrics)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    recs = {}
    for row, name, weights in MODELS:
        try:
            recs[row] = load_recognizer(name, weights=weights, device="cpu", runtime="torch")
        except Exception as e:  # noqa: BLE001 - a missing model is reported, the rest still run
            print(f"skipping {row}: {e}", file=sys.stderr)
    if not recs:
        print("error: no weights to measure", file=sys.stderr)
        return 1

    results: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    union: dict[str, tuple[list[str], list[Prediction]]] = {row: ([], []) for row in recs}
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    for short, dataset in SOURCES:
        try:
            test = load_dataset(dataset, args.data_dir).samples("test")
        except Exception as e:  # noqa: BLE001
            print(f"skipping source {short} ({dataset}): {e}", file=sys.stderr)
            continue
        res = evaluate(recs, test, progress=False)
        truths = [s.text for s in res.samples]
        counts[short] = len(truths)
        for row in recs:
            preds = list(res.models[row].predictions)
            results[row][short] = score_visible(truths, preds)
            union[row][0].extend(truths)
            union[row][1].extend(preds)
        print(
            f"{short}: {len(truths)} test plates ({time.perf_counter() - t0:.0f}s)", file=sys.stderr
        )
    by_length: dict[str, dict[int, dict[str, float]]] = {}
    for row, (truths, preds) in union.items():
        results[row]["all"] = score_visible(truths, preds)
        lengths: dict[int, list[int]] = defaultdict(list)
        for i, t in enumerate(truths):
            lengths[len(t)].append(i)
        by_length[row] = {
            n: score_visible([truths[i] for i in idx], [preds[i] for i in idx])
            for n, idx in sorted(lengths.items())
        }

    shorts = [s for s, _ in SOURCES if s in counts] + ["all"]
    lines = [
        "# Generalization: every source's test split",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generalization.py --data-dir ../shared/data`",
        "",
        "Test splits (each dataset's leak-free split by plate text): "
        + ", ".join(f"{s} {counts[s]}" for s in shorts if s in counts)
        + f" plates, {sum(counts.values())} in all. es (UC3M-LP): two characters per plate are greyed"
        " out; they match one character or none, every visible one must be right.",
        "",
        "## Plate accuracy (95% CI) / CER",
        "",
        "| model | " + " | ".join(shorts) + " |",
        "|:--|" + "--:|" * len(shorts),
    ]
    for row in recs:
        cells = []
        for s in shorts:
            m = results[row].get(s)
            cells.append(
                "-"
                if m is None
                else f"{pct(m['plate_accuracy'])} ({pct(m['ci_low'])}-{pct(m['ci_high'])}) / {pct(m['cer'])}"
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## ECE of the plate confidence (mean confidence)",
        "",
        "| model | " + " | ".join(shorts) + " |",
        "|:--|" + "--:|" * len(shorts),
    ]
    for row in recs:
        cells = []
        for s in shorts:
            m = results[row].get(s)
            cells.append("-" if m is None else f"{m['ece']:.3f} ({m['mean_confidence']:.2f})")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    all_lengths = sorted({n for row in by_length for n in by_length[row]})
    lines += [
        "",
        "## By label length (union of the test splits): plate accuracy / ECE (n)",
        "",
        "| model | " + " | ".join(str(n) for n in all_lengths) + " |",
        "|:--|" + "--:|" * len(all_lengths),
    ]
    for row in recs:
        cells = []
        for n in all_lengths:
            m = by_length[row].get(n)
            cells.append(
                "-" if m is None else f"{pct(m['plate_accuracy'])} / {m['ece']:.3f} ({m['n']})"
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "Weights: `src/segocr/weights/{segcnn,crnn}-general.pt` (trained on the mix"
            " `src/segocr/configs/general.yaml`), `segcnn-iwt4s` = `segcnn.pt`, `crnn-iwt4s` ="
            " `crnn.pt` (trained on IWT4S alone). torch runtime, CPU, 1 thread."
        ),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    payload = {
        "counts": counts,
        "results": results,
        "by_length": {r: {str(k): v for k, v in d.items()} for r, d in by_length.items()},
    }
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if args.write_cards:
        write_cards(results)
    return 0


def write_cards(results: dict[str, dict[str, dict[str, float]]]) -> None:
    """Put the measured per-source test figures of the general weights into their cards."""
    from segocr.models.weights import SHIPPED_DIR, read_card
    from segocr.training.mixdata import _write_card

    for row, _, weights in MODELS:
        if not weights.endswith("-general") or row not in results:
            continue
        path = SHIPPED_DIR / f"{weights}.pt"
        card = read_card(path)
        card["metrics"] = {
            "split": "test split of each source (its own group split by plate text)",
            "scoring": "exact plates; UC3M-LP hidden characters match one character or none",
            "measured_by": "python benchmarks/generalization.py --data-dir ../shared/data --write-cards",
            "per_source": results[row],
        }
        _write_card(path, card)
        print(f"wrote the test figures into {path.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
