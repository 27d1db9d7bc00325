"""The fleet demo's summary: totals and one row per account, beside the simulator's truth.

`v2c-solar demo --fleet ACCOUNTS:CHARGERS --json` prints it: what each account's
store recorded (energy, its solar share, calls per quota day: each account has
its own 1000), the simulator's own count of each account's calls and the
world's sessions of its chargers as of the daemon's end, and what the whole
process cost (CPU seconds of every thread, the simulator's included, per
charger-day; peak resident memory).
"""

from __future__ import annotations

import resource
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.simulator.fleet import account_truth

if TYPE_CHECKING:
    from adapters.simulator.fleet import Fleet
    from adapters.simulator.server import RunningSimulator
    from adapters.storage import SqlStore
    from optimizer.daemon.fleet import AccountOutcome


@dataclass(frozen=True, slots=True)
class ProcessCost:
    """CPU seconds (user + system, every thread) and peak resident memory (MB) so far."""

    cpu_s: float
    peak_rss_mb: float

    @staticmethod
    def now() -> ProcessCost:
        """This process's cost until now (`getrusage`; Linux reports ru_maxrss in KiB)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return ProcessCost(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass(slots=True)
class FleetSummary:
    """What `demo --fleet` prints (also as JSON): the totals, then `accounts`."""

    hours: float
    speed: float
    wall_s: float
    db: str
    chargers: int
    calls_used: int
    calls_per_day_max: int
    """The most calls any one account spent in one quota day (each has 1000)."""
    ev_kwh: float
    solar_kwh: float
    grid_kwh: float
    ground_truth: dict[str, float]
    cpu_s: float
    cpu_s_per_charger_day: float
    peak_rss_mb: float
    safe_mode_commands: int
    late_s_mean: float
    """How late (simulated s) the accounts' due jobs ran, on average: ~0 when the process
    kept up with the clock; the demo against the wall clock falls behind on a busy box."""
    late_s_max: float
    fatal: list[str] = field(default_factory=list)
    not_safe: int = 0
    accounts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Every field as a JSON-able dict, plus `solar_share` (None without energy)."""
        out = {k: getattr(self, k) for k in self.__slots__}
        out["solar_share"] = round(self.solar_kwh / self.ev_kwh, 4) if self.ev_kwh > 0 else None
        return out


def _account_row(
    store: SqlStore,
    truth: dict[str, Any],
    outcome: AccountOutcome,
    window: tuple[datetime, datetime],
) -> dict[str, Any]:
    """One account: what its store recorded beside the simulator's `truth`
    (`adapters.simulator.fleet.account_truth`)."""
    start, end = window
    own = store.for_account(outcome.account)
    per_day = own.calls_per_day(start.replace(hour=0, minute=0, second=0, microsecond=0), end)
    recorded = [s for s in own.sessions() if s.end is None or s.end >= start]
    return {
        "account": outcome.account,
        "chargers": truth["chargers"],
        "homes": truth["homes"],
        "calls_used": len(own.calls_between(start, end)),
        "calls_per_day_max": max(per_day.values(), default=0),
        "simulator_calls_per_day_max": truth["calls_per_day_max"],
        "ev_kwh": round(sum(s.energy_wh for s in recorded) / 1000, 3),
        "solar_kwh": round(sum(s.solar_wh for s in recorded) / 1000, 3),
        "grid_kwh": round(sum(s.grid_wh for s in recorded) / 1000, 3),
        "sessions": len(recorded),
        "truth_ev_kwh": truth["ev_kwh"],
        "truth_solar_kwh": truth["solar_kwh"],
        "safe_mode_commands": outcome.safe_commands,
        "late_s_mean": outcome.late_s_mean,
        "late_s_max": outcome.late_s_max,
        "not_safe": list(outcome.not_safe),
        "fatal": outcome.fatal,
    }


def summarize_fleet(
    *,
    store: SqlStore,
    running: RunningSimulator,
    fleet: Fleet,
    outcomes: Sequence[AccountOutcome],
    window: tuple[datetime, datetime],
    hours: float,
    speed: float,
    wall_s: float,
    cost: ProcessCost,
) -> FleetSummary:
    """Each account's row and the totals; `cost` is the process's, taken at the daemon's end."""
    start, ended = window
    end = ended + timedelta(seconds=1)
    by_name = {o.account: o for o in outcomes}
    truths = account_truth(running.simulator, fleet, start, end)
    rows = [_account_row(store, t, by_name[t["account"]], (start, end)) for t in truths]
    chargers = sum(r["chargers"] for r in rows)
    charger_days = chargers * hours / 24
    return FleetSummary(
        hours=hours,
        speed=speed,
        wall_s=round(wall_s, 2),
        db=store.url,
        chargers=chargers,
        calls_used=sum(r["calls_used"] for r in rows),
        calls_per_day_max=max(r["calls_per_day_max"] for r in rows),
        ev_kwh=round(sum(r["ev_kwh"] for r in rows), 3),
        solar_kwh=round(sum(r["solar_kwh"] for r in rows), 3),
        grid_kwh=round(sum(r["grid_kwh"] for r in rows), 3),
        ground_truth={
            "ev_kwh": round(sum(r["truth_ev_kwh"] for r in rows), 3),
            "solar_kwh": round(sum(r["truth_solar_kwh"] for r in rows), 3),
        },
        cpu_s=round(cost.cpu_s, 2),
        cpu_s_per_charger_day=round(cost.cpu_s / charger_days, 4) if charger_days else 0.0,
        peak_rss_mb=round(cost.peak_rss_mb, 1),
        safe_mode_commands=sum(r["safe_mode_commands"] for r in rows),
        late_s_mean=round(sum(r["late_s_mean"] for r in rows) / len(rows), 1),
        late_s_max=max(r["late_s_max"] for r in rows),
        fatal=[r["fatal"] for r in rows if r["fatal"]],
        not_safe=sum(len(r["not_safe"]) for r in rows),
        accounts=rows,
    )


__all__ = ["FleetSummary", "ProcessCost", "summarize_fleet"]
