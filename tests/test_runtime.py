"""The runtime choice (``--runtime auto|onnx|torch``), the ONNX backend's checks, and
the light read path: reading through ONNX Runtime imports no torch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from untrained import write_untrained_segcnn

from segocr.cli import main
from segocr.errors import WeightsError
from segocr.models.weights import resolve_weights
from segocr.recognizers.base import get_recognizer_factory
from segocr.recognizers.segcnn import SegCNNRecognizer
from segocr.runtime import RUNTIMES, Network, choose_runtime, onnx_card_path
from segocr.runtime.export import export_onnx
from segocr.runtime.onnx_backend import load_onnx

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sorted((REPO / "data" / "samples").glob("*.png"))
HEAVY = ("torch", "pandas", "sklearn", "matplotlib")


def _segcnn(**kwargs: Any) -> SegCNNRecognizer:
    """The segcnn recognizer the factory registry gives for ``kwargs``."""
    rec = get_recognizer_factory("segcnn")(**kwargs)
    assert isinstance(rec, SegCNNRecognizer)
    return rec


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained segcnn ``.pt`` with its ONNX export beside it."""
    pt = tmp_path_factory.mktemp("w") / "segcnn.pt"
    write_untrained_segcnn(pt)
    export_onnx("segcnn", pt)
    return pt


def test_auto_takes_onnx_only_for_a_fresh_export_on_the_cpu(exported: Path, tmp_path: Path) -> None:
    assert RUNTIMES == ("auto", "onnx", "torch")
    assert choose_runtime("auto", exported).runtime == "onnx"
    assert choose_runtime("auto", exported, "cpu").path == exported.with_suffix(".onnx")
    assert choose_runtime("torch", exported).runtime == "torch"
    assert choose_runtime("auto", exported, "cuda").runtime == "torch"
    bare = tmp_path / "bare.pt"
    write_untrained_segcnn(bare)
    assert choose_runtime("auto", bare).runtime == "torch"
    # An export made from other weights is stale: auto falls back to torch.
    stale = tmp_path / "stale.pt"
    write_untrained_segcnn(stale, seed=1)
    for suffix in (".onnx", ".onnx.json"):
        (tmp_path / f"stale{suffix}").write_bytes(exported.with_name(f"segcnn{suffix}").read_bytes())
    choice = choose_runtime("auto", stale)
    assert choice.runtime == "torch" and "stale" in choice.reason


def test_runtime_errors_are_clear(exported: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.pt"
    write_untrained_segcnn(bare)
    with pytest.raises(WeightsError, match="no ONNX export beside it"):
        choose_runtime("onnx", bare)
    with pytest.raises(ValueError, match="runs on the CPU"):
        choose_runtime("onnx", exported, "cuda")
    with pytest.raises(WeightsError, match="needs --runtime onnx"):
        choose_runtime("torch", exported.with_suffix(".onnx"))
    with pytest.raises(ValueError, match="choose one of: auto, onnx, torch"):
        choose_runtime("tensorrt", exported)


def test_onnx_file_is_checked_against_its_card(exported: Path, tmp_path: Path) -> None:
    onnx = exported.with_suffix(".onnx")
    card = json.loads(onnx_card_path(onnx).read_text())
    copy = tmp_path / "m.onnx"
    copy.write_bytes(onnx.read_bytes()[:-10])  # truncated
    onnx_card_path(copy).write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="does not match its card"):
        load_onnx(copy)
    garbage = b"not a model"
    copy.write_bytes(garbage)
    onnx_card_path(copy).write_text(json.dumps({**card, "sha256": __import__("hashlib").sha256(garbage).hexdigest()}))
    with pytest.raises(WeightsError, match="not a usable ONNX model"):
        load_onnx(copy)
    onnx_card_path(copy).unlink()
    with pytest.raises(WeightsError, match="card m.onnx.json is missing"):
        load_onnx(copy)


