"""Why `target` (least cost) replans: solves by reason on the sampled year of real-2017.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replans.py --pattern home_office

Runs `least_cost_year.sampled` (the first `--sample-days` days of each month, `target`
only) and counts each solve by its `ReplanReason`, split by whether the deadline was more
than a day away, with the solve CPU (s) per reason and how many of the new plans repeat
the schedule of the plan they replaced (`PlanRecord.same_schedule`). Prints one JSON
line with the run's cost (EUR), misses, starts a day and CPU (s). BENCHMARKS.md
"Forecast replans that cannot change the plan" was measured this way.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from datetime import datetime

import optimizer.policies.least_cost_plan as least_cost_plan
from benchmarks.least_cost_year import PATTERNS, sampled
from optimizer.planning.plan import ChargePlan
from optimizer.planning.record import PlanRecord
from optimizer.policies.base import PolicyContext

DAY_S = 86400.0


def count_replans(pattern: str, days: int) -> dict[str, object]:
    """The sampled year's `target` totals with its solves counted by reason."""
    count: Counter[str] = Counter()
    cpu: defaultdict[str, float] = defaultdict(float)
    same: Counter[str] = Counter()
    current = least_cost_plan.LeastCostPlanner.current

    def counted(
        self: least_cost_plan.LeastCostPlanner,
        ctx: PolicyContext,
        target_wh: float,
        departure: datetime,
        deadline: datetime,
        delivered_wh: float | None = None,
    ) -> ChargePlan:
        before, solves, start = self.plan, self.solves, time.process_time()
        plan = current(self, ctx, target_wh, departure, deadline, delivered_wh)
        if self.solves == solves or self.reason is None:
            return plan
        far = (deadline - ctx.now).total_seconds() > DAY_S
        name = f"{self.reason.value} ({'>' if far else '<='} 24 h)"
        count[name] += 1
        cpu[name] += time.process_time() - start
        if before is not None:
            old, new = (
                PlanRecord(ctx.device_id, ctx.now, self.reason, departure, p)
                for p in (before, plan)
            )
            same[name] += old.same_schedule(new)
        return plan

    least_cost_plan.LeastCostPlanner.current = counted  # type: ignore[method-assign]
    try:
        report = sampled(pattern, days, "least_cost", ("target",))
    finally:
        least_cost_plan.LeastCostPlanner.current = current  # type: ignore[method-assign]
    total = report["runs"]["target"]["total"]
    return {
        "pattern": pattern,
        "cost_eur": round(total["cost"], 4),
        "feasible_misses": total["feasible_misses"],
        "starts_per_day": round(total["starts_per_day"], 3),
        "run_cpu_s": total["cpu_s"],
        "solves": report["solves"]["count"],
        "solve_cpu_s": round(report["solves"]["cpu_total_s"], 1),
        "by_reason": dict(count.most_common()),
        "solve_cpu_s_by_reason": {k: round(v, 1) for k, v in cpu.items()},
        "same_schedule": dict(same),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", choices=sorted(PATTERNS), default="commuter")
    parser.add_argument("--sample-days", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(count_replans(args.pattern, args.sample_days)))


if __name__ == "__main__":
    main()
