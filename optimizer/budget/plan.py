"""Today's read plan in a printable form (`v2c-solar budget`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PlannedRead:
    """One planned `currentstatecharge` read and why it is there.

    `interval_s` is the planned gap to the device's previous read (s); `weight`
    the read's worth (plugged factor x PV kW x (1 + k var)); `reason` a short
    human phrase.
    """

    time: datetime
    device_id: str
    interval_s: float
    weight: float
    reason: str


@dataclass(frozen=True, slots=True)
class BudgetPlan:
    """The quota day: what was spent so far and the reads still planned.

    `window_start`/`window_end` bound the quota day (UTC); `boundary_source`
    says whether its start came from the config or from `RateLimit-Reset`.
    `read_budget` = limit - reserve; `reads_left` = read_budget - spent.
    """

    window_start: datetime
    window_end: datetime
    as_of: datetime
    boundary_source: str
    limit: int
    reserve: int
    spent: int
    spent_by_endpoint: dict[str, int]
    reads_left: int
    server_remaining: int | None
    server_remaining_at: datetime | None
    blocked_until: datetime | None
    nearly_out: bool
    slots: tuple[PlannedRead, ...] = field(default=())

    @property
    def read_budget(self) -> int:
        """Calls a day reads may use."""
        return self.limit - self.reserve

    @property
    def planned_reads(self) -> int:
        """Reads planned from `as_of` to the end of the quota day."""
        return len(self.slots)

    def reads_by_hour(self) -> dict[datetime, list[PlannedRead]]:
        """Planned reads grouped by the UTC hour they fall in."""
        hours: dict[datetime, list[PlannedRead]] = {}
        for slot in self.slots:
            hours.setdefault(slot.time.replace(minute=0, second=0, microsecond=0), []).append(slot)
        return hours

    def summary(self) -> str:
        """A few lines for humans: spend, server's view, planned reads per hour and why."""
        fmt = "%Y-%m-%d %H:%M"
        lines = [
            f"Quota day {self.window_start:{fmt}} -> {self.window_end:{fmt}} UTC "
            f"(boundary from {self.boundary_source}), as of {self.as_of:%H:%M:%S}",
            f"Spent {self.spent} of {self.limit} calls; reads may use {self.read_budget} "
            f"(reserve {self.reserve} kept for commands), {self.reads_left} reads left",
        ]
        if self.spent_by_endpoint:
            parts = ", ".join(f"{k} {v}" for k, v in sorted(self.spent_by_endpoint.items()))
            lines.append(f"  by endpoint: {parts}")
        if self.server_remaining is not None and self.server_remaining_at is not None:
            lines.append(
                f"Server says {self.server_remaining} remaining "
                f"(RateLimit-Remaining at {self.server_remaining_at:%H:%M:%S})"
            )
        if self.blocked_until is not None:
            lines.append(f"BLOCKED (quota exhausted / 429) until {self.blocked_until:{fmt}} UTC")
        if self.nearly_out:
            lines.append("Nearly out: chargers handed to their own exclusive-PV mode")
        lines.append(f"Planned reads for the rest of the day: {self.planned_reads}")
        for hour, slots in self.reads_by_hour().items():
            per_device = Counter(s.device_id for s in slots)
            devices = ", ".join(f"{d} {n}" for d, n in sorted(per_device.items()))
            reasons = Counter(s.reason for s in slots).most_common(1)[0][0]
            lines.append(f"  {hour:%H}:00  {len(slots):4d} reads  [{devices}]  {reasons}")
        return "\n".join(lines)
