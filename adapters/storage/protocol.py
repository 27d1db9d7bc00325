"""What the CLI and the daemon may ask of any store, beyond the controller's `Store` port."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from optimizer.interfaces import ChargerReading, SessionRecord, Store

if TYPE_CHECKING:
    from optimizer.planning.record import PlanRecord

TABLES = ("api_calls", "observations", "decisions", "commands", "sessions")
"""Names of the recorded tables, the keys of `row_counts()`."""


class QueryableStore(Store, Protocol):
    """A `Store` that can also answer the questions reports and the daemon ask.

    Queries see everything recorded so far, committed or not.
    """

    def sessions(
        self, device_id: str | None = None, since: datetime | None = None
    ) -> list[SessionRecord]:
        """Sessions (of one device, started at or after `since`), ordered by start."""
        ...

    def calls_per_day(self, start: datetime, end: datetime) -> dict[date, int]:
        """API calls made on [start, end) per quota day, the server's where it said.

        Keys are UTC dates, every date the window touches included (0 when no
        call); a call counts on the date of the day its answer's `RateLimit-Reset`
        ends (see `adapters.storage.ledger.calls_per_day`).
        """
        ...

    def latest_observation(self, device_id: str) -> ChargerReading | None:
        """The most recent reading of a device, None when it was never read."""
        ...

    def latest_plan(self, device_id: str) -> PlanRecord | None:
        """The device's newest least-cost plan, None when it never made one."""
        ...

    def row_counts(self) -> dict[str, int]:
        """Number of rows per table (keys are `TABLES`)."""
        ...
