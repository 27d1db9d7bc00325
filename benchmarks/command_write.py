"""CPU per command of writing it before its call (`SqlStore.begin_command`) and completing it
at the cycle's commit, against buffering its outcome alone (the store before).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/command_write.py [--commands 2000] [--rounds 5]

An SQLite file as the daemon opens it (`exclusive`), a commit per 4 commands (a cycle's
writes at most); the two ways alternate, `--rounds` times each, and the least and the
median CPU (process time) per command are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.storage import SqlStore
from optimizer.interfaces import Command

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def run(commands: int, *, begin: bool) -> float:
    """CPU seconds to record `commands` commands (written first when `begin`)."""
    folder = Path(tempfile.mkdtemp(prefix="v2c-commands-"))
    store = SqlStore(f"sqlite:///{folder / 'commands.db'}", exclusive=True)
    start = time.process_time()
    for i in range(commands):
        at = T0 + timedelta(seconds=i)
        if begin:
            sent = Command(at, "dev1", "set_current", 6 + i % 10, ok=False, unanswered=True)
            store.begin_command(sent)
        store.record_command(Command(at, "dev1", "set_current", 6 + i % 10, ok=True))
        if i % 4 == 3:
            store.commit()
    store.commit()
    used = time.process_time() - start
    assert store.row_counts()["commands"] == commands
    store.close()
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for begin in (False, True):
            cpu[begin].append(run(args.commands, begin=begin))
    for begin, label in ((False, "outcome only"), (True, "written before the call")):
        per = [s * 1e6 / args.commands for s in cpu[begin]]
        print(f"{label}: least {min(per):.0f} us, median {statistics.median(per):.0f} us a command")


if __name__ == "__main__":
    main()
