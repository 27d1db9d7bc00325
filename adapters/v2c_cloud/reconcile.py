"""The daemon's daily session reconcile against the V2C Cloud's `stadistic/device`.

A car that came and went between two reads leaves no session in the store;
the charger's own statistics list it. `cloud_reconciler` is the daemon's
`Reconciler` for a cloud account: it fetches a local day's statistics through
the ledgered client and adds the sessions the reads missed.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from adapters.v2c_cloud.charger import charger_errors
from adapters.v2c_cloud.models import ChargeStatistic
from adapters.v2c_cloud.sync import V2CClient
from optimizer.interfaces import SessionRecord

if TYPE_CHECKING:
    from adapters.storage import SqlStore
    from optimizer.daemon import Reconciler

log = logging.getLogger("v2c_solar.daemon")


def statistic_to_session(stat: ChargeStatistic, device_id: str, tz: tzinfo) -> SessionRecord | None:
    """A finished `stadistic/device` entry as a `SessionRecord` (local times to UTC)."""
    if stat.start_local is None or stat.energy_wh is None:
        return None
    end = stat.end_local
    start_utc = stat.start_local.replace(tzinfo=tz).astimezone(UTC)
    end_utc = None if end is None else end.replace(tzinfo=tz).astimezone(UTC)
    solar = min(sum(stat.energy_by_hour_fv_wh or ()), stat.energy_wh)
    return SessionRecord(
        device_id=device_id,
        start=start_utc,
        end=end_utc if stat.finished is not False else None,
        energy_wh=stat.energy_wh,
        solar_wh=solar,
        grid_wh=stat.energy_wh - solar,
        cost=stat.cost,
    )


def cloud_reconciler(client: V2CClient, store: SqlStore, tz: tzinfo) -> Reconciler:
    """The daily job: `stadistic/device` of a local day, sessions we missed added to the store.

    The call goes through `client`, so it is in the same ledger as every other.
    """
    from optimizer.daemon import missing_sessions

    def reconcile(device_id: str, day: date, now: datetime) -> None:
        with charger_errors():
            stats = client.stadistic_device(device_id, day, day)
        reported = [s for s in (statistic_to_session(x, device_id, tz) for x in stats) if s]
        since = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC) - timedelta(days=1)
        for session in missing_sessions(reported, store.sessions(device_id, since=since)):
            log.info("reconcile: adding session %s %s missed by reads", device_id, session.start)
            store.record_session(session)

    return reconcile
