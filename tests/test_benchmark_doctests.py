"""The examples in the docstrings of ``benchmarks/*.py`` (outside pytest's doctest
paths, which are ``tests`` and ``src/segocr``), run as doctests here."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from benchmark_modules import BENCHMARKS, load_benchmark

WITH_EXAMPLES = sorted(p for p in BENCHMARKS.glob("*.py") if ">>> " in p.read_text(encoding="utf-8"))


def test_some_benchmarks_have_examples() -> None:
    assert len(WITH_EXAMPLES) >= 5, WITH_EXAMPLES


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=lambda p: p.name)
def test_benchmark_doctests(path: Path) -> None:
    failed, attempted = doctest.testmod(load_benchmark(path), optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
