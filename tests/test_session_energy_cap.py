"""The session energy limit (`charger_until_energy`): `target` (least cost) has the charger
stop the car at the target in the plan's last grid block, the actuator writes it once and
lifts it only when it would stop a car meant to charge on, the chargers implement it, and
the simulated Trydan stops at it (not a minute past)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from adapters.simulator.inprocess import SimClock, WorldCharger
from adapters.simulator.world import (
    CarConfig,
    DeviceConfig,
    PvMode,
    Scenario,
    ScheduledSession,
    ScheduleSessions,
    World,
)
from adapters.v2c_cloud.charger import CloudCharger
from optimizer.cycle.actuator import Actuator
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import ChargerError, ChargerReading, ChargeState, Command, Decision
from optimizer.planning.plan import SlotMode
from optimizer.policies.base import CommandedState
from optimizer.policies.target import TargetParams, TargetPolicy, in_last_block
from tests.conftest import T0, FakeCharger, FakeClock, FakeScheduler, FakeStore
from tests.conftest import World as FakeWorld
from tests.test_least_cost_stop import fixed_plan
from tests.test_planning_target import CHEAP_22_TO_23, LIMITS, context, least_cost
from tests.test_policies import ctx

HOUR_S = 3600.0


# ----- the policy ----------------------------------------------------------------------


def test_the_last_grid_block_stops_at_the_target_by_the_chargers_limit() -> None:
    # 3 kWh in the one cheap hour: the plan's only (so last) block. The charger stops
    # the session once its counter shows 3000 Wh; stopped by a reading instead, the car
    # drew on until the controller saw it (~60 Wh a night on the real-2017 year).
    cheap = least_cost(3.0).decide(context(4 * HOUR_S))
    assert cheap.charging and cheap.pv_mode is PvMode.MAX_POWER
    assert cheap.energy_cap_wh == 3000
    assert "the charger stops at 3.000 kWh" in cheap.reason
    # the session's own target, not the missing energy: the limit counts from the plug-in
    half = least_cost(3.0).decide(context(4 * HOUR_S, energy_wh=1000.0))
    assert half.charging and half.energy_cap_wh == 3000


def test_no_limit_before_the_last_block_nor_when_switched_off() -> None:
    two_blocks = fixed_plan([3010.0] * 4 + [2000.0] * 4)
    assert not in_last_block(two_blocks, two_blocks.start, LIMITS)
    assert in_last_block(two_blocks, two_blocks.start + timedelta(hours=1), LIMITS)
    sun_after = fixed_plan([3010.0] * 4 + [0.0] * 4 + [1500.0] * 4, SlotMode.SOLAR)
    assert not in_last_block(sun_after, sun_after.start, LIMITS)
    params = TargetParams(target_kwh=3.0, planner="least_cost", stop_at_target=False)
    off = TargetPolicy(params, CHEAP_22_TO_23).decide(context(4 * HOUR_S))
    assert off.charging and off.energy_cap_wh is None
    # waiting for the cheap hour: no decision to charge, no limit
    assert least_cost(3.0).decide(context(0)).energy_cap_wh is None


# ----- the actuator --------------------------------------------------------------------


class CappingCharger(FakeCharger):
    """A fake charger that can limit a session's energy."""

    @property
    def limits_session_energy(self) -> bool:
        return True

    def limit_session_energy(self, wh: int | None) -> None:
        self._call("limit_session_energy", wh)


def _actuator(charger: FakeCharger) -> Actuator:
    backoff = Backoff(ControllerSettings(error_backoff_s=60.0, rate_limit_wait_s=3600.0))
    return Actuator(charger, FakeStore(), FakeScheduler(), backoff, deadband_a=1)


def _charge(amps: int, cap_wh: int | None, mode: PvMode = PvMode.MAX_POWER) -> Decision:
    return Decision(T0, "dev1", "p", True, amps, mode, "r", energy_cap_wh=cap_wh)


