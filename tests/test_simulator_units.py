"""Pure parts of the HTTP simulator: quota, fault draws, wire format, CLI wiring."""

from __future__ import annotations

import json
import math
import socket
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from adapters.simulator.quota import seconds_to_utc_midnight
from adapters.simulator.server import DailyQuota, Fault, FaultConfig, FaultInjector
from adapters.simulator.server.config import DEMO_API_KEY, SimulatorConfig, resolve_api_keys
from adapters.simulator.server.faults import malform
from adapters.simulator.server.wire import current_state_body, last_sessions
from adapters.simulator.world import SessionLog
from optimizer.interfaces import ChargerReading, ChargeState

T0 = datetime(2025, 6, 21, 12, 0, tzinfo=UTC)
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(times, st.integers(0, 30), st.integers(0, 40))
def test_quota_counts_down_and_refuses_past_the_limit(t: datetime, limit: int, calls: int) -> None:
    quota = DailyQuota(limit)
    states = [quota.consume("k", t) for _ in range(calls)]
    assert [s.allowed for s in states] == [i < limit for i in range(calls)]
    assert [s.remaining for s in states] == [max(0, limit - i - 1) for i in range(calls)]
    for s in states:
        assert 0 < s.reset_s <= 86400
        assert s.reset_s == math.ceil(seconds_to_utc_midnight(t))
    assert quota.attempts("k", t) == calls  # refused calls are remembered, not counted
    assert quota.attempts("other", t) == 0
    next_day = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
    assert quota.attempts("k", next_day) == 0


@given(times)
def test_quota_resets_exactly_at_utc_midnight(t: datetime) -> None:
    quota = DailyQuota(1)
    quota.consume("k", t)
    midnight = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
    just_before = max(t, midnight - timedelta(microseconds=1))
    assert not quota.consume("k", just_before).allowed
    assert quota.consume("k", midnight).allowed
    assert quota.peek("other", midnight).remaining == 1


def test_quota_day_is_utc_even_for_other_offsets() -> None:
    vienna_late = datetime(2025, 6, 21, 1, 30, tzinfo=UTC).astimezone()
    assert seconds_to_utc_midnight(vienna_late) == 22.5 * 3600
    with pytest.raises(ValueError, match="timezone-aware"):
        seconds_to_utc_midnight(datetime(2025, 1, 1))


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


def test_simulator_config_checks_keys_and_zone() -> None:
    with pytest.raises(ValidationError, match="blank"):
        SimulatorConfig.for_keys([" "])
    with pytest.raises(ValidationError, match="time zone"):
        SimulatorConfig.for_keys(["k"], timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        SimulatorConfig.for_keys([])
    config = SimulatorConfig.for_keys(["very-secret-key"])
    assert "very-secret-key" not in repr(config)


def test_api_keys_come_from_options_then_environment_then_demo() -> None:
    assert resolve_api_keys(["a", "b"], {"V2C_API_KEY": "env"}) == ["a", "b"]
    assert resolve_api_keys([], {"V2C_API_KEY": "env"}) == ["env"]
    assert resolve_api_keys([], {}) == [DEMO_API_KEY]


def test_current_state_is_strings_in_kw() -> None:
    reading = ChargerReading(
        time=T0,
        device_id="D",
        charge_state=ChargeState.CHARGING,
        charge_state_code=2,
        car_power_w=1380.0,
        pv_power_w=1500.0,
        house_power_w=3500.0,
        current_setpoint_a=6.0,
        phases=1,
        voltage_v=230.5,
        session_energy_wh=2500.0,
        session_seconds=93.7,
    )
    body = current_state_body(reading, pv_mode_on=True)
    assert body == {
        "error": "0",
        "battery": "0.000000",
        "voltage": "230.50",
        "intensity": "6",
        "seconds": "93",
        "photovoltaic_on": "1",
        "house_power": "3.500000",
        "charge_state": "2",
        "power": "1.380000",
        "sun_power": "1.500000",
        "phases": "1",
        "cp_level": "248.000000",
        "energy": "2.500000",
    }


def _session(start: datetime) -> SessionLog:
    return SessionLog(
        device_id="D",
        start=start,
        end=start + timedelta(hours=2),
        energy_wh=1000.0,
        solar_wh=600.0,
        grid_wh=400.0,
        target_wh=None,
    )


@given(st.lists(st.integers(0, 60), max_size=12), st.integers(0, 60), st.integers(0, 60))
def test_statistics_are_the_last_five_within_the_dates(
    day_offsets: list[int], lo: int, hi: int
) -> None:
    base = date(2025, 1, 1)
    starts = sorted(datetime(2025, 1, 1, 10, tzinfo=UTC) + timedelta(days=d) for d in day_offsets)
    sessions = [_session(s) for s in starts]
    first, last = base + timedelta(days=lo), base + timedelta(days=hi)
    chosen = last_sessions(sessions, tz=UTC, first=first, last=last)
    inside = [i + 1 for i, s in enumerate(sessions) if first <= s.start.date() <= last]
    assert [n for n, _ in chosen] == list(reversed(inside[-5:]))


def test_cli_serve_binds_loopback_and_prints_url_and_demo_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from optimizer.cli.main import app

    served: dict[str, Any] = {}

    def fake_run(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        served.update(address=sockets[0].getsockname(), app=server.config.app)
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    monkeypatch.delenv("V2C_API_KEY", raising=False)
    result = CliRunner().invoke(
        app, ["simulator", "serve", "--port", "0", "--speed", "120", "--error-rate", "0.1"]
    )
    assert result.exit_code == 0, result.output
    host, port = served["address"]  # bound before the banner, which shows the port bound
    assert host == "127.0.0.1" and port > 0
    assert f"http://127.0.0.1:{port}/kong/v2c_service" in result.output
    assert DEMO_API_KEY in result.output
    assert "SIM0001" in result.output


def test_cli_serve_masks_a_user_key_and_rejects_bad_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from optimizer.cli.main import app

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: sockets[0].close())
    runner = CliRunner()
    ok = runner.invoke(
        app, ["simulator", "serve", "--port", "0", "--api-key", "my-private-key-123"]
    )
    assert ok.exit_code == 0, ok.output
    assert "my-private-key-123" not in ok.output
    assert "*** (from --api-key/V2C_API_KEY)" in ok.output
    assert "my***" not in ok.output  # not even a prefix of the key
    bad = runner.invoke(app, ["simulator", "serve", "--outage-start", "2025-06-21T10:00:00Z"])
    assert bad.exit_code == 2
    assert "together" in bad.output
    naive = runner.invoke(app, ["simulator", "serve", "--revoke-keys-at", "2025-06-21T10:00"])
    assert naive.exit_code == 2
