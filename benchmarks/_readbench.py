"""Shared by benchmarks/read_memory.py and benchmarks/read_jobs.py: write a folder of
small synthetic plates, run ``segocr read`` on it in a child process and watch the
child (and its worker processes): resident memory and progress over time."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segocr.datasets.synthetic import SAMPLES_CONFIG, random_plate_text, render_plate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def write_plates(folder: Path, n: int, *, distinct: int, seed: int = 0) -> float:
    """Write ``n`` PNG plate crops ``folder/NNNNN.png``; ``distinct`` different renders
    are cycled through (rendering is the slow part; the reader does not care).
    Returns the mean file size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    encoded: list[bytes] = []
    for i in range(min(distinct, n)):
        rng = np.random.default_rng([seed, i])
        plate = render_plate(random_plate_text(rng), rng=rng, config=SAMPLES_CONFIG)
        ok, buf = cv2.imencode(".png", cv2.cvtColor(plate.image, cv2.COLOR_RGB2BGR))
        assert ok
        encoded.append(buf.tobytes())
    for i in range(n):
        (folder / f"{i:05d}.png").write_bytes(encoded[i % len(encoded)])
    return float(np.mean([len(e) for e in encoded]))


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out.extend(int(c) for c in fh.read().split())
    except OSError:
        pass
    return out


def _status_kb(pid: int, key: str) -> int:
    """``key`` (VmRSS, VmHWM) of ``/proc/<pid>/status`` in kB; 0 when gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (joblib/loky workers included)."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


@dataclass
class Run:
    """One watched ``segocr read``: wall time, time of the first output line, and
    samples of (seconds, lines written, RSS of the main process, RSS of the whole tree)."""

    command: list[str]
    n_files: int
    returncode: int = 0
    wall_s: float = 0.0
    first_line_s: float | None = None
    lines: int = 0
    samples: list[tuple[float, int, float, float]] = field(default_factory=list)
    main_hwm_mb: float = 0.0
    stderr_tail: str = ""

    @property
    def peak_main_mb(self) -> float:
        return max([s[2] for s in self.samples] + [self.main_hwm_mb])

    @property
    def peak_tree_mb(self) -> float:
        return max((s[3] for s in self.samples), default=0.0)

    def rss_at(self, fraction: float) -> tuple[float, float]:
        """(main, tree) RSS in MB at the first sample with ``fraction`` of the lines out."""
        want = fraction * self.n_files
        for _, done, main, whole in self.samples:
            if done >= want:
                return main, whole
        return self.samples[-1][2], self.samples[-1][3]

    def summary(self) -> dict[str, Any]:
        at = {f"{int(f * 100)}%": self.rss_at(f) for f in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)}
        return {
            "command": " ".join(self.command),
            "files": self.n_files,
            "lines_out": self.lines,
            "returncode": self.returncode,
            "wall_s": round(self.wall_s, 2),
            "first_line_s": None if self.first_line_s is None else round(self.first_line_s, 2),
            "images_per_s_end_to_end": round(self.n_files / self.wall_s, 1),
            "images_per_s_after_first_line": (
                round((self.lines - 1) / (self.wall_s - self.first_line_s), 1)
                if self.first_line_s is not None and self.wall_s > self.first_line_s
                else None
            ),
            "rss_main_mb_at_progress": {k: round(v[0], 1) for k, v in at.items()},
            "rss_tree_mb_at_progress": {k: round(v[1], 1) for k, v in at.items()},
            "peak_rss_main_mb": round(self.peak_main_mb, 1),
            "peak_rss_tree_mb": round(self.peak_tree_mb, 1),
            "main_vmhwm_mb": round(self.main_hwm_mb, 1),
            "samples": len(self.samples),
        }


def watch_read(args: Sequence[str], n_files: int, out_file: Path, *, every_s: float = 0.1) -> Run:
    """Run ``python -m segocr read ARGS > out_file`` and sample it until it ends."""
    command = [sys.executable, "-m", "segocr", "read", *args]
    run = Run(command, n_files)
    t0 = time.perf_counter()
    with (
        out_file.open("wb") as out,
        subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE) as child,
    ):
        assert child.stderr is not None
        os.set_blocking(child.stderr.fileno(), False)
        err = bytearray()
        lines = 0
        with out_file.open("rb") as reader:
            while True:
                done = child.poll() is not None
                chunk = reader.read()
                lines += chunk.count(b"\n")
                now = time.perf_counter() - t0
                if lines and run.first_line_s is None:
                    run.first_line_s = now
                if not done:
                    pids = tree(child.pid)
                    main = _status_kb(child.pid, "VmRSS") / 1024
                    whole = sum(_status_kb(p, "VmRSS") for p in pids) / 1024
                    hwm = _status_kb(child.pid, "VmHWM") / 1024
                    run.main_hwm_mb = max(run.main_hwm_mb, hwm)
                    if main:
                        run.samples.append((now, lines, main, whole))
                try:
                    err += child.stderr.read() or b""
                except (BlockingIOError, TypeError):
                    pass
                if done:
                    break
                time.sleep(every_s)
        run.returncode = child.wait()
        run.wall_s = time.perf_counter() - t0
        run.lines = lines
        run.stderr_tail = err.decode("utf-8", "replace")[-2000:]
    return run


def machine() -> dict[str, Any]:
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
