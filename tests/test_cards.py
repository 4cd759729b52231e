"""Weight cards are checked, not trusted (issue 14, item 6): field types, finite numbers,
charset length against the network's output, input size against the network, and a
content hash (card_sha256) that covers the card as well as the weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from segocr.errors import WeightsError
from segocr.models.weights import (
    SHIPPED_DIR,
    card_digest,
    check_card_fields,
    read_card,
    seal_card,
)
from segocr.recognizers.base import get_recognizer_factory

SHIPPED_CARDS = sorted(SHIPPED_DIR.glob("*.json"))


@pytest.mark.parametrize("card_file", SHIPPED_CARDS, ids=[p.name for p in SHIPPED_CARDS])
def test_every_shipped_card_is_sealed_and_valid(card_file: Path) -> None:
    card = json.loads(card_file.read_text(encoding="utf-8"))
    check_card_fields(card, card_file)
    assert card["card_sha256"] == card_digest(card), f"{card_file.name}: reseal it (seal_card)"


def _copy(name: str, tmp_path: Path, *, onnx: bool, change: dict[str, Any], reseal: bool = True) -> Path:
    """The shipped ``name`` weights (and, with ``onnx``, only its ONNX export) copied
    into ``tmp_path`` with card entries changed; returns the ``.pt`` path to load."""
    pt = tmp_path / f"{name}.pt"
    shutil.copy(SHIPPED_DIR / f"{name}.pt", pt)
    card_file = pt.with_suffix(".json")
    if onnx:
        shutil.copy(SHIPPED_DIR / f"{name}.onnx", tmp_path / f"{name}.onnx")
        shutil.copy(SHIPPED_DIR / f"{name}.json", card_file)
        card_file = tmp_path / f"{name}.onnx.json"
        source = SHIPPED_DIR / f"{name}.onnx.json"
    else:
        source = SHIPPED_DIR / f"{name}.json"
    card = json.loads(source.read_text(encoding="utf-8"))
    card.update(change)
    card = {k: v for k, v in card.items() if v is not None}
    if reseal:
        card = seal_card(card)
    card_file.write_text(json.dumps(card), encoding="utf-8")
    return pt


def _load(name: str, pt: Path, runtime: str) -> Any:
    return get_recognizer_factory(name)(weights=pt, device="cpu", runtime=runtime)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_an_edited_card_is_refused_by_its_seal(tmp_path: Path, runtime: str) -> None:
    pt = _copy("crnn", tmp_path, onnx=runtime == "onnx", change={"licence": "anything goes"}, reseal=False)
    with pytest.raises(WeightsError, match="does not match its card_sha256"):
        _load("crnn", pt, runtime)
    # The same edit, resealed on purpose, loads: the seal guards against accidents.
    pt = _copy("crnn", tmp_path, onnx=runtime == "onnx", change={"licence": "anything goes"})
    card = _load("crnn", pt, runtime).card
    if runtime == "torch":
        assert card["licence"] == "anything goes"
    else:  # the .pt card beside an export rules both runtimes; the export's own card only vouches for it
        shipped = json.loads((SHIPPED_DIR / "crnn.json").read_text(encoding="utf-8"))
        assert card["licence"] == shipped["licence"]


def test_a_card_from_before_the_seal_still_loads(tmp_path: Path) -> None:
    pt = _copy("segcnn", tmp_path, onnx=False, change={"card_sha256": None}, reseal=False)
    assert "card_sha256" not in read_card(pt)
    assert _load("segcnn", pt, "torch").card["model"] == "segcnn"


def test_charset_longer_than_the_network_output_is_named(tmp_path: Path) -> None:
    """An ONNX network is what it is: a card promising 37 characters for its 36+1
    outputs is refused with both numbers (torch refuses it when loading the state)."""
    pt = _copy("crnn", tmp_path, onnx=True, change={"charset": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"})
    with pytest.raises(WeightsError, match=r"charset has 37 characters \(38 classes .*gives 37 scores"):
        _load("crnn", pt, "onnx")
    pt = _copy("crnn", tmp_path, onnx=False, change={"charset": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"})
    with pytest.raises(WeightsError, match="weights do not fit the model"):
        _load("crnn", pt, "torch")


def test_input_size_the_network_does_not_take_is_named(tmp_path: Path) -> None:
    line = {"height": 48, "width": 200}
    card = json.loads((SHIPPED_DIR / "holistic.onnx.json").read_text(encoding="utf-8"))
    config = {**card["config"], "line": line}
    pt = _copy("holistic", tmp_path, onnx=True, change={"input_size": [48, 200], "config": config})
    with pytest.raises(WeightsError, match="does not take the card's input size 48x200"):
        _load("holistic", pt, "onnx")
    pt = _copy("holistic", tmp_path, onnx=False, change={"input_size": [48, 200]})
    with pytest.raises(WeightsError, match=r"input_size \[48, 200\] but config.line is 48x160"):
        _load("holistic", pt, "torch")


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"metrics": {"ece": float("nan")}}, "metrics.ece is NaN or infinite"),
        ({"training": {"seconds": float("inf")}}, "training.seconds is NaN or infinite"),
        ({"size_bytes": "big"}, "invalid card (size_bytes: Input should be a valid integer"),
        ({"model_kwargs": [1, 2]}, "invalid card (model_kwargs: Input should be a valid dictionary"),
        ({"sha256": "xyz"}, "invalid card (sha256: String should match pattern"),
        ({"model": None}, "the card has no 'model' entry"),
    ],
)
def test_card_fields_are_typed_and_finite(tmp_path: Path, change: dict[str, Any], needle: str) -> None:
    pt = _copy("segcnn", tmp_path, onnx=False, change=change, reseal=False)
    with pytest.raises(WeightsError) as info:
        read_card(pt)
    assert needle in str(info.value) and str(tmp_path) in str(info.value)
    assert "\n" not in str(info.value)


def test_weights_or_card_that_are_not_regular_files_are_refused(tmp_path: Path) -> None:
    """A FIFO would block the read, /dev/zero never end it: both are one-line errors."""
    import os

    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)
    shutil.copy(SHIPPED_DIR / "segcnn.json", tmp_path / "fifo.json")
    with pytest.raises(WeightsError, match="cannot read weights \\(not a regular file"):
        _load("segcnn", fifo, "torch")
    zero = tmp_path / "zero.pt"
    shutil.copy(SHIPPED_DIR / "segcnn.pt", zero)
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    with pytest.raises(WeightsError, match="unreadable card \\(not a regular file"):
        read_card(zero)
