"""Saving and loading weights with their card.

A weight file ``NAME.pt`` (a torch state dict) always travels with ``NAME.json``, its
card: model name and hyper-parameters, charset, input size, preprocessing and
segmentation config, training data and split, seed, the command that made it, its
measured metrics, the sha256 of the ``.pt`` file and ``card_sha256``, the sha256 of
the card's own content (:func:`card_digest`: everything but ``card_sha256``, the
``.pt``'s sha256 included), so that one hash covers both. Loading is strict, and the
card is checked, not trusted (:class:`segocr.errors.WeightsError` for each):

- a missing card, a card that is not JSON, a number in it that is NaN or infinite,
  an entry of the wrong type (:class:`WeightCard`);
- a ``.pt`` whose sha256 differs from the card's (corrupt or swapped file), a state
  dict that does not fit the model the card describes;
- a network whose output size is not the card's charset plus its extra class, or that
  does not take the card's input size (:func:`check_network`, run on the loaded
  network whatever its runtime);
- a card whose content no longer matches its ``card_sha256`` (edited or corrupted
  since it was written; checked last, so a card that is wrong in a specific way
  says how). Cards written before ``card_sha256`` existed have none and load as
  before; :func:`seal_card` adds it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from segocr.errors import WeightsError
from segocr.io import atomic_write_bytes

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
    - the name of a file in the weights folder (``crnn-general-int8.onnx``) when no such
      file is in the working directory;
    - anything else: a path.

    >>> resolve_weights("segcnn-iwt4s", "segcnn").name, resolve_weights("my/w.pt", "segcnn").as_posix()
    ('segcnn.pt', 'my/w.pt')
    >>> resolve_weights("crnn-general-int8.onnx", "crnn") == SHIPPED_DIR / "crnn-general-int8.onnx"
    True
    """
    if weights is None:
        general = SHIPPED_DIR / f"{name}{GENERAL}.pt"
        return general if general.is_file() else default_weights_path(name)
    text = str(weights)
    bare = "/" not in text and os.sep not in text
    if bare and not Path(text).exists() and (SHIPPED_DIR / text).is_file():
        return SHIPPED_DIR / text
    if bare and not text.endswith(".pt"):
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


_SHA256 = r"^[0-9a-f]{64}$"
_Positive = Annotated[int, Field(gt=0)]


class WeightCard(BaseModel):
    """The entries every weight card has, with their types. A card holds more (its
    training facts, licence, command...): they are kept as they are, not checked here.

    >>> WeightCard.model_validate({"model": "x", "charset": "AB", "sha256": "0" * 64}).charset
    'AB'
    """

    model_config = ConfigDict(frozen=True, extra="allow", strict=True, protected_namespaces=())
    model: str = Field(min_length=1)
    charset: str = Field(min_length=1)
    sha256: str = Field(pattern=_SHA256)
    size_bytes: int | None = Field(default=None, ge=0)
    input_size: list[_Positive] | None = Field(default=None, min_length=2, max_length=2)
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    card_sha256: str | None = Field(default=None, pattern=_SHA256)


def _non_finite(value: Any, where: str = "") -> str | None:
    """The key path of the first NaN or infinite number in a JSON value, else None.

    >>> _non_finite({"metrics": {"ece": float("nan")}, "a": [1, 2.5]})
    'metrics.ece'
    """
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(the card)"
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def check_card_fields(card: Any, where: Path | str) -> dict[str, Any]:
    """``card`` if it is a JSON object whose numbers are all finite and whose
    :class:`WeightCard` entries have the right types; else a one-line
    :class:`WeightsError` naming ``where`` and the entry."""
    if not isinstance(card, dict):
        raise WeightsError(f"{where}: not a weight card (a {type(card).__name__}, not a JSON object)")
    bad = _non_finite(card)
    if bad is not None:
        raise WeightsError(f"{where}: invalid card ({bad} is NaN or infinite; a card holds finite numbers only)")
    try:
        WeightCard.model_validate(card)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(map(str, first["loc"]))
        if first["type"] == "missing":
            raise WeightsError(f"{where}: the card has no {loc!r} entry") from None
        raise WeightsError(f"{where}: invalid card ({loc}: {first['msg']})") from None
    return card


def card_digest(card: dict[str, Any]) -> str:
    """sha256 of a card's content: its canonical JSON (sorted keys, no spaces, UTF-8)
    without ``card_sha256`` itself. It covers the ``.pt`` too, through ``sha256``.

    >>> card_digest({"b": 1, "a": [1.5, "x"]}) == card_digest({"a": [1.5, "x"], "b": 1, "card_sha256": "0"})
    True
    """
    content = {k: v for k, v in card.items() if k != "card_sha256"}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return sha256_bytes(text.encode("utf-8"))


