"""The segcnn trainer's ``init`` option: start the classifier from trained weights."""

from __future__ import annotations

import pytest
import torch

from segocr.charset import Charset
from segocr.errors import ConfigError
from segocr.models.charcnn import CharCNN
from segocr.training.segcnn import SegCNNTrainConfig, init_from, transfer_state


def _output_weight(model: CharCNN) -> torch.Tensor:
    """The classifier's output layer weights (classes, features)."""
    layer = model.head[2]
    assert isinstance(layer, torch.nn.Linear)
    return layer.weight


def test_transfer_maps_output_rows_by_character_and_keeps_unknown_rows() -> None:
    torch.manual_seed(0)
    src = CharCNN(num_classes=4, width=4)  # "ABC" + noise
    dst = CharCNN(num_classes=4, width=4)  # "CAZ" + noise
    z_before = _output_weight(dst)[2].clone()
    assert transfer_state(dst, Charset("CAZ"), src, Charset("ABC")) == 3  # C, A, noise
    w_src, w_dst = _output_weight(src), _output_weight(dst)
    assert torch.equal(w_dst[0], w_src[2]) and torch.equal(w_dst[1], w_src[0])
    assert torch.equal(w_dst[3], w_src[3])  # noise
    assert torch.equal(w_dst[2], z_before)  # Z: not in the source, own init kept
    for (k, a), b in zip(src.features.state_dict().items(), dst.features.state_dict().values()):
        assert torch.equal(a, b), k
    x = torch.randn(2, 1, 32, 32)
    src.eval(), dst.eval()
    assert torch.allclose(src(x)[:, [2, 0, 3]], dst(x)[:, [0, 1, 3]])


def test_transfer_refuses_another_width() -> None:
    with pytest.raises(ConfigError, match="does not fit"):
        transfer_state(CharCNN(num_classes=3, width=8), Charset("AB"), CharCNN(num_classes=3, width=4), Charset("AB"))


def test_init_from_shipped_general_weights() -> None:
    model = CharCNN(num_classes=37, width=16)
    assert init_from(model, Charset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "segcnn-general") == 37
    assert SegCNNTrainConfig(init="segcnn-general").init == "segcnn-general"
