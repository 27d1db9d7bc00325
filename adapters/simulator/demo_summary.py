"""The demo's summary: what the daemon recorded next to the simulator's ground truth.

`v2c-solar demo` prints it as a table or as JSON: energy into the cars and its
solar share from the daemon's store, the same from the simulated world's own
sessions as of the daemon's end or the key revocation, whichever came first
(`ground_truth.until`), and the API calls per
day from the daemon's ledger beside the simulator's own count (its `CallTally`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from optimizer.interfaces import SessionRecord

if TYPE_CHECKING:
    from adapters.simulator.server import RunningSimulator
    from adapters.simulator.server.tally import CallTally
    from adapters.storage import SqlStore
    from optimizer.daemon.serve import RunOutcome


@dataclass(slots=True)
class DemoSummary:
    """What the demo prints at the end (also as JSON)."""

    hours: float
    speed: float
    wall_s: float
    db: str
    policy: str
    calls_used: int
    calls_per_day: dict[str, int]
    calls_per_day_max: int
    simulator_calls_per_day: dict[str, int]
    ev_kwh: float
    solar_kwh: float
    grid_kwh: float
    sessions: list[dict[str, Any]]
    ground_truth: dict[str, Any]
    safe_mode_commands: int
    faults: dict[str, Any]
    """The simulator's faults that are on (its `FaultConfig` fields off their defaults)."""
    fatal: str | None = None
    not_safe: list[str] | None = None
    """Chargers not left in the safe mode on shutdown (None or empty: all were)."""
    config: str | None = None
    """The config file the demo wrote beside its database (None: none written)."""

    def as_json(self) -> dict[str, Any]:
        """Every field as a JSON-able dict, plus `solar_share` (None without energy)."""
        out = {k: getattr(self, k) for k in self.__slots__ if k != "extra"}
        out["solar_share"] = self.solar_kwh / self.ev_kwh if self.ev_kwh > 0 else None
        return out


def _session_dict(s: SessionRecord, tz: tzinfo) -> dict[str, Any]:
    return {
        "device_id": s.device_id,
        "start": s.start.astimezone(tz).isoformat(timespec="minutes"),
        "end": None if s.end is None else s.end.astimezone(tz).isoformat(timespec="minutes"),
        "ev_kwh": round(s.energy_wh / 1000, 3),
        "solar_kwh": round(s.solar_wh / 1000, 3),
        "grid_kwh": round(s.grid_wh / 1000, 3),
    }


def _ground_truth(
    running: RunningSimulator, start: datetime, ended: datetime, tz: tzinfo
) -> dict[str, Any]:
    """The world's sessions over what the daemon could read: from `start` to its end,
    or to the key revocation when that came first.

    The world keeps running (fast) after the daemon stopped, and a car still
    plugged in would go on charging meanwhile: the truth is the world as of the
    daemon's end. After a revocation no client can read the chargers any more,
    so the truth stops there (`until`), and what the cars took between it and
    the daemon's end is given apart (`after_revocation_kwh`).
    """
    sim = running.simulator
    with sim.world_as_of(ended) as world:
        at_end = [log.to_record() for d in world.device_ids for log in world.sessions(d)]
        until = world.now
    after_revocation_wh = 0.0
    revoked = sim.config.faults.revoke_keys_at
    sessions = at_end
    if revoked is not None and revoked < until and revoked in sim.session_snapshots:
        sessions, until = sim.session_snapshots[revoked], revoked
        after_revocation_wh = _energy_wh(at_end) - _energy_wh(sessions)
    ours = [s for s in sessions if s.end is None or s.end >= start]
    ev_kwh = _energy_wh(ours) / 1000
    solar_kwh = sum(s.solar_wh for s in ours) / 1000
    return {
        "until": until.isoformat(),
        "ev_kwh": round(ev_kwh, 3),
        "solar_kwh": round(solar_kwh, 3),
        "grid_kwh": round(ev_kwh - solar_kwh, 3),
        "after_revocation_kwh": round(after_revocation_wh / 1000, 3),
        "sessions": [_session_dict(s, tz) for s in ours],
    }


def _energy_wh(sessions: list[SessionRecord]) -> float:
    return sum(s.energy_wh for s in sessions)


def summarize(
    *,
    store: SqlStore,
    running: RunningSimulator,
    counter: CallTally,
    outcome: RunOutcome,
    hours: float,
    speed: float,
    wall_s: float,
    policy: str,
    tz: tzinfo,
) -> DemoSummary:
    """Recorded numbers (the store) next to the simulator's ground truth."""
    start, end = outcome.started, outcome.ended + timedelta(seconds=1)
    day0 = start.replace(hour=0, minute=0, second=0, microsecond=0)
    # Days with calls only, as the simulator's counter lists them (a run ending just
    # after midnight UTC may touch a day it made no call in).
    per_day = {
        d.isoformat(): n
        for d, n in store.calls_per_day(day0, end).items()
        if d >= day0.date() and n > 0
    }
    recorded = [s for s in store.sessions() if s.end is None or s.end >= start]
    ground_truth = _ground_truth(running, start, outcome.ended, tz)
    return DemoSummary(
        hours=hours,
        speed=speed,
        wall_s=round(wall_s, 2),
        db=store.url,
        policy=policy,
        calls_used=len(store.calls_between(start, end)),
        calls_per_day=per_day,
        calls_per_day_max=max(per_day.values(), default=0),
        simulator_calls_per_day={d.isoformat(): n for d, n in sorted(counter.per_day.items())},
        ev_kwh=round(sum(s.energy_wh for s in recorded) / 1000, 3),
        solar_kwh=round(sum(s.solar_wh for s in recorded) / 1000, 3),
        grid_kwh=round(sum(s.grid_wh for s in recorded) / 1000, 3),
        sessions=[_session_dict(s, tz) for s in recorded],
        ground_truth=ground_truth,
        safe_mode_commands=outcome.safe_commands,
        faults=running.simulator.config.faults.model_dump(
            mode="json", exclude_defaults=True, exclude={"seed"}
        ),
        fatal=outcome.fatal,
        not_safe=list(outcome.not_safe),
    )


__all__ = ["DemoSummary", "summarize"]
