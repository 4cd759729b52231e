"""Two-row plates (segocr.rows): the row split on hand-made plates, the stitch, the
wrapper around any recognizer, the --rows options, and the split on real EU2 plates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA
from pydantic import ValidationError

from segocr.cli import main
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.rows import RowsConfig, RowSplit, RowsRecognizer, find_rows, stitch, with_rows
from segocr.segment.boxes import CharBox

FONT = cv2.FONT_HERSHEY_SIMPLEX


def plate(
    rows: list[str],
    size: tuple[int, int],
    *,
    scale: float,
    thick: int,
    ink: int = 20,
    bg: int = 225,
) -> np.ndarray:
    """A plate (H, W, 3) with each text of ``rows`` centred on its own line, evenly
    spread over the height."""
    H, W = size
    img = np.full((H, W, 3), bg, np.uint8)
    for i, text in enumerate(rows):
        (tw, th), _ = cv2.getTextSize(text, FONT, scale, thick)
        y = round(H * (i + 1) / (len(rows) + 1) + th / 2)
        cv2.putText(img, text, ((W - tw) // 2, y), FONT, scale, (ink,) * 3, thick, cv2.LINE_AA)
    return img


def two_row(top: str = "AB", bottom: str = "1234") -> np.ndarray:
    return plate([top, bottom], (100, 140), scale=1.2, thick=3)


def one_row(text: str = "1AB2345") -> np.ndarray:
    return plate([text], (60, 260), scale=1.5, thick=3)


def ink_rows(image: np.ndarray) -> np.ndarray:
    """Rows (y) of ``image`` holding dark ink."""
    return np.flatnonzero((image.min(axis=2) < 100).any(axis=1))


def test_two_rows_are_found_top_first_and_cover_their_text() -> None:
    img = two_row()
    split = find_rows(img)
    assert split.n_rows == 2 and split.reason == "two rows"
    (t0, t1), (b0, b1) = split.bands
    assert t0 < t1 <= b1 and t0 < b0
    top_ink = ink_rows(plate(["AB", ""], (100, 140), scale=1.2, thick=3))
    bottom_ink = ink_rows(plate(["", "1234"], (100, 140), scale=1.2, thick=3))
    assert t0 <= top_ink.min() and top_ink.max() < t1  # the whole top line, top row first
    assert b0 <= bottom_ink.min() and bottom_ink.max() < b1
    assert t1 <= bottom_ink.min() and b0 > top_ink.max()  # neither band holds the other line
    assert [len(b) for b in split.boxes] == [2, 4]


def test_light_ink_on_a_dark_plate_is_split_too() -> None:
    split = find_rows(plate(["KL", "5678"], (100, 140), scale=1.2, thick=3, ink=235, bg=30))
    assert split.n_rows == 2 and split.polarity == "light"


def test_one_row_plates_stay_whole() -> None:
    for img in (one_row(), plate(["AB12"], (80, 150), scale=1.8, thick=4)):  # wide and squarish
        split = find_rows(img)
        assert split.n_rows == 1 and split.bands == ((0, img.shape[0]),)


def test_a_frame_bar_and_screws_are_not_a_row() -> None:
    img = plate(["4B21"], (80, 150), scale=1.6, thick=4)
    cv2.rectangle(img, (4, 3), (146, 9), (20, 20, 20), -1)  # frame bar above the text
    for x in (30, 120):
        cv2.circle(img, (x, 72), 4, (30, 30, 30), -1)  # screws below it
    assert find_rows(img).n_rows == 1
    bar = two_row()
    cv2.rectangle(bar, (2, 2), (137, 6), (20, 20, 20), -1)  # a frame bar on a two-row plate
    cv2.circle(bar, (8, 50), 4, (30, 30, 30), -1)
    split = find_rows(bar)
    assert split.n_rows == 2 and [len(b) for b in split.boxes] == [2, 4]


def test_modes_and_the_projection_fallback() -> None:
    img = two_row()
    assert find_rows(img, RowsConfig(mode="one")).n_rows == 1
    blank = np.full((60, 80, 3), 200, np.uint8)
    blank[:, :] = 200
    blank[28:32] = 205  # no characters at all: "two" cuts at the projection valley
    assert find_rows(blank, RowsConfig(mode="auto")).n_rows == 1
    forced = find_rows(blank, RowsConfig(mode="two"))
    assert forced.n_rows == 2 and forced.reason == "projection valley"
    (t0, t1), (b0, b1) = forced.bands
    assert t0 == 0 and t1 == b0 and b1 == 60 and 18 <= t1 <= 42
    assert find_rows(one_row(), RowsConfig(mode="two")).n_rows == 2  # forced even when wide
    with pytest.raises(ValidationError):
        RowsConfig(mode="three")
    with pytest.raises(ValidationError):
        RowsConfig(pads=1)  # type: ignore[call-arg]


def test_stitch_shapes_and_boxes_back_in_the_crop() -> None:
    img = two_row()
    cfg = RowsConfig(pad=0.2, gap=0.5)
    split = find_rows(img, cfg)
    st = stitch(img, split, cfg)
    h = st.image.shape[0]
    assert st.image.dtype == np.uint8 and st.image.ndim == 3
    assert len(st.segments) == 2 and st.segments[0].x1 <= st.segments[1].x0 + round(0.5 * h)
    assert st.image.shape[1] > 2 * h  # one row now: wider than tall
    # Each row's ink is in its own half, in the same order as read.
    seg0, seg1 = st.segments
    cols = np.flatnonzero((st.image.min(axis=2) < 100).any(axis=0))
    assert cols.min() >= seg0.x0 and cols.max() < st.image.shape[1]
    gap = st.image[:, seg0.x0 + round((seg1.x0 - seg0.x0) * 0.99) : seg1.x0]
    assert (gap.min(axis=2) >= 100).all()  # nothing but background between the rows
    # A box on the bottom row maps into the bottom band of the crop.
    box = CharBox(seg1.x0 + 5, 2, 10, h - 4)
    back = st.to_original(box)
    (b0, b1) = split.bands[1]
    assert b0 - 3 <= back.y and back.y2 <= b1 + 3 and 0 <= back.x and back.x2 <= img.shape[1]
    # One row: the image itself.
    one = stitch(one_row(), find_rows(one_row()))
    assert one.image.shape == one_row().shape


class Recorder:
    """A recognizer that records what it is asked to read and reads one box per image."""

    name = "rec"
    charset = None

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []
        self.kwargs: list[dict[str, object]] = []

    def predict(self, images: list[np.ndarray], **kwargs: object) -> list[Prediction]:
        self.seen.extend(images)
        self.kwargs.append(kwargs)
        out = []
        for im in images:
            h, w = im.shape[:2]
            out.append(
                Prediction.from_chars(
                    [CharPrediction("A", 0.9, CharBox(w - 12, 1, 10, h - 2))], "rec"
                )
            )
        return out


def test_wrapper_passes_one_row_plates_untouched_and_stitches_two_rows() -> None:
    rec = Recorder()
    wrapped = RowsRecognizer(rec, RowsConfig())
    one, two = one_row(), two_row()
    preds = wrapped.predict([one, two], options="x")
    assert rec.seen[0] is one  # the one-row image itself
    assert rec.seen[1].shape[0] < two.shape[0] and rec.seen[1].shape[1] > two.shape[1]  # stitched
    assert rec.kwargs == [{"options": "x"}]  # one batch, keyword arguments passed on
    assert "rows" not in preds[0].info and preds[0].chars[0].box == CharBox(
        one.shape[1] - 12, 1, 10, one.shape[0] - 2
    )
    assert preds[1].info["rows"] == 2 and len(preds[1].info["row_bands"]) == 2
    box = preds[1].chars[0].box
    assert (
        box is not None and box.y >= preds[1].info["row_bands"][1][0] - 3
    )  # the last char: bottom row
    assert box.x2 <= two.shape[1] and box.y2 <= two.shape[0]
    assert with_rows(rec, "one") is rec and with_rows(rec, None) is rec
    with pytest.raises(
        ValueError, match="unknown rows mode 'three'; choose one of: auto, one, two"
    ):
        with_rows(rec, "three")
    assert RowsRecognizer(rec, RowsConfig(mode="one")).predict([two])[0].info == {}


def test_rows_option_of_read_and_benchmark(tmp_path: Path) -> None:
    f = tmp_path / "two.png"
    cv2.imwrite(str(f), two_row("AB", "1234"))
    res = CliRunner().invoke(main, ["read", "--rows", "nope", str(f)])
    assert res.exit_code == 2 and "--rows" in res.output
    for mode in ("one", "two"):
        res = CliRunner().invoke(
            main, ["read", "--json", "--locate", "never", "--rows", mode, str(f)]
        )
        assert res.exit_code == 0, res.output
    assert "--rows" in CliRunner().invoke(main, ["benchmark", "--help"]).output
    res = CliRunner().invoke(main, ["benchmark", "--rows", "nope"])
    assert res.exit_code == 2


@pytest.mark.real_data
def test_real_eu2_plates_split_into_two_rows() -> None:
    root = SHARED_DATA / "openalpr-train-detector" / "eu2"
    if not root.exists():
        pytest.skip(f"real data not found at {root} (put ../shared/data beside the repository)")
    from segocr.datasets.base import load_dataset

    samples = load_dataset("openalpr-eu2", SHARED_DATA).samples("train")[::4]
    splits = [find_rows(s.load()) for s in samples]
    share = np.mean([s.n_rows == 2 for s in splits])
    assert share >= 0.8, share  # the plates are two-row squares (every 4th train plate: 90% measured)


def test_a_lone_bottom_row_in_a_square_crop_still_splits() -> None:
    img = plate(["AB", "1234"], (80, 120), scale=1.3, thick=3)
    cv2.rectangle(img, (0, 0), (119, 36), (20, 20, 20), 2)  # the top row's letters touch a frame
    cv2.line(img, (0, 18), (119, 18), (20, 20, 20), 2)
    split = find_rows(img)
    assert split.n_rows == 2 and split.reason == "a lone row below"
    assert len(split.boxes[1]) == 4 and split.bands[0][0] == 0
    assert find_rows(img, RowsConfig(lone_row=False)).n_rows == 1


def test_line_recognizers_get_the_rows_at_their_input_aspect() -> None:
    img = two_row()
    split = find_rows(img)
    flat = stitch(img, split)
    fitted = stitch(img, split, line_aspect=4.0)
    assert flat.image.shape[1] / flat.image.shape[0] > 4.0  # wide without fitting
    assert (
        fitted.image.shape[1] == flat.image.shape[1]
        and fitted.image.shape[1] / fitted.image.shape[0] <= 4.0
    )
    box = CharBox(flat.segments[1].x0 + 4, 3, 8, flat.image.shape[0] - 6)
    moved = CharBox(box.x, box.y + fitted.top, box.w, box.h)
    assert fitted.top > 0 and fitted.to_original(moved) == flat.to_original(box)


def test_rows_read_separately_are_joined_top_first() -> None:
    rec = Recorder()
    preds = RowsRecognizer(rec, RowsConfig(join="separate")).predict([two_row(), one_row()])
    assert len(rec.seen) == 3  # two rows, then the one-row plate
    assert preds[0].text == "AA" and preds[0].info["row_readings"] == ["A", "A"]
    assert abs(preds[0].confidence - 0.81) < 1e-9 and preds[1].text == "A"


def test_a_tilted_two_row_plate_is_split() -> None:
    img = two_row()
    for angle in (-8, 8):
        m = cv2.getRotationMatrix2D((70, 50), angle, 1.0)
        tilted = cv2.warpAffine(img, m, (140, 100), borderValue=(225, 225, 225))
        split = find_rows(tilted)
        assert split.n_rows == 2 and [len(b) for b in split.boxes] == [2, 4], angle


def test_a_located_crop_is_read_once_when_the_verifier_read_it_already() -> None:
    from segocr.locate import LocatingReader

    class RowReader(Recorder):  # reads a row of 5 characters filling the image: a crop
        def predict(self, images: list[np.ndarray], **kwargs: object) -> list[Prediction]:
            self.seen.extend(images)
            return [
                Prediction.from_chars(
                    [
                        CharPrediction("A", 0.9, CharBox(10 * k, 0, 8, im.shape[0]))
                        for k in range(5)
                    ],
                    "rec",
                )
                for im in images
            ]

    verifier = RowReader()
    reader = LocatingReader(RowsRecognizer(verifier), verifier, mode="auto")
    big_one_row = cv2.resize(one_row(), (520, 120))  # not under 120 px: the verifier reads it
    big_two_row = cv2.resize(two_row(), (168, 120))
    verifier.seen.clear()
    reader.read([big_one_row])
    assert len(verifier.seen) == 1  # the verifier's reading is reused: read once
    verifier.seen.clear()
    out = reader.read([big_two_row])
    assert len(verifier.seen) == 2 and out[0][0].info["rows"] == 2  # then read as two rows


def test_a_sticker_between_the_rows_is_left_out_of_their_fit() -> None:
    # "ABC" over "1234" with a character-high sticker at the right edge between the rows
    # (Swedish registration stickers, German seals): with every component counted no
    # cut fits two rows; one left out, it does, and the sticker belongs to neither row.
    img = plate(["ABC", "1234"], (100, 140), scale=1.1, thick=3)
    img[30:72, 110:124] = 20
    strict, default = find_rows(img, RowsConfig(max_outliers=0)), find_rows(img)
    assert strict.n_rows == 1 and default.n_rows == 2
    assert [len(b) for b in default.boxes] == [3, 4]
    assert all(b.x2 <= 110 for row in default.boxes for b in row)


def test_outliers_change_no_layout_that_fits_with_every_component() -> None:
    img = two_row()
    assert find_rows(img, RowsConfig(max_outliers=0)) == find_rows(img, RowsConfig(max_outliers=2))


def test_trim_to_plate_keeps_a_rows_characters_that_were_not_found() -> None:
    # The top row's first character was not found as a component (joined to the frame):
    # trimmed to its own characters, the row loses it; trimmed to the plate's, it stays.
    img = two_row("ABC", "1234")
    split = find_rows(img)
    assert split.n_rows == 2 and len(split.boxes[0]) == 3
    first, *rest = sorted(split.boxes[0], key=lambda b: b.x)
    lost = RowSplit(split.bands, (tuple(rest), split.boxes[1]), "test", split.polarity)
    own = stitch(img, lost, RowsConfig(trim_to="row"))
    plate_wide = stitch(img, lost, RowsConfig(trim_to="plate"))
    assert own.segments[0].cx0 > first.x  # the first character is cut away
    assert plate_wide.segments[0].cx0 <= first.x  # kept
    assert RowsConfig().trim_to == "auto"


def test_trim_to_auto_cuts_rows_plate_wide_for_line_readers_only() -> None:
    class Line:  # a line recognizer (crnn, holistic) has a ``line`` config
        line = type("LineCfg", (), {"width": 128, "height": 32})()

    class Seg:  # segcnn segments the characters itself
        pass

    assert RowsRecognizer(Line(), RowsConfig(trim_to="auto")).config.trim_to == "plate"
    assert RowsRecognizer(Seg(), RowsConfig(trim_to="auto")).config.trim_to == "row"
    assert RowsRecognizer(Seg(), RowsConfig(trim_to="plate")).config.trim_to == "plate"
