"""A throughput worker for ``benchmarks/speed.py``: another code version or a peer in a
process of its own, timed pass by pass on the parent's command, so that its passes
interleave with the parent's (each sees the same machine load).

    python benchmarks/speed_worker.py IMAGES.pkl --threads N --what segocr|rapidocr
                                      [--preprocess "resize(height=48)"] [--weights-dir DIR]

``IMAGES.pkl``: a pickled list of uint8 RGB plates (decoded once by the parent).
``--what segocr``: segocr's recognizers as whatever ``segocr`` this interpreter imports
(``PYTHONPATH`` pointing at another commit's ``src``: the code before a change), each
model's IWT4S weights (``NAME.pt`` beside the package) as the float ONNX export and, where
one ships, the int8 model, ``--threads`` threads. ``--what rapidocr``:
RapidOCR's recognizer alone (``benchmarks/peers.py``'s ``RapidOCRPeer``) with the
given preprocessing. Protocol (one line each way): the parent writes a key
(``crnn/onnx``, ``rapidocr``, ...) and the worker answers with one JSON line,
``{"plates_per_second": ..., "plates_per_cpu_second": ...}``; ``readings KEY`` answers ``{"texts": [...]}`` (one pass,
also the warm-up); an empty line or end of input stops it. The first line the worker
writes is ``{"keys": [...]}``, what it can run.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 64
#: The recognizers timed (their IWT4S weights ``NAME.pt``), here and in ``speed.py``.
MODELS = ("segcnn", "crnn", "crnn-fast", "holistic")


def throughput(rec: Any, images: list[Any]) -> tuple[float, float]:
    """(plates per wall second, plates per CPU second of this process, all its
    threads) of one pass over ``images`` in batches of :data:`BATCH`. On a machine
    others load too, the CPU figure moves less: it counts only this process's work."""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(images), BATCH):
        rec.predict(images[i : i + BATCH])
    return len(images) / (time.perf_counter() - t0), len(images) / max(time.process_time() - c0, 1e-9)


def segocr_recognizers(threads: int, weights_dir: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """``{"NAME/onnx": rec, "NAME/onnx-int8": rec}`` of the importable segocr, and
    which weights each one got: ``weights_dir``'s (the parent's, so that only the code
    differs) when this code can load them, else its own."""
    from segocr.api import load_recognizer
    from segocr.models.weights import default_weights_path
    from segocr.runtime.onnx_backend import load_onnx

    recs: dict[str, Any] = {}
    used: dict[str, str] = {}
    for name in MODELS:
        own = default_weights_path(name)
        for variant, stem in (("onnx", own.stem), ("onnx-int8", f"{own.stem}-int8")):
            for folder in ([weights_dir] if weights_dir else []) + [own.parent]:
                path = folder / f"{stem}.onnx"
                if not path.exists():
                    continue
                try:
                    rec: Any = load_recognizer(name, weights=str(path), device="cpu", runtime="onnx")
                except Exception as exc:  # noqa: BLE001 -- an older code may refuse newer cards
                    print(f"{path}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                rec.net, _ = load_onnx(path, threads=threads)
                recs[f"{name}/{variant}"] = rec
                used[f"{name}/{variant}"] = "parent's weights" if folder == weights_dir else f"its own weights ({path})"
                break
    return recs, used


def rapidocr_recognizer(threads: int, preprocess: str) -> dict[str, Any]:
    """``{"rapidocr": peer}``: RapidOCR recognition only, ``preprocess`` one of
    ``peers.py``'s candidates by its description (e.g. ``resize(height=48)``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import peers

    for cfg in peers.candidate_pipelines([None, 48]):
        if peers.describe(cfg) == preprocess:
            return {"rapidocr": peers.RapidOCRPeer(cfg, threads=threads)}
    raise SystemExit(f"unknown preprocessing {preprocess!r}")


class Worker:
    """The parent's handle on a worker process (``cmd`` runs this script)."""

    def __init__(self, label: str, cmd: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.label = label
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
        first = self.proc.stdout.readline() if self.proc.stdout else ""
        if not first:
            self.close()
            raise RuntimeError(f"the {label} worker did not start (exit {self.proc.returncode})")
        hello = json.loads(first)
        self.keys: list[str] = hello["keys"]
        self.weights: dict[str, str] = hello.get("weights", {})

    def _ask(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the {self.label} worker stopped")
        out: dict[str, Any] = json.loads(answer)
        return out

    def throughput(self, key: str) -> tuple[float, float]:
        """(plates per wall second, plates per CPU second) of one pass."""
        out = self._ask(key)
        return float(out["plates_per_second"]), float(out["plates_per_cpu_second"])

    def readings(self, key: str) -> list[str]:
        return list(self._ask(f"readings {key}")["texts"])

    def close(self) -> None:
        """End the worker (end of input) and close its pipes."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--what", choices=("segocr", "rapidocr"), default="segocr")
    ap.add_argument("--preprocess", default="resize(height=48)")
    ap.add_argument("--weights-dir", type=Path, default=None, help="weights to try first (segocr)")
    args = ap.parse_args()
    with args.images.open("rb") as f:
        images = pickle.load(f)
    used: dict[str, str] = {}
    if args.what == "segocr":
        recs, used = segocr_recognizers(args.threads, args.weights_dir)
    else:
        recs = rapidocr_recognizer(args.threads, args.preprocess)
    print(json.dumps({"keys": list(recs), "weights": used}), flush=True)
    for line in sys.stdin:
        key = line.strip()
        if not key:
            break
        if key.startswith("readings "):
            rec = recs[key.split(" ", 1)[1]]
            texts = [p.text for i in range(0, len(images), BATCH) for p in rec.predict(images[i : i + BATCH])]
            print(json.dumps({"texts": texts}), flush=True)
        else:
            wall, cpu = throughput(recs[key], images)
            print(json.dumps({"plates_per_second": wall, "plates_per_cpu_second": cpu}), flush=True)


if __name__ == "__main__":
    main()
