"""Act: bring the charger to a decision with as few calls as possible.

Every write is an API call out of the daily budget, so the actuator keeps what it
last commanded (`currentstatecharge` does not report the PV mode) and writes only
what differs: no write when the charger already has the value, a deadband against
1 A jitter while it regulates, and only while the scheduler leaves calls for writes
and no back-off or 429 block runs. What went wrong comes back as values in the
`Actuation`, for the cycle to report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from optimizer.budget.scheduler import ReadScheduler
from optimizer.cycle.backoff import Backoff
from optimizer.interfaces import (
    Charger,
    ChargerAuthError,
    ChargerError,
    ChargerReading,
    ChargeState,
    Command,
    Decision,
    PvMode,
    Store,
)
from optimizer.policies.base import CommandedState, PolicyContext

Write = tuple[str, int | None]
"""One planned call: `(kind, value)`, kind one of set_pv_mode, set_current, start, pause,
limit_energy (value: the session's energy limit in Wh, None to lift it)."""

RESTORE_SLACK = timedelta(hours=1)
"""How long before its session's start a session's first command may be stamped: a
reading (which opens a session) is stamped when its answer arrives, the cycle's writes with
the cycle's clock time, before it; a limit can be written in the plug-in cycle. A read with
retries takes up to ~35 s, and the demo's simulated time runs thousands of times faster.
A limit of the car before, written this close before its unplug, is taken as held: at
worst one lift too many, or this session's equal limit taken as written (the policy's own
stop then ends the session, as without the ability)."""

CAP_READ_TOL_WH = 10.0
"""A reading this close below the session energy limit (Wh) shows the charger stopped
at it: the cloud reports the session's energy in kWh with two decimals."""


@dataclass(frozen=True, slots=True)
class Actuation:
    """What acting on one decision sent (in order) and the errors it met."""

    commands: tuple[Command, ...] = ()
    errors: tuple[str, ...] = ()


NOTHING_TO_DO = Actuation()
"""The usual outcome: the charger already has what the decision wants."""


class Actuator:
    """Sends one charger the writes a decision needs; owns the commanded state."""

    def __init__(
        self,
        charger: Charger,
        store: Store,
        scheduler: ReadScheduler,
        backoff: Backoff,
        *,
        deadband_a: int,
    ) -> None:
        self.charger = charger
        self.store = store
        self.scheduler = scheduler
        self.backoff = backoff
        self.deadband_a = deadband_a
        self.device_id = charger.device_id
        self.commanded = CommandedState()
        self._cap_unclaimed = False
        """The energy limit held was written by an earlier run (`restore`) and no decision
        of this one has asked for it yet."""
        self._cap_unknown = False
        """An earlier run's last limit write went unanswered (`restore`): whether the
        charger holds it is unknown, so the first charging decision writes its own."""

    def restore(self, session_start: datetime) -> None:
        """Take back the session energy limit an earlier run of the daemon wrote (a restart
        or a crash while the car is plugged in), from the store's commands of the session
        it left open (from `session_start` on, less `RESTORE_SLACK`): the charger keeps a
        limit until the unplug.

        The last successful `limit_energy` is what the charger holds (a failed one may or
        may not have reached it: the running daemon assumes not, and so does this). A
        restored limit is lifted at the first charging decision that does not ask for it
        (`_cap_needs_write`): the config this run started with (another policy, target or
        `stop_at_target`) may plan past it, and a car stopped at it would wait for a
        reading, or with a policy that never limits, for ever.

        An unanswered one (the process ended during its call: `Command.unanswered`) may
        have been applied or not: a limit is taken as held (so it gets lifted), a lift as
        not (the limit before it is held), and the first charging decision writes its own
        limit or lift whatever it is (`_cap_unknown`).
        """
        held, unknown = None, False
        since = session_start - RESTORE_SLACK
        for command in self.store.commands_since(self.device_id, since):
            if command.kind != "limit_energy":
                continue
            if command.ok:
                held, unknown = command.value, False
            elif command.unanswered:
                held = held if command.value is None else command.value
                unknown = True
        self.commanded = replace(self.commanded, energy_cap_wh=held)
        self._cap_unclaimed = held is not None
        self._cap_unknown = unknown

    # ----- plan -----------------------------------------------------------------------

    def planned_writes(self, ctx: PolicyContext, decision: Decision) -> list[Write]:
        """The writes that bring the charger from the commanded state to `decision`."""
        c = self.commanded
        if not decision.charging:
            return [] if c.charging is False else [("pause", None)]
        writes: list[Write] = []
        if c.pv_mode is not decision.pv_mode:
            writes.append(("set_pv_mode", int(decision.pv_mode)))
        if self._current_needs_write(ctx, decision):
            writes.append(("set_current", decision.current_a))
        if self._cap_needs_write(ctx, decision):
            writes.append(("limit_energy", decision.energy_cap_wh))
        if c.charging is not True:
            writes.append(("start", None))
        return writes

    def _cap_needs_write(self, ctx: PolicyContext, decision: Decision) -> bool:
        """Whether the charger's session energy limit must change for a charging
        `decision`: set (or moved) when the decision carries one; lifted when it carries
        none and the limit set would stop the car, that is when the charger follows the
        sun (we do not stop it: a sunny afternoon after a night's target is free
        energy) or the session stands at the limit already. A car at a fixed current
        below the limit is stopped by the controller anyway: lifting it there (a grid
        block before the plan's last) cost a lift and a second set a night.

        A limit an earlier run wrote (`restore`) is lifted at once unless the decision
        asks for it: whether it stops a car this run's plan wants charged is unknown.

        Written after the mode and the current (a car the lift lets go charges as the
        decision wants), before a start (a started car is limited from its first Wh).
        Never on a charger that cannot limit a session: the controller's own stop is
        all there is then. Always when an earlier run's last limit write went unanswered
        (`restore`): what the charger holds is unknown."""
        if not self.charger.limits_session_energy:
            return False
        if self._cap_unknown:
            return True
        wanted, held = decision.energy_cap_wh, self.commanded.energy_cap_wh
        if wanted is not None or held is None:
            return wanted != held
        return (
            self._cap_unclaimed
            or decision.pv_mode is not PvMode.MAX_POWER
            or ctx.session_energy_wh >= held - CAP_READ_TOL_WH
        )

    def _current_needs_write(self, ctx: PolicyContext, decision: Decision) -> bool:
        old = self.commanded.current_a
        new = decision.current_a
        if old is None:
            return True
        if old == new:
            return False
        if (
            decision.pv_mode is not PvMode.MAX_POWER
            or self.commanded.pv_mode is not PvMode.MAX_POWER
        ):
            return True  # a cap for the charger's own regulation: rare, always exact
        if new < old and old > ctx.limits.cap_current_a(
            household_w=ctx.household_w, surplus_w=ctx.surplus_w
        ):
            return True  # the limits force it down: no deadband on safety
        return abs(new - old) > self.deadband_a

    # ----- send -----------------------------------------------------------------------

    def act(
        self, now: datetime, ctx: PolicyContext, decision: Decision, *, raise_auth: bool = True
    ) -> Actuation:
        """Send the planned writes in order, stopping at the first failure.

        A `ChargerAuthError` propagates (after its command is recorded) unless
        `raise_auth` is False (shutting down); every other failure is an error value.
        """
        writes = self.planned_writes(ctx, decision)
        if decision.charging and decision.energy_cap_wh == self.commanded.energy_cap_wh:
            self._cap_unclaimed = False  # this run wants the restored limit: it stays
        if not writes:
            return NOTHING_TO_DO
        if not self.backoff.allows(now):
            return Actuation(errors=(f"{len(writes)} write(s) deferred: backing off",))
        sent: list[Command] = []
        errors: list[str] = []
        for kind, value in writes:
            if not self.scheduler.can_write(now, 1):
                errors.append(f"{kind} deferred: no call budget left for writes")
                break
            command, error = self._send(now, kind, value, raise_auth=raise_auth)
            sent.append(command)
            if error is not None:
                errors.append(error)
                break
        return Actuation(tuple(sent), tuple(errors))

    def _send(
        self, now: datetime, kind: str, value: int | None, *, raise_auth: bool
    ) -> tuple[Command, str | None]:
        """Make one call and record it: the command and, if it failed, the error.

        The command is recorded before the call too (`Store.begin_command`): a kill -9
        between the charger's answer and the cycle's commit would otherwise lose it, and a
        restart would not know a session energy limit it may have left on the charger.
        """
        self.store.begin_command(
            Command(now, self.device_id, kind, value, ok=False, unanswered=True)
        )
        try:
            self._call(kind, value)
        except ChargerError as exc:
            command = Command(now, self.device_id, kind, value, ok=False, error=str(exc))
            self.store.record_command(command)
            if isinstance(exc, ChargerAuthError) and raise_auth:
                raise
            return command, self.backoff.failed(now, exc, kind)
        self.backoff.succeeded()
        self._remember(kind, value)
        command = Command(now, self.device_id, kind, value, ok=True)
        self.store.record_command(command)
        return command, None

    def _call(self, kind: str, value: int | None) -> None:
        if kind == "set_current":
            assert value is not None
            self.charger.set_current(value)
        elif kind == "set_pv_mode":
            assert value is not None
            self.charger.set_pv_mode(PvMode(value))
        elif kind == "start":
            self.charger.start()
        elif kind == "limit_energy":
            self.charger.limit_session_energy(value)
        else:
            self.charger.pause()

    # ----- the commanded state --------------------------------------------------------

    def _remember(self, kind: str, value: int | None) -> None:
        c = self.commanded
        if kind == "set_current":
            self.commanded = replace(c, current_a=value)
        elif kind == "set_pv_mode":
            assert value is not None
            self.commanded = replace(c, pv_mode=PvMode(value))
        elif kind == "limit_energy":
            self.commanded = replace(c, energy_cap_wh=value)
            self._cap_unclaimed = self._cap_unknown = False
        else:
            self.commanded = replace(c, charging=kind == "start")

    def sync(self, reading: ChargerReading, *, car_arrived: bool) -> None:
        """Correct the commanded state from what the charger reports.

        The setpoint is trusted only while the controller regulates (MAX_POWER):
        in the charger's own PV modes it reports its self-chosen current. A new car's
        session has no energy limit (the charger drops it at unplug); a car standing
        at the limit is stopped as if paused (a pause would cost a call for nothing).
        """
        c = self.commanded
        current = c.current_a
        if c.pv_mode is PvMode.MAX_POWER and reading.current_setpoint_a >= 1.0:
            current = round(reading.current_setpoint_a)
        charging, cap = c.charging, c.energy_cap_wh
        if car_arrived or reading.charge_state is ChargeState.DISCONNECTED:
            cap = None  # the charger dropped it at the unplug
            self._cap_unclaimed = self._cap_unknown = False
        if car_arrived:
            charging = None  # a new car: make sure start/pause reaches the charger once
        elif reading.charge_state is ChargeState.CHARGING and charging is False:
            charging = True  # someone started it behind our back
        elif _stopped_at_cap(reading, cap):
            charging = False
        self.commanded = CommandedState(
            current_a=current, pv_mode=c.pv_mode, charging=charging, energy_cap_wh=cap
        )


def _stopped_at_cap(reading: ChargerReading, cap_wh: int | None) -> bool:
    """Whether the reading shows a car the session energy limit `cap_wh` (Wh) stopped."""
    return (
        cap_wh is not None
        and reading.charge_state is ChargeState.CONNECTED
        and reading.session_energy_wh >= cap_wh - CAP_READ_TOL_WH
    )
