"""The web server for real: uvicorn in its thread during a demo, and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from adapters.served import LOOPBACK, bind_socket, free_port
from adapters.simulator.server import DEMO_API_KEY
from adapters.web.server import ListenError, parse_listen, web_server
from adapters.web.sites import WebSite
from optimizer.cli.main import app
from optimizer.status import SiteControl, StatusBoard

TOKEN = "s3rver-t0ken"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        (" localhost:0 ", ("localhost", 0)),
        ("[::1]:9000", ("::1", 9000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8787", ":8787", "host:", "host:port", "host:70000", "h:-1"])
def test_a_bad_listen_address_is_one_line_naming_web(text: str) -> None:
    with pytest.raises(ListenError) as info:
        parse_listen(text)
    assert str(info.value).startswith("--web ")
    assert "\n" not in str(info.value)


def test_a_port_in_use_is_a_listen_error() -> None:
    with bind_socket(LOOPBACK, 0) as taken:
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=rf"^--web 127.0.0.1:{port}: port {port}: already"):
            web_server(f"127.0.0.1:{port}", WebSite(StatusBoard(), SiteControl(("A",), ("off",))))


def test_the_server_starts_answers_and_stops() -> None:
    board = StatusBoard()
    server = web_server("127.0.0.1:0", WebSite(board, SiteControl(("A",), ("off",))))
    server.start()
    try:
        assert server.port > 0
        assert httpx.get(f"{server.url}/api/status", timeout=5).json()["version"] == 0
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/status", timeout=2)
    server.stop()  # idempotent


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999", "no.such.host.invalid:8787"])
def test_demo_with_a_bad_web_address_exits_2_in_one_line(listen: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--hours", "1", "--web", listen])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --web "), result.output


DEMO_HOURS = 240
"""Simulated hours of the demos the tests end themselves: 20 wall minutes at 720x."""


@pytest.fixture
def demo_web(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`v2c-solar demo --speed 720 --web 127.0.0.1:PORT`, its base URL. The test ends it
    (SIGTERM) when it is done: a demo ending at its simulated horizon (2 h were 10 wall
    s from the simulator's start) could end first on a loaded machine."""
    port = free_port()
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--hours", str(DEMO_HOURS)]
    cmd += ["--speed", "720"]
    cmd += ["--web", f"127.0.0.1:{port}", "--db", db, "--json", "--policy", "solar_only"]
    env = dict(os.environ, V2C_SOLAR_WEB_TOKEN=TOKEN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _wait_for_status(base: str, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            answer = httpx.get(f"{base}/api/status", timeout=2)
            if answer.json()["chargers"]:
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the demo's web server never answered")


def test_the_demo_serves_status_metrics_and_takes_a_policy_switch(
    demo_web: tuple[subprocess.Popen[str], str],
) -> None:
    proc, base = demo_web
    status = _wait_for_status(base, proc).json()
    assert status["chargers"][0]["device_id"] == "SIM0001"
    with httpx.Client(base_url=base, timeout=5) as http:
        while http.get("/api/status").json()["decisions_made"] == 0:
            time.sleep(0.05)
        metrics = http.get("/metrics").text
        names = {s.name for f in text_string_to_metric_families(metrics) for s in f.samples}
        assert {"v2c_solar_calls_today", "v2c_solar_decisions_total"} <= names
        assert 'device_id="SIM0001"' in metrics
        refused = http.post("/api/policy", json={"name": "fast"})
        assert refused.status_code == 401
        accepted = http.post(
            "/api/policy", json={"name": "fast"}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert accepted.status_code == 202
        deadline = time.monotonic() + 5
        while http.get("/api/status").json()["policy"] != "fast":
            assert time.monotonic() < deadline, "the switch never reached the daemon"
            time.sleep(0.02)
        decisions = http.get("/api/decisions", params={"limit": 5}).json()["decisions"]
        answers = [
            http.get(p).text
            for p in ("/api/status", "/api/plan", "/api/sessions", "/metrics", "/healthz", "/")
        ]
    assert DEMO_API_KEY not in "".join(answers) + json.dumps(decisions)
    proc.terminate()  # SIGTERM: the last cycle, the safe mode, exit 0
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert DEMO_API_KEY not in out + err
    assert json.loads(out)["calls_used"] > 0
    with pytest.raises(httpx.ConnectError):  # stopped with the demo
        httpx.get(f"{base}/api/status", timeout=2)


def test_run_on_a_port_in_use_exits_2_in_one_line_naming_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V2C_API_KEY", "secret-key-123")
    monkeypatch.setenv("V2C_BASE_URL", f"http://127.0.0.1:{free_port()}/kong/v2c_service")
    db = f"sqlite:///{tmp_path / 'run.db'}"
    with bind_socket(LOOPBACK, 0) as taken:
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        args = ["run", "--config", "config/home.toml", "--db", db, "--web", listen]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[-1].startswith(f"error: --web {listen}: port ")
    assert "already in use" in lines[-1] and "--no-web" in lines[-1]
    assert "secret-key-123" not in result.output
