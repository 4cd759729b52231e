"""Inference backends: how a recognizer runs its network.

Every recognizer calls its network through one small interface, :class:`Network`: a
callable taking a float32 NCHW numpy batch and returning float32 logits as numpy
(shape as the model's ``forward``). Two backends provide it:

* ``torch`` (:class:`segocr.runtime.torch_backend.TorchNetwork`): the PyTorch module
  itself, CPU or GPU; needs ``torch`` (``pip install segocr[train]``).
* ``onnx`` (:class:`segocr.runtime.onnx_backend.OnnxNetwork`): an ONNX export of the
  weights (``segocr export``), run by ONNX Runtime on the CPU; needs only
  ``onnxruntime``, so a light install reads plates without torch.

Which one serves is :func:`choose_runtime`'s answer to ``--runtime auto|onnx|torch``:
``auto`` takes ``onnx`` when onnxruntime is installed, the weights have an up-to-date
export beside them (``NAME.onnx`` + card ``NAME.onnx.json`` whose ``source_sha256`` is
the ``.pt``'s sha256) and the device is ``auto`` or ``cpu``; otherwise ``torch``.

Nothing here imports torch at module level: :func:`load_network` imports it only when
the torch backend is chosen.

ONNX Runtime's telemetry is turned off by ``segocr/__init__.py`` (``ORT_DISABLE_TELEMETRY=1``
unless that variable is set already), before any module of segocr imports onnxruntime.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from segocr.errors import WeightsError

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "RUNTIMES",
    "Network",
    "RuntimeChoice",
    "as_network",
    "choose_runtime",
    "load_network",
    "onnx_card_path",
    "onnx_path",
    "onnxruntime_available",
    "read_onnx_card",
    "torch_available",
]

Runtime = Literal["auto", "onnx", "torch"]
#: The values ``--runtime`` accepts.
RUNTIMES: tuple[Runtime, ...] = ("auto", "onnx", "torch")

INSTALL_TORCH = "pip install 'segocr[train]'"


@runtime_checkable
class Network(Protocol):
    """A network ready for inference: ``net(x)`` with ``x`` a float32 (N, C, H, W)
    numpy array returns float32 numpy logits of shape (N, ...). ``runtime`` names the
    backend (``torch`` or ``onnx``), ``device`` where it runs."""

    runtime: str
    device: Any

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def onnxruntime_available() -> bool:
    """True when ``onnxruntime`` can be imported (checked without importing it)."""
    return _findable("onnxruntime")


def torch_available() -> bool:
    """True when ``torch`` can be imported (checked without importing it)."""
    return _findable("torch")


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def onnx_path(weights: Path) -> Path:
    """The ONNX export that belongs to weight file ``weights``.

    >>> onnx_path(Path("w/segcnn.pt")).as_posix(), onnx_path(Path("w/segcnn.onnx")).as_posix()
    ('w/segcnn.onnx', 'w/segcnn.onnx')
    """
    return weights.with_suffix(".onnx")


def onnx_card_path(onnx: Path) -> Path:
    """The card of ONNX file ``onnx`` (``NAME.onnx.json``; ``NAME.json`` is the
    ``.pt``'s card).

    >>> onnx_card_path(Path("w/segcnn.onnx")).as_posix()
    'w/segcnn.onnx.json'
    """
    return onnx.with_name(onnx.name + ".json")


def read_onnx_card(onnx: Path) -> dict[str, Any]:
    """The card of ONNX file ``onnx``; :class:`WeightsError` when missing or not an
    export card."""
    from segocr.io import read_text_file

    cp = onnx_card_path(onnx)
    try:  # a regular file only: a FIFO would block forever
        card = json.loads(read_text_file(cp))
    except FileNotFoundError:
        raise WeightsError(f"{onnx}: its card {cp.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{cp}: unreadable card ({exc})") from None
    if not isinstance(card, dict) or "sha256" not in card or not isinstance(card.get("onnx"), dict):
        raise WeightsError(f"{cp}: not an ONNX export card (no sha256 or onnx section)")
    from segocr.models.weights import check_card_fields

    return check_card_fields(card, cp)


def _pt_sha256(weights: Path) -> str | None:
    """sha256 recorded in the ``.pt`` card beside ``weights`` (None: no readable card)."""
    from segocr.io import read_text_file

    try:
        card = json.loads(read_text_file(weights.with_suffix(".json")))
    except (OSError, ValueError):
        return None
    sha = card.get("sha256") if isinstance(card, dict) else None
    return sha if isinstance(sha, str) else None


class RuntimeChoice:
    """The outcome of :func:`choose_runtime`: ``runtime`` (``onnx`` or ``torch``), the
    file to load (``path``) and why (``reason``, one line)."""

    __slots__ = ("path", "reason", "runtime")

    def __init__(self, runtime: Literal["onnx", "torch"], path: Path, reason: str) -> None:
        self.runtime = runtime
        self.path = path
        self.reason = reason

    def __repr__(self) -> str:
        return f"RuntimeChoice({self.runtime!r}, {str(self.path)!r}, {self.reason!r})"


def choose_runtime(runtime: str, weights: Path, device: str = "auto") -> RuntimeChoice:
    """Which backend serves weight file ``weights`` (``.pt``, or an ``.onnx`` export).

    ``torch``: always torch (an ``.onnx`` file is refused). ``onnx``: the export
    (``weights`` itself or the ``.onnx`` beside it); it must exist, onnxruntime must be
    installed and ``device`` be ``auto`` or ``cpu``. ``auto``: onnx when all that holds
    and the export was made from these very weights (its card's ``source_sha256``
    equals the ``.pt`` card's sha256), else torch. Problems raise
    :class:`WeightsError` (unknown runtime: ``ValueError``).

    >>> choose_runtime("torch", Path("x/segcnn.pt")).runtime
    'torch'
    >>> choose_runtime("auto", Path("no/such.pt")).reason
    'no ONNX export no/such.onnx'
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
    is_onnx = weights.suffix == ".onnx"
    if runtime == "torch":
        if is_onnx:
            raise WeightsError(f"{weights}: an ONNX file needs --runtime onnx (or auto), not torch")
        return RuntimeChoice("torch", weights, "asked for")
    onnx = onnx_path(weights)
    cpu = device in ("auto", "cpu")
    if runtime == "onnx" or is_onnx:
        if not onnx.exists():
            raise WeightsError(
                f"{weights}: no ONNX export beside it ({onnx.name}); make one with "
                f"`segocr export --weights {weights} --to onnx`"
            )
        if not onnxruntime_available():
            raise WeightsError("the onnx runtime needs onnxruntime: pip install onnxruntime")
        if not cpu:
            raise ValueError(f"the onnx runtime runs on the CPU; use --runtime torch for --device {device}")
        return RuntimeChoice("onnx", onnx, "asked for" if runtime == "onnx" else "an .onnx file")
    if not onnx.exists():
        return RuntimeChoice("torch", weights, f"no ONNX export {onnx.as_posix()}")
    if not onnxruntime_available():
        return RuntimeChoice("torch", weights, "onnxruntime is not installed")
    if not cpu:
        return RuntimeChoice("torch", weights, f"device {device}")
    try:
        source = read_onnx_card(onnx)["onnx"].get("source_sha256")
    except WeightsError:
        return RuntimeChoice("torch", weights, f"{onnx_card_path(onnx).name} is missing or invalid")
    pt_sha = _pt_sha256(weights)
    if pt_sha is not None and source != pt_sha:
        return RuntimeChoice("torch", weights, f"{onnx.name} was exported from other weights (stale)")
    return RuntimeChoice("onnx", onnx, "export found")


def as_network(model: Any, device: Any = "auto") -> Network:
    """``model`` as a :class:`Network`: a network is returned as it is, a
    ``torch.nn.Module`` is wrapped in a
    :class:`~segocr.runtime.torch_backend.TorchNetwork` on ``device``."""
    if isinstance(model, Network):
        return model
    from segocr.runtime.torch_backend import TorchNetwork

    return TorchNetwork(model, device)


def _source_card(onnx: Path, card: dict[str, Any], net: Network) -> dict[str, Any]:
    """The card the recognizer reads its settings from: the card of the ``.pt`` the
    export was made from when it sits beside the export (a card edited after the
    export, e.g. a new segmentation config, then rules both runtimes alike: the export
    only vouches for the network), else the export's own copy. An export whose source
    beside it has other weights is stale: :class:`WeightsError`."""
    from segocr.models.weights import card_path, read_card, verify_loaded

    source = onnx.with_name(str(card["onnx"].get("source_weights") or ""))
    if source.suffix != ".pt" or not card_path(source).is_file():
        return card
    pt_card = read_card(source)
    if pt_card.get("sha256") != card["onnx"].get("source_sha256"):
        raise WeightsError(
            f"{onnx}: exported from other weights than {source.name} beside it (stale); "
            f"re-run `segocr export --weights {source}`"
        )
    verify_loaded(net, pt_card, source)
    return pt_card


def load_network(
    weights: Path,
    build: Callable[[dict[str, Any]], nn.Module],
    *,
    runtime: str = "auto",
    device: str = "auto",
    threads: int | None = None,
) -> tuple[Network, dict[str, Any]]:
    """(network, card) for weight file ``weights`` on the backend
    :func:`choose_runtime` picks. ``build(card)`` makes the (empty) torch module for a
    ``.pt`` file; it is not called for ONNX. ``threads``: the threads ONNX Runtime
    may use for a batch (None: :func:`segocr.runtime.onnx_backend.cpu_threads`). Both backends check the file
    against its card's sha256 and raise :class:`WeightsError` for unusable weights."""
    from segocr.models.weights import verify_loaded

    choice = choose_runtime(runtime, weights, device)
    if choice.runtime == "onnx":
        from segocr.runtime.onnx_backend import load_onnx

        net, card = load_onnx(choice.path, threads=threads)
        verify_loaded(net, card, onnx_card_path(choice.path))  # output size, input size, seal
        return net, _source_card(choice.path, card, net)
    if not torch_available():
        raise WeightsError(
            f"{weights}: reading it needs torch ({INSTALL_TORCH}) or an ONNX export beside it "
            f"({choice.reason})"
        )
    from segocr.models.weights import card_errors, load_into, load_weights
    from segocr.runtime.torch_backend import TorchNetwork

    state, card = load_weights(weights)
    with card_errors(weights):
        model = build(card)
    load_into(model, state, source=weights)
    verify_loaded(model, card, weights)  # output size, input size, then the card's seal
    return TorchNetwork(model, device), card
