"""`FileClock`: simulated time shared through a file, held and resumed by a driver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from optimizer.clock import FileClock

START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def test_a_held_clock_stands_still_and_two_readers_agree(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    FileClock.write(path, START, 1000.0, running=False)
    driver, reader = FileClock(path), FileClock(path)
    assert driver.held and driver.now() == reader.now() == START
    driver.jump(60)
    assert reader.now() == START + timedelta(minutes=1) and reader.held


def test_resumed_it_runs_at_its_speed_and_holds_where_it_got_to(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    FileClock.write(path, START, 1000.0, running=False)
    driver, reader = FileClock(path), FileClock(path)
    driver.resume()
    first = reader.now()
    while reader.now() == first:  # the monotonic clock ticks on
        pass
    assert not reader.held and reader.now() > first >= START
    held_at = driver.hold()
    assert reader.held and reader.now() == held_at > first
    assert reader.speed == 1000.0


def test_bad_clock_files_and_values_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a clock file"):
        FileClock(path)
    with pytest.raises(ValueError, match="timezone-aware"):
        FileClock.write(path, START.replace(tzinfo=None), 1.0, running=True)
    with pytest.raises(ValueError, match="speed"):
        FileClock.write(path, START, 0.0, running=True)
