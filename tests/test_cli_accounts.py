"""`sessions --account` and `budget --account`: one account's rows of a fleet's database."""

from __future__ import annotations

import json
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from adapters.served import free_port
from adapters.simulator.demo import fleet_key_env, write_fleet_demo_config
from adapters.simulator.fleet import Fleet as SimulatedFleet
from adapters.simulator.fleet import generate_fleet, start_fleet_simulator
from adapters.storage import SqlStore
from optimizer.accounts import load_fleet
from optimizer.cli.main import app
from optimizer.config import AppConfig
from optimizer.interfaces import ApiCall
from tests.conftest import make_session

runner = CliRunner()

SITE = """
[site]
latitude = 47.05
longitude = 15.44
timezone = "Europe/Vienna"
arrays = [{{ kwp = 8.0, tilt_deg = 30.0, azimuth_deg = 180.0 }}]

[[chargers]]
device_id = "{device}"
"""

FLEET = """
[storage]
url = "sqlite:///{db}"

[[accounts]]
name = "acme"
api_key_env = "ACME_KEY"
[[accounts.sites]]
config = "a.toml"

[[accounts]]
name = "zeta"
api_key_env = "ZETA_KEY"
[[accounts.sites]]
config = "z.toml"
"""


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, str]:
    """A fleet file of two accounts and a database where each spent calls and charged."""
    db = tmp_path / "fleet.db"
    (tmp_path / "a.toml").write_text(SITE.format(device="A1"))
    (tmp_path / "z.toml").write_text(SITE.format(device="Z1"))
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET.format(db=db))
    now = datetime.now(UTC)
    with SqlStore(f"sqlite:///{db}") as store:
        for account, device, calls in (("acme", "A1", 7), ("zeta", "Z1", 3)):
            own = store.for_account(account)
            for k in range(calls):
                t = now - timedelta(seconds=k + 1)
                own.record_call(ApiCall(t, device, "currentstatecharge", 200, 0.1))
            own.record_session(make_session(device, 0))
            own.commit()
    return path, f"sqlite:///{db}"


def test_sessions_of_one_account_or_all(fleet: tuple[Path, str]) -> None:
    _, db = fleet
    every = runner.invoke(app, ["sessions", "--db", db, "--csv"])
    acme = runner.invoke(app, ["sessions", "--db", db, "--csv", "--account", "acme"])
    assert every.exit_code == 0 == acme.exit_code, every.output + acme.output
    assert _devices(every.stdout) == ["A1", "Z1"]
    assert _devices(acme.stdout) == ["A1"]


def _devices(csv_text: str) -> list[str]:
    return sorted(line.split(",")[0] for line in csv_text.splitlines()[1:])


