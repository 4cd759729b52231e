"""The grid of an ablation: named variants of a base segcnn config (and of the plate
format it is read under), validated before anything runs. See :mod:`segocr.ablation`.

>>> grid = parse_grid({"variants": {"no_clahe": {"remove_steps": ["clahe"]}}})
>>> [(v.name, [s.op for s in v.config.segment.preprocess.steps]) for v in resolve_grid(grid, SegCNNConfig())]
[('base', ['gray', 'clahe', 'unsharp']), ('no_clahe', ['gray', 'unsharp'])]
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segocr.errors import ConfigError
from segocr.preprocess import STEPS
from segocr.recognizers.segcnn import SegCNNConfig
from segocr.segment.characters import SegmentConfig

#: The name of the base row; no variant may take it.
BASE = "base"
#: ``format: none`` in a variant: read without a plate format even when the base has one.
NO_FORMAT = "none"

#: :class:`SegmentConfig` fields that only the hypothesis search reads, never
#: :func:`segocr.segment.characters.prepare`; nor does it read the binarizers after
#: the first. Everything else (and any field added later) is part of the preparation
#: key, so a variant can share working images only when that is safe;
#: ``tests/test_ablation.py`` checks the list by changing each of these.
HYPOTHESIS_ONLY_FIELDS: tuple[str, ...] = (
    "split_width_ratio",
    "min_piece_height",
    "round_piece_height",
    "min_char_width",
    "layout",
)

#: The grid shipped with the package (``src/segocr/configs/ablation_default.yaml``).
DEFAULT_GRID = "ablation_default.yaml"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


# --------------------------------------------------------------------------- grid


class Overrides(BaseModel):
    """What a variant changes in the base config (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Shown in the table instead of the generated list of changes.
    description: str = ""
    #: Steps (by ``op``) removed from ``segment.preprocess.steps``.
    remove_steps: tuple[str, ...] = ()
    #: Dotted path into :class:`SegCNNConfig` -> new value (applied before removals).
    set: dict[str, Any] = Field(default_factory=dict)
    #: Plate format the variant is read under (a registered name, ``auto`` or a YAML
    #: path; ``none``: no format). Unset: the base's (see :mod:`segocr.formats`).
    format: str | None = None

    @field_validator("format")
    @classmethod
    def _known_format(cls, fmt: str | None) -> str | None:
        if fmt is None or fmt in (NO_FORMAT, "auto"):
            return fmt
        from segocr.formats import resolve_format

        try:
            resolve_format(fmt)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return fmt

    @field_validator("remove_steps")
    @classmethod
    def _known_steps(cls, ops: tuple[str, ...]) -> tuple[str, ...]:
        for op in ops:
            if op not in STEPS:
                raise ValueError(f"unknown step {op!r}; valid steps: {', '.join(STEPS)}")
        if len(set(ops)) != len(ops):
            raise ValueError("a step is listed twice")
        return ops

    @field_validator("set")
    @classmethod
    def _known_roots(cls, paths: dict[str, Any]) -> dict[str, Any]:
        for path in paths:
            parts = path.split(".")
            if not all(parts):
                raise ValueError(f"{path!r} is not a dotted path")
            if parts[0] not in SegCNNConfig.model_fields:
                raise ValueError(
                    f"unknown key {parts[0]!r} in {path!r}; valid keys: {', '.join(SegCNNConfig.model_fields)}"
                )
        return paths

    def summary(self) -> str:
        """The changes in one line: ``-op`` per removed step, ``path=value`` per setting.

        >>> Overrides(remove_steps=("clahe",), set={"segment.work_height": 48}).summary()
        '-clahe; segment.work_height=48'
        """
        parts = [f"-{op}" for op in self.remove_steps]
        parts += [f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in self.set.items()]
        if self.format is not None:
            parts.append(f"format={self.format}")
        return "; ".join(parts)


class AblationGrid(BaseModel):
    """A grid: overrides making the base (usually none), named variants, and the
    training options ``--retrain`` uses (:class:`SegCNNTrainConfig` fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    base: Overrides = Overrides()
    variants: dict[str, Overrides] = Field(min_length=1)
    train: dict[str, Any] = Field(default_factory=dict)

    @field_validator("variants")
    @classmethod
    def _names(cls, variants: dict[str, Overrides]) -> dict[str, Overrides]:
        for name in variants:
            if name == BASE:
                raise ValueError(f"{BASE!r} names the base row; give the variant another name")
            if not _NAME.match(name):
                raise ValueError(f"variant name {name!r}: use letters, digits and _ . + -")
        return variants

    @field_validator("train")
    @classmethod
    def _train_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        from segocr.training.segcnn import SegCNNTrainConfig

        if "recognizer" in options:
            raise ValueError("'recognizer' comes from each variant; set it in the variants")
        SegCNNTrainConfig.model_validate(options)
        return options


def _format_errors(exc: ValidationError) -> str:
    """One line per pydantic error; an error inside a variant names the variant."""
    lines = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if len(loc) >= 2 and loc[0] == "variants":
            where = f"variant {loc[1]!r}" + (f": {'.'.join(loc[2:])}" if loc[2:] else "")
        else:
            where = ".".join(loc) or "grid"
        shown = err["type"] != "missing" and not isinstance(err["input"], dict)
        got = f" (got {err['input']!r})" if shown else ""
        lines.append(f"{where}: {msg}{got}")
    return "\n".join(lines)


def parse_grid(data: Any, *, source: str = "grid") -> AblationGrid:
    """Validate a grid given as plain data (what the YAML holds); a
    :class:`ConfigError` names ``source`` and the variant at fault.

    >>> parse_grid({"variants": {"x": {"remove_steps": ["clahee"]}}})
    Traceback (most recent call last):
    ...
    segocr.errors.ConfigError: grid: invalid ablation grid:
    variant 'x': remove_steps: unknown step 'clahee'; valid steps: gray, clahe, unsharp, denoise, resize (got ['clahee'])
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: an ablation grid is a mapping with 'variants', got {type(data).__name__}"
        )
    try:
        return AblationGrid.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid ablation grid:\n{_format_errors(exc)}") from None


