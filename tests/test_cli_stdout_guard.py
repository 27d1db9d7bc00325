"""Standard output carries only what the command prints, not a native library's printf."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

NATIVE_PRINT_THEN_JSON = textwrap.dedent(
    """
    import ctypes, json, sys
    from optimizer.cli.stdout_guard import route_native_stdout_to_stderr

    if sys.argv[1] == "guarded":
        route_native_stdout_to_stderr()
    libc = ctypes.CDLL(None)
    libc.printf(b"HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();\\n")
    libc.fflush(None)
    print(json.dumps({"ev_kwh": 12.5}))
    """
)


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NATIVE_PRINT_THEN_JSON, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_a_native_printf_lands_in_stdout_without_the_guard() -> None:
    """The failure the guard exists for: C's printf shares descriptor 1 with Python."""
    done = _run("unguarded")
    assert "transformNewIntegerFeasibleSolution" in done.stdout


def test_the_guard_sends_native_output_to_stderr_and_keeps_json_on_stdout() -> None:
    done = _run("guarded")
    assert json.loads(done.stdout) == {"ev_kwh": 12.5}
    assert "transformNewIntegerFeasibleSolution" in done.stderr


def test_the_console_script_still_prints_its_output_on_stdout() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "optimizer.cli.main", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Charge an electric car from rooftop solar" in done.stdout
    assert "Charge an electric car" not in done.stderr
