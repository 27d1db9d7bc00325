"""Immutable snapshots of the site: what the web page, the API, the metrics and MQTT show.

The daemon's worker thread is the only one that touches the controllers, the
chargers and the store; it builds a `SiteStatus` after every cycle, roll and
applied command (`optimizer.status.build.site_status`) and publishes it on the
`StatusBoard`. Other threads only ever read these frozen values, so they need
no lock and can never see a half-updated site.

Units: W, Wh, A; times timezone-aware UTC. `to_json` is the body of
`GET /api/status`; it holds no secret (the API key is never in a snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimizer.status.plan import PlanStatus

MAX_DECISIONS = 200
"""Decisions a `SiteStatus` keeps, newest first."""


def iso(t: datetime | None) -> str | None:
    """`t` as ISO-8601 in UTC (`...+00:00`), None stays None."""
    return None if t is None else t.isoformat()


@dataclass(frozen=True, slots=True)
class DecisionStatus:
    """One decision of a charger's policy: the mode, the current (A), why, and the import
    price it was made at (EUR/kWh; None: no price known)."""

    time: datetime
    device_id: str
    mode: str
    """The PV mode decided (`PvMode` name, lower case), or `paused`."""
    current_a: float | None
    reason: str
    import_eur_per_kwh: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": iso(self.time),
            "device_id": self.device_id,
            "mode": self.mode,
            "current_a": self.current_a,
            "reason": self.reason,
            "import_eur_per_kwh": self.import_eur_per_kwh,
        }


@dataclass(frozen=True, slots=True)
class ChargerStatus:
    """One charger as the daemon last saw and commanded it.

    `state` is the `ChargeState` name in lower case (`disconnected`, `connected`,
    `charging`, `fault`), `unknown` before the first reading. `power_w` is the car's
    power (W) and `current_a` the current it draws per phase (A), both from the last
    reading; `pv_mode` and `paused` what the daemon commanded (None before it knows).
    `session_*` are the open session's energy (Wh), None without a session;
    `target_wh` the energy this session should get (the one set from home, else
    the policy's default) and `departure` when the car leaves (UTC).
    """

    device_id: str
    name: str | None
    state: str
    power_w: float | None
    current_a: float | None
    pv_mode: str | None
    paused: bool | None
    session_energy_wh: float | None
    session_solar_wh: float | None
    target_wh: float | None
    departure: datetime | None
    last_read_at: datetime | None
    last_decision: DecisionStatus | None
    setpoint_a: int | None = None
    """The current (A) the daemon last commanded, None before it commanded one."""

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "name": self.name,
            "state": self.state,
            "power_w": self.power_w,
            "current_a": self.current_a,
            "setpoint_a": self.setpoint_a,
            "pv_mode": self.pv_mode,
            "paused": self.paused,
            "session_energy_wh": self.session_energy_wh,
            "session_solar_wh": self.session_solar_wh,
            "target_wh": self.target_wh,
            "departure": iso(self.departure),
            "last_read_at": iso(self.last_read_at),
            "last_decision": None if self.last_decision is None else self.last_decision.to_json(),
        }


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """The whole site at one clock time (simulated in the demo).

    `pv_w` and `house_w` come from the newest reading of any charger (they share
    the site's meter); `house_w` is the household without the car (W).
    `calls_today` / `calls_left` are the quota day's spend and what is left of the
    1000; `planned_reads` the reads the budget planner still plans today (None when
    the daemon's scheduler makes no plan). `decisions` are newest first, at most
    `MAX_DECISIONS`. `fatal` is the one-line reason the daemon stopped, else None.
    """

    time: datetime
    policy: str
    policies: tuple[str, ...]
    pv_w: float | None
    house_w: float | None
    calls_today: int
    calls_left: int
    planned_reads: int | None
    chargers: tuple[ChargerStatus, ...]
    decisions: tuple[DecisionStatus, ...]
    errors_by_kind: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    commands_sent: int = 0
    decisions_made: int = 0
    fatal: str | None = None
    version: int = 0
    """The board's version when published (0: never published)."""
    plan: PlanStatus | None = None
    """Today's plan (`GET /api/plan`); not part of `to_json`."""

    @classmethod
    def empty(cls, time: datetime | None = None) -> SiteStatus:
        """A site nothing is known of yet (before the daemon's first publish)."""
        return cls(
            time=time or datetime.now(UTC),
            policy="",
            policies=(),
            pv_w=None,
            house_w=None,
            calls_today=0,
            calls_left=0,
            planned_reads=None,
            chargers=(),
            decisions=(),
        )

    def charger(self, device_id: str) -> ChargerStatus | None:
        """The status of charger `device_id`, None for a device the site does not have."""
        return next((c for c in self.chargers if c.device_id == device_id), None)

    def to_json(self) -> dict[str, Any]:
        """The `GET /api/status` body: plain JSON types, datetimes ISO-8601 UTC."""
        return {
            "time": iso(self.time),
            "version": self.version,
            "policy": self.policy,
            "policies": list(self.policies),
            "pv_w": self.pv_w,
            "house_w": self.house_w,
            "calls_today": self.calls_today,
            "calls_left": self.calls_left,
            "planned_reads": self.planned_reads,
            "chargers": [c.to_json() for c in self.chargers],
            "decisions": [d.to_json() for d in self.decisions],
            "errors_by_kind": dict(self.errors_by_kind),
            "commands_sent": self.commands_sent,
            "decisions_made": self.decisions_made,
            "fatal": self.fatal,
        }


__all__ = ["MAX_DECISIONS", "ChargerStatus", "DecisionStatus", "SiteStatus", "iso"]
