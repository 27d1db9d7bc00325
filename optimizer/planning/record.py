"""`PlanRecord`: a least-cost plan as the store keeps it, with why it was made.

The `target` policy's least-cost planner makes a new `ChargePlan` at plug-in, when the
target or the departure changes, when the prices it plans with change (a new day
published), when the forecast moves materially and at least every 15 minutes. Each plan
that changes the schedule is handed to the `Store` as a `PlanRecord` (see
`Store.record_plan`), so `v2c-solar plan` can show the schedule and the reason while
the daemon runs, and the history of replans stays reviewable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from optimizer.planning.plan import ChargePlan


class ReplanReason(StrEnum):
    """Why a new plan was made (the first that applies, in this order)."""

    PLUG_IN = "plug-in"
    """No plan in this session yet: the car was plugged in (or the daemon or the policy
    started with a car plugged in)."""
    TARGET = "target changed"
    """The session's energy wanted or its departure changed."""
    PRICES = "new prices"
    """The prices up to the deadline differ from the last plan's (a new day published)."""
    FORECAST = "new forecast"
    """The pessimistic PV energy to the deadline moved materially (see
    `optimizer.policies.least_cost_plan.forecast_moved`)."""
    STRAYED = "energy strayed from the plan"
    """The car's energy since the plan was made differs from what the plan put in by more
    than the planner's `deviation_wh` (a car that tapers, a sun the forecast missed)."""
    SUN_MISSING = "sun missing under a fixed current"
    """A reading showed the sun the plan counted on under its fixed slot in force missing
    (see `optimizer.policies.least_cost_plan.sun_missing_under_fixed`)."""
    ENDED = "plan ran out"
    """The clock passed the last plan's deadline with energy still wanted."""
    PERIODIC = "periodic"
    """A periodic look (every `replan_s`) found the last plan off track or too old to
    keep (`LeastCostPlanner._on_track`): the receding horizon moves on."""


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """One charger's plan, made at `created_at` (UTC) for `reason`, to leave at `departure`.

    `plan` holds the slots (start, mode, power W, current A, solar and grid Wh, prices
    EUR/kWh, cost EUR) and the totals; its deadline (`plan.end`) is the departure less
    the policy's margin.
    """

    device_id: str
    created_at: datetime
    reason: ReplanReason
    departure: datetime
    plan: ChargePlan

    def same_schedule(self, other: PlanRecord) -> bool:
        """True when `other` (a later plan) does in every one of its slots what this plan
        does at that time: same mode and same whole-amp current, same departure.

        Totals are not compared: a later plan of the same schedule has less left to do.
        """
        if other.departure != self.departure or other.device_id != self.device_id:
            return False
        half = timedelta(seconds=other.plan.step_s / 2)
        for slot in other.plan.slots:
            mine = self.plan.slot_at(slot.start + half)
            if mine is None or mine.mode != slot.mode:
                return False
            if round(mine.current_a) != round(slot.current_a):
                return False
        return True


PLANS_KEPT = 200
"""Plans whose slots a store keeps per charger (older plans keep only their totals in
SQL). A plan is recorded only when its schedule changes, at most every replan (15
minutes) or trigger: 200 plans are two days and more of replans, about 2 MB of slots
per charger at 96 slots a plan."""


__all__ = ["PLANS_KEPT", "PlanRecord", "ReplanReason"]
