"""The clear sky computed in a child process: the same numbers, failures as values.

The live daemon runs the clear-sky model (pvlib) in a short-lived child process
(`InChildProcess`) so that it never imports pandas or pvlib itself
(`tests/test_cli_imports.py` checks the `run` command's modules).
"""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from adapters.simulator.demo import demo_config
from adapters.simulator.inprocess import SimClock, WorldCharger
from adapters.simulator.world import World, default_scenario
from adapters.storage import MemoryStore
from optimizer.composition import build_site
from optimizer.daemon import build_daemon
from optimizer.forecast import (
    ClearSkyCache,
    ClearSkyFailure,
    ClearSkyUnavailable,
    InChildProcess,
    PvForecaster,
    in_process,
)
from optimizer.forecast.clearsky_compute import ClearSkyResult
from optimizer.site import GRAZ, SiteConfig

DST_START = datetime(2026, 3, 29, tzinfo=UTC)
"""Europe/Vienna (GRAZ's zone) moves its clocks forward on this day."""


def day_index(t: datetime) -> int:
    return int(t.timestamp() // 86_400)


def test_the_child_process_computes_the_very_same_days() -> None:
    first = day_index(DST_START) - 1
    in_child = InChildProcess()(GRAZ, first, 4)
    here = in_process(GRAZ, first, 4)
    assert isinstance(in_child, np.ndarray) and isinstance(here, np.ndarray)
    assert in_child.shape == here.shape == (4, 1441)
    assert np.array_equal(in_child, here)  # bit for bit, not approximately
    assert here.max() > 1000.0  # days with sun, not an empty answer


def test_a_cache_gives_the_same_grid_whichever_way_it_computes() -> None:
    start_s = (DST_START - timedelta(days=1)).timestamp() + 1800.0
    grids = [
        ClearSkyCache(GRAZ, prefetch_days=4, compute=compute).power_grid(start_s, 3 * 288, 300.0)
        for compute in (in_process, InChildProcess())
    ]
    assert np.array_equal(grids[0], grids[1])


def crashing_python(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in interpreter that counts its starts and exits 3: a crashing child."""
    starts = tmp_path / "starts"
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\necho start >> {starts}\necho 'boom: no pvlib' >&2\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), starts


def test_a_crashing_child_is_a_failure_value_retried_after_a_pause(tmp_path: Path) -> None:
    python, starts = crashing_python(tmp_path)
    runner = InChildProcess(python=python, retry_after_s=3600.0)
    first = runner(GRAZ, 20_000, 2)
    assert first == ClearSkyFailure("the clear-sky child process exited 3: boom: no pvlib")
    assert runner(GRAZ, 20_000, 2) is first  # within retry_after_s: no new child
    assert starts.read_text().count("start") == 1
    eager = InChildProcess(python=python, retry_after_s=0.0)
    eager(GRAZ, 20_000, 1)
    eager(GRAZ, 20_000, 1)
    assert starts.read_text().count("start") == 3


def test_a_child_past_its_timeout_is_a_failure_value() -> None:
    result = InChildProcess(timeout_s=0.01)(GRAZ, 20_000, 1)
    assert result == ClearSkyFailure("the clear-sky child process timed out after 0.01 s")


def test_the_forecaster_reports_an_unavailable_clear_sky_and_logs_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failure = ClearSkyFailure("the clear-sky child process exited 1: boom")
    forecaster = PvForecaster(GRAZ, clear_sky_days=lambda site, first, n: failure)
    now = datetime(2026, 6, 21, 10, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="optimizer.forecast.clearsky"):
        for _ in range(3):
            with pytest.raises(ClearSkyUnavailable, match="exited 1: boom"):
                forecaster.forecast(now, now + timedelta(hours=48), 300.0)
            forecaster.observe(now, 4000.0)  # skipped: nothing to compare it with
    assert [r.getMessage() for r in caplog.records] == [
        "clear sky unavailable: the clear-sky child process exited 1: boom"
    ]
    assert forecaster.clear_sky.power_at_or_dark(now.timestamp()) == 0.0


class FailsFirst:
    """A `ClearSkyDays` whose first `failures` runs fail, then computes in process."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, site: SiteConfig, first_day: int, n_days: int) -> ClearSkyResult:
        self.calls += 1
        if self.calls <= self.failures:
            return ClearSkyFailure(f"run {self.calls} failed")
        return in_process(site, first_day, n_days)


def test_the_daemon_keeps_charging_through_a_failed_clear_sky_and_retries() -> None:
    scenario = default_scenario()
    world = World(scenario, seed=1)
    clock = SimClock(world.now)
    compute = FailsFirst(failures=3)
    site = build_site(
        demo_config(scenario, "solar_only"),
        lambda device_id, listener: WorldCharger(world, device_id, clock, listener),
        clock,
        MemoryStore(),
        clear_sky_days=compute,
    )
    daemon = build_daemon(site)

    def advance(t: datetime) -> None:
        clock.set(t)
        world.advance_to(t)

    results = daemon.run_cycles(clock.now() + timedelta(hours=3), advance)
    assert daemon.fatal is None
    failed = [r for r in results if any("ClearSkyUnavailable" in e for e in r.errors)]
    assert failed, "the failing clear sky never reached the controller"
    assert any(r.reading is not None for r in results)  # it went on reading
    assert compute.calls > compute.failures  # retried, and then it worked
    assert not results[-1].errors
