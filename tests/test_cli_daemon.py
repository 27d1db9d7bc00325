"""`v2c-solar run`, `demo` and `budget`: argument errors, the demo's JSON, SIGTERM, 401."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from adapters.simulator.demo import start_demo_simulator
from adapters.simulator.server import DEMO_API_KEY, RunningSimulator
from adapters.simulator.world import default_scenario
from adapters.storage import SqlStore
from optimizer.cli.main import app
from optimizer.interfaces import ApiCall

runner = CliRunner()

NO_PORT = ("--web", "127.0.0.1:0")
"""`run` serves its web API on a free port here: 8787 may be taken on a shared machine."""

CONFIG = """
[site]
latitude = 47.05
longitude = 15.44
timezone = "Europe/Vienna"
arrays = [{ kwp = 8.0, tilt_deg = 30.0, azimuth_deg = 180.0, inverter_ac_w = 7000.0 }]

[[chargers]]
device_id = "SIM0001"
limits = { phases = 3, max_current_a = 16 }
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "home.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def one_line_error(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


# ----- argument errors: one line, exit 2 --------------------------------------------------


def test_run_without_api_key_is_a_one_line_error(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("V2C_API_KEY", raising=False)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = runner.invoke(app, ["run", "--config", str(config), "--db", db])
    assert result.exit_code == 2
    assert "V2C_API_KEY" in one_line_error(result.output)
    assert not (tmp_path / "x.db").exists()  # nothing created before the inputs are good


def test_run_with_missing_or_bad_config_names_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V2C_API_KEY", "k")
    missing = tmp_path / "nope.toml"
    result = runner.invoke(app, ["run", "--config", str(missing)])
    assert result.exit_code == 2
    assert "nope.toml" in one_line_error(result.output)
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG + "\n[budget]\nreserve = -1\n", encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(bad)])
    assert result.exit_code == 2
    line = one_line_error(result.output)
    assert "bad.toml" in line and "budget.reserve" in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--hours", "0"], "--hours"),
        (["--hours", "1000"], "--hours"),
        (["--speed", "0"], "--speed"),
        (["--policy", "greedy"], "unknown policy 'greedy'"),
        (["--scenario", "no/such.toml"], "such.toml"),
    ],
)
def test_demo_argument_errors(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["demo", *args])
    assert result.exit_code == 2
    assert needle in one_line_error(result.output)


