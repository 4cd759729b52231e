"""Fusion of several captures (hand-made predictions), read_track, and `segocr read`
with --format, --topn and --group-by."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import segocr
from segocr.charset import Charset
from segocr.cli import main
from segocr.formats import PlateFormat
from segocr.fusion import fuse, group_key, parse_group_by
from segocr.recognizers.base import Prediction

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CS = Charset("AB12")


def pred(text: str, conf: float, post: list[list[float]] | None = None, topn: list[tuple[str, float]] | None = None) -> Prediction:
    info: dict[str, object] = {}
    if post is not None:
        info["posteriors"] = np.array(post)
    if topn is not None:
        info["topn"] = topn
    return Prediction(text, conf, (), "x", info)


def test_aligned_fusion_combines_posteriors_not_just_the_most_confident() -> None:
    # capture a is more confident overall, but b is far surer of the second character
    a = pred("A1", 0.6, [[0.99, 0.01, 0, 0], [0, 0, 0.6, 0.4]])
    b = pred("B2", 0.5, [[0.5, 0.5, 0, 0], [0, 0, 0.01, 0.99]])
    assert fuse([a, b], CS, rule="pick").text == "A1"
    f = fuse([a, b], CS, rule="product", topn=3)
    assert f.text == "A2" and f.info["fusion"] == "aligned" and f.info["captures"] == 2
    probs = [q for _, q in f.info["topn"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
    assert fuse([a, b], CS, rule="mean").text == "A2"


def test_aligned_fusion_under_a_format() -> None:
    fmt = PlateFormat(name="ld", patterns=("LD",)).compile(CS)
    a = pred("AB", 0.6, [[0.9, 0.1, 0, 0], [0, 0.5, 0.3, 0.2]], )
    b = pred("AB", 0.5, [[0.9, 0.1, 0, 0], [0, 0.5, 0.3, 0.2]])
    assert fuse([a, b], CS).text == "AB"
    assert fuse([a, b], CS, automaton=fmt).text == "A1"


def test_different_lengths_vote_over_topn() -> None:
    a = pred("AB1", 0.4, topn=[("AB1", 0.4), ("A1", 0.35)])
    b = pred("A1", 0.45, topn=[("A1", 0.45), ("AB1", 0.1)])
    c = pred("A12", 0.3, topn=[("A12", 0.3), ("A1", 0.3)])
    f = fuse([a, b, c], CS, rule="product", topn=2)
    assert f.text == "A1" and f.info["fusion"] == "vote"
    assert fuse([a, b, c], CS, rule="product-pick").info["fusion"] == "pick"
    assert [t for t, _ in f.info["topn"]] == ["A1", "AB1"]
    assert sum(q for _, q in f.info["topn"]) <= 1


def test_single_capture_and_errors() -> None:
    a = pred("A1", 0.6)
    assert fuse([a], CS).text == "A1" and fuse([a], CS).info["fusion"] == "single"
    with pytest.raises(ValueError, match="at least one"):
        fuse([], CS)
    with pytest.raises(ValueError, match="unknown fusion rule"):
        fuse([a, a], CS, rule="magic")  # type: ignore[arg-type]


def test_group_keys() -> None:
    assert group_key("a/b/c.png", "dir") == "a/b"
    assert group_key("crop_h1/I00009.png", r"regex:I(\d+)") == "00009"
    assert group_key("crop_h1/I00009.png", r"regex:I\d+") == "I00009"
    with pytest.raises(ValueError, match="dir or regex"):
        parse_group_by("folder")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        parse_group_by("regex:(")


def test_read_track_and_read_with_format() -> None:
    p = SAMPLES / "9KE0410.png"
    single = segocr.read(p)
    fused = segocr.read_track([p, p.read_bytes()], topn=2)
    assert fused.text == single.text and fused.info["captures"] == 2
    assert len(fused.info["topn"]) == 2
    r = segocr.read(p, format="eu-generic", topn=3)
    assert r.info["format"] in ("eu-generic", None) and len(r.info["topn"]) <= 3
    probs = [q for _, q in r.info["topn"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1


def test_cli_format_topn_and_group_by(tmp_path: Path) -> None:
    for d in ("car1", "car2"):
        (tmp_path / d).mkdir()
    shutil.copy(SAMPLES / "9KE0410.png", tmp_path / "car1" / "a.png")
    shutil.copy(SAMPLES / "9KE0410.png", tmp_path / "car1" / "b.png")
    shutil.copy(SAMPLES / "3J55450.png", tmp_path / "car2" / "a.png")
    res = CliRunner().invoke(main, ["read", "--json", "--group-by", "dir", "--topn", "2", "--format", "auto", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["car1", "car2"]
    assert len(rows[0]["paths"]) == 2 and "format" in rows[0] and len(rows[0]["topn"]) == 2
    assert all(0 <= r["agreeing"] <= len(r["paths"]) for r in rows)
    res = CliRunner().invoke(main, ["read", "--topn", "3", str(SAMPLES / "9KE0410.png")])
    assert res.exit_code == 0 and len(res.output.strip().split("\t")) == 6
    bad = CliRunner().invoke(main, ["read", "--format", "atlantis", str(SAMPLES / "9KE0410.png")])
    assert bad.exit_code == 2 and "unknown format 'atlantis'" in bad.output and "Traceback" not in bad.output  # usage error
    bad = CliRunner().invoke(main, ["read", "--format", "cn", str(SAMPLES / "9KE0410.png")])  # the charset lacks it
    assert bad.exit_code == 2 and "--model crnn-ccpd" in bad.output
    bad = CliRunner().invoke(main, ["read", "--group-by", "nope", str(SAMPLES / "9KE0410.png")])
    assert bad.exit_code == 2
    # without the new options the output is what it was
    plain = CliRunner().invoke(main, ["read", str(SAMPLES / "9KE0410.png")])
    assert len(plain.output.strip().split("\t")) == 3


def test_harness_scores_fused_tracks() -> None:
    from segocr.datasets.base import PlateSample
    from segocr.evaluation.harness import TRACKS, evaluate

    class Two:
        """Reads "A1" or "A2" with posteriors; the second capture of track t is surer."""

        name = "two"
        charset = CS

        def predict(self, images, *, options=None):
            out = []
            for im in images:
                sure = float(im[0, 0, 0]) / 255
                post = np.array([[1.0, 0, 0, 0], [0, 0, 1 - sure, sure]])
                text = "A2" if sure > 0.5 else "A1"
                out.append(Prediction(text, max(sure, 1 - sure), (), "two", {"posteriors": post}))
            return out

    def img(v: int) -> np.ndarray:
        return np.full((4, 4, 3), v, np.uint8)

    samples = [
        PlateSample("a", "A2", image=img(100), meta={"track_id": "t"}),  # reads A1 (0.61)
        PlateSample("b", "A2", image=img(240), meta={"track_id": "t"}),  # reads A2 (0.94)
        PlateSample("c", "A1", image=img(20), meta={"track_id": "u"}),
    ]
    r = evaluate({"two": Two()}, samples, progress=False)
    m = r.models["two"]
    assert m.overall.plate_accuracy == pytest.approx(2 / 3)
    assert m.subsets[TRACKS].n == 2 and m.subsets[TRACKS].plate_accuracy == 1.0
    assert TRACKS not in evaluate({"two": Two()}, samples, progress=False, fusion=False).models["two"].subsets


def test_picked_reading_keeps_only_the_asked_topn() -> None:
    a = pred("AB1", 0.4, topn=[("AB1", 0.4), ("A1", 0.35), ("B1", 0.1)])
    b = pred("A1", 0.3, topn=[("A1", 0.3)])
    assert "topn" not in fuse([a, b], CS).info
    assert [t for t, _ in fuse([a, b], CS, topn=2).info["topn"]] == ["AB1", "A1"]


@pytest.mark.parametrize("model", ["segcnn", "crnn", "holistic"])
def test_topn_does_not_change_the_reading(model: str) -> None:
    images = sorted(SAMPLES.glob("*.png"))
    for path in images:
        plain = segocr.read(path, model=model)
        ranked = segocr.read(path, model=model, topn=3)
        assert ranked.text == plain.text, path.name
        alts = ranked.info["topn"]
        assert alts[0][0] == plain.text and sum(q for _, q in alts) <= 1 + 1e-9


def test_group_of_different_plates_gets_a_note(tmp_path: Path) -> None:
    """Captures that do not read one text are still fused, with a note on stderr."""
    (tmp_path / "mixed").mkdir()
    for name in ("9KE0410.png", "3J55450.png", "1H296.png"):
        shutil.copy(SAMPLES / name, tmp_path / "mixed" / name)
    res = CliRunner().invoke(main, ["read", "--json", "--group-by", "dir", str(tmp_path)])
    assert res.exit_code == 0
    row = json.loads(res.stdout.strip())
    assert row["agreeing"] <= 1 and len(row["paths"]) == 3
    assert f"of 3 captures read {row['text']!r} alone" in res.stderr and res.stderr.startswith("note: ")
