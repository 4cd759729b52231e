"""Reading many images: streamed, in input order, on one core, several, or a Dask cluster.

:func:`read_many` takes an iterable of sources (paths, :class:`InlineImage` bytes, or
:class:`Unreadable` placeholders) and yields one :class:`ReadResult` per source, in
the same order. Sources are cut into chunks of ``chunk_size``; each chunk is one task:
a worker reads the chunk's images and hands them to the recognizer as one batch. Only
paths travel to the workers and only predictions travel back, and at most
``2 * workers`` chunks are in flight at any time, so memory stays flat however many
files there are (the iterable is consumed lazily too).

Backends (:data:`BACKENDS`):

* ``loky`` (default): ``jobs`` worker processes on this machine via joblib;
  ``jobs=1`` runs in this process with no pool at all.
* ``dask``: joblib's Dask backend on the ``dask.distributed`` scheduler at
  ``scheduler`` (e.g. ``tcp://10.0.0.5:8786``); every worker thread of the cluster
  takes chunks. The workers need segocr installed and the image paths readable.

Each worker loads its recognizer once (:func:`segocr.api.load_recognizer` is cached
per process), whatever the number of chunks it runs. A bad image becomes a result with
an ``error`` and the rest go on; errors that concern the whole run (unusable weights,
an unreachable scheduler) raise.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np

from segocr.errors import ImageReadError, SegocrError
from segocr.io import CHUNK_PIXEL_BUDGET
from segocr.pool import stop_workers, watched_pool
from segocr.recognizers.base import DEFAULT_MODEL, Prediction, Recognizer

__all__ = [
    "BACKENDS",
    "DaskUnavailableError",
    "InlineImage",
    "ReadResult",
    "RecognizerSpec",
    "Source",
    "Unreadable",
    "expand_paths",
    "read_chunk",
    "read_many",
]

Backend: TypeAlias = Literal["loky", "dask"]
#: The parallel backends :func:`read_many` accepts.
BACKENDS: tuple[Backend, ...] = ("loky", "dask")

#: How long to wait for a Dask scheduler to answer before giving up (seconds).
DASK_CONNECT_TIMEOUT_S = 10


class DaskUnavailableError(SegocrError):
    """``backend="dask"`` was asked for but dask.distributed is not installed, or the
    scheduler could not be reached."""


@dataclass(frozen=True)
class InlineImage:
    """Encoded image bytes read elsewhere (e.g. stdin). ``source`` is what results
    call it (``"-"``), ``name`` what error messages call it (``"<stdin>"``)."""

    source: str
    data: bytes
    name: str


@dataclass(frozen=True)
class Unreadable:
    """A source known to be bad before reading it, e.g. a directory holding no images:
    it is reported as a failed result with ``error``, in its place in the order."""

    source: str
    error: str


#: What :func:`read_many` reads: a path, image bytes, or a known-bad placeholder.
Source: TypeAlias = "str | os.PathLike[str] | InlineImage | Unreadable"


@dataclass(frozen=True)
class ReadResult:
    """The reading of one source: ``prediction`` when it worked, else ``error`` (one
    line, starting with the source's name)."""

    source: str
    prediction: Prediction | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RecognizerSpec:
    """What a worker needs to build the recognizer: small and picklable, so it can
    be shipped with every chunk while the recognizer itself is loaded once per
    process."""

    model: str = DEFAULT_MODEL
    weights: str | None = None
    device: str = "auto"
    #: ``auto``, ``onnx`` or ``torch`` (see :mod:`segocr.runtime`).
    runtime: str = "auto"
    #: Decoding options (plate format, top-N; :class:`segocr.formats.decoding.DecodeOptions`).
    options: Any = None
    #: Plates in whole photos: ``never`` (every image is a crop), ``auto`` or
    #: ``always`` (see :mod:`segocr.locate.pipeline`).
    locate: str = "never"
    #: Two-row plates: ``one`` (never split), ``auto`` or ``two`` (see :mod:`segocr.rows`).
    rows: str = "one"

    def load(self) -> Recognizer:
        """The recognizer (cached per process by :func:`segocr.api.load_recognizer`).
        Raises ``KeyError`` for an unknown model name and
        :class:`segocr.errors.WeightsError` for unusable weights."""
        from segocr.api import load_recognizer

        rec = load_recognizer(self.model, weights=self.weights, device=self.device, runtime=self.runtime)
        if self.options is not None and self.options.active:
            from segocr.formats.decoding import FormattedRecognizer

            rec = FormattedRecognizer(rec, self.options)  # type: ignore[assignment]
        from segocr.rows import with_rows

        return with_rows(rec, self.rows)

    def locating_reader(self) -> Any:
        """The :class:`segocr.locate.LocatingReader` of this spec (its verifier is the
        locator's segcnn reader on the same device and runtime)."""
        from segocr.locate import LocatingReader
        from segocr.locate.pipeline import load_verifier

        verifier = load_verifier(device=self.device, runtime=self.runtime)
        return LocatingReader(self.load(), verifier, mode=self.locate)  # type: ignore[arg-type]


def _source_name(source: Source) -> str:
    if isinstance(source, InlineImage | Unreadable):
        return source.source
    return os.fsdecode(os.fspath(source))


def _load_image(source: Source) -> np.ndarray:
    if isinstance(source, Unreadable):
        raise ImageReadError(source.error)
    if isinstance(source, InlineImage):
        return _read_image(source.data, name=source.name)
    return _read_image(Path(os.fspath(source)))


def _read_image(source: Any, *, name: str | None = None) -> np.ndarray:
    from segocr.io import read_image

    return read_image(source, name=name)


def _failure(exc: BaseException) -> str:
    """One line describing an exception raised by a recognizer on one image."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_chunk(sources: Sequence[Source], spec: RecognizerSpec) -> list[ReadResult]:
    """Read and recognize ``sources`` (one task of :func:`read_many`), in order.

    Unreadable images become failed results. The readable ones are recognized as one
    batch (several when their pixels add up to more than :data:`CHUNK_PIXEL_BUDGET`);
    if the recognizer raises on a batch, each image is retried alone, so one image
    that trips the recognizer fails alone (its error names the exception).

    >>> spec = RecognizerSpec()
    >>> [r.error for r in read_chunk([Unreadable("x.png", "x.png: is a directory")], spec)]
    ['x.png: is a directory']
    """
    out: list[list[ReadResult]] = [[] for _ in sources]
    images: list[np.ndarray] = []
    where: list[int] = []
    pixels = 0
    for i, source in enumerate(sources):
        try:
            image = _load_image(source)
        except ImageReadError as exc:
            out[i] = [ReadResult(_source_name(source), error=str(exc))]
            continue
        size = image.shape[0] * image.shape[1]
        if images and pixels + size > CHUNK_PIXEL_BUDGET:  # recognize what is held first
            _recognize(sources, images, where, spec, out)
            images, where, pixels = [], [], 0
        images.append(image)
        where.append(i)
        pixels += size
    if images:
        _recognize(sources, images, where, spec, out)
    return [r for rs in out for r in rs]


def _recognize(
    sources: Sequence[Source],
    images: list[np.ndarray],
    where: list[int],
    spec: RecognizerSpec,
    out: list[list[ReadResult]],
) -> None:
    """Recognize ``images`` (those of ``sources[where[k]]``) as one batch, filling
    ``out[where[k]]``; image by image when the batch raises."""
    if spec.locate != "never":
        _read_located(sources, images, where, spec, out)
        return
    recognizer = spec.load()
    try:
        predictions = _predict(recognizer, images)
    except Exception:  # noqa: BLE001 - retried image by image below, to isolate the bad one
        predictions = None
    for k, i in enumerate(where):
        name = _source_name(sources[i])
        if predictions is not None:
            out[i] = [ReadResult(name, prediction=predictions[k])]
            continue
        try:
            out[i] = [ReadResult(name, prediction=_predict(recognizer, images[k : k + 1])[0])]
        except Exception as exc:  # noqa: BLE001 - one image must not stop the batch
            out[i] = [ReadResult(name, error=f"{name}: recognizer failed ({_failure(exc)})")]


def _read_located(
    sources: Sequence[Source],
    images: list[np.ndarray],
    where: list[int],
    spec: RecognizerSpec,
    out: list[list[ReadResult]],
) -> None:
    """:func:`_recognize` with plates located in photos: one result per plate found
    (a crop is one plate), a failed result saying so when a photo holds none."""
    from segocr.locate import NO_PLATE

    reader = spec.locating_reader()
    try:
        found = reader.read(images)
    except Exception:  # noqa: BLE001 - retried image by image below, to isolate the bad one
        found = None
    for k, i in enumerate(where):
        name = _source_name(sources[i])
        try:
            plates = found[k] if found is not None else reader.read(images[k : k + 1])[0]
        except Exception as exc:  # noqa: BLE001 - one image must not stop the batch
            out[i] = [ReadResult(name, error=f"{name}: recognizer failed ({_failure(exc)})")]
            continue
        out[i] = [ReadResult(name, prediction=p) for p in plates] or [ReadResult(name, error=f"{name}: {NO_PLATE}")]


def _predict(recognizer: Recognizer, images: list[np.ndarray]) -> list[Prediction]:
    out = recognizer.predict(images)
    if len(out) != len(images):
        raise RuntimeError(
            f"recognizer {recognizer.name!r} returned {len(out)} predictions for {len(images)} images"
        )
    return out


def _chunks(sources: Iterable[Source], size: int) -> Iterator[list[Source]]:
    """Lists of up to ``size`` consecutive sources, consuming ``sources`` lazily.

    >>> [len(c) for c in _chunks(range(5), 2)]
    [2, 2, 1]
    """
    it = iter(sources)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def read_many(
    sources: Iterable[Source],
    spec: RecognizerSpec,
    *,
    jobs: int = 1,
    chunk_size: int = 32,
    backend: Backend = "loky",
    scheduler: str | None = None,
) -> Iterator[ReadResult]:
    """Read every source, yielding one :class:`ReadResult` each, in input order.

    ``jobs`` is the number of worker processes of the ``loky`` backend (1: no pool,
    this process does the work). The ``dask`` backend needs ``scheduler``, the address
    of a running ``dask.distributed`` scheduler; its parallelism is the cluster's
    thread count and ``jobs`` is ignored. (joblib runs a 1-thread cluster's work in
    this process instead of on the cluster.) ``chunk_size`` images make one task and
    one recognizer batch.

    Raises :class:`ValueError` for bad arguments, :class:`DaskUnavailableError` when
    dask is missing or the scheduler cannot be reached, and passes on errors that
    stop the whole run (e.g. :class:`segocr.errors.WeightsError` from a worker).

    >>> results = read_many([Unreadable("a", "a: bad"), Unreadable("b", "b: bad")],
    ...                     RecognizerSpec(), chunk_size=1)
    >>> [(r.source, r.ok) for r in results]
    [('a', False), ('b', False)]
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise ValueError("the dask backend needs a scheduler address, e.g. tcp://HOST:8786")
    if backend != "dask" and scheduler:
        raise ValueError("a scheduler address only applies to the dask backend")
    chunks = _chunks(sources, chunk_size)
    if backend == "dask":
        assert scheduler is not None
        yield from _read_dask(chunks, spec, scheduler)
    elif jobs == 1:
        for chunk in chunks:
            yield from read_chunk(chunk, spec)
    else:
        yield from _read_joblib(chunks, spec, n_jobs=jobs)


def _read_joblib(
    chunks: Iterator[list[Source]], spec: RecognizerSpec, *, n_jobs: int
) -> Iterator[ReadResult]:
    """The chunks through joblib's active backend, results in order, lazily."""
    from joblib import Parallel, delayed

    # Workers left idle by an earlier run in this process may be timing out right now;
    # joblib 1.6's loky can then hang on reusing them (joblib issue #869), so every run
    # starts its own workers.
    stop_workers()
    # batch_size=1: our chunks are the batches; pre_dispatch bounds what is in flight.
    parallel = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1, pre_dispatch="2*n_jobs")
    outputs = parallel(delayed(read_chunk)(chunk, spec) for chunk in chunks)
    try:
        with watched_pool():  # a pool that stops serving raises WorkerPoolError
            for results in outputs:
                yield from results
    except BaseException:  # closed early, SIGTERM/Ctrl-C in the consumer, a run-wide error
        with warnings.catch_warnings():  # stopping early is the point: no "tasks cancelled" warning
            warnings.filterwarnings("ignore", message=".*adjusting the input task iterator", category=UserWarning)
            outputs.close()
        stop_workers()
        raise


