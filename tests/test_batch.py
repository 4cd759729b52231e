"""segocr.batch and `segocr read --jobs/--backend`: order, streaming, isolation of bad
images, worker processes, and a local Dask cluster started here."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from untrained import untrained_recognizer, write_untrained_segcnn

import segocr.recognizers.base as recbase
from segocr import batch
from segocr.api import load_recognizer
from segocr.batch import InlineImage, ReadResult, RecognizerSpec, Unreadable, read_many
from segocr.cli import main
from segocr.datasets.synthetic import render_plate
from segocr.recognizers.base import CharPrediction, Prediction


def _png(value: int, shape: tuple[int, int] = (8, 24)) -> bytes:
    ok, buf = cv2.imencode(".png", np.full((*shape, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


class Counter:
    """Reads each image's first pixel value as its text; raises on 13."""

    name = "counter"
    batches: ClassVar[list[int]] = []

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        Counter.batches.append(len(images))
        if any(int(img[0, 0, 0]) == 13 for img in images):
            raise ValueError("unlucky pixel")
        return [
            Prediction.from_chars(
                [CharPrediction(c, 1.0) for c in str(int(img[0, 0, 0]))], "counter"
            )
            for img in images
        ]


@pytest.fixture()
def counter(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecognizerSpec]:
    """The ``counter`` recognizer in the registry (this process only)."""
    recbase.recognizer_names()
    monkeypatch.setitem(recbase.RECOGNIZERS._entries, "counter", lambda weights=None, device="auto": Counter())
    Counter.batches = []
    load_recognizer.cache_clear()
    yield RecognizerSpec("counter")
    load_recognizer.cache_clear()


def _texts(results: Sequence[ReadResult]) -> list[str | None]:
    return [r.prediction.text if r.prediction else None for r in results]


def test_order_chunks_and_failures_in_place(counter: RecognizerSpec) -> None:
    sources: list[batch.Source] = [InlineImage(f"s{i}", _png(i), f"<s{i}>") for i in range(7)]
    sources.insert(3, Unreadable("dir.png", "dir.png: is a directory"))
    sources.insert(5, InlineImage("junk", b"junk", "<junk>"))
    results = list(read_many(sources, counter, chunk_size=3))
    assert [r.source for r in results] == [batch._source_name(s) for s in sources]
    assert _texts(results) == ["0", "1", "2", None, "3", None, "4", "5", "6"]
    assert results[3].error == "dir.png: is a directory"
    assert results[5].error is not None and results[5].error.startswith("<junk>: not a PNG")
    assert Counter.batches == [3, 1, 3]  # chunks of 3 sources; bad ones never reach predict


def test_one_image_that_breaks_the_recognizer_fails_alone(counter: RecognizerSpec) -> None:
    sources = [InlineImage(f"s{i}", _png(i), f"<s{i}>") for i in (11, 12, 13, 14)]
    results = list(read_many(sources, counter, chunk_size=4))
    assert _texts(results) == ["11", "12", None, "14"]
    assert results[2].error == "s13: recognizer failed (ValueError: unlucky pixel)"


