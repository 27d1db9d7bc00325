"""A replan starts HiGHS from the plan it replaces (`least_cost_schedule(start_from=)`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from optimizer.limits import ChargerLimits
from optimizer.planning import (
    ChargePlan,
    ChargerNow,
    PlanRequest,
    SlotMode,
    least_cost_schedule,
)
from optimizer.planning.warm_start import block_modes

T0 = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
STEP = 900.0
LIMITS = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, voltage_v=230.0)


def day_request(seed: int) -> PlanRequest:
    """A random quarter-hour plan over one to two days: a sunny noon, prices by the hour,
    the car off or at a fixed current now."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(48, 160))
    hours = np.arange(n) // 4
    sun = np.clip(np.sin((np.arange(n) - 24) * 2 * np.pi / 96.0), 0.0, None)
    charging = bool(rng.random() < 0.5)
    return PlanRequest(
        start=T0,
        import_eur_per_kwh=np.round(rng.uniform(0.05, 0.4, hours[-1] + 1), 3)[hours],
        export_eur_per_kwh=np.full(n, float(rng.choice([0.0, 0.06]))),
        surplus_w=sun * rng.uniform(500.0, 6000.0) - rng.uniform(0.0, 800.0, n),
        energy_wanted_wh=float(rng.uniform(1000.0, 20_000.0)),
        limits=LIMITS,
        switch_cost_eur=0.01,
        now=ChargerNow(charging=charging, power_w=2300.0 if charging else 0.0),
    )


def later(request: PlanRequest, plan: ChargePlan, slots: int, offset_s: float) -> PlanRequest:
    """`request` remade `slots` slots and `offset_s` seconds later (off the old grid when
    `offset_s` is not 0), wanting what `plan` left to do; the same arrays from there."""
    left = request.energy_wanted_wh - sum(s.energy_wh for s in plan.slots[:slots])
    tail = slice(slots, None)
    return replace(
        request,
        start=request.start + timedelta(seconds=slots * STEP + offset_s),
        import_eur_per_kwh=request.import_eur_per_kwh[tail],
        export_eur_per_kwh=request.export_eur_per_kwh[tail],
        surplus_w=request.surplus_w[tail],
        energy_wanted_wh=max(left, 0.0),
        now=ChargerNow(),
    )


def test_stopped_at_its_first_solution_a_replan_keeps_the_plan_it_replaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HiGHS stopped at its first solution (`mip_max_improving_sols` 1): from the plan it
    replaces that is the old plan's modes on the new slots, nothing short; from nothing,
    whatever its first heuristic found (here far dearer)."""
    import optimizer.planning.least_cost as module

    first = least_cost_schedule(day_request(9), time_limit_s=30.0)
    assert first.shortfall_wh == 0.0
    assert {s.mode for s in first.slots[8:]} == set(SlotMode)
    request = later(day_request(9), first, 8, 0.0)
    first_found = {**module.HEURISTICS_OFF, "mip_max_improving_sols": 1}
    monkeypatch.setattr(module, "HEURISTICS_OFF", first_found)
    warm = least_cost_schedule(request, time_limit_s=30.0, start_from=first)
    cold = least_cost_schedule(request, time_limit_s=30.0)
    assert [s.mode for s in warm.slots] == [s.mode for s in first.slots[8:]]
    assert warm.shortfall_wh == 0.0
    assert warm.objective_eur < cold.objective_eur - 0.01


def test_a_plan_that_covers_none_of_the_slots_is_no_start(monkeypatch: pytest.MonkeyPatch) -> None:
    import optimizer.planning.least_cost as module

    handed: list[Any] = []
    solve = module.solve_milp

    def spy(problem: Any, options: Any, start: Any = None) -> Any:
        handed.append(start)
        return solve(problem, options, start)

    monkeypatch.setattr(module, "solve_milp", spy)
    first = least_cost_schedule(day_request(1), time_limit_s=30.0)
    gone = replace(day_request(1), start=first.end + timedelta(hours=1))
    least_cost_schedule(gone, start_from=first)
    least_cost_schedule(later(day_request(1), first, 4, 0.0), start_from=first)
    assert handed[0] is None and handed[1] is None
    assert handed[2] is not None and handed[2].values.size > 0


def test_block_modes_take_the_old_slot_under_each_new_slots_middle() -> None:
    """A new plan 10 minutes off the old grid: each new slot takes the old slot holding
    its middle; a block is fixed where any slot is, at the old power within its cap."""
    first = least_cost_schedule(day_request(5), time_limit_s=30.0)
    start = first.start + timedelta(seconds=3 * STEP + 600.0)
    n = len(first.slots) - 4
    block = np.arange(n) // 4
    blocks = int(block[-1]) + 1
    cap = np.full(blocks, 3000.0)
    modes = block_modes(first, start, STEP, block, cap, 1380.0, np.ones(blocks, dtype=bool))
    assert modes is not None
    old = [first.slot_at(start + timedelta(seconds=(i + 0.5) * STEP)) for i in range(n)]
    for b in range(blocks):
        inside = [s for s, k in zip(old, block, strict=True) if k == b and s is not None]
        fixed = any(s.mode == "fixed" for s in inside)
        assert modes.fixed[b] == fixed
        assert modes.following[b] == (not fixed and any(s.mode == "solar" for s in inside))
        if fixed:
            most = max(s.power_w for s in inside if s.mode == "fixed")
            assert modes.power_w[b] == pytest.approx(min(max(most, 1380.0), 3000.0))


@pytest.mark.parametrize("seed", range(8))
def test_a_warm_start_finds_the_cold_optimum(seed: int) -> None:
    """Solved to optimality (gap 1e-7, no node limit), a replan from the plan it replaces
    and one from nothing have the same objective: the start steers the search, not the
    answer. The replan is 3 slots and 7 minutes later, its sun 20 % weaker."""
    request = day_request(seed)
    first = least_cost_schedule(request, time_limit_s=30.0)
    replan = later(request, first, 3, 420.0)
    replan = replace(replan, surplus_w=replan.surplus_w * 0.8)
    exact: dict[str, Any] = {"time_limit_s": 30.0, "mip_gap": 1e-7, "node_limit": None}
    cold = least_cost_schedule(replan, **exact)
    warm = least_cost_schedule(replan, start_from=first, **exact)
    assert cold.status == warm.status == "optimal"
    assert warm.objective_eur == pytest.approx(cold.objective_eur, rel=1e-6, abs=1e-7)
