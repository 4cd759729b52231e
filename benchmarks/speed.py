"""Speed of the three recognizers, torch against ONNX Runtime, side by side in one run
(a benchmark, not a test: the machines are shared and noisy, so it reports medians
over repeats and ratios measured in the same run, passes interleaved).

    python benchmarks/speed.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                               [--repeats 7] [--threads 2] [--baseline-rev f9ffebf~1]
                               [--light-venv /tmp/segocr-light]

Measures, in one process unless said otherwise:

* throughput (plates/s) of segcnn, crnn and holistic with their IWT4S weights
  (``NAME.pt``, whatever the default weights are) over the decoded test images
  (images decoded once beforehand; ``predict`` on batches of 64), for each with torch,
  the float ONNX export and the int8 model (``NAME-int8.onnx``, where shipped),
  ``--threads`` threads for all (torch intra-op threads, ONNX Runtime intra-op
  threads); ``--repeats`` passes, the runtimes interleaved pass by pass; medians and
  each one's ratio to torch's median;
* median latency of one plate (``predict([image])``) over the first 100 images;
* accuracy: plate accuracy with each runtime and how many readings equal torch's;
* cold ``segocr read`` of one image, wall time of a new process (imports, weights,
  reading), median of ``--cold-runs``: this code with ``--runtime onnx`` (the default
  ``auto``) and ``--runtime torch``, the code at ``--baseline-rev`` (before the runtime
  work; a ``git archive`` of it in a temporary folder), and with ``--light-venv`` a
  light install (numpy, OpenCV, onnxruntime and the small helpers, no torch);
* environment size: ``du`` of this virtualenv and of ``--light-venv``.

``--make-light-venv`` first creates the light virtualenv (``python -m venv DIR`` and
``DIR/bin/pip install .``, which pulls only the light dependencies).

Writes ``benchmarks/results/speed.json`` and ``speed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.errors import DatasetError
from segocr.models.weights import default_weights_path
from segocr.runtime.onnx_backend import load_onnx

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("segcnn", "crnn", "holistic")
#: Runtimes compared: torch, the float ONNX export, and the int8 model where one ships.
VARIANTS = ("torch", "onnx", "onnx-int8")
BATCH = 64


def throughput(rec: Any, images: list[np.ndarray]) -> float:
    """Plates per second of one pass over ``images`` in batches of :data:`BATCH`."""
    t0 = time.perf_counter()
    for i in range(0, len(images), BATCH):
        rec.predict(images[i : i + BATCH])
    return len(images) / (time.perf_counter() - t0)


def cold_read(cmd: list[str], runs: int, env: dict[str, str] | None = None, cwd: Path | None = None) -> list[float]:
    """Wall seconds of ``runs`` new processes running ``cmd`` (each must succeed)."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=cwd)
        out.append(time.perf_counter() - t0)
    return out


def du_mb(path: Path) -> float:
    """Disk usage of ``path`` in MB (``du -sk``)."""
    return int(subprocess.run(["du", "-sk", str(path)], check=True, capture_output=True, text=True).stdout.split()[0]) / 1024


