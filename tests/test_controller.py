"""The controller cycle: read when due, act on change, errors, records, sessions."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import pytest

from adapters.storage.memory import MemoryStore
from optimizer.budget import BudgetConfig, BudgetPlanner
from optimizer.budget.fixed import FixedIntervalSchedule
from optimizer.budget.listener import call_listener
from optimizer.budget.scheduler import ReadScheduler
from optimizer.controller import Controller, ControllerSettings
from optimizer.interfaces import (
    ApiCall,
    ChargerAuthError,
    ChargerError,
    ChargerRateLimited,
    PvMode,
    Quota,
)
from optimizer.limits import ChargerLimits
from optimizer.policies import Policy, make_policy
from optimizer.policies.solar_only import SolarOnlyParams, SolarOnlyPolicy
from tests.conftest import T0, FakePorts, World, sunny_pv


class Rig(FakePorts):
    """A controller wired to fakes."""

    def __init__(
        self,
        policy: Policy | None = None,
        limits: ChargerLimits | None = None,
        world: World | None = None,
        interval_s: float = 60.0,
        settings: ControllerSettings | None = None,
    ) -> None:
        super().__init__(world=world, interval_s=interval_s)
        self.policy = policy or SolarOnlyPolicy(
            SolarOnlyParams(regulation="controller", enable_delay_s=0.0)
        )
        self.controller = Controller(
            self.charger,
            self.clock,
            self.store,
            self.forecaster,
            self.policy,
            self.scheduler,
            limits or ChargerLimits(),
            settings=settings,
        )

    def step(self, seconds: float = 60.0) -> None:
        self.clock.advance(seconds)

    def calls_of_cycles_after(self, *steps_s: float) -> int:
        """Charger calls made by one cycle after each of `steps_s` (s)."""
        before = len(self.charger.calls)
        for seconds in steps_s:
            self.step(seconds)
            self.controller.cycle()
        return len(self.charger.calls) - before


def test_first_cycle_reads_decides_and_writes_then_acts_only_on_change() -> None:
    rig = Rig()
    result = rig.controller.cycle()
    assert result.read_attempted and result.reading is not None
    # 3000 W PV - 500 W household = 2500 W -> floor(2500 / 230) = 10 A
    assert result.decision.charging and result.decision.current_a == 10
    kinds = [c.kind for c in result.commands]
    assert kinds == ["set_pv_mode", "set_current", "start"]
    assert rig.charger.setpoint == 10 and rig.charger.mode is PvMode.MAX_POWER
    rig.step()
    again = rig.controller.cycle()
    assert again.reading is not None
    assert again.commands == ()
    assert rig.store.commits == 2
    assert len(rig.store.decisions) == 2 and len(rig.store.observations) == 2


def test_reads_only_when_the_scheduler_says_so() -> None:
    rig = Rig(interval_s=120.0)
    for _ in range(6):
        rig.controller.cycle()
        rig.step(30.0)
    # cycles at 0, 30, ..., 150 s: reads at 0 and 120 only
    assert rig.charger.reads() == 2
    assert rig.store.commits == 6


def test_next_cycle_follows_the_scheduler_but_not_beyond_the_max_interval() -> None:
    rig = Rig(interval_s=120.0)
    first = rig.controller.cycle()
    assert first.next_cycle_at == T0 + timedelta(seconds=120)
    rig.scheduler.interval_s = 10_000.0
    rig.step(1.0)
    second = rig.controller.cycle()
    assert second.next_cycle_at == rig.clock.now() + timedelta(seconds=300)


def test_deadband_swallows_one_amp_jitter_but_not_two() -> None:
    rig = Rig()
    rig.controller.cycle()
    assert rig.charger.setpoint == 10
    rig.world.pv_w += 230.0  # +1 A worth
    rig.step()
    assert rig.controller.cycle().commands == ()
    rig.world.pv_w += 230.0  # +2 A from the commanded 10 A
    rig.step()
    result = rig.controller.cycle()
    assert [(c.kind, c.value) for c in result.commands] == [("set_current", 12)]


def test_zero_deadband_follows_every_amp() -> None:
    rig = Rig(settings=ControllerSettings(deadband_a=0))
    rig.controller.cycle()
    rig.world.pv_w += 230.0
    rig.step()
    assert [(c.kind, c.value) for c in rig.controller.cycle().commands] == [("set_current", 11)]


def test_read_error_is_recorded_backed_off_and_does_not_crash() -> None:
    rig = Rig()
    rig.charger.fail_next = ChargerError("HTTP 503")
    result = rig.controller.cycle()
    assert result.reading is None and result.read_attempted
    assert any("503" in e for e in result.errors)
    assert "503" in rig.store.decisions[-1].reason
    assert result.next_cycle_at >= T0 + timedelta(seconds=60)
    assert rig.store.commits == 1
    assert rig.calls_of_cycles_after(10.0) == 0  # inside the back-off window
    # after it: reads again
    rig.step(60.0)
    assert rig.controller.cycle().reading is not None


def test_repeated_errors_back_off_exponentially() -> None:
    rig = Rig()
    waits = []
    for _ in range(3):
        rig.charger.fail_next = ChargerError("timeout")
        result = rig.controller.cycle()
        waits.append((result.next_cycle_at - rig.clock.now()).total_seconds())
        rig.clock.t = result.next_cycle_at
    assert waits == [60.0, 120.0, 240.0]


def test_auth_error_propagates_after_committing() -> None:
    rig = Rig()
    rig.charger.fail_next = ChargerAuthError("401 invalid key")
    with pytest.raises(ChargerAuthError):
        rig.controller.cycle()
    assert rig.store.commits == 1


def test_rate_limit_blocks_every_call_until_the_reset() -> None:
    rig = Rig()
    rig.charger.fail_next = ChargerRateLimited("429", reset_s=600.0)
    result = rig.controller.cycle()
    assert result.next_cycle_at >= T0 + timedelta(seconds=600)
    assert rig.calls_of_cycles_after(*[60.0] * 9) == 0
    rig.step(60.0)
    assert rig.controller.cycle().reading is not None


def test_write_error_is_recorded_as_failed_command() -> None:
    rig = Rig()
    rig.controller.cycle()
    rig.world.pv_w += 1000.0
    rig.step()
    rig.charger.fail_next = None
    original = rig.charger.set_current

    def failing(amps: int) -> None:
        rig.charger.calls.append(("set_current", amps))
        raise ChargerError("HTTP 500")

    rig.charger.set_current = failing  # type: ignore[method-assign]
    result = rig.controller.cycle()
    assert [(c.kind, c.ok) for c in result.commands] == [("set_current", False)]
    assert rig.store.commands[-1].error == "HTTP 500"
    rig.charger.set_current = original  # type: ignore[method-assign]
    rig.clock.t = result.next_cycle_at
    retry = rig.controller.cycle()
    assert [(c.kind, c.ok) for c in retry.commands] == [("set_current", True)]


def test_no_writes_without_write_budget() -> None:
    rig = Rig()
    rig.scheduler.writes_left = 0
    result = rig.controller.cycle()
    assert result.commands == ()
    assert rig.charger.writes() == []
    assert "deferred" in result.decision.reason


def test_nearly_out_hands_over_to_exclusive_pv() -> None:
    rig = Rig()
    rig.controller.cycle()
    rig.scheduler.out = True
    rig.step()
    result = rig.controller.cycle()
    assert result.decision.pv_mode is PvMode.EXCLUSIVE_PV
    assert "budget" in result.decision.reason
    assert rig.charger.mode is PvMode.EXCLUSIVE_PV


def test_main_fuse_is_never_exceeded() -> None:
    limits = ChargerLimits(main_fuse_w=5750.0, max_current_a=32)
    rig = Rig(policy=make_policy("fast"), limits=limits, world=World(household_w=3000.0))
    result = rig.controller.cycle()
    # (5750 - 3000) / 230 = 11.9 -> 11 A
    assert result.decision.current_a == 11
    assert rig.charger.setpoint == 11
    rig.world.household_w = 4800.0  # only 4 A left: below the minimum -> pause
    rig.step()
    result = rig.controller.cycle()
    assert not result.decision.charging
    assert [c.kind for c in result.commands] == ["pause"]


def test_fuse_reduction_ignores_the_deadband() -> None:
    limits = ChargerLimits(main_fuse_w=5750.0, max_current_a=32)
    rig = Rig(policy=make_policy("fast"), limits=limits, world=World(household_w=3000.0))
    rig.controller.cycle()
    rig.world.household_w = 3400.0  # cap 11 -> 10 A: one amp, but safety
    rig.step()
    assert [(c.kind, c.value) for c in rig.controller.cycle().commands] == [("set_current", 10)]


def test_grid_import_limit_caps_the_car() -> None:
    limits = ChargerLimits(max_grid_import_w=460.0, max_current_a=32)
    rig = Rig(policy=make_policy("fast"), limits=limits)
    result = rig.controller.cycle()
    # surplus 2500 W + 460 W import = 2960 W -> 12 A
    assert result.decision.current_a == 12


def test_call_listener_feeds_scheduler_and_store() -> None:
    rig = Rig()
    listener = call_listener(rig.scheduler, rig.store)
    quota = Quota(limit=1000, remaining=900)
    call = ApiCall(T0, "dev1", "currentstatecharge", 200, 0.1, quota)
    listener(call)
    assert rig.scheduler.recorded == [call]
    assert rig.scheduler.quotas == [quota]
    assert rig.store.calls == [call]
    listener(ApiCall(T0, "dev1", "intensity", None, 5.0))
    assert len(rig.scheduler.quotas) == 1 and len(rig.store.calls) == 2


@pytest.mark.parametrize(
    "make_scheduler",
    [
        lambda: BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv),
        lambda: FixedIntervalSchedule(90.0, daily_limit=1000),
    ],
    ids=["planner", "fixed"],
)
def test_call_listener_gives_real_schedulers_the_servers_count(
    make_scheduler: Callable[[], ReadScheduler],
) -> None:
    """The listener hands each call over once; its quota (500 calls made elsewhere)
    is taken in with it, so the server's count rules and our call counts once."""
    scheduler = make_scheduler()
    listener = call_listener(scheduler, MemoryStore())
    listener(ApiCall(T0, "dev1", "currentstatecharge", 200, 0.1, Quota(1000, 499)))
    assert scheduler.remaining(T0) == 499
    listener(ApiCall(T0, "dev1", "intensity", 200, 0.1))
    assert scheduler.remaining(T0) == 498


