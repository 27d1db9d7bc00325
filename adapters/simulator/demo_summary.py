"""The demo's summary: what the daemon recorded next to the simulator's ground truth.

`v2c-solar demo` prints it as a table or as JSON: energy into the cars and its
solar share from the daemon's store, the same from the simulated world's own
sessions as of the daemon's end (`ground_truth.until`), and the API calls per
day from the daemon's ledger beside the simulator's own count (`DayCountingQuota`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from optimizer.interfaces import SessionRecord

if TYPE_CHECKING:
    from adapters.simulator.demo import DayCountingQuota
    from adapters.simulator.server import RunningSimulator
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


def summarize(
    *,
    store: SqlStore,
    running: RunningSimulator,
    counter: DayCountingQuota,
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
    truth_sessions: list[SessionRecord] = []
    # The truth over the daemon's span: the world keeps running (fast) after the
    # daemon stopped, and a car still plugged in would go on charging meanwhile.
    with running.simulator.world_as_of(outcome.ended) as world:
        truth_until = world.now
        for device in world.device_ids:
            truth_sessions += [
                log.to_record()
                for log in world.sessions(device)
                if log.end is None or log.end >= start
            ]
    truth_ev = sum(s.energy_wh for s in truth_sessions) / 1000
    truth_solar = sum(s.solar_wh for s in truth_sessions) / 1000
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
        ground_truth={
            "until": truth_until.isoformat(),
            "ev_kwh": round(truth_ev, 3),
            "solar_kwh": round(truth_solar, 3),
            "grid_kwh": round(truth_ev - truth_solar, 3),
            "sessions": [_session_dict(s, tz) for s in truth_sessions],
        },
        safe_mode_commands=outcome.safe_commands,
        faults=running.simulator.config.faults.model_dump(
            mode="json", exclude_defaults=True, exclude={"seed"}
        ),
        fatal=outcome.fatal,
        not_safe=list(outcome.not_safe),
    )


__all__ = ["DemoSummary", "summarize"]
