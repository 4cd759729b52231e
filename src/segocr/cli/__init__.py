"""The ``segocr`` command: a click group with one small module per command.

The commands only parse options and print; the work lives in the library.
"""

from __future__ import annotations

import click

from segocr import __version__
from segocr.cli.ablate import ablate
from segocr.cli.benchmark import benchmark
from segocr.cli.datasets import datasets
from segocr.cli.read import read
from segocr.cli.train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segocr")
def main() -> None:
    """Read licence plates from plate crops, and measure how well it works."""


for _command in (read, benchmark, train, datasets, ablate):
    main.add_command(_command)

__all__ = ["main"]