def test_forecast_is_cached_and_fed_with_readings() -> None:
    rig = Rig()
    for _ in range(10):
        rig.controller.cycle()
        rig.step(60.0)
    assert rig.forecaster.requests == 1  # 10 minutes < 15 min refresh
    assert len(rig.forecaster.observed) == 10
    rig.step(900.0)
    rig.controller.cycle()
    assert rig.forecaster.requests == 2


def test_forecast_failure_is_recorded_and_charging_goes_on() -> None:
    rig = Rig()
    rig.forecaster.fail = True
    result = rig.controller.cycle()
    assert result.decision.charging
    assert any("forecast failed" in e for e in result.errors)


def test_between_reads_pv_is_scaled_by_the_clear_sky_ratio() -> None:
    rig = Rig(interval_s=3600.0)
    rig.forecaster.clear_sky_slope_w_per_step = 300.0  # clear sky rises 10 % per 5 min
    first = rig.controller.cycle()
    assert first.surplus_w == pytest.approx(2500.0)
    rig.step(600.0)  # two forecast steps later, no read
    later = rig.controller.cycle()
    assert later.reading is None
    # PV 3000 W * (3600 / 3000) = 3600 W, household 500 W
    assert later.surplus_w == pytest.approx(3100.0)


def test_session_is_recorded_from_plug_in_to_unplug() -> None:
    rig = Rig(world=World(plugged=False))
    rig.controller.cycle()
    assert rig.store.session_writes == []
    rig.world.plugged = True
    for _ in range(6):
        rig.step(600.0)
        rig.controller.cycle()
    rig.world.pv_w = 500.0  # sun gone: grid for the rest
    rig.step(600.0)
    rig.controller.cycle()
    rig.world.plugged = False
    rig.step(600.0)
    rig.controller.cycle()
    closed = rig.store.session_writes[-1]
    assert closed.end is not None
    assert closed.start == T0 + timedelta(seconds=600)
    assert closed.energy_wh > 0.0
    assert 0.0 < closed.solar_wh <= closed.energy_wh
    assert closed.solar_wh + closed.grid_wh == pytest.approx(closed.energy_wh)
    # each 10 min interval is charged at the power seen at its first read
    assert rig.store.session_writes[0].end is None


