"""A kill -9 during a command's call, or between the charger's answer and the cycle's
commit, keeps the command's row (issue 10, "nothing recorded is lost"): it is written
before the call, and the next daemon's start marks it unknown, counts its call, and
takes a session energy limit it may have set as held (so it gets lifted)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from adapters.storage import SqlStore
from adapters.storage.retrying import RetryingStore
from adapters.storage.sql_store import PROCESS_ENDED
from optimizer.cycle.actuator import Actuator
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import Command, Decision, PvMode, Store
from tests.conftest import T0, FakeClock, FakeScheduler, FakeStore, World
from tests.test_policies import ctx
from tests.test_session_energy_cap import CappingCharger

ROOT = Path(__file__).resolve().parents[1]

CHARGER = textwrap.dedent(
    """
    import sys, time
    from adapters.storage import SqlStore
    from adapters.storage.retrying import RetryingStore
    from tests.test_command_crash import actuator_over, plugged_in_decision
    from tests.test_policies import ctx
    from tests.conftest import T0

    url, where = sys.argv[1], sys.argv[2]
    store = RetryingStore(SqlStore(url, exclusive=True))
    actuator = actuator_over(store, block_in_limit=where == "in-call")
    actuator.act(T0, ctx(0, 0.0), plugged_in_decision())
    print("answered", flush=True)  # the cycle's commit would come next
    time.sleep(60)
    """
)


class BlockingCharger(CappingCharger):
    """A charger whose energy limit call never answers (a hung request)."""

    def limit_session_energy(self, wh: int | None) -> None:
        print("in call", flush=True)
        import time

        time.sleep(60)


def actuator_over(store: Store, *, block_in_limit: bool = False) -> Actuator:
    """An actuator of charger `dev1` recording into `store`."""
    kind = BlockingCharger if block_in_limit else CappingCharger
    backoff = Backoff(ControllerSettings(error_backoff_s=60.0, rate_limit_wait_s=3600.0))
    return Actuator(kind(FakeClock(), World()), store, FakeScheduler(), backoff, deadband_a=1)


def plugged_in_decision() -> Decision:
    """Charge at 10 A and stop at 20 kWh: mode, current, limit, start."""
    return Decision(T0, "dev1", "target", True, 10, PvMode.MAX_POWER, "r", energy_cap_wh=20_000)


def _kill_when(url: str, where: str, line: str) -> None:
    """Run the charging process, SIGKILL it once it printed `line`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHARGER, url, where],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    try:
        seen = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
    assert seen == line
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("where", "line", "kinds"),
    [
        ("in-call", "in call", ["set_pv_mode", "set_current", "limit_energy"]),
        ("answered", "answered", ["set_pv_mode", "set_current", "limit_energy", "start"]),
    ],
)
def test_a_command_killed_in_flight_is_kept_unknown_and_its_limit_lifted(
    tmp_path: Path, where: str, line: str, kinds: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'home.db'}"
    _kill_when(url, where, line)

    with SqlStore(url, exclusive=True) as reopened:
        assert reopened.settled_commands == len(kinds)
        rows = reopened.commands_since("dev1", T0)
        assert [c.kind for c in rows] == kinds
        assert all(c.unanswered and not c.ok and c.error == PROCESS_ENDED for c in rows)
        ledger = reopened.calls_between(T0, T0 + timedelta(minutes=1))
        assert [c.endpoint for c in ledger] == [f"unanswered/{kind}" for kind in kinds]

        actuator = actuator_over(RetryingStore(reopened))
        actuator.restore(T0)
        assert actuator.commanded.energy_cap_wh == 20_000  # possibly on the charger
        lift = Decision(T0, "dev1", "fast", True, 16, PvMode.MAX_POWER, "r")
        assert ("limit_energy", None) in actuator.planned_writes(ctx(0, 0.0), lift)
        # even a decision asking for the same limit writes it: whether it is held is unknown
        again = actuator.planned_writes(ctx(0, 0.0), plugged_in_decision())
        assert ("limit_energy", 20_000) in again

    with SqlStore(url, exclusive=True) as third:
        assert third.settled_commands == 0  # marked once


def test_a_begun_command_is_one_row_completed_by_its_outcome(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'home.db'}"
    with SqlStore(url) as store:
        actuator = actuator_over(RetryingStore(store))
        sent = actuator.act(T0, ctx(0, 0.0), plugged_in_decision()).commands
        assert store.commands_since("dev1", T0) == list(sent)  # pending outcomes read back
        store.commit()
        assert store.row_counts()["commands"] == 4
    with SqlStore(url, exclusive=True) as reopened:
        assert reopened.settled_commands == 0
        rows = reopened.commands_since("dev1", T0)
    assert rows == list(sent) and all(c.ok and not c.unanswered for c in rows)


def test_a_database_that_fails_the_early_write_still_gets_the_outcome(tmp_path: Path) -> None:
    """A full or read-only disk: the control goes on, the outcome is a row of its own."""
    url = f"sqlite:///{tmp_path / 'home.db'}"
    with SqlStore(url) as store:
        retrying = RetryingStore(store)
        engine, store._engine = store._engine, _Broken()  # type: ignore[assignment]
        acted = actuator_over(retrying).act(T0, ctx(0, 0.0), plugged_in_decision())
        assert acted.errors == () and retrying.failed_commits == 4
        store._engine = engine
        retrying.commit()
        assert [c.ok for c in store.commands_since("dev1", T0)] == [True] * 4


class _Broken:
    """An engine whose every transaction fails as a full disk does."""

    def begin(self) -> None:
        raise OperationalError("INSERT", {}, Exception("database or disk is full"))


def test_an_unanswered_lift_leaves_the_limit_before_it_held() -> None:
    store = FakeStore()
    store.record_command(Command(T0, "dev1", "limit_energy", 20_000, ok=True))
    lift_at = T0 + timedelta(minutes=5)
    store.record_command(Command(lift_at, "dev1", "limit_energy", None, False, PROCESS_ENDED, True))
    actuator = actuator_over(store)
    actuator.restore(T0)
    assert actuator.commanded.energy_cap_wh == 20_000  # the lift may not have reached it
    lift = Decision(T0, "dev1", "fast", True, 16, PvMode.MAX_POWER, "r")
    assert ("limit_energy", None) in actuator.planned_writes(ctx(0, 0.0), lift)
