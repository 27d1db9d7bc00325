"""The `v2c-solar` command: one typer app, each command group in its own module."""

from __future__ import annotations

import typer

from optimizer.cli import backtest, daemon, device, forecast, sessions, simulator

app = typer.Typer(
    name="v2c-solar",
    help="Charge an electric car from rooftop solar through the V2C Cloud API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(device.app, name="device")
app.add_typer(simulator.app, name="simulator")
app.add_typer(forecast.app, name="forecast")
daemon.register(app)
sessions.register(app)
backtest.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
