"""`benchmarks/soak.py` in short: two simulated days with every fault, a `kill -9` of
the daemon, a simulator restart and the key revoked, in real processes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_IN_FLIGHT = 4
"""Calls one cycle can have in flight at the kill: a read's 3 attempts and a write."""


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_two_day_soak_survives_every_fault_with_the_books_right(tmp_path: Path) -> None:
    soak = _soak_module()
    report = soak.run_soak(days=2, workdir=tmp_path)
    shown = soak.table(report)
    assert report.crashes == 0, shown
    assert [p.expected for p in report.processes] == [
        "sigkill",
        "sigterm",
        "key_refused",
        "sigterm",
    ]
    assert report.fatal_names_401, shown
    assert report.days_over_limit == 0 and report.max_calls_per_day > 10, shown
    # Every request the simulator saw is in the ledger but those of the cycle the
    # kill cut short; the ledger's own extra are the calls into the restart's gap.
    assert -MAX_IN_FLIGHT <= report.ledger_minus_server <= 0, shown
    assert report.unanswered_while_down > 0, shown
    assert report.sessions_true >= 2, shown
    assert report.sessions_lost == 0 and report.sessions_duplicated == 0, shown
    assert abs(report.ev_error_pct) <= 2.0, shown
