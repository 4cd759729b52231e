"""How well characters cut from synthetic plates stand in for real ones: a character
classifier (segcnn's CharCNN) trained on synthetic crops only, tested on real character
images it never saw, for the first-generation style mix and the second-generation one.

    python benchmarks/synthetic_chars.py [--plates 1500] [--epochs 6]

Training data: ``--plates`` plates per mix rendered by ``segocr.datasets.synthetic``
(default degradations, ``p_picture=0`` so the run does not depend on
``us-plate-designs``), each character cut by its known box with segcnn's ``crop_char``
(light ink inverted). Mixes: ``gen1`` = 0.8 ``cz`` + 0.2 ``generic`` (what segcnn's
training adds today), ``gen2`` = the ``latin`` mix (every one-row Latin style).
Test data (never used to choose anything): the real single-character images of
``../shared/data/openalpr-train-ocr/{gb,br}/chars`` (UK and Brazil, label = first
character of the file name). Same seeds, model and training for both mixes.
Writes ``benchmarks/results/synthetic_chars.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from segocr.charset import LATIN, Charset
from segocr.datasets.synthetic import DEFAULT_CONFIG, STYLE_MIXES, random_plate_text, render_plate
from segocr.datasets.synthetic.render import draw_style
from segocr.io import read_image
from segocr.models.charcnn import CharCNN
from segocr.recognizers.segcnn import crop_char
from segocr.segment.boxes import CharBox
from segocr.training.augment import augment_crops

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEGOCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MIXES = {"gen1": {"cz": 0.8, "generic": 0.2}, "gen2": dict(STYLE_MIXES["latin"])}
SIZE = 32
CHARSET = Charset(LATIN)


def synthetic_crops(mix: dict[str, float], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    cfg = DEFAULT_CONFIG.model_copy(update={"p_picture": 0.0})
    xs, ys = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        style = draw_style(rng, mix)
        p = render_plate(random_plate_text(rng, style), rng=rng, config=cfg, style=style)
        gray = cv2.cvtColor(p.image, cv2.COLOR_RGB2GRAY)
        for c, b in zip(p.text, p.boxes):
            xs.append(crop_char(gray, b, size=SIZE, invert=not p.dark_ink))
            ys.append(CHARSET.encode(c)[0])
    return np.stack(xs), np.array(ys, np.int64)


def real_chars(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for f in sorted(folder.iterdir()):
        c = f.name[0].upper()
        if c not in CHARSET or f.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        gray = cv2.cvtColor(read_image(f), cv2.COLOR_RGB2GRAY)
        h, w = gray.shape
        xs.append(crop_char(gray, CharBox(0, 0, w, h), size=SIZE))
        ys.append(CHARSET.encode(c)[0])
    return np.stack(xs), np.array(ys, np.int64)


def train(x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int) -> CharCNN:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = CharCNN(len(CHARSET))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    steps = epochs * -(-len(y) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(y))
        for i in range(0, len(order), 128):
            idx = order[i : i + 128]
            xb = torch.from_numpy(augment_crops(x[idx], rng=rng)).unsqueeze(1)
            loss = loss_fn(model(xb), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: CharCNN, x: np.ndarray, y: np.ndarray) -> float:
    pred = torch.cat([model(torch.from_numpy(x[i : i + 512]).unsqueeze(1)).argmax(1) for i in range(0, len(y), 512)])
    return float((pred.numpy() == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plates", type=int, default=1500)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tests = {}
    for country in ("gb", "br"):
        folder = SHARED / "openalpr-train-ocr" / country / "chars"
        if not folder.is_dir():
            raise SystemExit(f"real characters not found at {folder} (put ../shared/data beside the repository)")
        tests[country] = real_chars(folder)
    res: dict[str, object] = {"plates": args.plates, "epochs": args.epochs, "seed": args.seed,
                              "test_counts": {k: len(v[1]) for k, v in tests.items()}, "mixes": MIXES, "results": {}}  # fmt: skip
    for name, mix in MIXES.items():
        t0 = time.perf_counter()
        x, y = synthetic_crops(mix, args.plates, args.seed)
        t1 = time.perf_counter()
        model = train(x, y, epochs=args.epochs, seed=args.seed)
        accs = {k: round(100 * accuracy(model, *v), 1) for k, v in tests.items()}
        res["results"][name] = {"train_crops": len(y), "render_s": round(t1 - t0), "train_s": round(time.perf_counter() - t1), "accuracy_percent": accs}  # type: ignore[index]
        print(name, len(y), "crops", accs, flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "synthetic_chars.json").write_text(json.dumps(res, indent=2) + "\n")
    rows = ["| training crops from | crops | real UK chars | real BR chars |", "|---|---:|---:|---:|"]
    for name, r in res["results"].items():  # type: ignore[attr-defined]
        rows.append(f"| {name} ({'+'.join(MIXES[name])}) | {r['train_crops']} | {r['accuracy_percent']['gb']}% | {r['accuracy_percent']['br']}% |")
    (out / "synthetic_chars.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
