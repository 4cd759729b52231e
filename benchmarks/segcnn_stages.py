"""Where segcnn's time goes over the decoded IWT4S test images (issue 12): wall time per
stage of ``predict``, or (``--kinds``) compiled work against Python and the ceiling the
compiled work sets. One process, ``--threads`` threads for ONNX Runtime and OpenCV.

    python benchmarks/segcnn_stages.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                       [--weights src/segocr/weights/segcnn-int8.onnx] [--threads 1] [--passes 3]
    OMP_NUM_THREADS=1 python benchmarks/segcnn_stages.py --kinds [--runs 3] [--cores 2] [--out benchmarks/results/segcnn_floor.json]

Each stage function the recognizer calls is wrapped with a wall clock
(``time.perf_counter``; the wrappers cost about a microsecond a call, unlike a
profiler's per-line hooks, which slow Python code far more than C calls): preparing the
plate (:func:`~segocr.segment.characters.prepare`), the cascade's segmentation
(:func:`~segocr.segment.characters.hypotheses`), cropping, the classifier's calls, the
search's lattices and the search itself. Printed: plates/s, milliseconds a plate per
stage and their share, calls a plate, crops a plate. Timing only: readings are not
scored.

``--kinds`` (no stage wrappers): each of ``--runs`` runs times ``--passes`` passes
without a profiler, then profiles as many with ``cProfile`` and sums the time spent
inside compiled calls by kind (:func:`kind_of`): the **network** (ONNX Runtime's
``run``: the character classifier), **OpenCV** (every ``cv2`` function and method) and
**NumPy** (its compiled methods and ufuncs, mostly per-call overhead on small arrays);
the rest of the unprofiled wall time is Python. Printed and written to ``--out``: the
medians a plate, and the **ceiling** that the network and OpenCV work alone allows on
``--cores`` cores, ``cores / (network + OpenCV seconds a plate)``: the throughput of this
design if every line of Python cost nothing and every core stayed busy. Run it with
``--threads 1`` (the default) and ``OMP_NUM_THREADS=1`` (set before NumPy and ONNX Runtime
load, so that no library starts threads of its own): the compiled time is then CPU time
of one core.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

import segocr.recognizers.segcnn as segcnn_module
from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.runtime.onnx_backend import load_onnx

ROOT = Path(__file__).resolve().parents[1]
#: The functions of :mod:`segocr.recognizers.segcnn`'s namespace that are timed.
STAGES = ("prepare", "hypotheses", "crop_chars", "lattices", "search_lattices", "merge_paths")


def timed(fn: Callable[..., Any], name: str, seconds: collections.defaultdict[str, float], calls: collections.Counter[str]) -> Callable[..., Any]:
    """``fn`` adding its wall seconds and one call to ``seconds[name]`` and ``calls[name]``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - t
            calls[name] += 1

    return wrapper


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


def kinds(rec: Any, images: list[Any], args: argparse.Namespace) -> None:
    """The ``--kinds`` report (see the module docstring)."""

    def passes() -> None:
        for _ in range(args.passes):
            for i in range(0, len(images), args.batch):
                rec.predict(images[i : i + args.batch])

    cv2_names = {n for n in dir(cv2) if not n.startswith("_")}
    passes()  # warm-up
    n = args.passes * len(images)
    runs: list[dict[str, float]] = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        passes()
        row = {"wall": 1e3 * (time.perf_counter() - t0) / n, "network": 0.0, "opencv": 0.0, "numpy": 0.0}
        prof = cProfile.Profile()
        prof.runcall(passes)
        for func, (_, _, tottime, _, _) in pstats.Stats(prof).stats.items():  # type: ignore[attr-defined]
            kind = kind_of(func, cv2_names)
            if kind != "python":
                row[kind] += 1e3 * tottime / n
        row["python"] = row["wall"] - row["network"] - row["opencv"] - row["numpy"]
        runs.append(row)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out = {
        "images": len(images),
        "weights": args.weights.name,
        "threads": args.threads,
        "passes_per_run": args.passes,
        "runs": runs,
        "median_ms_per_plate": med,
        "cores": args.cores,
        "plates_per_second": 1e3 / med["wall"],
        "ceiling_plates_per_second": args.cores * 1e3 / (med["network"] + med["opencv"]),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"{len(images)} test images, {args.weights.name}, {args.threads} thread(s), medians of {args.runs} runs:")
    print("| a plate | ms | share |\n|:--|--:|--:|")
    for k in ("network", "opencv", "numpy", "python", "wall"):
        print(f"| {k} | {med[k]:.2f} | {100 * med[k] / med['wall']:.0f}% |")
    print(
        f"{out['plates_per_second']:.0f} plates/s; ceiling of the network and OpenCV work alone on "
        f"{args.cores} cores: {out['ceiling_plates_per_second']:.0f} plates/s ({args.out})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--weights", type=Path, default=ROOT / "src/segocr/weights/segcnn-int8.onnx")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--kinds", action="store_true", help="compiled work against Python, and the ceiling")
    ap.add_argument("--runs", type=int, default=3, help="with --kinds")
    ap.add_argument("--cores", type=int, default=2, help="with --kinds: the cores of the ceiling")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/segcnn_floor.json", help="with --kinds")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    images = [s.load() for s in load_dataset("iwt4s", args.data_dir).samples("test")]
    rec: Any = load_recognizer("segcnn-iwt4s", weights=str(args.weights), device="cpu", runtime="onnx")
    rec.net, _ = load_onnx(args.weights, threads=args.threads)
    if args.kinds:
        kinds(rec, images, args)
        return
    seconds: collections.defaultdict[str, float] = collections.defaultdict(float)
    calls: collections.Counter[str] = collections.Counter()
    for name in STAGES:
        setattr(segcnn_module, name, timed(getattr(segcnn_module, name), name, seconds, calls))
    classify = rec.classify

    def counted(crops: Any) -> Any:
        calls["crops"] += len(crops)
        return classify(crops)

    rec.classify = timed(counted, "classify", seconds, calls)
    rec.predict(images[: args.batch])  # warm-up
    seconds.clear()
    calls.clear()
    t0 = time.perf_counter()
    for _ in range(args.passes):
        for i in range(0, len(images), args.batch):
            rec.predict(images[i : i + args.batch])
    total = time.perf_counter() - t0
    n = len(images) * args.passes
    print(f"{n / total:.0f} plates/s, {1e3 * total / n:.2f} ms a plate ({args.threads} thread(s), batches of {args.batch})")
    for name, sec in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {name:16s} {1e3 * sec / n:6.3f} ms a plate  {100 * sec / total:5.1f}%  {calls[name] / n:.2f} calls a plate")
    print(f"  other            {1e3 * (total - sum(seconds.values())) / n:6.3f} ms a plate")
    print(f"  crops a plate: {calls['crops'] / n:.1f}")


if __name__ == "__main__":
    main()
