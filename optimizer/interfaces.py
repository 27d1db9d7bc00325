"""The ports of the controller: what it needs from the world, and nothing more.

One controller runs in three worlds (the real V2C cloud, the HTTP simulator, the
in-process backtest). It only ever sees the small interfaces below; adapters in
`adapters/` implement them. Nothing here imports httpx, SQLAlchemy or pandas.

Units inside the product are SI floats: W, Wh, A, V, seconds. Times are
timezone-aware `datetime` in UTC. The adapters convert at the boundary (the
cloud speaks strings in kW).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from optimizer.frozen import quick_init

if TYPE_CHECKING:
    from optimizer.planning.record import PlanRecord

NOMINAL_VOLTAGE_V = 230.0
"""Line-to-neutral voltage used when a charger does not report one (V)."""

MIN_CURRENT_A = 6
"""IEC 61851 minimum AC charging current per phase (A)."""

MAX_CURRENT_A = 32
"""Highest current a Trydan accepts as setpoint (A)."""

QUOTA_DAY = timedelta(days=1)
"""Length of the account's quota day: the cloud counts calls per key and day."""


class ChargeState(IntEnum):
    """`charge_state` of `currentstatecharge`.

    Anything the cloud reports beyond 0..2 is a fault; the raw code is kept in
    `ChargerReading.charge_state_code` so nothing is lost.
    """

    DISCONNECTED = 0
    CONNECTED = 1  # car plugged in, not charging
    CHARGING = 2
    FAULT = -1

    @classmethod
    def from_code(cls, code: int) -> ChargeState:
        """Map a raw cloud code to a state; unknown codes are FAULT, never an error."""
        try:
            state = cls(code)
        except ValueError:
            return cls.FAULT
        return cls.FAULT if state is cls.FAULT else state

    @property
    def plugged_in(self) -> bool:
        """A car is at the charger (charging or not)."""
        return self in (ChargeState.CONNECTED, ChargeState.CHARGING)


class PvMode(IntEnum):
    """`chargefvmode`: how the charger itself follows the sun.

    The Trydan regulates locally in modes 0 and 1 using its own meter, so those
    modes cost no API calls while the sun moves.
    """

    PV_MIN = 0  # PV + minimum power: never below the minimum current, surplus above
    EXCLUSIVE_PV = 1  # exclusive PV: only surplus, stops when it is too low
    MAX_POWER = 2  # maximum power: charges at the setpoint whatever the sun does


@dataclass(frozen=True, slots=True)
class ChargerReading:
    """One `currentstatecharge` answer, in SI units.

    `house_power_w` is the consumption at the grid connection *including the
    car* (the Trydan's clamp sits at the main supply); the household alone is
    `house_power_w - car_power_w`.

    `battery_w` is the home battery's power (W, `battery`): positive while it
    discharges into the home, negative while it charges, 0 without a battery. The
    charger's meter sees the battery as part of the home, so `house_power_w` (and
    `household_w`) are net of it: household + car - battery_w. The household's own
    consumption is `household_w + battery_w` (see `optimizer.cycle.estimate`).
    """

    time: datetime
    device_id: str
    charge_state: ChargeState
    charge_state_code: int
    car_power_w: float
    pv_power_w: float
    house_power_w: float
    current_setpoint_a: float
    phases: int
    voltage_v: float
    session_energy_wh: float
    session_seconds: float
    error_code: int = 0
    pv_regulation_on: bool | None = None  # `photovoltaic_on`
    battery_w: float = 0.0  # `battery`: + discharging, - charging

    @property
    def household_w(self) -> float:
        """Household consumption without the car as the meter sees it (W, net of a home
        battery), never negative."""
        return max(0.0, self.house_power_w - self.car_power_w)

    @property
    def surplus_w(self) -> float:
        """PV power left after the household's own consumption (W, the home battery's
        power taken out of the meter's view: its discharge is not sun); may be negative.
        What the car's draw is counted as solar against in the session records."""
        return self.pv_power_w - max(0.0, self.house_power_w - self.car_power_w + self.battery_w)


