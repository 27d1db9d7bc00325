"""`v2c-solar backtest`: one-line errors with exit 2, the --json shape, files in --output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli.main import app

runner = CliRunner()
NAMES = {
    "solar_only",
    "device_exclusive_pv",
    "device_pv_min",
    "evcc_style",
    "evcc_style_budget",
    "optimum",
}


def _write_inputs(tmp_path: Path, hours: int = 30) -> tuple[Path, Path, Path]:
    index = pd.date_range("2026-06-01 00:00", periods=hours * 60, freq="min")
    hour = index.hour + index.minute / 60
    pv = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 5000
    pv_file = tmp_path / "pv.csv"
    pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M"), "pv_w": pv.round(1)}).to_csv(
        pv_file, index=False
    )
    load_file = tmp_path / "load.csv"
    pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M"), "house_w": 350.0}).to_csv(
        load_file, index=False
    )
    sessions_file = tmp_path / "sessions.csv"
    sessions_file.write_text("arrival,departure,energy_kwh\n2026-06-01 08:00,2026-06-01 18:00,12\n")
    return pv_file, load_file, sessions_file


def test_json_has_every_policy_baseline_and_the_optimum(tmp_path: Path) -> None:
    pv, load, sessions = _write_inputs(tmp_path)
    result = runner.invoke(
        app,
        ["backtest", "--pv", str(pv), "--load", str(load), "--sessions", str(sessions),
         "--start", "2026-06-01", "--days", "1", "--tz", "UTC", "--json",
         "--output", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"forecast", "prices", "policies", "labels"}
    assert data["forecast"] == "offline" and data["prices"] is None
    assert set(data["policies"]) == NAMES
    assert set(data["labels"]) == NAMES - {"solar_only"}  # every baseline says what it is
    for name, metrics in data["policies"].items():
        for key in ("ev_kwh", "solar_kwh", "grid_kwh", "solar_share", "ratio_to_optimum",
                    "calls_per_day_mean", "calls_per_day_max", "target_misses", "unmet_kwh",
                    "current_changes_per_day"):  # fmt: skip
            assert key in metrics, (name, key)
    assert data["policies"]["solar_only"]["solar_kwh"] > 5
    assert data["policies"]["device_exclusive_pv"]["calls_per_day_max"] <= 3
    out = tmp_path / "out"
    assert json.loads((out / "metrics.json").read_text()) == data
    assert (out / "monthly_energy.png").stat().st_size > 0
    assert (out / "day_solar_only.png").stat().st_size > 0
    assert any(out.glob("steps_solar_only.*"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--policy", "greedy"], "unknown 'greedy'"),
        (["--pv", "MISSING.csv"], "MISSING.csv"),
        (["--dataset", "real-1999"], "unknown dataset"),
        (["--dataset", "real-2017", "--start", "2018-02-01", "--days", "2"], "2017"),
        (["--tilt", "120"], "tilt"),
        (["--battery-kwh", "-1"], "--battery-kwh: Input should be greater than 0 (got -1.0)"),
        (["--battery-kwh", "10", "--battery-kw", "0"], "--battery-kw: Input should be greater"),
    ],
)
def test_bad_arguments_are_one_line_errors_with_exit_2(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    pv, load, _ = _write_inputs(tmp_path)
    base = [] if "--dataset" in args or "--pv" in args else ["--pv", str(pv), "--load", str(load)]
    if "--pv" in args:
        base = ["--load", str(load)]
    result = runner.invoke(app, ["backtest", *base, *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_a_home_battery_adds_its_energy_flows(tmp_path: Path) -> None:
    pv, load, sessions = _write_inputs(tmp_path)
    result = runner.invoke(
        app,
        ["backtest", "--pv", str(pv), "--load", str(load), "--sessions", str(sessions),
         "--start", "2026-06-01", "--days", "1", "--tz", "UTC", "--battery-kwh", "5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "energy flows with the home battery (kWh)" in result.stdout
    assert "battery" in result.stdout.split("energy flows", 1)[1]


def test_a_bad_cell_names_file_row_and_column(tmp_path: Path) -> None:
    pv, load, _ = _write_inputs(tmp_path, hours=2)
    text = load.read_text().splitlines()
    text[5] = text[5].split(",")[0] + ",lots"
    load.write_text("\n".join(text) + "\n")
    result = runner.invoke(app, ["backtest", "--pv", str(pv), "--load", str(load), "--json"])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and "load.csv" in line and "6" in line and "house_w" in line


def test_the_table_has_a_cost_column_only_with_prices(tmp_path: Path) -> None:
    pv, load, sessions = _write_inputs(tmp_path, hours=24)
    args = ["backtest", "--pv", str(pv), "--load", str(load), "--sessions", str(sessions),
            "--start", "2026-06-01", "--days", "1", "--tz", "UTC"]  # fmt: skip

    def header(output: str) -> str:
        return output.split("backtest: policies")[1].split("───")[0]

    assert "cost" not in header(runner.invoke(app, args).stdout)
    prices = tmp_path / "prices.csv"
    rows = [f"2026-06-01 {h:02d}:00,0.25" for h in range(24)]
    prices.write_text("timestamp,price_per_kwh\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, [*args, "--prices", str(prices)])
    assert result.exit_code == 0, result.output
    assert "cost" in header(result.stdout)
