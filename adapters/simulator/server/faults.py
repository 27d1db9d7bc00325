"""Fault injection: the ways the real cloud misbehaves, each off by default.

`FaultConfig` says what to inject; `FaultInjector` draws, per request, from one
seeded random generator so a run is reproducible for a given seed and call
sequence. The kinds, in the order the simulator applies them:

- outage window: every API call whose simulated time is in [start, end) gets a
  503 before authentication (the gateway is down, nothing is counted);
- throttle window (`throttle_start`/`throttle_end`): after authentication,
  every API call in [start, end) gets a 429 with an empty body, not counted
  against the daily limit (a gateway rate limit, not the daily quota). With
  `throttle_retry_after` (the default) it carries `Retry-After`: the whole
  simulated seconds to the window's end; without it only the `RateLimit-*`
  headers, whose `RateLimit-Reset` is the daily reset. `throttled` counts them;
- key revocation: from `revoke_keys_at` (simulated) on, or from when
  `POST /sim/revoke` asked for it, every configured key is refused with 401
  (the user revoked the key in the V2C app);
- offline charger (`offline`, windows per device, `DEVICE@START/END` on the
  command line): the cloud is up but the charger is not connected to it.
  `device/connected` answers false; every other operation naming that device
  answers 504 {"message": "device ... is not connected"} (the cloud waited for
  the charger in vain; a 5xx, so clients retry reads as for any gateway
  failure), except `stadistic/device`, which the cloud answers from its own
  history. The call is counted like any other. The world keeps running: the
  charger goes on charging with its last settings. V2C documents nothing
  about an offline charger; the status is our choice;
- connection drop (probability `drop_rate`): the socket is closed without any
  HTTP response;
- timeout (probability `timeout_rate`): the request is held `timeout_s` wall
  seconds, then the socket is closed without a response;
- server error (probability `error_rate`): a 5xx from `error_statuses`;
- malformed body (probability `malformed_rate`): a 200 whose JSON body is cut;
- latency: `latency_s` wall seconds added to every API answer.

Drops, timeouts, errors and malformed bodies happen after the quota has
counted the call: the gateway had already let it through.
"""

from __future__ import annotations

import enum
import random
import threading
from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


def _aware_time(t: datetime | None) -> datetime | None:
    if t is not None and t.tzinfo is None:
        raise ValueError(f"time must be timezone-aware (UTC), got naive {t.isoformat()}")
    return t


