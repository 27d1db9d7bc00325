"""`fast`: the maximum current the limits allow, sun or not."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from optimizer.interfaces import Decision
from optimizer.policies.base import Policy, PolicyContext, charge_at


class FastParams(BaseModel):
    """Parameters of `fast` (`[policy.fast]`).

    Charging flat out needs no reads; without a main fuse limit they only keep the
    session log current, so they are spaced out instead of spending the budget.
    With a fuse configured every read the budget allows is kept: the household
    can rise at any moment and the controller caps the current from the reading.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    read_interval_s: float = Field(
        default=900.0, gt=0, description="Seconds between reads without a main fuse limit"
    )


class FastPolicy(Policy):
    """Charge at the maximum current the limits allow; needs no reads to do so."""

    name = "fast"

    def __init__(self, params: FastParams | None = None) -> None:
        self.params = params or FastParams()

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Few reads (s), unless a main fuse needs watching (then the planner decides)."""
        if ctx.limits.main_fuse_w is not None:
            return None
        return self.params.read_interval_s

    def decide(self, ctx: PolicyContext) -> Decision:
        """Maximum power, always."""
        return charge_at(ctx, self.name, ctx.limits.max_current_a, "fast: maximum current")
