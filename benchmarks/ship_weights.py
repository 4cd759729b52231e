"""Ship the weights of a training run chosen on validation figures under a shipped name, and
measure the test split once for its card.

    python benchmarks/ship_weights.py runs/crnn-small/crnn.pt --as crnn-fast \\
        --dataset iwt4s --data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset \\
        --chosen-on "validation: 75/78 plates, rule in src/segocr/configs/crnn-small.yaml"

Copies ``WEIGHTS`` to ``src/segocr/weights/NAME.pt`` with its card. The card gets, as
``metrics``, the test split of ``--dataset`` read once through the benchmark harness
(:func:`segocr.training.card.measure_test_split`); ``training.chosen_on`` records the
validation evidence and ``training.shipped_from`` the run. The card is sealed again.
``NAME`` must be registered as a recognizer (e.g. a weights variant such as ``crnn-fast``).
Then export: ``segocr export --model NAME --to onnx``. (segcnn classifiers ship with
``benchmarks/segcnn_ship.py``, which also carries the segmentation search over.)
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.models.weights import SHIPPED_DIR, read_card, write_card
from segocr.training.card import measure_test_split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, help="a run's weight file (its .json card beside it)")
    ap.add_argument("--as", dest="name", required=True, help="shipped name (a registered recognizer)")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--chosen-on", required=True, help="the validation evidence, for the card")
    args = ap.parse_args()
    torch.set_num_threads(1)
    dest = SHIPPED_DIR / f"{args.name}.pt"
    card = read_card(args.weights)
    shutil.copyfile(args.weights, dest)
    rec = load_recognizer(args.name, weights=str(args.weights), device="cpu", runtime="torch")
    dataset = load_dataset(args.dataset, args.data_dir)
    card["metrics"] = measure_test_split(rec, args.name, dataset.samples("test"))
    card["metrics"]["command"] = (
        f"python benchmarks/ship_weights.py {args.weights} --as {args.name} --dataset {args.dataset} ..."
    )
    card["training"] = {**card["training"], "chosen_on": args.chosen_on, "shipped_from": str(args.weights)}
    write_card(dest, card)
    print(json.dumps(card["metrics"], indent=2))


if __name__ == "__main__":
    main()