def seal_card(card: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``card`` with ``card_sha256`` set to its :func:`card_digest` (last key).

    >>> sealed = seal_card({"model": "x"})
    >>> sealed["card_sha256"] == card_digest(sealed)
    True
    """
    content = {k: v for k, v in card.items() if k != "card_sha256"}
    return {**content, "card_sha256": card_digest(content)}


def check_seal(card: dict[str, Any], where: Path | str) -> None:
    """:class:`WeightsError` when ``card`` has a ``card_sha256`` that its content no
    longer matches (a card without one, written before it existed, passes)."""
    sealed = card.get("card_sha256")
    if sealed is None:
        return
    digest = card_digest(card)
    if digest != sealed:
        raise WeightsError(
            f"{where}: the card's content does not match its card_sha256 ({digest[:12]}… "
            f"vs {str(sealed)[:12]}…): it was edited or corrupted after it was written"
        )


def check_network(net: Any, card: dict[str, Any], where: Path | str) -> None:
    """Check a loaded network against its card: it must take the card's
    ``input_size`` (H, W) as a gray ``(1, 1, H, W)`` batch (and agree with the
    card's ``config.line`` when there is one) and give ``len(charset) + 1`` scores
    per position (the characters plus the blank or noise class). ``net(x)`` maps a
    float32 numpy array to numpy logits (:class:`segocr.runtime.Network`) or is a
    torch module. Raises :class:`WeightsError` naming ``where``."""
    classes = len(card["charset"]) + 1
    size = card.get("input_size")
    config: dict[str, Any] = card["config"] if isinstance(card.get("config"), dict) else {}
    line, crop = config.get("line"), config.get("input_size")
    if isinstance(line, dict) and "height" in line and "width" in line:
        expected, said = [line["height"], line["width"]], f"config.line is {line['height']}x{line['width']}"
    elif isinstance(crop, int):  # segcnn: square character crops
        expected, said = [crop, crop], f"config.input_size is {crop}"
    else:
        expected = None
    if size is not None and expected is not None and list(size) != expected:
        raise WeightsError(f"{where}: invalid card (input_size {list(size)} but {said})")
    if size is None:
        return
    x = np.zeros((1, 1, int(size[0]), int(size[1])), np.float32)
    try:
        out = _forward(net, x)
    except Exception as exc:  # noqa: BLE001 -- any backend, any shape error
        raise WeightsError(
            f"{where}: the network does not take the card's input size {size[0]}x{size[1]} "
            f"({_first_line(exc)})"
        ) from None
    if out.ndim < 2 or out.shape[-1] != classes:
        raise WeightsError(
            f"{where}: the card's charset has {classes - 1} characters ({classes} classes with "
            f"the blank/noise class) but the network gives {out.shape[-1] if out.ndim else 0} "
            "scores: card and weights do not belong together"
        )


def _forward(net: Any, x: np.ndarray) -> np.ndarray:
    """``net(x)`` as a numpy array, for a :class:`~segocr.runtime.Network` or a torch module."""
    if hasattr(net, "state_dict"):  # a torch module
        import torch

        was = net.training
        net.eval()
        try:
            with torch.no_grad():
                return np.asarray(net(torch.from_numpy(x)).float().numpy())
        finally:
            net.train(was)
    return np.asarray(net(x))


def verify_loaded(net: Any, card: dict[str, Any], where: Path | str) -> None:
    """The checks made once a network is loaded: :func:`check_network`, then the
    card's seal (:func:`check_seal`) last."""
    check_network(net, card, where)
    check_seal(card, where if str(where).endswith(".json") else card_path(Path(where)))


def write_card(weights: Path, card: dict[str, Any], *, card_file: Path | None = None) -> dict[str, Any]:
    """Write ``card``, sealed with its own hash (:func:`seal_card`), atomically to
    ``card_file`` (default: beside ``weights``, :func:`card_path`). Returns the written
    card."""
    full = seal_card(card)
    dest = card_file if card_file is not None else card_path(weights)
    atomic_write_bytes(dest, (json.dumps(full, indent=2, ensure_ascii=False) + "\n").encode())
    return full


def save_weights(model: nn.Module | Mapping[str, Any], path: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write ``model``'s state dict (or ``model`` itself when it is a state dict: name ->
    tensor) to ``path`` and ``card`` (with ``sha256`` and ``size_bytes`` added) to
    ``path.with_suffix('.json')``, both atomically. Returns the written card."""
    import torch

    state = model if isinstance(model, Mapping) else model.state_dict()
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    return write_card(path, {**card, "sha256": sha256_bytes(data), "size_bytes": len(data)})


def _regular_file(path: Path) -> None:
    """OSError unless ``path`` is a regular file (a FIFO would block the read, a device
    such as /dev/zero never end it); FileNotFoundError when it is missing."""
    import stat

    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"not a regular file: {path}")


def read_card(path: Path) -> dict[str, Any]:
    """The card beside weight file ``path``; :class:`WeightsError` if missing or invalid."""
    cp = card_path(path)
    try:
        _regular_file(cp)
        card = json.loads(cp.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: its card {cp.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{cp}: unreadable card ({exc})") from None
    if not isinstance(card, dict) or "sha256" not in card:
        raise WeightsError(f"{cp}: not a weight card (no sha256)")
    return check_card_fields(card, cp)


def read_verified(path: Path, card: dict[str, Any]) -> bytes:
    """The bytes of weight file ``path`` (a regular file: never a FIFO or a device),
    checked against ``card["sha256"]``; :class:`WeightsError` otherwise."""
    try:
        _regular_file(path)
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read weights ({exc.strerror or exc})") from None
    digest = sha256_bytes(data)
    if digest != card["sha256"]:
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}… does not match its card ({str(card['sha256'])[:12]}…): "
            "the file is corrupt or not the one the card describes"
        )
    return data


def load_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, card) of weight file ``path``, after checking its card's fields
    (:func:`check_card_fields`) and the file's sha256."""
    import torch

    card = read_card(path)
    data = read_verified(path, card)
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
