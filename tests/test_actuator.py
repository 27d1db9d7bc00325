"""The actuator: writes only what differs, a deadband, and failures as error values."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from optimizer.cycle.actuator import Actuation, Actuator
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import (
    ChargerAuthError,
    ChargerError,
    ChargerRateLimited,
    ChargeState,
    Decision,
    PvMode,
)
from optimizer.policies.base import CommandedState, PolicyContext
from tests.conftest import T0, FakeCharger, FakeClock, FakeScheduler, FakeStore, World
from tests.test_policies import ctx


def _rig(writes_left: int = 1000) -> tuple[Actuator, FakeCharger, FakeStore]:
    charger = FakeCharger(FakeClock(), World())
    store = FakeStore()
    actuator = Actuator(
        charger,
        store,
        FakeScheduler(writes_left=writes_left),
        Backoff(ControllerSettings(error_backoff_s=60.0, rate_limit_wait_s=3600.0)),
        deadband_a=1,
    )
    return actuator, charger, store


def _ctx(surplus_w: float = 5000.0) -> PolicyContext:
    return ctx(0, surplus_w, household=0.0)


def _charge(current_a: int, mode: PvMode = PvMode.MAX_POWER) -> Decision:
    return Decision(T0, "dev1", "p", True, current_a, mode, "r")


def _regulating(actuator: Actuator, current_a: int) -> None:
    actuator.commanded = CommandedState(
        current_a=current_a, pv_mode=PvMode.MAX_POWER, charging=True
    )


def test_an_unknown_charger_gets_mode_current_and_start_once() -> None:
    actuator, charger, store = _rig()
    acted = actuator.act(T0, _ctx(), _charge(10))
    assert [(c.kind, c.value, c.ok) for c in acted.commands] == [
        ("set_pv_mode", int(PvMode.MAX_POWER), True),
        ("set_current", 10, True),
        ("start", None, True),
    ]
    assert acted.errors == ()
    assert store.commands == list(acted.commands)
    assert actuator.commanded == CommandedState(10, PvMode.MAX_POWER, True)
    assert actuator.act(T0, _ctx(), _charge(10)) == Actuation()  # nothing differs
    assert len(charger.writes()) == 3


def test_the_deadband_ignores_one_amp_but_not_two() -> None:
    actuator, charger, _ = _rig()
    _regulating(actuator, 10)
    assert actuator.planned_writes(_ctx(), _charge(11)) == []
    assert actuator.planned_writes(_ctx(), _charge(12)) == [("set_current", 12)]
    assert charger.writes() == []


def test_no_deadband_when_the_limits_force_the_current_down() -> None:
    actuator, _, _ = _rig()
    _regulating(actuator, 10)
    ctx = _ctx(surplus_w=2070.0)  # no grid import cap: the limits allow 10 A
    limited = ctx.limits.model_copy(update={"max_grid_import_w": 0.0})  # 2070 W = 9 A
    forced = replace(ctx, limits=limited)
    assert actuator.planned_writes(ctx, _charge(9)) == []
    assert actuator.planned_writes(forced, _charge(9)) == [("set_current", 9)]


def test_a_failed_write_is_an_error_value_and_backs_off() -> None:
    actuator, charger, store = _rig()
    _regulating(actuator, 10)
    charger.fail_next = ChargerError("HTTP 500")
    acted = actuator.act(T0, _ctx(), _charge(14))
    assert [(c.kind, c.ok, c.error) for c in acted.commands] == [("set_current", False, "HTTP 500")]
    assert acted.errors == ("set_current failed (HTTP 500); retry in 60 s",)
    assert store.commands == list(acted.commands)
    assert actuator.commanded.current_a == 10  # not confirmed: still what the charger had
    later = actuator.act(T0 + timedelta(seconds=59), _ctx(), _charge(14))
    assert later == Actuation(errors=("1 write(s) deferred: backing off",))
    assert len(charger.writes()) == 1  # no call while backing off
    after = actuator.act(T0 + timedelta(seconds=60), _ctx(), _charge(14))
    assert [c.ok for c in after.commands] == [True] and after.errors == ()


def test_a_429_blocks_every_write_until_the_reset() -> None:
    actuator, charger, _ = _rig()
    _regulating(actuator, 10)
    charger.fail_next = ChargerRateLimited("HTTP 429", reset_s=120.0)
    acted = actuator.act(T0, _ctx(), _charge(14))
    assert acted.errors == ("set_current rate-limited: no calls until 10:02:00Z",)
    blocked = actuator.act(T0 + timedelta(seconds=119), _ctx(), _charge(14))
    assert blocked == Actuation(errors=("1 write(s) deferred: backing off",))
    assert len(charger.writes()) == 1
    assert actuator.act(T0 + timedelta(seconds=120), _ctx(), _charge(14)).errors == ()


def test_no_write_without_call_budget() -> None:
    actuator, charger, _ = _rig(writes_left=0)
    acted = actuator.act(T0, _ctx(), _charge(10))
    assert acted == Actuation(errors=("set_pv_mode deferred: no call budget left for writes",))
    assert charger.writes() == []


def test_a_refused_login_raises_after_recording_unless_shutting_down() -> None:
    actuator, charger, store = _rig()
    _regulating(actuator, 10)
    charger.fail_next = ChargerAuthError("HTTP 401")
    with pytest.raises(ChargerAuthError):
        actuator.act(T0, _ctx(), _charge(14))
    assert [c.ok for c in store.commands] == [False]
    charger.fail_next = ChargerAuthError("HTTP 401")
    acted = actuator.act(T0, _ctx(), _charge(14), raise_auth=False)
    assert acted.errors == ("set_current refused: HTTP 401",)


def test_sync_trusts_the_reported_setpoint_only_while_regulating() -> None:
    actuator, charger, _ = _rig()
    _regulating(actuator, 10)
    charger.setpoint = 13
    reading = charger.read()
    actuator.sync(reading, car_arrived=False)
    assert actuator.commanded == CommandedState(13, PvMode.MAX_POWER, True)
    actuator.commanded = CommandedState(16, PvMode.EXCLUSIVE_PV, True)
    actuator.sync(reading, car_arrived=True)
    assert actuator.commanded == CommandedState(16, PvMode.EXCLUSIVE_PV, None)  # a new car
    actuator.commanded = CommandedState(16, PvMode.EXCLUSIVE_PV, False)
    assert reading.charge_state is ChargeState.CHARGING
    actuator.sync(reading, car_arrived=False)
    assert actuator.commanded.charging is True  # started behind our back
