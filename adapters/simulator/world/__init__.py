"""The physical world behind the simulator: PV, household, home battery, car and Trydan.

Used by the HTTP simulator (`adapters.simulator.server`) and, in-process, by
the backtests (`adapters.simulator.inprocess`). There is one physical model
in the code base, and this is it; PV comes from `optimizer.pvmodel`.

Names are imported on first access (`optimizer.lazy_exports`): a scenario is read
without loading the PV model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.simulator.world.bookkeeping import EnergyTotals, SessionLog
    from adapters.simulator.world.car import Car
    from adapters.simulator.world.charger import SimCharger
    from adapters.simulator.world.home_battery import HomeBattery, HomeFlows
    from adapters.simulator.world.recording import StepRecorder, StepSeries
    from adapters.simulator.world.scenario import (
        CarConfig,
        DailySessions,
        DeviceConfig,
        HomeBatteryConfig,
        HouseholdConfig,
        RandomSessions,
        Scenario,
        ScenarioError,
        ScheduledSession,
        ScheduleSessions,
        WeatherConfig,
        default_scenario,
        load_scenario,
    )
    from adapters.simulator.world.world import World
    from optimizer.interfaces import ChargerReading, PvMode

__getattr__ = lazy_exports(__name__, __file__)

__all__ = [
    "Car",
    "CarConfig",
    "ChargerReading",
    "DailySessions",
    "DeviceConfig",
    "EnergyTotals",
    "HomeBattery",
    "HomeBatteryConfig",
    "HomeFlows",
    "HouseholdConfig",
    "PvMode",
    "RandomSessions",
    "Scenario",
    "ScenarioError",
    "ScheduleSessions",
    "ScheduledSession",
    "SessionLog",
    "SimCharger",
    "StepRecorder",
    "StepSeries",
    "WeatherConfig",
    "World",
    "default_scenario",
    "load_scenario",
]
