"""`v2c-solar prices show`: the import and export prices of a day, as the daemon would see them.

Builds the price feed through the composition root (`build_price_feed`: the
configured provider, its disk cache, the retail formula, the export price)
and prints one row per interval in the site's local time.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from optimizer.prices.series import PriceSeries, PriceSlot

if TYPE_CHECKING:
    from optimizer.prices.feed import PriceFeed

app = typer.Typer(no_args_is_help=True)
"""Registered by `optimizer.cli.main`, which holds its help (listed without importing this)."""


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _parse_day(text: str | None, today: date) -> date:
    if text is None:
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"prices show: --day: expected YYYY-MM-DD (got {text!r})")


def price_table(series: PriceSeries, timezone: tzinfo, title: str) -> Table:
    """One row per run of equal prices: local start and end, import and export (EUR/kWh)."""
    table = Table(title=title)
    table.add_column("local time")
    table.add_column("import EUR/kWh", justify="right")
    table.add_column("export EUR/kWh", justify="right")
    for first, last in _runs(list(series.slots())):
        start, end = first.start.astimezone(timezone), last.end.astimezone(timezone)
        export = "-" if first.export_eur_per_kwh is None else f"{first.export_eur_per_kwh:.4f}"
        table.add_row(
            f"{start:%H:%M}-{end:%H:%M} {start:%Z}", f"{first.import_eur_per_kwh:.4f}", export
        )
    return table


def _runs(slots: list[PriceSlot]) -> list[tuple[PriceSlot, PriceSlot]]:
    """First and last slot of each run of back-to-back slots with equal prices."""
    runs: list[tuple[PriceSlot, PriceSlot]] = []
    for slot in slots:
        if runs and _same_prices(runs[-1][1], slot):
            runs[-1] = (runs[-1][0], slot)
        else:
            runs.append((slot, slot))
    return runs


def _same_prices(a: PriceSlot, b: PriceSlot) -> bool:
    return (a.import_eur_per_kwh, a.export_eur_per_kwh) == (
        b.import_eur_per_kwh,
        b.export_eur_per_kwh,
    )


def _quietly(feed: PriceFeed, start: datetime, end: datetime) -> PriceSeries:
    """The feed's prices without its outage warning: this command reports a failure itself."""
    feed_log = logging.getLogger("optimizer.prices.feed")
    level = feed_log.level
    feed_log.setLevel(logging.ERROR)
    try:
        return feed.prices(start, end)
    finally:
        feed_log.setLevel(level)


@app.command("show")
def show_command(
    config: Annotated[Path, typer.Option(help="The app config (TOML) with a \\[prices] section")],
    day: Annotated[str | None, typer.Option(help="Local day YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Print a day's import and export prices (EUR/kWh) from the configured provider."""
    from optimizer.clock import WallClock
    from optimizer.composition import build_price_feed
    from optimizer.config import ConfigError, load_config
    from optimizer.prices.port import PriceSourceError
    from optimizer.prices.tariffs import local_day_bounds

    try:
        app_config = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
    clock = WallClock()
    tz = app_config.site.tz
    wanted = _parse_day(day, clock.now().astimezone(tz).date())
    try:
        feed = build_price_feed(app_config, clock, os.environ)
    except PriceSourceError as exc:
        _fail(f"prices show: {exc}")
    if feed is None:
        _fail(f"{config}: no [prices] section (see config/home.toml)")
    start, end = local_day_bounds(wanted, tz)
    series = _quietly(feed, start, end)
    if feed.failing is not None and not len(series):
        _fail(f"prices show: {feed.failing}", code=1)
    if not len(series):
        published = feed.source.publishes_at(wanted)
        when = "" if published is None else f" (published from {published:%Y-%m-%d %H:%M} UTC)"
        _fail(f"prices show: no prices for {wanted} yet{when}", code=1)
    console = Console()
    console.print(price_table(series, tz, f"Prices {wanted} ({feed.source.name})"))
    console.print(f"source: {series.source}")
    if series.end is not None and series.end < end:
        console.print(f"known until {series.end.astimezone(tz):%H:%M} of {wanted}")
