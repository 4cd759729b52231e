"""Reading a crop at several margins (segocr.margins): padding, boxes and row bands
mapped back into the given image, the most confident reading kept, and the ensemble
reading with its card's margins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from segocr.charset import Charset
from segocr.ensemble import EnsembleConfig, EnsembleRecognizer
from segocr.margins import pad_crop, read_at_margins, unpad_prediction
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.segment.boxes import CharBox


def test_pad_crop_replicates_the_edges_around_the_original() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 60, 3), dtype=np.uint8)
    out, (dx, dy) = pad_crop(img, 0.1)
    assert out.shape == (24, 72, 3) and (dx, dy) == (6, 2)
    assert np.array_equal(out[dy : dy + 20, dx : dx + 60], img)
    assert np.array_equal(out[0, dx : dx + 60], img[0]) and np.array_equal(out[dy : dy + 20, 0], img[:, 0])
    with pytest.raises(ValueError, match=">= 0"):
        pad_crop(img, -0.1)


def test_boxes_of_a_padded_read_land_on_the_same_pixels_of_the_original() -> None:
    img = np.zeros((20, 60, 3), np.uint8)
    _, offset = pad_crop(img, 0.25)
    box = CharBox(15 + offset[0], 5 + offset[1], 8, 12)  # where a character of the original at (15, 5) sits
    p = Prediction("A", 0.9, (CharPrediction("A", 0.9, box), CharPrediction("B", 0.9, CharBox(0, 0, 4, 40))), "m")
    q = unpad_prediction(p, offset, img.shape)
    assert q.chars[0].box == CharBox(15, 5, 8, 12)
    b = q.chars[1].box  # a box in the padding is clipped into the image, never outside it
    assert b is not None and b.x >= 0 and b.y >= 0 and b.x2 <= 60 and b.y2 <= 20 and b.w >= 1 and b.h >= 1


class Tight:
    """A reader that is confident only when the ink does not touch the left edge."""

    name = "tight"
    charset = Charset("AB")

    def __init__(self) -> None:
        self.shapes: list[list[tuple[int, ...]]] = []

    def predict(self, images: Sequence[np.ndarray], *, options: object = None) -> list[Prediction]:
        self.shapes.append([im.shape for im in images])
        return [Prediction("AB" if im[:, 0].mean() > 100 else "B", 0.3 if im[:, 0].mean() < 100 else 0.2) for im in images]


def test_the_most_confident_margin_wins_and_ties_keep_the_earlier() -> None:
    plate = np.full((20, 60, 3), 200, np.uint8)
    plate[:, :3] = 0  # ink at the left edge: replicated by padding
    reads = read_at_margins(Tight().predict, [plate], (0.0, 0.2))
    assert reads[0].info["margin"] == 0.0  # padding replicates the dark edge: same confidence, the earlier margin kept

    def conf_by_width(images: Sequence[np.ndarray]) -> list[Prediction]:
        return [Prediction(str(im.shape[1]), im.shape[1] / 100) for im in images]

    reads = read_at_margins(conf_by_width, [plate, plate[:, :30]], (0.0, 0.1, 0.2))
    assert [p.info["margin"] for p in reads] == [0.2, 0.2] and [p.text for p in reads] == ["84", "42"]
    with pytest.raises(ValueError, match="at least one"):
        read_at_margins(conf_by_width, [plate], ())


def test_the_ensemble_reads_at_its_margins_and_keeps_the_best() -> None:
    a, b = Tight(), Tight()
    b.name = "other"
    plate = np.full((20, 60, 3), 200, np.uint8)
    # accept_first below every confidence: the first member's reading is taken alone
    ens = EnsembleRecognizer([a, b], EnsembleConfig(members=("tight", "other"), margins=(0.0, 0.1), accept_first=0.1))
    (p,) = ens.predict([plate])
    assert p.info["margin"] == 0.0 and p.text == "AB" and p.info["case"] == "first"
    assert a.shapes == [[(20, 60, 3)], [(24, 72, 3)]] and b.shapes == []  # one batch per margin
    sure = Tight()  # a reading as given at least retry_below confident is not read again
    cfg = EnsembleConfig(members=("tight", "other"), margins=(0.0, 0.1), accept_first=0.1, retry_below=0.15)
    EnsembleRecognizer([sure, b], cfg).predict([plate])
    assert sure.shapes == [[(20, 60, 3)]]
    with pytest.raises(ValueError, match="fractions"):
        EnsembleConfig(margins=(0.0, 2.0))
    assert EnsembleConfig().margins == (0.0,)


def test_readings_of_retried_crops_get_their_own_calibration() -> None:
    plate = np.full((20, 60, 3), 200, np.uint8)
    cfg = EnsembleConfig(members=("tight", "other"), margins=(0.0, 0.1), accept_first=0.1, calibration={"retried": (1.0, -2.0)})
    other = Tight()
    other.name = "other"
    (p,) = EnsembleRecognizer([Tight(), other], cfg).predict([plate])
    assert p.info["retried"] and p.confidence < 0.2  # Tight reads 0.2; sigmoid(logit(0.2) - 2) ~ 0.03
    sure = cfg.model_copy(update={"retry_below": 0.15})  # read once: no retry, no extra map
    (q,) = EnsembleRecognizer([Tight(), other], sure).predict([plate])
    assert not q.info["retried"] and q.confidence == pytest.approx(0.2)


class RowsByWidth:
    """Reads a crop as two rows (``info["rows"]``) unless padded, where it finds one row
    and reads its top row alone, more confidently: what the margin retry met on EU2."""

    charset = Charset("AB12")

    def __init__(self, name: str) -> None:
        self.name = name

    def predict(self, images: Sequence[np.ndarray], *, options: object = None) -> list[Prediction]:
        return [
            Prediction("AB12", 0.5, info={"rows": 2}) if im.shape[1] == 60 else Prediction("AB", 0.99)
            for im in images
        ]


def test_the_ensemble_keeps_the_rows_of_the_crop_as_given_across_margins() -> None:
    plate = np.full((40, 60, 3), 200, np.uint8)
    members = [RowsByWidth("a"), RowsByWidth("b")]
    cfg = EnsembleConfig(members=("a", "b"), margins=(0.0, 0.1), accept_first=0.1)
    (loose,) = EnsembleRecognizer(members, cfg).predict([plate])
    (kept,) = EnsembleRecognizer(members, cfg.model_copy(update={"keep_rows": True})).predict([plate])
    assert loose.text == "AB" and loose.info["margin"] == 0.1  # the one-row reading of a padded copy won
    assert kept.text == "AB12" and kept.info["margin"] == 0.0 and kept.info["rows"] == 2
