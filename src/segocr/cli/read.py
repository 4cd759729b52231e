"""`segocr read IMAGE...`: one line (or JSON object) per image, in input order.

Bad files are reported one by one on stderr (``error: <file>: <problem>``) and the
rest are still read; the exit code is 1 when any image failed or the run could not
start (unusable weights, unreachable scheduler, a full disk), 2 for usage errors,
143 when stopped by SIGTERM and 130 by SIGINT (Ctrl-C): the workers are stopped
too and what was read is flushed first. The reading itself (chunks, workers, Dask) lives in
:mod:`segocr.batch`; the drawings of ``--annotate`` in :mod:`segocr.annotate`.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click
from tqdm.auto import tqdm

from segocr.batch import (
    BACKENDS,
    InlineImage,
    ReadResult,
    RecognizerSpec,
    Source,
    Unreadable,
    expand_paths,
    read_many,
)
from segocr.cli.options import DEVICE_HELP, WeightsFile, check_device
from segocr.errors import ImageReadError, SegocrError
from segocr.locate.pipeline import LOCATE_MODES
from segocr.names import one_line, printable
from segocr.recognizers.base import (
    DEFAULT_MODEL,
    Prediction,
    get_recognizer_factory,
    recognizer_names,
)
from segocr.rows import DEFAULT_ROWS, ROWS_MODES
from segocr.runtime import RUNTIMES

STDIN = "-"
#: Exit status after SIGTERM (128 + 15, as a shell reports a process it terminated).
EXIT_TERMINATED = 128 + signal.SIGTERM
#: Exit status after SIGINT, Ctrl-C (128 + 2).
EXIT_INTERRUPTED = 128 + signal.SIGINT


def _sources(images: tuple[str, ...], stdin_bytes: list[bytes] | None = None) -> Iterator[Source]:
    """Expand directories to their images (lazily); ``-`` reads image bytes on stdin
    (at most ``max_bytes``, see :func:`segocr.io.read_stream`; a closed stdin is an
    error for that source). The bytes are appended to ``stdin_bytes`` when given."""
    from segocr.io import read_stream

    for item in images:
        if item == STDIN:
            stream = getattr(sys.stdin, "buffer", None) if sys.stdin is not None else None
            try:
                data = read_stream(stream, name="<stdin>")
            except ImageReadError as exc:
                yield Unreadable(STDIN, str(exc))
                continue
            if stdin_bytes is not None:
                stdin_bytes.append(data)
            yield InlineImage(STDIN, data, "<stdin>")
        else:
            yield from expand_paths([item])


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM, so the read stops like on Ctrl-C: workers
    stopped, output flushed."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


def _card_model(weights: Path) -> str:
    """The recognizer named by the card of ``weights`` (``--weights FILE`` alone; an
    ONNX file's card is ``NAME.onnx.json``)."""
    from segocr.models.weights import read_card
    from segocr.runtime import read_onnx_card

    try:
        name = (read_onnx_card(weights) if weights.suffix == ".onnx" else read_card(weights)).get("model")
    except SegocrError as exc:
        raise click.ClickException(printable(" ".join(str(exc).split()))) from None
    if not isinstance(name, str) or name not in recognizer_names():
        raise click.UsageError(
            f"{printable(weights)}: its card names no known model ({name!r}); "
            f"give --model ({', '.join(recognizer_names())})"
        )
    return name


def _annotation(result: ReadResult, out_dir: Path, used: set[str], stdin_bytes: list[bytes]) -> None:
    """Write ``out_dir/<stem>.png``: the image of ``result`` with its reading drawn."""
    from segocr.annotate import annotate
    from segocr.io import read_image, write_image

    assert result.prediction is not None
    source: object = stdin_bytes[0] if result.source == STDIN and stdin_bytes else Path(result.source)
    image = read_image(source, name=result.source)  # type: ignore[arg-type]
    stem = "stdin" if result.source == STDIN else (Path(result.source).stem or "image")
    name, k = f"{stem}.png", 1
    while name in used:
        k += 1
        name = f"{stem}-{k}.png"
    used.add(name)
    write_image(out_dir / name, annotate(image, result.prediction, quadrilateral=result.prediction.info.get("quad")))


def _close(results: Iterator[ReadResult]) -> None:
    """Close the generator of :func:`segocr.batch.read_many` (stopping its workers)."""
    close = getattr(results, "close", None)
    if close is not None:
        close()


def _write_failed(exc: OSError) -> NoReturn:
    """Writing stdout or a file failed (disk full, file too large, I/O error): one line,
    exit 1. Stdout is pointed at /dev/null so that the final flush cannot fail again."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = printable(exc.filename) if exc.filename else "stdout"
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (tests)
        pass
    raise click.ClickException(f"cannot write {where} ({reason})")


def _line(result: ReadResult, as_json: bool) -> str | None:
    """The stdout line of ``result`` (None: a failure in plain-text mode)."""
    source = printable(result.source) if as_json else one_line(result.source)
    if result.prediction is None:
        if not as_json:
            return None
        return json.dumps(
            {"path": source, "text": None, "error": printable(result.error or "")},
            ensure_ascii=False,
        )
    pred = result.prediction
    if as_json:
        return json.dumps({"path": source, **pred.to_dict(), **_decoding_json(pred), **_located_json(pred), "error": None}, ensure_ascii=False)
    alternatives = "".join(f"\t{t}={q:.3g}" for t, q in pred.info.get("topn") or ())
    return f"{source}\t{pred.text}\t{pred.confidence:.3f}{alternatives}"


def _decoding_json(pred: Prediction) -> dict[str, object]:
    """JSON entries of ``--format`` (the format followed, or null), ``--topn`` (ranked
    readings with probabilities) and ``--group-by`` (the images fused, how)."""
    out: dict[str, object] = {}
    if "format" in pred.info:
        out["format"] = pred.info["format"]
    if "topn" in pred.info:
        out["topn"] = [{"text": t, "probability": round(float(q), 6)} for t, q in pred.info["topn"]]
    if "paths" in pred.info:
        out["paths"] = [printable(p) for p in pred.info["paths"]]
        out["agreeing"] = pred.info.get("agreeing")  # captures whose own reading is the fused text
        out["fusion"] = pred.info.get("fusion")
    return out


def _located_json(pred: Prediction) -> dict[str, object]:
    """JSON entries of a plate located in a photo: its quad (four [x, y] corners in the
    input image: top-left, top-right, bottom-right, bottom-left) and locator score."""
    if "quad" not in pred.info:
        return {}
    return {"quad": pred.info["quad"], "plate_score": pred.info.get("plate_score")}


def _stdout_gone() -> NoReturn:
    """The reader of stdout went away (``segocr read DIR | head``): stop quietly, as
    Unix tools do, rather than with a traceback (Python's recipe for SIGPIPE: point
    stdout at /dev/null so the final flush cannot fail too)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (tests)
        pass
    sys.exit(1)


@click.command()
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line and image: text, confidence, per-character values, "
    "confidences and boxes, or the error for a bad file.",
)
@click.option(
    "--model",
    default=None,
    help="Recognizer: " + ", ".join(recognizer_names()) + ".  "
    f"[default: the model named by the --weights card, else {DEFAULT_MODEL}]",
)
@click.option(
    "--weights",
    type=WeightsFile(),
    default=None,
    help="Weight file (its .json card beside it), or shipped weights by name: segcnn-iwt4s, crnn-general-int8.onnx, ... [default: shipped]",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    callback=check_device,
    help=DEVICE_HELP,
)
@click.option(
    "--annotate",
    "annotate_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Also write DIR/NAME.png for each image read: a copy with the character "
    "boxes, the text and the confidence drawn.",
)
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="auto",
    show_default=True,
    help="Inference backend: onnx (ONNX Runtime, CPU, no torch), torch, or auto "
    "(onnx when onnxruntime is installed and the weights have an export).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Images per recognizer batch (and per parallel task).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes on this machine (joblib).  [default: 1, no pool]",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="loky",
    show_default=True,
    help="loky: processes on this machine; dask: a dask.distributed cluster (needs --scheduler).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --backend dask).",
)
@click.option(
    "--format",
    "format_spec",
    metavar="NAME|auto|FILE.yaml",
    default=None,
    help="Read under a plate format: a shipped one (segocr.formats: cz, eu-generic, br, "
    "br-mercosur, es, co, cn, us-generic, ...), auto (the best-fitting one or none, "
    "reported in --json), or your own YAML file.  [default: no format]",
)
@click.option(
    "--topn",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Also give the N most likely readings with their probabilities (--json: a "
    "topn list; text: extra TEXT=P columns).",
)
@click.option(
    "--group-by",
    metavar="dir|regex:PATTERN",
    default=None,
    help="Fuse the images of one plate into one reading per group: the images of a "
    "folder (dir), or those whose path gives the same first group of PATTERN.",
)
@click.option(
    "--locate",
    type=click.Choice(LOCATE_MODES),
    default="auto",
    show_default=True,
    help="Plates in whole photos: auto locates them in images that are not plate-crop "
    "shaped (one result per plate, with its quad in --json; a photo without a plate is an "
    "error line), always locates, never reads every image as a crop.",
)
@click.option(
    "--rows",
    type=click.Choice(ROWS_MODES),
    default=DEFAULT_ROWS,
    show_default=True,
    help="Two-row plates: auto reads a crop found to hold two text rows as its rows side "
    "by side (top row first), two always splits, one never.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr.  [default: when stderr is a terminal]",
)
def read(
    images: tuple[str, ...],
    as_json: bool,
    model: str | None,
    weights: Path | None,
    device: str,
    annotate_dir: Path | None,
    runtime: str,
    batch_size: int,
    jobs: int | None,
    backend: str,
    scheduler: str | None,
    format_spec: str | None,
    topn: int,
    group_by: str | None,
    locate: str,
    rows: str,
    progress: bool | None,
) -> None:
    """Read the plate text of each IMAGE (files, directories of images with their
    subdirectories, or - for image bytes on stdin): plate crops, or photos, whose plates
    are found first (--locate). Prints path, text and plate confidence, tab-separated,
    in input order; an empty text when a crop holds no characters.

    Large folders: --jobs N reads with N processes; --backend dask --scheduler
    ADDRESS spreads the work over a Dask cluster (see docs/scale.md).
    """
    if backend == "dask":
        if not scheduler:
            raise click.UsageError(
                "--backend dask needs --scheduler ADDRESS (e.g. tcp://HOST:8786)"
            )
        if jobs is not None:
            raise click.UsageError(
                "--jobs does not apply to --backend dask: the cluster's worker threads set the parallelism"
            )
    elif scheduler:
        raise click.UsageError("--scheduler only applies to --backend dask")
    if any(not item for item in images):
        raise click.BadParameter("an empty path ('') is not an image", param_hint="IMAGE")
    if images.count(STDIN) > 1:  # the second would read an exhausted stream: an empty image
        raise click.BadParameter("'-' (stdin) can be given once", param_hint="IMAGE")
    given = model
    if model is None:
        model = _card_model(weights) if weights is not None else DEFAULT_MODEL
    try:
        get_recognizer_factory(model)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    if weights is not None and weights.suffix == ".onnx" and runtime == "torch":
        raise click.BadParameter(
            f"{printable(weights)} is an ONNX file: it needs --runtime onnx (or auto), not torch", param_hint="--runtime"
        )
    if given is not None and weights is not None and _card_model(weights) != given:
        raise click.UsageError(
            f"--model {given} but {printable(weights)} holds {_card_model(weights)} weights "
            "(drop --model to use the card's)"
        )
    from segocr.formats.decoding import DecodeOptions, plan
    from segocr.fusion import DEFAULT_TOPN, fuse_results, parse_group_by

    if group_by is not None:
        try:
            parse_group_by(group_by)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--group-by") from None
    options = DecodeOptions(format=format_spec, topn=max(topn, DEFAULT_TOPN) if group_by else topn)
    spec = RecognizerSpec(
        model, str(weights) if weights else None, device, runtime, options if options.active else None, locate=locate, rows=rows
    )
    if format_spec is not None and format_spec != "auto":
        from segocr.formats import resolve_format

        try:  # an unknown name or a bad file: a usage error, before any weights load
            resolve_format(format_spec)
        except (SegocrError, ValueError, OSError) as exc:
            raise click.BadParameter(printable(" ".join(str(exc).split())), param_hint="--format") from None
    from segocr.api import load_recognizer

    try:  # unusable weights or device: one clear error first (the recognizer is cached for the run)
        charset = getattr(load_recognizer(model, weights=spec.weights, device=device, runtime=runtime), "charset", None)
    except (SegocrError, ValueError) as exc:
        raise click.ClickException(printable(" ".join(str(exc).split()))) from None
    if charset is not None:
        try:  # a format the model's charset cannot write: a usage error (it names the model that can)
            plan(options, charset)
        except (SegocrError, ValueError) as exc:
            raise click.BadParameter(printable(" ".join(str(exc).split())), param_hint="--format") from None
    try:
        spec.load()
    except (SegocrError, ValueError) as exc:
        raise click.ClickException(printable(" ".join(str(exc).split()))) from None

    if annotate_dir is not None:
        annotate_dir.mkdir(parents=True, exist_ok=True)  # OSError: one line, exit 1 (cli main)
    show = sys.stderr.isatty() if progress is None else progress
    stdin_bytes: list[bytes] = []
    results = reading = read_many(
        _sources(images, stdin_bytes), spec, jobs=jobs or 1, chunk_size=batch_size,
        backend="dask" if backend == "dask" else "loky", scheduler=scheduler,
    )  # fmt: skip
    if group_by is not None and charset is not None:
        results = fuse_results(results, group_by, charset, options.model_copy(update={"topn": topn}))
    failed = done = 0
    drawn: set[str] = set()
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with tqdm(
            unit=" images", desc="read", file=sys.stderr, disable=not show, dynamic_ncols=True
        ) as bar:
            for result in results:
                line = _line(result, as_json)
                if line is not None:
                    click.echo(line)
                if result.ok and annotate_dir is not None:
                    try:
                        _annotation(result, annotate_dir, drawn, stdin_bytes)
                    except ImageReadError as exc:  # changed since it was read
                        result = ReadResult(result.source, error=f"{exc} (while annotating)")
                if not result.ok:
                    failed += 1
                    tqdm.write(f"error: {one_line(result.error or result.source)}", file=sys.stderr)
                elif result.prediction is not None and 2 * result.prediction.info.get("agreeing", 1) < len(
                    result.prediction.info.get("paths", ())
                ):
                    p = result.prediction
                    tqdm.write(
                        f"note: {one_line(result.source)}: {p.info['agreeing']} of {len(p.info['paths'])} captures "
                        f"read {p.text!r} alone; the group may hold different plates",
                        file=sys.stderr,
                    )
                done += 1
                bar.update(1)
            sys.stdout.flush()
    except KeyboardInterrupt as exc:  # SIGTERM (_Terminated) or Ctrl-C
        _close(reading)  # stops the workers (segocr.batch)
        try:
            sys.stdout.flush()
        except OSError:
            pass
        how = "SIGTERM" if isinstance(exc, _Terminated) else "SIGINT (Ctrl-C)"
        click.echo(f"stopped by {how} after {done} image(s); their results are above", err=True)
        sys.exit(EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED)
    except SegocrError as exc:
        raise click.ClickException(printable(" ".join(str(exc).split()))) from None
    except BrokenPipeError:
        _stdout_gone()
    except OSError as exc:  # stdout or an annotation: disk full, file too large, ...
        _write_failed(exc)
    finally:
        _close(reading)
        signal.signal(signal.SIGTERM, previous)
    if failed:
        click.echo(f"{failed} image(s) could not be read", err=True)
        sys.exit(1)
