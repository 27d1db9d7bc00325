"""Fakes and record factories shared by several test files; no tests live here.

Import them by name (`from tests.conftest import FakeCharger`). Three groups, in order:

* the controller's ports: `FakeClock`, `World`, `FakeCharger`, `FakeStore`,
  `FakeForecaster`, `FakeScheduler`, `flat_forecast` (start at `T0`), `sunny_pv`
  (the budget planner's PV profile), `FakePorts` (all of them, for a rig);
* the V2C cloud's HTTP side: `Recorder` (a recording `httpx.MockTransport` handler),
  `ok` (a 200 answer with RateLimit headers), `make_client` (a `V2CClient` on a recorder);
* stored records: `make_call`, `make_reading`, `make_decision`, `make_command`,
  `make_session` (times count from `STORE_T0`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from adapters.storage.memory import MemoryStore
from adapters.v2c_cloud import V2CClient
from adapters.v2c_cloud.engine import NO_RETRY, RetryPolicy
from optimizer.budget.scheduler import ReadContext, ReadScheduler
from optimizer.interfaces import (
    ApiCall,
    Charger,
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
from optimizer.planning.plan import ChargePlan, PlannedSlot, SlotMode
from optimizer.planning.record import PlanRecord, ReplanReason
from optimizer.policies.base import Policy, PolicyContext, pause
from optimizer.prices.port import PriceSource
from optimizer.prices.series import PriceSeries

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


class FakeCharger(Charger):
    """A charger that obeys commands instantly; `fail_next` makes the next call raise.

    It has the port's defaults (no session energy limit)."""

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


class FakeStore(MemoryStore):
    """A `MemoryStore` that counts commits and keeps every session record in the order
    written (`session_writes`: an open session, then its update at unplug)."""

    def __init__(self) -> None:
        super().__init__()
        self.session_writes: list[SessionRecord] = []
        self.commits = 0

    def record_session(self, session: SessionRecord) -> None:
        super().record_session(session)
        self.session_writes.append(session)

    def commit(self) -> None:
        self.commits += 1


class BarePolicy(Policy):
    """A policy that declares nothing optional (the port's defaults): it pauses, as `name`."""

    def __init__(self, name: str = "bare") -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def decide(self, ctx: PolicyContext) -> Decision:
        return pause(ctx, self.name, self.name)


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


class SeriesPrices(PriceSource):
    """A price source that answers from one fixed series (EUR/kWh), all of it known."""

    def __init__(self, series: PriceSeries) -> None:
        self.series = series

    @property
    def name(self) -> str:
        return "test"

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        return self.series.window(start, end)


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


def sunny_pv(t: datetime) -> float:
    """A clear-sky-shaped PV curve: 5 kW peak at 12:00 UTC, sun from 06:00 to 18:00 (W).

    The budget planner's `pv_profile` in tests (the wiring passes the site's clear sky).
    """
    h = t.hour + t.minute / 60 + t.second / 3600
    return 5000.0 * math.sin(math.pi * (h - 6) / 12) if 6 < h < 18 else 0.0


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
        if call.quota is not None:  # the contract: a call's quota is taken in with it
            self.quotas.append(call.quota)

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


class FakePorts:
    """One charger's fake ports on one fake clock, for a test rig to build stages on.

    `clock`, `world`, `charger`, `store`, `forecaster` and `scheduler` (reading
    every `interval_s` unless a `scheduler` is given); a rig subclasses it.
    """

    def __init__(
        self,
        *,
        world: World | None = None,
        interval_s: float = 60.0,
        scheduler: FakeScheduler | None = None,
        forecaster: FakeForecaster | None = None,
    ) -> None:
        self.clock = FakeClock()
        self.world = world or World()
        self.charger = FakeCharger(self.clock, self.world)
        self.store = FakeStore()
        self.forecaster = forecaster or FakeForecaster()
        self.scheduler = scheduler or FakeScheduler(interval_s)


# The V2C cloud's HTTP side.

API_KEY = "k3y-VERY-secret-1234"
BASE = "https://v2c.test/kong/v2c_service"
QUOTA_HEADERS = {"RateLimit-Limit": "1000", "RateLimit-Remaining": "987", "RateLimit-Reset": "3600"}


