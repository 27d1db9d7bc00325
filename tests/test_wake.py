"""The wake planner: next read or check-in, back-off, and sleeping past idle check-ins."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from optimizer.budget.scheduler import ReadContext
from optimizer.cycle.actuator import Actuator
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.forecast_cache import ForecastCache
from optimizer.cycle.observation import Observation
from optimizer.cycle.settings import ControllerSettings
from optimizer.cycle.wake import (
    WakePlanner,
    dark_until,
    grid_ceil,
    hint_holds_until,
    reached_read,
)
from optimizer.interfaces import ChargerError, Decision, PvMode
from optimizer.policies.base import FOREVER, CommandedState, Policy, PolicyContext, pause
from tests.conftest import T0, FakeForecaster, FakePorts, FakeScheduler, flat_forecast
from tests.test_policies import ctx

STEP = timedelta(seconds=300)


class Paused(Policy):
    """Always paused; promises `promise` from `next_decision_at` (None: the default)."""

    def __init__(self, promise: datetime | None = None, hint: float | None = math.inf) -> None:
        self.promise = promise
        self.hint = hint

    @property
    def name(self) -> str:
        return "paused"

    def decide(self, ctx: PolicyContext) -> Decision:
        return pause(ctx, self.name, "paused")

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        return self.hint

    def next_decision_at(self, ctx: PolicyContext) -> datetime | None:
        return self.promise if self.promise is not None else super().next_decision_at(ctx)


class SteadyScheduler(FakeScheduler):
    """Promises its plan holds until `steady`."""

    def __init__(self, steady: datetime, interval_s: float = 3600.0) -> None:
        super().__init__(interval_s)
        self.steady = steady

    def steady_until(self, now: datetime, ctx: ReadContext, dark_until: datetime) -> datetime:
        return self.steady


class OwnScheduler(FakeScheduler):
    """Reads every `interval_s`, no steady promise; plans no other charger from this
    one's check-ins."""

    def check_ins_shared(self) -> bool:
        return False


class ObservingOnly(FakeForecaster):
    depends_only_on_observations = True


class Rig(FakePorts):
    def __init__(
        self,
        policy: Policy,
        scheduler: FakeScheduler | None = None,
        forecaster: FakeForecaster | None = None,
        forecast_refresh_s: float = 900.0,
    ) -> None:
        s = ControllerSettings(forecast_refresh_s=forecast_refresh_s)
        super().__init__(interval_s=3600.0, scheduler=scheduler, forecaster=forecaster)
        self.backoff = Backoff(s)
        self.forecasts = ForecastCache(self.forecaster, s)
        self.observation = Observation(self.charger, self.scheduler, self.backoff)
        self.actuator = Actuator(
            self.charger, self.store, self.scheduler, self.backoff, deadband_a=s.deadband_a
        )
        self.actuator.commanded = CommandedState(6, PvMode.MAX_POWER, False)
        self.policy = policy
        self.wake = WakePlanner(
            s,
            self.scheduler,
            self.forecasts,
            self.observation,
            self.actuator,
            self.backoff,
        )

    def ctx(self, now: datetime) -> PolicyContext:
        """Paused with a car and no sun, as of `now`."""
        return replace(
            ctx(0, 0.0, household=0.0),
            now=now,
            fresh=False,
            commanded=self.actuator.commanded,
            forecast=self.forecasts.at(now).forecast,
        )

    def next_at(self, now: datetime, *, calm: bool = True) -> datetime:
        ctx = self.ctx(now)
        decision = self.policy.decide(ctx)
        return self.wake.next_cycle_at(
            now,
            ctx,
            decision,
            self.policy.preferred_read_interval_s(ctx),
            calm=calm,
            policy=self.policy,
        )


def test_grid_ceil_rounds_up_to_the_check_in_grid() -> None:
    assert grid_ceil(T0, T0 - STEP, 300.0) == T0 + STEP  # past: the next check-in
    assert grid_ceil(T0, T0 + timedelta(seconds=301), 300.0) == T0 + 2 * STEP
    assert grid_ceil(T0, T0 + 3 * STEP, 300.0) == T0 + 3 * STEP
    assert grid_ceil(T0, FOREVER, 300.0) == T0 + timedelta(days=400)


def test_dark_until_finds_the_first_step_with_clear_sky() -> None:
    fc = flat_forecast(T0, 6, clear_sky=0.0)
    fc.clear_sky_w[4:] = 100.0
    assert dark_until(T0, fc) == T0 + 4 * STEP
    assert dark_until(T0 + 5 * STEP, fc) == T0 + 5 * STEP  # daylight
    assert dark_until(T0, flat_forecast(T0, 3, clear_sky=0.0)) == T0 + 3 * STEP  # no sun at all
    assert dark_until(T0, None) == T0


