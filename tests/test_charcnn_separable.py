"""CharCNN(repeat="separable") (issue 12, H12c): the channel-keeping 3x3 convs made
depthwise-separable; the default net's layout stays the shipped one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from untrained import write_untrained_segcnn

from segocr.charset import LATIN, Charset
from segocr.errors import ConfigError
from segocr.models.charcnn import CharCNN
from segocr.models.weights import default_weights_path, save_weights
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer, load_segcnn
from segocr.runtime.export import TOLERANCE, export_onnx
from segocr.runtime.onnx_backend import load_onnx
from segocr.training.segcnn import SegCNNTrainConfig, ensemble_recognizer, transfer_state

# The shipped segcnn's state_dict keys (features.N.*: conv / BN indices of the VGG stack).
_CONV = (0, 4, 7, 11, 14, 18)
_BN = (1, 5, 8, 12, 15, 19)
DEFAULT_KEYS = {f"features.{i}.weight" for i in _CONV} | {
    f"features.{i}.{k}" for i in _BN for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
} | {"head.2.weight", "head.2.bias"}


@pytest.mark.parametrize("repeat", ["full", "separable"])
@pytest.mark.parametrize("size", [24, 32])
def test_shapes_for_any_input_size_and_members(repeat: str, size: int) -> None:
    x = torch.zeros(3, 1, size, size)
    assert CharCNN(num_classes=11, width=4, repeat=repeat)(x).shape == (3, 11)  # type: ignore[arg-type]
    assert CharCNN(num_classes=11, width=4, repeat=repeat, members=2)(x).shape == (3, 11)  # type: ignore[arg-type]


def test_default_keeps_the_shipped_layout_and_separable_is_cheaper() -> None:
    full = CharCNN(num_classes=37)
    assert set(full.state_dict()) == DEFAULT_KEYS
    assert set(CharCNN(num_classes=37, repeat="full").state_dict()) == DEFAULT_KEYS
    shipped = torch.load(default_weights_path("segcnn"), map_location="cpu", weights_only=True)
    assert set(shipped) == DEFAULT_KEYS  # the shipped weights load strictly into the default net
    sep = CharCNN(num_classes=37, repeat="separable")
    groups = sorted(m.groups for m in sep.modules() if isinstance(m, torch.nn.Conv2d))
    assert groups == [1] * 6 + [32, 64]  # two depthwise convs, each followed by a 1x1
    assert sum(p.numel() for p in sep.parameters()) < 0.75 * sum(p.numel() for p in full.parameters())
    with pytest.raises(ValueError, match="unknown repeat 'mobile'; valid: 'full', 'separable'"):
        CharCNN(num_classes=37, repeat="mobile")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SegCNNTrainConfig.model_validate({"repeat": "mobile"})


def _separable_weights(path: Path) -> Path:
    torch.manual_seed(0)
    model = CharCNN(num_classes=len(LATIN) + 1, width=4, repeat="separable").eval()
    card = {
        "model": "segcnn",
        "architecture": "CharCNN",
        "model_kwargs": {"width": 4, "repeat": "separable"},
        "charset": LATIN,
        "config": SegCNNConfig().model_dump(mode="json"),
        "training": {"dataset": "none (untrained, for tests)"},
    }
    save_weights(model, path, card)
    return path


def test_a_separable_card_loads_and_exports_to_onnx(tmp_path: Path) -> None:
    pt = _separable_weights(tmp_path / "segcnn.pt")
    rec = load_segcnn(pt, device="cpu", runtime="torch")
    assert isinstance(rec, SegCNNRecognizer) and rec.model is not None and rec.model.features[7].groups == 8
    x = np.random.default_rng(0).normal(size=(5, 32, 32)).astype(np.float32)
    path, card = export_onnx("segcnn", pt, opset=17)
    assert card["onnx"]["max_abs_diff_vs_torch"] <= TOLERANCE
    net, _ = load_onnx(path)
    assert np.abs(net(x[:, None]) - rec.logits(x)).max() <= TOLERANCE


def test_ensemble_and_init_refuse_a_repeat_mismatch(tmp_path: Path) -> None:
    sep, full = tmp_path / "sep.pt", tmp_path / "full.pt"
    write_untrained_segcnn(full)
    _separable_weights(sep)
    for p, repeat in ((full, None), (sep, "separable")):
        card = json.loads(p.with_suffix(".json").read_text())
        tc = {"seed": 0, "width": 4, "val_fraction": 0.3, **({"repeat": repeat} if repeat else {})}
        card["training"] = {"dataset": "synthetic", "train_config": tc}
        card = {k: v for k, v in card.items() if k not in ("sha256", "size_bytes", "card_sha256")}
        rec = load_segcnn(p, device="cpu", runtime="torch")
        assert isinstance(rec, SegCNNRecognizer) and rec.model is not None
        save_weights(rec.model, p, card)
    with pytest.raises(ValueError, match=r"differ in repeat: \['full', 'separable'\]"):
        ensemble_recognizer([full, sep], [], Charset(LATIN))
    n = len(LATIN) + 1
    with pytest.raises(ConfigError, match="width, repeat or members differ"):
        transfer_state(CharCNN(n, width=4, repeat="separable"), Charset(LATIN), CharCNN(n, width=4), Charset(LATIN))
