"""The demo's simulator: the HTTP simulator over a scenario, its clock, the home's config.

`v2c-solar demo` runs the daemon against this simulator over real HTTP;
`DayCountingQuota` keeps the simulator's own per-day call count beside the
daemon's ledger (the ground truth the demo's summary prints).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.simulator.server import RunningSimulator
    from adapters.simulator.world import Scenario
    from optimizer.clock import ScaledClock
    from optimizer.config import AppConfig


class DayCountingQuota:
    """The simulator's quota with a per-day tally of the calls it counted (ground truth)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.per_day: dict[date, int] = defaultdict(int)
        self._lock = threading.Lock()

    def consume(self, key: str, now: datetime) -> Any:
        state = self.inner.consume(key, now)
        if state.allowed:
            with self._lock:
                self.per_day[now.astimezone(UTC).date()] += 1
        return state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def start_demo_simulator(
    scenario: Scenario, *, seed: int, speed: float, faults: Any = None
) -> tuple[RunningSimulator, DayCountingQuota]:
    """The HTTP simulator over `scenario` on 127.0.0.1 (free port), counting calls per day."""
    from adapters.simulator.server import (
        DEMO_API_KEY,
        FaultConfig,
        SimulatorConfig,
        start_simulator,
    )
    from adapters.simulator.world import World

    config = SimulatorConfig(
        api_keys=(DEMO_API_KEY,),  # type: ignore[arg-type]  # pydantic wraps str in SecretStr
        speed=speed,
        timezone=scenario.site.timezone,
        seed=seed,
        faults=faults or FaultConfig(),
    )
    running = start_simulator(World(scenario, seed=seed), config)
    counter = DayCountingQuota(running.simulator.quota)
    running.simulator.quota = counter  # type: ignore[assignment]
    return running, counter


def simulator_clock(root_url: str) -> ScaledClock:
    """A `ScaledClock` anchored to the simulator's `GET /sim/clock` (time and speed)."""
    import httpx

    from optimizer.clock import ScaledClock

    body = httpx.get(f"{root_url}/sim/clock", timeout=5.0).json()
    return ScaledClock(datetime.fromisoformat(body["time"]), float(body["speed"]))


def demo_config(scenario: Scenario, policy: str | None) -> AppConfig:
    """The app config of the scenario's home: its site, its chargers' wiring."""
    from optimizer.config import parse_config

    chargers = [
        {
            "device_id": d.device_id,
            "limits": {
                "min_current_a": d.min_current_a,
                "max_current_a": d.max_current_a,
                "phases": d.phases,
                "voltage_v": d.voltage_v,
                "main_fuse_w": d.main_fuse_w,
            },
        }
        for d in scenario.devices
    ]
    data: dict[str, Any] = {"site": scenario.site.model_dump(), "chargers": chargers}
    if policy is not None:
        data["policy"] = {"name": policy}
    return parse_config(data, f"scenario {scenario.name}")


__all__ = ["DayCountingQuota", "demo_config", "simulator_clock", "start_demo_simulator"]
