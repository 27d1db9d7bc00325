"""Where `ClearSkyCache` runs the clear-sky model: in this process, or in a child process.

The model (`clearsky_model.clear_sky_days`, pvlib) imports pandas, pyarrow,
scipy and h5py: ~150 MB resident that a long-running daemon would hold for a
computation it needs once a week (the forecaster computes 8 days per call).
So the strategy is a declared choice of whoever builds the cache:

- `in_process` (the default): tests, backtests and one-shot commands, where
  pvlib is loaded anyway and a call costs milliseconds;
- `InChildProcess`: the live daemon. Each computation starts
  `python -m optimizer.forecast.clearsky_compute`, which imports pvlib,
  computes the days and exits; the daemon never imports pvlib or pandas. The
  very same function computes the very same float64 values (sent back as raw
  bytes, so bit for bit); the child costs a few seconds of imports.

A child that crashes, times out or answers garbage gives a `ClearSkyFailure`
(an error value, never an exception): the cache logs it and reports the clear
sky unavailable, the forecast fails for this refresh, the controller keeps
charging and the next refresh tries again.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from optimizer.site import SiteConfig

FloatArray = npt.NDArray[np.float64]

POINTS_PER_DAY = 24 * 60
"""Values per cached day minus one (00:00 to 24:00 inclusive, one a minute), as in
`clearsky_model`, which this module must not import (it loads pvlib)."""

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The directory holding the `optimizer` package: the child must import this copy."""

CHILD_MODULE = "optimizer.forecast.clearsky_compute"


@dataclass(frozen=True, slots=True)
class ClearSkyFailure:
    """Why the clear sky could not be computed (one line, for the log and the error)."""

    reason: str


ClearSkyResult = FloatArray | ClearSkyFailure
"""The days' values (W), shape `(n_days, 1441)`, or why there are none."""


class ClearSkyDays(Protocol):
    """Computes clear-sky AC power (W) of whole UTC days for `ClearSkyCache`.

    Returns `clear_sky_days(site, first_day, n_days)`'s array, shape
    `(n_days, 1441)`, or a `ClearSkyFailure` when it could not.
    """

    def __call__(self, site: SiteConfig, first_day: int, n_days: int) -> ClearSkyResult: ...


def in_process(site: SiteConfig, first_day: int, n_days: int) -> ClearSkyResult:
    """`clear_sky_days` in this process (pvlib imported on the first call)."""
    from optimizer.forecast.clearsky_model import clear_sky_days

    return clear_sky_days(site, first_day, n_days)


@dataclass(slots=True)
class InChildProcess:
    """`clear_sky_days` in a short-lived child Python process: the daemon's choice.

    `timeout_s` bounds one computation (the child's imports take seconds on a
    loaded box). After a failure, calls within `retry_after_s` return the same
    failure without starting a child, so a broken environment costs one child
    per forecast refresh, not one per charger read. `last_duration_s` is the wall
    time of the last successful computation, for the log and benchmarks.
    """

    timeout_s: float = 120.0
    retry_after_s: float = 300.0
    python: str = sys.executable
    last_duration_s: float | None = None
    _failure: ClearSkyFailure | None = field(default=None, repr=False)
    _failed_at: float = field(default=-float("inf"), repr=False)

    def __call__(self, site: SiteConfig, first_day: int, n_days: int) -> ClearSkyResult:
        if self._failure is not None and time.monotonic() - self._failed_at < self.retry_after_s:
            return self._failure
        started = time.monotonic()
        result = self._run_child(site, first_day, n_days)
        if isinstance(result, ClearSkyFailure):
            self._failure, self._failed_at = result, time.monotonic()
        else:
            self._failure, self.last_duration_s = None, time.monotonic() - started
            log.info(
                "clear sky: %d days computed in a child process in %.1f s",
                n_days,
                self.last_duration_s,
            )
        return result

    def _run_child(self, site: SiteConfig, first_day: int, n_days: int) -> ClearSkyResult:
        request = f"{first_day} {n_days}\n{site.model_dump_json()}".encode()
        try:
            done = subprocess.run(
                [self.python, "-m", CHILD_MODULE],
                input=request, capture_output=True, timeout=self.timeout_s, check=False,
                env=child_environment(), cwd=PROJECT_ROOT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return ClearSkyFailure(
                f"the clear-sky child process timed out after {self.timeout_s:g} s"
            )
        except OSError as exc:
            return ClearSkyFailure(f"the clear-sky child process did not start: {exc}")
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            last = lines[-1] if lines else "no output"
            return ClearSkyFailure(f"the clear-sky child process exited {done.returncode}: {last}")
        expected = n_days * (POINTS_PER_DAY + 1)
        values = np.frombuffer(done.stdout, dtype="<f8")
        if values.size != expected or len(done.stdout) != expected * 8:
            return ClearSkyFailure(
                f"the clear-sky child process sent {len(done.stdout)} bytes, "
                f"expected {expected * 8}"
            )
        return values.astype(np.float64).reshape(n_days, POINTS_PER_DAY + 1)


def child_environment() -> dict[str, str]:
    """This process's environment with `PROJECT_ROOT` first on the child's import path."""
    paths = [str(PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def main() -> None:
    """The child: read `FIRST_DAY N_DAYS` and the site's JSON on stdin, write float64 bytes.

    Little-endian float64, row after row: exactly the array `clear_sky_days` returns.
    """
    from optimizer.forecast.clearsky_model import clear_sky_days

    header, _, site_json = sys.stdin.buffer.read().decode().partition("\n")
    first_day, n_days = (int(v) for v in header.split())
    days = clear_sky_days(SiteConfig.model_validate_json(site_json), first_day, n_days)
    sys.stdout.buffer.write(np.ascontiguousarray(days, dtype="<f8").tobytes())
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
