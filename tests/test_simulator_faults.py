"""The simulator's fault injection: seeded draws at the configured rates, checked settings."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.simulator.server import Fault, FaultConfig, FaultInjector, OfflineWindow
from adapters.simulator.server.faults import malform

T0 = datetime(2025, 6, 21, 12, 0, tzinfo=UTC)


@given(st.integers(0, 2**32))
def test_fault_draws_are_reproducible_for_a_seed(seed: int) -> None:
    config = FaultConfig(error_rate=0.2, drop_rate=0.2, malformed_rate=0.2, seed=seed)
    a, b = FaultInjector(config), FaultInjector(config)
    assert [a.draw() for _ in range(50)] == [b.draw() for _ in range(50)]


def test_fault_rates_are_the_marginal_probabilities() -> None:
    config = FaultConfig(
        error_rate=0.1, drop_rate=0.05, timeout_rate=0.05, malformed_rate=0.2, seed=11
    )
    injector = FaultInjector(config)
    n = 20_000
    drawn = [injector.draw()[0] for _ in range(n)]
    expected = {
        Fault.ERROR: 0.1,
        Fault.DROP: 0.05,
        Fault.TIMEOUT: 0.05,
        Fault.MALFORMED: 0.2,
        Fault.NONE: 0.6,
    }
    for fault, p in expected.items():
        share = drawn.count(fault) / n
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), fault


def test_no_faults_by_default() -> None:
    injector = FaultInjector()
    assert {injector.draw()[0] for _ in range(1000)} == {Fault.NONE}
    assert not injector.in_outage(T0)
    assert not injector.keys_revoked(T0)


@pytest.mark.parametrize(
    ("settings", "word"),
    [
        ({"error_rate": 0.7, "drop_rate": 0.5}, "add up"),
        ({"outage_start": T0}, "together"),
        ({"outage_start": T0, "outage_end": T0}, "after"),
        ({"throttle_end": T0}, "throttle_start and throttle_end"),
        ({"throttle_start": T0, "throttle_end": T0}, "throttle_end"),
        ({"error_statuses": (404,)}, "5xx"),
        ({"revoke_keys_at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"latency_s": -1}, "greater than or equal"),
    ],
)
def test_fault_config_refuses_nonsense(settings: dict[str, Any], word: str) -> None:
    with pytest.raises(ValidationError, match=word):
        FaultConfig(**settings)


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4),
        max_leaves=8,
    )
)
def test_malformed_bodies_never_parse(value: object) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(malform(json.dumps(value).encode()))


def test_offline_windows_parse_and_cover_half_open_intervals() -> None:
    w = OfflineWindow.parse("SIM0001@2025-06-21T12:00:00Z/2025-06-21T18:00:00+00:00")
    assert (w.device_id, w.start, w.end) == ("SIM0001", T0, T0 + timedelta(hours=6))
    injector = FaultInjector(FaultConfig(offline=(w,)))
    assert not injector.device_offline("SIM0001", T0 - timedelta(seconds=1))
    assert injector.device_offline("SIM0001", T0)
    assert injector.device_offline("SIM0001", T0 + timedelta(hours=5, minutes=59))
    assert not injector.device_offline("SIM0001", T0 + timedelta(hours=6))
    assert not injector.device_offline("SIM0002", T0 + timedelta(hours=1))
    assert not FaultInjector().device_offline("SIM0001", T0)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("SIM0001", "DEVICE_ID@START/END"),
        ("@2025-06-21T12:00:00Z/2025-06-21T13:00:00Z", "DEVICE_ID@START/END"),
        ("SIM0001@2025-06-21T12:00:00Z/", "DEVICE_ID@START/END"),
        ("SIM0001@noon/evening", "ISO 8601"),
        ("SIM0001@2025-06-21T12:00/2025-06-21T13:00", "timezone-aware"),
        ("SIM0001@2025-06-21T13:00:00Z/2025-06-21T12:00:00Z", "after the start"),
        ("SIM 1@2025-06-21T12:00:00Z/2025-06-21T13:00:00Z", "pattern"),
    ],
)
def test_offline_window_refuses_nonsense(text: str, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        OfflineWindow.parse(text)
