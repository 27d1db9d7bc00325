"""`v2c-solar target` and `plan` on a fleet file: the account chosen, the target kept with
it, and the fleet daemon applying it.

The fleet daemon runs as in `tests/test_fleet_daemon.py`: two accounts (acme with SIMA,
zeta with SIMB) over one frozen demo simulator, one worker each (`FleetRunner`); the
test moves the clock to the next due job, wakes the workers and waits until they ran
it (`settle`): no wall-clock sleeps. A target stated for SIMB with the command's own
code (on the simulated clock) must be kept under zeta's settings and applied by zeta's
daemon at its next targets poll, acme's charger untouched.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.simulator.demo import start_demo_simulator
from adapters.simulator.server import DEMO_API_KEY, RunningSimulator
from adapters.simulator.world import DeviceConfig, default_scenario
from adapters.storage import SqlStore
from adapters.v2c_cloud.pool import HttpPool, PooledV2CClient
from optimizer.accounts import load_fleet
from optimizer.cli.main import app
from optimizer.cli.target import TargetOptions, target_in_config
from optimizer.daemon.cloud import AccountDaemons, account_daemons
from optimizer.daemon.fleet import FleetRunner
from optimizer.daemon.targets import TARGET_POLL_S
from optimizer.planning.record import ReplanReason
from tests.conftest import make_plan
from tests.test_cli_accounts import FLEET

runner = CliRunner()

T0 = default_scenario().start_utc
MORNING = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)  # 11:00 in Vienna; the cars came at 08:00
assert T0 < MORNING

SITE = """
[site]
latitude = {latitude}
longitude = {longitude}
timezone = "{timezone}"
arrays = [{{ kwp = 8.0, tilt_deg = 30.0, azimuth_deg = 180.0 }}]

[policy]
name = "target"
[policy.target]
planner = "least_cost"

