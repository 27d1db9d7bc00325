"""`optimizer.cycle.sessions`: the per-session target belongs to the session it was set for."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from optimizer.cycle.sessions import SessionTracker
from optimizer.interfaces import ChargerReading, ChargeState
from tests.conftest import T0, FakeCharger, FakeClock, World, make_reading


def test_a_session_target_wins_over_the_default_and_ends_with_the_session() -> None:
    clock = FakeClock()
    world = World()
    charger = FakeCharger(clock, world)
    tracker = SessionTracker("dev1")
    tracker.set_target(5000.0, T0 + timedelta(hours=6))
    opened = tracker.update(charger.read(), True, default_target_wh=9000.0)
    assert opened is not None and opened.target_wh == 5000.0
    world.plugged = False
    closed = tracker.update(charger.read(), False, default_target_wh=9000.0)
    assert closed is not None and closed.end is not None and closed.target_wh == 5000.0
    assert (tracker.target_wh, tracker.departure) == (None, None)  # cleared with the car
    world.plugged = True
    clock.advance(60.0)
    reopened = tracker.update(charger.read(), True, default_target_wh=9000.0)
    assert reopened is not None and reopened.target_wh == 9000.0  # the policy's default


def test_without_any_target_the_session_has_none() -> None:
    charger = FakeCharger(FakeClock(), World())
    record = SessionTracker("dev1").update(charger.read(), True, default_target_wh=None)
    assert record is not None and record.target_wh is None and record.target_met is None


def test_a_target_set_before_the_car_arrives_waits_for_its_session() -> None:
    clock, world = FakeClock(), World(plugged=False)
    charger = FakeCharger(clock, world)
    tracker = SessionTracker("dev1")
    tracker.set_target(20_000.0, T0 + timedelta(hours=10))  # from home, in the evening
    assert tracker.update(charger.read(), False, default_target_wh=None) is None
    assert tracker.target_wh == 20_000.0  # no session yet: it waits
    clock.advance(3600)
    world.plugged = True
    opened = tracker.update(charger.read(), True, default_target_wh=None)
    assert opened is not None and opened.target_wh == 20_000.0


def test_a_target_for_a_car_that_never_came_ends_at_its_departure() -> None:
    clock, world = FakeClock(), World(plugged=False)
    charger = FakeCharger(clock, world)
    tracker = SessionTracker("dev1")
    tracker.set_target(20_000.0, T0 + timedelta(hours=1))
    clock.advance(3600)
    tracker.update(charger.read(), False, default_target_wh=None)
    assert (tracker.target_wh, tracker.departure) == (None, None)


def _reading(minute: int, energy_wh: float) -> ChargerReading:
    return replace(make_reading(minute), session_energy_wh=energy_wh)


def test_a_restarted_daemon_goes_on_with_the_session_the_store_holds_open() -> None:
    """Killed while a car charged: the next run's first read continues the stored row
    (same start, the charger's counter) instead of opening a second one."""
    first = SessionTracker("dev-1")
    first.update(_reading(0, 100.0), True, None)
    left_open = first.update(_reading(15, 2000.0), True, None)
    assert left_open is not None and left_open.end is None
    restarted = SessionTracker("dev-1")
    assert not restarted.continues(_reading(90, 6000.0))  # nothing taken over
    restarted.resume(left_open)
    assert restarted.continues(_reading(90, 6000.0))  # the same plug-in, not a new car
    unplugged = replace(_reading(90, 6000.0), charge_state=ChargeState.DISCONNECTED)
    assert not restarted.continues(unplugged)
    record = restarted.update(_reading(90, 6000.0), True, None)
    assert not restarted.continues(_reading(91, 6010.0))  # only the first reading since
    assert record is not None and record.start == left_open.start
    assert record.energy_wh == 6000.0 and record.end is None
    closed = restarted.update(_reading(105, 6500.0), False, None)
    assert closed is not None and closed.start == left_open.start and closed.end is not None


def test_a_counter_that_went_back_closes_the_resumed_session() -> None:
    """Another car came while the daemon was down: the old row ends, a new one follows."""
    first = SessionTracker("dev-1")
    left_open = first.update(_reading(0, 9000.0), True, None)
    assert left_open is not None
    restarted = SessionTracker("dev-1")
    restarted.resume(left_open)
    assert not restarted.continues(_reading(300, 500.0))
    closed = restarted.update(_reading(300, 500.0), True, None)
    assert closed is not None and closed.start == left_open.start and closed.end is not None
    assert closed.energy_wh == 9000.0
    opened = restarted.update(_reading(315, 900.0), True, None)
    assert opened is not None and opened.start > left_open.start and opened.end is None