def _read_dask(
    chunks: Iterator[list[Source]], spec: RecognizerSpec, scheduler: str
) -> Iterator[ReadResult]:
    try:
        from dask.distributed import Client
        from joblib import parallel_config
    except ImportError as exc:
        raise DaskUnavailableError(
            "the dask backend needs dask.distributed: pip install 'segocr[dask]' "
            f"(import failed: {exc})"
        ) from None
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskUnavailableError(
            f"cannot reach the dask scheduler at {scheduler} ({_failure(exc)})"
        ) from None
    with client, parallel_config(backend="dask", client=client):
        yield from _read_joblib(chunks, spec, n_jobs=-1)


def expand_paths(items: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Unreadable]:
    """Like :func:`segocr.io.iter_image_paths` (directories become the images below
    them, files are kept as given, lazily per argument), but a directory holding no
    image, or a sub-folder that cannot be listed, gives an :class:`Unreadable` instead
    of nothing, so it is reported.

    >>> [str(p) for p in expand_paths(["missing.png"])]
    ['missing.png']
    """
    from segocr.io import IMAGE_SUFFIXES, iter_image_paths

    for item in items:
        path = Path(item)
        found = False
        failed: list[ImageReadError] = []
        for image in iter_image_paths([path], onerror=failed.append):
            found = True
            yield image
        for error in failed:
            yield Unreadable(error.source or str(path), str(error))
        if not found and not failed:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            yield Unreadable(str(path), f"{path}: directory holds no image files ({suffixes})")
