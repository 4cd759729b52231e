"""Memory of ``segocr read`` over many files: it must stay flat (images are streamed
in chunks, never all held).

    python benchmarks/read_memory.py [--n 10000] [--jobs 1] [--weights PATH]

Writes ``--n`` small synthetic plates (PNG, ``--distinct`` different renders cycled)
into a temporary folder, then runs ``segocr read --json --no-progress FOLDER`` in a
child process twice: over the first ``--n // 10`` files and over all ``--n``. While
each runs, the child's resident memory (``/proc/PID/status`` VmRSS, plus its worker
processes' for ``--jobs`` > 1) is sampled every 0.1 s against the number of result
lines written, and the child's own high-water mark (VmHWM) is kept. Flat memory
means: RSS after 10 % of the files ~ RSS at the end, and the peak over 10x the
files ~ the peak over 1x.

Writes ``benchmarks/results/read_memory.json`` and ``read_memory.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _readbench import RESULTS, Run, machine, watch_read, write_plates


def _read_args(folder: Path, jobs: int, weights: Path | None) -> list[str]:
    args = ["--json", "--no-progress", "--device", "cpu", "--jobs", str(jobs)]
    if weights is not None:
        args += ["--weights", str(weights)]
    return [*args, str(folder)]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10_000, help="files in the big run (default 10000)")
    ap.add_argument(
        "--distinct", type=int, default=1000, help="different plate renders (default 1000)"
    )
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--weights", type=Path, default=None, help="default: the default reader (segocr read's own default)"
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "read_memory.json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="segocr-readmem-"))
    try:
        t0 = time.perf_counter()
        small, big = tmp / "small", tmp / "big"
        mean_bytes = write_plates(big, args.n, distinct=args.distinct)
        small.mkdir()
        for p in sorted(big.iterdir())[: args.n // 10]:
            (small / p.name).hardlink_to(p)
        print(
            f"wrote {args.n} plates ({mean_bytes / 1024:.1f} kB each) in {time.perf_counter() - t0:.0f} s"
        )
        runs: dict[str, Run] = {}
        for name, folder, n in (("small", small, args.n // 10), ("big", big, args.n)):
            run = watch_read(_read_args(folder, args.jobs, args.weights), n, tmp / f"{name}.jsonl")
            if run.returncode != 0 or run.lines != n:
                raise SystemExit(
                    f"{name} run failed (exit {run.returncode}, {run.lines}/{n} lines):\n{run.stderr_tail}"
                )
            runs[name] = run
            s = run.summary()
            print(
                f"{n:>6} files: {run.wall_s:6.1f} s, RSS main at 10% {s['rss_main_mb_at_progress']['10%']} MB, "
                f"at end {s['rss_main_mb_at_progress']['100%']} MB, peak {s['peak_rss_main_mb']} MB "
                f"(VmHWM {s['main_vmhwm_mb']} MB; whole tree peak {s['peak_rss_tree_mb']} MB)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    small_s, big_s = runs["small"].summary(), runs["big"].summary()
    big_at = big_s["rss_tree_mb_at_progress"]
    result = {
        "benchmark": "peak RSS of `segocr read` over many small synthetic plates",
        "files": args.n,
        "distinct_renders": args.distinct,
        "mean_file_kb": round(mean_bytes / 1024, 2),
        "jobs": args.jobs,
        "weights": str(args.weights) if args.weights else "the default reader (ensemble)",
        "machine": machine(),
        "big": big_s,
        "small": small_s,
        "flatness": {
            "tree_rss_growth_10pct_to_end_mb": round(big_at["100%"] - big_at["10%"], 1),
            "peak_tree_rss_big_over_small": round(
                big_s["peak_rss_tree_mb"] / small_s["peak_rss_tree_mb"], 3
            ),
            "peak_main_vmhwm_big_minus_small_mb": round(
                big_s["main_vmhwm_mb"] - small_s["main_vmhwm_mb"], 1
            ),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(_markdown(result), encoding="utf-8")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


def _markdown(r: dict[str, Any]) -> str:
    big, small, flat = r["big"], r["small"], r["flatness"]
    rows = "\n".join(
        f"| {k} | {big['rss_main_mb_at_progress'][k]} | {big['rss_tree_mb_at_progress'][k]} |"
        for k in big["rss_main_mb_at_progress"]
    )
    return f"""# `segocr read` memory over {r["files"]:,} files

`{big["command"].split(" -m ", 1)[-1]}`

{r["files"]:,} synthetic plate PNGs ({r["distinct_renders"]} distinct renders, {r["mean_file_kb"]} kB
each), `--jobs {r["jobs"]}`, weights: {r["weights"]}. Machine: {r["machine"]["cpu_count"]} CPUs
(shared), load average at start {r["machine"]["load_average_at_start"]}.

| run | files | wall s | images/s | start RSS MB (1 %) | end RSS MB | peak RSS MB (main) | VmHWM MB (main) | peak RSS MB (all processes) |
|---|---|---|---|---|---|---|---|---|
| small | {small["files"]:,} | {small["wall_s"]} | {small["images_per_s_end_to_end"]} | {small["rss_main_mb_at_progress"]["1%"]} | {small["rss_main_mb_at_progress"]["100%"]} | {small["peak_rss_main_mb"]} | {small["main_vmhwm_mb"]} | {small["peak_rss_tree_mb"]} |
| big | {big["files"]:,} | {big["wall_s"]} | {big["images_per_s_end_to_end"]} | {big["rss_main_mb_at_progress"]["1%"]} | {big["rss_main_mb_at_progress"]["100%"]} | {big["peak_rss_main_mb"]} | {big["main_vmhwm_mb"]} | {big["peak_rss_tree_mb"]} |

RSS of the big run against progress (result lines written):

| progress | main process MB | all processes MB |
|---|---|---|
{rows}

Flatness: RSS grew {flat["tree_rss_growth_10pct_to_end_mb"]} MB from 10 % to 100 % of the files;
peak over {r["files"]:,} files / peak over {small["files"]:,} files = {flat["peak_tree_rss_big_over_small"]};
VmHWM difference {flat["peak_main_vmhwm_big_minus_small_mb"]} MB.
"""


if __name__ == "__main__":
    main()
