"""Scenarios load or fail in one line naming the key; sessions and real series feed the world."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.simulator.world import (
    ScenarioError,
    World,
    default_scenario,
    load_scenario,
)
from adapters.simulator.world.sessions import plan_from_frame

SCENARIOS = Path(__file__).resolve().parents[1] / "config" / "scenarios"


@pytest.mark.parametrize(
    "name", ["sunny_summer", "broken_clouds", "winter", "home_all_day", "commuter", "home_battery"]
)
def test_shipped_scenarios_load_and_run(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.name == name
    world = World(scenario, seed=1, step_s=60)
    world.advance_to(world.now + timedelta(days=1))
    assert world.totals(world.device_ids[0]).pv_wh > 0


def test_default_scenario_has_one_device_sim0001() -> None:
    assert [d.device_id for d in default_scenario().devices] == ["SIM0001"]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[[devices]]\ndevice_id = 'A'\n[devices.car]\nbattery_kwh = -1\n",
            "devices.0.car.battery_kwh",
        ),
        ("[weather]\nkind = 'hail'\n", "weather.kind"),
        ("[home_battery]\ncapacity_kwh = 0\n", "home_battery.capacity_kwh"),
        ("[home_battery]\nmin_soc = 0.5\ninitial_soc = 0.2\n", "home_battery: Value error"),
        ("colour = 'red'\n", "colour"),
        ("[[devices]]\ndevice_id = 'A'\n[[devices]]\ndevice_id = 'A'\n", "duplicate device_id A"),
        ("pv_mode_delay_s = 'soon'\n", "pv_mode_delay_s"),
        ("name = \n", "invalid TOML"),
        (
            "[[devices]]\ndevice_id = 'A'\n[devices.sessions]\nkind = 'random'\nleave_h = 7.5\n",
            "devices.0.sessions.random.leave_h: Extra inputs are not permitted",
        ),
        (
            "[[devices]]\ndevice_id = 'A'\n[devices.sessions]\nkind = 'random'\n"
            "pattern = 'nomad'\n",
            "devices.0.sessions.random.pattern",
        ),
        (
            "[[devices]]\ndevice_id = 'A'\n[devices.sessions]\nkind = 'random'\n"
            "[devices.sessions.pattern]\nkind = 'commuter'\nphases = 3\n",
            "phases belongs in [devices.car]",
        ),
    ],
)
def test_bad_scenarios_fail_in_one_line_naming_file_and_key(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_scenario_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.toml: scenario file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_real_series_and_sessions_frame_drive_the_world() -> None:
    tz = "Europe/Vienna"
    index = pd.date_range("2026-06-21", periods=4 * 24 * 2, freq="15min", tz=tz)
    pv = pd.Series(np.where((index.hour >= 8) & (index.hour < 18), 6000.0, 0.0), index=index)
    house = pd.Series(500.0, index=index)
    sessions = pd.DataFrame(
        {"arrival": ["2026-06-21 09:00"], "departure": ["2026-06-21 17:00"], "energy_kwh": [10.0]}
    )
    scenario = default_scenario().model_copy(update={"start": datetime(2026, 6, 21, 0, tzinfo=UTC)})
    world = World(scenario, step_s=60, pv_w=pv, house_w=house, sessions=sessions)
    world.advance_to(datetime(2026, 6, 21, 23, 0, tzinfo=UTC))
    totals = world.totals("SIM0001")
    assert totals.household_wh == pytest.approx(500.0 * 23, rel=1e-6)
    logs = world.sessions("SIM0001")
    assert len(logs) == 1
    assert logs[0].start == datetime(2026, 6, 21, 7, 0, tzinfo=UTC)  # 09:00 local
    assert logs[0].target_wh == 10_000.0


def test_series_that_do_not_cover_the_day_are_named() -> None:
    index = pd.date_range("2020-01-01", periods=10, freq="h", tz="UTC")
    world = World(default_scenario(), step_s=60, pv_w=pd.Series(1000.0, index=index))
    with pytest.raises(ValueError, match="pv_w: does not cover"):
        world.advance_to(world.now + timedelta(hours=1))


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            pd.DataFrame({"arrival": ["x"], "departure": ["2026-01-01"], "energy_kwh": [1]}),
            "row 0, column arrival",
        ),
        (
            pd.DataFrame(
                {"arrival": ["2026-01-02"], "departure": ["2026-01-01"], "energy_kwh": [1]}
            ),
            "row 0, column departure",
        ),
        (
            pd.DataFrame(
                {"arrival": ["2026-01-01"], "departure": ["2026-01-02"], "energy_kwh": [-1]}
            ),
            "row 0, column energy_kwh",
        ),
        (pd.DataFrame({"arrival": ["2026-01-01"]}), "missing column(s) departure, energy_kwh"),
    ],
)
def test_bad_sessions_frames_name_row_and_column(frame: pd.DataFrame, expected: str) -> None:
    scenario = default_scenario()
    with pytest.raises(ValueError) as info:
        plan_from_frame(frame, scenario.devices[0].car, scenario.site.tz)
    assert expected in str(info.value)


def test_step_must_divide_a_day() -> None:
    with pytest.raises(ValueError, match="step_s"):
        World(default_scenario(), step_s=7)
