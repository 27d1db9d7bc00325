"""`govern`: budget hand-over and the fuse/grid-import limits, in numbers (1 phase, 230 V)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from optimizer.cycle.govern import apply_limits, govern
from optimizer.interfaces import Decision, PvMode
from optimizer.limits import ChargerLimits
from optimizer.policies.base import PolicyContext
from optimizer.policies.fast import FastPolicy
from optimizer.policies.solar_only import SolarOnlyPolicy
from tests.test_policies import ctx

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def _ctx(
    limits: ChargerLimits,
    *,
    household_w: float = 500.0,
    surplus_w: float = 4000.0,
    nearly_out: bool = False,
) -> PolicyContext:
    return replace(
        ctx(0, surplus_w, household=household_w, limits=limits), budget_nearly_out=nearly_out
    )


def _decision(
    current_a: int = 16, mode: PvMode = PvMode.MAX_POWER, charging: bool = True
) -> Decision:
    return Decision(
        time=T0,
        device_id="dev1",
        policy="p",
        charging=charging,
        current_a=current_a,
        pv_mode=mode,
        reason="wanted",
    )


def test_nearly_out_of_budget_hands_the_charger_to_its_own_pv_mode() -> None:
    ctx = _ctx(ChargerLimits(max_current_a=16), nearly_out=True)
    d = govern(_decision(7), ctx, SolarOnlyPolicy())
    assert (d.policy, d.charging, d.current_a, d.pv_mode) == (
        "solar_only",
        True,
        16,
        PvMode.EXCLUSIVE_PV,
    )
    assert d.reason.startswith("call budget nearly out: the charger's own EXCLUSIVE_PV mode")
    assert d.reason.endswith("(policy wanted: wanted)")


def test_a_policy_without_a_handover_mode_keeps_its_decision() -> None:
    ctx = _ctx(ChargerLimits(), nearly_out=True)
    assert govern(_decision(7), ctx, FastPolicy()) == _decision(7)
    calm = _ctx(ChargerLimits(), nearly_out=False)
    assert govern(_decision(7), calm, SolarOnlyPolicy()) == _decision(7)


def test_the_main_fuse_caps_the_setpoint_and_says_so() -> None:
    limits = ChargerLimits(main_fuse_w=5000.0)  # 5000 - 2700 W household = 2300 W = 10 A
    d = govern(_decision(16), _ctx(limits, household_w=2700.0), FastPolicy())
    assert (d.charging, d.current_a) == (True, 10)
    assert d.reason == "wanted; capped to 10 A by the fuse/grid-import limits"


def test_below_the_minimum_current_the_car_pauses() -> None:
    limits = ChargerLimits(main_fuse_w=5000.0)  # 5000 - 4000 W = 4 A < 6 A
    d = apply_limits(_decision(16), _ctx(limits, household_w=4000.0))
    assert not d.charging
    assert d.reason == "wanted; limits allow only 4 A (< minimum 6 A): pause"


def test_the_grid_import_cap_binds_only_while_the_controller_regulates() -> None:
    limits = ChargerLimits(max_grid_import_w=0.0)  # surplus 1610 W = 7 A
    ctx = _ctx(limits, surplus_w=1610.0)
    assert apply_limits(_decision(16, PvMode.MAX_POWER), ctx).current_a == 7
    own = _decision(16, PvMode.EXCLUSIVE_PV)
    assert apply_limits(own, ctx) == own


def test_a_pause_passes_unchanged() -> None:
    limits = ChargerLimits(main_fuse_w=5000.0)
    paused = _decision(16, charging=False)
    assert apply_limits(paused, _ctx(limits, household_w=4900.0)) == paused


def _battery_ctx(
    *, surplus_w: float, car_w: float, battery_w: float, allowed: bool = False
) -> PolicyContext:
    """1 phase, 230 V, 6..16 A: a car drawing `car_w`, the battery at `battery_w`."""
    c = _ctx(ChargerLimits(max_current_a=16), surplus_w=surplus_w)
    return replace(c, car_power_w=car_w, battery_w=battery_w, battery_to_car=allowed)


def test_battery_guard_takes_regulation_back_while_the_battery_feeds_the_car() -> None:
    # the charger's exclusive PV holds 3680 W, the sun pays 2000 W, the battery the rest
    c = _battery_ctx(surplus_w=2000.0, car_w=3680.0, battery_w=1800.0)
    d = govern(_decision(16, PvMode.EXCLUSIVE_PV), c, SolarOnlyPolicy())
    assert (d.charging, d.current_a, d.pv_mode) == (True, 8, PvMode.MAX_POWER)
    assert "home battery (1800 W) would feed the car" in d.reason
    c = _battery_ctx(surplus_w=900.0, car_w=3680.0, battery_w=2900.0)
    assert not govern(_decision(16, PvMode.EXCLUSIVE_PV), c, SolarOnlyPolicy()).charging
    c = replace(
        _battery_ctx(surplus_w=2000.0, car_w=3680.0, battery_w=1800.0), budget_nearly_out=True
    )
    assert not govern(_decision(16, PvMode.EXCLUSIVE_PV), c, SolarOnlyPolicy()).charging


def test_battery_guard_pauses_pv_min_the_sun_cannot_pay_for() -> None:
    c = _battery_ctx(surplus_w=500.0, car_w=0.0, battery_w=400.0)
    assert not govern(_decision(16, PvMode.PV_MIN), c, SolarOnlyPolicy()).charging
    c = _battery_ctx(surplus_w=500.0, car_w=0.0, battery_w=400.0)
    d = govern(_decision(16, PvMode.EXCLUSIVE_PV), c, SolarOnlyPolicy())
    assert d.pv_mode is PvMode.EXCLUSIVE_PV  # it does not start on the battery by itself


def test_battery_guard_keeps_the_decision_otherwise() -> None:
    kept = [
        (_battery_ctx(surplus_w=2000.0, car_w=3680.0, battery_w=1800.0, allowed=True), "allowed"),
        (_battery_ctx(surplus_w=2000.0, car_w=3680.0, battery_w=0.0), "no battery"),
        (_battery_ctx(surplus_w=2000.0, car_w=3680.0, battery_w=-500.0), "charging battery"),
        (_battery_ctx(surplus_w=4000.0, car_w=3680.0, battery_w=300.0), "sun pays the car"),
    ]
    for c, why in kept:
        d = govern(_decision(16, PvMode.EXCLUSIVE_PV), c, SolarOnlyPolicy())
        assert (d.current_a, d.pv_mode) == (16, PvMode.EXCLUSIVE_PV), why
    c = _battery_ctx(surplus_w=2000.0, car_w=3680.0, battery_w=1800.0)
    d = govern(_decision(10), c, FastPolicy())  # the controller regulates: not the guard's
    assert (d.current_a, d.pv_mode) == (10, PvMode.MAX_POWER)
