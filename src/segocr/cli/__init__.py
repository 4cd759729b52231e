"""The ``segocr`` command: a click group with one small module per command.

The commands only parse options and print; the work lives in the library.
"""

from __future__ import annotations

import importlib

import click

from segocr import __version__

#: Commands imported only when run (or listed): ``segocr read`` does not pay for the
#: evaluation, training and plotting imports of the other commands.
LAZY_COMMANDS: dict[str, str] = {
    "read": "segocr.cli.read",
    "benchmark": "segocr.cli.benchmark",
    "train": "segocr.cli.train",
    "datasets": "segocr.cli.datasets",
    "ablate": "segocr.cli.ablate",
    "export": "segocr.cli.export",
}


class LazyGroup(click.Group):
    """A click group whose :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module = importlib.import_module(LAZY_COMMANDS[cmd_name])
            self.add_command(getattr(module, cmd_name))
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segocr")
def main() -> None:
    """Read licence plates from plate crops, and measure how well it works."""


__all__ = ["main"]
