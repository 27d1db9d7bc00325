"""The `v2c-solar` command: one typer app, each command group in its own module.

Only light modules are imported here: the top-level commands' modules import
their heavy dependencies (pandas, pvlib, SQLAlchemy, the simulator) inside the
functions that use them, and the `device`, `simulator` and `forecast` groups
are imported when invoked (`optimizer.cli.lazy`), so `--help` and every
`device` call start in a fraction of a second.
"""

from __future__ import annotations

import sys

import click
import typer
from typer.exceptions import TyperException

from optimizer.cli import backtest, daemon, plan, sessions, target
from optimizer.cli.lazy import LazyGroup, LazySubApp
from optimizer.cli.stdout_guard import route_native_stdout_to_stderr


class RootGroup(LazyGroup):
    """The root's own commands, then the command groups loaded on use."""

    sub_apps = (
        LazySubApp(
            "device",
            "optimizer.cli.device",
            help="Call one V2C Cloud endpoint and print its answer as JSON in SI units "
            "(key from V2C_API_KEY). Every command costs one call of the daily quota.",
        ),
        LazySubApp(
            "simulator",
            "optimizer.cli.simulator",
            help="Serve the V2C Cloud simulator: the same HTTP API over a simulated home, "
            "on 127.0.0.1.",
        ),
        LazySubApp(
            "forecast",
            "optimizer.cli.forecast",
            help="PV forecast: evaluate on measured data, show the clear sky.",
        ),
        LazySubApp(
            "prices",
            "optimizer.cli.prices",
            help="Electricity prices: show a day's import and export prices from \\[prices].",
        ),
    )


app = typer.Typer(
    name="v2c-solar",
    cls=RootGroup,
    help="Charge an electric car from rooftop solar through the V2C Cloud API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
daemon.register(app)
sessions.register(app)
plan.register(app)
target.register(app)
backtest.register(app)


ARGUMENT_ERRORS: tuple[type[Exception], ...] = (TyperException, click.ClickException)
"""Argument and usage errors: typer >= 0.2x vendors click, older typer uses click itself."""


def error_line(exc: Exception) -> str:
    """One line naming the command and what is wrong with its arguments."""
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or "v2c-solar"
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    return f"error: {where}: {' '.join(str(message).split())} (see '{where} --help')"


def main() -> None:
    """Console-script entry point.

    Argument errors (missing, unknown or malformed options, unknown commands)
    print one line and exit with code 2 before anything is called, instead of
    a multi-line usage box; commands' own exit codes pass through. Standard output
    carries only what the command prints (`stdout_guard`).
    """
    route_native_stdout_to_stderr()
    try:
        code = app(standalone_mode=False)
    except (typer.Exit, click.exceptions.Exit) as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, click.Abort):
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except ARGUMENT_ERRORS as exc:
        print(error_line(exc), file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
