"""`optimizer.config_toml`: a config written as TOML reads back equal, and never holds a
secret."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adapters.mqtt.config import MqttConfig
from adapters.simulator.demo import demo_config, write_demo_config
from adapters.simulator.world import default_scenario, load_scenario
from optimizer.accounts import AccountConfig, FleetConfig, load_fleet
from optimizer.config import StorageConfig, WebConfig, load_config, parse_config
from optimizer.config_toml import config_toml, fleet_toml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "config" / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("scenario", [None, *SCENARIOS], ids=lambda p: getattr(p, "stem", "-"))
def test_every_demo_home_reads_back_equal(scenario: Path | None, tmp_path: Path) -> None:
    world = default_scenario() if scenario is None else load_scenario(scenario)
    config = demo_config(world, "target")
    path = tmp_path / "demo.toml"
    path.write_text(config_toml(config, header="a note\non two lines"), encoding="utf-8")
    assert load_config(path) == config
    assert path.read_text(encoding="utf-8").startswith("# a note\n# on two lines\n")


def test_the_documented_home_reads_back_equal_in_tables(tmp_path: Path) -> None:
    config = load_config(ROOT / "config" / "home.toml")
    text = config_toml(config)
    assert "[[chargers]]" in text and "[[site.arrays]]" in text and "[tariff]" in text
    path = tmp_path / "home.toml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path) == config


def test_a_secret_is_never_written(tmp_path: Path) -> None:
    home = load_config(ROOT / "config" / "home.toml").model_dump(exclude_defaults=True)
    with_password = parse_config(home | {"mqtt": {"host": "broker", "password": "hunter2"}})
    with pytest.raises(ValueError, match=r"mqtt\.password: a secret") as refused:
        config_toml(with_password)
    assert "hunter2" not in str(refused.value)
    with_url = parse_config(home | {"mqtt": {"url": "mqtt://u:hunter2@broker"}})
    with pytest.raises(ValueError, match=r"mqtt\.url"):
        config_toml(with_url)
    by_env = parse_config(home | {"mqtt": {"host": "broker", "password_env": "MQTT_PASSWORD"}})
    assert 'password_env = "MQTT_PASSWORD"' in config_toml(by_env)  # a name, not a secret


def test_the_demo_writes_its_config_beside_its_database_never_over_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = demo_config(default_scenario(), None)
    (tmp_path / "run").mkdir()
    written = write_demo_config(config, "sqlite:///run/demo.db", note="n")
    assert written == tmp_path / "run" / "demo.toml"
    assert load_config(written).storage.url == f"sqlite:///{tmp_path / 'run' / 'demo.db'}"
    assert write_demo_config(config, "sqlite:///run/demo.db", note="n") == written  # the same
    mine = tmp_path / "run" / "mine.toml"
    mine.write_text("# the user's own\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"mine\.toml exists"):
        write_demo_config(config, "sqlite:///run/mine.db", note="n")
    assert mine.read_text(encoding="utf-8") == "# the user's own\n"
    assert write_demo_config(config, "postgresql://u:secret@db/v2c", note="n") is None
    assert write_demo_config(config, "sqlite://", note="n") is None  # in memory


def test_a_fleet_reads_back_equal_and_never_holds_a_secret(tmp_path: Path) -> None:
    home = demo_config(default_scenario(), "target")
    key_file = tmp_path / "acme.key"
    acme = AccountConfig("acme", None, key_file, (home,), "acme")
    fleet = FleetConfig((acme,), StorageConfig(url="sqlite:////var/fleet.db"), WebConfig(), False)
    path = tmp_path / "fleet.toml"
    path.write_text(fleet_toml(fleet, header="a fleet"), encoding="utf-8")
    again = load_fleet(path)
    assert again.accounts[0].key_file == key_file and again.accounts[0].sites == (home,)
    assert again.storage == fleet.storage
    broker = MqttConfig.model_validate({"host": "broker", "password": "hunter2"})
    with pytest.raises(ValueError, match=r"password: a secret") as refused:
        fleet_toml(replace(fleet, mqtt=broker))
    assert "hunter2" not in str(refused.value)
    relative = replace(acme, key_file=Path("acme.key"))
    with pytest.raises(ValueError, match="relative"):
        fleet_toml(replace(fleet, accounts=(relative,)))
