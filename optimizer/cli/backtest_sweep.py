"""`v2c-solar backtest sweep`: a grid of config values backtested on Dask.

Everything is checked before a run is submitted (policies, `--param` keys and
values, the config, `--output`, the heat map's keys); the data slices are loaded
here and scattered to the workers once (`optimizer.backtest.sweep`). Pandas, the
engine and `distributed` are imported when the command runs, not when the CLI starts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from optimizer.cli.backtest import MAX_DAYS, BacktestArgError, check_output, parse_start

if TYPE_CHECKING:
    from typing import Any

    from optimizer.backtest.engine import BacktestInputs, BacktestSetup
    from optimizer.backtest.sweep import Slice, SweepResult
    from optimizer.backtest.sweep_grid import Point

TABLE_METRICS = (
    ("solar_kwh", "solar\nkWh"),
    ("ratio_to_optimum", "ratio"),
    ("grid_kwh", "grid\nkWh"),
    ("ev_kwh", "car\nkWh"),
    ("unmet_kwh", "unmet\nkWh"),
    ("calls_per_day_mean", "calls\n/day"),
    ("calls_per_day_max", "max\n/day"),
    ("start_stop_cycles_per_day", "start\n/day"),
    ("cost", "cost"),
)
"""Metrics of the terminal table, those with a value in some run (`--json` and the Parquet
file have every metric)."""


def sweep(
    param: Annotated[
        list[str] | None,
        typer.Option(help="dotted.key=v1,v2 (TOML scalars), repeatable: the grid's axes"),
    ] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="data set, repeatable (default real-2017)")
    ] = None,
    start: Annotated[
        list[str] | None, typer.Option(help="first local day YYYY-MM-DD, repeatable")
    ] = None,
    days: Annotated[
        list[int] | None,
        typer.Option(min=1, max=MAX_DAYS, help="days to simulate, repeatable"),
    ] = None,
    policy: Annotated[
        list[str] | None, typer.Option(help="policy, repeatable (default solar_only)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="config TOML the grid starts from")] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of sampled sessions")] = 2017,
    scheduler: Annotated[
        str | None, typer.Option(help="an existing Dask scheduler, tcp://HOST:PORT")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=256, help="local worker processes (without --scheduler)")
    ] = 2,
    output: Annotated[
        Path | None, typer.Option(help="write sweep.parquet and heatmap.png here")
    ] = None,
    heatmap_metric: Annotated[str, typer.Option(help="the heat map's colour")] = "solar_kwh",
    heatmap_x: Annotated[
        str | None, typer.Option(help="swept key on the x axis (default: the first)")
    ] = None,
    heatmap_y: Annotated[
        str | None, typer.Option(help="swept key on the y axis (default: the second)")
    ] = None,
    optimum: Annotated[
        bool,
        typer.Option(help="solve the perfect-foresight optimum per run: ratio_to_optimum"),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help='print {"runs": [{"params", "metrics"}]}')
    ] = False,
) -> None:
    """Backtest every combination of `--param` values (x policies x data slices) on Dask.

    Each run is `v2c-solar backtest`'s own run of the policy, one at a time per worker process,
    on a local cluster (`--workers`) or an existing scheduler (`--scheduler`); the inputs go to
    each worker once.
    Exit code 1 when a run failed (its row says why), 2 for a bad argument.
    """
    try:
        points = _points(config, param or [])
        policies = _policies(policy or ["solar_only"])
        slices = _slices(dataset or ["real-2017"], start or [None], days or [None])
        check_output(output)
        _check_heatmap(heatmap_metric, heatmap_x, heatmap_y, [k for k, _ in points[0][0].items()])
        result = _run(
            points, slices, seed, policies, scheduler, workers, optimum=optimum, quiet=as_json
        )
    except (ValueError, OSError) as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    table = result.table()
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    else:
        console = Console()
        if not console.is_terminal:  # a file or a pipe: no reason to squeeze the table
            console = Console(width=max(console.width, 140))
        console.print(_table(result))
    if output is not None:
        _write(table, result.param_keys, output, heatmap_metric, heatmap_x, heatmap_y)
    if table["error"].notna().any():
        raise typer.Exit(1)


def _points(config: Path | None, texts: list[str]) -> list[tuple[Point, BacktestSetup]]:
    from optimizer.backtest.sweep_grid import (
        config_mapping,
        default_config,
        parse_params,
        validated_grid,
    )
    from optimizer.cli.backtest import load_app_config

    if not texts:
        raise BacktestArgError("--param: give at least one dotted.key=v1,v2")
    params = parse_params(texts)
    base = config_mapping(load_app_config(config)) if config is not None else default_config()
    return validated_grid(base, params)


def _policies(names: list[str]) -> list[str]:
    from optimizer.backtest.compare import PRODUCT_POLICIES

    for name in names:
        if name not in PRODUCT_POLICIES:
            raise BacktestArgError(
                f"--policy: unknown {name!r}; known: {', '.join(PRODUCT_POLICIES)}"
            )
    return list(dict.fromkeys(names))


def _slices(
    datasets: Sequence[str], starts: Sequence[str | None], days: Sequence[int | None]
) -> list[Slice]:
    from optimizer.backtest.dataset import DATASET_NAMES
    from optimizer.backtest.sweep import Slice

    for name in datasets:
        if name not in DATASET_NAMES:
            raise BacktestArgError(
                f"--dataset: unknown {name!r}; known: {', '.join(DATASET_NAMES)}"
            )
    for text in starts:
        parse_start(text)
    return [
        Slice(name, first, length)
        for name in dict.fromkeys(datasets)
        for first in dict.fromkeys(starts)
        for length in dict.fromkeys(days)
    ]


def _check_heatmap(metric: str, x: str | None, y: str | None, keys: list[str]) -> None:
    from optimizer.backtest.sweep import SWEEP_METRICS

    if metric not in SWEEP_METRICS:
        raise BacktestArgError(
            f"--heatmap-metric: unknown {metric!r}; known: {', '.join(SWEEP_METRICS)}"
        )
    for option, key in (("--heatmap-x", x), ("--heatmap-y", y)):
        if key is not None and key not in keys:
            raise BacktestArgError(f"{option}: {key!r} is not swept; swept: {', '.join(keys)}")


def _load(data_slice: Slice, seed: int) -> BacktestInputs:
    from adapters.datasets import DatasetUnavailable
    from optimizer.backtest.dataset import load_dataset

    try:
        return load_dataset(data_slice.dataset, data_slice.start, data_slice.days, seed=seed)
    except DatasetUnavailable as exc:
        raise BacktestArgError(str(exc)) from None


def _run(
    points: list[tuple[Point, BacktestSetup]],
    slices: list[Slice],
    seed: int,
    policies: list[str],
    scheduler: str | None,
    workers: int,
    *,
    optimum: bool,
    quiet: bool,
) -> SweepResult:
    """The sweep on a client: connected (or the local cluster started) before the data is
    loaded, so an unreachable scheduler fails before that work."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from optimizer.backtest.sweep import run_sweep, sweep_client

    with sweep_client(scheduler, workers) as client:
        inputs = {s: _load(s, seed) for s in slices}
        if quiet:
            return run_sweep(points, inputs, policies, client, optimum=optimum)
        with Progress(
            BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as bar:  # fmt: skip
            task = bar.add_task("sweep", total=len(points) * len(policies) * len(inputs))
            return run_sweep(
                points, inputs, policies, client,
                progress=lambda done, _total: bar.update(task, completed=done), optimum=optimum,
            )  # fmt: skip


def _table(result: SweepResult) -> Table:
    table = Table(title="backtest sweep", box=box.SIMPLE_HEAD)
    frame = result.table()
    described = [c for c in ("policy", "dataset", "start", "days") if frame[c].nunique() > 1]
    for column in (*described, *result.param_keys):
        table.add_column(column.rsplit(".", 1)[-1], no_wrap=True)
    metrics = [(key, header) for key, header in TABLE_METRICS if frame[key].notna().any()]
    for _, header in metrics:
        table.add_column(header, justify="right")
    failed = frame["error"].notna().any()
    if failed:
        table.add_column("error")
    for row in frame.to_dict(orient="records"):
        cells = [str(row[c]) for c in (*described, *result.param_keys)]
        cells += [_cell(row[key]) for key, _ in metrics]
        table.add_row(*cells, *([row["error"] or ""] if failed else []))
    return table


def _cell(value: Any) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _write(
    table: Any, keys: tuple[str, ...], out: Path, metric: str, x: str | None, y: str | None
) -> None:
    from optimizer.backtest.sweep_plot import heatmap_axes, plot_heatmap

    table.to_parquet(out / "sweep.parquet", index=False)
    plot_heatmap(table, *heatmap_axes(table, keys, x, y), metric, out / "heatmap.png")
