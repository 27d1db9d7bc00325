"""Small deterministic fakes of the controller's ports, shared by the controller tests.

(Named test_controller_* so it sits with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from optimizer.budget.scheduler import ReadContext, ReadScheduler
from optimizer.interfaces import (
    ApiCall,
    ChargerError,
    ChargerReading,
    ChargeState,
    Command,
    Decision,
    Forecaster,
    PvForecast,
    PvMode,
    Quota,
    SessionRecord,
)

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


class FakeClock:
    """A clock moved by the test."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@dataclass
class World:
    """What the fake charger reports: PV, household (without car), plug state."""

    pv_w: float = 3000.0
    household_w: float = 500.0
    plugged: bool = True


class FakeCharger:
    """A charger that obeys commands instantly; `fail_next` makes the next call raise."""

    def __init__(self, clock: FakeClock, world: World, device_id: str = "dev1") -> None:
        self.clock = clock
        self.world = world
        self._device_id = device_id
        self.calls: list[tuple[str, object]] = []
        self.setpoint = 16
        self.mode = PvMode.MAX_POWER
        self.running = True
        self.energy_wh = 0.0
        self.fail_next: ChargerError | None = None

    @property
    def device_id(self) -> str:
        return self._device_id

    def _call(self, name: str, value: object = None) -> None:
        self.calls.append((name, value))
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc

    @property
    def car_power_w(self) -> float:
        if not (self.world.plugged and self.running):
            return 0.0
        return self.setpoint * 230.0

    def read(self) -> ChargerReading:
        self._call("read")
        w = self.world
        state = ChargeState.DISCONNECTED
        if w.plugged:
            state = ChargeState.CHARGING if self.running else ChargeState.CONNECTED
        car = self.car_power_w
        return ChargerReading(
            time=self.clock.now(),
            device_id=self.device_id,
            charge_state=state,
            charge_state_code=int(state),
            car_power_w=car,
            pv_power_w=w.pv_w,
            house_power_w=w.household_w + car,
            current_setpoint_a=float(self.setpoint),
            phases=1,
            voltage_v=230.0,
            session_energy_wh=self.energy_wh if w.plugged else 0.0,
            session_seconds=0.0,
        )

    def set_current(self, amps: int) -> None:
        self._call("set_current", amps)
        self.setpoint = amps

    def set_pv_mode(self, mode: PvMode) -> None:
        self._call("set_pv_mode", mode)
        self.mode = mode

    def start(self) -> None:
        self._call("start")
        self.running = True

    def pause(self) -> None:
        self._call("pause")
        self.running = False

    def writes(self) -> list[tuple[str, object]]:
        return [c for c in self.calls if c[0] != "read"]

    def reads(self) -> int:
        return sum(1 for c in self.calls if c[0] == "read")


@dataclass
class FakeStore:
    """Lists of everything recorded; counts commits."""

    calls: list[ApiCall] = field(default_factory=list)
    observations: list[ChargerReading] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    commits: int = 0

    def record_call(self, call: ApiCall) -> None:
        self.calls.append(call)

    def record_observation(self, reading: ChargerReading) -> None:
        self.observations.append(reading)

    def record_decision(self, decision: Decision) -> None:
        self.decisions.append(decision)

    def record_command(self, command: Command) -> None:
        self.commands.append(command)

    def record_session(self, session: SessionRecord) -> None:
        self.sessions.append(session)

    def calls_between(self, start: datetime, end: datetime) -> list[ApiCall]:
        return [c for c in self.calls if start <= c.time < end]

    def commit(self) -> None:
        self.commits += 1


def flat_forecast(
    start: datetime,
    n: int,
    step_s: float = 300.0,
    central: float = 3000.0,
    pessimistic: float | None = None,
    clear_sky: float | None = None,
    variability: float = 0.5,
) -> PvForecast:
    """A forecast with constant series (W)."""
    return PvForecast(
        start=start,
        step_s=step_s,
        central_w=np.full(n, central),
        pessimistic_w=np.full(n, central if pessimistic is None else pessimistic),
        clear_sky_w=np.full(n, central if clear_sky is None else clear_sky),
        variability=variability,
    )


class FakeForecaster(Forecaster):
    """A flat forecast of `central` W; `clear_sky` may be a function of time; counts requests."""

    def __init__(self, central: float = 3000.0, variability: float = 0.5) -> None:
        self.central = central
        self.variability = variability
        self.clear_sky_slope_w_per_step = 0.0
        self.observed: list[tuple[datetime, float]] = []
        self.requests = 0
        self.fail = False

    def observe(self, time: datetime, pv_w: float) -> None:
        self.observed.append((time, pv_w))

    def forecast(self, start: datetime, end: datetime, step_s: float = 60.0) -> PvForecast:
        self.requests += 1
        if self.fail:
            raise RuntimeError("no weather data")
        n = int((end - start).total_seconds() // step_s)
        fc = flat_forecast(start, n, step_s, self.central, variability=self.variability)
        slope = self.clear_sky_slope_w_per_step
        if slope:
            fc.clear_sky_w[:] = self.central + slope * np.arange(n)
        return fc


class FakeScheduler(ReadScheduler):
    """Reads every `interval_s`; writes allowed while `writes_left` > 0."""

    def __init__(self, interval_s: float = 60.0, writes_left: int = 1000) -> None:
        self.interval_s = interval_s
        self.writes_left = writes_left
        self.out = False
        self.recorded: list[ApiCall] = []
        self.quotas: list[Quota] = []

    def record_call(self, call: ApiCall) -> None:
        self.recorded.append(call)

    def observe_quota(self, quota: Quota, at: datetime) -> None:
        self.quotas.append(quota)

    def read_due(self, now: datetime, ctx: ReadContext) -> bool:
        last = ctx.last_read
        return last is None or (now - last).total_seconds() >= self.interval_s

    def next_read_at(self, now: datetime, ctx: ReadContext) -> datetime:
        if ctx.last_read is None:
            return now
        return max(now, ctx.last_read + timedelta(seconds=self.interval_s))

    def can_write(self, now: datetime, n: int = 1) -> bool:
        return self.writes_left >= n

    def nearly_out(self, now: datetime) -> bool:
        return self.out

    def remaining(self, now: datetime) -> int:
        return self.writes_left

    def spent(self, now: datetime) -> int:
        return len(self.recorded)
