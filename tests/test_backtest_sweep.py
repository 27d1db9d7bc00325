"""Sweeps: the grid of `--param` values (`sweep_grid`), runs on Dask (`sweep`), the heat map
(`sweep_plot`). The Dask runs here use an in-process cluster on synthetic data; the CLI
test (`test_cli_backtest_sweep.py`) runs real scheduler and worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest.compare import compare
from optimizer.backtest.engine import BacktestInputs, policy_contender, run_backtest
from optimizer.backtest.metrics import compute_metrics
from optimizer.backtest.sweep import SWEEP_METRICS, Slice, run_sweep
from optimizer.backtest.sweep_grid import (
    Param,
    SweepArgError,
    default_config,
    grid,
    parse_param,
    parse_params,
    parse_scalar,
    validated_grid,
    with_values,
)
from optimizer.backtest.sweep_plot import heatmap_axes, plot_heatmap
from optimizer.site import GRAZ

START = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _inputs(minutes: int = 360, *, pv_minutes: int | None = None) -> BacktestInputs:
    """A sunny morning with one session; `pv_minutes` shorter than the window breaks a run."""
    rng = np.random.default_rng(5)
    shape = np.sin(np.linspace(0.2, np.pi - 0.2, minutes)) * 5000.0 * rng.uniform(0.4, 1, minutes)
    index = pd.date_range(START, periods=minutes, freq="min")
    pv = pd.Series(shape, index=index, name="pv_w")
    end = START + timedelta(minutes=minutes)
    sessions = pd.DataFrame(
        {"arrival": [pd.Timestamp(START)], "departure": [pd.Timestamp(end)], "energy_kwh": [10.0]}
    )
    return BacktestInputs(
        pv_w=pv.iloc[:pv_minutes] if pv_minutes else pv,
        house_w=pd.Series(300.0, index=index),
        sessions=sessions,
        start=START,
        end=end,
        site=GRAZ,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("300", 300), ("1.5", 1.5), ("true", True), ('"x,y"', "x,y"), ("controller", "controller")],
)
def test_values_are_toml_scalars_and_a_bare_word_is_a_string(text: str, value: object) -> None:
    parsed = parse_scalar(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["budget.reserve"], "expected dotted.key=value1,value2"),
        (["budget.reserve="], "expected dotted.key=value1,value2"),
        (["budget.reserve=1,,2"], "an empty value"),
        (["budget.reserve=1,1"], "a value appears twice"),
        (["budget.reserve=[1]"], "not a scalar"),
        (["site.kwp=5"], "a sweep varies only"),
        (["budget.reserve=1", "budget.reserve=2"], "given twice"),
    ],
)
def test_a_malformed_param_is_one_line_naming_it(texts: list[str], message: str) -> None:
    with pytest.raises(SweepArgError, match=message) as caught:
        parse_params(texts)
    assert str(caught.value).startswith("--param ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("budget.nope=1", "--param budget.nope=1: unknown key 'nope' in \\[budget\\]"),
        ("budget.reserve=-5", "--param budget.reserve=-5: budget.reserve: must be >= 0"),
        ("budget.reserve=2000", "--param budget.reserve=2000: .*reserve .*daily_limit"),
        ("chargers.0.device_id.x=1", "--param chargers.0.device_id.x: .*device_id is not a table"),
        ("budget.reserve.x=1", "--param budget.reserve.x=1: budget.reserve: .*valid integer"),
        ("chargers.3.limits.phases=1", "--param chargers.3.limits.phases: chargers.3: no such"),
        ("chargers.0.limits.phases=2", "--param chargers.0.limits.phases=2: .*1 or 3 phases"),
    ],
)
def test_a_value_the_daemon_would_refuse_names_its_param(text: str, message: str) -> None:
    with pytest.raises(SweepArgError, match=message):
        validated_grid(default_config(), [parse_param(text)])


def test_the_grid_is_the_cartesian_product_and_each_point_its_own_setup() -> None:
    params = [
        Param("policy.solar_only.handover_read_interval_s", (300, 900)),
        Param("budget.reserve", (50, 200)),
        Param("chargers.0.limits.max_current_a", (16.0,)),
    ]
    points = validated_grid(default_config(), params)
    assert [p for p, _ in points] == grid(params)
    assert len(points) == 4
    for point, setup in points:
        assert setup.policies.solar_only.handover_read_interval_s == point[params[0].key]
        assert setup.budget.reserve == point["budget.reserve"]
        assert setup.limits.max_current_a == 16.0


def test_values_are_set_on_a_copy_and_create_missing_tables() -> None:
    base = default_config()
    edited = with_values(base, {"tariff.grid_price": 0.3, "budget.reserve": 5})
    assert edited["tariff"] == {"grid_price": 0.3} and edited["budget"] == {"reserve": 5}
    assert "tariff" not in base and "budget" not in base


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from distributed import Client

    with Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as in_process:
        yield in_process


def test_each_run_is_the_backtests_own_and_a_failed_run_is_a_row(client: object) -> None:
    params = [Param("budget.reserve", (50, 200)), Param("policy.solar_only.threshold_w", (0, 500))]
    points = validated_grid(default_config(), params)
    good, broken = Slice("synthetic", "2026-06-01", 1), Slice("cut", "2026-06-01", 1)
    seen: list[tuple[int, int]] = []
    result = run_sweep(
        points,
        {good: _inputs(), broken: _inputs(pv_minutes=60)},
        ["solar_only"],
        client,  # type: ignore[arg-type]
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(i, 8) for i in range(1, 9)]
    assert [o.run.slice for o in result.outcomes] == [good] * 4 + [broken] * 4
    for outcome in result.outcomes[4:]:
        assert outcome.metrics is None and outcome.error is not None
        assert outcome.error.startswith("ValueError: pv_w: covers")
    for outcome, (point, setup) in zip(result.outcomes[:4], points, strict=True):
        assert outcome.error is None and outcome.run.point == point
        direct = compute_metrics(run_backtest(_inputs(), policy_contender("solar_only"), setup))
        assert outcome.metrics is not None
        assert {k: v for k, v in outcome.metrics.items() if k != "runtime_s"} == {
            k: v for k, v in direct.items() if k != "runtime_s"
        }
    table = result.table()
    assert list(table.columns[:6]) == ["policy", "dataset", "start", "days", *result.param_keys]
    assert table["error"].notna().sum() == 4 and table["solar_kwh"].isna().sum() == 4
    runs = result.as_json()["runs"]
    assert runs[0]["params"] == {"budget.reserve": 50, "policy.solar_only.threshold_w": 0}
    assert set(runs[0]["metrics"]) == set(SWEEP_METRICS) and runs[4]["metrics"] is None


def test_with_the_optimum_the_ratio_is_the_backtests_own(client: object) -> None:
    (point,) = validated_grid(default_config(), [Param("budget.reserve", (50,))])
    inputs = _inputs()
    result = run_sweep(
        [point], {Slice("s", None, None): inputs}, ["solar_only"], client, optimum=True
    )  # type: ignore[arg-type]
    (outcome,) = result.outcomes
    expected = compare(inputs, ["solar_only"], point[1]).metrics["solar_only"]["ratio_to_optimum"]
    assert outcome.metrics is not None and expected is not None
    assert outcome.metrics["ratio_to_optimum"] == expected
    without = run_sweep([point], {Slice("s", None, None): inputs}, ["solar_only"], client)  # type: ignore[arg-type]
    assert without.outcomes[0].metrics is not None
    assert without.outcomes[0].metrics["ratio_to_optimum"] is None


def test_the_heat_map_puts_two_swept_keys_on_its_axes(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"a": [1, 1, 2, 2], "b": ["x", "y", "x", "y"], "c": [7, 7, 7, 7], "m": [1.0, 2, 3, None]}
    )
    assert heatmap_axes(table, ("c", "a", "b")) == ("a", "b")
    assert heatmap_axes(table, ("c", "a", "b"), x="b") == ("b", "a")
    assert heatmap_axes(table, ("c",)) == ("c", None)
    path = plot_heatmap(table, "a", "b", "m", tmp_path / "h.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no column 'zz'"):
        plot_heatmap(table, "a", "b", "zz", tmp_path / "h.png")