def load_grid(path: Path | str | None = None) -> AblationGrid:
    """Read and validate a YAML grid; ``None`` reads the shipped default grid."""
    import yaml

    if path is None:
        text = (
            resources.files("segocr").joinpath("configs", DEFAULT_GRID).read_text(encoding="utf-8")
        )
        source = f"src/segocr/configs/{DEFAULT_GRID}"
    else:
        from segocr.io import read_text_file

        try:
            text = read_text_file(path)  # a regular file only: a FIFO would block forever
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the grid ({exc})") from None
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from None
    return parse_grid(data, source=source)


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """A resolved variant: its name, the full config it runs with, and what it
    changes relative to the base (``changes``; empty for the base)."""

    name: str
    config: SegCNNConfig
    changes: str = ""
    description: str = ""
    #: The plate format the variant reads under (``None``: none).
    format: str | None = None

    @property
    def label(self) -> str:
        """The description, else the changes, else ``(base config)``."""
        return self.description or self.changes or "(base config)"

    @property
    def key(self) -> str:
        """Hash of the whole config: equal keys read identically."""
        return config_hash(self.config) + (f"+format:{self.format}" if self.format else "")

    @property
    def prepare_key(self) -> str:
        """Hash of what the working images depend on (:func:`prepare_hash`)."""
        return prepare_hash(self.config.segment)


