"""Export a recognizer's network to ONNX, with its card (``segocr export``).

``NAME.pt`` -> ``NAME.onnx`` plus ``NAME.onnx.json``: a copy of the ``.pt``'s card
(charset, config, model hyper-parameters, training facts) whose ``sha256`` and
``size_bytes`` now describe the ``.onnx`` file, and an ``onnx`` section: opset,
exporter, input/output names and shape (the batch dimension is dynamic), the source
``.pt``'s sha256 (``source_sha256``; ``--runtime auto`` uses the export only when it
matches) and the largest difference from torch's logits measured right after the
export (``max_abs_diff_vs_torch``), which must stay within ``tolerance``.

Uses torch's TorchScript-based exporter (``dynamo=False``), which needs the ``onnx``
package but not ``onnxscript`` and works offline; both come with
``pip install segocr[train]``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from segocr.errors import SegocrError
from segocr.runtime import onnx_card_path

#: Largest absolute difference between torch's and ONNX Runtime's logits an export
#: may show (float32 on the CPU; the shipped exports measure ~1e-5).
TOLERANCE = 1e-3
DEFAULT_OPSET = 17
INPUT, OUTPUT = "x", "logits"


class ExportError(SegocrError):
    """The network could not be exported, or the export does not agree with torch."""


def input_shape(rec: Any) -> tuple[int, int, int]:
    """(C, H, W) of one input of recognizer ``rec``'s network: the line size for the
    line recognizers, the crop size for segcnn."""
    channels = int(getattr(rec, "card", {}).get("model_kwargs", {}).get("in_channels", 1))
    line = getattr(rec, "line", None)
    if line is not None:
        return channels, int(line.height), int(line.width)
    size = int(rec.config.input_size)
    return channels, size, size


def check_inputs(shape: tuple[int, int, int], seed: int = 0) -> list[np.ndarray]:
    """Inputs the export is checked on: random normal batches of 1, 3 and 17 (the
    inputs are standardized images, so unit scale is realistic), a constant batch and
    one with a sharp bright bar (an image-like edge)."""
    rng = np.random.default_rng(seed)
    batches = [rng.standard_normal((n, *shape)).astype(np.float32) for n in (1, 3, 17)]
    batches.append(np.full((2, *shape), 0.5, np.float32))
    bar = np.full((2, *shape), -1.0, np.float32)
    bar[..., shape[1] // 4 : 3 * shape[1] // 4, shape[2] // 3 : shape[2] // 2] = 2.0
    batches.append(bar)
    return batches


def max_abs_diff(a: Any, b: Any, inputs: list[np.ndarray]) -> float:
    """Largest |a(x) - b(x)| over ``inputs`` for two :class:`segocr.runtime.Network`."""
    return max(float(np.abs(a(x) - b(x)).max()) for x in inputs)


def onnx_bytes(module: Any, shape: tuple[int, int, int], *, opset: int = DEFAULT_OPSET) -> bytes:
    """ONNX model of torch ``module`` (eval mode) for float32 input (batch, *shape),
    batch dimension dynamic."""
    import torch

    try:
        import onnx  # noqa: F401  -- the exporter needs it; say so clearly
    except ImportError:
        raise ExportError("exporting needs the onnx package: pip install 'segocr[train]'") from None
    buf = io.BytesIO()
    dummy = torch.zeros(2, *shape)
    try:
        with warnings.catch_warnings():  # the TorchScript exporter warns that it is the old one
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                (dummy,),
                buf,  # type: ignore[arg-type]  # a file object works too
                input_names=[INPUT],
                output_names=[OUTPUT],
                dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
    except Exception as exc:  # noqa: BLE001 -- torch raises many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ExportError(f"torch.onnx.export failed ({type(exc).__name__}: {first[:200]})") from None
    return buf.getvalue()


def export_onnx(
    name: str,
    weights: Path | None = None,
    out: Path | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    tolerance: float = TOLERANCE,
) -> tuple[Path, dict[str, Any]]:
    """Export recognizer ``name`` with ``weights`` (default: the shipped ones) to
    ``out`` (default: beside the weights, ``.onnx``) and write its card. Returns (the
    ``.onnx`` path, the card). Raises :class:`ExportError` when the export fails or
    its logits differ from torch's by more than ``tolerance``."""
    import onnxruntime
    import torch

    from segocr.models.weights import (
        atomic_write_bytes,
        resolve_weights,
        sha256_bytes,
        write_card,
    )
    from segocr.recognizers.base import get_recognizer_factory
    from segocr.runtime.onnx_backend import OnnxNetwork
    from segocr.runtime.torch_backend import TorchNetwork

    src = resolve_weights(weights, name)  # default: the weights the recognizer loads
    if weights is None and not src.exists():  # a variant's name (``segcnn-iwt4s``) names its weights
        src = resolve_weights(name, name.split("-")[0])
    if src.suffix == ".onnx":
        raise ExportError(f"{src}: already an ONNX file; export from the .pt weights")
    dest = Path(out) if out is not None else src.with_suffix(".onnx")
    if dest.suffix != ".onnx":
        raise ExportError(f"{dest}: the output must end in .onnx")
    rec: Any = get_recognizer_factory(name)(weights=src, device="cpu", runtime="torch")
    net = rec.net
    if not isinstance(net, TorchNetwork):
        raise ExportError(f"{name}: the recognizer did not load a torch network")
    shape = input_shape(rec)
    data = onnx_bytes(net.module, shape, opset=opset)
    diff = max_abs_diff(net, OnnxNetwork(data, threads=1), check_inputs(shape))
    if not diff <= tolerance:
        raise ExportError(f"{name}: ONNX logits differ from torch's by {diff:.3g} (> {tolerance:g})")
    source_card = dict(rec.card)
    card = {
        **source_card,
        "sha256": sha256_bytes(data),
        "size_bytes": len(data),
        "format": "onnx",
        "onnx": {
            "opset": opset,
            "exporter": "torch.onnx.export (TorchScript-based, dynamo=False)",
            "torch_version": torch.__version__.split("+")[0],
            "checked_with_onnxruntime": onnxruntime.__version__,
            "input": INPUT,
            "input_shape": ["batch", *shape],
            "output": OUTPUT,
            "source_weights": src.name,
            "source_sha256": source_card.get("sha256"),
            "max_abs_diff_vs_torch": float(f"{diff:.3g}"),
            "tolerance": tolerance,
        },
    }
    atomic_write_bytes(dest, data)
    return dest, write_card(dest, card, card_file=onnx_card_path(dest))
