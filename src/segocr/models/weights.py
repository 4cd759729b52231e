"""Saving and loading weights with their card.

A weight file ``NAME.pt`` (a torch state dict) always travels with ``NAME.json``, its
card: model name and hyper-parameters, charset, input size, preprocessing and
segmentation config, training data and split, seed, the command that made it, its
measured metrics, and the sha256 of the ``.pt`` file. Loading is strict: a missing
card, a hash mismatch (corrupt or swapped file) or a state dict that does not fit the
model raises :class:`segocr.errors.WeightsError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from segocr.errors import WeightsError

if TYPE_CHECKING:  # torch is imported where it is used: reading cards needs no torch
    import torch
    from torch import nn

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "weights"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so a reader
    (or a crash) never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_weights_path(name: str) -> Path:
    """Where the shipped weights of recognizer ``name`` live."""
    return SHIPPED_DIR / f"{name}.pt"


#: Suffix of the shipped weights trained on the general mix (``segcnn-general.pt``):
#: a recognizer's default when they exist.
GENERAL = "-general"


def resolve_weights(weights: str | Path | None, name: str) -> Path:
    """The weight file recognizer ``name`` loads for ``weights``:

    - None: the general weights ``NAME-general.pt`` when shipped, else ``NAME.pt``;
    - a shipped name (a file stem in the weights folder: ``segcnn-general``, ``crnn-ccpd``,
      ``segcnn``), or ``NAME-iwt4s`` for the IWT4S-only weights ``NAME.pt``;
    - anything else: a path.

    >>> resolve_weights("segcnn-iwt4s", "segcnn").name, resolve_weights("my/w.pt", "segcnn").as_posix()
    ('segcnn.pt', 'my/w.pt')
    """
    if weights is None:
        general = SHIPPED_DIR / f"{name}{GENERAL}.pt"
        return general if general.is_file() else default_weights_path(name)
    text = str(weights)
    if "/" not in text and os.sep not in text and not text.endswith(".pt"):
        stem = name if text == f"{name}-iwt4s" else text
        if (SHIPPED_DIR / f"{stem}.pt").is_file():
            return SHIPPED_DIR / f"{stem}.pt"
    return Path(weights)


def card_model_kwargs(card: dict[str, Any]) -> dict[str, Any]:
    """The card's ``model_kwargs`` for the model's constructor: JSON lists become
    tuples (the constructors type their channel lists as tuples).

    >>> card_model_kwargs({"model_kwargs": {"channels": [4, 8], "hidden": 16}})
    {'channels': (4, 8), 'hidden': 16}
    """
    return {k: tuple(v) if isinstance(v, list) else v for k, v in card.get("model_kwargs", {}).items()}


@contextmanager
def card_errors(path: Path) -> Iterator[None]:
    """Turn a card that lacks an entry or holds an invalid one into a one-line
    :class:`WeightsError` naming the card; used by every recognizer's loader."""
    try:
        yield
    except KeyError as exc:
        raise WeightsError(f"{card_path(path)}: the card has no {exc.args[0]!r} entry") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(["config", *map(str, first["loc"])])
        raise WeightsError(f"{card_path(path)}: invalid card ({where}: {first['msg']})") from None
    except (TypeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise WeightsError(f"{card_path(path)}: invalid card ({type(exc).__name__}: {detail})") from None


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def save_weights(model: nn.Module, path: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write ``model``'s state dict to ``path`` and ``card`` (with ``sha256`` and
    ``size_bytes`` added) to ``path.with_suffix('.json')``, both atomically. Returns the
    written card."""
    import torch

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    data = buf.getvalue()
    full = {**card, "sha256": sha256_bytes(data), "size_bytes": len(data)}
    atomic_write_bytes(path, data)
    atomic_write_bytes(card_path(path), (json.dumps(full, indent=2, ensure_ascii=False) + "\n").encode())
    return full


def read_card(path: Path) -> dict[str, Any]:
    """The card beside weight file ``path``; :class:`WeightsError` if missing or invalid."""
    cp = card_path(path)
    try:
        card = json.loads(cp.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: its card {cp.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{cp}: unreadable card ({exc})") from None
    if not isinstance(card, dict) or "sha256" not in card:
        raise WeightsError(f"{cp}: not a weight card (no sha256)")
    return card


def load_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, card) of weight file ``path``, after checking its sha256."""
    import torch

    card = read_card(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read weights ({exc.strerror or exc})") from None
    digest = sha256_bytes(data)
    if digest != card["sha256"]:
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}… does not match its card ({str(card['sha256'])[:12]}…): "
            "the file is corrupt or not the one the card describes"
        )
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles before refusing them
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- torch raises many types for a bad archive
        raise WeightsError(f"{path}: not a loadable state dict ({_first_line(exc)})") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{path}: entry {key!r} of the state dict is a {type(value).__name__}, not a tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise WeightsError(f"{path}: tensor {key!r} holds NaN or infinite values (corrupt weights)")
    return state, card


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """``"Type: first line of the message"``, cut to ``limit`` characters.

    >>> _first_line(ValueError("bad\\nmore detail"))
    'ValueError: bad'
    """
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[0] if lines else ""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_into(model: nn.Module, state: dict[str, torch.Tensor], *, source: Path | str) -> None:
    """Load ``state`` into ``model`` strictly; a mismatch is a :class:`WeightsError`."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        # torch's message: a header line, then one indented line per problem.
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0] if lines else "state dict mismatch").rstrip(".")
        if len(detail) > 200:
            detail = detail[:199] + "…"
        more = f"; {len(lines) - 2} more" if len(lines) > 2 else ""
        raise WeightsError(f"{source}: weights do not fit the model ({detail}{more})") from None


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``/``cuda``/``cuda:N`` as given
    (``cuda`` without a GPU is a :class:`WeightsError`-free ValueError with a clear text)."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu or auto")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use auto, cpu or cuda[:N]") from None
