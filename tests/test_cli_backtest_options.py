"""`v2c-solar backtest --prices FILE --export-price X|FILE --forecast MODE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.backtest.engine import (
    BacktestInputs,
    BacktestSetup,
    policy_contender,
    run_backtest,
)
from optimizer.backtest.persistence_forecasts import write_archive
from optimizer.cli.backtest_options import with_prices
from optimizer.cli.main import app
from optimizer.policies import PolicyConfig
from optimizer.policies.target import TargetParams
from optimizer.site import GRAZ
from tests.test_cli_backtest import _write_inputs

runner = CliRunner()
START = pd.Timestamp("2026-06-01", tz="UTC")


def _prices(path: Path, hours: int, price: object = 0.25, **rows: str) -> Path:
    """An hourly price file from START; `rows` replaces lines by their 0-based hour key."""
    lines = [
        f"{(START + pd.Timedelta(hours=h)).strftime('%Y-%m-%d %H:%M')},{price}"
        for h in range(hours)
    ]
    for key, line in rows.items():
        lines[int(key.removeprefix("h"))] = line
    path.write_text("timestamp,price_per_kwh\n" + "\n".join(lines) + "\n")
    return path


def _one_day(tmp_path: Path, *args: str) -> list[str]:
    pv, load, sessions = _write_inputs(tmp_path)
    return ["backtest", "--pv", str(pv), "--load", str(load), "--sessions", str(sessions),
            "--start", "2026-06-01", "--days", "1", "--tz", "UTC", *args]  # fmt: skip


def _error_line(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ({"h3": "2026-06-01 04:00,0.25"}, "row 5, column 'timestamp': gap: 1 interval(s) missing"),
        ({"h3": "2026-06-01 02:00,0.25"}, "row 5, column 'timestamp': 2026-06-01T02:00:00+00"),
        ({"h3": "2026-06-01 02:00,0.25"}, "appears twice (duplicate interval)"),
        ({"h2": "2026-06-01 02:00,cheap"}, "row 4, column 'price_per_kwh': not a number: 'cheap'"),
        ({"h2": "2026-06-01 02:00,250"}, "row 4, column 'price_per_kwh': 250 EUR/kWh is outside"),
        ({"h2": "2026-06-01 02:00,"}, "row 4, column 'price_per_kwh': missing price"),
    ],
)  # fmt: skip
def test_a_bad_price_line_is_one_error_naming_file_and_row(
    tmp_path: Path, rows: dict[str, str], needle: str
) -> None:
    prices = _prices(tmp_path / "prices.csv", 24, **rows)
    line = _error_line(_one_day(tmp_path, "--prices", str(prices)))
    assert str(prices) in line and needle in line, line


def test_a_price_time_the_clocks_skip_is_named(tmp_path: Path) -> None:
    prices = tmp_path / "dst.csv"
    prices.write_text("timestamp,price_per_kwh\n2026-03-29 01:00,0.2\n2026-03-29 02:00,0.2\n")
    line = _error_line(_one_day(tmp_path, "--prices", str(prices), "--tz", "Europe/Vienna"))
    assert f"{prices}, row 3" in line and "does not exist in Europe/Vienna" in line, line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--export-price", "0.08"], "--export-price: needs import prices"),
        (
            ["--prices", "P", "--export-price", "cheap"],
            "neither a number (EUR/kWh) nor an existing",
        ),
        (["--prices", "P", "--export-price", "50"], "--export-price 50: not a price in -1..10"),
        (["--prices", "SHORT"], "not the simulated window"),
        (["--prices", "P", "--export-price", "SHORT"], "--export-price"),
        (["--forecast", "crystal-ball"], "expected offline, oracle or file:PATH"),
        (["--forecast", "file:"], "expected offline, oracle or file:PATH"),
        (["--forecast", "file:MISSING.jsonl"], "MISSING.jsonl: no such file"),
        (["--forecast", "file:BAD"], "bad.jsonl:1: not JSON"),
        (["--forecast", "file:OLD"], "no forecast issued between"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    files = {
        "P": str(_prices(tmp_path / "p.csv", 24)),
        "SHORT": str(_prices(tmp_path / "short.csv", 12)),
        "file:BAD": f"file:{tmp_path / 'bad.jsonl'}",
        "file:OLD": f"file:{tmp_path / 'old.jsonl'}",
    }
    (tmp_path / "bad.jsonl").write_text("{nope\n")
    old = START - pd.Timedelta(days=30)
    pv = pd.Series(0.0, index=pd.date_range(old, periods=3000, freq="min"))
    write_archive(pv, GRAZ, old.to_pydatetime(), (old + pd.Timedelta(hours=1)).to_pydatetime(),
                  tmp_path / "old.jsonl")  # fmt: skip
    line = _error_line(_one_day(tmp_path, *(files.get(a, a) for a in args)))
    assert needle in line, line


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_earnings_given_up_enter_the_cost_and_negative_prices_are_prices(
    tmp_path: Path,
) -> None:
    prices = _prices(tmp_path / "p.csv", 24, h12="2026-06-01 12:00,-0.05")
    base = _json(_one_day(tmp_path, "--prices", str(prices)))
    paid = _json(_one_day(tmp_path, "--prices", str(prices), "--export-price", "0.1"))
    assert base["prices"] == {"import": f"file {prices}", "export": None}
    assert paid["prices"] == {"import": f"file {prices}", "export": "flat 0.1 EUR/kWh"}
    for name in ("solar_only", "device_exclusive_pv"):  # neither looks at prices
        before, after = base["policies"][name], paid["policies"][name]
        assert after["solar_kwh"] == before["solar_kwh"] > 1.0
        assert after["cost"] == pytest.approx(before["cost"] + 0.1 * after["solar_kwh"], abs=1e-3)


def test_the_oracle_is_labelled_an_upper_bound_in_the_table_and_the_json(tmp_path: Path) -> None:
    args = _one_day(tmp_path, "--forecast", "oracle", "--policy", "off")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "forecast oracle (upper bound)" in result.stdout
    assert "UPPER BOUND: the forecaster was given the measured future PV" in result.stdout
    assert _json(args)["forecast"] == "oracle (upper bound)"


def test_a_forecast_file_is_replayed_and_named(tmp_path: Path) -> None:
    pv, _, _ = _write_inputs(tmp_path)
    series = pd.read_csv(pv, index_col="timestamp", parse_dates=True)["pv_w"].tz_localize("UTC")
    archive = tmp_path / "fc.jsonl"
    end = START + pd.Timedelta(days=1)
    write_archive(series, GRAZ, START.to_pydatetime(), end.to_pydatetime(), archive)
    data = _json(_one_day(tmp_path, "--forecast", f"file:{archive}"))
    assert data["forecast"] == f"file:{archive}"
    assert data["policies"]["solar_only"]["solar_kwh"] > 1.0


def test_prices_move_the_least_cost_targets_grid_charging_into_the_cheap_hours(
    tmp_path: Path,
) -> None:
    """The same night session, planned with the flat default and with `--prices` whose
    19-22 h are cheap: the prices move the grid energy into those hours."""
    index = pd.date_range(START, periods=48 * 60, freq="min")
    hour = index.hour + index.minute / 60
    site = GRAZ.model_copy(update={"timezone": "UTC"})
    inputs = BacktestInputs(
        pv_w=pd.Series(np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 5000, index=index),
        house_w=pd.Series(350.0, index=index),
        sessions=pd.DataFrame(
            {
                "arrival": [START + pd.Timedelta(hours=18)],
                "departure": [START + pd.Timedelta(hours=31)],
                "energy_kwh": [8.0],
            }
        ),
        start=START.to_pydatetime(),
        end=(START + pd.Timedelta(hours=48)).to_pydatetime(),
        site=site,
    )
    cheap = {f"h{h}": f"2026-06-01 {h:02d}:00,0.10" for h in (19, 20, 21)}
    priced = with_prices(inputs, _prices(tmp_path / "p.csv", 48, price=0.40, **cheap), None)
    setup = BacktestSetup(policies=PolicyConfig(target=TargetParams(planner="least_cost")))

    def cheap_share(run_on: BacktestInputs) -> float:
        steps = run_backtest(run_on, policy_contender("target"), setup).steps
        hour = steps["time"].dt.hour
        first_night = (steps["time"].dt.day == 1) & (hour >= 19) & (hour < 22)
        return float(steps["grid_wh"][first_night].sum() / steps["grid_wh"].sum())

    without, with_prices_ = cheap_share(inputs), cheap_share(priced)
    assert with_prices_ > 0.8 and without < 0.2, (with_prices_, without)


def _day_inputs() -> BacktestInputs:
    index = pd.date_range(START, periods=24 * 60, freq="min")
    return BacktestInputs(
        pv_w=pd.Series(0.0, index=index),
        house_w=pd.Series(300.0, index=index),
        sessions=pd.DataFrame(columns=["arrival", "departure", "energy_kwh"]),
        start=START.to_pydatetime(),
        end=(START + pd.Timedelta(days=1)).to_pydatetime(),
        site=GRAZ.model_copy(update={"timezone": "UTC"}),
    )


def test_export_prices_come_from_the_price_file_or_their_own_file(tmp_path: Path) -> None:
    both = tmp_path / "both.csv"
    rows = [f"2026-06-01T{h:02d}:00Z,0.{20 + h},0.0{h % 10}" for h in range(24)]
    both.write_text("start,import_eur_per_kwh,export_eur_per_kwh\n" + "\n".join(rows) + "\n")
    inputs = with_prices(_day_inputs(), both, None)
    assert inputs.prices is not None and inputs.export_prices is not None
    assert inputs.prices.iloc[5] == pytest.approx(0.25)
    assert inputs.export_prices.iloc[13] == pytest.approx(0.03)
    quarter = tmp_path / "export.csv"
    starts = pd.date_range(START, periods=96, freq="15min")
    quarter.write_text(
        "timestamp,price_per_kwh\n"
        + "\n".join(f"{t:%Y-%m-%d %H:%M},{i / 1000:.3f}" for i, t in enumerate(starts))
        + "\n"
    )
    own = with_prices(_day_inputs(), both, str(quarter))
    assert own.export_prices is not None and own.export_prices.attrs["source"] == f"file {quarter}"
    assert own.export_prices.iloc[4] == pytest.approx(0.004)  # 01:00 in the 15-minute file
