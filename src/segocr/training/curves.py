"""Training curves: loss, plate accuracy and CER per epoch, drawn from a run's log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Columns drawn when present: (panel title, [(column, label), ...]).
PANELS = (
    ("loss", [("loss", "train"), ("val_loss", "validation")]),
    ("plate accuracy", [("val_plate_accuracy", "validation")]),
    ("CER", [("val_cer", "validation")]),
)


def plot_curves(log: pd.DataFrame, path: Path, *, title: str = "") -> Path | None:
    """Draw the columns of :data:`PANELS` found in ``log`` (one row per epoch, in
    order; a ``stage`` column marks where a stage starts) into the PNG ``path``
    (matplotlib's Agg renderer, no pyplot). Returns ``path``, or ``None`` when ``log`` is empty.

    >>> import tempfile
    >>> log = pd.DataFrame({"loss": [2.0, 1.0], "val_plate_accuracy": [0.5, 0.8]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     plot_curves(log, Path(d) / "curves.png").name
    'curves.png'
    """
    if log.empty:
        return None
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, PNG via Agg
    from matplotlib.ticker import MaxNLocator

    # A column without any value yet (e.g. no validation in a first stage) gets no panel.
    panels = [(t, [(c, lab) for c, lab in cols if c in log.columns and log[c].notna().any()]) for t, cols in PANELS]
    panels = [(t, cols) for t, cols in panels if cols]
    fig = Figure(figsize=(4.2 * max(1, len(panels)), 3.4), layout="constrained")
    axes = fig.subplots(1, max(1, len(panels)), squeeze=False)[0]
    x = list(range(1, len(log) + 1))
    starts: list[tuple[int, str]] = []
    if "stage" in log.columns:
        stages = log["stage"].astype(str).tolist()
        starts = [(i + 1, s) for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
    for ax, (name, cols) in zip(axes, panels):
        for col, label in cols:
            ax.plot(x, log[col].astype(float).tolist(), marker=".", label=label)
        for i, (pos, stage) in enumerate(starts):
            if i:
                ax.axvline(pos - 0.5, color="grey", lw=0.8, ls="--")
            y = 0.99 - 0.07 * (i % 2)  # alternate heights: short stages' labels must not overlap
            ax.annotate(stage, (pos, y), xycoords=("data", "axes fraction"), va="top", fontsize=7, color="grey")
        # Every panel spans all epochs, also one whose column starts late (stage
        # labels outside the axes would squeeze the layout to nothing).
        ax.set_xlim(0.5, len(log) + 0.5)
        if name == "loss":
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(cols) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
