"""Plate formats as data: a YAML file per format, validated at load, compiled to an
automaton over a recognizer's charset for constrained decoding.

The shipped formats live in ``segocr/formats/data/*.yaml`` (``cz``, ``eu-generic``,
``br``, ``br-mercosur``, ``es``, ``co``, ``cn``, ``us-generic``, ...); a user's own
file is loaded by path. See :mod:`segocr.formats.schema` for the pattern language.

>>> fmt = get_format("br")
>>> fmt.matches("ABC1234"), fmt.matches("ABC1D23"), fmt.render("ABC1234")
(True, False, 'ABC-1234')
>>> "cz" in format_names()
True
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from segocr.errors import ConfigError
from segocr.formats.schema import Automaton, Layout, PlateFormat

__all__ = [
    "AUTO",
    "Automaton",
    "Layout",
    "PlateFormat",
    "format_names",
    "get_format",
    "load_format",
    "parse_format",
    "register_format",
    "resolve_format",
]

#: ``--format auto``: pick the best-scoring format (or none) per plate.
AUTO = "auto"

_REGISTRY: dict[str, PlateFormat] = {}
_LOADED = False


def _errors(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def parse_format(data: Any, *, source: str = "format") -> PlateFormat:
    """Validate a mapping (parsed YAML) as a :class:`PlateFormat`; raises
    :class:`segocr.errors.ConfigError` naming ``source`` and every problem.

    >>> parse_format({"name": "x", "patterns": ["LL Q"]}, source="x.yaml")
    Traceback (most recent call last):
    ...
    segocr.errors.ConfigError: x.yaml: invalid format: pattern 'LL Q': unknown class 'Q' (known: A, D, L; or write [Q] for the literal)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a format is a mapping with name and patterns, got {type(data).__name__}")
    try:
        return PlateFormat.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid format: {_errors(exc)}") from None


def load_format(path: str | Path) -> PlateFormat:
    """Read and validate a format YAML file; raises :class:`ConfigError` for a missing,
    unparsable or invalid file."""
    from segocr.io import read_text_file

    p = Path(path)
    try:
        text = read_text_file(p)  # a regular file only: a FIFO would block forever
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the format file ({exc.__class__.__name__}: {exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({' '.join(str(exc).split())})") from None
    return parse_format(data, source=str(p))


def register_format(fmt: PlateFormat) -> PlateFormat:
    """Add ``fmt`` to the registry under its name (a different format under a taken
    name is a ``ValueError``)."""
    _load_shipped()
    old = _REGISTRY.get(fmt.name)
    if old is not None and old != fmt:
        raise ValueError(f"format {fmt.name!r} registered twice")
    _REGISTRY[fmt.name] = fmt
    return fmt


def _load_shipped() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    folder = resources.files("segocr.formats") / "data"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            fmt = parse_format(yaml.safe_load(entry.read_text(encoding="utf-8")), source=f"segocr/formats/data/{entry.name}")
            if entry.name != f"{fmt.name}.yaml":
                raise ConfigError(f"segocr/formats/data/{entry.name}: the file must be named after the format ({fmt.name}.yaml)")
            _REGISTRY[fmt.name] = fmt


def format_names() -> list[str]:
    """Names of the registered (shipped and user-registered) formats, sorted."""
    _load_shipped()
    return sorted(_REGISTRY)


def get_format(name: str) -> PlateFormat:
    """The format registered as ``name``; an unknown name raises :class:`ConfigError`
    listing the valid ones."""
    _load_shipped()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown format {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}, {AUTO}, or a path to a .yaml file") from None


def resolve_format(spec: str | Path | PlateFormat) -> PlateFormat:
    """A format from a registered name, a path to a YAML file (ending in ``.yaml`` or
    ``.yml``, or an existing file) or a :class:`PlateFormat` itself."""
    if isinstance(spec, PlateFormat):
        return spec
    s = str(spec)
    if isinstance(spec, Path) or s.endswith((".yaml", ".yml")) or ("/" in s and Path(s).is_file()):
        return load_format(s)
    return get_format(s)


_: Callable[..., Any] = resolve_format  # re-exported in segocr.api
