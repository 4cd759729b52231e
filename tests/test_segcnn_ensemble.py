"""An ensemble of segcnn classifiers: one CharCNN with members, put together from runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from untrained import untrained_model, write_untrained_segcnn

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample
from segocr.datasets.synthetic import random_plate_text, render_plate
from segocr.models.charcnn import CharCNN
from segocr.models.weights import save_weights
from segocr.recognizers.segcnn import load_segcnn
from segocr.training.segcnn import ensemble_recognizer


def test_members_average_their_log_softmax() -> None:
    a, b = untrained_model(1), untrained_model(2)
    ens = CharCNN(num_classes=len(LATIN) + 1, width=4, members=2).eval()
    ens.members[0].load_state_dict(a.state_dict())
    ens.members[1].load_state_dict(b.state_dict())
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = (torch.log_softmax(a(x), 1) + torch.log_softmax(b(x), 1)) / 2
        got = ens(x)
    assert torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(got, torch.log_softmax(a(x), 1), atol=1e-3)


def _member(path: Path, seed: int, split_seed: int) -> Path:
    card = write_untrained_segcnn(path, seed=seed)
    card["training"] = {
        "dataset": "synthetic",
        "train_config": {"seed": seed, "split_seed": split_seed, "width": 4, "val_fraction": 0.3},
    }
    card = {k: v for k, v in card.items() if k not in ("sha256", "size_bytes", "card_sha256")}
    save_weights(untrained_model(seed), path, card)
    return path


def _plates(n: int) -> list[PlateSample]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        text = random_plate_text(rng, "cz")
        out.append(PlateSample(str(i), text, group=text, image=render_plate(text, rng=rng, style="cz").image))
    return out


def test_an_ensemble_of_runs_loads_as_one_recognizer(tmp_path: Path) -> None:
    members = [_member(tmp_path / f"m{i}.pt", seed=i, split_seed=1) for i in range(2)]
    rec, facts = ensemble_recognizer(members, _plates(10), Charset(LATIN))
    assert facts["train_config"]["members"] == 2 and [m["seed"] for m in facts["members"]] == [0, 1]
    assert rec.model is not None and len(rec.model.members) == 2
    assert 0 <= facts["val_plate_accuracy"] <= 1 and rec.config.temperature > 0
    # Saved with the members in its card, it loads through the ordinary loader.
    out = tmp_path / "segcnn.pt"
    card = json.loads(members[0].with_suffix(".json").read_text())
    card = {k: v for k, v in card.items() if k not in ("sha256", "size_bytes", "card_sha256")}
    card["model_kwargs"] = {"width": 4, "members": 2}
    save_weights(rec.model, out, card)
    again = load_segcnn(out, device="cpu", runtime="torch")
    x = np.zeros((2, 32, 32), np.float32)
    assert np.allclose(again.logits(x), rec.logits(x), atol=1e-5)


def test_members_of_different_validation_parts_are_refused(tmp_path: Path) -> None:
    members = [_member(tmp_path / "a.pt", seed=0, split_seed=1), _member(tmp_path / "b.pt", seed=1, split_seed=2)]
    with pytest.raises(ValueError, match="fit/validation division"):
        ensemble_recognizer(members, _plates(10), Charset(LATIN))
