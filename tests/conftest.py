"""Shared fixtures. Real data lives in ``../shared/data`` beside the repository (it never
enters the repository); tests that need it are skipped, saying so, when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__import__("os").environ.get("SEGOCR_SHARED_DATA", REPO.parent / "shared" / "data"))
IWT4S_DIR = SHARED_DATA / "iwt4s" / "2017-IWT4S-HDR_LP-dataset"
CCPD_DIR = SHARED_DATA / "ccpd"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (put ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def iwt4s_dir() -> Path:
    """The IWT4S release folder (holds trainVal.csv)."""
    return _need(IWT4S_DIR)


@pytest.fixture(scope="session")
def ccpd_dir() -> Path:
    """``../shared/data/ccpd`` (CCPD2019-sample/ and lprnet-test-crops/)."""
    return _need(CCPD_DIR)
