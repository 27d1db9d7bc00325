"""`v2c-solar backtest`: policies vs baselines vs the optimum on the user's data or real-2017.

The backtest engine (and with it pandas, pvlib and the simulator's world) is
imported by the command when it runs, not when the CLI starts.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
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

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.backtest.compare import Comparison
    from optimizer.backtest.engine import BacktestInputs, BacktestSetup
    from optimizer.config import AppConfig
    from optimizer.site import SiteConfig, SiteOverrides

JSON_KEYS = (
    "ev_kwh",
    "solar_kwh",
    "grid_kwh",
    "solar_share",
    "ratio_to_optimum",
    "calls_per_day_mean",
    "calls_per_day_max",
    "target_misses",
    "unmet_kwh",
    "current_changes_per_day",
    "start_stop_cycles_per_day",
    "commands_per_day",
    "pv_exported_kwh",
    "sessions",
    "cost",
    "cost_ratio",
    "cost_upper",
    "feasible_misses",
    "deferred_writes",
)
TABLE_COLUMNS = (
    ("solar_kwh", "solar\nkWh"),
    ("grid_kwh", "grid\nkWh"),
    ("ratio_to_optimum", "ratio"),
    ("target_misses", "miss"),
    ("calls_per_day_mean", "calls\n/day"),
    ("calls_per_day_max", "max\n/day"),
    ("current_changes_per_day", "I chg\n/day"),
    ("start_stop_cycles_per_day", "start\n/day"),
)


MAX_DAYS = 3660
"""Longest backtest (days): ten years of minute steps."""


class BacktestArgError(ValueError):
    """A bad argument or file: one line, exit code 2."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def parse_start(text: str | None) -> date | None:
    """`--start` as a date; BacktestArgError naming the option otherwise."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BacktestArgError(f"--start {text!r}: not a date YYYY-MM-DD ({exc})") from None


def check_output(output: Path | None) -> None:
    """Refuse an unusable `--output` before hours of simulation, not after."""
    if output is None:
        return
    if output.exists() and not output.is_dir():
        raise BacktestArgError(f"--output {output}: exists and is not a directory")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BacktestArgError(f"--output {output}: cannot create ({exc.strerror})") from None
    if not os.access(output, os.W_OK):
        raise BacktestArgError(f"--output {output}: not writable")


_SITE_OPTIONS = {
    "latitude": "--lat",
    "longitude": "--lon",
    "timezone": "--tz",
    "kwp": "--kwp",
    "tilt_deg": "--tilt",
    "azimuth_deg": "--azimuth",
}


def _site(base: SiteConfig, overrides: SiteOverrides) -> SiteConfig:
    """`base` with the command-line values; a bad one is named by its option."""
    from pydantic import ValidationError

    try:
        return overrides.apply(base)
    except ValidationError as exc:
        from optimizer.config import describe_error

        err = exc.errors()[0]
        field = str(err["loc"][-1]) if err["loc"] else ""
        option = _SITE_OPTIONS.get(field, field)
        message = describe_error(err).split(": ", 1)[-1]
        raise BacktestArgError(f"{option}: {message}") from None


def _file_inputs(
    pv: Path, load: Path, sessions: Path | None,
    site: SiteConfig, start: str | None, days: int | None, seed: int,
) -> BacktestInputs:  # fmt: skip
    import pandas as pd

    from optimizer.backtest.engine import BacktestInputs
    from optimizer.backtest.inputs import load_house, load_pv, load_sessions, resample_to_step
    from optimizer.backtest.sessions import CommuterPattern, sample_sessions

    pv_raw = load_pv(pv, tz=site.timezone)
    if pv_raw.name != "pv_w":
        raise BacktestArgError(f"{pv}: backtests need column pv_w (AC power, W), got {pv_raw.name}")
    house_raw = load_house(load, tz=site.timezone)
    first = max(pv_raw.index[0], house_raw.index[0])
    last = min(pv_raw.index[-1], house_raw.index[-1])
    if first >= last:
        raise BacktestArgError(
            f"{pv} covers {pv_raw.index[0]} .. {pv_raw.index[-1]} and {load} covers "
            f"{house_raw.index[0]} .. {house_raw.index[-1]} (UTC): no time in common"
        )
    t0 = pd.Timestamp(start, tz=site.timezone).tz_convert("UTC") if start else first.ceil("D")
    t1 = last.floor("min") if days is None else t0 + pd.Timedelta(days=days)
    if t1 > last + pd.Timedelta(minutes=1) or t0 < first:
        raise BacktestArgError(
            f"--start/--days: the window {t0} .. {t1} is outside the data, which covers "
            f"{first} .. {last} (UTC)"
        )
    if t1 <= t0:
        raise BacktestArgError(f"empty window {t0} .. {t1}")
    pv_grid, pv_gaps = resample_to_step(pv_raw, 60.0, start=t0, end=t1)
    house_grid, house_gaps = resample_to_step(house_raw, 60.0, start=t0, end=t1)
    if sessions is not None:
        frame = load_sessions(sessions, tz=site.timezone)
        frame = frame[(frame["departure"] > t0) & (frame["arrival"] < t1)].copy()
        frame["arrival"] = frame["arrival"].clip(lower=t0)
        frame["departure"] = frame["departure"].clip(upper=t1)
        note = f"sessions: {len(frame)} from {sessions}"
    else:
        frame = sample_sessions(CommuterPattern(), t0, t1, tz=site.timezone, seed=seed)
        note = f"sessions: commuter pattern, seed {seed}"
    return BacktestInputs(
        pv_w=pv_grid,
        house_w=house_grid,
        sessions=frame.reset_index(drop=True),
        start=t0.to_pydatetime(),
        end=t1.to_pydatetime(),
        site=site,
        notes=(str(pv_gaps), str(house_gaps), note),
    )


def json_summary(comparison: Comparison) -> dict[str, object]:
    """`{"forecast": MODE, "prices": {"import", "export"} | null, "policies": {NAME:
    {metric: value}}}` for every run and the optimum; MODE is "offline",
    "oracle (upper bound)" or "file:PATH"; with `"labels": {NAME: what it is}` for the
    baselines and optima."""
    from optimizer.backtest.compare import LABELS
    from optimizer.cli.backtest_options import price_labels

    first = next(iter(comparison.results.values()))
    return {
        "forecast": first.setup.forecast.label,
        "prices": price_labels(first.inputs),
        "policies": {
            name: {key: metrics.get(key) for key in JSON_KEYS if key in metrics}
            for name, metrics in comparison.metrics.items()
        },
        "labels": {name: LABELS[name] for name in comparison.metrics if name in LABELS},
    }


def table_title(comparison: Comparison) -> str:
    """The table's title: what it compares, with which forecast, and the mode's caveat."""
    mode = next(iter(comparison.results.values())).setup.forecast
    title = f"backtest: policies, baselines and the optimum; forecast {mode.label}"
    return title if mode.caveat is None else f"{title}\n{mode.caveat}"


def _table(comparison: Comparison) -> Table:
    table = Table(title=table_title(comparison), box=box.SIMPLE_HEAD)
    table.add_column("policy", no_wrap=True)
    priced = any(m.get("cost") is not None for m in comparison.metrics.values())
    cost_columns = (
        ("cost", "cost"),
        ("cost_ratio", "cost\nratio"),
        ("deferred_writes", "def-\nerred"),
    )
    columns = (*TABLE_COLUMNS, *cost_columns) if priced else TABLE_COLUMNS
    for _, header in columns:
        table.add_column(header, justify="right")
    for name, metrics in comparison.metrics.items():
        cells = []
        for key, _ in columns:
            value = metrics.get(key)
            cells.append(
                "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
            )
        table.add_row(name, *cells)
    return table


def _print_labels(console: Console, comparison: Comparison) -> None:
    """One dim line per baseline or optimum row in the table: what it is."""
    from optimizer.backtest.compare import LABELS

    for name in comparison.metrics:
        if name in LABELS:
            console.print(f"[dim]{name}: {LABELS[name]}[/dim]")


def _flows_table(comparison: Comparison) -> Table:
    from optimizer.backtest.flows import FLOW_COLUMNS, energy_flows_kwh

    table = Table(title="energy flows with the home battery (kWh)", box=box.SIMPLE_HEAD)
    table.add_column("policy", no_wrap=True)
    for _, header in FLOW_COLUMNS:
        table.add_column(header.replace(" ", "\n", 1), justify="right")
    for name, result in comparison.results.items():
        flows = energy_flows_kwh(result)
        table.add_row(name, *(f"{flows[key]:.1f}" for key, _ in FLOW_COLUMNS))
    return table


def with_battery(
    setup: BacktestSetup,
    config_site: SiteConfig | None,
    kwh: float | None,
    kw: float,
    to_car: bool | None,
) -> BacktestSetup:
    """`setup` with the home battery of `--battery-kwh`/`--battery-kw` (None: none) and
    `battery_to_car` from `--battery-to-car`, else the config's `[site]`; a bad value is
    one line naming its option."""
    from dataclasses import replace

    from pydantic import ValidationError

    from adapters.simulator.world import HomeBatteryConfig

    allowed = to_car if to_car is not None else bool(config_site and config_site.battery_to_car)
    if kwh is None:
        return replace(setup, battery_to_car=allowed)
    try:
        battery = HomeBatteryConfig(
            capacity_kwh=kwh, max_charge_w=kw * 1000.0, max_discharge_w=kw * 1000.0
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        option = "--battery-kwh" if err["loc"][0] == "capacity_kwh" else "--battery-kw"
        given = kwh if option == "--battery-kwh" else kw
        raise BacktestArgError(f"{option}: {err['msg']} (got {given})") from None
    return replace(setup, home_battery=battery, battery_to_car=allowed)


def _write_output(comparison: Comparison, out: Path) -> None:
    from optimizer.backtest.plots import plot_day, plot_monthly_energy

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(json_summary(comparison), indent=2) + "\n")
    for name, result in comparison.results.items():
        for kind, frame in (("steps", result.steps), ("cycles", result.cycle_log)):
            try:
                frame.to_parquet(out / f"{kind}_{name}.parquet", index=False)
            except ImportError:
                frame.to_csv(out / f"{kind}_{name}.csv", index=False)
    first = next(iter(comparison.results.values()))
    sunny, clouded = days_to_plot(first.steps, first.inputs.site.timezone)
    for name, result in comparison.results.items():
        plot_day(result, sunny, out / f"day_{name}.png")
        if clouded is not None:
            plot_day(result, clouded, out / f"day_{name}_clouds.png")
    plot_monthly_energy(comparison.results, out / "monthly_energy.png")


def days_to_plot(steps: pd.DataFrame, timezone: str) -> tuple[date, date | None]:
    """The sunniest local day and the most broken-cloud one (None when it is the same day).

    Sunniest: most PV energy. Broken clouds: most PV variation (the sum of the
    step-to-step PV changes) per kWh of PV, among days with at least a third of the
    sunniest day's PV, so a dark winter day does not win on noise.
    """
    local = steps["time"].dt.tz_convert(timezone).dt.date
    pv = steps["pv_w"]
    whole = local.groupby(local).transform("size") == local.value_counts().max()
    energy = pv.groupby(local).sum()
    variation = pv.diff().abs().where(local.eq(local.shift())).groupby(local).sum()
    candidates = energy[whole.groupby(local).all()]
    if candidates.empty:
        candidates = energy
    sunny = candidates.idxmax()
    bright = candidates[candidates >= candidates.max() / 3]
    clouded = (variation[bright.index] / bright.clip(lower=1.0)).idxmax()
    return sunny, (clouded if clouded != sunny else None)


def _setup(config: Path | None) -> tuple[BacktestSetup, SiteConfig | None]:
    from optimizer.backtest.engine import BacktestSetup

    if config is None:
        return BacktestSetup(), None
    from optimizer.backtest.sweep_grid import SweepArgError, setup_for

    app = load_app_config(config)
    try:
        setup = setup_for(app)
    except SweepArgError as exc:
        raise BacktestArgError(f"{config}: {exc}") from None
    return setup, app.site


def load_app_config(config: Path) -> AppConfig:
    """The validated config file; BacktestArgError with its one line otherwise."""
    from optimizer.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        raise BacktestArgError(str(exc)) from None


def _refuse_options_before(ctx: typer.Context, subcommand: str) -> None:
    """`backtest --json sweep ...` would silently drop `--json`: one line saying where it goes."""
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name) if param.name else None
        if source is not None and source.name == "COMMANDLINE":
            _fail(f"{param.opts[0]}: give it after 'backtest {subcommand}', not before")


def register(app: typer.Typer) -> None:
    """Add `backtest` (and its `sweep`) to the root app."""
    group = typer.Typer(pretty_exceptions_enable=False)

    @group.callback(invoke_without_command=True)
    def backtest(
        ctx: typer.Context,
        pv: Annotated[Path | None, typer.Option(help="PV file: timestamp, pv_w")] = None,
        load: Annotated[
            Path | None, typer.Option(help="Household file: timestamp, house_w")
        ] = None,
        sessions: Annotated[
            Path | None, typer.Option(help="Sessions file: arrival, departure, energy_kwh")
        ] = None,
        prices: Annotated[
            Path | None,
            typer.Option(
                help="Price file (CSV: timestamp, price_per_kwh EUR/kWh, optional "
                "export_eur_per_kwh): what the policies plan with and the cost column bills"
            ),
        ] = None,
        export_price: Annotated[
            str | None,
            typer.Option(help="what a kWh fed in earns: EUR/kWh, or a price file"),
        ] = None,
        forecast: Annotated[
            str,
            typer.Option(help="offline, oracle (the true PV: an upper bound) or file:PATH"),
        ] = "offline",
        config: Annotated[Path | None, typer.Option(help="config TOML (limits, policies)")] = None,
        dataset: Annotated[str | None, typer.Option(help="real-2017 instead of files")] = None,
        policy: Annotated[str, typer.Option(help="policy name, or 'all'")] = "solar_only",
        start: Annotated[str | None, typer.Option(help="first local day, YYYY-MM-DD")] = None,
        days: Annotated[
            int | None, typer.Option(min=1, max=MAX_DAYS, help="days to simulate")
        ] = None,
        seed: Annotated[int, typer.Option(min=0, help="seed of sampled sessions")] = 2017,
        output: Annotated[Path | None, typer.Option(help="write metrics, steps, plots")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print only the metrics")] = False,
        lat: LatOption = None,
        lon: LonOption = None,
        tz: TzOption = None,
        kwp: KwpOption = None,
        tilt: TiltOption = None,
        azimuth: AzimuthOption = None,
        battery_kwh: Annotated[
            float | None,
            typer.Option(help="a home battery of this usable capacity (kWh); omit: none"),
        ] = None,
        battery_kw: Annotated[
            float, typer.Option(help="the home battery's charge and discharge limit (kW)")
        ] = 5.0,
        battery_to_car: Annotated[
            bool | None,
            typer.Option(
                "--battery-to-car/--no-battery-to-car",
                help="the battery may feed the car (default: the config's \\[site], else no)",
            ),
        ] = None,
    ) -> None:
        """Backtest a policy beside the baselines and the perfect-foresight optimum.

        With `--battery-kwh` the home has a battery in self-consumption mode and a table of
        the energy flows (car from solar, battery and grid; battery; grid) follows.
        `backtest sweep` runs a grid of config values on Dask.
        """
        if ctx.invoked_subcommand is not None:
            _refuse_options_before(ctx, ctx.invoked_subcommand)
            return
        from pydantic import ValidationError

        from optimizer.backtest.compare import PRODUCT_POLICIES
        from optimizer.site import GRAZ, SiteOverrides

        try:
            policies = list(PRODUCT_POLICIES) if policy == "all" else [policy]
            if policy != "all" and policy not in PRODUCT_POLICIES:
                raise BacktestArgError(
                    f"--policy: unknown {policy!r}; known: {', '.join(PRODUCT_POLICIES)}, all"
                )
            first_day = parse_start(start)
            check_output(output)
            setup, config_site = _setup(config)
            setup = with_battery(setup, config_site, battery_kwh, battery_kw, battery_to_car)
            overrides = SiteOverrides(lat, lon, tz, kwp, tilt, azimuth)
            site = _site(config_site or GRAZ, overrides)
            if dataset is not None:
                if pv or load or sessions:
                    raise BacktestArgError(
                        "--dataset and --pv/--load/--sessions exclude each other"
                    )
                from adapters.datasets import DatasetUnavailable
                from optimizer.backtest.dataset import load_dataset

                try:
                    inputs = load_dataset(dataset, first_day, days, seed=seed)
                except DatasetUnavailable as exc:
                    raise BacktestArgError(str(exc)) from None
            else:
                if pv is None or load is None:
                    raise BacktestArgError("give --pv and --load files, or --dataset real-2017")
                inputs = _file_inputs(pv, load, sessions, site, start, days, seed)
            inputs, setup = _with_options(inputs, setup, prices, export_price, forecast)
            comparison = _run(inputs, policies, setup, quiet=as_json)
        except typer.Exit:
            raise
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            _fail(f"{exc.title} {where}: {err['msg']} (got {err.get('input')!r})")
            return
        except (ValueError, OSError) as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        if as_json:
            typer.echo(json.dumps(json_summary(comparison)))
        else:
            console = Console()
            if not console.is_terminal:  # a file or a pipe: no reason to squeeze the table
                console = Console(width=max(console.width, 120))
            for note in inputs.notes:
                console.print(f"[dim]{note}[/dim]")
            console.print(_table(comparison))
            _print_labels(console, comparison)
            if setup.home_battery is not None:
                console.print(_flows_table(comparison))
        if output is not None:
            _write_output(comparison, output)

    from optimizer.cli.backtest_sweep import sweep

    group.command("sweep")(sweep)
    app.add_typer(group, name="backtest")


def _with_options(
    inputs: BacktestInputs,
    setup: BacktestSetup,
    prices: Path | None,
    export_price: str | None,
    forecast: str,
) -> tuple[BacktestInputs, BacktestSetup]:
    """`--prices`, `--export-price` and `--forecast` applied (`optimizer.cli.backtest_options`)."""
    from dataclasses import replace

    from optimizer.cli.backtest_options import forecast_mode, with_prices

    inputs = with_prices(inputs, prices, export_price)
    return inputs, replace(setup, forecast=forecast_mode(forecast, inputs))


def _run(
    inputs: BacktestInputs, policies: list[str], setup: BacktestSetup, *, quiet: bool
) -> Comparison:
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from optimizer.backtest.compare import compare

    if quiet:
        return compare(inputs, policies, setup)
    with Progress(
        TextColumn("{task.description:<20}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=False,
    ) as bar:  # fmt: skip
        tasks: dict[str, TaskID] = {}

        def progress(name: str, fraction: float) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=1.0)
            bar.update(tasks[name], completed=fraction)

        return compare(inputs, policies, setup, progress=progress)


__all__ = ["JSON_KEYS", "json_summary", "register"]
