"""The world as a `Charger` in-process: what backtests run the real controller against.

`WorldCharger` does what the cloud adapter does, without HTTP: each method
first advances the world to the clock's time, then reads or commands the
simulated Trydan, and reports exactly one `ApiCall` with the cloud adapter's
endpoint name, so the budget ledger counts calls exactly as the daemon does.
The simulator's quota model (`adapters.simulator.quota`) stands in for the
cloud's (reset at UTC midnight); past the limit a call raises
`ChargerRateLimited` and is reported as 429.

The cloud counts calls per account (API key), not per charger: every
`WorldCharger` of one account must share one `DailyQuota` (`account_quota`,
or `WorldCharger.for_account` for all chargers of a world), so call 1001 of the
day is refused whichever charger makes it and every charger reports the
account's remaining count, as the HTTP simulator does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from adapters.simulator.quota import DEFAULT_DAILY_LIMIT, DailyQuota, seconds_to_utc_midnight
from adapters.simulator.world.world import World
from optimizer.interfaces import (
    ApiCall,
    CallListener,
    Charger,
    ChargerError,
    ChargerRateLimited,
    ChargerReading,
    Clock,
    PvMode,
    Quota,
)

__all__ = ["DEFAULT_DAILY_LIMIT", "SimClock", "WorldCharger", "account_quota"]

ACCOUNT = "account"
"""The quota key of the in-process chargers' account."""

UNLIMITED_CALLS = sys.maxsize
"""The limit of an unlimited account: attempts are still counted, no run reaches it."""


def account_quota(daily_limit: int | None = DEFAULT_DAILY_LIMIT) -> DailyQuota:
    """A fresh call counter for one account, to share among its `WorldCharger`s.

    `daily_limit` is calls per UTC day (None: unlimited, nothing refused).
    """
    if daily_limit is not None and daily_limit < 0:
        raise ValueError(f"daily_limit must be >= 0 or None, got {daily_limit}")
    return DailyQuota(_calls_limit(daily_limit))


def _calls_limit(daily_limit: int | None) -> int:
    """The `DailyQuota` limit of `daily_limit` (None: unlimited)."""
    return daily_limit if daily_limit is not None else UNLIMITED_CALLS


class SimClock:
    """A `Clock` over simulated time that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = self._aware(start)

    @staticmethod
    def _aware(t: datetime) -> datetime:
        if t.tzinfo is None:
            raise ValueError(f"SimClock needs a tz-aware time, got {t.isoformat()}")
        return t.astimezone(UTC)

    def now(self) -> datetime:
        """Current simulated time (tz-aware UTC)."""
        return self._now

    def set(self, t: datetime) -> None:
        """Jump to `t` (backwards too: the caller owns the clock)."""
        self._now = self._aware(t)

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds` (>= 0)."""
        if not seconds >= 0:
            raise ValueError(f"SimClock.advance needs seconds >= 0, got {seconds!r}")
        self._now = self._now + timedelta(seconds=seconds)


class WorldCharger(Charger):
    """One simulated Trydan as an `optimizer.interfaces.Charger`, with call accounting.

    `quota` is the account's call counter (`account_quota(daily_limit)`), shared by
    every charger of the account; None gives this charger an account of its own.
    `daily_limit` must match a shared quota's limit (None for an unlimited one):
    with None nothing is refused and no `Quota` is reported, as an unconstrained
    loop would see.
    """

    def __init__(
        self,
        world: World,
        device_id: str,
        clock: Clock,
        on_call: CallListener | None = None,
        daily_limit: int | None = DEFAULT_DAILY_LIMIT,
        *,
        quota: DailyQuota | None = None,
    ) -> None:
        if quota is None:
            quota = account_quota(daily_limit)
        elif quota.limit != _calls_limit(daily_limit):
            raise ValueError(
                f"daily_limit {daily_limit} does not match the shared account quota's "
                f"limit {quota.limit}; build it with account_quota(daily_limit)"
            )
        self._world = world
        self._sim = world.charger(device_id)
        self._device_id = device_id
        self._clock = clock
        self._on_call = on_call
        self._quota = quota

    @classmethod
    def for_account(
        cls,
        world: World,
        clock: Clock,
        on_call: CallListener | None = None,
        daily_limit: int | None = DEFAULT_DAILY_LIMIT,
        device_ids: Sequence[str] | None = None,
    ) -> dict[str, WorldCharger]:
        """One charger per device of `world` (or `device_ids`), all on one account's quota."""
        quota = account_quota(daily_limit)
        ids = world.device_ids if device_ids is None else device_ids
        return {d: cls(world, d, clock, on_call, daily_limit, quota=quota) for d in ids}

    @property
    def device_id(self) -> str:
        """The simulated device's id."""
        return self._device_id

    @property
    def calls_today(self) -> int:
        """The account's calls in the current UTC day, refused ones included.

        Shared by every charger of the account: not this charger's own share.
        """
        return self._quota.attempts(ACCOUNT, self._clock.now())

    def _call(self, endpoint: str) -> None:
        """Advance the world, count the call, report it; raise when over the quota."""
        now = self._clock.now()
        self._world.advance_to(now)
        state = self._quota.consume(ACCOUNT, now)
        refused = not state.allowed
        quota = (
            None
            if self._quota.limit == UNLIMITED_CALLS
            else Quota(state.limit, state.remaining, seconds_to_utc_midnight(now))
        )
        if self._on_call is not None:
            self._on_call(
                ApiCall(
                    time=now,
                    device_id=self._device_id,
                    endpoint=endpoint,
                    status=429 if refused else 200,
                    latency_s=0.0,
                    quota=quota,
                )
            )
        if refused:
            raise ChargerRateLimited(
                f"daily quota of {state.limit} calls exhausted ({endpoint})",
                reset_s=quota.reset_s if quota else None,
            )

    def read(self) -> ChargerReading:
        """`currentstatecharge`: the live reading, stamped with the clock's time.

        The cloud's answer carries no time: `CloudCharger` stamps it when it
        arrives, so this does too (the world's last step started up to a step
        earlier), and the forecaster sees the same observations in both worlds.
        """
        self._call("currentstatecharge")
        return self._sim.reading(at=self._clock.now())

    def _write(self, endpoint: str, change: Callable[[], None]) -> None:
        """Make the call, then the change; a value the charger refuses (its ValueError)
        is a `ChargerError`, not retryable."""
        self._call(endpoint)
        try:
            change()
        except ValueError as exc:
            raise ChargerError(str(exc), retryable=False) from None

    def set_current(self, amps: int) -> None:
        """`intensity`: setpoint 6..32 whole amps (ChargerError, not retryable, otherwise)."""
        self._write("intensity", lambda: self._sim.set_intensity(amps))

    def set_pv_mode(self, mode: PvMode) -> None:
        """`chargefvmode`: how the charger follows the sun by itself."""
        self._write("chargefvmode", lambda: self._sim.set_pv_mode(mode))

    def start(self) -> None:
        """`startcharge`."""
        self._write("startcharge", self._sim.start)

    def pause(self) -> None:
        """`pausecharge`."""
        self._write("pausecharge", self._sim.pause)

    @property
    def limits_session_energy(self) -> bool:
        """The simulated Trydan stops a session at an energy limit."""
        return True

    def limit_session_energy(self, wh: int | None) -> None:
        """`charger_until_energy`: stop the session at `wh` (Wh) of it; None lifts it."""
        sim = self._sim
        if wh is None:
            self._write("charger_until_energy", sim.lift_energy_limit)
        else:
            self._write("charger_until_energy", lambda: sim.charge_until_energy(wh))
