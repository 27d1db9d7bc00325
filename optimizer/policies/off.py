"""`off`: keep the charger paused."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from optimizer.interfaces import Decision
from optimizer.policies.base import FOREVER, Policy, PolicyContext, pause


class OffParams(BaseModel):
    """Parameters of `off` (`[policy.off]`).

    A paused charger needs no reads; the few it gets keep the session log and
    the plug state current.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    read_interval_s: float = Field(default=1800.0, gt=0, description="Seconds between reads")


class OffPolicy(Policy):
    """Keep the charger paused."""

    name = "off"

    def __init__(self, params: OffParams | None = None) -> None:
        self.params = params or OffParams()

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Paused: read rarely (s)."""
        return self.params.read_interval_s

    def next_decision_at(self, ctx: PolicyContext) -> datetime:
        """`FOREVER`: paused whatever happens (see `Policy.next_decision_at`)."""
        return FOREVER

    def decide(self, ctx: PolicyContext) -> Decision:
        """Paused, always."""
        return pause(ctx, self.name, "off: charging paused")
