"""`solve_milp`: a mixed-integer program handed to HiGHS through `highspy` in one call.

The least-cost planner solves thousands of small models a simulated year (a week-long
plan: ~5,000 variables, ~10,000 rows, tens of milliseconds each). scipy's public
`milp` wrapped HiGHS with about 6 ms of Python a solve of such a plan (input checks,
an integrality enum built per variable, the model copied field by field) and could
not hand HiGHS options such as `mip_allow_restart` (BENCHMARKS.md, "Least-cost target:
where a month's CPU goes"). `highspy` (MIT, ERGO-Code's own bindings of HiGHS) takes
the whole model as numpy arrays in one `passModel` call: the rows as the CSR arrays
they are built in, the integrality as one array.

The statuses are those the planner acts on: "optimal" (proven within the gap),
"time_limit" (a limit of time, nodes or iterations stopped HiGHS with a feasible
solution: it is returned) and "failed" (no solution: infeasible, unbounded, a limit hit
before any solution, or a model HiGHS rejects, such as a coefficient of 1e15 or more),
as scipy's `milp` reported them before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

FloatArray = npt.NDArray[np.float64]

OptionValue = bool | int | float | str
"""A HiGHS option's value: its type must match the option's (`mip_max_nodes` an int)."""

_STOPPED_EARLY = frozenset(
    {
        highspy.HighsModelStatus.kTimeLimit,
        highspy.HighsModelStatus.kIterationLimit,
        highspy.HighsModelStatus.kSolutionLimit,  # `mip_max_nodes` reached
    }
)
"""Model statuses of a solve stopped by a limit: its best solution is kept if it has one."""


@dataclass(frozen=True)
class Milp:
    """`min cost @ x` with `row_lower <= matrix @ x <= row_upper`, `lower <= x <= upper`,
    `x[integer]` whole numbers; infinite bounds as `np.inf`."""

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    integer: npt.NDArray[np.bool_]
    matrix: sparse.csr_array
    row_lower: FloatArray
    row_upper: FloatArray


@dataclass(frozen=True)
class MilpSolution:
    """HiGHS's answer: `status` "optimal", "time_limit" or "failed"; `x` and `objective`
    (in the cost's units) are None and NaN when it failed."""

    status: str
    x: FloatArray | None
    objective: float


def solve_milp(problem: Milp, options: Mapping[str, OptionValue]) -> MilpSolution:
    """Solve `problem` with HiGHS under `options` (HiGHS's own names), silently.

    A fresh `Highs` per solve (about 0.1 ms): nothing of a previous model or solution can
    steer the next one, and callers on several threads share nothing.
    """
    highs = highspy.Highs()
    _set_options(highs, {"output_flag": False, **options})
    matrix = problem.matrix
    status = highs.passModel(
        problem.cost.size,
        matrix.shape[0],
        matrix.nnz,
        int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        problem.cost,
        problem.lower,
        problem.upper,
        problem.row_lower,
        problem.row_upper,
        matrix.indptr.astype(np.int32, copy=False),
        matrix.indices.astype(np.int32, copy=False),
        matrix.data,
        problem.integer.astype(np.int32),
    )
    if status == highspy.HighsStatus.kError or highs.run() == highspy.HighsStatus.kError:
        return MilpSolution("failed", None, float("nan"))  # e.g. a coefficient above 1e15
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    if model_status == highspy.HighsModelStatus.kOptimal:
        found = "optimal"
    elif model_status in _STOPPED_EARLY and np.isfinite(info.objective_function_value):
        found = "time_limit"
    else:
        return MilpSolution("failed", None, float("nan"))
    x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    return MilpSolution(found, x, float(info.objective_function_value))


def _set_options(highs: highspy.Highs, options: Mapping[str, OptionValue]) -> None:
    """Set each option; an unknown name or a value of the wrong type is a programming
    error, raised rather than ignored (scipy's `milp` only warned)."""
    for name, value in options.items():
        if highs.setOptionValue(name, value) == highspy.HighsStatus.kError:
            raise ValueError(f"HiGHS option {name}={value!r} not accepted")
