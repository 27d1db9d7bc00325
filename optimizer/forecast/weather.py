"""Weather forecasts of PV power: the provider port, its call budget and the feed that caches.

A provider (`adapters/weather/`: Open-Meteo, forecast.solar, Solcast) answers one
`fetch` with a `WeatherSeries`: the PV power of the site's configured arrays at
instants (W), and the provider's own low quantile where it has one. The
`WeatherFeed` is the `ForecastSource` the forecaster sees:

- `refresh` (the daemon's background job, `optimizer.background`: a provider may
  take its whole timeout, and Open-Meteo's answer goes through the PV model) asks
  the provider again only when its forecast is older than the provider's
  `refresh_s` and the provider's `CallBudget` (forecast.solar free: 12 calls an
  hour; Solcast hobbyist: 10 a day) has a call left; the calls and the last
  forecast are kept in a `WeatherCache` (on disk at home), so a restart neither
  spends the quota again nor forgets the forecast;
- a failed fetch keeps the last forecast, with ONE log line per outage; a
  forecast older than `max_age_s` is dropped and the forecaster falls back to
  its offline default (clear sky, nowcast, the site's climatology);
- `pv_power` (what the forecaster asks, inside a control cycle) reads the last
  forecast from memory only: it never calls the provider. The refresh thread
  replaces the whole `WeatherSeries` in one assignment, so no lock is needed.

Nothing here imports httpx: providers come in through the port.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from optimizer.forecast.sources import ForecastSource, SourcePower
from optimizer.interfaces import Clock

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

DEFAULT_MAX_AGE_S = 24 * 3600.0
"""A weather forecast older than a day is not trusted: the offline default takes over."""


class WeatherSourceError(RuntimeError):
    """A provider failed (unreachable, 429, garbage, refused key); the message is one line."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WeatherSeries:
    """PV power a provider forecasts for the site's configured arrays.

    `times_s`: increasing epoch seconds (UTC) the values stand for (a period's
    mean is placed at its middle); `central_w` and the optional `pessimistic_w`
    (the provider's p10) in W; `issued_s`: when it was fetched.
    """

    source: str
    issued_s: float
    times_s: FloatArray
    central_w: FloatArray
    pessimistic_w: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.times_s.shape[0]
        if n < 2 or self.central_w.shape[0] != n:
            raise ValueError(f"{self.source}: a forecast needs >= 2 times and as many values")
        if self.pessimistic_w is not None and self.pessimistic_w.shape[0] != n:
            raise ValueError(f"{self.source}: pessimistic values do not match the times")
        if not bool(np.all(np.diff(self.times_s) > 0)):
            raise ValueError(f"{self.source}: forecast times are not increasing")

    def at(self, times_s: FloatArray) -> SourcePower:
        """Linearly interpolated power at `times_s`; NaN outside the forecast's span."""
        outside = (times_s < self.times_s[0]) | (times_s > self.times_s[-1])

        def sample(values: FloatArray) -> FloatArray:
            return np.where(outside, np.nan, np.interp(times_s, self.times_s, values))

        low = None if self.pessimistic_w is None else sample(self.pessimistic_w)
        return SourcePower(sample(self.central_w), low)


class WeatherProvider(Protocol):
    """A weather service that forecasts the site's PV power (an adapter implements it)."""

    @property
    def name(self) -> str:
        """Short name for logs and the cache ("open_meteo")."""
        ...

    @property
    def refresh_s(self) -> float:
        """How old a forecast may get before it is asked again (s)."""
        ...

    @property
    def budget(self) -> CallBudget:
        """The provider's quota: how many calls in what window."""
        ...

    def fetch(self, now_s: float) -> WeatherSeries:
        """Ask the service now; raises `WeatherSourceError` (one line) on any failure.

        Spends its calls on `budget` (a provider may need several calls, one per array).
        """
        ...


