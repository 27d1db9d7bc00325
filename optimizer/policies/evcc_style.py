"""`evcc_style`: the baseline that mimics evcc's PV mode, run through the same controller.

evcc enables charging once the surplus has covered the minimum current for an
enable delay (60 s), disables it once it has been short for a disable delay
(180 s), and sets current = surplus / (phases * 230 V) truncated to whole amps.
Its loop period (30 s, or 90 s when held to the 1000-call budget) is not the
policy's business: it comes from the `FixedIntervalSchedule` the backtest pairs
it with. The charger waits paused without a car, as evcc leaves it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import Policy, PolicyContext, charge_at, pause, surplus_current_a
from optimizer.policies.hysteresis import StartStopGate


class EvccStyleParams(BaseModel):
    """Parameters of `evcc_style` (`[policy.evcc_style]`); defaults are evcc's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enable_delay_s: float = Field(default=60.0, ge=0.0)
    disable_delay_s: float = Field(default=180.0, ge=0.0)
    threshold_w: float = Field(default=0.0, ge=0.0, description="Extra surplus to enable (W)")
    voltage_v: float = Field(default=230.0, gt=0.0, description="evcc's flat voltage (V)")


class EvccStylePolicy(Policy):
    """evcc-like surplus charging: delays, truncated amps, no smoothing, no hand-over."""

    budget_handover_mode: PvMode | None = PvMode.EXCLUSIVE_PV

    def __init__(self, params: EvccStyleParams | None = None) -> None:
        self.params = params or EvccStyleParams()
        self.gate = StartStopGate(self.params.enable_delay_s, self.params.disable_delay_s)

    @property
    def name(self) -> str:
        return "evcc_style"

    def decide(self, ctx: PolicyContext) -> Decision:
        """On/off with delays, current from the surplus at a flat 230 V."""
        if ctx.plugged_in is not True or ctx.surplus_w is None:
            self.gate.reset()
            return pause(ctx, self.name, "no car (or state unknown): paused, as evcc leaves it")
        p = self.params
        keep_w = ctx.limits.min_current_a * ctx.limits.phases * p.voltage_v
        why = self.gate.update(ctx.now, ctx.surplus_w, keep_w + p.threshold_w, keep_w)
        if not self.gate.on:
            return pause(ctx, self.name, why)
        amps = ctx.limits.clamp_current(surplus_current_a(ctx, ctx.surplus_w, p.voltage_v))
        return charge_at(ctx, self.name, amps, f"{why}; {amps} A")
