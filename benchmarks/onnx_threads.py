"""Two ways to spend N cores on a batch with ONNX Runtime, side by side in one run:
ONNX Runtime's N intra-op threads on the whole batch (the code before), against the
batch cut into N parts run side by side on a one-thread session
(:class:`segocr.runtime.onnx_backend.OnnxNetwork`, now).

    python benchmarks/onnx_threads.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                      [--threads 2] [--repeats 7]

For each of segcnn, crnn, crnn-fast and holistic with their IWT4S weights (the float
export and the int8 model, as ``benchmarks/speed.py``): plates per second over the
decoded IWT4S test images in batches of 64 (passes of the two ways interleaved, median
of ``--repeats``) and their ratio; the median time of one plate read alone (the first
50 test images; a batch of one runs on intra-op threads both ways); and whether both
ways give the same readings (texts and confidences, to the bit) on every IWT4S image,
train and test split (nothing is chosen on them: a change of readings would only be
reported). Writes ``benchmarks/results/onnx_threads.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from speed_worker import BATCH, MODELS

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.models.weights import default_weights_path
from segocr.runtime.onnx_backend import OnnxNetwork, session_options

ROOT = Path(__file__).resolve().parents[1]


class IntraOpNetwork:
    """The way before: one session of ``threads`` intra-op threads runs the whole batch."""

    runtime = "onnx"
    device = "cpu"

    def __init__(self, model: bytes, threads: int) -> None:
        self.session = ort.InferenceSession(model, sess_options=session_options(threads), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run(None, {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})[0]
        return out


def readings(rec: Any, images: list[np.ndarray]) -> list[tuple[str, tuple[float, ...]]]:
    out = []
    for i in range(0, len(images), BATCH):
        out += [(p.text, tuple(c.confidence for c in p.chars)) for p in rec.predict(images[i : i + BATCH])]
    return out


def plates_per_second(rec: Any, images: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(images), BATCH):
        rec.predict(images[i : i + BATCH])
    return len(images) / (time.perf_counter() - t0)


def latency_ms(rec: Any, images: list[np.ndarray]) -> float:
    """Median milliseconds of reading one plate alone (``predict([image])``)."""
    times = []
    for image in images:
        t0 = time.perf_counter()
        rec.predict([image])
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/onnx_threads.json")
    args = ap.parse_args()
    load_start = [round(x, 2) for x in os.getloadavg()]
    ds = load_dataset("iwt4s", args.data_dir)
    test = [s.load() for s in ds.samples("test")]
    every = [s.load() for s in ds.samples("train")] + test

    rows = []
    for name in MODELS:
        pt = default_weights_path(name)
        for variant, path in (("onnx", pt.with_suffix(".onnx")), ("onnx-int8", pt.with_name(f"{pt.stem}-int8.onnx"))):
            if not path.exists():
                continue
            base = load_recognizer(name, weights=str(path), device="cpu", runtime="onnx")
            data = path.read_bytes()
            ways = {"intra-op": copy.copy(base), "split": copy.copy(base)}
            ways["intra-op"].net = IntraOpNetwork(data, args.threads)
            ways["split"].net = OnnxNetwork(data, threads=args.threads)
            same = readings(ways["intra-op"], every) == readings(ways["split"], every)  # also the warm-up
            passes: dict[str, list[float]] = {k: [] for k in ways}
            for _ in range(args.repeats):
                for k, rec in ways.items():
                    passes[k].append(plates_per_second(rec, test))
            med = {k: statistics.median(v) for k, v in passes.items()}
            one = {k: latency_ms(rec, test[:50]) for k, rec in ways.items()}
            row = {
                "model": name,
                "runtime": variant,
                "intra_op_plates_per_s": round(med["intra-op"], 1),
                "split_plates_per_s": round(med["split"], 1),
                "ratio": round(med["split"] / med["intra-op"], 3),
                "latency_1_plate_ms": {k: round(v, 2) for k, v in one.items()},
                "same_readings": f"{len(every)} / {len(every)}" if same else "differ",
                "passes": {k: [round(x, 1) for x in v] for k, v in passes.items()},
            }
            print(json.dumps({k: v for k, v in row.items() if k != "passes"}), flush=True)
            rows.append(row)

    result = {
        "threads": args.threads,
        "repeats": args.repeats,
        "batch": BATCH,
        "images_timed": len(test),
        "images_compared": len(every),
        "load_average_at_start": load_start,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    title = (
        f"ONNX Runtime on {args.threads} cores: intra-op threads against a split batch "
        f"(`benchmarks/onnx_threads.py`; medians of {args.repeats} interleaved passes over "
        f"{len(test)} IWT4S test images, batches of {BATCH}; load average at the start {load_start})"
    )
    lines = [
        title,
        "",
        "| model | runtime | intra-op, plates/s | split, plates/s | ratio | one plate alone, ms (before / now) | same readings |",
        "|:--|:--|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['runtime']} | {r['intra_op_plates_per_s']:.0f} | {r['split_plates_per_s']:.0f} "
            f"| {r['ratio']:.2f}x | {r['latency_1_plate_ms']['intra-op']:.2f} / {r['latency_1_plate_ms']['split']:.2f} "
            f"| {r['same_readings']} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
