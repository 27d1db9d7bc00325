"""What each command imports: `--help` and `device` stay light, `run` loads no PV model stack.

Each case runs `optimizer.cli.main.main()` in a fresh interpreter with the
given arguments and reads back `sys.modules` as it was when the command
ended, so a heavy top-level import anywhere on a command's path fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.simulator.server import SimulatorConfig, start_simulator
from adapters.simulator.world import World, default_scenario

HEAVY = ("pandas", "pvlib", "scipy", "highspy", "matplotlib", "adapters.simulator")
"""Packages the CLI's light paths must not import (the PV model stack, the planner's solver,
plots, the simulator)."""

RUNNER = """
import json, sys
args, out = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["v2c-solar", *args]
from optimizer.cli.main import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""
"""Runs the command in-process, then writes its exit code and the loaded modules."""

CONFIG = """
[site]
latitude = 47.05
longitude = 15.44
timezone = "Europe/Vienna"
arrays = [{ kwp = 8.0, tilt_deg = 30.0, azimuth_deg = 180.0 }]

[[chargers]]
device_id = "SIM0001"
"""


def command_modules(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, set[str]]:
    """(exit code, names in `sys.modules`) after `v2c-solar ARGS` ran in a fresh interpreter."""
    out = tmp_path / "modules.json"
    base = {k: v for k, v in os.environ.items() if not k.startswith("V2C_")}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(args), str(out)],
        capture_output=True, text=True, timeout=120, check=False, env=base | (env or {}),
    )  # fmt: skip
    assert out.exists(), done.stderr
    result = json.loads(out.read_text())
    return result["code"], set(result["modules"])


def heavy(modules: set[str], packages: tuple[str, ...] = HEAVY) -> list[str]:
    """The loaded modules that are, or live in, one of `packages`."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_the_runner_sees_what_a_command_imports(tmp_path: Path) -> None:
    """The check itself can fail: `backtest` with an unknown dataset loads pandas."""
    code, modules = command_modules(tmp_path, "backtest", "--dataset", "nope", "--days", "1")
    assert code == 2
    assert "pandas" in heavy(modules)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--help",), 0),
        ((), 2),  # no command: the help, as a usage error
        (("run", "--help"), 0),
        (("sessions", "--help"), 0),
        (("backtest", "--help"), 0),
        (("device", "--help"), 0),
        (("device", "timer", "--help"), 0),
        (("device", "intensity", "--device-id", "X", "--value", "abc"), 2),
        (("device", "intensty"), 2),
        (("simulator", "--help"), 0),
        (("forecast", "--help"), 0),
    ],
)
def test_help_and_argument_errors_import_no_heavy_package(
    tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    exit_code, modules = command_modules(tmp_path, *args)
    assert exit_code == code
    assert heavy(modules) == []


def test_device_help_does_not_load_the_other_groups(tmp_path: Path) -> None:
    _, modules = command_modules(tmp_path, "device", "--help")
    assert "optimizer.cli.device" in modules
    assert not {"optimizer.cli.simulator", "optimizer.cli.forecast"} & modules


def test_root_help_loads_no_command_group(tmp_path: Path) -> None:
    _, modules = command_modules(tmp_path, "--help")
    assert heavy(modules, ("optimizer.cli.device", "adapters.v2c_cloud", "sqlalchemy")) == []


def test_a_device_call_that_cannot_connect_imports_no_heavy_package(tmp_path: Path) -> None:
    unreachable = "http://127.0.0.1:9/kong/v2c_service"  # discard port: nothing answers
    code, modules = command_modules(
        tmp_path, "device", "currentstatecharge", "--device-id", "X",
        env={"V2C_API_KEY": "k", "V2C_BASE_URL": unreachable},
    )  # fmt: skip
    assert code == 1
    assert "httpx" in modules
    assert heavy(modules) == []


@pytest.fixture
def refusing_cloud() -> Iterator[str]:
    """The HTTP simulator, which accepts only `right-key`: `run` stops at its first read."""
    world = World(default_scenario(), seed=1)
    with start_simulator(world, SimulatorConfig(api_keys=["right-key"], speed=1.0)) as sim:
        yield sim.base_url


def test_run_imports_no_plotting_and_no_simulator(tmp_path: Path, refusing_cloud: str) -> None:
    config = tmp_path / "home.toml"
    config.write_text(CONFIG, encoding="utf-8")
    code, modules = command_modules(
        tmp_path, "run", "--web", "127.0.0.1:0", "--config", str(config),
        "--db", f"sqlite:///{tmp_path / 'run.db'}",
        env={"V2C_API_KEY": "wrong-key", "V2C_BASE_URL": refusing_cloud},
    )  # fmt: skip
    assert code == 1  # the cloud refused the key: the daemon was built and ran a cycle
    assert "optimizer.daemon" in modules
    assert "optimizer.forecast.clearsky_compute" in modules  # it forecast, in a child process
    assert heavy(modules, (*HEAVY, "pyarrow")) == []
