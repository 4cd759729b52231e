"""The CLI under hostile conditions (issue 14, items 3, 5, 7, 8, 10, 11, 12): a full
disk (a tiny RLIMIT_FSIZE in a subprocess), a closed stdin, SIGTERM with worker
processes, a busy or impossible --out, odd file names, usage errors. Real processes
are started where the behaviour belongs to the process (limits, signals, file
descriptors); each is bounded by a timeout."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hostile import many_plates

from segocr.cli import main
from segocr.io import read_image

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
SEGOCR = [sys.executable, "-m", "segocr"]
TIMEOUT_S = 120  # every subprocess here: far above what it needs (seconds)


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "0"}
    env.pop("SEGOCR_DATA", None)
    return env


def _limit_file_size(size: int) -> None:
    """preexec_fn: files this process writes may not exceed ``size`` bytes (Python
    ignores SIGXFSZ, so a write past it fails with EFBIG instead of killing)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# ------------------------------------------------------------------- full disk


def test_full_disk_on_stdout_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with out.open("wb") as fh:
        proc = subprocess.run(  # noqa: PLW1510 - the exit status is what is tested
            [*SEGOCR, "read", "--device", "cpu", str(SAMPLES)],
            stdout=fh, stderr=subprocess.PIPE, text=True, env=_env(),
            preexec_fn=lambda: _limit_file_size(100), timeout=TIMEOUT_S,
        )  # fmt: skip
    assert proc.returncode == 1
    assert _one_error_line(proc.stderr) == "Error: cannot write stdout (File too large)"
    assert out.stat().st_size <= 100


