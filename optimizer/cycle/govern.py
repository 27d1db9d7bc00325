"""Govern: the rules every policy's decision passes before it reaches the charger.

1. budget hand-over: when the call budget is nearly out, a policy that needs reads
   hands the charger to its own PV mode (`Policy.budget_handover_mode`), which
   follows the sun without us reading;
2. battery guard: the charger's own PV modes regulate on its meter, which a home
   battery holds near zero; once charging, the charger keeps its current while the
   battery covers the shortfall (`adapters.simulator.world.home_battery`), and
   PV+min draws its minimum whatever pays for it. So when the last reading shows the
   battery discharging while the car draws more than the surplus (or, for PV+min,
   the surplus cannot pay for the minimum), and the user has not allowed
   `battery_to_car`, a decision that leaves the regulation to the charger is taken
   back: the controller sets the current the surplus pays for in maximum-power mode,
   or pauses (always when the budget is nearly out: no reads are left to follow the
   sun in maximum-power mode). A minimum promised "always" (`min_solar`) then waits
   until the battery has reached its reserve (or charges): only then does the grid
   pay for it. At the next reading that no longer shows the drain the policy's
   hand-over stands again: exclusive PV restarts on its meter, which shows no
   surplus while the battery absorbs or covers the home, so it does not restart on
   the battery. Between two reads the drain goes unseen (BENCHMARKS.md, "Home
   battery");
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


def battery_would_feed_car(ctx: PolicyContext, mode: PvMode) -> bool:
    """The last reading shows the home battery discharging (beyond `BATTERY_DEADBAND_W`)
    and the charger's own `mode` would have it pay for the car: the car draws more than
    the surplus, or (PV+min) the surplus cannot pay for the minimum current the mode
    always draws. Exclusive PV does not start on the battery by itself: its meter shows
    no surplus while the battery covers the home."""
    if ctx.surplus_w is None or ctx.battery_w <= BATTERY_DEADBAND_W:
        return False
    if ctx.car_power_w > max(ctx.surplus_w, 0.0) + BATTERY_DEADBAND_W:
        return True
    return mode is PvMode.PV_MIN and ctx.surplus_w < ctx.limits.min_power_w


def guard_battery(decision: Decision, ctx: PolicyContext) -> Decision:
    """Take the regulation back from the charger's PV mode while it would drain the home
    battery into the car (see the module doc); unchanged when `battery_to_car` allows it."""
    mode = decision.pv_mode
    if ctx.battery_to_car or mode is PvMode.MAX_POWER or not decision.charging:
        return decision
    if not battery_would_feed_car(ctx, mode):
        return decision
    assert ctx.surplus_w is not None  # battery_would_feed_car checked it
    limits = ctx.limits
    amps = surplus_current_a(ctx, ctx.surplus_w)
    why = (
        f"the home battery ({ctx.battery_w:.0f} W) would feed the car "
        f"({ctx.car_power_w:.0f} W, {ctx.surplus_w:.0f} W surplus) in the charger's "
        f"{mode.name} mode (policy wanted: {decision.reason})"
    )
    if amps < limits.min_current_a or ctx.budget_nearly_out:  # no reads left to follow the sun
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