def test_recognizers_use_one_network_interface(exported: Path) -> None:
    for runtime in ("onnx", "torch"):
        rec = _segcnn(weights=exported, device="cpu", runtime=runtime)
        assert isinstance(rec.net, Network) and rec.net.runtime == runtime
        out = rec.net(np.zeros((3, 1, 32, 32), np.float32))
        assert out.shape == (3, len(rec.charset) + 1) and out.dtype == np.float32
    onnx_rec = _segcnn(weights=exported, device="cpu", runtime="onnx")
    with pytest.raises(AttributeError, match="no torch module"):
        onnx_rec.model  # noqa: B018


def test_read_cli_runtime_option(exported: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    lines = {}
    for runtime in ("onnx", "torch"):
        res = runner.invoke(main, ["read", "--runtime", runtime, "--weights", str(exported), *map(str, SAMPLES[:3])])
        assert res.exit_code == 0, res.output
        lines[runtime] = [ln.split("\t")[:2] for ln in res.output.splitlines()]
    assert lines["onnx"] == lines["torch"] and len(lines["onnx"]) == 3
    bare = tmp_path / "bare.pt"
    write_untrained_segcnn(bare)
    res = runner.invoke(main, ["read", "--runtime", "onnx", "--weights", str(bare), str(SAMPLES[0])])
    assert res.exit_code == 1 and "no ONNX export" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["read", "--runtime", "jax", str(SAMPLES[0])])
    assert res.exit_code == 2


def test_read_cli_takes_an_onnx_file_alone_as_weights() -> None:
    """``segocr read --weights NAME-int8.onnx`` (the README's example) finds the model
    from the ONNX file's card (``NAME.onnx.json``), with or without ``--model``."""
    int8 = resolve_weights("segcnn-iwt4s", "segcnn").with_name("segcnn-int8.onnx")
    runner = CliRunner()
    for extra in ([], ["--model", "segcnn"]):
        res = runner.invoke(main, ["read", *extra, "--weights", str(int8), str(SAMPLES[0])])
        assert res.exit_code == 0, res.output
        assert res.output.split("\t")[1] == SAMPLES[0].stem
    res = runner.invoke(main, ["read", "--model", "crnn", "--weights", str(int8), str(SAMPLES[0])])
    assert res.exit_code == 2 and "holds segcnn weights" in res.output


