"""The simulator's wire format: readings and sessions as the V2C cloud writes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapters.simulator.server.wire import (
    ChargerFlags,
    current_state_body,
    last_sessions,
    shadow_body,
)
from adapters.simulator.world import SessionLog
from optimizer.interfaces import PvMode
from tests.conftest import make_reading

T0 = datetime(2025, 6, 21, 12, 0, tzinfo=UTC)


def test_current_state_is_strings_in_kw() -> None:
    reading = replace(
        make_reading(0),  # 1380 W to the car at 6 A on one phase
        pv_power_w=1500.0,
        house_power_w=3500.0,
        voltage_v=230.5,
        session_energy_wh=2500.0,
        session_seconds=93.7,
    )
    body = current_state_body(reading, pv_mode_on=True)
    assert body == {
        "error": "0",
        "battery": "0.000000",
        "voltage": "230.50",
        "intensity": "6",
        "seconds": "93",
        "photovoltaic_on": "1",
        "house_power": "3.500000",
        "charge_state": "2",
        "power": "1.380000",
        "sun_power": "1.500000",
        "phases": "1",
        "cp_level": "248.000000",
        "energy": "2.500000",
    }


def _session(start: datetime) -> SessionLog:
    return SessionLog(
        device_id="D",
        start=start,
        end=start + timedelta(hours=2),
        energy_wh=1000.0,
        solar_wh=600.0,
        grid_wh=400.0,
        target_wh=None,
    )


@given(st.lists(st.integers(0, 60), max_size=12), st.integers(0, 60), st.integers(0, 60))
def test_statistics_are_the_last_five_within_the_dates(
    day_offsets: list[int], lo: int, hi: int
) -> None:
    base = date(2025, 1, 1)
    starts = sorted(datetime(2025, 1, 1, 10, tzinfo=UTC) + timedelta(days=d) for d in day_offsets)
    sessions = [_session(s) for s in starts]
    first, last = base + timedelta(days=lo), base + timedelta(days=hi)
    chosen = last_sessions(sessions, tz=UTC, first=first, last=last)
    inside = [i + 1 for i, s in enumerate(sessions) if first <= s.start.date() <= last]
    assert [n for n, _ in chosen] == list(reversed(inside[-5:]))


def test_the_home_battery_is_kw_positive_while_discharging() -> None:
    reading = replace(make_reading(0), battery_w=-2500.0)
    assert current_state_body(reading, pv_mode_on=True)["battery"] == "-2.500000"
    flags = ChargerFlags("D", False, False, False, PvMode.EXCLUSIVE_PV, False, "2.1.7")
    assert shadow_body(replace(reading, battery_w=1250.0), flags)["BatteryPower"] == "1.250000"