def test_without_a_promise_the_next_cycle_is_the_check_in() -> None:
    rig = Rig(Paused())
    assert rig.next_at(T0) == T0 + STEP


def test_the_next_read_comes_before_the_check_in() -> None:
    rig = Rig(Paused(hint=None), FakeScheduler(interval_s=60.0))
    rig.observation.read(T0, None, None)
    assert rig.next_at(T0 + timedelta(seconds=10)) == T0 + timedelta(seconds=60)


def test_a_back_off_holds_the_next_cycle_back() -> None:
    rig = Rig(Paused())
    rig.backoff.failed(T0, ChargerError("HTTP 500"), "read")
    rig.backoff.failed(T0, ChargerError("HTTP 500"), "read")
    rig.backoff.failed(T0, ChargerError("HTTP 500"), "read")  # 60, 120, 240 s
    assert rig.next_at(T0, calm=False) == T0 + timedelta(seconds=300)
    rig.backoff.failed(T0, ChargerError("HTTP 500"), "read")  # 480 s
    assert rig.next_at(T0, calm=False) == T0 + timedelta(seconds=480)


def test_a_policy_that_never_reads_sleeps_to_its_promise_or_the_idle_maximum() -> None:
    rig = Rig(Paused(FOREVER))
    assert rig.next_at(T0) == T0 + timedelta(hours=1)  # idle_max_interval_s
    soon = Rig(Paused(T0 + timedelta(seconds=700)))
    assert soon.next_at(T0) == T0 + 3 * STEP  # the check-in at or after the promise
    errors = Rig(Paused(FOREVER))
    assert errors.next_at(T0, calm=False) == T0 + STEP  # after an error, check in


def test_no_sleep_while_a_write_is_pending() -> None:
    rig = Rig(Paused(FOREVER))
    rig.actuator.commanded = CommandedState(6, PvMode.MAX_POWER, True)  # pause still to send
    assert rig.next_at(T0) == T0 + STEP


def test_a_scheduler_without_a_promise_keeps_the_check_ins() -> None:
    rig = Rig(Paused(FOREVER, hint=None))
    rig.observation.read(T0, None, None)
    assert rig.next_at(T0) == T0 + STEP  # the default steady_until: no promise


def test_sleeping_on_a_steady_plan_replays_the_skipped_refreshes() -> None:
    scheduler = SteadyScheduler(steady=T0 + timedelta(seconds=1000))
    rig = Rig(Paused(FOREVER, hint=None), scheduler, forecast_refresh_s=STEP.total_seconds())
    rig.observation.read(T0, None, None)
    wake = rig.next_at(T0)
    assert wake == T0 + 4 * STEP  # the check-in at or after the promise
    assert rig.forecaster.requests == 1
    rig.wake.catch_up(wake)
    assert rig.forecaster.requests == 4  # the three check-ins slept past
    assert rig.forecasts.fetched_at == T0 + 3 * STEP
    rig.wake.catch_up(wake + STEP)
    assert rig.forecaster.requests == 4  # replayed once only


def test_catch_up_makes_every_due_refresh_of_a_forecaster_with_outside_inputs() -> None:
    rig = Rig(Paused(FOREVER), forecast_refresh_s=600.0)
    rig.forecasts.at(T0)
    wake = rig.next_at(T0)
    assert wake == T0 + timedelta(hours=1)
    rig.wake.catch_up(wake)
    assert rig.forecaster.requests == 6  # T0 and every 600 s before the wake
    assert rig.forecasts.fetched_at == T0 + timedelta(seconds=3000)


def test_catch_up_makes_only_the_last_refresh_of_a_forecaster_fed_by_readings() -> None:
    rig = Rig(Paused(FOREVER), forecaster=ObservingOnly(), forecast_refresh_s=600.0)
    rig.forecasts.at(T0)
    wake = rig.next_at(T0)
    rig.wake.catch_up(wake)
    assert rig.forecaster.requests == 2
    assert rig.forecasts.fetched_at == T0 + timedelta(seconds=3000)
    assert np.all(rig.forecasts.forecast.central_w == 3000.0)  # type: ignore[union-attr]


def test_catch_up_names_the_last_check_in_slept_past() -> None:
    for forecaster in (FakeForecaster(), ObservingOnly()):
        rig = Rig(Paused(FOREVER), forecaster=forecaster)
        rig.forecasts.at(T0)
        wake = rig.next_at(T0)
        assert rig.wake.catch_up(wake) == wake - STEP  # the check-in before the wake
        assert rig.wake.catch_up(wake + STEP) is None  # told once only
    early = Rig(Paused(FOREVER))
    early.forecasts.at(T0)
    early.next_at(T0)
    assert early.wake.catch_up(T0 + timedelta(seconds=200)) is None  # woken before a check-in
    late = Rig(Paused(FOREVER))
    late.forecasts.at(T0)
    late.next_at(T0)
    assert late.wake.catch_up(T0 + timedelta(seconds=700)) == T0 + 2 * STEP


