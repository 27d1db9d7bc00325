"""How often `target`'s least-cost planner replans, why, and what the forecast trigger costs.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/replan_reasons.py [--days 14]
        [--start 2017-06-01] [--shares none,inf,0.05,0.10,0.20]

Runs `target` with `planner = "least_cost"` on real-2017 (the day-ahead prices of the
data set, published at 13:00 local the day before) once per share of
`FORECAST_MOVED_SHARE` (`inf`: no forecast trigger at all; `none`: neither the forecast
nor the prices trigger, the planner as it was before them) and prints, per run, the
plans made and recorded by reason (a periodic replan that repeats the schedule is made,
not recorded), the plans recorded per day, the cost,
the unmet energy and the commands a day, so the threshold's choice can be read off.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from dataclasses import replace
from datetime import date
from typing import Any

import optimizer.backtest.engine as engine
import optimizer.policies.least_cost_plan as least_cost_plan
from adapters.storage.memory import MemoryStore
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import BacktestSetup, policy_contender, run_backtest
from optimizer.backtest.metrics import compute_metrics
from optimizer.planning.record import PlanRecord
from optimizer.policies.registry import PolicyConfig


class CountingStore(MemoryStore):
    """Counts every recorded plan by reason (the memory store keeps only the last ones)."""

    last: CountingStore | None = None

    def __init__(self) -> None:
        super().__init__()
        self.reasons: Counter[str] = Counter()
        CountingStore.last = self

    def record_plan(self, plan: PlanRecord) -> None:
        super().record_plan(plan)
        self.reasons[plan.reason.value] += 1


def _never(*args: object, **kwargs: object) -> bool:
    return False


def run(share: float, start: date, days: int, *, prices: bool = True) -> dict[str, Any]:
    """One backtest with the forecast trigger at `share`; without `prices` the planner
    never looks for new prices between periodic replans (the triggers before this one:
    plug-in, target, periodic)."""
    least_cost_plan.FORECAST_MOVED_SHARE = share
    planner = least_cost_plan.LeastCostPlanner
    looks, offer = planner._prices_changed, planner._offer
    made: Counter[str] = Counter()

    def counted(self: least_cost_plan.LeastCostPlanner, record: PlanRecord) -> None:
        made[record.reason.value] += 1
        offer(self, record)

    planner._offer = counted  # type: ignore[method-assign]
    if not prices:
        planner._prices_changed = _never  # type: ignore[method-assign]
    inputs = load_real_2017(start, days)
    policies = PolicyConfig()
    policies = policies.model_copy(
        update={"target": policies.target.model_copy(update={"planner": "least_cost"})}
    )
    setup = replace(BacktestSetup(), policies=policies)
    original = engine.MemoryStore
    engine.MemoryStore = CountingStore  # type: ignore[misc]
    try:
        result = run_backtest(inputs, policy_contender("target"), setup)
    finally:
        engine.MemoryStore = original  # type: ignore[misc]
        planner._prices_changed = looks  # type: ignore[method-assign]
        planner._offer = offer  # type: ignore[method-assign]
    store = CountingStore.last
    assert store is not None
    metrics = compute_metrics(result)
    return {"share": share, "made": dict(made), "reasons": dict(store.reasons), "metrics": metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2017-06-01")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--shares", default="none,inf,0.05,0.10,0.20")
    args = parser.parse_args()
    for text in args.shares.split(","):
        share = math.inf if text in ("inf", "none") else float(text)
        out = run(share, date.fromisoformat(args.start), args.days, prices=text != "none")
        metrics = out["metrics"]
        keys = ("cost", "unmet_kwh", "commands_per_day", "grid_kwh", "solar_kwh")
        picked = {k: metrics.get(k) for k in keys}
        recorded = sum(out["reasons"].values())
        made = sum(out["made"].values())
        print(
            f"share {text}: plans made {made} {out['made']}; recorded {recorded} "
            f"({recorded / args.days:.1f}/day) {out['reasons']} {picked}",
            flush=True,
        )


if __name__ == "__main__":
    main()
