"""Govern: the rules every policy's decision passes before it reaches the charger.

1. budget hand-over: when the call budget is nearly out, a policy that needs reads
   hands the charger to its own PV mode (`Policy.budget_handover_mode`), which
   follows the sun without us reading;
2. battery guard: the charger's own PV modes regulate on its meter, which a home
   battery holds near zero; once charging, the charger keeps its current while the
   battery covers the shortfall (`adapters.simulator.world.home_battery`). So when
   the last reading shows the battery discharging while the car draws more than the
   surplus, and the user has not allowed `battery_to_car`, a decision that leaves the
   regulation to the charger is taken back: the controller sets the current the
   surplus pays for in maximum-power mode (a PV+min hand-over keeps its minimum),
   or pauses. At the next reading that no longer shows the drain the policy's
   hand-over stands again: the charger restarts on its meter, which shows no surplus
   while the battery absorbs or covers the home, so it does not restart on the battery.
   Since the drain goes unseen between reads, a policy's wish for rare reads is cut to
   `BATTERY_WATCH_READ_S` while the charger charges in its own PV mode in such a home
   (`battery_read_hint`; the budget planner still decides when reads are due);
3. limits: the main fuse and the grid-import cap cut the setpoint, and a charger
   that cannot get even its minimum current within them pauses.

Each rule that changes the decision says so in its reason. Pure functions.
"""

from __future__ import annotations

from dataclasses import replace

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import (
    Policy,
    PolicyContext,
    charge_at,
    hand_over,
    pause,
    surplus_current_a,
)

BATTERY_DEADBAND_W = 100.0
"""Battery discharge and car draw beyond the surplus below this (W) are meter noise."""

BATTERY_WATCH_READ_S = 120.0
"""Reads at least this often (s) while the charger's own PV mode charges a car in a home
with a battery: between reads it could drain the battery unseen (see `battery_read_hint`)."""


def govern(decision: Decision, ctx: PolicyContext, policy: Policy) -> Decision:
    """`policy`'s `decision` for `ctx` after the budget hand-over and the limits."""
    if ctx.budget_nearly_out:
        mode = policy.budget_handover_mode
        if mode is not None:
            decision = hand_over(
                ctx,
                policy.name,
                mode,
                f"call budget nearly out: the charger's own {mode.name} mode takes over "
                f"(policy wanted: {decision.reason})",
            )
    return apply_limits(guard_battery(decision, ctx), ctx)


def battery_feeds_car(ctx: PolicyContext) -> bool:
    """The last reading shows the home battery discharging while the car draws more than
    the surplus (W, beyond `BATTERY_DEADBAND_W`): the battery pays for part of the car."""
    if ctx.surplus_w is None or ctx.battery_w <= BATTERY_DEADBAND_W:
        return False
    return ctx.car_power_w > max(ctx.surplus_w, 0.0) + BATTERY_DEADBAND_W


def guard_battery(decision: Decision, ctx: PolicyContext) -> Decision:
    """Take the regulation back from the charger's PV mode while it drains the home
    battery into the car (see the module doc); unchanged when `battery_to_car` allows it."""
    regulating = decision.pv_mode is PvMode.MAX_POWER
    if ctx.battery_to_car or regulating or not decision.charging or not battery_feeds_car(ctx):
        return decision
    assert ctx.surplus_w is not None  # battery_feeds_car checked it
    limits = ctx.limits
    amps = surplus_current_a(ctx, ctx.surplus_w)
    why = (
        f"the home battery ({ctx.battery_w:.0f} W) feeds the car ({ctx.car_power_w:.0f} W) "
        f"beyond the {ctx.surplus_w:.0f} W surplus in the charger's {decision.pv_mode.name} "
        f"mode (policy wanted: {decision.reason})"
    )
    if decision.pv_mode is PvMode.PV_MIN:
        amps = max(amps, limits.min_current_a)
    elif amps < limits.min_current_a:
        return pause(ctx, decision.policy, f"{why}: pause")
    amps = limits.clamp_current(amps)
    return charge_at(ctx, decision.policy, amps, f"{why}: {amps} A in maximum-power mode")


def apply_limits(decision: Decision, ctx: PolicyContext) -> Decision:
    """Cut the setpoint to the fuse and grid-import caps; pause if not even the minimum fits.

    The grid-import cap (surplus + allowed import) binds only while the controller
    regulates (MAX_POWER): in its own PV modes the charger follows the sun itself.
    """
    if not decision.charging:
        return decision
    limits = ctx.limits
    regulating = decision.pv_mode is PvMode.MAX_POWER
    cap = limits.cap_current_a(
        household_w=ctx.household_w, surplus_w=ctx.surplus_w if regulating else None
    )
    if cap < limits.min_current_a:
        return replace(
            decision,
            charging=False,
            reason=f"{decision.reason}; limits allow only {cap} A (< minimum "
            f"{limits.min_current_a} A): pause",
        )
    if decision.current_a > cap:
        return replace(
            decision,
            current_a=cap,
            reason=f"{decision.reason}; capped to {cap} A by the fuse/grid-import limits",
        )
    return decision


def battery_read_hint(hint: float | None, ctx: PolicyContext) -> float | None:
    """The policy's read-interval `hint` (s), at most `BATTERY_WATCH_READ_S` while the
    charger's own PV mode charges the car in a home whose battery the last reading showed
    and `battery_to_car` is off; None (the planner decides) stays None."""
    own_mode = ctx.commanded.pv_mode in (PvMode.EXCLUSIVE_PV, PvMode.PV_MIN)
    if hint is None or ctx.battery_to_car or ctx.battery_w == 0.0 or not ctx.charging:
        return hint
    return min(hint, BATTERY_WATCH_READ_S) if own_mode else hint
