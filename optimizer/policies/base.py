"""What a charging policy is: a `Policy` turns a `PolicyContext` into a `Decision`.

The controller gathers everything a policy may look at into one immutable
`PolicyContext` (the estimated surplus, the limits, what was last commanded,
the cached forecast, the budget's state); the policy answers with a `Decision`
and a human reason. Policies never call the charger, the clock or the store,
so the same policy object behaves identically in the daemon and in backtests.
Policies may keep state between calls (timers for enable/disable delays); one
policy instance serves exactly one charger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from optimizer.frozen import quick_init
from optimizer.interfaces import Decision, PvForecast, PvMode
from optimizer.limits import ChargerLimits, whole_amps

if TYPE_CHECKING:
    from optimizer.planning.record import PlanRecord


@quick_init
@dataclass(frozen=True, slots=True)
class CommandedState:
    """What the controller last told the charger; None where it does not know yet.

    `currentstatecharge` does not report the PV mode, so the controller keeps
    this record itself instead of asking.
    """

    current_a: int | None = None
    pv_mode: PvMode | None = None
    charging: bool | None = None
    energy_cap_wh: int | None = None
    """The session energy limit set on the charger (Wh); None: none set this session."""


@quick_init
@dataclass(frozen=True, slots=True)
class PolicyContext:
    """Everything a policy may use for one decision.

    Powers in W, energies in Wh, times tz-aware UTC. `surplus_w` is the PV power
    left after the household *without* the car: what the car could take from the
    sun. It comes from a reading made this cycle when `fresh` is True, otherwise
    it is extrapolated from the last reading with the forecast. None means
    nothing is known yet (no reading so far).

    With a home battery `household_w` is the household's own consumption (the
    battery's power taken out of the meter's view) and `surplus_w` never counts the
    battery's discharge unless `battery_to_car` allows it (see
    `optimizer.cycle.estimate`); `battery_w` is the battery's power at the last
    reading (W, + discharging, - charging; 0 without a battery). Policies need not
    look at it: the estimate and govern do.

    `import_eur_per_kwh` is the grid import price in force at `now` (EUR/kWh) as the
    site's prices know it already (never fetched for the decision), None when none is
    known; every decision records it.
    """

    now: datetime
    device_id: str
    limits: ChargerLimits
    plugged_in: bool | None
    charging: bool
    car_power_w: float
    surplus_w: float | None
    pv_w: float | None
    household_w: float | None
    fresh: bool
    reading_age_s: float | None
    session_energy_wh: float
    commanded: CommandedState
    forecast: PvForecast | None = None
    budget_nearly_out: bool = False
    target_wh: float | None = None
    departure: datetime | None = None
    timezone: tzinfo = UTC
    battery_w: float = 0.0
    battery_to_car: bool = False
    import_eur_per_kwh: float | None = None

    @property
    def variability(self) -> float | None:
        """Sky variability of the cached forecast (0 steady .. 1 broken clouds), if any."""
        return None if self.forecast is None else self.forecast.variability


FOREVER = datetime.max.replace(tzinfo=UTC)
"""`next_decision_at` for a decision that no passing of time alone can change."""


@runtime_checkable
class Policy(Protocol):
    """A charging strategy for one charger; implementations inherit it for its defaults.

    `budget_handover_mode` is the charger's own PV mode the controller hands
    the charger to when the call budget is nearly out; by default None: this
    policy needs no reads, keep its decision (a policy steering from readings
    names its mode).
    """

    budget_handover_mode: PvMode | None = None

    @property
    def name(self) -> str: ...

    def decide(self, ctx: PolicyContext) -> Decision:
        """The desired charger state now, with a reason."""
        ...

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Hint for the controller's read gate (s).

        Lets a policy that handed regulation to the charger ask for fewer reads;
        `math.inf`: never read. By default None, no preference: the budget planner
        alone decides.
        """
        return None

    def next_decision_at(self, ctx: PolicyContext) -> datetime | None:
        """The earliest time the decision made for `ctx` could change (UTC), or None.

        Asked right after `decide(ctx)`: the earliest time at which `decide` could
        answer differently (charging, current, PV mode) or change the policy's own
        state or its read hint (`preferred_read_interval_s`), as long as no new reading
        comes in and the context moves only with the clock, the forecast and the session
        target; `FOREVER` when only a reading can change it. With a promise the
        controller may sleep until the next read instead of checking in (and through
        the check-ins its read hint keeps from reading). By default None, no promise:
        the controller then decides every `max_cycle_interval_s`.
        """
        return None

    def slept_past(self, context: Callable[[], PolicyContext]) -> None:
        """The controller slept past check-ins on a promise (`next_decision_at`);
        `context()` builds the context the last of them would have decided on (no
        reading, the forecast in force then), only if asked. Told before the next
        cycle's `decide`.

        A policy whose own state moves with the clock whatever it decides (`target`
        recomputes its plan at every check-in) brings that state to where the check-in
        would have left it, so the next decision and its reason are the ones a controller
        checking in all along would have made. By default a no-op: a promise means
        nothing in the policy changes before it.
        """
        return None

    def decide_again_by(self, ctx: PolicyContext) -> datetime | None:
        """The latest time (UTC) the decision made for `ctx` must be looked at again even
        without a reading, when that is sooner than the next check-in; or None.

        Asked right after `decide(ctx)`: a car charging at a fixed current towards a
        target reaches it at a time the policy can tell from the current it set; the
        controller then decides again at that time instead of at its next check-in
        (up to `max_cycle_interval_s` later, minutes of energy past the target). By
        default None: the check-ins and reads alone set the pace.
        """
        return None

    def default_target_wh(self) -> float | None:
        """Energy a session wants (Wh) when nobody set a per-session target.

        Recorded with each session to judge whether it was met; by default None
        (a policy without an energy goal).
        """
        return None

    def take_plan(self) -> PlanRecord | None:
        """A new plan made by the last `decide`, handed out once for the store (the
        controller records it); None when there is none. By default None: a policy
        that makes no plans."""
        return None

    @property
    def makes_plans(self) -> bool:
        """Whether `take_plan` ever hands out a plan (for a page or a command to say why
        there is none). By default False, as `take_plan` by default makes none."""
        return False

    def learned_state(self) -> Mapping[str, object] | None:
        """What the policy learned that a restart should not lose, JSON-able (e.g. the
        household's usual load per hour, W); None when it learns nothing (the default).

        Asked after every decision; the daemon keeps it in the store when it changed
        (compared by value: return the same object while nothing new was learned, and
        change it only now and then, an hour folding, not every cycle)."""
        return None

    def restore_learned(self, state: Mapping[str, object]) -> None:
        """Go on from a `learned_state()` kept before a restart. Raises ValueError
        naming what is wrong for a state it does not recognise (corrupt, another
        policy's or version's), and then learns afresh. By default a no-op: a policy
        that learns nothing has nothing to restore."""
        return None