@dataclass(frozen=True, slots=True)
class Quota:
    """The account's daily call quota as last reported by the cloud.

    From the `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
    headers; `reset_s` is seconds until the counter resets, when known.
    """

    limit: int
    remaining: int
    reset_s: float | None = None

    def day_anchor(self, at: datetime) -> datetime:
        """An instant inside the quota day this count belongs to, on the clock that read `at`.

        The quota day is the server's: the one ending `reset_s` after the answer
        arrived at `at`. The anchor is that day's middle, 12 h from either edge,
        so a clock minutes (even hours) off the server's still names the day the
        server counted in. Without a usable reset (absent, 0, more than a day)
        the server did not say, and the anchor is `at` itself: the caller's own
        idea of the day boundary decides.
        """
        if self.reset_s is None or not 0 < self.reset_s <= QUOTA_DAY.total_seconds():
            return at
        return at + timedelta(seconds=self.reset_s) - QUOTA_DAY / 2


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One HTTP attempt against the account's quota (retries are separate calls).

    `status` is None when no answer came (timeout, dropped connection): such a
    call may still have been counted by the server, so it counts here too.
    `time` is our clock's, when the attempt ended; `quota` the answer's headers.
    `retry_after_s` is a 429's `Retry-After` (s after `time`; None when it had
    none, then the quota's reset is the wait).
    """

    time: datetime
    device_id: str | None
    endpoint: str
    status: int | None
    latency_s: float
    quota: Quota | None = None
    retry_after_s: float | None = None

    @property
    def quota_day_anchor(self) -> datetime:
        """An instant inside the quota day this call counts in, on our clock.

        The server decides which day a call lands in, not our clock (minutes off
        at home, extrapolated in the demo): when the answer carried
        `RateLimit-Reset`, this is the middle of the day ending at that reset
        (see `Quota.day_anchor`). Without one (no answer at all) it is `time`:
        whoever attributes the call falls back to its own day boundary.
        """
        return self.time if self.quota is None else self.quota.day_anchor(self.time)


CallListener = Callable[[ApiCall], None]
"""Adapters report every attempted call to one of these (the budget's ledger)."""


class ChargerError(Exception):
    """A charger command or read failed; `retryable` says whether a later cycle may retry."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChargerAuthError(ChargerError):
    """The cloud refused the credentials: the daemon must stop, retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class ChargerRateLimited(ChargerError):
    """The daily quota is exhausted (HTTP 429): no call may be made before the reset."""

    def __init__(self, message: str, reset_s: float | None = None) -> None:
        super().__init__(message, retryable=True)
        self.reset_s = reset_s


@runtime_checkable
class Charger(Protocol):
    """One wall charger as the controller sees it.

    Every method is one API call in the cloud worlds; each attempt is reported
    to the adapter's `CallListener`. Methods raise `ChargerError` (or a
    subclass) on failure and never anything transport-specific.
    """

    @property
    def device_id(self) -> str: ...

    def read(self) -> ChargerReading:
        """Read the live state (`currentstatecharge`)."""
        ...

    def set_current(self, amps: int) -> None:
        """Set the charging current setpoint, 6..32 A in whole amps (`intensity`)."""
        ...

    def set_pv_mode(self, mode: PvMode) -> None:
        """Set how the charger follows the sun by itself (`chargefvmode`)."""
        ...

    def start(self) -> None:
        """Start or resume charging (`startcharge`)."""
        ...

    def pause(self) -> None:
        """Pause charging (`pausecharge`)."""
        ...

    @property
    def limits_session_energy(self) -> bool:
        """Whether `limit_session_energy` works on this charger. False by default: a
        charger that does not say so cannot stop a session by itself, and the
        controller stops the car with `pause` (chargers inherit this class for it)."""
        return False

    def limit_session_energy(self, wh: int | None) -> None:
        """Stop the session by itself once its energy counter (`session_energy_wh` of
        the readings, counted from the plug-in) reaches `wh` (Wh, > 0); None lifts the
        limit (`charger_until_energy`). The limit holds for this plug-in session only.

        By default not supported: a `ChargerError`, not retryable.
        """
        raise ChargerError(
            f"{type(self).__name__} cannot limit a session's energy", retryable=False
        )


class Clock(Protocol):
    """Where the controller gets the time: wall clock, simulator clock, or backtest clock."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


@dataclass(frozen=True, slots=True)
class Command:
    """One write the controller sent (or tried to send) to a charger."""

    time: datetime
    device_id: str
    kind: str  # "set_current" | "set_pv_mode" | "start" | "pause" | "limit_energy"
    value: int | None
    ok: bool
    error: str | None = None
    unanswered: bool = False
    """No answer was seen (`ok` is then False): recorded before its call was made
    (`Store.begin_command`) and the call is still running (`error` None), or the process
    ended during it (`error` says so): the charger may or may not have applied it."""


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy wants the charger to do, and why.

    `current_a` is the setpoint in whole amps (ignored when `charging` is
    False); `pv_mode` is the charger's own sun-following mode to use.
    `reason` is a human sentence stored with the decision.
    `import_eur_per_kwh` is the grid import price in force when it was made
    (EUR/kWh, what the policy could see), None when no price was known.
    `energy_cap_wh` asks the charger to stop the session by itself once its session
    energy counter reaches that many Wh (`Charger.limit_session_energy`): a car
    stopped by a reading overshoots by what it drew since; None wants no limit (one
    set before is lifted where it would stop a car the decision wants charging).
    """

    time: datetime
    device_id: str
    policy: str
    charging: bool
    current_a: int
    pv_mode: PvMode
    reason: str
    surplus_w: float | None = None
    details: dict[str, float | str | None] = field(default_factory=dict)
    import_eur_per_kwh: float | None = None
    energy_cap_wh: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One plug-in session, closed or still open (`end` None)."""

    device_id: str
    start: datetime
    end: datetime | None
    energy_wh: float
    solar_wh: float
    grid_wh: float
    cost: float | None = None
    target_wh: float | None = None
    target_met: bool | None = None


class Store(Protocol):
    """Where the controller records what it saw, decided and did.

    Writes are grouped per cycle: `commit()` makes everything since the last
    commit durable, so a crash loses at most the cycle in flight (but for its commands,
    where a store can: `begin_command`).
    """

    def record_call(self, call: ApiCall) -> None: ...

    def record_observation(self, reading: ChargerReading) -> None: ...

    def record_decision(self, decision: Decision) -> None: ...

    def record_command(self, command: Command) -> None:
        """Record a command's outcome; one begun (`begin_command`: same device, time, kind
        and value) has its row completed instead of a second one added."""
        ...

    def begin_command(self, command: Command) -> None:
        """Make `command` (`unanswered`) durable now, before its call is made: a process
        killed between the charger's answer and the next commit still leaves its row, which
        the next daemon's start marks unknown (`Command.unanswered`), so a restart takes a
        session energy limit that may be on the charger as held and the budget counts the
        call.

        By default nothing: `record_command` alone records it (a store that does not
        outlive the process loses nothing by it).
        """
        return None

    def record_session(self, session: SessionRecord) -> None:
        """Insert or update (by device and start) a session."""
        ...

    def calls_between(self, start: datetime, end: datetime) -> list[ApiCall]:
        """The call ledger for a window (the budget rebuilds its day from it on restart)."""
        ...

    def record_setting(self, key: str, value: str) -> None:
        """Keep `value` under `key` across restarts (durable with the next commit): what a
        user chose while the daemon ran, e.g. the policy picked from home."""
        ...

    def setting(self, key: str) -> str | None:
        """The value last kept under `key` (pending or committed); None if never kept."""
        ...

    def open_session(self, device_id: str) -> SessionRecord | None:
        """The device's latest session if it has no end yet (a restarted daemon goes on
        with it rather than opening a second row for the same plug-in)."""
        ...

    def commands_since(self, device_id: str, since: datetime) -> list[Command]:
        """The device's commands recorded at or after `since` (UTC), oldest first, pending
        ones included: what a restarted daemon left on the charger (a session's energy
        limit stays there until the unplug).

        By default none: a store without commands restores nothing, the charger then
        keeps a limit written before the restart until the car leaves.
        """
        return []

    def record_plan(self, plan: PlanRecord) -> None:
        """Keep a new charging plan (durable with the next commit), for `v2c-solar plan`
        and the web's `/api/plan`; called only when a plan's schedule changed.

        By default not kept: a store without plans (stores inherit this class for it)
        loses nothing the control needs, only what `plan` could show.
        """
        return None

    def commit(self) -> None: ...


@quick_init
@dataclass(frozen=True, slots=True)
class PvForecast:
    """PV power expected from `start` on, on a regular grid of `step_s` seconds.

    `central_w` is the best guess, `pessimistic_w` a low quantile (the power
    the sun delivers at least, most of the time; planners that must not miss a
    departure use it). `variability` is 0 for a steady sky and rises towards 1
    with broken clouds. Arrays are numpy float64 of equal length, in W.
    """

    start: datetime
    step_s: float
    central_w: npt.NDArray[np.float64]
    pessimistic_w: npt.NDArray[np.float64]
    clear_sky_w: npt.NDArray[np.float64]
    variability: float

    def __len__(self) -> int:
        return int(self.central_w.shape[0])

    def index_at(self, time: datetime) -> int:
        """Grid index of `time`, clipped to the forecast's range."""
        i = int((time - self.start).total_seconds() // self.step_s)
        return min(max(i, 0), self.central_w.shape[0])

    def energy_wh(self, until: datetime, *, pessimistic: bool = False) -> float:
        """PV energy expected from `start` to `until` (Wh)."""
        series = self.pessimistic_w if pessimistic else self.central_w
        n = self.index_at(until)
        return float(series[:n].sum() * self.step_s / 3600.0)


class Forecaster(Protocol):
    """Knows how much PV power is coming; learns from what the charger's meter saw.

    Implementations inherit it for its defaults.
    """

    @property
    def depends_only_on_observations(self) -> bool:
        """True when `forecast` is a function of the observations so far and the times
        asked, nothing else: a forecast nobody looks at before the next one need not
        be made. By default False (e.g. an external source may change at any time)."""
        return False

    def observe(self, time: datetime, pv_w: float) -> None:
        """Feed one measured PV power sample (W), as irregular as API reads are."""
        ...

    def forecast(self, start: datetime, end: datetime, step_s: float = 60.0) -> PvForecast:
        """Forecast PV power on [start, end) at `step_s` resolution."""
        ...