def test_device_native_never_reads_and_writes_once() -> None:
    rig = Rig(policy=make_policy("device_native", {"mode": "pv_min"}))
    first = rig.controller.cycle()
    assert not first.read_attempted
    assert [c.kind for c in first.commands] == ["set_pv_mode", "set_current", "start"]
    assert rig.charger.mode is PvMode.PV_MIN
    for _ in range(20):
        rig.clock.t = rig.controller.cycle().next_cycle_at
    assert rig.charger.reads() == 0
    assert len(rig.charger.writes()) == 3


def test_shutdown_leaves_the_charger_in_exclusive_pv() -> None:
    rig = Rig()
    rig.controller.cycle()
    rig.step()
    commands = rig.controller.shutdown()
    assert [c.kind for c in commands] == ["set_pv_mode", "set_current"]
    assert rig.charger.mode is PvMode.EXCLUSIVE_PV and rig.charger.running
    assert rig.charger.setpoint == 16
    assert rig.store.commits == 2


def test_shutdown_swallows_charger_errors() -> None:
    rig = Rig()
    rig.controller.cycle()
    rig.charger.fail_next = ChargerAuthError("401")
    commands = rig.controller.shutdown()
    assert commands and not commands[0].ok


def test_same_inputs_give_the_same_decisions() -> None:
    def run() -> list[tuple[bool, int, str]]:
        rig = Rig(policy=make_policy("solar_only", {"regulation": "controller"}))
        out = []
        for i in range(40):
            rig.world.pv_w = 1000.0 + 2500.0 * math.sin(i / 5.0) ** 2
            r = rig.controller.cycle()
            out.append((r.decision.charging, r.decision.current_a, r.decision.reason))
            rig.step(45.0)
        return out

    assert run() == run()
