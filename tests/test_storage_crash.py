"""kill -9 loses at most the cycle in flight: committed cycles survive, the open one vanishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.storage import SqlStore

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import timedelta
    from adapters.storage import SqlStore
    from tests.conftest import make_call, make_decision, make_reading

    store = SqlStore(sys.argv[1])
    for cycle in range(4):
        minute = cycle * 5
        store.record_call(make_call(minute, n=cycle))
        store.record_observation(make_reading(minute))
        store.record_decision(make_decision(minute))
        if cycle < 3:
            store.commit()
            print("committed", cycle, flush=True)
    print("in flight", flush=True)
    time.sleep(60)
    """
)


def test_sigkill_keeps_committed_cycles_and_drops_the_open_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert writer.stdout is not None
    lines = []
    try:
        for line in writer.stdout:
            lines.append(line.strip())
            if line.startswith("in flight"):
                break
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()
    assert lines == ["committed 0", "committed 1", "committed 2", "in flight"]
    assert writer.returncode == -signal.SIGKILL
    assert (tmp_path / "crash.db-wal").exists()  # the commits live in the WAL, not yet checkpointed

    with SqlStore(url) as after:
        assert after.row_counts() == {
            "api_calls": 3,
            "observations": 3,
            "decisions": 3,
            "commands": 0,
            "sessions": 0,
        }
        day = datetime(2024, 6, 1, tzinfo=UTC)
        ledger = after.calls_between(day, day + timedelta(days=1))
    assert [c.quota.remaining for c in ledger if c.quota] == [999, 998, 997]
