"""A small learned plate verifier: HOG features of an upright candidate crop and a
logistic regression (plate / not a plate).

It runs with numpy and OpenCV only: the model is ``src/segocr/weights/locate-hog.npz``
(feature means and scales, weights, bias) with its sealed card ``locate-hog.json``
(training data and their licences, command, held-out figures, the npz's sha256). It is trained by
:func:`train` on candidate regions of the training parts of CCPD and UC3M-LP (see
``python -m segocr.locate.verifier --help``); the weights inherit those data's terms.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segocr.errors import WeightsError
from segocr.locate.geometry import Quad, rectify

#: (H, W) of the gray crop the features are computed on.
FEATURE_SIZE = (32, 128)
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "weights" / "locate-hog.npz"


def _hog() -> cv2.HOGDescriptor:
    h, w = FEATURE_SIZE
    return cv2.HOGDescriptor((w, h), (16, 16), (8, 8), (8, 8), 9)


def features(image: np.ndarray, quads: list[Quad]) -> np.ndarray:
    """(n, d) float32 HOG features of the upright crops of ``quads`` in ``image``
    (uint8 RGB (H, W, 3) or gray), each equalised first.

    >>> features(np.zeros((100, 200), np.uint8), []).shape[0]
    0
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    hog = _hog()
    h, w = FEATURE_SIZE
    out = []
    for q in quads:
        crop = rectify(gray, q, height=h, width=w)
        crop = cv2.equalizeHist(crop)
        out.append(np.asarray(hog.compute(crop), np.float32).ravel())
    return (
        np.stack(out).astype(np.float32)
        if out
        else np.zeros((0, hog.getDescriptorSize()), np.float32)
    )


@dataclass(frozen=True)
class PlateClassifier:
    """Logistic regression on standardised HOG features: :meth:`probability`."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    card: dict[str, Any]

    def probability(self, image: np.ndarray, quads: list[Quad]) -> np.ndarray:
        """(n,) P(plate) of each quad's upright crop in ``image``."""
        return self.probability_of_features(features(image, quads))

    def probability_of_features(self, x: np.ndarray) -> np.ndarray:
        """(n,) P(plate) of (n, d) features."""
        if not len(x):
            return np.zeros(0, np.float32)
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write ``path`` (.npz) and its sealed card beside it (``.json``)."""
        from segocr.models.weights import seal_card, sha256_bytes

        buf = io.BytesIO()
        np.savez(
            buf, mean=self.mean, scale=self.scale, weights=self.weights, bias=np.float64(self.bias)
        )
        data = buf.getvalue()
        path.write_bytes(data)
        card = {**self.card, "sha256": sha256_bytes(data), "size_bytes": len(data)}
        path.with_suffix(".json").write_text(json.dumps(seal_card(card), indent=2) + "\n")


def load_classifier(path: Path | None = None) -> PlateClassifier:
    """The verifier stored at ``path`` (.npz, its card beside it; default: the shipped
    one). A missing, corrupt or mismatched file raises :class:`segocr.errors.WeightsError`."""
    from segocr.models.weights import card_digest, check_card_fields, sha256_bytes

    path = path or DEFAULT_PATH
    card_path = path.with_suffix(".json")
    try:
        card = check_card_fields(json.loads(card_path.read_text()), card_path)
        if card.get("card_sha256") not in (None, card_digest(card)):
            raise ValueError(f"{card_path.name} does not match its card_sha256")
        data = path.read_bytes()
        if sha256_bytes(data) != card["sha256"]:
            raise ValueError(f"{path.name} does not match the sha256 of its card")
        with np.load(io.BytesIO(data)) as z:
            mean, scale, weights, bias = z["mean"], z["scale"], z["weights"], float(z["bias"])
        d = _hog().getDescriptorSize()
        if not (len(weights) == len(mean) == len(scale) == d):
            raise ValueError(f"feature size {len(weights)} does not match the HOG's {d}")
        return PlateClassifier(mean, scale, weights, bias, dict(card))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{path}: not a usable plate verifier ({exc})") from None


def training_examples(scenes: list, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, scene index) from ``scenes`` (:class:`segocr.locate.scenes.Scene`):
    each scene's candidates (:func:`segocr.locate.find_candidates`) overlapping a true
    plate with box IoU >= 0.5 are positives, those under 0.2 negatives (in between:
    left out), and each true plate with its corners jittered twice (4% of its size)
    is a positive too."""
    from segocr.io import read_image
    from segocr.locate.candidates import find_candidates
    from segocr.locate.geometry import box_iou

    rng = np.random.default_rng(seed)
    xs, ys, groups = [], [], []
    for k, scene in enumerate(scenes):
        image = read_image(scene.path)
        quads, labels = [], []
        for cand in find_candidates(image):
            iou = max(box_iou(q, cand.quad) for q in scene.quads)
            if iou >= 0.5 or iou < 0.2:
                quads.append(cand.quad)
                labels.append(int(iou >= 0.5))
        for q in scene.quads:
            size = np.array([np.ptp(q[:, 0]), np.ptp(q[:, 1])], np.float32)
            for _ in range(2):
                quads.append(
                    (q + rng.normal(0, 0.04, (4, 2)).astype(np.float32) * size).astype(np.float32)
                )
                labels.append(1)
        xs.append(features(image, quads))
        ys += labels
        groups += [k] * len(labels)
    return np.concatenate(xs), np.array(ys), np.array(groups)


