"""`solve_milp`: HiGHS through highspy, and the three statuses the planner acts on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from optimizer.highs_milp import Milp, solve_milp


def knapsack(capacity: float) -> Milp:
    """Pick whole items of weights 3, 4, 5 (values 4, 5, 7) within `capacity`: the
    objective is minus the value."""
    weights = np.array([3.0, 4.0, 5.0])
    return Milp(
        cost=-np.array([4.0, 5.0, 7.0]),
        lower=np.zeros(3),
        upper=np.ones(3),
        integer=np.ones(3, dtype=bool),
        matrix=sparse.csr_array(weights[None, :]),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([capacity]),
    )


def test_the_optimum_of_a_small_knapsack() -> None:
    """Capacity 9: items 2 and 3 (value 12); the LP relaxation takes items 3 and 1 and a
    quarter of item 2 (12.25)."""
    solution = solve_milp(knapsack(9.0), {})
    assert solution.status == "optimal"
    assert solution.x is not None
    assert solution.x.tolist() == pytest.approx([0.0, 1.0, 1.0])
    assert solution.objective == pytest.approx(-12.0)


def test_continuous_variables_stay_fractional() -> None:
    relaxed = knapsack(9.0)
    relaxed = Milp(**{**relaxed.__dict__, "integer": np.zeros(3, dtype=bool)})
    solution = solve_milp(relaxed, {})
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(-12.25)


def test_a_limit_with_a_solution_returns_it_as_time_limit() -> None:
    """40 random items, stopped at the first improving solution (a solution limit, as
    the node limit is): the solution is kept, marked "time_limit"."""
    rng = np.random.default_rng(1)
    weights = rng.integers(20, 60, 40).astype(float)
    problem = Milp(
        cost=-(weights + rng.integers(0, 10, 40)),
        lower=np.zeros(40),
        upper=np.ones(40),
        integer=np.ones(40, dtype=bool),
        matrix=sparse.csr_array(weights[None, :]),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([weights.sum() / 2 + 0.5]),
    )
    solution = solve_milp(problem, {"mip_max_improving_sols": 1})
    assert solution.status == "time_limit"
    assert solution.x is not None
    assert float(weights @ solution.x) <= weights.sum() / 2 + 0.5 + 1e-9
    assert solution.objective == pytest.approx(float(problem.cost @ solution.x))


def test_a_limit_before_any_solution_fails() -> None:
    solution = solve_milp(knapsack(9.0), {"time_limit": 0.0})
    assert (solution.status, solution.x) == ("failed", None)
    assert np.isnan(solution.objective)


def test_an_infeasible_model_fails() -> None:
    """At least 20 of weight with at most 12 to hand."""
    infeasible = knapsack(9.0)
    infeasible = Milp(**{**infeasible.__dict__, "row_lower": np.array([20.0])})
    solution = solve_milp(infeasible, {})
    assert (solution.status, solution.x) == ("failed", None)


@pytest.mark.parametrize("options", [{"no_such_option": 1}, {"mip_max_nodes": 1.5}])
def test_an_option_highs_does_not_accept_is_an_error(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="not accepted"):
        solve_milp(knapsack(9.0), options)


def test_a_model_highs_rejects_fails() -> None:
    """A coefficient of 1e200 (a row divided by an energy wanted of 1e-200 Wh): HiGHS
    refuses the model; that is no solution, not an exception."""
    rejected = knapsack(9.0)
    rejected = Milp(**{**rejected.__dict__, "matrix": sparse.csr_array([[3.0, 4.0, 1e200]])})
    solution = solve_milp(rejected, {})
    assert (solution.status, solution.x) == ("failed", None)
