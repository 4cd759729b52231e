"""`segocr datasets` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command()
def datasets() -> None:
    """Not implemented yet."""
    raise click.ClickException("segocr datasets is not implemented yet")
