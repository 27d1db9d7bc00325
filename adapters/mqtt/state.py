"""The state JSON the bridge publishes: one object for the site, one per charger.

Figures are rounded to what a person reads (1 W, 1 Wh, 0.1 %), so a message is
sent when something visible changed, not at every float's last digit. Energies
are in kWh as Home Assistant's energy entities expect; `null` where the daemon
does not know yet (before the first read). Times: ISO 8601 UTC; the departure
also as local `HH:MM`, the form a person types back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from optimizer.status.snapshot import ChargerStatus, SiteStatus


def _rounded(value: float | None, digits: int = 0) -> float | None:
    return None if value is None else round(value, digits)


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else round(wh / 1000.0, 3)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def solar_share_pct(charger: ChargerStatus) -> float | None:
    """The current session's solar share (%), None before the session has energy."""
    energy, solar = charger.session_energy_wh, charger.session_solar_wh
    if energy is None or solar is None or energy <= 0:
        return None
    return round(100.0 * min(max(solar / energy, 0.0), 1.0), 1)


def departure_local(departure: datetime | None, tz: ZoneInfo) -> str:
    """`HH:MM` in the site's zone, or "" without a departure."""
    return "" if departure is None else departure.astimezone(tz).strftime("%H:%M")


def charger_state(charger: ChargerStatus, tz: ZoneInfo) -> dict[str, Any]:
    """`<prefix>/<device_id>/state`: the charger's live state and its session's target."""
    return {
        "device_id": charger.device_id,
        "name": charger.name,
        "state": charger.state,
        "power_w": _rounded(charger.power_w),
        "current_a": _rounded(charger.current_a, 1),
        "pv_mode": charger.pv_mode,
        "paused": charger.paused,
        "session_energy_wh": _rounded(charger.session_energy_wh),
        "session_energy_kwh": _kwh(charger.session_energy_wh),
        "solar_share_pct": solar_share_pct(charger),
        "target_kwh": _kwh(charger.target_wh),
        "departure": _iso(charger.departure),
        "departure_local": departure_local(charger.departure, tz),
        "last_read_at": _iso(charger.last_read_at),
    }


def site_state(status: SiteStatus) -> dict[str, Any]:
    """`<prefix>/site/state`: the policy, PV and house power, the day's API calls."""
    return {
        "policy": status.policy,
        "pv_w": _rounded(status.pv_w),
        "house_w": _rounded(status.house_w),
        "calls_today": status.calls_today,
        "calls_left": status.calls_left,
        "planned_reads": status.planned_reads,
        "fatal": status.fatal,
    }


__all__ = ["charger_state", "departure_local", "site_state", "solar_share_pct"]
