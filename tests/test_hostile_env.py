"""Hostile environments found by the H7a audit: closed stdout/stderr, a stdout that
cannot encode every character, garbage ``SEGOCR_MAX_*`` settings, a file name too
long for the system among good ones, Ctrl-C mid-batch, a full disk while writing an
annotation or a report, and FIFOs named as format, grid, config or ONNX card files
(reading one would wait forever for a writer). Each either reads the rest or stops
with one line and a meaningful exit status; never a traceback, never a hang.

Real processes are started only where the behaviour belongs to the process (closed
file descriptors, signals, RLIMIT_FSIZE); each is bounded by a timeout.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hostile import many_plates

from segocr.cli import main
from segocr.errors import ConfigError, WeightsError
from segocr.io import atomic_folder, iter_image_paths, read_text_file

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
PLATE = SAMPLES / "9KE0410.png"
SEGOCR = [sys.executable, "-m", "segocr"]
TIMEOUT_S = 120  # every subprocess here: far above what it needs (seconds)
READ = ["read", "--device", "cpu", "--locate", "never"]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **extra}
    env.pop("SEGOCR_DATA", None)
    return env


def _finishes(call: Callable[[], object], seconds: float = 20.0) -> BaseException | None:
    """Run ``call`` in a daemon thread; fail the test if it is still running after
    ``seconds`` (a blocked open of a FIFO), else return what it raised."""
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised[0] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung (reading a FIFO?)"
    return raised[0]


# ------------------------------------------------------------ settings and streams


@pytest.mark.parametrize("value", ["abc", "-5", "1e9"])
def test_garbage_limit_in_the_environment_is_one_line_exit_2(value: str) -> None:
    res = CliRunner().invoke(main, [*READ, str(PLATE)], env={"SEGOCR_MAX_IMAGE_PIXELS": value})
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.splitlines()  # one line, no traceback
    assert line.startswith("Error: $SEGOCR_MAX_IMAGE_PIXELS must be a positive int") and value in line
    assert res.stdout == ""  # refused before any image was read


@pytest.mark.parametrize("closed", [1, 2])
def test_closed_stdout_is_one_line_and_closed_stderr_loses_no_result(closed: int) -> None:
    proc = subprocess.run(  # noqa: PLW1510 - the exit status is what is tested
        [*SEGOCR, *READ, str(PLATE)],
        stdout=subprocess.PIPE if closed == 2 else None, stderr=subprocess.PIPE if closed == 1 else None,
        text=True, env=_env(), timeout=TIMEOUT_S,
        preexec_fn=lambda: os.close(closed),
    )  # fmt: skip
    if closed == 1:  # every result would be lost: say so, exit 1
        assert proc.returncode == 1
        assert proc.stderr.strip() == "Error: stdout is closed: no result could be printed (redirect it to a file or /dev/null)"
    else:  # no stderr to complain on: the results still come out
        assert proc.returncode == 0
        assert proc.stdout.startswith(f"{PLATE}\t9KE0410\t")


def test_stdout_that_cannot_encode_a_name_escapes_it(tmp_path: Path) -> None:
    (tmp_path / "皖A.png").write_bytes(b"")
    res = CliRunner(charset="latin-1").invoke(main, [*READ, "--json", str(tmp_path)])
    assert res.exit_code == 1 and not isinstance(res.exception, UnicodeEncodeError), res.exception
    assert '"path": "' + str(tmp_path) + '/\\u7696A.png"' in res.stdout  # JSON for the same name


def test_name_too_long_is_an_error_line_and_the_rest_is_read(tmp_path: Path) -> None:
    long_name = tmp_path / ("x" * 300 + ".png")  # NAME_MAX is 255 on Linux
    assert list(iter_image_paths([long_name])) == [long_name]  # is_dir() raised ENAMETOOLONG
    res = CliRunner().invoke(main, [*READ, str(long_name), str(PLATE)])
    assert res.exit_code == 1, res.output
    assert res.stdout.startswith(f"{PLATE}\t9KE0410\t")
    assert res.stderr.splitlines()[0] == f"error: {long_name}: cannot read file (File name too long)"


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_mid_batch_is_one_line_exit_130(tmp_path: Path) -> None:
    folder = many_plates(tmp_path / "many", 3000)
    # Unbuffered (bufsize=0): readline takes just the first line, so communicate, which
    # reads the pipe's descriptor itself, gets every later one (a buffered readline
    # would keep the second line of a batch in its buffer, out of communicate's reach).
    # A shell's background job (`make test &`, nohup) starts with SIGINT ignored, and a
    # Python started so never raises KeyboardInterrupt: the child gets the default back,
    # as a terminal's Ctrl-C would find it.
    proc = subprocess.Popen(
        [*SEGOCR, *READ, "--batch-size", "2", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - one call, then exec
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()  # reading has started
        proc.send_signal(signal.SIGINT)
        rest_b, err_b = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test fails
            proc.kill()
            proc.wait()
    rest, err = rest_b.decode(), err_b.decode()
    assert proc.returncode == 130, err
    lines = [first.rstrip("\n"), *rest.splitlines()]
    # (the count may lag the printed lines by one: the signal can land between the two)
    assert err.strip() in {
        f"stopped by SIGINT (Ctrl-C) after {n} image(s); their results are above" for n in (len(lines) - 1, len(lines))
    }, err
    assert len(lines) < 3000
    assert all(ln.startswith(str(folder)) and ln.count("\t") == 2 for ln in lines)  # whole lines


def test_ctrl_c_outside_the_read_loop_is_one_line_exit_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the weights load (or in a benchmark, a training run): not click's
    bare "Aborted!" with exit status 1."""
    import segocr.api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(segocr.api, "load_recognizer", interrupted)
    res = CliRunner().invoke(main, [*READ, str(PLATE)])
    assert res.exit_code == 130 and res.stderr == "stopped by SIGINT (Ctrl-C)\n", res.output