def fit(
    x: np.ndarray, y: np.ndarray, *, c: float = 0.01, card: dict[str, Any] | None = None
) -> PlateClassifier:
    """Logistic regression (scikit-learn, L2 with inverse strength ``c``, balanced
    classes) on standardised ``x`` (n, d) with labels ``y`` (n,) in {0, 1}."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit((x - mean) / scale, y)
    return PlateClassifier(
        mean, scale, model.coef_[0].astype(np.float32), float(model.intercept_[0]), card or {}
    )


def main(argv: list[str] | None = None) -> None:
    """Train the shipped verifier: ``python -m segocr.locate.verifier --data-dir ../shared/data``."""
    import argparse
    import platform
    import time

    from segocr.locate.scenes import ccpd_scenes, uc3m_scenes

    ap = argparse.ArgumentParser(
        description="Train the HOG plate verifier on CCPD train/ and UC3M-LP train scenes."
    )
    ap.add_argument(
        "--data-dir", type=Path, required=True, help="the folder holding ccpd/ and uc3m-lp/"
    )
    ap.add_argument("--c", type=float, default=0.01)
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = ap.parse_args(argv)
    t0 = time.time()
    scenes = ccpd_scenes(args.data_dir / "ccpd" / "CCPD2019-sample", "train") + uc3m_scenes(
        args.data_dir / "uc3m-lp", "train"
    )
    x, y, groups = training_examples(scenes)
    held = groups % 5 == 0  # every fifth scene: held out to report, then trained on too
    part = fit(x[~held], y[~held], c=args.c)
    p = part.probability_of_features(x[held])
    held_metrics = {
        "held_out_scenes": len(np.unique(groups[held])),
        "held_out_examples": int(held.sum()),
        "held_out_accuracy": round(float(((p >= 0.5) == y[held]).mean()), 4),
        "held_out_recall_of_plates": round(float((p[y[held] == 1] >= 0.5).mean()), 4),
        "held_out_false_positive_rate": round(float((p[y[held] == 0] >= 0.5).mean()), 4),
    }
    card = {
        "model": "locate-hog",
        "charset": "01",  # its two classes: 0 not a plate, 1 a plate
        "input_size": list(FEATURE_SIZE),
        "what": "plate / not-a-plate verifier for segocr.locate: HOG (32x128 crop, 16x16 blocks, 8x8 cells, 9 bins) + logistic regression",
        "training_data": {
            "CCPD2019-sample train/": "240 frames, MIT (https://github.com/detectRecog/CCPD)",
            "UC3M-LP LP/ train": "300 scenes (downscaled to 320x240), ODbL; commercial use needs the authors' consent",
        },
        "licence": "inherits its training data's terms: the UC3M-LP part (ODbL, commercial use only with the authors' consent) is the strictest",
        "examples": len(y),
        "positives": int(y.sum()),
        "c": args.c,
        "metrics": held_metrics,
        "command": "python -m segocr.locate.verifier --data-dir ../shared/data",
        "seconds": round(time.time() - t0, 1),
        "platform": platform.platform(),
    }
    model = fit(x, y, c=args.c, card=card)
    model.save(args.out)
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
