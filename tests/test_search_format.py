"""The segmentation search under a plate format (``SearchConfig.format_paths``): each
layout is searched with its position masks and the free and legal best paths are
weighed by the format's margin on their path scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segocr.charset import Charset
from segocr.formats import PlateFormat
from segocr.formats.decoding import DecodeOptions, plan
from segocr.recognizers.segcnn import SegCNNRecognizer, _format_path, load_segcnn
from segocr.segment.boxes import CharBox
from segocr.segment.search import SearchConfig
from segocr.segment.search.paths import Path as SearchPath

CS = Charset("0123AB")


def path(text: str, score: float) -> SearchPath:
    boxes = tuple(CharBox(10 * k, 0, 8, 20) for k in range(len(text)))
    return SearchPath(score, tuple(CS.chars.index(c) for c in text), boxes, tuple(score / len(text) for _ in text))


def fake_search(legal: dict[int, SearchPath], calls: list[dict[str, Any]]) -> Any:
    """A stand-in for the search over two lattices: under a layout of length L it
    returns ``legal[L]`` (in lattice 1) when given, else nothing."""

    def search(*, position_masks: np.ndarray, config: SearchConfig) -> list[list[SearchPath]]:
        calls.append({"L": len(position_masks), "veto": config.noise_veto})
        found = legal.get(len(position_masks))
        return [[], [found] if found is not None else []]

    return search


def test_the_legal_path_is_kept_within_the_margin_and_the_free_one_beyond_it() -> None:
    fplan = plan(DecodeOptions(format=PlateFormat(name="x", patterns=("DAD", "DDAD"))), CS)
    assert fplan is not None
    free = [(path("0B2", -1.0), 0)]
    calls: list[dict[str, Any]] = []
    # Two layouts, both searched with the search's noise veto; the better legal path wins.
    (chosen, lattice), fmt = _format_path(
        fake_search({3: path("0A2", -2.5), 4: path("10A2", -2.2)}, calls), free, 2, fplan, SearchConfig()
    )
    assert (CS.decode(list(chosen.classes)), lattice, fmt) == ("10A2", 1, "x")
    assert sorted(c["L"] for c in calls) == [3, 4] and all(c["veto"] for c in calls)
    _format_path(fake_search({}, calls), free, 2, fplan, SearchConfig(format_noise_veto=False))
    assert not any(c["veto"] for c in calls[2:])
    # Beyond the 2-nat margin the free reading stands, and no format applies.
    (chosen, lattice), fmt = _format_path(fake_search({3: path("0A2", -3.5)}, []), free, 2, fplan, SearchConfig())
    assert (CS.decode(list(chosen.classes)), lattice, fmt) == ("0B2", 0, None)
    # No legal path at all: the free reading.
    (chosen, _), fmt = _format_path(fake_search({}, []), free, 2, fplan, SearchConfig())
    assert (CS.decode(list(chosen.classes)), fmt) == ("0B2", None)
    # A strict format (no margin) takes any legal path.
    strict = plan(DecodeOptions(format=PlateFormat(name="x", patterns=("DAD",)), margin=None), CS)
    assert strict is not None
    (chosen, _), fmt = _format_path(fake_search({3: path("0A2", -30.0)}, []), free, 2, strict, SearchConfig())
    assert (CS.decode(list(chosen.classes)), fmt) == ("0A2", "x")


@pytest.fixture(scope="module")
def shipped() -> SegCNNRecognizer:
    """The shipped IWT4S segcnn, every plate searched (no cascade threshold)."""
    rec = load_segcnn(Path(__file__).resolve().parents[1] / "src/segocr/weights/segcnn.pt", device="cpu", runtime="torch")
    assert isinstance(rec, SegCNNRecognizer)
    return rec


def images() -> list[np.ndarray]:
    from segocr.datasets.synthetic import DEFAULT_CONFIG, render_plate

    rng = np.random.default_rng(3)
    return [render_plate(t, rng=rng, config=DEFAULT_CONFIG.clean(), style="cz").image for t in ("1AB2345", "7C01234", "5H81234")]


def reader(rec: SegCNNRecognizer, format_paths: bool, **search: Any) -> SegCNNRecognizer:
    import copy

    out = copy.copy(rec)
    out.config = rec.config.model_copy(
        update={"cascade_confidence": None, "search": SearchConfig(merge_boxes=False, format_paths=format_paths, **search)}
    )
    return out


def test_the_recognizer_reads_searched_plates_under_the_format(shipped: SegCNNRecognizer) -> None:
    imgs = images()
    on, off = reader(shipped, True), reader(shipped, False)
    plain = [p.text for p in off.predict(imgs)]
    assert plain == ["1AB2345", "7C01234", "5H81234"]
    # Without a format, and with top-N only, the readings do not change.
    assert [p.text for p in on.predict(imgs)] == plain
    assert [p.text for p in on.predict(imgs, options=DecodeOptions(topn=3))] == plain
    # A strict all-digit format: every searched plate is read legally, by the search
    # (its n-best and search flag kept), with posteriors over the charset for fusion
    # (the layouts' noise veto off: a letter's box is read as a digit).
    digits = DecodeOptions(format=PlateFormat(name="digits", patterns=("DDDDDDD",)), margin=None)
    for p in reader(shipped, True, format_noise_veto=False).predict(imgs, options=digits):
        assert p.info["format"] == "digits" and p.text.isdigit() and len(p.text) == 7
        assert p.info["search"] and p.info["n_best"]
        assert p.info["posteriors"].shape == (7, len(shipped.charset.chars))
    # The same format with the default margin: these plates fit no all-digit layout
    # closely enough, so the free readings stand and no format applies.
    loose = DecodeOptions(format=PlateFormat(name="digits", patterns=("DDDDDDD",)))
    assert [(p.text, p.info["format"]) for p in on.predict(imgs, options=loose)] == [(t, None) for t in plain]
    # A format the plates fit: the same readings, now following it.
    assert [(p.text, p.info["format"]) for p in on.predict(imgs, options=DecodeOptions(format="cz"))] == [
        (t, "cz") for t in plain
    ]
