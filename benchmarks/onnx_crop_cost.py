"""CPU time per crop of ONNX classifiers (the cost column of docs/models.md's segcnn
candidate tables): ONNX Runtime, 1 thread, batches of 256 crops, median of 15 timed
batches per model, the models' batches interleaved (A, B, A, B, ...) so that a load on
the machine hits them alike. The first model is the reference of the ratio column.

    python benchmarks/onnx_crop_cost.py base=/tmp/h12c/base-int8.onnx sep=/tmp/h12c/sep-int8.onnx \\
        [--threads 1] [--batch 256] [--repeats 15] [--out benchmarks/results/x.json]

Inputs are standard-normal crops (seed 0) of the model's input size: the cost of a
CNN does not depend on the pixel values. Each model runs 3 untimed batches first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

# segocr.runtime turns ONNX Runtime's telemetry off; it must come before onnxruntime.
from segocr.runtime.onnx_backend import session_options

if TYPE_CHECKING:
    import onnxruntime as ort


def session(path: Path, threads: int) -> ort.InferenceSession:
    """An ONNX Runtime CPU session of ``path`` with segocr's settings, ``threads`` threads."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])


def per_crop_us(times: list[float], batch: int) -> float:
    """Median seconds per batch -> microseconds per crop.

    >>> per_crop_us([0.05, 0.0256, 0.03], 256)
    117.1875
    """
    return statistics.median(times) / batch * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="LABEL=PATH.onnx (the first is the reference)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    labels, sessions = [], []
    for m in args.models:
        label, sep, path = m.partition("=")
        if not sep:
            label, path = Path(m).stem, m
        if not Path(path).is_file():
            ap.error(f"{path}: no such ONNX file")
        labels.append(label)
        sessions.append(session(Path(path), args.threads))
    inputs = []
    rng = np.random.default_rng(0)
    for s in sessions:
        shape = s.get_inputs()[0].shape
        x = rng.standard_normal((args.batch, *(int(d) for d in shape[1:]))).astype(np.float32)
        inputs.append({s.get_inputs()[0].name: x})
        for _ in range(3):
            s.run(None, inputs[-1])
    times: list[list[float]] = [[] for _ in sessions]
    for _ in range(args.repeats):
        for i, s in enumerate(sessions):
            t0 = time.perf_counter()
            s.run(None, inputs[i])
            times[i].append(time.perf_counter() - t0)
    us = [per_crop_us(t, args.batch) for t in times]
    rows = []
    for label, m, u in zip(labels, args.models, us, strict=True):
        rows.append({"model": label, "path": m.partition("=")[2] or m, "us_per_crop": round(u, 1), "ratio": round(u / us[0], 3)})
        print(f"{label:12s} {u:8.1f} us/crop  {u / us[0]:.3f}x")
    if args.out:
        info = {"threads": args.threads, "batch": args.batch, "repeats": args.repeats, "rows": rows}
        args.out.write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
