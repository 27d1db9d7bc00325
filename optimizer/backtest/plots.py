"""Backtest plots (matplotlib, Agg backend: files only, no display needed).

* `plot_day`: one local day of a run: PV, household and car power (kW), the
  setpoint current (A) and the charger's PV mode, API calls as ticks;
* `plot_monthly_energy`: solar and grid energy into the car per month for every
  run side by side (kWh).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optimizer.backtest.engine import BacktestResult

_MODE_NAMES = {0: "PV+min", 1: "excl. PV", 2: "max power"}


def plot_day(result: BacktestResult, day: date, path: str | Path) -> Path:
    """Write a PNG of `day` (site-local) for one run; returns the path."""
    tz = result.inputs.site.tz
    steps = result.steps
    local = steps["time"].dt.tz_convert(tz)
    mask = (local.dt.date == day).to_numpy()
    frame = steps[mask]
    times = local[mask]
    fig, (ax_p, ax_a) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, height_ratios=[2, 1])
    ax_p.step(times, frame["pv_w"] / 1000, where="post", label="PV", color="orange")
    ax_p.step(times, frame["house_w"] / 1000, where="post", label="household", color="grey")
    ax_p.step(times, frame["car_w"] / 1000, where="post", label="car", color="tab:blue")
    ax_p.set_ylabel("power (kW)")
    ax_p.legend(loc="upper left")
    ax_p.set_title(f"{result.name}: {day.isoformat()}")
    ax_a.step(times, frame["setpoint_a"], where="post", label="setpoint (A)", color="tab:green")
    ax_a.set_ylabel("current (A)")
    ax_m = ax_a.twinx()
    ax_m.step(times, frame["pv_mode"], where="post", color="tab:purple", alpha=0.5)
    ax_m.set_yticks(list(_MODE_NAMES), list(_MODE_NAMES.values()))
    ax_m.set_ylim(-0.5, 2.5)
    call_times = [
        c.time.astimezone(tz) for c in result.calls if c.time.astimezone(tz).date() == day
    ]
    ax_a.plot(
        call_times, np.zeros(len(call_times)), "|", color="black", markersize=8, label="API call"
    )
    ax_a.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def monthly_energy(results: Mapping[str, BacktestResult]) -> pd.DataFrame:
    """Solar and grid kWh into the car per local month, one column pair per run."""
    columns = {}
    for name, result in results.items():
        steps = result.steps
        month = steps["time"].dt.tz_convert(result.inputs.site.tz).dt.strftime("%Y-%m")
        grouped = steps.groupby(month)[["solar_wh", "grid_wh"]].sum() / 1000.0
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
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(months) + 4), 4.5))
    for i, name in enumerate(names):
        solar = table[(name, "solar_kwh")].to_numpy()
        grid = table[(name, "grid_kwh")].to_numpy()
        pos = x + (i - (len(names) - 1) / 2) * width
        bars = ax.bar(pos, solar, width, label=name)
        ax.bar(pos, grid, width, bottom=solar, color=bars.patches[0].get_facecolor(),
               hatch="//", alpha=0.4)  # fmt: skip
    ax.set_xticks(x, months)
    ax.set_ylabel("energy into the car (kWh); hatched: grid")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