def baseline_tree(rev: str, dest: Path) -> Path:
    """``src/`` of commit ``rev`` extracted into ``dest``; returns the ``src`` folder."""
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def make_light_venv(dest: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(dest)], check=True)
    subprocess.run([str(dest / "bin/python"), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--baseline-rev", default="f9ffebf~1", help="commit before the runtime work (cold start 'before')")
    ap.add_argument("--light-venv", type=Path, default=None)
    ap.add_argument("--make-light-venv", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/speed.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        ds = load_dataset("iwt4s", args.data_dir)
    except DatasetError:
        ds = load_dataset("synthetic")
    samples = ds.samples("test")
    images = [s.load() for s in samples]
    truth = [s.text for s in samples]

    recs: dict[tuple[str, str], Any] = {}
    for name in MODELS:
        pt = default_weights_path(name)  # the IWT4S weights (NAME.pt, the NAME-iwt4s recognizer)
        recs[(name, "torch")] = load_recognizer(name, weights=str(pt), device="cpu", runtime="torch")
        for variant, path in (("onnx", pt.with_suffix(".onnx")), ("onnx-int8", pt.with_name(f"{pt.stem}-int8.onnx"))):
            if path.exists():
                rec = load_recognizer(name, weights=str(path), device="cpu", runtime="onnx")
                rec.net, _ = load_onnx(path, threads=args.threads)  # --threads intra-op threads
                recs[(name, variant)] = rec
    readings = {key: [p.text for p in rec.predict(images)] for key, rec in recs.items()}  # also the warm-up

    passes: dict[tuple[str, str], list[float]] = {key: [] for key in recs}
    for _ in range(args.repeats):
        for key, rec in recs.items():  # interleaved: each pass of each runtime sees similar load
            passes[key].append(throughput(rec, images))
    latency: dict[tuple[str, str], float] = {}
    for key, rec in recs.items():
        lat = []
        for img in images[:100]:
            t0 = time.perf_counter()
            rec.predict([img])
            lat.append(time.perf_counter() - t0)
        latency[key] = statistics.median(lat)

    models: dict[str, Any] = {}
    for name in MODELS:
        base = statistics.median(passes[(name, "torch")])
        models[name] = {}
        for variant in VARIANTS:
            if (name, variant) not in recs:
                continue
            mine, ref = readings[(name, variant)], readings[(name, "torch")]
            pps = statistics.median(passes[(name, variant)])
            models[name][variant] = {
                "plates_per_second": round(pps, 1),
                "over_torch": round(pps / base, 2),
                "passes": [round(p, 1) for p in passes[(name, variant)]],
                "latency_one_plate_ms": round(1000 * latency[(name, variant)], 2),
                "plate_accuracy": round(float(np.mean([a == b for a, b in zip(mine, truth)])), 4),
                "same_reading_as_torch": f"{sum(a == b for a, b in zip(mine, ref))}/{len(ref)}",
            }

    sample = str(ROOT / "data/samples/9KE0410.png")
    here = [sys.executable, "-m", "segocr", "read", sample]
    cold: dict[str, list[float]] = {
        "onnx (this code, --runtime auto)": cold_read(here, args.cold_runs),
        "torch (this code, --runtime torch)": cold_read([*here, "--runtime", "torch"], args.cold_runs),
    }
    with tempfile.TemporaryDirectory() as tmp:
        src = baseline_tree(args.baseline_rev, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(src)}
        cold[f"before ({args.baseline_rev}, torch)"] = cold_read(here, args.cold_runs, env=env, cwd=Path(tmp))
    light = args.light_venv
    if light is not None and args.make_light_venv:
        make_light_venv(light)
    sizes = {"full (.venv: torch, train and dev extras)": round(du_mb(Path(sys.prefix)))}
    if light is not None:
        check = subprocess.run(
            [str(light / "bin/python"), "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
            check=True, capture_output=True, text=True,
        )
        assert check.stdout.strip() == "True", "the light venv has torch"
        cold["onnx (light install, no torch)"] = cold_read([str(light / "bin/segocr"), "read", sample], args.cold_runs, cwd=Path("/"))
        sizes["light (numpy, OpenCV, onnxruntime, helpers)"] = round(du_mb(light))

    out = {
        "dataset": ds.source,
        "split": "test",
        "images": len(images),
        "batch": BATCH,
        "threads": {"torch_intra_op": torch.get_num_threads(), "onnxruntime_intra_op": args.threads},
        "repeats": args.repeats,
        "models": models,
        "cold_read_one_image_s": {k: {"median": round(statistics.median(v), 2), "runs": [round(x, 2) for x in v]} for k, v in cold.items()},
        "environment_mb": sizes,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "onnxruntime": __import__("onnxruntime").__version__},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(out))
    print(markdown(out))


def markdown(out: dict[str, Any]) -> str:
    lines = [
        (
            f"Speed on {out['images']} decoded {out['dataset']} {out['split']} images, batches of {out['batch']}, "
            f"{out['threads']['torch_intra_op']} threads; medians of {out['repeats']} interleaved passes "
            f"(load average at the end {out['load_average_at_end']})."
        ),
        "",
        "| model | runtime | plates/s | x torch | latency of 1 plate (ms) | plate accuracy | same reading as torch |",
        "|:--|:--|--:|--:|--:|--:|--:|",
    ]
    for name, variants in out["models"].items():
        for variant, m in variants.items():
            lines.append(
                f"| {name} | {variant} | {m['plates_per_second']:.0f} | {m['over_torch']:.2f} | "
                f"{m['latency_one_plate_ms']:.1f} | {m['plate_accuracy']:.3f} | {m['same_reading_as_torch']} |"
            )
    lines += ["", "| cold `segocr read` of one image (new process) | median s | runs |", "|:--|--:|:--|"]
    for k, v in out["cold_read_one_image_s"].items():
        lines.append(f"| {k} | {v['median']:.2f} | {', '.join(f'{x:.2f}' for x in v['runs'])} |")
    lines += ["", "| environment | MB |", "|:--|--:|"]
    lines += [f"| {k} | {v} |" for k, v in out["environment_mb"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
