"""A training run's folder: its resolved config, its per-epoch log and its resumable
checkpoint.

Shared by every trainer. ``OUT/config.yaml`` is the resolved config; ``OUT/checkpoint.pt``
is written atomically after every epoch and holds everything needed to go on (weights,
optimizer, scheduler, random states, history). Resuming checks that the options and
the data are those of the interrupted run.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from segocr.datasets.base import PlateSample
from segocr.errors import ConfigError
from segocr.models.weights import atomic_write_bytes

CHECKPOINT = "checkpoint.pt"
CONFIG_FILE = "config.yaml"
LOG_FILE = "log.csv"
CURVES_FILE = "curves.png"
FORMAT = 1


def save_checkpoint(obj: Any, path: Path) -> None:
    """``torch.save`` of ``obj`` to ``path`` through a temporary file and a rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A run's ``checkpoint.pt``; :class:`ConfigError` when missing or unusable."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"nothing to resume: {path} does not exist") from None
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise ConfigError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a segocr training checkpoint (format {FORMAT})")
    return ck


def fingerprint(samples: Sequence[PlateSample]) -> str:
    """A short hash of the samples' ids and texts (checks that a resumed run sees the
    same data).

    >>> fingerprint([PlateSample("a", "AB1")]) == fingerprint([PlateSample("a", "AB1")])
    True
    """
    h = hashlib.sha256()
    for s in samples:
        h.update(f"{s.id}\t{s.text}\n".encode())
    return h.hexdigest()[:16]


def begin_run(out_dir: Path, resolved: dict[str, Any], *, resume: bool) -> dict[str, Any] | None:
    """Open the run folder ``out_dir`` for a training with the resolved options
    ``resolved``: with ``resume`` the interrupted run's checkpoint (its options must
    equal ``resolved``), else ``None`` after making sure no run is overwritten. Writes
    ``config.yaml``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ck_path = out_dir / CHECKPOINT
    ck: dict[str, Any] | None = None
    if resume:
        ck = load_checkpoint(ck_path)
        if ck.get("config") != resolved:
            raise ConfigError(
                f"{out_dir}: the options differ from the interrupted run's ({CONFIG_FILE}); resume without --config/--seed"
            )
    elif ck_path.exists():
        raise ConfigError(
            f"{out_dir} already holds a training run ({CHECKPOINT}); pass --resume to go on with it or choose another --out"
        )
    atomic_write_bytes(
        out_dir / CONFIG_FILE,
        yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True).encode(),
    )
    return ck


def check_same_data(ck: dict[str, Any] | None, data: dict[str, Any], out_dir: Path) -> None:
    """Refuse to resume ``ck`` on other data than it was trained on."""
    if ck is not None and ck.get("data") != data:
        raise ConfigError(
            f"{out_dir}: the dataset differs from the interrupted run's ({ck.get('data')} vs {data})"
        )


def write_log(out_dir: Path, history: list[dict[str, Any]], *, title: str, warn: Callable[[str], None]) -> None:
    """``history`` (one dict per epoch) as ``log.csv`` (atomically) and ``curves.png``
    in the run folder ``out_dir``; a plot that fails is only a warning."""
    import pandas as pd

    from segocr.training.curves import plot_curves

    frame = pd.DataFrame(history)
    atomic_write_bytes(out_dir / LOG_FILE, frame.to_csv(index=False).encode())
    try:
        plot_curves(frame, out_dir / CURVES_FILE, title=title)
    except (OSError, ValueError, RuntimeError) as exc:  # a plot must not lose a training run
        warn(f"warning: could not draw {CURVES_FILE}: {exc}")
