"""Many homes, each its own `World` under its own sky, advanced only when looked at.

A fleet's homes are far apart (their own site, weather, household and cars), so
each is a `World` of its own. Stepping a thousand of them every time the clock
moves would cost the simulator in proportion to homes x time; `Homes` instead
remembers how far time has run (`advance_to` is O(1)) and brings one home up to
it only when one of its devices is read or commanded. That is the same physics:
between two calls to a home its commands are constant, and `World.advance_to`
simulates such a stretch in whole segments however it is cut (a home advanced in
one go or in many pieces agrees to float rounding). A home nobody asks about
costs nothing until its sessions are read.

It has the surface of `World` the HTTP simulator uses (`server.handlers.WorldLike`)
plus the per-device reads of the ground truth (`totals`, `sessions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.simulator.world.bookkeeping import EnergyTotals, SessionLog
from adapters.simulator.world.charger import SimCharger
from adapters.simulator.world.world import World


class Homes:
    """Several worlds (one per home) under one clock, each advanced lazily (module doc)."""

    def __init__(self, worlds: Sequence[World]) -> None:
        if not worlds:
            raise ValueError("Homes needs at least one world")
        starts = {w.now for w in worlds}
        if len(starts) != 1:
            raise ValueError(f"the homes' worlds start at {len(starts)} different times")
        self._worlds = tuple(worlds)
        self._home_of: dict[str, World] = {}
        for world in worlds:
            for device_id in world.device_ids:
                if device_id in self._home_of:
                    raise ValueError(f"device {device_id!r} is in two homes")
                self._home_of[device_id] = world
        self._now = worlds[0].now

    @property
    def now(self) -> datetime:
        """The time every home is (lazily) advanced to (UTC)."""
        return self._now

    @property
    def device_ids(self) -> list[str]:
        """Every home's devices, home by home."""
        return list(self._home_of)

    @property
    def worlds(self) -> tuple[World, ...]:
        """The homes' worlds, as given (not advanced: read devices through `charger`)."""
        return self._worlds

    def advance_to(self, t: datetime) -> None:
        """Let time run to `t` (no-op if `t` <= now); homes catch up when looked at."""
        if t.tzinfo is None:
            raise ValueError(f"advance_to needs a tz-aware time, got {t.isoformat()}")
        if t > self._now:
            self._now = t

    def charger(self, device_id: str) -> SimCharger:
        """The device's charger, its home advanced to now; KeyError naming an unknown one."""
        return self._home(device_id).charger(device_id)

    def sessions(self, device_id: str) -> list[SessionLog]:
        """The device's sessions as of now (see `World.sessions`)."""
        return self._home(device_id).sessions(device_id)

    def totals(self, device_id: str) -> EnergyTotals:
        """The device's energy sums as of now (Wh, see `World.totals`)."""
        return self._home(device_id).totals(device_id)

    def _home(self, device_id: str) -> World:
        try:
            world = self._home_of[device_id]
        except KeyError:
            raise KeyError(f"unknown device {device_id!r}") from None
        world.advance_to(self._now)
        return world
