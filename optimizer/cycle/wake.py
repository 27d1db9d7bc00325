"""Wake: when the next cycle runs, and what the cycles slept past would have done.

The next cycle is the next read the scheduler plans (held back by the policy's read
hint), at most `max_cycle_interval_s` away (a check-in), sooner when the policy must
decide again by then (`Policy.decide_again_by`), never inside a back-off or a 429
block and never sooner than `min_cycle_interval_s`.

A check-in between reads can change something only through the policy (its decision
or state), a write still pending, the read plan (a read falling due) and the forecast
refresh. When the policy promises its decision holds (`Policy.next_decision_at`),
nothing is pending, and the scheduler promises its plan holds
(`ReadScheduler.steady_until`), the controller sleeps to the first check-in at which
one of them may change (or the planned read), at most `idle_max_interval_s`;
`catch_up` then replays the skipped check-ins' forecast refreshes: reads, commands
and energy stay exactly the same, only the number of cycles drops.

The policy's read hint is a promise of its own: no read before the last read + hint,
and every read planned at or after it, whatever the scheduler plans. So a check-in
whose next check-in still falls before that time can neither read nor plan the next
cycle otherwise (`hint_holds_until`): the controller sleeps through those even while
the scheduler promises nothing (a plugged-in car under the sun, reading rarely while
the charger regulates), unless its check-ins move other chargers' read plans
(`ReadScheduler.check_ins_shared`). The world's energy sums do not depend on where
cycles fall (they are folded step by step), so neither do the readings.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from optimizer.budget.scheduler import ReadScheduler
from optimizer.cycle.actuator import Actuator
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.forecast_cache import ForecastCache
from optimizer.cycle.observation import Observation
from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import Decision, PvForecast
from optimizer.policies.base import Policy, PolicyContext

MAX_SLEEP = timedelta(days=400)
"""Farther than any promise is worth counting check-ins for."""

_MAX_SLEEP_S = MAX_SLEEP.total_seconds()


def grid_ceil(now: datetime, t: datetime, step_s: float) -> datetime:
    """The first check-in time `now + k * step_s` (k >= 1) at or after `t`."""
    if t <= now:
        return now + timedelta(seconds=step_s)
    seconds = (t - now).total_seconds()
    if seconds > _MAX_SLEEP_S:
        return now + MAX_SLEEP
    return now + timedelta(seconds=step_s * max(math.ceil(seconds / step_s), 1))


def reached_read(
    now: datetime, read_at: datetime, step_s: float, min_interval: timedelta
) -> datetime:
    """When cycles checking in every `step_s` from `now` reach the read planned at `read_at`:
    `read_at`, or the check-in before it when that falls less than `min_interval` before
    it (that check-in then puts the read off to its own time + `min_interval`, so it
    must run: woken at `read_at` instead, a run read 0.5 s before a check-in would have)."""
    before = grid_ceil(now, read_at, step_s) - timedelta(seconds=step_s)
    if now < before < read_at and read_at - before < min_interval:
        return before
    return read_at


def hint_holds_until(now: datetime, read_at: datetime, hint_s: float, step_s: float) -> datetime:
    """The last check-in `now + k * step_s` (k >= 0) not after `read_at + hint_s`: every
    check-in before it reads nothing (the hint refuses it) and plans its next cycle at the
    following check-in (the next read is planned at or after `read_at + hint_s`), so it
    changes nothing. `now` when the next check-in is already past that time."""
    held = read_at + timedelta(seconds=hint_s)
    seconds = (held - now).total_seconds()
    if seconds < step_s:
        return now
    k = int(min(seconds, _MAX_SLEEP_S) // step_s)
    wake = now + timedelta(seconds=step_s * k)
    if wake > held:  # a float quotient rounded up across a whole number
        wake = now + timedelta(seconds=step_s * (k - 1))
    return wake


def dark_until(now: datetime, forecast: PvForecast | None) -> datetime:
    """Start of the first forecast step from `now` on with clear-sky power (no sun
    before it whatever the weather); `now` without a forecast."""
    if forecast is None:
        return now
    i0 = forecast.index_at(now)
    clear = forecast.clear_sky_w
    if i0 < clear.shape[0] and clear[i0] > 0.0:
        return now  # daylight: the common case, no scan
    lit = np.flatnonzero(clear[i0:] > 0.0)
    j = i0 + int(lit[0]) if lit.size else len(forecast)
    return forecast.start + timedelta(seconds=forecast.step_s * j)


class WakePlanner:
    """Plans one charger's next cycle; the only reader of the sleep promises."""

    def __init__(
        self,
        settings: ControllerSettings,
        scheduler: ReadScheduler,
        forecasts: ForecastCache,
        observation: Observation,
        actuator: Actuator,
        backoff: Backoff,
    ) -> None:
        self.step_s = settings.max_cycle_interval_s
        self.idle_max_s = settings.idle_max_interval_s
        self.min_interval = timedelta(seconds=settings.min_cycle_interval_s)
        self.scheduler = scheduler
        self.forecasts = forecasts
        self.observation = observation
        self.actuator = actuator
        self.backoff = backoff
        self._planned_read_at: datetime | None = None
        self._idle_since: datetime | None = None
        """The last cycle, while sleeping past check-ins."""

    def next_cycle_at(
        self,
        now: datetime,
        ctx: PolicyContext,
        decision: Decision,
        hint: float | None,
        *,
        calm: bool,
        policy: Policy,
    ) -> datetime:
        """When the cycle that ran at `now` (context `ctx`, final `decision` of `policy`,
        its read `hint` in s) should run next; `calm`: it met no error (else no sleeping).

        The policy is an argument, not a member: the controller holds the one active
        policy, which the user may switch while the daemon runs (`Controller.set_policy`).
        """
        forecast = ctx.forecast
        next_at = self._next_read_or_check_in(now, forecast, hint)
        due = policy.decide_again_by(ctx)
        if due is not None and due < next_at:
            return max(self.backoff.not_before(due), now + self.min_interval)
        if calm and next_at >= now + timedelta(seconds=self.step_s):
            next_at = self._idle_until(now, ctx, decision, forecast, hint, next_at, policy)
        return next_at

    def _next_read_or_check_in(
        self, now: datetime, forecast: PvForecast | None, hint: float | None
    ) -> datetime:
        """The next read the scheduler plans (respecting the policy's hint), at most
        `max_cycle_interval_s` away, never inside a back-off or a 429 block."""
        latest = now + timedelta(seconds=self.step_s)
        nxt = latest
        self._planned_read_at = None
        if hint != math.inf:
            read_ctx = self.observation.read_context(now, forecast)
            read_at = self.scheduler.next_read_at(now, read_ctx)
            last = self.observation.read_at
            if hint is not None and last is not None:
                read_at = max(read_at, last + timedelta(seconds=hint))
            self._planned_read_at = read_at
            nxt = min(read_at, latest)
        return max(self.backoff.not_before(nxt), now + self.min_interval)

    def _idle_until(
        self,
        now: datetime,
        ctx: PolicyContext,
        decision: Decision,
        forecast: PvForecast | None,
        hint: float | None,
        next_at: datetime,
        policy: Policy,
    ) -> datetime:
        """The next cycle when the check-ins before it cannot change anything, else
        `next_at` (see the module docstring). Returns a time on the check-in grid
        `now + k * max_cycle_interval_s` or the planned read."""
        step_s = self.step_s
        if self.idle_max_s <= step_s or self.actuator.planned_writes(ctx, decision):
            return next_at
        if not self.backoff.allows(now) or ctx.budget_nearly_out:
            return next_at
        decide_at = policy.next_decision_at(ctx)
        if decide_at is None:
            return next_at
        wake = grid_ceil(now, decide_at, step_s)
        wake = min(wake, now + timedelta(seconds=step_s * (self.idle_max_s // step_s)))
        if hint != math.inf:
            read_at, last_read = self._planned_read_at, self.observation.read_at
            if read_at is None or last_read is None:
                return next_at
            read_ctx = self.observation.read_context(now, forecast)
            steady = self.scheduler.steady_until(now, read_ctx, dark_until(now, forecast))
            held = grid_ceil(now, steady, step_s)
            if hint is not None and not self.scheduler.check_ins_shared():
                held = max(held, hint_holds_until(now, last_read, hint, step_s))
            wake = min(wake, held)
            if read_at < wake:
                wake = reached_read(now, read_at, step_s, self.min_interval)
        if wake <= next_at:
            return next_at
        self._idle_since = now
        return wake

    def catch_up(self, now: datetime) -> datetime | None:
        """Replay the check-ins skipped since the last cycle; the last of them (UTC), or
        None when none was skipped.

        Each would have refreshed the forecast when due; nothing else in them could
        change the decision (the policy promised), but a policy's state may move with
        the clock all the same: the controller shows it the last one
        (`Policy.slept_past`).
        """
        last = self._idle_since
        if last is None:
            return None
        self._idle_since = None
        step = timedelta(seconds=self.step_s)
        t = last + step
        if t >= now:
            return None
        if self.forecasts.forecaster.depends_only_on_observations:
            return self._last_refresh(t, now, step)
        while t + step < now:
            self.forecasts.at(t)
            t += step
        self.forecasts.at(t)
        return t

    def _last_refresh(self, t: datetime, now: datetime, step: timedelta) -> datetime:
        """Of the refreshes the check-ins `t, t + step, ..` before `now` would make, make
        only the last: with no reading in between and a forecaster that depends on
        nothing else, the ones before it are replaced unseen. The last check-in."""
        cache = self.forecasts
        fetched = cache.fetched_at
        last_due: datetime | None = None
        while True:
            if cache.refresh_due(t, fetched):
                fetched = last_due = t
            if t + step >= now:
                break
            t += step
        if last_due is not None:
            cache.at(last_due)
        return t
