"""The simulator's settings: API keys (options, environment, demo key) and time zone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.simulator.server.config import DEMO_API_KEY, SimulatorConfig, resolve_api_keys


def test_simulator_config_checks_keys_and_zone() -> None:
    with pytest.raises(ValidationError, match="blank"):
        SimulatorConfig.for_keys([" "])
    with pytest.raises(ValidationError, match="time zone"):
        SimulatorConfig.for_keys(["k"], timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        SimulatorConfig.for_keys([])
    config = SimulatorConfig.for_keys(["very-secret-key"])
    assert "very-secret-key" not in repr(config)


def test_api_keys_come_from_options_then_environment_then_demo() -> None:
    assert resolve_api_keys(["a", "b"], {"V2C_API_KEY": "env"}) == ["a", "b"]
    assert resolve_api_keys([], {"V2C_API_KEY": "env"}) == ["env"]
    assert resolve_api_keys([], {}) == [DEMO_API_KEY]
