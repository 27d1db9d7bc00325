"""Govern: the rules every policy's decision passes before it reaches the charger.

1. budget hand-over: when the call budget is nearly out, a policy that needs reads
   hands the charger to its own PV mode (`Policy.budget_handover_mode`), which
   follows the sun without us reading;
2. limits: the main fuse and the grid-import cap cut the setpoint, and a charger
   that cannot get even its minimum current within them pauses.

Each rule that changes the decision says so in its reason. Pure functions.
"""

from __future__ import annotations

from dataclasses import replace

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import Policy, PolicyContext, hand_over


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
    return apply_limits(decision, ctx)


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
