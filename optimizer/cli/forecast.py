"""`v2c-solar forecast ...` commands: evaluate the forecaster on a PV series, show the clear sky.

pandas and the forecaster (pvlib) are imported by the commands that run, so
`forecast --help` and argument errors stay quick.
"""

from __future__ import annotations

import json
import math
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import pydantic
import typer
from rich.console import Console
from rich.table import Table

from optimizer.cli.site_options import (
    AzimuthOption,
    KwpOption,
    LatOption,
    LonOption,
    TiltOption,
    TzOption,
)
from optimizer.site import GRAZ, ArrayConfig, SiteConfig, SiteOverrides

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.forecast.evaluation import Scores

app = typer.Typer(no_args_is_help=True)
"""Registered by `optimizer.cli.main`, which holds its help (listed without importing this)."""

DATASETS = ("graz-2017", "payerne-2016")
FIRST_YEAR, LAST_YEAR = 1900, 2200
"""Years `forecast show --start` accepts: pandas timestamps end in 2262."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _site_from_toml(path: Path) -> SiteConfig:
    """The site of a config file: the full app config when it is complete, else its [site] table.

    Forecast commands need only the site, so a config without `[[chargers]]`
    is fine here; `optimizer.config.load_config` is used first so every
    command reads the same file the same way.
    """
    from optimizer.config import ConfigError, load_config

    try:
        return load_config(path).site
    except ConfigError as full_error:
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8-sig"))["site"]
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError):
            _fail(str(full_error).splitlines()[0])
        try:
            return SiteConfig.model_validate(table)
        except pydantic.ValidationError as exc:
            _fail(f"{path}: [site] {_first_error(exc)}")
    except OSError as exc:
        _fail(f"{path}: cannot read ({exc})")


def _first_error(exc: pydantic.ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}"


def _site(config: Path | None, base: SiteConfig | None, overrides: SiteOverrides) -> SiteConfig:
    """The site from --config (or a dataset's own), with command-line overrides applied."""
    site = _site_from_toml(config) if config is not None else base
    try:
        if site is None:
            o = overrides
            if o.latitude is None or o.longitude is None or o.kwp is None:
                _fail("give --config FILE, or at least --lat, --lon and --kwp")
            array = ArrayConfig(
                kwp=o.kwp, tilt_deg=30.0 if o.tilt_deg is None else o.tilt_deg,
                azimuth_deg=180.0 if o.azimuth_deg is None else o.azimuth_deg,
            )  # fmt: skip
            return SiteConfig(
                latitude=o.latitude, longitude=o.longitude, timezone=o.timezone or "UTC",
                arrays=(array,),
            )  # fmt: skip
        if overrides.touch_array and len(site.arrays) != 1:
            _fail("--kwp/--tilt/--azimuth only apply to a site with exactly one array")
        return overrides.apply(site)
    except pydantic.ValidationError as exc:
        _fail(_first_error(exc))


def read_pv_file(path: Path, timezone: str) -> pd.Series:
    """A `timestamp,pv_w` CSV or Parquet as a UTC Series (W); naive times are in `timezone`.

    Read by the backtest's validated loader (`optimizer.backtest.inputs.load_pv`),
    so both commands accept the same files: a bad value, a duplicate time or an
    implausible power is one line naming file, row and column (exit 2).
    """
    from optimizer.backtest.inputs import InputError, load_pv

    try:
        series = load_pv(path, tz=timezone)
    except InputError as exc:
        _fail(str(exc))
    if series.name != "pv_w":
        _fail(f"{path}: forecast evaluate needs column pv_w (AC power, W), got {series.name}")
    if series.notna().sum() < 2:
        _fail(f"{path}: fewer than two usable pv_w values")
    return series


def _parse_step(text: str | None) -> float | None:
    if text is None:
        return None
    import pandas as pd

    try:
        seconds = pd.Timedelta(text).total_seconds()
    except ValueError:
        _fail(f"--sample-every: cannot read {text!r} as a duration (e.g. 2min, 90s)")
    if not 60.0 <= seconds <= 3600.0:
        _fail(f"--sample-every must be between 1min and 1h, got {text!r}")
    return seconds


def _scores_table(scores: Scores) -> Table:
    from optimizer.forecast.evaluation import METHODS

    table = Table(title=f"MAE / RMSE (W); calibrated kWp {scores.calibrated_kwp:.2f}")
    table.add_column("horizon")
    table.add_column("n", justify="right")
    for method in METHODS:
        table.add_column(method.replace("_", " "), justify="right")
    for h, mae in scores.mae_w.items():
        rmse = scores.rmse_w[h]
        cells = [f"{mae[m]:.0f} / {rmse[m]:.0f}" for m in METHODS]
        table.add_row(f"{h} min", str(scores.count[h]), *cells)
    return table


@app.command("evaluate")
def evaluate_command(
    pv: Annotated[Path | None, typer.Option(help="CSV or Parquet with timestamp,pv_w")] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Real data instead of --pv: graz-2017, payerne-2016")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config with a \\[site] table")] = None,
    lat: LatOption = None,
    lon: LonOption = None,
    tz: TzOption = None,
    kwp: KwpOption = None,
    tilt: TiltOption = None,
    azimuth: AzimuthOption = None,
    sample_every: Annotated[
        str | None, typer.Option(help="Observe every e.g. 2min (default: random 1-5 min)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random sampling")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """Score the forecaster on a PV series vs persistence, smart persistence, clear sky."""
    from optimizer.forecast.evaluation import evaluate

    if (pv is None) == (dataset is None):
        _fail("give exactly one of --pv FILE or --dataset graz-2017|payerne-2016")
    step_s = _parse_step(sample_every)
    if dataset is not None:
        if dataset not in DATASETS:
            _fail(f"--dataset: unknown {dataset!r}; known: {', '.join(DATASETS)}")
        site, series = _dataset(dataset, config, SiteOverrides(lat, lon, tz, kwp, tilt, azimuth))
    else:
        assert pv is not None
        site = _site(config, None, SiteOverrides(lat, lon, tz, kwp, tilt, azimuth))
        if not pv.is_file():
            _fail(f"--pv: no such file {pv}")
        series = read_pv_file(pv, site.timezone)
    try:
        scores = evaluate(series, site, sample_every_s=step_s, seed=seed)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(_finite_or_none(scores.to_json()), allow_nan=False))
    else:
        Console().print(_scores_table(scores))


