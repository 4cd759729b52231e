"""`benchmarks/peers.py` without the peers installed: text normalization, Tesseract's
TSV parsing, the "not installed" messages, the train-split choice of preprocessing and
the whole command with a stand-in ``tesseract`` executable and a tiny in-memory dataset."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
from benchmark_modules import load_benchmark
from click.testing import CliRunner

from segocr.datasets.base import PlateSample
from segocr.preprocess import GrayStep, PipelineConfig, ResizeStep

PEERS_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.py"


@pytest.fixture(scope="module")
def peers() -> ModuleType:
    """benchmarks/peers.py imported as a module."""
    return load_benchmark(PEERS_PY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1B7 6462", "1B76462"),
        ("1b7-64.62", "1B76462"),
        ("  BVJ 64-11\n", "BVJ6411"),
        ("ＡＢ１２", "AB12"),  # full-width forms
        ("京A·12345", "A12345"),  # CJK and middle dot dropped
        ("Ø—|", ""),
        ("", ""),
    ],
)
def test_normalize_text(peers: ModuleType, raw: str, expected: str) -> None:
    assert peers.normalize_text(raw) == expected


def test_normalized_text_is_in_alphabet(peers: ModuleType) -> None:
    junk = "".join(chr(c) for c in range(0x20, 0x3000, 7))
    assert set(peers.normalize_text(junk)) <= set(peers.ALPHABET)


HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def _row(level: int, page: int, conf: float, text: str = "") -> str:
    return f"{level}\t{page}\t1\t1\t1\t1\t0\t0\t10\t10\t{conf}\t{text}"


def test_parse_tesseract_tsv(peers: ModuleType) -> None:
    tsv = "\n".join(
        [
            HEADER,
            _row(1, 1, -1),
            _row(5, 1, 80.0, "1B7"),
            _row(5, 1, 60.0, "6462"),
            _row(1, 2, -1),  # page 2: nothing read
            "Page 3 : /tmp/x.png",  # malformed lines are skipped
            _row(5, 3, -1, "AB"),  # a word without confidence
            _row(5, 9, 99.0, "ZZ"),  # a page that does not exist
        ]
    )
    got = peers.parse_tesseract_tsv(tsv, 3)
    assert got[0] == ("1B76462", pytest.approx(0.7))
    assert got[1] == ("", 0.0)
    assert got[2] == ("AB", 0.0)


def test_prediction_normalizes_and_zeroes_empty_confidence(peers: ModuleType) -> None:
    p = peers._prediction("1b7 6462", 0.9, "x")
    assert (p.text, p.confidence, p.info["raw"]) == ("1B76462", 0.9, "1b7 6462")
    assert peers._prediction("--", 0.9, "x").confidence == 0.0


def test_tesseract_not_installed_message(peers: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(peers.PeerUnavailable, match="not installed") as err:
        peers.tesseract_version(str(tmp_path / "no-such-tesseract"))
    assert "apt-get install -y tesseract-ocr" in str(err.value)


def test_rapidocr_not_installed_message(peers: ModuleType) -> None:
    with pytest.raises(peers.PeerUnavailable, match="not installed") as err:
        peers.rapidocr_version("segocr_no_such_module_xyz")
    assert "requirements-peers.txt" in str(err.value)


def test_rapidocr_broken_install_message(
    peers: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "segocr_broken_peer_xyz.py").write_text("import segocr_missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(peers.PeerUnavailable, match="does not import.*ModuleNotFoundError"):
        peers.rapidocr_version("segocr_broken_peer_xyz")
    sys.modules.pop("segocr_broken_peer_xyz", None)


def test_describe_and_candidates(peers: ModuleType) -> None:
    cands = peers.candidate_pipelines([None, 100])
    assert peers.describe(cands[0]) == "as-is"  # the crop as it comes is always tried first
    assert len(cands) == 6
    assert peers.describe(cands[-1]) == "gray -> clahe -> unsharp -> resize(height=100)"


def test_best_candidate_prefers_accuracy_then_cer_then_order(peers: ModuleType) -> None:
    a = peers.Candidate(PipelineConfig(steps=()), 0.5, 0.3)
    b = peers.Candidate(PipelineConfig(steps=(GrayStep(),)), 0.6, 0.4)
    c = peers.Candidate(PipelineConfig(steps=(ResizeStep(height=64),)), 0.6, 0.2)
    d = peers.Candidate(PipelineConfig(steps=(ResizeStep(height=100),)), 0.6, 0.2)
    nan = peers.Candidate(
        PipelineConfig(steps=(GrayStep(), ResizeStep(height=64))), float("nan"), 0.0
    )
    assert peers.best_candidate([a, b, c, d, nan]) is c
    with pytest.raises(ValueError):
        peers.best_candidate([])


def test_spread(peers: ModuleType) -> None:
    samples = [PlateSample(str(i), "A") for i in range(10)]
    assert [s.id for s in peers.spread(samples, None)] == [str(i) for i in range(10)]
    assert len(peers.spread(samples, 4)) <= 4
    assert peers.spread(samples, 50) == samples


def test_parse_peer_names(peers: ModuleType) -> None:
    assert peers.parse_peer_names(" Tesseract ", ["tesseract", "rapidocr"]) == ["tesseract"]
    with pytest.raises(ValueError, match="choose from: tesseract, rapidocr"):
        peers.parse_peer_names("easyocr", ["tesseract", "rapidocr"])


# --------------------------------------------------------------------------- the command

#: A stand-in for the tesseract binary: answers --version and --list-langs, and for a
#: list file prints a TSV reading every image as the text in READ.
FAKE_TESSERACT = textwrap.dedent(
    """\
    import sys
    args = sys.argv[1:]
    if args == ["--version"]:
        print("tesseract 0.0-fake")
    elif args == ["--list-langs"]:
        print('List of available languages in "/fake" (1):')
        print("eng")
    else:
        assert "--psm" in args and args[args.index("--psm") + 1] == "7", args
        assert any(a.startswith("tessedit_char_whitelist=ABC") for a in args), args
        paths = [p for p in open(args[0]).read().splitlines() if p]
        print("level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num"
              "\\tleft\\ttop\\twidth\\theight\\tconf\\ttext")
        for page, _ in enumerate(paths, 1):
            print(f"5\\t{page}\\t1\\t1\\t1\\t1\\t0\\t0\\t9\\t9\\t50.0\\t1b7")
            print(f"5\\t{page}\\t1\\t1\\t1\\t2\\t0\\t0\\t9\\t9\\t70.0\\t6462")
    """
)


@pytest.fixture
def fake_tesseract(tmp_path: Path) -> Path:
    script = tmp_path / "fake-tesseract"
    script.write_text(f"#!{sys.executable}\n" + FAKE_TESSERACT)
    script.chmod(0o755)
    return script


class TinyDataset:
    name = "iwt4s"
    source = "in-memory test plates"

    def samples(self, split: str = "all") -> list[PlateSample]:
        img = np.full((24, 80, 3), 200, np.uint8)
        texts = {"train": ["1B76462", "1B76462", "2B00000"], "test": ["1B76462", "9Z99999"]}[split]
        return [
            PlateSample(f"{split}/{i}", t, subset="hdr", image=img) for i, t in enumerate(texts)
        ]


def test_tesseract_peer_reads_through_the_binary(peers: ModuleType, fake_tesseract: Path) -> None:
    peer = peers.TesseractPeer(PipelineConfig(steps=(GrayStep(),)), binary=str(fake_tesseract))
    out = peer.predict([np.zeros((20, 60, 3), np.uint8)] * 3)
    assert [p.text for p in out] == ["1B76462"] * 3
    assert out[0].confidence == pytest.approx(0.6)
    assert peer.predict([]) == []


def test_command_skips_missing_peers_and_reports(
    peers: ModuleType, fake_tesseract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peers, "load_dataset", lambda name, data_dir=None: TinyDataset())
    original = peers.rapidocr_version
    monkeypatch.setattr(peers, "rapidocr_version", lambda: original("segocr_no_such_xyz"))
    out = tmp_path / "res"
    args = ["--tesseract", str(fake_tesseract), "--out", str(out), "--quiet"]
    result = CliRunner().invoke(peers.main, args)
    assert result.exit_code == 0, result.output
    assert "rapidocr: rapidocr is not installed" in result.output
    assert "skipped" in result.output
    assert "tesseract" in result.output and "plate acc" in result.output  # the harness table

    info = json.loads((out / "peers.json").read_text())
    assert info["dataset"]["split"] == "test"
    assert "rapidocr" in info["skipped"] and "rapidocr" not in info["models"]
    card = info["models"]["tesseract"]["card"]
    assert card["chosen_on"] == "train split, 3 plates"
    assert len(card["selection"]) == 12
    assert card["settings"]["psm"] == 7
    assert info["models"]["tesseract"]["overall"]["plate_accuracy"] == 0.5
    md = (out / "peers.md").read_text()
    assert "**(chosen)**" in md and "## Not run" in md and "| tesseract | all | 2 |" in md


def test_command_with_no_peer_installed_fails_cleanly(peers: ModuleType, tmp_path: Path) -> None:
    args = ["--peers", "tesseract", "--tesseract", str(tmp_path / "none"), "--out", str(tmp_path)]
    result = CliRunner().invoke(peers.main, args)
    assert result.exit_code == 1
    assert "tesseract is not installed" in result.output
    assert "no peer is installed" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash


def test_command_rejects_unknown_peer(peers: ModuleType) -> None:
    result = CliRunner().invoke(peers.main, ["--peers", "easyocr"])
    assert result.exit_code == 2
    assert "choose from: tesseract, rapidocr" in result.output


# --------------------------------------------------------------------------- the real peers


def _plate_image() -> np.ndarray:
    img = np.full((60, 260, 3), 255, np.uint8)
    cv2.putText(img, "AB 1234", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 4)
    return img


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_real_tesseract_reads_a_drawn_plate(peers: ModuleType) -> None:
    assert peers.tesseract_version().startswith("tesseract")
    peer = peers.TesseractPeer(PipelineConfig(steps=()))
    (p,) = peer.predict([_plate_image()])
    assert set(p.text) <= set(peers.ALPHABET) and 0.0 <= p.confidence <= 1.0


def test_real_rapidocr_reads_a_drawn_plate(peers: ModuleType) -> None:
    pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime is not installed")
    peer = peers.RapidOCRPeer(PipelineConfig(steps=()))
    (p,) = peer.predict([_plate_image()])
    assert p.text == "AB1234"
    assert peer.settings()["pipeline"].startswith("recognition only")
