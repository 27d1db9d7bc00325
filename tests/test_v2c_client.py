"""Client behaviour: errors, retries, validation, quota, the ledger, path fallback, secrets."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.v2c_cloud import V2CClient, errors
from adapters.v2c_cloud.engine import RetryPolicy
from adapters.v2c_cloud.operations import Operations
from optimizer.interfaces import ApiCall, ChargeState, Quota
from tests.conftest import API_KEY, BASE, Recorder, make_client, ok

CSC = {"charge_state": "2", "power": "1.380000", "sun_power": "2.0", "house_power": "3.5"}
RETRY3 = RetryPolicy(attempts=3, backoff_s=0.5, multiplier=2.0)


def ledger_client(recorder: Recorder, **kwargs: Any) -> tuple[V2CClient, list[ApiCall]]:
    calls: list[ApiCall] = []
    return make_client(recorder, on_call=calls.append, **kwargs), calls


# --- errors ---


def test_401_is_an_auth_error_and_not_retried() -> None:
    recorder = Recorder(
        [httpx.Response(401, json={"message": "Invalid authentication credentials"})]
    )
    client, calls = ledger_client(recorder, retry=RETRY3)
    with pytest.raises(errors.V2CAuthError) as info:
        client.currentstatecharge("D")
    assert info.value.status == 401
    assert "Invalid authentication" in info.value.body_excerpt
    assert len(recorder.requests) == 1 and [c.status for c in calls] == [401]


def test_429_with_empty_body_and_no_retry_after() -> None:
    recorder = Recorder([httpx.Response(429)])
    client, calls = ledger_client(recorder, retry=RETRY3)
    with pytest.raises(errors.V2CRateLimited) as info:
        client.currentstatecharge("D")
    assert info.value.retry_after_s is None and info.value.body_excerpt == ""
    assert [c.status for c in calls] == [429]
    assert len(recorder.requests) == 1 and client.calls_made == 1


def test_429_retry_after_seconds_or_date_or_ratelimit_reset() -> None:
    now = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
    answers = [
        httpx.Response(429, headers={"Retry-After": "120"}),
        httpx.Response(429, headers={"Retry-After": "Sun, 21 Jun 2026 12:05:00 GMT"}),
        httpx.Response(
            429,
            headers={
                "RateLimit-Limit": "1000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": "900",
            },
        ),
    ]
    for answer, expected in zip(answers, [120.0, 300.0, 900.0], strict=True):
        client = make_client(Recorder([answer]), clock=lambda: now)
        with pytest.raises(errors.V2CRateLimited) as info:
            client.intensity("D", 16)
        assert info.value.retry_after_s == pytest.approx(expected)


@pytest.mark.parametrize("retry_after", ["120", "Sun, 21 Jun 2026 12:02:00 GMT"])
def test_a_429_blocks_every_call_of_the_client_until_retry_after(retry_after: str) -> None:
    """The quota is the account's: after a 429 no call of any device is sent before
    `Retry-After` (seconds or an HTTP date); a refused-locally call costs nothing."""
    now = [datetime(2026, 6, 21, 12, 0, tzinfo=UTC)]
    recorder = Recorder(
        [httpx.Response(429, headers={"Retry-After": retry_after}), ok(CSC), ok(CSC)]
    )
    client, calls = ledger_client(recorder, clock=lambda: now[0])
    with pytest.raises(errors.V2CRateLimited):
        client.currentstatecharge("D1")
    for seconds_later, device in ((1, "D2"), (119, "D1")):
        now[0] = datetime(2026, 6, 21, 12, 0, tzinfo=UTC) + timedelta(seconds=seconds_later)
        with pytest.raises(errors.V2CRateLimited) as info:
            client.currentstatecharge(device)
        assert "not sent" in str(info.value)
        assert info.value.retry_after_s == pytest.approx(120 - seconds_later)
    assert len(recorder.requests) == 1 and [c.status for c in calls] == [429]
    now[0] = datetime(2026, 6, 21, 12, 2, tzinfo=UTC)
    client.currentstatecharge("D2")
    assert len(recorder.requests) == 2 and [c.status for c in calls] == [429, 200]


def test_other_statuses_carry_status_and_body_excerpt() -> None:
    client = make_client(Recorder([httpx.Response(400, text="bad value " + "x" * 500)]))
    with pytest.raises(errors.V2CHTTPError) as info:
        client.intensity("D", 16)
    assert info.value.status == 400 and info.value.body_excerpt.startswith("bad value")
    assert len(info.value.body_excerpt) <= 200
    assert "\n" not in str(info.value)


def test_404_without_fallback_is_not_found() -> None:
    client = make_client(Recorder([httpx.Response(404, json={"message": "no Route matched"})]))
    with pytest.raises(errors.V2CNotFound):
        client.reported("D")


def test_malformed_json_is_a_response_error() -> None:
    client = make_client(Recorder([httpx.Response(200, text="<html>oops")]))
    with pytest.raises(errors.V2CResponseError, match="currentstatecharge: body is not JSON"):
        client.currentstatecharge("D")


# --- retries: reads only, every attempt counted ---


def test_reads_retry_on_5xx_with_backoff_and_every_attempt_counts() -> None:
    recorder = Recorder([httpx.Response(502), httpx.Response(503), ok(CSC)])
    sleeps: list[float] = []
    client, calls = ledger_client(recorder, retry=RETRY3, sleeps=sleeps)
    state = client.currentstatecharge("D")
    assert state.charge_state is ChargeState.CHARGING
    assert sleeps == [0.5, 1.0]
    assert [c.status for c in calls] == [502, 503, 200]
    assert client.calls_made == 3 == len(recorder.requests)


def test_reads_give_up_after_the_bounded_attempts() -> None:
    recorder = Recorder([httpx.Response(500)])
    client, calls = ledger_client(recorder, retry=RETRY3)
    with pytest.raises(errors.V2CHTTPError) as info:
        client.version("D")
    assert info.value.status == 500 and len(calls) == 3


def test_timeouts_are_retried_for_reads_and_reported_with_status_none() -> None:
    recorder = Recorder([httpx.ReadTimeout("read timed out")])
    client, calls = ledger_client(recorder, retry=RETRY3)
    with pytest.raises(errors.V2CTransportError) as info:
        client.currentstatecharge("D")
    assert info.value.timeout is True
    assert [c.status for c in calls] == [None, None, None]
    assert all(c.endpoint == "currentstatecharge" and c.device_id == "D" for c in calls)


@pytest.mark.parametrize(
    "answer", [httpx.Response(500), httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]
)
def test_writes_are_never_retried(answer: Any) -> None:
    recorder = Recorder([answer])
    client, calls = ledger_client(recorder, retry=RETRY3)
    with pytest.raises((errors.V2CHTTPError, errors.V2CTransportError)):
        client.intensity("D", 16)
    assert len(recorder.requests) == 1 and len(calls) == 1


def test_a_failing_ledger_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    def broken(call: ApiCall) -> None:
        raise RuntimeError("disk full")

    client = make_client(Recorder([ok()]), on_call=broken)
    assert client.startcharge("D").message == "Command executed successfully"
    assert "on_call listener failed" in caplog.text


# --- quota ---


def test_quota_follows_the_latest_headers() -> None:
    recorder = Recorder(
        [
            ok(headers={"RateLimit-Limit": "1000", "RateLimit-Remaining": "500"}),
            httpx.Response(200, json={"message": "ok"}),  # no headers: quota kept
            ok(
                headers={
                    "RateLimit-Limit": "1000",
                    "RateLimit-Remaining": "499",
                    "RateLimit-Reset": "60",
                }
            ),
        ]
    )
    client, calls = ledger_client(recorder)
    assert client.quota is None
    client.startcharge("D")
    assert client.quota == Quota(limit=1000, remaining=500, reset_s=3600.0)
    client.pausecharge("D")
    assert client.quota == Quota(limit=1000, remaining=500, reset_s=3600.0)
    assert calls[1].quota is None
    client.startcharge("D")
    assert client.quota == Quota(limit=1000, remaining=499, reset_s=60.0)
    assert calls[2].quota == client.quota


# --- currentstatecharge path fallback ---


def test_fallback_to_the_public_clients_path_once_and_remembered() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/thirdparty/device/currentstatecharge"):
            return httpx.Response(404, json={"message": "no Route matched with those values"})
        return ok(CSC)

    recorder = Recorder([answer])
    client, calls = ledger_client(recorder)
    assert client.currentstatecharge("D").car_power_w == pytest.approx(1380.0)
    client.currentstatecharge("D")
    assert recorder.paths == [
        "/thirdparty/device/currentstatecharge",
        "/device/currentstatecharge",
        "/device/currentstatecharge",
    ]
    assert [c.status for c in calls] == [404, 200, 200]


def test_reference_path_kept_when_it_works() -> None:
    recorder = Recorder([ok(CSC)])
    client = make_client(recorder)
    client.currentstatecharge("D")
    client.currentstatecharge("D")
    assert recorder.paths == ["/thirdparty/device/currentstatecharge"] * 2


def test_both_paths_404_is_not_found_after_two_calls() -> None:
    recorder = Recorder([httpx.Response(404)])
    client = make_client(recorder)
    with pytest.raises(errors.V2CNotFound):
        client.currentstatecharge("D")
    assert client.calls_made == 2


# --- validation: no call spent ---

TIMER = {
    "device_id": "D",
    "timer_id": 1,
    "start_time": "22:00",
    "end_time": "06:00",
    "active": True,
}
PROFILE = {"device_id": "D", "name": "n", "updated_at": "2023-10-27T10:00:00Z"}
BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("intensity", {"device_id": "D", "amps": 5}, "between 6 and 32 A"),
    ("intensity", {"device_id": "D", "amps": 33}, "between 6 and 32 A"),
    ("intensity", {"device_id": "D", "amps": 16.5}, "whole number"),
    ("intensity", {"device_id": "", "amps": 16}, "deviceId must not be empty"),
    ("intensity", {"device_id": "a b", "amps": 16}, "whitespace"),
    ("min_car_int", {"device_id": "D", "amps": 0}, "between 6 and 32"),
    ("chargefvmode", {"device_id": "D", "mode": 3}, "one of 0, 1, 2"),
    ("locked", {"device_id": "D", "locked": 2}, "one of 0, 1"),
    ("language", {"device_id": "D", "language": 7}, "one of 0, 1, 2, 3, 4, 5, 6"),
    ("inst_type", {"device_id": "D", "installation_type": -1}, "one of 0, 1, 2"),
    ("maxpower", {"device_id": "D", "power_w": -1}, "non-negative"),
    ("charger_until_energy", {"device_id": "D", "energy_wh": -1.0}, ">= 0 Wh"),
    ("startchargekw", {"device_id": "D", "energy_wh": float("nan")}, ">= 0 Wh"),
    ("startchargeminutes", {"device_id": "D", "minutes": -5}, "non-negative"),
    ("timer", {**TIMER, "start_time": "25:00"}, "HH:MM"),
    ("timer", {**TIMER, "start_time": "7:00"}, "HH:MM"),
    ("ocpp_addr", {"device_id": "D", "url": "http://x"}, "ws://"),
    ("inverter_ip", {"device_id": "D", "ip": "300.1.1.1"}, "IPv4"),
    ("rfid_learn", {"device_id": "D", "tag": ""}, "tag must not be empty"),
    ("personalicepower_get", {"device_id": "D", "updated_at": datetime(2023, 1, 1)}, "timezone"),
    ("personalicepower_get", {"device_id": "D", "updated_at": "last tuesday"}, "ISO 8601"),
    ("personalicepower_create", {**PROFILE, "value": -1}, "at least 0"),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "kwargs", "message"), BAD_CALLS)
def test_bad_values_raise_before_any_request(
    operation: str, kwargs: dict[str, Any], message: str
) -> None:
    recorder = Recorder([ok()])
    client, calls = ledger_client(recorder)
    with pytest.raises(errors.V2CValidationError, match=message) as info:
        getattr(client, operation)(**kwargs)
    assert operation in str(info.value) and "\n" not in str(info.value)
    assert recorder.requests == [] and calls == [] and client.calls_made == 0


def test_generic_request_validates_too() -> None:
    recorder = Recorder([ok()])
    client = make_client(recorder)
    with pytest.raises(errors.V2CValidationError, match="value is required"):
        client.request("intensity", {"deviceId": "D"})
    with pytest.raises(errors.V2CValidationError, match="unknown parameter 'amps'"):
        client.request("intensity", {"deviceId": "D", "value": "16", "amps": "16"})
    with pytest.raises(errors.V2CValidationError, match="takes no request body"):
        client.request("startcharge", {"deviceId": "D"}, {"x": 1})
    with pytest.raises(KeyError, match="nope"):
        client.request("nope")
    assert recorder.requests == []


def test_configuration_errors() -> None:
    with pytest.raises(errors.V2CValidationError, match="V2C_API_KEY"):
        V2CClient("")
    with pytest.raises(errors.V2CValidationError, match="base_url"):
        V2CClient(API_KEY, base_url="v2c.cloud")
    with pytest.raises(errors.V2CValidationError, match="timeout"):
        V2CClient(API_KEY, timeout=0)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2C_API_KEY", "env-key-5678")
    recorder = Recorder([ok()])
    client = V2CClient(base_url=BASE, transport=httpx.MockTransport(recorder))
    client.startcharge("D")
    assert recorder.requests[0].headers["apikey"] == "env-key-5678"
    monkeypatch.delenv("V2C_API_KEY")
    with pytest.raises(errors.V2CValidationError, match="no V2C API key"):
        V2CClient()


# --- secrets never in text ---


def test_key_never_in_repr_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"apikey={API_KEY} rejected"
    for answer in (
        httpx.Response(401, text=echo),
        httpx.Response(429, text=echo),
        httpx.Response(500, text=echo),
        httpx.ConnectError(f"failed with {API_KEY}"),
    ):
        client = make_client(Recorder([answer]))
        assert API_KEY not in repr(client) and API_KEY not in str(client)
        with pytest.raises(Exception) as info:
            client.intensity("D", 16)
        assert API_KEY not in str(info.value) and API_KEY not in repr(info.value)
        assert API_KEY not in getattr(info.value, "body_excerpt", "")
        assert info.value.__cause__ is None or API_KEY not in str(info.value.__cause__)
    assert API_KEY not in caplog.text


def test_wifi_password_redacted_from_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Pa55word-Hunter2"
    recorder = Recorder([httpx.Response(400, text=f"bad request password={password}&ssid=x")])
    client = make_client(recorder)
    with pytest.raises(errors.V2CHTTPError) as info:
        client.wifi("D", "MyWifi", password)
    assert recorder.requests[0].url.params["password"] == password  # it is sent...
    assert password not in str(info.value)  # ...and shown nowhere
    assert password not in caplog.text
    assert "password=***" in caplog.text  # httpx logged the URL, redacted
    with pytest.raises(errors.V2CValidationError) as bad:
        client.wifi("D", "MyWifi", "x" * 64)
    assert "x" * 64 not in str(bad.value)
    call = Operations.wifi("D", "MyWifi", password)
    assert password not in repr(call)
