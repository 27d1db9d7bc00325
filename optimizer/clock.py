"""Clocks for the live worlds: the wall clock and a scaled, simulated clock.

The controller only asks `clock.now()`. At home that is the wall clock; in the
demo, simulated time runs `speed` times faster than real time, anchored to
the monotonic clock so it never jumps backwards when the system clock is set.
The backtest uses `adapters.simulator.inprocess.SimClock`, which is moved by
the backtest loop instead of by time passing. `FileClock` is simulated time
several processes share through a file, which a driver (the soak) holds while
a process starts.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


class WallClock:
    """Real time, UTC."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of real time."""
        if seconds > 0:
            time.sleep(seconds)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second: 1 for the wall clock."""
        return 1.0


class ScaledClock:
    """Simulated time running `speed` times faster than real time.

    `now()` is `start + speed * (monotonic elapsed)`. Both the HTTP simulator
    and the demo daemon use one of these anchored at the same start, so they
    agree on simulated time without talking about it; `resync` re-anchors to a
    time the simulator reports.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock start must be timezone-aware")
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0 (got {speed})")
        self._start = start.astimezone(UTC)
        self._speed = float(speed)
        self._anchor = time.monotonic()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """Current simulated time, UTC."""
        elapsed = (time.monotonic() - self._anchor) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def resync(self, simulated_now: datetime) -> None:
        """Re-anchor so that `now()` returns `simulated_now` at this instant."""
        self._start = simulated_now.astimezone(UTC)
        self._anchor = time.monotonic()

    def jump(self, seconds: float) -> None:
        """Move simulated time forward by `seconds` at once (tests, day-boundary checks)."""
        self._start += timedelta(seconds=seconds)

    def sleep(self, simulated_seconds: float) -> None:
        """Block for `simulated_seconds` of simulated time."""
        if simulated_seconds > 0:
            time.sleep(simulated_seconds / self._speed)


class FileClock:
    """Simulated time shared by the processes of one machine through a small file,
    which one driver holds and resumes (`benchmarks/soak.py`).

    The file is JSON: `time` (ISO 8601 UTC) was the simulated time when the
    monotonic clock read `since`, and time runs on at `speed` from there;
    `since` null means held: `now()` is `time` until the driver resumes it.
    `time.monotonic()` is `CLOCK_MONOTONIC` on Linux, one clock for every process
    of the machine, so the simulator and the daemon agree to the microsecond
    without a round trip. A `ScaledClock` runs on while a process starts, which
    at thousands of times real time is simulated hours (a day on a loaded
    machine); the driver holds this one instead until the process is up.
    Each `now()` reads the file (~100 bytes; a cache keyed on its inode and
    mtime could miss two writes within one mtime tick); writes are atomic renames.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._time = datetime.min.replace(tzinfo=UTC)
        self._since: float | None = None
        self._speed = 1.0
        self._reload()

    @staticmethod
    def write(path: Path, at: datetime, speed: float, *, running: bool) -> None:
        """Set the clock in `path` to `at`, held or running at `speed` from now on."""
        if at.tzinfo is None:
            raise ValueError("FileClock time must be timezone-aware")
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0 (got {speed})")
        body = {
            "time": at.astimezone(UTC).isoformat(),
            "speed": float(speed),
            "since": time.monotonic() if running else None,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(path)

    def _reload(self) -> None:
        try:
            body = json.loads(self.path.read_text())
            self._time = datetime.fromisoformat(body["time"]).astimezone(UTC)
            self._speed = float(body["speed"])
            self._since = None if body["since"] is None else float(body["since"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.path}: not a clock file ({exc})") from None

    @property
    def speed(self) -> float:
        """Simulated seconds per real second while running."""
        self._reload()
        return self._speed

    @property
    def held(self) -> bool:
        """The driver holds the clock (simulated time stands still)."""
        self._reload()
        return self._since is None

    def now(self) -> datetime:
        """Current simulated time, UTC."""
        self._reload()
        if self._since is None:
            return self._time
        return self._time + timedelta(seconds=(time.monotonic() - self._since) * self._speed)

    def hold(self) -> datetime:
        """Stop simulated time where it is (the driver); the time it stopped at."""
        at = self.now()
        self.write(self.path, at, self._speed, running=False)
        return at

    def resume(self) -> None:
        """Let simulated time run on from where it was held (the driver)."""
        self.write(self.path, self.now(), self._speed, running=True)

    def jump(self, seconds: float) -> None:
        """Move simulated time forward by `seconds` at once, held or running as it was."""
        at = self.now() + timedelta(seconds=seconds)
        self.write(self.path, at, self._speed, running=self._since is not None)

    def sleep(self, simulated_seconds: float) -> None:
        """Block for about `simulated_seconds` of simulated time (at its speed)."""
        if simulated_seconds > 0:
            time.sleep(simulated_seconds / self.speed)
