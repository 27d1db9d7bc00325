"""Site control: validated in the caller's thread, one line naming the field; queued in order."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from optimizer.status import ControlError, SetPolicy, SetTarget, SiteControl
from optimizer.status.errors import ERROR_KINDS, error_kind

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def control() -> SiteControl:
    return SiteControl(("A", "B"), ("solar_only", "target"), now=lambda: T0)


def refused(call: object, *args: object) -> ControlError:
    with pytest.raises(ControlError) as info:
        call(*args)  # type: ignore[operator]
    assert "\n" not in str(info.value)
    return info.value


def test_requests_are_queued_in_order_until_the_daemon_takes_them() -> None:
    c = control()
    woken: list[int] = []
    c.add_waker(lambda: woken.append(c.pending))
    c.set_policy("target")
    c.set_target("B", 20_000.0, T0 + timedelta(hours=8))
    c.clear_target("A")
    assert woken == [1, 2, 3]  # each request wakes the daemon once it is queued
    assert c.take() == [
        SetPolicy("target"),
        SetTarget("B", 20_000.0, T0 + timedelta(hours=8)),
        SetTarget("A", None, None),
    ]
    assert c.take() == []


def test_an_unknown_policy_names_the_field_and_the_choices() -> None:
    exc = refused(control().set_policy, "turbo")
    assert exc.field == "policy"
    assert str(exc) == "policy: unknown name 'turbo' (one of solar_only, target)"


def test_an_unknown_charger_names_device_id() -> None:
    c = control()
    assert refused(c.set_target, "Z", 1000.0, T0 + timedelta(hours=1)).field == "device_id"
    assert refused(c.clear_target, "Z").field == "device_id"
    assert c.take() == []  # nothing refused was queued


@pytest.mark.parametrize("energy_wh", [0.0, -5.0, math.nan, math.inf, 250_000.0])
def test_a_bad_energy_names_energy_wh(energy_wh: float) -> None:
    exc = refused(control().set_target, "A", energy_wh, T0 + timedelta(hours=1))
    assert exc.field == "energy_wh"
    assert str(exc).startswith("energy_wh: must be > 0")


@pytest.mark.parametrize(
    ("departure", "why"),
    [
        (datetime(2026, 6, 21, 18, 0), "needs a time zone"),
        (T0 - timedelta(minutes=1), "must be in the future"),
        (T0, "must be in the future"),
        (T0 + timedelta(days=8), "must be within 7 days"),
    ],
)
def test_a_bad_departure_names_departure(departure: datetime, why: str) -> None:
    exc = refused(control().set_target, "A", 1000.0, departure)
    assert exc.field == "departure"
    assert why in str(exc)


def test_a_removed_waker_is_not_called() -> None:
    c = control()
    woken: list[str] = []
    remove = c.add_waker(lambda: woken.append("x"))
    remove()
    remove()
    c.set_policy("target")
    assert woken == []


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("forecast failed: RuntimeError: boom", "forecast"),
        ("read refused: 401 Invalid authentication credentials", "auth"),
        ("read rate-limited: no calls until 10:00:00Z", "rate_limited"),
        ("set_current rate-limited: no calls until 10:00:00Z", "rate_limited"),
        ("2 write(s) deferred: backing off", "deferred"),
        ("set_pv_mode deferred: no call budget left for writes", "deferred"),
        ("read failed (HTTP 503); retry in 30 s", "read"),
        ("set_current failed (timeout); retry in 60 s", "write"),
        ("pause failed (HTTP 500); retry in 30 s", "write"),
        ("limit_energy failed (HTTP 500); retry in 30 s", "write"),
        ("something new", "other"),
    ],
)
def test_error_kinds_of_the_texts_the_cycle_builds(error: str, kind: str) -> None:
    assert error_kind(error) == kind
    assert kind in ERROR_KINDS


def test_a_closed_control_refuses_every_request_naming_the_daemon() -> None:
    """After the daemon stopped a queued request would be accepted and never applied."""
    c = control()
    c.close("the cloud refused the API key")
    for call, args in (
        (c.set_policy, ("target",)),
        (c.set_target, ("A", 20_000.0, T0 + timedelta(hours=8))),
        (c.clear_target, ("A",)),
    ):
        exc = refused(call, *args)
        assert exc.field == "daemon"
        assert str(exc) == "daemon: the daemon has stopped (the cloud refused the API key)"
    assert c.pending == 0
