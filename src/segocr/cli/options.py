"""Parsing shared by the commands: dataset options, devices, names, weight files."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click


def parse_key_values(pairs: Iterable[str], *, option: str = "--dataset-option") -> dict[str, Any]:
    """``KEY=VALUE`` strings as keyword arguments; each value is read as YAML (so it
    becomes an int, float, bool or stays a string), ``-`` in a key becomes ``_``. A
    malformed pair is a :class:`click.BadParameter` naming ``option``.

    >>> parse_key_values(["labels=a/labels.csv", "test_fraction=0.3", "strict=false", "n-train=5"])
    {'labels': 'a/labels.csv', 'test_fraction': 0.3, 'strict': False, 'n_train': 5}
    """
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint=option)
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key] = value
    return out


_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICE_HELP = "auto (GPU when present), cpu, cuda or cuda:N."


def check_device(ctx: click.Context | None, param: click.Parameter | None, value: str) -> str:
    """Click callback: ``--device`` must be auto, cpu, mps, cuda or cuda:N, else a usage
    error (exit 2). A well-formed device that this machine lacks (cuda without a GPU)
    is an environment error, found later, exit 1.

    >>> check_device(None, None, "cuda:1")
    'cuda:1'
    >>> check_device(None, None, "gpu")
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 'gpu' is not a device; use auto, cpu, cuda or cuda:N (mps on Apple)
    """
    if not _DEVICE.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not a device; use auto, cpu, cuda or cuda:N (mps on Apple)"
        )
    return value


def check_name(kind: str, name: str, names: list[str], *, param_hint: str) -> str:
    """``name`` if it is one of ``names``, else a usage error (exit 2) listing them.

    >>> check_name("dataset", "iwt4s", ["iwt4s", "folder"], param_hint="--dataset")
    'iwt4s'
    """
    if name not in names:
        raise click.BadParameter(
            f"unknown {kind} {name!r}; choose one of: {', '.join(names)}", param_hint=param_hint
        )
    return name


#: Suffixes of the weight files in segocr's weights folder that ``--weights`` may name.
WEIGHT_SUFFIXES = (".pt", ".onnx")


def shipped_weights(name: str) -> Path | None:
    """The shipped weight file ``name`` stands for: a file of segocr's weights folder by
    its name (``crnn-general-int8.onnx``) or its stem (``crnn-ccpd`` -> ``crnn-ccpd.pt``),
    or ``NAME-iwt4s`` for the IWT4S weights ``NAME.pt``; None when there is none.

    >>> shipped_weights("segcnn-iwt4s").name, shipped_weights("crnn-general-int8.onnx").name
    ('segcnn.pt', 'crnn-general-int8.onnx')
    >>> shipped_weights("nonsense") is None, shipped_weights("segcnn.json") is None
    (True, True)
    """
    from segocr.models.weights import SHIPPED_DIR, resolve_weights

    found = resolve_weights(name, name.split("-")[0])
    ok = found.parent == SHIPPED_DIR and found.suffix in WEIGHT_SUFFIXES and found.is_file()
    return found if ok else None


class WeightsFile(click.ParamType):
    """``--weights``: a weight file by its path, or shipped weights by name (see
    :func:`shipped_weights`); anything else is a usage error listing the shipped names."""

    name = "FILE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            return value
        path = Path(value)
        if path.is_dir():
            self.fail(f"{value!r} is a directory, not a weight file", param, ctx)
        if path.exists():
            return path
        shipped = shipped_weights(str(value))
        if shipped is not None:
            return shipped
        from segocr.models.weights import SHIPPED_DIR

        names = sorted(p.name for p in SHIPPED_DIR.iterdir() if p.suffix in WEIGHT_SUFFIXES)
        self.fail(f"{value!r}: no such file, nor shipped weights of that name (shipped: {', '.join(names)})", param, ctx)