@dataclass
class Recorder:
    """A handler that records requests and answers from a queue (last answer repeats)."""

    answers: list[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]] = field(
        default_factory=list
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    @property
    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/kong/v2c_service") for r in self.requests]


def ok(body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    payload = {"message": "Command executed successfully"} if body is None else body
    return httpx.Response(
        200, content=json.dumps(payload), headers={**QUOTA_HEADERS, **(headers or {})}
    )


def make_client(
    recorder: Recorder,
    *,
    retry: RetryPolicy = NO_RETRY,
    sleeps: list[float] | None = None,
    **kwargs: Any,
) -> V2CClient:
    sink = sleeps if sleeps is not None else []
    return V2CClient(
        API_KEY,
        base_url=BASE,
        transport=httpx.MockTransport(recorder),
        retry=retry,
        sleep=sink.append,
        **kwargs,
    )


# Stored records.

STORE_T0 = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)


def make_call(minute: int, *, endpoint: str = "device/currentstatecharge", n: int = 0) -> ApiCall:
    """A successful read `minute` minutes after STORE_T0, quota counting down from 1000."""
    return ApiCall(
        time=STORE_T0 + timedelta(minutes=minute),
        device_id="dev-1",
        endpoint=endpoint,
        status=200,
        latency_s=0.25 + minute / 1000,
        quota=Quota(limit=1000, remaining=999 - n, reset_s=3600.0 * 12),
    )


def make_reading(minute: int, device_id: str = "dev-1", pv_w: float = 3000.0) -> ChargerReading:
    return ChargerReading(
        time=STORE_T0 + timedelta(minutes=minute),
        device_id=device_id,
        charge_state=ChargeState.CHARGING,
        charge_state_code=2,
        car_power_w=1380.0,
        pv_power_w=pv_w,
        house_power_w=1900.5,
        current_setpoint_a=6.0,
        phases=1,
        voltage_v=229.7,
        session_energy_wh=512.25,
        session_seconds=1800.0,
        error_code=0,
        pv_regulation_on=True,
    )


def make_decision(minute: int) -> Decision:
    return Decision(
        time=STORE_T0 + timedelta(minutes=minute),
        device_id="dev-1",
        policy="solar_only",
        charging=True,
        current_a=8,
        pv_mode=PvMode.EXCLUSIVE_PV,
        reason="surplus 1900 W covers 8 A for 120 s",
        surplus_w=1900.0,
        details={"window_min_w": 1850.0, "note": "steady", "missing": None},
        energy_cap_wh=3000,
    )


def make_command(minute: int) -> Command:
    return Command(STORE_T0 + timedelta(minutes=minute), "dev-1", "set_current", 8, True, None)


def make_session(device_id: str = "dev-1", hour: int = 0, **changes: object) -> SessionRecord:
    values: dict[str, object] = {
        "device_id": device_id,
        "start": STORE_T0 + timedelta(hours=hour),
        "end": STORE_T0 + timedelta(hours=hour + 3),
        "energy_wh": 7400.0,
        "solar_wh": 6100.0,
        "grid_wh": 1300.0,
        "cost": 0.39,
        "target_wh": 7000.0,
        "target_met": True,
    }
    values.update(changes)
    return SessionRecord(**values)  # type: ignore[arg-type]


def make_plan(
    minute: int = 0,
    device_id: str = "dev-1",
    *,
    modes: tuple[str, ...] = ("off", "solar", "fixed", "fixed"),
    reason: str = "plug-in",
    amps: float = 16.0,
) -> PlanRecord:
    """A stored plan made `minute` after `STORE_T0`: 15-minute slots in `modes`, departure
    at its end; fixed slots at `amps` (230 V, one phase), solar slots 1 kW of sun."""
    start = STORE_T0 + timedelta(minutes=minute)
    slots = []
    for i, name in enumerate(modes):
        mode = SlotMode(name)
        power = {"off": 0.0, "solar": 1000.0, "fixed": amps * 230.0}[name]
        grid = power / 4 if mode is SlotMode.FIXED else 0.0
        solar = power / 4 if mode is SlotMode.SOLAR else 0.0
        price = 0.10 + 0.05 * i
        slots.append(
            PlannedSlot(
                start=start + timedelta(minutes=15 * i),
                mode=mode,
                power_w=power,
                current_a=amps if mode is SlotMode.FIXED else power / 230.0,
                from_grid_wh=grid,
                from_solar_wh=solar,
                import_eur_per_kwh=price,
                export_eur_per_kwh=0.05,
                cost_eur=grid / 1000 * price + solar / 1000 * 0.05,
                command=i == 0 or modes[i - 1] != name,
                switch=(modes[i - 1] == "off") != (name == "off") if i else False,
                reason=f"slot {i}: {name}",
            )
        )
    plan = ChargePlan(start, 900.0, tuple(slots), 5000.0, 0.0, 1.23, "optimal", 0.02)
    return PlanRecord(device_id, start, ReplanReason(reason), plan.end, plan)
