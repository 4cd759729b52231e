"""The training mix, its crops and the plate-confidence calibration: tiny hand-made
sources (always run) and the shipped general weights' cards (real data only)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample, load_dataset
from segocr.datasets.mix import Mix, known_boxes, read_mix_config, synthetic_plates
from segocr.errors import ConfigError
from segocr.evaluation.metrics import expected_calibration_error
from segocr.io import write_image
from segocr.models.weights import SHIPPED_DIR, resolve_weights
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.recognizers.segcnn import SegCNNConfig
from segocr.segment.boxes import CharBox
from segocr.training.harvest import CropSet
from segocr.training.mixdata import (
    box_crops,
    char_crops,
    fit_plate_calibration,
    plate_features,
    replicate,
    score_visible,
)


def _data_root(tmp_path: Path) -> Path:
    """A data root with a tiny cparking-co, UC3M-LP OCR/ and OpenALPR chars/."""
    rng = np.random.default_rng(0)
    co = tmp_path / "cparking-co" / "co"
    co.mkdir(parents=True)
    for i, text in enumerate(["ABC123", "DEF456", "GHI789", "JKL012", "MNO345"]):
        write_image(
            co / f"{100 + i}{text}87-0.jpg", rng.integers(0, 255, (30, 90, 3), dtype=np.uint8)
        )
    es = tmp_path / "uc3m-lp" / "OCR"
    (es / "images" / "train").mkdir(parents=True)
    (es / "labels" / "train").mkdir(parents=True)
    for i, (name, classes) in enumerate(
        [("12-4-BC", [1, 2, 4, 11, 12]), ("5-78D-F", [5, 7, 8, 13, 15])]
    ):
        write_image(
            es / "images" / "train" / f"0000{i}_AD-{name}.jpg",
            rng.integers(0, 255, (40, 120, 3), dtype=np.uint8),
        )
        lines = [f"{k} {0.1 + 0.15 * j:.2f} 0.5 0.1 0.8" for j, k in enumerate(classes)]
        (es / "labels" / "train" / f"0000{i}_AD-{name}.txt").write_text("\n".join(lines) + "\n")
    chars = tmp_path / "openalpr-train-ocr" / "br" / "chars"
    chars.mkdir(parents=True)
    for name in ("a-0-1_AAA1111.jpg", "7-3-1_AAA1111.jpg", "b-0-2_BBB2222.jpg"):
        img = np.full((40, 22, 3), 255, np.uint8)
        img[5:35, 5:17] = 0
        write_image(chars / name, img)
    return tmp_path


MIX_YAML = """
name: tiny
sources:
  - {dataset: cparking-co, weight: 2.0, licence: AGPL-3.0, terms: [copyleft]}
  - {dataset: uc3m-ocr, weight: 0.5, licence: ODbL, terms: [consent]}
  - {dataset: openalpr-chars, weight: 1.0, licence: AGPL-3.0, options: {countries: br}}
