"""`benchmarks/fleet_realtime.py` in short: a tiny fleet served by one process, driven
by `run --config fleet.toml` in another, sampled, then stopped with SIGTERM."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _bench_module() -> ModuleType:
    path = ROOT / "benchmarks" / "fleet_realtime.py"
    spec = importlib.util.spec_from_file_location("fleet_realtime", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_realtime"] = module
    spec.loader.exec_module(module)
    return module


def test_a_tiny_fleet_in_two_processes_makes_calls_and_stops_safe(tmp_path: Path) -> None:
    bench = _bench_module()
    report = bench.run_realtime(
        2, 2, workdir=tmp_path, speed=600.0, warmup_s=2.0, window_s=15.0, interval_s=1.0
    )
    shown = bench.show(report) + "\n" + report.daemon_tail
    # the warm-up ends only once every account's calls reached the separate simulator
    assert len(report.calls_at_warmup_end) == 2 and min(report.calls_at_warmup_end) > 0, shown
    assert len(report.calls_per_account) == 2 and report.samples >= 2, shown
    assert report.cpu_s >= 0 and report.rss_mb_peak > 0, shown
    assert report.exit_code == 0 and report.left_safe, shown
    assert report.late_s_mean is not None and report.late_s_max is not None, shown
    log = (tmp_path / "daemon.log").read_text()
    assert "clear-sky child" not in log, log
    for key_file in (tmp_path / "fleet" / "keys").iterdir():
        assert key_file.read_text().strip() not in log