def test_budget_spends_are_the_accounts_own(fleet: tuple[Path, str]) -> None:
    path, _ = fleet
    for account, spent in (("acme", 7), ("zeta", 3)):
        result = runner.invoke(app, ["budget", "--config", str(path), "--account", account])
        assert result.exit_code == 0, result.output
        assert f"Spent {spent} of 1000 calls" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "has 2 accounts: choose one with --account (acme, zeta)"),
        (["--account", "nope"], "no account 'nope'"),
        (["--account", "Bad Name"], "--account 'Bad Name': must match"),
    ],
)
def test_budget_account_errors_are_one_line(
    fleet: tuple[Path, str], args: list[str], expected: str
) -> None:
    path, _ = fleet
    result = runner.invoke(app, ["budget", "--config", str(path), *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output


def test_demo_fleet_json_has_one_row_per_account(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    result = runner.invoke(
        app, ["demo", "--fleet", "2:3", "--hours", "3", "--speed", "4000", "--json", "--db", db]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    rows = summary["accounts"]
    assert [r["account"] for r in rows] == ["acct-001", "acct-002"]
    assert [r["chargers"] for r in rows] == [3, 3] and summary["chargers"] == 6
    for row in rows:
        assert 0 < row["calls_per_day_max"] <= 1000
        assert row["calls_per_day_max"] == row["simulator_calls_per_day_max"]
        assert row["fatal"] is None
    assert summary["calls_used"] == sum(r["calls_used"] for r in rows)
    assert summary["ev_kwh"] == pytest.approx(sum(r["ev_kwh"] for r in rows), abs=0.01)
    assert summary["cpu_s"] > 0 and summary["peak_rss_mb"] > 0
    assert 0 <= summary["late_s_mean"] <= summary["late_s_max"]


def test_the_fleet_demo_writes_its_config_and_the_commands_it_ends_with_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, `demo --fleet` wrote no config: `plan` and `budget` had no file to read the
    fleet's accounts and homes from."""
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--fleet", "2:2", "--hours", "3", "--speed", "4000"]
    result = runner.invoke(app, [*args, "--db", "sqlite:///fleet.db"])  # relative to here
    assert result.exit_code == 0, result.output
    config = tmp_path / "fleet.toml"
    assert f"v2c-solar: the demo's config {config}" in result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("What it recorded"))
    plan_cmd, sessions_cmd, budget_cmd = (shlex.split(line) for line in lines[at + 1 : at + 4])
    monkeypatch.chdir(tmp_path.parent)  # run from elsewhere: the paths are absolute
    plan = runner.invoke(app, [*plan_cmd[1:], "--json"])
    assert plan.exit_code == 0, plan.output
    chargers = [p["device_id"] for p in json.loads(plan.stdout)["plans"]]
    assert len(chargers) == 2 and all(c.startswith("acct-001-h") for c in chargers)
    sessions = runner.invoke(app, [*sessions_cmd[1:], "--csv"])
    assert sessions.exit_code == 0 and "acct-001-h1-c1" in sessions.stdout, sessions.output
    assert "acct-002" not in sessions.stdout
    budget = runner.invoke(app, budget_cmd[1:])
    assert budget.exit_code == 0, budget.output
    fleet = load_fleet(config)
    assert [(a.name, a.key_env) for a in fleet.accounts] == [
        ("acct-001", "V2C_API_KEY_ACCT_001"),
        ("acct-002", "V2C_API_KEY_ACCT_002"),
    ]
    assert fleet.storage.url == f"sqlite:///{tmp_path / 'fleet.db'}"


def test_the_fleet_config_names_the_keys_never_holds_them(tmp_path: Path) -> None:
    simulated = generate_fleet(3, 4, seed=5)
    written = write_fleet_demo_config(simulated, f"sqlite:///{tmp_path / 'f.db'}", note="n")
    assert written == tmp_path / "f.toml"
    text = written.read_text(encoding="utf-8")
    for account in simulated.accounts:
        assert account.api_key.get_secret_value() not in text
    assert "api_key =" not in text
    fleet = load_fleet(written)
    resolved = fleet.resolve({fleet_key_env(a.name): "k" for a in simulated.accounts})
    assert [a.sites for a in resolved] == [a.sites for a in simulated.accounts]


def test_demo_fleet_with_web_serves_every_home(tmp_path: Path) -> None:
    """`demo --fleet 2:2 --web`: each generated account's home on `?account=&site=`."""
    web = f"127.0.0.1:{free_port()}"
    cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--fleet", "2:2", "--json"]
    cmd += ["--hours", "24", "--speed", "60", "--web", web]
    cmd += ["--db", f"sqlite:///{tmp_path / 'fleet.db'}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://{web}/api/accounts", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        homes = _homes_on_the_web(f"http://{web}")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert {account for account, _ in homes} == {"acct-001", "acct-002"}
    for (account, _), chargers in homes.items():
        assert chargers and all(c.startswith(f"{account}-") for c in chargers)
    assert sum(len(chargers) for chargers in homes.values()) == 4
    assert proc.returncode == 0, err
    assert [row["account"] for row in json.loads(out)["accounts"]] == ["acct-001", "acct-002"]


def test_demo_fleet_spec_errors_are_one_line() -> None:
    result = runner.invoke(app, ["demo", "--fleet", "ten:3"])
    assert result.exit_code == 2
    assert "expected ACCOUNTS:CHARGERS" in result.output


def _site_toml(site: AppConfig) -> str:
    arrays = ", ".join(
        f"{{ kwp = {a.kwp}, tilt_deg = {a.tilt_deg}, azimuth_deg = {a.azimuth_deg} }}"
        for a in site.site.arrays
    )
    chargers = "".join(f'\n[[chargers]]\ndevice_id = "{c.device_id}"\n' for c in site.chargers)
    return (
        f"[site]\nlatitude = {site.site.latitude}\nlongitude = {site.site.longitude}\n"
        f'timezone = "{site.site.timezone}"\narrays = [{arrays}]\n{chargers}'
    )


def fleet_toml(folder: Path, fleet: SimulatedFleet, head: str = "") -> Path:
    """`folder/fleet.toml` over `fleet`'s accounts (keys in files, a site file per site),
    after `head` (the fleet file's own sections)."""
    lines = [head]
    for account in fleet.accounts:
        (folder / f"{account.name}.key").write_text(account.api_key.get_secret_value())
        lines += [f'[[accounts]]\nname = "{account.name}"\napi_key_file = "{account.name}.key"']
        for j, site in enumerate(account.sites):
            (folder / f"{account.name}-{j}.toml").write_text(_site_toml(site))
            lines += [f'[[accounts.sites]]\nconfig = "{account.name}-{j}.toml"']
    path = folder / "fleet.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_run_drives_every_account_of_a_fleet_file(tmp_path: Path) -> None:
    """`run --config fleet.toml` against a served fleet: one process, each account its key
    (from a file), its rows labelled, each home on its web server's `?account=&site=`;
    SIGTERM leaves every charger safe, exit 0."""
    fleet = generate_fleet(2, 2, seed=5)
    fleet_toml(tmp_path, fleet)
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    with start_fleet_simulator(fleet, speed=600) as served:
        cmd = [sys.executable, "-m", "optimizer.cli.main", "run", "--config"]
        web = f"http://127.0.0.1:{free_port()}"
        cmd += [str(tmp_path / "fleet.toml"), "--db", db, "--web", web.removeprefix("http://")]
        cmd += ["--base-url", served.base_url, "--clock-from-server"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and proc.poll() is None:
                if _accounts_with_calls(tmp_path / "fleet.db") == {"acct-001", "acct-002"}:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, proc.communicate()
            assert _homes_on_the_web(web) == {
                (a.name, f"site{j + 1}"): {c.device_id for c in site.chargers}
                for a in fleet.accounts
                for j, site in enumerate(a.sites)
            }
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "2 account(s), 4 charger(s)" in err
    assert re.search(r"rounds ran [\d.]+ s late on average, [\d.]+ s at worst", err), err
    assert _accounts_with_calls(tmp_path / "fleet.db") == {"acct-001", "acct-002"}
    assert not any(a.api_key.get_secret_value() in err for a in fleet.accounts)


def _homes_on_the_web(web: str) -> dict[tuple[str, str], set[str]]:
    """Each home `/api/accounts` lists and the chargers its `/api/status` shows."""
    listed = httpx.get(f"{web}/api/accounts", timeout=10).json()["accounts"]
    homes = {}
    for account in listed:
        for site in account["site_names"]:
            query = {"account": account["account"], "site": site}
            status = httpx.get(f"{web}/api/status", params=query, timeout=10).json()
            homes[account["account"], site] = {c["device_id"] for c in status["chargers"]}
    return homes


def _accounts_with_calls(path: Path) -> set[str]:
    if not path.exists():
        return set()
    try:
        with sqlite3.connect(path) as conn:
            return {row[0] for row in conn.execute("SELECT DISTINCT account FROM api_calls")}
    except sqlite3.Error:
        return set()
