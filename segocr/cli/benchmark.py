"""`segocr benchmark` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command()
def benchmark() -> None:
    """Not implemented yet."""
    raise click.ClickException("segocr benchmark is not implemented yet")