def test_a_check_in_just_before_the_planned_read_is_not_slept_past() -> None:
    """Checking in 0.5 s before a planned read puts the read off to the check-in + 1 s
    (`min_cycle_interval_s`), so the sleep must end at that check-in, not at the read."""
    one_s = timedelta(seconds=1)
    read_at = T0 + 4 * STEP + timedelta(seconds=0.5)
    assert reached_read(T0, read_at, 300.0, one_s) == T0 + 4 * STEP
    later = T0 + 4 * STEP + timedelta(seconds=30)
    assert reached_read(T0, later, 300.0, one_s) == later  # the check-in is well before it
    assert reached_read(T0, T0 + 4 * STEP, 300.0, one_s) == T0 + 4 * STEP  # on the grid
    soon = T0 + timedelta(seconds=0.5)
    assert reached_read(T0, soon, 300.0, one_s) == soon  # no check-in in between


def test_a_sleep_ends_at_the_check_in_just_before_the_planned_read() -> None:
    """A cycle at an odd time (the quota day's roll) moves the check-ins: one falls
    0.5 s before the read planned from the last read, and a controller checking in all
    along would read at that check-in + 1 s, not at the planned time."""
    scheduler = SteadyScheduler(steady=T0 + timedelta(hours=2), interval_s=1710.0)
    rig = Rig(Paused(FOREVER, hint=None), scheduler)
    last_read = T0 - timedelta(seconds=1710.0 - 1200.5)  # read planned at T0 + 1200.5 s
    rig.observation.read(last_read, None, None)
    assert rig.next_at(T0) == T0 + 4 * STEP  # 0.5 s before the read: not slept past
    rig2 = Rig(Paused(FOREVER, hint=None), SteadyScheduler(T0 + timedelta(hours=2), 1710.0))
    rig2.observation.read(T0 - timedelta(seconds=1710.0 - 1230.0), None, None)
    assert rig2.next_at(T0) == T0 + timedelta(seconds=1230.0)  # 30 s after it: the read


def test_hint_holds_until_the_last_check_in_not_after_the_hint() -> None:
    last = T0 - timedelta(seconds=100)
    assert hint_holds_until(T0, T0, 900.0, 300.0) == T0 + 3 * STEP  # on the grid: the read
    assert hint_holds_until(T0, last, 900.0, 300.0) == T0 + 2 * STEP  # 100 s before it
    assert hint_holds_until(T0, last, 350.0, 300.0) == T0  # the next check-in is past it
    assert hint_holds_until(T0, T0 - STEP, 300.0, 300.0) == T0  # already due


def test_a_read_hint_sleeps_through_check_ins_it_keeps_from_reading() -> None:
    """With the policy's promise and a 900 s read hint, the check-ins before the last
    read + 900 s read nothing and plan nothing else, whatever the scheduler plans: the
    controller sleeps to the read (or the last check-in before it), not to its promise."""
    rig = Rig(Paused(FOREVER, hint=900.0), OwnScheduler(interval_s=60.0))
    rig.observation.read(T0, None, None)
    assert rig.next_at(T0) == T0 + 3 * STEP
    off_grid = Rig(Paused(FOREVER, hint=900.0), OwnScheduler(interval_s=60.0))
    off_grid.observation.read(T0 - timedelta(seconds=100), None, None)
    assert off_grid.next_at(T0) == T0 + 2 * STEP
    no_promise = Rig(Paused(None, hint=900.0), OwnScheduler(interval_s=60.0))
    no_promise.observation.read(T0, None, None)
    assert no_promise.next_at(T0) == T0 + STEP  # the policy may decide otherwise


def test_a_read_hint_keeps_the_check_ins_that_other_chargers_plans_depend_on() -> None:
    """A scheduler that plans several chargers from each one's check-ins (the default
    answer of `check_ins_shared`) keeps them: they move the other chargers' reads."""
    rig = Rig(Paused(FOREVER, hint=900.0), FakeScheduler(interval_s=60.0))
    rig.observation.read(T0, None, None)
    assert rig.next_at(T0) == T0 + STEP


def test_a_steady_plan_beyond_the_hint_still_sleeps_to_the_plan() -> None:
    scheduler = SteadyScheduler(steady=T0 + timedelta(hours=2), interval_s=3000.0)
    rig = Rig(Paused(FOREVER, hint=900.0), scheduler)
    rig.observation.read(T0, None, None)
    assert rig.next_at(T0) == T0 + 10 * STEP  # the planned read, 3000 s on
