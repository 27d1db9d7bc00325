"""`device_native`: the baseline where the charger follows the sun by itself.

Sets the charger's own PV mode (exclusive-PV or PV+min) and the maximum current
as its cap once, then never reads again: what a user gets with no cloud
control at all. The backtest runs it as `device_exclusive_pv` and
`device_pv_min`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import FOREVER, Policy, PolicyContext, hand_over

_MODES = {"exclusive_pv": PvMode.EXCLUSIVE_PV, "pv_min": PvMode.PV_MIN}


class DeviceNativeParams(BaseModel):
    """Parameters of `device_native` (`[policy.device_native]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["exclusive_pv", "pv_min"] = "exclusive_pv"


class DeviceNativePolicy(Policy):
    """Hand the charger its own PV mode once; never read."""

    def __init__(self, params: DeviceNativeParams | None = None) -> None:
        self.params = params or DeviceNativeParams()

    @property
    def name(self) -> str:
        return f"device_{self.params.mode}"

    @property
    def pv_mode(self) -> PvMode:
        """The charger's own mode this baseline uses."""
        return _MODES[self.params.mode]

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Never read: the charger regulates alone."""
        return math.inf

    def next_decision_at(self, ctx: PolicyContext) -> datetime:
        """`FOREVER`: the decision never changes (see `Policy.next_decision_at`), so the
        controller sleeps `idle_max_interval_s` between check-ins instead of
        `max_cycle_interval_s`; it never reads, so nothing else could wake it."""
        return FOREVER

    def decide(self, ctx: PolicyContext) -> Decision:
        """The charger's own mode with the maximum current as cap, always."""
        return hand_over(
            ctx,
            self.name,
            self.pv_mode,
            f"device-native: the charger's own {self.params.mode} mode",
        )
