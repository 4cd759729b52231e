"""Bad input, end to end: a corpus of broken and odd files made here, fed to
`segocr read` and `segocr benchmark`, and tampered weight files fed to `segocr read`.

Every bad file must be reported on its own line naming it, the others still read,
the exit code 1, and no traceback anywhere. The recognizer is a real segcnn loaded
from a weight file holding an untrained network (tests/untrained.py): these tests
are about the plumbing, not the readings.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from untrained import write_untrained_segcnn

import segocr.recognizers.base as recbase
from segocr.api import load_recognizer
from segocr.cli import main
from segocr.datasets.synthetic import render_plate
from segocr.models.weights import seal_card, sha256_bytes
from segocr.recognizers.segcnn import load_segcnn

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ------------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Case:
    """One corpus entry: ``bad`` ones must fail with an error naming them, the others
    (odd but valid) must be read."""

    path: Path
    bad: bool
    what: str


def _encode(suffix: str, pixels: np.ndarray) -> bytes:
    """OpenCV-encoded bytes of an RGB(A) or gray array (any depth OpenCV writes)."""
    if pixels.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        pixels = cv2.cvtColor(pixels, code)
    ok, buf = cv2.imencode(suffix, pixels)
    assert ok
    return buf.tobytes()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header(width: int, height: int) -> bytes:
    """A PNG that is only a header: IHDR (8-bit RGB, ``width`` x ``height``) and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b"")


def _jpeg_header(width: int, height: int) -> bytes:
    """SOI + a baseline SOF0 frame header declaring ``width`` x ``height`` + EOI."""
    sof = struct.pack(">HBHHB", 11, 8, height, width, 1) + bytes([1, 0x11, 0])
    return b"\xff\xd8" + b"\xff\xc0" + sof + b"\xff\xd9"


def _plate(seed: int) -> np.ndarray:
    return render_plate("1AB2345", rng=np.random.default_rng(seed)).image


