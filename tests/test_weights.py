"""Weight files with cards: round trip, tampering, truncation, mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from segocr.errors import WeightsError
from segocr.models.charcnn import CharCNN
from segocr.models.weights import (
    SHIPPED_DIR,
    load_into,
    load_weights,
    read_card,
    resolve_device,
    save_weights,
)


def _saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    save_weights(CharCNN(5, width=4), path, {"model": "test", "charset": "ABCD"})
    return path


def test_round_trip_and_card(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    state, card = load_weights(path)
    assert card["charset"] == "ABCD" and len(card["sha256"]) == 64 and card["size_bytes"] == path.stat().st_size
    model = CharCNN(5, width=4)
    load_into(model, state, source=path)
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporaries


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(path)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(WeightsError, match="m.pt"):
        load_weights(path)


def test_garbage_with_matching_hash_is_refused(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    path.write_bytes(b"not a torch archive")
    card = read_card(path)
    import hashlib

    card["sha256"] = hashlib.sha256(b"not a torch archive").hexdigest()
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="not a loadable state dict"):
        load_weights(path)


def test_missing_card_and_bad_card(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(WeightsError, match="unreadable card"):
        load_weights(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match="card m.json is missing"):
        load_weights(path)


def test_wrong_architecture_is_refused(tmp_path: Path) -> None:
    state, _ = load_weights(_saved(tmp_path))
    with pytest.raises(WeightsError, match="do not fit"):
        load_into(CharCNN(6, width=4), state, source="m.pt")


def test_device_resolution() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


def test_shipped_weights_are_small_and_carded() -> None:
    for pt in SHIPPED_DIR.glob("*.pt"):
        card = read_card(pt)
        assert pt.stat().st_size < 5 * 1024 * 1024
        for key in ("charset", "input_size", "training", "command", "metrics", "sha256"):
            assert key in card, f"{pt.name}: card lacks {key}"
        load_weights(pt)  # hash matches
    assert (SHIPPED_DIR / "segcnn.pt").exists(), "the primary recognizer's weights must ship"