def test_the_actuator_sets_the_limit_once_before_the_start() -> None:
    charger = CappingCharger(FakeClock(), FakeWorld())
    actuator = _actuator(charger)
    acted = actuator.act(T0, ctx(0, 0.0), _charge(10, 3000))
    assert [(c.kind, c.value) for c in acted.commands] == [
        ("set_pv_mode", int(PvMode.MAX_POWER)),
        ("set_current", 10),
        ("limit_energy", 3000),
        ("start", None),
    ]
    assert actuator.commanded.energy_cap_wh == 3000
    assert actuator.planned_writes(ctx(0, 0.0), _charge(10, 3000)) == []  # once
    assert actuator.planned_writes(ctx(0, 0.0), _charge(10, 4000)) == [("limit_energy", 4000)]
    assert ("limit_session_energy", 3000) in charger.calls


def test_a_charger_without_the_ability_gets_no_limit() -> None:
    charger = FakeCharger(FakeClock(), FakeWorld())
    assert not charger.limits_session_energy  # the port's default
    with pytest.raises(ChargerError):
        charger.limit_session_energy(3000)
    actuator = _actuator(charger)
    kinds = [c.kind for c in actuator.act(T0, ctx(0, 0.0), _charge(10, 3000)).commands]
    assert "limit_energy" not in kinds


def test_the_limit_is_lifted_only_where_it_would_stop_a_car_meant_to_charge() -> None:
    actuator = _actuator(CappingCharger(FakeClock(), FakeWorld()))
    actuator.commanded = CommandedState(10, PvMode.MAX_POWER, True, energy_cap_wh=3000)
    below = replace(ctx(0, 0.0), session_energy_wh=1000.0)
    assert actuator.planned_writes(below, _charge(10, None)) == []  # a grid block before
    at_cap = replace(below, session_energy_wh=3000.0)
    assert actuator.planned_writes(at_cap, _charge(10, None)) == [("limit_energy", None)]
    sun = _charge(16, None, PvMode.EXCLUSIVE_PV)  # the sun past the target: free
    assert ("limit_energy", None) in actuator.planned_writes(below, sun)
    paused = Decision(T0, "dev1", "p", False, 0, PvMode.MAX_POWER, "r")
    assert actuator.planned_writes(at_cap, paused) == [("pause", None)]


def _reading(state: ChargeState, energy_wh: float) -> ChargerReading:
    return ChargerReading(
        T0, "dev1", state, int(state), 0.0, 0.0, 300.0, 10.0, 1, 230.0, energy_wh, 0.0
    )


def test_a_car_stopped_at_the_limit_needs_no_pause_and_a_new_session_no_limit() -> None:
    actuator = _actuator(CappingCharger(FakeClock(), FakeWorld()))
    actuator.commanded = CommandedState(10, PvMode.MAX_POWER, True, energy_cap_wh=3000)
    actuator.sync(_reading(ChargeState.CONNECTED, 3000.0), car_arrived=False)
    assert actuator.commanded.charging is False  # the charger stopped it
    paused = Decision(T0, "dev1", "p", False, 0, PvMode.MAX_POWER, "r")
    assert actuator.planned_writes(ctx(0, 0.0), paused) == []
    actuator.sync(_reading(ChargeState.DISCONNECTED, 0.0), car_arrived=False)
    assert actuator.commanded.energy_cap_wh is None  # dropped at the unplug
    actuator.commanded = replace(actuator.commanded, energy_cap_wh=3000)
    actuator.sync(_reading(ChargeState.CONNECTED, 0.0), car_arrived=True)
    assert actuator.commanded.energy_cap_wh is None  # a new session: set it again
    assert ("limit_energy", 3000) in actuator.planned_writes(ctx(0, 0.0), _charge(10, 3000))


def _restored(*commands: Command) -> Actuator:
    """An actuator of a restarted daemon whose store holds `commands` of this session."""
    actuator = _actuator(CappingCharger(FakeClock(), FakeWorld()))
    for command in commands:
        actuator.store.record_command(command)
    actuator.restore(T0 + timedelta(seconds=40))  # the plug-in's reading, stamped on answer
    return actuator