def make_corpus(root: Path) -> list[Case]:
    """Write the corpus into ``root`` and return its entries, in argument order."""
    root.mkdir(parents=True, exist_ok=True)
    plate = _plate(0)
    png, jpg = _encode(".png", plate), _encode(".jpg", plate)
    cases: list[Case] = []

    def add(name: str, data: bytes, bad: bool, what: str) -> None:
        path = root / name
        path.write_bytes(data)
        cases.append(Case(path, bad, what))

    corrupt_png = bytearray(png)
    idat = corrupt_png.index(b"IDAT")
    corrupt_png[idat + 20 : idat + 60] = bytes(40)  # the CRC and the zlib stream break
    corrupt_jpg = bytearray(jpg)
    sof = corrupt_jpg.index(b"\xff\xc0")
    corrupt_jpg[sof : sof + 12] = b"\xaa" * 12  # no frame header left
    h, w = plate.shape[:2]
    rgba = np.dstack([plate, np.full((h, w), 200, np.uint8)])

    add("truncated.png", png[: len(png) // 2], True, "truncated PNG")
    add("truncated.jpg", jpg[: len(jpg) // 2], True, "truncated JPEG")
    add("header-only.png", png[:40], True, "PNG cut inside its first chunk")
    add("corrupt.png", bytes(corrupt_png), True, "PNG with a damaged IDAT")
    add("corrupt.jpg", bytes(corrupt_jpg), True, "JPEG with a destroyed frame header")
    add("empty.png", b"", True, "zero-byte .png")
    add("empty.jpg", b"", True, "zero-byte .jpg")
    add("notes.png", b"this is a text file, not a picture\n", True, "text file named .png")
    add("page.jpg", b"<html><body>404</body></html>", True, "HTML named .jpg")
    add("anim.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", True, "GIF named .png")
    add("huge.png", _png_header(20000, 20000), True, "20000x20000 PNG (header only)")
    add("huge.jpg", _jpeg_header(20000, 20000), True, "20000x20000 JPEG (header only)")
    add("zero-width.png", _png_header(0, 40), True, "PNG of 0 pixels")
    add("locked.png", png, True, "file without read permission")
    (root / "locked.png").chmod(0)
    cases.append(Case(root / "not-there.png", True, "missing file"))
    (root / "folder.png").mkdir()
    cases.append(Case(root / "folder.png", True, "a directory named like an image"))

    add("tiny.png", _encode(".png", np.full((1, 1, 3), 128, np.uint8)), False, "1x1 image")
    add("wire.png", _encode(".png", np.full((1, 600, 3), 90, np.uint8)), False, "1x600 image")
    add("rgba.png", _encode(".png", rgba), False, "RGBA plate")
    add("deep16.png", _encode(".png", plate.astype(np.uint16) * 257), False, "16-bit RGB plate")
    add(
        "gray16.png",
        _encode(".png", cv2.cvtColor(plate, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257),
        False,
        "16-bit gray plate",
    )
    add("black.png", _encode(".png", np.zeros_like(plate)), False, "all-black plate")
    add("white.png", _encode(".png", np.full_like(plate, 255)), False, "all-white plate")
    add("my plate 1.png", png, False, "path with spaces")
    add("značka řidiče 车牌.jpg", jpg, False, "path with non-Latin characters")
    add("ok.jpg", jpg, False, "an ordinary JPEG")
    try:
        odd = Path(os.fsdecode(os.fsencode(root) + b"/bad-\xff-name.png"))
        odd.write_bytes(png)
        cases.append(Case(odd, False, "file name that is not valid UTF-8"))
    except (OSError, UnicodeError):  # pragma: no cover - a file system that refuses it
        pass
    return cases


def _deny_locked(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """Make ``locked`` unreadable even for root, by simulating the OS's refusal."""
    if not IS_ROOT:  # pragma: no cover - we test as root; chmod 000 is enough otherwise
        return
    real = os.open

    def deny(path: str | os.PathLike[str], flags: int, *args: int, **kwargs: int) -> int:
        if os.path.abspath(path) == os.path.abspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "segcnn.pt"
    write_untrained_segcnn(path)
    return path


@pytest.fixture()
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Case]]:
    cases = make_corpus(tmp_path / "corpus dir")
    _deny_locked(monkeypatch, tmp_path / "corpus dir" / "locked.png")
    yield cases
    (tmp_path / "corpus dir" / "locked.png").chmod(0o600)


def _printable(path: Path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _no_traceback(res: Result) -> None:
    assert "Traceback" not in res.stdout and "Traceback" not in res.stderr, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)


def _read(weights: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["read", "--weights", str(weights), "--device", "cpu", *args])


# ------------------------------------------------------------------ segocr read


def test_read_reports_every_bad_file_and_goes_on(
    corpus: list[Case], weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [c for c in corpus if c.bad]
    res = _read(weights, "--batch-size", "4", *(os.fspath(c.path) for c in corpus))
    _no_traceback(res)
    assert res.exit_code == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == len(bad), res.stderr
    for case, line in zip(bad, errors, strict=True):
        assert line.startswith(f"error: {_printable(case.path)}: "), (case.what, line)
    assert res.stderr.splitlines()[-1] == f"{len(bad)} image(s) could not be read"
    lines = res.stdout.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [_printable(c.path) for c in corpus if not c.bad]
    for ln in lines:
        _path, _text, conf = ln.split("\t")
        assert 0.0 <= float(conf) <= 1.0
    with capsys.disabled():
        print(
            f"\n[bad-input corpus] {len(corpus)} bad inputs tried: {len(bad)} unreadable "
            f"(each reported, exit 1), {len(corpus) - len(bad)} odd but readable (all read)"
        )


def test_read_json_has_one_line_per_input_in_order(corpus: list[Case], weights: Path) -> None:
    res = _read(weights, "--json", *(os.fspath(c.path) for c in corpus))
    _no_traceback(res)
    assert res.exit_code == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["path"] for r in rows] == [_printable(c.path) for c in corpus]
    for case, row in zip(corpus, rows, strict=True):
        if case.bad:
            assert row["text"] is None and row["error"].startswith(_printable(case.path)), case.what
        else:
            assert row["error"] is None and isinstance(row["text"], str), case.what
            assert 0.0 <= row["confidence"] <= 1.0
            assert all(0.0 <= c["confidence"] <= 1.0 for c in row["chars"])


def test_read_a_folder_of_bad_files(corpus: list[Case], weights: Path, tmp_path: Path) -> None:
    res = _read(weights, "--json", str(tmp_path / "corpus dir"))
    _no_traceback(res)
    assert res.exit_code == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    files = [c for c in corpus if c.path.is_file()]  # the walk skips folders and missing files
    assert sorted(r["path"] for r in rows) == sorted(_printable(c.path) for c in files)
    assert sum(r["error"] is not None for r in rows) == sum(c.bad for c in files)


def test_read_stdin_garbage(weights: Path) -> None:
    res = CliRunner().invoke(
        main, ["read", "--weights", str(weights), "-"], input=b"\x89PNG\r\n\x1a\nnope"
    )
    _no_traceback(res)
    assert res.exit_code == 1
    assert res.stderr.startswith("error: <stdin>: truncated or corrupt PNG header")


def test_read_all_good_exits_0(tmp_path: Path, weights: Path) -> None:
    for i in range(3):
        (tmp_path / f"p{i}.png").write_bytes(_encode(".png", _plate(i)))
    res = _read(weights, str(tmp_path))
    _no_traceback(res)
    assert res.exit_code == 0 and res.stderr == ""
    assert len(res.stdout.splitlines()) == 3


def test_read_empty_folder_is_reported(tmp_path: Path, weights: Path) -> None:
    (tmp_path / "x.png").mkdir()
    res = _read(weights, str(tmp_path / "x.png"))
    _no_traceback(res)
    assert res.exit_code == 1
    assert f"error: {tmp_path / 'x.png'}: directory holds no image files" in res.stderr


# ------------------------------------------------------------- segocr benchmark


@pytest.fixture()
def untrained_segcnn(weights: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``segcnn`` in the registry loads the untrained test weights."""
    recbase.recognizer_names()  # fill the registry before replacing an entry

    test_weights = weights

    def factory(weights: str | None = None, device: str = "auto") -> object:
        return load_segcnn(test_weights, device="cpu")

    monkeypatch.setitem(recbase.RECOGNIZERS._entries, "segcnn", factory)
    load_recognizer.cache_clear()
    yield
    load_recognizer.cache_clear()


def test_benchmark_folder_with_bad_files(
    corpus: list[Case], untrained_segcnn: None, tmp_path: Path
) -> None:
    folder = tmp_path / "corpus dir"
    out = tmp_path / "report"
    res = CliRunner().invoke(
        main,
        ["benchmark", "--dataset", "folder", "--data-dir", str(folder), "--split", "all",
         "--models", "segcnn", "--device", "cpu", "--out", str(out), "--quiet"],
    )  # fmt: skip
    _no_traceback(res)
    assert res.exit_code == 1, res.output
    bad_files = [c for c in corpus if c.bad and c.path.is_file()]
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == len(bad_files), res.stderr
    for case in bad_files:
        assert any(_printable(case.path) in ln for ln in errors), case.what
    assert f"{len(bad_files)} image(s) could not be read" in res.stderr
    assert (out / "report.md").is_file()
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert report["models"]["segcnn"]["overall"]["n"] == sum(
        1 for c in corpus if not c.bad and c.path.is_file()
    )


def test_benchmark_folder_csv_problems_listed(tmp_path: Path, untrained_segcnn: None) -> None:
    folder = tmp_path / "labelled"
    folder.mkdir()
    (folder / "a.png").write_bytes(_encode(".png", _plate(1)))
    (folder / "x.png").mkdir()
    (folder / "labels.csv").write_text(
        "path,text\na.png,1AB2345\nx.png,2CD3456\ngone.png,3EF4567\n,4GH5678\n", encoding="utf-8"
    )
    res = CliRunner().invoke(
        main, ["benchmark", "--dataset", "folder", "--data-dir", str(folder), "--quiet"]
    )
    _no_traceback(res)
    assert res.exit_code == 1
    assert "3 problem(s)" in res.stderr
    for needle in ("x.png", "gone.png", "no path"):
        assert needle in res.stderr


# --------------------------------------------------------------- weight files


def _tampered(
    tmp_path: Path,
    weights: Path,
    name: str,
    *,
    data: bytes | None = None,
    card: dict[str, object] | None = None,
    resign: bool = False,
    reseal: bool = True,
) -> Path:
    """A copy of the test weights as ``name.pt`` with its bytes and/or card changed;
    ``resign`` writes the new bytes' sha256 into the card (a consistent forgery) and
    ``reseal`` the card's new content hash (``card_sha256``), so that the checks
    behind the seal are what is tested; without it the seal refuses the card."""
    pt = tmp_path / f"{name}.pt"
    body = weights.read_bytes() if data is None else data
    meta = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    for key, value in (card or {}).items():
        if value is DROP:
            meta.pop(key, None)
        else:
            meta[key] = value
    if resign:
        meta["sha256"] = sha256_bytes(body)
    if reseal and (card or resign):
        meta = seal_card(meta)
    pt.write_bytes(body)
    pt.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return pt


DROP = object()


def _nan_weights(weights: Path) -> bytes:
    state = torch.load(weights, weights_only=True)
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first] = state[first].clone().fill_(float("nan"))
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def _flip(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


#: name -> (change to the bytes, change to the card, re-sign, expected words)
WEIGHT_CASES: dict[
    str, tuple[Callable[[bytes], bytes] | None, dict[str, object] | None, bool, str]
] = {
    "byte-flipped": (lambda d: _flip(d), None, False, "does not match its card"),
    "truncated": (lambda d: d[: len(d) // 2], None, False, "does not match its card"),
    "truncated-resigned": (lambda d: d[: len(d) // 2], None, True, "not a loadable state dict"),
    "empty-resigned": (lambda d: b"", None, True, "not a loadable state dict"),
    "text-resigned": (lambda d: b"hello", None, True, "not a loadable state dict"),
    "card-without-charset": (None, {"charset": DROP}, False, "the card has no 'charset' entry"),
    "card-empty-charset": (None, {"charset": ""}, False, "invalid card (charset: String should have at least 1 character"),
    "card-bad-config": (
        None,
        {"config": {"segment": {"work_height": "tall"}}},
        False,
        "invalid card (config.segment.work_height",
    ),
    "card-wrong-width": (
        None,
        {"model_kwargs": {"width": 8}},
        False,
        "weights do not fit the model",
    ),
    "card-nan": (None, {"metrics": {"ece": float("nan")}}, False, "metrics.ece is NaN or infinite"),
    "card-charset-type": (None, {"charset": 36}, False, "invalid card (charset: Input should be a valid string"),
    "card-input-size": (None, {"input_size": [32, 0]}, False, "invalid card (input_size.1: Input should be greater than 0"),
    "card-wrong-input-size": (None, {"input_size": [8, 8]}, False, "invalid card (input_size [8, 8] but config.input_size is 32)"),
    "card-longer-charset": (
        None,
        {"charset": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"},
        False,
        "weights do not fit the model",
    ),
    "card-edited": (None, {"command": "edited by hand"}, False, "does not match its card_sha256"),
}
#: Cases whose changed card is left unsealed (the seal itself is what refuses them).
UNSEALED = {"card-edited", "card-nan"}


@pytest.mark.parametrize("case", sorted(WEIGHT_CASES))
def test_tampered_weights_refused_in_one_line(case: str, weights: Path, tmp_path: Path) -> None:
    change, card, resign, needle = WEIGHT_CASES[case]
    data = change(weights.read_bytes()) if change is not None else None
    bad = _tampered(tmp_path, weights, case, data=data, card=card, resign=resign, reseal=case not in UNSEALED)
    image = tmp_path / "plate.png"
    image.write_bytes(_encode(".png", _plate(0)))
    load_recognizer.cache_clear()
    res = CliRunner().invoke(main, ["read", "--weights", str(bad), str(image)])
    _no_traceback(res)
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert str(tmp_path) in lines[0] and needle in lines[0], lines[0]


def test_nan_weights_refused(weights: Path, tmp_path: Path) -> None:
    bad = _tampered(tmp_path, weights, "nan", data=_nan_weights(weights), resign=True)
    res = CliRunner().invoke(main, ["read", "--weights", str(bad), str(bad)])
    _no_traceback(res)
    assert res.exit_code == 1
    assert "NaN or infinite" in res.stderr and len(res.stderr.splitlines()) == 1


def test_weights_without_card_refused(weights: Path, tmp_path: Path) -> None:
    bad = tmp_path / "lonely.pt"
    bad.write_bytes(weights.read_bytes())
    res = CliRunner().invoke(main, ["read", "--weights", str(bad), str(bad)])
    _no_traceback(res)
    assert res.exit_code == 1
    assert res.stderr.strip() == f"Error: {bad}: its card lonely.json is missing"


# ------------------------------------------------------------- a real process


@pytest.mark.slow  # two real processes importing torch: ~8 s on an idle 2-core machine
def test_real_process_corpus_and_closed_pipe(
    corpus: list[Case], weights: Path, tmp_path: Path
) -> None:
    """In a real process (so C libraries' own output and interpreter shutdown count
    too): the corpus gives exit 1 and no traceback; a reader that stops after one line
    (``| head -1``) ends the run quietly."""
    args = [sys.executable, "-m", "segocr", "read", "--weights", str(weights), "--device", "cpu"]
    files = [os.fsencode(c.path) for c in corpus if c.path.name != "locked.png"]
    done = subprocess.run(
        [*map(os.fsencode, args), *files], check=False, capture_output=True, timeout=120
    )
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith(b"error: ")]
    assert len(errors) == sum(c.bad for c in corpus) - 1  # locked.png is readable by root

    # More JSON output than a pipe buffer holds (64 KB), so the child is still writing
    # when the reader goes away, whatever the timing.
    many = [str(tmp_path / "corpus dir" / "ok.jpg")] * 300
    with subprocess.Popen([*args, "--json", *many], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.readline()
        child.stdout.close()  # like `| head -1`
        err = child.stderr.read()
        code = child.wait(timeout=120)
    assert b"Traceback" not in err and b"Exception ignored" not in err, err.decode(errors="replace")
    assert code == 1