def test_sources_are_consumed_lazily(counter: RecognizerSpec) -> None:
    taken = 0

    def endless() -> Iterator[batch.Source]:
        nonlocal taken
        for i in itertools.count():
            taken += 1
            yield InlineImage(f"s{i}", _png(i % 200), "x")

    results = read_many(endless(), counter, chunk_size=5)
    first = list(itertools.islice(results, 7))
    assert _texts(first) == [str(i) for i in range(7)]
    assert taken == 10  # two chunks, never the whole (endless) input


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"jobs": 0}, "jobs must be a positive int"),
        ({"chunk_size": 0}, "chunk_size must be a positive int"),
        ({"backend": "spark"}, "unknown backend 'spark'"),
        ({"backend": "dask"}, "needs a scheduler address"),
        ({"scheduler": "tcp://x:1"}, "only applies to the dask backend"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        list(read_many([], RecognizerSpec(), **kwargs))  # type: ignore[arg-type]


# ------------------------------------------------------------------- real workers


@pytest.fixture(scope="module")
def plates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(weights, folder): untrained segcnn weights and a folder of 12 plates + 2 bad files."""
    root = tmp_path_factory.mktemp("batch")
    weights = root / "w" / "segcnn.pt"
    write_untrained_segcnn(weights)
    folder = root / "plates"
    folder.mkdir()
    for i in range(12):
        img = render_plate("1AB2345", rng=np.random.default_rng(i)).image
        _, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        (folder / f"p{i:02d}.png").write_bytes(buf.tobytes())
    (folder / "p03b.png").write_bytes(b"not an image")
    (folder / "p07b.jpg").write_bytes(b"")
    return weights, folder


def _read(weights: Path, folder: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        [
            "read",
            "--weights",
            str(weights),
            "--device",
            "cpu",
            "--json",
            "--batch-size",
            "3",
            *args,
            str(folder),
        ],
    )


def _rows(res: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in res.stdout.splitlines()]


@pytest.mark.slow  # starts two worker processes that import torch: ~10 s on 2 cores
def test_jobs_2_matches_jobs_1(
    plates: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    weights, folder = plates
    one = _read(weights, folder)
    two = _read(weights, folder, "--jobs", "2")
    assert one.exit_code == two.exit_code == 1, two.output
    assert one.stdout == two.stdout  # same readings, same (input) order
    rows = _rows(two)
    assert [Path(str(r["path"])).name for r in rows] == sorted(p.name for p in folder.iterdir())
    assert sum(r["error"] is not None for r in rows) == 2
    assert "2 image(s) could not be read" in two.stderr
    assert "Traceback" not in capfd.readouterr().err  # nothing from the worker processes either


def test_progress_bar_on_request(plates: tuple[Path, Path]) -> None:
    weights, folder = plates
    res = _read(weights, folder, "--progress")
    assert "read: 14 images [" in res.stderr and " images/s]" in res.stderr
    quiet = _read(weights, folder, "--no-progress")
    assert "images/s" not in quiet.stderr
    default = _read(weights, folder)  # stderr is not a terminal here: no bar
    assert "images/s" not in default.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--backend", "dask"], "--backend dask needs --scheduler"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler only applies to --backend dask"),
        (["--backend", "dask", "--scheduler", "tcp://h:1", "--jobs", "2"], "--jobs does not apply"),
        (["--jobs", "0"], "0 is not in the range x>=1"),
        (["--backend", "ray"], "'ray' is not one of"),
        (["--model", "nope"], "unknown recognizer 'nope'"),
    ],
)
def test_usage_errors(plates: tuple[Path, Path], args: list[str], needle: str) -> None:
    weights, folder = plates
    res = _read(weights, folder, *args)
    assert res.exit_code == 2, res.output
    assert needle in res.stderr


def test_unreachable_scheduler(plates: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(
        "dask.distributed", reason="dask.distributed not installed (pip install 'segocr[dask]')"
    )
    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT_S", 1)
    weights, folder = plates
    res = _read(weights, folder, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert res.exit_code == 1, res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: cannot reach the dask scheduler at tcp://127.0.0.1:9"
    )


def test_dask_missing_is_a_clear_error(
    plates: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if not installed
    weights, folder = plates
    res = _read(weights, folder, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert res.exit_code == 1
    assert "the dask backend needs dask.distributed: pip install 'segocr[dask]'" in res.stderr


def test_dask_backend_on_a_local_cluster(plates: tuple[Path, Path]) -> None:
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask.distributed not installed (pip install 'segocr[dask]')"
    )
    weights, folder = plates
    expected = _read(weights, folder)
    # Two worker threads in this process: joblib would run a 1-thread cluster's work
    # locally, without Dask.
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        res = _read(weights, folder, "--backend", "dask", "--scheduler", cluster.scheduler_address)
        with distributed.Client(cluster.scheduler_address) as client:
            ran = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert res.exit_code == 1, res.output
    assert res.stdout == expected.stdout
    assert sum(ran.values()) >= 5  # the chunks (5 of 3 images) ran on the cluster


# ------------------------------------------------------------------------ memory


def test_segcnn_feeds_its_network_a_few_shapes_only() -> None:
    """oneDNN keeps kernels per input shape (~17 MB each): a shape per crop count made
    RSS grow without bound over a long read. Padding must not change the output."""
    rec = untrained_recognizer()
    seen: list[int] = []
    rng = np.random.default_rng(0)
    for n in [1, 2, 15, 17, 33, 100, 256, 300]:
        crops = rng.standard_normal((n, 32, 32)).astype(np.float32)
        with torch.inference_mode():
            plain = torch.softmax(rec.model(torch.from_numpy(crops).unsqueeze(1)), dim=1).numpy()
        hook = rec.model.register_forward_pre_hook(lambda module, args: seen.append(len(args[0])))
        probs = rec.classify(crops)
        hook.remove()
        assert probs.shape == plain.shape
        np.testing.assert_allclose(probs, plain, rtol=1e-4, atol=1e-5)
    assert set(seen) <= {16, 32, 64, 128, 256}
