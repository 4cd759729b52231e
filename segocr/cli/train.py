"""`segocr train` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command()
def train() -> None:
    """Not implemented yet."""
    raise click.ClickException("segocr train is not implemented yet")
