"""`segocr ablate` and :mod:`segocr.ablation`: grid parsing and validation,
the paired statistics on hand-made cases, the shared work, and a tiny grid through
the CLI on a few synthetic plates with an untrained tiny classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from click.testing import CliRunner
from untrained import write_untrained_segcnn

from segocr.ablation import (
    BASE,
    HYPOTHESIS_ONLY_FIELDS,
    RetrainSettings,
    Variant,
    compare_paired,
    load_base,
    load_grid,
    parse_grid,
    prepare_hash,
    resolve_grid,
    run_ablation,
    with_images,
)
from segocr.cli import main
from segocr.datasets.synthetic import open_synthetic
from segocr.errors import ConfigError
from segocr.evaluation import metrics as M
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer
from segocr.segment.binarize import BinarizeConfig
from segocr.segment.characters import SegmentConfig, prepare


def _resolve(variants: dict[str, Any], **grid: Any) -> list[Variant]:
    return resolve_grid(parse_grid({"variants": variants, **grid}), SegCNNConfig())


# --------------------------------------------------------------------------- grid


def test_default_grid_covers_the_issue() -> None:
    variants = {v.name: v for v in resolve_grid(load_grid(), SegCNNConfig())}
    assert next(iter(variants)) == BASE
    steps = lambda v: {s.op: s for s in v.config.segment.preprocess.steps}
    assert "clahe" not in steps(variants["no_clahe"]) and "unsharp" in steps(variants["no_clahe"])
    assert [steps(variants[f"clahe_clip_{c}"])["clahe"].clip_limit for c in (1, 2, 4)] == [
        1.0,
        2.0,
        4.0,
    ]
    assert "unsharp" not in steps(variants["no_unsharp"])
    assert [steps(variants[f"unsharp_{a}"])["unsharp"].amount for a in ("0.5", "1", "2")] == [
        0.5,
        1.0,
        2.0,
    ]
    for method in ("otsu", "adaptive_mean", "adaptive_gaussian", "sauvola", "wolf", "niblack"):
        assert [b.method for b in variants[f"only_{method}"].config.segment.binarizers] == [method]
    assert [variants[f"height_{h}"].config.segment.work_height for h in (48, 72, 96)] == [
        48,
        72,
        96,
    ]
    # A variant changes only what it names.
    assert (
        variants["height_48"].config.segment.binarizers == variants[BASE].config.segment.binarizers
    )
    # The base's own values give the base's config, hence shared work.
    assert variants["clahe_clip_2"].key == variants[BASE].key
    assert (
        variants["only_sauvola"].prepare_key == variants[BASE].prepare_key
    )  # same first binarizer
    assert variants["only_sauvola"].key != variants[BASE].key
    assert variants["height_96"].prepare_key != variants[BASE].prepare_key


def test_list_items_by_name_or_index() -> None:
    v = _resolve(
        {"k": {"set": {"segment.binarizers.1.k": 0.3, "segment.binarizers.otsu.offset": 2}}}
    )[1]
    assert v.config.segment.binarizers[1].k == 0.3 and v.config.segment.binarizers[2].offset == 2
    with pytest.raises(
        ConfigError, match=r"variant 'amb'.*2 items named 'sauvola'; pick one by index \(0, 1\)"
    ):
        _resolve({"amb": {"set": {"segment.binarizers.sauvola.k": 0.3}}})


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (
            {"remove_steps": ["clahee"]},
            r"variant 'bad': remove_steps: unknown step 'clahee'; valid steps: gray, clahe",
        ),
        (
            {"remove_steps": ["denoise"]},
            r"variant 'bad': remove_steps: the pipeline has no 'denoise' step \(it has: gray, clahe, unsharp\)",
        ),
        (
            {"set": {"segment.work_heigth": 48}},
            r"variant 'bad': unknown key 'work_heigth' in segment \(valid keys: work_height",
        ),
        ({"set": {"segmnt.work_height": 48}}, r"variant 'bad': set: unknown key 'segmnt'"),
        (
            {"set": {"segment.work_height": 4}},
            r"variant 'bad': invalid config:\nsegment.work_height: Input should be greater than or equal to 16 \(got 4\)",
        ),
        (
            {"set": {"segment.preprocess.steps.clahe.clip_limit": "lots"}},
            r"(?s)variant 'bad'.*clip_limit: Input should be a valid number",
        ),
        (
            {"set": {"segment.preprocess.steps": [{"op": "gray"}, {"op": "sharpen"}]}},
            r"(?s)variant 'bad'.*steps.1: Input tag 'sharpen' found using 'op' does not match.*'gray', 'clahe'",
        ),
        (
            {"set": {"segment.preprocess.steps.denoise.strength": 3}},
            r"variant 'bad': segment.preprocess.steps has no item 'denoise'",
        ),
        (
            {"set": {"segment.binarizers": [{"method": "bradley"}]}},
            r"(?s)variant 'bad'.*segment.binarizers.0.method: Input should be 'otsu'.*\(got 'bradley'\)",
        ),
        ({"set": {"segment.work_height.x": 1}}, r"variant 'bad': segment.work_height is a value"),
        ({"remove": ["clahe"]}, r"variant 'bad': remove: Extra inputs are not permitted"),
    ],
)
def test_invalid_variants_are_clear_errors(variant: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _resolve({"fine": {}, "bad": variant})


def test_invalid_grids(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="names the base row"):
        parse_grid({"variants": {"base": {}}})
    with pytest.raises(ConfigError, match="variants: Field required"):
        parse_grid({"base": {}})
    with pytest.raises(ConfigError, match=r"train.*epochs"):
        parse_grid({"variants": {"a": {}}, "train": {"epochs": 0}})
    with pytest.raises(ConfigError, match="a mapping with 'variants'"):
        parse_grid(["no_clahe"])
    bad = tmp_path / "grid.yaml"
    bad.write_text("variants: {a: [\n")
    with pytest.raises(ConfigError, match=f"{bad}: not valid YAML"):
        load_grid(bad)
    bad.write_text("variants:\n  x:\n    remove_steps: [sharpen]\n")
    with pytest.raises(
        ConfigError,
        match=f"{bad}: invalid ablation grid:\nvariant 'x': remove_steps: unknown step 'sharpen'",
    ):
        load_grid(bad)


# --------------------------------------------------------------------------- statistics


def test_mcnemar_exact_on_hand_made_cases() -> None:
    assert M.binomial_two_sided_p(0, 5) == 0.0625
    assert M.binomial_two_sided_p(5, 5) == 0.0625
    assert M.binomial_two_sided_p(2, 8 + 2) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert M.binomial_two_sided_p(0, 0) == 1.0
    base = [True] * 20 + [False] * 5
    better = [True] * 25  # b = 0 (base only), c = 5 (variant only)
    assert M.discordant_pairs(base, better) == (0, 5)
    assert M.mcnemar_exact(base, better) == 0.0625
    assert M.mcnemar_exact(better, base) == 0.0625
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n in [(3, 17), (9, 20), (0, 1), (12, 30)]:
        assert M.binomial_two_sided_p(k, n) == pytest.approx(
            scipy_stats.binomtest(k, n, 0.5).pvalue
        )


def test_identical_predictions_differ_by_nothing() -> None:
    flags = [True, False, True, True, False] * 10
    c = compare_paired(flags, flags)
    assert (c.difference, c.low, c.high, c.p_value, c.base_only, c.variant_only) == (
        0.0,
        0.0,
        0.0,
        1.0,
        0,
        0,
    )


def test_paired_bootstrap_uses_the_same_plates_for_both() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(200) < 0.6
    b = a.copy()
    b[np.flatnonzero(~a)[:10]] = True  # the variant reads 10 more plates, loses none
    low, high = M.paired_bootstrap_ci(a, b)
    assert 0 < low <= 10 / 200 <= high < 0.1  # paired: every resample gains, never loses
    # Unpaired intervals of the two accuracies overlap widely.
    assert M.bootstrap_ci(a)[1] > M.bootstrap_ci(b)[0]
    c = compare_paired(a, b)
    assert c.difference == pytest.approx(0.05) and (c.base_only, c.variant_only) == (0, 10)
    assert c.p_value == pytest.approx(2 / 2**10)
    with pytest.raises(ValueError, match="differ in number"):
        M.paired_bootstrap_ci([True], [True, False])


# --------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("w") / "segcnn.pt"
    write_untrained_segcnn(path)
    return path


@pytest.fixture(scope="module")
def plates() -> list[Any]:
    return open_synthetic(n_train=0, n_test=6).samples("test")


def test_shared_work_gives_the_plain_recognizers_readings(weights: Path, plates: list[Any]) -> None:
    variants = _resolve(
        {
            "otsu": {"set": {"segment.binarizers": [{"method": "otsu"}]}},
            "same": {"set": {"segment.work_height": 72}},
            "h48": {"set": {"segment.work_height": 48}},
            "split": {"set": {"segment.split_width_ratio": 1.2}},
        }
    )
    result = run_ablation(variants, plates, weights=weights, n_bootstrap=200)
    assert (result.n_preparations, result.n_configs) == (3, 4)
    assert [r.name for r in result.variants] == [BASE, "otsu", "same", "h48", "split"]
    same = result.variants[2]
    assert same.same_as == BASE and same.predictions == result.base.predictions
    assert (
        same.comparison is not None
        and same.comparison.p_value == 1.0
        and same.comparison.difference == 0
    )
    shipped = load_base(weights)
    images = [p.image for p in plates]
    for r in result.variants:
        plain = SegCNNRecognizer(
            shipped.model, shipped.charset, r.variant.config, device="cpu"
        ).predict(images)
        assert [(p.text, p.confidence, p.info["n_segments"]) for p in plain] == [
            (p.text, p.confidence, p.info["n_segments"]) for p in r.predictions
        ]
        assert r.metrics.n == len(plates) and r.metrics.segmentation is not None


def _same_work(a: Any, b: Any) -> bool:
    """Equal working images (the optional ``affine`` of a deskew included)."""
    affine_a: Any = getattr(a, "affine", None)
    affine_b: Any = getattr(b, "affine", None)
    if (affine_a is None) != (affine_b is None):
        return False
    if affine_a is not None and not np.array_equal(affine_a, affine_b):
        return False
    fields = ("band_edge", "polarities", "scale")
    return np.array_equal(a.gray, b.gray) and all(getattr(a, f) == getattr(b, f) for f in fields)


def test_prepare_reads_no_hypothesis_only_field(plates: list[Any]) -> None:
    """The preparation key leaves out HYPOTHESIS_ONLY_FIELDS and the binarizers after
    the first: changing any of them must not change the working images."""
    base = SegmentConfig()
    changes: dict[str, Any] = {
        "split_width_ratio": 3.0,
        "min_piece_height": 0.2,
        "round_piece_height": 0.1,
        "min_char_width": 0.6,
        "binarizers": base.binarizers[:1] + (BinarizeConfig(method="niblack", k=0.5),),
    }
    layouts = get_args(SegmentConfig.model_fields["layout"].annotation)
    assert layouts == ("single_row",), "a new layout: add it to `changes` above"
    assert set(HYPOTHESIS_ONLY_FIELDS) - {"layout"} <= set(changes)
    images = [p.image for p in plates]
    for name, value in changes.items():
        other = base.model_copy(update={name: value})
        assert prepare_hash(other) == prepare_hash(base)
        for img in images:
            assert _same_work(prepare(img, config=base), prepare(img, config=other)), name


def test_retrain_trains_one_classifier_per_config(plates: list[Any]) -> None:
    from segocr.training.segcnn import SegCNNTrainConfig

    train = with_images(open_synthetic(n_train=12, n_test=0).samples("train"))
    cfg = SegCNNTrainConfig(epochs=1, epochs_stage1=1, synthetic_plates=0, width=4, batch_size=64)
    variants = _resolve({"otsu": {"set": {"segment.binarizers": [{"method": "otsu"}]}}})
    result = run_ablation(
        variants,
        plates[:3],
        weights=None,
        retrain=RetrainSettings(train, open_synthetic().charset, cfg),
        n_bootstrap=50,
    )
    assert result.retrain
    for r in result.variants:
        assert r.training is not None and r.training["fit_plates"] > 0


def test_cli_runs_a_tiny_grid(weights: Path, tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "variants:\n"
        "  no_clahe: {remove_steps: [clahe], description: CLAHE off}\n"
        "  sauvola_k3: {set: {segment.binarizers.1.k: 0.3}}\n"
        "  same: {set: {segment.preprocess.steps.clahe.clip_limit: 2.0}}\n"
    )
    out = tmp_path / "out"
    args = [
        "ablate",
        "--dataset",
        "synthetic",
        "-D",
        "n_test=4",
        "-D",
        "n_train=0",
        "--grid",
        str(grid),
    ]
    args += ["--weights", str(weights), "--out", str(out), "--jobs", "2", "--quiet"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split()[:4] == ["variant", "change", "plate", "acc"]
    assert {ln.split()[0] for ln in lines[2:]} == {"base", "no_clahe", "sauvola_k3", "same"}
    data = json.loads((out / "ablation.json").read_text())
    assert [v["name"] for v in data["variants"]] == ["base", "no_clahe", "sauvola_k3", "same"]
    assert data["work_shared"] == {"variants": 4, "distinct_configs": 3, "distinct_preparations": 2}
    assert [s["op"] for s in data["variants"][1]["config"]["segment"]["preprocess"]["steps"]] == [
        "gray",
        "unsharp",
    ]
    assert (
        data["variants"][3]["same_config_as"] == "base"
        and data["variants"][3]["vs_base"]["mcnemar_p"] == 1.0
    )
    assert data["variants"][0]["vs_base"] is None and data["n_scored"] == 4
    md = (out / "ablation.md").read_text()
    assert "| no_clahe | CLAHE off |" in md and "![ablation chart](ablation.png)" in md
    assert (out / "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "predictions.csv").read_text().splitlines()) == 1 + 4 * 4


def test_cli_errors_are_clear(weights: Path, tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("variants:\n  h: {set: {segment.work_height: 2000}}\n")
    base = ["ablate", "--dataset", "synthetic", "-D", "n_test=2", "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(main, [*base, "--grid", str(grid), "--weights", str(weights)])
    assert (
        res.exit_code == 1
        and "variant 'h': invalid config" in res.output
        and "less than or equal to 512" in res.output
    )
    res = CliRunner().invoke(main, [*base, "--weights", str(tmp_path / "none.pt")])
    assert res.exit_code == 1 and "none.pt" in res.output
    res = CliRunner().invoke(
        main, [*base, "--weights", str(weights), "--retrain", "--split", "train"]
    )
    assert res.exit_code == 2 and "--retrain trains on the train split" in res.output


def test_format_is_one_more_variant() -> None:
    variants = _resolve({"cz": {"format": "cz"}, "plain": {"set": {"segment.work_height": 48}}})
    assert [(v.name, v.format) for v in variants] == [("base", None), ("cz", "cz"), ("plain", None)]
    assert variants[1].key != variants[0].key and "format=cz" in variants[1].changes
    # a base format is inherited; "none" switches it off
    variants = _resolve({"off": {"format": "none"}, "same": {}}, base={"format": "cz"})
    assert [(v.name, v.format) for v in variants] == [("base", "cz"), ("off", None), ("same", "cz")]
    with pytest.raises(ConfigError, match="unknown format 'atlantis'"):
        _resolve({"x": {"format": "atlantis"}})
