"""Backtest plots (matplotlib, Agg backend: files only, no display needed).

* `plot_day`: one local day of a run from the world's per-step truth: PV, household
  and car power (kW); the car's actual current and the charger's offer cap (A);
  a strip with when the car was plugged in, the charger's PV mode, and the API
  calls (reads and writes) as ticks;
* `plot_monthly_energy`: solar and grid energy into the car per month for every
  run side by side (kWh).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from optimizer.backtest.engine import BacktestResult
from optimizer.backtest.metrics import current_changes, starts

_MODES = {
    0: ("PV + min", "tab:olive"),
    1: ("exclusive PV", "gold"),
    2: ("max power", "tab:red"),
}
"""`chargefvmode` -> (label, colour) in the mode strip."""

_WRITE_ENDPOINTS = frozenset({"intensity", "chargefvmode", "startcharge", "pausecharge"})


def _day_rows(result: BacktestResult, day: date) -> tuple[pd.DataFrame, datetime, datetime]:
    """The steps of local `day` and the day's start and end (tz-aware, local)."""
    tz = ZoneInfo(result.inputs.site.timezone)
    first = datetime.combine(day, time(0, 0), tzinfo=tz)
    last = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    steps = result.steps
    times = steps["time"]
    mask = ((times >= first) & (times < last)).to_numpy()
    if not mask.any():
        raise ValueError(
            f"plot_day: {day.isoformat()} is not in the run "
            f"{result.inputs.start.isoformat()} .. {result.inputs.end.isoformat()}"
        )
    return steps[mask], first, last


def _num(times: pd.Series | pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Matplotlib date numbers of tz-aware times (UTC internally)."""
    index = pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None)
    return np.asarray(mdates.date2num(index.to_numpy()), dtype=float)


def _edges(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Step edges: each row's start and the last row's end (date numbers)."""
    start = _num(frame["time"])
    end = start[-1] + float(frame["duration_s"].iloc[-1]) / 86400.0
    return np.append(start, end)


def _runs(values: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """Runs of equal values: (first index, one past the last, value)."""
    if values.size == 0:
        return []
    cut = np.flatnonzero(np.diff(values)) + 1
    bounds = np.concatenate(([0], cut, [values.size]))
    return [(int(a), int(b), int(values[a])) for a, b in pairwise(bounds)]


def plot_day(result: BacktestResult, day: date, path: str | Path) -> Path:
    """Write a PNG of `day` (site-local) for one run; returns the path.

    ValueError naming the day and the run's window when the day was not simulated.
    """
    frame, first, last = _day_rows(result, day)
    tz = ZoneInfo(result.inputs.site.timezone)
    edges = _edges(frame)
    fig, (ax_p, ax_a, ax_s) = plt.subplots(
        3, 1, figsize=(12, 8), sharex=True, height_ratios=[3, 2, 1.1]
    )
    _power_panel(ax_p, edges, frame)
    _current_panel(ax_a, edges, frame)
    _strip_panel(ax_s, edges, frame, result, first, last)
    ax_s.set_xlim(_num(pd.DatetimeIndex([first, last])).tolist())
    ax_s.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 2), tz=tz))
    ax_s.xaxis.set_minor_locator(mdates.HourLocator(tz=tz))
    ax_s.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    ax_s.set_xlabel(f"local time ({result.inputs.site.timezone})")
    car_kwh = frame["car_wh"].sum() / 1000.0
    solar_kwh = frame["solar_wh"].sum() / 1000.0
    ax_p.set_title(
        f"{result.name}, {day.isoformat()}: car {car_kwh:.1f} kWh ({solar_kwh:.1f} solar), "
        f"{int(frame['calls'].sum())} API calls, {starts(frame)} starts, "
        f"{current_changes(frame)} current changes"
    )
    fig.align_ylabels([ax_p, ax_a, ax_s])
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def _stairs(ax: Axes, edges: npt.NDArray[np.float64], values: pd.Series, **style: object) -> None:
    ax.stairs(values.to_numpy(float), edges, baseline=None, **style)  # type: ignore[arg-type]


