"""benchmarks/speed_worker.py: the worker process speed.py times other code (and
RapidOCR) in, driven line by line; here with this tree's code on a few synthetic plates."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from types import ModuleType

import pytest
from benchmark_modules import load_benchmark

from segocr.datasets.base import load_dataset

ROOT = Path(__file__).resolve().parents[1]
WORKER_PY = ROOT / "benchmarks" / "speed_worker.py"


@pytest.fixture(scope="module")
def worker_module() -> ModuleType:
    return load_benchmark(WORKER_PY)


def test_worker_times_and_reads_like_this_process(worker_module: ModuleType, tmp_path: Path) -> None:
    images = [s.load() for s in load_dataset("synthetic", n_train=1, n_test=3, seed=2).samples("test")]
    pkl = tmp_path / "images.pkl"
    pkl.write_bytes(pickle.dumps(images))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    w = worker_module.Worker("here", [sys.executable, str(WORKER_PY), str(pkl), "--threads", "1"], env=env, cwd=tmp_path)
    try:
        assert {"segcnn/onnx", "crnn/onnx", "holistic/onnx"} <= set(w.keys)
        wall, cpu = w.throughput("crnn/onnx")
        assert wall > 0 and cpu > 0
        texts = w.readings("crnn/onnx")
    finally:
        w.close()
    assert w.proc.returncode == 0
    from segocr.api import load_recognizer

    rec = load_recognizer("crnn-iwt4s", device="cpu", runtime="onnx")
    assert texts == [p.text for p in rec.predict(images)]


def test_worker_refuses_to_start_quietly(worker_module: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="did not start"):
        worker_module.Worker("broken", [sys.executable, "-c", "import sys; sys.exit(3)"], env=dict(os.environ), cwd=tmp_path)
