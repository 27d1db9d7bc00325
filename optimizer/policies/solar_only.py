"""`solar_only`: charge the car from solar surplus only.

Starts when the surplus covers the minimum current (plus a threshold) for an
enable delay, stops when it falls below for a disable delay or when a dip has
drawn more than a deficit budget from the grid; in between the current is
floor(surplus / (phases * V)) clamped to the limits. With a steady sky the
policy may hand the fine regulation to the charger's own exclusive-PV mode and
ask for rare reads: the charger follows the sun for free.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import (
    PolicyContext,
    hand_over,
    make_decision,
    pause,
    surplus_current_a,
)
from optimizer.policies.hysteresis import StartStopGate, WindowMinimum


class SolarOnlyParams(BaseModel):
    """Parameters of `solar_only` (`[policy.solar_only]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold_w: float = Field(
        default=0.0, ge=0.0, description="Surplus above minimum power to start (W)"
    )
    enable_delay_s: float = Field(
        default=60.0, ge=0.0, description="Surplus must hold this long to start (s)"
    )
    disable_delay_s: float = Field(
        default=300.0, ge=0.0, description="Deficit must last this long to stop (s)"
    )
    deficit_budget_wh: float | None = Field(
        default=50.0,
        ge=0.0,
        description="Grid energy a dip may draw before stopping early (Wh); None: delay only",
    )
    current_window_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Current follows the minimum surplus over this window (s); 0: latest",
    )
    handover_max_variability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Hand regulation to the charger's exclusive-PV mode when the forecast "
        "variability is at most this; None: never",
    )
    handover_read_interval_s: float = Field(
        default=900.0, gt=0.0, description="Reads wanted while the charger regulates itself (s)"
    )


class SolarOnlyPolicy:
    """Charge only from surplus, with hysteresis, smoothing and optional hand-over."""

    budget_handover_mode: PvMode | None = PvMode.EXCLUSIVE_PV

    def __init__(self, params: SolarOnlyParams | None = None, *, name: str = "solar_only") -> None:
        self.params = params or SolarOnlyParams()
        self._name = name
        p = self.params
        self.gate = StartStopGate(p.enable_delay_s, p.disable_delay_s, p.deficit_budget_wh)
        self._window = WindowMinimum(p.current_window_s)
        self._handed_over = False

    @property
    def name(self) -> str:
        return self._name

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Few reads while the charger regulates itself; else the budget decides."""
        return self.params.handover_read_interval_s if self._handed_over else None

    def decide(self, ctx: PolicyContext) -> Decision:
        """Desired state for the surplus in `ctx` (see the module docstring)."""
        if ctx.plugged_in is not True or ctx.surplus_w is None:
            self._handed_over = False
            self.gate.reset()
            self._window.clear()
            return hand_over(
                ctx,
                self.name,
                PvMode.EXCLUSIVE_PV,
                "no car (or state unknown): charger waits in exclusive-PV mode so an arriving "
                "car starts from the sun without a call",
            )
        if self._steady_sky(ctx):
            if not self._handed_over:
                self._handed_over = True
            return hand_over(
                ctx,
                self.name,
                PvMode.EXCLUSIVE_PV,
                f"steady sky (variability {ctx.variability:.2f}): the charger's exclusive-PV mode "
                "follows the sun at no call cost, reading rarely",
            )
        if self._handed_over:
            # Coming back from the charger's own regulation: continue from what it did.
            self._handed_over = False
            self.gate.reset(on=ctx.charging)
            self._window.clear()
        return self.follow_surplus(ctx, ctx.surplus_w)

    def follow_surplus(self, ctx: PolicyContext, surplus_w: float) -> Decision:
        """Fine regulation by the controller: hysteresis on/off, current from the surplus."""
        limits = ctx.limits
        keep_w = limits.min_power_w
        why = self.gate.update(ctx.now, surplus_w, keep_w + self.params.threshold_w, keep_w)
        smoothed_w = self._window.add(ctx.now, surplus_w)
        if not self.gate.on:
            return pause(ctx, self.name, why)
        amps = limits.clamp_current(surplus_current_a(ctx, smoothed_w))
        return make_decision(
            ctx,
            self.name,
            charging=True,
            current_a=amps,
            pv_mode=PvMode.MAX_POWER,
            reason=f"{why}; {amps} A from {smoothed_w:.0f} W surplus",
            deficit_wh=self.gate.deficit_wh,
        )

    def _steady_sky(self, ctx: PolicyContext) -> bool:
        limit = self.params.handover_max_variability
        variability = ctx.variability
        return limit is not None and variability is not None and variability <= limit
