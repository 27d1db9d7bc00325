"""`PriceSeries`: what grid energy costs and earns, interval by interval (EUR/kWh, UTC).

A series is a run of equal, back-to-back intervals (15 minutes or an hour, as
the market publishes), each with an import price (what a kWh from the grid
costs) and an export price (what a kWh fed in earns; None where nobody said).
Prices may be negative (day-ahead markets go below zero on sunny holidays).
The series is checked when it is made: UTC-aware starts, no gap, no
duplicate, finite numbers, so every consumer can index it without checks.
`source` says where the numbers came from (provider, URL or file, fetch time).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

SUPPORTED_INTERVALS = (timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1))
"""Interval lengths markets publish: 15 minutes (EPEX since 2025), 30 and 60 minutes."""


class PriceSeriesError(ValueError):
    """Prices that cannot form a series; the message is one line saying what and where."""


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """One interval [start, end) with its prices (EUR/kWh)."""

    start: datetime
    end: datetime
    import_eur_per_kwh: float
    export_eur_per_kwh: float | None


@dataclass(frozen=True)
class PriceSeries:
    """Back-to-back intervals of `interval` from `starts[0]`, with their prices (EUR/kWh).

    `exports` is None when the source has no export price; otherwise it has one
    value per interval.
    """

    starts: tuple[datetime, ...]
    imports: tuple[float, ...]
    interval: timedelta
    exports: tuple[float, ...] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        check_series(self.starts, self.imports, self.exports, self.interval)

    @classmethod
    def from_slots(
        cls,
        starts: Sequence[datetime],
        imports: Sequence[float],
        exports: Sequence[float] | None = None,
        *,
        interval: timedelta | None = None,
        source: str = "",
    ) -> PriceSeries:
        """A series from parallel lists; `interval` None infers it from the first two starts."""
        step = interval if interval is not None else infer_interval(starts)
        return cls(
            starts=tuple(s.astimezone(UTC) for s in starts),
            imports=tuple(float(v) for v in imports),
            interval=step,
            exports=None if exports is None else tuple(float(v) for v in exports),
            source=source,
        )

    @classmethod
    def empty(cls, interval: timedelta = timedelta(hours=1), source: str = "") -> PriceSeries:
        """No prices at all (a provider that has nothing yet)."""
        return cls(starts=(), imports=(), interval=interval, exports=None, source=source)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def start(self) -> datetime | None:
        """Start of the first interval, None when empty."""
        return self.starts[0] if self.starts else None

    @property
    def end(self) -> datetime | None:
        """End of the last interval (exclusive), None when empty."""
        return self.starts[-1] + self.interval if self.starts else None

    def slots(self) -> Iterable[PriceSlot]:
        """Every interval with its prices, in time order."""
        for i, start in enumerate(self.starts):
            yield self._slot(i, start)

    def _slot(self, i: int, start: datetime) -> PriceSlot:
        export = None if self.exports is None else self.exports[i]
        return PriceSlot(start, start + self.interval, self.imports[i], export)

    def index_of(self, when: datetime) -> int | None:
        """Index of the interval holding `when`, None outside the series."""
        i = bisect_right(self.starts, when.astimezone(UTC)) - 1
        if i < 0 or when >= self.starts[i] + self.interval:
            return None
        return i

    def at(self, when: datetime) -> PriceSlot | None:
        """The interval in force at `when` (None where the series knows nothing)."""
        i = self.index_of(when)
        return None if i is None else self._slot(i, self.starts[i])

    def window(self, start: datetime, end: datetime) -> PriceSeries:
        """The intervals that overlap [start, end), same source."""
        lo = bisect_right(self.starts, start.astimezone(UTC)) - 1
        lo = max(lo, 0)
        if lo < len(self.starts) and self.starts[lo] + self.interval <= start:
            lo += 1
        hi = lo
        while hi < len(self.starts) and self.starts[hi] < end:
            hi += 1
        exports = None if self.exports is None else self.exports[lo:hi]
        return replace(
            self, starts=self.starts[lo:hi], imports=self.imports[lo:hi], exports=exports
        )

    def with_exports(
        self, exports: Sequence[float] | None, source: str | None = None
    ) -> PriceSeries:
        """The same intervals with `exports` as export prices (one per interval, or None)."""
        values = None if exports is None else tuple(float(v) for v in exports)
        return replace(self, exports=values, source=self.source if source is None else source)

    def map_imports(self, convert: Callable[[float], float], source: str) -> PriceSeries:
        """The same intervals with `convert` applied to each import price."""
        return replace(self, imports=tuple(convert(v) for v in self.imports), source=source)


def concat(parts: Sequence[PriceSeries], source: str | None = None) -> PriceSeries:
    """Back-to-back series joined into one (same interval, none overlapping, no gap).

    Empty parts are skipped; all parts must have exports or none. `source`
    None joins the parts' sources with "; ".
    """
    filled = [p for p in parts if len(p)]
    if not filled:
        return PriceSeries.empty(parts[0].interval if parts else timedelta(hours=1))
    has_exports = {p.exports is not None for p in filled}
    starts = tuple(s for p in filled for s in p.starts)
    imports = tuple(v for p in filled for v in p.imports)
    exports = tuple(v for p in filled for v in p.exports or ()) if has_exports == {True} else None
    joined = "; ".join(dict.fromkeys(p.source for p in filled if p.source))
    return PriceSeries(
        starts, imports, filled[0].interval, exports, joined if source is None else source
    )


def infer_interval(starts: Sequence[datetime]) -> timedelta:
    """The interval between the first two starts (an hour for a single start)."""
    if len(starts) < 2:
        return timedelta(hours=1)
    return starts[1] - starts[0]


def check_series(
    starts: Sequence[datetime],
    imports: Sequence[float],
    exports: Sequence[float] | None,
    interval: timedelta,
) -> None:
    """Raise `PriceSeriesError` unless the starts are UTC-aware, back to back and finite."""
    if interval not in SUPPORTED_INTERVALS:
        raise PriceSeriesError(
            f"interval {interval} is not one of 15 min, 30 min, 1 h (got {interval})"
        )
    if len(imports) != len(starts) or (exports is not None and len(exports) != len(starts)):
        raise PriceSeriesError("prices and interval starts differ in number")
    for i, start in enumerate(starts):
        if start.tzinfo is None or start.utcoffset() != timedelta(0):
            raise PriceSeriesError(f"interval {i}: start {start} is not a UTC time")
        if i and start != starts[i - 1] + interval:
            raise PriceSeriesError(describe_break(starts[i - 1], start, interval))
        if not math.isfinite(imports[i]) or (exports is not None and not math.isfinite(exports[i])):
            raise PriceSeriesError(f"interval {i} ({start.isoformat()}): price is not a number")


def describe_break(previous: datetime, start: datetime, interval: timedelta) -> str:
    """One line for two starts that are not `interval` apart: a duplicate, a gap or disorder."""
    if start == previous:
        return f"{start.isoformat()} appears twice (duplicate interval)"
    if start < previous:
        return f"{start.isoformat()} comes after {previous.isoformat()} (not in time order)"
    missing = (start - previous) // interval - 1
    if (start - previous) % interval:
        return f"{start.isoformat()} is {start - previous} after the previous start, not {interval}"
    return (
        f"gap: {missing} interval(s) missing between {previous.isoformat()} and {start.isoformat()}"
    )
