"""`segocr read` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command()
def read() -> None:
    """Not implemented yet."""
    raise click.ClickException("segocr read is not implemented yet")
