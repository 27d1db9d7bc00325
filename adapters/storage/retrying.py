"""`RetryingStore`: the daemon's store, which keeps control going when the disk fails.

A full disk or a read-only database must not stop the charging control: the
chargers would keep the daemon's last setting with nobody watching the
budget. So a failed commit is logged in one line (the first of a run of
failures; the recovery in another), the records stay in `SqlStore`'s pending
buffer (it keeps them on an `OperationalError`: disk full, read-only, locked,
I/O) and the next cycle's commit writes them all. The planner's ledger is in
memory and `calls_between` sees the pending calls, so the budget stays right.
The cost of a long failure is memory (a few hundred bytes a record, a few
records a cycle: megabytes a day). Records still unwritten at shutdown are the
caller's to report (`SqlStore.commit` raises then).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.storage.errors import StoreError
from optimizer.interfaces import ApiCall, ChargerReading, Command, Decision, SessionRecord

if TYPE_CHECKING:
    from adapters.storage.sql_store import SqlStore
    from optimizer.planning.record import PlanRecord

log = logging.getLogger(__name__)


class RetryingStore:
    """The `Store` port over `inner`, whose `commit()` never raises (see the module doc)."""

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.failed_commits = 0
        """Commits failed in a row (0: the database is being written)."""

    def record_call(self, call: ApiCall) -> None:
        """Buffer one API call (see `SqlStore.record_call`)."""
        self.inner.record_call(call)

    def record_observation(self, reading: ChargerReading) -> None:
        """Buffer one charger reading."""
        self.inner.record_observation(reading)

    def record_decision(self, decision: Decision) -> None:
        """Buffer one decision."""
        self.inner.record_decision(decision)

    def record_command(self, command: Command) -> None:
        """Buffer one command's outcome (see `SqlStore.record_command`)."""
        self.inner.record_command(command)

    def begin_command(self, command: Command) -> None:
        """Write `command` before its call (`SqlStore.begin_command`); if the database
        fails, log it as a failed commit is and go on: its outcome is buffered as before."""
        try:
            self.inner.begin_command(command)
        except StoreError as exc:
            self._failed(exc)

    def record_session(self, session: SessionRecord) -> None:
        """Buffer an insert-or-update of a session."""
        self.inner.record_session(session)

    def calls_between(self, start: datetime, end: datetime) -> list[ApiCall]:
        """The call ledger of a window, committed and pending alike."""
        return self.inner.calls_between(start, end)

    def commands_since(self, device_id: str, since: datetime) -> list[Command]:
        """The device's commands from `since` on, committed and pending alike."""
        return self.inner.commands_since(device_id, since)

    def record_setting(self, key: str, value: str) -> None:
        """Buffer a setting (see `SqlStore.record_setting`)."""
        self.inner.record_setting(key, value)

    def setting(self, key: str) -> str | None:
        """The setting kept under `key`, pending or committed."""
        return self.inner.setting(key)

    def open_session(self, device_id: str) -> SessionRecord | None:
        """The device's latest session if it has no end yet, pending records included."""
        return self.inner.open_session(device_id)

    def record_plan(self, plan: PlanRecord) -> None:
        """Buffer a new plan (see `SqlStore.record_plan`)."""
        self.inner.record_plan(plan)

    def commit(self) -> None:
        """Commit; on failure log once (until it works again) and keep going."""
        try:
            self.inner.commit()
        except StoreError as exc:
            self._failed(exc)
            return
        if self.failed_commits:
            log.warning(
                "database %s writable again: the records of %d failed commits written",
                self.inner.url,
                self.failed_commits,
            )
            self.failed_commits = 0

    def _failed(self, exc: StoreError) -> None:
        """Log the first of a run of failed writes; count them."""
        if self.failed_commits == 0:
            log.error("%s; charging control goes on, retried every cycle", exc)
        self.failed_commits += 1


class RoundStore(RetryingStore):
    """A `RetryingStore` whose `commit()` waits for `flush()`: a fleet's account worker
    runs every job due at one instant (a round), then writes them in one transaction.

    With a thousand chargers a commit per cycle was a sixth of the process's CPU
    (BENCHMARKS.md, section 14); a round's jobs are what a single home's daemon
    would have written in as many commits a few milliseconds apart, so a kill -9
    still loses at most what was in flight.
    """

    def __init__(self, inner: SqlStore) -> None:
        super().__init__(inner)
        self._read: dict[str, str] | None = None

    def setting(self, key: str) -> str | None:
        """The setting kept under `key`: pending, else as committed when the round first
        read a setting. The account's settings rows are read in one query per round: every
        site polls each charger's target row every minute, a query each was ~40 % of a
        stepped fleet's CPU (BENCHMARKS.md 17); a row another process writes during the
        round is seen by the next one, as if written a few milliseconds later."""
        pending = self.inner.pending_setting(key)
        if pending is not None:
            return pending
        if self._read is None:
            self._read = self.inner.committed_settings()
        return self._read.get(key)

    def commit(self) -> None:
        """Nothing yet: the round's end writes (`flush`)."""

    def flush(self) -> None:
        """Write what the round recorded (see `RetryingStore.commit`); the next round reads
        the settings afresh."""
        self.forget_reads()
        super().commit()

    def forget_reads(self) -> None:
        """Read the settings afresh at the next `setting` (after building the daemons,
        whose reads were not a round's)."""
        self._read = None
