"""The call-budget planner: 1000 calls a day per account, reads where they matter.

`BudgetPlanner` is the product's scheduler; `FixedIntervalSchedule` gives the
baselines (a fixed polling loop, optionally held to the daily limit, or never).
Both implement `ReadScheduler`, the only thing the controller depends on.
"""

from optimizer.budget.allocation import allocate_rates, read_weight
from optimizer.budget.config import BudgetConfig, BudgetConfigError
from optimizer.budget.fixed import FixedIntervalSchedule
from optimizer.budget.ledger import CallLedger
from optimizer.budget.plan import BudgetPlan, PlannedRead
from optimizer.budget.planner import BudgetPlanner, PvProfile
from optimizer.budget.scheduler import LedgeredScheduler, ReadContext, ReadScheduler

__all__ = [
    "BudgetConfig",
    "BudgetConfigError",
    "BudgetPlan",
    "BudgetPlanner",
    "CallLedger",
    "FixedIntervalSchedule",
    "LedgeredScheduler",
    "PlannedRead",
    "PvProfile",
    "ReadContext",
    "ReadScheduler",
    "allocate_rates",
    "read_weight",
]
