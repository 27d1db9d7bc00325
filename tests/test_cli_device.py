"""`v2c-solar device ...`: 46 commands, JSON in SI units, exit codes, no call on bad input."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import typer
from typer.testing import CliRunner

from adapters.v2c_cloud import V2CClient, endpoints
from optimizer.cli import device
from optimizer.cli.main import app
from tests.conftest import API_KEY, Recorder, make_client, ok

runner = CliRunner()
PROFILE_ARGS = ["personalicepower-create", "--device-id", "D", "--name", "n", "--update-at", "2023"]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder([ok()])

    def factory(base_url: str) -> V2CClient:
        rec.base_urls.append(base_url)  # type: ignore[attr-defined]
        return make_client(rec)

    rec.base_urls = []  # type: ignore[attr-defined]
    monkeypatch.setattr(device, "make_client", factory)
    return rec


def test_help_lists_all_46_commands() -> None:
    result = runner.invoke(app, ["device", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for e in endpoints().values():
        assert re.search(rf"│ {re.escape(e.command)}\s", result.output), e.command
    assert len(endpoints()) == 46


def test_each_command_has_help_and_options_from_the_spec() -> None:
    group = typer.main.get_command(device.app)
    commands = group.commands  # type: ignore[attr-defined]
    assert len(commands) == 46
    for e in endpoints().values():
        command = commands[e.command]
        assert e.path in (command.help or ""), e.command
        flags = {f for p in command.params for f in p.opts}
        for p in e.parameters:
            flag = "--device-id" if p.name in ("deviceId", "id") else None
            assert (
                flag or "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", p.name).lower().replace("_", "-")
            ) in flags
        assert all(getattr(p, "help", None) for p in command.params), e.command


def test_one_command_help_renders() -> None:
    result = runner.invoke(app, ["device", "timer", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "/device/timer" in result.output and "--start-time" in result.output


def test_intensity_sends_and_prints_json(recorder: Recorder) -> None:
    result = runner.invoke(app, ["device", "intensity", "--device-id", "D1", "--value", "16"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"message": "Command executed successfully"}
    [request] = recorder.requests
    assert request.url.path.endswith("/device/intensity")
    assert dict(request.url.params) == {"deviceId": "D1", "value": "16"}


def test_currentstatecharge_prints_si_units(recorder: Recorder) -> None:
    recorder.answers[:] = [ok(endpoints()["currentstatecharge"].response_example)]
    result = runner.invoke(app, ["device", "currentstatecharge", "--device-id", "D1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["car_power_w"] == pytest.approx(1380.0)
    assert out["house_power_w"] == pytest.approx(3500.0)
    assert out["charge_state"] == "CHARGING" and out["charge_state_code"] == 2


def test_timer_body_and_id_param(recorder: Recorder) -> None:
    args = ["device", "timer", "--device-id", "D1", "--timer-id", "2"]
    result = runner.invoke(app, [*args, "--start-time", "22:00", "--end-time", "06:30", "--active"])
    assert result.exit_code == 0, result.output
    [request] = recorder.requests
    assert dict(request.url.params) == {"deviceId": "D1", "timerId": "2"}
    assert json.loads(request.content) == {
        "start_time": "22:00",
        "end_time": "06:30",
        "active": True,
    }


def test_ocpp_uses_id_and_profiles_take_integer_values(recorder: Recorder) -> None:
    assert (
        runner.invoke(app, ["device", "ocpp", "--device-id", "D1", "--value", "1"]).exit_code == 0
    )
    assert dict(recorder.requests[0].url.params) == {"id": "D1", "value": "1"}
    args = ["device", "personalicepower-create", "--device-id", "D1", "--name", "Solar"]
    result = runner.invoke(app, [*args, "--update-at", "2023-10-27T10:00:00Z", "--value", "32"])
    assert result.exit_code == 0, result.output
    assert json.loads(recorder.requests[1].content) == {"value": 32}


@pytest.mark.parametrize(
    "args",
    [
        ["intensity", "--device-id", "D1", "--value", "40"],
        ["intensity", "--device-id", "D1"],
        ["chargefvmode", "--device-id", "D1", "--value", "5"],
        ["timer", "--device-id", "D1", "--timer-id", "1", "--start-time", "9pm", "--end-time", "6"],
        ["personalicepower-create", "--device-id", "D", "--name", "n", "--update-at", "x"],
        [*PROFILE_ARGS, "--value", "x"],
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_line_and_no_call(
    recorder: Recorder, args: list[str]
) -> None:
    result = runner.invoke(app, ["device", *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert recorder.requests == []


def test_api_errors_exit_1_with_one_line_without_the_key(recorder: Recorder) -> None:
    recorder.answers[:] = [httpx.Response(401, text=f"bad apikey {API_KEY}")]
    result = runner.invoke(app, ["device", "startcharge", "--device-id", "D1"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "401" in lines[0]
    assert API_KEY not in result.output


def test_base_url_option_and_env(recorder: Recorder) -> None:
    runner.invoke(app, ["device", "reboot", "--device-id", "D", "--base-url", "http://sim:8000/x"])
    runner.invoke(
        app, ["device", "reboot", "--device-id", "D"], env={"V2C_BASE_URL": "http://env:1"}
    )
    assert recorder.base_urls == ["http://sim:8000/x", "http://env:1"]  # type: ignore[attr-defined]


def test_missing_key_exits_2_without_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("V2C_API_KEY", raising=False)
    result = runner.invoke(app, ["device", "reboot", "--device-id", "D"])
    assert result.exit_code == 2
    assert "V2C_API_KEY" in result.output
