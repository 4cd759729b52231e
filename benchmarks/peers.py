"""Peers side by side: what users try first, on the same plates as ``segocr benchmark``.

Runs the peers that work offline on the IWT4S test split, through the same harness
(:func:`segocr.evaluation.harness.evaluate`) and the same table
(:func:`segocr.evaluation.report.format_table`) as segocr's own benchmark:

- ``tesseract``: Debian's ``tesseract-ocr`` binary (LSTM engine, ``eng``), single-line
  mode (``--psm 7``), whitelist ``A-Z0-9``; one process per batch of images (a list file).
- ``rapidocr``: PyPI ``rapidocr-onnxruntime`` (PP-OCR models shipped in the wheel),
  recognition only (no detection, no angle classifier) on the whole plate crop.

Each peer gets its fairest settings: its preprocessing is chosen among a few candidates
(segocr's own preprocessing steps: gray, CLAHE + unsharp mask, resize to a height) by
plate accuracy on the *train* split, never on test, and the choice is stated in the
output. Readings are normalized to ``A-Z0-9`` (NFKC, uppercase, everything else
dropped), the alphabet of the labels. A peer that is not installed is reported and
skipped.

Setup (kept out of segocr's dependencies)::

    apt-get install -y tesseract-ocr
    pip install --no-deps -r benchmarks/requirements-peers.txt

Usage::

    python benchmarks/peers.py --data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset \\
        [--out benchmarks/results]

writes ``peers.json`` (every figure, the settings, the train-split selection, the
skipped peers, provenance) and ``peers.md`` into ``--out``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import shutil
import string
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import click
import cv2
import numpy as np
import yaml

from segocr.datasets.base import PlateSample, load_dataset
from segocr.errors import DatasetError
from segocr.evaluation.harness import BenchmarkResult, evaluate
from segocr.evaluation.report import display_frame, format_table, markdown_table, results_dict
from segocr.preprocess import ClaheStep, GrayStep, Pipeline, PipelineConfig, ResizeStep, UnsharpStep
from segocr.recognizers.base import Prediction

#: The label alphabet of IWT4S; every peer reading is reduced to it.
ALPHABET = string.ascii_uppercase + string.digits
_KEEP = frozenset(ALPHABET)

DATASET = "iwt4s"
#: Where the tuning happens (never on the split that is reported).
SELECT_SPLIT = "train"
REPORT_SPLIT = "test"


def normalize_text(text: str) -> str:
    """A peer's raw reading reduced to ``A-Z0-9``: NFKC (full-width forms become
    ASCII), uppercase, and every other character (spaces, dashes, dots, CJK) dropped.

    >>> normalize_text(" 1b7-64.62 ")
    '1B76462'
    >>> normalize_text("ＡＢ１ 京")
    'AB1'
    """
    return "".join(c for c in unicodedata.normalize("NFKC", text).upper() if c in _KEEP)


# --------------------------------------------------------------------------- preprocessing


def describe(config: PipelineConfig) -> str:
    """A pipeline config in one line, e.g. ``gray -> resize(height=100)``; ``as-is``
    when it has no step.

    >>> describe(PipelineConfig(steps=(GrayStep(), ResizeStep(height=100))))
    'gray -> resize(height=100)'
    >>> describe(PipelineConfig(steps=()))
    'as-is'
    """
    parts = []
    for step in config.steps:
        opts = step.model_dump(exclude={"op"}, exclude_defaults=True)
        if step.op == "resize":
            opts = {"height": step.height, **opts}
        args = ", ".join(f"{k}={v}" for k, v in opts.items())
        parts.append(f"{step.op}({args})" if args else step.op)
    return " -> ".join(parts) or "as-is"


def candidate_pipelines(heights: Iterable[int | None]) -> list[PipelineConfig]:
    """The preprocessings a peer is tried with: colour as given, gray, or segocr's
    primary enhancement (gray -> CLAHE -> unsharp mask), each at the crop's own height
    or resized to each of ``heights``. The first one is the crop as it comes.

    >>> [describe(c) for c in candidate_pipelines([None, 64])][:3]
    ['as-is', 'resize(height=64)', 'gray']
    """
    colours: list[tuple[Any, ...]] = [(), (GrayStep(),), (GrayStep(), ClaheStep(), UnsharpStep())]
    out = []
    for colour in colours:
        for h in heights:
            steps = colour + ((ResizeStep(height=h),) if h is not None else ())
            out.append(PipelineConfig(steps=steps))
    return out


def to_bgr(image: np.ndarray) -> np.ndarray:
    """A uint8 gray (H, W) or RGB (H, W, 3) image as the BGR (H, W, 3) that OpenCV-based
    peers expect.

    >>> to_bgr(np.array([[[1, 2, 3]]], np.uint8)).tolist(), to_bgr(np.array([[7]], np.uint8)).tolist()
    ([[[3, 2, 1]]], [[[7, 7, 7]]])
    """
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


# --------------------------------------------------------------------------- peers


class PeerUnavailable(Exception):
    """A peer that cannot run here; the message says why and how to install it."""


TESSERACT_HINT = "install it with `apt-get install -y tesseract-ocr` (Debian/Ubuntu)"
RAPIDOCR_HINT = "install it with `pip install --no-deps -r benchmarks/requirements-peers.txt`"


def tesseract_version(binary: str = "tesseract") -> str:
    """The first line of ``tesseract --version`` (e.g. ``tesseract 5.3.0``); raises
    :class:`PeerUnavailable` when the binary is missing, broken or lacks ``eng``."""
    path = shutil.which(binary)
    if path is None:
        raise PeerUnavailable(
            f"tesseract is not installed (no {binary!r} on PATH); {TESSERACT_HINT}"
        )
    try:
        ver = subprocess.run(
            [path, "--version"], check=False, capture_output=True, text=True, timeout=30
        )
        langs = subprocess.run(
            [path, "--list-langs"], check=False, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise PeerUnavailable(
            f"tesseract at {path} does not run ({err}); {TESSERACT_HINT}"
        ) from None
    if "eng" not in (langs.stdout + langs.stderr).split():
        raise PeerUnavailable(f"tesseract at {path} has no 'eng' language data; {TESSERACT_HINT}")
    lines = (ver.stdout or ver.stderr).strip().splitlines()
    return lines[0].strip() if lines else "tesseract (unknown version)"


def rapidocr_version(module: str = "rapidocr_onnxruntime") -> str:
    """``rapidocr-onnxruntime X, onnxruntime Y`` when ``module`` imports; raises
    :class:`PeerUnavailable` saying why not (absent, or a dependency missing)."""
    if importlib.util.find_spec(module) is None:
        raise PeerUnavailable(
            f"rapidocr is not installed (no Python module {module!r}); {RAPIDOCR_HINT}"
        )
    try:
        importlib.import_module(module)
    except (ImportError, OSError, RuntimeError) as err:  # e.g. onnxruntime missing or broken
        raise PeerUnavailable(
            f"rapidocr is installed but does not import ({type(err).__name__}: {err}); {RAPIDOCR_HINT}"
        ) from None
    versions = []
    for dist in ("rapidocr-onnxruntime", "onnxruntime"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{dist} {metadata.version(dist)}")
    return ", ".join(versions) or module


def parse_tesseract_tsv(tsv: str, n_images: int) -> list[tuple[str, float]]:
    """Per image (``page_num`` 1..``n_images`` of a list-file run), the words of the
    TSV joined without spaces and their mean confidence as a fraction (``("", 0.0)``
    when no word was found). Header and malformed lines are skipped.

    >>> tsv = ("level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth\\theight\\tconf\\ttext\\n"
    ...        "5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t9\\t9\\t90.0\\t1B7\\n"
    ...        "5\\t1\\t1\\t1\\t1\\t2\\t0\\t0\\t9\\t9\\t70.0\\t6462\\n"
    ...        "1\\t2\\t0\\t0\\t0\\t0\\t0\\t0\\t9\\t9\\t-1\\t\\n")
    >>> parse_tesseract_tsv(tsv, 2)
    [('1B76462', 0.8), ('', 0.0)]
    """
    words: list[list[tuple[str, float]]] = [[] for _ in range(n_images)]
    for line in tsv.splitlines():
        cols = line.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            page, conf = int(cols[1]), float(cols[10])
        except ValueError:
            continue
        text = cols[11].strip()
        if text and 1 <= page <= n_images:
            words[page - 1].append((text, conf))
    out = []
    for ws in words:
        confs = [c for _, c in ws if c >= 0]
        out.append(("".join(t for t, _ in ws), float(np.mean(confs)) / 100 if confs else 0.0))
    return out


def _prediction(raw: str, confidence: float, recognizer: str) -> Prediction:
    text = normalize_text(raw)
    conf = float(min(max(confidence, 0.0), 1.0)) if text else 0.0
    return Prediction(text, conf, recognizer=recognizer, info={"raw": raw})


class TesseractPeer:
    """Tesseract as a recognizer: each batch is preprocessed, written as PNGs and read
    by one ``tesseract`` process (a list file) in single-line mode with an A-Z0-9
    whitelist. ``threads`` caps its OpenMP threads (``OMP_THREAD_LIMIT``)."""

    def __init__(
        self,
        preprocess: PipelineConfig,
        *,
        binary: str = "tesseract",
        psm: int = 7,
        lang: str = "eng",
        threads: int = 1,
        name: str = "tesseract",
    ) -> None:
        self.name = name
        self.preprocess = preprocess
        self._pipeline = Pipeline(preprocess)
        self.binary = binary
        self.psm = psm
        self.lang = lang
        self.threads = threads

    def command(self, list_file: str) -> list[str]:
        """The command line that reads the images named in ``list_file``."""
        return [
            self.binary, list_file, "stdout", "-l", self.lang, "--psm", str(self.psm),
            "-c", f"tessedit_char_whitelist={ALPHABET}", "tsv",
        ]  # fmt: skip

    def settings(self) -> dict[str, Any]:
        return {
            "engine": "LSTM (default --oem)",
            "lang": self.lang,
            "psm": self.psm,
            "whitelist": ALPHABET,
            "preprocess": describe(self.preprocess),
            "threads": self.threads,
            "invocation": "one process per batch (list file), TSV output; words joined",
        }

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        if not images:
            return []
        with tempfile.TemporaryDirectory(prefix="segocr-tess-") as tmp:
            paths = []
            for i, img in enumerate(images):
                out = self._pipeline(img)
                path = os.path.join(tmp, f"{i:05d}.png")
                if not cv2.imwrite(path, out if out.ndim == 2 else to_bgr(out)):
                    raise RuntimeError(f"could not write {path}")
                paths.append(path)
            list_file = os.path.join(tmp, "images.txt")
            Path(list_file).write_text("\n".join(paths) + "\n", encoding="utf-8")
            env = {**os.environ, "OMP_THREAD_LIMIT": str(self.threads)}
            run = subprocess.run(
                self.command(list_file), check=False, capture_output=True, text=True, env=env
            )
        if run.returncode != 0:
            raise RuntimeError(
                f"tesseract failed (exit {run.returncode}): {run.stderr.strip()[-500:]}"
            )
        return [
            _prediction(t, c, self.name) for t, c in parse_tesseract_tsv(run.stdout, len(images))
        ]


class RapidOCRPeer:
    """RapidOCR's PP-OCR text recognizer alone (no detection, no angle classifier) on
    the whole crop, batched by RapidOCR itself; images go in as BGR, as it expects."""

    def __init__(
        self, preprocess: PipelineConfig, *, threads: int = 1, name: str = "rapidocr"
    ) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self.name = name
        self.preprocess = preprocess
        self._pipeline = Pipeline(preprocess)
        self.threads = threads
        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
        rec = self._engine.text_rec
        self._rec_shape = list(rec.rec_image_shape)
        self._rec_batch = int(rec.rec_batch_num)

    def settings(self) -> dict[str, Any]:
        return {
            "pipeline": "recognition only (use_det=False, use_cls=False)",
            "model": _rapidocr_rec_model(),
            "rec_img_shape": self._rec_shape,
            "rec_batch_num": self._rec_batch,
            "preprocess": describe(self.preprocess),
            "threads": self.threads,
            "output": "normalized to A-Z0-9",
        }

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        if not images:
            return []
        batch = [to_bgr(self._pipeline(img)) for img in images]
        results, _ = self._engine.text_rec(batch)
        return [_prediction(str(text), float(score), self.name) for text, score in results]


def _rapidocr_rec_model() -> str:
    """The file name of the recognition model RapidOCR's default config names (for the
    record only: ``unknown`` when it cannot be read)."""
    try:
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH

        cfg = yaml.safe_load(Path(DEFAULT_CFG_PATH).read_text(encoding="utf-8"))
        return Path(cfg["Rec"]["model_path"]).name
    except (ImportError, OSError, KeyError, TypeError, yaml.YAMLError):
        return "unknown"


@dataclass(frozen=True)
class PeerSpec:
    """How to check, build and tune one peer."""

    name: str
    #: Returns the peer's version line, or raises PeerUnavailable.
    check: Callable[[], str]
    #: Builds the peer with a preprocessing config.
    build: Callable[[PipelineConfig], Any]
    candidates: tuple[PipelineConfig, ...]


def peer_specs(*, tesseract_binary: str = "tesseract", threads: int = 1) -> dict[str, PeerSpec]:
    """The registry of peers, in report order."""
    return {
        "tesseract": PeerSpec(
            "tesseract",
            check=lambda: tesseract_version(tesseract_binary),
            build=lambda cfg: TesseractPeer(cfg, binary=tesseract_binary, threads=threads),
            candidates=tuple(candidate_pipelines([None, 64, 100, 150])),
        ),
        "rapidocr": PeerSpec(
            "rapidocr",
            check=rapidocr_version,
            build=lambda cfg: RapidOCRPeer(cfg, threads=threads),
            candidates=tuple(candidate_pipelines([None, 48])),
        ),
    }


def parse_peer_names(value: str, known: Sequence[str]) -> list[str]:
    """Comma-separated peer names, checked against ``known``.

    >>> parse_peer_names("rapidocr, tesseract", ["tesseract", "rapidocr"])
    ['rapidocr', 'tesseract']
    """
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(
            f"unknown peer(s) {', '.join(unknown) or '(none given)'}; choose from: {', '.join(known)}"
        )
    return names


def available_peers(
    specs: Mapping[str, PeerSpec], names: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Split ``names`` into the peers that can run (name -> version line) and the ones
    that cannot (name -> why, with the install hint)."""
    ok: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            ok[name] = specs[name].check()
        except PeerUnavailable as err:
            skipped[name] = str(err)
    return ok, skipped


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Candidate:
    """One preprocessing tried on the selection split, with its figures there."""

    preprocess: PipelineConfig
    plate_accuracy: float
    cer: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "preprocess": describe(self.preprocess),
            "plate_accuracy": _finite(self.plate_accuracy),
            "cer": _finite(self.cer),
        }