def test_full_disk_on_benchmark_report_leaves_nothing_half_written(tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = subprocess.run(  # noqa: PLW1510 - the exit status is what is tested
        [*SEGOCR, "benchmark", "--dataset", "folder", "--data-dir", str(SAMPLES), "--split", "all",
         "--models", "segcnn", "--device", "cpu", "--quiet", "--out", str(out)],
        capture_output=True, text=True, env=_env(), cwd=tmp_path,
        preexec_fn=lambda: _limit_file_size(2000), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith("Error: ") and line.endswith("File too large"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no report, no temp folder


def test_full_disk_in_a_training_run_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(  # noqa: PLW1510 - the exit status is what is tested
        [*SEGOCR, "train", "--model", "segcnn", "--dataset", "folder", "--data-dir", str(SAMPLES),
         "--device", "cpu", "--no-progress", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env=_env(), cwd=tmp_path,
        preexec_fn=lambda: _limit_file_size(10), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].endswith("File too large"), proc.stderr


# ------------------------------------------------------------------- --out


def test_out_under_a_file_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    res = CliRunner().invoke(
        main, ["read", "--device", "cpu", "--annotate", str(a_file / "drawn"), str(SAMPLES / "1H296.png")]
    )
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip() == f"Error: {a_file / 'drawn'}: Not a directory"


def test_benchmark_out_under_a_file_fails_before_any_work(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    res = CliRunner().invoke(main, ["benchmark", "--dataset", "synthetic", "--out", str(a_file / "report")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip() == f"Error: {a_file}: Not a directory (--out {a_file / 'report'} lies under a file)"
    assert res.stdout == ""  # nothing was evaluated


def test_benchmark_out_must_be_empty_unless_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep me")
    args = ["benchmark", "--dataset", "folder", "--data-dir", str(SAMPLES), "--split", "all",
            "--models", "segcnn", "--device", "cpu", "--quiet", "--out", str(busy)]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "already holds files; give --overwrite" in res.stderr
    assert (busy / "mine.txt").read_text() == "keep me"
    res = CliRunner().invoke(main, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in busy.iterdir()) == [
        "error_gallery.png", "predictions.csv", "report.md", "results.json",
    ]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]  # no temp folder left


# ------------------------------------------------------------------- stdin


def test_closed_stdin_is_an_error_for_that_source() -> None:
    proc = subprocess.run(  # noqa: PLW1510 - the exit status is what is tested
        [*SEGOCR, "read", "--device", "cpu", "-", str(SAMPLES / "1H296.png")],
        capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.close(0), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error: <stdin>: closed (nothing to read)" in proc.stderr
    assert proc.stdout.splitlines()[0].startswith(f"{SAMPLES / '1H296.png'}\t")


def test_endless_stdin_is_cut_at_the_limit() -> None:
    env = {**_env(), "SEGOCR_MAX_IMAGE_BYTES": "100000"}
    with open("/dev/zero", "rb") as zero:
        start = time.monotonic()
        proc = subprocess.run(  # noqa: PLW1510 - the exit status is what is tested
            [*SEGOCR, "read", "--device", "cpu", "-"], stdin=zero,
            capture_output=True, text=True, env=env, timeout=TIMEOUT_S,
        )  # fmt: skip
    assert time.monotonic() - start < TIMEOUT_S
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error: <stdin>: too large (more than 100,000 bytes; max_bytes is 100,000" in proc.stderr


# ------------------------------------------------------------------- SIGTERM


def _descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc; zombies count as gone)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_stops_the_workers_and_flushes(tmp_path: Path) -> None:
    folder = many_plates(tmp_path / "many", 600)
    proc = subprocess.Popen(
        [*SEGOCR, "read", "--device", "cpu", "--jobs", "2", "--batch-size", "2", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the workers are running once a result is out
        assert first.startswith(str(folder)), first
        workers = _descendants(proc.pid)
        assert len(workers) >= 2, workers
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test fails
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "stopped by SIGTERM after" in err
    lines = [first.rstrip("\n"), *rest.splitlines()]
    assert 1 <= len(lines) < 600
    assert all(ln.startswith(str(folder)) and ln.count("\t") == 2 for ln in lines)  # whole lines
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "worker processes outlived segocr read"


# ------------------------------------------------------------------- output


def test_empty_path_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["read", ""])
    assert res.exit_code == 2 and "an empty path ('') is not an image" in res.stderr


def test_stdin_twice_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["read", "-", "-"], input=b"")
    assert res.exit_code == 2 and "'-' (stdin) can be given once" in res.stderr and res.stdout == ""


def test_tabs_and_newlines_in_paths_stay_on_one_line(tmp_path: Path) -> None:
    odd = tmp_path / "a\tb\nc.png"
    shutil.copy(SAMPLES / "1H296.png", odd)
    res = CliRunner().invoke(main, ["read", "--device", "cpu", str(odd), str(tmp_path / "gone\n.png")])
    assert res.exit_code == 1
    (line,) = res.stdout.splitlines()
    assert line.split("\t")[0] == f"{tmp_path}/a\\tb\\nc.png" and line.count("\t") == 2
    assert res.stderr.splitlines()[0] == f"error: {tmp_path}/gone\\n.png: no such file"
    res = CliRunner().invoke(main, ["read", "--device", "cpu", "--json", str(odd)])
    assert json.loads(res.stdout)["path"] == str(odd)  # JSON escapes by itself


@pytest.mark.parametrize(
    "args, needle",
    [
        (["read", "--device", "gpu", "x.png"], "'gpu' is not a device"),
        (["read", "--model", "nope", "x.png"], "unknown recognizer 'nope'"),
        (["benchmark", "--device", "gpu"], "'gpu' is not a device"),
        (["benchmark", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["benchmark", "--models", "segcnn,nope"], "unknown recognizer 'nope'"),
        (["datasets", "info", "nope"], "unknown dataset 'nope'"),
        (["train", "--model", "nope"], "unknown model 'nope'"),
        (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["train", "--device", "gpu"], "'gpu' is not a device"),
        (["ablate", "--dataset", "nope"], "unknown dataset 'nope'"),
    ],
)
def test_every_usage_error_exits_2(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert needle in res.stderr and "Traceback" not in res.output


# ------------------------------------------------------------------- weights, annotate


def test_weights_alone_take_the_model_from_their_card() -> None:
    from segocr.models.weights import default_weights_path

    crnn = default_weights_path("crnn")
    res = CliRunner().invoke(main, ["read", "--device", "cpu", "--json", "--weights", str(crnn), str(SAMPLES / "9KE0410.png")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["recognizer"] == "crnn"
    res = CliRunner().invoke(main, ["read", "--model", "holistic", "--weights", str(crnn), str(SAMPLES / "9KE0410.png")])
    assert res.exit_code == 2 and "holds crnn weights" in res.stderr


def test_annotate_writes_a_drawing_per_image(tmp_path: Path) -> None:
    drawn = tmp_path / "drawn"
    res = CliRunner().invoke(main, ["read", "--device", "cpu", "--annotate", str(drawn), str(SAMPLES), "-"],
                             input=(SAMPLES / "1H296.png").read_bytes())  # fmt: skip
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in drawn.iterdir())
    assert names == sorted([*(p.name for p in SAMPLES.glob("*.png")), "stdin.png"])
    plate = read_image(SAMPLES / "9KE0410.png")
    picture = read_image(drawn / "9KE0410.png")
    assert picture.shape[0] > plate.shape[0] and picture.shape[1] >= plate.shape[1]
    # Something was drawn in colour on a gray-ish plate (the boxes).
    saturation = picture.max(axis=2).astype(int) - picture.min(axis=2)
    assert (saturation > 100).sum() > 50
    assert not np.array_equal(picture[: plate.shape[0], : plate.shape[1]], plate)
