"""Measure a weight file (not necessarily the shipped one) on a dataset split.

    python benchmarks/eval_weights.py --model crnn --weights runs/crnn-ccpd/crnn.pt \
        --dataset folder --data-dir ../shared/data/ccpd/lprnet-test-crops --split all

Prints the harness's figures as JSON: plate accuracy (with its 95 % interval), CER,
plates per second, and the plate accuracy when the first character is ignored (on
Chinese plates, the province).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from segocr.datasets.base import load_dataset
from segocr.evaluation.harness import evaluate
from segocr.evaluation.metrics import plate_accuracy
from segocr.recognizers.base import get_recognizer_factory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--split", default="test", choices=["train", "test", "all"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    rec = get_recognizer_factory(args.model)(weights=args.weights, device=args.device)
    samples = load_dataset(args.dataset, args.data_dir).samples(args.split)
    result = evaluate({args.model: rec}, samples, progress=False)
    mr = result.models[args.model]
    m = mr.overall
    truths = [s.text for s in result.samples]
    texts = [p.text for p in mr.predictions]
    print(json.dumps({
        "weights": str(args.weights),
        "dataset": args.dataset,
        "data_dir": str(args.data_dir) if args.data_dir else None,
        "split": args.split,
        "n": m.n,
        "failed": result.n_failed,
        "plate_accuracy": round(m.plate_accuracy, 4),
        "plate_accuracy_ci95": [round(m.ci_low, 4), round(m.ci_high, 4)],
        "cer": round(m.cer, 4),
        "plate_accuracy_without_first_char": round(plate_accuracy([t[1:] for t in truths], [p[1:] for p in texts]), 4),
        "plates_per_s": round(mr.plates_per_s, 1),
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
