"""Plates in whole photos (segocr.locate): synthetic scenes with pasted plates at known
corners, empty scenes, crops that must not be re-located, the CLI's --locate."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import segocr
from segocr.cli import main
from segocr.io import read_image, write_image
from segocr.locate import NO_PLATE, LocatingReader, NoPlateFoundError, decide, find_candidates
from segocr.locate.geometry import box_iou, box_quad, order_quad, quad_iou, rectify
from segocr.locate.pipeline import crop_shaped, quad_of, row_fills_image
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.segment.boxes import CharBox

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _background(seed: int, size: tuple[int, int] = (720, 1280)) -> np.ndarray:
    """A 1280x720 'street': smooth noise, a dark car-like block and a few bars."""
    rng = np.random.default_rng(seed)
    small = rng.normal(110, 25, (size[0] // 8, size[1] // 8, 3)).clip(0, 255).astype(np.uint8)
    bg = cv2.resize(small, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    cv2.rectangle(bg, (300, 200), (1000, 650), (70, 80, 90), -1)
    for x in range(80, 260, 30):  # a fence: vertical edges that are not characters
        cv2.rectangle(bg, (x, 100), (x + 8, 600), (200, 200, 190), -1)
    return bg


def _paste(scene: np.ndarray, plate: np.ndarray, corners: np.ndarray) -> None:
    """Warp ``plate`` onto ``corners`` (TL, TR, BR, BL) of ``scene`` in place."""
    h, w = plate.shape[:2]
    m = cv2.getPerspectiveTransform(box_quad(0, 0, w - 1, h - 1), corners.astype(np.float32))
    size = (scene.shape[1], scene.shape[0])
    warped = cv2.warpPerspective(plate, m, size)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, size) > 0
    scene[mask] = warped[mask]


def _plate(name: str, scale: float = 1.6) -> np.ndarray:
    return cv2.resize(
        read_image(SAMPLES / name), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC
    )


def _found(pred: Prediction, corners: np.ndarray) -> bool:
    """The located quad lies on the pasted plate image (whose margins the locator
    leaves out): IoU >= 0.5, centres within 10% of the pasted width, every corner
    within 15% of it."""
    q = quad_of(pred)
    assert q is not None
    width = float(np.ptp(corners[:, 0]))
    near = float(np.linalg.norm(q.mean(0) - corners.mean(0))) <= 0.1 * width
    corners_near = bool((np.linalg.norm(q - corners, axis=1) <= 0.15 * width).all())
    return quad_iou(q, corners) >= 0.5 and near and corners_near


@pytest.fixture(scope="module")
def one_plate_scene() -> tuple[np.ndarray, np.ndarray]:
    scene = _background(0)
    plate = _plate("9KE0410.png")
    h, w = plate.shape[:2]
    corners = np.array(
        [[560, 430], [560 + w, 418], [563 + w, 418 + h], [558, 430 + h]], np.float32
    )  # tilted, skewed
    _paste(scene, plate, corners)
    return scene, corners


def test_geometry_hand_made() -> None:
    q = order_quad(np.array([[4, 2], [0, 0], [4, 0], [0, 2]]))
    assert q.tolist() == [[0, 0], [4, 0], [4, 2], [0, 2]]
    assert quad_iou(q, q) == pytest.approx(1.0)
    assert quad_iou(q, box_quad(10, 10, 12, 12)) == 0.0
    assert box_iou(box_quad(0, 0, 2, 2), box_quad(1, 0, 3, 2)) == pytest.approx(1 / 3)
    img = np.zeros((40, 80, 3), np.uint8)
    img[10:20, 10:50] = 200
    assert int(rectify(img, box_quad(10, 10, 49, 19), height=10).min()) == 200


def test_pasted_plate_is_found_at_its_corners_and_read(
    one_plate_scene: tuple[np.ndarray, np.ndarray],
) -> None:
    scene, corners = one_plate_scene
    plates = segocr.read_plates(scene)
    assert len(plates) == 1
    assert _found(plates[0], corners), (quad_of(plates[0]), corners)
    assert plates[0].text == "9KE0410"
    # the character boxes are mapped back into the photo, inside the plate (segcnn always
    # gives boxes; the default ensemble has none for a plate crnn reads alone)
    (boxed,) = segocr.read_plates(scene, model="segcnn")
    x1, y1 = corners.min(0)
    x2, y2 = corners.max(0)
    assert boxed.chars
    for c in boxed.chars:
        assert c.box is not None and x1 - 3 <= c.box.cx <= x2 + 3 and y1 - 3 <= c.box.cy <= y2 + 3


def test_two_plates_give_two_results() -> None:
    scene = _background(1)
    a, b = _plate("9KE0410.png"), _plate("3J55450.png", 1.3)
    ca = box_quad(120, 610, 120 + a.shape[1] - 1, 610 + a.shape[0] - 1)
    cb = box_quad(820, 300, 820 + b.shape[1] - 1, 300 + b.shape[0] - 1)
    _paste(scene, a, ca)
    _paste(scene, b, cb)
    plates = segocr.read_plates(scene)
    assert len(plates) == 2
    assert {p.text for p in plates} == {"9KE0410", "3J55450"}
    for p in plates:
        assert _found(p, ca if p.text == "9KE0410" else cb)


def test_empty_scene_finds_nothing_and_says_so(tmp_path: Path) -> None:
    scene = _background(2)
    assert segocr.read_plates(scene) == []
    with pytest.raises(segocr.errors.NoPlateFoundError, match="no licence plate found.*locate='never'"):
        segocr.read(scene)  # the Python call names the Python option, not the CLI's
    assert NoPlateFoundError is segocr.errors.NoPlateFoundError  # also importable from segocr.locate
    path = tmp_path / "street.png"
    write_image(path, scene)
    res = CliRunner().invoke(main, ["read", "--json", str(path)])
    assert res.exit_code == 1
    row = json.loads(res.stdout.strip().splitlines()[0])
    assert row["text"] is None and NO_PLATE in row["error"]
    assert f"error: {path}: {NO_PLATE}" in res.stderr


def test_flat_image_has_no_candidates() -> None:
    assert find_candidates(np.full((720, 1280, 3), 90, np.uint8)) == []


def test_crop_is_not_relocated(tmp_path: Path) -> None:
    files = sorted(SAMPLES.glob("*.png"))[:3]
    res_auto = CliRunner().invoke(main, ["read", "--json", *map(str, files)])
    res_never = CliRunner().invoke(main, ["read", "--json", "--locate", "never", *map(str, files)])
    assert res_auto.exit_code == 0 and res_never.exit_code == 0, res_auto.output
    auto = [json.loads(line) for line in res_auto.stdout.strip().splitlines()]
    assert auto == [json.loads(line) for line in res_never.stdout.strip().splitlines()]
    assert all("quad" not in row for row in auto)


def test_scene_json_gives_the_quad_and_never_reads_it_whole(
    one_plate_scene: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    scene, corners = one_plate_scene
    path = tmp_path / "car.png"
    write_image(path, scene)
    res = CliRunner().invoke(
        main, ["read", "--json", str(path), "--annotate", str(tmp_path / "drawn")]
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout.strip())
    assert row["text"] == "9KE0410" and len(row["quad"]) == 4 and row["plate_score"] > 0.5
    assert quad_iou(np.array(row["quad"], np.float32), corners) >= 0.5
    assert (tmp_path / "drawn" / "car.png").exists()
    never = CliRunner().invoke(main, ["read", "--json", "--locate", "never", str(path)])
    assert "quad" not in json.loads(never.stdout.strip())


def test_decision_rules_on_hand_made_readings() -> None:
    row = Prediction.from_chars(
        [CharPrediction(c, 0.9, CharBox(10 + 20 * i, 5, 15, 30)) for i, c in enumerate("AB123")],
        "x",
    )
    assert row_fills_image(row, 50) and not row_fills_image(row, 500)
    assert crop_shaped((548, 1062, 3)) and crop_shaped((26, 75, 3))
    assert (
        not crop_shaped((720, 1280, 3))
        and not crop_shaped((1160, 720, 3))
        and not crop_shaped((240, 320, 3))
    )
    photo = np.zeros((720, 1280, 3), np.uint8)
    filled = decide(np.zeros((50, 400, 3), np.uint8), row)
    assert filled is not None and filled.kind == "crop"
    assert decide(photo, row) is None and decide(photo, Prediction("", 0.0)) is None
    nothing = decide(photo, Prediction("", 0.0), [])
    assert nothing is not None and nothing.kind == "scene"
    crop_like = decide(np.zeros((60, 200, 3), np.uint8), Prediction("", 0.0), [])
    assert crop_like is not None and crop_like.kind == "crop"
    with pytest.raises(ValueError, match="choose one of"):
        LocatingReader(segocr.load_recognizer(), segocr.load_recognizer(), mode="sometimes")  # type: ignore[arg-type]


@pytest.mark.real_data
def test_real_iwt4s_crops_are_read_as_crops(iwt4s_dir: Path) -> None:
    """The largest IWT4S crops (car body included, up to 1062x548) and a small one:
    auto mode reads each as a crop, exactly as --locate never does."""
    paths = sorted(iwt4s_dir.glob("crop_*/*.png"), key=lambda p: p.stat().st_size)
    chosen = [*paths[-4:], paths[0]]
    images = [read_image(p) for p in chosen]
    assert max(max(i.shape[:2]) for i in images) >= 1000
    rec = segocr.load_recognizer()
    auto = LocatingReader(rec, rec, mode="auto").read(images)
    never = rec.predict(images)
    for plates, pred in zip(auto, never, strict=True):
        assert plates == [pred] and "quad" not in plates[0].info


@pytest.mark.real_data
def test_real_scene_loaders(ccpd_dir: Path) -> None:
    from segocr.locate.scenes import ccpd_scenes, uc3m_scenes

    ccpd = ccpd_scenes(ccpd_dir / "CCPD2019-sample", "test")
    assert len(ccpd) == 100 and all(len(s.quads) == 1 and len(s.texts) == 1 for s in ccpd)
    uc3m_root = ccpd_dir.parent / "uc3m-lp"
    if not uc3m_root.exists():
        pytest.skip(f"real data not found at {uc3m_root}")
    val = uc3m_scenes(uc3m_root, "val")
    assert len(val) == 100 and sum(len(s.quads) for s in val) == 123
    assert all(len(s.texts) == len(s.quads) for s in val)


def test_the_verifier_refuses_a_corrupt_or_mismatched_file(tmp_path: Path) -> None:
    import shutil

    from segocr.errors import WeightsError
    from segocr.locate.verifier import DEFAULT_PATH, load_classifier

    npz, card = tmp_path / "v.npz", tmp_path / "v.json"
    shutil.copy(DEFAULT_PATH, npz)
    shutil.copy(DEFAULT_PATH.with_suffix(".json"), card)
    assert load_classifier(npz).card["model"] == "locate-hog"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(WeightsError, match="sha256"):
        load_classifier(npz)
    card.unlink()
    with pytest.raises(WeightsError, match="not a usable plate verifier"):
        load_classifier(npz)


def test_the_shipped_scene_reads_both_plates() -> None:
    """The README's photo example: data/scenes/street.jpg holds two sample plates."""
    path = Path(__file__).resolve().parents[1] / "data" / "scenes" / "street.jpg"
    assert sorted(p.text for p in segocr.read_plates(path)) == ["3J55450", "9KE0410"]
