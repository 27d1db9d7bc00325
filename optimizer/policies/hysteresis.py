"""Start/stop hysteresis shared by the surplus-following policies.

A car should not start on one bright minute nor stop on one cloud: charging
starts once the surplus has covered the start power for `enable_delay_s`, and
stops once it has been below the keep power for `disable_delay_s`, or earlier
when the grid energy drawn during the dip exceeds a deficit budget (an
energy-based stop: a shallow dip is tolerated for the whole delay, a deep one
ends charging quickly).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime


class StartStopGate:
    """Decides on/off from a stream of surplus samples (W) with delays (s) and a deficit (Wh)."""

    on: bool
    _above_since: datetime | None
    _below_since: datetime | None
    _deficit_wh: float
    _last: datetime | None

    def __init__(
        self,
        enable_delay_s: float,
        disable_delay_s: float,
        deficit_budget_wh: float | None = None,
    ) -> None:
        self.enable_delay_s = enable_delay_s
        self.disable_delay_s = disable_delay_s
        self.deficit_budget_wh = deficit_budget_wh
        self.reset()

    def reset(self, on: bool = False) -> None:
        """Forget all timers; `on` is the state to continue from."""
        self.on = on
        self._above_since = None
        self._below_since = None
        self._deficit_wh = 0.0
        self._last = None

    def _switch(self, on: bool, now: datetime) -> None:
        """Turn on or off at `now`: the timers start afresh from this sample."""
        self.reset(on=on)
        self._last = now

    @property
    def deficit_wh(self) -> float:
        """Grid energy drawn during the current dip (Wh)."""
        return self._deficit_wh

    def update(self, now: datetime, surplus_w: float, start_w: float, keep_w: float) -> str:
        """Feed one sample and return why the gate is in its state (a short phrase).

        `start_w` is the surplus needed to start (minimum power plus threshold),
        `keep_w` the surplus below which a running charge is in deficit.
        """
        dt_s = 0.0 if self._last is None else max((now - self._last).total_seconds(), 0.0)
        self._last = now
        if not self.on:
            return self._update_off(now, surplus_w, start_w)
        return self._update_on(now, surplus_w, keep_w, dt_s)

    def _update_off(self, now: datetime, surplus_w: float, start_w: float) -> str:
        if surplus_w < start_w:
            self._above_since = None
            return f"surplus {surplus_w:.0f} W below the {start_w:.0f} W needed to start"
        if self._above_since is None:
            self._above_since = now
        held_s = (now - self._above_since).total_seconds()
        if held_s >= self.enable_delay_s:
            self._switch(True, now)
            return f"surplus {surplus_w:.0f} W covered {start_w:.0f} W for {held_s:.0f} s: start"
        wanted_s = self.enable_delay_s
        return f"surplus {surplus_w:.0f} W covers the start for {held_s:.0f}/{wanted_s:.0f} s"

    def _update_on(self, now: datetime, surplus_w: float, keep_w: float, dt_s: float) -> str:
        if surplus_w >= keep_w:
            self._below_since = None
            self._deficit_wh = 0.0
            return f"surplus {surplus_w:.0f} W covers the minimum {keep_w:.0f} W"
        if self._below_since is None:
            self._below_since = now
        else:
            self._deficit_wh += (keep_w - surplus_w) * dt_s / 3600.0
        below_s = (now - self._below_since).total_seconds()
        if below_s >= self.disable_delay_s:
            self._switch(False, now)
            return f"surplus below the minimum {keep_w:.0f} W for {below_s:.0f} s: stop"
        budget = self.deficit_budget_wh
        if budget is not None and self._deficit_wh > budget:
            spent = self._deficit_wh
            self._switch(False, now)
            return f"dip drew {spent:.0f} Wh from the grid, over the {budget:.0f} Wh budget: stop"
        return (
            f"surplus {surplus_w:.0f} W below the minimum for {below_s:.0f}/"
            f"{self.disable_delay_s:.0f} s, keeping the minimum current"
        )


class WindowMinimum:
    """Minimum of the samples seen over the last `window_s` seconds (W).

    Setting the current from the window minimum follows drops at once and
    rises only after they held for the window: a cheap guard against flapping.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[datetime, float]] = deque()

    def clear(self) -> None:
        """Forget all samples."""
        self._samples.clear()

    def add(self, now: datetime, value: float) -> float:
        """Add a sample and return the minimum over the window ending at `now`."""
        if self.window_s <= 0.0:
            return value
        samples = self._samples
        samples.append((now, value))
        while samples and (now - samples[0][0]).total_seconds() > self.window_s:
            samples.popleft()
        return min(v for _, v in samples)