@dataclass(frozen=True)
class Selection:
    """The chosen preprocessing and every candidate's figures, in the order tried."""

    best: PipelineConfig
    candidates: tuple[Candidate, ...]
    n_samples: int


def _finite(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def best_candidate(candidates: Sequence[Candidate]) -> Candidate:
    """Highest plate accuracy, then lowest CER; on a full tie the earlier (simpler) one.

    >>> a = Candidate(PipelineConfig(steps=()), 0.5, 0.2)
    >>> b = Candidate(PipelineConfig(steps=(GrayStep(),)), 0.5, 0.1)
    >>> describe(best_candidate([a, b]).preprocess)
    'gray'
    """
    if not candidates:
        raise ValueError("no candidate to choose from")

    def key(i: int) -> tuple[float, float, int]:
        c = candidates[i]
        acc = c.plate_accuracy if math.isfinite(c.plate_accuracy) else -1.0
        cer = c.cer if math.isfinite(c.cer) else math.inf
        return (-acc, cer, i)

    return candidates[min(range(len(candidates)), key=key)]


def select_preprocess(
    spec: PeerSpec,
    samples: Sequence[PlateSample],
    *,
    batch_size: int = 64,
    progress: bool = True,
) -> Selection:
    """Try every candidate preprocessing of ``spec`` on ``samples`` (the train split)
    and keep the best (:func:`best_candidate`). All candidates see the same images."""
    recs = {f"{spec.name}[{i}]": spec.build(cfg) for i, cfg in enumerate(spec.candidates)}
    result = evaluate(recs, samples, batch_size=batch_size, progress=progress, n_bootstrap=100)
    cands = tuple(
        Candidate(cfg, result.models[key].overall.plate_accuracy, result.models[key].overall.cer)
        for key, cfg in zip(recs, spec.candidates, strict=True)
    )
    return Selection(best_candidate(cands).preprocess, cands, len(result.samples))


def spread(samples: Sequence[PlateSample], limit: int | None) -> list[PlateSample]:
    """At most ``limit`` samples taken evenly across ``samples`` (all when ``None``).

    >>> [s.id for s in spread([PlateSample(str(i), "A") for i in range(10)], 3)]
    ['0', '4', '8']
    """
    if limit is None or limit >= len(samples):
        return list(samples)
    step = math.ceil(len(samples) / limit)
    return list(samples[::step])[:limit]


# --------------------------------------------------------------------------- report


def peers_markdown(
    result: BenchmarkResult,
    info: Mapping[str, Any],
    selections: Mapping[str, Selection | None],
    skipped: Mapping[str, str],
) -> str:
    """``peers.md``: the table (same columns as ``segocr benchmark``'s report), each
    peer's settings, the train-split selection and the skipped peers."""
    d = info["dataset"]
    mach = info["machine"]
    lines = [
        f"# Peers on {d['name']} ({d['split']} split)",
        "",
        f"- data: {d['source'] or d['name']}",
        f"- plates scored: {info['n_scored']} (could not be read: {info['n_failed']})",
        f"- commit: {info['git_commit'] or 'unknown'}; created {info['created']}",
        f"- machine: {mach['platform']}, {mach['cpu_count']} CPUs",
        "- command: `python benchmarks/peers.py --data-dir <IWT4S release folder>`",
        "",
        "## Results",
        "",
        markdown_table(display_frame(result), left=("model", "subset")),
        "",
        (
            "Same figures as `segocr benchmark`. Readings are normalized to A-Z0-9 "
            "(uppercase, spaces and punctuation dropped) before scoring. plates/s: time in "
            "`predict` only (preprocessing and the peer's own call), image reading excluded."
        ),
        "",
        "## Settings",
        "",
        (
            f"Each peer's preprocessing was chosen by plate accuracy on the {SELECT_SPLIT} split "
            "(never on test), among the crop as-is, gray, and gray -> CLAHE -> unsharp mask, "
            "each at its own height or resized."
        ),
        "",
    ]
    for name in result.models:
        card = info["models"][name]["card"] or {}
        lines.append(f"### {name} ({card.get('version', '')})")
        lines.append("")
        for k, v in (card.get("settings") or {}).items():
            lines.append(f"- {k}: `{v}`")
        sel = selections.get(name)
        if sel is not None:
            lines += [
                "",
                f"Candidates on {sel.n_samples} {SELECT_SPLIT} plates:",
                "",
                "| preprocess | plate acc | CER |",
                "|:--|--:|--:|",
            ]
            for c in sel.candidates:
                mark = " **(chosen)**" if c.preprocess == sel.best else ""
                lines.append(
                    f"| {describe(c.preprocess)}{mark} | {_pct(c.plate_accuracy)} | {_pct(c.cer)} |"
                )
        else:
            lines += ["", "Not tuned (`--no-select`): the crop as-is."]
        lines.append("")
    if skipped:
        lines += ["## Not run", ""]
        lines += [f"- {name}: {why}" for name, why in skipped.items()]
        lines.append("")
    lines += ["## Most frequent confusions", ""]
    for name, model in result.models.items():
        pairs = ", ".join(f"`{a}`→`{b}` ×{n}" for a, b, n in model.confusions[:10]) or "none"
        lines.append(f"- {name}: {pairs}")
    lines.append("")
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- command


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The IWT4S release folder (else $SEGOCR_DATA or ./data).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("benchmarks/results"),
    show_default=True,
    help="Folder for peers.json and peers.md.",
)
@click.option(
    "--peers", "peer_names", default="tesseract,rapidocr", show_default=True, metavar="A,B"
)
@click.option(
    "--no-select",
    is_flag=True,
    help="Skip the train-split choice of preprocessing; every peer reads the crop as-is.",
)
@click.option(
    "--select-limit",
    type=click.IntRange(min=1),
    default=None,
    help="Choose the preprocessing on at most N train plates (spread evenly).  [default: all]",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Use only the first N test plates."
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Threads per peer."
)
@click.option(
    "--tesseract", "tesseract_binary", default="tesseract", show_default=True, help="Binary."
)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--quiet", is_flag=True, help="Print only the results table.")
def main(
    data_dir: Path | None,
    out: Path,
    peer_names: str,
    no_select: bool,
    select_limit: int | None,
    limit: int | None,
    threads: int,
    tesseract_binary: str,
    batch_size: int,
    quiet: bool,
) -> None:
    """Run Tesseract and RapidOCR on the IWT4S test split, in segocr's benchmark table."""

    def say(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    specs = peer_specs(tesseract_binary=tesseract_binary, threads=threads)
    try:
        names = parse_peer_names(peer_names, list(specs))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--peers") from None
    versions, skipped = available_peers(specs, names)
    for name, why in skipped.items():
        click.echo(f"{name}: {why} -- skipped", err=True)
    if not versions:
        raise click.ClickException("no peer is installed; nothing to run (see the messages above)")

    try:
        ds = load_dataset(DATASET, data_dir)
        train = ds.samples(SELECT_SPLIT)
        test = ds.samples(REPORT_SPLIT)
    except DatasetError as err:
        raise click.ClickException(str(err)) from None
    if limit is not None:
        test = test[:limit]
    say(
        f"data: {ds.name} ({ds.source}); {REPORT_SPLIT}: {len(test)} plates, {SELECT_SPLIT}: {len(train)}"
    )

    selections: dict[str, Selection | None] = {}
    peers: dict[str, Any] = {}
    for name in versions:
        spec = specs[name]
        if no_select:
            selections[name] = None
            cfg = spec.candidates[0]
        else:
            pool = spread(train, select_limit)
            say(
                f"{name}: choosing among {len(spec.candidates)} preprocessings on {len(pool)} train plates"
            )
            selection = select_preprocess(spec, pool, batch_size=batch_size, progress=not quiet)
            selections[name] = selection
            cfg = selection.best
        peers[name] = spec.build(cfg)
        say(f"{name}: {versions[name]}; preprocess: {describe(cfg)}")

    result = evaluate(peers, test, batch_size=batch_size, progress=not quiet)
    cards: dict[str, Any] = {}
    for name, peer in peers.items():
        sel = selections[name]
        cards[name] = {
            "version": versions[name],
            "settings": peer.settings(),
            "chosen_on": f"{SELECT_SPLIT} split, {sel.n_samples} plates" if sel else None,
            "selection": [c.as_dict() for c in sel.candidates] if sel else None,
        }
    info = results_dict(
        result, dataset=ds.name, split=REPORT_SPLIT, source=ds.source, model_cards=cards
    )
    info["machine"]["device"] = "cpu"
    info["skipped"] = dict(skipped)
    info["normalization"] = "NFKC, uppercase, keep A-Z0-9"

    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "peers.json", out / "peers.md"
    json_path.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(peers_markdown(result, info, selections, skipped), encoding="utf-8")

    click.echo(format_table(result))
    for name, peer in peers.items():
        click.echo(
            f"{name}: {versions[name]}; "
            + "; ".join(f"{k}={v}" for k, v in peer.settings().items())
        )
    say(f"results: {json_path}, {md_path}")
    if result.n_failed:
        click.echo(f"{result.n_failed} image(s) could not be read and were left out", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