def config_hash(config: BaseModel) -> str:
    """A short sha256 of a pydantic config's JSON form.

    >>> config_hash(SegCNNConfig()) == config_hash(SegCNNConfig.model_validate(SegCNNConfig().model_dump()))
    True
    """
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def prepare_hash(segment: SegmentConfig) -> str:
    """A short sha256 of what ``prepare`` may read in ``segment``: every field except
    :data:`HYPOTHESIS_ONLY_FIELDS`, and of the binarizers only the first. Equal hashes
    give equal working images.

    >>> a = SegmentConfig()
    >>> prepare_hash(a) == prepare_hash(a.model_copy(update={"split_width_ratio": 2.0}))
    True
    >>> prepare_hash(a) == prepare_hash(a.model_copy(update={"work_height": 48}))
    False
    """
    data = segment.model_dump(mode="json", exclude=set(HYPOTHESIS_ONLY_FIELDS))
    data["binarizers"] = data["binarizers"][:1]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _list_index(items: list[Any], part: str, where: str, name: str) -> int:
    if re.fullmatch(r"-?\d+", part):
        i = int(part)
        if not -len(items) <= i < len(items):
            raise ConfigError(f"variant {name!r}: {where} has {len(items)} items, no index {i}")
        return i % len(items)
    names = [el.get("op", el.get("method")) if isinstance(el, dict) else None for el in items]
    hits = [i for i, n in enumerate(names) if n == part]
    listed = ", ".join(str(n) for n in names if n is not None) or "nothing named"
    if not hits:
        raise ConfigError(f"variant {name!r}: {where} has no item {part!r} (it has: {listed})")
    if len(hits) > 1:
        raise ConfigError(
            f"variant {name!r}: {where} has {len(hits)} items named {part!r}; pick one by index ({', '.join(map(str, hits))})"
        )
    return hits[0]


def _set_path(data: dict[str, Any], path: str, value: Any, name: str) -> None:
    """Set ``path`` (dotted) in the plain-data config ``data`` in place."""
    node: Any = data
    parts = path.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the config"
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                valid = ", ".join(map(str, node)) or "none"
                raise ConfigError(
                    f"variant {name!r}: unknown key {part!r} in {where} (valid keys: {valid})"
                )
            key: Any = part
        elif isinstance(node, list):
            key = _list_index(node, part, where, name)
        else:
            raise ConfigError(
                f"variant {name!r}: {where} is a value ({node!r}), it has no {part!r}"
            )
        if last:
            node[key] = copy.deepcopy(value)
        else:
            node = node[key]


def apply_overrides(config: SegCNNConfig, overrides: Overrides, *, name: str) -> SegCNNConfig:
    """``config`` with ``overrides`` applied (settings first, then step removals) and
    validated again; every problem is a :class:`ConfigError` naming ``name``.

    >>> cfg = apply_overrides(SegCNNConfig(), Overrides(set={"segment.work_height": 48}), name="h48")
    >>> cfg.segment.work_height
    48
    >>> apply_overrides(SegCNNConfig(), Overrides(set={"segment.work_height": 4}), name="h4")
    Traceback (most recent call last):
    ...
    segocr.errors.ConfigError: variant 'h4': invalid config:
    segment.work_height: Input should be greater than or equal to 16 (got 4)
    """
    data = config.model_dump(mode="json")
    for path, value in overrides.set.items():
        _set_path(data, path, value, name)
    steps = data["segment"]["preprocess"]["steps"]
    for op in overrides.remove_steps:
        kept = [s for s in steps if not (isinstance(s, dict) and s.get("op") == op)]
        if len(kept) == len(steps):
            have = ", ".join(str(s.get("op")) for s in steps if isinstance(s, dict)) or "no steps"
            raise ConfigError(
                f"variant {name!r}: remove_steps: the pipeline has no {op!r} step (it has: {have})"
            )
        steps = kept
    data["segment"]["preprocess"]["steps"] = steps
    try:
        return SegCNNConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            got = "" if isinstance(err["input"], dict) else f" (got {err['input']!r})"
            lines.append(f"{'.'.join(map(str, err['loc']))}: {err['msg']}{got}")
        raise ConfigError(f"variant {name!r}: invalid config:\n" + "\n".join(lines)) from None


def resolve_grid(grid: AblationGrid, base: SegCNNConfig) -> list[Variant]:
    """The base (``base`` with the grid's base overrides) followed by every variant
    applied to it, in grid order. Validates everything before anything runs."""
    base_cfg = apply_overrides(base, grid.base, name=BASE)
    base_fmt = grid.base.format if grid.base.format != NO_FORMAT else None
    out = [Variant(BASE, base_cfg, grid.base.summary(), grid.base.description, base_fmt)]
    for name, ov in grid.variants.items():
        out.append(
            Variant(
                name,
                apply_overrides(base_cfg, ov, name=name),
                ov.summary(),
                ov.description,
                base_fmt if ov.format is None else (None if ov.format == NO_FORMAT else ov.format),
            )
        )
    return out