@dataclass
class CallBudget:
    """At most `limit` calls in any `window_s` seconds (a sliding window of call times)."""

    limit: int
    window_s: float
    calls: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s <= 0:
            raise ValueError(f"a call budget needs limit >= 1 and window > 0, got {self}")

    def left(self, now_s: float) -> int:
        """Calls still allowed at `now_s`."""
        while self.calls and self.calls[0] <= now_s - self.window_s:
            self.calls.popleft()
        return self.limit - len(self.calls)

    def spend(self, now_s: float, n: int = 1) -> None:
        """Record `n` calls at `now_s`; `WeatherQuotaExceeded` if that would exceed the budget."""
        if self.left(now_s) < n:
            raise WeatherQuotaExceeded(n, self)
        self.calls.extend([now_s] * n)

    def restore(self, times_s: Iterable[float]) -> None:
        """Take back the call times a cache kept (a restart does not spend the quota twice)."""
        self.calls = deque(sorted(times_s))

    def exhaust(self, now_s: float) -> None:
        """The service says its quota is spent (a 429, a rate-limit field): no call this window."""
        missing = self.left(now_s)
        self.calls.extend([now_s] * max(missing, 0))


class WeatherQuotaExceeded(WeatherSourceError):
    """A call was refused here, before the network: the provider's budget is spent."""

    def __init__(self, n: int, budget: CallBudget) -> None:
        window_h = budget.window_s / 3600.0
        super().__init__(
            "quota", f"{n} call(s) refused: {budget.limit} per {window_h:g} h already spent"
        )


class WeatherCache(Protocol):
    """Where a provider's last forecast and its call times survive a restart."""

    def load(self, provider: str) -> tuple[WeatherSeries | None, list[float]]:
        """The last forecast (None: none) and the call times kept for `provider`."""
        ...

    def save(self, provider: str, series: WeatherSeries | None, calls: Iterable[float]) -> None:
        """Keep the forecast and the call times (a failing disk is logged, never raised)."""
        ...


class WeatherFeed(ForecastSource):
    """The `ForecastSource` over a weather provider: refresh, quota, cache, fallback."""

    def __init__(
        self,
        provider: WeatherProvider,
        clock: Clock,
        cache: WeatherCache,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        self.provider = provider
        self._clock = clock
        self._cache = cache
        self._max_age_s = max_age_s
        self._series, calls = cache.load(provider.name)
        provider.budget.restore(calls)
        self._failing = False
        self._next_try_s = -np.inf
        self.label = "weather"
        """What its log lines start with: a fleet's shared feed names the homes it serves."""

    @property
    def series(self) -> WeatherSeries | None:
        """The forecast in use (None: none yet, or too old)."""
        return self._series

    def pv_power(self, times_s: FloatArray) -> SourcePower | None:
        """The last forecast's power at `times_s` (memory only, never a call); None: use the
        offline default (no forecast yet, or older than `max_age_s`)."""
        now_s = self._clock.now().timestamp()
        series = self._series
        if series is None or now_s - series.issued_s > self._max_age_s:
            return None
        return series.at(times_s)

    def refresh(self, now: datetime) -> datetime:
        """Ask the provider when due (the daemon's background job: may block on the network);
        when to come back (UTC): the forecast's next refresh, a retry, or a call freed."""
        now_s = now.timestamp()
        self._refresh(now_s)
        return datetime.fromtimestamp(self._next_due_s(now_s), UTC)

    def _next_due_s(self, now_s: float) -> float:
        series = self._series
        due_s = now_s if series is None else series.issued_s + self.provider.refresh_s
        due_s = max(due_s, self._next_try_s)
        budget = self.provider.budget
        if budget.left(now_s) < 1 and budget.calls:
            due_s = max(due_s, budget.calls[0] + budget.window_s)
        return max(due_s, now_s + 1.0)

    def _refresh(self, now_s: float) -> None:
        series = self._series
        due = series is None or now_s - series.issued_s >= self.provider.refresh_s
        if not due or now_s < self._next_try_s:
            return
        budget = self.provider.budget
        if budget.left(now_s) < 1:
            return
        try:
            fresh = self.provider.fetch(now_s)
        except WeatherSourceError as exc:
            self._on_failure(now_s, exc)
        else:
            self._series = fresh
            if self._failing:
                log.info("%s: %s answers again", self.label, self.provider.name)
            self._failing = False
        self._cache.save(self.provider.name, self._series, budget.calls)

    def _on_failure(self, now_s: float, exc: WeatherSourceError) -> None:
        """Keep the last forecast; one log line per outage; try again after a refresh interval
        (a 429 has exhausted the budget already)."""
        if not self._failing:
            kept = "keeping the last forecast" if self._series is not None else "offline default"
            log.warning("%s: %s (%s)", self.label, exc, kept)
        self._failing = True
        self._next_try_s = now_s + min(self.provider.refresh_s, 3600.0)
