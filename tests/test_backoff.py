"""Back-off after failed calls: doubling waits up to a cap; a 429 blocks until the reset."""

from __future__ import annotations

from datetime import timedelta

from optimizer.cycle.backoff import Backoff
from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import ChargerAuthError, ChargerError, ChargerRateLimited
from tests.conftest import T0

SETTINGS = ControllerSettings(
    error_backoff_s=60.0, max_error_backoff_s=200.0, rate_limit_wait_s=3600.0
)


def test_waits_double_with_each_failure_up_to_the_cap_and_reset_on_success() -> None:
    b = Backoff(SETTINGS)
    err = ChargerError("boom")
    assert b.failed(T0, err, "read") == "read failed (boom); retry in 60 s"
    assert b.failed(T0, err, "read") == "read failed (boom); retry in 120 s"
    assert b.failed(T0, err, "read") == "read failed (boom); retry in 200 s"  # capped
    assert not b.allows(T0 + timedelta(seconds=199))
    assert b.allows(T0 + timedelta(seconds=200))
    b.succeeded()
    assert b.failed(T0, err, "read") == "read failed (boom); retry in 60 s"


def test_a_429_blocks_until_the_reset_the_server_names_or_the_default_wait() -> None:
    b = Backoff(SETTINGS)
    assert b.failed(T0, ChargerRateLimited("429", reset_s=90.0), "start") == (
        "start rate-limited: no calls until 10:01:30Z"
    )
    assert b.not_before(T0) == T0 + timedelta(seconds=90)
    assert b.failures == 0  # a 429 is no failure of ours
    b.failed(T0, ChargerRateLimited("429"), "start")
    assert b.blocked_until == T0 + timedelta(hours=1)
    assert not b.allows(T0 + timedelta(minutes=59))


def test_a_refused_login_changes_no_wait() -> None:
    b = Backoff(SETTINGS)
    assert b.failed(T0, ChargerAuthError("401"), "read") == "read refused: 401"
    assert b.allows(T0) and b.not_before(T0) == T0
