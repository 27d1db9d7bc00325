"""Today's plan as the daemon sees it: the PV forecast per slot and each charger's goal.

Built in the daemon's thread (`plan_status`) from what the controllers already
hold: the cached `PvForecast` (central, pessimistic and clear-sky power per
slot), each charger's session target and departure, and what the policy said it
expects in its last decision. Nothing is computed again for the web: a
`PlanStatus` only keeps references to immutable values (a refreshed forecast is
a new object) and turns them into JSON when asked (`GET /api/plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from optimizer.budget.plan import BudgetPlan
from optimizer.interfaces import PvForecast
from optimizer.planning.record import PlanRecord
from optimizer.status.snapshot import iso

if TYPE_CHECKING:
    from optimizer.daemon.core import Daemon


@dataclass(frozen=True, slots=True)
class ChargerPlan:
    """One charger's goal: `target_wh` (Wh) by `departure` (UTC) and the policy's view.

    `solar_expected_wh` is the PV energy the pessimistic forecast promises until the
    departure (Wh; the site's, not only the car's share); `expects` the reason of the
    policy's last decision (e.g. the `target` policy's "grid from 05:10"); `least_cost`
    the least-cost plan the store last recorded for the session in progress (None
    without a car or without one); `makes_plans` whether the policy makes such plans
    at all (`Policy.makes_plans`), so the page can say why there is none (`no_plan`).
    """

    device_id: str
    policy: str
    target_wh: float | None
    departure: datetime | None
    session_energy_wh: float | None
    solar_expected_wh: float | None
    expects: str | None
    least_cost: PlanRecord | None = None
    makes_plans: bool = False

    @property
    def no_plan(self) -> str | None:
        """Why there is no least-cost plan to show, as the page says it (None: there is
        one). The first that applies: the policy plans no slots, no target, no car."""
        if self.least_cost is not None:
            return None
        if not self.makes_plans:
            return (
                f"no plan: the {self.policy} policy makes none "
                '(policy target with planner = "least_cost" does)'
            )
        if self.target_wh is None:
            return "no plan: no target set"
        if self.session_energy_wh is None:
            return "no plan: no car plugged in"
        return "no plan yet: the next cycle makes one"

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "policy": self.policy,
            "target_wh": self.target_wh,
            "departure": iso(self.departure),
            "session_energy_wh": self.session_energy_wh,
            "solar_expected_wh": self.solar_expected_wh,
            "expects": self.expects,
            "least_cost": None if self.least_cost is None else stored_plan_json(self.least_cost),
            "makes_plans": self.makes_plans,
            "no_plan": self.no_plan,
        }


@dataclass(frozen=True, slots=True)
class PlanStatus:
    """The forecast the controllers use (None before the first), every charger's plan and
    the read scheduler's plan of the quota day (None: a scheduler that makes none)."""

    time: datetime
    forecast: PvForecast | None
    chargers: tuple[ChargerPlan, ...]
    budget: BudgetPlan | None = None

    def to_json(self) -> dict[str, Any]:
        """The `GET /api/plan` body: one entry per forecast slot (W), per charger its goal,
        the budget's planned reads per hour."""
        return {
            "time": iso(self.time),
            "forecast": None if self.forecast is None else forecast_json(self.forecast),
            "chargers": [c.to_json() for c in self.chargers],
            "budget": None if self.budget is None else budget_json(self.budget),
        }


def budget_json(plan: BudgetPlan) -> dict[str, Any]:
    """The quota day's spend and the reads planned per UTC hour, with the main reason."""
    hours = []
    for hour, slots in plan.reads_by_hour().items():
        devices: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for slot in slots:
            devices[slot.device_id] = devices.get(slot.device_id, 0) + 1
            reasons[slot.reason] = reasons.get(slot.reason, 0) + 1
        reason = max(reasons, key=lambda r: reasons[r])
        hours.append({"hour": iso(hour), "reads": len(slots), "devices": devices, "why": reason})
    return {
        "window_start": iso(plan.window_start),
        "window_end": iso(plan.window_end),
        "as_of": iso(plan.as_of),
        "limit": plan.limit,
        "reserve": plan.reserve,
        "spent": plan.spent,
        "reads_left": plan.reads_left,
        "planned_reads": plan.planned_reads,
        "reads_by_hour": hours,
    }


def stored_plan_json(record: PlanRecord) -> dict[str, Any]:
    """A recorded least-cost plan as `GET /api/plan` and `v2c-solar plan --json` show it:
    when and why it was made, its totals and its slots (energies Wh, prices EUR/kWh)."""
    plan = record.plan
    return {
        "created_at": iso(record.created_at),
        "reason": record.reason.value,
        "departure": iso(record.departure),
        "deadline": iso(plan.end),
        "step_s": plan.step_s,
        "status": plan.status,
        "energy_wanted_wh": plan.energy_wanted_wh,
        "shortfall_wh": plan.shortfall_wh,
        "energy_wh": plan.energy_wh,
        "solar_wh": plan.solar_wh,
        "grid_wh": plan.grid_wh,
        "cost_eur": plan.cost_eur,
        "commands": plan.commands,
        "slots": [
            {
                "start": iso(s.start),
                "mode": s.mode.value,
                "current_a": s.current_a,
                "power_w": s.power_w,
                "solar_wh": s.from_solar_wh,
                "grid_wh": s.from_grid_wh,
                "import_eur_per_kwh": s.import_eur_per_kwh,
                "cost_eur": s.cost_eur,
            }
            for s in plan.slots
        ],
    }


def forecast_json(forecast: PvForecast) -> dict[str, Any]:
    """The forecast's slots: start time, central, pessimistic and clear-sky power (W)."""
    step = timedelta(seconds=forecast.step_s)
    slots = [
        {
            "start": iso(forecast.start + i * step),
            "central_w": float(forecast.central_w[i]),
            "pessimistic_w": float(forecast.pessimistic_w[i]),
            "clear_sky_w": float(forecast.clear_sky_w[i]),
        }
        for i in range(len(forecast))
    ]
    return {
        "start": iso(forecast.start),
        "step_s": forecast.step_s,
        "variability": forecast.variability,
        "slots": slots,
    }


def plan_status(daemon: Daemon, budget: BudgetPlan | None = None) -> PlanStatus:
    """The plan as `daemon` has it now, with the read scheduler's `budget` (call in the
    daemon's thread only)."""
    forecast: PvForecast | None = None
    chargers: list[ChargerPlan] = []
    for device, controller in daemon.controllers.items():
        cached = controller.forecasts.forecast
        forecast = forecast or cached
        sessions = controller.sessions
        target_wh = sessions.target_wh
        if target_wh is None:
            target_wh = controller.policy.default_target_wh()
        departure = sessions.departure
        solar = None
        if cached is not None and departure is not None:
            solar = cached.energy_wh(departure, pessimistic=True)
        last = daemon.last_results.get(device)
        session = sessions.current()
        chargers.append(
            ChargerPlan(
                device_id=device,
                policy=controller.policy.name,
                target_wh=target_wh,
                departure=departure,
                session_energy_wh=None if session is None else session.energy_wh,
                solar_expected_wh=solar,
                expects=None if last is None else last.decision.reason,
                least_cost=None if session is None else controller.plan,
                makes_plans=controller.policy.makes_plans,
            )
        )
    return PlanStatus(daemon.clock.now(), forecast, tuple(chargers), budget)


__all__ = [
    "ChargerPlan",
    "PlanStatus",
    "budget_json",
    "forecast_json",
    "plan_status",
    "stored_plan_json",
]
