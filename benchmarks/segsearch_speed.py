"""Plates/s of segcnn before and after the segmentation search (issue 13), measured as
``benchmarks/speed.py`` measures throughput (its :func:`throughput`: decoded test
images, ``predict`` on batches of 64, passes interleaved, medians).

    python benchmarks/segsearch_speed.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                         [--repeats 5] [--threads 2] [--runtime onnx]
                                         [--model segcnn] [--weights FILE]

Compares the shipped segcnn config with the search off (the old cascade) and on
(``SearchConfig()`` defaults, or the card's own search settings when it has them),
same classifier and runtime, the search taking the unsure plates right after the first
binarization (``SearchConfig.run_after: first_binarization``, no cascade second stage),
and with the first stage alone (the first binarization,
no second stage, no search): what every plate costs at least in this design, its
floor. Also counts the plates the search ran on. Timing only: accuracy on the test
split is not printed here. Writes ``benchmarks/results/segsearch_speed.json``.
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
    ap.add_argument("--model", default="segcnn", help="segcnn or segcnn-iwt4s")
    ap.add_argument("--weights", type=Path, default=None, help="e.g. src/segocr/weights/segcnn-int8.onnx")
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
    shipped = load_recognizer(args.model, weights=args.weights, device="cpu", runtime=args.runtime)
    assert isinstance(shipped, SegCNNRecognizer)
    if args.runtime == "onnx" and args.weights is not None and args.weights.suffix == ".onnx":
        from segocr.runtime.onnx_backend import load_onnx

        shipped.net, _ = load_onnx(args.weights, threads=args.threads)
    search = shipped.config.search or SearchConfig()
    segment = shipped.config.segment
    first = segment.model_copy(update={"binarizers": segment.binarizers[:1]})
    recs = {
        "first stage only (floor)": SegCNNRecognizer(
            shipped.net, shipped.charset, shipped.config.model_copy(update={"search": None, "segment": first})
        ),
        "cascade (search off)": SegCNNRecognizer(
            shipped.net, shipped.charset, shipped.config.model_copy(update={"search": None})
        ),
        "search": SegCNNRecognizer(
            shipped.net, shipped.charset, shipped.config.model_copy(update={"search": search})
        ),
        "search after the first binarization": SegCNNRecognizer(
            shipped.net,
            shipped.charset,
            shipped.config.model_copy(update={"search": search.model_copy(update={"run_after": "first_binarization"})}),
        ),
    }
    searched = sum(
        bool(p.info.get("search")) for p in recs["search"].predict(images)
    )  # also a warm-up
    searched_first = sum(bool(p.info.get("search")) for p in recs["search after the first binarization"].predict(images))
    for rec in recs.values():
        rec.predict(images[:8])
    passes: dict[str, list[float]] = {k: [] for k in recs}
    cpu: dict[str, list[float]] = {k: [] for k in recs}
    for _ in range(args.repeats):
        for k, rec in recs.items():
            wall, per_cpu = throughput(rec, images)
            passes[k].append(wall)
            cpu[k].append(per_cpu)
    out = {
        "dataset": ds.source,
        "split": "test",
        "images": len(images),
        "model": args.model,
        "weights": str(args.weights) if args.weights else "shipped",
        "runtime": args.runtime,
        "threads": args.threads,
        "plates_searched": searched,
        "plates_searched_after_the_first_binarization": searched_first,
        "plates_per_second": {k: round(statistics.median(v), 1) for k, v in passes.items()},
        "plates_per_cpu_second": {k: round(statistics.median(v), 1) for k, v in cpu.items()},
        "passes": {k: [round(x, 1) for x in v] for k, v in passes.items()},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
