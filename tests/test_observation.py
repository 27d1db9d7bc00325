"""Observation: reads only when due and allowed; the last reading and the read context."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from optimizer.cycle.backoff import Backoff
from optimizer.cycle.observation import LastReading, Observation
from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import ChargerAuthError, ChargerError, ChargeState
from tests.conftest import (
    T0,
    FakeCharger,
    FakeClock,
    FakeScheduler,
    World,
    flat_forecast,
)


def _rig(interval_s: float = 60.0) -> tuple[Observation, FakeCharger]:
    clock = FakeClock()
    charger = FakeCharger(clock, World())
    backoff = Backoff(ControllerSettings())
    return Observation(charger, FakeScheduler(interval_s), backoff), charger


def test_reads_when_the_scheduler_says_so() -> None:
    obs, charger = _rig(60.0)
    first = obs.read(T0, None, None)
    assert first.attempted and first.reading is not None and first.error is None
    assert first.car_arrived  # the first reading to see the car
    assert obs.read_at == T0
    assert not obs.read(T0 + timedelta(seconds=59), None, None).attempted
    later = obs.read(T0 + timedelta(seconds=60), None, None)
    assert later.reading is not None and not later.car_arrived
    assert charger.reads() == 2


def test_the_policy_hint_holds_reads_back() -> None:
    obs, charger = _rig(60.0)
    assert not obs.read(T0, None, math.inf).attempted  # never read
    obs.read(T0, None, None)
    assert not obs.read(T0 + timedelta(seconds=100), None, 120.0).attempted
    assert obs.read(T0 + timedelta(seconds=120), None, 120.0).attempted
    assert charger.reads() == 2


def test_a_failed_read_is_an_error_value_and_backs_off() -> None:
    obs, charger = _rig(60.0)
    charger.fail_next = ChargerError("timeout")
    failed = obs.read(T0, None, None)
    assert (failed.attempted, failed.reading) == (True, None)
    assert failed.error == "read failed (timeout); retry in 60 s"
    assert not obs.read(T0 + timedelta(seconds=59), None, None).attempted
    assert obs.read(T0 + timedelta(seconds=60), None, None).reading is not None


def test_a_refused_login_raises() -> None:
    obs, charger = _rig()
    charger.fail_next = ChargerAuthError("HTTP 401")
    with pytest.raises(ChargerAuthError):
        obs.read(T0, None, None)


def test_the_read_context_tells_plug_state_expected_pv_and_the_last_read() -> None:
    obs, _ = _rig()
    fc = flat_forecast(T0, 4, central=2500.0, variability=0.4)
    before = obs.read_context(T0, fc)
    assert (before.plugged_in, before.charging, before.last_read) == (None, False, None)
    obs.read(T0, fc, None)
    ctx = obs.read_context(T0 + timedelta(seconds=30), fc)
    assert (ctx.device_id, ctx.plugged_in, ctx.charging) == ("dev1", True, True)
    assert (ctx.pv_expected_w, ctx.variability, ctx.last_read) == (2500.0, 0.4, T0)
    assert obs.read_context(T0 + timedelta(hours=1), fc).pv_expected_w == 0.0  # past the end


def test_last_reading_knows_the_plug_state_and_the_clear_sky_at_its_time() -> None:
    _, charger = _rig()
    fc = flat_forecast(T0, 2, clear_sky=800.0)
    last = LastReading.of(T0, charger.read(), fc)
    assert (last.plugged_in, last.charging, last.clear_sky_w) == (True, True, 800.0)
    charger.world.plugged = False
    unplugged = LastReading.of(T0, charger.read(), None)
    assert (unplugged.plugged_in, unplugged.clear_sky_w) == (False, None)
    fault = replace(charger.read(), charge_state=ChargeState.FAULT)
    assert LastReading.of(T0, fault, None).plugged_in is None  # unknown in a fault


def test_a_moments_read_context_is_built_once_and_is_the_fresh_one() -> None:
    obs, _ = _rig()
    fc = flat_forecast(T0, 4, central=2500.0, variability=0.4)
    first = obs.read_context(T0, fc)
    assert obs.read_context(T0, fc) is first  # the gate, the next read, the sleep
    obs.read(T0, fc, None)  # a reading changes it at the same moment
    after = obs.read_context(T0, fc)
    assert after.plugged_in is True and after.last_read == T0
    assert after == obs._build_read_context(T0, fc)
    later = T0 + timedelta(seconds=30)
    assert obs.read_context(later, fc) == obs._build_read_context(later, fc)
    other = flat_forecast(T0, 4, central=1000.0, variability=0.4)
    assert obs.read_context(later, other).pv_expected_w == 1000.0  # another forecast
    assert obs.read_context(later, None).pv_expected_w == 0.0