class OfflineWindow(BaseModel):
    """Charger `device_id` is not connected to the cloud during [start, end) (simulated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, pattern=r"^\S+$")
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, t: datetime) -> datetime | None:
        return _aware_time(t)

    @model_validator(mode="after")
    def _is_a_window(self) -> OfflineWindow:
        if self.end <= self.start:
            raise ValueError(f"offline end {self.end.isoformat()} must be after the start")
        return self

    @classmethod
    def parse(cls, text: str) -> OfflineWindow:
        """`DEVICE_ID@START/END`, both times ISO 8601 with an offset; ValueError otherwise."""
        device_id, at, window = text.partition("@")
        start, slash, end = window.partition("/")
        if not (at and slash and device_id and start and end):
            raise ValueError(f"expected DEVICE_ID@START/END (ISO 8601 times), got {text!r}")
        try:
            return cls(
                device_id=device_id,
                start=datetime.fromisoformat(start),
                end=datetime.fromisoformat(end),
            )
        except ValidationError as exc:
            raise ValueError(f"{text!r}: {exc.errors()[0]['msg']}") from None
        except ValueError:
            raise ValueError(f"{text!r}: START and END must be ISO 8601 times") from None

    def covers(self, device_id: str, now: datetime) -> bool:
        """`device_id` is offline at simulated time `now` by this window."""
        return device_id == self.device_id and self.start <= now < self.end


def _check_window(name: str, start: datetime | None, end: datetime | None) -> None:
    """`{name}_start` and `{name}_end` come together, the end after the start."""
    if (start is None) != (end is None):
        raise ValueError(f"{name}_start and {name}_end must be given together")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"{name}_end {end.isoformat()} must be after {start.isoformat()}")


class FaultConfig(BaseModel):
    """What to inject; everything off by default. Rates are probabilities per call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_statuses: tuple[int, ...] = (500, 502, 503)
    latency_s: float = Field(default=0.0, ge=0.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_s: float = Field(default=30.0, ge=0.0)
    malformed_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    outage_start: datetime | None = None
    outage_end: datetime | None = None
    throttle_start: datetime | None = None
    throttle_end: datetime | None = None
    throttle_retry_after: bool = True
    revoke_keys_at: datetime | None = None
    offline: tuple[OfflineWindow, ...] = ()
    seed: int = 0

    @field_validator("error_statuses")
    @classmethod
    def _statuses_are_5xx(cls, statuses: tuple[int, ...]) -> tuple[int, ...]:
        if not statuses or any(not 500 <= s <= 599 for s in statuses):
            raise ValueError(f"error_statuses must be non-empty 5xx codes, got {statuses!r}")
        return statuses

    @field_validator(
        "outage_start", "outage_end", "throttle_start", "throttle_end", "revoke_keys_at"
    )
    @classmethod
    def _aware(cls, t: datetime | None) -> datetime | None:
        return _aware_time(t)

    @model_validator(mode="after")
    def _windows_and_rates(self) -> FaultConfig:
        _check_window("outage", self.outage_start, self.outage_end)
        _check_window("throttle", self.throttle_start, self.throttle_end)
        total = self.error_rate + self.timeout_rate + self.malformed_rate + self.drop_rate
        if total > 1.0:
            raise ValueError(f"fault rates add up to {total:g}, more than 1")
        return self


class Fault(enum.Enum):
    """What happens to one counted call."""

    NONE = "none"
    DROP = "drop"
    TIMEOUT = "timeout"
    ERROR = "error"
    MALFORMED = "malformed"


class FaultInjector:
    """Draws the fault of each call from a seeded generator; thread-safe."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self.throttled = 0
        """429s answered in the throttle window."""
        self.revoked_at = self.config.revoke_keys_at
        """Simulated time from which every key is refused: the config's `revoke_keys_at`,
        or earlier when `revoke_keys` was told so (`POST /sim/revoke`)."""

    def rng_state(self) -> object:
        """The state of the draws' generator (a restarted simulator goes on with it)."""
        with self._lock:
            return self._rng.getstate()

    def set_rng_state(self, state: object) -> None:
        """Go on with the draws of a saved `rng_state`."""
        with self._lock:
            self._rng.setstate(state)  # type: ignore[arg-type]

    def in_outage(self, now: datetime) -> bool:
        """The gateway is down at simulated time `now`."""
        start, end = self.config.outage_start, self.config.outage_end
        return start is not None and end is not None and start <= now < end

    def throttle(self, now: datetime) -> float | None:
        """Seconds to the throttle window's end when `now` is in it (counted as one
        429 answered), else None."""
        start, end = self.config.throttle_start, self.config.throttle_end
        if start is None or end is None or not start <= now < end:
            return None
        with self._lock:
            self.throttled += 1
        return (end - now).total_seconds()

    def device_offline(self, device_id: str, now: datetime) -> bool:
        """Charger `device_id` is not connected to the cloud at simulated time `now`."""
        return any(w.covers(device_id, now) for w in self.config.offline)

    def keys_revoked(self, now: datetime) -> bool:
        """Every configured key has been revoked by simulated time `now`."""
        at = self.revoked_at
        return at is not None and now >= at

    def revoke_keys(self, at: datetime) -> None:
        """Revoke every key from simulated time `at` on (an earlier revocation stands)."""
        if self.revoked_at is None or at < self.revoked_at:
            self.revoked_at = at

    def draw(self) -> tuple[Fault, int]:
        """The fault for the next counted call, and the 5xx status if it is an ERROR.

        One uniform draw picks among the kinds by their rates, so the rates are
        exact marginal probabilities and the sequence depends only on the seed.
        """
        c = self.config
        with self._lock:
            u = self._rng.random()
            status = self._rng.choice(c.error_statuses)
        for fault, rate in (
            (Fault.DROP, c.drop_rate),
            (Fault.TIMEOUT, c.timeout_rate),
            (Fault.ERROR, c.error_rate),
            (Fault.MALFORMED, c.malformed_rate),
        ):
            if u < rate:
                return fault, status
            u -= rate
        return Fault.NONE, status


def malform(body: bytes) -> bytes:
    """A JSON body cut in half and ended by `<` (as if an HTML error page began).

    The cut mimics a truncated transfer; the `<` guarantees the result is never
    accidentally valid (half of `123456` is `123`): JSON allows `<` only inside
    a string, and a text ending in it leaves that string unterminated.
    """
    return body[: len(body) // 2] + b"<"
