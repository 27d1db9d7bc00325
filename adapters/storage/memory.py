"""`MemoryStore`: the `Store` port on plain Python lists, for backtests and tests.

A simulated year records hundreds of thousands of rows, so each `record_*` is a
single `list.append` (no validation, no conversion) and `commit()` does
nothing. This module must not import SQLAlchemy: backtests load it without the
database stack (a test checks `sys.modules`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime

from adapters.storage.ledger import calls_per_day, open_session, select_sessions
from optimizer.interfaces import ApiCall, ChargerReading, Command, Decision, SessionRecord
from optimizer.planning.record import PLANS_KEPT, PlanRecord


@dataclass(slots=True)
class _Checked:
    """How much of a calls list is known to be in time order: its first `count` calls,
    the last of them `last`; `ordered` False once two were found out of order."""

    calls: list[ApiCall]
    count: int
    last: ApiCall | None
    ordered: bool


class MemoryStore:
    """Keeps every record in memory; the lists are public for analysis code.

    Times are kept as given (callers pass tz-aware UTC, per the ports).
    Sessions are keyed by (device_id, start) so `record_session` upserts like
    the SQL store. Same contract as `SqlStore` (endpoint names, not URLs, in
    `ApiCall.endpoint`), but unchecked here: checking costs time per row, and
    nothing in memory outlives the process.
    """

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self._checked = _Checked(self.calls, 0, None, ordered=True)
        self.observations: list[ChargerReading] = []
        self.decisions: list[Decision] = []
        self.commands: list[Command] = []
        self._sessions: dict[tuple[str, datetime], SessionRecord] = {}
        self.settings: dict[str, str] = {}
        self.plans: dict[str, deque[PlanRecord]] = {}
        """Each charger's last `PLANS_KEPT` plans, oldest first (a year of replans
        would otherwise hold millions of slots)."""

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={n}" for name, n in self.row_counts().items())
        return f"MemoryStore({counts})"

    def record_call(self, call: ApiCall) -> None:
        """Append one API call to the ledger."""
        self.calls.append(call)

    def record_observation(self, reading: ChargerReading) -> None:
        """Append one charger reading."""
        self.observations.append(reading)

    def record_decision(self, decision: Decision) -> None:
        """Append one policy decision."""
        self.decisions.append(decision)

    def record_command(self, command: Command) -> None:
        """Append one command sent to a charger."""
        self.commands.append(command)

    def begin_command(self, command: Command) -> None:
        """Nothing: memory does not outlive the process, `record_command` keeps it."""

    def record_session(self, session: SessionRecord) -> None:
        """Insert or replace the session with the same device and start."""
        self._sessions[(session.device_id, session.start.astimezone(UTC))] = session

    def record_setting(self, key: str, value: str) -> None:
        """Keep `value` under `key` (for the life of this store)."""
        self.settings[key] = value

    def setting(self, key: str) -> str | None:
        """The value kept under `key`, None if never kept."""
        return self.settings.get(key)

    def record_plan(self, plan: PlanRecord) -> None:
        """Keep a new plan; the charger's plans beyond the last `PLANS_KEPT` are dropped."""
        kept = self.plans.setdefault(plan.device_id, deque(maxlen=PLANS_KEPT))
        kept.append(plan)

    def latest_plan(self, device_id: str) -> PlanRecord | None:
        """The device's newest plan (by creation time), None before the first."""
        return max(self.plans.get(device_id, ()), key=lambda p: p.created_at, default=None)

    def commit(self) -> None:
        """Nothing to make durable: memory lives as long as the process."""

    def calls_between(self, start: datetime, end: datetime) -> list[ApiCall]:
        """Calls with `start <= time < end`, oldest first (a stable sort keeps ties in order).

        Calls are recorded as they are made, so the list is nearly always in time order:
        then the range is found by bisection (the daemon's daily roll asks for a day of
        them, and scanning a simulated year's calls every day grew with the square of the
        run's length); else every call is looked at and sorted.
        """
        calls = self.calls
        if self._in_time_order():
            lo = bisect_left(calls, start, key=_call_time)
            return calls[lo : bisect_left(calls, end, lo=lo, key=_call_time)]
        return sorted((c for c in calls if start <= c.time < end), key=_call_time)

    def _in_time_order(self) -> bool:
        """Whether `calls` is in time order, checking only the calls appended since the
        last check (the list is append-only, as every `record_*`; a list replaced, cut or
        changed at its last checked call is checked again from the start)."""
        calls = self.calls
        checked = self._checked
        n = checked.count
        if calls is not checked.calls or n > len(calls) or (n and calls[n - 1] is not checked.last):
            checked = self._checked = _Checked(calls, 0, None, ordered=True)
            n = 0
        if not checked.ordered:
            return False
        last = calls[n - 1].time if n else None
        for i in range(n, len(calls)):
            t = calls[i].time
            if last is not None and t < last:
                checked.ordered = False
                return False
            last = t
        checked.count = len(calls)
        checked.last = calls[-1] if calls else None
        return True

    def commands_since(self, device_id: str, since: datetime) -> list[Command]:
        """The device's commands at or after `since`, oldest first (a stable sort)."""
        mine = (c for c in self.commands if c.device_id == device_id and c.time >= since)
        return sorted(mine, key=lambda c: c.time)

    def sessions(
        self, device_id: str | None = None, since: datetime | None = None
    ) -> list[SessionRecord]:
        """Sessions (of one device, started at or after `since`), ordered by start."""
        return select_sessions(self._sessions.values(), device_id, since)

    def open_session(self, device_id: str) -> SessionRecord | None:
        """The device's latest session if it has no end yet."""
        return open_session(self._sessions.values(), device_id)

    def calls_per_day(self, start: datetime, end: datetime) -> dict[date, int]:
        """API calls made on [start, end) per quota day (see `ledger.calls_per_day`)."""
        return calls_per_day(self.calls, start, end)

    def latest_observation(self, device_id: str) -> ChargerReading | None:
        """The most recent reading of a device, None when it was never read."""
        readings = (r for r in self.observations if r.device_id == device_id)
        return max(readings, key=lambda r: r.time, default=None)

    def row_counts(self) -> dict[str, int]:
        """Number of records per table name (same keys as the SQL store)."""
        return {
            "api_calls": len(self.calls),
            "observations": len(self.observations),
            "decisions": len(self.decisions),
            "commands": len(self.commands),
            "sessions": len(self._sessions),
        }


def _call_time(call: ApiCall) -> datetime:
    return call.time
