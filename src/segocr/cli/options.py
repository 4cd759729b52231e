"""Parsing shared by the commands that pass options to a dataset loader."""

from __future__ import annotations

from collections.abc import Iterable
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
