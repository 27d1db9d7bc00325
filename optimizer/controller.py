"""The controller: one charger's control cycle, as a pipeline of stages.

It runs unchanged against the real cloud, the HTTP simulator and the
in-process backtest, because it only touches the ports of
`optimizer.interfaces` and the budget's `ReadScheduler`. It makes no wall-clock
calls and uses no randomness: time comes from the `Clock`, so a backtest
replays exactly what the daemon would do.

One cycle (`Controller.cycle`), each stage in `optimizer.cycle`:
1. forecast: the cached forecast, refreshed every `forecast_refresh_s`;
2. observe: `charger.read()` only when the read scheduler says a read is due
   (and the policy's read-interval hint agrees, and no back-off runs);
3. estimate the surplus for the car = PV - household, the household excluding
   the car (and a home battery's power, unless `battery_to_car`); between reads
   the last PV reading is scaled by the forecast's clear-sky ratio rather than
   reused as if nothing had moved; the import price in force, as the site's
   prices already know it (`optimizer.cycle.price`);
4. decide: the policy's `Decision`;
5. govern: a policy that needs reads hands the charger to its own PV mode when
   the budget is nearly out; the controller takes the regulation back while the
   charger's PV mode drains a home battery into the car; the limits (main fuse,
   grid import, min/max current) cut the setpoint;
6. act on change only: no write when the charger already has the value,
   a deadband against 1 A jitter, and only while the scheduler allows writes;
7. record the decision (observations, commands and sessions as they happen);
   `store.commit()` once;
8. wake: when the next cycle runs, possibly sleeping past check-ins that cannot
   change anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from optimizer.budget.scheduler import ReadScheduler
from optimizer.cycle.actuator import Actuator
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.estimate import estimate
from optimizer.cycle.forecast_cache import ForecastCache
from optimizer.cycle.govern import apply_limits, govern
from optimizer.cycle.observation import Observation, ReadOutcome
from optimizer.cycle.price import ImportPrice
from optimizer.cycle.sessions import SessionTracker
from optimizer.cycle.settings import ControllerSettings
from optimizer.cycle.wake import WakePlanner
from optimizer.frozen import quick_init
from optimizer.interfaces import (
    Charger,
    ChargerReading,
    Clock,
    Command,
    Decision,
    Forecaster,
    PvForecast,
    PvMode,
    SessionRecord,
    Store,
)
from optimizer.limits import ChargerLimits
from optimizer.planning.record import PlanRecord
from optimizer.policies.base import CommandedState, Policy, PolicyContext, hand_over
from optimizer.policies.tariff import TariffConfig
from optimizer.prices.port import PriceSource

__all__ = ["Controller", "ControllerSettings", "CycleResult", "SessionTracker"]


@quick_init
@dataclass(frozen=True, slots=True)
class CycleResult:
    """What one cycle saw, decided and did, and when the next one should run."""

    time: datetime
    device_id: str
    read_attempted: bool
    reading: ChargerReading | None
    surplus_w: float | None
    decision: Decision
    commands: tuple[Command, ...]
    errors: tuple[str, ...]
    next_cycle_at: datetime


class Controller:
    """Drives one charger with one policy; several share a read scheduler and a store.

    The charger's adapter reports every API attempt to the site's
    `optimizer.budget.listener.call_listener`, not to the controller. `prices` is
    the site's price source (None: no prices): each decision sees and records the
    import price in force; it must answer from memory (it is read every cycle).
    """

    def __init__(
        self,
        charger: Charger,
        clock: Clock,
        store: Store,
        forecaster: Forecaster,
        policy: Policy,
        scheduler: ReadScheduler,
        limits: ChargerLimits,
        *,
        settings: ControllerSettings | None = None,
        timezone: tzinfo = UTC,
        tariff: TariffConfig | None = None,
        battery_to_car: bool = False,
        prices: PriceSource | None = None,
    ) -> None:
        self.charger = charger
        self.import_price = ImportPrice(prices)
        self.battery_to_car = battery_to_car
        self.clock = clock
        self.store = store
        self.forecaster = forecaster
        self.policy = policy
        self.scheduler = scheduler
        self.limits = limits
        self.settings = settings = settings or ControllerSettings()
        self.timezone = timezone
        self.device_id = charger.device_id
        self.sessions = SessionTracker(
            self.device_id, tariff, timezone, settings.target_met_tolerance
        )
        backoff = Backoff(settings)
        self.forecasts = ForecastCache(forecaster, settings)
        self.observation = Observation(charger, scheduler, backoff)
        self.actuator = Actuator(charger, store, scheduler, backoff, deadband_a=settings.deadband_a)
        self.wake = WakePlanner(
            settings, scheduler, self.forecasts, self.observation, self.actuator, backoff
        )
        self.plan: PlanRecord | None = None
        """The last plan the policy made and the store recorded (for the status)."""

    # ----- what the user may change while it runs, and what the controller knows -----

    def set_policy(self, policy: Policy) -> None:
        """Drive the charger with `policy` from the next cycle on (a fresh instance: a
        policy's timers belong to one charger and one run of it).

        The commanded state, the session and its target stay: the new policy starts
        from what the charger is doing. The controller is the one holder of the
        active policy; every stage is handed it per cycle.
        """
        self.policy = policy

    def resume(self, session: SessionRecord) -> None:
        """Go on with `session`, which an earlier run of the daemon left open (a restart
        while a car is plugged in): its totals, and the energy limit written in it."""
        self.sessions.resume(session)
        self.actuator.restore(session.start)

    def set_session_target(self, target_wh: float | None, departure: datetime | None) -> None:
        """Per-session energy wanted (Wh) and departure (UTC) for the `target` policy."""
        self.sessions.set_target(target_wh, departure)

    @property
    def last_reading(self) -> ChargerReading | None:
        """The most recent successful reading."""
        last = self.observation.last
        return None if last is None else last.reading

    @property
    def commanded(self) -> CommandedState:
        """What the controller last told the charger (the actuator's record)."""
        return self.actuator.commanded

    # ----- the cycle ----------------------------------------------------------------

    def cycle(self) -> CycleResult:
        """Run one forecast-observe-estimate-decide-govern-act-record-wake cycle.

        Raises `ChargerAuthError` (after committing what was recorded): retrying
        cannot help, the daemon must stop. Every other `ChargerError` is recorded
        and backed off from.
        """
        now = self.clock.now()
        skipped = self.wake.catch_up(now)
        if skipped is not None:
            forecast = self.forecasts.forecast
            self.policy.slept_past(lambda: self._estimate(skipped, forecast, fresh=False))
        try:
            fetched = self.forecasts.at(now)
            forecast = fetched.forecast
            ctx = self._estimate(now, forecast, fresh=False)
            observed = self._observe(now, forecast, self.policy.preferred_read_interval_s(ctx))
            if observed.reading is not None:
                ctx = self._estimate(now, forecast, fresh=True)
            decision = govern(self.policy.decide(ctx), ctx, self.policy)
            self._record_plan()
            acted = self.actuator.act(now, ctx, decision)
            errors = _cycle_errors(fetched.error, observed.error, acted.errors)
            decision = self._record(decision, errors)
            hint = self.policy.preferred_read_interval_s(ctx)
            next_at = self.wake.next_cycle_at(
                now, ctx, decision, hint, calm=not errors, policy=self.policy
            )
        finally:
            self.store.commit()
        return CycleResult(
            time=now,
            device_id=self.device_id,
            read_attempted=observed.attempted,
            reading=observed.reading,
            surplus_w=ctx.surplus_w,
            decision=decision,
            commands=acted.commands,
            errors=errors,
            next_cycle_at=next_at,
        )

    def shutdown(self, safe_mode: PvMode = PvMode.EXCLUSIVE_PV) -> list[Command]:
        """Leave the charger in its own `safe_mode` with the maximum current as cap, charging.

        Sends only what differs from the commanded state, within the budget;
        failures are recorded, never raised. Commits the store.
        """
        now = self.clock.now()
        ctx = self._estimate(now, self.forecasts.forecast, fresh=False)
        decision = hand_over(
            ctx,
            self.policy.name,
            safe_mode,
            f"shutdown: leaving the charger in its own {safe_mode.name} mode",
        )
        decision = apply_limits(decision, ctx)
        self.store.record_decision(decision)
        try:
            commands = list(self.actuator.act(now, ctx, decision, raise_auth=False).commands)
        finally:
            session = self.sessions.current()
            if session is not None:
                self.store.record_session(session)
            self.store.commit()
        return commands

    # ----- the stages' glue -----------------------------------------------------------

    def _observe(
        self, now: datetime, forecast: PvForecast | None, hint: float | None
    ) -> ReadOutcome:
        """Read the charger if due; a reading feeds the forecaster, the store, the
        commanded state and the session."""
        observed = self.observation.read(now, forecast, hint)
        reading = observed.reading
        if reading is None:
            return observed
        self.forecasts.observe(reading)
        self.store.record_observation(reading)
        arrived = observed.car_arrived and not self.sessions.continues(reading)
        self.actuator.sync(reading, car_arrived=arrived)
        target_wh = self.policy.default_target_wh()
        session = self.sessions.update(reading, observed.plugged_in, target_wh)
        if session is not None:
            self.store.record_session(session)
        return observed

    def _estimate(
        self, now: datetime, forecast: PvForecast | None, *, fresh: bool
    ) -> PolicyContext:
        """The policy's context at `now`; `fresh` when the charger was read this cycle."""
        sessions = self.sessions
        return estimate(
            now,
            self.observation.last,
            forecast,
            fresh=fresh,
            device_id=self.device_id,
            limits=self.limits,
            commanded=self.actuator.commanded,
            session_energy_wh=sessions.energy_wh,
            target_wh=sessions.target_wh,
            departure=sessions.departure,
            budget_nearly_out=self.scheduler.nearly_out(now),
            timezone=self.timezone,
            battery_to_car=self.battery_to_car,
            import_eur_per_kwh=self.import_price.at(now),
        )

    def _record_plan(self) -> None:
        """Store the plan the policy made this cycle, if it made one that changed."""
        plan = self.policy.take_plan()
        if plan is not None:
            self.store.record_plan(plan)
            self.plan = plan

    def _record(self, decision: Decision, errors: tuple[str, ...]) -> Decision:
        """Store the decision, its reason ending with the cycle's errors."""
        if errors:
            decision = replace(decision, reason=f"{decision.reason} [{'; '.join(errors)}]")
        self.store.record_decision(decision)
        return decision


def _cycle_errors(
    forecast: str | None, read: str | None, writes: tuple[str, ...]
) -> tuple[str, ...]:
    """A cycle's errors in the order they happened (usually none: no allocation then)."""
    if read is not None:
        writes = (read, *writes)
    if forecast is not None:
        writes = (forecast, *writes)
    return writes
