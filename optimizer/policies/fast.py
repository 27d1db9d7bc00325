"""`fast`: the maximum current the limits allow, sun or not."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import PolicyContext, make_decision


class FastParams(BaseModel):
    """Parameters of `fast` (`[policy.fast]`): none yet, unknown keys are still errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FastPolicy:
    """Charge at the maximum current the limits allow; needs no reads to do so."""

    budget_handover_mode: PvMode | None = None

    def __init__(self, params: FastParams | None = None) -> None:
        self.params = params or FastParams()

    @property
    def name(self) -> str:
        return "fast"

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """No preference: reads only serve the session log and the fuse limit."""
        return None

    def decide(self, ctx: PolicyContext) -> Decision:
        """Maximum power, always."""
        return make_decision(
            ctx,
            self.name,
            charging=True,
            current_a=ctx.limits.max_current_a,
            pv_mode=PvMode.MAX_POWER,
            reason="fast: maximum current",
        )