def test_a_restart_takes_the_limit_back_and_lifts_it_unless_a_decision_asks_for_it() -> None:
    limit = Command(T0, "dev1", "limit_energy", 3000, ok=True)  # in the plug-in's cycle
    failed = Command(T0 + timedelta(minutes=5), "dev1", "limit_energy", 4000, ok=False)
    below = replace(ctx(0, 0.0), session_energy_wh=1000.0)
    lifted = _restored(limit, failed)
    assert lifted.commanded.energy_cap_wh == 3000  # the last write that went through
    # a charging decision of this run without it: lifted, at once (another policy, or
    # the target's earlier block of a plan that may run past it)
    assert ("limit_energy", None) in lifted.planned_writes(below, _charge(10, None))
    kept = _restored(limit)
    kept.act(T0, below, _charge(10, 3000))  # asked for: claimed, nothing written again
    sent = [(c.kind, c.value) for c in kept.store.commands_since("dev1", T0)]
    assert sent.count(("limit_energy", 3000)) == 1  # the earlier run's, no second one
    assert ("limit_energy", None) not in kept.planned_writes(below, _charge(10, None))
    gone = _restored(limit)
    gone.sync(_reading(ChargeState.CONNECTED, 0.0), car_arrived=True)  # another car
    assert gone.planned_writes(below, _charge(10, None))[-1] == ("start", None)
    assert ("limit_energy", None) not in gone.planned_writes(below, _charge(10, None))
    assert _restored(replace(limit, value=None)).commanded.energy_cap_wh is None  # lifted


# ----- the chargers and the simulated Trydan --------------------------------------------

START = datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
WPA = 3 * 230.0


def _world() -> World:
    session = ScheduledSession(
        arrival=START, departure=START + timedelta(days=1), energy_kwh=20.0, arrival_soc=0.2
    )
    device = DeviceConfig(
        device_id="T1",
        initial_pv_mode=PvMode.MAX_POWER,
        car=CarConfig(battery_kwh=100.0, max_current_a=32),
        sessions=ScheduleSessions(kind="schedule", sessions=(session,)),
    )
    index = pd.date_range(START, periods=2 * 86400 // 60 + 1, freq="60s")
    return World(
        Scenario(devices=(device,), start=START, pv_mode_delay_s=60.0),
        step_s=60,
        pv_w=pd.Series(0.0, index=index),
        house_w=pd.Series(300.0, index=index),
    )


def test_the_backtest_charger_stops_the_session_at_the_limit() -> None:
    # 16 A on three phases is 184 Wh a minute: at 1-minute steps the step crossing the
    # limit ran to its end, up to 184 Wh past the limit; the Trydan stops at it.
    world = _world()
    clock = SimClock(START)
    charger = WorldCharger(world, "T1", clock, daily_limit=None)
    assert charger.limits_session_energy
    charger.set_current(16)
    charger.limit_session_energy(1000)
    clock.advance(3600.0)
    reading = charger.read()
    assert reading.session_energy_wh == pytest.approx(1000.0)
    assert reading.car_power_w == 0.0
    charger.limit_session_energy(None)  # lifted: the car charges on
    clock.advance(600.0)
    assert charger.read().session_energy_wh == pytest.approx(1000.0 + 16 * WPA * 10 / 60)


class _Client:
    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []

    def charger_until_energy(self, device_id: str, energy_wh: float) -> None:
        self.sent.append((device_id, energy_wh))


def test_the_cloud_charger_sends_the_limit_and_lifts_it_with_one_no_session_reaches() -> None:
    client = _Client()
    charger = CloudCharger(client, "D")  # type: ignore[arg-type]
    assert charger.limits_session_energy
    charger.limit_session_energy(3000)
    charger.limit_session_energy(None)
    assert client.sent == [("D", 3000), ("D", 250_000)]
