"""The ONNX Runtime backend: an exported network (``segocr export``) behind the
:class:`segocr.runtime.Network` interface, on the CPU, without torch. Importing this
module imports onnxruntime.

Several cores serve a batch by cutting it into parts that one-thread calls of a
session run side by side (ONNX Runtime releases the GIL and a session may be run from
several threads at once), not by ONNX Runtime's intra-op threads, which still serve a
single plate (it cannot be cut). The recognizers' networks are small and the CRNN's
LSTM runs frame after frame, so intra-op threads leave a core idle part of the time.
On two cores (``benchmarks/onnx_threads.py``, three runs) the int8 models read
1.06-1.11x as many plates a second this way on average and the float ones 1.02-1.05x
(single runs range from 0.87x to 1.21x), with the same readings on all 652 IWT4S
images.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from segocr.errors import WeightsError
from segocr.runtime import read_onnx_card


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """CPU session settings: all graph optimizations, one inter-op thread,
    ``threads`` intra-op threads (None: ONNX Runtime's default, one per physical core)
    and no busy-waiting between calls (the threads would otherwise spin on a shared
    machine)."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.inter_op_num_threads = 1
    so.intra_op_num_threads = int(threads or 0)
    so.log_severity_level = 3  # errors only
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def cpu_threads(threads: int | None = None) -> int:
    """The number of threads a network may use: ``threads`` when given, else
    ``OMP_NUM_THREADS`` when it is a positive integer (joblib sets it in its workers,
    so that ``--jobs N`` does not oversubscribe the cores), at most the cores this
    process may run on, else those cores.

    >>> cpu_threads(3)
    3
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int, got {threads!r}")
        return threads
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = max(1, os.cpu_count() or 1)
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return min(int(env), cores)
    return cores


class OnnxNetwork:
    """An ONNX model (bytes) run by ONNX Runtime on the CPU: ``net(x)`` with ``x``
    float32 (N, C, H, W) -> float32 logits, any batch size N >= 1.

    ``threads`` (None: :func:`cpu_threads`): a batch of at least ``threads`` samples is
    cut into ``threads`` parts of consecutive samples, run side by side on a session of
    one intra-op thread (this thread takes the first part; that session is made on the
    first such batch); the logits come back in order. A smaller batch (one plate) runs
    whole on a session of ``threads`` intra-op threads, which is faster for it."""

    runtime = "onnx"
    device = "cpu"

    def __init__(self, model: bytes, *, threads: int | None = None) -> None:
        self.threads = cpu_threads(threads)
        self._model = model
        self.session = self._session(self.threads)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self._single: ort.InferenceSession | None = None  # one intra-op thread, for the parts
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()

    def _session(self, threads: int) -> ort.InferenceSession:
        try:
            return ort.InferenceSession(
                self._model, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 -- onnxruntime raises its own types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WeightsError(f"not a usable ONNX model ({first[:200]})") from None

    def _run(self, session: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = session.run([self.output_name], {self.input_name: x})[0]
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.threads == 1 or len(x) < self.threads:
            return self._run(self.session, x)
        with self._lock:
            # a forked child has none of its parent's pool threads: it makes its own
            if self._single is None or self._pool is None or self._pool_pid != os.getpid():
                self._single = self._session(1)
                self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="segocr-onnx")
                self._pool_pid = os.getpid()
            single, pool = self._single, self._pool
        pieces = np.array_split(x, self.threads)
        rest = [pool.submit(self._run, single, np.ascontiguousarray(p)) for p in pieces[1:]]
        first = self._run(single, pieces[0])
        return np.concatenate([first, *(f.result() for f in rest)])


def load_onnx(path: Path, *, threads: int | None = None) -> tuple[OnnxNetwork, dict[str, Any]]:
    """(network, card) of ONNX file ``path`` after checking its bytes against the
    card's sha256; :class:`WeightsError` when the card is missing, the file corrupt or
    not a model."""
    from segocr.models.weights import read_verified

    card = read_onnx_card(path)
    data = read_verified(path, card)
    try:
        return OnnxNetwork(data, threads=threads), card
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