def _dataset(
    name: str, config: Path | None, overrides: SiteOverrides
) -> tuple[SiteConfig, pd.Series]:
    """A real data set's site (with --config and the overrides applied) and its PV (W).

    graz-2017: the measured plane irradiance of Graz 2017 through the site's arrays;
    payerne-2016: BSRN Payerne, June 2016 (never used to tune the forecaster).
    """
    from adapters.datasets import PAYERNE, DatasetUnavailable, load_bsrn_payerne_pv, load_graz_pv

    site = _site(config, PAYERNE if name == "payerne-2016" else GRAZ, overrides)
    try:
        if name == "payerne-2016":
            return site, load_bsrn_payerne_pv(site.arrays)
        return site, load_graz_pv()
    except DatasetUnavailable as exc:
        _fail(str(exc))


def _finite_or_none(value: object) -> object:
    """NaN (no sample at a horizon, e.g. a night-only file) as JSON null, in nested dicts."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@app.command("show")
def show_command(
    config: Annotated[Path, typer.Option(help="TOML config with a \\[site] table")],
    hours: Annotated[int, typer.Option(min=1, max=24 * 14, help="How far ahead")] = 48,
    start: Annotated[str | None, typer.Option(help="ISO start time (default: this hour)")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG plot here")] = None,
) -> None:
    """Print (hourly) and optionally plot the clear-sky PV forecast of the configured site."""
    import pandas as pd

    from optimizer.forecast.forecaster import PvForecaster

    site = _site_from_toml(config)
    begin = _parse_start(start)
    _check_plot_path(plot)
    forecaster = PvForecaster(site, calibration="off")
    fc = forecaster.forecast(begin, begin + timedelta(hours=hours), 60.0)
    index = pd.date_range(begin, periods=len(fc), freq="min").tz_convert(site.timezone)
    clear = pd.Series(fc.clear_sky_w, index=index)
    hourly = clear.resample("h").mean()
    table = Table(title=f"Clear-sky PV, {site.kwp:.1f} kWp at {site.latitude}, {site.longitude}")
    table.add_column(f"hour ({site.timezone})")
    table.add_column("mean W", justify="right")
    for time, value in hourly.items():
        table.add_row(time.strftime("%a %Y-%m-%d %H:%M"), f"{value:.0f}")
    console = Console()
    console.print(table)
    console.print(f"energy: {fc.clear_sky_w.sum() / 60000.0:.1f} kWh in {hours} h")
    if plot is not None:
        _plot(clear, plot, site)
        console.print(f"plot written to {plot}")


def _parse_start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except ValueError:
        _fail(f"--start: cannot read {text!r} as a time")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if not FIRST_YEAR <= ts.year <= LAST_YEAR:
        _fail(f"--start: year {ts.year} is outside {FIRST_YEAR}..{LAST_YEAR}")
    return ts.to_pydatetime()


def _check_plot_path(path: Path | None) -> None:
    """Refuse a directory or a format matplotlib cannot write, before computing anything."""
    if path is None:
        return
    if path.is_dir():
        _fail(f"--plot {path}: is a directory; give a file name such as forecast.png")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix.lower().removeprefix(".")
    if suffix not in formats:
        known = ", ".join(sorted(formats))
        _fail(f"--plot {path}: unknown image format {suffix!r}; use one of {known}")


def _plot(clear: pd.Series, path: Path, site: SiteConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(clear.index, clear.to_numpy() / 1000.0, label="clear sky")
    ax.set_ylabel("PV power (kW)")
    ax.set_title(f"Clear-sky PV forecast, {site.kwp:.1f} kWp")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.autofmt_xdate()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        _fail(f"--plot: cannot write {path} ({exc})")
    finally:
        plt.close(fig)


__all__ = ["app", "read_pv_file"]
