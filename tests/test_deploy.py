"""`Dockerfile` and `deploy/v2c-solar.service`: what they start really runs and answers.

No Docker engine or systemd PID 1 here, so the commands are taken from the files and run
as they are, outside: the container's CMD (with its ENV) and the unit's ExecStart (with
its Environment=) start `v2c-solar run` against the HTTP simulator, the Dockerfile's
HEALTHCHECK command passes against it (and fails with nothing listening), SIGTERM stops
it with exit 0, and what it logs without a TTY is plain lines, no colour codes.
`systemd-analyze verify` checks the unit itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.served import free_port
from adapters.simulator.demo import start_demo_simulator
from adapters.simulator.server import DEMO_API_KEY, RunningSimulator
from adapters.simulator.world import default_scenario

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "v2c-solar.service"
IMAGE_CONFIG = "/etc/v2c-solar/home.toml"
IMAGE_PORT = "8787"
ANSI = re.compile(r"\x1b\[")

EXAMPLE_CONFIG = ROOT / "config" / "home.toml"
"""What the image ships as /etc/v2c-solar/home.toml; its charger renamed to the simulator's."""


def home_config(tmp_path: Path) -> Path:
    path = tmp_path / "home.toml"
    path.write_text(EXAMPLE_CONFIG.read_text().replace("YOUR_DEVICE_ID", "SIM0001"))
    return path


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the runtime stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)
    runtime = stages[-1]
    out = []
    for line in runtime.splitlines()[1:]:
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def container_command() -> tuple[list[str], dict[str, str], list[str]]:
    """The runtime stage's CMD, ENV and HEALTHCHECK command."""
    cmd: list[str] = []
    env: dict[str, str] = {}
    health: list[str] = []
    for word, rest in dockerfile_instructions():
        if word == "CMD":
            cmd = json.loads(rest)
        elif word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
        elif word == "HEALTHCHECK":
            health = json.loads(rest[rest.index("CMD ") + 4 :])
    return cmd, env, health


def unit_command() -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart and Environment=."""
    cmd: list[str] = []
    env: dict[str, str] = {}
    for line in UNIT.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart":
            cmd = shlex.split(value)
        elif key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
    return cmd, env


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    running, _ = start_demo_simulator(default_scenario(), seed=1, speed=1.0)
    yield running
    running.stop()


def localize(argv: list[str], config: Path, port: int) -> list[str]:
    """The image's command on this machine: our interpreter, a test config, loopback:port."""
    program = Path(argv[0]).name
    assert program == "v2c-solar", argv
    out = [sys.executable, "-m", "optimizer.cli.main", *argv[1:]]
    out = [str(config) if a == IMAGE_CONFIG else a for a in out]
    return [re.sub(r"^[\d.]+:8787$", f"127.0.0.1:{port}", a) for a in out]


def run_health(health: list[str], port: int) -> subprocess.CompletedProcess[str]:
    assert health[0] == "python", health
    argv = [sys.executable, *[a.replace(f":{IMAGE_PORT}/", f":{port}/") for a in health[1:]]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def serve_and_stop(
    argv: list[str], env: dict[str, str], health: list[str], port: int, log: Path
) -> int:
    """Start `argv`, wait (bounded) until the health check passes, SIGTERM it; its exit code."""
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        deadline = time.monotonic() + 60.0
        while run_health(health, port).returncode != 0:
            assert proc.poll() is None, f"exited {proc.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, f"never healthy: {log.read_text()}"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def base_env(simulator: RunningSimulator) -> dict[str, str]:
    """What `docker run -e V2C_API_KEY` or the unit's EnvironmentFile= would give."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("V2C_", "FORCE_COLOR"))}
    env.update(V2C_API_KEY=DEMO_API_KEY, V2C_BASE_URL=simulator.base_url, TERM="xterm-256color")
    return env


def test_the_container_command_serves_passes_its_health_check_and_stops_cleanly(
    simulator: RunningSimulator, tmp_path: Path
) -> None:
    cmd, image_env, health = container_command()
    assert image_env["V2C_SOLAR_DB"].startswith("sqlite:////data/")
    config = home_config(tmp_path)
    port = free_port()
    env = base_env(simulator)
    env.update({k: v for k, v in image_env.items() if k != "PATH"})
    env["V2C_SOLAR_DB"] = image_env["V2C_SOLAR_DB"].replace("/data/", f"{tmp_path}/")
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")

    assert run_health(health, port).returncode != 0  # nothing listens yet: unhealthy
    log = tmp_path / "container.log"
    code = serve_and_stop(localize(cmd, config, port), env, health, port, log)

    output = log.read_text()
    assert code == 0, output
    assert (tmp_path / "v2c-solar.db").exists()  # the database went where the volume is
    assert not ANSI.search(output), output  # no colour codes for `docker logs`
    assert DEMO_API_KEY not in output


def test_the_unit_command_serves_on_loopback_and_stops_cleanly(
    simulator: RunningSimulator, tmp_path: Path
) -> None:
    cmd, unit_env = unit_command()
    _, _, health = container_command()
    assert any(a.startswith("127.0.0.1:") for a in cmd), cmd  # loopback unless told
    config = home_config(tmp_path)
    port = free_port()
    env = base_env(simulator)
    env.update(unit_env)
    env["V2C_SOLAR_DB"] = unit_env["V2C_SOLAR_DB"].replace("/var/lib/v2c-solar/", f"{tmp_path}/")

    log = tmp_path / "unit.log"
    code = serve_and_stop(localize(cmd, config, port), env, health, port, log)

    output = log.read_text()
    assert code == 0, output
    assert (tmp_path / "v2c-solar.db").exists()
    assert not ANSI.search(output), output  # journald shows plain lines


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    """The unit as systemd reads it: no unknown key, no bad value (ExecStart made to exist)."""
    unit = tmp_path / UNIT.name
    program = shutil.which("true")
    assert program is not None
    unit.write_text(UNIT.read_text().replace("/opt/v2c-solar/bin/v2c-solar", program))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
