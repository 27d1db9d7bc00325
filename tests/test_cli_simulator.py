"""`v2c-solar simulator serve`: binds loopback, prints the URL and key, masks a user's key."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.simulator.server.config import DEMO_API_KEY


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


def test_cli_serve_takes_offline_windows_and_names_the_option_when_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from optimizer.cli.main import app

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: sockets[0].close())
    runner = CliRunner()
    window = "SIM0001@2025-06-21T10:00:00Z/2025-06-21T16:00:00Z"
    ok = runner.invoke(app, ["simulator", "serve", "--port", "0", "--offline", window])
    assert ok.exit_code == 0, ok.output
    assert "offline: SIM0001 2025-06-21T10:00:00+00:00 .. 2025-06-21T16:00:00+00:00" in ok.output
    for bad, why in [
        ("SIM0001", "DEVICE_ID@START/END"),
        ("SIM0001@2025-06-21T10:00:00Z", "DEVICE_ID@START/END"),
        ("SIM0001@yesterday/today", "ISO 8601"),
        ("SIM0001@2025-06-21T10:00/2025-06-21T16:00", "timezone-aware"),
        ("SIM0001@2025-06-21T16:00:00Z/2025-06-21T10:00:00Z", "after the start"),
        ("NOPE@2025-06-21T10:00:00Z/2025-06-21T16:00:00Z", "unknown devices: NOPE"),
    ]:
        r = runner.invoke(app, ["simulator", "serve", "--port", "0", "--offline", bad])
        assert r.exit_code == 2, (bad, r.output)
        assert "--offline" in r.output and why in " ".join(r.output.split()), (bad, r.output)
