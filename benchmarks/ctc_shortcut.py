"""How often the CTC decoder's shortcut serves a plate, and what it saves (issue 12).

    python benchmarks/ctc_shortcut.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]
                                      [--models crnn-iwt4s,crnn,crnn-fast] [--repeats 5]

For each CTC recognizer (ONNX Runtime), the logits of every IWT4S image (train and test,
652; timing only, nothing is scored or chosen) are computed once, then decoded:

* **best path > 1/2**: plates whose single most likely alignment has probability above
  1/2 (the first test of :func:`segocr.recognizers.decode._dominant_path`);
* **text > 1/2**: plates the shortcut serves, i.e. the best path's text has probability
  above 1/2 summed over its alignments (the second test);
* milliseconds a plate of ``ctc_beam_decode`` with the shortcut and without it (the
  prefix beam search for every plate), median of ``--repeats`` passes, one thread;
* how many texts, confidences and posteriors are the same both ways.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.recognizers.decode import _LOG2, Decoded, _dominant_path, ctc_beam_decode, log_softmax
from segocr.recognizers.textline import line_batch

ROOT = Path(__file__).resolve().parents[1]


def decode_all(logits: np.ndarray, shortcut: bool) -> tuple[list[Decoded], float]:
    """(decoded plates, wall seconds) of ``ctc_beam_decode`` over logits (N, T, C)."""
    blank = logits.shape[-1] - 1
    t = time.perf_counter()
    out = [ctc_beam_decode(x, blank=blank, shortcut=shortcut) for x in logits]
    return out, time.perf_counter() - t


def same_reading(a: Decoded, b: Decoded) -> bool:
    """Same text, character confidences and posteriors (both None for an empty text)."""
    if a.indices != b.indices or a.confidences != b.confidences:
        return False
    if a.posteriors is None or b.posteriors is None:
        return a.posteriors is b.posteriors
    return bool(np.array_equal(a.posteriors, b.posteriors))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--models", default="crnn-iwt4s,crnn,crnn-fast")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    ds = load_dataset("iwt4s", args.data_dir)
    images = [s.load() for split in ("train", "test") for s in ds.samples(split)]
    print(f"{len(images)} IWT4S images; ms a plate: median of {args.repeats} passes\n")
    print("| model | best path > 1/2 | text > 1/2 (shortcut) | ms, search only | ms, with shortcut | same readings |")
    print("|:--|--:|--:|--:|--:|--:|")
    for name in args.models.split(","):
        rec = load_recognizer(name, device="cpu", runtime="onnx")
        logits = rec.logits(line_batch(images, rec.line))
        blank = logits.shape[-1] - 1
        lps = [log_softmax(x) for x in logits]
        by_path = sum(float(lp.max(axis=1).sum()) > -_LOG2 for lp in lps)
        by_text = sum(_dominant_path(lp, blank, 1e-4) is not None for lp in lps)
        times: dict[bool, list[float]] = {False: [], True: []}
        results: dict[bool, list[Decoded]] = {}
        for _ in range(args.repeats):
            for shortcut in (False, True):  # interleaved
                results[shortcut], seconds = decode_all(logits, shortcut)
                times[shortcut].append(seconds / len(logits) * 1e3)
        same = sum(same_reading(a, b) for a, b in zip(results[False], results[True]))
        n = len(logits)
        print(
            f"| {name} | {by_path / n:.1%} | {by_text / n:.1%} | {statistics.median(times[False]):.3f} "
            f"| {statistics.median(times[True]):.3f} | {same} / {n} |"
        )


if __name__ == "__main__":
    main()
