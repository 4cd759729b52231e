"""The ONNX Runtime backend: an exported network (``segocr export``) behind the
:class:`segocr.runtime.Network` interface, on the CPU, without torch. Importing this
module imports onnxruntime."""

from __future__ import annotations

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


class OnnxNetwork:
    """An ONNX model (bytes) run by ONNX Runtime on the CPU: ``net(x)`` with ``x``
    float32 (N, C, H, W) -> float32 logits, any batch size N >= 1."""

    runtime = "onnx"
    device = "cpu"

    def __init__(self, model: bytes, *, threads: int | None = None) -> None:
        try:
            self.session = ort.InferenceSession(
                model, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 -- onnxruntime raises its own types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WeightsError(f"not a usable ONNX model ({first[:200]})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run(
            [self.output_name], {self.input_name: np.ascontiguousarray(x, dtype=np.float32)}
        )[0]
        return out


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
