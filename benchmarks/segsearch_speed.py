"""Plates/s of segcnn before and after the segmentation search (issue 13), measured as
``benchmarks/speed.py`` measures throughput (its :func:`throughput`: decoded test
images, ``predict`` on batches of 64, passes interleaved, medians).

    python benchmarks/segsearch_speed.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                         [--repeats 5] [--threads 2] [--runtime onnx]

Compares the shipped segcnn config with the search off (the old cascade) and on
(``SearchConfig()`` defaults, or the card's own search settings when it has them),
same classifier and runtime. Also counts the plates the search ran on. Timing only:
accuracy on the test split is not printed here. Writes
``benchmarks/results/segsearch_speed.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
from pathlib import Path
from typing import Any

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.errors import DatasetError
from segocr.recognizers.segcnn import SegCNNRecognizer
from segocr.segment.search import SearchConfig

ROOT = Path(__file__).resolve().parents[1]


def _speed_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "segocr_bench_speed", ROOT / "benchmarks/speed.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runtime", default="onnx", choices=["onnx", "torch"])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/segsearch_speed.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    throughput = _speed_module().throughput
    try:
        ds = load_dataset("iwt4s", args.data_dir)
    except DatasetError:
        ds = load_dataset("synthetic")
    images = [s.load() for s in ds.samples("test")]
    shipped = load_recognizer("segcnn", device="cpu", runtime=args.runtime)
    assert isinstance(shipped, SegCNNRecognizer)
    search = shipped.config.search or SearchConfig()
    recs = {
        "cascade (search off)": SegCNNRecognizer(
            shipped.net, shipped.charset, shipped.config.model_copy(update={"search": None})
        ),
        "search": SegCNNRecognizer(
            shipped.net, shipped.charset, shipped.config.model_copy(update={"search": search})
        ),
    }
    searched = sum(
        bool(p.info.get("search")) for p in recs["search"].predict(images)
    )  # also a warm-up
    recs["cascade (search off)"].predict(images[:8])
    passes: dict[str, list[float]] = {k: [] for k in recs}
    for _ in range(args.repeats):
        for k, rec in recs.items():
            passes[k].append(throughput(rec, images))
    out = {
        "dataset": ds.source,
        "split": "test",
        "images": len(images),
        "runtime": args.runtime,
        "threads": args.threads,
        "plates_searched": searched,
        "plates_per_second": {k: round(statistics.median(v), 1) for k, v in passes.items()},
        "passes": {k: [round(x, 1) for x in v] for k, v in passes.items()},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
