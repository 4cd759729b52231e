"""Rank finished training runs on their validation figures only, best first.

    python benchmarks/select_by_validation.py runs/crnn-select/*

Each RUN is a ``segocr train`` output folder of a crnn or holistic run, ideally trained
with ``--no-eval-test``; test figures in a run's card are never read. See
``segocr.training.selection``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segocr.errors import SegocrError
from segocr.training.selection import rank_runs, ranking_table, summarize_run


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
def main(runs: tuple[Path, ...]) -> None:
    """Rank RUNS by validation plate accuracy, then CER, then loss."""
    try:
        ranked = rank_runs(summarize_run(r) for r in runs)
    except SegocrError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(ranking_table(ranked))
    best = ranked[0]
    click.echo(f"\nchosen on validation: {best.name} ({best.path})")


if __name__ == "__main__":
    main()
