"""Test helper: a script of ``benchmarks/`` imported as a module (``benchmarks/`` is not
a package), registered in ``sys.modules`` while it loads, since dataclasses look their
module up while being built."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(path: str | Path) -> ModuleType:
    """``benchmarks/NAME.py`` (``path`` a stem such as ``"peers"`` or a file path) as the
    module ``segocr_benchmarks_NAME``."""
    path = BENCHMARKS / f"{path}.py" if isinstance(path, str) else path
    name = f"segocr_benchmarks_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