@pytest.mark.parametrize("model", ["segcnn", "crnn", "holistic"])
def test_reading_through_onnx_imports_no_torch(model: str) -> None:
    """A new process: ``import segocr`` and the CLI's read on the shipped exports leave
    torch (and pandas, sklearn, matplotlib) unimported, and read what torch reads."""
    assert resolve_weights(None, model).with_suffix(".onnx").exists()
    code = f"""
import sys, json
import segocr
from segocr.cli import main
pred = segocr.read({str(SAMPLES[0])!r}, model={model!r})
try:
    main(["read", "--model", {model!r}, {str(SAMPLES[1])!r}])
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps({{"text": pred.text, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["heavy"] == []
    torch_rec = get_recognizer_factory(model)(device="cpu", runtime="torch")
    from segocr.io import read_image

    assert got["text"] == torch_rec.predict([read_image(SAMPLES[0])])[0].text


#: Run first in a new process: imports of the ``train`` extra's modules fail, as on a
#: light install (numpy, OpenCV, onnxruntime and the small helpers only).
BLOCK_TRAIN_EXTRA = """
import sys
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "onnx", "pandas", "matplotlib", "sklearn", "scipy", "skimage", "PIL"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Absent())
from segocr.cli import main
main(sys.argv[1:])
"""


def _light(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TRAIN_EXTRA, *args], check=False, capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_a_light_install_reads_and_says_what_the_rest_needs() -> None:
    got = _light("read", *map(str, SAMPLES[:2]))
    assert got.returncode == 0, got.stderr
    full = CliRunner().invoke(main, ["read", "--runtime", "torch", *map(str, SAMPLES[:2])])
    assert [ln.split("\t")[:2] for ln in got.stdout.splitlines()] == [ln.split("\t")[:2] for ln in full.output.splitlines()]
    for args, missing in [
        (["read", "--runtime", "torch", str(SAMPLES[0])], "needs torch"),
        (["benchmark", "--limit", "2"], "needs pandas"),
        (["export", "--model", "segcnn"], "needs torch"),
    ]:
        res = _light(*args)
        assert res.returncode == 1 and missing in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
        assert "segocr[train]" in res.stderr


def test_the_pt_card_rules_the_settings_of_both_runtimes(tmp_path: Path) -> None:
    """A card edited after the export (here the softmax temperature) applies to the
    ONNX runtime too; an export whose source beside it changed is refused as stale."""
    from segocr.models.weights import seal_card

    pt = tmp_path / "segcnn.pt"
    write_untrained_segcnn(pt)
    export_onnx("segcnn", pt)
    card = json.loads(pt.with_suffix(".json").read_text())
    card["config"]["temperature"] = 2.5
    pt.with_suffix(".json").write_text(json.dumps(seal_card(card)))
    for runtime in ("onnx", "torch"):
        rec = _segcnn(weights=pt, device="cpu", runtime=runtime)
        assert rec.config.temperature == 2.5, runtime
    write_untrained_segcnn(pt, seed=1)  # new weights, old export beside them
    with pytest.raises(WeightsError, match="stale"):
        _segcnn(weights=pt.with_suffix(".onnx"), device="cpu")
    assert _segcnn(weights=pt, device="cpu").net.runtime == "torch"  # auto falls back


def test_a_batch_split_over_threads_gives_the_whole_batch_logits(exported: Path) -> None:
    from segocr.runtime.onnx_backend import OnnxNetwork

    data = exported.with_suffix(".onnx").read_bytes()
    x = np.random.default_rng(0).normal(size=(7, 1, 32, 32)).astype(np.float32)
    one = OnnxNetwork(data, threads=1)
    three = OnnxNetwork(data, threads=3)
    whole = one(x)
    assert whole.shape[0] == 7
    atol = 1e-5  # a batch's size may pick other kernels on other CPUs
    np.testing.assert_allclose(three(x), whole, rtol=0, atol=atol)  # parts of 3, 2 and 2 samples, in order
    np.testing.assert_allclose(three(x[:3]), whole[:3], rtol=0, atol=atol)  # one sample a part
    np.testing.assert_allclose(three(x[:2]), whole[:2], rtol=0, atol=atol)  # fewer samples than threads: whole
    np.testing.assert_allclose(three(x[:1]), whole[:1], rtol=0, atol=atol)
    with pytest.raises(ValueError, match="positive int"):
        OnnxNetwork(data, threads=0)


def test_threads_follow_omp_num_threads_else_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from segocr.runtime.onnx_backend import cpu_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as joblib sets it in --jobs N workers
    assert cpu_threads() == 1
    assert cpu_threads(4) == 4
    cores = len(os.sched_getaffinity(0))
    for bad in ("", "0", "two", "4,2", "-1"):
        monkeypatch.setenv("OMP_NUM_THREADS", bad)
        assert cpu_threads() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", str(1000 * cores))  # no more parts than cores
    assert cpu_threads() == cores


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_splits_batches_with_its_own_threads(exported: Path) -> None:
    from segocr.runtime.onnx_backend import OnnxNetwork

    net = OnnxNetwork(exported.with_suffix(".onnx").read_bytes(), threads=2)
    x = np.random.default_rng(1).normal(size=(4, 1, 32, 32)).astype(np.float32)
    whole = net(x)  # the parent's pool threads now exist; a child has none of them
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the split batch comes back right
        ok = False
        try:
            ok = bool(np.allclose(net(x), whole, rtol=0, atol=1e-5))
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on its parent's thread pool")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
