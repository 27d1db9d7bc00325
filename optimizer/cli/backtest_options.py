"""`v2c-solar backtest --prices FILE --export-price X|FILE --forecast MODE`: parsed into inputs.

* `--prices FILE`: a price file (`adapters.prices.csv_file`: interval starts, import
  price, optionally `export_eur_per_kwh`), read strictly: a gap, a duplicate, a time the
  clocks skip, a unit error is one line naming file, row and column. Negative prices are
  prices. It replaces a data set's own prices; it drives the policies (what `target`'s
  least-cost planner plans with, each day visible from 13:00 the day before,
  `optimizer.backtest.price_source`) and the cost column.
* `--export-price X|FILE`: what a kWh fed in earns (EUR/kWh), flat or from a price file
  (its export column, else its price column). It is the planner's export price and
  enters the cost column (the car's solar at the export price: `optimizer.backtest.metrics`).
* `--forecast offline|oracle|file:PATH`: `optimizer.backtest.forecast_modes`.

Every price file must cover the simulated window.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.backtest.engine import BacktestInputs
    from optimizer.backtest.forecast_modes import ForecastMode
    from optimizer.prices.series import PriceSeries

FORECAST_MODES = "offline, oracle or file:PATH"


class OptionError(ValueError):
    """A bad `--prices`, `--export-price` or `--forecast`: one line naming the option."""


def with_prices(inputs: BacktestInputs, prices: Path | None, export: str | None) -> BacktestInputs:
    """`inputs` with the import prices of `--prices` and the export prices of
    `--export-price` (None: keep what the inputs have, and no export price)."""
    from adapters.prices.csv_file import read_price_csv

    imports, exports = inputs.prices, None
    notes = list(inputs.notes)
    if prices is not None:
        series = read_price_csv(prices, inputs.site.tz)
        _covers(series, inputs, f"--prices {prices}")
        imports = _column(series, series.imports, f"file {prices}")
        if series.exports is not None:
            exports = _column(series, series.exports, f"file {prices}")
        notes.append(f"prices: {prices}" + (" (import and export)" if exports is not None else ""))
    if export is not None:
        if imports is None:
            raise OptionError(
                "--export-price: needs import prices (give --prices FILE or --dataset real-2017)"
            )
        exports = _export(export, inputs, imports)
        notes.append(f"export price: {exports.attrs['source']}")
    return replace(inputs, prices=imports, export_prices=exports, notes=tuple(notes))


def _export(text: str, inputs: BacktestInputs, imports: pd.Series) -> pd.Series:
    """`--export-price` as a series: a flat number on the import intervals, or a file."""
    import pandas as pd

    from adapters.prices.csv_file import PLAUSIBLE_EUR_PER_KWH, read_price_csv

    try:
        value = float(text)
    except ValueError:
        path = Path(text)
        if not path.exists():
            raise OptionError(
                f"--export-price {text!r}: neither a number (EUR/kWh) nor an existing file"
            ) from None
        series = read_price_csv(path, inputs.site.tz)
        _covers(series, inputs, f"--export-price {path}")
        values = series.exports if series.exports is not None else series.imports
        return _column(series, values, f"file {path}")
    low, high = PLAUSIBLE_EUR_PER_KWH
    if not math.isfinite(value) or not low <= value <= high:
        raise OptionError(f"--export-price {text}: not a price in {low:g}..{high:g} EUR/kWh")
    flat = pd.Series(value, index=imports.index, dtype="float64", name="export_price_per_kwh")
    flat.attrs["source"] = f"flat {value:g} EUR/kWh"
    return flat


def _covers(series: PriceSeries, inputs: BacktestInputs, option: str) -> None:
    start, end = series.start, series.end
    if start is None or end is None or start > inputs.start or end < inputs.end:
        raise OptionError(
            f"{option}: covers {start} .. {end} (UTC), not the simulated window "
            f"{inputs.start} .. {inputs.end}"
        )


def _column(series: PriceSeries, values: tuple[float, ...], source: str) -> pd.Series:
    """One price column of `series` as the backtest's series (EUR/kWh by UTC start)."""
    import pandas as pd

    index = pd.DatetimeIndex(list(series.starts), name="time")
    column = pd.Series(values, index=index, dtype="float64", name="price_per_kwh")
    column.attrs["source"] = source
    return column


def forecast_mode(text: str, inputs: BacktestInputs) -> ForecastMode:
    """`--forecast` as a mode over `inputs` (see `optimizer.backtest.forecast_modes`)."""
    from optimizer.backtest import forecast_modes as modes

    if text == "offline":
        return modes.OFFLINE
    if text == "oracle":
        return modes.oracle(inputs.pv_w)
    if text.startswith("file:") and len(text) > len("file:"):
        from adapters.weather.archive import read_archive

        path = text.removeprefix("file:")
        forecasts = read_archive(path, inputs.site)
        first, last = forecasts[0].issued_s, forecasts[-1].issued_s
        if last < inputs.start.timestamp() - 86400.0 or first >= inputs.end.timestamp():
            raise OptionError(
                f"--forecast {text}: no forecast issued between a day before the window and "
                f"its end ({inputs.start} .. {inputs.end})"
            )
        return modes.archived(text, forecasts)
    raise OptionError(f"--forecast {text!r}: expected {FORECAST_MODES}")


def price_labels(inputs: BacktestInputs) -> dict[str, str | None] | None:
    """Where the import and export prices came from (None: no prices)."""
    if inputs.prices is None:
        return None
    exports = inputs.export_prices
    return {
        "import": str(inputs.prices.attrs.get("source", "given")),
        "export": None if exports is None else str(exports.attrs.get("source", "given")),
    }


__all__ = ["FORECAST_MODES", "OptionError", "forecast_mode", "price_labels", "with_prices"]
