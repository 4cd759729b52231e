"""benchmarks/mix_validation.py and benchmarks/train_crnn_holdout.py: draw shares and the
held-out validation plates of the init weights (issue 10)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from benchmark_modules import load_benchmark

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample
from segocr.models.weights import SHIPPED_DIR

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    return load_benchmark(name)


def test_draw_shares_weigh_sources_and_rare_characters() -> None:
    mv = _load("mix_validation")
    mix = SimpleNamespace(charset=Charset(LATIN))
    samples = [PlateSample(str(i), "1234", subset="a") for i in range(3)]
    samples += [PlateSample("3", "1234", subset="b"), PlateSample("4", "12?4", subset="b")]
    even = mv.draw_shares(samples, mix, {"a": 1.0, "b": 1.0})
    assert even == pytest.approx({"a": 0.75, "b": 0.25})  # the ? plate is never drawn
    heavy = mv.draw_shares(samples, mix, {"a": 1.0, "b": 3.0})
    assert heavy == pytest.approx({"a": 0.5, "b": 0.5})
    rare = mv.draw_shares(
        [*samples[:3], PlateSample("5", "123Q", subset="b")], mix, {"a": 1.0, "b": 1.0}
    )
    assert rare["b"] > 0.25  # a plate with a rarer character is drawn more often


@pytest.mark.real_data
def test_held_out_ids_are_the_init_weights_validation_plates() -> None:
    from conftest import SHARED_DATA, _need

    _need(SHARED_DATA / "iwt4s")
    th = _load("train_crnn_holdout")
    card = json.loads((SHIPPED_DIR / "crnn.json").read_text())
    mix = SimpleNamespace(datasets={"iwt4s": None}, config=SimpleNamespace(name="m"))
    ids, name = th.held_out_ids("crnn-iwt4s", mix, SHARED_DATA)
    assert name == "iwt4s" and len(ids) == card["training"]["val_plates"]
    assert all(i.startswith("iwt4s/") for i in ids)
    with pytest.raises(SystemExit, match="not a source"):
        th.held_out_ids("crnn-iwt4s", SimpleNamespace(datasets={}, config=mix.config), SHARED_DATA)


def test_interpolate_crnn_mixes_float_tensors_and_keeps_a_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from segocr.models.crnn import CRNN
    from segocr.models.weights import load_weights, save_weights

    ic = _load("interpolate_crnn")
    torch.manual_seed(0)
    kwargs = {"channels": [4, 4, 4, 4, 4, 4], "hidden": 4}
    a, b = (CRNN(37, channels=(4, 4, 4, 4, 4, 4), hidden=4) for _ in range(2))
    card = {"model": "crnn", "model_kwargs": kwargs, "charset": LATIN, "training": {"dataset": "x"}}
    save_weights(a, tmp_path / "a.pt", card)
    save_weights(b, tmp_path / "b.pt", card)
    argv = [
        "interpolate_crnn.py",
        str(tmp_path / "a.pt"),
        str(tmp_path / "b.pt"),
        "--alpha",
        "0.25",
    ]
    monkeypatch.setattr(sys, "argv", [*argv, "--out", str(tmp_path / "out")])
    assert ic.main() == 0
    state, out_card = load_weights(tmp_path / "out" / "crnn-a0.25.pt")
    sa, sb = a.state_dict(), b.state_dict()
    for k, v in state.items():
        want = 0.25 * sa[k] + 0.75 * sb[k] if v.is_floating_point() else sa[k]
        assert torch.allclose(v, want), k
    assert out_card["training"]["interpolation"]["alpha"] == 0.25
    assert out_card["training"]["dataset"] == "x"
    with pytest.raises(SystemExit, match="differ in keys"):
        ic.interpolate({"w": torch.zeros(1)}, {"v": torch.zeros(1)}, 0.5)


def test_widen_crnn_keeps_the_logits_and_records_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from segocr.models.crnn import CRNN
    from segocr.models.weights import card_model_kwargs, load_weights, save_weights

    wc = _load("widen_crnn")
    torch.manual_seed(0)
    a = CRNN(37, input_height=32, channels=(4, 4, 4, 4, 6, 6), hidden=4)
    with torch.no_grad():  # BatchNorm statistics as after training, not the defaults
        for m in a.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    kwargs = {"channels": [4, 4, 4, 4, 6, 6], "hidden": 4, "frame_width": 2, "dropout": 0.2}
    card = {
        "model": "crnn",
        "model_kwargs": kwargs,
        "charset": LATIN,
        "input_size": [32, 128],
        "training": {"dataset": "x"},
    }
    save_weights(a, tmp_path / "a.pt", card)
    out = tmp_path / "w" / "crnn.pt"
    argv = [
        "widen_crnn.py",
        str(tmp_path / "a.pt"),
        "--channels",
        "6",
        "8",
        "4",
        "5",
        "9",
        "12",
        "--hidden",
        "7",
    ]
    monkeypatch.setattr(sys, "argv", [*argv, "--out", str(out)])
    assert wc.main() == 0
    state, wcard = load_weights(out)
    b = CRNN(37, input_height=32, **card_model_kwargs(wcard))
    b.load_state_dict(state)
    assert list(b.features[0].weight.shape) == [6, 1, 3, 3] and b.rnn.hidden_size == 7
    x = torch.randn(3, 1, 32, 96)
    with torch.no_grad():
        assert torch.allclose(a.eval()(x), b.eval()(x), atol=1e-5)
    assert state["features.0.weight"][4:].abs().sum() > 0  # new units start random, not dead
    assert wcard["parameters"] == sum(p.numel() for p in b.parameters())
    assert wcard["training"]["widening"]["source"]["channels"] == [4, 4, 4, 4, 6, 6]
    assert wcard["training"]["dataset"] == "x"
    monkeypatch.setattr(sys, "argv", [*argv[:3], "3", *argv[4:], "--out", str(out)])
    with pytest.raises(SystemExit, match="narrower"):
        wc.main()