[[chargers]]
device_id = "{device}"
"""


def write_fleet(folder: Path) -> Path:
    """The fleet file (acme: SIMA in a.toml, zeta: SIMB in z.toml, at the demo home)."""
    site = default_scenario().site
    for name, device in (("a", "SIMA"), ("z", "SIMB")):
        (folder / f"{name}.toml").write_text(
            SITE.format(
                latitude=site.latitude,
                longitude=site.longitude,
                timezone=site.timezone,
                device=device,
            )
        )
    path = folder / "fleet.toml"
    path.write_text(FLEET.format(db=folder / "fleet.db"))
    return path


def step_fleet_until(
    sim: RunningSimulator,
    runner: FleetRunner,
    until: datetime,
    settled: Callable[[datetime], bool] = lambda t: True,
) -> None:
    """Move the frozen simulator's clock to each account's next wake-up up to `until`,
    waking the workers and waiting until they settle there (and `settled(t)` holds:
    e.g. the fleet's refreshes), so every job due up to `until` runs in clock order."""
    while True:
        due = [t for w in runner.workers if (t := w.next_wakeup()) is not None]
        t = min(min(due), until)
        sim.simulator.jump_to(t)
        runner.wake()
        assert runner.settle(t, timeout_s=60), f"the workers did not settle at {t}"
        assert settled(t), f"not settled at {t}"
        if t >= until:
            return


class Fleet:
    """Both accounts' daemons over one frozen simulator serving SIMA and SIMB (or
    `devices`); with `boards` each site publishes its status (for the web app,
    `tests/test_web_fleet.py`)."""

    def __init__(
        self, path: Path, *, boards: bool = False, devices: tuple[str, ...] = ("SIMA", "SIMB")
    ) -> None:
        served = tuple(DeviceConfig(device_id=d) for d in devices)
        scenario = default_scenario().model_copy(update={"devices": served})
        self.sim: RunningSimulator = start_demo_simulator(scenario, seed=1, speed=0.001)[0]
        self.clock = self.sim.simulator.clock
        config = load_fleet(path)
        accounts = config.resolve({"ACME_KEY": DEMO_API_KEY, "ZETA_KEY": DEMO_API_KEY})
        self.specs = accounts
        self.store = SqlStore(config.storage.url)
        self.pool = HttpPool(timeout=30.0)
        self.accounts: dict[str, AccountDaemons] = {}
        for account in accounts:
            client = PooledV2CClient(
                self.pool,
                account.api_key,
                base_url=self.sim.base_url,
                clock=self.clock.now,
                sleep=lambda s: None,
            )
            wired = account_daemons(account, client, self.clock, self.store, boards=boards)
            self.accounts[account.name] = wired
        self.runner = FleetRunner(list(self.accounts.values()), self.clock)
        self.runner.start()

    def run_until(self, until: datetime) -> None:
        """Every job due up to `until` run, in clock order."""
        step_fleet_until(self.sim, self.runner, until)

    def close(self) -> None:
        self.runner.stop(timeout_s=60)
        self.pool.close()
        self.sim.stop()
        self.store.close()


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    return write_fleet(tmp_path)


@pytest.fixture
def fleet(fleet_file: Path) -> Iterator[Fleet]:
    running = Fleet(fleet_file)
    try:
        yield running
    finally:
        running.close()


def test_a_target_from_the_command_reaches_its_accounts_fleet_daemon(
    fleet: Fleet, fleet_file: Path
) -> None:
    fleet.run_until(MORNING)
    zeta = fleet.accounts["zeta"].daemons[0].controllers["SIMB"].sessions
    acme = fleet.accounts["acme"].daemons[0].controllers["SIMA"].sessions
    assert zeta.open is not None and acme.open is not None  # both cars came at 08:00
    untouched = acme.target_wh

    # No --account: SIMB is zeta's; "17:00" on the simulated clock, in the site's zone.
    said = target_in_config(fleet_file, None, TargetOptions("SIMB", 5.0, "17:00"), MORNING)
    assert said[0].startswith("SIMB: 5 kWh by Sun 21 Jun 17:00")
    db = fleet_file.parent / "fleet.db"
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM settings WHERE key LIKE '%:target/%'")]
    assert keys == ["zeta:target/SIMB"]  # where zeta's store (for_account) reads it

    fleet.run_until(MORNING + timedelta(seconds=TARGET_POLL_S + 1))
    assert zeta.target_wh == 5000.0
    assert zeta.departure == datetime(2026, 6, 21, 15, 0, tzinfo=UTC)
    assert acme.target_wh == untouched  # the other account's charger: not its target
    with SqlStore(f"sqlite:///{db}", create_if_missing=False, read_only=True) as store:
        plan = store.latest_plan("SIMB")
    assert plan is not None and plan.reason is ReplanReason.TARGET

    # `plan` finds the account by the charger and shows the plan and the target.
    shown = runner.invoke(
        app, ["plan", "--config", str(fleet_file), "--device-id", "SIMB", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    (entry,) = json.loads(shown.stdout)["plans"]
    assert entry["plan"]["reason"] == "target changed"
    assert entry["target"]["energy_wh"] == 5000.0


def test_plan_with_account_lists_only_that_accounts_chargers(fleet_file: Path) -> None:
    url = f"sqlite:///{fleet_file.parent / 'fleet.db'}"
    with SqlStore(url) as store:
        for account, device in (("acme", "SIMA"), ("zeta", "SIMB")):
            own = store.for_account(account)
            own.record_plan(make_plan(0, device_id=device, reason="new prices"))
            own.commit()
    result = runner.invoke(app, ["plan", "--config", str(fleet_file), "--account", "zeta"])
    assert result.exit_code == 0, result.output
    assert "SIMB: plan made" in result.stdout and "SIMA" not in result.stdout


def test_target_with_the_cli_keeps_a_fleets_target_with_its_account(fleet_file: Path) -> None:
    args = ["target", "--config", str(fleet_file), "--device-id", "SIMA", "--kwh", "7"]
    result = runner.invoke(app, [*args, "--by", "tomorrow 07:30", "--account", "acme"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(fleet_file.parent / "fleet.db") as conn:
        rows = dict(conn.execute("SELECT key, value FROM settings"))
    assert json.loads(rows["acme:target/SIMA"])["energy_wh"] == 7000.0
    shown = runner.invoke(app, ["plan", "--config", str(fleet_file), "--device-id", "SIMA"])
    assert "SIMA: no plan yet" in shown.stdout and "target: 7.0 kWh by" in shown.stdout


@pytest.mark.parametrize(
    ("command", "extra", "message"),
    [
        ("plan", [], "fleet.toml has 2 accounts: choose one with --account (acme, zeta)"),
        ("plan", ["--account", "nope"], "--account: no account 'nope' in "),
        ("plan", ["--device-id", "SIMX"], "--device-id: unknown charger 'SIMX' in "),
        (
            "plan",
            ["--account", "acme", "--device-id", "SIMB"],
            "--device-id: unknown charger 'SIMB' in account 'acme' of ",
        ),
        ("plan", ["--account", "Bad Name"], "--account 'Bad Name': must match"),
        (
            "target",
            ["--device-id", "SIMX", "--kwh", "5", "--by", "07:30"],
            "(accounts: acme, zeta)",
        ),
        (
            "target",
            ["--account", "zeta", "--device-id", "SIMA", "--kwh", "5", "--by", "07:30"],
            "--device-id: unknown charger 'SIMA' in account 'zeta' of ",
        ),
    ],
)
def test_bad_accounts_and_chargers_are_one_line_naming_them(
    fleet_file: Path, command: str, extra: list[str], message: str
) -> None:
    result = runner.invoke(app, [command, "--config", str(fleet_file), *extra])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    if "must match" not in message:
        assert str(fleet_file) in lines[0]
    assert not (fleet_file.parent / "fleet.db").exists()  # nothing written