def _power_panel(ax: Axes, edges: npt.NDArray[np.float64], frame: pd.DataFrame) -> None:
    """PV, household (without the car) and car power (kW), the car's solar part shaded."""
    pv, house, car = frame["pv_w"] / 1000, frame["house_w"] / 1000, frame["car_w"] / 1000
    solar = np.minimum(car, np.maximum(pv - house, 0.0))
    ax.stairs(solar.to_numpy(float), edges, fill=True, color="tab:blue", alpha=0.2,
              label="car from solar")  # fmt: skip
    _stairs(ax, edges, pv, color="orange", label="PV", linewidth=1.2)
    _stairs(ax, edges, house, color="grey", label="household (without car)", linewidth=1.0)
    _stairs(ax, edges, car, color="tab:blue", label="car", linewidth=1.4)
    ax.set_ylabel("power (kW)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, ncols=2)


def _current_panel(ax: Axes, edges: npt.NDArray[np.float64], frame: pd.DataFrame) -> None:
    """The car's actual current and the most the charger offered (A)."""
    _stairs(ax, edges, frame["setpoint_a"], color="tab:green", linestyle="--", linewidth=1.0,
            label="offer cap (setpoint; 0 while paused)")  # fmt: skip
    _stairs(ax, edges, frame["current_a"], color="tab:blue", linewidth=1.4,
            label="actual current")  # fmt: skip
    top = max(float(frame["setpoint_a"].max()), float(frame["current_a"].max()), 6.0)
    ax.set_ylim(-0.5, top * 1.15 + 1)
    ax.set_ylabel("current (A)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, ncols=2)


def _strip_panel(
    ax: Axes,
    edges: npt.NDArray[np.float64],
    frame: pd.DataFrame,
    result: BacktestResult,
    first: datetime,
    last: datetime,
) -> None:
    """Rows: plugged in, PV mode (colour), API calls as ticks (reads, writes)."""
    plugged = frame["plugged_in"].to_numpy(bool).astype(np.int64)
    for a, b, on in _runs(plugged):
        if on:
            ax.broken_barh([(edges[a], edges[b] - edges[a])], (2.6, 0.8), color="tab:grey")
    day_width = edges[-1] - edges[0]
    for a, b, mode in _runs(frame["pv_mode"].to_numpy(np.int64)):
        label, colour = _MODES.get(mode, (str(mode), "black"))
        ax.broken_barh([(edges[a], edges[b] - edges[a])], (1.6, 0.8), color=colour)
        if edges[b] - edges[a] > 0.08 * day_width:  # room for the name inside the bar
            ax.text((edges[a] + edges[b]) / 2, 2.0, label, ha="center", va="center", fontsize=8)
    calls = [c for c in result.calls if first <= c.time < last]
    reads = [c.time for c in calls if c.endpoint not in _WRITE_ENDPOINTS]
    writes = [c.time for c in calls if c.endpoint in _WRITE_ENDPOINTS]
    for times, (low, high), colour in ((reads, (0.55, 1.35), "black"),
                                       (writes, (0.05, 0.5), "tab:red")):  # fmt: skip
        if times:  # dense ticks (a 90 s loop) thinner, or they merge into moire
            width = 0.6 if len(times) < 300 else 0.25
            ax.vlines(_num(pd.DatetimeIndex(times)), low, high, color=colour, linewidth=width,
                      clip_on=False)  # fmt: skip
    ax.set_ylim(0, 3.5)
    ax.set_yticks(
        [0.27, 0.95, 2.0, 3.0],
        [f"writes ({len(writes)})", f"reads ({len(reads)})", "PV mode", "plugged in"],
        fontsize=8,
    )
    ax.tick_params(axis="y", length=0)


def monthly_energy(results: Mapping[str, BacktestResult]) -> pd.DataFrame:
    """Solar and grid kWh into the car per local month, one column pair per run."""
    columns = {}
    for name, result in results.items():
        steps = result.steps
        local = steps["time"].dt.tz_convert(result.inputs.site.tz)
        month = (local.dt.year * 100 + local.dt.month).rename("month")
        grouped = steps.groupby(month)[["solar_wh", "grid_wh"]].sum() / 1000.0
        grouped.index = [f"{m // 100:04d}-{m % 100:02d}" for m in grouped.index]
        columns[(name, "solar_kwh")] = grouped["solar_wh"]
        columns[(name, "grid_kwh")] = grouped["grid_wh"]
    return pd.DataFrame(columns).fillna(0.0)


def plot_monthly_energy(results: Mapping[str, BacktestResult], path: str | Path) -> Path:
    """Write a PNG of monthly solar (solid) and grid (hatched, stacked) kWh per run."""
    table = monthly_energy(results)
    names = list(results)
    months = list(table.index)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(months))
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(months) + 5), 4.5))
    for i, name in enumerate(names):
        solar = table[(name, "solar_kwh")].to_numpy()
        grid = table[(name, "grid_kwh")].to_numpy()
        pos = x + (i - (len(names) - 1) / 2) * width
        bars = ax.bar(pos, solar, width, label=name)
        ax.bar(pos, grid, width, bottom=solar, color=bars.patches[0].get_facecolor(),
               hatch="//", alpha=0.4)  # fmt: skip
    ax.set_xticks(x, months)
    ax.set_xlabel("month (site-local)")
    ax.set_ylabel("energy (kWh): solar solid, grid hatched")
    ax.set_title("energy into the car per month")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//"))
    labels.append("grid part")
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.08)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
