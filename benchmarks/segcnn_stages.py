"""Where segcnn's time goes: wall time per stage of ``predict`` over the decoded IWT4S
test images (issue 12), one process, ``--threads`` threads for ONNX Runtime and OpenCV.

    python benchmarks/segcnn_stages.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                       [--weights src/segocr/weights/segcnn-int8.onnx] [--threads 1] [--passes 3]

Each stage function the recognizer calls is wrapped with a wall clock
(``time.perf_counter``; the wrappers cost about a microsecond a call, unlike a
profiler's per-line hooks, which slow Python code far more than C calls): preparing the
plate (:func:`~segocr.segment.characters.prepare`), the cascade's segmentation
(:func:`~segocr.segment.characters.hypotheses`), cropping, the classifier's calls, the
search's lattices and the search itself. Printed: plates/s, milliseconds a plate per
stage and their share, calls a plate, crops a plate. Timing only: readings are not
scored.
"""

from __future__ import annotations

import argparse
import collections
import functools
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


def timed(fn: Callable[..., Any], name: str, seconds: collections.Counter[str], calls: collections.Counter[str]) -> Callable[..., Any]:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--weights", type=Path, default=ROOT / "src/segocr/weights/segcnn-int8.onnx")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    images = [s.load() for s in load_dataset("iwt4s", args.data_dir).samples("test")]
    rec: Any = load_recognizer("segcnn-iwt4s", weights=str(args.weights), device="cpu", runtime="onnx")
    rec.net, _ = load_onnx(args.weights, threads=args.threads)
    seconds: collections.Counter[str] = collections.Counter()
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
    for name, sec in seconds.most_common():
        print(f"  {name:16s} {1e3 * sec / n:6.3f} ms a plate  {100 * sec / total:5.1f}%  {calls[name] / n:.2f} calls a plate")
    print(f"  other            {1e3 * (total - sum(seconds.values())) / n:6.3f} ms a plate")
    print(f"  crops a plate: {calls['crops'] / n:.1f}")


if __name__ == "__main__":
    main()
