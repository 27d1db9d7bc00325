"""The controller: one charger's observe -> estimate -> decide -> act -> record cycle.

It runs unchanged against the real cloud, the HTTP simulator and the
in-process backtest, because it only touches the ports of
`optimizer.interfaces` and the budget's `ReadScheduler`. It makes no wall-clock
calls and uses no randomness: time comes from the `Clock`, so a backtest
replays exactly what the daemon would do.

One cycle:
1. observe: `charger.read()` only when the read scheduler says a read is due
   (and the policy's read-interval hint agrees);
2. estimate the surplus for the car = PV - household, the household excluding
   the car; between reads the last PV reading is scaled by the forecast's
   clear-sky ratio rather than reused as if nothing had moved;
3. decide: the policy's `Decision`; every policy that needs reads hands the
   charger to its own PV mode when the budget is nearly out; the limits (main
   fuse, grid import, min/max current) cut the setpoint;
4. act on change only: no write when the charger already has the value,
   a deadband against 1 A jitter, and only while the scheduler allows writes;
5. record observation, decision, commands and sessions; `store.commit()` once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from optimizer.budget.scheduler import ReadContext, ReadScheduler, SteadyReadScheduler
from optimizer.interfaces import (
    ApiCall,
    Charger,
    ChargerAuthError,
    ChargerError,
    ChargerRateLimited,
    ChargerReading,
    ChargeState,
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
from optimizer.policies.base import (
    CommandedState,
    Policy,
    PolicyContext,
    hand_over,
    next_decision_at,
)
from optimizer.policies.target import TargetPolicy
from optimizer.policies.tariff import TariffConfig


class ControllerSettings(BaseModel):
    """`[controller]`: how the cycle behaves (all times in seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadband_a: int = Field(
        default=1, ge=0, le=10, description="Ignore setpoint changes this small (A)"
    )
    forecast_refresh_s: float = Field(
        default=900.0, gt=0.0, description="Re-ask the forecaster this often"
    )
    forecast_horizon_s: float = Field(
        default=36 * 3600.0, gt=0.0, description="Forecast this far ahead"
    )
    forecast_step_s: float = Field(default=300.0, gt=0.0, description="Forecast resolution")
    max_cycle_interval_s: float = Field(
        default=300.0, gt=0.0, description="Decide at least this often, even without a read"
    )
    idle_max_interval_s: float = Field(
        default=3600.0,
        gt=0.0,
        description="Sleep at most this long when nothing can change before the next read "
        "(s); at or below max_cycle_interval_s the controller checks in every "
        "max_cycle_interval_s as before",
    )
    min_cycle_interval_s: float = Field(default=1.0, gt=0.0, description="Never cycle faster")
    error_backoff_s: float = Field(
        default=60.0, gt=0.0, description="First wait after a failed call"
    )
    max_error_backoff_s: float = Field(
        default=1800.0, gt=0.0, description="Longest wait after failures"
    )
    rate_limit_wait_s: float = Field(
        default=3600.0,
        gt=0.0,
        description="Wait after a 429 that did not say when the quota resets",
    )
    target_met_tolerance: float = Field(
        default=0.99, gt=0.0, le=1.0, description="Share of the target that counts as met"
    )


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


@dataclass(slots=True)
class _OpenSession:
    """Running totals of a plug-in session, integrated between reads."""

    start: datetime
    last_time: datetime
    last_car_w: float
    last_surplus_w: float
    energy_int_wh: float = 0.0
    solar_int_wh: float = 0.0
    cost_int: float = 0.0
    charger_energy_wh: float = 0.0
    target_wh: float | None = None


class SessionTracker:
    """Turns readings into `SessionRecord`s: plug-in opens, unplug closes.

    Energy is the charger's own session counter when it reports one, else car
    power integrated between reads. The solar part is min(car power, surplus)
    integrated the same way (each interval at the values of its first read),
    scaled to the session energy; the grid part is the rest.
    """

    def __init__(
        self,
        device_id: str,
        tariff: TariffConfig | None = None,
        timezone: tzinfo = UTC,
        met_tolerance: float = 0.99,
    ) -> None:
        self.device_id = device_id
        self.tariff = tariff
        self.timezone = timezone
        self.met_tolerance = met_tolerance
        self.open: _OpenSession | None = None

    @property
    def energy_wh(self) -> float:
        """Energy into the car in the open session so far (Wh), 0 without one."""
        s = self.open
        if s is None:
            return 0.0
        return s.charger_energy_wh if s.charger_energy_wh > 0.0 else s.energy_int_wh

    def update(
        self, reading: ChargerReading, plugged_in: bool | None, target_wh: float | None
    ) -> SessionRecord | None:
        """Take in one reading; the session record to store (opened, updated or closed)."""
        s = self.open
        if plugged_in is None:
            return None
        if not plugged_in:
            if s is None:
                return None
            self.open = None
            return self._record(s, end=reading.time)
        if s is None:
            s = _OpenSession(
                start=reading.time,
                last_time=reading.time,
                last_car_w=reading.car_power_w,
                last_surplus_w=reading.surplus_w,
                target_wh=target_wh,
            )
            self.open = s
        else:
            self._integrate(s, reading)
        if target_wh is not None:
            s.target_wh = target_wh
        s.charger_energy_wh = max(reading.session_energy_wh, 0.0)
        return self._record(s, end=None)

    def current(self) -> SessionRecord | None:
        """The open session as a record, if any."""
        return None if self.open is None else self._record(self.open, end=None)

    def _integrate(self, s: _OpenSession, reading: ChargerReading) -> None:
        hours = max((reading.time - s.last_time).total_seconds(), 0.0) / 3600.0
        energy = s.last_car_w * hours
        solar = min(s.last_car_w, max(s.last_surplus_w, 0.0)) * hours
        s.energy_int_wh += energy
        s.solar_int_wh += solar
        if self.tariff is not None:
            price = self.tariff.price_per_kwh(s.last_time, self.timezone)
            s.cost_int += (energy - solar) / 1000.0 * price
        s.last_time = reading.time
        s.last_car_w = reading.car_power_w
        s.last_surplus_w = reading.surplus_w

    def _record(self, s: _OpenSession, end: datetime | None) -> SessionRecord:
        energy = s.charger_energy_wh if s.charger_energy_wh > 0.0 else s.energy_int_wh
        share = s.solar_int_wh / s.energy_int_wh if s.energy_int_wh > 0.0 else 0.0
        solar = energy * share
        grid = energy - solar
        cost: float | None = None
        if self.tariff is not None:
            grid_int = s.energy_int_wh - s.solar_int_wh
            cost = s.cost_int * (grid / grid_int) if grid_int > 0.0 else 0.0
        met: bool | None = None
        if end is not None and s.target_wh is not None:
            met = energy >= s.target_wh * self.met_tolerance
        return SessionRecord(
            device_id=self.device_id,
            start=s.start,
            end=end,
            energy_wh=energy,
            solar_wh=solar,
            grid_wh=grid,
            cost=cost,
            target_wh=s.target_wh,
            target_met=met,
        )


def _value_at(series: npt.NDArray[np.float64], fc: PvForecast, when: datetime) -> float | None:
    """The forecast series' value for the step containing `when`, None outside the forecast."""
    i = int((when - fc.start).total_seconds() // fc.step_s)
    if 0 <= i < series.shape[0]:
        return float(series[i])
    return None


_CLEAR_SKY_MIN_W = 50.0
"""Below this clear-sky power (W) the ratio is too noisy to scale PV by (dawn, dusk)."""

_MAX_PV_SCALE = 3.0
"""Never extrapolate PV beyond this multiple of the last reading."""


class Controller:
    """Drives one charger with one policy; several share a read scheduler and a store.

    `on_call` is the `CallListener` the charger's adapter reports every attempt to.
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
    ) -> None:
        self.charger = charger
        self.clock = clock
        self.store = store
        self.forecaster = forecaster
        self.policy = policy
        self.scheduler = scheduler
        self.limits = limits
        self.settings = settings or ControllerSettings()
        self.timezone = timezone
        self.device_id = charger.device_id
        self.sessions = SessionTracker(
            self.device_id, tariff, timezone, self.settings.target_met_tolerance
        )
        self.commanded = CommandedState()
        self._reading: ChargerReading | None = None
        self._last_read_at: datetime | None = None
        self._plugged_in: bool | None = None
        self._clear_sky_at_read: float | None = None
        self._forecast: PvForecast | None = None
        self._forecast_at: datetime | None = None
        self._retry_at: datetime | None = None
        self._failures = 0
        self._blocked_until: datetime | None = None
        self._session_target_wh: float | None = None
        self._session_departure: datetime | None = None
        self._steady_scheduler = scheduler if isinstance(scheduler, SteadyReadScheduler) else None
        self._planned_read_at: datetime | None = None
        self._idle_since: tuple[datetime, bool] | None = None
        """(last cycle, replay read contexts?) while sleeping past check-ins (`_idle_until`)."""

    # ----- wiring -------------------------------------------------------------------

    def on_call(self, call: ApiCall) -> None:
        """Count an API call in the budget and the ledger (the adapters' `CallListener`)."""
        self.scheduler.record_call(call)
        if call.quota is not None:
            self.scheduler.observe_quota(call.quota, call.time)
        self.store.record_call(call)

    def set_session_target(self, target_wh: float | None, departure: datetime | None) -> None:
        """Per-session energy wanted (Wh) and departure (UTC) for the `target` policy."""
        self._session_target_wh = target_wh
        self._session_departure = departure

    @property
    def last_reading(self) -> ChargerReading | None:
        """The most recent successful reading."""
        return self._reading

    # ----- the cycle ----------------------------------------------------------------

    def cycle(self) -> CycleResult:
        """Run one observe-decide-act-record cycle; see the module docstring.

        Raises `ChargerAuthError` (after committing what was recorded): retrying
        cannot help, the daemon must stop. Every other `ChargerError` is recorded
        and backed off from.
        """
        now = self.clock.now()
        errors: list[str] = []
        self._catch_up(now)
        try:
            forecast = self._current_forecast(now, errors)
            ctx = self._context(now, forecast, fresh=False)
            hint = self.policy.preferred_read_interval_s(ctx)
            reading, attempted = self._observe(now, forecast, hint, errors)
            if reading is not None:
                ctx = self._context(now, forecast, fresh=True)
            decision = self._decide(ctx)
            commands = self._act(now, ctx, decision, errors)
            if errors:
                decision = replace(decision, reason=f"{decision.reason} [{'; '.join(errors)}]")
            self.store.record_decision(decision)
            hint = self.policy.preferred_read_interval_s(ctx)
            next_at = self._next_cycle_at(now, forecast, hint)
            check_in = now + timedelta(seconds=self.settings.max_cycle_interval_s)
            if not errors and next_at >= check_in:
                next_at = self._idle_until(now, ctx, decision, forecast, hint, next_at)
        finally:
            self.store.commit()
        return CycleResult(
            time=now,
            device_id=self.device_id,
            read_attempted=attempted,
            reading=reading,
            surplus_w=ctx.surplus_w,
            decision=decision,
            commands=tuple(commands),
            errors=tuple(errors),
            next_cycle_at=next_at,
        )

    def shutdown(self, safe_mode: PvMode = PvMode.EXCLUSIVE_PV) -> list[Command]:
        """Leave the charger in its own `safe_mode` with the maximum current as cap, charging.

        Sends only what differs from the commanded state, within the budget;
        failures are recorded, never raised. Commits the store.
        """
        now = self.clock.now()
        errors: list[str] = []
        ctx = self._context(now, self._forecast, fresh=False)
        decision = hand_over(
            ctx,
            self.policy.name,
            safe_mode,
            f"shutdown: leaving the charger in its own {safe_mode.name} mode",
        )
        decision = self._apply_limits(ctx, decision)
        self.store.record_decision(decision)
        try:
            commands = self._act(now, ctx, decision, errors, raise_auth=False)
        finally:
            session = self.sessions.current()
            if session is not None:
                self.store.record_session(session)
            self.store.commit()
        return commands

    # ----- observe ------------------------------------------------------------------

    def _current_forecast(self, now: datetime, errors: list[str]) -> PvForecast | None:
        """The cached forecast, refreshed every `forecast_refresh_s` (failures keep the old)."""
        s = self.settings
        fetched = self._forecast_at
        if fetched is not None and (now - fetched).total_seconds() < s.forecast_refresh_s:
            return self._forecast
        step = s.forecast_step_s
        epoch_s = now.timestamp()
        start = datetime.fromtimestamp(epoch_s - epoch_s % step, tz=UTC)
        self._forecast_at = now
        try:
            self._forecast = self.forecaster.forecast(
                start, start + timedelta(seconds=s.forecast_horizon_s), step
            )
        except Exception as exc:  # a forecast failure must never stop charging
            errors.append(f"forecast failed: {type(exc).__name__}: {exc}")
        return self._forecast

    def _read_context(self, now: datetime, forecast: PvForecast | None) -> ReadContext:
        pv_expected = 0.0
        variability = 0.0
        if forecast is not None:
            pv_expected = _value_at(forecast.central_w, forecast, now) or 0.0
            variability = forecast.variability
        reading = self._reading
        return ReadContext(
            device_id=self.device_id,
            plugged_in=self._plugged_in,
            charging=reading is not None and reading.charge_state is ChargeState.CHARGING,
            pv_expected_w=pv_expected,
            variability=variability,
            last_read=self._last_read_at,
        )

    def _calls_allowed(self, now: datetime) -> bool:
        """False while backing off from errors or blocked by a 429."""
        if self._blocked_until is not None and now < self._blocked_until:
            return False
        return self._retry_at is None or now >= self._retry_at

    def _read_wanted(self, now: datetime, forecast: PvForecast | None, hint: float | None) -> bool:
        """The scheduler says a read is due and the policy's hint (s) does not object."""
        if hint is not None:
            if hint == math.inf:
                return False
            last = self._last_read_at
            if last is not None and (now - last).total_seconds() < hint:
                return False
        return self.scheduler.read_due(now, self._read_context(now, forecast))

    def _observe(
        self, now: datetime, forecast: PvForecast | None, hint: float | None, errors: list[str]
    ) -> tuple[ChargerReading | None, bool]:
        """Read the charger if due; returns the reading (None if none) and whether one was tried."""
        if not self._calls_allowed(now) or not self._read_wanted(now, forecast, hint):
            return None, False
        try:
            reading = self.charger.read()
        except ChargerError as exc:
            self._on_error(now, exc, "read", errors)
            return None, True
        self._failures = 0
        self._take_reading(now, reading, forecast)
        return reading, True

    def _take_reading(
        self, now: datetime, reading: ChargerReading, forecast: PvForecast | None
    ) -> None:
        was_plugged = self._plugged_in
        state = reading.charge_state
        plugged = None if state is ChargeState.FAULT else state.plugged_in
        self._reading = reading
        self._last_read_at = now
        self._plugged_in = plugged
        self._clear_sky_at_read = (
            None if forecast is None else _value_at(forecast.clear_sky_w, forecast, reading.time)
        )
        self.forecaster.observe(reading.time, reading.pv_power_w)
        self.store.record_observation(reading)
        self._sync_commanded(reading, plugged_now=plugged is True and was_plugged is not True)
        session = self.sessions.update(reading, plugged, self._target_wh(now, forecast))
        if session is not None:
            self.store.record_session(session)
        if plugged is False:
            self._session_target_wh = None
            self._session_departure = None

    def _sync_commanded(self, reading: ChargerReading, *, plugged_now: bool) -> None:
        """Correct the commanded state from what the charger reports.

        The setpoint is trusted only while the controller regulates (MAX_POWER):
        in the charger's own PV modes it reports its self-chosen current.
        """
        c = self.commanded
        current = c.current_a
        if c.pv_mode is PvMode.MAX_POWER and reading.current_setpoint_a >= 1.0:
            current = round(reading.current_setpoint_a)
        charging = c.charging
        if plugged_now:
            charging = None  # a new car: make sure start/pause reaches the charger once
        elif reading.charge_state is ChargeState.CHARGING and charging is False:
            charging = True  # someone started it behind our back
        self.commanded = CommandedState(current_a=current, pv_mode=c.pv_mode, charging=charging)

    # ----- estimate and decide ------------------------------------------------------

    def _estimate(
        self, now: datetime, forecast: PvForecast | None, fresh: bool
    ) -> tuple[float | None, float | None]:
        """(PV W, household W) now: the reading itself, or PV scaled by the clear-sky ratio."""
        reading = self._reading
        if reading is None:
            return None, None
        pv = reading.pv_power_w
        if not fresh and forecast is not None:
            cs_then = self._clear_sky_at_read
            cs_now = _value_at(forecast.clear_sky_w, forecast, now)
            if cs_then is not None and cs_now is not None and cs_then >= _CLEAR_SKY_MIN_W:
                pv = pv * min(cs_now / cs_then, _MAX_PV_SCALE)
            else:
                central = _value_at(forecast.central_w, forecast, now)
                if central is not None and cs_now is not None and cs_now < _CLEAR_SKY_MIN_W:
                    pv = central  # dawn/dusk/night: the forecast knows better than a ratio
        return pv, reading.household_w

    def _context(self, now: datetime, forecast: PvForecast | None, fresh: bool) -> PolicyContext:
        pv, household = self._estimate(now, forecast, fresh)
        reading = self._reading
        surplus = None if pv is None or household is None else pv - household
        age = None if self._last_read_at is None else (now - self._last_read_at).total_seconds()
        return PolicyContext(
            now=now,
            device_id=self.device_id,
            limits=self.limits,
            plugged_in=self._plugged_in,
            charging=reading is not None and reading.charge_state is ChargeState.CHARGING,
            car_power_w=0.0 if reading is None else reading.car_power_w,
            surplus_w=surplus,
            pv_w=pv,
            household_w=household,
            fresh=fresh,
            reading_age_s=age,
            session_energy_wh=self.sessions.energy_wh,
            commanded=self.commanded,
            forecast=forecast,
            budget_nearly_out=self.scheduler.nearly_out(now),
            target_wh=self._session_target_wh,
            departure=self._session_departure,
            timezone=self.timezone,
        )

    def _target_wh(self, now: datetime, forecast: PvForecast | None) -> float | None:
        if self._session_target_wh is not None:
            return self._session_target_wh
        if isinstance(self.policy, TargetPolicy):
            return self.policy.params.target_kwh * 1000.0
        return None

    def _decide(self, ctx: PolicyContext) -> Decision:
        decision = self.policy.decide(ctx)
        mode = self.policy.budget_handover_mode
        if ctx.budget_nearly_out and mode is not None:
            decision = hand_over(
                ctx,
                self.policy.name,
                mode,
                f"call budget nearly out: the charger's own {mode.name} mode takes over "
                f"(policy wanted: {decision.reason})",
            )
        return self._apply_limits(ctx, decision)

    def _apply_limits(self, ctx: PolicyContext, decision: Decision) -> Decision:
        """Cut the setpoint to the fuse and grid-import caps; pause if not even the minimum fits."""
        if not decision.charging:
            return decision
        limits = self.limits
        regulating = decision.pv_mode is PvMode.MAX_POWER
        cap = limits.cap_current_a(
            household_w=ctx.household_w, surplus_w=ctx.surplus_w if regulating else None
        )
        if cap < limits.min_current_a:
            return replace(
                decision,
                charging=False,
                reason=f"{decision.reason}; limits allow only {cap} A (< minimum "
                f"{limits.min_current_a} A): pause",
            )
        if decision.current_a > cap:
            return replace(
                decision,
                current_a=cap,
                reason=f"{decision.reason}; capped to {cap} A by the fuse/grid-import limits",
            )
        return decision

    # ----- act ----------------------------------------------------------------------

    def _planned_writes(
        self, ctx: PolicyContext, decision: Decision
    ) -> list[tuple[str, int | None]]:
        """The writes that bring the charger from the commanded state to `decision`."""
        c = self.commanded
        if not decision.charging:
            return [] if c.charging is False else [("pause", None)]
        writes: list[tuple[str, int | None]] = []
        if c.pv_mode is not decision.pv_mode:
            writes.append(("set_pv_mode", int(decision.pv_mode)))
        if self._current_needs_write(ctx, decision):
            writes.append(("set_current", decision.current_a))
        if c.charging is not True:
            writes.append(("start", None))
        return writes

    def _current_needs_write(self, ctx: PolicyContext, decision: Decision) -> bool:
        old = self.commanded.current_a
        new = decision.current_a
        if old is None:
            return True
        if old == new:
            return False
        if (
            decision.pv_mode is not PvMode.MAX_POWER
            or self.commanded.pv_mode is not PvMode.MAX_POWER
        ):
            return True  # a cap for the charger's own regulation: rare, always exact
        if new < old and old > self.limits.cap_current_a(
            household_w=ctx.household_w, surplus_w=ctx.surplus_w
        ):
            return True  # the limits force it down: no deadband on safety
        return abs(new - old) > self.settings.deadband_a

    def _act(
        self,
        now: datetime,
        ctx: PolicyContext,
        decision: Decision,
        errors: list[str],
        *,
        raise_auth: bool = True,
    ) -> list[Command]:
        writes = self._planned_writes(ctx, decision)
        sent: list[Command] = []
        if not writes:
            return sent
        if not self._calls_allowed(now):
            errors.append(f"{len(writes)} write(s) deferred: backing off")
            return sent
        for kind, value in writes:
            if not self.scheduler.can_write(now, 1):
                errors.append(f"{kind} deferred: no call budget left for writes")
                break
            command = self._send(now, kind, value, errors, raise_auth=raise_auth)
            sent.append(command)
            if not command.ok:
                break
        return sent

    def _send(
        self, now: datetime, kind: str, value: int | None, errors: list[str], *, raise_auth: bool
    ) -> Command:
        try:
            if kind == "set_current":
                assert value is not None
                self.charger.set_current(value)
            elif kind == "set_pv_mode":
                assert value is not None
                self.charger.set_pv_mode(PvMode(value))
            elif kind == "start":
                self.charger.start()
            else:
                self.charger.pause()
        except ChargerError as exc:
            command = Command(now, self.device_id, kind, value, ok=False, error=str(exc))
            self.store.record_command(command)
            if isinstance(exc, ChargerAuthError) and raise_auth:
                raise
            self._on_error(now, exc, kind, errors, raise_auth=False)
            return command
        self._failures = 0
        self._remember(kind, value)
        command = Command(now, self.device_id, kind, value, ok=True)
        self.store.record_command(command)
        return command

    def _remember(self, kind: str, value: int | None) -> None:
        c = self.commanded
        if kind == "set_current":
            self.commanded = replace(c, current_a=value)
        elif kind == "set_pv_mode":
            assert value is not None
            self.commanded = replace(c, pv_mode=PvMode(value))
        else:
            self.commanded = replace(c, charging=kind == "start")

    def _on_error(
        self,
        now: datetime,
        exc: ChargerError,
        what: str,
        errors: list[str],
        *,
        raise_auth: bool = True,
    ) -> None:
        """Record a failed call and back off; auth errors propagate (unless shutting down)."""
        if isinstance(exc, ChargerAuthError):
            errors.append(f"{what} refused: {exc}")
            if raise_auth:
                raise exc
            return
        s = self.settings
        if isinstance(exc, ChargerRateLimited):
            wait = exc.reset_s if exc.reset_s is not None else s.rate_limit_wait_s
            self._blocked_until = now + timedelta(seconds=wait)
            errors.append(f"{what} rate-limited: no calls until {self._blocked_until:%H:%M:%S}Z")
            return
        self._failures += 1
        wait = min(s.error_backoff_s * 2.0 ** (self._failures - 1), s.max_error_backoff_s)
        self._retry_at = now + timedelta(seconds=wait)
        errors.append(f"{what} failed ({exc}); retry in {wait:.0f} s")

    # ----- schedule -----------------------------------------------------------------

    def _idle_until(
        self,
        now: datetime,
        ctx: PolicyContext,
        decision: Decision,
        forecast: PvForecast | None,
        hint: float | None,
        next_at: datetime,
    ) -> datetime:
        """The next cycle when the check-ins before it cannot change anything, else `next_at`.

        Between reads the controller checks in every `max_cycle_interval_s`. A check-in
        can change something only through the policy (its decision or state), a write
        still pending, the read plan (a read falling due), the forecast refresh and
        what the read scheduler learns from the context. When the policy promises its
        decision holds (`next_decision_at`), nothing is pending, and the scheduler
        promises its plan holds (`steady_until`), the controller sleeps to the first
        check-in at which one of them may change (or the planned read), at most
        `idle_max_interval_s`, and `_catch_up` replays the skipped check-ins' forecast
        refreshes and read contexts: reads, commands and energy stay exactly the same.
        Returns a time on the check-in grid `now + k * max_cycle_interval_s` or the read.
        """
        s = self.settings
        step_s = s.max_cycle_interval_s
        if s.idle_max_interval_s <= step_s or self._planned_writes(ctx, decision):
            return next_at
        if not self._calls_allowed(now) or ctx.budget_nearly_out:
            return next_at
        decide_at = next_decision_at(self.policy, ctx)
        if decide_at is None:
            return next_at
        wake = self._grid_ceil(now, decide_at, step_s)
        wake = min(wake, now + timedelta(seconds=step_s * (s.idle_max_interval_s // step_s)))
        if hint != math.inf:
            scheduler = self._steady_scheduler
            read_at = self._planned_read_at
            if scheduler is None or read_at is None or self._last_read_at is None:
                return next_at
            read_ctx = self._read_context(now, forecast)
            steady = scheduler.steady_until(now, read_ctx, self._dark_until(now, forecast))
            wake = min(wake, self._grid_ceil(now, steady, step_s), read_at)
        if wake <= next_at:
            return next_at
        self._idle_since = (now, hint != math.inf)
        return wake

    @staticmethod
    def _grid_ceil(now: datetime, t: datetime, step_s: float) -> datetime:
        """The first check-in time `now + k * step_s` (k >= 1) at or after `t`."""
        if t <= now:
            return now + timedelta(seconds=step_s)
        seconds = (t - now).total_seconds()
        if seconds > 400 * 86400.0:
            return now + timedelta(days=400)
        return now + timedelta(seconds=step_s * max(math.ceil(seconds / step_s), 1))

    @staticmethod
    def _dark_until(now: datetime, forecast: PvForecast | None) -> datetime:
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

    def _catch_up(self, now: datetime) -> None:
        """Replay the check-ins skipped since the last cycle (see `_idle_until`).

        Each would have refreshed the forecast when due and shown the read scheduler
        its context; nothing else in them could change anything.
        """
        idle = self._idle_since
        if idle is None:
            return
        self._idle_since = None
        last, remember = idle
        step = timedelta(seconds=self.settings.max_cycle_interval_s)
        steady = self._steady_scheduler if remember else None
        errors: list[str] = []
        t = last + step
        if steady is None and getattr(self.forecaster, "depends_only_on_observations", False):
            self._last_refresh(t, now, step, errors)
            return
        while t < now:
            forecast = self._current_forecast(t, errors)
            if steady is not None:
                steady.replay_context(t, self._read_context(t, forecast))
            t += step

    def _last_refresh(self, t: datetime, now: datetime, step: timedelta, errors: list[str]) -> None:
        """Of the refreshes the check-ins `t, t + step, ..` before `now` would make, make
        only the last: with no reading in between and a forecaster that depends on
        nothing else, the ones before it are replaced unseen (`_catch_up`)."""
        refresh_s = self.settings.forecast_refresh_s
        fetched = self._forecast_at
        last_due: datetime | None = None
        while t < now:
            if fetched is None or (t - fetched).total_seconds() >= refresh_s:
                fetched = last_due = t
            t += step
        if last_due is not None:
            self._current_forecast(last_due, errors)

    def _next_cycle_at(
        self, now: datetime, forecast: PvForecast | None, hint: float | None
    ) -> datetime:
        """The next read the scheduler plans (respecting the policy's hint), at most
        `max_cycle_interval_s` away, never inside a back-off or a 429 block."""
        s = self.settings
        latest = now + timedelta(seconds=s.max_cycle_interval_s)
        nxt = latest
        self._planned_read_at = None
        if hint != math.inf:
            read_at = self.scheduler.next_read_at(now, self._read_context(now, forecast))
            if hint is not None and self._last_read_at is not None:
                read_at = max(read_at, self._last_read_at + timedelta(seconds=hint))
            self._planned_read_at = read_at
            nxt = min(read_at, latest)
        for wait_until in (self._retry_at, self._blocked_until):
            if wait_until is not None and wait_until > nxt:
                nxt = wait_until
        return max(nxt, now + timedelta(seconds=s.min_cycle_interval_s))