# ------------------------------------------------------------------- full disk

_WRITE_BIG_PNG = """
import resource, sys
import numpy as np
from segocr.io import write_image
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    write_image(sys.argv[1], np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8))
except OSError as exc:
    print(exc.errno, exc.filename)
"""


def test_annotation_on_a_full_disk_names_the_file_and_leaves_no_half_png(tmp_path: Path) -> None:
    target = tmp_path / "drawn.png"
    proc = subprocess.run(  # noqa: PLW1510
        [sys.executable, "-c", _WRITE_BIG_PNG, str(target)],
        capture_output=True, text=True, env=_env(), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert proc.stdout.split() == [str(errno.EFBIG), str(target)], proc.stderr
    assert list(tmp_path.iterdir()) == []  # neither a truncated drawn.png nor a temporary file


def test_report_folder_on_a_full_disk_names_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with pytest.raises(OSError) as info, atomic_folder(out) as work:
        (work / "a.txt").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device")  # what a failed write raises
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs /sys (a folder nobody may write in)")
def test_unwritable_folder_names_the_destination_not_a_temporary_name() -> None:
    from segocr.models.weights import atomic_write_bytes

    with pytest.raises(OSError) as info, atomic_folder(Path("/sys/segocr-report")):
        pass
    assert info.value.filename == "/sys/segocr-report"  # was /sys/.segocr-report.tmp-XXXX
    with pytest.raises(OSError) as info:
        atomic_write_bytes(Path("/sys/segocr.onnx"), b"x")
    assert info.value.filename == "/sys/segocr.onnx"


def test_weights_on_a_full_disk_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from segocr.models import weights

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(weights.os, "fsync", full)
    with pytest.raises(OSError) as info:
        weights.atomic_write_bytes(tmp_path / "w.onnx", b"x" * 100)
    assert info.value.filename == str(tmp_path / "w.onnx")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------- FIFOs


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "named.yaml"
    os.mkfifo(path)
    return path


def test_read_text_file_refuses_what_is_not_a_regular_file(fifo: Path, tmp_path: Path) -> None:
    exc = _finishes(lambda: read_text_file(fifo))
    assert isinstance(exc, OSError) and "a named pipe (FIFO), not a regular file" in str(exc)
    with pytest.raises(OSError, match="is a directory"):
        read_text_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_text_file(tmp_path / "missing.yaml")
    (tmp_path / "big.yaml").write_text("a: 1\n" * 10)
    with pytest.raises(OSError, match=r"too large \(50 bytes; max_bytes is 10\)"):
        read_text_file(tmp_path / "big.yaml", max_bytes=10)
    with pytest.raises(UnicodeDecodeError):
        read_text_file(PLATE)


def test_fifo_as_format_grid_or_config_is_an_error_not_a_hang(fifo: Path) -> None:
    from segocr.ablation.grid import load_grid
    from segocr.formats import load_format
    from segocr.training.registry import load_options

    for load in (load_format, load_grid, load_options):
        exc = _finishes(lambda load=load: load(fifo))  # type: ignore[misc]
        assert isinstance(exc, ConfigError) and "a named pipe (FIFO)" in str(exc), (load, exc)
    res = CliRunner().invoke(main, [*READ, "--format", str(fifo), str(PLATE)])
    assert res.exit_code == 2 and "a named pipe (FIFO)" in res.stderr


def test_binary_file_as_training_config_is_a_config_error() -> None:
    from segocr.training.registry import load_options

    with pytest.raises(ConfigError, match="cannot read config"):
        load_options(PLATE)


def test_fifo_as_onnx_card_is_an_error_not_a_hang(tmp_path: Path) -> None:
    from segocr.runtime import onnx_card_path, read_onnx_card

    onnx = tmp_path / "x.onnx"
    onnx.write_bytes(b"not really onnx")
    os.mkfifo(onnx_card_path(onnx))
    exc = _finishes(lambda: read_onnx_card(onnx))
    assert isinstance(exc, WeightsError) and "a named pipe (FIFO)" in str(exc), exc


# ------------------------------------------------------------------- memory


class HeightRecorder:
    """A recognizer that reads each image as its height and records its batches'
    heights in ``batches``."""

    name = "recorder"

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def predict(self, images: list[Any]) -> list[Any]:
        from segocr.recognizers.base import Prediction

        self.batches.append([im.shape[0] for im in images])
        return [Prediction(text=str(im.shape[0]), confidence=1.0, recognizer="recorder") for im in images]


def test_a_chunk_of_huge_images_is_recognized_in_smaller_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk's decoded pixels are bounded (CHUNK_PIXEL_BUDGET), not chunk_size x the
    per-image limit: 32 small PNGs declaring 49 Mpx each used to be held all at once."""
    import cv2
    import numpy as np

    from segocr import batch

    recorder = HeightRecorder()

    monkeypatch.setattr(batch.RecognizerSpec, "load", lambda self: recorder)
    monkeypatch.setattr(batch, "CHUNK_PIXEL_BUDGET", 2500)

    def png(height: int) -> batch.InlineImage:
        ok, data = cv2.imencode(".png", np.zeros((height, 50), np.uint8))
        assert ok
        return batch.InlineImage(f"h{height}", data.tobytes(), f"h{height}")

    sources = [png(20), png(20), batch.Unreadable("bad", "bad: broken"), png(30), png(10), png(60)]
    results = batch.read_chunk(sources, batch.RecognizerSpec())
    assert [(r.source, r.prediction.text if r.prediction else r.error) for r in results] == [
        ("h20", "20"), ("h20", "20"), ("bad", "bad: broken"), ("h30", "30"), ("h10", "10"), ("h60", "60")
    ]  # fmt: skip
    # 1000 + 1000 px fit the 2500 budget, + 1500 does not; 1500 + 500; 3000 alone.
    assert recorder.batches == [[20, 20], [30, 10], [60]]


def test_the_benchmark_harness_bounds_a_batch_by_its_pixels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """evaluate's batches obey the same pixel budget: 64 huge images are not held at
    once; predictions stay in sample order and a failed sample is skipped."""
    import numpy as np

    from segocr.datasets.base import PlateSample
    from segocr.evaluation import harness

    recorder = HeightRecorder()

    monkeypatch.setattr(harness, "CHUNK_PIXEL_BUDGET", 2500)
    heights = [20, 20, None, 30, 10, 60]
    samples = [
        PlateSample(str(i), str(h), image=np.zeros((h, 50, 3), np.uint8)) if h else PlateSample(str(i), "x", path=tmp_path / "missing.png")
        for i, h in enumerate(heights)
    ]
    result = harness.evaluate({"recorder": recorder}, samples, batch_size=64, progress=False, n_bootstrap=10)
    assert recorder.batches[1:] == [[20, 20], [30, 10], [60]]  # batches[0]: the warm-up call
    assert result.models["recorder"].overall.plate_accuracy == 1.0
    assert [s.id for s in result.samples] == ["0", "1", "3", "4", "5"] and result.n_failed == 1


# ------------------------------------------------------------------- network, HOME


def test_onnx_runtime_telemetry_is_off_and_home_is_left_alone(tmp_path: Path) -> None:
    """ONNX Runtime >= 1.29 keeps a device id and an upload queue in ~/.cache/Microsoft
    and warns on stderr when it cannot; segocr turns its telemetry off (no network at
    run time): a read writes nothing under HOME and prints nothing but its result."""
    pytest.importorskip("onnxruntime")
    home = tmp_path / "home"
    home.mkdir()
    env = _env(HOME=str(home))
    env.pop("ORT_DISABLE_TELEMETRY", None)  # set in this process once segocr is imported
    proc = subprocess.run(  # noqa: PLW1510
        [*SEGOCR, *READ, "--runtime", "onnx", str(PLATE)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.startswith(f"{PLATE}\t9KE0410\t"), proc.stderr
    assert proc.stderr == ""
    assert list(home.rglob("*")) == []
    unwritable = subprocess.run(  # noqa: PLW1510 - a HOME under a file: nothing can be created there
        [sys.executable, "-c", "import segocr.runtime.onnx_backend"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env={**env, "HOME": "/dev/null"},
    )  # fmt: skip
    assert unwritable.returncode == 0 and unwritable.stderr == ""
    # A program that imports any part of segocr before onnxruntime (the peers benchmark's
    # RapidOCR does) gets the same: segocr/__init__ turns it off, not segocr.runtime.
    other = (
        "import segocr.io, onnxruntime as ort, sys; "
        "ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])"
    )
    onnx = Path(__file__).parents[1] / "src" / "segocr" / "weights" / "segcnn-int8.onnx"
    proc = subprocess.run(  # noqa: PLW1510
        [sys.executable, "-c", other, str(onnx)], capture_output=True, text=True, timeout=TIMEOUT_S, env=env
    )  # fmt: skip
    assert proc.returncode == 0 and list(home.rglob("*")) == [], proc.stderr


def test_stopping_a_parallel_read_early_warns_nothing() -> None:
    """``segocr read -j 2 DIR | head -1``: closing the reader early is the point, so
    joblib's "N tasks ... have been cancelled" warning (two stderr lines) is silenced."""
    import warnings

    from segocr.batch import RecognizerSpec, Unreadable, read_many

    sources = [Unreadable(f"x{k}.png", f"x{k}.png: bad") for k in range(200)]  # no model is loaded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = read_many(sources, RecognizerSpec(), jobs=2, chunk_size=1)
        assert next(results).source == "x0.png"
        results.close()
    assert [str(w.message) for w in caught] == []
