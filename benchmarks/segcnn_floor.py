"""Where segcnn's time goes, and the ceiling its compiled work sets (issue 12).

    python benchmarks/segcnn_floor.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                      [--weights src/segocr/weights/segcnn-int8.onnx]
                                      [--passes 3] [--runs 3] [--cores 2]

One thread everywhere (ONNX Runtime, OpenCV, NumPy's BLAS), the decoded IWT4S test
images read as ``benchmarks/speed.py`` reads them (``predict`` on batches of 64). Each run
profiles ``--passes`` passes with ``cProfile`` and sums the time spent inside compiled
calls by kind:

* **network**: ONNX Runtime's ``run`` (the character classifier);
* **OpenCV**: every ``cv2`` function and method (resize, CLAHE, filters, components, ...);
* **NumPy**: NumPy's compiled methods and ufuncs (mostly per-call overhead on small arrays).

The same passes are also timed without the profiler (wall time of one thread); what is
not network, OpenCV or NumPy is Python. Reported per plate as medians over ``--runs``
runs, with the **ceiling** that the network and OpenCV work alone allows on ``--cores``
cores: ``cores / (network + OpenCV seconds per plate)``, the throughput of this design if
every line of Python cost nothing and both cores stayed busy. Timing only: accuracy is
not printed. Writes ``benchmarks/results/segcnn_floor.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def kind_of(func: tuple[str, int, str], cv2_names: set[str]) -> str:
    """The kind of one ``pstats`` entry: ``network``, ``opencv``, ``numpy`` or ``python``.

    >>> kind_of(("~", 0, "<resize>"), {"resize"}), kind_of(("~", 0, "<method 'apply' of 'cv2.CLAHE' objects>"), set())
    ('opencv', 'opencv')
    >>> kind_of(("~", 0, "<method 'reduce' of 'numpy.ufunc' objects>"), set()), kind_of(("x.py", 3, "f"), set())
    ('numpy', 'python')
    """
    file, _, name = func
    if file != "~":
        return "python"
    if "onnxruntime" in name:
        return "network"
    if "'cv2." in name or name.strip("<>") in cv2_names:
        return "opencv"
    if "numpy" in name:
        return "numpy"
    return "python"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--weights", type=Path, default=ROOT / "src/segocr/weights/segcnn-int8.onnx")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/segcnn_floor.json")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import cv2

    from segocr.api import load_recognizer
    from segocr.datasets.base import load_dataset
    from segocr.errors import DatasetError
    from segocr.runtime.onnx_backend import load_onnx

    cv2.setNumThreads(1)
    cv2_names = {n for n in dir(cv2) if not n.startswith("_")}
    try:
        ds = load_dataset("iwt4s", args.data_dir)
    except DatasetError:
        ds = load_dataset("synthetic")
    images = [s.load() for s in ds.samples("test")]
    rec: Any = load_recognizer("segcnn", weights=str(args.weights), device="cpu", runtime="onnx")
    rec.net, _ = load_onnx(args.weights, threads=1)

    def passes() -> None:
        for _ in range(args.passes):
            for i in range(0, len(images), BATCH):
                rec.predict(images[i : i + BATCH])

    passes()  # warm-up
    n = args.passes * len(images)
    runs: list[dict[str, float]] = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        passes()
        wall = (time.perf_counter() - t0) / n
        prof = cProfile.Profile()
        prof.runcall(passes)
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        spent = {"network": 0.0, "opencv": 0.0, "numpy": 0.0}
        for func, (_, _, tottime, _, _) in stats.items():
            kind = kind_of(func, cv2_names)
            if kind in spent:
                spent[kind] += tottime
        row = {k: 1e3 * v / n for k, v in spent.items()}
        row["wall"] = 1e3 * wall
        row["python"] = row["wall"] - row["network"] - row["opencv"] - row["numpy"]
        runs.append(row)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    floor = med["network"] + med["opencv"]
    out = {
        "images": len(images),
        "dataset": ds.name,
        "weights": str(args.weights.relative_to(ROOT) if args.weights.is_relative_to(ROOT) else args.weights),
        "passes_per_run": args.passes,
        "runs": runs,
        "median_ms_per_plate": med,
        "cores": args.cores,
        "one_thread_plates_per_second": 1e3 / med["wall"],
        "ceiling_plates_per_second": args.cores * 1e3 / floor,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"{len(images)} {ds.name} test images, {args.weights.name}, one thread, medians of {args.runs} runs:")
    print("| per plate | ms | share |")
    print("|:--|--:|--:|")
    for k in ("network", "opencv", "numpy", "python", "wall"):
        print(f"| {k} | {med[k]:.2f} | {100 * med[k] / med['wall']:.0f}% |")
    print(
        f"one thread: {out['one_thread_plates_per_second']:.0f} plates/s; ceiling of the network and OpenCV "
        f"work alone on {args.cores} cores: {out['ceiling_plates_per_second']:.0f} plates/s"
    )


if __name__ == "__main__":
    main()
