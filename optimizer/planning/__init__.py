"""Least-cost charging plans to a departure: pure functions over numpy arrays.

`PlanRequest` (prices, pessimistic surplus, limits, energy wanted, per slot) goes
into `least_cost_schedule`, a `ChargePlan` comes out. `slot_prices` samples a
`PriceSeries` onto the plan's slots.

Names are imported on first access (`optimizer.lazy_exports`): the solver (highspy,
scipy's sparse matrices) loads only when a plan is solved, not in a daemon whose
`target` plans by window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from optimizer.planning.least_cost import least_cost_schedule
    from optimizer.planning.plan import ChargePlan, PlannedSlot, SlotMode
    from optimizer.planning.record import PLANS_KEPT, PlanRecord, ReplanReason
    from optimizer.planning.request import ChargerNow, PlanRequest, TaperLine, taper_caps_w

__all__ = [
    "PLANS_KEPT",
    "ChargePlan",
    "ChargerNow",
    "PlanRecord",
    "PlanRequest",
    "PlannedSlot",
    "ReplanReason",
    "SlotMode",
    "TaperLine",
    "least_cost_schedule",
    "taper_caps_w",
]

__getattr__ = lazy_exports(__name__, __file__)
