"""The V2C Cloud simulator over HTTP: the spec's API served over the world model.

    from adapters.simulator.server import SimulatorConfig, start_simulator
    with start_simulator(world, SimulatorConfig(api_keys=["demo-key"], speed=60)) as sim:
        ...  # a V2C client with base_url=sim.base_url and apikey "demo-key"

See `app.py` for the request pipeline, the headers and how clients follow the
simulated clock (`X-Simulated-Time`, `GET /sim/clock`).

Names are imported on first access (`optimizer.lazy_exports`): the configuration
is read without loading the ASGI server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.simulator.quota import DEFAULT_DAILY_LIMIT, DailyQuota, QuotaState
    from adapters.simulator.server.app import SIMULATED_TIME_HEADER, create_app, iso_utc
    from adapters.simulator.server.config import (
        API_KEY_ENV,
        DEFAULT_BASE_PATH,
        DEMO_API_KEY,
        SimAccount,
        SimulatorConfig,
        resolve_api_keys,
    )
    from adapters.simulator.server.faults import Fault, FaultConfig, FaultInjector, OfflineWindow
    from adapters.simulator.server.serve import (
        BindError,
        RunningSimulator,
        bind_socket,
        free_port,
        start_simulator,
    )
    from adapters.simulator.server.simulator import Simulator

__getattr__ = lazy_exports(__name__, __file__)

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_BASE_PATH",
    "DEFAULT_DAILY_LIMIT",
    "DEMO_API_KEY",
    "SIMULATED_TIME_HEADER",
    "BindError",
    "DailyQuota",
    "Fault",
    "FaultConfig",
    "FaultInjector",
    "OfflineWindow",
    "QuotaState",
    "RunningSimulator",
    "SimAccount",
    "Simulator",
    "SimulatorConfig",
    "bind_socket",
    "create_app",
    "free_port",
    "iso_utc",
    "resolve_api_keys",
    "start_simulator",
]
