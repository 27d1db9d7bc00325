"""Sweeps on Dask: one backtest per (grid point, policy, data slice), on many cores or hosts.

A run is the very backtest `v2c-solar backtest` makes for a policy
(`run_backtest` with `policy_contender`, metrics by `compute_metrics`), executed by
a Dask worker (`distributed`): a `LocalCluster` of single-threaded worker processes
by default (`sweep_client`), or an existing scheduler (`tcp://HOST:PORT`) whose
workers can import this project. The baselines are not run: they do not depend on the
swept settings (`v2c-solar backtest` shows them). The perfect-foresight optimum is
solved only when asked (`optimum=True`): it fills `ratio_to_optimum` exactly as
`v2c-solar backtest` does (`compare`: the optimum of the sessions the run's world
simulated), at the cost of one more solve per run.

Each data slice's inputs (PV, household, sessions, prices) are loaded once by the
caller and sent to every worker once (`Client.scatter(broadcast=True)`); the runs
refer to them by future, so a 100-run sweep does not ship the year 100 times. A run
that fails comes back as an outcome with its error; the others go on.

The result (`SweepResult`) is a tidy table, one row per run: the run's policy and
slice, one column per swept key, the metrics (`SWEEP_METRICS`, units as in
`optimizer.backtest.metrics`) and `error`; and the same as JSON,
`{"runs": [{"params": {...}, "metrics": {...}, ...}]}`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.backtest.compare import optimum_metrics, solve_optimum
from optimizer.backtest.engine import BacktestInputs, BacktestSetup, policy_contender, run_backtest
from optimizer.backtest.metrics import METRIC_KEYS, Metrics, compute_metrics, ratio
from optimizer.backtest.sweep_grid import Point

if TYPE_CHECKING:
    from distributed import Client, Future

SWEEP_METRICS: tuple[str, ...] = METRIC_KEYS
"""Metrics of a sweep run (`ratio_to_optimum` None unless the optimum was asked for)."""

RUN_COLUMNS: tuple[str, ...] = ("policy", "dataset", "start", "days")
"""Columns that say which run a row is, before the swept keys."""

CONNECT_TIMEOUT_S = 10.0
"""How long to wait for an existing scheduler to answer (s)."""


@dataclass(frozen=True)
class Slice:
    """A data set over a period: `days` days from local midnight of `start` (YYYY-MM-DD);
    None: from the data set's first day, to its end."""

    dataset: str
    start: str | None
    days: int | None


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: a grid point's settings, a policy, a data slice."""

    point: Point
    policy: str
    slice: Slice


@dataclass(frozen=True)
class RunOutcome:
    """What a run gave: its metrics, or the one-line error it failed with."""

    run: SweepRun
    metrics: Metrics | None
    error: str | None = None


@dataclass(frozen=True)
class SweepResult:
    """Every run's outcome in grid order (slice, then policy, then grid point)."""

    outcomes: tuple[RunOutcome, ...]
    param_keys: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """One row per run: `RUN_COLUMNS`, the swept keys, `SWEEP_METRICS`, `error`."""
        rows = [
            {
                "policy": o.run.policy,
                "dataset": o.run.slice.dataset,
                "start": o.run.slice.start,
                "days": o.run.slice.days,
                **o.run.point,
                **{k: (o.metrics or {}).get(k) for k in SWEEP_METRICS},
                "error": o.error,
            }
            for o in self.outcomes
        ]
        columns = [*RUN_COLUMNS, *self.param_keys, *SWEEP_METRICS, "error"]
        table = pd.DataFrame(rows, columns=columns)
        for key in SWEEP_METRICS:
            table[key] = pd.to_numeric(table[key], errors="coerce")
        return table

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """`{"runs": [{"params", "policy", "dataset", "start", "days", "metrics", "error"}]}`."""
        return {
            "runs": [
                {
                    "params": dict(o.run.point),
                    "policy": o.run.policy,
                    "dataset": o.run.slice.dataset,
                    "start": o.run.slice.start,
                    "days": o.run.slice.days,
                    "metrics": {k: o.metrics.get(k) for k in SWEEP_METRICS}
                    if o.metrics is not None
                    else None,
                    "error": o.error,
                }
                for o in self.outcomes
            ]
        }


def run_point(
    inputs: BacktestInputs, policy: str, setup: BacktestSetup, optimum: bool = False
) -> Metrics:
    """One backtest of `policy` with `setup` on `inputs` and its metrics, with the ratio to
    the perfect-foresight optimum if `optimum` (runs on a worker)."""
    result = run_backtest(inputs, policy_contender(policy), setup)
    metrics = compute_metrics(result)
    if optimum:
        best = optimum_metrics(solve_optimum(result), inputs)
        metrics["ratio_to_optimum"] = ratio(metrics["solar_kwh"], best["solar_kwh"])
    return metrics


@contextmanager
def sweep_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Client]:
    """A Dask client: on `scheduler` (`tcp://HOST:PORT`) if given, else on a local cluster of
    `workers` single-threaded processes on 127.0.0.1 (a backtest holds the GIL: one run per
    process), closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler, timeout=CONNECT_TIMEOUT_S) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # a failed run is a row, not a log
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_sweep(
    points: Sequence[tuple[Point, BacktestSetup]],
    inputs: Mapping[Slice, BacktestInputs],
    policies: Sequence[str],
    client: Client,
    *,
    progress: Callable[[int, int], None] | None = None,
    optimum: bool = False,
) -> SweepResult:
    """Every (slice, policy, point) run on `client`'s workers; `progress(done, total)` after
    each run ends. `points` are `sweep_grid.validated_grid`'s (settings, setup) pairs;
    `optimum` adds each run's `ratio_to_optimum` (see the module doc)."""
    from distributed import as_completed

    runs: list[SweepRun] = []
    futures: dict[Future, int] = {}
    for data_slice, loaded in inputs.items():
        shared = client.scatter(loaded, broadcast=True, hash=False)
        for policy in policies:
            for point, setup in points:
                future = client.submit(run_point, shared, policy, setup, optimum, pure=False)
                futures[future] = len(runs)
                runs.append(SweepRun(point, policy, data_slice))
    outcomes: list[RunOutcome | None] = [None] * len(runs)
    for done, future in enumerate(as_completed(futures), start=1):
        index = futures[future]
        outcomes[index] = _outcome(runs[index], future)
        if progress is not None:
            progress(done, len(runs))
    keys = tuple(dict.fromkeys(key for point, _ in points for key in point))
    return SweepResult(tuple(o for o in outcomes if o is not None), keys)


def _outcome(run: SweepRun, future: Future) -> RunOutcome:
    try:
        metrics: Metrics = future.result()
    except Exception as exc:  # a failed run is a row of the result, not the sweep's end
        text = str(exc).splitlines()[0] if str(exc) else ""
        return RunOutcome(run, None, f"{type(exc).__name__}: {text}".rstrip(": "))
    return RunOutcome(run, metrics)
