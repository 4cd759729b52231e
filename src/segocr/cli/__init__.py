"""The ``segocr`` command: a click group with one small module per command.

The commands only parse options and print; the work lives in the library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

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


#: Modules of the ``train`` extra (torch, export, benchmarks, plots), absent from a
#: light install.
TRAIN_EXTRA_MODULES = frozenset({"torch", "onnx", "pandas", "matplotlib", "sklearn", "scipy", "skimage", "PIL"})


class LazyGroup(click.Group):
    """A click group whose :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:  # a light install running a training command
            if (exc.name or "").split(".")[0] not in TRAIN_EXTRA_MODULES:
                raise
            raise click.ClickException(f"this needs {exc.name}: pip install 'segocr[train]'") from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            try:
                module = importlib.import_module(LAZY_COMMANDS[cmd_name])
            except ModuleNotFoundError as exc:  # a light install (no `train` extra)
                return _needs_extra(cmd_name, exc.name or str(exc))
            self.add_command(getattr(module, cmd_name))
        return super().get_command(ctx, cmd_name)


def _needs_extra(name: str, missing: str) -> click.Command:
    """Stand-in for command ``name`` when its module needs ``missing``, which the
    light install lacks: listed in the help, and running it is a one-line error."""
    why = f"needs {missing}: pip install 'segocr[train]'"

    def run() -> None:
        raise click.ClickException(f"segocr {name} {why}")

    return click.Command(
        name,
        callback=run,
        help=f"(not installed: {why})",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segocr")
def main() -> None:
    """Read licence plates from plate crops and photos, and measure how well it works."""


class _SettingError(click.ClickException):
    """A bad setting in the environment (``$SEGOCR_MAX_IMAGE_PIXELS=abc``): a usage
    error, exit status 2, one line."""

    exit_code = 2


def _check_streams_and_limits() -> None:
    """Before any work: a closed stdout is an error (every result would be lost), a
    closed stderr is replaced by /dev/null (the results still come out; the exit
    status still tells), stdout in a non-UTF-8 encoding escapes what it cannot encode
    (a plate or file name in Chinese on a Latin-1 terminal) instead of failing, and the
    ``SEGOCR_MAX_*`` limits set in the environment must be positive integers."""
    import os
    import sys

    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:
        raise click.ClickException("stdout is closed: no result could be printed (redirect it to a file or /dev/null)")
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding not in ("utf8", "utf8sig") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    if any(key.startswith("SEGOCR_MAX_") for key in os.environ):
        from segocr.io import limit

        for name in ("max_bytes", "max_pixels", "max_scans"):
            try:
                limit(name)
            except ValueError as exc:
                raise _SettingError(str(exc)) from None


def _invoke(ctx: click.Context, _run: Callable[[click.Context], Any] = main.invoke) -> Any:
    """Run the command; an environment error (disk full, file too large, read-only file
    system, a path under a file, ...) becomes one line and exit status 1, never a
    traceback; Ctrl-C is one line and exit status 130. Stdout is flushed here so that a failing final flush is caught too.
    (A closed pipe is left to click, which exits quietly.)"""
    import errno
    import os
    import sys

    from segocr.names import one_line

    _check_streams_and_limits()
    try:
        result = _run(ctx)
        sys.stdout.flush()
        return result
    except KeyboardInterrupt:  # Ctrl-C outside a read loop (loading, a benchmark, training)
        click.echo("stopped by SIGINT (Ctrl-C)", err=True)
        sys.exit(130)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        try:  # nothing more can be written there; the final flush must not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        reason = exc.strerror or str(exc) or type(exc).__name__
        where = f"{one_line(exc.filename)}: " if exc.filename else "write failed: "
        raise click.ClickException(f"{where}{reason}") from None


main.invoke = _invoke  # type: ignore[method-assign]


__all__ = ["main"]
