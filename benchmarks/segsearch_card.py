"""Ship the segmentation search chosen on the train split (issue 13) and measure the
IWT4S test split once.

    python benchmarks/segsearch_select.py     # choice on the train split only
    python benchmarks/segsearch_card.py       # the choice into the cards, then test once

Reads the variant chosen by ``benchmarks/segsearch_select.py``
(``benchmarks/results/segsearch_select.json``), writes its ``search`` settings into
the config of the IWT4S segcnn cards (``segcnn.json``, ``segcnn.onnx.json``,
``segcnn-int8.onnx.json``; the weights are unchanged), then reads the IWT4S test
split once with ``segcnn-iwt4s`` (the default runtime) through the benchmark harness
and stores the figures, with the attribution of lost plates (wrong segment count
against misread), as each card's ``metrics``; the cards are resealed. Prints the
figures; writes ``benchmarks/results/segsearch_test.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.models.weights import atomic_write_bytes, seal_card
from segocr.segment.search import SearchConfig
from segocr.training.card import measure_test_split

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src/segocr/weights"
CARDS = ("segcnn.json", "segcnn.onnx.json", "segcnn-int8.onnx.json")


def write_card(path: Path, card: dict[str, Any]) -> None:
    atomic_write_bytes(
        path, (json.dumps(seal_card(card), indent=2, ensure_ascii=False) + "\n").encode()
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset"
    )
    ap.add_argument(
        "--selection", type=Path, default=ROOT / "benchmarks/results/segsearch_select.json"
    )
    ap.add_argument(
        "--variant",
        default=None,
        help="the variant of the selection file to ship (default: the one its rule chose)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/segsearch_test.json")
    args = ap.parse_args()
    sel = json.loads(args.selection.read_text())
    chosen = args.variant or sel["chosen"]
    if chosen != "base" and chosen not in sel["variants"]:
        raise SystemExit(f"unknown variant {chosen!r} (valid: base, {', '.join(sel['variants'])})")
    overrides = sel["variants"].get(chosen, {}).get("set", {})
    search = overrides.get("search")
    dotted = {k.removeprefix("search."): v for k, v in overrides.items() if k.startswith("search.")}
    if dotted:  # settings on top of the search the cards ship now
        shipped = json.loads((WEIGHTS / CARDS[0]).read_text())["config"].get("search") or {}
        search = {**shipped, **dotted}
    settings = (
        None
        if search is None
        else SearchConfig.model_validate(search).model_dump(mode="json", exclude_defaults=True)
    )
    for name in CARDS:
        path = WEIGHTS / name
        card = json.loads(path.read_text())
        card["config"] = {**card["config"], "search": settings}
        write_card(path, card)

    samples = load_dataset("iwt4s", args.data_dir).samples("test")
    rec = load_recognizer("segcnn-iwt4s", device="cpu")
    metrics: dict[str, Any] = {
        **measure_test_split(rec, "segcnn", samples),
        "search": settings,
        "command": "python benchmarks/segsearch_card.py",
    }
    for name in CARDS:
        path = WEIGHTS / name
        card = json.loads(path.read_text())
        card["metrics"] = metrics
        write_card(path, card)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "chosen": chosen,
                "runtime": str(getattr(getattr(rec, "net", None), "runtime", "")),
                **metrics,
            },
            indent=2,
        )
        + "\n"
    )
    print(json.dumps({"chosen": chosen, **metrics}, indent=2))


if __name__ == "__main__":
    main()
