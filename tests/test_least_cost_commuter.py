"""`target` (least cost) on a commuter's nights: one grid run, not split because a
stale reading showed the running car idle."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise

import numpy as np

from optimizer.interfaces import PvMode
from optimizer.planning import ChargerNow, PlanRequest, SlotMode, least_cost_schedule
from optimizer.policies.base import CommandedState
from optimizer.policies.least_cost_plan import SWITCH_COST_EUR, charger_now
from tests.test_planning import LIMITS, T0
from tests.test_planning_target import context

SLOT_S = 900.0


def night(
    prices_per_block: list[tuple[int, float]], wanted_wh: float, now: ChargerNow
) -> PlanRequest:
    """15-minute slots from half past the hour, `(slots, EUR/kWh)` per clock-hour block,
    a start or stop charged as the policy charges it."""
    prices = np.concatenate([np.full(n, price) for n, price in prices_per_block])
    n = prices.shape[0]
    return PlanRequest(
        start=T0 + timedelta(minutes=30),
        import_eur_per_kwh=prices,
        export_eur_per_kwh=np.zeros(n),
        surplus_w=np.zeros(n),
        energy_wanted_wh=wanted_wh,
        limits=LIMITS,
        step_s=SLOT_S,
        now=now,
        switch_cost_eur=SWITCH_COST_EUR,
    )


def test_the_charger_is_as_the_controller_left_it_not_as_the_last_reading_showed() -> None:
    # A car started at 12 A since the last reading, which showed it idle: the replan
    # 15 minutes into the run saw no car charging, so continuing cost the plan as much
    # as a new start an hour later, and it stopped the car for an hour 0.1 ct/kWh cheaper.
    stale = replace(
        context(0),
        charging=False,
        car_power_w=0.0,
        commanded=CommandedState(current_a=12, pv_mode=PvMode.MAX_POWER, charging=True),
    )
    assert charger_now(stale) == ChargerNow(charging=True, power_w=12 * 230.0)
    paused = replace(
        stale,
        charging=True,
        car_power_w=2760.0,
        commanded=CommandedState(current_a=12, pv_mode=PvMode.MAX_POWER, charging=False),
    )
    assert charger_now(paused) == ChargerNow()
    # In its own PV mode the charger follows the sun: the reading says whether it draws.
    sun = replace(paused, commanded=CommandedState(16, PvMode.EXCLUSIVE_PV, True))
    assert charger_now(sun) == ChargerNow(charging=True, power_w=2760.0, following_sun=True)
    # Nothing sent yet: the reading is all there is.
    assert charger_now(replace(paused, commanded=CommandedState())).power_w == 2760.0


def test_a_running_night_is_not_stopped_for_a_slightly_cheaper_hour() -> None:
    blocks = [(2, 0.2107), (4, 0.2093), (4, 0.2103), (4, 0.2134)]
    # (Seen idle, as the stale reading showed it, the plan starts an hour later.)
    running = least_cost_schedule(night(blocks, 6889.0, ChargerNow(True, 2760.0)))
    fixed = [slot.mode is SlotMode.FIXED for slot in running.slots]
    restarts = [not before and after for before, after in pairwise(fixed)]
    assert fixed[0] and not any(restarts)  # one run, from now on
