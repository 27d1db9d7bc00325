"""`optimizer.cycle.sessions`: the per-session target belongs to the session it was set for."""

from __future__ import annotations

from datetime import timedelta

from optimizer.cycle.sessions import SessionTracker
from tests.conftest import T0, FakeCharger, FakeClock, World


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
