"""Speed of the three recognizers, torch against ONNX Runtime, side by side in one run
(a benchmark, not a test: the machines are shared and noisy, so it reports medians
over repeats and ratios measured in the same run, passes interleaved).

    python benchmarks/speed.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                               [--repeats 7] [--threads 2] [--baseline-rev f9ffebf~1]
                               [--before-rev cfd7375] [--rapidocr-path DIR]
                               [--light-venv /tmp/segocr-light]

Measures, in one process unless said otherwise:

* throughput (plates/s) of segcnn, crnn and holistic with their IWT4S weights
  (``NAME.pt``, whatever the default weights are) over the decoded test images
  (images decoded once beforehand; ``predict`` on batches of 64), for each with torch,
  the float ONNX export and the int8 model (``NAME-int8.onnx``, where shipped),
  ``--threads`` threads for all (torch intra-op threads; ONNX Runtime: the batch
  cut into that many parts run side by side, ``benchmarks/onnx_threads.py``); ``--repeats`` passes, the runtimes interleaved pass by pass; medians and
  each one's ratio to torch's median;
* the same passes, interleaved with these, of the code at ``--before-rev`` (the
  recognizers before the pipeline speed work: a ``git archive`` of its ``src`` run in
  a worker process, ``benchmarks/speed_worker.py``, on this tree's weights where that
  code loads them) with the ONNX runtimes, and this code in the same kind of worker
  (``now_in_worker``): their ratio (``over_before``, like for like: this process
  also carries torch and every model, which costs it some 5-10%) and whether the
  readings are the same;
* RapidOCR's recognizer alone (``benchmarks/peers.py``; the preprocessing chosen
  on the train split there, ``benchmarks/results/peers.json``), same passes, in a worker
  too (``--rapidocr-path``: a folder added to its ``PYTHONPATH``, e.g. a ``pip install
  --no-deps --target DIR -r benchmarks/requirements-peers.txt``; skipped when it does
  not import): each runtime's ratio to it (``over_rapidocr``);
* besides plates per wall-clock second, plates per CPU second of the process that
  reads (``time.process_time``: all its threads; the ``_cpu`` ratios): on a machine
  others load, it moves less than wall time, as it counts only the reader's work;
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
from speed_worker import BATCH, MODELS, Worker, throughput

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.errors import DatasetError
from segocr.models.weights import default_weights_path
from segocr.runtime.onnx_backend import load_onnx

ROOT = Path(__file__).resolve().parents[1]
#: Runtimes compared: torch, the float ONNX export, and the int8 model where one ships.
VARIANTS = ("torch", "onnx", "onnx-int8")


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


def start_workers(args: argparse.Namespace, images: list[np.ndarray], tmp: Path, here: set[tuple[str, str]]) -> dict[str, Worker]:
    """The worker processes of this run: ``before`` (the code at ``--before-rev``, the
    ONNX runtimes this process runs too), ``now`` (this code in the same kind of
    worker, so that the two compare like for like: this process also carries torch
    and every model) and ``rapidocr`` (when it imports)."""
    import pickle

    pkl = tmp / "images.pkl"
    pkl.write_bytes(pickle.dumps(images))
    script = str(ROOT / "benchmarks/speed_worker.py")
    workers: dict[str, Worker] = {}
    if args.before_rev:
        (tmp / "before").mkdir()
        src = baseline_tree(args.before_rev, tmp / "before")
        w = Worker(
            "before",
            [sys.executable, script, str(pkl), "--threads", str(args.threads), "--weights-dir", str(ROOT / "src/segocr/weights")],
            env={**os.environ, "PYTHONPATH": str(src)}, cwd=tmp / "before",
        )  # fmt: skip
        w.keys = [k for k in w.keys if tuple(k.split("/")) in here]
        workers["before"] = w
        now = Worker(
            "now",
            [sys.executable, script, str(pkl), "--threads", str(args.threads), "--weights-dir", str(ROOT / "src/segocr/weights")],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=tmp,
        )  # fmt: skip
        now.keys = [k for k in now.keys if k in w.keys]
        workers["now"] = now
    extra = [str(args.rapidocr_path)] if args.rapidocr_path else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*extra, str(ROOT / "src")])}
    try:
        workers["rapidocr"] = Worker(
            "rapidocr",
            [sys.executable, script, str(pkl), "--threads", str(args.threads), "--what", "rapidocr", "--preprocess", rapidocr_preprocess()],
            env=env, cwd=ROOT,
        )  # fmt: skip
    except RuntimeError as exc:
        print(f"RapidOCR skipped: {exc}", file=sys.stderr)
    return workers


def make_light_venv(dest: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(dest)], check=True)
    subprocess.run([str(dest / "bin/python"), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)


def rapidocr_preprocess() -> str:
    """The preprocessing ``benchmarks/peers.py`` chose for RapidOCR on the train split
    (``resize(height=48)`` when no result is recorded)."""
    try:
        peers = json.loads((ROOT / "benchmarks/results/peers.json").read_text())
        return str(peers["models"]["rapidocr"]["card"]["settings"]["preprocess"])
    except (OSError, KeyError, ValueError):
        return "resize(height=48)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--baseline-rev", default="f9ffebf~1", help="commit before the runtime work (cold start 'before')")
    ap.add_argument("--before-rev", default="cfd7375", help="code before the pipeline speed work (over_before); '' to skip")
    ap.add_argument("--rapidocr-path", type=Path, default=None, help="extra PYTHONPATH folder holding rapidocr_onnxruntime")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--light-venv", type=Path, default=None)
    ap.add_argument("--make-light-venv", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/speed.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load_start = [round(x, 2) for x in os.getloadavg()]
    try:
        ds = load_dataset("iwt4s", args.data_dir)
    except DatasetError:
        ds = load_dataset("synthetic")
    samples = ds.samples("test")
    images = [s.load() for s in samples]
    truth = [s.text for s in samples]

    models_run = [m for m in MODELS if m in args.models.split(",")]
    variants_run = [v for v in VARIANTS if v in args.variants.split(",")]
    recs: dict[tuple[str, str], Any] = {}
    for name in models_run:
        pt = default_weights_path(name)  # the IWT4S weights (NAME.pt, the NAME-iwt4s recognizer)
        if "torch" in variants_run:
            recs[(name, "torch")] = load_recognizer(name, weights=str(pt), device="cpu", runtime="torch")
        for variant, path in (("onnx", pt.with_suffix(".onnx")), ("onnx-int8", pt.with_name(f"{pt.stem}-int8.onnx"))):
            if path.exists() and variant in variants_run:
                rec: Any = load_recognizer(name, weights=str(path), device="cpu", runtime="onnx")
                rec.net, _ = load_onnx(path, threads=args.threads)  # a batch split over --threads threads
                recs[(name, variant)] = rec
    readings = {key: [p.text for p in rec.predict(images)] for key, rec in recs.items()}  # also the warm-up

    with tempfile.TemporaryDirectory() as tmp:
        workers = start_workers(args, images, Path(tmp), {(n, v) for n, v in recs})
        # the same key's workers one after the other (before, now), then RapidOCR
        wanted = sorted(((w, k) for w in workers.values() for k in w.keys), key=lambda wk: (wk[1], wk[0].label))
        for w, k in wanted:
            w.readings(k)  # warm-up
        passes: dict[tuple[str, str], list[float]] = {key: [] for key in recs}
        other: dict[tuple[str, str], list[float]] = {(w.label, k): [] for w, k in wanted}
        cpu: dict[tuple[str, str], list[float]] = {key: [] for key in [*passes, *other]}
        for _ in range(args.repeats):
            for key, rec in recs.items():  # interleaved: each pass of each runtime sees similar load
                wall, per_cpu = throughput(rec, images)
                passes[key].append(wall)
                cpu[key].append(per_cpu)
            for w, k in wanted:
                wall, per_cpu = w.throughput(k)
                other[(w.label, k)].append(wall)
                cpu[(w.label, k)].append(per_cpu)
        other_readings = {(w.label, k): w.readings(k) for w, k in wanted}
        worker_weights = {w.label: w.weights for w in workers.values()}
        for w in workers.values():
            w.close()
    latency: dict[tuple[str, str], float] = {}
    for key, rec in recs.items():
        lat = []
        for img in images[:100]:
            t0 = time.perf_counter()
            rec.predict([img])
            lat.append(time.perf_counter() - t0)
        latency[key] = statistics.median(lat)

    rapid = statistics.median(other[("rapidocr", "rapidocr")]) if ("rapidocr", "rapidocr") in other else None
    models: dict[str, Any] = {}
    for name in models_run:
        base = statistics.median(passes[(name, "torch")]) if (name, "torch") in passes else None
        models[name] = {}
        for variant in variants_run:
            if (name, variant) not in recs:
                continue
            mine = readings[(name, variant)]
            pps = statistics.median(passes[(name, variant)])
            m: dict[str, Any] = {
                "plates_per_second": round(pps, 1),
                "passes": [round(p, 1) for p in passes[(name, variant)]],
                "plates_per_cpu_second": round(statistics.median(cpu[(name, variant)]), 1),
                "latency_one_plate_ms": round(1000 * latency[(name, variant)], 2),
                "plate_accuracy": round(float(np.mean([a == b for a, b in zip(mine, truth)])), 4),
            }
            if base is not None:
                ref = readings[(name, "torch")]
                m["over_torch"] = round(pps / base, 2)
                m["same_reading_as_torch"] = f"{sum(a == b for a, b in zip(mine, ref))}/{len(ref)}"
            before_key = ("before", f"{name}/{variant}")
            if before_key in other:
                old = other_readings[before_key]
                b_pps = statistics.median(other[before_key])
                m["before"] = {
                    "plates_per_second": round(b_pps, 1),
                    "passes": [round(p, 1) for p in other[before_key]],
                    "plates_per_cpu_second": round(statistics.median(cpu[before_key]), 1),
                    "plate_accuracy": round(float(np.mean([a == b for a, b in zip(old, truth)])), 4),
                    "weights": worker_weights["before"].get(f"{name}/{variant}"),
                }
                now_key = ("now", f"{name}/{variant}")
                m["now_in_worker"] = {
                    "plates_per_second": round(statistics.median(other[now_key]), 1),
                    "passes": [round(p, 1) for p in other[now_key]],
                    "plates_per_cpu_second": round(statistics.median(cpu[now_key]), 1),
                    "same_reading_as_this_process": f"{sum(a == b for a, b in zip(mine, other_readings[now_key]))}/{len(mine)}",
                }
                # like for like: this code and the code before, each in a worker
                m["over_before"] = round(m["now_in_worker"]["plates_per_second"] / b_pps, 2)
                m["over_before_cpu"] = round(m["now_in_worker"]["plates_per_cpu_second"] / m["before"]["plates_per_cpu_second"], 2)
                m["same_reading_as_before"] = f"{sum(a == b for a, b in zip(mine, old))}/{len(old)}"
            if rapid is not None:
                m["over_rapidocr"] = round(pps / rapid, 2)
                m["over_rapidocr_cpu"] = round(m["plates_per_cpu_second"] / statistics.median(cpu[("rapidocr", "rapidocr")]), 2)
            models[name][variant] = m
    rapidocr_out = None
    if rapid is not None:
        texts = other_readings[("rapidocr", "rapidocr")]
        rapidocr_out = {
            "what": "RapidOCR recognizer only (benchmarks/peers.py RapidOCRPeer), readings normalized to A-Z0-9",
            "preprocess": rapidocr_preprocess(),
            "plates_per_second": round(rapid, 1),
            "passes": [round(p, 1) for p in other[("rapidocr", "rapidocr")]],
            "plates_per_cpu_second": round(statistics.median(cpu[("rapidocr", "rapidocr")]), 1),
            "plate_accuracy": round(float(np.mean([a == b for a, b in zip(texts, truth)])), 4),
        }

    sample = str(ROOT / "data/samples/9KE0410.png")
    here = [sys.executable, "-m", "segocr", "read", sample]
    cold: dict[str, list[float]] = {}
    if args.cold_runs > 0:
        cold["onnx (this code, --runtime auto)"] = cold_read(here, args.cold_runs)
        cold["torch (this code, --runtime torch)"] = cold_read([*here, "--runtime", "torch"], args.cold_runs)
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
        if args.cold_runs > 0:
            cold["onnx (light install, no torch)"] = cold_read([str(light / "bin/segocr"), "read", sample], args.cold_runs, cwd=Path("/"))
        sizes["light (numpy, OpenCV, onnxruntime, helpers)"] = round(du_mb(light))

    out = {
        "dataset": ds.source,
        "split": "test",
        "images": len(images),
        "batch": BATCH,
        "threads": {"torch_intra_op": torch.get_num_threads(), "onnxruntime_batch_parts": args.threads},
        "repeats": args.repeats,
        "models": models,
        "before_rev": args.before_rev or None,
        "rapidocr": rapidocr_out,
        "cold_read_one_image_s": {k: {"median": round(statistics.median(v), 2), "runs": [round(x, 2) for x in v]} for k, v in cold.items()},
        "environment_mb": sizes,
        "load_average_at_start": load_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "onnxruntime": __import__("onnxruntime").__version__},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(out))
    print(markdown(out))


def _cell(m: dict[str, Any], key: str, fmt: str = "{:.2f}") -> str:
    return fmt.format(m[key]) if key in m else "-"


def markdown(out: dict[str, Any]) -> str:
    lines = [
        (
            f"Speed on {out['images']} decoded {out['dataset']} {out['split']} images, batches of {out['batch']}, "
            f"{out['threads']['onnxruntime_batch_parts']} threads; medians of {out['repeats']} interleaved passes "
            f"(load average at the start {out.get('load_average_at_start')}, at the end {out['load_average_at_end']}). "
            f"'before': the code at {out.get('before_rev')} in a worker process, against this code in the same kind of "
            "worker ('x before', 'x before (CPU)'); same weights, same passes."
        ),
        "",
        (
            "| model | runtime | plates/s | x torch | x before | before plates/s | x RapidOCR | plates/CPU-s "
            "| x before (CPU) | x RapidOCR (CPU) | latency of 1 plate (ms) | plate accuracy | same reading as torch "
            "| same reading as before |"
        ),
        "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, variants in out["models"].items():
        for variant, m in variants.items():
            before = m.get("before", {})
            lines.append(
                f"| {name} | {variant} | {m['plates_per_second']:.0f} | {_cell(m, 'over_torch')} | {_cell(m, 'over_before')} | "
                f"{_cell(before, 'plates_per_second', '{:.0f}')} | {_cell(m, 'over_rapidocr')} | "
                f"{m['plates_per_cpu_second']:.0f} | {_cell(m, 'over_before_cpu')} | {_cell(m, 'over_rapidocr_cpu')} | "
                f"{m['latency_one_plate_ms']:.1f} | {m['plate_accuracy']:.3f} | {m.get('same_reading_as_torch', '-')} | "
                f"{m.get('same_reading_as_before', '-')} |"
            )
    r = out.get("rapidocr")
    if r:
        lines += [
            "",
            (
                f"RapidOCR (recognizer only, preprocessing {r['preprocess']} chosen on the train split by benchmarks/peers.py): "
                f"{r['plates_per_second']:.0f} plates/s (passes {r['passes']}), {r['plates_per_cpu_second']:.0f} plates "
                f"per CPU second, plate accuracy {r['plate_accuracy']:.3f}."
            ),
        ]
    if out["cold_read_one_image_s"]:
        lines += ["", "| cold `segocr read` of one image (new process) | median s | runs |", "|:--|--:|:--|"]
        for k, v in out["cold_read_one_image_s"].items():
            lines.append(f"| {k} | {v['median']:.2f} | {', '.join(f'{x:.2f}' for x in v['runs'])} |")
    lines += ["", "| environment | MB |", "|:--|--:|"]
    lines += [f"| {k} | {v} |" for k, v in out["environment_mb"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
