"""`off`: keep the charger paused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import PolicyContext, pause


class OffParams(BaseModel):
    """Parameters of `off` (`[policy.off]`): none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OffPolicy:
    """Keep the charger paused."""

    budget_handover_mode: PvMode | None = None

    def __init__(self, params: OffParams | None = None) -> None:
        self.params = params or OffParams()

    @property
    def name(self) -> str:
        return "off"

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """No preference."""
        return None

    def decide(self, ctx: PolicyContext) -> Decision:
        """Paused, always."""
        return pause(ctx, self.name, "off: charging paused")
