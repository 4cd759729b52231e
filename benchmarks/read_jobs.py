"""Throughput of ``segocr read --jobs 2`` against ``--jobs 1``.

    python benchmarks/read_jobs.py [--n 1000] [--repeats 3] [--jobs 1 2] [--weights PATH]

Writes ``--n`` small synthetic plates into a temporary folder and times
``segocr read --json --no-progress --jobs J FOLDER`` in a fresh process for each J,
``--repeats`` times, alternating the J values so drifting load on a shared machine
hits them alike. Reports per J the median end-to-end images/s (process start, imports,
weight loading, worker start-up included) and the median steady-state images/s
(from the first result line to the last), and the ratios against the first J.

Writes ``benchmarks/results/read_jobs.json`` and ``read_jobs.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _readbench import RESULTS, machine, watch_read, write_plates


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000, help="files (default 1000)")
    ap.add_argument(
        "--distinct", type=int, default=500, help="different plate renders (default 500)"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument(
        "--weights", type=Path, default=None, help="default: the shipped segcnn weights"
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "read_jobs.json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="segocr-readjobs-"))
    runs: dict[int, list[dict[str, Any]]] = {j: [] for j in args.jobs}
    try:
        folder = tmp / "plates"
        write_plates(folder, args.n, distinct=args.distinct)
        for rep in range(args.repeats):
            for jobs in args.jobs if rep % 2 == 0 else args.jobs[::-1]:
                read_args = ["--json", "--no-progress", "--device", "cpu", "--jobs", str(jobs)]
                read_args += ["--batch-size", str(args.batch_size)]
                if args.weights is not None:
                    read_args += ["--weights", str(args.weights)]
                run = watch_read([*read_args, str(folder)], args.n, tmp / "out.jsonl", every_s=0.05)
                if run.returncode != 0 or run.lines != args.n:
                    raise SystemExit(
                        f"--jobs {jobs} failed (exit {run.returncode}):\n{run.stderr_tail}"
                    )
                s = run.summary()
                runs[jobs].append(s)
                print(
                    f"repeat {rep + 1} --jobs {jobs}: {s['wall_s']:6.1f} s, "
                    f"{s['images_per_s_end_to_end']} images/s end to end, "
                    f"{s['images_per_s_after_first_line']} after the first line, "
                    f"peak RSS {s['peak_rss_tree_mb']} MB"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    per: dict[str, Any] = {}
    for jobs, rs in runs.items():
        per[str(jobs)] = {
            "median_wall_s": round(statistics.median(r["wall_s"] for r in rs), 2),
            "median_images_per_s_end_to_end": round(
                statistics.median(r["images_per_s_end_to_end"] for r in rs), 1
            ),
            "median_images_per_s_steady": round(
                statistics.median(r["images_per_s_after_first_line"] for r in rs), 1
            ),
            "median_first_line_s": round(statistics.median(r["first_line_s"] for r in rs), 2),
            "peak_rss_tree_mb": max(r["peak_rss_tree_mb"] for r in rs),
            "runs": [
                {
                    k: r[k]
                    for k in (
                        "wall_s",
                        "first_line_s",
                        "images_per_s_end_to_end",
                        "images_per_s_after_first_line",
                    )
                }
                for r in rs
            ],
        }
    base = per[str(args.jobs[0])]
    ratios = {
        j: {
            "end_to_end": round(
                p["median_images_per_s_end_to_end"] / base["median_images_per_s_end_to_end"], 3
            ),
            "steady": round(
                p["median_images_per_s_steady"] / base["median_images_per_s_steady"], 3
            ),
        }
        for j, p in per.items()
    }
    result = {
        "benchmark": f"throughput of `segocr read --jobs J` on {args.n} synthetic plates",
        "files": args.n,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "weights": str(args.weights) if args.weights else "shipped segcnn",
        "machine": machine(),
        "per_jobs": per,
        "ratio_vs_jobs_" + str(args.jobs[0]): ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(_markdown(result, args.jobs[0]), encoding="utf-8")
    for j, r in ratios.items():
        print(
            f"--jobs {j} / --jobs {args.jobs[0]}: {r['end_to_end']}x end to end, {r['steady']}x steady state"
        )
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


def _markdown(r: dict[str, Any], base: int) -> str:
    rows = "\n".join(
        f"| {j} | {p['median_wall_s']} | {p['median_first_line_s']} | {p['median_images_per_s_end_to_end']} "
        f"| {p['median_images_per_s_steady']} | {r['ratio_vs_jobs_' + str(base)][j]['end_to_end']} "
        f"| {r['ratio_vs_jobs_' + str(base)][j]['steady']} | {p['peak_rss_tree_mb']} |"
        for j, p in r["per_jobs"].items()
    )
    m = r["machine"]
    return f"""# `segocr read --jobs` throughput

{r["files"]:,} synthetic plate PNGs, `segocr read --json --no-progress --device cpu --jobs J
--batch-size {r["batch_size"]} FOLDER`, weights: {r["weights"]}; median of {r["repeats"]} runs per J,
each in a fresh process. Machine: {m["cpu_count"]} CPUs, shared with other work (load average
at start {m["load_average_at_start"]}), torch {m["torch"]}.

| jobs | wall s | first result s | images/s end to end | images/s steady | ratio end to end | ratio steady | peak RSS MB (all processes) |
|---|---|---|---|---|---|---|---|
{rows}

"End to end" includes starting Python, importing torch, loading the weights and (J > 1)
starting the worker processes; "steady" runs from the first result line to the last.
"""


if __name__ == "__main__":
    main()
