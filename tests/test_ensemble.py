"""Ensembles of recognizers (segocr.ensemble): fusion of hand-made member readings,
boxes and two-row details carried over, loading errors, and the shipped ensembles
reading the bundled samples through the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from segocr.api import load_recognizer
from segocr.charset import Charset
from segocr.cli import main
from segocr.ensemble import (
    CARDS_DIR,
    ENSEMBLES,
    EnsembleConfig,
    EnsembleRecognizer,
    ensemble_card,
    load_ensemble,
)
from segocr.errors import WeightsError
from segocr.io import read_image
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.rows import RowsRecognizer, with_rows
from segocr.segment.boxes import CharBox

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CS = Charset("AB12")


class Fixed:
    """A member that returns the given predictions (one per image, in order)."""

    def __init__(self, name: str, preds: Sequence[Prediction], charset: Charset = CS) -> None:
        self.name = name
        self.preds = list(preds)
        self.charset = charset
        self.seen: list[Any] = []

    def predict(self, images: Sequence[np.ndarray], *, options: Any = None) -> list[Prediction]:
        self.seen.append(options)
        return self.preds[: len(images)]


def pred(text: str, conf: float, post: list[list[float]], boxes: bool = False, **info: Any) -> Prediction:
    chars = tuple(CharPrediction(c, 0.9, CharBox(10 * i, 0, 8, 20) if boxes else None) for i, c in enumerate(text))
    return Prediction(text, conf, chars, "m", {"posteriors": np.array(post), **info})


IMAGES = [np.zeros((20, 60, 3), np.uint8)]


def test_equal_lengths_multiply_the_members_posteriors() -> None:
    # segcnn-like member: sure of A, unsure of 1/2; crnn-like member: sure of 2
    a = pred("A1", 0.55, [[0.95, 0.05, 0, 0], [0, 0, 0.55, 0.45]], boxes=True, rows=2, row_bands=[[0, 9], [10, 20]])
    b = pred("B2", 0.40, [[0.45, 0.55, 0, 0], [0, 0, 0.05, 0.95]])
    ens = EnsembleRecognizer([Fixed("seg", [a]), Fixed("crnn", [b])])
    (p,) = ens.predict(IMAGES)
    assert p.text == "A2" and p.recognizer == "ensemble" and p.info["fusion"] == "aligned"
    assert [c.box for c in p.chars] == [c.box for c in a.chars]  # boxes from the member that has them
    assert p.info["rows"] == 2 and p.info["row_bands"] == [[0, 9], [10, 20]]
    assert p.info["members"] == [("seg", "A1", 0.55), ("crnn", "B2", 0.40)]
    assert p.info["posteriors"].shape == (2, 4)


def test_different_lengths_take_the_more_confident_member() -> None:
    a = pred("A1", 0.3, [[0.9, 0.1, 0, 0], [0, 0, 0.9, 0.1]], boxes=True)
    b = pred("AB1", 0.7, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    a.info["n_segments"] = 2  # a member's own details do not pass into the fused reading
    b.info["n_segments"] = 3
    (p,) = EnsembleRecognizer([Fixed("seg", [a]), Fixed("crnn", [b])]).predict(IMAGES)
    assert (p.text, p.confidence, p.info["fusion"]) == ("AB1", 0.7, "pick")
    assert "n_segments" not in p.info
    (q,) = EnsembleRecognizer([Fixed("seg", [a]), Fixed("crnn", [b])], EnsembleConfig(rule="pick")).predict(IMAGES)
    assert q.text == "AB1" and q.info["case"] == "pick"


def test_options_reach_every_member_and_an_empty_batch_reads_nothing() -> None:
    from segocr.formats.decoding import DecodeOptions

    m1, m2 = Fixed("a", [pred("A", 0.9, [[1, 0, 0, 0]])]), Fixed("b", [pred("A", 0.9, [[1, 0, 0, 0]])])
    opts = DecodeOptions(topn=2)
    EnsembleRecognizer([m1, m2]).predict(IMAGES, options=opts)
    assert m1.seen == [opts] and m2.seen == [opts]
    assert EnsembleRecognizer([m1, m2]).predict([]) == []


def test_members_must_share_a_charset_and_be_two_or_more() -> None:
    a = Fixed("a", [], Charset("AB12"))
    with pytest.raises(WeightsError, match="different charsets"):
        EnsembleRecognizer([a, Fixed("b", [], Charset("AB123"))])
    with pytest.raises(ValueError, match="at least two"):
        EnsembleRecognizer([a])
    with pytest.raises(ValueError, match="unknown fusion rule"):
        EnsembleConfig(rule="vote")
    with pytest.raises(ValueError, match="unknown calibration cases"):
        EnsembleConfig(calibration={"maybe": (1.0, 0.0)})


def test_confidence_is_recalibrated_per_case() -> None:
    a = pred("A1", 0.8, [[0.9, 0.1, 0, 0], [0, 0, 0.9, 0.1]])
    b = pred("A1", 0.9, [[0.95, 0.05, 0, 0], [0, 0, 0.95, 0.05]])
    c = pred("AB1", 0.9, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    plain = EnsembleRecognizer([Fixed("x", [a, a]), Fixed("y", [b, c])]).predict(IMAGES * 2)
    cfg = EnsembleConfig(calibration={"pick": (1.0, -1.0)})
    cal = EnsembleRecognizer([Fixed("x", [a, a]), Fixed("y", [b, c])], cfg).predict(IMAGES * 2)
    assert [p.info["case"] for p in cal] == ["agree", "pick"]
    assert cal[0].confidence == plain[0].confidence  # no calibration for "agree"
    q = plain[1].confidence
    assert cal[1].confidence == pytest.approx(1 / (1 + np.exp(-(np.log(q / (1 - q)) - 1.0))))
    assert cal[1].text == plain[1].text


@pytest.mark.parametrize(
    ("weights", "message"),
    [("segcnn", "two or more members"), ("segcnn+nope", "unknown ensemble member 'nope'"), ("segcnn+ensemble", "unknown ensemble member")],
)
def test_bad_member_lists_are_weights_errors(weights: str, message: str) -> None:
    with pytest.raises(WeightsError, match=message):
        load_ensemble(weights, device="cpu")


def test_rows_wrap_each_member() -> None:
    a, b = Fixed("a", []), Fixed("b", [])
    ens = with_rows(EnsembleRecognizer([a, b]), "auto")
    assert isinstance(ens, EnsembleRecognizer) and all(isinstance(m, RowsRecognizer) for m in ens.members)
    assert with_rows(ens, "one").members[0] is ens.members[0]


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_every_ensemble_has_a_valid_card(name: str) -> None:
    card = ensemble_card(name)
    assert (CARDS_DIR / f"{name}.json").is_file() and card["model"] == name
    cfg = EnsembleConfig.model_validate(card["config"])
    assert cfg.members == ENSEMBLES[name]
    assert card["command"] and card["selection"] and card["licence"]


@pytest.mark.parametrize("name", ["ensemble", "ensemble-iwt4s"])
def test_shipped_ensembles_read_the_samples(name: str) -> None:
    rec = load_recognizer(name, device="cpu")
    assert [m.name for m in rec.members] == ["crnn", "segcnn"]  # type: ignore[attr-defined]
    files = ["9KE0410.png", "3J55450.png"]
    preds = rec.predict([read_image(SAMPLES / f) for f in files])
    assert [p.text for p in preds] == [Path(f).stem for f in files]
    assert all(0 < p.confidence <= 1 and p.recognizer == name for p in preds)


def test_cli_reads_with_the_ensemble() -> None:
    res = CliRunner().invoke(main, ["read", "--model", "ensemble", "--json", str(SAMPLES / "9KE0410.png")])
    assert res.exit_code == 0, res.output
    row = json.loads(res.output.strip().splitlines()[0])
    assert row["text"] == "9KE0410" and row["recognizer"] == "ensemble"


class Keyed:
    """A member that reads image ``k`` (pixel [0, 0, 0] == k) as ``preds[k]`` and
    records which images it was given."""

    def __init__(self, name: str, preds: Sequence[Prediction]) -> None:
        self.name = name
        self.preds = list(preds)
        self.charset = CS
        self.read: list[int] = []

    def predict(self, images: Sequence[np.ndarray], *, options: Any = None) -> list[Prediction]:
        keys = [int(im[0, 0, 0]) for im in images]
        self.read += keys
        return [self.preds[k] for k in keys]


def test_accept_first_skips_the_other_members_on_confident_plates() -> None:
    images = [np.full((20, 60, 3), k, np.uint8) for k in range(3)]
    sure, unsure = pred("A1", 0.97, [[1, 0, 0, 0], [0, 0, 1, 0]]), pred("A2", 0.4, [[0.9, 0.1, 0, 0], [0, 0, 0.3, 0.7]])
    first = Keyed("crnn", [sure, unsure, sure])
    second = Keyed("segcnn", [pred("B1", 0.9, [[0, 1, 0, 0], [0, 0, 1, 0]], boxes=True)] * 3)
    cfg = EnsembleConfig(members=("crnn", "segcnn"), accept_first=0.95, calibration={"first": (1.0, -1.0)})
    out = EnsembleRecognizer([first, second], cfg).predict(images)
    assert second.read == [1]  # only the plate the first member was unsure of
    assert [p.info["case"] for p in out] == ["first", "aligned", "first"]
    assert out[0].text == "A1" and out[0].confidence < 0.97  # the "first" calibration applies
    assert out[1].text == "B1" and out[1].recognizer == "ensemble"
    everyone = EnsembleRecognizer([first, second], cfg.model_copy(update={"accept_first": None})).predict(images)
    assert second.read == [1, 0, 1, 2] and all(p.info["case"] != "first" for p in everyone)


def test_rows_under_a_format_reach_the_members() -> None:
    from segocr.formats.decoding import DecodeOptions, FormattedRecognizer

    a, b = Fixed("a", []), Fixed("b", [])
    wrapped = with_rows(FormattedRecognizer(EnsembleRecognizer([a, b]), DecodeOptions(topn=2)), "auto")
    assert isinstance(wrapped, FormattedRecognizer) and isinstance(wrapped.inner, EnsembleRecognizer)
    assert all(isinstance(m, RowsRecognizer) for m in wrapped.inner.members)


def test_int8_members_read_with_their_int8_model_only_when_onnx_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    import segocr.api
    from segocr.ensemble import int8_weights, load_member, member_weights

    q = int8_weights("crnn-iwt4s")
    assert q is not None and q.name == f"{member_weights('crnn-iwt4s').stem}-int8.onnx"
    assert int8_weights("no-such-model") is None
    calls: list[tuple[Any, str]] = []
    real = segocr.api.load_recognizer

    def spy(name: str, *, weights: Any = None, device: str = "auto", runtime: str = "auto") -> Any:
        calls.append((weights, runtime))
        return real(name, weights=weights, device=device, runtime=runtime)

    monkeypatch.setattr(segocr.api, "load_recognizer", spy)
    served = load_member("crnn-iwt4s", device="cpu", int8=True)
    assert calls[-1] == (str(q), "onnx")
    assert served.predict([read_image(SAMPLES / "9KE0410.png")])[0].text == "9KE0410"
    load_member("crnn-iwt4s", device="cpu")
    load_member("crnn-iwt4s", device="cpu", runtime="torch", int8=True)  # torch (or a GPU) reads in float
    assert calls[-2:] == [(None, "auto"), (None, "torch")]


def test_an_ensemble_card_naming_int8_members_loads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import segocr.ensemble as ens_mod

    card = {"model": "ensemble-iwt4s", "config": {"members": ["crnn-iwt4s", "segcnn-iwt4s"], "int8": ["crnn-iwt4s"]}}
    monkeypatch.setattr(ens_mod, "ensemble_card", lambda name: card)
    loaded: list[tuple[str, bool]] = []
    real = ens_mod.load_member

    def spy(member: str, *, device: str = "auto", runtime: str = "auto", int8: bool = False) -> Any:
        loaded.append((member, int8))
        return real(member, device=device, runtime=runtime, int8=int8)

    monkeypatch.setattr(ens_mod, "load_member", spy)
    rec = load_ensemble(device="cpu", name="ensemble-iwt4s")
    assert loaded == [("crnn-iwt4s", True), ("segcnn-iwt4s", False)]
    assert rec.predict([read_image(SAMPLES / "9KE0410.png")])[0].text == "9KE0410"