def make_decision(
    ctx: PolicyContext,
    policy: str,
    *,
    charging: bool,
    current_a: int,
    pv_mode: PvMode,
    reason: str,
    **details: float | str | None,
) -> Decision:
    """Build a `Decision` stamped with the context's time, device, surplus and import price."""
    return Decision(
        time=ctx.now,
        device_id=ctx.device_id,
        policy=policy,
        charging=charging,
        current_a=current_a,
        pv_mode=pv_mode,
        reason=reason,
        surplus_w=ctx.surplus_w,
        details=dict(details),
        import_eur_per_kwh=ctx.import_eur_per_kwh,
    )


def pause(ctx: PolicyContext, policy: str, reason: str) -> Decision:
    """A decision to pause; the PV mode is left as last commanded (no call needed)."""
    mode = ctx.commanded.pv_mode if ctx.commanded.pv_mode is not None else PvMode.MAX_POWER
    return make_decision(
        ctx, policy, charging=False, current_a=ctx.limits.min_current_a, pv_mode=mode, reason=reason
    )


def hand_over(
    ctx: PolicyContext, policy: str, mode: PvMode, reason: str, **details: float | str | None
) -> Decision:
    """Let the charger follow the sun by itself in `mode`, with the maximum current as cap."""
    return charge_at(ctx, policy, ctx.limits.max_current_a, reason, pv_mode=mode, **details)


def charge_at(
    ctx: PolicyContext,
    policy: str,
    current_a: int,
    reason: str,
    *,
    pv_mode: PvMode = PvMode.MAX_POWER,
    **details: float | str | None,
) -> Decision:
    """Charge at `current_a` (A); in maximum-power mode the controller sets the current."""
    return make_decision(
        ctx, policy, charging=True, current_a=current_a, pv_mode=pv_mode, reason=reason, **details
    )


def surplus_current_a(ctx: PolicyContext, surplus_w: float, voltage_v: float | None = None) -> int:
    """Whole amps the surplus pays for (floor), using the limits' phases and voltage.

    `voltage_v` overrides the limits' voltage (evcc computes with a flat 230 V).
    """
    limits = ctx.limits
    volts = limits.voltage_v if voltage_v is None else voltage_v
    return whole_amps(surplus_w, limits.phases * volts)
