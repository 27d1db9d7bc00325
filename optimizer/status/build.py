"""Building a `SiteStatus` from the running daemon, in the daemon's thread.

`site_status` reads the daemon, its controllers and its read scheduler: it is
called only by the daemon thread (after a cycle, a roll or an applied command),
never by a reader, so it needs no lock and sees a consistent site.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from optimizer.controller import Controller, CycleResult
from optimizer.interfaces import ChargerReading, ChargeState, Decision
from optimizer.status.plan import plan_status
from optimizer.status.snapshot import ChargerStatus, DecisionStatus, SiteStatus

if TYPE_CHECKING:
    from optimizer.daemon.core import Daemon


def decision_status(decision: Decision) -> DecisionStatus:
    """A decision as the status shows it: `paused`, or the PV mode and the current (A)."""
    price = decision.import_eur_per_kwh
    if not decision.charging:
        return DecisionStatus(
            decision.time, decision.device_id, "paused", None, decision.reason, price
        )
    return DecisionStatus(
        decision.time,
        decision.device_id,
        decision.pv_mode.name.lower(),
        float(decision.current_a),
        decision.reason,
        price,
    )


def measured_current_a(reading: ChargerReading) -> float:
    """The current the car draws per phase (A): its power over phases times voltage."""
    volts = reading.phases * reading.voltage_v
    return reading.car_power_w / volts if volts > 0 else 0.0


def charger_status(
    controller: Controller, last: CycleResult | None, name: str | None = None
) -> ChargerStatus:
    """One charger from its controller (last reading, commanded state, session, target)."""
    reading = controller.last_reading
    commanded = controller.commanded
    sessions = controller.sessions
    session = sessions.current()
    target_wh = sessions.target_wh
    if target_wh is None:
        target_wh = controller.policy.default_target_wh()
    state = "unknown" if reading is None else _state_name(reading.charge_state)
    return ChargerStatus(
        device_id=controller.device_id,
        name=name,
        state=state,
        power_w=None if reading is None else reading.car_power_w,
        current_a=None if reading is None else measured_current_a(reading),
        pv_mode=None if commanded.pv_mode is None else commanded.pv_mode.name.lower(),
        paused=None if commanded.charging is None else not commanded.charging,
        session_energy_wh=None if session is None else session.energy_wh,
        session_solar_wh=None if session is None else session.solar_wh,
        target_wh=target_wh,
        departure=sessions.departure,
        last_read_at=None if reading is None else reading.time,
        last_decision=None if last is None else decision_status(last.decision),
        setpoint_a=commanded.current_a,
    )


def _state_name(state: ChargeState) -> str:
    return state.name.lower()


def _newest_reading(controllers: Mapping[str, Controller]) -> ChargerReading | None:
    """The newest reading of any charger: they share the site's meter (PV and house)."""
    readings = [c.last_reading for c in controllers.values() if c.last_reading is not None]
    return max(readings, key=lambda r: r.time, default=None)


def fatal_line(daemon: Daemon) -> str | None:
    """Why the daemon stopped by itself, in one line (no secret: the client redacts)."""
    if daemon.fatal is None:
        return None
    return f"the V2C Cloud refused the API key (401): {daemon.fatal}"


def site_status(daemon: Daemon) -> SiteStatus:
    """The site as `daemon` has it now (call in the daemon's thread only)."""
    now = daemon.clock.now()
    planner = daemon.planner
    reading = _newest_reading(daemon.controllers)
    budget = daemon.day_plan(now)
    chargers = tuple(
        charger_status(c, daemon.last_results.get(device), daemon.charger_names.get(device))
        for device, c in daemon.controllers.items()
    )
    return SiteStatus(
        time=now,
        policy=daemon.policy_name,
        policies=daemon.control.policies,
        pv_w=None if reading is None else reading.pv_power_w,
        house_w=None if reading is None else reading.household_w,
        calls_today=planner.spent(now),
        calls_left=planner.remaining(now),
        planned_reads=None if budget is None else budget.planned_reads,
        chargers=chargers,
        decisions=tuple(reversed(daemon.recent_decisions)),
        errors_by_kind=MappingProxyType(dict(daemon.stats.errors_by_kind)),
        commands_sent=daemon.stats.commands,
        decisions_made=daemon.stats.cycles,
        fatal=fatal_line(daemon),
        plan=plan_status(daemon, budget),
    )


__all__ = ["charger_status", "decision_status", "fatal_line", "measured_current_a", "site_status"]
