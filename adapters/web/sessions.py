"""The recorded sessions for `GET /api/sessions`: the figures `v2c-solar sessions` shows.

Read from the database through a read-only connection of our own (as the
`sessions` command reads while the daemon runs), never through the daemon's
`Store`: that one belongs to the daemon's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from adapters.storage import SqlStore
from optimizer.interfaces import SessionRecord

if TYPE_CHECKING:
    from optimizer.policies.tariff import TariffConfig


def grid_at_once_saving(s: SessionRecord, tariff: TariffConfig | None, tz: tzinfo) -> float | None:
    """What the session saved against charging its energy from the grid at once (currency).

    "At once" is at the price of its plug-in time (the cheap window counts when it
    plugged in inside it); None without a tariff or a cost.
    """
    if tariff is None or s.cost is None:
        return None
    return s.energy_wh / 1000 * tariff.price_per_kwh(s.start, tz) - s.cost


def session_figures(
    s: SessionRecord, tariff: TariffConfig | None = None, tz: tzinfo = UTC
) -> dict[str, Any]:
    """One session as `v2c-solar sessions --csv` has it, as JSON numbers (kWh, s, 0..1),
    and the saving against charging from the grid at once (`grid_at_once_saving`)."""
    duration = None if s.end is None else (s.end - s.start).total_seconds()
    return {
        "device_id": s.device_id,
        "start": s.start.isoformat(),
        "end": None if s.end is None else s.end.isoformat(),
        "duration_s": duration,
        "energy_kwh": s.energy_wh / 1000,
        "solar_kwh": s.solar_wh / 1000,
        "grid_kwh": s.grid_wh / 1000,
        "solar_share": s.solar_wh / s.energy_wh if s.energy_wh > 0 else None,
        "cost": s.cost,
        "target_kwh": None if s.target_wh is None else s.target_wh / 1000,
        "target_met": s.target_met,
        "saving": grid_at_once_saving(s, tariff, tz),
    }


class SessionsReader:
    """Reads sessions from the database at `url` through its own read-only engine, opened
    on first use (the daemon has created and upgraded the database by then); one for
    every home the web app serves."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: SqlStore | None = None
        self._lock = threading.Lock()

    def sessions(
        self,
        device_id: str | None = None,
        since: datetime | None = None,
        *,
        account: str | None = None,
        devices: Collection[str] | None = None,
        tariff: TariffConfig | None = None,
        tz: tzinfo = UTC,
    ) -> list[dict[str, Any]]:
        """The sessions (of one device, started at or after `since`) as JSON figures:
        of `account` (a fleet's account: its rows only; None: every row) and of the
        chargers `devices` (one home of a fleet's account; None: every charger), their
        saving priced with the home's `tariff` in its zone `tz` (`session_figures`).

        Raises `adapters.storage.StoreError` (one line) when the database cannot be read.
        """
        store = self._open()
        if account is not None:
            store = store.for_account(account)
        rows = store.sessions(device_id=device_id, since=since)
        if devices is not None:
            rows = [s for s in rows if s.device_id in devices]
        return [session_figures(s, tariff, tz) for s in rows]

    def _open(self) -> SqlStore:
        with self._lock:
            if self._store is None:
                self._store = SqlStore(self.url, create_if_missing=False, read_only=True)
            return self._store

    def close(self) -> None:
        """Release the connection (idempotent)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


__all__ = ["SessionsReader", "grid_at_once_saving", "session_figures"]
