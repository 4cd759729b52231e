"""The examples in the docstrings of ``benchmarks/*.py`` (outside pytest's doctest
paths, which are ``tests`` and ``src/segocr``), run as doctests here."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
WITH_EXAMPLES = sorted(p for p in BENCHMARKS.glob("*.py") if ">>> " in p.read_text(encoding="utf-8"))


def test_some_benchmarks_have_examples() -> None:
    assert len(WITH_EXAMPLES) >= 5, WITH_EXAMPLES


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=lambda p: p.name)
def test_benchmark_doctests(path: Path) -> None:
    name = f"segocr_benchmarks_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being built
    try:
        spec.loader.exec_module(module)
        failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        sys.modules.pop(name, None)
    assert attempted > 0 and failed == 0