synthetic: {plates: 3, styles: {cz: 1.0}, seed: 5}
"""


def test_mix_tags_sources_and_keeps_chars_apart(tmp_path: Path) -> None:
    root = _data_root(tmp_path / "data")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(MIX_YAML)
    mix = load_dataset("mix", root, config=str(cfg))
    assert isinstance(mix, Mix) and mix.name == "mix:tiny"
    plates = mix.samples("all")
    assert {s.subset for s in plates} == {"cparking-co", "uc3m-ocr"}
    assert all(s.id.startswith(s.subset + "/") for s in plates)
    assert {s.meta["weight"] for s in plates if s.subset == "cparking-co"} == {2.0}
    chars = mix.char_samples("all")
    assert sorted(s.text for s in chars) == ["7", "A", "B"]
    # The mix's split is each source's own split.
    assert len(mix.samples("train")) + len(mix.samples("test")) == len(plates)
    assert "consent" in mix.licence and "AGPL" in mix.licence
    assert [s["dataset"] for s in mix.card_sources()] == [
        "cparking-co",
        "uc3m-ocr",
        "openalpr-chars",
        "synthetic",
    ]


def _mix(root: Path, **options: str) -> Mix:
    """``load_dataset("mix", root, **options)``, typed as the mix it is."""
    mix = load_dataset("mix", root, **options)
    assert isinstance(mix, Mix)
    return mix


def test_mix_exclude_leaves_sources_and_subsets_out(tmp_path: Path) -> None:
    root = _data_root(tmp_path / "data")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(MIX_YAML)
    full = _mix(root, config=str(cfg))
    mix = _mix(root, config=str(cfg), exclude="uc3m-ocr,openalpr-chars:br")
    assert mix.name == "mix:tiny-without-uc3m-ocr,openalpr-chars:br"
    assert {s.subset for s in mix.samples("all")} == {"cparking-co"}
    assert [s.id for s in mix.samples("all")] == [s.id for s in full.samples("all") if s.subset == "cparking-co"]
    assert mix.char_samples("all") == [] and len(full.char_samples("all")) == 3
    sources = {s["dataset"]: s for s in mix.card_sources()}
    assert "uc3m-ocr" not in sources and sources["openalpr-chars"]["excluded_subsets"] == ["br"]
    assert sources["openalpr-chars"]["train_samples"] == 0
    # Another subset of the same source stays.
    kept = _mix(root, config=str(cfg), exclude="openalpr-chars:gb")
    assert len(kept.char_samples("all")) == 3
    with pytest.raises(ConfigError, match="no such source .*cparking-co"):
        load_dataset("mix", root, config=str(cfg), exclude="openalpr-br")
    with pytest.raises(ConfigError, match="leaves no source"):
        load_dataset("mix", root, config=str(cfg), exclude="cparking-co,uc3m-ocr,openalpr-chars")


def test_mix_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shipped"):
        read_mix_config("no-such-mix")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources:\n  - {dataset: iwt4s, wieght: 2}\n")
    with pytest.raises(ConfigError, match="wieght"):
        read_mix_config(bad)
    cfg, where = read_mix_config("general")
    assert where == "src/segocr/configs/general.yaml"
    assert {s.dataset for s in cfg.sources} >= {
        "iwt4s",
        "openalpr-br",
        "openalpr-eu2",
        "uc3m-ocr",
        "cparking-co",
    }
    assert all(s.licence for s in cfg.sources)


def test_known_boxes_and_crops(tmp_path: Path) -> None:
    root = _data_root(tmp_path)
    es = load_dataset("uc3m-ocr", root).samples("all")
    s = next(x for x in es if x.text == "12?4?BC")
    assert [c for c, _ in known_boxes(s, s.load().shape) or []] == list("124BC")
    cfg = SegCNNConfig()
    crops = box_crops(es, Charset(LATIN), cfg)
    assert crops.x.shape == (10, cfg.input_size, cfg.input_size)
    assert (
        Charset(LATIN).decode(crops.y[:5].tolist()) == "124BC"
    )  # never a guess of the hidden ones
    single = char_crops(
        load_dataset("openalpr-chars", root, countries="br").samples("all"), Charset(LATIN), cfg
    )
    assert len(single.y) == 3 and np.isfinite(single.x).all()


def test_replicate_weights() -> None:
    c = CropSet(np.zeros((8, 2, 2), np.float32), np.arange(8))
    rng = np.random.default_rng(0)
    assert len(replicate(c, 1.0, rng).y) == 8
    r = replicate(c, 1.5, rng)
    assert len(r.y) == 12 and set(r.y.tolist()) == set(range(8))
    assert len(replicate(c, 0.25, rng).y) == 2


def test_synthetic_plates_are_deterministic_with_boxes() -> None:
    a = synthetic_plates(3, {"cz": 1.0, "generic": 1.0}, seed=3, charset=Charset(LATIN))
    b = synthetic_plates(3, {"cz": 1.0, "generic": 1.0}, seed=3, charset=Charset(LATIN))
    assert [s.text for s in a] == [s.text for s in b]
    assert all(np.array_equal(x.load(), y.load()) for x, y in zip(a, b, strict=True))
    for s in a:
        boxes = s.meta["boxes"]
        assert len(boxes) == len(s.text) and all(isinstance(bx, CharBox) for bx in boxes)
    with pytest.raises(ConfigError):
        synthetic_plates(1, {"cz": 0.0}, seed=0, charset=Charset(LATIN))


def test_plate_calibration_is_fitted_and_applied() -> None:
    from segocr.recognizers.segcnn import SegCNNRecognizer

    rng = np.random.default_rng(1)
    # Readings of 4..10 characters whose real chance of being right is the product of
    # the character confidences for any length: a calibration must not punish length.
    feats, ok = [], []
    for _ in range(3000):
        n = int(rng.integers(4, 11))
        conf = rng.uniform(0.7, 1.0, n)
        pred = Prediction.from_chars([CharPrediction("A", float(c)) for c in conf], "x")
        feats.append(plate_features(pred, {7: -0.1, 5: -3.0}, -8.0))
        ok.append(rng.random() < float(np.prod(conf)))
    f, y = np.array(feats), np.array(ok)
    cal = fit_plate_calibration(f, y)
    assert cal is not None
    a, d, b, c = cal
    calibrated = 1 / (1 + np.exp(-(a * f[:, 0] + d * f[:, 1] + b * f[:, 2] + c)))
    old_way = np.exp(-f[:, 1] + f[:, 2])  # product x length plausibility
    short = f[:, 2] < -1  # the length the prior calls implausible
    assert expected_calibration_error(calibrated, y) < 0.03
    assert expected_calibration_error(calibrated[short], y[short]) < 0.08
    assert expected_calibration_error(old_way[short], y[short]) > 0.2
    cfg = SegCNNConfig(length_logp={7: -0.1, 5: -3.0}, plate_calibration=cal)

    rec = SegCNNRecognizer.__new__(SegCNNRecognizer)
    rec.config = cfg
    chars = [CharPrediction("A", 0.99)] * 5
    sure = 0.99**5 * rec.length_factor(chars)
    assert 0.8 < sure < 1.0  # a sure 5-character read is not crushed by the length prior
    old = SegCNNConfig(length_logp={7: -0.1, 5: -3.0})
    rec.config = old
    assert 0.99**5 * rec.length_factor(chars) == pytest.approx(0.99**5 * math.exp(-2.9))
    assert fit_plate_calibration(np.zeros((3, 2)), np.array([True, True, True])) is None


def test_score_visible_masks() -> None:
    m = score_visible(
        ["12?4?BC", "ABC123"], [Prediction("1234XBC", 0.9), Prediction("ABC124", 0.5)]
    )
    assert m["n"] == 2 and m["plate_accuracy"] == 0.5
    assert m["cer"] == pytest.approx(1 / 11)


def test_weight_names() -> None:
    assert resolve_weights("segcnn-iwt4s", "segcnn") == SHIPPED_DIR / "segcnn.pt"
    assert resolve_weights("crnn-iwt4s", "crnn") == SHIPPED_DIR / "crnn.pt"
    assert resolve_weights("crnn-ccpd", "crnn") == SHIPPED_DIR / "crnn-ccpd.pt"
    assert resolve_weights("x/y.pt", "crnn") == Path("x/y.pt")
    general = SHIPPED_DIR / "segcnn-general.pt"
    assert resolve_weights(None, "segcnn") == (
        general if general.is_file() else SHIPPED_DIR / "segcnn.pt"
    )


@pytest.mark.parametrize("name", ["segcnn", "crnn"])
def test_general_cards_name_every_source_and_the_strictest_terms(name: str) -> None:
    path = SHIPPED_DIR / f"{name}-general.json"
    if not path.is_file():
        pytest.skip(f"{path.name} not shipped")
    card = json.loads(path.read_text())
    sources = {s["dataset"]: s for s in card["training"]["sources"]}
    assert set(sources) >= {
        "iwt4s",
        "openalpr-br",
        "openalpr-eu2",
        "uc3m-ocr",
        "cparking-co",
        "synthetic",
    }
    assert all(s["licence"] for s in sources.values())
    assert "non-commercial" in card["licence"] and "consent" in card["licence"]


def test_hidden_characters_never_become_labels() -> None:
    s = PlateSample("x", "12?4?BC", image=np.zeros((40, 120, 3), np.uint8), meta={"boxes": ()})
    assert known_boxes(s, (40, 120, 3)) is None
    assert box_crops([s], Charset(LATIN), SegCNNConfig()).y.size == 0


def test_sequence_init_from_shipped_weights() -> None:
    from segocr.errors import DatasetError
    from segocr.training.sequence import CRNNTrainConfig, CTCHead, _load_init

    head, cfg = CTCHead(), CRNNTrainConfig(init="crnn-iwt4s")
    model = head.build(cfg, len(LATIN))
    _load_init(model, "crnn-iwt4s", "crnn", Charset(LATIN))
    shipped = __import__("torch").load(SHIPPED_DIR / "crnn.pt", weights_only=True)
    assert all((model.state_dict()[k] == v).all() for k, v in shipped.items())
    with pytest.raises(DatasetError, match="charset"):
        _load_init(head.build(cfg, 2), "crnn-iwt4s", "crnn", Charset("AB"))