def test_run_refuses_an_unknown_policy(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2C_API_KEY", "k")
    result = runner.invoke(app, ["run", "--config", str(config), "--policy", "nope"])
    assert result.exit_code == 2
    assert "--policy" in one_line_error(result.output)


def test_run_clock_from_server_needs_a_simulator_at_the_base_url(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("V2C_API_KEY", "k")
    monkeypatch.delenv("V2C_BASE_URL", raising=False)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    args = ["run", "--config", str(config), "--db", db, "--clock-from-server"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--base-url" in one_line_error(result.output)
    nobody = "http://127.0.0.1:9/kong/v2c_service"  # the discard port: nothing answers
    result = runner.invoke(app, [*args, "--base-url", nobody])
    assert result.exit_code == 2
    assert "no simulator clock at http://127.0.0.1:9/sim/clock" in one_line_error(result.output)


def test_run_clock_from_server_follows_the_simulators_clock() -> None:
    """At 36,000x, the wall clock would be a year behind; the daemon's clock is the server's."""
    from optimizer.cli.daemon import _simulator_clock

    running, _ = start_demo_simulator(default_scenario(), seed=1, speed=36_000)
    try:
        began = time.monotonic()
        clock = _simulator_clock(running.base_url)
        took_s = time.monotonic() - began
        skew_s = (running.simulator.clock.now() - clock.now()).total_seconds()
        assert clock.speed == 36_000
        # The anchor is the fastest round trip's answer, read half-way through it: off
        # by at most half that trip, which is shorter than all the samples took.
        assert abs(skew_s) <= 36_000 * took_s / 2
    finally:
        running.stop()


def test_budget_with_bad_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "b.toml"
    bad.write_text(CONFIG + "\nsurprise = 1\n", encoding="utf-8")
    result = runner.invoke(app, ["budget", "--config", str(bad)])
    assert result.exit_code == 2
    assert "unknown key 'surprise'" in one_line_error(result.output)


# ----- demo ----------------------------------------------------------------------------------


def test_demo_json_is_one_object_with_consistent_counts(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    result = runner.invoke(
        app, ["demo", "--hours", "2", "--speed", "4000", "--json", "--db", db, "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout holds nothing but the object
    for key in ("calls_used", "calls_per_day_max", "ev_kwh", "solar_kwh", "grid_kwh", "sessions"):
        assert key in summary
    assert summary["calls_used"] > 0
    assert summary["calls_used"] == sum(summary["calls_per_day"].values())
    assert summary["calls_per_day"] == summary["simulator_calls_per_day"]
    assert summary["calls_per_day_max"] == max(summary["calls_per_day"].values()) <= 1000
    assert summary["ev_kwh"] == pytest.approx(summary["solar_kwh"] + summary["grid_kwh"], abs=0.01)
    assert summary["fatal"] is None
    assert summary["not_safe"] == []  # the demo's exit 0 says every charger is in the safe mode
    assert summary["config"] == str(tmp_path / "demo.toml")
    with SqlStore(db) as store:
        assert store.row_counts()["api_calls"] == summary["calls_used"]


def test_the_commands_the_demo_ends_with_show_its_plan_and_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, `v2c-solar plan` after a demo read config/home.toml: its placeholder
    charger, another database, "no plan yet"."""
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--hours", "9", "--speed", "8000", "--policy", "target"]
    result = runner.invoke(app, [*args, "--db", "sqlite:///demo.db"])  # relative to here
    assert result.exit_code == 0, result.output
    assert f"v2c-solar: the demo's config {tmp_path / 'demo.toml'}" in result.stderr  # at start
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("What it recorded"))
    plan_cmd, sessions_cmd = (shlex.split(line) for line in lines[at + 1 : at + 3])
    assert plan_cmd[:2] == ["v2c-solar", "plan"] and sessions_cmd[:2] == ["v2c-solar", "sessions"]
    monkeypatch.chdir(tmp_path.parent)  # run from elsewhere: the paths are absolute
    plan = runner.invoke(app, [*plan_cmd[1:], "--json"])
    assert plan.exit_code == 0, plan.output
    (charger,) = json.loads(plan.stdout)["plans"]
    assert charger["device_id"] == "SIM0001" and charger["plan"] is not None  # the car came 08:00
    sessions = runner.invoke(app, [*sessions_cmd[1:], "--csv"])
    assert sessions.exit_code == 0, sessions.output
    assert sessions.stdout.count("SIM0001") == 1
    written = (tmp_path / "demo.toml").read_text(encoding="utf-8")
    assert DEMO_API_KEY not in written and "api_key" not in written  # keys come from the env


def test_demo_with_faults_counts_like_the_simulator_and_lists_the_faults(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'faults.db'}"
    args = ["demo", "--hours", "2", "--speed", "4000", "--error-rate", "0.2", "--json"]
    result = runner.invoke(app, [*args, "--drop-rate", "0.1", "--db", db])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["faults"] == {"error_rate": 0.2, "drop_rate": 0.1}
    assert summary["fatal"] is None
    assert summary["calls_used"] > 0
    assert summary["calls_per_day"] == summary["simulator_calls_per_day"]
    statuses = {status for (status,) in _query(db, "SELECT status FROM api_calls")}
    assert statuses - {200}, "faults on 30 % of the calls failed none of them"


def test_demo_without_faults_lists_none(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'plain.db'}"
    result = runner.invoke(app, ["demo", "--hours", "1", "--speed", "4000", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["faults"] == {}


def test_demo_with_a_key_revoked_in_its_window_exits_1_naming_the_401(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'revoked.db'}"
    revoke = default_scenario().start_utc + timedelta(hours=2)
    cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--hours", "6", "--json"]
    done = subprocess.run(
        [*cmd, "--speed", "4000", "--revoke-keys-at", revoke.isoformat(), "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    summary = json.loads(done.stdout)
    fatal = summary["fatal"]
    assert "\n" not in fatal and "(401)" in fatal and "--revoke-keys-at" in fatal
    assert list(summary["faults"]) == ["revoke_keys_at"]
    assert datetime.fromisoformat(summary["faults"]["revoke_keys_at"]) == revoke
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {fatal}"]
    # the daemon stopped on the first refused call: it is the ledger's last
    statuses = _query(db, "SELECT status FROM api_calls ORDER BY time, id")
    assert statuses[-1] == (401,) and statuses.count((401,)) == 1


def test_demo_refuses_a_database_holding_the_simulated_days(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'used.db'}"
    start = default_scenario().start_utc
    with SqlStore(db) as store:
        store.record_call(
            ApiCall(start + timedelta(hours=1), "SIM0001", "currentstatecharge", 200, 0.1)
        )
        store.commit()
    result = runner.invoke(app, ["demo", "--hours", "2", "--db", db, "--json"])
    assert result.exit_code == 2
    assert "fresh database" in one_line_error(result.output)


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()


def sigterm(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Send SIGTERM and wait for the process to finish: its stdout and stderr."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)


def test_sigterm_finishes_the_cycle_leaves_exclusive_pv_and_exits_0(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'term.db'}"
    cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--hours", "48"]
    cmd += ["--speed", "3000", "--policy", "fast", "--db", db, "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        # Wait until the car is in and fast charges at MAX_POWER (commanded, committed).
        while time.monotonic() < deadline and proc.poll() is None:
            rows = _query(db, "SELECT kind, value FROM commands WHERE ok ORDER BY id")
            if ("set_pv_mode", 2) in rows and ("start", None) in rows:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        out, err = sigterm(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["safe_mode_commands"] == 1
    commands = _query(db, "SELECT kind, value, ok FROM commands ORDER BY id")
    assert commands[-1] == ("set_pv_mode", 1, 1)
    last_decision = _query(db, "SELECT pv_mode, reason FROM decisions ORDER BY id DESC LIMIT 1")
    assert last_decision[0][0] == 1
    assert str(last_decision[0][1]).startswith("shutdown")


# ----- run against a cloud that refuses the key ----------------------------------------------


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    running, _ = start_demo_simulator(default_scenario(), seed=1, speed=1.0)
    yield running
    running.stop()


def test_run_stops_on_401_with_a_clear_message(
    simulator: RunningSimulator, config: Path, tmp_path: Path
) -> None:
    env = dict(os.environ, V2C_API_KEY="wrong-key", V2C_BASE_URL=simulator.base_url)
    db = f"sqlite:///{tmp_path / 'run.db'}"
    cmd = [sys.executable, "-m", "optimizer.cli.main", "run", *NO_PORT, "--config", str(config)]
    done = subprocess.run(
        [*cmd, "--db", db], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "refused the API key (401)" in errors[0] and "V2C_API_KEY" in errors[0]
    assert "wrong-key" not in done.stderr + done.stdout
    assert _query(db, "SELECT status FROM api_calls") == [(401,)]


def test_run_names_chargers_it_could_not_leave_in_the_safe_mode(
    config: Path, tmp_path: Path
) -> None:
    from adapters.simulator.server import free_port

    unreachable = f"http://127.0.0.1:{free_port()}/kong/v2c_service"  # nothing listens there
    env = dict(os.environ, V2C_API_KEY="secret-key-123", V2C_BASE_URL=unreachable)
    db = f"sqlite:///{tmp_path / 'down.db'}"
    cmd = [sys.executable, "-m", "optimizer.cli.main", "run", *NO_PORT, "--config", str(config)]
    proc = subprocess.Popen(
        [*cmd, "--db", db], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()  # printed just before the signal handlers go in
        assert banner.startswith("v2c-solar: 1 charger(s)"), banner
        time.sleep(1.5)
        out, err = sigterm(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "left in their own" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert errors[0].startswith("error: could not put charger(s) SIM0001 in their own EXCLUSIVE_PV")
    assert errors[0].endswith("they keep their last setting")
    assert "secret-key-123" not in out + err


# ----- one daemon per database ------------------------------------------------------------


def _start_run(config: Path, db: str, simulator: RunningSimulator) -> subprocess.Popen[str]:
    """`v2c-solar run` against the simulator, returned once its banner is out (db held)."""
    from adapters.simulator.server import DEMO_API_KEY

    env = dict(os.environ, V2C_API_KEY=DEMO_API_KEY, V2C_BASE_URL=simulator.base_url)
    cmd = [
        sys.executable,
        "-m",
        "optimizer.cli.main",
        "run",
        *NO_PORT,
        "--config",
        str(config),
        "--db",
        db,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    banner = proc.stderr.readline()
    assert banner.startswith("v2c-solar: 1 charger(s)"), banner + proc.communicate()[1]
    return proc


def test_a_second_daemon_on_the_same_database_is_refused_and_kill_9_leaves_no_stale_lock(
    simulator: RunningSimulator, config: Path, tmp_path: Path
) -> None:
    from adapters.simulator.server import DEMO_API_KEY

    db = f"sqlite:///{tmp_path / 'one.db'}"
    first = _start_run(config, db, simulator)
    try:
        env = dict(os.environ, V2C_API_KEY=DEMO_API_KEY, V2C_BASE_URL=simulator.base_url)
        cmd = [sys.executable, "-m", "optimizer.cli.main", "run", *NO_PORT, "--config", str(config)]
        second = subprocess.run(
            [*cmd, "--db", db], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode == 2, second.stderr
        error = one_line_error(second.stderr)
        assert str(tmp_path / "one.db") in error
        assert f"pid {first.pid}" in error and "budget twice" in error
        assert first.poll() is None  # the first daemon goes on
        first.kill()  # kill -9: no clean exit, the lock file stays behind
        first.communicate(timeout=30)
        restarted = _start_run(config, db, simulator)  # the kernel dropped the flock
        time.sleep(1.5)  # the banner comes just before the signal handlers go in
        _, err = sigterm(restarted)
        assert restarted.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()


def test_sighup_is_refused_in_one_line_and_the_daemon_goes_on(
    simulator: RunningSimulator, config: Path, tmp_path: Path
) -> None:
    proc = _start_run(config, f"sqlite:///{tmp_path / 'hup.db'}", simulator)
    try:
        time.sleep(1.5)  # the banner comes just before the signal handlers go in
        os.kill(proc.pid, signal.SIGHUP)
        time.sleep(1.0)
        assert proc.poll() is None  # Python's default for SIGHUP would have killed it
        _, err = sigterm(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    refusals = [line for line in err.splitlines() if "SIGHUP" in line]
    assert len(refusals) == 1, err
    assert refusals[0].endswith("SIGHUP: reload not supported, restart the daemon")


# ----- budget --------------------------------------------------------------------------------


def test_budget_prints_spend_from_the_ledger_and_the_plan(config: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    now = datetime.now(UTC)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with SqlStore(db) as store:
        for k in range(37):
            t = day_start + (now - day_start) * k / 40
            store.record_call(ApiCall(t, "SIM0001", "currentstatecharge", 200, 0.1))
        store.record_call(ApiCall(day_start, "SIM0001", "intensity", 200, 0.1))
        store.record_call(ApiCall(day_start - timedelta(hours=2), "SIM0001", "intensity", 200, 0.1))
        store.commit()
    result = runner.invoke(app, ["budget", "--config", str(config), "--db", db])
    assert result.exit_code == 0, result.output
    assert "Spent 38 of 1000 calls" in result.stdout
    assert "currentstatecharge 37" in result.stdout and "intensity 1" in result.stdout
    if now < day_start + timedelta(hours=23, minutes=50):
        assert "Planned reads" in result.stdout


def test_budget_without_a_database_plans_the_whole_budget(config: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    result = runner.invoke(app, ["budget", "--config", str(config), "--db", db])
    assert result.exit_code == 0, result.output
    assert "Spent 0 of 1000 calls" in result.stdout
    assert not (tmp_path / "none.db").exists()
