"""The `v2c-solar` entry point: argument errors are one line and exit code 2, for every command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "V2C_API_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "optimizer.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("device", "intensty"), "No such command 'intensty'"),
        (("backtest", "--bogus"), "No such option: --bogus"),
        (("backtest", "--days", "0"), "--days"),
        (("device", "intensity", "--device-id", "X", "--value", "abc"), "value"),
        (("forecast", "show", "--hours", "many"), "--hours"),
    ],
)
def test_argument_errors_are_one_line_with_exit_code_2(args: tuple[str, ...], says: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and says in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_help_exits_0_and_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "run", "backtest", "device", "forecast", "simulator", "sessions"):
        assert command in result.stdout
