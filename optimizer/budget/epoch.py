"""Instants as whole microseconds since the Unix epoch (UTC): the budget planner's clock.

The planner is asked for a read interval about twice per controller cycle, and each
ask did a dozen datetime steps (the quota window, the 5-minute grid's next edge, the
cells' count and lengths, cache keys), each allocating a datetime or timedelta. An
int of microseconds holds exactly what a UTC datetime holds, so the same steps on it
give the same answers:

* a floor division by the grid step is `(t - EPOCH) // step` of the datetimes;
* a difference divided by `US` is `timedelta.total_seconds()` to the bit: both are
  the correctly rounded quotient of the same two integers (CPython divides the
  timedelta's microseconds by 10**6 as integers).

Float epoch seconds would not do: near 1.5e9 s a float keeps ~0.2 us, so a moment's
distance to the next grid edge (s) would differ from the datetime one in its last
bits, and the backtest's traces must stay identical to the last float.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

US = 1_000_000
"""Microseconds per second."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(t: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware `t` (exact)."""
    return (t - EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """The UTC datetime `us` microseconds after the epoch (exact)."""
    return EPOCH + timedelta(microseconds=us)


def delta_us(d: timedelta) -> int:
    """A duration in whole microseconds (exact)."""
    return d // _ONE_US
