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
