"""The registry of trainers: ``segocr train --model NAME`` looks ``NAME`` up here.

A :class:`Trainer` names its options class (validated from YAML, unknown keys are
errors) and the function that runs a training into a run folder and returns the card
of the weights it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from segocr.registry import Registry


@dataclass(frozen=True)
class Trainer:
    """``run(dataset, out_dir, config, *, command, resume, device, evaluate_test,
    progress, log)`` -> card. ``supports_resume`` says whether ``resume=True`` works."""

    name: str
    config_class: type[BaseModel]
    run: Callable[..., dict[str, Any]]
    supports_resume: bool = False


TRAINERS: Registry[Trainer] = Registry("model", builtin=("segocr.training.segcnn", "segocr.training.sequence"))


def register_trainer(trainer: Trainer) -> Trainer:
    """Add ``trainer`` under its name; a different trainer under a taken name is an error."""
    return TRAINERS.add(trainer.name, trainer)


def trainer_names() -> list[str]:
    """Names of the registered trainers.

    >>> trainer_names()
    ['crnn', 'holistic', 'segcnn']
    """
    return TRAINERS.names()


def get_trainer(name: str) -> Trainer:
    """The trainer registered as ``name``; an unknown name raises ``KeyError`` listing
    the valid ones."""
    return TRAINERS.get(name)


def validate_options(config_class: type[BaseModel], options: dict[str, Any], *, source: str = "config") -> BaseModel:
    """``options`` validated as ``config_class``; a :class:`ConfigError` names every
    bad key (an unknown one with the valid keys at its level) and the problem.

    A nested section given in part keeps the class's defaults for the rest of it
    (:func:`overlay`), also where a model changes the shared defaults:

    >>> from segocr.training.sequence import CRNNTrainConfig, HolisticTrainConfig
    >>> validate_options(CRNNTrainConfig, {"batch_size": 8}).batch_size
    8
    >>> cfg = validate_options(HolisticTrainConfig, {"pretrain": {"lr": 0.001}})
    >>> cfg.pretrain.plates, cfg.pretrain.lr  # the holistic default, and the option
    (10000, 0.001)
    >>> validate_options(CRNNTrainConfig, {"finetune": {"epoch": 3}}, source="x.yaml")
    Traceback (most recent call last):
    segocr.errors.ConfigError: x.yaml: invalid options for CRNNTrainConfig:
      finetune.epoch: unknown option (valid here: balance, balance_cap, early_stop_patience, epochs, lr, synthetic_fraction)
    """
    from pydantic import ValidationError

    from segocr.errors import ConfigError

    try:
        return config_class.model_validate(overlay(config_class(), options))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                lines.append(f"  {loc}: unknown option (valid here: {', '.join(_fields_at(config_class, err['loc'][:-1]))})")
            else:
                lines.append(f"  {loc or '(top)'}: {err['msg']}")
        raise ConfigError(f"{source}: invalid options for {config_class.__name__}:\n" + "\n".join(lines)) from None


def overlay(defaults: BaseModel, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with every nested mapping completed from ``defaults`` (a model
    instance) where that field is itself a model; other values, and unknown keys, are
    kept as given (validation reports them)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        current = getattr(defaults, key, None) if key in type(defaults).model_fields else None
        if isinstance(value, dict) and isinstance(current, BaseModel):
            out[key] = {**current.model_dump(), **overlay(current, value)}
        else:
            out[key] = value
    return out


def _fields_at(cls: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the nested model at ``loc`` below ``cls`` (best effort)."""
    current: Any = cls
    for part in loc:
        field = current.model_fields.get(str(part)) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return []
        current = field.annotation
    return sorted(current.model_fields)


def load_options(path: Path | None) -> dict[str, Any]:
    """The mapping in YAML file ``path`` (``{}`` for ``None``); :class:`ConfigError`
    when unreadable or not a mapping."""
    import yaml

    from segocr.errors import ConfigError

    if path is None:
        return {}
    from segocr.io import read_text_file

    try:  # a regular file only: a FIFO would block forever
        data = yaml.safe_load(read_text_file(path)) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of options, found {type(data).__name__}")
    return data
