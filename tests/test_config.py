"""The app config: the shipped file loads, and every error is one line naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from optimizer.config import AppConfig, ConfigError, load_config
from optimizer.policies import build_policy

HOME = Path(__file__).resolve().parents[1] / "config" / "home.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "home.toml"
    path.write_text(text, encoding="utf-8")
    return path


def home_with(tmp_path: Path, old: str, new: str) -> Path:
    """The shipped config with one line replaced (the line must exist)."""
    text = HOME.read_text(encoding="utf-8")
    assert old in text, old
    return write(tmp_path, text.replace(old, new, 1))


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_the_shipped_config_loads_and_builds_its_policy() -> None:
    config = load_config(HOME)
    assert isinstance(config, AppConfig)
    assert config.policy.name == "solar_only"
    assert config.policy.solar_only.threshold_w == 100.0
    assert config.chargers[0].limits.main_fuse_w == 5750.0
    assert config.site.timezone == "Europe/Vienna"
    assert config.tariff is not None and config.tariff.cheap_window is not None
    assert build_policy(config.policy).name == "solar_only"
    assert build_policy(config.policy, "target", config.tariff).name == "target"


def test_a_minimal_config_uses_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[site]
latitude = 47.0
longitude = 15.0
[[site.arrays]]
kwp = 5.0
tilt_deg = 30.0
azimuth_deg = 180.0
[[chargers]]
device_id = "abc"
""",
    )
    config = load_config(path)
    assert config.policy.name == "solar_only" and config.tariff is None
    assert config.budget.daily_limit == 1000
    assert config.chargers[0].limits.max_current_a == 16


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "enable_delay_s = 60.0        #",
            "enable_delay_s = -5        #",
            "policy.solar_only.enable_delay_s: must be >= 0 (got -5)",
        ),
        ('name = "solar_only"', 'name = "solar_only"\nfoo = 1', "unknown key 'foo' in [policy]"),
        ("phases = 1 ", "phases = 4 ", "chargers[0].limits.phases: must be <= 3 (got 4)"),
        (
            "max_current_a = 16 ",
            "max_current_a = 5 ",
            "chargers[0].limits.max_current_a: must be >= 6 (got 5)",
        ),
        (
            'departure = "07:30"',
            'departure = "7h30"',
            "policy.target.departure: expected a local time of day as HH:MM (24 h) (got '7h30')",
        ),
        ('name = "solar_only"', 'name = "turbo"', "policy.name: "),
        ("reserve = 100 ", "reserve = 1000 ", "budget: reserve (1000) must be less than"),
        ("[storage]", "[storage]\npath = 'x'", "unknown key 'path' in [storage]"),
        ("deadband_a = 1 ", "deadband_a = -1 ", "controller.deadband_a: must be >= 0 (got -1)"),
        ("kwp = 8.0 ", "kwp = -8.0 ", "site.arrays[0].kwp: must be > 0 (got -8.0)"),
        ("[policy.target.solar]", "[policy.target.solar]\nenable = 1", "[policy.target.solar]"),
        ("battery_to_car = false", "battery_to_car = 3", "site.battery_to_car: "),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    message = load_error(home_with(tmp_path, old, new))
    assert message.startswith(expected) or expected in message, message


def test_min_above_max_current_names_the_limits_table(tmp_path: Path) -> None:
    path = home_with(tmp_path, "min_current_a = 6 ", "min_current_a = 20 ")
    message = load_error(path)
    assert message.startswith("chargers[0].limits: min_current_a (20) must not exceed")


def test_unknown_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path, HOME.read_text(encoding="utf-8") + "\n[extras]\nx = 1\n")
    assert load_error(path).startswith("unknown key 'extras' in the top level")


def test_missing_chargers_is_named(tmp_path: Path) -> None:
    data: dict[str, Any] = tomllib.loads(HOME.read_text(encoding="utf-8"))
    text = HOME.read_text(encoding="utf-8")
    start = text.index("[[chargers]]")
    end = text.index("# --- How to charge")
    path = write(tmp_path, text[:start] + text[end:])
    assert "chargers" in data
    assert load_error(path) == "chargers: required key is missing"


def test_duplicate_device_ids_are_rejected(tmp_path: Path) -> None:
    text = HOME.read_text(encoding="utf-8")
    text += '\n[[chargers]]\ndevice_id = "YOUR_DEVICE_ID"\n'
    message = load_error(write(tmp_path, text))
    assert "appears twice" in message


def test_unparseable_toml_gives_the_line_number(tmp_path: Path) -> None:
    path = write(tmp_path, "[site]\nlatitude = 47.0\nlongitude = = 15\n")
    message = load_error(path)
    assert message.startswith("invalid TOML:") and "line 3" in message


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    message = load_error(tmp_path / "home.toml")
    assert message.startswith("cannot read:")


def test_battery_to_car_reaches_every_controller(tmp_path: Path) -> None:
    from adapters.simulator.inprocess import SimClock
    from adapters.storage.memory import MemoryStore
    from optimizer.composition import build_site
    from tests.conftest import T0, FakeCharger, FakeClock, World

    assert load_config(HOME).site.battery_to_car is False
    config = load_config(home_with(tmp_path, "battery_to_car = false", "battery_to_car = true"))
    assert config.site.battery_to_car is True
    site = build_site(
        config,
        lambda _device, _listener: FakeCharger(FakeClock(T0), World()),
        SimClock(T0),
        MemoryStore(),
    )
    assert [c.battery_to_car for c in site.controllers] == [True]
