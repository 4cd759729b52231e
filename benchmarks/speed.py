"""Speed of the segcnn recognizer (a benchmark, not a test: the machines are shared
and noisy, so it reports medians over repeats).

    python benchmarks/speed.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]

Measures, in one process:
* end-to-end throughput over the decoded test images (segmentation + classification,
  batches of 64), median of ``--repeats`` passes;
* median latency of one plate (``predict([image])``);
* peak resident memory of this process;
* wall time of a cold ``segocr read`` of one image in a new process (import, weight
  loading and reading), median of 3.
Writes ``benchmarks/results/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.errors import DatasetError

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/speed.json")
    args = ap.parse_args()
    try:
        ds = load_dataset("iwt4s", args.data_dir)
    except DatasetError:
        ds = load_dataset("synthetic")
    samples = ds.samples("test")
    images = [s.load() for s in samples]
    rec = load_recognizer("segcnn", device="auto")
    rec.predict(images[:4])  # warm-up

    passes = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for i in range(0, len(images), 64):
            rec.predict(images[i : i + 64])
        passes.append(len(images) / (time.perf_counter() - t0))
    lat = []
    for img in images:
        t0 = time.perf_counter()
        rec.predict([img])
        lat.append(time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    sample = min((ROOT / "data/samples").glob("*.png"))
    cold = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "segocr", "read", str(sample)], check=True, capture_output=True)
        cold.append(time.perf_counter() - t0)

    out = {
        "dataset": ds.source,
        "images": len(images),
        "plates_per_second_median": round(statistics.median(passes), 1),
        "plates_per_second_passes": [round(p, 1) for p in passes],
        "latency_one_plate_ms_median": round(1000 * statistics.median(lat), 2),
        "latency_one_plate_ms_p90": round(1000 * sorted(lat)[int(0.9 * len(lat))], 2),
        "peak_rss_mb": round(peak_mb, 1),
        "cold_read_one_image_s_median": round(statistics.median(cold), 2),
        "device": str(getattr(rec, "device", "cpu")),
        "torch_threads": torch.get_num_threads(),
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
