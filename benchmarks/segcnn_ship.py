"""Ship a segcnn classifier chosen on validation (issue 13) as the IWT4S weights and
measure the IWT4S test split once.

    python benchmarks/segcnn_select.py RUN... [--ensemble A+B]   # the choice, validation only
    python benchmarks/segcnn_ship.py RUN                          # a run folder
    python benchmarks/segcnn_ship.py --ensemble A+B               # an ensemble of runs

Writes ``src/segocr/weights/segcnn.pt`` and its card (sealed): the candidate's
weights, its recognizer config with the segmentation search of the card it replaces
(``config.search``, chosen on the train split by ``benchmarks/segsearch_select.py``),
its training facts, and as ``metrics`` the test split read once through the benchmark
harness, with the lost plates attributed to segmentation (wrong segment count) or to
the classifier (right count, misread). Then re-export::

    segocr export --model segcnn-iwt4s --to onnx
    segocr export --model segcnn-iwt4s --int8 --data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from segocr.datasets.base import load_dataset
from segocr.recognizers.segcnn import NAME, SegCNNRecognizer, load_segcnn
from segocr.segment.search import SearchConfig
from segocr.training.card import measure_for_card, save_trained
from segocr.training.segcnn import ensemble_recognizer, init_facts

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src/segocr/weights/segcnn.pt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", type=Path, help="a segocr train --model segcnn run folder")
    ap.add_argument("--ensemble", default=None, help="run folders joined by +")
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    args = ap.parse_args()
    if (args.run is None) == (args.ensemble is None):
        ap.error("give one run folder or --ensemble A+B")
    torch.set_num_threads(1)
    old = json.loads(WEIGHTS.with_suffix(".json").read_text())
    search = old["config"].get("search")
    dataset = load_dataset("iwt4s", args.data_dir)
    if args.run is not None:
        src = args.run / "segcnn.pt"
        card = json.loads(src.with_suffix(".json").read_text())
        rec = load_segcnn(src, device="cpu", runtime="torch")
        assert isinstance(rec, SegCNNRecognizer)
        training = {k: v for k, v in card["training"].items() if k not in ("dataset", "source")}
        model_kwargs = card["model_kwargs"]
        command = card["command"]
        shipped_from = str(args.run)
    else:
        members = [Path(p) / "segcnn.pt" for p in args.ensemble.split("+")]
        rec, facts = ensemble_recognizer(members, dataset.samples("train"), dataset.charset)
        training = {"ensemble_of": [str(Path(p)) for p in args.ensemble.split("+")], **facts}
        model_kwargs = {"width": int(facts["train_config"]["width"]), "members": len(members)}
        command = f"python benchmarks/segcnn_ship.py --ensemble {args.ensemble}"
        shipped_from = args.ensemble
    rec.config = rec.config.model_copy(
        update={"search": None if search is None else SearchConfig.model_validate(search)}
    )
    metrics: dict[str, Any] = measure_for_card(rec, NAME, dataset, evaluate_test=True, log=print)
    metrics["search"] = search
    metrics["command"] = "python benchmarks/segcnn_ship.py " + (
        str(args.run) if args.run is not None else f"--ensemble {args.ensemble}"
    )
    assert rec.model is not None
    model_fields = {
        "model": NAME,
        "architecture": "CharCNN",
        "model_kwargs": model_kwargs,
        "charset": dataset.charset.chars,
        "classes": "charset + noise (last index)",
        "input_size": [rec.config.input_size, rec.config.input_size],
        "config": rec.config.model_dump(mode="json"),
    }
    training["chosen_on"] = "validation plates only: python benchmarks/segcnn_select.py (the test split read once, here)"
    training["shipped_from"] = shipped_from
    # a run started from other weights (``init``) inherits their licence too
    init = training.get("train_config", {}).get("init")
    start = training.get("initialised_from") or (init_facts(init) if init else None)
    if start is not None:
        training["initialised_from"] = start
    save_trained(
        rec.model, WEIGHTS, dataset, model_fields=model_fields, training=training, command=command, metrics=metrics,
        also_inherits=start["licence"] if start else None,
    )  # fmt: skip
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
